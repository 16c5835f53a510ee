//! Read-only views for the admin screens: `stock_summary` and `daily_sales`.
//!
//! `stock_summary` always has exactly three rows (available, reserved, sold), zeros included.
//! `daily_sales` has one row per UTC day with at least one completed order, dated by
//! `completed_at` (or `created_at` if a completed order somehow lacks it).

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STOCK_SUMMARY: &str = "CREATE VIEW stock_summary AS
    SELECT s.status AS status, COUNT(stock.id) AS count
    FROM (SELECT 'available' AS status UNION ALL SELECT 'reserved' UNION ALL SELECT 'sold') AS s
    LEFT JOIN stock ON stock.status = s.status
    GROUP BY s.status";

// SUM(BIGINT) is NUMERIC on PostgreSQL; cast back so both backends give BIGINT.
const DAILY_SALES_PG: &str = "CREATE VIEW daily_sales AS
    SELECT (COALESCE(completed_at, created_at) AT TIME ZONE 'UTC')::date AS day,
           COUNT(*) AS orders,
           SUM(code_quantity)::BIGINT AS codes,
           SUM(total_price)::BIGINT AS revenue
    FROM orders
    WHERE status = 'completed'
    GROUP BY 1";

const DAILY_SALES_SQLITE: &str = "CREATE VIEW daily_sales AS
    SELECT date(COALESCE(completed_at, created_at)) AS day,
           COUNT(*) AS orders,
           SUM(code_quantity) AS codes,
           SUM(total_price) AS revenue
    FROM orders
    WHERE status = 'completed'
    GROUP BY 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        let daily_sales = match d {
            Dialect::Postgres => DAILY_SALES_PG,
            Dialect::Sqlite => DAILY_SALES_SQLITE,
        };
        d.run(
            manager,
            &[
                "DROP VIEW IF EXISTS stock_summary",
                STOCK_SUMMARY,
                "DROP VIEW IF EXISTS daily_sales",
                daily_sales,
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Dialect::of(manager)?
            .run(
                manager,
                &[
                    "DROP VIEW IF EXISTS daily_sales",
                    "DROP VIEW IF EXISTS stock_summary",
                ],
            )
            .await
    }
}
