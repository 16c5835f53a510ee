//! The shop on given infrastructure: the fake Discord and the Midtrans simulator in-process, any
//! number of payment-service and bot-service replicas as child processes (started, SIGTERMed,
//! SIGKILLed and replaced one by one), and a webhook front door.
//!
//! The front door is a small TCP proxy the simulator notifies (`WEBHOOK_URL` of every replica):
//! it forwards each connection to a live payment-service replica, as the operator's reverse
//! proxy does, so notifications survive the replica that created the charge going away.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine;
use e2e_tests::{service_binaries, ServiceBinaries, ServiceProcess};
use fake_discord::{FakeDiscord, FakeDiscordConfig, RunningFake};
use midtrans_simulator::{NotificationRetry, RunningSimulator, Simulator, SimulatorConfig};
use payment_service::stock_vault::StockVault;
use rand::RngCore;
use tokio::net::{TcpListener, TcpStream};

use crate::infra::free_port;

/// `DISCORD_GUILD_ID` of the cluster (the fake Discord's guild): admin claims must come from it.
pub const FAULT_GUILD_ID: u64 = 1_100_000_000_000_000_100;
/// `ADMIN_ROLE_ID` of the bot replicas.
const FAULT_ADMIN_ROLE_ID: &str = "1100000000000000300";

/// Where the cluster's services find PostgreSQL and RabbitMQ.
#[derive(Debug, Clone)]
pub struct Infra {
    pub database_url: String,
    pub amqp_url: String,
    /// Broker name prefix of this cluster.
    pub namespace: String,
}

/// Which kind of service a replica is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payment,
    Bot,
}

/// One running replica.
pub struct Replica {
    pub kind: Kind,
    pub process: ServiceProcess,
    /// payment-service: the webhook port; bot-service: the health port.
    pub port: u16,
    /// Where `/readyz` and `/metrics` are: the payment-service's internal port; the bot's
    /// health port.
    pub internal_port: u16,
}

impl Replica {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn internal_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.internal_port)
    }
}

/// How a replica ended.
#[derive(Debug)]
pub struct Ended {
    pub name: String,
    pub status: std::process::ExitStatus,
    pub log: String,
}

pub struct Cluster {
    pub infra: Infra,
    pub fake: RunningFake,
    pub sim: Arc<RunningSimulator>,
    /// The payment-service's `ENCRYPTION_KEY`, to read the stock table.
    encryption_key: [u8; 32],
    pub claim_secret: String,
    pub http: reqwest::Client,
    binaries: ServiceBinaries,
    payment_env: Vec<(String, String)>,
    bot_env: Vec<(String, String)>,
    replicas: BTreeMap<String, Replica>,
    front_door: Arc<Mutex<Vec<u16>>>,
    dir: PathBuf,
}

/// Settings every fault test wants (no cooldown or daily cap: the load orders often).
fn payment_defaults() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ORDER_COOLDOWN_SECONDS", "0"),
        ("MAX_ORDERS_PER_USER_PER_DAY", "100000"),
        ("DB_MAX_CONNECTIONS", "8"),
        ("OUTBOX_POLL_INTERVAL_MS", "100"),
        ("SWEEPER_INTERVAL_SECS", "5"),
        ("STOCK_ALERT_ENABLED", "false"),
        ("LOG_LEVEL", "info"),
        ("RUST_BACKTRACE", "1"),
    ]
}

impl Cluster {
    /// Starts the stand-ins (no service yet). `payment_extra`/`bot_extra` override settings.
    pub async fn new(
        infra: Infra,
        payment_extra: &[(&str, &str)],
        bot_extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let binaries = tokio::task::spawn_blocking(service_binaries)
            .await
            .context("building the service binaries")??;
        let dir = std::env::temp_dir().join(test_support::unique_name("fault"));
        std::fs::create_dir_all(&dir)?;
        let fake = FakeDiscord::start(FakeDiscordConfig {
            guild_id: FAULT_GUILD_ID,
            ..FakeDiscordConfig::default()
        })
        .await?;
        let server_key = format!("SB-Mid-server-{}", uuid::Uuid::new_v4().simple());
        let mut sim_config = SimulatorConfig::new(server_key.clone());
        // Long enough to outlast every outage the tests cause (Midtrans's own spans hours).
        sim_config.notification_retry =
            NotificationRetry::from_millis(&[1000, 2000, 4000, 8000, 15000]);
        let sim = Arc::new(Simulator::start(sim_config).await?);

        let front_port = free_port()?;
        let front_door = Arc::new(Mutex::new(Vec::new()));
        spawn_front_door(front_port, front_door.clone()).await?;

        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let encryption_key = base64::engine::general_purpose::STANDARD.encode(key);
        let claim_secret = uuid::Uuid::new_v4().simple().to_string();

        let mut payment_env = vars(&[
            ("DATABASE_URL", &infra.database_url),
            ("AMQP_URL", &infra.amqp_url),
            ("AMQP_NAMESPACE", &infra.namespace),
            ("WEBHOOK_HOST", "127.0.0.1"),
            (
                "WEBHOOK_URL",
                &format!("http://127.0.0.1:{front_port}/webhook/midtrans"),
            ),
            ("MIDTRANS_SERVER_KEY", &server_key),
            ("MIDTRANS_API_BASE_URL", sim.base_url()),
            ("ENCRYPTION_KEY", &encryption_key),
            ("ADMIN_CLAIM_SECRET", &claim_secret),
            ("DISCORD_GUILD_ID", &FAULT_GUILD_ID.to_string()),
        ]);
        override_with(&mut payment_env, &payment_defaults());
        override_with(&mut payment_env, payment_extra);
        let mut bot_env = vars(&[
            ("DISCORD_TOKEN", "fake-bot-token"),
            ("DISCORD_API_BASE_URL", &fake.base_url()),
            ("DISCORD_GUILD_ID", &fake.config().guild_id.to_string()),
            // The fake guild has no roles; no admin acts through Discord in these tests.
            ("ADMIN_ROLE_ID", FAULT_ADMIN_ROLE_ID),
            ("AMQP_URL", &infra.amqp_url),
            ("AMQP_NAMESPACE", &infra.namespace),
            ("ADMIN_CLAIM_SECRET", &claim_secret),
            // Deliveries and notifications need no gateway session, and only one process may
            // hold a shard: every replica here is a consumer-only replica.
            ("BOT_GATEWAY", "false"),
            ("LOG_LEVEL", "info"),
            ("RUST_BACKTRACE", "1"),
        ]);
        override_with(&mut bot_env, bot_extra);
        Ok(Cluster {
            infra,
            fake,
            sim,
            encryption_key: key,
            claim_secret,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            binaries,
            payment_env,
            bot_env,
            replicas: BTreeMap::new(),
            front_door,
            dir,
        })
    }

    /// Decrypts a stored code (as the payment-service does).
    pub fn open_code(
        &self,
        ciphertext: &[u8],
        nonce: &[u8],
        key_id: &str,
    ) -> anyhow::Result<String> {
        StockVault::from_keys(&[(key_id, self.encryption_key)])
            .open(ciphertext, nonce, key_id)
            .map_err(|e| anyhow::anyhow!("opening a stored code: {e}"))
    }

    /// Starts a replica called `name` and waits until its `/readyz` answers 200.
    ///
    /// Call from the test's own thread (or a runtime worker), never from `spawn_blocking`: the
    /// child dies with the thread that started it.
    pub async fn start(&mut self, name: &str, kind: Kind) -> anyhow::Result<()> {
        self.start_with(name, kind, &[]).await
    }

    /// Starts a replica with settings of its own on top of the cluster's (e.g. the one bot
    /// replica that holds the gateway: `BOT_GATEWAY=true`).
    pub async fn start_with(
        &mut self,
        name: &str,
        kind: Kind,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        if self.replicas.contains_key(name) {
            bail!("replica {name} is already running");
        }
        let port = free_port()?;
        let internal_port = match kind {
            Kind::Payment => free_port()?,
            Kind::Bot => port,
        };
        let (exe, mut env) = match kind {
            Kind::Payment => (&self.binaries.payment_service, self.payment_env.clone()),
            Kind::Bot => (&self.binaries.bot_service, self.bot_env.clone()),
        };
        let port_var = match kind {
            Kind::Payment => "WEBHOOK_PORT",
            Kind::Bot => "BOT_HEALTH_PORT",
        };
        override_with(&mut env, extra);
        override_with(&mut env, &[(port_var, &port.to_string())]);
        if kind == Kind::Payment {
            override_with(
                &mut env,
                &[("INTERNAL_HTTP_PORT", &internal_port.to_string())],
            );
        }
        let process = ServiceProcess::spawn(name, exe, &env, &self.dir)?;
        let replica = Replica {
            kind,
            process,
            port,
            internal_port,
        };
        let ready = format!("{}/readyz", replica.internal_url());
        self.replicas.insert(name.to_string(), replica);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let replica = self.replicas.get_mut(name).context("replica vanished")?;
            if let Some(status) = replica.process.exited() {
                let log = replica.process.log_tail(40);
                self.replicas.remove(name);
                bail!("{name} exited during start-up ({status}):\n{log}");
            }
            if matches!(self.http.get(&ready).send().await, Ok(r) if r.status().is_success()) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{name} was not ready after 90 s:\n{}",
                    replica.process.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if kind == Kind::Payment {
            self.lock_front_door().push(port);
        }
        Ok(())
    }

    fn lock_front_door(&self) -> std::sync::MutexGuard<'_, Vec<u16>> {
        self.front_door
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn replica(&self, name: &str) -> Option<&Replica> {
        self.replicas.get(name)
    }

    pub fn replica_names(&self, kind: Kind) -> Vec<String> {
        self.replicas
            .iter()
            .filter(|(_, r)| r.kind == kind)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A payment-service replica's base URL (webhook, metrics).
    pub fn payment_url(&self) -> anyhow::Result<String> {
        self.replicas
            .values()
            .find(|r| r.kind == Kind::Payment)
            .map(Replica::base_url)
            .context("no payment-service replica is running")
    }

    fn signal(&mut self, name: &str, sig: libc::c_int) -> anyhow::Result<()> {
        let replica = self
            .replicas
            .get(name)
            .with_context(|| format!("no replica {name}"))?;
        if replica.kind == Kind::Payment {
            let port = replica.port;
            self.lock_front_door().retain(|p| *p != port);
        }
        let pid = i32::try_from(replica.process.pid())?;
        // SAFETY: kill(2) on our own child, not yet reaped (it is still in `replicas`).
        if unsafe { libc::kill(pid, sig) } != 0 {
            bail!("kill({pid}, {sig}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// SIGKILL, then reaps it.
    pub async fn kill(&mut self, name: &str) -> anyhow::Result<Ended> {
        self.signal(name, libc::SIGKILL)?;
        self.wait_exit(name, Duration::from_secs(10)).await
    }

    /// SIGTERM and waits up to `timeout` for the process to exit by itself.
    pub async fn terminate(&mut self, name: &str, timeout: Duration) -> anyhow::Result<Ended> {
        self.signal(name, libc::SIGTERM)?;
        self.wait_exit(name, timeout).await
    }

    async fn wait_exit(&mut self, name: &str, timeout: Duration) -> anyhow::Result<Ended> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let replica = self
                .replicas
                .get_mut(name)
                .with_context(|| format!("no replica {name}"))?;
            if let Some(status) = replica.process.exited() {
                let log = replica.process.log();
                self.replicas.remove(name);
                return Ok(Ended {
                    name: name.to_string(),
                    status,
                    log,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{name} did not exit within {timeout:?}:\n{}",
                    replica.process.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Panics (with its log) if a replica died on its own.
    pub fn assert_alive(&mut self) {
        for (name, replica) in &mut self.replicas {
            if let Some(status) = replica.process.exited() {
                panic!(
                    "{name} exited ({status}):\n{}",
                    replica.process.log_tail(60)
                );
            }
        }
    }

    /// Errors (with its log) if a replica died on its own.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, replica) in &mut self.replicas {
            if let Some(status) = replica.process.exited() {
                bail!(
                    "{name} exited ({status}):\n{}",
                    replica.process.log_tail(60)
                );
            }
        }
        Ok(())
    }

    /// The last lines of every running replica's log.
    pub fn log_tails(&self, lines: usize) -> String {
        self.replicas
            .iter()
            .map(|(n, r)| format!("----- {n} -----\n{}", r.process.log_tail(lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// One replica's `/metrics` text.
    pub async fn metrics_text(&self, name: &str) -> anyhow::Result<String> {
        let replica = self
            .replicas
            .get(name)
            .with_context(|| format!("no replica {name}"))?;
        Ok(self
            .http
            .get(format!("{}/metrics", replica.internal_url()))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }

    /// Sum of a Prometheus counter (all label sets) on one replica's `/metrics`.
    pub async fn metric_sum(&self, name: &str, metric: &str) -> anyhow::Result<f64> {
        let text = self.metrics_text(name).await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with(metric) && !l.starts_with('#'))
            .filter(|l| l[metric.len()..].starts_with('{') || l[metric.len()..].starts_with(' '))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    /// Stops every replica with SIGTERM (bots first), expecting each to exit 0.
    pub async fn shutdown_all(&mut self) -> anyhow::Result<Vec<Ended>> {
        let mut ended = Vec::new();
        for kind in [Kind::Bot, Kind::Payment] {
            for name in self.replica_names(kind) {
                let e = self.terminate(&name, Duration::from_secs(30)).await?;
                if !e.status.success() {
                    bail!("{name} exited with {} after SIGTERM", e.status);
                }
                ended.push(e);
            }
        }
        Ok(ended)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Replicas are killed by their own destructors (with log tails when panicking).
        self.replicas.clear();
        if std::thread::panicking() || std::env::var_os("E2E_KEEP_LOGS").is_some() {
            eprintln!("fault-test service logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Spreads connections on `port` over the live ports of `backends` in turn (as the nginx
/// upstream of `deploy/nginx` does), skipping a backend that refuses the connection.
async fn spawn_front_door(port: u16, backends: Arc<Mutex<Vec<u16>>>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(async move {
        let mut turn = 0usize;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let mut ports: Vec<u16> = backends.lock().map(|b| b.clone()).unwrap_or_default();
            if !ports.is_empty() {
                let first = turn % ports.len();
                ports.rotate_left(first);
            }
            turn = turn.wrapping_add(1);
            tokio::spawn(async move {
                for port in &ports {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", *port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
                // No replica: the connection closes unanswered and the simulator retries.
            });
        }
    });
    Ok(())
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn override_with(env: &mut Vec<(String, String)>, extra: &[(&str, &str)]) {
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
}
