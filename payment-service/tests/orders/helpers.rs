use std::sync::Arc;

use chrono::Utc;
use payment_service::admin::{claim, AdminService};
use payment_service::config::PaymentConfig;
use payment_service::metrics::Metrics;
use payment_service::orders::OrderService;
use payment_service::persistence::{self, stmt};
use payment_service::stock_vault::{self, StockVault};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use service_runtime::Settings;
use shared_proto::{
    AdminClaim, AdminOperation, AdminStockAdd, DiscordGuildId, DiscordUserId, Envelope, Event,
    OrderCreate, OrderCreateReply, PackageSize, UserRef,
};
use test_support::{TestDatabase, TestSqlite};
use uuid::Uuid;

pub const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
pub const OLD_KEY: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
pub const CLAIM_SECRET: &str = "orders-tests-claim-secret-0f3c9a7e51d2b84c";
/// `DISCORD_GUILD_ID` of the service under test: the only guild its admin claims may come from.
pub const SHOP_GUILD_ID: u64 = 100_000_000_000_000_100;
pub const EVENTS: &str = "test.events";

pub enum Db {
    Pg(#[allow(dead_code)] TestDatabase),
    Sqlite(#[allow(dead_code)] TestSqlite),
    /// The database belongs to someone else (another `World` on the same URL).
    None,
}

/// One test's world: a fresh database with the schema and the services over it.
pub struct World {
    pub db: DatabaseConnection,
    pub config: Arc<PaymentConfig>,
    pub orders: OrderService,
    pub admin: AdminService,
    pub vault: StockVault,
    _db: Db,
}

/// Logs of the code under test, with `RUST_LOG=…` (quiet otherwise).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn settings(url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut s = Settings::from_pairs([
        ("DATABASE_URL", url),
        ("ENCRYPTION_KEY", KEY),
        ("MIDTRANS_SERVER_KEY", "SB-Mid-server-TEST"),
        ("ADMIN_CLAIM_SECRET", CLAIM_SECRET),
        ("DISCORD_GUILD_ID", "100000000000000100"),
        ("ORDER_COOLDOWN_SECONDS", "0"),
        ("LOW_STOCK_THRESHOLD", "3"),
        ("DB_MAX_CONNECTIONS", "16"),
    ]);
    for (k, v) in extra {
        s.set(k, *v);
    }
    s
}

impl World {
    pub async fn pg() -> World {
        Self::pg_with(&[]).await
    }

    pub async fn pg_with(extra: &[(&str, &str)]) -> World {
        let tdb = TestDatabase::create().await.expect("test database");
        let url = tdb.url().to_string();
        Self::build(&url, extra, Db::Pg(tdb)).await
    }

    pub async fn sqlite() -> World {
        let t = TestSqlite::create().expect("sqlite file");
        let url = t.url().to_string();
        Self::build(&url, &[], Db::Sqlite(t)).await
    }

    /// A PostgreSQL world whose events go to `events_exchange` (a real broker's).
    pub async fn pg_events(events_exchange: &str) -> World {
        let tdb = TestDatabase::create().await.expect("test database");
        let url = tdb.url().to_string();
        Self::build_with_events(&url, &[], Db::Pg(tdb), events_exchange).await
    }

    pub async fn build(url: &str, extra: &[(&str, &str)], keep: Db) -> World {
        Self::build_with_events(url, extra, keep, EVENTS).await
    }

    pub async fn build_with_events(
        url: &str,
        extra: &[(&str, &str)],
        keep: Db,
        events: &str,
    ) -> World {
        init_logs();
        let config = Arc::new(PaymentConfig::from_settings(&settings(url, extra)).expect("config"));
        let db = persistence::connect(&config)
            .await
            .expect("connect + migrate");
        let vault = stock_vault::open(&db, &config)
            .await
            .expect("stock keys configured");
        let orders = OrderService::new(
            db.clone(),
            config.clone(),
            vault.clone(),
            Metrics::new(),
            events.into(),
        );
        World {
            admin: AdminService::new(orders.clone()),
            db,
            config,
            orders,
            vault,
            _db: keep,
        }
    }

    pub async fn user_with_balance(&self, user_id: i64, balance: i64) {
        self.db
            .execute(stmt(
                &self.db,
                "INSERT INTO users (user_id, balance) VALUES ($1, $2)",
                [user_id.into(), balance.into()],
            ))
            .await
            .unwrap();
    }

    pub async fn add_codes(&self, codes: &[String]) -> shared_proto::StockAdded {
        self.add_codes_to(shared_proto::ProductId::DEFAULT, codes)
            .await
            .expect("stock added")
    }

    /// Uploads `codes` as codes of `product`; the service's answer.
    pub async fn add_codes_to(
        &self,
        product: shared_proto::ProductId,
        codes: &[String],
    ) -> Result<shared_proto::StockAdded, shared_proto::ServiceError> {
        let request_id = Uuid::new_v4().to_string();
        let reply = self
            .admin
            .stock_add(
                &signed(AdminStockAdd {
                    product_id: product,
                    request_id: request_id.clone(),
                    claim: admin_claim(7),
                    text: codes.join("\n"),
                    source_name: None,
                }),
                Uuid::new_v4(),
            )
            .await
            .unwrap();
        reply.outcome
    }

    /// An admin's catalogue action, signed; the service's answer.
    pub async fn product(
        &self,
        action: shared_proto::ProductAction,
    ) -> Result<shared_proto::ProductsView, shared_proto::ServiceError> {
        self.admin
            .product(&signed(shared_proto::AdminProduct {
                request_id: Uuid::new_v4().to_string(),
                claim: admin_claim(7),
                action,
            }))
            .await
            .expect("admin.product ran")
            .outcome
    }

    pub async fn order(
        &self,
        user_id: i64,
        package: PackageSize,
        request_id: &str,
    ) -> OrderCreateReply {
        self.orders
            .create(&order_cmd(user_id, package, request_id), Uuid::new_v4())
            .await
            .expect("order.create ran")
    }

    pub async fn scalar(&self, sql: &str, values: Vec<Value>) -> i64 {
        let row = self
            .db
            .query_one(stmt(&self.db, sql, values))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    pub async fn text(&self, sql: &str, values: Vec<Value>) -> String {
        let row = self
            .db
            .query_one(stmt(&self.db, sql, values))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0).unwrap()
    }

    pub async fn balance(&self, user_id: i64) -> i64 {
        self.scalar(
            "SELECT balance FROM users WHERE user_id = $1",
            vec![user_id.into()],
        )
        .await
    }

    /// Outbox events of one type, decoded, in order.
    pub async fn outbox(&self, message_type: &str) -> Vec<Event> {
        let rows = self
            .db
            .query_all(stmt(
                &self.db,
                "SELECT payload FROM outbox WHERE message_type = $1 ORDER BY id",
                [message_type.into()],
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                let p: String = r.try_get("", "payload").unwrap();
                Envelope::<Event>::from_bytes(p.as_bytes()).unwrap().payload
            })
            .collect()
    }

    pub async fn stock_status_counts(&self) -> (i64, i64, i64) {
        let c = |s: &'static str| {
            let db = self.db.clone();
            async move {
                let row = db
                    .query_one(stmt(
                        &db,
                        "SELECT COUNT(*) AS n FROM stock WHERE status = $1",
                        [s.into()],
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get::<i64>("", "n").unwrap()
            }
        };
        (c("available").await, c("reserved").await, c("sold").await)
    }
}

pub fn codes(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:05}")).collect()
}

pub fn order_cmd(user_id: i64, package: PackageSize, request_id: &str) -> OrderCreate {
    OrderCreate {
        confirmed_price: None,
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: request_id.to_string(),
        user: UserRef {
            user_id: DiscordUserId::from_i64(user_id).unwrap(),
            username: Some(format!("user{user_id}")),
            locale: None,
        },
        package,
        interaction: None,
    }
}

/// The claim of admin `admin` in the shop guild, issued now, not yet bound or signed: put it in
/// a command and pass the command through [`signed`].
pub fn admin_claim(admin: u64) -> AdminClaim {
    AdminClaim {
        admin_user_id: DiscordUserId::new(admin).unwrap(),
        admin_username: Some("boss".into()),
        role: "Admin".into(),
        issued_at: Utc::now(),
        guild_id: Some(DiscordGuildId::new(SHOP_GUILD_ID).unwrap()),
        operation: String::new(),
        params_digest: String::new(),
        signature: String::new(),
    }
}

/// `command` with its claim bound to it and signed, as the bot sends it.
pub fn signed<T: AdminOperation>(mut command: T) -> T {
    claim::sign_command(CLAIM_SECRET, &mut command);
    command
}

pub fn delivered_codes(e: &Event) -> Vec<String> {
    match e {
        Event::DeliveryRequested(d) => d.codes.clone(),
        other => panic!("not a delivery request: {other:?}"),
    }
}
