//! The bot on the fake gateway: slash commands answered in time, admin commands refused to
//! non-admins without anything reaching the payment-service.

use std::time::Duration;

use fake_discord::SlashOption;

use crate::support::{spawn_bot, user, Options, ADMIN_ROLE};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_answers_at_once_with_the_main_menu() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let alice = user(2_000_000_000_000_000_101, "alice");
    let id = bot
        .fake
        .send_slash_command(&alice, "shop", vec![])
        .expect("dispatched");
    let original = bot
        .fake
        .wait_for(WAIT, |f| f.original_response_of(id))
        .await
        .expect("a response");
    let latency = bot.fake.interaction_latency(id).expect("answered in time");
    eprintln!("/shop answered in {latency:?}");
    assert!(
        latency < Duration::from_millis(500),
        "answered in {latency:?}"
    );
    assert_eq!(original.flags() & 64, 64, "ephemeral");
    let rows = original.components();
    let buttons = rows[0]["components"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 5);
    for b in buttons {
        let custom_id = b["custom_id"].as_str().unwrap();
        assert!(custom_id.starts_with("rf1:m:") && custom_id.len() <= 100);
    }
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_are_refused_to_members_without_the_role() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mallory = user(2_000_000_000_000_000_102, "mallory");
    let id = bot
        .fake
        .send_slash_command(
            &mallory,
            "admin",
            vec![SlashOption::SubCommand(
                "addstock".into(),
                vec![SlashOption::string("text", "CODE-A CODE-B")],
            )],
        )
        .expect("dispatched");
    let refused = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id)
                .filter(|m| m.embeds().iter().any(|e| e.to_string().contains("Admin")))
        })
        .await
        .expect("a refusal");
    assert_eq!(refused.flags() & 64, 64, "the refusal is ephemeral");
    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(
        bot.broker.queue_ready_count(&queue).await.unwrap(),
        0,
        "nothing was published"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_posts_the_panel_and_anyone_can_use_it() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mut admin = user(2_000_000_000_000_000_103, "boss");
    admin.roles = vec![ADMIN_ROLE];
    let bob = user(2_000_000_000_000_000_104, "bob");
    let channel = bot.fake.config().channel_id;
    let id = bot
        .fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::SubCommand("postpanel".into(), vec![])],
        )
        .expect("dispatched");
    let panel = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(channel)
                .into_iter()
                .find(|m| m.flags() & 64 == 0 && !m.components().is_empty())
        })
        .await
        .expect("the panel is posted in the channel");
    let confirmation = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id)
                .filter(|m| !m.embeds().is_empty())
        })
        .await
        .expect("the admin is told");
    assert!(confirmation.embeds()[0]
        .to_string()
        .contains("Panel posted"));

    // Bob uses the public panel. No payment-service runs here: he gets a clear, private answer.
    let balance_id = panel.components()[0]["components"][2]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(balance_id, "rf1:m:balance");
    let click = bot
        .fake
        .click_button(&bob, panel.id, &balance_id)
        .expect("clicked");
    let answer = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(click)
                .filter(|m| !m.embeds().is_empty())
        })
        .await
        .expect("an answer");
    let latency = bot
        .fake
        .interaction_latency(click)
        .expect("deferred in time");
    eprintln!("panel click deferred in {latency:?}");
    assert!(latency < Duration::from_millis(500));
    assert_eq!(answer.flags() & 64, 64, "only bob sees it");
    let text = answer.embeds()[0].to_string();
    assert!(text.contains("try again"), "{text}");
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

/// Stands in for the payment-service on the commands queue: records each `admin.order.process`
/// and answers it as a forced refund that echoes the admin's reason.
struct ProcessOrderResponder {
    broker: broker::Broker,
    seen: std::sync::Arc<tokio::sync::Mutex<Vec<shared_proto::AdminOrderProcess>>>,
}

#[async_trait::async_trait]
impl broker::Handler for ProcessOrderResponder {
    async fn handle(&self, message: broker::IncomingMessage) -> broker::HandlerOutcome {
        use shared_proto::{
            AdminReply, Command, Envelope, Idr, OrderProcessed, OrderStatus, ProcessAction, Reply,
        };
        let Ok(envelope) = Envelope::<Command>::from_bytes(&message.body) else {
            return broker::HandlerOutcome::Reject;
        };
        let Command::AdminOrderProcess(cmd) = envelope.payload else {
            return broker::HandlerOutcome::Reject;
        };
        self.seen.lock().await.push(cmd.clone());
        let reply = Reply::OrderProcessed(AdminReply {
            request_id: cmd.request_id.clone(),
            outcome: Ok(OrderProcessed {
                order_number: cmd.order_number.clone(),
                action: ProcessAction::Refund,
                status: OrderStatus::Refunded,
                refunded: Some(Idr::new(70_000)),
                forced: cmd.force,
                reason: cmd.reason.clone(),
                voided_deliveries: 1,
            }),
        });
        if let Some(reply_to) = message.reply_to.as_deref() {
            let _ = self
                .broker
                .reply(
                    reply_to,
                    envelope.correlation_id,
                    &Envelope::with_correlation(reply, envelope.correlation_id),
                )
                .await;
        }
        broker::HandlerOutcome::Ack
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processorder_sends_force_and_reason_and_the_reply_shows_them() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let seen = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    bot.broker.spawn_consumer(
        bot.broker.topology().payment_commands_queue(),
        std::sync::Arc::new(ProcessOrderResponder {
            broker: bot.broker.clone(),
            seen: seen.clone(),
        }),
        stop.clone(),
    );
    let mut admin = user(2_000_000_000_000_000_105, "boss");
    admin.roles = vec![ADMIN_ROLE];
    let id = bot
        .fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::SubCommand(
                "processorder".into(),
                vec![
                    SlashOption::string("order_number", " RF-20261202-ABC234 "),
                    // The second choice: refund.
                    SlashOption::integer("action", 1),
                    SlashOption::Boolean("force".into(), true),
                    SlashOption::string("reason", "buyer reports the codes were used"),
                ],
            )],
        )
        .expect("dispatched");
    let shown = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id).filter(|m| {
                m.embeds()
                    .iter()
                    .any(|e| e.to_string().contains("Refunded"))
            })
        })
        .await
        .expect("the admin sees the outcome");
    let text: String = shown.embeds().iter().map(|e| e.to_string()).collect();
    assert!(text.contains("forced"), "{text}");
    assert!(text.contains("buyer reports the codes were used"), "{text}");
    assert!(text.contains("RF-20261202-ABC234"), "{text}");
    let sent = seen.lock().await.clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].force);
    assert_eq!(
        sent[0].reason.as_deref(),
        Some("buyer reports the codes were used")
    );
    assert_eq!(sent[0].order_number, "RF-20261202-ABC234");
    stop.cancel();
    bot.stop().await;
}
