//! The bot's permissions per channel and channel types: what it lacks gets Discord's 403/50013
//! (50001 when it cannot even see the channel), private threads only under text channels, and
//! the overwrites the fake publishes give the same answer through serenity's own computation.

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{AccessOptions, FakeChannel, FakeDiscord, FakeDiscordConfig, RunningFake};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::{Event, GatewayEvent, UserId};
use tokio_tungstenite::tungstenite::Message;

const TEXT: u64 = 1_100_000_000_000_000_201;
const VOICE: u64 = 1_100_000_000_000_000_202;
const FORUM: u64 = 1_100_000_000_000_000_203;
const NEWS: u64 = 1_100_000_000_000_000_204;
const LOCKED: u64 = 1_100_000_000_000_000_205;

const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const ATTACH_FILES: u64 = 1 << 15;
const READ_MESSAGE_HISTORY: u64 = 1 << 16;
const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

fn config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        extra_channel_ids: vec![TEXT, LOCKED],
        access: AccessOptions {
            channels: vec![
                FakeChannel {
                    id: VOICE,
                    kind: 2,
                    name: "lobby".into(),
                },
                FakeChannel {
                    id: FORUM,
                    kind: 15,
                    name: "help".into(),
                },
                FakeChannel {
                    id: NEWS,
                    kind: 5,
                    name: "news".into(),
                },
            ],
            // Read-only: the bot sees LOCKED but may not post or open threads there.
            channel_permissions: vec![(LOCKED, VIEW_CHANNEL | READ_MESSAGE_HISTORY)],
            ..AccessOptions::default()
        },
        ..FakeDiscordConfig::default()
    }
}

async fn call(fake: &RunningFake, method: &str, path: &str, body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10{path}", fake.base_url());
    let resp = client
        .request(method.parse().unwrap(), url)
        .header("authorization", "Bot fake-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn missing_permissions() -> Value {
    json!({"code": 50013, "message": "Missing Permissions"})
}

#[tokio::test]
async fn a_message_without_send_messages_gets_403_50013_until_granted() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let hello = json!({"content": "hello"});
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{TEXT}/messages"),
            hello.clone()
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{LOCKED}/messages"),
            hello.clone()
        )
        .await,
        (403, missing_permissions())
    );
    assert!(
        fake.channel_messages(LOCKED).is_empty(),
        "nothing was posted"
    );

    assert!(fake.set_bot_permissions(LOCKED, VIEW_CHANNEL | SEND_MESSAGES));
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{LOCKED}/messages"),
            hello
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn files_need_attach_files() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    fake.set_bot_permissions(LOCKED, VIEW_CHANNEL | SEND_MESSAGES);
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "file"}).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        );
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v10/channels/{LOCKED}/messages",
            fake.base_url()
        ))
        .header("authorization", "Bot fake-token")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.json::<Value>().await.unwrap(), missing_permissions());
    fake.set_bot_permissions(LOCKED, VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES);
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{LOCKED}/messages"),
            json!({"content": "x"})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn a_channel_the_bot_cannot_see_gets_403_50001() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    fake.set_bot_permissions(LOCKED, SEND_MESSAGES);
    assert_eq!(
        call(&fake, "GET", &format!("/channels/{LOCKED}"), Value::Null).await,
        (403, json!({"code": 50001, "message": "Missing Access"}))
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{LOCKED}/messages"),
            json!({"content": "x"})
        )
        .await
        .1["code"],
        50001
    );
}

#[tokio::test]
async fn private_threads_only_under_text_channels() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let thread = json!({"name": "codes ORD-1", "type": 12, "invitable": false});
    for parent in [VOICE, FORUM, NEWS] {
        assert_eq!(
            call(
                &fake,
                "POST",
                &format!("/channels/{parent}/threads"),
                thread.clone()
            )
            .await,
            (
                400,
                json!({"code": 50024, "message": "Cannot execute action on this channel type"})
            ),
            "parent {parent}"
        );
    }
    // Without a type Discord makes a private thread: the same rule.
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{VOICE}/threads"),
            json!({"name": "t"})
        )
        .await
        .0,
        400
    );
    let (status, made) = call(&fake, "POST", &format!("/channels/{TEXT}/threads"), thread).await;
    assert_eq!(status, 200);
    assert_eq!(made["type"], 12);
    assert!(fake.threads().len() == 1, "only the text channel got one");
}

#[tokio::test]
async fn private_threads_need_create_private_threads_and_members_need_send_in_threads() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let thread = json!({"name": "codes ORD-2", "type": 12, "invitable": false});
    fake.set_bot_permissions(LOCKED, VIEW_CHANNEL | SEND_MESSAGES);
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{LOCKED}/threads"),
            thread.clone()
        )
        .await,
        (403, missing_permissions())
    );
    fake.set_bot_permissions(LOCKED, VIEW_CHANNEL | CREATE_PRIVATE_THREADS);
    let (status, made) = call(
        &fake,
        "POST",
        &format!("/channels/{LOCKED}/threads"),
        thread,
    )
    .await;
    assert_eq!(status, 200);
    let id = made["id"].as_str().unwrap();
    let user = 1_200_000_000_000_000_090u64;
    assert_eq!(
        call(
            &fake,
            "PUT",
            &format!("/channels/{id}/thread-members/{user}"),
            Value::Null
        )
        .await,
        (403, missing_permissions())
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{id}/messages"),
            json!({"content": "x"})
        )
        .await
        .1,
        missing_permissions()
    );
    fake.set_bot_permissions(
        LOCKED,
        VIEW_CHANNEL | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS,
    );
    assert_eq!(
        call(
            &fake,
            "PUT",
            &format!("/channels/{id}/thread-members/{user}"),
            Value::Null
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{id}/messages"),
            json!({"content": "x"})
        )
        .await
        .0,
        200,
        "SEND_MESSAGES_IN_THREADS is enough inside the thread"
    );
}

/// Serenity computes the bot's permissions from GUILD_CREATE's roles, member and overwrites;
/// it must agree with what the fake enforces.
#[tokio::test]
async fn serenity_computes_the_permissions_the_fake_enforces() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    fake.set_bot_permissions(TEXT, VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/?v=10&encoding=json", fake.gateway_url()))
            .await
            .unwrap();
    ws.next().await.unwrap().unwrap();
    ws.send(Message::Text(
        json!({"op": 2, "d": {"token": "Bot t", "intents": 1, "properties": {}}}).to_string(),
    ))
    .await
    .unwrap();
    let mut guild = None;
    while guild.is_none() {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(text) = frame else { continue };
        if let GatewayEvent::Dispatch(_, Event::GuildCreate(g)) =
            serde_json::from_str::<GatewayEvent>(&text).unwrap()
        {
            guild = Some(g.guild);
        }
    }
    let guild = guild.unwrap();
    let bot = UserId::new(fake.config().bot_user_id);
    let member = guild.members.get(&bot).expect("the bot is a member");
    for id in [fake.config().channel_id, TEXT, LOCKED, VOICE] {
        let channel = guild
            .channels
            .get(&id.into())
            .unwrap_or_else(|| panic!("channel {id} in GUILD_CREATE"));
        #[allow(deprecated)]
        let computed = guild.user_permissions_in(channel, member).bits();
        // serenity 0.12.5 drops bits newer than itself (e.g. 1 << 47) when parsing.
        let known = serenity::all::Permissions::all().bits();
        assert_eq!(
            Some(computed),
            fake.bot_permissions_in(id).map(|p| p & known),
            "channel {id}"
        );
    }
    assert_eq!(
        fake.bot_permissions_in(TEXT),
        Some(VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES)
    );
}

#[tokio::test]
async fn the_control_api_sets_the_bots_permissions() {
    let fake = Arc::new(FakeDiscord::start(config()).await.unwrap());
    let control =
        fake_discord::control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/_fake/permissions", control.base_url()))
        .json(&json!({"channel_id": TEXT.to_string(), "permissions": (VIEW_CHANNEL | SEND_MESSAGES).to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        fake.bot_permissions_in(TEXT),
        Some(VIEW_CHANNEL | SEND_MESSAGES)
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/channels/{TEXT}/threads"),
            json!({"name": "t", "type": 12})
        )
        .await,
        (403, missing_permissions())
    );
    let unknown = reqwest::Client::new()
        .post(format!("{}/_fake/permissions", control.base_url()))
        .json(&json!({"channel_id": "1", "permissions": "0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
    control.stop().await;
}
