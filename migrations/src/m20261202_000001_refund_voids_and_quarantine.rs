//! Refunds that follow the order's state, and stock that a lost key takes off sale visibly:
//!
//! * `outbox.voided_at`: a queued message that will never be published because the change it
//!   announced was undone (a refund voids the order's pending `delivery.requested`). The relay
//!   skips such rows (they also carry `published_at`, so its scan never sees them).
//! * `order_anomalies`: things that must not happen and an admin has to look at, e.g. a
//!   `delivery.confirmed` arriving for a refunded order.
//! * `stock.quarantined_at`: set when a code failed decryption and was taken off sale (status
//!   `reserved`, no order); an admin releases or discards it.
//!
//! Only this project uses these tables and columns; `down` removes them.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns added to existing tables: (table, column, definition).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("outbox", "voided_at", "{TSTZ}"),
    ("stock", "quarantined_at", "{TSTZ}"),
];

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS order_anomalies (
        id {ID},
        order_id BIGINT NOT NULL REFERENCES orders(id),
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        message_id TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
    "CREATE INDEX IF NOT EXISTS order_anomalies_order_id_idx ON order_anomalies (order_id)",
    // Quarantined codes are few; an admin's release/discard and the counts find them here.
    "CREATE INDEX IF NOT EXISTS stock_quarantined_idx ON stock (id) WHERE quarantined_at IS NOT NULL",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.add_missing_columns(manager, COLUMNS).await?;
        // Codes quarantined before this migration: `reserved` without an order.
        d.run(
            manager,
            &[
                "UPDATE stock SET quarantined_at = COALESCE(reserved_at, {NOW}) \
               WHERE status = 'reserved' AND order_id IS NULL AND quarantined_at IS NULL",
            ],
        )
        .await?;
        d.run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(
            manager,
            &[
                "DROP INDEX IF EXISTS stock_quarantined_idx",
                "DROP TABLE IF EXISTS order_anomalies",
            ],
        )
        .await?;
        d.drop_columns(manager, COLUMNS).await
    }
}
