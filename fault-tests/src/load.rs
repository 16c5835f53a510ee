//! A steady load of orders and top-ups, sent the way the bot sends them: `order.create` and
//! `topup.create` commands over the broker (request/reply with a timeout), and top-ups paid at
//! the Midtrans simulator, which then notifies the webhook (with its retry schedule).
//!
//! Every request keeps its `request_id`. One that got no answer (timeout, broker down, service
//! killed) is sent again with the same id when the load settles, as a user clicking again
//! would: the services are idempotent by request id, so the answer is the first outcome, and
//! the tally ends knowing what was accepted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use broker::{Broker, BrokerConfig};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use midtrans_simulator::RunningSimulator;
use rand::Rng;
use sha2::Sha256;
use shared_proto::{
    AdminClaim, AdminStockAdd, Command, DiscordGuildId, DiscordUserId, Envelope, Idr,
    OrderAccepted, OrderCreate, PackageSize, Reply, ServiceError, Topology, TopupCreate,
    TopupCreated, UserRef,
};
use tokio::sync::Semaphore;

use crate::cluster::FAULT_GUILD_ID;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the load does.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Buyers are `first_user .. first_user + users`.
    pub first_user: u64,
    pub users: u64,
    pub orders_per_sec: f64,
    pub topups_per_sec: f64,
    /// Each steady top-up, in rupiah.
    pub topup_amount: i64,
    /// The top-up every buyer makes first, so orders have money to spend.
    pub opening_topup: i64,
    /// Share of orders for 5 codes (the rest are 1-code orders).
    pub five_code_share: f64,
    /// Requests in flight at most; a tick that finds none free is skipped.
    pub concurrency: usize,
    pub request_timeout: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            first_user: 1_300_000_000_000_000_000,
            users: 24,
            orders_per_sec: 12.0,
            topups_per_sec: 3.0,
            topup_amount: 50_000,
            opening_topup: 2_000_000,
            five_code_share: 0.2,
            concurrency: 24,
            request_timeout: Duration::from_secs(6),
        }
    }
}

/// One `order.create` as the load knows it.
#[derive(Debug, Clone)]
pub struct OrderTrack {
    pub user: u64,
    pub package: PackageSize,
    /// `None` while no answer came.
    pub outcome: Option<Result<OrderAccepted, ServiceError>>,
    pub sends: u32,
}

/// One `topup.create` as the load knows it.
#[derive(Debug, Clone)]
pub struct TopupTrack {
    pub user: u64,
    pub amount: i64,
    pub outcome: Option<Result<TopupCreated, ServiceError>>,
    pub sends: u32,
    /// The simulator settled it (the customer paid).
    pub paid: bool,
}

/// Everything sent so far, by request id.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub orders: HashMap<String, OrderTrack>,
    pub topups: HashMap<String, TopupTrack>,
}

impl Tally {
    pub fn accepted_orders(&self) -> Vec<(&String, &OrderTrack, &OrderAccepted)> {
        self.orders
            .iter()
            .filter_map(|(id, t)| match &t.outcome {
                Some(Ok(a)) => Some((id, t, a)),
                _ => None,
            })
            .collect()
    }

    pub fn unresolved(&self) -> (usize, usize) {
        (
            self.orders.values().filter(|t| t.outcome.is_none()).count(),
            self.topups.values().filter(|t| t.outcome.is_none()).count(),
        )
    }

    /// One line for the test output.
    pub fn summary(&self) -> String {
        let refused: HashMap<String, usize> = self
            .orders
            .values()
            .filter_map(|t| match &t.outcome {
                Some(Err(e)) => Some(format!("{e:?}").split([' ', '{']).next()?.to_string()),
                _ => None,
            })
            .fold(HashMap::new(), |mut m, k| {
                *m.entry(k).or_default() += 1;
                m
            });
        let resent = self.orders.values().filter(|t| t.sends > 1).count()
            + self.topups.values().filter(|t| t.sends > 1).count();
        format!(
            "orders sent {}, accepted {}, refused {:?}; top-ups sent {}, created {}, paid {}; requests sent again {}",
            self.orders.len(),
            self.accepted_orders().len(),
            refused,
            self.topups.len(),
            self.topups
                .values()
                .filter(|t| matches!(t.outcome, Some(Ok(_))))
                .count(),
            self.topups.values().filter(|t| t.paid).count(),
            resent
        )
    }
}

#[derive(Clone)]
struct Shared {
    broker: Broker,
    sim: Arc<RunningSimulator>,
    tally: Arc<Mutex<Tally>>,
    config: LoadConfig,
    /// Running `pay` calls (each waits through the simulator's notification retries).
    payments: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

pub struct Load {
    shared: Shared,
    stop: CancellationToken,
    generators: Vec<JoinHandle<()>>,
    in_flight: Arc<Semaphore>,
}

impl Load {
    /// Connects its own broker client (as the bot would) to `amqp_url`, namespace `namespace`.
    pub async fn connect(
        amqp_url: &str,
        namespace: &str,
        sim: Arc<RunningSimulator>,
        config: LoadConfig,
    ) -> anyhow::Result<Self> {
        let broker = Broker::connect(BrokerConfig::new(
            amqp_url,
            Topology::new(namespace),
            "fault-load",
        ))
        .await
        .context("connecting the load's broker client")?;
        let in_flight = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Load {
            shared: Shared {
                broker,
                sim,
                tally: Arc::default(),
                config,
                payments: Arc::default(),
            },
            stop: CancellationToken::new(),
            generators: Vec::new(),
            in_flight,
        })
    }

    pub fn broker(&self) -> &Broker {
        &self.shared.broker
    }

    pub fn config(&self) -> &LoadConfig {
        &self.shared.config
    }

    /// A copy of the tally.
    pub fn tally(&self) -> Tally {
        lock(&self.shared.tally).clone()
    }

    /// Loads `count` fresh codes through `admin.stock.add`, as an admin would.
    pub async fn load_stock(&self, claim_secret: &str, count: usize) -> anyhow::Result<u32> {
        let admin = DiscordUserId::new(1_300_000_000_000_000_999).context("admin id")?;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let text: String = (0..count)
            .map(|i| format!("FT-{}-{i:05}\n", &run[..12]).to_uppercase())
            .collect();
        let request_id = format!("fault-stock-{run}");
        let mut add = AdminStockAdd {
            product_id: shared_proto::ProductId::DEFAULT,
            request_id,
            claim: AdminClaim {
                admin_user_id: admin,
                admin_username: Some("fault-admin".into()),
                role: "Admin".into(),
                issued_at: chrono::Utc::now(),
                guild_id: Some(DiscordGuildId::new(FAULT_GUILD_ID).context("guild id")?),
                operation: String::new(),
                params_digest: String::new(),
                signature: String::new(),
            },
            text,
            source_name: Some("fault-tests".into()),
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
        let reply = self
            .shared
            .broker
            .request(&command, Duration::from_secs(60))
            .await
            .context("admin.stock.add")?;
        match reply.payload {
            Reply::StockAdded(r) => match r.outcome {
                Ok(done) if done.added as usize == count => Ok(done.added),
                Ok(done) => bail!("admin.stock.add added {} of {count}", done.added),
                Err(e) => bail!("admin.stock.add refused: {}", e.describe()),
            },
            other => bail!("unexpected reply to admin.stock.add: {other:?}"),
        }
    }

    /// Every buyer tops up `opening_topup` (created and paid) and the load waits for the answers
    /// (not for the credit; [`crate::settle`] waits for that).
    pub async fn open_accounts(&self) -> anyhow::Result<()> {
        let c = &self.shared.config;
        let mut tasks = Vec::new();
        for user in c.first_user..c.first_user + c.users {
            let shared = self.shared.clone();
            let amount = c.opening_topup;
            tasks.push(tokio::spawn(async move {
                let request_id = format!("fault-open-{user}");
                topup(&shared, &request_id, user, amount).await;
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let (_, unresolved) = lock(&self.shared.tally).unresolved();
        if unresolved > 0 {
            bail!("{unresolved} opening top-ups got no answer");
        }
        Ok(())
    }

    /// Starts sending orders and top-ups at the configured rates until [`Load::stop`].
    pub fn start(&mut self) {
        let c = self.shared.config.clone();
        for (rate, is_order) in [(c.orders_per_sec, true), (c.topups_per_sec, false)] {
            if rate <= 0.0 {
                continue;
            }
            let shared = self.shared.clone();
            let stop = self.stop.clone();
            let permits = self.in_flight.clone();
            self.generators.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        continue;
                    };
                    n += 1;
                    let shared = shared.clone();
                    let run = uuid::Uuid::new_v4().simple().to_string();
                    tokio::spawn(async move {
                        let user = {
                            let c = &shared.config;
                            c.first_user + rand::thread_rng().gen_range(0..c.users.max(1))
                        };
                        if is_order {
                            let five = rand::thread_rng()
                                .gen_bool(shared.config.five_code_share.clamp(0.0, 1.0));
                            let package = if five {
                                PackageSize::Five
                            } else {
                                PackageSize::One
                            };
                            order(
                                &shared,
                                &format!("fault-order-{n}-{}", &run[..12]),
                                user,
                                package,
                            )
                            .await;
                        } else {
                            let amount = shared.config.topup_amount;
                            topup(
                                &shared,
                                &format!("fault-topup-{n}-{}", &run[..12]),
                                user,
                                amount,
                            )
                            .await;
                        }
                        drop(permit);
                    });
                }
            }));
        }
    }

    /// Sends `n` one-code orders at once (on top of the steady load), e.g. right before a kill,
    /// so the victim holds a full prefetch of work.
    pub fn burst_orders(&self, n: usize) {
        let c = &self.shared.config;
        let run = uuid::Uuid::new_v4().simple().to_string();
        for i in 0..n {
            let shared = self.shared.clone();
            let user = c.first_user + (i as u64 % c.users.max(1));
            let request_id = format!("fault-burst-{i}-{}", &run[..12]);
            tokio::spawn(async move {
                order(&shared, &request_id, user, PackageSize::One).await;
            });
        }
    }

    /// Creates `n` top-ups (QR shown) that the customers have not paid yet; answers their
    /// order ids, for [`Load::pay_later`].
    pub async fn unpaid_topups(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let c = &self.shared.config;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut ids = Vec::new();
        for i in 0..n {
            let request_id = format!("fault-later-{i}-{}", &run[..12]);
            let user = c.first_user + (i as u64 % c.users.max(1));
            create_topup(&self.shared, &request_id, user, c.topup_amount, false).await;
            match lock(&self.shared.tally)
                .topups
                .get(&request_id)
                .and_then(|t| t.outcome.clone())
            {
                Some(Ok(created)) => ids.push(created.order_id),
                other => bail!("an unpaid top-up could not be created: {other:?}"),
            }
        }
        Ok(ids)
    }

    /// The customers pay these top-ups now (the simulator notifies, retrying as Midtrans does).
    pub fn pay_later(&self, order_ids: &[String]) {
        for order_id in order_ids {
            let request_id = lock(&self.shared.tally)
                .topups
                .iter()
                .find(|(_, t)| matches!(&t.outcome, Some(Ok(c)) if &c.order_id == order_id))
                .map(|(id, _)| id.clone());
            if let Some(request_id) = request_id {
                pay(&self.shared, request_id, order_id.clone());
            }
        }
    }

    /// Stops the generators and waits for the requests in flight to end.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        for g in self.generators.drain(..) {
            let _ = g.await;
        }
        let all = u32::try_from(self.shared.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            self.shared.config.request_timeout * 2,
            self.in_flight.acquire_many(all),
        )
        .await;
    }

    /// Sends every unanswered request again (same request id) until all are answered or
    /// `timeout` passes, then waits for the running payments' notifications.
    pub async fn settle(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (orders, topups): (Vec<_>, Vec<_>) = {
                let t = lock(&self.shared.tally);
                (
                    t.orders
                        .iter()
                        .filter(|(_, o)| o.outcome.is_none())
                        .map(|(id, o)| (id.clone(), o.user, o.package))
                        .collect(),
                    t.topups
                        .iter()
                        .filter(|(_, o)| o.outcome.is_none())
                        .map(|(id, o)| (id.clone(), o.user, o.amount))
                        .collect(),
                )
            };
            if orders.is_empty() && topups.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} orders and {} top-ups still unanswered after {timeout:?}",
                    orders.len(),
                    topups.len()
                );
            }
            let shared = &self.shared;
            futures::stream::iter(orders)
                .for_each_concurrent(8, |(id, user, package)| async move {
                    order(shared, &id, user, package).await;
                })
                .await;
            futures::stream::iter(topups)
                .for_each_concurrent(8, |(id, user, amount)| async move {
                    topup(shared, &id, user, amount).await;
                })
                .await;
        }
        let payments: Vec<JoinHandle<()>> = lock(&self.shared.payments).drain(..).collect();
        for p in payments {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let _ = tokio::time::timeout(left.max(Duration::from_secs(1)), p).await;
        }
        Ok(())
    }

    /// Closes the broker client.
    pub async fn close(&self) {
        self.shared.broker.close().await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn user_ref(user: u64) -> UserRef {
    UserRef {
        // Ids come from the load's own range, which is valid.
        user_id: DiscordUserId::new(user).unwrap_or_else(|_| unreachable!("valid test id")),
        username: Some(format!("fault-{}", user % 100_000)),
        locale: None,
    }
}

async fn order(shared: &Shared, request_id: &str, user: u64, package: PackageSize) {
    {
        let mut t = lock(&shared.tally);
        let track = t
            .orders
            .entry(request_id.to_string())
            .or_insert(OrderTrack {
                user,
                package,
                outcome: None,
                sends: 0,
            });
        track.sends += 1;
    }
    let command = Envelope::new(Command::OrderCreate(OrderCreate {
        confirmed_price: None,
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: request_id.to_string(),
        user: user_ref(user),
        package,
        interaction: None,
    }));
    let outcome = match shared
        .broker
        .request(&command, shared.config.request_timeout)
        .await
    {
        Ok(reply) => match reply.payload {
            Reply::OrderCreate(r) => match r.outcome {
                Err(ServiceError::Internal { .. }) => None,
                other => Some(other),
            },
            _ => None,
        },
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        if let Some(track) = lock(&shared.tally).orders.get_mut(request_id) {
            track.outcome.get_or_insert(outcome);
        }
    }
}

async fn topup(shared: &Shared, request_id: &str, user: u64, amount: i64) {
    create_topup(shared, request_id, user, amount, true).await;
}

async fn create_topup(shared: &Shared, request_id: &str, user: u64, amount: i64, pay_now: bool) {
    {
        let mut t = lock(&shared.tally);
        let track = t
            .topups
            .entry(request_id.to_string())
            .or_insert(TopupTrack {
                user,
                amount,
                outcome: None,
                sends: 0,
                paid: false,
            });
        track.sends += 1;
    }
    let command = Envelope::new(Command::TopupCreate(TopupCreate {
        request_id: request_id.to_string(),
        user: user_ref(user),
        amount: Idr::new(amount),
        interaction: None,
    }));
    let outcome = match shared
        .broker
        .request(&command, shared.config.request_timeout)
        .await
    {
        Ok(reply) => match reply.payload {
            Reply::TopupCreate(r) => match r.outcome {
                Err(ServiceError::Internal { .. }) => None,
                other => Some(other),
            },
            _ => None,
        },
        Err(_) => None,
    };
    let Some(outcome) = outcome else { return };
    let pay = {
        let mut t = lock(&shared.tally);
        let Some(track) = t.topups.get_mut(request_id) else {
            return;
        };
        if track.outcome.is_some() {
            return;
        }
        track.outcome = Some(outcome.clone());
        match &outcome {
            Ok(created) => Some(created.order_id.clone()),
            Err(_) => None,
        }
    };
    // The customer pays every QR they were shown.
    if let (Some(order_id), true) = (pay, pay_now) {
        self::pay(shared, request_id.to_string(), order_id);
    }
}

fn pay(shared: &Shared, request_id: String, order_id: String) {
    let sim = shared.sim.clone();
    let tally = shared.tally.clone();
    let handle = tokio::spawn(async move {
        // `pay` returns once the notification was answered (or its retries ran out).
        if sim.pay(&order_id).await.is_ok() {
            if let Some(track) = lock(&tally).topups.get_mut(&request_id) {
                track.paid = true;
            }
        }
    });
    lock(&shared.payments).push(handle);
}
