//! Every broker decoder as its consumer uses it, fed hostile messages over the real RabbitMQ:
//! the payment-service's command consumer (→ `reply.error` to the requester, dead-lettered,
//! database unchanged), its delivery-results consumer (→ dead-lettered, database unchanged) and
//! the bot's delivery and notification consumers (→ dead-lettered, nothing sent to Discord,
//! nothing published). `shared-proto/tests/decoder_fuzz.rs` covers the decoders alone; this is
//! what the services do with what the decoders refuse.

use std::collections::HashMap;
use std::time::Duration;

use broker::{Broker, BrokerConfig};
use fake_discord::{FakeDiscord, FakeDiscordConfig};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use security_tests::{snapshot, PaymentApp};
use serde_json::{json, Value};
use shared_proto::{Command, Envelope, Event, Reply, ServiceError, Topology};

use crate::support::{block_on_runtime, cases};

const COMMAND_TYPES: &[&str] = &[
    "order.create",
    "topup.create",
    "topup.status",
    "topup.cancel",
    "balance.get",
    "history.get",
    "catalog.get",
    "admin.stock.add",
    "admin.stock.view",
    "admin.orders.list",
    "admin.order.process",
    "admin.stats",
    "admin.stock.quarantine",
];

/// A raw AMQP client: publishes any bytes and reads replies via direct reply-to.
pub struct RawClient {
    _connection: Connection,
    channel: Channel,
    replies: Consumer,
}

impl RawClient {
    pub async fn connect() -> RawClient {
        let connection =
            Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
                .await
                .expect("lapin connects");
        let channel = connection.create_channel().await.expect("channel");
        let replies = channel
            .basic_consume(
                "amq.rabbitmq.reply-to",
                "",
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("direct reply-to consumer");
        RawClient {
            _connection: connection,
            channel,
            replies,
        }
    }

    pub async fn publish(&self, exchange: &str, key: &str, body: &[u8], reply: bool) {
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(uuid::Uuid::new_v4().to_string().into())
            .with_correlation_id(uuid::Uuid::new_v4().to_string().into())
            .with_type(key.into());
        if reply {
            props = props.with_reply_to("amq.rabbitmq.reply-to".into());
        }
        self.channel
            .basic_publish(exchange, key, BasicPublishOptions::default(), body, props)
            .await
            .expect("publish")
            .await
            .expect("confirmed");
    }

    /// The next reply, if one comes within `wait`.
    pub async fn reply(&mut self, wait: Duration) -> Option<Vec<u8>> {
        match tokio::time::timeout(wait, self.replies.next()).await {
            Ok(Some(Ok(d))) => Some(d.data),
            _ => None,
        }
    }
}

/// Waits until `queue` holds `n` ready messages.
async fn wait_count(broker: &Broker, queue: &str, n: u32) -> u32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let c = broker.queue_ready_count(queue).await.unwrap_or(u32::MAX);
        if c >= n || tokio::time::Instant::now() > deadline {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Hostile message bodies: bytes, broken envelopes, valid envelopes with broken payloads.
fn hostile(types: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let envelope = (
        prop::sample::select(types),
        any_payload(),
        prop_oneof![
            Just(json!(1)),
            Just(json!(0)),
            Just(json!(99)),
            Just(json!("1")),
            Just(Value::Null)
        ],
        prop_oneof![
            Just(json!("01937a1e-0000-7000-8000-000000000002")),
            Just(json!("not-a-uuid")),
            Just(Value::Null)
        ],
    )
        .prop_map(|(ty, payload, version, id)| {
            serde_json::to_vec(&json!({
                "message_id": id,
                "correlation_id": "01937a1e-0000-7000-8000-000000000001",
                "type": ty,
                "schema_version": version,
                "timestamp": "2026-11-25T10:30:00Z",
                "payload": payload,
            }))
            .unwrap_or_default()
        });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => "\\PC{0,200}".prop_map(String::into_bytes),
        4 => envelope,
    ]
}

fn any_payload() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("'; DROP TABLE users; --")),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
    ];
    let field = prop::sample::select(vec![
        "request_id",
        "user",
        "user_id",
        "package",
        "amount",
        "claim",
        "text",
        "order_number",
        "codes",
        "attempt",
        "method",
        "error",
        "retryable",
        "filter",
        "page",
        "page_size",
        "action",
        "interaction",
        "order_id",
        "available",
        "threshold",
    ]);
    proptest::collection::btree_map(field, leaf, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

#[test]
fn undecodable_commands_get_an_error_reply_are_dead_lettered_and_change_nothing() {
    let rt = block_on_runtime();
    let (app, broker, client) = rt.block_on(async {
        let app = PaymentApp::start().await.expect("app starts");
        let broker = app.broker().await;
        let client = RawClient::connect().await;
        (app, broker, client)
    });
    let topology = Topology::new(app.namespace.clone());
    let exchange = topology.commands_exchange();
    let dlq = format!("{}.dlq", topology.payment_commands_queue());
    let baseline = rt.block_on(snapshot(&app.db));
    let client = tokio::sync::Mutex::new(client);
    let dead = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: cases(48),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(hostile(COMMAND_TYPES), prop::sample::select(COMMAND_TYPES)),
        |(body, key)| {
            prop_assume!(Envelope::<Command>::from_bytes(&body).is_err());
            rt.block_on(async {
                let mut client = client.lock().await;
                client.publish(&exchange, key, &body, true).await;
                let reply = client.reply(Duration::from_secs(10)).await;
                let reply = reply
                    .ok_or_else(|| TestCaseError::fail("no reply to an undecodable command"))?;
                let reply = Envelope::<Reply>::from_bytes(&reply)
                    .map_err(|e| TestCaseError::fail(format!("reply not decodable: {e}")))?;
                match reply.payload {
                    Reply::Error(q) => prop_assert!(
                        matches!(q.outcome, Err(ServiceError::InvalidInput { .. })),
                        "{:?}",
                        q.outcome
                    ),
                    other => {
                        return Err(TestCaseError::fail(format!("not reply.error: {other:?}")))
                    }
                }
                dead.set(dead.get() + 1);
                let c = wait_count(&broker, &dlq, dead.get()).await;
                prop_assert_eq!(c, dead.get(), "dead-lettered");
                prop_assert_eq!(&snapshot(&app.db).await, &baseline);
                Ok(())
            })
        },
    );
    rt.block_on(async {
        if let Err(e) = result {
            panic!("{e}");
        }
        // Still serving: a real query is answered.
        let env = Envelope::new(Command::CatalogGet(shared_proto::CatalogQuery {}));
        let reply = broker
            .request(&env, Duration::from_secs(10))
            .await
            .expect("answered");
        assert!(matches!(reply.payload, Reply::Catalog(_)));
        broker.close().await;
        app.stop().await;
    });
}

#[test]
fn undecodable_delivery_results_are_dead_lettered_and_change_nothing() {
    let rt = block_on_runtime();
    let (app, broker, client) = rt.block_on(async {
        let app = PaymentApp::start().await.expect("app starts");
        let broker = app.broker().await;
        (app, broker, RawClient::connect().await)
    });
    let topology = Topology::new(app.namespace.clone());
    let exchange = topology.events_exchange();
    let dlq = format!("{}.dlq", topology.payment_delivery_results_queue());
    let baseline = rt.block_on(snapshot(&app.db));
    let dead = std::cell::Cell::new(0u32);
    const KEYS: &[&str] = &["delivery.confirmed", "delivery.failed"];
    const TYPES: &[&str] = &[
        "delivery.confirmed",
        "delivery.failed",
        "delivery.requested",
        "topup.settled",
    ];
    let mut runner = TestRunner::new(Config {
        cases: cases(32),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(hostile(TYPES), prop::sample::select(KEYS)),
        |(body, key)| {
            let decodes = Envelope::<Event>::from_bytes(&body);
            // Decodable delivery results are legitimate input; everything else must be rejected.
            prop_assume!(!matches!(
                decodes,
                Ok(Envelope {
                    payload: Event::DeliveryConfirmed(_) | Event::DeliveryFailed(_),
                    ..
                })
            ));
            rt.block_on(async {
                client.publish(&exchange, key, &body, false).await;
                dead.set(dead.get() + 1);
                let c = wait_count(&broker, &dlq, dead.get()).await;
                prop_assert_eq!(c, dead.get(), "dead-lettered");
                prop_assert_eq!(&snapshot(&app.db).await, &baseline);
                Ok(())
            })
        },
    );
    rt.block_on(async {
        if let Err(e) = result {
            panic!("{e}");
        }
        broker.close().await;
        app.stop().await;
    });
}

/// The bot in-process without a gateway (consumers only) against the fake Discord.
#[test]
fn undecodable_bot_events_are_dead_lettered_and_nothing_reaches_discord() {
    let rt = block_on_runtime();
    let (fake, broker, client, shutdown, task) = rt.block_on(async {
        let fake = FakeDiscord::start(FakeDiscordConfig::default())
            .await
            .expect("fake Discord");
        let namespace = test_support::unique_namespace();
        let vars: HashMap<String, String> = [
            ("DISCORD_TOKEN", "security.tests.token".to_string()),
            (
                "ADMIN_CLAIM_SECRET",
                security_tests::CLAIM_SECRET.to_string(),
            ),
            ("AMQP_URL", test_support::amqp_url()),
            ("AMQP_NAMESPACE", namespace.clone()),
            ("DISCORD_API_BASE_URL", fake.base_url()),
            ("DISCORD_GUILD_ID", fake.config().guild_id.to_string()),
            // The fake guild has no roles; no admin acts through Discord here.
            ("ADMIN_ROLE_ID", "1100000000000000300".to_string()),
            ("ALERT_CHANNEL_ID", fake.config().channel_id.to_string()),
            ("BOT_HEALTH_PORT", "0".to_string()),
            ("BOT_GATEWAY", "false".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let settings = bot_service::config::Settings::from_env_map(vars).expect("settings");
        let broker = Broker::connect(BrokerConfig::new(
            test_support::amqp_url(),
            Topology::new(namespace),
            "security-tests",
        ))
        .await
        .expect("broker");
        broker.declare_topology().await.expect("topology");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(bot_service::run(settings, shutdown.clone()));
        (fake, broker, RawClient::connect().await, shutdown, task)
    });
    let topology = broker.topology().clone();
    let exchange = topology.events_exchange();
    let deliveries_dlq = format!("{}.dlq", topology.bot_deliveries_queue());
    let notifications_dlq = format!("{}.dlq", topology.bot_notifications_queue());
    let results = topology.payment_delivery_results_queue();
    let (dead_d, dead_n) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    const KEYS: &[&str] = &[
        "delivery.requested",
        "topup.settled",
        "stock.low",
        "order.refunded",
    ];
    const TYPES: &[&str] = &[
        "delivery.requested",
        "topup.settled",
        "topup.expired",
        "stock.low",
        "order.failed",
        "order.refunded",
        "delivery.confirmed",
    ];
    let mut runner = TestRunner::new(Config {
        cases: cases(32),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(hostile(TYPES), prop::sample::select(KEYS)),
        |(body, key)| {
            let to_deliveries = key == "delivery.requested";
            let decodes = Envelope::<Event>::from_bytes(&body);
            // Only what the consumer must refuse: undecodable, or the wrong event for the queue.
            prop_assume!(match &decodes {
                Err(_) => true,
                Ok(e) if to_deliveries => !matches!(e.payload, Event::DeliveryRequested(_)),
                Ok(e) => matches!(
                    e.payload,
                    Event::DeliveryRequested(_) | Event::DeliveryConfirmed(_)
                ),
            });
            rt.block_on(async {
                client.publish(&exchange, key, &body, false).await;
                let (queue, counter) = if to_deliveries {
                    (&deliveries_dlq, &dead_d)
                } else {
                    (&notifications_dlq, &dead_n)
                };
                counter.set(counter.get() + 1);
                let n = counter.get();
                let c = wait_count(&broker, queue, n).await;
                prop_assert_eq!(c, n, "dead-lettered");
                prop_assert!(fake.messages().is_empty(), "something was sent to Discord");
                prop_assert_eq!(
                    broker.queue_ready_count(&results).await.unwrap_or(99),
                    0,
                    "a delivery result was published"
                );
                Ok(())
            })
        },
    );
    rt.block_on(async {
        if let Err(e) = result {
            panic!("{e}");
        }
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        let _ = broker.delete_topology().await;
        broker.close().await;
    });
}

use proptest::test_runner::TestCaseError;
