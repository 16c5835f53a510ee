//! After the sale: a buyer reports bad codes of an order, an admin replaces or refunds them.
//!
//! * `code_reports`: one report of a buyer about an order (`reason` used/invalid/other, an
//!   optional note, `status` open/resolved/rejected). At most one `open` report per order (a
//!   partial unique index). `request_id` makes a repeated request answer the first report.
//! * `code_report_items`: the reported codes (`stock_id`, their 1-based `position` in the order
//!   as delivered) and what became of each (`outcome` replaced/refunded/rejected, the
//!   `replacement_stock_id`, the `refund_amount`). A code is replaced or refunded at most once
//!   and a code is delivered at most once as a replacement (partial unique indexes).
//! * `stock.defective_at`: the code was reported bad and replaced or refunded, or its whole
//!   batch was marked defective (then, if unsold, it left sale: `reserved` without an order).
//!   Defects are counted per `batch_id`.
//! * `orders.refunded_amount` (BIGINT NOT NULL DEFAULT 0): what was refunded of a completed
//!   order code by code; the order is "partially refunded" while it is above zero. A later
//!   whole-order refund returns only the rest.
//!
//! Only this project uses these tables and columns; `down` removes them.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str, &str)] = &[
    ("stock", "defective_at", "{TSTZ}"),
    ("orders", "refunded_amount", "BIGINT NOT NULL DEFAULT 0"),
];

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS code_reports (
        id {ID},
        request_id TEXT NOT NULL UNIQUE,
        order_id BIGINT NOT NULL REFERENCES orders(id),
        user_id BIGINT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('already_used', 'invalid', 'other')),
        note TEXT,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'rejected')),
        rejection TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        resolved_at {TSTZ},
        resolved_by BIGINT
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS code_reports_one_open_per_order \
     ON code_reports (order_id) WHERE status = 'open'",
    "CREATE INDEX IF NOT EXISTS code_reports_user_idx ON code_reports (user_id, created_at)",
    "CREATE TABLE IF NOT EXISTS code_report_items (
        report_id BIGINT NOT NULL REFERENCES code_reports(id),
        stock_id BIGINT NOT NULL REFERENCES stock(id),
        position INTEGER NOT NULL CHECK (position > 0),
        outcome TEXT CHECK (outcome IN ('replaced', 'refunded', 'rejected')),
        replacement_stock_id BIGINT REFERENCES stock(id),
        refund_amount BIGINT CHECK (refund_amount >= 0),
        resolved_at {TSTZ},
        PRIMARY KEY (report_id, stock_id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS code_report_items_settled_once \
     ON code_report_items (stock_id) WHERE outcome IN ('replaced', 'refunded')",
    "CREATE UNIQUE INDEX IF NOT EXISTS code_report_items_replacement_once \
     ON code_report_items (replacement_stock_id) WHERE replacement_stock_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS stock_defective_idx ON stock (batch_id) WHERE defective_at IS NOT NULL",
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
                "DROP INDEX IF EXISTS stock_defective_idx",
                "DROP TABLE IF EXISTS code_report_items",
                "DROP TABLE IF EXISTS code_reports",
            ],
        )
        .await?;
        d.drop_columns(manager, COLUMNS).await
    }
}
