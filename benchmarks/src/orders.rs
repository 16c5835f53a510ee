//! Stage 4: the order pipeline — `order.create` published on the commands exchange (as the bot
//! does, request/reply) → payment-service charges, reserves a code, commits the outbox row →
//! outbox relay publishes `delivery.requested` → received on our own queue bound to the events
//! exchange. Latency is publish → `delivery.requested` received.
//!
//! Also the tools the race stage shares: loading stock through `admin.stock.add` with a signed
//! admin claim, funding users with SQL, and the observer of `delivery.requested`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use broker::Broker;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::Sha256;
use shared_proto::topology::events::DELIVERY_REQUESTED;
use shared_proto::{
    AdminClaim, AdminStockAdd, Command, DiscordGuildId, DiscordUserId, Envelope, Event,
    OrderCreate, PackageSize, Reply, ServiceError, Topology, UserRef,
};
use tokio::sync::{oneshot, Semaphore};

use crate::report::Outcome;
use crate::services::BENCH_GUILD_ID;
use crate::stats::Summary;

/// How long one order may take before it counts as lost.
const ORDER_TIMEOUT: Duration = Duration::from_secs(30);

/// The price of the 1-code package the services use (`PRICE_1_CODE`, default 15000).
pub fn one_code_price() -> i64 {
    std::env::var("PRICE_1_CODE")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(15_000)
}

/// Users `first..first+count`, each with `balance` rupiah, created with SQL.
pub async fn fund_users(
    db: &DatabaseConnection,
    first: i64,
    count: i64,
    balance: i64,
) -> anyhow::Result<()> {
    let last = first + count - 1;
    db.execute_unprepared(&format!(
        "INSERT INTO users (user_id, username, balance, total_topup) \
         SELECT g, 'bench-' || g, {balance}, {balance} FROM generate_series({first}::bigint, {last}::bigint) g"
    ))
    .await
    .context("creating funded users")?;
    Ok(())
}

/// Loads `count` fresh codes through `admin.stock.add` (as an admin would), in chunks.
pub async fn load_stock(broker: &Broker, claim_secret: &str, count: usize) -> anyhow::Result<u64> {
    const CHUNK: usize = 5_000;
    let admin = DiscordUserId::new(1).context("admin id")?;
    let mut added = 0u64;
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK);
        left -= n;
        let text: String = (0..n)
            .map(|_| format!("BENCH{}\n", uuid::Uuid::new_v4().simple()))
            .collect();
        let request_id = format!("bench-stock-{}", uuid::Uuid::new_v4().simple());
        let mut add = AdminStockAdd {
            product_id: shared_proto::ProductId::DEFAULT,
            request_id,
            claim: AdminClaim {
                admin_user_id: admin,
                admin_username: Some("bench".into()),
                role: "Admin".into(),
                issued_at: chrono::Utc::now(),
                guild_id: Some(DiscordGuildId::new(BENCH_GUILD_ID).context("guild id")?),
                operation: String::new(),
                params_digest: String::new(),
                signature: String::new(),
            },
            text,
            source_name: Some("benchmark".into()),
        };
        // Bound to this very upload (operation and parameters), then signed, as the bot does.
        let mut claim = add.claim.clone();
        claim.bind_to(&add).context("binding the admin claim")?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(claim_secret.as_bytes()).context("HMAC key")?;
        mac.update(claim.signing_input(&add.request_id).as_bytes());
        claim.signature = hex::encode(mac.finalize().into_bytes());
        add.claim = claim;
        let command = Envelope::new(Command::AdminStockAdd(add));
        let reply = broker
            .request(&command, Duration::from_secs(180))
            .await
            .context("admin.stock.add")?;
        match reply.payload {
            Reply::StockAdded(r) => match r.outcome {
                Ok(done) if done.added as usize == n => added += u64::from(done.added),
                Ok(done) => bail!(
                    "admin.stock.add added {} of {n} codes ({} duplicates, {} rejected)",
                    done.added,
                    done.duplicates,
                    done.rejected.len()
                ),
                Err(e) => bail!("admin.stock.add refused: {}", e.describe()),
            },
            other => bail!("unexpected reply to admin.stock.add: {other:?}"),
        }
    }
    Ok(added)
}

/// One `delivery.requested` as the observer saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub user_id: u64,
    pub codes: Vec<String>,
    pub at: Instant,
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Delivered>>>>;

/// Our own queue on the events exchange, bound to `delivery.requested` (exclusive: it goes away
/// with the connection, and it does not take messages from the bot's queue).
pub struct Observer {
    connection: Connection,
    waiters: Waiters,
    seen: Arc<Mutex<Vec<Delivered>>>,
}

impl Observer {
    pub async fn start(amqp_url: &str, topology: &Topology) -> anyhow::Result<Self> {
        let connection = Connection::connect(
            amqp_url,
            ConnectionProperties::default().with_connection_name("bench-observer".into()),
        )
        .await
        .context("connecting the observer")?;
        let channel = connection.create_channel().await?;
        let queue = format!("{}.bench.observer", topology.namespace());
        channel
            .queue_declare(
                &queue,
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                &queue,
                &topology.events_exchange(),
                DELIVERY_REQUESTED,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut consumer = channel
            .basic_consume(
                &queue,
                "bench-observer",
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let waiters: Waiters = Arc::default();
        let seen: Arc<Mutex<Vec<Delivered>>> = Arc::default();
        {
            let (waiters, seen) = (waiters.clone(), seen.clone());
            tokio::spawn(async move {
                while let Some(Ok(delivery)) = consumer.next().await {
                    let at = Instant::now();
                    let Ok(envelope) = Envelope::<Event>::from_bytes(&delivery.data) else {
                        continue;
                    };
                    let Event::DeliveryRequested(d) = envelope.payload else {
                        continue;
                    };
                    let delivered = Delivered {
                        user_id: d.user_id.get(),
                        codes: d.codes,
                        at,
                    };
                    if let Ok(mut s) = seen.lock() {
                        s.push(delivered.clone());
                    }
                    let waiter = waiters
                        .lock()
                        .ok()
                        .and_then(|mut w| w.remove(&delivered.user_id));
                    if let Some(w) = waiter {
                        let _ = w.send(delivered);
                    }
                }
            });
        }
        Ok(Observer {
            connection,
            waiters,
            seen,
        })
    }

    /// Resolves when the first `delivery.requested` for `user_id` arrives after this call.
    pub fn expect(&self, user_id: u64) -> oneshot::Receiver<Delivered> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiters.lock() {
            w.insert(user_id, tx);
        }
        rx
    }

    pub fn seen(&self) -> Vec<Delivered> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub async fn close(self) {
        let _ = self.connection.close(200, "done").await;
    }
}

/// What became of one order.
pub enum OrderResult {
    /// Accepted and its `delivery.requested` arrived after this long.
    Delivered(Duration),
    Refused(ServiceError),
    Failed(String),
}

/// Publishes one 1-code order for `user_id` and waits for its `delivery.requested`. The
/// latency is measured from `since` (the scheduled time in an open loop).
pub async fn one_order(
    broker: &Broker,
    observer: &Observer,
    user_id: u64,
    since: Instant,
) -> OrderResult {
    let Ok(user) = DiscordUserId::new(user_id) else {
        return OrderResult::Failed("bad user id".into());
    };
    let delivered = observer.expect(user_id);
    let command = Envelope::new(Command::OrderCreate(OrderCreate {
        confirmed_price: None,
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: format!("bench-order-{}", uuid::Uuid::new_v4().simple()),
        user: UserRef {
            user_id: user,
            username: Some(format!("bench-{user_id}")),
            locale: None,
        },
        package: PackageSize::One,
        interaction: None,
    }));
    let reply = match broker.request(&command, ORDER_TIMEOUT).await {
        Ok(r) => r,
        Err(e) => return OrderResult::Failed(format!("order.create: {e}")),
    };
    match reply.payload {
        Reply::OrderCreate(r) => match r.outcome {
            Ok(_) => {}
            Err(e) => return OrderResult::Refused(e),
        },
        other => return OrderResult::Failed(format!("unexpected reply {}", reply_type(&other))),
    }
    match tokio::time::timeout(ORDER_TIMEOUT, delivered).await {
        Ok(Ok(d)) => OrderResult::Delivered(d.at.saturating_duration_since(since)),
        _ => OrderResult::Failed("no delivery.requested within 30 s".into()),
    }
}

fn reply_type(reply: &Reply) -> &'static str {
    use shared_proto::MessageFamily;
    reply.message_type()
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    refused: Vec<String>,
    failed: Vec<String>,
    last_delivery: Option<Instant>,
}

impl Tally {
    fn add(&mut self, result: OrderResult) {
        match result {
            OrderResult::Delivered(d) => {
                self.latencies.push(d);
                self.last_delivery = Some(Instant::now());
            }
            OrderResult::Refused(e) => self.refused.push(e.describe()),
            OrderResult::Failed(e) => self.failed.push(e),
        }
    }

    fn problems(&self) -> String {
        let mut s = String::new();
        if let Some(first) = self.refused.first() {
            s.push_str(&format!(
                "; {} refused (first: {first})",
                self.refused.len()
            ));
        }
        if let Some(first) = self.failed.first() {
            s.push_str(&format!("; {} failed (first: {first})", self.failed.len()));
        }
        s
    }
}

/// Closed loop: `concurrency` orders outstanding (published and not yet delivered) until
/// `seconds` pass or the users run out.
pub async fn throughput(
    broker: &Broker,
    observer: &Arc<Observer>,
    first_user: u64,
    users: u64,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    let mut published = 0u64;
    while Instant::now() < until && published < users {
        let permit = permits.clone().acquire_owned().await?;
        let (broker, observer, tally) = (broker.clone(), observer.clone(), tally.clone());
        let user_id = first_user + published;
        published += 1;
        tasks.push(tokio::spawn(async move {
            let result = one_order(&broker, &observer, user_id, Instant::now()).await;
            drop(permit);
            if let Ok(mut t) = tally.lock() {
                t.add(result);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let tally = tally
        .lock()
        .map_err(|_| anyhow::anyhow!("tally poisoned"))?;
    let delivered = tally.latencies.len();
    let end = tally.last_delivery.unwrap_or_else(Instant::now);
    let elapsed = end.duration_since(start).as_secs_f64().max(1e-3);
    let mut detail =
        format!("{delivered} orders delivered in {elapsed:.1} s; {concurrency} outstanding");
    if let Some(s) = Summary::of(&tally.latencies) {
        detail.push_str(&format!(", p50 {:.1} ms, p99 {:.1} ms", s.p50_ms, s.p99_ms));
    }
    if published >= users {
        detail.push_str(&format!(
            "; all {users} prepared users/codes used before the time was up"
        ));
    }
    detail.push_str(&tally.problems());
    Ok(Outcome::Rate {
        per_sec: delivered as f64 / elapsed,
        unit: "orders/s",
        min_ratio: Some(0.4),
        detail,
    })
}

/// Open loop at `rate` orders per second; latency from each order's scheduled time.
pub async fn latency_at(
    broker: &Broker,
    observer: &Arc<Observer>,
    first_user: u64,
    count: u64,
    rate: u32,
    p99_limit_ms: f64,
) -> anyhow::Result<Outcome> {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let t0 = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for i in 0..count {
        let scheduled = t0 + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (broker, observer, tally) = (broker.clone(), observer.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let result = one_order(&broker, &observer, first_user + i, scheduled).await;
            if let Ok(mut t) = tally.lock() {
                t.add(result);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let tally = tally
        .lock()
        .map_err(|_| anyhow::anyhow!("tally poisoned"))?;
    let summary = Summary::of(&tally.latencies).context("no order was delivered")?;
    let detail = format!("{rate}/s open loop{}", tally.problems());
    Ok(Outcome::Latency {
        summary,
        p99_limit_ms,
        detail,
    })
}
