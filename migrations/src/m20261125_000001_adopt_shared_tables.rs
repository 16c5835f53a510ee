//! `users` and `topups`: the two tables shared with the sibling redeem bot.
//!
//! They may already exist, created by the earlier Python version's `shared_db_schema.sql` and
//! full of the sibling bot's data. So this migration only ever *adds*: `CREATE TABLE IF NOT
//! EXISTS`, missing columns (each nullable or with a default, so the sibling bot's inserts that
//! name only the old columns keep working), constraints, indexes and triggers. It never drops,
//! renames, retypes or rewrites anything, and never touches the sibling bot's `redeems` table.
//!
//! Guarding `balance >= 0` and `NOT NULL` on an adopted PostgreSQL table is done with a
//! *validated* constraint: if some row already breaks it, the migration stops with a message
//! naming the problem instead of silently "fixing" someone's money (the operator corrects those
//! rows and runs `up` again). SQLite cannot add a CHECK to an existing table without rebuilding
//! it, so an adopted SQLite `users` table gets BEFORE INSERT/UPDATE triggers that raise the same
//! error instead.
//!
//! `down` removes only the `updated_at` triggers (and the PostgreSQL trigger function). The
//! tables, the columns added, the constraints and the indexes stay: they hold or protect the
//! sibling bot's data, and at `down` time nobody can tell whether the tables pre-existed.

use sea_orm_migration::prelude::*;

use crate::dialect::{Dialect, PG_TOUCH_FUNCTION};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(column, PostgreSQL definition, SQLite definition)` for every column that may be missing
/// from an adopted table. SQLite's `ADD COLUMN` refuses non-constant defaults, so timestamps
/// added there start out NULL on old rows (new rows get the trigger/explicit value).
const USERS_COLUMNS: &[(&str, &str, &str)] = &[
    ("username", "TEXT", "TEXT"),
    (
        "balance",
        "BIGINT NOT NULL DEFAULT 0",
        "BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0)",
    ),
    (
        "total_topup",
        "BIGINT NOT NULL DEFAULT 0",
        "BIGINT NOT NULL DEFAULT 0",
    ),
    (
        "total_spent",
        "BIGINT NOT NULL DEFAULT 0",
        "BIGINT NOT NULL DEFAULT 0",
    ),
    ("created_at", "TIMESTAMP DEFAULT CURRENT_TIMESTAMP", "TEXT"),
    ("updated_at", "TIMESTAMP DEFAULT CURRENT_TIMESTAMP", "TEXT"),
];

const TOPUPS_COLUMNS: &[(&str, &str, &str)] = &[
    (
        "status",
        "VARCHAR(20) DEFAULT 'pending'",
        "VARCHAR(20) DEFAULT 'pending'",
    ),
    ("payment_type", "VARCHAR(50)", "VARCHAR(50)"),
    // Old rows without a source are the sibling bot's, which is what the default says.
    (
        "bot_source",
        "VARCHAR(20) DEFAULT 'redeem'",
        "VARCHAR(20) DEFAULT 'redeem'",
    ),
    ("transaction_id", "TEXT", "TEXT"),
    ("midtrans_status", "TEXT", "TEXT"),
    ("qr_string", "TEXT", "TEXT"),
    ("expires_at", "TIMESTAMPTZ", "TEXT"),
    ("request_id", "TEXT", "TEXT"),
    ("paid_at", "TIMESTAMPTZ", "TEXT"),
    ("created_at", "TIMESTAMP DEFAULT CURRENT_TIMESTAMP", "TEXT"),
    ("updated_at", "TIMESTAMP DEFAULT CURRENT_TIMESTAMP", "TEXT"),
];

/// Money columns of `users` that must be non-NULL (the services decode them as `i64`).
const USERS_NOT_NULL: &[&str] = &["balance", "total_topup", "total_spent"];

const CREATE_USERS: &str = "CREATE TABLE IF NOT EXISTS users (
    user_id {BIGINT_PK},
    username TEXT,
    balance BIGINT NOT NULL DEFAULT 0 CONSTRAINT users_balance_non_negative CHECK (balance >= 0),
    total_topup BIGINT NOT NULL DEFAULT 0,
    total_spent BIGINT NOT NULL DEFAULT 0,
    created_at {TS} DEFAULT {TS_NOW},
    updated_at {TS} DEFAULT {TS_NOW}
)";

// Old columns keep the old types (VARCHAR(n), TIMESTAMP without zone, nullable status) so a
// fresh database and an adopted one are the same schema and one entity fits both.
const CREATE_TOPUPS: &str = "CREATE TABLE IF NOT EXISTS topups (
    id {SERIAL_ID},
    user_id BIGINT REFERENCES users(user_id),
    amount BIGINT NOT NULL,
    order_id VARCHAR(100) UNIQUE NOT NULL,
    status VARCHAR(20) DEFAULT 'pending',
    payment_type VARCHAR(50),
    bot_source VARCHAR(20) DEFAULT 'redeem',
    transaction_id TEXT,
    midtrans_status TEXT,
    qr_string TEXT,
    expires_at {TSTZ},
    request_id TEXT,
    paid_at {TSTZ},
    created_at {TS} DEFAULT {TS_NOW},
    updated_at {TS} DEFAULT {TS_NOW}
)";

const TOPUPS_INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX IF NOT EXISTS topups_request_id_key ON topups (request_id)",
    "CREATE INDEX IF NOT EXISTS topups_user_id_created_at_idx ON topups (user_id, created_at)",
    "CREATE INDEX IF NOT EXISTS topups_status_expires_at_idx ON topups (status, expires_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        if d == Dialect::Postgres {
            d.run(
                manager,
                &[&format!(
                    "CREATE OR REPLACE FUNCTION {PG_TOUCH_FUNCTION}() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$"
                )],
            )
            .await?;
        }

        d.run(manager, &[CREATE_USERS]).await?;
        add_missing_columns(d, manager, "users", USERS_COLUMNS).await?;
        guard_users_money(d, manager).await?;

        d.run(manager, &[CREATE_TOPUPS]).await?;
        add_missing_columns(d, manager, "topups", TOPUPS_COLUMNS).await?;
        d.run(manager, TOPUPS_INDEXES).await?;

        for (table, key) in [("users", "user_id"), ("topups", "id")] {
            for sql in d.touch_trigger(table, key, d.ts_now()) {
                d.run(manager, &[&sql]).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        for table in ["users", "topups"] {
            d.run(manager, &[&d.drop_touch_trigger(table)]).await?;
        }
        if d == Dialect::Postgres {
            d.run(
                manager,
                &[&format!("DROP FUNCTION IF EXISTS {PG_TOUCH_FUNCTION}()")],
            )
            .await?;
        }
        Ok(())
    }
}

async fn add_missing_columns(
    d: Dialect,
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[(&str, &str, &str)],
) -> Result<(), DbErr> {
    for (column, pg, sqlite) in columns {
        if d.column_exists(manager, table, column).await? {
            continue;
        }
        let definition = match d {
            Dialect::Postgres => pg,
            Dialect::Sqlite => sqlite,
        };
        d.run(
            manager,
            &[&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            )],
        )
        .await?;
    }
    Ok(())
}

/// Makes sure `users` refuses a negative or NULL balance, whether we created it or adopted it.
async fn guard_users_money(d: Dialect, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    match d {
        Dialect::Postgres => {
            for column in USERS_NOT_NULL {
                let nullable = d
                    .count(
                        manager,
                        "SELECT COUNT(*) AS n FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = 'users' \
                         AND column_name = $1 AND is_nullable = 'YES'",
                        column,
                    )
                    .await?;
                if nullable == 0 {
                    continue;
                }
                let nulls = d
                    .count_plain(
                        manager,
                        &format!("SELECT COUNT(*) AS n FROM users WHERE {column} IS NULL"),
                    )
                    .await?;
                if nulls > 0 {
                    return Err(DbErr::Migration(format!(
                        "cannot adopt table users: {nulls} row(s) have {column} = NULL; this \
                         migration never rewrites data, so set those values (e.g. to 0) yourself \
                         and run `migrations up` again"
                    )));
                }
                d.run(
                    manager,
                    &[&format!(
                        "ALTER TABLE users ALTER COLUMN {column} SET NOT NULL"
                    )],
                )
                .await?;
            }

            let has_check = d
                .count_plain(
                    manager,
                    "SELECT COUNT(*) AS n FROM pg_constraint \
                     WHERE conrelid = 'users'::regclass AND contype = 'c' \
                     AND pg_get_constraintdef(oid) LIKE '%balance >= 0%'",
                )
                .await?;
            if has_check == 0 {
                let negative = d
                    .count_plain(manager, "SELECT COUNT(*) AS n FROM users WHERE balance < 0")
                    .await?;
                if negative > 0 {
                    return Err(DbErr::Migration(format!(
                        "cannot adopt table users: {negative} row(s) have a negative balance, so \
                         CHECK (balance >= 0) cannot be added; this migration never rewrites \
                         data, so correct those rows yourself and run `migrations up` again"
                    )));
                }
                d.run(
                    manager,
                    &[
                        "ALTER TABLE users ADD CONSTRAINT users_balance_non_negative \
                       CHECK (balance >= 0)",
                    ],
                )
                .await?;
            }
        }
        Dialect::Sqlite => {
            let has_check = d
                .count_plain(
                    manager,
                    "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' \
                     AND name = 'users' AND replace(lower(sql), ' ', '') LIKE '%balance>=0%'",
                )
                .await?;
            if has_check == 0 {
                let negative = d
                    .count_plain(
                        manager,
                        "SELECT COUNT(*) AS n FROM users WHERE balance < 0 OR balance IS NULL",
                    )
                    .await?;
                if negative > 0 {
                    return Err(DbErr::Migration(format!(
                        "cannot adopt table users: {negative} row(s) have a negative or NULL \
                         balance; this migration never rewrites data, so correct those rows \
                         yourself and run `migrations up` again"
                    )));
                }
                for event in ["INSERT", "UPDATE"] {
                    d.run(
                        manager,
                        &[&format!(
                            "CREATE TRIGGER IF NOT EXISTS users_balance_non_negative_{} \
                             BEFORE {event} ON users FOR EACH ROW \
                             WHEN NEW.balance IS NULL OR NEW.balance < 0 \
                             BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: \
                             users_balance_non_negative'); END",
                            event.to_lowercase()
                        )],
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}
