//! Database access shared by every flow: connecting (and migrating), the balance ledger and the
//! transactional outbox. Flow-specific queries live beside their flow.
//!
//! SQL here is written once for PostgreSQL and SQLite: placeholders are `$1, $2, …` numbered in
//! order of first appearance, which both backends bind positionally.

pub mod ledger;
pub mod outbox;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::config::PaymentConfig;

/// Opens the pool and, when configured, applies pending migrations.
pub async fn connect(config: &PaymentConfig) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url();
    let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        connect_postgres(url, config.db_max_connections).await?
    } else {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(config.db_max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            // Every connection of the pool: wait for the write lock instead of failing at once,
            // and write-ahead logging, where readers never block the writer and a transaction
            // that starts with a write waits for the lock (the rollback journal makes SQLite
            // answer "database is locked" at once to avoid a deadlock between two writers).
            .map_sqlx_sqlite_opts(|o| {
                o.busy_timeout(Duration::from_secs(10))
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .foreign_keys(true)
            });
        Database::connect(options)
            .await
            .context("connecting to the database (DATABASE_URL)")?
    };
    if config.run_migrations {
        // Takes an advisory lock on PostgreSQL: replicas starting together migrate once.
        migrations::apply_pending(&db, None)
            .await
            .context("applying database migrations")?;
    }
    // The first start after the catalogue upgrade prices the default product from the
    // PRICE_* settings; later starts leave the admins' prices alone.
    crate::catalogue::seed_default_prices(&db, &config.prices)
        .await
        .context(
            "pricing the default product (if the products table is missing, the schema is older \
             than this service: run the migrations)",
        )?;
    Ok(db)
}

/// A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_millis(250);

/// The PostgreSQL pool. sqlx pings every connection before handing it out by default: one more
/// round trip per transaction (a sixth of a webhook credit's). Under load connections are reused
/// within milliseconds and are known good; only one that sat idle (where a database restart may
/// have killed it) is pinged, and replaced if the ping fails.
async fn connect_postgres(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    use sqlx::ConnectOptions as _;
    use sqlx::Connection as _;
    let options: sqlx::postgres::PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(
            options
                .disable_statement_logging()
                // Every statement is prepared once per connection with placeholders for values
                // that do not change its best plan (key lookups, literal statuses matching the
                // partial indexes). Custom plans would re-plan each execution: about a sixth of
                // the server's CPU on the order path, measured with perf.
                .options([("plan_cache_mode", "force_generic_plan")]),
        )
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        pool,
    ))
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
