use std::sync::Arc;
use std::time::Duration;

use broker::{Broker, BrokerConfig, Handler, HandlerOutcome, IncomingMessage};
use payment_service::messaging::{spawn_outbox_relay, CommandConsumer, CommandDeps};
use payment_service::metrics::Metrics;
use payment_service::midtrans::MidtransClient;
use payment_service::queries;
use payment_service::topups::TopupService;
use shared_proto::{
    BalanceQuery, CatalogQuery, Command, DiscordUserId, Envelope, Event, HistoryQuery, PackageSize,
    Reply, ServiceError, Topology,
};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

struct Collect(Arc<Mutex<Vec<Envelope<Event>>>>);

#[async_trait::async_trait]
impl Handler for Collect {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        match Envelope::<Event>::from_bytes(&message.body) {
            Ok(e) => {
                self.0.lock().await.push(e);
                HandlerOutcome::Ack
            }
            Err(_) => HandlerOutcome::Reject,
        }
    }
}

async fn broker() -> Broker {
    init_logs();
    let config = BrokerConfig::new(
        test_support::amqp_url(),
        Topology::new(test_support::unique_namespace()),
        "payment-orders-test",
    );
    let b = Broker::connect(config)
        .await
        .expect("RabbitMQ on 127.0.0.1:5672");
    b.declare_topology().await.unwrap();
    b
}

/// Orders committed while no relay runs (as if the process died right after the commit) are
/// published once a relay starts; two relays together publish each row once.
#[tokio::test]
async fn relay_publishes_committed_rows_after_a_restart_exactly_once() {
    let b = broker().await;
    let w = World::pg_events(&b.topology().events_exchange()).await;
    w.add_codes(&codes("RLY", 30)).await;
    for u in 0..20 {
        w.user_with_balance(100 + u, 100_000).await;
        w.order(100 + u, PackageSize::One, &format!("r{u}"))
            .await
            .outcome
            .unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let collector = b.spawn_consumer(
        b.topology().bot_deliveries_queue(),
        Arc::new(Collect(seen.clone())),
        shutdown.clone(),
    );
    let metrics = Metrics::new();
    let relays: Vec<_> = (0..2)
        .map(|_| {
            spawn_outbox_relay(
                w.db.clone(),
                b.clone(),
                metrics.clone(),
                Duration::from_millis(50),
                shutdown.clone(),
            )
        })
        .collect();
    test_support::eventually(Duration::from_secs(20), "20 deliveries", || {
        let seen = seen.clone();
        async move { (seen.lock().await.len() >= 20).then_some(()) }
    })
    .await
    .unwrap();
    test_support::eventually(Duration::from_secs(10), "outbox drained", || {
        let w = &w;
        async move {
            (w.scalar(
                "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL",
                vec![],
            )
            .await
                == 0)
                .then_some(())
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().await;
    let mut ids: Vec<_> = seen.iter().map(|e| e.message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(seen.len(), 20, "each row published once");
    assert!(seen
        .iter()
        .all(|e| matches!(&e.payload, Event::DeliveryRequested(d) if d.codes.len() == 1)));
    assert_eq!(metrics.outbox_backlog.get(), 0);
    shutdown.cancel();
    for r in relays {
        r.await.unwrap();
    }
    collector.await.unwrap();
    b.delete_topology().await.ok();
    b.close().await;
}

/// The whole path over RabbitMQ: request → command consumer → reply, and the relay publishes
/// the delivery request promptly.
#[tokio::test]
async fn order_over_the_broker_is_answered_and_delivery_requested() {
    let w = World::pg().await;
    let b = broker().await;
    w.add_codes(&codes("E2E", 10)).await;
    w.user_with_balance(555, 50_000).await;
    let metrics = Metrics::new();
    let topups = TopupService::new(
        w.db.clone(),
        w.config.clone(),
        MidtransClient::new(&w.config.midtrans).unwrap(),
        metrics.clone(),
        b.topology().events_exchange(),
    );
    let consumer = CommandConsumer::new(CommandDeps {
        db: w.db.clone(),
        config: w.config.clone(),
        vault: w.vault.clone(),
        topups,
        broker: b.clone(),
        metrics: metrics.clone(),
    });
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tasks = vec![
        b.spawn_consumer(
            b.topology().payment_commands_queue(),
            Arc::new(consumer),
            shutdown.clone(),
        ),
        b.spawn_consumer(
            b.topology().bot_deliveries_queue(),
            Arc::new(Collect(seen.clone())),
            shutdown.clone(),
        ),
        spawn_outbox_relay(
            w.db.clone(),
            b.clone(),
            metrics.clone(),
            Duration::from_secs(5),
            shutdown.clone(),
        ),
    ];
    let cmd = Envelope::new(Command::OrderCreate(order_cmd(
        555,
        PackageSize::One,
        "e2e-1",
    )));
    let started = std::time::Instant::now();
    let reply = b.request(&cmd, Duration::from_secs(10)).await.unwrap();
    assert_eq!(reply.correlation_id, cmd.correlation_id);
    let number = match reply.payload {
        Reply::OrderCreate(r) => r.outcome.unwrap().order_number,
        other => panic!("{other:?}"),
    };
    // The relay's poll interval is 5 s: arriving much sooner shows the commit woke it.
    test_support::eventually(Duration::from_secs(3), "delivery.requested", || {
        let seen = seen.clone();
        async move { (!seen.lock().await.is_empty()).then_some(()) }
    })
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    match &seen.lock().await[0].payload {
        Event::DeliveryRequested(d) => {
            assert_eq!(d.order_number, number);
            assert_eq!(d.codes, codes("E2E", 1));
        }
        other => panic!("{other:?}"),
    }
    // The same request again: same answer, charged once.
    let again = b.request(&cmd, Duration::from_secs(10)).await.unwrap();
    match again.payload {
        Reply::OrderCreate(r) => assert_eq!(r.outcome.unwrap().order_number, number),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.balance(555).await, 35_000);
    // Too little balance: a reply with the shortfall.
    let poor = Envelope::new(Command::OrderCreate(order_cmd(
        555,
        PackageSize::Five,
        "e2e-2",
    )));
    match b
        .request(&poor, Duration::from_secs(10))
        .await
        .unwrap()
        .payload
    {
        Reply::OrderCreate(r) => assert!(matches!(
            r.outcome,
            Err(ServiceError::InsufficientBalance { .. })
        )),
        other => panic!("{other:?}"),
    }
    // Queries.
    let user = DiscordUserId::new(555).unwrap();
    match b
        .request(
            &Envelope::new(Command::BalanceGet(BalanceQuery { user_id: user })),
            Duration::from_secs(10),
        )
        .await
        .unwrap()
        .payload
    {
        Reply::Balance(r) => assert_eq!(r.outcome.unwrap().balance.rupiah(), 35_000),
        other => panic!("{other:?}"),
    }
    // Garbage is answered with an error (and dead-lettered), not silently dropped.
    shutdown.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    b.delete_topology().await.ok();
    b.close().await;
}

#[tokio::test]
async fn queries_answer_balance_history_and_catalog() {
    let w = World::pg().await;
    w.add_codes(&codes("Q", 7)).await;
    w.user_with_balance(9, 100_000).await;
    w.order(9, PackageSize::One, "q1").await.outcome.unwrap();
    w.order(9, PackageSize::One, "q2").await.outcome.unwrap();
    let unknown = queries::balance(
        &w.db,
        &BalanceQuery {
            user_id: DiscordUserId::new(12345).unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            unknown.balance.rupiah(),
            unknown.total_topup.rupiah(),
            unknown.total_spent.rupiah()
        ),
        (0, 0, 0)
    );
    let b = queries::balance(
        &w.db,
        &BalanceQuery {
            user_id: DiscordUserId::new(9).unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (b.balance.rupiah(), b.total_spent.rupiah()),
        (70_000, 30_000)
    );
    let h = queries::history(
        &w.db,
        &HistoryQuery {
            user_id: DiscordUserId::new(9).unwrap(),
            limit: 1000,
        },
    )
    .await
    .unwrap();
    assert_eq!(h.orders.len(), 2);
    let h1 = queries::history(
        &w.db,
        &HistoryQuery {
            user_id: DiscordUserId::new(9).unwrap(),
            limit: 1,
        },
    )
    .await
    .unwrap();
    assert_eq!(h1.orders.len(), 1);
    let c = queries::catalog(&w.db, &w.config).await.unwrap();
    let _ = CatalogQuery {};
    assert_eq!(c.available_codes, 5);
    let in_stock: Vec<(u32, bool)> = c
        .packages
        .iter()
        .map(|p| (p.package.codes(), p.in_stock))
        .collect();
    assert_eq!(
        in_stock,
        vec![(1, true), (5, true), (10, false), (25, false), (50, false)]
    );
    assert_eq!(c.packages[0].price.rupiah(), 15_000);
}
