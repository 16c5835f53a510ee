//! What the fake Discord pretends exists: the application, its bot user, one guild and its
//! channels, and optionally more guilds (each with one channel and its own roles).

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

/// Another guild the bot is in (e.g. a server of someone who merely invited the bot), with one
/// text channel and its own roles (an `@everyone` role with the guild's id is added). The bot's
/// gateway session is not told about it (no GUILD_CREATE): only interactions come from it.
#[derive(Clone, Debug)]
pub struct FakeGuild {
    pub id: u64,
    pub name: String,
    /// Its text channel, where its members use commands.
    pub channel_id: u64,
    pub roles: Vec<FakeRole>,
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
    /// The main guild's preferred locale (`preferred_locale`, and `guild_locale` in its
    /// interactions): one of Discord's locales. Other guilds start with `en-US`; any guild's can
    /// be changed while running with [`crate::RunningFake::set_guild_locale`].
    pub guild_locale: String,
    /// The text channel where slash commands are used unless a test says otherwise.
    pub channel_id: u64,
    /// More text channels in the guild (e.g. a public channel for private threads).
    pub extra_channel_ids: Vec<u64>,
    pub roles: Vec<FakeRole>,
    /// More guilds besides the main one (none by default).
    pub extra_guilds: Vec<FakeGuild>,
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
    /// How strictly the gateway treats its clients: heartbeats, intents, resuming.
    pub gateway: GatewayOptions,
    /// The bot's permissions and the guild's non-text channels.
    pub access: AccessOptions,
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
            guild_locale: crate::model::DEFAULT_LOCALE.to_string(),
            channel_id: 1_100_000_000_000_000_200,
            extra_channel_ids: Vec::new(),
            roles: Vec::new(),
            extra_guilds: Vec::new(),
            bind: loopback,
            gateway_bind: loopback,
            recommended_shards: 1,
            heartbeat_interval: Duration::from_millis(41_250),
            interaction_deadline: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            gateway: GatewayOptions::default(),
            access: AccessOptions::default(),
            rate_limits: RateLimitConfig::default(),
            tls: false,
        }
    }
}

/// Gateway strictness. Defaults behave like Discord.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Slack after `heartbeat_interval` before a client that stopped heartbeating is closed
    /// with 4009 (its session is then gone, as after Discord's "Session timed out").
    pub heartbeat_grace: Duration,
    /// How soon a client must answer the fake's own op 1 (heartbeat request) with an op 1.
    pub heartbeat_request_deadline: Duration,
    /// Privileged intents enabled for the application in the developer portal (GUILD_MEMBERS
    /// `1 << 1`, GUILD_PRESENCES `1 << 8`, MESSAGE_CONTENT `1 << 15`); asking for one that is not
    /// enabled closes the connection with 4014. None by default, as for a new application.
    pub privileged_intents: u64,
    /// Where the second listener, the one READY names as `resume_gateway_url`, binds.
    pub resume_bind: SocketAddr,
    /// Refuse (op 9) a RESUME that arrives on the first URL instead of `resume_gateway_url`.
    /// Off by default: Discord still accepts it today, and serenity 0.12.5 resumes there.
    pub require_resume_url: bool,
    /// How many dispatches a session keeps for replay on RESUME.
    pub replay_buffer: usize,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            heartbeat_grace: Duration::from_secs(5),
            heartbeat_request_deadline: Duration::from_secs(5),
            privileged_intents: 0,
            resume_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            require_resume_url: false,
            replay_buffer: 1_000,
        }
    }
}

/// A guild channel that is not one of the plain text channels (`channel_id`,
/// `extra_channel_ids`): a voice channel (type 2), a forum (15), an announcement channel (5)...
#[derive(Clone, Debug)]
pub struct FakeChannel {
    pub id: u64,
    /// Discord's channel type number.
    pub kind: u8,
    pub name: String,
}

/// What the bot may do where. Permissions the bot lacks in a channel get 403/50013.
#[derive(Clone, Debug)]
pub struct AccessOptions {
    /// The permissions of the bot's managed role (what the invite URL granted), added to
    /// `@everyone`'s.
    pub bot_permissions: u64,
    /// The bot's exact permissions in a channel, `(channel_id, bits)`: the fake writes them as a
    /// member overwrite on the channel, so a client computing permissions from roles and
    /// overwrites gets the same answer the fake enforces.
    pub channel_permissions: Vec<(u64, u64)>,
    /// More channels of other types.
    pub channels: Vec<FakeChannel>,
    /// The id of the bot's managed role.
    pub bot_role_id: u64,
}

impl Default for AccessOptions {
    fn default() -> Self {
        Self {
            bot_permissions: crate::payloads::BOT_PERMISSIONS,
            channel_permissions: Vec::new(),
            channels: Vec::new(),
            bot_role_id: 1_100_000_000_000_000_050,
        }
    }
}
