//! One whole Redfinger Shop: fake Discord + Midtrans simulator (in-process), payment-service and
//! bot-service (child processes), a fresh PostgreSQL database and a private broker namespace.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine;
use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild, FakeRole, RunningFake};
use midtrans_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use payment_service::stock_vault::StockVault;
use rand::RngCore;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};
use test_support::{BrokerNamespace, TestDatabase};

use crate::binaries::service_binaries;
use crate::process::ServiceProcess;

/// The guild role named like the bot's default `ADMIN_ROLE_NAME` ("Admin").
pub const ADMIN_ROLE_ID: u64 = 1_100_000_000_000_000_300;
/// `PUBLIC_CHANNEL_ID`: where private delivery threads would be opened.
pub const PUBLIC_CHANNEL_ID: u64 = 1_100_000_000_000_000_201;
/// `ALERT_CHANNEL_ID`: where admins are alerted.
pub const ALERT_CHANNEL_ID: u64 = 1_100_000_000_000_000_202;

/// A channel the bot may keep its live stock panel in (`STOCK_CHANNEL_ID`, set by the tests that
/// want one).
pub const STOCK_CHANNEL_ID: u64 = 1_100_000_000_000_000_203;

/// Another server the bot was invited to, run by an attacker: it has its own role named
/// "Admin" (like `ADMIN_ROLE_NAME`) and is not the shop's guild.
pub const FOREIGN_GUILD_ID: u64 = 1_100_000_000_000_000_500;
/// The foreign guild's text channel.
pub const FOREIGN_CHANNEL_ID: u64 = 1_100_000_000_000_000_501;
/// The foreign guild's role named "Admin".
pub const FOREIGN_ADMIN_ROLE_ID: u64 = 1_100_000_000_000_000_502;

const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Extra settings for one system.
#[derive(Debug, Clone, Default)]
pub struct SystemOptions {
    /// Added to (or replacing) the payment-service's environment.
    pub payment_env: Vec<(String, String)>,
    /// Added to (or replacing) the bot-service's environment.
    pub bot_env: Vec<(String, String)>,
    /// More roles in the shop guild, besides the "Admin" role [`ADMIN_ROLE_ID`].
    pub extra_guild_roles: Vec<FakeRole>,
}

/// A running system. Fields drop in order: the services stop first, the database goes last.
pub struct System {
    pub payment: ServiceProcess,
    pub bot: ServiceProcess,
    pub fake: RunningFake,
    pub sim: RunningSimulator,
    pub db: DatabaseConnection,
    /// Opens and hashes stock codes with the payment-service's key (to check the stock table).
    pub vault: StockVault,
    pub webhook_base_url: String,
    /// The payment-service's internal listener (`/metrics`, `/readyz`).
    pub payment_internal_url: String,
    pub bot_health_url: String,
    pub http: reqwest::Client,
    _namespace: BrokerNamespace,
    _database: TestDatabase,
    _dir: TempDir,
}

impl System {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(SystemOptions::default()).await
    }

    pub async fn start_with(options: SystemOptions) -> anyhow::Result<Self> {
        let binaries = tokio::task::spawn_blocking(service_binaries)
            .await
            .context("building the service binaries")??;
        let dir = TempDir::create()?;
        let database = TestDatabase::create().await?;
        // Its queues and exchanges are deleted when the system is dropped, after the services.
        let broker_namespace = BrokerNamespace::new();
        let namespace = broker_namespace.name().to_string();

        let mut roles = vec![FakeRole {
            id: ADMIN_ROLE_ID,
            name: "Admin".into(),
            permissions: 0,
        }];
        roles.extend(options.extra_guild_roles);
        let fake = FakeDiscord::start(FakeDiscordConfig {
            roles,
            extra_channel_ids: vec![PUBLIC_CHANNEL_ID, ALERT_CHANNEL_ID, STOCK_CHANNEL_ID],
            extra_guilds: vec![FakeGuild {
                id: FOREIGN_GUILD_ID,
                name: "Somebody else's server".into(),
                channel_id: FOREIGN_CHANNEL_ID,
                roles: vec![FakeRole {
                    id: FOREIGN_ADMIN_ROLE_ID,
                    name: "Admin".into(),
                    permissions: 0,
                }],
            }],
            // The bot reaches it as `https://discord.com`, so serenity's rate limiter stays on
            // against Discord's limits, as in production.
            tls: true,
            ..FakeDiscordConfig::default()
        })
        .await?;
        let shop_guild_id = fake.config().guild_id.to_string();
        let discord_ca_file = dir.path().join("fake-discord-ca.pem");
        std::fs::write(
            &discord_ca_file,
            fake.tls_ca_pem().context("the fake Discord's TLS front")?,
        )
        .context("writing the fake Discord's CA")?;
        let discord_addr = fake
            .tls_addr()
            .context("the fake Discord's TLS front")?
            .to_string();
        let server_key = format!("SB-Mid-server-{}", uuid::Uuid::new_v4().simple());
        let sim = Simulator::start(SimulatorConfig::new(server_key.clone())).await?;

        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let encryption_key = base64::engine::general_purpose::STANDARD.encode(key);
        let claim_secret = uuid::Uuid::new_v4().simple().to_string();
        let webhook_port = free_port()?;
        let internal_port = free_port()?;
        let health_port = free_port()?;
        let webhook_base_url = format!("http://127.0.0.1:{webhook_port}");
        let amqp = test_support::amqp_url();
        // `E2E_LOG_LEVEL` (e.g. `debug,serenity=trace`) raises the services' logging.
        let log_level = std::env::var("E2E_LOG_LEVEL").unwrap_or_else(|_| "info".into());

        let mut payment_env = vars(&[
            ("DATABASE_URL", database.url()),
            ("AMQP_URL", &amqp),
            ("AMQP_NAMESPACE", &namespace),
            ("WEBHOOK_HOST", "127.0.0.1"),
            ("WEBHOOK_PORT", &webhook_port.to_string()),
            ("INTERNAL_HTTP_PORT", &internal_port.to_string()),
            (
                "WEBHOOK_URL",
                &format!("{webhook_base_url}/webhook/midtrans"),
            ),
            ("MIDTRANS_SERVER_KEY", &server_key),
            ("MIDTRANS_API_BASE_URL", sim.base_url()),
            ("ENCRYPTION_KEY", &encryption_key),
            ("ADMIN_CLAIM_SECRET", &claim_secret),
            ("DISCORD_GUILD_ID", &shop_guild_id),
            ("DB_MAX_CONNECTIONS", "8"),
            ("OUTBOX_POLL_INTERVAL_MS", "50"),
            ("LOG_LEVEL", &log_level),
            ("LOG_FORMAT", "json"),
            ("RUST_BACKTRACE", "1"),
        ]);
        override_with(&mut payment_env, options.payment_env);
        let mut bot_env = vars(&[
            ("DISCORD_TOKEN", "fake-bot-token"),
            ("DISCORD_TEST_ONLY_API_ADDR", &discord_addr),
            (
                "DISCORD_TEST_ONLY_CA_FILE",
                &discord_ca_file.display().to_string(),
            ),
            ("DISCORD_GUILD_ID", &shop_guild_id),
            ("AMQP_URL", &amqp),
            ("AMQP_NAMESPACE", &namespace),
            ("ADMIN_CLAIM_SECRET", &claim_secret),
            ("BOT_HEALTH_PORT", &health_port.to_string()),
            ("PUBLIC_CHANNEL_ID", &PUBLIC_CHANNEL_ID.to_string()),
            ("ALERT_CHANNEL_ID", &ALERT_CHANNEL_ID.to_string()),
            ("LOG_LEVEL", &log_level),
            ("LOG_FORMAT", "json"),
            ("RUST_BACKTRACE", "1"),
        ]);
        override_with(&mut bot_env, options.bot_env);

        let payment = ServiceProcess::spawn(
            "payment-service",
            &binaries.payment_service,
            &payment_env,
            dir.path(),
        )?;
        let bot =
            ServiceProcess::spawn("bot-service", &binaries.bot_service, &bot_env, dir.path())?;
        let db = Database::connect(database.url())
            .await
            .context("connecting to the test database")?;
        let mut system = System {
            payment,
            bot,
            fake,
            sim,
            db,
            vault: StockVault::from_keys(&[("e2e", key)]),
            webhook_base_url,
            payment_internal_url: format!("http://127.0.0.1:{internal_port}"),
            bot_health_url: format!("http://127.0.0.1:{health_port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            _namespace: broker_namespace,
            _database: database,
            _dir: dir,
        };
        system.wait_until_ready().await?;
        Ok(system)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let payment_ready = format!("{}/readyz", self.payment_internal_url);
        let bot_ready = format!("{}/readyz", self.bot_health_url);
        let guild = self.fake.config().guild_id;
        loop {
            for process in [&mut self.payment, &mut self.bot] {
                if let Some(status) = process.exited() {
                    bail!(
                        "{} exited during start-up ({status}):\n{}",
                        process.name(),
                        process.log_tail(40)
                    );
                }
            }
            let payment_up = self.get_ok(&payment_ready).await;
            let bot_up = self.get_ok(&bot_ready).await;
            let gateway_up = !self.fake.connected_sessions().is_empty();
            let commands = !self.fake.guild_commands(guild).is_empty()
                || !self.fake.global_commands().is_empty();
            if payment_up && bot_up && gateway_up && commands {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "the system was not ready after {START_TIMEOUT:?} (payment /readyz: {payment_up}, bot /readyz: {bot_up}, gateway session: {gateway_up}, commands registered: {commands})\n--- payment-service ---\n{}\n--- bot-service ---\n{}",
                    self.payment.log_tail(30),
                    self.bot.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn get_ok(&self, url: &str) -> bool {
        matches!(self.http.get(url).send().await, Ok(r) if r.status().is_success())
    }

    /// Panics if a service died; the panic message carries its log tail.
    pub fn assert_services_alive(&mut self) {
        for process in [&mut self.payment, &mut self.bot] {
            if let Some(status) = process.exited() {
                panic!(
                    "{} exited ({status}):\n{}",
                    process.name(),
                    process.log_tail(60)
                );
            }
        }
    }

    // ---- database reads (the payment-service owns the schema; tests only read) ----------

    pub async fn query(&self, sql: &str, values: Vec<Value>) -> Vec<sea_orm::QueryResult> {
        self.db
            .query_all(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await
            .unwrap_or_else(|e| panic!("query failed: {sql}: {e}"))
    }

    /// One `BIGINT` (or `NULL` → None) from the first row.
    pub async fn scalar_i64(&self, sql: &str, values: Vec<Value>) -> Option<i64> {
        self.query(sql, values)
            .await
            .first()
            .and_then(|row| row.try_get_by_index::<Option<i64>>(0).ok().flatten())
    }

    /// A user's balance in the database (0 when the user has no row yet).
    pub async fn db_balance(&self, user_id: u64) -> i64 {
        self.scalar_i64(
            "SELECT balance FROM users WHERE user_id = $1",
            vec![(user_id as i64).into()],
        )
        .await
        .unwrap_or(0)
    }

    pub async fn count(&self, sql: &str, values: Vec<Value>) -> i64 {
        self.scalar_i64(sql, values).await.unwrap_or(0)
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn override_with(env: &mut Vec<(String, String)>, extra: Vec<(String, String)>) {
    for (k, v) in extra {
        env.retain(|(key, _)| *key != k);
        env.push((k, v));
    }
}

/// A free loopback port (released again; the service binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The services' working directory and logs; kept when a test fails or `E2E_KEEP_LOGS` is set.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(test_support::unique_name("e2e"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("E2E_KEEP_LOGS").is_some() {
            eprintln!("service logs kept in {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
