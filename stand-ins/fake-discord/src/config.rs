//! What the fake Discord pretends exists: the application, its bot user, one guild and its channels.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ratelimit::RateLimitConfig;

/// A role in the fake guild (an `@everyone` role with the guild's id is always added).
#[derive(Clone, Debug)]
pub struct FakeRole {
    pub id: u64,
    pub name: String,
    /// Permission bits, as Discord's `permissions` string holds them.
    pub permissions: u64,
}

/// Settings for [`crate::FakeDiscord::start`]. `Default` gives usable ids and port-0 binds.
#[derive(Clone, Debug)]
pub struct FakeDiscordConfig {
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_username: String,
    /// The human who owns the application (what `GET /oauth2/applications/@me` names as owner).
    pub owner_user_id: u64,
    pub guild_id: u64,
    pub guild_name: String,
    /// The text channel where slash commands are used unless a test says otherwise.
    pub channel_id: u64,
    /// More text channels in the guild (e.g. a public channel for private threads).
    pub extra_channel_ids: Vec<u64>,
    pub roles: Vec<FakeRole>,
    /// Where the REST API listens; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Where the gateway websocket listens; port 0 picks a free one.
    pub gateway_bind: SocketAddr,
    /// The shard count `GET /gateway/bot` recommends.
    pub recommended_shards: u32,
    pub heartbeat_interval: Duration,
    /// Discord's deadline for the first response to an interaction.
    pub interaction_deadline: Duration,
    /// How long an interaction token stays valid for edits and follow-ups.
    pub token_lifetime: Duration,
    /// Discord's rate limits (on by default, at Discord's values); tests can make them tight.
    pub rate_limits: RateLimitConfig,
    /// Also serve the REST API over TLS as `discord.com` (see [`crate::RunningFake::tls_addr`]),
    /// so a client whose rate limiter ignores proxies (serenity's) can be pointed at the fake.
    pub tls: bool,
}

impl Default for FakeDiscordConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            application_id: 1_100_000_000_000_000_001,
            bot_user_id: 1_100_000_000_000_000_001,
            bot_username: "Redfinger Shop".to_string(),
            owner_user_id: 1_100_000_000_000_000_999,
            guild_id: 1_100_000_000_000_000_100,
            guild_name: "Redfinger Test Guild".to_string(),
            channel_id: 1_100_000_000_000_000_200,
            extra_channel_ids: Vec::new(),
            roles: Vec::new(),
            bind: loopback,
            gateway_bind: loopback,
            recommended_shards: 1,
            heartbeat_interval: Duration::from_millis(41_250),
            interaction_deadline: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            rate_limits: RateLimitConfig::default(),
            tls: false,
        }
    }
}
