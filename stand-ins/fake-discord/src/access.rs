//! What the bot may do where, computed as Discord does (base permissions from `@everyone` and
//! the bot's managed role, then the channel's overwrites for `@everyone`, roles and the bot
//! member), and the checks the REST routes apply: 403/50001 without VIEW_CHANNEL, 403/50013 for
//! any other missing permission, 400/50024 for a thread under the wrong kind of channel.

use serde_json::{json, Value};

use crate::config::FakeDiscordConfig;
use crate::payloads;
use crate::state::{snowflake_of, Inner, Shared};
use crate::RunningFake;

pub const ADMINISTRATOR: u64 = 1 << 3;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
/// Every permission bit Discord currently defines.
pub const ALL_PERMISSIONS: u64 = u64::MAX >> 13;

/// A refusal: HTTP status and Discord's error body.
pub(crate) type Denied = (u16, Value);

fn missing_permissions() -> Denied {
    (
        403,
        json!({"code": 50013, "message": "Missing Permissions"}),
    )
}

fn missing_access() -> Denied {
    (403, json!({"code": 50001, "message": "Missing Access"}))
}

fn wrong_channel_type() -> Denied {
    (
        400,
        json!({"code": 50024, "message": "Cannot execute action on this channel type"}),
    )
}

fn unknown_channel() -> Denied {
    (404, json!({"code": 10003, "message": "Unknown Channel"}))
}

/// The bot's member overwrite that makes its permissions in a channel exactly `bits`.
fn bot_overwrite(config: &FakeDiscordConfig, bits: u64) -> Value {
    json!({
        "id": config.bot_user_id.to_string(),
        "type": 1,
        "allow": bits.to_string(),
        "deny": (ALL_PERMISSIONS & !bits).to_string(),
    })
}

/// A guild channel of any type, without overwrites.
fn channel(config: &FakeDiscordConfig, id: u64, kind: u8, name: &str, position: u64) -> Value {
    let mut c = payloads::text_channel(config, id, name, position);
    c["type"] = json!(kind);
    if kind == 2 || kind == 13 {
        c["bitrate"] = json!(64_000);
        c["user_limit"] = json!(0);
        c["rtc_region"] = Value::Null;
    }
    if kind == 15 {
        c["available_tags"] = json!([]);
        c["default_reaction_emoji"] = Value::Null;
        c["default_sort_order"] = Value::Null;
        c["default_forum_layout"] = json!(0);
    }
    c
}

/// The guild's channels at start: the text channels, the configured others, and the bot's
/// configured per-channel permissions as member overwrites.
pub(crate) fn initial_channels(config: &FakeDiscordConfig) -> Vec<Value> {
    let mut channels = payloads::guild_channels(config);
    let first = channels.len() as u64;
    for (i, c) in config.access.channels.iter().enumerate() {
        channels.push(channel(config, c.id, c.kind, &c.name, first + i as u64));
    }
    for (id, bits) in &config.access.channel_permissions {
        if let Some(c) = channels
            .iter_mut()
            .find(|c| snowflake_of(&c["id"]) == Some(*id))
        {
            c["permission_overwrites"] = json!([bot_overwrite(config, *bits)]);
        }
    }
    channels
}

/// The guild's channels as they are now (no DMs, no threads), by position.
pub(crate) fn guild_channels(config: &FakeDiscordConfig, inner: &Inner) -> Vec<Value> {
    let guild = config.guild_id.to_string();
    let mut channels: Vec<Value> = inner
        .channels
        .values()
        .filter(|c| c["guild_id"] == json!(guild) && !matches!(c["type"].as_u64(), Some(10..=12)))
        .cloned()
        .collect();
    channels.sort_by_key(|c| c["position"].as_u64().unwrap_or(0));
    channels
}

/// The bot as a guild member: it holds its managed role.
pub(crate) fn bot_member(config: &FakeDiscordConfig) -> Value {
    json!({
        "user": payloads::bot_user(config),
        "roles": [config.access.bot_role_id.to_string()],
        "nick": null,
        "avatar": null,
        "banner": null,
        "premium_since": null,
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// The bot's managed role, created by the invite with the permissions it asked for.
pub(crate) fn bot_role(config: &FakeDiscordConfig, position: u64) -> Value {
    let mut role = payloads::role(
        config.access.bot_role_id,
        &config.bot_username,
        config.access.bot_permissions,
        position,
    );
    role["managed"] = json!(true);
    role["tags"] = json!({"bot_id": config.bot_user_id.to_string()});
    role
}

/// GUILD_CREATE with the channels and overwrites as they are now.
pub(crate) fn guild_create(shared: &Shared, inner: &Inner) -> Value {
    let config = &shared.config;
    let mut guild = payloads::guild_create(config);
    guild["channels"] = json!(guild_channels(config, inner));
    guild["members"] = json!([bot_member(config)]);
    guild["preferred_locale"] = json!(shared.guild_locale(inner, config.guild_id));
    guild
}

/// The bot's guild-level permissions: `@everyone` plus its role.
fn base_permissions(config: &FakeDiscordConfig) -> u64 {
    let base = payloads::EVERYONE_PERMISSIONS | config.access.bot_permissions;
    if base & ADMINISTRATOR != 0 {
        ALL_PERMISSIONS
    } else {
        base
    }
}

fn bits(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// The bot's permissions in a guild channel (a thread counts as its parent); `None` for a
/// channel that does not exist. DMs allow everything.
pub(crate) fn bot_permissions_in(
    config: &FakeDiscordConfig,
    inner: &Inner,
    id: u64,
) -> Option<u64> {
    let mut channel = inner.channels.get(&id)?;
    if matches!(channel["type"].as_u64(), Some(10..=12)) {
        channel = inner.channels.get(&snowflake_of(&channel["parent_id"])?)?;
    }
    if channel["guild_id"].is_null() {
        return Some(ALL_PERMISSIONS);
    }
    let mut perms = base_permissions(config);
    if perms == ALL_PERMISSIONS {
        return Some(perms);
    }
    let overwrites = channel["permission_overwrites"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |id: u64| {
        overwrites
            .iter()
            .find(|o| snowflake_of(&o["id"]) == Some(id))
    };
    if let Some(o) = find(config.guild_id) {
        perms &= !bits(&o["deny"]);
        perms |= bits(&o["allow"]);
    }
    if let Some(o) = find(config.access.bot_role_id) {
        perms &= !bits(&o["deny"]);
        perms |= bits(&o["allow"]);
    }
    if let Some(o) = find(config.bot_user_id) {
        perms &= !bits(&o["deny"]);
        perms |= bits(&o["allow"]);
    }
    Some(perms)
}

fn kind_of(inner: &Inner, id: u64) -> Option<u64> {
    inner.channels.get(&id).and_then(|c| c["type"].as_u64())
}

fn require(perms: u64, needed: u64) -> Result<(), Denied> {
    if perms & VIEW_CHANNEL == 0 {
        return Err(missing_access());
    }
    if perms & needed != needed {
        return Err(missing_permissions());
    }
    Ok(())
}

/// `GET /channels/{id}`: the bot must see the channel.
pub(crate) fn check_view(config: &FakeDiscordConfig, inner: &Inner, id: u64) -> Result<(), Denied> {
    let perms = bot_permissions_in(config, inner, id).ok_or_else(unknown_channel)?;
    require(perms, VIEW_CHANNEL)
}

/// `GET /channels/{id}/messages`: without READ_MESSAGE_HISTORY Discord lists nothing.
pub(crate) fn can_read_history(config: &FakeDiscordConfig, inner: &Inner, id: u64) -> bool {
    bot_permissions_in(config, inner, id).is_some_and(|p| p & READ_MESSAGE_HISTORY != 0)
}

/// `POST /channels/{id}/messages`: SEND_MESSAGES (SEND_MESSAGES_IN_THREADS in a thread), and
/// ATTACH_FILES when files come along.
pub(crate) fn check_send(
    config: &FakeDiscordConfig,
    inner: &Inner,
    id: u64,
    with_files: bool,
) -> Result<(), Denied> {
    let perms = bot_permissions_in(config, inner, id).ok_or_else(unknown_channel)?;
    let in_thread = matches!(kind_of(inner, id), Some(10..=12));
    let mut needed = if in_thread {
        SEND_MESSAGES_IN_THREADS
    } else {
        SEND_MESSAGES
    };
    if with_files {
        needed |= ATTACH_FILES;
    }
    require(perms, needed)
}

/// `POST /channels/{id}/threads` without a message: a private thread (type 12, the default)
/// only under a text channel (type 0), a public one (11) under text or announcement channels;
/// CREATE_PRIVATE_THREADS or CREATE_PUBLIC_THREADS.
pub(crate) fn check_thread_create(
    config: &FakeDiscordConfig,
    inner: &Inner,
    parent: u64,
    kind: u64,
) -> Result<(), Denied> {
    let parent_kind = kind_of(inner, parent).ok_or_else(unknown_channel)?;
    let needed = match (kind, parent_kind) {
        (12, 0) => CREATE_PRIVATE_THREADS,
        (11, 0 | 5) | (10, 5) => CREATE_PUBLIC_THREADS,
        _ => return Err(wrong_channel_type()),
    };
    let perms = bot_permissions_in(config, inner, parent).ok_or_else(unknown_channel)?;
    require(perms, needed)
}

/// `PUT /channels/{thread}/thread-members/{user}`: the bot must be able to talk in the thread.
pub(crate) fn check_thread_member_add(
    config: &FakeDiscordConfig,
    inner: &Inner,
    thread: u64,
) -> Result<(), Denied> {
    let perms = bot_permissions_in(config, inner, thread).ok_or_else(unknown_channel)?;
    require(perms, SEND_MESSAGES_IN_THREADS)
}

impl RunningFake {
    /// Sets the bot's exact permissions in a channel (a member overwrite replacing any earlier
    /// one) and tells connected sessions with CHANNEL_UPDATE. Returns false for an unknown channel.
    pub fn set_bot_permissions(&self, channel_id: u64, bits: u64) -> bool {
        let config = &self.shared.config;
        let mut inner = self.shared.lock();
        let Some(channel) = inner.channels.get_mut(&channel_id) else {
            return false;
        };
        if channel["guild_id"].is_null() {
            return false;
        }
        let bot = config.bot_user_id.to_string();
        let mut overwrites: Vec<Value> = channel["permission_overwrites"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        overwrites.retain(|o| o["id"] != json!(bot));
        overwrites.push(bot_overwrite(config, bits));
        channel["permission_overwrites"] = json!(overwrites);
        let update = channel.clone();
        let keep = config.gateway.replay_buffer;
        for session in &mut inner.sessions {
            let [shard, shards] = session.info.shard.unwrap_or([0, 1]);
            if crate::gateway::shard_for_guild(config.guild_id, shards) == shard {
                session.dispatch("CHANNEL_UPDATE", update.clone(), keep);
            }
        }
        true
    }

    /// The bot's permissions in a channel as the fake enforces them.
    pub fn bot_permissions_in(&self, channel_id: u64) -> Option<u64> {
        let inner = self.shared.lock();
        bot_permissions_in(&self.shared.config, &inner, channel_id)
    }
}
