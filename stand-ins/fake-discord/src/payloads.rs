//! Discord objects in their documented JSON shapes (users, members, channels, guilds, READY,
//! applications, commands, interactions), with every field serenity 0.12.5 requires.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::config::FakeDiscordConfig;
use crate::model::{FakeUser, DEFAULT_LOCALE};

/// Permission bits of a default `@everyone` role.
pub const EVERYONE_PERMISSIONS: u64 = 1_071_698_660_929;
/// What the bot was granted in the guild (send messages, embed, attach, threads, ...).
pub const BOT_PERMISSIONS: u64 = 2_248_473_465_835_073;
const ADMINISTRATOR: u64 = 1 << 3;
/// Discord's default upload limit, announced in interactions as `attachment_size_limit`.
pub const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

pub fn now() -> String {
    timestamp(Utc::now())
}

pub fn user(id: u64, username: &str) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "global_name": username,
        "avatar": null,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
        "primary_guild": null,
    })
}

pub fn bot_user(config: &FakeDiscordConfig) -> Value {
    json!({
        "id": config.bot_user_id.to_string(),
        "username": config.bot_username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
    })
}

/// `GET /users/@me` and READY's `user`: the bot with its account fields.
pub fn current_user(config: &FakeDiscordConfig) -> Value {
    let mut user = bot_user(config);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["email"] = Value::Null;
    user["locale"] = json!("en-US");
    user["premium_type"] = json!(0);
    user
}

/// The effective permissions of a member with these roles.
pub fn member_permissions(config: &FakeDiscordConfig, roles: &[u64]) -> u64 {
    let perms = config
        .roles
        .iter()
        .filter(|r| roles.contains(&r.id))
        .fold(EVERYONE_PERMISSIONS, |acc, r| acc | r.permissions);
    if perms & ADMINISTRATOR != 0 {
        u64::MAX >> 13 // every permission bit Discord currently defines
    } else {
        perms
    }
}

pub fn member(config: &FakeDiscordConfig, who: &FakeUser, with_permissions: bool) -> Value {
    let mut member = json!({
        "user": user(who.id, &who.username),
        "roles": who.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
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
        "unusual_dm_activity_until": null,
    });
    if with_permissions {
        member["permissions"] = json!(member_permissions(config, &who.roles).to_string());
    }
    member
}

pub fn role(id: u64, name: &str, permissions: u64, position: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "description": null,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

pub fn roles(config: &FakeDiscordConfig) -> Vec<Value> {
    let mut all = vec![role(config.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)];
    for (i, r) in config.roles.iter().enumerate() {
        all.push(role(r.id, &r.name, r.permissions, i as u64 + 1));
    }
    all.push(crate::access::bot_role(config, all.len() as u64));
    all
}

pub fn text_channel(config: &FakeDiscordConfig, id: u64, name: &str, position: u64) -> Value {
    text_channel_in(config.guild_id, id, name, position)
}

/// A text channel of guild `guild_id`.
pub fn text_channel_in(guild_id: u64, id: u64, name: &str, position: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": null,
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "flags": 0,
    })
}

/// The roles of guild `guild_id` (the main guild's, or an extra guild's), `None` if unknown.
pub fn roles_of(config: &FakeDiscordConfig, guild_id: u64) -> Option<Vec<Value>> {
    if guild_id == config.guild_id {
        return Some(roles(config));
    }
    let guild = config.extra_guilds.iter().find(|g| g.id == guild_id)?;
    let mut all = vec![role(guild.id, "@everyone", EVERYONE_PERMISSIONS, 0)];
    for (i, r) in guild.roles.iter().enumerate() {
        all.push(role(r.id, &r.name, r.permissions, i as u64 + 1));
    }
    Some(all)
}

/// The guild's text channels: the main one first, then the extras.
pub fn guild_channels(config: &FakeDiscordConfig) -> Vec<Value> {
    let mut channels = vec![text_channel(config, config.channel_id, "shop", 0)];
    for (i, id) in config.extra_channel_ids.iter().enumerate() {
        channels.push(text_channel(
            config,
            *id,
            &format!("channel-{}", i + 1),
            i as u64 + 1,
        ));
    }
    channels
}

pub fn dm_channel(channel_id: u64, recipient: Value) -> Value {
    json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [recipient],
    })
}

pub fn thread(
    config: &FakeDiscordConfig,
    id: u64,
    parent_id: u64,
    name: &str,
    kind: u64,
    auto_archive_duration: u64,
    invitable: bool,
) -> Value {
    json!({
        "id": id.to_string(),
        "type": kind,
        "guild_id": config.guild_id.to_string(),
        "parent_id": parent_id.to_string(),
        "owner_id": config.bot_user_id.to_string(),
        "name": name,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "flags": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now(),
            "locked": false,
            "invitable": invitable,
            "create_timestamp": now(),
        },
        "member": {
            "id": id.to_string(),
            "user_id": config.bot_user_id.to_string(),
            "join_timestamp": now(),
            "flags": 1,
        },
    })
}

pub fn guild_create(config: &FakeDiscordConfig) -> Value {
    let bot = json!({
        "user": bot_user(config),
        "roles": [],
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
    });
    json!({
        "id": config.guild_id.to_string(),
        "name": config.guild_name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": config.owner_user_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": roles(config),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": config.channel_id.to_string(),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": config.guild_locale,
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "nsfw": false,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "large": false,
        "unavailable": false,
        "member_count": 2,
        "lazy": true,
        "voice_states": [],
        "members": [bot],
        "channels": guild_channels(config),
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "application_command_counts": {},
        "hub_type": null,
        "latest_onboarding_question_id": null,
    })
}

/// Application flags Discord sets for a verified-free bot using slash commands.
const APPLICATION_FLAGS: u64 = 1 << 23;

pub fn ready(
    config: &FakeDiscordConfig,
    session_id: &str,
    resume_url: &str,
    shard: Option<[u32; 2]>,
    guild_on_shard: bool,
) -> Value {
    let guilds = if guild_on_shard {
        vec![json!({"id": config.guild_id.to_string(), "unavailable": true})]
    } else {
        Vec::new()
    };
    let mut ready = json!({
        "v": 10,
        "user_settings": {},
        "user": current_user(config),
        "guilds": guilds,
        "session_type": "normal",
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "application": {"id": config.application_id.to_string(), "flags": APPLICATION_FLAGS},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["singapore", "hongkong"],
        "auth": {},
        "_trace": ["[\"fake-discord\",{\"micros\":0}]"],
    });
    if let Some(shard) = shard {
        ready["shard"] = json!(shard);
    }
    ready
}

pub fn application(config: &FakeDiscordConfig) -> Value {
    json!({
        "id": config.application_id.to_string(),
        "name": config.bot_username,
        "icon": null,
        "description": "",
        "summary": "",
        "type": null,
        "bot": bot_user(config),
        "is_monetized": false,
        "is_verified": false,
        "is_discoverable": false,
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "1e0a356058d627ca38a5c8c9648818061d49e49bd9da9e3ab17d98ad4d6bg2u8",
        "flags": APPLICATION_FLAGS,
        "hook": true,
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "owner": user(config.owner_user_id, "shop-owner"),
        "team": null,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "rpc_origins": [],
    })
}

/// A stored application command as Discord answers it, from what the bot sent.
pub fn command(
    config: &FakeDiscordConfig,
    sent: &Value,
    id: u64,
    version: u64,
    guild_id: Option<u64>,
) -> Value {
    let mut cmd = json!({
        "id": id.to_string(),
        "application_id": config.application_id.to_string(),
        "version": version.to_string(),
        "type": 1,
        "name": "",
        "description": "",
        "default_member_permissions": null,
        "nsfw": false,
        "integration_types": [0],
        "contexts": null,
        "options": [],
    });
    if let Some(fields) = sent.as_object() {
        for (k, v) in fields {
            if !v.is_null() || k == "default_member_permissions" {
                cmd[k.as_str()] = v.clone();
            }
        }
    }
    cmd["id"] = json!(id.to_string());
    cmd["application_id"] = json!(config.application_id.to_string());
    cmd["version"] = json!(version.to_string());
    match guild_id {
        Some(g) => cmd["guild_id"] = json!(g.to_string()),
        None => {
            if let Some(map) = cmd.as_object_mut() {
                map.remove("guild_id");
            }
        }
    }
    cmd
}

/// Where an interaction happens: the guild's channel (with a member) or the user's DM.
pub struct Place {
    pub channel_id: u64,
    /// `None` for DMs.
    pub guild_id: Option<u64>,
    /// The channel object as interactions carry it.
    pub channel: Value,
    /// The guild's preferred locale; `None` for DMs.
    pub guild_locale: Option<String>,
}

/// The fields every INTERACTION_CREATE carries, for `kind` 2 (command), 3 (component) or
/// 5 (modal submit), from a user whose client speaks `locale`.
#[allow(clippy::too_many_arguments)]
pub fn interaction(
    config: &FakeDiscordConfig,
    kind: u64,
    id: u64,
    token: &str,
    who: &FakeUser,
    locale: &str,
    place: &Place,
    data: Value,
) -> Value {
    let mut payload = json!({
        "type": kind,
        "id": id.to_string(),
        "application_id": config.application_id.to_string(),
        "token": token,
        "version": 1,
        "channel_id": place.channel_id.to_string(),
        "channel": place.channel,
        "locale": locale,
        "app_permissions": BOT_PERMISSIONS.to_string(),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "data": data,
    });
    match place.guild_id {
        Some(guild_id) => {
            let guild_locale = place.guild_locale.as_deref().unwrap_or(DEFAULT_LOCALE);
            payload["guild_id"] = json!(guild_id.to_string());
            payload["guild"] = json!({
                "id": guild_id.to_string(),
                "locale": guild_locale,
                "features": [],
            });
            payload["guild_locale"] = json!(guild_locale);
            payload["member"] = member(config, who, true);
            payload["member"]["user"]["locale"] = json!(locale);
            payload["authorizing_integration_owners"] = json!({"0": guild_id.to_string()});
            payload["context"] = json!(0);
        }
        None => {
            payload["user"] = user(who.id, &who.username);
            payload["user"]["locale"] = json!(locale);
            // Discord sends no `guild_locale` outside a guild.
            // A guild-installed app used in a DM: the guild owner id is "0".
            payload["authorizing_integration_owners"] = json!({"0": "0"});
            payload["context"] = json!(1);
        }
    }
    payload
}
