//! Integration tests against the real RabbitMQ on this machine. Each test uses its own
//! namespace (so they run in parallel) and deletes its queues and exchanges at the end.

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::{
    Broker, BrokerConfig, BrokerError, Handler, HandlerOutcome, IncomingMessage, OutgoingRaw,
};
use futures::FutureExt;
use lapin::options::BasicGetOptions;
use shared_proto::{
    CatalogReply, Command, DiscordUserId, Envelope, Event, HistoryQuery, QueryReply, Reply,
    StockLow, Topology,
};
use test_support::{amqp_url, eventually, unique_namespace};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn config(delivery_limit: u32) -> BrokerConfig {
    let namespace = unique_namespace();
    let mut config = BrokerConfig::new(
        amqp_url(),
        Topology::new(namespace.clone()),
        format!("broker-test-{namespace}"),
    );
    config.delivery_limit = delivery_limit;
    config.prefetch = 8;
    config
}

/// Connects, declares a fresh topology, runs `body`, and deletes the topology even if the body
/// panicked.
async fn with_broker<F, Fut>(config: BrokerConfig, body: F)
where
    F: FnOnce(Broker) -> Fut,
    Fut: Future<Output = ()>,
{
    let broker = Broker::connect(config).await.expect("connect");
    broker.declare_topology().await.expect("declare topology");
    let outcome = AssertUnwindSafe(body(broker.clone())).catch_unwind().await;
    let cleanup = broker.delete_topology().await;
    broker.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    cleanup.expect("delete topology");
}

fn stock_low(available: u64) -> Envelope<Event> {
    Envelope::new(Event::StockLow(StockLow {
        product_name: None,
        product_id: shared_proto::ProductId::DEFAULT,
        available,
        threshold: 10,
        notify_user_ids: vec![],
    }))
}

/// Records every delivery, waits `delay`, then answers `outcome`.
struct Recorder {
    seen: mpsc::UnboundedSender<IncomingMessage>,
    outcome: HandlerOutcome,
    delay: Duration,
    finished: AtomicUsize,
}

impl Recorder {
    fn new(outcome: HandlerOutcome) -> (Arc<Self>, mpsc::UnboundedReceiver<IncomingMessage>) {
        Self::slow(outcome, Duration::ZERO)
    }

    fn slow(
        outcome: HandlerOutcome,
        delay: Duration,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<IncomingMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let recorder = Recorder {
            seen: tx,
            outcome,
            delay,
            finished: AtomicUsize::new(0),
        };
        (Arc::new(recorder), rx)
    }
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let _ = self.seen.send(message);
        tokio::time::sleep(self.delay).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        self.outcome
    }
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<IncomingMessage>) -> IncomingMessage {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a delivery within the wait")
        .expect("handler alive")
}

async fn wait_for_count(broker: &Broker, queue: &str, expected: u32) {
    eventually(WAIT, &format!("{queue} to hold {expected}"), || async {
        (broker.queue_ready_count(queue).await.ok()? == expected).then_some(())
    })
    .await
    .expect("queue count");
}

/// Takes one message from `queue` directly (no broker layer), to inspect what is there.
async fn get_one(queue: &str) -> Option<lapin::message::BasicGetMessage> {
    let conn = lapin::Connection::connect(&amqp_url(), Default::default())
        .await
        .expect("inspection connection");
    let channel = conn.create_channel().await.expect("channel");
    let got = channel
        .basic_get(queue, BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get");
    let _ = conn.close(200, "done").await;
    got
}

#[tokio::test]
async fn published_message_is_consumed_and_acked() {
    with_broker(config(5), |broker| async move {
        let queue = broker.topology().bot_notifications_queue();
        let (handler, mut seen) = Recorder::new(HandlerOutcome::Ack);
        let shutdown = CancellationToken::new();
        let consumer = broker.spawn_consumer(queue.clone(), handler, shutdown.clone());

        let event = stock_low(3);
        broker
            .publish(&broker.topology().events_exchange(), "stock.low", &event)
            .await
            .expect("publish");

        let got = recv(&mut seen).await;
        assert_eq!(got.message_id, Some(event.message_id.to_string()));
        assert_eq!(got.correlation_id, Some(event.correlation_id.to_string()));
        assert_eq!(got.message_type.as_deref(), Some("stock.low"));
        assert!(!got.redelivered);
        assert_eq!(got.delivery_count, 0);
        let decoded = Envelope::<Event>::from_bytes(&got.body).expect("decodes");
        assert_eq!(decoded, event);

        shutdown.cancel();
        consumer.await.expect("consumer ends");
        // Consumer channel closed: an unacked message would be back in the queue now.
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 0);
    })
    .await;
}

#[tokio::test]
async fn retried_message_ends_in_dead_letter_queue_after_delivery_limit() {
    with_broker(config(2), |broker| async move {
        let spec = broker.topology().bot_queues().remove(1);
        let (handler, mut seen) = Recorder::new(HandlerOutcome::Retry);
        let shutdown = CancellationToken::new();
        let consumer = broker.spawn_consumer(spec.name.clone(), handler, shutdown.clone());

        let event = stock_low(1);
        broker
            .publish(&broker.topology().events_exchange(), "stock.low", &event)
            .await
            .expect("publish");

        wait_for_count(&broker, &spec.dead_letter_queue, 1).await;
        shutdown.cancel();
        consumer.await.expect("consumer ends");

        let mut counts = Vec::new();
        while let Ok(m) = seen.try_recv() {
            assert_eq!(m.message_id, Some(event.message_id.to_string()));
            counts.push(m.delivery_count);
        }
        // Delivery limit 2: the first delivery plus two redeliveries, then dead-lettered.
        assert_eq!(counts, vec![0, 1, 2]);
        assert_eq!(
            broker.queue_ready_count(&spec.name).await.expect("count"),
            0
        );
        let dead = get_one(&spec.dead_letter_queue).await.expect("dead letter");
        assert_eq!(
            dead.delivery
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string()),
            Some(event.message_id.to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn rejected_message_goes_straight_to_dead_letter_queue() {
    with_broker(config(5), |broker| async move {
        let spec = broker.topology().bot_queues().remove(0);
        let (handler, mut seen) = Recorder::new(HandlerOutcome::Reject);
        let shutdown = CancellationToken::new();
        let consumer = broker.spawn_consumer(spec.name.clone(), handler, shutdown.clone());

        let raw = br#"{"not":"an envelope"}"#;
        broker
            .publish_raw(OutgoingRaw {
                exchange: &broker.topology().events_exchange(),
                routing_key: "delivery.requested",
                message_id: "m-poison",
                correlation_id: "c-poison",
                message_type: "delivery.requested",
                payload: raw,
            })
            .await
            .expect("publish");

        let got = recv(&mut seen).await;
        assert_eq!(got.body, raw);
        wait_for_count(&broker, &spec.dead_letter_queue, 1).await;
        shutdown.cancel();
        consumer.await.expect("consumer ends");
        assert!(seen.try_recv().is_err(), "rejected once, never redelivered");
        assert_eq!(
            broker.queue_ready_count(&spec.name).await.expect("count"),
            0
        );
    })
    .await;
}

/// Answers `history.get` with a catalog reply whose `available_codes` echoes the query's limit.
struct Responder {
    broker: Broker,
}

#[async_trait::async_trait]
impl Handler for Responder {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let Ok(command) = Envelope::<Command>::from_bytes(&message.body) else {
            return HandlerOutcome::Reject;
        };
        let Command::HistoryGet(query) = command.payload else {
            return HandlerOutcome::Reject;
        };
        let reply = Envelope::with_correlation(
            Reply::Catalog(QueryReply {
                outcome: Ok(CatalogReply {
                    products: Vec::new(),
                    packages: vec![],
                    available_codes: u64::from(query.limit),
                }),
            }),
            command.correlation_id,
        );
        let Some(reply_to) = message.reply_to else {
            return HandlerOutcome::Reject;
        };
        match self
            .broker
            .reply(&reply_to, command.correlation_id, &reply)
            .await
        {
            Ok(()) => HandlerOutcome::Ack,
            Err(_) => HandlerOutcome::Retry,
        }
    }
}

fn history(limit: u32) -> Envelope<Command> {
    Envelope::new(Command::HistoryGet(HistoryQuery {
        user_id: DiscordUserId::new(42).expect("valid id"),
        limit,
    }))
}

#[tokio::test]
async fn request_gets_its_reply() {
    let config = config(5);
    let responder_config = BrokerConfig {
        connection_name: format!("{}-responder", config.connection_name),
        ..config.clone()
    };
    with_broker(config, |requester| async move {
        let responder = Broker::connect(responder_config).await.expect("connect");
        let shutdown = CancellationToken::new();
        let consumer = responder.spawn_consumer(
            requester.topology().payment_commands_queue(),
            Arc::new(Responder {
                broker: responder.clone(),
            }),
            shutdown.clone(),
        );

        let command = history(7);
        let reply = requester
            .request(&command, Duration::from_secs(10))
            .await
            .expect("reply");
        assert_eq!(reply.correlation_id, command.correlation_id);
        let Reply::Catalog(QueryReply {
            outcome: Ok(catalog),
        }) = reply.payload
        else {
            panic!("unexpected reply {:?}", reply.payload);
        };
        assert_eq!(catalog.available_codes, 7);

        // Concurrent requests each get their own reply.
        let replies = futures::future::join_all((1..=20).map(|i| {
            let requester = requester.clone();
            async move {
                let reply = requester
                    .request(&history(i), Duration::from_secs(10))
                    .await
                    .expect("reply");
                match reply.payload {
                    Reply::Catalog(QueryReply { outcome: Ok(c) }) => (i, c.available_codes),
                    other => panic!("unexpected reply {other:?}"),
                }
            }
        }))
        .await;
        for (i, codes) in replies {
            assert_eq!(u64::from(i), codes);
        }

        shutdown.cancel();
        consumer.await.expect("consumer ends");
        responder.close().await;
    })
    .await;
}

#[tokio::test]
async fn request_times_out_when_nobody_answers() {
    with_broker(config(5), |broker| async move {
        let started = std::time::Instant::now();
        let result = broker
            .request(&history(1), Duration::from_millis(500))
            .await;
        assert!(matches!(result, Err(BrokerError::Timeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        // The command was delivered to the queue, it just was not answered.
        let queue = broker.topology().payment_commands_queue();
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 1);
    })
    .await;
}

#[tokio::test]
async fn unroutable_publish_is_an_error() {
    with_broker(config(5), |broker| async move {
        let result = broker
            .publish(
                &broker.topology().events_exchange(),
                "nobody.listens",
                &stock_low(1),
            )
            .await;
        match result {
            Err(BrokerError::Unroutable {
                exchange,
                routing_key,
            }) => {
                assert_eq!(exchange, broker.topology().events_exchange());
                assert_eq!(routing_key, "nobody.listens");
            }
            other => panic!("expected Unroutable, got {other:?}"),
        }

        // A missing exchange is refused by the broker, and the broker stays usable afterwards.
        let missing = broker
            .publish("no-such-exchange-anywhere", "x", &stock_low(1))
            .await;
        assert!(matches!(missing, Err(BrokerError::Amqp(_))), "{missing:?}");
        broker
            .publish(
                &broker.topology().events_exchange(),
                "stock.low",
                &stock_low(2),
            )
            .await
            .expect("publish after the refusal");
        let queue = broker.topology().bot_notifications_queue();
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 1);
    })
    .await;
}

#[tokio::test]
async fn batch_publish_confirms_every_message() {
    with_broker(config(5), |broker| async move {
        let exchange = broker.topology().events_exchange();
        let events: Vec<_> = (0..50).map(stock_low).collect();
        let bodies: Vec<_> = events.iter().map(|e| e.to_bytes()).collect();
        let ids: Vec<_> = events.iter().map(|e| e.message_id.to_string()).collect();
        let mut msgs: Vec<_> = (0..50)
            .map(|i| OutgoingRaw {
                exchange: &exchange,
                routing_key: "stock.low",
                message_id: &ids[i],
                correlation_id: &ids[i],
                message_type: "stock.low",
                payload: &bodies[i],
            })
            .collect();
        msgs[10].routing_key = "nobody.listens";
        let results = broker.publish_batch(&msgs).await;
        assert_eq!(results.len(), 50);
        for (i, result) in results.iter().enumerate() {
            if i == 10 {
                assert!(
                    matches!(result, Err(BrokerError::Unroutable { .. })),
                    "{result:?}"
                );
            } else {
                assert!(result.is_ok(), "{i}: {result:?}");
            }
        }
        let queue = broker.topology().bot_notifications_queue();
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 49);
    })
    .await;
}

/// The pid of our own connection (as `rabbitmqctl close_connection` wants it), found by its
/// connection name.
async fn connection_pid(connection_name: &str) -> Option<String> {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args([
            "-q",
            "list_connections",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .await
        .expect("rabbitmqctl runs");
    let listing = String::from_utf8_lossy(&output.stdout);
    listing
        .lines()
        .find(|line| line.contains(&format!("\"{connection_name}\"")))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_string)
}

#[tokio::test]
async fn consumer_and_publisher_survive_the_broker_closing_the_connection() {
    let config = config(5);
    let connection_name = config.connection_name.clone();
    with_broker(config, |broker| async move {
        let queue = broker.topology().bot_notifications_queue();
        let exchange = broker.topology().events_exchange();
        let (handler, mut seen) = Recorder::new(HandlerOutcome::Ack);
        let shutdown = CancellationToken::new();
        let consumer = broker.spawn_consumer(queue.clone(), handler, shutdown.clone());

        let mut expected = HashSet::new();
        for i in 0..20 {
            let event = stock_low(i);
            broker
                .publish(&exchange, "stock.low", &event)
                .await
                .expect("publish before");
            expected.insert(event.message_id.to_string());
        }
        let mut received = Vec::new();
        while received.len() < 20 {
            received.push(recv(&mut seen).await.message_id.expect("id"));
        }
        // Let the last acks reach the broker before pulling the plug.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let pid = connection_pid(&connection_name)
            .await
            .expect("our connection is listed");
        let closed = tokio::process::Command::new("rabbitmqctl")
            .args(["close_connection", &pid, "broker test: forced close"])
            .output()
            .await
            .expect("rabbitmqctl runs");
        assert!(
            closed.status.success(),
            "{}",
            String::from_utf8_lossy(&closed.stderr)
        );

        // Publishing right after the close waits for the reconnection instead of failing.
        for i in 20..40 {
            let event = stock_low(i);
            broker
                .publish(&exchange, "stock.low", &event)
                .await
                .expect("publish after");
            expected.insert(event.message_id.to_string());
        }
        while received.len() < 40 {
            received.push(recv(&mut seen).await.message_id.expect("id"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        while let Ok(extra) = seen.try_recv() {
            received.push(extra.message_id.expect("id"));
        }

        let distinct: HashSet<_> = received.iter().cloned().collect();
        assert_eq!(distinct, expected, "every message arrived");
        assert_eq!(received.len(), 40, "and none twice");
        let new_pid = connection_pid(&connection_name).await.expect("reconnected");
        assert_ne!(new_pid, pid);
        assert!(broker.is_ready().await);

        shutdown.cancel();
        consumer.await.expect("consumer ends");
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 0);
    })
    .await;
}

#[tokio::test]
async fn shutdown_lets_a_running_handler_finish_and_ack() {
    with_broker(config(5), |broker| async move {
        let queue = broker.topology().bot_deliveries_queue();
        let (handler, mut seen) = Recorder::slow(HandlerOutcome::Ack, Duration::from_millis(1500));
        let shutdown = CancellationToken::new();
        let consumer = broker.spawn_consumer(queue.clone(), handler.clone(), shutdown.clone());

        let raw = br#"{"slow":true}"#;
        broker
            .publish_raw(OutgoingRaw {
                exchange: &broker.topology().events_exchange(),
                routing_key: "delivery.requested",
                message_id: "m-slow",
                correlation_id: "c-slow",
                message_type: "delivery.requested",
                payload: raw,
            })
            .await
            .expect("publish");
        recv(&mut seen).await;
        assert_eq!(handler.finished.load(Ordering::SeqCst), 0);

        shutdown.cancel();
        tokio::time::timeout(WAIT, consumer)
            .await
            .expect("consumer stops")
            .expect("consumer ends");
        assert_eq!(
            handler.finished.load(Ordering::SeqCst),
            1,
            "handler finished"
        );
        // Acked, not requeued when the consumer's channel closed.
        assert_eq!(broker.queue_ready_count(&queue).await.expect("count"), 0);
        assert!(seen.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn declaring_the_topology_twice_is_fine_and_close_stops_everything() {
    with_broker(config(5), |broker| async move {
        broker.declare_topology().await.expect("second declare");
        assert!(broker.is_ready().await);

        let other = Broker::connect(broker.config().clone())
            .await
            .expect("connect");
        other
            .declare_topology()
            .await
            .expect("declare from a second process");
        other.close().await;
        assert!(!other.is_ready().await);
        let after = other
            .publish(
                &broker.topology().events_exchange(),
                "stock.low",
                &stock_low(1),
            )
            .await;
        assert!(matches!(after, Err(BrokerError::Closed)), "{after:?}");
    })
    .await;
}

#[tokio::test]
async fn pending_request_fails_fast_when_the_connection_drops_and_the_next_one_works() {
    let config = config(5);
    let connection_name = config.connection_name.clone();
    let responder_config = BrokerConfig {
        connection_name: format!("{}-responder", config.connection_name),
        ..config.clone()
    };
    with_broker(config, |requester| async move {
        let waiting = {
            let requester = requester.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let result = requester
                    .request(&history(1), Duration::from_secs(60))
                    .await;
                (result, started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = connection_pid(&connection_name)
            .await
            .expect("our connection is listed");
        let closed = tokio::process::Command::new("rabbitmqctl")
            .args(["close_connection", &pid, "broker test: forced close"])
            .output()
            .await
            .expect("rabbitmqctl runs");
        assert!(closed.status.success());
        let (result, elapsed) = waiting.await.expect("request task");
        assert!(
            matches!(result, Err(BrokerError::Connection(_))),
            "{result:?}"
        );
        assert!(
            elapsed < Duration::from_secs(15),
            "failed fast: {elapsed:?}"
        );

        // The unanswered command is still queued; the responder answers it into the void (its
        // requester is gone) and then answers the new request.
        let responder = Broker::connect(responder_config).await.expect("connect");
        let shutdown = CancellationToken::new();
        let consumer = responder.spawn_consumer(
            requester.topology().payment_commands_queue(),
            Arc::new(Responder {
                broker: responder.clone(),
            }),
            shutdown.clone(),
        );
        let reply = requester
            .request(&history(9), Duration::from_secs(10))
            .await
            .expect("reply after reconnecting");
        assert!(matches!(
            reply.payload,
            Reply::Catalog(QueryReply {
                outcome: Ok(CatalogReply {
                    available_codes: 9,
                    ..
                })
            })
        ));
        shutdown.cancel();
        consumer.await.expect("consumer ends");
        responder.close().await;
    })
    .await;
}

#[tokio::test]
async fn backlog_probe_reports_what_waits_in_a_queue_until_stopped() {
    with_broker(config(5), |broker| async move {
        let queue = broker.topology().bot_notifications_queue();
        for available in 0..3 {
            broker
                .publish(
                    &broker.topology().events_exchange(),
                    "stock.low",
                    &stock_low(available),
                )
                .await
                .expect("publish");
        }
        let samples: Arc<std::sync::Mutex<Vec<(String, u32)>>> = Arc::default();
        let sink = samples.clone();
        let stop = CancellationToken::new();
        let probe = broker.spawn_backlog_probe(
            vec![queue.clone()],
            Duration::from_millis(50),
            stop.clone(),
            move |q, ready| sink.lock().expect("samples").push((q.to_string(), ready)),
        );
        eventually(WAIT, "a sample of 3 ready messages", || async {
            samples
                .lock()
                .expect("samples")
                .iter()
                .any(|(q, ready)| q == &queue && *ready == 3)
                .then_some(())
        })
        .await
        .expect("the probe samples the queue");

        // Consumed: the next samples say 0.
        let (handler, mut seen) = Recorder::new(HandlerOutcome::Ack);
        let consumer_stop = CancellationToken::new();
        let consumer = broker.spawn_consumer(queue.clone(), handler, consumer_stop.clone());
        for _ in 0..3 {
            recv(&mut seen).await;
        }
        eventually(WAIT, "a sample of an empty queue", || async {
            (samples.lock().expect("samples").last() == Some(&(queue.clone(), 0))).then_some(())
        })
        .await
        .expect("the probe follows the queue");

        stop.cancel();
        tokio::time::timeout(WAIT, probe)
            .await
            .expect("the probe stops when told")
            .expect("probe task");
        consumer_stop.cancel();
        consumer.await.expect("consumer ends");
    })
    .await;
}
