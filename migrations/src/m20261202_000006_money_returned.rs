//! Money returned after settlement (refunds and chargebacks of a credited top-up, DESIGN
//! invariant 5): where it is recorded.
//!
//! * `topups.returned_amount` (BIGINT NULL) and `topups.returned_at` (TIMESTAMPTZ NULL): how much
//!   of a top-up Midtrans reported returned, and when last. Nullable: the sibling bot's inserts,
//!   which name only its own columns, keep working. `status` keeps `success` (the shared
//!   vocabulary); the Midtrans word (`refund`, `partial_chargeback`, …) goes in
//!   `midtrans_status`.
//! * `balance_ledger.reason` also allows `reversal`: the money taken back from the balance, one
//!   row per returned amount (`UNIQUE (reason, reference)` makes it exactly-once).
//! * `balance_owed (user_id PK → users, amount BIGINT ≥ 0, updated_at)`: what could not be taken
//!   back because the balance was already spent. An own table, so the shared `users` table
//!   stays as the sibling bot knows it. A positive amount blocks new orders until an admin
//!   clears it.
//!
//! `down` drops `balance_owed` and restores the narrower reason check on PostgreSQL (refused
//! while `reversal` rows exist); the added `topups` columns stay (a shared table is never
//! rewritten), and SQLite keeps the wider check (rebuilding the table back gains nothing).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(column, PostgreSQL definition, SQLite definition)` added to `topups` when missing.
const TOPUPS_COLUMNS: &[(&str, &str, &str)] = &[
    ("returned_amount", "BIGINT", "BIGINT"),
    ("returned_at", "TIMESTAMPTZ", "TEXT"),
];

const OWED: &str = "CREATE TABLE IF NOT EXISTS balance_owed (
    user_id BIGINT PRIMARY KEY REFERENCES users(user_id),
    amount BIGINT NOT NULL DEFAULT 0 CHECK (amount >= 0),
    updated_at {TSTZ} NOT NULL DEFAULT {NOW}
)";

const REASONS: &str = "('topup', 'order', 'refund', 'adjustment', 'reversal')";
const OLD_REASONS: &str = "('topup', 'order', 'refund', 'adjustment')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        for (column, pg, sqlite) in TOPUPS_COLUMNS {
            if d.column_exists(manager, "topups", column).await? {
                continue;
            }
            let definition = match d {
                Dialect::Postgres => pg,
                Dialect::Sqlite => sqlite,
            };
            d.run(
                manager,
                &[&format!(
                    "ALTER TABLE topups ADD COLUMN {column} {definition}"
                )],
            )
            .await?;
        }
        d.run(manager, &[OWED]).await?;
        match d {
            Dialect::Postgres => {
                d.run(
                    manager,
                    &[
                        "ALTER TABLE balance_ledger DROP CONSTRAINT IF EXISTS balance_ledger_reason_check",
                        &format!(
                            "ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_reason_check \
                             CHECK (reason IN {REASONS})"
                        ),
                    ],
                )
                .await
            }
            Dialect::Sqlite => widen_sqlite_ledger(d, manager).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(manager, &["DROP TABLE IF EXISTS balance_owed"])
            .await?;
        if d == Dialect::Postgres {
            d.run(
                manager,
                &[
                    "ALTER TABLE balance_ledger DROP CONSTRAINT IF EXISTS balance_ledger_reason_check",
                    &format!(
                        "ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_reason_check \
                         CHECK (reason IN {OLD_REASONS})"
                    ),
                ],
            )
            .await?;
        }
        Ok(())
    }
}

/// SQLite cannot change a CHECK constraint: the ledger is rebuilt with the wider one, rows,
/// ids and the index kept. Skipped when the check already allows `reversal`.
async fn widen_sqlite_ledger(d: Dialect, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let current = db
        .query_one(Statement::from_string(
            manager.get_database_backend(),
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'balance_ledger'"
                .to_owned(),
        ))
        .await?;
    let sql: String = match current {
        Some(row) => row.try_get("", "sql")?,
        None => return Err(DbErr::Migration("balance_ledger is missing".to_owned())),
    };
    if sql.contains("'reversal'") {
        return Ok(());
    }
    d.run(
        manager,
        &[
            &format!(
                "CREATE TABLE balance_ledger_widened (
                    id {{ID}},
                    user_id BIGINT NOT NULL REFERENCES users(user_id),
                    delta BIGINT NOT NULL,
                    reason TEXT NOT NULL CONSTRAINT balance_ledger_reason_check
                        CHECK (reason IN {REASONS}),
                    reference TEXT NOT NULL,
                    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
                    created_at {{TSTZ}} NOT NULL DEFAULT {{NOW}},
                    CONSTRAINT balance_ledger_reason_reference_key UNIQUE (reason, reference)
                )"
            ),
            "INSERT INTO balance_ledger_widened \
                (id, user_id, delta, reason, reference, balance_after, created_at) \
             SELECT id, user_id, delta, reason, reference, balance_after, created_at \
             FROM balance_ledger",
            "DROP TABLE balance_ledger",
            "ALTER TABLE balance_ledger_widened RENAME TO balance_ledger",
            "CREATE INDEX IF NOT EXISTS balance_ledger_user_id_created_at_idx \
                ON balance_ledger (user_id, created_at)",
        ],
    )
    .await
}
