//! `GET /channels/{id}/messages` as Discord answers it: newest first, `limit` 1–100 (default
//! 50), `before`/`after` paging, ephemeral and deleted messages left out, 404/10003 for an
//! unknown channel, 403/50001 without VIEW_CHANNEL and an empty list without
//! READ_MESSAGE_HISTORY. serenity's own call (`?&limit=…`) reads it.

use fake_discord::{AccessOptions, FakeDiscord, FakeDiscordConfig, RateLimitConfig, RunningFake};
use serde_json::{json, Value};
use serenity::all::{ChannelId, GetMessages, MessageId};
use serenity::http::HttpBuilder;

const TEXT: u64 = 1_100_000_000_000_000_301;
const NO_HISTORY: u64 = 1_100_000_000_000_000_302;
const HIDDEN: u64 = 1_100_000_000_000_000_303;

const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;

fn config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        extra_channel_ids: vec![TEXT, NO_HISTORY, HIDDEN],
        access: AccessOptions {
            channel_permissions: vec![(NO_HISTORY, VIEW_CHANNEL | SEND_MESSAGES), (HIDDEN, 0)],
            ..AccessOptions::default()
        },
        // Sixty messages in a row: Discord's 5 per 5 s per channel is another test's subject.
        rate_limits: RateLimitConfig::off(),
        ..FakeDiscordConfig::default()
    }
}

async fn call(fake: &RunningFake, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(
            method.parse().unwrap(),
            format!("{}/api/v10{path}", fake.base_url()),
        )
        .header("authorization", "Bot fake-token");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Posts `n` messages in `channel` and returns their ids, oldest first.
async fn post(fake: &RunningFake, channel: u64, n: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, message) = call(
            fake,
            "POST",
            &format!("/channels/{channel}/messages"),
            Some(json!({"content": format!("message {i}")})),
        )
        .await;
        assert_eq!(status, 200, "{message}");
        ids.push(message["id"].as_str().unwrap().parse().unwrap());
    }
    ids
}

fn ids_of(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_newest_first_with_limit_before_and_after() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let ids = post(&fake, TEXT, 60).await;
    let newest_first: Vec<u64> = ids.iter().rev().copied().collect();

    let (status, list) = call(&fake, "GET", &format!("/channels/{TEXT}/messages"), None).await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&list), newest_first[..50], "default limit 50");

    let (_, list) = call(
        &fake,
        "GET",
        &format!("/channels/{TEXT}/messages?limit=3"),
        None,
    )
    .await;
    assert_eq!(ids_of(&list), newest_first[..3]);

    let before = ids[10];
    let (_, list) = call(
        &fake,
        "GET",
        &format!("/channels/{TEXT}/messages?limit=4&before={before}"),
        None,
    )
    .await;
    assert_eq!(ids_of(&list), vec![ids[9], ids[8], ids[7], ids[6]]);

    let after = ids[10];
    let (_, list) = call(
        &fake,
        "GET",
        &format!("/channels/{TEXT}/messages?limit=3&after={after}"),
        None,
    )
    .await;
    assert_eq!(ids_of(&list), vec![ids[13], ids[12], ids[11]]);

    for bad in ["0", "101", "x"] {
        let (status, body) = call(
            &fake,
            "GET",
            &format!("/channels/{TEXT}/messages?limit={bad}"),
            None,
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(50035)), "{bad}");
    }
}

#[tokio::test]
async fn deleted_messages_are_not_listed_and_permissions_apply() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let ids = post(&fake, TEXT, 3).await;
    let (status, _) = call(
        &fake,
        "DELETE",
        &format!("/channels/{TEXT}/messages/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, list) = call(&fake, "GET", &format!("/channels/{TEXT}/messages"), None).await;
    assert_eq!(ids_of(&list), vec![ids[2], ids[0]]);

    let unknown = 1_100_000_000_000_000_399u64;
    let (status, body) = call(&fake, "GET", &format!("/channels/{unknown}/messages"), None).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10003)));

    let (status, body) = call(&fake, "GET", &format!("/channels/{HIDDEN}/messages"), None).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50001)));

    post(&fake, NO_HISTORY, 2).await;
    let (status, list) = call(
        &fake,
        "GET",
        &format!("/channels/{NO_HISTORY}/messages"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "no READ_MESSAGE_HISTORY: nothing listed");
}

#[tokio::test]
async fn serenity_reads_the_list() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let ids = post(&fake, TEXT, 5).await;
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let messages = ChannelId::new(TEXT)
        .messages(&http, GetMessages::new().limit(2))
        .await
        .expect("listed");
    let got: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    assert_eq!(got, vec![MessageId::new(ids[4]), MessageId::new(ids[3])]);
    assert_eq!(messages[0].author.id.get(), fake.config().bot_user_id);
}
