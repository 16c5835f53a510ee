//! Discord's answers the bot must survive: a DM refused with 50278 (not only 50007), an
//! interaction token Discord already calls invalid (401/50027) while the bot thinks it lives,
//! and a CDN error page where the admin's stock file should be.

use std::time::Duration;

use chrono::Utc;
use fake_discord::{FakeDiscordConfig, RecordedMessage, SlashOption};
use shared_proto::{DeliveryMethod, Event, InteractionRef};

use crate::support::{
    delivery, fake_config, spawn_bot, spawn_bot_via, user, DiscordPath, Options, ADMIN_ROLE,
    PUBLIC_CHANNEL,
};

const WAIT: Duration = Duration::from_secs(15);

fn text_of(m: &RecordedMessage) -> String {
    let mut all = m.content().to_string();
    for e in m.embeds() {
        all.push_str(&e.to_string());
    }
    for f in &m.files {
        all.push_str(&f.text());
    }
    all
}

/// The one private thread under the public channel, holding every code; no code elsewhere.
fn assert_codes_only_in_a_private_thread(
    fake: &fake_discord::RunningFake,
    buyer: u64,
    codes: &[String],
) {
    let threads = fake.threads();
    assert_eq!(threads.len(), 1, "one private thread");
    assert_eq!(threads[0]["type"].as_u64(), Some(12));
    assert_eq!(
        threads[0]["parent_id"].as_str(),
        Some(PUBLIC_CHANNEL.to_string().as_str())
    );
    let thread_id: u64 = threads[0]["id"].as_str().unwrap().parse().unwrap();
    assert!(fake.thread_members(thread_id).contains(&buyer));
    let in_thread: String = fake
        .channel_messages(thread_id)
        .iter()
        .map(text_of)
        .collect();
    for code in codes {
        assert!(in_thread.contains(code.as_str()), "{code} in the thread");
    }
    for m in fake.messages() {
        if m.channel_id != thread_id {
            let t = text_of(&m);
            assert!(
                !codes.iter().any(|c| t.contains(c.as_str())),
                "code leaked into channel {}",
                m.channel_id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_refused_with_50278_goes_to_the_private_thread_and_is_not_retried() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    let buyer = 2_000_000_000_000_000_301;
    bot.fake.refuse_dms_for(buyer, 50278);
    let d = delivery("ORD-E-0001", buyer, 3);
    bot.publish_delivery(d.clone()).await;

    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {}", event.message_type)
    };
    assert_eq!(c.method, DeliveryMethod::Channel);
    assert_codes_only_in_a_private_thread(&bot.fake, buyer, &d.codes);
    let dm_channel = bot.fake.dm_channel_of(buyer).expect("DM channel opened");
    let dm_posts = bot
        .fake
        .requests_to("POST", &format!("/channels/{dm_channel}/messages"));
    assert_eq!(dm_posts.len(), 1, "a refused DM is tried once");
    assert_eq!(dm_posts[0].status, 403);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_refused_with_invalid_webhook_token_falls_back_to_the_private_thread() {
    // Discord's clock is what counts: here the token dies after 2 s while the delivery below
    // says the interaction is fresh, as when Discord expires a token early or clocks differ.
    let config = FakeDiscordConfig {
        token_lifetime: Duration::from_secs(2),
        ..fake_config()
    };
    let mut bot = spawn_bot_via(Options { gateway: true }, config, DiscordPath::Proxy).await;
    let buyer = user(2_000_000_000_000_000_302, "late-buyer");
    bot.fake.close_dms_for(buyer.id);
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
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    let mut d = delivery("ORD-E-0002", buyer.id, 2);
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
    let refused = bot
        .fake
        .requests_to("POST", &format!("/webhooks/*/{}", record.token));
    assert_eq!(refused.len(), 1, "the follow-up was tried once");
    assert_eq!(refused[0].status, 401);
    assert!(bot.fake.followups(interaction_id).is_empty());
    assert_codes_only_in_a_private_thread(&bot.fake, buyer.id, &d.codes);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdn_error_page_instead_of_the_stock_file_is_reported_and_nothing_is_uploaded() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mut admin = user(2_000_000_000_000_000_303, "stocker");
    admin.roles = vec![ADMIN_ROLE];
    for status in [403, 404, 500] {
        let file = bot
            .fake
            .add_attachment("codes.txt", b"REAL-CODE-1\nREAL-CODE-2\n".to_vec());
        bot.fake.fail_attachment(&file, status);
        let id = bot
            .fake
            .send_slash_command(
                &admin,
                "admin",
                vec![SlashOption::sub(
                    "addstock",
                    vec![SlashOption::attachment("file", &file)],
                )],
            )
            .expect("dispatched");
        let answer = bot
            .fake
            .wait_for(WAIT, |f| {
                f.original_response_of(id)
                    .filter(|m| !m.embeds().is_empty())
            })
            .await
            .expect("the admin is told");
        let text = text_of(&answer);
        assert!(
            text.contains(&format!("HTTP {status}")) && text.contains("No codes were added"),
            "{text}"
        );
        assert_eq!(answer.flags() & 64, 64, "only the admin sees it");
    }
    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(
        bot.broker.queue_ready_count(&queue).await.unwrap(),
        0,
        "no stock upload reached the payment-service"
    );
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}
