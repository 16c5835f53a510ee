//! Database access shared by every flow: connecting (and migrating), the balance ledger and the
//! transactional outbox. Flow-specific queries live beside their flow.
//!
//! SQL here is written once for PostgreSQL and SQLite: placeholders are `$1, $2, …` numbered in
//! order of first appearance, which both backends bind positionally.

pub mod ledger;
pub mod outbox;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::config::PaymentConfig;

/// Opens the pool and, when configured, applies pending migrations.
pub async fn connect(config: &PaymentConfig) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database_url().to_string());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // One writer at a time on SQLite: wait for the lock instead of failing at once.
        db.execute_unprepared("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
            .await
            .context("configuring SQLite")?;
    }
    if config.run_migrations {
        // Takes an advisory lock on PostgreSQL: replicas starting together migrate once.
        migrations::apply_pending(&db, None)
            .await
            .context("applying database migrations")?;
    }
    Ok(db)
}

/// A statement with positional values for the connection's backend.
pub fn stmt<I>(db: &impl ConnectionTrait, sql: &str, values: I) -> Statement
where
    I: IntoIterator<Item = sea_orm::Value>,
{
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// True when the database answers (for `/readyz`).
pub async fn is_ready(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}
