//! Test helpers: a fresh PostgreSQL database or SQLite file per test, and small query helpers.
#![allow(dead_code)]

use std::any::Any;

use anyhow::Context;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult,
    Statement, TryGetable, Value,
};

/// A connection to a database that exists for one test only.
pub struct Db {
    pub conn: DatabaseConnection,
    pub url: String,
    _guard: Box<dyn Any + Send>,
}

impl Db {
    pub async fn pg() -> anyhow::Result<Self> {
        let guard = test_support::TestDatabase::create().await?;
        let url = guard.url().to_owned();
        Self::connect(url, Box::new(guard)).await
    }

    pub async fn sqlite() -> anyhow::Result<Self> {
        let guard = test_support::TestSqlite::create()?;
        let url = guard.url().to_owned();
        Self::connect(url, Box::new(guard)).await
    }

    async fn connect(url: String, guard: Box<dyn Any + Send>) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.clone());
        options.sqlx_logging(false).max_connections(4);
        let conn = Database::connect(options).await.context("connecting")?;
        Ok(Self {
            conn,
            url,
            _guard: guard,
        })
    }

    /// A second, independent connection pool to the same database.
    pub async fn another_connection(&self) -> anyhow::Result<DatabaseConnection> {
        let mut options = ConnectOptions::new(self.url.clone());
        options.sqlx_logging(false).max_connections(1);
        Ok(Database::connect(options).await?)
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    pub fn is_pg(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    pub async fn try_exec(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    pub async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        self.try_exec(sql)
            .await
            .with_context(|| format!("executing {sql}"))?;
        Ok(())
    }

    /// The column `v` of the single row `sql` returns.
    pub async fn one<T: TryGetable>(&self, sql: &str) -> anyhow::Result<T> {
        self.one_with(sql, Vec::new()).await
    }

    /// Like [`Db::one`] with bound values; write placeholders as `$1`, `$2`, … (rewritten to `?`
    /// on SQLite).
    pub async fn one_with<T: TryGetable>(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> anyhow::Result<T> {
        let sql = if self.is_pg() {
            sql.to_owned()
        } else {
            (1..=values.len())
                .rev()
                .fold(sql.to_owned(), |s, i| s.replace(&format!("${i}"), "?"))
        };
        let row = self
            .conn
            .query_one(Statement::from_sql_and_values(self.backend(), &sql, values))
            .await
            .with_context(|| format!("querying {sql}"))?
            .with_context(|| format!("no row from {sql}"))?;
        row.try_get::<T>("", "v")
            .with_context(|| format!("decoding column v of {sql}"))
    }

    /// The column `v` of every row `sql` returns.
    pub async fn all<T: TryGetable>(&self, sql: &str) -> anyhow::Result<Vec<T>> {
        let rows = self
            .conn
            .query_all(Statement::from_string(self.backend(), sql.to_owned()))
            .await
            .with_context(|| format!("querying {sql}"))?;
        rows.iter()
            .map(|r| r.try_get::<T>("", "v").map_err(anyhow::Error::from))
            .collect()
    }

    /// Every row of `table` (ordered by `order_by`) as one text line, every column cast to text.
    pub async fn snapshot(&self, table: &str, order_by: &str) -> anyhow::Result<Vec<String>> {
        let columns = self.columns(table).await?;
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        self.snapshot_of(table, &columns, order_by).await
    }

    /// Like [`Db::snapshot`] but only the named columns.
    pub async fn snapshot_of(
        &self,
        table: &str,
        columns: &[&str],
        order_by: &str,
    ) -> anyhow::Result<Vec<String>> {
        let expr = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        self.all(&format!(
            "SELECT {expr} AS v FROM {table} ORDER BY {order_by}"
        ))
        .await
    }

    /// Index names on `table`.
    pub async fn indexes_on(&self, table: &str) -> anyhow::Result<Vec<String>> {
        let sql = if self.is_pg() {
            format!(
                "SELECT indexname::text AS v FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename = '{table}' ORDER BY 1"
            )
        } else {
            format!(
                "SELECT name AS v FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = '{table}' ORDER BY 1"
            )
        };
        self.all(&sql).await
    }

    /// Column names of `table`, in table order.
    pub async fn columns(&self, table: &str) -> anyhow::Result<Vec<String>> {
        let sql = if self.is_pg() {
            format!(
                "SELECT column_name::text AS v FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            )
        } else {
            format!("SELECT name AS v FROM pragma_table_info('{table}') ORDER BY cid")
        };
        self.all(&sql).await
    }

    /// Names of all tables and views (excluding the migration bookkeeping and SQLite internals).
    pub async fn relations(&self) -> anyhow::Result<Vec<String>> {
        let sql = if self.is_pg() {
            "SELECT table_name::text AS v FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> 'seaql_migrations' \
             ORDER BY 1"
        } else {
            "SELECT name AS v FROM sqlite_master WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY 1"
        };
        self.all(sql).await
    }

    /// Names of the triggers defined on `table`.
    pub async fn triggers_on(&self, table: &str) -> anyhow::Result<Vec<String>> {
        let sql = if self.is_pg() {
            format!(
                "SELECT tgname::text AS v FROM pg_trigger \
                 WHERE tgrelid = '{table}'::regclass AND NOT tgisinternal ORDER BY 1"
            )
        } else {
            format!(
                "SELECT name AS v FROM sqlite_master WHERE type = 'trigger' \
                 AND tbl_name = '{table}' ORDER BY 1"
            )
        };
        self.all(&sql).await
    }

    /// A literal for a byte string in this backend's SQL.
    pub fn bytes_literal(&self, hex: &str) -> String {
        if self.is_pg() {
            format!("'\\x{hex}'::bytea")
        } else {
            format!("X'{hex}'")
        }
    }
}

pub const ALL_TABLES_AND_VIEWS: &[&str] = &[
    "admin_audit",
    "app_state",
    "balance_ledger",
    "balance_owed",
    "code_report_items",
    "code_reports",
    "daily_sales",
    "deliveries",
    "order_anomalies",
    "orders",
    "outbox",
    "processed_messages",
    "product_prices",
    "products",
    "stock",
    "stock_batches",
    "stock_summary",
    "topups",
    "users",
];

/// The tables the earlier Python version's `shared_db_schema.sql` created, plus the sibling redeem
/// bot's own `redeems`, with a few rows in each.
pub async fn create_python_schema(db: &Db) -> anyhow::Result<()> {
    let (serial, ts) = if db.is_pg() {
        ("SERIAL PRIMARY KEY", "TIMESTAMP")
    } else {
        ("INTEGER PRIMARY KEY AUTOINCREMENT", "TIMESTAMP")
    };
    for sql in [
        format!(
            "CREATE TABLE users (
                user_id BIGINT PRIMARY KEY,
                balance BIGINT DEFAULT 0,
                total_topup BIGINT DEFAULT 0,
                total_spent BIGINT DEFAULT 0,
                created_at {ts} DEFAULT CURRENT_TIMESTAMP,
                updated_at {ts} DEFAULT CURRENT_TIMESTAMP
            )"
        ),
        format!(
            "CREATE TABLE topups (
                id {serial},
                user_id BIGINT REFERENCES users(user_id),
                amount BIGINT NOT NULL,
                order_id VARCHAR(100) UNIQUE NOT NULL,
                status VARCHAR(20) DEFAULT 'pending',
                payment_type VARCHAR(50),
                bot_source VARCHAR(20) DEFAULT 'redeem',
                created_at {ts} DEFAULT CURRENT_TIMESTAMP,
                updated_at {ts} DEFAULT CURRENT_TIMESTAMP
            )"
        ),
        format!(
            "CREATE TABLE redeems (
                id {serial},
                user_id BIGINT,
                code TEXT,
                created_at {ts} DEFAULT CURRENT_TIMESTAMP
            )"
        ),
        "CREATE INDEX redeems_user_id_idx ON redeems (user_id)".to_owned(),
        "INSERT INTO users (user_id, balance, total_topup, total_spent, created_at, updated_at) VALUES
            (111111111111111111, 25000, 100000, 75000, '2024-03-01 08:00:00', '2024-03-02 09:30:00'),
            (222222222222222222, 0, 50000, 50000, '2024-04-01 10:00:00', '2024-04-01 10:00:00')"
            .to_owned(),
        "INSERT INTO users (user_id) VALUES (333333333333333333)".to_owned(),
        "INSERT INTO topups (user_id, amount, order_id, status, payment_type, bot_source, created_at, updated_at) VALUES
            (111111111111111111, 100000, 'REDEEM-111-1', 'success', 'qris', 'redeem', '2024-03-01 08:05:00', '2024-03-01 08:06:00'),
            (222222222222222222, 50000, 'REDEEM-222-1', 'success', 'qris', 'redeem', '2024-04-01 10:05:00', '2024-04-01 10:07:00'),
            (222222222222222222, 20000, 'REDEEM-222-2', 'failed', NULL, 'redeem', '2024-04-02 10:05:00', '2024-04-02 10:20:00')"
            .to_owned(),
        "INSERT INTO topups (user_id, amount, order_id) VALUES (333333333333333333, 10000, 'REDEEM-333-1')"
            .to_owned(),
        "INSERT INTO redeems (user_id, code, created_at) VALUES
            (111111111111111111, 'RF-AAAA-BBBB', '2024-03-03 12:00:00'),
            (222222222222222222, 'RF-CCCC-DDDD', '2024-04-03 12:00:00')"
            .to_owned(),
    ] {
        db.exec(&sql).await?;
    }
    Ok(())
}

/// Runs each named scenario (an `async fn(Db) -> anyhow::Result<()>` of the calling test file)
/// against a fresh PostgreSQL database and a fresh SQLite file.
#[allow(unused_macros)] // cli.rs shares this module but runs per backend itself
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn postgres() -> anyhow::Result<()> {
                super::$scenario(super::Db::pg().await?).await
            }
            #[tokio::test]
            async fn sqlite() -> anyhow::Result<()> {
                super::$scenario(super::Db::sqlite().await?).await
            }
        }
    )*};
}
