//! The shop's own tables: `orders`, `stock`, `stock_batches`, `deliveries`, `balance_ledger`.
//!
//! Only this project uses them, so `down` drops them (children first).

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orders (
        id {ID},
        order_number TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL UNIQUE,
        user_id BIGINT NOT NULL REFERENCES users(user_id),
        package_size INTEGER NOT NULL CHECK (package_size > 0),
        code_quantity INTEGER NOT NULL CHECK (code_quantity > 0),
        total_price BIGINT NOT NULL CHECK (total_price >= 0),
        status TEXT NOT NULL DEFAULT 'pending' CONSTRAINT orders_status_check
            CHECK (status IN ('pending', 'delivering', 'completed', 'failed', 'refunded')),
        delivery_attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        interaction_token TEXT,
        interaction_application_id TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        updated_at {TSTZ} NOT NULL DEFAULT {NOW},
        completed_at {TSTZ}
    )",
    "CREATE INDEX IF NOT EXISTS orders_user_id_created_at_idx ON orders (user_id, created_at)",
    "CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status)",
    "CREATE TABLE IF NOT EXISTS stock_batches (
        batch_id TEXT PRIMARY KEY,
        added_by BIGINT NOT NULL,
        added INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        created_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
    "CREATE TABLE IF NOT EXISTS stock (
        id {ID},
        ciphertext {BYTES} NOT NULL,
        nonce {BYTES} NOT NULL,
        key_id TEXT NOT NULL,
        code_hash TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL DEFAULT 'available' CONSTRAINT stock_status_check
            CHECK (status IN ('available', 'reserved', 'sold')),
        order_id BIGINT REFERENCES orders(id),
        batch_id TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        reserved_at {TSTZ},
        sold_at {TSTZ}
    )",
    "CREATE INDEX IF NOT EXISTS stock_status_idx ON stock (status)",
    // What reservation scans: `WHERE status = 'available' ORDER BY id LIMIT n`.
    "CREATE INDEX IF NOT EXISTS stock_available_idx ON stock (id) WHERE status = 'available'",
    "CREATE INDEX IF NOT EXISTS stock_order_id_idx ON stock (order_id)",
    "CREATE TABLE IF NOT EXISTS deliveries (
        id {ID},
        order_id BIGINT NOT NULL REFERENCES orders(id),
        attempt INTEGER NOT NULL,
        method TEXT NOT NULL CONSTRAINT deliveries_method_check
            CHECK (method IN ('dm', 'channel', 'file')),
        status TEXT NOT NULL,
        error TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
    "CREATE INDEX IF NOT EXISTS deliveries_order_id_idx ON deliveries (order_id)",
    // UNIQUE (reason, reference): one top-up, order or refund can be booked only once.
    "CREATE TABLE IF NOT EXISTS balance_ledger (
        id {ID},
        user_id BIGINT NOT NULL REFERENCES users(user_id),
        delta BIGINT NOT NULL,
        reason TEXT NOT NULL CONSTRAINT balance_ledger_reason_check
            CHECK (reason IN ('topup', 'order', 'refund', 'adjustment')),
        reference TEXT NOT NULL,
        balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        CONSTRAINT balance_ledger_reason_reference_key UNIQUE (reason, reference)
    )",
    "CREATE INDEX IF NOT EXISTS balance_ledger_user_id_created_at_idx \
        ON balance_ledger (user_id, created_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(manager, UP).await?;
        for sql in d.touch_trigger("orders", "id", d.now()) {
            d.run(manager, &[&sql]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(
            manager,
            &[
                "DROP TABLE IF EXISTS balance_ledger",
                "DROP TABLE IF EXISTS deliveries",
                "DROP TABLE IF EXISTS stock",
                "DROP TABLE IF EXISTS stock_batches",
                "DROP TABLE IF EXISTS orders",
            ],
        )
        .await
    }
}
