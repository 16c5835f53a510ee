//! The private-thread fallback uses a channel the bot may use: `PUBLIC_CHANNEL_ID` is checked at
//! start (type and the bot's computed permissions), and when it is a voice or forum channel or
//! lacks CREATE_PRIVATE_THREADS the codes still reach the buyer privately, in a thread of the
//! channel they clicked in.

use std::time::Duration;

use bot_service::discord::channel_check::check_thread_channel;
use bot_service::domain::permissions::{
    ThreadChannelProblem, CREATE_PRIVATE_THREADS, REQUIRED_PERMISSIONS,
};
use chrono::Utc;
use fake_discord::{FakeChannel, FakeDiscordConfig};
use serenity::all::{ChannelId, HttpBuilder};
use shared_proto::{DeliveryMethod, Event, InteractionRef};

use crate::support::{delivery, spawn_bot, spawn_bot_with, Options, TestBot, PUBLIC_CHANNEL};

const WAIT: Duration = Duration::from_secs(15);

/// `PUBLIC_CHANNEL_ID` becomes a channel of another type.
fn public_channel_of_type(kind: u8) -> impl FnOnce(&mut FakeDiscordConfig) {
    move |config| {
        config.extra_channel_ids.retain(|c| *c != PUBLIC_CHANNEL);
        config.access.channels.push(FakeChannel {
            id: PUBLIC_CHANNEL,
            kind,
            name: "not-text".into(),
        });
    }
}

/// The bot may do everything it needs in `PUBLIC_CHANNEL_ID` except open private threads.
fn public_channel_without_private_threads(config: &mut FakeDiscordConfig) {
    config.access.channel_permissions.push((
        PUBLIC_CHANNEL,
        REQUIRED_PERMISSIONS & !CREATE_PRIVATE_THREADS,
    ));
}

/// DMs closed and the interaction token expired: only a private thread can carry the codes.
/// Returns the thread they arrived in after checking only the buyer (and the bot) is in it.
async fn deliver_with_closed_dms(bot: &mut TestBot, order: &str, buyer: u64) -> u64 {
    bot.fake.close_dms_for(buyer);
    let clicked_in = bot.fake.config().channel_id;
    let mut d = delivery(order, buyer, 3);
    d.interaction = Some(InteractionRef {
        application_id: bot.fake.config().application_id.to_string(),
        token: "expired-token".into(),
        channel_id: Some(clicked_in.to_string()),
        created_at: Utc::now() - chrono::Duration::minutes(16),
    });
    bot.publish_delivery(d.clone()).await;
    let event = bot.events.next(WAIT).await;
    let Event::DeliveryConfirmed(c) = event.payload else {
        panic!("expected delivery.confirmed, got {:?}", event.payload)
    };
    assert_eq!(c.method, DeliveryMethod::Channel);
    let threads = bot.fake.threads();
    assert_eq!(threads.len(), 1, "one private thread");
    assert_eq!(threads[0]["type"], 12);
    assert_eq!(
        threads[0]["parent_id"],
        serde_json::json!(clicked_in.to_string()),
        "opened in the channel the buyer clicked in"
    );
    let thread: u64 = threads[0]["id"].as_str().unwrap().parse().unwrap();
    assert!(bot.fake.thread_members(thread).contains(&buyer));
    let text: String = bot
        .fake
        .channel_messages(thread)
        .iter()
        .flat_map(|m| m.embeds())
        .map(|e| e.to_string())
        .collect();
    for code in &d.codes {
        assert!(text.contains(code), "{code} is in the thread");
    }
    thread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_public_channel_is_skipped_and_codes_arrive_in_a_thread_of_the_clicked_channel() {
    let mut bot = spawn_bot_with(Options { gateway: false }, public_channel_of_type(2)).await;
    deliver_with_closed_dms(&mut bot, "ORD-V-0001", 2_000_000_000_000_000_301).await;
    assert!(
        bot.fake
            .requests_to("POST", &format!("/channels/{PUBLIC_CHANNEL}/threads"))
            .is_empty(),
        "the start-up check ruled the voice channel out: no thread was even tried there"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_public_channel_is_skipped_and_codes_arrive_in_a_thread_of_the_clicked_channel() {
    let mut bot = spawn_bot_with(Options { gateway: false }, public_channel_of_type(15)).await;
    deliver_with_closed_dms(&mut bot, "ORD-F-0001", 2_000_000_000_000_000_302).await;
    assert!(bot
        .fake
        .requests_to("POST", &format!("/channels/{PUBLIC_CHANNEL}/threads"))
        .is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_channel_without_create_private_threads_is_skipped() {
    let mut bot = spawn_bot_with(
        Options { gateway: false },
        public_channel_without_private_threads,
    )
    .await;
    deliver_with_closed_dms(&mut bot, "ORD-P-0001", 2_000_000_000_000_000_303).await;
    assert!(bot
        .fake
        .requests_to("POST", &format!("/channels/{PUBLIC_CHANNEL}/threads"))
        .is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_removed_after_start_is_met_with_the_clicked_channel() {
    let mut bot = spawn_bot(Options { gateway: false }).await;
    // Fine at start (the check's last read is the bot's own member); an admin then takes the
    // permission away.
    let bot_id = bot.fake.config().bot_user_id;
    bot.fake
        .wait_for(WAIT, |f| {
            (!f.requests_to("GET", &format!("/guilds/*/members/{bot_id}"))
                .is_empty())
            .then_some(())
        })
        .await
        .expect("the start-up check ran");
    assert!(bot.fake.set_bot_permissions(
        PUBLIC_CHANNEL,
        REQUIRED_PERMISSIONS & !CREATE_PRIVATE_THREADS
    ));
    deliver_with_closed_dms(&mut bot, "ORD-P-0002", 2_000_000_000_000_000_304).await;
    let tried = bot
        .fake
        .requests_to("POST", &format!("/channels/{PUBLIC_CHANNEL}/threads"));
    assert_eq!(tried.len(), 1, "tried once, refused for good, not retried");
    assert_eq!(tried[0].status, 403);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_check_names_what_is_wrong_with_a_channel() {
    let bot = spawn_bot_with(Options { gateway: false }, |config| {
        public_channel_of_type(2)(config);
        config.extra_channel_ids.push(1_100_000_000_000_000_310);
        config.access.channel_permissions.push((
            1_100_000_000_000_000_310,
            REQUIRED_PERMISSIONS & !CREATE_PRIVATE_THREADS,
        ));
    })
    .await;
    let http = HttpBuilder::new("test.bot.token")
        .proxy(bot.fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let check = |id: u64| check_thread_channel(&http, ChannelId::new(id));
    assert_eq!(check(bot.fake.config().channel_id).await, Ok(()));
    assert_eq!(
        check(PUBLIC_CHANNEL).await,
        Err(ThreadChannelProblem::NotText(2))
    );
    assert_eq!(
        check(1_100_000_000_000_000_310).await,
        Err(ThreadChannelProblem::Missing(vec![
            "CREATE_PRIVATE_THREADS"
        ]))
    );
    assert!(matches!(
        check(1_100_000_000_000_000_999).await,
        Err(ThreadChannelProblem::Unreachable(_))
    ));
    bot.stop().await;
}
