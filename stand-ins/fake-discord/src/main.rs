//! Runs the fake Discord as a process, for end-to-end tests and offline demos.
//!
//! Settings (all optional): `FAKE_DISCORD_BIND` (REST, default 127.0.0.1:8090),
//! `FAKE_DISCORD_GATEWAY_BIND` (default 127.0.0.1:8091), `FAKE_DISCORD_APPLICATION_ID`,
//! `FAKE_DISCORD_BOT_USER_ID`, `FAKE_DISCORD_GUILD_ID`, `FAKE_DISCORD_CHANNEL_ID`,
//! `FAKE_DISCORD_EXTRA_CHANNEL_IDS` (comma-separated), `FAKE_DISCORD_SHARDS`.

use std::net::SocketAddr;

use anyhow::Context;
use fake_discord::{FakeDiscord, FakeDiscordConfig};

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
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let fake = FakeDiscord::start(config_from_env()?).await?;
    println!(
        "fake Discord REST at {} (use as DISCORD_API_BASE_URL)",
        fake.base_url()
    );
    println!("fake Discord gateway at {}", fake.gateway_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    fake.stop().await;
    Ok(())
}
