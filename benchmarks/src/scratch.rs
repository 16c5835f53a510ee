//! Scratch resources the stages create and always remove: PostgreSQL databases and broker
//! namespaces. Dropping a guard removes its resource (also when a stage fails or the run is
//! interrupted), so a benchmark never leaves anything behind on the shared servers.

use anyhow::Context;
use broker::{Broker, BrokerConfig};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use shared_proto::Topology;

/// A short unique name, safe for database names and queue prefixes.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

/// A PostgreSQL database that exists for one stage.
pub struct ScratchDb {
    name: String,
    url: String,
    admin_url: String,
}

impl ScratchDb {
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = unique_name(prefix);
        let admin = Database::connect(admin_url)
            .await
            .context("connecting to PostgreSQL (is it running? see scripts/ensure-services.sh)")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"))?;
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).context("parsing the PostgreSQL admin URL")?;
        url.set_path(&name);
        Ok(ScratchDb {
            name,
            url: url.to_string(),
            admin_url: admin_url.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(8).sqlx_logging(false);
        Database::connect(options)
            .await
            .with_context(|| format!("connecting to database {}", self.name))
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        block_on_side_thread(async move {
            if let Ok(admin) = Database::connect(admin_url).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                admin.close().await.ok();
            }
        });
    }
}

/// A broker namespace: every exchange and queue of its topology is deleted on drop.
pub struct ScratchNamespace {
    config: BrokerConfig,
}

impl ScratchNamespace {
    pub fn new(amqp_url: &str, prefix: &str) -> Self {
        let namespace = unique_name(prefix);
        ScratchNamespace {
            config: BrokerConfig::new(amqp_url, Topology::new(namespace), "bench"),
        }
    }

    pub fn namespace(&self) -> &str {
        self.config.topology.namespace()
    }

    pub fn topology(&self) -> &Topology {
        &self.config.topology
    }

    /// A connection in this namespace (topology declared), named for the management UI.
    pub async fn connect(&self, connection_name: &str, prefetch: u16) -> anyhow::Result<Broker> {
        let mut config = self.config.clone();
        config.connection_name = connection_name.to_string();
        config.prefetch = prefetch;
        let broker = Broker::connect(config)
            .await
            .context("connecting to RabbitMQ (is it running? see scripts/ensure-services.sh)")?;
        broker
            .declare_topology()
            .await
            .context("declaring the topology")?;
        Ok(broker)
    }
}

impl Drop for ScratchNamespace {
    fn drop(&mut self) {
        let mut config = self.config.clone();
        config.connection_name = "bench-cleanup".into();
        block_on_side_thread(async move {
            // Connecting retries for up to ~30 s when RabbitMQ is gone; cleanup should not hang.
            let attempt = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                let broker = Broker::connect(config).await.ok()?;
                let _ = broker.delete_topology().await;
                broker.close().await;
                Some(())
            });
            let _ = attempt.await;
        });
    }
}

/// Runs cleanup from `Drop`, inside or outside a runtime: a private thread with its own runtime.
fn block_on_side_thread<F>(work: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let handle = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(work);
        }
    });
    let _ = handle.join();
}
