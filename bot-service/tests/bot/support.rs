//! `spawn_bot()`: a fake Discord, a fresh broker namespace, the bot running in-process, and a
//! temporary queue on the events exchange to read what the bot publishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{Broker, BrokerConfig};
use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild, FakeRole, FakeUser, RunningFake};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, Consumer};
use shared_proto::{
    Command, DeliveryRequested, DiscordUserId, Envelope, Event, Idr, PackageSize, Reply, Topology,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The claim secret the harness gives the bot (tests verify claims with it).
pub const CLAIM_SECRET: &str = "bot-tests-claim-secret-4e1a9c7d2b6f0358";

pub const PUBLIC_CHANNEL: u64 = 1_100_000_000_000_000_300;
pub const ADMIN_ROLE: u64 = 1_100_000_000_000_000_400;
/// Another server the bot is in (not the shop's), with its own role named "Admin".
pub const FOREIGN_GUILD: u64 = 1_100_000_000_000_000_500;
pub const FOREIGN_CHANNEL: u64 = 1_100_000_000_000_000_501;
pub const FOREIGN_ADMIN_ROLE: u64 = 1_100_000_000_000_000_502;
pub const STOCK_ADMIN: u64 = 1_100_000_000_000_000_500;

pub struct TestBot {
    pub fake: RunningFake,
    pub broker: Broker,
    pub events: EventTap,
    settings: bot_service::config::Settings,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

pub struct Options {
    pub gateway: bool,
}

/// The fake Discord every bot test starts from: the public channel and the admin role.
pub fn fake_config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        extra_channel_ids: vec![PUBLIC_CHANNEL],
        roles: vec![FakeRole {
            id: ADMIN_ROLE,
            name: "Admin".into(),
            permissions: 8,
        }],
        extra_guilds: vec![FakeGuild {
            id: FOREIGN_GUILD,
            name: "Somebody else's server".into(),
            channel_id: FOREIGN_CHANNEL,
            roles: vec![FakeRole {
                id: FOREIGN_ADMIN_ROLE,
                name: "Admin".into(),
                permissions: 8,
            }],
        }],
        ..Default::default()
    }
}

pub async fn spawn_bot(options: Options) -> TestBot {
    spawn_bot_via(options, fake_config(), DiscordPath::Proxy).await
}

/// [`spawn_bot`] with the fake Discord's world changed first (channel types, permissions...).
pub async fn spawn_bot_with(
    options: Options,
    world: impl FnOnce(&mut FakeDiscordConfig),
) -> TestBot {
    let mut config = fake_config();
    world(&mut config);
    spawn_bot_via(options, config, DiscordPath::Proxy).await
}

/// How the bot's REST calls reach the fake.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DiscordPath {
    /// `DISCORD_API_BASE_URL`: serenity's rate limiter off (it ignores the proxy otherwise).
    Proxy,
    /// As in production, serenity's rate limiter on: `https://discord.com` resolved to the fake's
    /// TLS front (`DISCORD_TEST_ONLY_API_ADDR` + `DISCORD_TEST_ONLY_CA_FILE`).
    TlsWithSerenityRateLimiter,
}

pub async fn spawn_bot_via(
    options: Options,
    config: FakeDiscordConfig,
    path: DiscordPath,
) -> TestBot {
    spawn_bot_env(options, config, path, &[]).await
}

/// [`spawn_bot_via`] with settings added or replaced (e.g. `DEFAULT_LOCALE`). The harness runs
/// the bot with `DEFAULT_LOCALE=en`: events of these tests mostly carry no remembered locale,
/// and their checks read English; the Indonesian default is tested on its own.
pub async fn spawn_bot_env(
    options: Options,
    mut config: FakeDiscordConfig,
    path: DiscordPath,
    extra_env: &[(&str, &str)],
) -> TestBot {
    config.tls |= path == DiscordPath::TlsWithSerenityRateLimiter;
    let fake = FakeDiscord::start(config)
        .await
        .expect("fake Discord starts");
    let namespace = test_support::unique_namespace();
    let discord_vars = match path {
        DiscordPath::Proxy => vec![("DISCORD_API_BASE_URL", fake.base_url())],
        DiscordPath::TlsWithSerenityRateLimiter => {
            let ca_file = std::env::temp_dir().join(format!("fake-discord-ca-{namespace}.pem"));
            std::fs::write(&ca_file, fake.tls_ca_pem().expect("TLS front")).expect("CA file");
            vec![
                (
                    "DISCORD_TEST_ONLY_API_ADDR",
                    fake.tls_addr().expect("TLS front").to_string(),
                ),
                ("DISCORD_TEST_ONLY_CA_FILE", ca_file.display().to_string()),
            ]
        }
    };
    let vars: HashMap<String, String> = [
        ("DISCORD_TOKEN", "test.bot.token".to_string()),
        ("ADMIN_CLAIM_SECRET", CLAIM_SECRET.to_string()),
        ("AMQP_URL", test_support::amqp_url()),
        ("AMQP_NAMESPACE", namespace.clone()),
        ("DISCORD_GUILD_ID", fake.config().guild_id.to_string()),
        ("PUBLIC_CHANNEL_ID", PUBLIC_CHANNEL.to_string()),
        ("ALERT_CHANNEL_ID", fake.config().channel_id.to_string()),
        ("STOCK_ADMIN_USER_IDS", STOCK_ADMIN.to_string()),
        ("BOT_HEALTH_PORT", "0".to_string()),
        ("BOT_GATEWAY", options.gateway.to_string()),
        ("BOT_REQUEST_TIMEOUT_SECS", "2".to_string()),
        ("DELIVERY_RETRY_ATTEMPTS", "3".to_string()),
        ("DEFAULT_LOCALE", "en".to_string()),
    ]
    .into_iter()
    .chain(discord_vars)
    .chain(extra_env.iter().map(|(k, v)| (*k, v.to_string())))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = bot_service::config::Settings::from_env_map(vars).expect("settings");
    if let Ok(level) = std::env::var("BOT_TEST_LOG") {
        service_runtime::init_tracing(&level, settings.log_format);
    }

    let broker = Broker::connect(BrokerConfig::new(
        test_support::amqp_url(),
        Topology::new(namespace.clone()),
        "bot-service-test",
    ))
    .await
    .expect("broker connects");
    broker.declare_topology().await.expect("topology");
    let events = EventTap::bind(&broker.topology().events_exchange()).await;

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(bot_service::run(settings.clone(), shutdown.clone()));
    if options.gateway {
        assert!(
            fake.wait_for_sessions(1, Duration::from_secs(15)).await,
            "the bot opened a gateway session"
        );
        // Commands are registered in the READY hook, before any interaction is handled.
        let guild = fake.config().guild_id;
        fake.wait_for(Duration::from_secs(10), |f| {
            (!f.guild_commands(guild).is_empty()).then_some(())
        })
        .await
        .unwrap_or_else(|| {
            let log: Vec<String> = fake
                .requests()
                .iter()
                .map(|r| format!("{} {} {} {:?}", r.method, r.path, r.status, r.invalid_form))
                .collect();
            panic!("commands registered in the guild; requests: {log:#?}")
        });
    }
    TestBot {
        fake,
        broker,
        events,
        settings,
        shutdown,
        task: Some(task),
    }
}

/// Another replica of the bot on the same fake Discord and broker namespace, without a gateway
/// session: it competes for deliveries and takes its share of the global budget.
pub struct Replica {
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the replica stops within 30 s")
            .expect("the replica task did not panic")
            .expect("the replica ran without error");
    }
}

impl TestBot {
    /// Starts a second replica (no gateway, the proxy path) with `extra_env` added.
    pub fn spawn_replica(&self, extra_env: &[(&str, &str)]) -> Replica {
        let vars: HashMap<String, String> = [
            ("DISCORD_TOKEN", "test.bot.token".to_string()),
            ("ADMIN_CLAIM_SECRET", CLAIM_SECRET.to_string()),
            ("AMQP_URL", test_support::amqp_url()),
            (
                "AMQP_NAMESPACE",
                self.broker.topology().namespace().to_string(),
            ),
            ("DISCORD_GUILD_ID", self.fake.config().guild_id.to_string()),
            ("DISCORD_API_BASE_URL", self.fake.base_url()),
            ("BOT_HEALTH_PORT", "0".to_string()),
            ("BOT_GATEWAY", "false".to_string()),
            ("DELIVERY_RETRY_ATTEMPTS", "3".to_string()),
            ("DEFAULT_LOCALE", "en".to_string()),
        ]
        .into_iter()
        .chain(extra_env.iter().map(|(k, v)| (*k, v.to_string())))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let settings = bot_service::config::Settings::from_env_map(vars).expect("settings");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(bot_service::run(settings, shutdown.clone()));
        Replica { shutdown, task }
    }

    pub async fn publish_delivery(&self, d: DeliveryRequested) {
        self.publish_event(Event::DeliveryRequested(d)).await;
    }

    pub async fn publish_event(&self, event: Event) {
        let key = shared_proto::MessageFamily::message_type(&event);
        let env = Envelope::new(event);
        self.broker
            .publish(&self.broker.topology().events_exchange(), key, &env)
            .await
            .expect("published");
    }

    /// Stands in for the payment-service: consumes its commands queue, records every command
    /// and answers each with what `answer` returns (no answer for `None`: the bot times out).
    pub fn answer_payments(
        &self,
        answer: impl Fn(&Command) -> Option<Reply> + Send + Sync + 'static,
    ) -> PaymentStandIn {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        self.broker.spawn_consumer(
            self.broker.topology().payment_commands_queue(),
            Arc::new(Responder {
                broker: self.broker.clone(),
                seen: seen.clone(),
                answer: Box::new(answer),
            }),
            stop.clone(),
        );
        PaymentStandIn { seen, stop }
    }

    /// Stops the bot process and starts it again with the same settings, against the same fake
    /// Discord and broker namespace (what a restart or a new deployment looks like).
    pub async fn restart(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the bot stops within 30 s")
                .expect("the bot task did not panic");
            result.expect("the bot ran without error");
        }
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(bot_service::run(
            self.settings.clone(),
            self.shutdown.clone(),
        )));
    }

    /// Stops the bot and checks it shut down cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the bot stops within 30 s")
                .expect("the bot task did not panic");
            result.expect("the bot ran without error");
        }
        let _ = self.broker.delete_topology().await;
        self.broker.close().await;
    }
}

pub fn user(id: u64, name: &str) -> FakeUser {
    FakeUser::new(id, name)
}

pub fn delivery(order: &str, user_id: u64, codes: usize) -> DeliveryRequested {
    DeliveryRequested {
        order_number: order.to_string(),
        user_id: DiscordUserId::new(user_id).unwrap(),
        product_id: shared_proto::ProductId::DEFAULT,
        product_name: None,
        package: PackageSize::try_from(codes as u32).unwrap_or(PackageSize::Fifty),
        total_price: Idr::new(15_000 * codes as i64),
        codes: (0..codes).map(|i| format!("{order}-CODE-{i:03}")).collect(),
        attempt: 1,
        interaction: None,
        locale: None,
        replacing: Vec::new(),
    }
}

/// A temporary queue bound to the events exchange for `delivery.confirmed` / `delivery.failed`.
pub struct EventTap {
    _connection: Connection,
    consumer: Consumer,
}

impl EventTap {
    async fn bind(exchange: &str) -> Self {
        let connection =
            Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
                .await
                .expect("lapin connects");
        let channel = connection.create_channel().await.expect("channel");
        let queue = channel
            .queue_declare(
                "",
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("temporary queue");
        for key in ["delivery.confirmed", "delivery.failed"] {
            channel
                .queue_bind(
                    queue.name().as_str(),
                    exchange,
                    key,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("bind");
        }
        let consumer = channel
            .basic_consume(
                queue.name().as_str(),
                "tap",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        EventTap {
            _connection: connection,
            consumer,
        }
    }

    /// The next event the bot published, within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Envelope<Event> {
        let delivery = tokio::time::timeout(timeout, self.consumer.next())
            .await
            .expect("an event within the timeout")
            .expect("stream open")
            .expect("delivery");
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        Envelope::<Event>::from_bytes(&delivery.data).expect("a valid event")
    }
}

type Answer = Box<dyn Fn(&Command) -> Option<Reply> + Send + Sync>;

/// What [`TestBot::answer_payments`] started: the commands the bot sent, in order.
pub struct PaymentStandIn {
    seen: Arc<Mutex<Vec<Command>>>,
    stop: CancellationToken,
}

impl PaymentStandIn {
    pub fn commands(&self) -> Vec<Command> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for PaymentStandIn {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Responder {
    broker: Broker,
    seen: Arc<Mutex<Vec<Command>>>,
    answer: Answer,
}

#[async_trait::async_trait]
impl broker::Handler for Responder {
    async fn handle(&self, message: broker::IncomingMessage) -> broker::HandlerOutcome {
        let Ok(envelope) = Envelope::<Command>::from_bytes(&message.body) else {
            return broker::HandlerOutcome::Reject;
        };
        self.seen.lock().unwrap().push(envelope.payload.clone());
        let reply = (self.answer)(&envelope.payload);
        if let (Some(reply), Some(reply_to)) = (reply, message.reply_to.as_deref()) {
            let correlation = envelope.correlation_id;
            let _ = self
                .broker
                .reply(
                    reply_to,
                    correlation,
                    &Envelope::with_correlation(reply, correlation),
                )
                .await;
        }
        broker::HandlerOutcome::Ack
    }
}
