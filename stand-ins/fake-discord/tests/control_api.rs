//! The control API (what the offline demo drives with curl) against a real serenity client:
//! a slash command with options, reading the ephemeral answer, clicking its button, the DM that
//! follows, and closing a user's DMs.

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{control, FakeDiscord, FakeDiscordConfig};
use serde_json::{json, Value};
use serenity::all::{
    ButtonStyle, ClientBuilder, CommandDataOptionValue, Context, CreateActionRow, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, EventHandler,
    GatewayIntents, HttpBuilder, Interaction,
};
use serenity::async_trait;

const WAIT: Duration = Duration::from_secs(10);
const USER: u64 = 1_200_000_000_000_000_042;

struct Bot;

#[async_trait]
impl EventHandler for Bot {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                let amount = command
                    .data
                    .options
                    .iter()
                    .find_map(|o| match &o.value {
                        CommandDataOptionValue::String(s) if o.name == "amount" => Some(s.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let reply = CreateInteractionResponseMessage::new()
                    .ephemeral(true)
                    .content(format!("{} asked for {amount}", command.user.name))
                    .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
                        "pay:1",
                    )
                    .label("Pay")
                    .style(ButtonStyle::Success)])]);
                command
                    .create_response(&ctx.http, CreateInteractionResponse::Message(reply))
                    .await
                    .unwrap();
            }
            Interaction::Component(click) => {
                click
                    .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                    .await
                    .unwrap();
                // A closed DM is an expected outcome here; the test checks the fake's answer.
                let _ = click
                    .user
                    .direct_message(&ctx.http, CreateMessage::new().content("Paid, thanks"))
                    .await;
            }
            _ => {}
        }
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let response = client.post(url).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn messages(client: &reqwest::Client, base: &str) -> Vec<Value> {
    client
        .get(format!("{base}/_fake/messages?user_id={USER}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_played_through_the_control_api() {
    let fake = Arc::new(
        FakeDiscord::start(FakeDiscordConfig::default())
            .await
            .unwrap(),
    );
    let control = control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = control.base_url().to_string();
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(fake.config().application_id.into())
        .build();
    let mut bot = ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
        .event_handler(Bot)
        .await
        .unwrap();
    let shards = bot.shard_manager.clone();
    let runner = tokio::spawn(async move { bot.start().await });
    assert!(fake.wait_for_sessions(1, WAIT).await);

    let client = reqwest::Client::new();
    let sent = post(
        &client,
        format!("{base}/_fake/slash"),
        json!({"user_id": USER.to_string(), "username": "demo", "name": "topup",
               "options": [{"name": "amount", "value": "50000"}]}),
    )
    .await;
    assert!(sent["interaction_id"].as_str().is_some());

    let mut shown = Vec::new();
    for _ in 0..250 {
        shown = messages(&client, &base).await;
        if !shown.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["kind"], "ephemeral");
    assert_eq!(shown[0]["text"], "demo asked for 50000");
    assert_eq!(shown[0]["buttons"][0]["label"], "Pay");
    let custom_id = shown[0]["buttons"][0]["custom_id"].as_str().unwrap();
    let message_id = shown[0]["id"].as_str().unwrap();

    post(
        &client,
        format!("{base}/_fake/click"),
        json!({"user_id": USER, "message_id": message_id, "custom_id": custom_id}),
    )
    .await;
    let dm = fake
        .wait_for(WAIT, |f| f.dm_messages_to(USER).into_iter().next())
        .await
        .expect("a DM after the click");
    assert_eq!(dm.content(), "Paid, thanks");
    let shown = messages(&client, &base).await;
    assert!(shown
        .iter()
        .any(|m| m["kind"] == "dm" && m["text"] == "Paid, thanks"));

    // Someone else's view of the same user's messages is empty.
    let other: Vec<Value> = client
        .get(format!("{base}/_fake/messages?user_id=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(other.is_empty(), "{other:?}");

    // With DMs closed the next DM is refused (and so not shown).
    post(&client, format!("{base}/_fake/close-dms/{USER}"), json!({})).await;
    post(
        &client,
        format!("{base}/_fake/click"),
        json!({"user_id": USER, "message_id": message_id, "custom_id": custom_id}),
    )
    .await;
    let refused = fake
        .wait_for(WAIT, |f| {
            f.requests_to("POST", "/channels/*/messages")
                .into_iter()
                .find(|r| r.status == 403)
        })
        .await;
    assert!(refused.is_some(), "the second DM is refused with 403");
    assert_eq!(fake.dm_messages_to(USER).len(), 1);

    let interactions: Vec<Value> = client
        .get(format!("{base}/_fake/interactions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(interactions.len(), 3);
    assert!(interactions.iter().all(|i| i["failed"] == false));

    // Bad input is a 400 with a reason, not a crash.
    let bad = client
        .post(format!("{base}/_fake/click"))
        .json(&json!({"user_id": USER, "message_id": "1", "custom_id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    shards.shutdown_all().await;
    let _ = runner.await;
    control.stop().await;
}

/// A second guild (someone else's server with its own "Admin" role): the control API sends a
/// slash command from it (`guild_id`) and from a DM (`dm`), and its roles are served over REST.
#[tokio::test]
async fn slash_commands_come_from_an_extra_guild_or_a_dm_when_asked() {
    const OTHER_GUILD: u64 = 1_100_000_000_000_000_500;
    const OTHER_CHANNEL: u64 = 1_100_000_000_000_000_501;
    const OTHER_ADMIN: u64 = 1_100_000_000_000_000_502;
    let fake = Arc::new(
        FakeDiscord::start(FakeDiscordConfig {
            roles: vec![fake_discord::FakeRole {
                id: 1_100_000_000_000_000_300,
                name: "Admin".into(),
                permissions: 0,
            }],
            extra_guilds: vec![fake_discord::FakeGuild {
                id: OTHER_GUILD,
                name: "Elsewhere".into(),
                channel_id: OTHER_CHANNEL,
                roles: vec![fake_discord::FakeRole {
                    id: OTHER_ADMIN,
                    name: "Admin".into(),
                    permissions: 0,
                }],
            }],
            ..FakeDiscordConfig::default()
        })
        .await
        .unwrap(),
    );
    let control = control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let client = reqwest::Client::new();
    let base = control.base_url().to_string();
    let body = |extra: Value| {
        let mut b = json!({"user_id": USER.to_string(), "roles": [OTHER_ADMIN.to_string()], "name": "admin"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let in_guild = post(
        &client,
        format!("{base}/_fake/slash"),
        body(json!({"guild_id": OTHER_GUILD.to_string()})),
    )
    .await;
    let in_dm = post(
        &client,
        format!("{base}/_fake/slash"),
        body(json!({"dm": true})),
    )
    .await;
    let in_shop = post(&client, format!("{base}/_fake/slash"), body(json!({}))).await;
    let record = |answer: &Value| {
        let id: u64 = answer["interaction_id"].as_str().unwrap().parse().unwrap();
        fake.interactions()
            .into_iter()
            .find(|i| i.id == id)
            .unwrap()
    };
    let guild = record(&in_guild);
    assert_eq!(guild.guild_id, Some(OTHER_GUILD));
    assert_eq!(guild.channel_id, OTHER_CHANNEL);
    assert_eq!(guild.payload["guild_id"], OTHER_GUILD.to_string());
    assert_eq!(
        guild.payload["member"]["roles"],
        json!([OTHER_ADMIN.to_string()])
    );
    let dm = record(&in_dm);
    assert_eq!(dm.guild_id, None);
    assert!(dm.payload["member"].is_null());
    assert_eq!(record(&in_shop).guild_id, Some(fake.config().guild_id));
    // The extra guild's roles, as the bot would read them.
    let roles: Value = client
        .get(format!(
            "{}/api/v10/guilds/{OTHER_GUILD}/roles",
            fake.base_url()
        ))
        .header("Authorization", "Bot control.test.token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["@everyone", "Admin"]);
    let unknown = client
        .get(format!("{}/api/v10/guilds/42/roles", fake.base_url()))
        .header("Authorization", "Bot control.test.token")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    control.stop().await;
}

#[tokio::test]
async fn what_the_bot_posts_in_a_guild_channel_is_shown_to_everyone() {
    let fake = Arc::new(
        FakeDiscord::start(FakeDiscordConfig::default())
            .await
            .unwrap(),
    );
    let control = control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = control.base_url().to_string();
    let channel = fake.config().channel_id;
    let client = reqwest::Client::new();
    // The bot posts twice and deletes the first post, as Discord's REST API is used.
    let mut ids = Vec::new();
    for text in ["first", "second"] {
        let posted: Value = client
            .post(format!("{}/channels/{channel}/messages", fake.base_url()))
            .header("Authorization", "Bot fake-token")
            .json(&json!({"content": text}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(posted["id"].as_str().unwrap().to_string());
    }
    let deleted = client
        .delete(format!(
            "{}/channels/{channel}/messages/{}",
            fake.base_url(),
            ids[0]
        ))
        .header("Authorization", "Bot fake-token")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);

    let shown: Vec<Value> = client
        .get(format!("{base}/_fake/channels/{channel}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["kind"], "channel");
    assert_eq!(shown[0]["text"], "second");
    let bad = client
        .get(format!("{base}/_fake/channels/not-a-number/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}
