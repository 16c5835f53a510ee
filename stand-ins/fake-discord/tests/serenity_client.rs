//! A real serenity 0.12.5 client against the fake: gateway READY, a slash command and a button
//! click answered with defer + edit within Discord's deadline, and Discord's errors surfacing as
//! serenity's `HttpError::UnsuccessfulRequest`.

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeUser, RunningFake};
use serenity::all::{
    ButtonStyle, ChannelId, Client, ComponentInteraction, Context, CreateActionRow, CreateButton,
    CreateMessage, EditInteractionResponse, EventHandler, GatewayIntents, HttpBuilder, Interaction,
    Ready, UserId,
};
use serenity::async_trait;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

struct Handler {
    events: mpsc::UnboundedSender<String>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.events.send(format!("ready:{}", ready.user.name));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                command.defer(&ctx.http).await.unwrap();
                let buy = CreateButton::new("buy:5")
                    .label("Buy 5")
                    .style(ButtonStyle::Primary);
                command
                    .edit_response(
                        &ctx.http,
                        EditInteractionResponse::new()
                            .content(format!("Hello {}, pick a package", command.user.name))
                            .components(vec![CreateActionRow::Buttons(vec![buy])]),
                    )
                    .await
                    .unwrap();
                let _ = self.events.send(format!("command:{}", command.data.name));
            }
            Interaction::Component(component) => {
                answer_click(&ctx, &component).await;
                let _ = self
                    .events
                    .send(format!("click:{}", component.data.custom_id));
            }
            _ => {}
        }
    }
}

async fn answer_click(ctx: &Context, component: &ComponentInteraction) {
    component.defer(&ctx.http).await.unwrap();
    component
        .edit_response(
            &ctx.http,
            EditInteractionResponse::new()
                .content("Order placed")
                .components(vec![]),
        )
        .await
        .unwrap();
}

fn http_for(fake: &RunningFake) -> serenity::http::Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(fake.config().application_id.into())
        .build()
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event within the timeout")
        .expect("the handler is alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_gets_ready_and_answers_a_command_and_a_click_in_time() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut client = client_for(&fake, tx).await;
    let shard_manager = Arc::clone(&client.shard_manager);
    let runner = tokio::spawn(async move { client.start().await });

    assert_eq!(next_event(&mut events).await, "ready:Redfinger Shop");
    let sessions = fake.connected_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].shard, Some([0, 1]));

    let buyer = FakeUser::new(1_200_000_000_000_000_001, "buyer");
    let command = fake.send_slash_command(&buyer, "shop", vec![]).unwrap();
    assert_eq!(next_event(&mut events).await, "command:shop");

    let record = fake.interaction(command).unwrap();
    assert!(!record.failed);
    assert!(record.latency().unwrap() < Duration::from_secs(3));
    assert_eq!(fake.interaction_responses(command)[0]["type"], 5);
    let original = fake.original_response(&record.token).unwrap();
    assert_eq!(original.content(), "Hello buyer, pick a package");
    assert_eq!(original.flags() & 128, 0, "the edit ends the loading state");
    assert_eq!(original.custom_ids(), vec!["buy:5".to_string()]);

    let click = fake.click_button(&buyer, &original, "buy:5").unwrap();
    assert_eq!(next_event(&mut events).await, "click:buy:5");
    assert!(fake.interaction_latency(click).unwrap() < Duration::from_secs(3));
    assert_eq!(fake.interaction_responses(click)[0]["type"], 6);
    let edited = fake.message(original.id).unwrap();
    assert_eq!(edited.content(), "Order placed");
    assert!(edited.components().is_empty());
    assert!(fake.failed_interactions().is_empty());
    assert!(
        fake.unknown_route_requests().is_empty(),
        "{:?}",
        fake.unknown_route_requests()
    );

    shard_manager.shutdown_all().await;
    let _ = tokio::time::timeout(WAIT, runner).await;
}

/// Builds a serenity `Client` pointed at the fake, the way the bot does.
async fn client_for(fake: &RunningFake, events: mpsc::UnboundedSender<String>) -> Client {
    serenity::all::ClientBuilder::new_with_http(http_for(fake), GatewayIntents::GUILDS)
        .event_handler(Handler { events })
        .await
        .unwrap()
}

#[tokio::test]
async fn closed_dms_surface_in_serenity_as_error_50007() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let http = http_for(&fake);
    let user = UserId::new(1_200_000_000_000_000_002);
    fake.close_dms_for(user.get());

    let dm = user.create_dm_channel(&http).await.unwrap();
    assert_eq!(fake.dm_channel_of(user.get()), Some(dm.id.get()));
    let err = dm
        .id
        .send_message(&http, CreateMessage::new().content("your codes"))
        .await
        .unwrap_err();
    assert_eq!(discord_code(&err), Some((403, 50007)));
    assert!(fake.dm_messages_to(user.get()).is_empty());

    fake.fail_route("POST", "/users/@me/channels", 403, 50007, 1);
    let err = UserId::new(1_200_000_000_000_000_003)
        .create_dm_channel(&http)
        .await
        .unwrap_err();
    assert_eq!(discord_code(&err), Some((403, 50007)));
    // The injected failure was used up: the next call succeeds.
    UserId::new(1_200_000_000_000_000_003)
        .create_dm_channel(&http)
        .await
        .unwrap();
}

#[tokio::test]
async fn injected_rate_limit_answers_429_with_retry_after() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let http = http_for(&fake);
    let channel = ChannelId::new(fake.config().channel_id);
    fake.rate_limit_route("POST", "/channels/*/messages", 1.5, false, 1);

    let err = channel
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    match &err {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(resp)) => {
            assert_eq!(resp.status_code.as_u16(), 429)
        }
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
    let recorded = fake.requests_to("POST", "/channels/*/messages");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, 429);

    let sent = channel
        .send_message(&http, CreateMessage::new().content("hi again"))
        .await
        .unwrap();
    assert_eq!(fake.channel_messages(channel.get())[0].id, sent.id.get());
}

fn discord_code(err: &serenity::Error) -> Option<(u16, isize)> {
    match err {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(resp)) => {
            Some((resp.status_code.as_u16(), resp.error.code))
        }
        _ => None,
    }
}
