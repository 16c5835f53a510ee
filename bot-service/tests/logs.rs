//! Every line the bot logs at debug level, captured through the same log writer the binary
//! uses, while Discord calls fail: REST errors on a follow-up and on a DM (the fake Discord's
//! failure injection), and connection failures (Discord's REST API unreachable, between the bot
//! and the fake) on a follow-up, an edit and a slash command's first answer; and a buyer's codes
//! shown again ("my purchases", ephemerally and by DM). No line may hold an interaction token
//! (they sit in the URLs reqwest names in its errors), the bot token or a revealed code.
//!
//! Its own test binary: the log capture is process-wide.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{Broker, BrokerConfig};
use chrono::Utc;
use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeUser};
use service_runtime::LogFormat;
use shared_proto::{
    Command, DeliveryRequested, DiscordUserId, Envelope, Event, HistoryReply, Idr, InteractionRef,
    OrderCodes, OrderCodesReply, OrderStatus, OrderSummary, PackageSize, ProductId, QueryReply,
    Reply, RevealedCode, Topology, TopupSettled,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The lines written so far, shared with the log writer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    async fn wait_for(&self, needle: &str, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text();
            if text.matches(needle).count() >= count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {count} log lines with {needle:?}; the log:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

struct CaptureWriter(Captured);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
             .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TCP relay between the bot and the fake Discord's REST API that can be cut: then it
/// closes every open connection and every new one at once, as an unreachable API would.
struct Relay {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    cut_token: CancellationToken,
}

impl Relay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay binds");
        let address = listener.local_addr().expect("relay address");
        let cut = Arc::new(AtomicBool::new(false));
        let cut_token = CancellationToken::new();
        let (flag, token) = (cut.clone(), cut_token.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let token = token.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = token.cancelled() => {}
                    }
                });
            }
        });
        Relay {
            address,
            cut,
            cut_token,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cut_token.cancel();
    }
}

fn secret_token(tag: &str) -> String {
    format!(
        "aW50ZXJhY3Rpb246{tag}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn interaction(fake_app: u64, token: &str) -> Option<InteractionRef> {
    Some(InteractionRef {
        application_id: fake_app.to_string(),
        token: token.to_string(),
        channel_id: None,
        created_at: Utc::now(),
    })
}

fn delivery(order: &str, user: u64, interaction: Option<InteractionRef>) -> DeliveryRequested {
    DeliveryRequested {
        order_number: order.to_string(),
        user_id: DiscordUserId::new(user).expect("id"),
        product_id: shared_proto::ProductId::DEFAULT,
        product_name: None,
        package: PackageSize::One,
        total_price: Idr::new(15_000),
        codes: vec![format!("{order}-CODE")],
        attempt: 1,
        interaction,
        locale: None,
        replacing: Vec::new(),
    }
}

/// The payment-service for "my purchases": a history with one completed order and its codes.
struct RevealService {
    broker: Broker,
    codes: Vec<String>,
}

#[async_trait::async_trait]
impl broker::Handler for RevealService {
    async fn handle(&self, message: broker::IncomingMessage) -> broker::HandlerOutcome {
        let Ok(envelope) = Envelope::<Command>::from_bytes(&message.body) else {
            return broker::HandlerOutcome::Reject;
        };
        let reply = match &envelope.payload {
            Command::HistoryGet(q) => Reply::History(QueryReply {
                outcome: Ok(HistoryReply {
                    user_id: q.user_id,
                    orders: vec![OrderSummary {
                        order_number: "RF-20261202-LOGS01".into(),
                        user_id: q.user_id,
                        product_id: ProductId::DEFAULT,
                        product_name: Some("VIP 30 days".into()),
                        package: PackageSize::One,
                        total_price: Idr::new(15_000),
                        status: OrderStatus::Completed,
                        created_at: Utc::now(),
                        completed_at: Some(Utc::now()),
                        refunded: Idr::ZERO,
                    }],
                    topups: vec![],
                }),
            }),
            Command::OrderCodes(q) => Reply::OrderCodes(OrderCodesReply {
                request_id: q.request_id.clone(),
                outcome: Ok(OrderCodes {
                    order_number: q.order_number.clone(),
                    product_id: ProductId::DEFAULT,
                    product_name: "VIP 30 days".into(),
                    package: PackageSize::One,
                    completed_at: Some(Utc::now()),
                    codes: self
                        .codes
                        .iter()
                        .enumerate()
                        .map(|(i, code)| RevealedCode {
                            position: i as u32 + 1,
                            code: code.clone(),
                        })
                        .collect(),
                    to_dm: q.to_dm,
                }),
            }),
            _ => return broker::HandlerOutcome::Ack,
        };
        if let Some(reply_to) = message.reply_to.as_deref() {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_discord_calls_log_no_interaction_token_and_no_bot_token() {
    let captured = Captured::default();
    let sink = captured.clone();
    service_runtime::init_tracing_to("debug", LogFormat::Json, move || {
        CaptureWriter(sink.clone())
    });

    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .expect("fake Discord starts");
    let rest: SocketAddr = url::Url::parse(&fake.base_url())
        .ok()
        .and_then(|u| u.socket_addrs(|| None).ok())
        .and_then(|a| a.first().copied())
        .expect("the fake's REST address");
    let relay = Relay::start(rest).await;
    let app = fake.config().application_id;
    let bot_token = format!(
        "MTEwMDAw.{}.{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let namespace = test_support::unique_namespace();
    let vars: HashMap<String, String> = [
        ("DISCORD_TOKEN", bot_token.clone()),
        (
            "ADMIN_CLAIM_SECRET",
            "logs-test-claim-secret-9c2e4a7b13f6d805".to_string(),
        ),
        ("AMQP_URL", test_support::amqp_url()),
        ("AMQP_NAMESPACE", namespace.clone()),
        ("DISCORD_API_BASE_URL", format!("http://{}", relay.address)),
        ("DISCORD_GUILD_ID", fake.config().guild_id.to_string()),
        // The fake guild has no role named "Admin": name the role by id.
        ("ADMIN_ROLE_ID", "1100000000000000300".to_string()),
        ("ALERT_CHANNEL_ID", fake.config().channel_id.to_string()),
        ("BOT_HEALTH_PORT", "0".to_string()),
        ("BOT_GATEWAY", "true".to_string()),
        ("DELIVERY_RETRY_ATTEMPTS", "2".to_string()),
        ("LOG_LEVEL", "debug".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = bot_service::config::Settings::from_env_map(vars).expect("settings");
    let broker = Broker::connect(BrokerConfig::new(
        test_support::amqp_url(),
        Topology::new(namespace.clone()),
        "logs-test",
    ))
    .await
    .expect("broker");
    broker.declare_topology().await.expect("topology");
    let shutdown = CancellationToken::new();
    let bot = tokio::spawn(bot_service::run(settings, shutdown.clone()));
    assert!(
        fake.wait_for_sessions(1, Duration::from_secs(30)).await,
        "the bot opened a gateway session"
    );
    let guild = fake.config().guild_id;
    fake.wait_for(Duration::from_secs(20), |f| {
        (!f.guild_commands(guild).is_empty()).then_some(())
    })
    .await
    .expect("commands registered");
    let events = broker.topology().events_exchange();
    let publish = |event: Event| {
        let broker = broker.clone();
        let events = events.clone();
        async move {
            let key = shared_proto::MessageFamily::message_type(&event);
            broker
                .publish(&events, key, &Envelope::new(event))
                .await
                .expect("published");
        }
    };
    let mut tokens = Vec::new();

    // 1. A follow-up refused by Discord (DMs closed, so the codes go to an ephemeral follow-up,
    //    which fails with 500 on every try).
    let closed = 2_000_000_000_000_000_101;
    fake.close_dms_for(closed);
    fake.fail_route("POST", "/webhooks/*/*", 500, 0, 100);
    let token = secret_token("Zm9sbG93dXA");
    tokens.push(token.clone());
    publish(Event::DeliveryRequested(delivery(
        "ORD-LOG-1",
        closed,
        interaction(app, &token),
    )))
    .await;
    captured.wait_for("delivery failed", 1).await;

    // 2. A DM refused by Discord.
    fake.fail_route("POST", "/channels/*/messages", 500, 0, 100);
    let token = secret_token("ZG0");
    tokens.push(token.clone());
    publish(Event::DeliveryRequested(delivery(
        "ORD-LOG-2",
        2_000_000_000_000_000_102,
        interaction(app, &token),
    )))
    .await;
    captured.wait_for("delivery failed", 2).await;
    fake.clear_failures();

    // 2b. My purchases: a buyer's codes shown again, ephemerally and then by DM (the payment
    //     service stood in for on its commands queue). The codes must not reach the log.
    let revealer = FakeUser::new(2_000_000_000_000_000_104, "revealer");
    let revealed: Vec<String> = (1..=3)
        .map(|i| format!("REVEALED-{}-{i}", uuid::Uuid::new_v4().simple()))
        .collect();
    let stop_payments = CancellationToken::new();
    broker.spawn_consumer(
        broker.topology().payment_commands_queue(),
        Arc::new(RevealService {
            broker: broker.clone(),
            codes: revealed.clone(),
        }),
        stop_payments.clone(),
    );
    let history = fake
        .send_slash_command(&revealer, "history", vec![])
        .expect("dispatched");
    let listed = fake
        .wait_for(Duration::from_secs(20), |f| {
            f.original_response_of(history)
                .filter(|m| !m.components().is_empty())
        })
        .await
        .expect("the history with its menu");
    let menu = format!("rf1:mine:{}", revealer.id);
    let pick = fake
        .select_menu(&revealer, listed.id, &menu, &["RF-20261202-LOGS01"])
        .expect("picked");
    let shown = fake
        .wait_for(Duration::from_secs(20), |f| {
            f.original_response_of(pick)
                .filter(|m| m.visible_text().contains(revealed[0].as_str()))
        })
        .await
        .expect("the codes shown");
    let to_dm = format!("rf1:mined:{}:RF-20261202-LOGS01", revealer.id);
    let click = fake
        .click_button(&revealer, shown.id, &to_dm)
        .expect("clicked");
    fake.wait_for(Duration::from_secs(20), |f| {
        f.original_response_of(click)
            .filter(|m| m.visible_text().contains("in your DMs"))
    })
    .await
    .expect("sent by DM");
    stop_payments.cancel();

    // 3. Discord unreachable: a slash command's first answer, and a settled top-up's DM and
    //    edit of the original message through its token.
    relay.cut();
    let buyer = FakeUser::new(2_000_000_000_000_000_103, "logbuyer");
    let id = fake
        .send_slash_command(&buyer, "balance", vec![])
        .expect("dispatched");
    captured.wait_for("command failed", 1).await;
    tokens.push(fake.interaction(id).expect("recorded").token);
    let token = secret_token("dG9wdXA");
    tokens.push(token.clone());
    publish(Event::TopupSettled(TopupSettled {
        order_id: "ORDER-2000000000000000103-1795602600".into(),
        user_id: DiscordUserId::new(buyer.id).expect("id"),
        amount: Idr::new(50_000),
        balance_after: Idr::new(50_000),
        paid_at: Utc::now(),
        interaction: interaction(app, &token),
        locale: None,
    }))
    .await;
    captured
        .wait_for("could not update the original top-up message", 1)
        .await;

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), bot).await;
    let _ = broker.delete_topology().await;
    broker.close().await;
    for record in fake.interactions() {
        tokens.push(record.token);
    }

    let log = captured.text();
    let mut leaks = Vec::new();
    for line in log.lines() {
        for code in &revealed {
            if line.contains(code.as_str()) {
                leaks.push(format!("a revealed code in: {line}"));
            }
        }
        for token in &tokens {
            if line.contains(token.as_str()) {
                leaks.push(format!("interaction token in: {line}"));
            }
        }
        if line.contains(&bot_token) {
            leaks.push(format!("bot token in: {line}"));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // The failures were logged, with their URLs masked, not left out.
    assert!(
        log.contains("/[REDACTED]"),
        "no masked URL in the log: the connection errors were not logged in full\n{log}"
    );
}
