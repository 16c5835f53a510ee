//! The few places where PostgreSQL and SQLite disagree, kept in one spot so every migration
//! writes one DDL text with placeholders instead of two hand-maintained copies.
//!
//! Placeholders (see [`Dialect::render`]):
//!
//! | placeholder   | PostgreSQL                    | SQLite                                               |
//! |---------------|-------------------------------|------------------------------------------------------|
//! | `{ID}`        | `BIGSERIAL PRIMARY KEY`       | `INTEGER PRIMARY KEY AUTOINCREMENT`                  |
//! | `{SERIAL_ID}` | `SERIAL PRIMARY KEY`          | `INTEGER PRIMARY KEY AUTOINCREMENT`                  |
//! | `{BIGINT_PK}` | `BIGINT PRIMARY KEY`          | `INTEGER PRIMARY KEY`                                |
//! | `{BYTES}`     | `BYTEA`                       | `BLOB`                                               |
//! | `{TSTZ}`      | `TIMESTAMPTZ`                 | `TEXT` (RFC 3339, UTC)                               |
//! | `{NOW}`       | `now()`                       | `strftime('%Y-%m-%dT%H:%M:%f+00:00','now')`          |
//! | `{TS}`        | `TIMESTAMP` (no time zone)    | `TEXT` (`YYYY-MM-DD HH:MM:SS.sss`, UTC)              |
//! | `{TS_NOW}`    | `CURRENT_TIMESTAMP`           | `strftime('%Y-%m-%d %H:%M:%f','now')`                |
//!
//! SQLite timestamps are written in exactly the text shapes sqlx itself writes for
//! `DateTime<Utc>` (`{TSTZ}`) and `NaiveDateTime` (`{TS}`), so comparing a stored value with a
//! bound chrono value is a correct text comparison (`CURRENT_TIMESTAMP`'s `YYYY-MM-DD HH:MM:SS`
//! would not sort correctly against sqlx's `YYYY-MM-DDTHH:MM:SS+00:00`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The backend a migration is running against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// The name of the PostgreSQL trigger function that keeps `updated_at` current.
pub(crate) const PG_TOUCH_FUNCTION: &str = "redfinger_touch_updated_at";

impl Dialect {
    pub(crate) fn of(manager: &SchemaManager) -> Result<Self, DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => Ok(Self::Postgres),
            DbBackend::Sqlite => Ok(Self::Sqlite),
            DbBackend::MySql => Err(DbErr::Migration(
                "MySQL is not supported: use a PostgreSQL or SQLite DATABASE_URL".to_owned(),
            )),
        }
    }

    /// The default expression for a `{TSTZ}` column.
    pub(crate) fn now(self) -> &'static str {
        match self {
            Self::Postgres => "now()",
            Self::Sqlite => "strftime('%Y-%m-%dT%H:%M:%f+00:00','now')",
        }
    }

    /// The default expression for a `{TS}` column.
    pub(crate) fn ts_now(self) -> &'static str {
        match self {
            Self::Postgres => "CURRENT_TIMESTAMP",
            Self::Sqlite => "strftime('%Y-%m-%d %H:%M:%f','now')",
        }
    }

    /// Replaces the placeholders of the module table with this backend's SQL.
    pub(crate) fn render(self, sql: &str) -> String {
        let pairs: [(&str, &str); 8] = match self {
            Self::Postgres => [
                ("{ID}", "BIGSERIAL PRIMARY KEY"),
                ("{SERIAL_ID}", "SERIAL PRIMARY KEY"),
                ("{BIGINT_PK}", "BIGINT PRIMARY KEY"),
                ("{BYTES}", "BYTEA"),
                ("{TSTZ}", "TIMESTAMPTZ"),
                ("{NOW}", "now()"),
                ("{TS}", "TIMESTAMP"),
                ("{TS_NOW}", "CURRENT_TIMESTAMP"),
            ],
            Self::Sqlite => [
                ("{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ("{SERIAL_ID}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ("{BIGINT_PK}", "INTEGER PRIMARY KEY"),
                ("{BYTES}", "BLOB"),
                ("{TSTZ}", "TEXT"),
                ("{NOW}", "(strftime('%Y-%m-%dT%H:%M:%f+00:00','now'))"),
                ("{TS}", "TEXT"),
                ("{TS_NOW}", "(strftime('%Y-%m-%d %H:%M:%f','now'))"),
            ],
        };
        pairs
            .iter()
            .fold(sql.to_owned(), |acc, (from, to)| acc.replace(from, to))
    }

    /// Renders and runs each statement in order.
    pub(crate) async fn run(self, manager: &SchemaManager<'_>, sqls: &[&str]) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in sqls {
            db.execute_unprepared(&self.render(sql)).await?;
        }
        Ok(())
    }

    /// Statements that keep `table.updated_at` current on every UPDATE.
    ///
    /// PostgreSQL: a BEFORE UPDATE trigger calling [`PG_TOUCH_FUNCTION`] (always wins, even over an
    /// explicit value). SQLite: an AFTER UPDATE trigger that fires only when the statement left
    /// `updated_at` unchanged, so its own UPDATE does not fire it again.
    pub(crate) fn touch_trigger(self, table: &str, key: &str, now: &str) -> Vec<String> {
        let name = format!("{table}_touch_updated_at");
        match self {
            Self::Postgres => vec![
                format!("DROP TRIGGER IF EXISTS {name} ON {table}"),
                format!(
                    "CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW \
                     EXECUTE FUNCTION {PG_TOUCH_FUNCTION}()"
                ),
            ],
            Self::Sqlite => vec![format!(
                "CREATE TRIGGER IF NOT EXISTS {name} AFTER UPDATE ON {table} FOR EACH ROW \
                 WHEN NEW.updated_at IS OLD.updated_at \
                 BEGIN UPDATE {table} SET updated_at = {now} WHERE {key} = NEW.{key}; END"
            )],
        }
    }

    pub(crate) fn drop_touch_trigger(self, table: &str) -> String {
        match self {
            Self::Postgres => format!("DROP TRIGGER IF EXISTS {table}_touch_updated_at ON {table}"),
            Self::Sqlite => format!("DROP TRIGGER IF EXISTS {table}_touch_updated_at"),
        }
    }

    /// Adds each `(table, column, definition)` that is not there yet (definitions may use the
    /// `{TSTZ}`-style placeholders of [`Self::run`]).
    pub(crate) async fn add_missing_columns(
        self,
        manager: &SchemaManager<'_>,
        columns: &[(&str, &str, &str)],
    ) -> Result<(), DbErr> {
        for (table, column, definition) in columns {
            if !self.column_exists(manager, table, column).await? {
                let sql = format!("ALTER TABLE {table} ADD COLUMN {column} {definition}");
                self.run(manager, &[&sql]).await?;
            }
        }
        Ok(())
    }

    /// Drops each `(table, column, _)` that is there (the `down` of [`Self::add_missing_columns`]).
    pub(crate) async fn drop_columns(
        self,
        manager: &SchemaManager<'_>,
        columns: &[(&str, &str, &str)],
    ) -> Result<(), DbErr> {
        for (table, column, _) in columns {
            if self.column_exists(manager, table, column).await? {
                let sql = format!("ALTER TABLE {table} DROP COLUMN {column}");
                self.run(manager, &[&sql]).await?;
            }
        }
        Ok(())
    }

    /// Whether `table.column` exists.
    pub(crate) async fn column_exists(
        self,
        manager: &SchemaManager<'_>,
        table: &str,
        column: &str,
    ) -> Result<bool, DbErr> {
        let sql = match self {
            Self::Postgres => format!(
                "SELECT COUNT(*) AS n FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' AND column_name = $1"
            ),
            Self::Sqlite => {
                format!("SELECT COUNT(*) AS n FROM pragma_table_info('{table}') WHERE name = ?")
            }
        };
        self.count(manager, &sql, column).await.map(|n| n > 0)
    }

    /// Runs a `SELECT COUNT(*) AS n ...` query with one text parameter (`$1` on PostgreSQL, `?` on
    /// SQLite).
    pub(crate) async fn count(
        self,
        manager: &SchemaManager<'_>,
        sql: &str,
        param: &str,
    ) -> Result<i64, DbErr> {
        let backend = manager.get_database_backend();
        let row = manager
            .get_connection()
            .query_one(Statement::from_sql_and_values(backend, sql, [param.into()]))
            .await?;
        match row {
            Some(row) => row.try_get::<i64>("", "n"),
            None => Ok(0),
        }
    }

    /// Runs a `SELECT COUNT(*) AS n ...` query without parameters.
    pub(crate) async fn count_plain(
        self,
        manager: &SchemaManager<'_>,
        sql: &str,
    ) -> Result<i64, DbErr> {
        let backend = manager.get_database_backend();
        let row = manager
            .get_connection()
            .query_one(Statement::from_string(backend, sql.to_owned()))
            .await?;
        match row {
            Some(row) => row.try_get::<i64>("", "n"),
            None => Ok(0),
        }
    }
}
