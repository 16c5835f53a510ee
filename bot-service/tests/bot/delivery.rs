//! `delivery.requested` → codes in the user's DMs (or a private fallback) → outcome event.

use std::time::Duration;

use chrono::Utc;
use shared_proto::{DeliveryMethod, Event, InteractionRef};

use crate::support::{delivery, spawn_bot, user, Options, PUBLIC_CHANNEL};

const WAIT: Duration = Duration::from_secs(15);

fn text_of(m: &fake_discord::RecordedMessage) -> String {
    let mut all = m.content().to_string();
    for e in m.embeds() {
        all.push_str(&e.to_string());
    }
    for f in &m.files {
        all.push_str(&f.text());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_request_is_dmed_and_confirmed() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_001;
    let d = delivery("ORD-T-0001", buyer, 5);
    bot.publish_delivery(d.clone()).await;

    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {}", event.message_type)
    };
    assert_eq!(c.order_number, "ORD-T-0001");
    assert_eq!(c.attempt, 1);
    assert_eq!(c.method, DeliveryMethod::Dm);

    let dms = bot.fake.dm_messages_to(buyer);
    assert_eq!(dms.len(), 1, "exactly one DM");
    let text = text_of(&dms[0]);
    for code in &d.codes {
        assert!(text.contains(code), "the DM holds {code}");
    }
    assert!(
        dms[0].files.is_empty(),
        "5 codes go in an embed, not a file"
    );
    assert_eq!(c.message_id, Some(dms[0].id.to_string()));

    // The same (order, attempt) again: confirmed again, not DMed twice.
    bot.publish_delivery(d).await;
    let again = bot.events.next(WAIT).await;
    assert!(matches!(again.payload, Event::DeliveryConfirmed(_)));
    assert_eq!(bot.fake.dm_messages_to(buyer).len(), 1, "no second DM");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_ten_codes_arrive_as_a_txt_file() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_002;
    let d = delivery("ORD-T-0025", buyer, 25);
    bot.publish_delivery(d.clone()).await;
    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {}", event.message_type)
    };
    assert_eq!(c.method, DeliveryMethod::File);
    let dms = bot.fake.dm_messages_to(buyer);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].files.len(), 1);
    let file = dms[0].files[0].text();
    assert_eq!(
        file.lines().collect::<Vec<_>>(),
        d.codes.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let embeds: String = dms[0].embeds().iter().map(|e| e.to_string()).collect();
    assert!(
        !embeds.contains("ORD-T-0025-CODE-"),
        "codes are not in the embed"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_without_a_live_token_go_to_a_private_thread_never_a_public_message() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_003;
    bot.fake.close_dms_for(buyer);
    let d = delivery("ORD-T-0003", buyer, 3);
    bot.publish_delivery(d.clone()).await;

    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {}", event.message_type)
    };
    assert_eq!(c.method, DeliveryMethod::Channel);

    let threads = bot.fake.threads();
    assert_eq!(threads.len(), 1, "one private thread");
    let thread = &threads[0];
    assert_eq!(thread["type"].as_u64(), Some(12), "a private thread");
    assert_eq!(
        thread["parent_id"].as_str(),
        Some(PUBLIC_CHANNEL.to_string().as_str())
    );
    let thread_id: u64 = thread["id"].as_str().unwrap().parse().unwrap();
    assert!(
        bot.fake.thread_members(thread_id).contains(&buyer),
        "the buyer was added"
    );
    let in_thread: String = bot
        .fake
        .channel_messages(thread_id)
        .iter()
        .map(text_of)
        .collect();
    for code in &d.codes {
        assert!(in_thread.contains(code));
    }
    // Nothing with a code anywhere else: not in the public channel, not in any DM.
    for m in bot.fake.messages() {
        if m.channel_id != thread_id {
            let t = text_of(&m);
            assert!(
                !d.codes.iter().any(|c| t.contains(c)),
                "code leaked into channel {}",
                m.channel_id
            );
        }
    }
    // The closed DM was tried once, never retried (repeated 50007s count toward Discord's ban).
    let dm_channel = bot.fake.dm_channel_of(buyer).expect("DM channel opened");
    let dm_posts = bot
        .fake
        .requests_to("POST", &format!("/channels/{dm_channel}/messages"));
    assert_eq!(dm_posts.len(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_with_a_live_token_get_an_ephemeral_followup() {
    let mut bot = spawn_bot(Options { gateway: true }).await;
    let buyer = user(2_000_000_000_000_000_004, "buyer4");
    bot.fake.close_dms_for(buyer.id);
    // A real interaction of this user, so its token is live in the fake.
    let interaction_id = bot
        .fake
        .send_slash_command(&buyer, "shop", vec![])
        .expect("dispatched");
    let record = bot
        .fake
        .wait_for(WAIT, |f| {
            f.interaction(interaction_id)
                .filter(|i| i.acknowledged_at.is_some())
        })
        .await
        .expect("the bot answered /shop");
    let mut d = delivery("ORD-T-0004", buyer.id, 2);
    d.interaction = Some(InteractionRef {
        application_id: bot.fake.config().application_id.to_string(),
        token: record.token.clone(),
        channel_id: Some(record.channel_id.to_string()),
        created_at: Utc::now(),
    });
    bot.publish_delivery(d.clone()).await;

    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {}", event.message_type)
    };
    assert_eq!(c.method, DeliveryMethod::Channel);
    let followups = bot.fake.followups(interaction_id);
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0].flags() & 64, 64, "the follow-up is ephemeral");
    let text = text_of(&followups[0]);
    for code in &d.codes {
        assert!(text.contains(code));
    }
    assert!(bot.fake.threads().is_empty(), "no thread needed");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_dm_is_waited_out_and_delivered() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_005;
    bot.fake
        .rate_limit_route("POST", "/channels/*/messages", 0.5, false, 1);
    let d = delivery("ORD-T-0005", buyer, 1);
    bot.publish_delivery(d.clone()).await;
    let event = bot.events.next(WAIT).await;
    assert!(
        matches!(event.payload, Event::DeliveryConfirmed(_)),
        "{}",
        event.message_type
    );
    let dms = bot.fake.dm_messages_to(buyer);
    assert_eq!(dms.len(), 1);
    assert!(text_of(&dms[0]).contains(&d.codes[0]));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_server_errors_end_in_a_retryable_failure() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_006;
    bot.fake
        .fail_route("POST", "/channels/*/messages", 502, 0, 100);
    bot.publish_delivery(delivery("ORD-T-0006", buyer, 1)).await;
    let event = bot.events.next(Duration::from_secs(30)).await;
    let Event::DeliveryFailed(f) = event.payload else {
        panic!("expected delivery.failed, got {}", event.message_type)
    };
    assert_eq!(f.order_number, "ORD-T-0006");
    assert!(f.retryable);
    assert!(!f.error.contains("CODE"), "no code in the error");
    bot.stop().await;
}
