//! The bot as it runs in production, serenity's own rate limiter on, against a fake Discord with
//! tight rate limits: it still answers interactions in time and delivers every order exactly
//! once, the 429s it meets being waited out by serenity rather than lost.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fake_discord::{FakeDiscordConfig, RateLimitConfig, RateLimitScope};
use shared_proto::{DeliveryMethod, Event};

use crate::support::{delivery, fake_config, spawn_bot_via, user, DiscordPath, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_serenity_rate_limiter_on_tight_limits_delay_deliveries_but_lose_none() {
    // 4 requests/s for the token, 2 per second in every route bucket.
    let config = FakeDiscordConfig {
        rate_limits: RateLimitConfig::tight(4, 2, Duration::from_secs(1)),
        ..fake_config()
    };
    let mut bot = spawn_bot_via(
        Options { gateway: true },
        config,
        DiscordPath::TlsWithSerenityRateLimiter,
    )
    .await;

    let started = Instant::now();
    let buyers: Vec<u64> = (0..6).map(|i| 2_000_000_000_000_000_400 + i).collect();
    let orders: Vec<_> = buyers
        .iter()
        .enumerate()
        .map(|(i, b)| delivery(&format!("ORD-RL-{i:04}"), *b, 2))
        .collect();
    for d in &orders {
        bot.publish_delivery(d.clone()).await;
    }
    // A user clicks while the deliveries are being rate limited: interaction callbacks are
    // outside the global limit, so the deferral is still in time.
    let shopper = user(2_000_000_000_000_000_499, "shopper");
    let shop = bot
        .fake
        .send_slash_command(&shopper, "shop", vec![])
        .expect("dispatched");

    let mut confirmed = HashSet::new();
    while confirmed.len() < orders.len() {
        let event = bot.events.next(Duration::from_secs(60)).await;
        match event.payload {
            Event::DeliveryConfirmed(c) => {
                assert_eq!(c.method, DeliveryMethod::Dm);
                assert!(confirmed.insert(c.order_number.clone()), "confirmed twice");
            }
            other => panic!("expected delivery.confirmed, got {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    for (buyer, d) in buyers.iter().zip(&orders) {
        let dms = bot.fake.dm_messages_to(*buyer);
        assert_eq!(dms.len(), 1, "exactly one DM for {}", d.order_number);
        let text: String = dms[0].embeds().iter().map(|e| e.to_string()).collect();
        for code in &d.codes {
            assert!(text.contains(code.as_str()));
        }
    }
    let latency = bot
        .fake
        .wait_for(Duration::from_secs(10), |f| f.interaction_latency(shop))
        .await
        .expect("/shop was answered");
    assert!(
        latency < Duration::from_secs(3),
        "deferred within Discord's deadline: {latency:?}"
    );
    assert!(bot.fake.failed_interactions().is_empty());

    // Opening 6 DM channels shares one bucket at 2/s: the deliveries cannot all be immediate.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    let hits = bot.fake.rate_limit_hits();
    let global = hits
        .iter()
        .filter(|h| h.scope == RateLimitScope::Global)
        .count();
    eprintln!(
        "6 deliveries under 4/s global and 2/s per bucket, serenity limiter on: {elapsed:?}; \
         429s answered: {} ({global} global); /shop deferred in {latency:?}",
        hits.len()
    );
    bot.stop().await;
}
