//! Test-only helpers shared by every crate's integration tests.
//!
//! Each test gets its own PostgreSQL database and its own broker namespace, so the whole suite runs
//! in parallel against the one PostgreSQL and the one RabbitMQ on this machine and leaves nothing
//! behind. Nothing here is linked into a service binary.

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};

/// Where the maintenance connection goes; override with `TEST_PG_ADMIN_URL`.
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The broker the tests use; override with `TEST_AMQP_URL`.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A short unique name, safe for database names, queue prefixes and ids.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..16])
}

/// A broker namespace (prefix of every exchange and queue) that no other test uses.
pub fn unique_namespace() -> String {
    unique_name("t")
}

/// A PostgreSQL database created for one test and dropped (forcibly) when this value is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
    keep: bool,
}

impl TestDatabase {
    /// Creates an empty database with a unique name.
    pub async fn create() -> anyhow::Result<Self> {
        let name = unique_name("t");
        let admin = Database::connect(pg_admin_url())
            .await
            .context("connecting to PostgreSQL (is it running on 127.0.0.1:5432?)")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating test database {name}"))?;
        admin.close().await.ok();
        let mut url = url::Url::parse(&pg_admin_url()).context("parsing TEST_PG_ADMIN_URL")?;
        url.set_path(&name);
        Ok(Self {
            name,
            url: url.to_string(),
            keep: std::env::var("TEST_KEEP_DATABASES").is_ok(),
        })
    }

    /// The connection URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a private thread with its own runtime works in both.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(pg_admin_url()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    admin.close().await.ok();
                }
            });
        });
        let _ = handle.join();
    }
}

/// A temporary SQLite database file, removed on drop.
pub struct TestSqlite {
    dir: std::path::PathBuf,
    url: String,
}

impl TestSqlite {
    pub fn create() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(unique_name("sqlite"));
        std::fs::create_dir_all(&dir).context("creating temp dir for sqlite")?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        Ok(Self { dir, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A broker namespace used by one test; its exchanges and queues (with their dead-letter queues)
/// are deleted when this value is dropped, so the shared RabbitMQ does not fill up with quorum
/// queues of finished tests.
pub struct BrokerNamespace {
    name: String,
}

impl BrokerNamespace {
    pub fn new() -> Self {
        BrokerNamespace {
            name: unique_namespace(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for BrokerNamespace {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BrokerNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), delete_namespace(&name)).await;
            });
        });
        let _ = handle.join();
    }
}

/// Deletes every exchange and queue of `namespace` on the test broker (missing ones are fine).
pub async fn delete_namespace(namespace: &str) -> anyhow::Result<()> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let topology = shared_proto::Topology::new(namespace);
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .context("connecting to RabbitMQ")?;
    for queue in topology.all_queues() {
        for name in [&queue.name, &queue.dead_letter_queue] {
            // A failed delete closes the channel, so each gets its own.
            if let Ok(ch) = conn.create_channel().await {
                let _ = ch.queue_delete(name, QueueDeleteOptions::default()).await;
                let _ = ch.close(200, "bye").await;
            }
        }
    }
    for exchange in topology.exchanges() {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch
                .exchange_delete(&exchange.name, ExchangeDeleteOptions::default())
                .await;
            let _ = ch.close(200, "bye").await;
        }
    }
    let _ = conn.close(200, "bye").await;
    Ok(())
}
