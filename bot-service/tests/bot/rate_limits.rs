//! The bot as it runs in production, serenity's own rate limiter on, against a fake Discord with
//! tight rate limits: it still answers interactions in time and delivers every order exactly
//! once, the 429s it meets being waited out by serenity rather than lost.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fake_discord::{FakeDiscordConfig, RateLimitConfig, RateLimitScope};
use shared_proto::{DeliveryMethod, Event};

use crate::support::{
    delivery, fake_config, spawn_bot_env, spawn_bot_via, user, DiscordPath, Options,
};

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

/// Two replicas share one budget for the token's global limit: with the fake allowing 10
/// requests/s for the token and the replicas told to use 8/s together, 24 deliveries to users
/// never DMed before (48 requests) go through without one global 429, spread over both replicas,
/// and no faster than the budget allows. A second delivery to the same users then costs one
/// request each: the DM channels were remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_global_budget_and_remember_dm_channels() {
    let config = FakeDiscordConfig {
        // 10/s for the token; the route buckets are not what this test is about.
        rate_limits: RateLimitConfig::tight(10, 1_000, Duration::from_secs(1)),
        ..fake_config()
    };
    let budget = [("DISCORD_GLOBAL_RATE", "8")];
    let mut bot = spawn_bot_env(
        Options { gateway: false },
        config,
        DiscordPath::Proxy,
        &budget,
    )
    .await;
    let replica = bot.spawn_replica(&budget);
    // Both replicas consume and have counted each other (sampled every 2 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let requests_before = bot.fake.requests().len();

    let buyers: Vec<u64> = (0..24).map(|i| 2_000_000_000_000_000_600 + i).collect();
    let started = Instant::now();
    for (i, b) in buyers.iter().enumerate() {
        bot.publish_delivery(delivery(&format!("ORD-SHARE-{i:04}"), *b, 1))
            .await;
    }
    let mut confirmed = HashSet::new();
    while confirmed.len() < buyers.len() {
        match bot.events.next(Duration::from_secs(60)).await.payload {
            Event::DeliveryConfirmed(c) => {
                assert!(confirmed.insert(c.order_number), "confirmed twice");
            }
            other => panic!("expected delivery.confirmed, got {other:?}"),
        }
    }
    let first_round = started.elapsed();
    let hits = bot.fake.rate_limit_hits();
    assert!(
        hits.iter().all(|h| h.scope != RateLimitScope::Global),
        "no global 429: {hits:?}"
    );
    let opened = bot.fake.requests_to("POST", "/users/@me/channels").len();
    assert_eq!(opened, buyers.len(), "one DM channel opened per buyer");
    // 48 requests at 8/s (4/s a replica, a burst of 2 each): at least ~5.5 s.
    assert!(
        first_round >= Duration::from_millis(5_000),
        "the budget was kept: {first_round:?}"
    );

    // Now one replica alone serves the same buyers twice more: the first time it opens the
    // channels of the buyers the other replica served, the second time none at all.
    replica.stop().await;
    let mut reopened = Vec::new();
    for round in ["AGAIN", "THIRD"] {
        let before = bot.fake.requests().len();
        for (i, b) in buyers.iter().enumerate() {
            bot.publish_delivery(delivery(&format!("ORD-{round}-{i:04}"), *b, 1))
                .await;
        }
        let mut done = 0;
        while done < buyers.len() {
            match bot.events.next(Duration::from_secs(60)).await.payload {
                Event::DeliveryConfirmed(_) => done += 1,
                other => panic!("expected delivery.confirmed, got {other:?}"),
            }
        }
        let sent: Vec<_> = bot.fake.requests().into_iter().skip(before).collect();
        reopened.push(
            sent.iter()
                .filter(|r| r.path.ends_with("/users/@me/channels"))
                .count(),
        );
    }
    assert!(
        reopened[0] < buyers.len(),
        "channels the replica had opened itself were remembered: {reopened:?}"
    );
    assert_eq!(reopened[1], 0, "every channel remembered: {reopened:?}");
    assert!(bot
        .fake
        .rate_limit_hits()
        .iter()
        .all(|h| h.scope != RateLimitScope::Global));
    for b in &buyers {
        assert_eq!(bot.fake.dm_messages_to(*b).len(), 3, "three DMs for {b}");
    }
    eprintln!(
        "2 replicas, budget 8/s of 10/s: 24 first deliveries in {first_round:?}; DM channels \
         opened again in the next rounds: {reopened:?}; requests during the test: {}",
        bot.fake.requests().len() - requests_before
    );
    bot.stop().await;
}
