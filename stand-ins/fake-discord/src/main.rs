//! Runs the fake Discord as a process, for end-to-end tests and offline demos.
//!
//! Settings (all optional): `FAKE_DISCORD_BIND` (REST, default 127.0.0.1:8090),
//! `FAKE_DISCORD_GATEWAY_BIND` (default 127.0.0.1:8091), `FAKE_DISCORD_APPLICATION_ID`,
//! `FAKE_DISCORD_BOT_USER_ID`, `FAKE_DISCORD_GUILD_ID`, `FAKE_DISCORD_CHANNEL_ID`,
//! `FAKE_DISCORD_EXTRA_CHANNEL_IDS` (comma-separated), `FAKE_DISCORD_SHARDS`,
//! `FAKE_DISCORD_ROLES` (comma-separated `id:name`, default one role `Admin` with id
//! 1100000000000000300), `FAKE_DISCORD_EXTRA_GUILDS` (comma-separated
//! `guild:channel:role:name`: more guilds the bot is in, each with one channel and one role),
//! `FAKE_DISCORD_CONTROL_BIND` (the control API for playing users with `curl`, default
//! 127.0.0.1:8092; see `fake_discord::control`), `FAKE_DISCORD_GUILD_LOCALE` (the guild's
//! preferred locale, default `en-US`; user locales are set through the control API).
//!
//! Gateway and permissions: `FAKE_DISCORD_RESUME_GATEWAY_BIND` (READY's `resume_gateway_url`,
//! default a free port), `FAKE_DISCORD_PRIVILEGED_INTENTS` (intent bits enabled for the
//! application, default 0), `FAKE_DISCORD_BOT_PERMISSIONS` (the bot role's permission integer),
//! `FAKE_DISCORD_CHANNEL_PERMISSIONS` (comma-separated `channel_id:bits`, the bot's exact
//! permissions there), `FAKE_DISCORD_CHANNELS` (comma-separated `id:type:name` for channels that
//! are not plain text channels, e.g. `1100000000000000202:2:voice`).

use std::net::SocketAddr;

use anyhow::Context;
use fake_discord::{FakeChannel, FakeDiscord, FakeDiscordConfig, FakeGuild, FakeRole};

/// The role the demo's admin holds; its name matches the bot's default `ADMIN_ROLE_NAME`.
const DEFAULT_ADMIN_ROLE_ID: u64 = 1_100_000_000_000_000_300;

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}: {e}")),
        Err(_) => Ok(None),
    }
}

fn config_from_env() -> anyhow::Result<FakeDiscordConfig> {
    let mut config = FakeDiscordConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 8090)),
        gateway_bind: SocketAddr::from(([127, 0, 0, 1], 8091)),
        ..FakeDiscordConfig::default()
    };
    if let Some(v) = env_parse("FAKE_DISCORD_BIND")? {
        config.bind = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_GATEWAY_BIND")? {
        config.gateway_bind = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_APPLICATION_ID")? {
        config.application_id = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_BOT_USER_ID")? {
        config.bot_user_id = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_GUILD_ID")? {
        config.guild_id = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_CHANNEL_ID")? {
        config.channel_id = v;
    }
    if let Ok(raw) = std::env::var("FAKE_DISCORD_GUILD_LOCALE") {
        config.guild_locale = raw.trim().to_string();
    }
    if let Some(v) = env_parse("FAKE_DISCORD_SHARDS")? {
        config.recommended_shards = v;
    }
    if let Ok(raw) = std::env::var("FAKE_DISCORD_EXTRA_CHANNEL_IDS") {
        config.extra_channel_ids = raw
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .context("FAKE_DISCORD_EXTRA_CHANNEL_IDS")?;
    }
    if let Ok(raw) = std::env::var("FAKE_DISCORD_EXTRA_GUILDS") {
        config.extra_guilds = parse_extra_guilds(&raw)?;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_RESUME_GATEWAY_BIND")? {
        config.gateway.resume_bind = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_PRIVILEGED_INTENTS")? {
        config.gateway.privileged_intents = v;
    }
    if let Some(v) = env_parse("FAKE_DISCORD_BOT_PERMISSIONS")? {
        config.access.bot_permissions = v;
    }
    if let Ok(raw) = std::env::var("FAKE_DISCORD_CHANNEL_PERMISSIONS") {
        config.access.channel_permissions =
            parse_list(&raw, "FAKE_DISCORD_CHANNEL_PERMISSIONS", |e| {
                let (id, bits) = e.split_once(':')?;
                Some((id.trim().parse().ok()?, bits.trim().parse().ok()?))
            })?;
    }
    if let Ok(raw) = std::env::var("FAKE_DISCORD_CHANNELS") {
        config.access.channels = parse_list(&raw, "FAKE_DISCORD_CHANNELS", |e| {
            let mut parts = e.splitn(3, ':');
            Some(FakeChannel {
                id: parts.next()?.trim().parse().ok()?,
                kind: parts.next()?.trim().parse().ok()?,
                name: parts.next()?.trim().to_string(),
            })
        })?;
    }
    config.roles = match std::env::var("FAKE_DISCORD_ROLES") {
        Ok(raw) => parse_roles(&raw)?,
        Err(_) => vec![FakeRole {
            id: DEFAULT_ADMIN_ROLE_ID,
            name: "Admin".to_string(),
            permissions: 0,
        }],
    };
    Ok(config)
}

/// `guild:channel:role:name,…` into extra guilds, each with one channel and one role (e.g. a
/// look-alike "Admin" role in somebody else's server).
fn parse_extra_guilds(raw: &str) -> anyhow::Result<Vec<FakeGuild>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let parts: Vec<&str> = entry.splitn(4, ':').map(str::trim).collect();
            let [guild, channel, role, name] = parts[..] else {
                anyhow::bail!(
                    "FAKE_DISCORD_EXTRA_GUILDS: {entry:?} is not guild:channel:role:name"
                );
            };
            let id = |s: &str| {
                s.parse::<u64>()
                    .with_context(|| format!("FAKE_DISCORD_EXTRA_GUILDS: {s:?} is not an id"))
            };
            Ok(FakeGuild {
                id: id(guild)?,
                name: format!("Guild {guild}"),
                channel_id: id(channel)?,
                roles: vec![FakeRole {
                    id: id(role)?,
                    name: name.to_string(),
                    permissions: 0,
                }],
            })
        })
        .collect()
}

/// A comma-separated list, each entry parsed by `entry`.
fn parse_list<T>(
    raw: &str,
    name: &str,
    entry: impl Fn(&str) -> Option<T>,
) -> anyhow::Result<Vec<T>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|e| entry(e).with_context(|| format!("{name}: cannot read {e:?}")))
        .collect()
}

/// `id:name,id:name` into roles.
fn parse_roles(raw: &str) -> anyhow::Result<Vec<FakeRole>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (id, name) = entry
                .split_once(':')
                .with_context(|| format!("FAKE_DISCORD_ROLES: {entry:?} is not id:name"))?;
            Ok(FakeRole {
                id: id
                    .trim()
                    .parse()
                    .with_context(|| format!("FAKE_DISCORD_ROLES: {id:?} is not an id"))?,
                name: name.trim().to_string(),
                permissions: 0,
            })
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let control_bind: SocketAddr = env_parse("FAKE_DISCORD_CONTROL_BIND")?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8092)));
    let fake = std::sync::Arc::new(FakeDiscord::start(config_from_env()?).await?);
    // A demo run reports refused bodies in its log and in `GET /_fake/requests`; only tests
    // fail on them.
    fake.expect_invalid_requests();
    let control = fake_discord::control::serve(fake.clone(), control_bind)?;
    println!(
        "fake Discord REST at {} (use as DISCORD_API_BASE_URL)",
        fake.base_url()
    );
    println!("fake Discord gateway at {}", fake.gateway_url());
    println!(
        "fake Discord control API at {} (POST /_fake/slash, /_fake/click, /_fake/select, /_fake/modal; GET /_fake/messages?user_id=)",
        control.base_url()
    );
    for role in &fake.config().roles {
        println!("guild role {} = {:?}", role.id, role.name);
    }
    for guild in &fake.config().extra_guilds {
        println!(
            "extra guild {} (channel {}), roles {:?}",
            guild.id,
            guild.channel_id,
            guild
                .roles
                .iter()
                .map(|r| (r.id, &r.name))
                .collect::<Vec<_>>()
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    control.stop().await;
    // Dropping the last handle stops the REST server and the gateway.
    drop(fake);
    Ok(())
}
