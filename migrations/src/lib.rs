//! The database schema of Redfinger Shop, for PostgreSQL and SQLite, as sea-orm migrations.
//!
//! Run it with the `migrations` binary (`up`, `down [N]`, `status`) or from a service with
//! [`apply_pending`]. [`Migrator`] is an ordinary [`MigratorTrait`]; do **not** call its `fresh`,
//! `refresh` or `reset`: `fresh` drops *every* table in the database, including the sibling
//! redeem bot's `redeems`, `users` and `topups`.
//!
//! The first migration adopts the tables shared with the sibling redeem bot (`users`, `topups`)
//! in place; see [`m20261125_000001_adopt_shared_tables`] for the rules (add only, never rewrite;
//! `down` keeps the shared tables).
//!
//! # Column types for sea-orm entities
//!
//! Timestamps come in two kinds, and the entity type must match the kind on PostgreSQL (sqlx is
//! strict there; on SQLite either chrono type decodes either text shape):
//!
//! * **Legacy shared timestamps** — `users.created_at`, `users.updated_at`, `topups.created_at`,
//!   `topups.updated_at`: PostgreSQL `TIMESTAMP` (without time zone, as the earlier Python
//!   version created them and as the sibling bot still reads them; retyping would rewrite its
//!   tables and hand it time-zone-aware values), SQLite text `YYYY-MM-DD HH:MM:SS.sss`.
//!   Entity type: `DateTime` (`chrono::NaiveDateTime`), wall-clock time of the database session
//!   (UTC with the stock PostgreSQL images). All nullable: `Option<DateTime>`.
//! * **Every other timestamp** (`topups.expires_at`, `topups.paid_at` and all of the project's
//!   own tables): PostgreSQL `TIMESTAMPTZ`, SQLite RFC 3339 text in UTC
//!   (`2026-11-25T10:00:00.123+00:00`, the same shape sqlx writes). Entity type: `DateTimeUtc`.
//!
//! Other types: `BIGINT` → `i64`, `INTEGER`/`SERIAL` → `i32`, `TEXT`/`VARCHAR` → `String`,
//! `BYTEA`/`BLOB` → `Vec<u8>`, `DATE` → `Date` (`chrono::NaiveDate`). `NULL`-able → `Option<_>`.
//!
//! | table | columns (type, nullability, default) |
//! |---|---|
//! | `users` | `user_id` BIGINT PK; `username` TEXT NULL; `locale` TEXT NULL (Discord locale of the last order/top-up); `balance` BIGINT NOT NULL DEFAULT 0 CHECK ≥ 0; `total_topup`, `total_spent` BIGINT NOT NULL DEFAULT 0; `created_at`, `updated_at` legacy TIMESTAMP NULL DEFAULT now |
//! | `topups` | `id` SERIAL (i32) PK; `user_id` BIGINT NULL → users; `amount` BIGINT NOT NULL; `order_id` VARCHAR(100) NOT NULL UNIQUE; `status` VARCHAR(20) NULL DEFAULT 'pending' (pending/success/failed, no CHECK: shared); `payment_type` VARCHAR(50) NULL; `bot_source` VARCHAR(20) NULL DEFAULT 'redeem' (write 'order'); `transaction_id`, `midtrans_status`, `qr_string` TEXT NULL; `expires_at`, `paid_at` TIMESTAMPTZ NULL; `request_id` TEXT NULL UNIQUE; `returned_amount` BIGINT NULL, `returned_at` TIMESTAMPTZ NULL (money returned after settlement); `created_at`, `updated_at` legacy TIMESTAMP NULL DEFAULT now |
//! | `orders` | `id` BIGSERIAL PK; `order_number`, `request_id` TEXT NOT NULL UNIQUE; `user_id` BIGINT NOT NULL → users; `package_size`, `code_quantity` INTEGER NOT NULL > 0; `total_price` BIGINT NOT NULL ≥ 0; `product_id` BIGINT NOT NULL DEFAULT 1; `status` TEXT NOT NULL DEFAULT 'pending' CHECK pending/delivering/completed/failed/refunded; `delivery_attempts` INTEGER NOT NULL DEFAULT 0; `last_error`, `interaction_token`, `interaction_application_id` TEXT NULL; `created_at`, `updated_at` TIMESTAMPTZ NOT NULL DEFAULT now; `completed_at` TIMESTAMPTZ NULL; `refunded_amount` BIGINT NOT NULL DEFAULT 0 (refunded code by code) |
//! | `stock` | `id` BIGSERIAL PK; `ciphertext`, `nonce` BYTEA NOT NULL; `key_id` TEXT NOT NULL; `code_hash` TEXT NOT NULL UNIQUE; `status` TEXT NOT NULL DEFAULT 'available' CHECK available/reserved/sold; `order_id` BIGINT NULL → orders; `batch_id` TEXT NULL; `product_id` BIGINT NOT NULL DEFAULT 1; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now; `reserved_at`, `sold_at`, `quarantined_at`, `defective_at` TIMESTAMPTZ NULL |
//! | `stock_batches` | `batch_id` TEXT PK; `added_by` BIGINT NOT NULL; `added`, `duplicates`, `rejected` INTEGER NOT NULL DEFAULT 0; `product_id` BIGINT NOT NULL DEFAULT 1; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `deliveries` | `id` BIGSERIAL PK; `order_id` BIGINT NOT NULL → orders; `attempt` INTEGER NOT NULL; `method` TEXT NOT NULL CHECK dm/channel/file; `status` TEXT NOT NULL; `error` TEXT NULL; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `balance_ledger` | `id` BIGSERIAL PK; `user_id` BIGINT NOT NULL → users; `delta` BIGINT NOT NULL; `reason` TEXT NOT NULL CHECK topup/order/refund/adjustment/reversal; `reference` TEXT NOT NULL; `balance_after` BIGINT NOT NULL ≥ 0; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now; UNIQUE (`reason`, `reference`) |
//! | `outbox` | `id` BIGSERIAL PK; `message_id` TEXT NOT NULL UNIQUE; `exchange`, `routing_key`, `message_type`, `correlation_id`, `payload` (JSON text) TEXT NOT NULL; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now; `published_at`, `locked_until`, `voided_at` TIMESTAMPTZ NULL; `attempts` INTEGER NOT NULL DEFAULT 0; `last_error` TEXT NULL |
//! | `processed_messages` | PK (`consumer` TEXT, `message_id` TEXT); `processed_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `admin_audit` | `id` BIGSERIAL PK; `admin_user_id` BIGINT NOT NULL; `action` TEXT NOT NULL; `detail` TEXT NULL; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `balance_owed` | `user_id` BIGINT PK → users; `amount` BIGINT NOT NULL DEFAULT 0 CHECK ≥ 0; `updated_at` TIMESTAMPTZ NOT NULL DEFAULT now — returned money the balance could not cover; blocks orders while > 0 |
//! | `order_anomalies` | `id` BIGSERIAL PK; `order_id` BIGINT NOT NULL → orders; `kind` TEXT NOT NULL (`delivered_after_refund`); `detail` TEXT NOT NULL; `message_id` TEXT NULL; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `code_reports` | `id` BIGSERIAL PK; `request_id` TEXT NOT NULL UNIQUE; `order_id` BIGINT NOT NULL → orders; `user_id` BIGINT NOT NULL; `reason` TEXT NOT NULL CHECK already_used/invalid/other; `note` TEXT NULL; `status` TEXT NOT NULL DEFAULT 'open' CHECK open/resolved/rejected (one open per order); `rejection` TEXT NULL; `created_at` TIMESTAMPTZ NOT NULL DEFAULT now; `resolved_at` TIMESTAMPTZ NULL; `resolved_by` BIGINT NULL |
//! | `code_report_items` | PK (`report_id` → code_reports, `stock_id` → stock); `position` INTEGER NOT NULL > 0; `outcome` TEXT NULL CHECK replaced/refunded/rejected (replaced or refunded once per code); `replacement_stock_id` BIGINT NULL → stock (unique); `refund_amount` BIGINT NULL ≥ 0; `resolved_at` TIMESTAMPTZ NULL |
//! | `products` | `id` BIGSERIAL PK (1 = the default product, made by the migration); `name` TEXT NOT NULL UNIQUE; `description` TEXT NOT NULL DEFAULT ''; `active` BOOLEAN NOT NULL DEFAULT TRUE; `display_order` INTEGER NOT NULL DEFAULT 0; `low_stock_threshold` BIGINT NULL (NULL: the service's setting); `created_at`, `updated_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `product_prices` | PK (`product_id` → products, `codes` INTEGER CHECK 1/5/10/25/50); `price` BIGINT NOT NULL > 0; `on_sale` BOOLEAN NOT NULL DEFAULT TRUE; `updated_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | `app_state` | `key` TEXT PK; `value` TEXT NOT NULL; `updated_at` TIMESTAMPTZ NOT NULL DEFAULT now |
//! | view `stock_summary` | `status` TEXT, `count` BIGINT — always the three statuses |
//! | view `daily_sales` | `day` DATE (UTC), `orders`, `codes`, `revenue` BIGINT — completed orders only |
//!
//! On SQLite every `BIGSERIAL`/`SERIAL` is `INTEGER PRIMARY KEY AUTOINCREMENT`, `BYTEA` is
//! `BLOB` and timestamps are `TEXT`. `updated_at` is kept current by triggers on `users`,
//! `topups`, `orders` and `app_state`: services never need to set it (on SQLite the trigger
//! runs after the statement, so an `UPDATE … RETURNING` shows the previous `updated_at`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};

mod dialect;
pub mod m20261125_000001_adopt_shared_tables;
pub mod m20261125_000002_create_shop_tables;
pub mod m20261125_000003_create_messaging_tables;
pub mod m20261125_000004_create_admin_tables;
pub mod m20261125_000005_create_report_views;
pub mod m20261202_000001_refund_voids_and_quarantine;
pub mod m20261202_000006_money_returned;
pub mod m20261202_000007_user_locale;
pub mod m20261202_000008_code_reports;
pub mod m20261202_000009_products;

pub use sea_orm_migration::MigratorTrait;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_adopt_shared_tables::Migration),
            Box::new(m20261125_000002_create_shop_tables::Migration),
            Box::new(m20261125_000003_create_messaging_tables::Migration),
            Box::new(m20261125_000004_create_admin_tables::Migration),
            Box::new(m20261125_000005_create_report_views::Migration),
            Box::new(m20261202_000001_refund_voids_and_quarantine::Migration),
            Box::new(m20261202_000006_money_returned::Migration),
            Box::new(m20261202_000007_user_locale::Migration),
            Box::new(m20261202_000008_code_reports::Migration),
            Box::new(m20261202_000009_products::Migration),
        ]
    }
}

/// Key of the PostgreSQL advisory lock that serialises concurrent migrators (several service
/// replicas starting at once). Arbitrary but fixed: "redfinger" in ASCII, truncated.
const PG_MIGRATION_LOCK: i64 = 0x7265_6466_696e_6765;

/// Applies pending migrations (`steps = None`: all of them) in one transaction.
///
/// On PostgreSQL the transaction first takes an advisory lock, so replicas that start together
/// apply the schema once and the others wait, then find nothing pending. SQLite has
/// transactional DDL too, so a failed `up` leaves nothing half-done on either backend.
pub async fn apply_pending(db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    let txn = begin_locked(db).await?;
    Migrator::up(&txn, steps).await?;
    txn.commit().await
}

/// Rolls back the last `steps` applied migrations in one transaction (see the module docs for
/// what a rollback keeps).
pub async fn roll_back(db: &DatabaseConnection, steps: u32) -> Result<(), DbErr> {
    let txn = begin_locked(db).await?;
    Migrator::down(&txn, Some(steps)).await?;
    txn.commit().await
}

/// `(migration name, applied?)` for every migration this build knows, oldest first.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let txn = begin_locked(db).await?;
    let list = Migrator::get_migration_with_status(&txn)
        .await?
        .iter()
        .map(|m| {
            (
                m.name().to_owned(),
                m.status() == sea_orm_migration::MigrationStatus::Applied,
            )
        })
        .collect();
    txn.commit().await?;
    Ok(list)
}

async fn begin_locked(
    db: &DatabaseConnection,
) -> Result<sea_orm_migration::sea_orm::DatabaseTransaction, DbErr> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    if backend == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1)",
            [PG_MIGRATION_LOCK.into()],
        ))
        .await?;
    }
    Ok(txn)
}
