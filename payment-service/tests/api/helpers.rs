//! `spawn_app()`: the whole payment-service on port 0 against a fresh PostgreSQL database, a
//! unique broker namespace and its own Midtrans simulator; plus database probes.

use std::net::TcpListener;
use std::time::Duration;

use midtrans_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use payment_service::app::Application;
use payment_service::config::PaymentConfig;
use payment_service::topups::repository::{self, TopupRow};
use payment_service::topups::TopupService;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;
use service_runtime::Settings;
use shared_proto::{DiscordUserId, Idr, TopupCreate, UserRef};
use test_support::{TestDatabase, TestSqlite};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SERVER_KEY: &str = "SB-Mid-server-TEST";

pub struct Options {
    /// Send `X-Override-Notification` pointing at this app, so the simulator notifies it.
    pub webhook: bool,
    pub verify_status: bool,
    pub fee_imposition: Option<i64>,
    pub sqlite: bool,
    pub extra: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            webhook: true,
            verify_status: true,
            fee_imposition: None,
            sqlite: false,
            extra: Vec::new(),
        }
    }
}

pub struct TestApp {
    /// The public webhook listener.
    pub address: String,
    /// The internal listener: `/metrics`, `/readyz`, `/healthz`.
    pub internal_address: String,
    pub db: DatabaseConnection,
    pub sim: RunningSimulator,
    pub topups: TopupService,
    pub http: reqwest::Client,
    pub database_name: Option<String>,
    /// The broker namespace of this app (prefix of its exchanges and queues).
    pub namespace: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _pg: Option<TestDatabase>,
    _sqlite: Option<TestSqlite>,
    /// Deletes this test's exchanges and queues when the app is dropped.
    _broker_namespace: test_support::BrokerNamespace,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let mut sim_config = SimulatorConfig::new(SERVER_KEY);
    sim_config.fee_imposition = options.fee_imposition;
    let sim = Simulator::start(sim_config)
        .await
        .expect("simulator starts");

    let (pg, sqlite, url) = if options.sqlite {
        let s = TestSqlite::create().expect("sqlite file");
        let url = s.url().to_string();
        (None, Some(s), url)
    } else {
        let d = TestDatabase::create().await.expect("test database");
        let url = d.url().to_string();
        (Some(d), None, url)
    };
    let database_name = pg.as_ref().map(|d| d.name().to_string());

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().expect("local addr").port();
    let address = format!("http://127.0.0.1:{port}");
    let broker_namespace = test_support::BrokerNamespace::new();
    let namespace = broker_namespace.name().to_string();
    let mut pairs: Vec<(&str, String)> = vec![
        (
            "ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        ),
        ("MIDTRANS_SERVER_KEY", SERVER_KEY.into()),
        (
            "ADMIN_CLAIM_SECRET",
            "api-tests-claim-secret-5b8e2d7f19c4a063".into(),
        ),
        ("DISCORD_GUILD_ID", "100000000000000100".into()),
        ("DATABASE_URL", url.clone()),
        ("DB_MAX_CONNECTIONS", "20".into()),
        ("AMQP_URL", test_support::amqp_url()),
        ("AMQP_NAMESPACE", namespace.clone()),
        ("MIDTRANS_API_BASE_URL", sim.base_url().to_string()),
        ("MIDTRANS_VERIFY_STATUS", options.verify_status.to_string()),
        ("MIDTRANS_TIMEOUT_SECS", "5".into()),
        ("WEBHOOK_HOST", "127.0.0.1".into()),
        ("WEBHOOK_PORT", port.to_string()),
        ("INTERNAL_HTTP_HOST", "127.0.0.1".into()),
        ("INTERNAL_HTTP_PORT", "0".into()),
        ("SWEEPER_INTERVAL_SECS", "3600".into()),
        ("OUTBOX_POLL_INTERVAL_MS", "50".into()),
        (
            "LOG_LEVEL",
            std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    if options.webhook {
        pairs.push(("WEBHOOK_URL", format!("{address}/webhook/midtrans")));
    }
    pairs.extend(options.extra);
    let settings = Settings::from_pairs(pairs);
    let config = PaymentConfig::from_settings(&settings).expect("valid test config");
    service_runtime::init_tracing(&config.log_level, config.log_format);
    let app = Application::build_with_listener(config, listener)
        .await
        .expect("application builds");
    let topups = app.topups().clone();
    let internal_address = format!("http://127.0.0.1:{}", app.internal_port());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    // A separate connection, as an operator would look at the database.
    let db = Database::connect(url).await.expect("test connection");
    TestApp {
        address,
        internal_address,
        db,
        sim,
        topups,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        database_name,
        namespace,
        shutdown,
        task: Some(task),
        _pg: pg,
        _sqlite: sqlite,
        _broker_namespace: broker_namespace,
    }
}

pub fn user(id: u64) -> UserRef {
    UserRef {
        user_id: DiscordUserId::new(id).expect("valid id"),
        username: Some(format!("user{id}")),
        locale: None,
    }
}

pub fn topup_request(request_id: &str, user_id: u64, amount: i64) -> TopupCreate {
    TopupCreate {
        request_id: request_id.to_string(),
        user: user(user_id),
        amount: Idr::new(amount),
        interaction: None,
    }
}

impl TestApp {
    pub async fn post_notification(&self, body: &Value) -> u16 {
        self.post_raw(body.to_string().into_bytes()).await
    }

    pub async fn post_raw(&self, body: Vec<u8>) -> u16 {
        self.http
            .post(format!("{}/webhook/midtrans", self.address))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("webhook answers")
            .status()
            .as_u16()
    }

    /// `GET` on the public webhook port.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.get_from(&self.address, path).await
    }

    /// `GET` on the internal port (`/metrics`, `/readyz`).
    pub async fn get_internal(&self, path: &str) -> (u16, String) {
        self.get_from(&self.internal_address, path).await
    }

    async fn get_from(&self, base: &str, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// Creates a top-up through the service and answers its order id.
    pub async fn create_topup(&self, request_id: &str, user_id: u64, amount: i64) -> String {
        let reply = self
            .topups
            .create(&topup_request(request_id, user_id, amount))
            .await;
        reply.outcome.expect("top-up created").order_id
    }

    pub async fn topup(&self, order_id: &str) -> TopupRow {
        repository::find_by_order_id(&self.db, order_id)
            .await
            .expect("query")
            .expect("row exists")
    }

    pub async fn scalar(&self, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await
            .expect("query")
            .expect("one row");
        row.try_get_by_index::<i64>(0).expect("integer")
    }

    /// `(balance, total_topup)`; `(0, 0)` when the user does not exist.
    pub async fn balance(&self, user_id: u64) -> (i64, i64) {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT balance, total_topup FROM users WHERE user_id = $1",
                [(user_id as i64).into()],
            ))
            .await
            .expect("query");
        match row {
            Some(r) => (
                r.try_get("", "balance").expect("balance"),
                r.try_get("", "total_topup").expect("total_topup"),
            ),
            None => (0, 0),
        }
    }

    pub async fn ledger_rows(&self, reference: &str) -> i64 {
        self.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reference = $1",
            vec![reference.into()],
        )
        .await
    }

    pub async fn ledger_sum(&self, user_id: u64) -> i64 {
        self.scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger WHERE user_id = $1",
            vec![(user_id as i64).into()],
        )
        .await
    }

    /// Outbox rows of this type mentioning this order id.
    pub async fn outbox_rows(&self, message_type: &str, order_id: &str) -> i64 {
        self.scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_type = $1 AND payload LIKE $2",
            vec![message_type.into(), format!("%\"{order_id}\"%").into()],
        )
        .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}"), vec![])
            .await
    }

    pub async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) {
        self.db
            .execute(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await
            .expect("statement");
    }

    /// The signed notification the simulator would send for the transaction as it is now.
    pub async fn signed_notification(&self, order_id: &str) -> Value {
        // Re-notifying to no URL answers the body without sending it anywhere.
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

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
