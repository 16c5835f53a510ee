//! The fake's payloads deserialize into serenity 0.12.5's strict models: every gateway frame as a
//! `GatewayEvent`, every REST answer through serenity's own `Http` calls.

use std::time::Duration;

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeRole, FakeUser, RunningFake, SlashOption};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, ChannelType, Command, CommandDataOptionValue, ComponentInteractionDataKind,
    CreateActionRow, CreateAttachment, CreateButton, CreateCommand, CreateCommandOption,
    CreateEmbed, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateMessage, CreateModal, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
    CreateThread, Event, GatewayEvent, GuildId, HttpBuilder, InputTextStyle, Interaction, UserId,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const ADMIN_ROLE: u64 = 1_300_000_000_000_000_001;

fn config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        roles: vec![FakeRole {
            id: ADMIN_ROLE,
            name: "Shop Admin".into(),
            permissions: 0,
        }],
        extra_channel_ids: vec![1_100_000_000_000_000_201],
        ..FakeDiscordConfig::default()
    }
}

fn http_for(fake: &RunningFake) -> serenity::http::Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(fake.config().application_id.into())
        .build()
}

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame in time")
            .expect("open socket")
            .expect("no websocket error");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            // IDENTIFY asked for payload compression: dispatches come zlib-compressed.
            Message::Binary(bytes) => {
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::ZlibDecoder::new(&bytes[..]),
                    &mut text,
                )
                .unwrap();
                return serde_json::from_str(&text).unwrap();
            }
            _ => {}
        }
    }
}

/// The next frame, checked to parse as serenity's `GatewayEvent`.
async fn next_event(ws: &mut Ws) -> (Value, GatewayEvent) {
    let frame = next_frame(ws).await;
    let event = serde_json::from_value::<GatewayEvent>(frame.clone())
        .unwrap_or_else(|e| panic!("serenity rejects {frame}: {e}"));
    (frame, event)
}

async fn next_interaction(ws: &mut Ws) -> Interaction {
    match next_event(ws).await.1 {
        GatewayEvent::Dispatch(_, Event::InteractionCreate(e)) => e.interaction,
        other => panic!("expected INTERACTION_CREATE, got {other:?}"),
    }
}

/// Connects and identifies as serenity does; returns the socket after READY (and GUILD_CREATE).
async fn identify(fake: &RunningFake, shard: [u32; 2]) -> Ws {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/?v=10&encoding=json", fake.gateway_url()))
            .await
            .unwrap();
    let (_, hello) = next_event(&mut ws).await;
    assert!(matches!(hello, GatewayEvent::Hello(41_250)));
    ws.send(Message::Text(
        json!({"op": 2, "d": {
            "token": "Bot fake-token", "compress": true, "large_threshold": 250, "shard": shard,
            "intents": 1, "properties": {"os": "linux", "browser": "serenity", "device": "serenity"},
        }})
        .to_string(),
    ))
    .await
    .unwrap();
    let (frame, ready) = next_event(&mut ws).await;
    match ready {
        GatewayEvent::Dispatch(1, Event::Ready(r)) => {
            assert_eq!(r.ready.application.id.get(), fake.config().application_id);
            assert!(r.ready.user.bot);
            assert_eq!(
                r.ready.shard.map(|s| (s.id.0, s.total)),
                Some((shard[0], shard[1]))
            );
        }
        other => panic!("expected READY, got {other:?} from {frame}"),
    }
    let guild_shard = ((fake.config().guild_id >> 22) % u64::from(shard[1])) as u32;
    if guild_shard == shard[0] {
        match next_event(&mut ws).await.1 {
            GatewayEvent::Dispatch(2, Event::GuildCreate(g)) => {
                assert_eq!(g.guild.id.get(), fake.config().guild_id);
                assert_eq!(g.guild.channels.len(), 2);
                assert!(g
                    .guild
                    .roles
                    .contains_key(&serenity::all::RoleId::new(ADMIN_ROLE)));
            }
            other => panic!("expected GUILD_CREATE, got {other:?}"),
        }
    }
    ws
}

#[tokio::test]
async fn gateway_frames_and_interactions_parse_as_serenity_models() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let http = http_for(&fake);
    let mut ws = identify(&fake, [0, 1]).await;

    ws.send(Message::Text(json!({"op": 1, "d": 2}).to_string()))
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut ws).await.1,
        GatewayEvent::HeartbeatAck
    ));

    // Slash command with a sub command and an uploaded .txt.
    let admin = FakeUser::new(1_200_000_000_000_000_010, "admin").with_roles([ADMIN_ROLE]);
    let file = fake.add_attachment("codes.txt", "CODE-1\nCODE-2\n");
    let id = fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::sub(
                "addstock",
                vec![SlashOption::attachment("file", &file)],
            )],
        )
        .unwrap();
    let Interaction::Command(command) = next_interaction(&mut ws).await else {
        panic!("expected a command");
    };
    assert_eq!(command.id.get(), id);
    assert_eq!(
        command.guild_id.map(|g| g.get()),
        Some(fake.config().guild_id)
    );
    let member = command.member.as_ref().unwrap();
    assert_eq!(member.roles, vec![serenity::all::RoleId::new(ADMIN_ROLE)]);
    assert_eq!(command.user.id.get(), admin.id);
    let CommandDataOptionValue::SubCommand(sub) = &command.data.options[0].value else {
        panic!("expected a sub command");
    };
    let CommandDataOptionValue::Attachment(attachment_id) = sub[0].value else {
        panic!("expected an attachment");
    };
    let attachment = &command.data.resolved.attachments[&attachment_id];
    let downloaded = attachment.download().await.unwrap();
    assert_eq!(downloaded, b"CODE-1\nCODE-2\n");

    command
        .create_response(
            &http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("Added 2 codes")
                    .ephemeral(true),
            ),
        )
        .await
        .unwrap();
    let original = fake.original_response_of(id).unwrap();
    assert_eq!(original.content(), "Added 2 codes");
    assert_eq!(original.flags(), 64);
    // serenity reads the original back through its own model.
    let read_back = command.get_response(&http).await.unwrap();
    assert_eq!(read_back.content, "Added 2 codes");

    // A message with a file, a button and a select menu, then a click and a pick.
    let channel = ChannelId::new(fake.config().channel_id);
    let select = CreateSelectMenu::new(
        "package",
        CreateSelectMenuKind::String {
            options: vec![
                CreateSelectMenuOption::new("5 codes", "5"),
                CreateSelectMenuOption::new("10 codes", "10"),
            ],
        },
    );
    let sent = channel
        .send_message(
            &http,
            CreateMessage::new()
                .embed(
                    CreateEmbed::new()
                        .title("Shop")
                        .image("attachment://qr.png"),
                )
                .add_file(CreateAttachment::bytes(b"PNGDATA".to_vec(), "qr.png"))
                .components(vec![
                    CreateActionRow::Buttons(vec![CreateButton::new("topup").label("Top up")]),
                    CreateActionRow::SelectMenu(select),
                ]),
        )
        .await
        .unwrap();
    assert_eq!(sent.attachments[0].filename, "qr.png");
    assert_eq!(
        sent.embeds[0].image.as_ref().unwrap().url,
        sent.attachments[0].url
    );
    let stored = fake.message(sent.id.get()).unwrap();
    assert_eq!(stored.files[0].bytes, b"PNGDATA");

    let buyer = FakeUser::new(1_200_000_000_000_000_011, "buyer");
    fake.click_button(&buyer, sent.id.get(), "topup").unwrap();
    let Interaction::Component(click) = next_interaction(&mut ws).await else {
        panic!("expected a component interaction");
    };
    assert_eq!(click.data.custom_id, "topup");
    assert!(matches!(
        click.data.kind,
        ComponentInteractionDataKind::Button
    ));
    assert_eq!(click.message.id, sent.id);

    fake.select_menu(&buyer, sent.id.get(), "package", &["10"])
        .unwrap();
    let Interaction::Component(pick) = next_interaction(&mut ws).await else {
        panic!("expected a component interaction");
    };
    match &pick.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => assert_eq!(values, &["10"]),
        other => panic!("expected a string select, got {other:?}"),
    }
    assert!(fake
        .select_menu(&buyer, sent.id.get(), "package", &["7"])
        .is_err());
    assert!(fake.click_button(&buyer, sent.id.get(), "nope").is_err());

    // The click opens a modal; the user submits it.
    click
        .create_response(
            &http,
            CreateInteractionResponse::Modal(CreateModal::new("topup-modal", "Top up").components(
                vec![CreateActionRow::InputText(CreateInputText::new(
                    InputTextStyle::Short,
                    "Amount (IDR)",
                    "amount",
                ))],
            )),
        )
        .await
        .unwrap();
    fake.submit_modal(&buyer, "topup-modal", &[("amount", "50000")])
        .unwrap();
    let Interaction::Modal(modal) = next_interaction(&mut ws).await else {
        panic!("expected a modal submit");
    };
    assert_eq!(modal.data.custom_id, "topup-modal");
    match &modal.data.components[0].components[0] {
        serenity::all::ActionRowComponent::InputText(input) => {
            assert_eq!(input.value.as_deref(), Some("50000"))
        }
        other => panic!("expected an input, got {other:?}"),
    }
    assert_eq!(modal.message.as_ref().map(|m| m.id), Some(sent.id));

    // A button in a DM: no guild, `user` instead of `member`.
    let dm = UserId::new(buyer.id)
        .create_dm_channel(&http)
        .await
        .unwrap();
    let dm_message = dm
        .id
        .send_message(
            &http,
            CreateMessage::new()
                .content("Your top-up is waiting")
                .button(CreateButton::new("check")),
        )
        .await
        .unwrap();
    fake.click_button(&buyer, dm_message.id.get(), "check")
        .unwrap();
    let Interaction::Component(dm_click) = next_interaction(&mut ws).await else {
        panic!("expected a component interaction");
    };
    assert!(dm_click.guild_id.is_none());
    assert!(dm_click.member.is_none());
    assert_eq!(dm_click.user.id.get(), buyer.id);
    assert_eq!(fake.dm_messages_to(buyer.id).len(), 1);
}

#[tokio::test]
async fn rest_answers_parse_through_serenity_http() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let http = http_for(&fake);

    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), fake.config().application_id);
    let me = http.get_current_user().await.unwrap();
    assert_eq!(me.id.get(), fake.config().bot_user_id);
    assert_eq!(
        http.get_bot_gateway().await.unwrap().url,
        fake.gateway_url()
    );

    let shop = CreateCommand::new("shop").description("Open the shop");
    let balance = CreateCommand::new("balance")
        .description("Show your balance")
        .add_option(CreateCommandOption::new(
            serenity::all::CommandOptionType::User,
            "user",
            "Whose balance",
        ));
    let global = Command::set_global_commands(&http, vec![shop.clone(), balance])
        .await
        .unwrap();
    assert_eq!(global.len(), 2);
    let again = Command::set_global_commands(&http, vec![shop.clone()])
        .await
        .unwrap();
    assert_eq!(
        again[0].id, global[0].id,
        "overwriting keeps a command's id"
    );
    assert_eq!(fake.global_commands().len(), 1);
    let guild = GuildId::new(fake.config().guild_id);
    let guild_cmds = guild.set_commands(&http, vec![shop]).await.unwrap();
    assert_eq!(guild_cmds[0].guild_id, Some(guild));

    let member_user = FakeUser::new(1_200_000_000_000_000_020, "member").with_roles([ADMIN_ROLE]);
    fake.add_member(&member_user);
    let member = guild
        .member(&http, UserId::new(member_user.id))
        .await
        .unwrap();
    assert_eq!(member.roles, vec![serenity::all::RoleId::new(ADMIN_ROLE)]);
    let missing = guild.member(&http, UserId::new(42)).await.unwrap_err();
    assert!(missing.to_string().contains("Unknown Member"), "{missing}");

    let public = ChannelId::new(fake.config().extra_channel_ids[0]);
    let channel = public.to_channel(&http).await.unwrap();
    assert!(channel.guild().is_some());
    let thread = public
        .create_thread(
            &http,
            CreateThread::new("order-1")
                .kind(ChannelType::PrivateThread)
                .invitable(false),
        )
        .await
        .unwrap();
    assert_eq!(thread.kind, ChannelType::PrivateThread);
    assert_eq!(thread.parent_id, Some(public));
    thread
        .id
        .add_thread_member(&http, UserId::new(member_user.id))
        .await
        .unwrap();
    assert!(fake
        .thread_members(thread.id.get())
        .contains(&member_user.id));
    thread
        .id
        .send_message(&http, CreateMessage::new().content("your codes"))
        .await
        .unwrap();
    assert_eq!(fake.channel_messages(thread.id.get()).len(), 1);

    // Discord's limits are enforced (refused on purpose here).
    fake.expect_invalid_requests();
    let too_long = public
        .send_message(
            &http,
            CreateMessage::new().embed(CreateEmbed::new().field("x", "y".repeat(1025), false)),
        )
        .await
        .unwrap_err();
    assert!(
        too_long.to_string().contains("Invalid Form Body"),
        "{too_long}"
    );

    // Unknown routes: Discord's 404 JSON, and recorded.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v10/guilds/1/bans", fake.base_url()))
        .header("Authorization", "Bot fake-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"code": 0, "message": "404: Not Found"})
    );
    assert_eq!(fake.unknown_route_requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_carries_discord_headers() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    fake.rate_limit_route("*", "/users/@me", 2.5, true, 1);
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v10/users/@me", fake.base_url()))
        .header("Authorization", "Bot fake-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(resp.headers()["x-ratelimit-global"], "true");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["retry_after"], 2.5);
    assert_eq!(body["global"], true);
}

#[tokio::test]
async fn late_and_repeated_callbacks_get_discords_errors() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        interaction_deadline: Duration::from_millis(200),
        ..config()
    })
    .await
    .unwrap();
    let http = http_for(&fake);
    let mut ws = identify(&fake, [0, 1]).await;
    let user = FakeUser::new(1_200_000_000_000_000_030, "slowpoke");

    let late = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let Interaction::Command(command) = next_interaction(&mut ws).await else {
        panic!("expected a command");
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.failed_interactions().len(),
        1,
        "marked failed without any callback"
    );
    let err = command.defer(&http).await.unwrap_err();
    assert!(err.to_string().contains("Unknown interaction"), "{err}");
    assert!(fake.interaction(late).unwrap().failed);
    assert_eq!(fake.interaction_latency(late), None);

    fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let Interaction::Command(command) = next_interaction(&mut ws).await else {
        panic!("expected a command");
    };
    command.defer(&http).await.unwrap();
    let err = command.defer(&http).await.unwrap_err();
    assert!(
        err.to_string().contains("already been acknowledged"),
        "{err}"
    );
    assert!(!fake.interaction(command.id.get()).unwrap().failed);
}

#[tokio::test]
async fn guild_events_go_to_the_owning_shard_and_dms_to_shard_zero() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let owner = ((fake.config().guild_id >> 22) % 2) as u32;
    let mut shard0 = identify(&fake, [0, 2]).await;
    let mut shard1 = identify(&fake, [1, 2]).await;
    let mut sessions: Vec<u32> = fake
        .connected_sessions()
        .iter()
        .map(|s| s.shard_id())
        .collect();
    sessions.sort();
    assert_eq!(sessions, vec![0, 1]);

    let user = FakeUser::new(1_200_000_000_000_000_040, "sharded");
    let in_guild = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let in_dm = fake
        .send_dm_slash_command(&user, "balance", vec![])
        .unwrap();

    let (owning, other) = if owner == 0 {
        (&mut shard0, &mut shard1)
    } else {
        (&mut shard1, &mut shard0)
    };
    let first = next_interaction(owning).await;
    assert_eq!(first.id().get(), in_guild);
    if owner == 0 {
        assert_eq!(next_interaction(owning).await.id().get(), in_dm);
    } else {
        assert_eq!(next_interaction(other).await.id().get(), in_dm);
    }
    assert_eq!(fake.interaction(in_guild).unwrap().delivered_to.len(), 1);
    assert_eq!(fake.interaction(in_dm).unwrap().delivered_to.len(), 1);
}

#[tokio::test]
async fn a_dropped_session_resumes_and_keeps_receiving_events() {
    let fake = FakeDiscord::start(config()).await.unwrap();
    let ws = identify(&fake, [0, 1]).await;
    let session_id = fake.sessions()[0].session_id.clone();
    drop(ws);
    assert!(fake
        .wait_for(Duration::from_secs(5), |f| f
            .connected_sessions()
            .is_empty()
            .then_some(()))
        .await
        .is_some());

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=10", fake.gateway_url()))
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut ws).await.1,
        GatewayEvent::Hello(_)
    ));
    ws.send(Message::Text(
        json!({"op": 6, "d": {"token": "Bot fake-token", "session_id": session_id, "seq": 2}})
            .to_string(),
    ))
    .await
    .unwrap();
    let (frame, resumed) = next_event(&mut ws).await;
    assert!(
        matches!(resumed, GatewayEvent::Dispatch(3, Event::Resumed(_))),
        "{frame}"
    );
    let sessions = fake.sessions();
    assert_eq!(sessions.len(), 1, "a resume is not a new session");
    assert!(sessions[0].connected);
    assert_eq!(sessions[0].resumed, 1);

    let user = FakeUser::new(1_200_000_000_000_000_050, "back");
    let id = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    assert_eq!(next_interaction(&mut ws).await.id().get(), id);

    // An unknown session cannot resume: op 9, not resumable.
    let (mut other, _) = tokio_tungstenite::connect_async(format!("{}/?v=10", fake.gateway_url()))
        .await
        .unwrap();
    next_event(&mut other).await;
    other
        .send(Message::Text(
            json!({"op": 6, "d": {"token": "Bot t", "session_id": "nope", "seq": 1}}).to_string(),
        ))
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut other).await.1,
        GatewayEvent::InvalidateSession(false)
    ));
}
