//! Helpers of the security test suite (`tests/security/`): the real payment-service
//! [`Application`] in-process on port 0 against a fresh PostgreSQL database, a private broker
//! namespace and its own Midtrans simulator; database snapshots that tell "nothing changed"; and
//! raw broker access for publishing hostile messages.
//!
//! The end-to-end parts (real binaries, fake Discord) reuse the `e2e-tests` harness instead.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context;
use broker::{Broker, BrokerConfig};
use midtrans_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use payment_service::app::Application;
use payment_service::config::PaymentConfig;
use payment_service::topups::TopupService;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};
use service_runtime::Settings;
use shared_proto::{DiscordUserId, Idr, Topology, TopupCreate, UserRef};
use test_support::TestDatabase;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SERVER_KEY: &str = "SB-Mid-server-SECURITY-TESTS";
pub const CLAIM_SECRET: &str = "security-tests-claim-secret-7d41c0b9e28f5a36";
/// `DISCORD_GUILD_ID` of the app under test: the only guild admin claims may come from.
pub const SHOP_GUILD_ID: u64 = 100_000_000_000_000_100;
/// base64 of the 32 ASCII bytes `0123456789abcdef0123456789abcdef`.
pub const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Tables whose row counts (and the balance sums) make up a [`Snapshot`].
const TABLES: &[&str] = &[
    "users",
    "topups",
    "orders",
    "stock",
    "stock_batches",
    "deliveries",
    "balance_ledger",
    "outbox",
    "admin_audit",
];

/// What "the database is unchanged" means for these tests: every table's row count, the sum of
/// balances, the ledger sum, topups by status and stock by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub Vec<(String, i64)>);

pub async fn snapshot(db: &DatabaseConnection) -> Snapshot {
    let mut out = Vec::new();
    for table in TABLES {
        out.push((
            format!("count({table})"),
            scalar(db, &format!("SELECT COUNT(*) FROM {table}"), vec![]).await,
        ));
    }
    for (name, sql) in [
        (
            "sum(balance)",
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM users",
        ),
        (
            "sum(total_topup)",
            "SELECT CAST(COALESCE(SUM(total_topup), 0) AS BIGINT) FROM users",
        ),
        (
            "sum(delta)",
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger",
        ),
        (
            "topups success",
            "SELECT COUNT(*) FROM topups WHERE status = 'success'",
        ),
        (
            "topups failed",
            "SELECT COUNT(*) FROM topups WHERE status = 'failed'",
        ),
        (
            "stock available",
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
        ),
        (
            "orders refunded",
            "SELECT COUNT(*) FROM orders WHERE status = 'refunded'",
        ),
    ] {
        out.push((name.to_string(), scalar(db, sql, vec![]).await));
    }
    Snapshot(out)
}

/// One `BIGINT`/`COUNT` value; panics with the statement on failure (test helper).
pub async fn scalar(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> i64 {
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<Option<i64>>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or(0)
}

pub async fn execute(db: &DatabaseConnection, sql: &str, values: Vec<Value>) {
    db.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The settings every in-process app of this suite starts from.
pub fn base_settings(database_url: &str, namespace: &str, sim_url: &str) -> Vec<(String, String)> {
    [
        ("ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("MIDTRANS_SERVER_KEY", SERVER_KEY),
        ("ADMIN_CLAIM_SECRET", CLAIM_SECRET),
        ("DISCORD_GUILD_ID", "100000000000000100"),
        ("DATABASE_URL", database_url),
        ("DB_MAX_CONNECTIONS", "10"),
        ("AMQP_NAMESPACE", namespace),
        ("MIDTRANS_API_BASE_URL", sim_url),
        ("MIDTRANS_TIMEOUT_SECS", "5"),
        ("WEBHOOK_HOST", "127.0.0.1"),
        ("INTERNAL_HTTP_HOST", "127.0.0.1"),
        ("INTERNAL_HTTP_PORT", "0"),
        ("SWEEPER_INTERVAL_SECS", "3600"),
        ("OUTBOX_POLL_INTERVAL_MS", "50"),
        ("ORDER_COOLDOWN_SECONDS", "0"),
        ("MAX_ORDERS_PER_USER_PER_DAY", "100000"),
        ("LOG_LEVEL", "error"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([("AMQP_URL".to_string(), test_support::amqp_url())])
    .collect()
}

/// Options of [`PaymentApp::start_with`].
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Settings added to (or replacing) [`base_settings`].
    pub extra: Vec<(String, String)>,
    /// Listen on this address instead of 127.0.0.1:0 (the allowlist tests use other loopback
    /// addresses such as 127.0.0.2 as distinct clients).
    pub bind: Option<String>,
}

/// The whole payment-service in-process: webhook, consumers, outbox relay.
pub struct PaymentApp {
    /// The public webhook listener.
    pub address: String,
    /// The internal listener: `/metrics`, `/readyz`, `/healthz`.
    pub internal_address: String,
    pub db: DatabaseConnection,
    pub sim: RunningSimulator,
    pub topups: TopupService,
    pub http: reqwest::Client,
    pub namespace: String,
    pub database: TestDatabase,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl PaymentApp {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(AppOptions::default()).await
    }

    pub async fn start_with(options: AppOptions) -> anyhow::Result<Self> {
        let sim = Simulator::start(SimulatorConfig::new(SERVER_KEY)).await?;
        let database = TestDatabase::create().await?;
        let namespace = test_support::unique_namespace();
        let listener = TcpListener::bind(options.bind.as_deref().unwrap_or("127.0.0.1:0"))
            .context("binding the webhook port")?;
        let local = listener.local_addr()?;
        let address = format!("http://{local}");
        let mut pairs = base_settings(database.url(), &namespace, sim.base_url());
        pairs.push(("WEBHOOK_PORT".into(), local.port().to_string()));
        for (k, v) in options.extra {
            pairs.retain(|(key, _)| *key != k);
            pairs.push((k, v));
        }
        let config = PaymentConfig::from_settings(&Settings::from_pairs(pairs))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        service_runtime::init_tracing(&config.log_level, config.log_format);
        let app = Application::build_with_listener(config, listener).await?;
        let topups = app.topups().clone();
        let internal_address = format!("http://127.0.0.1:{}", app.internal_port());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        let db = Database::connect(database.url()).await?;
        Ok(PaymentApp {
            address,
            internal_address,
            db,
            sim,
            topups,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            namespace,
            database,
            shutdown,
            task: Some(task),
        })
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhook/midtrans", self.address)
    }

    /// Posts `body` to the webhook; answers the status and the body text.
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, String) {
        let r = self
            .http
            .post(self.webhook_url())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the webhook answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    pub async fn post_json(&self, body: &serde_json::Value) -> u16 {
        self.post(body.to_string()).await.0
    }

    /// A pending top-up created through the service (the simulator holds its charge).
    pub async fn create_topup(&self, request_id: &str, user_id: u64, amount: i64) -> String {
        let reply = self
            .topups
            .create(&TopupCreate {
                request_id: request_id.to_string(),
                user: user(user_id),
                amount: Idr::new(amount),
                interaction: None,
            })
            .await;
        match reply.outcome {
            Ok(created) => created.order_id,
            Err(e) => panic!("top-up not created: {e:?}"),
        }
    }

    /// The signed notification Midtrans would send for the transaction as it is now.
    pub async fn signed_notification(&self, order_id: &str) -> serde_json::Value {
        self.sim
            .notify(
                order_id,
                midtrans_simulator::NotifyRequest {
                    urls: Some(Vec::new()),
                    ..Default::default()
                },
            )
            .await
            .expect("transaction known to the simulator")
            .notification
    }

    pub async fn balance(&self, user_id: u64) -> i64 {
        scalar(
            &self.db,
            "SELECT COALESCE(MAX(balance), 0) FROM users WHERE user_id = $1",
            vec![(user_id as i64).into()],
        )
        .await
    }

    pub async fn topup_status(&self, order_id: &str) -> (String, Option<String>) {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT status, midtrans_status FROM topups WHERE order_id = $1",
                [order_id.into()],
            ))
            .await
            .expect("query")
            .expect("top-up row");
        (
            row.try_get("", "status").expect("status"),
            row.try_get("", "midtrans_status").expect("midtrans_status"),
        )
    }

    /// A second broker connection on this app's namespace (to publish as a hostile client would).
    pub async fn broker(&self) -> Broker {
        let broker = Broker::connect(BrokerConfig::new(
            test_support::amqp_url(),
            Topology::new(self.namespace.clone()),
            "security-tests",
        ))
        .await
        .expect("broker connects");
        broker.declare_topology().await.expect("topology");
        broker
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
        // Leave nothing behind on the shared broker.
        let b = self.broker().await;
        let _ = b.delete_topology().await;
        b.close().await;
    }
}

impl Drop for PaymentApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn user(id: u64) -> UserRef {
    UserRef {
        user_id: DiscordUserId::new(id).expect("valid id"),
        username: Some(format!("user{id}")),
        locale: None,
    }
}

/// The claim of admin `admin` in the shop guild, issued now, not yet bound or signed: put it
/// in a command and pass the command through [`signed`].
pub fn admin_claim(admin: u64) -> shared_proto::AdminClaim {
    shared_proto::AdminClaim {
        admin_user_id: DiscordUserId::new(admin).expect("valid id"),
        admin_username: Some("boss".into()),
        role: "Admin".into(),
        issued_at: chrono::Utc::now(),
        guild_id: Some(shared_proto::DiscordGuildId::new(SHOP_GUILD_ID).expect("valid id")),
        operation: String::new(),
        params_digest: String::new(),
        signature: String::new(),
    }
}

/// `command` with its claim bound to it (operation, parameter digest) and signed, as the bot
/// sends it.
pub fn signed<T: shared_proto::AdminOperation>(mut command: T) -> T {
    payment_service::admin::claim::sign_command(CLAIM_SECRET, &mut command);
    command
}

/// Sends `command` over the broker and waits for its reply (10 s).
pub async fn request(broker: &Broker, command: shared_proto::Command) -> shared_proto::Reply {
    let env = shared_proto::Envelope::new(command);
    broker
        .request(&env, Duration::from_secs(15))
        .await
        .expect("the payment-service answers")
        .payload
}
