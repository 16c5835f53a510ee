//! The broker users of `deploy/rabbitmq/definitions.template.json`, created on the real RabbitMQ
//! of this machine (a fresh vhost and users, through `rabbitmqctl`): each service declares its
//! topology and does its work with only its own permissions, and cannot do the other's
//! (consume, purge or delete its queues, publish its messages, or bind a queue to the
//! commands exchange to read admin commands).

use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use broker::{Broker, BrokerConfig, Handler, HandlerOutcome, IncomingMessage};
use lapin::options::{
    BasicConsumeOptions, QueueBindOptions, QueueDeleteOptions, QueuePurgeOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use shared_proto::{
    CatalogReply, Command, DeliveryConfirmed, DeliveryMethod, DiscordUserId, Envelope, Event,
    HistoryQuery, QueryReply, Reply, StockLow, Topology,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn rabbitmqctl(args: &[&str]) -> String {
    let out = Process::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("rabbitmqctl {args:?} could not run (is RabbitMQ's CLI installed?): {e}")
        });
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One service's permissions as the deploy template gives them for `namespace`.
struct Permissions {
    configure: String,
    write: String,
    read: String,
}

fn template_permissions(user: &str, namespace: &str) -> Permissions {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/rabbitmq/definitions.template.json"
    );
    let text = std::fs::read_to_string(path).expect("the deploy template exists");
    let definitions: serde_json::Value = serde_json::from_str(&text).expect("template is JSON");
    let entry = definitions["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .find(|p| p["user"] == user)
        .unwrap_or_else(|| panic!("no permissions for {user} in the template"));
    let field = |name: &str| {
        entry[name]
            .as_str()
            .expect("a regex")
            .replace("@NS@", namespace)
    };
    Permissions {
        configure: field("configure"),
        write: field("write"),
        read: field("read"),
    }
}

/// A vhost with a payment-service and a bot-service user, removed on drop.
struct Realm {
    vhost: String,
    users: Vec<String>,
    namespace: String,
}

impl Realm {
    fn create() -> Self {
        let vhost = test_support::unique_name("perm");
        let namespace = test_support::unique_namespace();
        rabbitmqctl(&["add_vhost", &vhost]);
        let mut realm = Realm {
            vhost,
            users: Vec::new(),
            namespace,
        };
        for service in ["payment-service", "bot-service"] {
            let user = format!("{service}-{}", &realm.vhost[5..]);
            rabbitmqctl(&["add_user", &user, &password_of(&user)]);
            realm.users.push(user.clone());
            let p = template_permissions(service, &realm.namespace);
            rabbitmqctl(&[
                "set_permissions",
                "-p",
                &realm.vhost,
                &user,
                &p.configure,
                &p.write,
                &p.read,
            ]);
        }
        realm
    }

    fn url(&self, service: &str) -> String {
        let user = self
            .users
            .iter()
            .find(|u| u.starts_with(service))
            .expect("user");
        format!(
            "amqp://{user}:{}@127.0.0.1:5672/{}",
            password_of(user),
            self.vhost
        )
    }

    fn topology(&self) -> Topology {
        Topology::new(self.namespace.clone())
    }

    async fn broker(&self, service: &str) -> Broker {
        let config = BrokerConfig::new(self.url(service), self.topology(), service);
        let broker = Broker::connect(config)
            .await
            .unwrap_or_else(|e| panic!("{service} connects with its own user: {e}"));
        broker
            .declare_topology()
            .await
            .unwrap_or_else(|e| panic!("{service} declares its topology with its own user: {e}"));
        broker
    }

    async fn raw_channel(&self, service: &str) -> (Connection, lapin::Channel) {
        let connection = Connection::connect(&self.url(service), ConnectionProperties::default())
            .await
            .expect("raw connection");
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        for user in &self.users {
            let _ = Process::new("rabbitmqctl")
                .args(["delete_user", user])
                .output();
        }
        let _ = Process::new("rabbitmqctl")
            .args(["delete_vhost", &self.vhost])
            .output();
    }
}

fn password_of(user: &str) -> String {
    format!("pw-{}-{}", user.len(), user.replace('-', "_"))
}

/// Forwards every delivery to a channel; answers requests like the payment-service does.
struct Recorder {
    seen: mpsc::UnboundedSender<IncomingMessage>,
    replier: Option<Broker>,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        if let (Some(broker), Some(reply_to)) = (&self.replier, message.reply_to.clone()) {
            let Ok(command) = Envelope::<Command>::from_bytes(&message.body) else {
                return HandlerOutcome::Reject;
            };
            let reply = Envelope::with_correlation(
                Reply::Catalog(QueryReply {
                    outcome: Ok(CatalogReply {
                        products: Vec::new(),
                        packages: vec![],
                        available_codes: 7,
                    }),
                }),
                command.correlation_id,
            );
            if broker
                .reply(&reply_to, command.correlation_id, &reply)
                .await
                .is_err()
            {
                return HandlerOutcome::Retry;
            }
        }
        let _ = self.seen.send(message);
        HandlerOutcome::Ack
    }
}

fn recorder(replier: Option<Broker>) -> (Arc<Recorder>, mpsc::UnboundedReceiver<IncomingMessage>) {
    let (seen, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder { seen, replier }), rx)
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<IncomingMessage>, what: &str) -> IncomingMessage {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what} did not arrive"))
        .expect("consumer alive")
}

fn access_refused<T>(result: Result<T, lapin::Error>, what: &str) {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    match result {
        Err(lapin::Error::ProtocolError(e))
            if matches!(e.kind(), AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)) => {}
        Err(other) => panic!("{what}: expected ACCESS_REFUSED, got {other}"),
        Ok(_) => panic!("{what}: was allowed"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_user_does_its_own_work_with_its_own_permissions() {
    let realm = Realm::create();
    let topology = realm.topology();
    // Each declares what it may: together the whole topology exists.
    let payment = realm.broker("payment-service").await;
    let bot = realm.broker("bot-service").await;
    let stop = CancellationToken::new();

    // bot → commands → payment.commands, and the reply back through direct reply-to.
    let (commands, mut seen_commands) = recorder(Some(payment.clone()));
    let c1 = payment.spawn_consumer(topology.payment_commands_queue(), commands, stop.clone());
    let query = Envelope::new(Command::HistoryGet(HistoryQuery {
        user_id: DiscordUserId::new(42).expect("id"),
        limit: 5,
    }));
    let reply = bot
        .request(&query, WAIT)
        .await
        .expect("the bot's request is answered");
    assert_eq!(reply.correlation_id, query.correlation_id);
    recv(&mut seen_commands, "the command at the payment-service").await;

    // payment → events → bot.notifications.
    let (notifications, mut seen_notifications) = recorder(None);
    let c2 = bot.spawn_consumer(
        topology.bot_notifications_queue(),
        notifications,
        stop.clone(),
    );
    payment
        .publish(
            &topology.events_exchange(),
            "stock.low",
            &Envelope::new(Event::StockLow(StockLow {
                product_name: None,
                product_id: shared_proto::ProductId::DEFAULT,
                available: 1,
                threshold: 10,
                notify_user_ids: vec![],
            })),
        )
        .await
        .expect("the payment-service publishes events");
    recv(&mut seen_notifications, "the event at the bot").await;

    // bot → events → payment.delivery-results.
    let (results, mut seen_results) = recorder(None);
    let c3 = payment.spawn_consumer(
        topology.payment_delivery_results_queue(),
        results,
        stop.clone(),
    );
    bot.publish(
        &topology.events_exchange(),
        "delivery.confirmed",
        &Envelope::new(Event::DeliveryConfirmed(DeliveryConfirmed {
            order_number: "RF-20261202-ABCDEF".into(),
            attempt: 1,
            method: DeliveryMethod::Dm,
            message_id: None,
        })),
    )
    .await
    .expect("the bot publishes delivery outcomes");
    recv(
        &mut seen_results,
        "the delivery outcome at the payment-service",
    )
    .await;

    // Backlog probes read their own queues.
    payment
        .queue_ready_count(&topology.payment_commands_queue())
        .await
        .expect("payment probes its queue");
    bot.queue_ready_count(&topology.bot_deliveries_queue())
        .await
        .expect("bot probes its queue");

    stop.cancel();
    for c in [c1, c2, c3] {
        c.await.expect("consumer ends");
    }
    payment.close().await;
    bot.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_service_user_can_do_the_other_services_work() {
    let realm = Realm::create();
    let topology = realm.topology();
    let payment = realm.broker("payment-service").await;
    let bot = realm.broker("bot-service").await;

    // The bot-service: no reading, purging or deleting the payment-service's queues, and no
    // binding a queue to the commands exchange (that would copy every admin command).
    for queue in [
        topology.payment_commands_queue(),
        topology.payment_delivery_results_queue(),
    ] {
        let (_c, ch) = realm.raw_channel("bot-service").await;
        access_refused(
            ch.basic_consume(
                &queue,
                "thief",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await,
            &format!("bot consumes {queue}"),
        );
        let (_c, ch) = realm.raw_channel("bot-service").await;
        access_refused(
            ch.queue_purge(&queue, QueuePurgeOptions::default()).await,
            &format!("bot purges {queue}"),
        );
        let (_c, ch) = realm.raw_channel("bot-service").await;
        access_refused(
            ch.queue_delete(&queue, QueueDeleteOptions::default()).await,
            &format!("bot deletes {queue}"),
        );
    }
    let (_c, ch) = realm.raw_channel("bot-service").await;
    access_refused(
        ch.queue_bind(
            &topology.bot_notifications_queue(),
            &topology.commands_exchange(),
            "admin.stock.add",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await,
        "bot binds its queue to the commands exchange",
    );

    // The payment-service: no reading or deleting the bot's queues (they carry codes to
    // deliver), and no publishing commands.
    for queue in [
        topology.bot_deliveries_queue(),
        topology.bot_notifications_queue(),
    ] {
        let (_c, ch) = realm.raw_channel("payment-service").await;
        access_refused(
            ch.basic_consume(
                &queue,
                "thief",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await,
            &format!("payment consumes {queue}"),
        );
        let (_c, ch) = realm.raw_channel("payment-service").await;
        access_refused(
            ch.queue_delete(&queue, QueueDeleteOptions::default()).await,
            &format!("payment deletes {queue}"),
        );
    }
    let command = Envelope::new(Command::HistoryGet(HistoryQuery {
        user_id: DiscordUserId::new(42).expect("id"),
        limit: 1,
    }));
    assert!(
        payment
            .publish(&topology.commands_exchange(), "history.get", &command)
            .await
            .is_err(),
        "the payment-service published a command"
    );
    // Nothing arrived on the commands queue from the refused publish.
    assert_eq!(
        payment
            .queue_ready_count(&topology.payment_commands_queue())
            .await
            .expect("count"),
        0
    );
    payment.close().await;
    bot.close().await;
}
