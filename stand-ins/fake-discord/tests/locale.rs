//! Client and guild languages: every interaction carries the user's `locale` (and, in a guild,
//! the guild's `guild_locale`), as set from a test or through the control API; a locale Discord
//! does not have is refused.

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{
    control, FakeDiscord, FakeDiscordConfig, FakeGuild, FakeRole, FakeUser, RunningFake,
};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::Interaction;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(5);
const BUYER: u64 = 1_200_000_000_000_000_061;
const OTHER: u64 = 1_200_000_000_000_000_062;
const EXTRA_GUILD: u64 = 1_100_000_000_000_000_600;
const EXTRA_CHANNEL: u64 = 1_100_000_000_000_000_601;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw gateway client that identified and read READY.
struct Gateway {
    ws: Ws,
    /// The GUILD_CREATE it received after READY.
    guild_create: Value,
}

impl Gateway {
    async fn connect(fake: &RunningFake) -> Gateway {
        let url = format!("{}/?v=10&encoding=json", fake.gateway_url());
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the gateway accepts the websocket");
        let mut gateway = Gateway {
            ws,
            guild_create: Value::Null,
        };
        let hello = gateway.frame().await;
        assert_eq!(hello["op"], 10, "{hello}");
        gateway
            .ws
            .send(Message::Text(
                json!({"op": 2, "d": {
                    "token": "Bot fake-token", "intents": 1,
                    "properties": {"os": "linux", "browser": "test", "device": "test"},
                }})
                .to_string(),
            ))
            .await
            .unwrap();
        let ready = gateway.frame().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        let guild = gateway.frame().await;
        assert_eq!(guild["t"], "GUILD_CREATE", "{guild}");
        gateway.guild_create = guild["d"].clone();
        gateway
    }

    async fn frame(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("the connection is open")
                .expect("a readable frame");
            if let Message::Text(text) = msg {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// The `d` of the next INTERACTION_CREATE, checked to be the interaction `id`.
    async fn interaction(&mut self, id: u64) -> Value {
        loop {
            let frame = self.frame().await;
            if frame["op"] == 0 && frame["t"] == "INTERACTION_CREATE" {
                assert_eq!(frame["d"]["id"], id.to_string(), "{frame}");
                return frame["d"].clone();
            }
        }
    }
}

/// Answers an interaction with an ephemeral message holding one button, as a bot would.
async fn answer_with_button(fake: &RunningFake, interaction: u64, custom_id: &str) -> u64 {
    let token = fake.interaction(interaction).unwrap().token;
    let status = reqwest::Client::new()
        .post(format!(
            "{}/api/v10/interactions/{interaction}/{token}/callback",
            fake.base_url()
        ))
        .json(&json!({"type": 4, "data": {"content": "menu", "flags": 64, "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": custom_id}]}
        ]}}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    fake.original_response_of(interaction).unwrap().id
}

fn config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        extra_guilds: vec![FakeGuild {
            id: EXTRA_GUILD,
            name: "Elsewhere".into(),
            channel_id: EXTRA_CHANNEL,
            roles: vec![FakeRole {
                id: 1_100_000_000_000_000_602,
                name: "Admin".into(),
                permissions: 0,
            }],
        }],
        ..FakeDiscordConfig::default()
    }
}

/// What serenity reads from a payload: `(locale, guild_locale)`.
fn serenity_locales(payload: &Value) -> (String, Option<String>) {
    match serde_json::from_value::<Interaction>(payload.clone()).unwrap() {
        Interaction::Command(c) => (c.locale, c.guild_locale),
        Interaction::Component(c) => (c.locale, c.guild_locale),
        Interaction::Modal(m) => (m.locale, m.guild_locale),
        other => panic!("unexpected interaction {other:?}"),
    }
}

#[tokio::test]
async fn an_indonesian_user_sends_the_locale_in_commands_and_clicks() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let guild = fake.config().guild_id;
    fake.set_guild_locale(guild, "en-GB").unwrap();
    let mut gateway = Gateway::connect(&fake).await;
    assert_eq!(gateway.guild_create["preferred_locale"], "en-GB");

    fake.set_user_locale(BUYER, "id").unwrap();
    assert_eq!(fake.user_locale(BUYER), "id");
    let buyer = FakeUser::new(BUYER, "pembeli");

    let command = fake.send_slash_command(&buyer, "shop", vec![]).unwrap();
    let payload = gateway.interaction(command).await;
    assert_eq!(payload["type"], 2);
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["guild_locale"], "en-GB");
    assert_eq!(payload["guild"]["locale"], "en-GB");
    assert_eq!(payload["member"]["user"]["locale"], "id");
    assert_eq!(
        serenity_locales(&payload),
        ("id".to_string(), Some("en-GB".to_string()))
    );

    let message = answer_with_button(&fake, command, "go").await;
    let click = fake.click_button(&buyer, message, "go").unwrap();
    let payload = gateway.interaction(click).await;
    assert_eq!(payload["type"], 3);
    assert_eq!(payload["data"]["custom_id"], "go");
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["guild_locale"], "en-GB");
    assert_eq!(payload["member"]["user"]["locale"], "id");
    assert_eq!(
        serenity_locales(&payload),
        ("id".to_string(), Some("en-GB".to_string()))
    );
    // The locale belongs to the interaction, not to the user shown on the bot's answer.
    let answer = fake.message(message).unwrap();
    assert_eq!(
        answer.json["interaction_metadata"]["user"]["id"],
        BUYER.to_string()
    );
    assert!(answer.json["interaction_metadata"]["user"]
        .get("locale")
        .is_none());

    // A modal opened by the click is submitted in the same language.
    let token = fake.interaction(click).unwrap().token;
    let status = reqwest::Client::new()
        .post(format!(
            "{}/api/v10/interactions/{click}/{token}/callback",
            fake.base_url()
        ))
        .json(&json!({"type": 9, "data": {"custom_id": "m", "title": "Jumlah", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "amount", "label": "Jumlah", "style": 1}]}
        ]}}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let submit = fake
        .submit_modal(&buyer, "m", &[("amount", "50000")])
        .unwrap();
    let payload = gateway.interaction(submit).await;
    assert_eq!(payload["type"], 5);
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["guild_locale"], "en-GB");

    // Someone nobody set a language for stays in English.
    let other = FakeUser::new(OTHER, "someone");
    let command = fake.send_slash_command(&other, "shop", vec![]).unwrap();
    let payload = gateway.interaction(command).await;
    assert_eq!(payload["locale"], "en-US");
    assert_eq!(payload["member"]["user"]["locale"], "en-US");
    assert_eq!(payload["guild_locale"], "en-GB");
}

#[tokio::test]
async fn a_users_own_locale_wins_and_dms_carry_no_guild_locale() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        guild_locale: "id".into(),
        ..config()
    })
    .await
    .unwrap();
    let mut gateway = Gateway::connect(&fake).await;
    assert_eq!(gateway.guild_create["preferred_locale"], "id");
    fake.set_user_locale(BUYER, "id").unwrap();

    // `with_locale` wins over what was set for the id.
    let buyer = FakeUser::new(BUYER, "buyer").with_locale("pt-BR");
    let command = fake.send_slash_command(&buyer, "shop", vec![]).unwrap();
    let payload = gateway.interaction(command).await;
    assert_eq!(payload["locale"], "pt-BR");
    assert_eq!(payload["guild_locale"], "id");

    // In a DM: the user's locale, no guild locale (as Discord sends it).
    let plain = FakeUser::new(BUYER, "buyer");
    let dm = fake
        .send_dm_slash_command(&plain, "balance", vec![])
        .unwrap();
    let payload = gateway.interaction(dm).await;
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["user"]["locale"], "id");
    assert!(payload.get("guild_locale").is_none(), "{payload}");
    assert!(payload.get("guild").is_none(), "{payload}");
    assert_eq!(serenity_locales(&payload), ("id".to_string(), None));

    // Each guild has its own preferred locale; an extra guild starts in English.
    let in_extra = fake
        .send_slash_command_in_guild(EXTRA_GUILD, &plain, "shop", vec![])
        .unwrap();
    assert_eq!(
        fake.interaction(in_extra).unwrap().payload["guild_locale"],
        "en-US"
    );
    fake.set_guild_locale(EXTRA_GUILD, "ja").unwrap();
    assert_eq!(fake.guild_locale(EXTRA_GUILD), "ja");
    assert_eq!(fake.guild_locale(fake.config().guild_id), "id");
    let in_extra = fake
        .send_slash_command_in_guild(EXTRA_GUILD, &plain, "shop", vec![])
        .unwrap();
    let payload = fake.interaction(in_extra).unwrap().payload;
    assert_eq!(payload["guild_locale"], "ja");
    assert_eq!(payload["locale"], "id");
}

#[tokio::test]
async fn unknown_locales_are_refused() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    // "in" is the old ISO code for Indonesian; Discord only knows "id".
    let err = fake.set_user_locale(BUYER, "in").unwrap_err().to_string();
    assert!(err.contains("unknown locale \"in\""), "{err}");
    assert!(err.contains("en-US") && err.contains("id"), "{err}");
    assert_eq!(fake.user_locale(BUYER), "en-US");
    assert!(fake.set_guild_locale(fake.config().guild_id, "en").is_err());
    assert_eq!(fake.guild_locale(fake.config().guild_id), "en-US");
    let err = fake.set_guild_locale(42, "id").unwrap_err().to_string();
    assert!(err.contains("no guild 42"), "{err}");

    // A locale written straight into the public field is refused at dispatch.
    let mut user = FakeUser::new(BUYER, "buyer");
    user.locale = Some("indonesian".into());
    let err = fake
        .send_slash_command(&user, "shop", vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown locale \"indonesian\""), "{err}");
    assert!(fake.interactions().is_empty());

    let bad_config = FakeDiscord::start(FakeDiscordConfig {
        guild_locale: "xx".into(),
        ..FakeDiscordConfig::default()
    })
    .await;
    let err = format!("{:#}", bad_config.err().expect("an unknown guild locale"));
    assert!(err.contains("unknown locale \"xx\""), "{err}");
}

#[test]
#[should_panic(expected = "unknown locale \"english\"")]
fn with_locale_refuses_an_unknown_locale() {
    let _ = FakeUser::new(BUYER, "buyer").with_locale("english");
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = client.post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn dispatched(fake: &RunningFake, answer: &Value) -> Value {
    let id: u64 = answer["interaction_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no interaction id in {answer}"))
        .parse()
        .unwrap();
    fake.interaction(id).unwrap().payload
}

#[tokio::test]
async fn the_control_api_sets_user_and_guild_locales() {
    let fake = Arc::new(FakeDiscord::start(config()).await.unwrap());
    let control = control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = control.base_url().to_string();
    let client = reqwest::Client::new();
    let guild = fake.config().guild_id;
    let slash = json!({"user_id": BUYER.to_string(), "username": "pembeli", "name": "shop"});

    // Unknown locales: 400 with a reason, nothing changed.
    let (status, body) = post(
        &client,
        format!("{base}/_fake/users/{BUYER}/locale"),
        json!({"locale": "in"}),
    )
    .await;
    assert_eq!(status, 400);
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("unknown locale \"in\""), "{error}");
    assert!(error.contains("Discord's locales are"), "{error}");
    let (status, _) = post(
        &client,
        format!("{base}/_fake/guilds/{guild}/locale"),
        json!({"locale": "EN"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = post(
        &client,
        format!("{base}/_fake/guilds/42/locale"),
        json!({"locale": "id"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("no guild 42"));
    let mut with_bad_locale = slash.clone();
    with_bad_locale["locale"] = json!("bahasa");
    let (status, body) = post(&client, format!("{base}/_fake/slash"), with_bad_locale).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown locale"));
    assert!(
        fake.interactions().is_empty(),
        "a refused request sends nothing"
    );
    let (_, answer) = post(&client, format!("{base}/_fake/slash"), slash.clone()).await;
    let payload = dispatched(&fake, &answer);
    assert_eq!(payload["locale"], "en-US");
    assert_eq!(payload["guild_locale"], "en-US");

    // Set through the endpoints: later actions carry them.
    let (status, body) = post(
        &client,
        format!("{base}/_fake/users/{BUYER}/locale"),
        json!({"locale": "id"}),
    )
    .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"user_id": BUYER.to_string(), "locale": "id"}))
    );
    let (status, _) = post(
        &client,
        format!("{base}/_fake/guilds/{guild}/locale"),
        json!({"locale": "ko"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, answer) = post(&client, format!("{base}/_fake/slash"), slash.clone()).await;
    let command = dispatched(&fake, &answer);
    assert_eq!(command["locale"], "id");
    assert_eq!(command["guild_locale"], "ko");
    assert_eq!(command["member"]["user"]["username"], "pembeli");

    let command_id: u64 = answer["interaction_id"].as_str().unwrap().parse().unwrap();
    let message = answer_with_button(&fake, command_id, "go").await;
    let click =
        json!({"user_id": BUYER.to_string(), "message_id": message.to_string(), "custom_id": "go"});
    let (_, answer) = post(&client, format!("{base}/_fake/click"), click.clone()).await;
    let payload = dispatched(&fake, &answer);
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["guild_locale"], "ko");

    // A locale in the request body wins, and is remembered for the user's next actions.
    let mut english = click.clone();
    english["locale"] = json!("en-US");
    let (_, answer) = post(&client, format!("{base}/_fake/click"), english).await;
    assert_eq!(dispatched(&fake, &answer)["locale"], "en-US");
    let (_, answer) = post(&client, format!("{base}/_fake/click"), click.clone()).await;
    assert_eq!(dispatched(&fake, &answer)["locale"], "en-US");
    assert_eq!(fake.user_locale(BUYER), "en-US");

    // The interaction log shows each one's locale.
    let log: Vec<Value> = client
        .get(format!("{base}/_fake/interactions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let locales: Vec<&str> = log.iter().filter_map(|i| i["locale"].as_str()).collect();
    assert_eq!(locales, ["en-US", "id", "id", "en-US", "en-US"]);

    // In a DM there is no guild locale.
    let mut in_dm = slash.clone();
    in_dm["dm"] = json!(true);
    in_dm["locale"] = json!("id");
    let (_, answer) = post(&client, format!("{base}/_fake/slash"), in_dm).await;
    let payload = dispatched(&fake, &answer);
    assert_eq!(payload["locale"], "id");
    assert_eq!(payload["user"]["locale"], "id");
    assert!(payload.get("guild_locale").is_none(), "{payload}");
    control.stop().await;
}
