//! A catalogue of products: a shop sells several kinds of code (plans and durations), each with
//! its own packages, prices and stock.
//!
//! * `products`: `name` (unique), `description`, `active` (inactive products are not sold and
//!   not shown to buyers), `display_order` (ascending, then id), `low_stock_threshold` (NULL: the
//!   service's `LOW_STOCK_THRESHOLD`).
//! * `product_prices`: per product, the package sizes (1/5/10/25/50 codes) with their price in
//!   whole rupiah; `on_sale = false` takes a package off sale without forgetting its price.
//! * `stock.product_id`, `stock_batches.product_id`, `orders.product_id` (BIGINT NOT NULL
//!   DEFAULT 1): which product a code, an upload and an order belong to.
//!
//! The upgrade of a one-product shop: this migration creates the **default product** (id 1,
//! named "Redfinger") and every existing code, batch and order belongs to it through the
//! columns' default. Its prices are not known to SQL: the payment-service writes them from
//! `PRICE_1_CODE` … `PRICE_50_CODES` when it starts and finds the default product without any
//! price row (once; after that, admins change prices from Discord).
//!
//! Only this project uses these tables and columns; `down` removes them.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str, &str)] = &[
    ("stock", "product_id", "BIGINT NOT NULL DEFAULT 1"),
    ("stock_batches", "product_id", "BIGINT NOT NULL DEFAULT 1"),
    ("orders", "product_id", "BIGINT NOT NULL DEFAULT 1"),
];

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS products (
        id {ID},
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        active BOOLEAN NOT NULL DEFAULT TRUE,
        display_order INTEGER NOT NULL DEFAULT 0,
        low_stock_threshold BIGINT CHECK (low_stock_threshold >= 0),
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        updated_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
    "CREATE TABLE IF NOT EXISTS product_prices (
        product_id BIGINT NOT NULL REFERENCES products(id),
        codes INTEGER NOT NULL CHECK (codes IN (1, 5, 10, 25, 50)),
        price BIGINT NOT NULL CHECK (price > 0),
        on_sale BOOLEAN NOT NULL DEFAULT TRUE,
        updated_at {TSTZ} NOT NULL DEFAULT {NOW},
        PRIMARY KEY (product_id, codes)
    )",
    // The default product: id 1 in a fresh table on both backends.
    "INSERT INTO products (name, description, display_order) \
     SELECT 'Redfinger', '', 0 WHERE NOT EXISTS (SELECT 1 FROM products)",
    "CREATE INDEX IF NOT EXISTS stock_product_available_idx \
     ON stock (product_id, id) WHERE status = 'available'",
    "CREATE INDEX IF NOT EXISTS orders_product_id_idx ON orders (product_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.add_missing_columns(manager, COLUMNS).await?;
        d.run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(
            manager,
            &[
                "DROP INDEX IF EXISTS orders_product_id_idx",
                "DROP INDEX IF EXISTS stock_product_available_idx",
                "DROP TABLE IF EXISTS product_prices",
                "DROP TABLE IF EXISTS products",
            ],
        )
        .await?;
        d.drop_columns(manager, COLUMNS).await
    }
}
