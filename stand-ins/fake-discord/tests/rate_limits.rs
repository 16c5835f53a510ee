//! Discord's rate limits and the errors a bot must survive, as the fake answers them over real
//! HTTP: bucket headers on every answer, per-route buckets per major parameter, the global limit
//! (interaction callbacks and token webhooks excepted), 429 bodies and scopes, 50278 for DMs,
//! 401/50027 for invalid or expired interaction tokens, CDN error pages, and the TLS front that
//! lets serenity run with its own rate limiter on.

use std::time::{Duration, Instant};

use fake_discord::{
    FakeDiscord, FakeDiscordConfig, FakeUser, RateLimitConfig, RateLimitScope, RouteLimit,
    RunningFake,
};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use serenity::all::{ChannelId, CreateMessage, HttpBuilder};

const OTHER_CHANNEL: u64 = 1_100_000_000_000_000_201;

async fn fake(rate_limits: RateLimitConfig) -> RunningFake {
    FakeDiscord::start(FakeDiscordConfig {
        extra_channel_ids: vec![OTHER_CHANNEL],
        rate_limits,
        tls: true,
        ..Default::default()
    })
    .await
    .expect("fake starts")
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(fake: &RunningFake, method: &str, path: &str, body: Option<Value>) -> Answer {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10{path}", fake.base_url());
    let mut req = client
        .request(method.parse().unwrap(), url)
        .header("Authorization", "Bot test.token");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the fake answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn post_message(fake: &RunningFake, channel: u64) -> Answer {
    call(
        fake,
        "POST",
        &format!("/channels/{channel}/messages"),
        Some(json!({"content": "hello"})),
    )
    .await
}

#[tokio::test]
async fn every_rest_answer_carries_the_bucket_headers_of_its_route() {
    let fake = fake(RateLimitConfig::default()).await;
    let first = call(&fake, "GET", "/users/@me", None).await;
    let second = call(&fake, "GET", "/users/@me", None).await;
    for answer in [&first, &second] {
        assert_eq!(answer.status, 200);
        for name in [
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "X-RateLimit-Reset-After",
            "X-RateLimit-Bucket",
        ] {
            assert!(answer.header(name).is_some(), "{name} missing");
        }
    }
    let remaining = |a: &Answer| {
        a.header("X-RateLimit-Remaining")
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(
        remaining(&first),
        remaining(&second) + 1,
        "each request spends one"
    );
    let reset: f64 = first.header("X-RateLimit-Reset").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        reset > now - 1.0 && reset < now + 5.0,
        "reset is an epoch time: {reset}"
    );

    // Errors carry them too, and the messages route has Discord's 5 per 5 s.
    let missing = call(&fake, "GET", "/channels/42", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.header("X-RateLimit-Bucket").is_some());
    let sent = post_message(&fake, fake.config().channel_id).await;
    assert_eq!(sent.status, 200);
    assert_eq!(sent.header("X-RateLimit-Limit"), Some("5"));
    assert_eq!(sent.header("X-RateLimit-Remaining"), Some("4"));
}

#[tokio::test]
async fn an_exhausted_route_bucket_answers_429_for_that_channel_only() {
    let fake = fake(RateLimitConfig::tight(1000, 2, Duration::from_secs(2))).await;
    let channel = fake.config().channel_id;
    assert_eq!(post_message(&fake, channel).await.status, 200);
    assert_eq!(post_message(&fake, channel).await.status, 200);
    let refused = post_message(&fake, channel).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["message"], "You are being rate limited.");
    assert_eq!(refused.body["global"], false);
    let retry_after = refused.body["retry_after"].as_f64().expect("a float");
    assert!(retry_after > 0.0 && retry_after <= 2.0, "{retry_after}");
    assert_eq!(refused.header("X-RateLimit-Scope"), Some("user"));
    assert_eq!(refused.header("Retry-After"), Some("2"));
    assert_eq!(refused.header("X-RateLimit-Remaining"), Some("0"));
    assert!(refused.header("X-RateLimit-Global").is_none());

    // The bucket is per channel (Discord's major parameter): another channel is untouched.
    let other = post_message(&fake, OTHER_CHANNEL).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("X-RateLimit-Remaining"), Some("1"));
    assert_eq!(
        other.header("X-RateLimit-Bucket"),
        refused.header("X-RateLimit-Bucket"),
        "the same route has the same bucket hash"
    );

    // A refused request changed nothing; after the reset the channel takes messages again.
    assert_eq!(fake.channel_messages(channel).len(), 2);
    tokio::time::sleep(Duration::from_secs_f64(retry_after + 0.05)).await;
    assert_eq!(post_message(&fake, channel).await.status, 200);
    let hits = fake.rate_limit_hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].scope, RateLimitScope::User);
}

#[tokio::test]
async fn the_global_limit_answers_a_global_429_across_routes() {
    let fake = fake(RateLimitConfig::tight(5, 100, Duration::from_secs(1))).await;
    let paths = ["/users/@me", "/gateway/bot", "/applications/@me"];
    let mut answers = Vec::new();
    for i in 0..12 {
        answers.push(call(&fake, "GET", paths[i % paths.len()], None).await);
    }
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        (5..12).contains(&ok),
        "{ok} of 12 passed a 5/s global limit"
    );
    let refused = answers
        .iter()
        .find(|a| a.status == 429)
        .expect("a global 429");
    assert_eq!(refused.body["global"], true);
    assert_eq!(refused.header("X-RateLimit-Global"), Some("true"));
    assert_eq!(refused.header("X-RateLimit-Scope"), Some("global"));
    assert!(refused.header("Retry-After").is_some());
    assert!(refused.body["retry_after"].as_f64().unwrap() < 1.0);
    assert!(fake
        .rate_limit_hits()
        .iter()
        .all(|h| h.scope == RateLimitScope::Global));
}

#[tokio::test]
async fn interaction_callbacks_and_token_webhooks_are_outside_the_global_limit() {
    let fake = fake(RateLimitConfig::tight(2, 100, Duration::from_secs(1))).await;
    let user = FakeUser::new(2_000_000_000_000_000_777, "buyer");
    let id = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let token = fake.interaction(id).unwrap().token;
    // Spend the global limit.
    for _ in 0..4 {
        call(&fake, "GET", "/users/@me", None).await;
    }
    assert_eq!(call(&fake, "GET", "/users/@me", None).await.status, 429);

    let callback = call(
        &fake,
        "POST",
        &format!("/interactions/{id}/{token}/callback"),
        Some(json!({"type": 5})),
    )
    .await;
    assert_eq!(callback.status, 204, "{:?}", callback.body);
    let app = fake.config().application_id;
    let followup = call(
        &fake,
        "POST",
        &format!("/webhooks/{app}/{token}"),
        Some(json!({"content": "your codes"})),
    )
    .await;
    assert_eq!(followup.status, 200, "{:?}", followup.body);
    assert!(followup.header("X-RateLimit-Bucket").is_some());
}

#[tokio::test]
async fn a_shared_resource_limit_says_shared_scope() {
    let mut limits = RateLimitConfig::tight(1000, 100, Duration::from_secs(1));
    limits
        .routes
        .push(RouteLimit::new("POST", "/channels/*/messages", 1, Duration::from_secs(3)).shared());
    let fake = fake(limits).await;
    let channel = fake.config().channel_id;
    assert_eq!(post_message(&fake, channel).await.status, 200);
    let refused = post_message(&fake, channel).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("X-RateLimit-Scope"), Some("shared"));
    assert_eq!(refused.header("X-RateLimit-Limit"), Some("1"));
}

#[tokio::test]
async fn a_dm_can_be_refused_with_50278_as_well_as_50007() {
    let fake = fake(RateLimitConfig::default()).await;
    let (closed, no_mutual) = (2_000_000_000_000_000_101_u64, 2_000_000_000_000_000_102_u64);
    fake.close_dms_for(closed);
    fake.refuse_dms_for(no_mutual, 50278);
    for (user, code) in [(closed, 50007), (no_mutual, 50278)] {
        let dm = call(
            &fake,
            "POST",
            "/users/@me/channels",
            Some(json!({"recipient_id": user.to_string()})),
        )
        .await;
        assert_eq!(dm.status, 200, "opening the DM channel works");
        let channel: u64 = dm.body["id"].as_str().unwrap().parse().unwrap();
        let sent = post_message(&fake, channel).await;
        assert_eq!(sent.status, 403);
        assert_eq!(sent.body["code"], code);
        assert!(sent.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Cannot send messages to this user"));
    }
    fake.open_dms_for(no_mutual);
    let channel = fake.dm_channel_of(no_mutual).unwrap();
    assert_eq!(post_message(&fake, channel).await.status, 200);
}

#[tokio::test]
async fn an_unknown_or_expired_interaction_token_gets_401_invalid_webhook_token() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        token_lifetime: Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let app = fake.config().application_id;
    let unknown = call(
        &fake,
        "POST",
        &format!("/webhooks/{app}/not-a-real-token"),
        Some(json!({"content": "x"})),
    )
    .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.body["code"], 50027);
    assert_eq!(unknown.body["message"], "Invalid Webhook Token");

    let user = FakeUser::new(2_000_000_000_000_000_778, "late");
    let id = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let token = fake.interaction(id).unwrap().token;
    let ack = call(
        &fake,
        "POST",
        &format!("/interactions/{id}/{token}/callback"),
        Some(json!({"type": 5, "data": {"flags": 64}})),
    )
    .await;
    assert_eq!(ack.status, 204);
    let live = call(
        &fake,
        "PATCH",
        &format!("/webhooks/{app}/{token}/messages/@original"),
        Some(json!({"content": "in time"})),
    )
    .await;
    assert_eq!(live.status, 200);
    tokio::time::sleep(Duration::from_millis(350)).await;
    for (method, path) in [
        ("POST", format!("/webhooks/{app}/{token}")),
        (
            "PATCH",
            format!("/webhooks/{app}/{token}/messages/@original"),
        ),
    ] {
        let late = call(&fake, method, &path, Some(json!({"content": "late"}))).await;
        assert_eq!(late.status, 401, "{method} after expiry");
        assert_eq!(late.body["code"], 50027);
    }
}

#[tokio::test]
async fn a_failing_attachment_download_gets_the_cdn_html_error_page() {
    let fake = fake(RateLimitConfig::default()).await;
    let ok = fake.add_attachment("codes.txt", b"A\nB\n".to_vec());
    let broken = fake.add_attachment("codes.txt", b"C\n".to_vec());
    fake.fail_attachment(&broken, 403);
    let good = reqwest::get(&ok.url).await.unwrap();
    assert_eq!(good.status(), 200);
    assert!(
        good.headers().get("X-RateLimit-Bucket").is_none(),
        "the CDN is not the API"
    );
    assert_eq!(good.bytes().await.unwrap().as_ref(), b"A\nB\n");
    let bad = reqwest::get(&broken.url).await.unwrap();
    assert_eq!(bad.status(), 403);
    let content_type = bad.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = bad.text().await.unwrap();
    assert!(body.contains("<html>") && body.contains("403"), "{body}");
    let gone = reqwest::get(format!("{}/attachments/1/none.txt", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

/// A reqwest client that reaches the fake's TLS front as `https://discord.com`.
fn discord_com_client(fake: &RunningFake) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(fake.tls_ca_pem().unwrap().as_bytes()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .resolve("discord.com", fake.tls_addr().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_tls_front_serves_the_api_as_discord_com() {
    let fake = fake(RateLimitConfig::default()).await;
    let resp = discord_com_client(&fake)
        .get("https://discord.com/api/v10/users/@me")
        .header("Authorization", "Bot test.token")
        .send()
        .await
        .expect("TLS to the fake as discord.com");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-ratelimit-bucket").is_some());
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["id"], fake.config().bot_user_id.to_string());
    // An untrusting client is refused: the certificate is only good with the test CA.
    let strict = reqwest::Client::builder()
        .use_rustls_tls()
        .resolve("discord.com", fake.tls_addr().unwrap())
        .build()
        .unwrap();
    assert!(strict
        .get("https://discord.com/api/v10/users/@me")
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_with_its_rate_limiter_on_waits_out_buckets_and_global_429s_losing_nothing() {
    // 2 messages per second per channel, 4 requests per second for the token.
    let fake = fake(RateLimitConfig::tight(4, 2, Duration::from_secs(1))).await;
    let http = std::sync::Arc::new(
        HttpBuilder::new("test.bot.token")
            .client(discord_com_client(&fake))
            .build(),
    );
    assert!(http.ratelimiter.is_some(), "serenity's limiter is on");
    let channels = [fake.config().channel_id, OTHER_CHANNEL];
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let http = http.clone();
        let channel = ChannelId::new(channels[i % 2]);
        tasks.push(tokio::spawn(async move {
            channel
                .send_message(&http, CreateMessage::new().content(format!("message {i}")))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("serenity delivered the message");
    }
    let elapsed = started.elapsed();
    let sent: Vec<String> = channels
        .iter()
        .flat_map(|c| fake.channel_messages(*c))
        .map(|m| m.content().to_string())
        .collect();
    assert_eq!(
        sent.len(),
        12,
        "every message created once, none lost or doubled"
    );
    for i in 0..12 {
        assert!(sent.contains(&format!("message {i}")));
    }
    // 6 messages per channel at 2/s cannot take less than 2 s (3 windows).
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    let hits = fake.rate_limit_hits();
    assert!(
        hits.iter().all(|h| h.scope != RateLimitScope::Shared),
        "{hits:?}"
    );
    eprintln!(
        "12 messages, limits 2/s per channel and 4/s global: {elapsed:?}, 429s: {} ({} global)",
        hits.len(),
        hits.iter()
            .filter(|h| h.scope == RateLimitScope::Global)
            .count()
    );
}
