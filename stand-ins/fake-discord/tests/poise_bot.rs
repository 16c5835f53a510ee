//! poise 0.7.1 against the fake: start-up calls (application info, command registration) and
//! slash commands routed by poise, including a sub command with an uploaded file.

use std::time::Duration;

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeRole, FakeUser, SlashOption};
use poise::serenity_prelude as serenity;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, (), Error>;

const ADMIN_ROLE: u64 = 1_300_000_000_000_000_001;

/// Show the balance
#[poise::command(slash_command)]
async fn balance(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    ctx.say("Your balance: Rp 50.000").await?;
    Ok(())
}

/// Admin tools
#[poise::command(slash_command, subcommands("addstock"))]
async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Upload codes
#[poise::command(slash_command)]
async fn addstock(ctx: Context<'_>, file: serenity::Attachment) -> Result<(), Error> {
    let bytes = file.download().await?;
    let lines = String::from_utf8_lossy(&bytes).lines().count();
    ctx.say(format!("Added {lines} codes")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poise_registers_commands_and_answers_slash_commands() {
    let fake = FakeDiscord::start(FakeDiscordConfig {
        roles: vec![FakeRole {
            id: ADMIN_ROLE,
            name: "Shop Admin".into(),
            permissions: 0,
        }],
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap();
    let guild_id = serenity::GuildId::new(fake.config().guild_id);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![balance(), admin()],
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_in_guild(ctx, &framework.options().commands, guild_id)
                    .await?;
                Ok(())
            })
        })
        .build();
    let http = serenity::HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(fake.config().application_id.into())
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .unwrap();
    let shard_manager = client.shard_manager.clone();
    let runner = tokio::spawn(async move { client.start().await });

    let registered = fake
        .wait_for(Duration::from_secs(10), |f| {
            let cmds = f.guild_commands(f.config().guild_id);
            (cmds.len() == 2).then_some(cmds)
        })
        .await
        .expect("poise registers its commands");
    assert!(registered.iter().any(|c| c["name"] == "admin"));
    assert_eq!(fake.requests_to("GET", "/oauth2/applications/@me").len(), 1);

    let user = FakeUser::new(1_200_000_000_000_000_060, "buyer");
    let id = fake.send_slash_command(&user, "balance", vec![]).unwrap();
    let reply = fake
        .wait_for(Duration::from_secs(10), |f| {
            let original = f.original_response_of(id)?;
            (original.content() == "Your balance: Rp 50.000").then_some(original)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "poise answers /balance; requests: {:#?}",
                fake.requests()
                    .iter()
                    .map(|r| (r.method.clone(), r.path.clone(), r.status, r.json()))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(reply.flags(), 64);
    assert_eq!(fake.interaction_responses(id)[0]["type"], 5);
    assert!(fake.interaction_latency(id).unwrap() < Duration::from_secs(3));

    let admin_user = FakeUser::new(1_200_000_000_000_000_061, "admin").with_roles([ADMIN_ROLE]);
    let file = fake.add_attachment("codes.txt", "A-1\nA-2\nA-3\n");
    let id = fake
        .send_slash_command(
            &admin_user,
            "admin",
            vec![SlashOption::sub(
                "addstock",
                vec![SlashOption::attachment("file", &file)],
            )],
        )
        .unwrap();
    fake.wait_for(Duration::from_secs(10), |f| {
        let original = f.original_response_of(id)?;
        (original.content() == "Added 3 codes").then_some(())
    })
    .await
    .expect("poise routes the sub command and reads the attachment");
    assert!(fake.failed_interactions().is_empty());
    assert!(
        fake.unknown_route_requests().is_empty(),
        "{:?}",
        fake.unknown_route_requests()
    );

    shard_manager.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), runner).await;
}
