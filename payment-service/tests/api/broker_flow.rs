use std::time::Duration;

use broker::{Broker, BrokerConfig};
use shared_proto::{Command, Envelope, Reply, Topology};

use crate::helpers::{spawn_app, topup_request};

#[tokio::test]
async fn a_top_up_through_the_broker_and_the_simulator_credits_the_user() {
    let app = spawn_app().await;
    let topology = Topology::new(app.namespace.clone());
    let bot = Broker::connect(BrokerConfig::new(
        test_support::amqp_url(),
        topology.clone(),
        "test-bot",
    ))
    .await
    .expect("broker");
    let command = Envelope::new(Command::TopupCreate(topup_request(
        "via-broker",
        3001,
        40_000,
    )));
    let reply = bot
        .request(&command, Duration::from_secs(15))
        .await
        .expect("reply");
    assert_eq!(reply.correlation_id, command.correlation_id);
    let Reply::TopupCreate(created) = reply.payload else {
        panic!("unexpected reply {:?}", reply.payload);
    };
    let created = created.outcome.expect("top-up created");
    assert!(!created.qr_string.is_empty());

    app.sim.pay(&created.order_id).await.expect("paid");
    assert_eq!(app.balance(3001).await, (40_000, 40_000));
    assert_eq!(app.ledger_rows(&created.order_id).await, 1);
    // The outbox relay publishes topup.settled to the bot's notification queue.
    let queue = topology.bot_notifications_queue();
    test_support::eventually(Duration::from_secs(10), "topup.settled published", || {
        let bot = bot.clone();
        let queue = queue.clone();
        async move { bot.queue_ready_count(&queue).await.ok().filter(|n| *n >= 1) }
    })
    .await
    .expect("event published");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_type = 'topup.settled' AND published_at IS NOT NULL",
            vec![]
        )
        .await,
        1
    );
    bot.close().await;
}
