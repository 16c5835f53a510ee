//! The fake's memory: what exists (channels, members, commands, messages, files), what happened
//! (requests, interactions, sessions) and which failures to inject. Guarded by one std mutex that
//! is never held across an await.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::FakeDiscordConfig;
use crate::ids;
use crate::model::{
    FakeAttachment, FakeUser, InteractionKind, InteractionRecord, RecordedMessage, RecordedRequest,
    SessionInfo, UploadedFile, DEFAULT_LOCALE,
};
use crate::payloads;

/// What the gateway writes to one websocket.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// An op 0 event with the sequence number its session gave it.
    Dispatch {
        seq: u64,
        event: String,
        data: Value,
    },
    /// A non-dispatch frame, e.g. op 7 Reconnect.
    Raw(Value),
    /// Send op 1 and expect the client's op 1 back within the heartbeat-request deadline.
    RequestHeartbeat,
    /// Close the websocket: with this close code, or without a close frame (a dropped TCP
    /// connection) when `None`.
    Close(Option<u16>),
}

pub(crate) struct Session {
    pub info: SessionInfo,
    pub sender: Option<UnboundedSender<Outbound>>,
    /// The last sequence number given out, kept so a resumed session continues from it.
    pub seq: u64,
    /// The latest dispatches, `(seq, event, data)`, replayed on RESUME; also filled while the
    /// session is disconnected.
    pub replay: VecDeque<(u64, String, Value)>,
}

impl Session {
    /// Whether events for this session are still kept: connected, or disconnected but resumable.
    pub fn alive(&self) -> bool {
        self.info.connected || !self.info.invalidated
    }

    /// Numbers the event, keeps it for replay and sends it when connected. Returns whether it
    /// was sent now or kept for a RESUME.
    pub fn dispatch(&mut self, event: &str, data: Value, keep: usize) -> bool {
        if !self.alive() {
            return false;
        }
        self.seq += 1;
        self.replay
            .push_back((self.seq, event.to_string(), data.clone()));
        while self.replay.len() > keep.max(1) {
            self.replay.pop_front();
        }
        if let Some(sender) = &self.sender {
            let _ = sender.send(Outbound::Dispatch {
                seq: self.seq,
                event: event.to_string(),
                data,
            });
        }
        true
    }
}

/// One injected failure: the next `remaining` matching requests get this answer.
pub(crate) struct FailureRule {
    pub method: String,
    pub pattern: Vec<String>,
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub remaining: usize,
}

pub(crate) struct StoredFile {
    pub attachment: FakeAttachment,
    pub bytes: Vec<u8>,
}

pub(crate) struct StoredMessage {
    pub record: RecordedMessage,
    pub interaction_id: Option<u64>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub requests: Vec<RecordedRequest>,
    pub failures: Vec<FailureRule>,
    pub members: HashMap<u64, FakeUser>,
    pub closed_dms: HashSet<u64>,
    /// The code a closed DM answers with when not 50007 (e.g. 50278), by user id.
    pub dm_refusal_codes: HashMap<u64, u32>,
    /// Attachments whose CDN download answers an HTML error page with this status.
    pub cdn_errors: HashMap<u64, u16>,
    /// Channel objects by id: guild text channels, DM channels and threads.
    pub channels: HashMap<u64, Value>,
    /// DM channel id by recipient user id.
    pub dm_channels: HashMap<u64, u64>,
    pub thread_members: HashMap<u64, Vec<u64>>,
    pub messages: Vec<StoredMessage>,
    pub global_commands: Vec<Value>,
    pub guild_commands: HashMap<u64, Vec<Value>>,
    pub interactions: Vec<InteractionRecord>,
    pub files: HashMap<u64, StoredFile>,
    pub sessions: Vec<Session>,
    /// Client locales set by user id (a [`FakeUser`]'s own `locale` wins over these).
    pub user_locales: HashMap<u64, String>,
    /// Preferred locales by guild id (the main guild's from the configuration).
    pub guild_locales: HashMap<u64, String>,
}

pub(crate) struct Shared {
    pub config: FakeDiscordConfig,
    pub base_url: String,
    pub gateway_url: String,
    /// READY's `resume_gateway_url`: a second listener, on its own port.
    pub resume_gateway_url: String,
    /// Discord's rate limits; kept outside `inner` because a limited request touches nothing else.
    pub rate_limits: crate::ratelimit::RateLimiter,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(config: FakeDiscordConfig, base_url: String, gateway_url: String) -> Self {
        let mut inner = Inner::default();
        for channel in crate::access::initial_channels(&config) {
            if let Some(id) = snowflake_of(&channel["id"]) {
                inner.channels.insert(id, channel);
            }
        }
        for guild in &config.extra_guilds {
            let channel = payloads::text_channel_in(guild.id, guild.channel_id, "general", 0);
            inner.channels.insert(guild.channel_id, channel);
        }
        inner
            .guild_locales
            .insert(config.guild_id, config.guild_locale.clone());
        Self {
            rate_limits: crate::ratelimit::RateLimiter::new(&config.rate_limits),
            config,
            base_url,
            resume_gateway_url: gateway_url.clone(),
            gateway_url,
            inner: Mutex::new(inner),
        }
    }

    /// The state; a poisoned lock (a panicked handler) is still usable for a test fake.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn attachment_url(&self, id: u64, filename: &str) -> String {
        format!("{}/attachments/{id}/{filename}", self.base_url)
    }

    /// Stores `bytes` as a downloadable file and describes it.
    pub fn store_file(&self, inner: &mut Inner, filename: &str, bytes: Vec<u8>) -> FakeAttachment {
        let id = ids::snowflake();
        let attachment = FakeAttachment {
            id,
            filename: filename.to_string(),
            url: self.attachment_url(id, filename),
            size: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            content_type: content_type_for(filename).to_string(),
        };
        inner.files.insert(
            id,
            StoredFile {
                attachment: attachment.clone(),
                bytes,
            },
        );
        attachment
    }

    /// Marks interactions whose deadline passed without a response as failed.
    pub fn expire_interactions(&self, inner: &mut Inner) {
        let deadline = self.config.interaction_deadline;
        let now = Instant::now();
        for interaction in &mut inner.interactions {
            if interaction.acknowledged_at.is_none()
                && now.duration_since(interaction.dispatched_at) > deadline
            {
                interaction.failed = true;
            }
        }
    }

    /// The locale `user`'s interactions carry: their own, else the one set for their id, else
    /// `en-US`.
    pub fn user_locale(&self, inner: &Inner, user: &FakeUser) -> String {
        user.locale
            .clone()
            .or_else(|| inner.user_locales.get(&user.id).cloned())
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string())
    }

    /// A guild's preferred locale (`en-US` unless configured or set).
    pub fn guild_locale(&self, inner: &Inner, guild_id: u64) -> String {
        inner
            .guild_locales
            .get(&guild_id)
            .cloned()
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string())
    }

    /// Whether the bot is in guild `guild_id` (the main guild or an extra one).
    pub fn knows_guild(&self, guild_id: u64) -> bool {
        guild_id == self.config.guild_id
            || self.config.extra_guilds.iter().any(|g| g.id == guild_id)
    }

    /// The user object for `user_id`: a known member, the bot, or a plausible stranger.
    pub fn user_json(&self, inner: &Inner, user_id: u64) -> Value {
        if user_id == self.config.bot_user_id {
            return payloads::bot_user(&self.config);
        }
        match inner.members.get(&user_id) {
            Some(m) => payloads::user(m.id, &m.username),
            None => payloads::user(user_id, &format!("user{user_id}")),
        }
    }

    /// The DM channel with `user_id`, created on first use (as `POST /users/@me/channels` does).
    pub fn dm_channel_for(&self, inner: &mut Inner, user_id: u64) -> u64 {
        if let Some(id) = inner.dm_channels.get(&user_id) {
            return *id;
        }
        let id = ids::snowflake();
        let channel = payloads::dm_channel(id, self.user_json(inner, user_id));
        inner.channels.insert(id, channel);
        inner.dm_channels.insert(user_id, id);
        id
    }

    /// Creates a message from a create-message payload (content, embeds, components, flags,
    /// `attachments`) plus uploaded files, authored by the bot.
    pub fn create_message(
        &self,
        inner: &mut Inner,
        channel_id: u64,
        payload: &Value,
        files: Vec<UploadedFile>,
        origin: MessageOrigin,
    ) -> RecordedMessage {
        let id = ids::snowflake();
        let guild_id = inner
            .channels
            .get(&channel_id)
            .and_then(|c| snowflake_of(&c["guild_id"]));
        let mut message = json!({
            "id": id.to_string(),
            "channel_id": channel_id.to_string(),
            "author": payloads::bot_user(&self.config),
            "content": "",
            "timestamp": payloads::now(),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": false,
            "type": 0,
            "flags": 0,
        });
        if let Some(g) = guild_id {
            message["guild_id"] = json!(g.to_string());
        }
        let interaction_id = match &origin {
            MessageOrigin::Bot => None,
            MessageOrigin::Interaction {
                interaction_id,
                user,
                command_name,
                reply,
            } => {
                message["webhook_id"] = json!(self.config.application_id.to_string());
                message["application_id"] = json!(self.config.application_id.to_string());
                message["type"] = json!(if *reply && command_name.is_some() {
                    20
                } else {
                    0
                });
                let owners = json!({"0": guild_id.map(|g| g.to_string()).unwrap_or_else(|| "0".to_string())});
                let dispatched = inner
                    .interactions
                    .iter()
                    .find(|i| i.id == *interaction_id)
                    .map(|i| (i.kind, i.payload["message"]["id"].clone()));
                message["interaction_metadata"] = match dispatched {
                    // Discord names the message a component sat on; serenity requires it.
                    Some((InteractionKind::Component, clicked)) if !clicked.is_null() => json!({
                        "id": interaction_id.to_string(),
                        "type": 3,
                        "user": user,
                        "authorizing_integration_owners": owners,
                        "interacted_message_id": clicked,
                    }),
                    // A modal submit carries the metadata of the interaction that opened it.
                    Some((InteractionKind::ModalSubmit, clicked)) => {
                        let triggering = if clicked.is_null() {
                            json!({"id": ids::snowflake().to_string(), "type": 2, "user": user, "authorizing_integration_owners": owners})
                        } else {
                            json!({"id": ids::snowflake().to_string(), "type": 3, "user": user, "authorizing_integration_owners": owners, "interacted_message_id": clicked})
                        };
                        json!({
                            "id": interaction_id.to_string(),
                            "type": 5,
                            "user": user,
                            "authorizing_integration_owners": owners,
                            "triggering_interaction_metadata": triggering,
                        })
                    }
                    _ => json!({
                        "id": interaction_id.to_string(),
                        "type": if command_name.is_some() { 2 } else { 3 },
                        "user": user,
                        "authorizing_integration_owners": owners,
                    }),
                };
                if let Some(name) = command_name {
                    message["interaction"] = json!({
                        "id": interaction_id.to_string(),
                        "type": 2,
                        "name": name,
                        "user": user,
                    });
                }
                Some(*interaction_id)
            }
        };
        let mut record = RecordedMessage {
            id,
            channel_id,
            json: message,
            files: Vec::new(),
            deleted: false,
        };
        self.apply_edit(inner, &mut record, payload, files);
        record.json["edited_timestamp"] = Value::Null;
        inner.messages.push(StoredMessage {
            record: record.clone(),
            interaction_id,
        });
        record
    }

    /// Applies an edit payload the way Discord does: present fields replace, absent ones stay;
    /// `attachments` lists which existing files to keep, new files are appended.
    pub fn apply_edit(
        &self,
        inner: &mut Inner,
        record: &mut RecordedMessage,
        payload: &Value,
        files: Vec<UploadedFile>,
    ) {
        for key in ["content", "embeds", "components", "flags", "tts", "poll"] {
            if let Some(value) = payload.get(key) {
                let value = match (key, value) {
                    ("content", Value::Null) => json!(""),
                    ("embeds" | "components", Value::Null) => json!([]),
                    ("flags", Value::Null) => json!(0),
                    _ => value.clone(),
                };
                record.json[key] = value;
            }
        }
        let mut attachments: Vec<Value> = record.json["attachments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(keep) = payload.get("attachments").and_then(Value::as_array) {
            let kept: HashSet<u64> = keep.iter().filter_map(|a| snowflake_of(&a["id"])).collect();
            attachments.retain(|a| snowflake_of(&a["id"]).is_some_and(|id| kept.contains(&id)));
        }
        if !files.is_empty() {
            record.files = files.clone();
        }
        for file in files {
            let stored = self.store_file(inner, &file.filename, file.bytes);
            attachments.push(json!({
                "id": stored.id.to_string(),
                "filename": stored.filename,
                "size": stored.size,
                "url": stored.url,
                "proxy_url": stored.url,
                "content_type": stored.content_type,
            }));
        }
        // Discord resolves `attachment://name` in embeds to the uploaded file's URL.
        if let Some(embeds) = record.json["embeds"].as_array_mut() {
            for embed in embeds {
                for key in ["image", "thumbnail"] {
                    if let Some(url) = embed[key]["url"].as_str() {
                        if let Some(name) = url.strip_prefix("attachment://") {
                            if let Some(a) = attachments.iter().find(|a| a["filename"] == name) {
                                embed[key]["url"] = a["url"].clone();
                                embed[key]["proxy_url"] = a["url"].clone();
                            }
                        }
                    }
                }
                if embed.get("type").is_none() {
                    embed["type"] = json!("rich");
                }
            }
        }
        record.json["attachments"] = Value::Array(attachments);
        record.json["edited_timestamp"] = json!(payloads::now());
    }

    pub fn message_mut(inner: &mut Inner, id: u64) -> Option<&mut StoredMessage> {
        inner.messages.iter_mut().find(|m| m.record.id == id)
    }
}

/// Who a message is from, beyond the bot itself.
pub(crate) enum MessageOrigin {
    Bot,
    Interaction {
        interaction_id: u64,
        user: Value,
        command_name: Option<String>,
        /// The interaction's own response (not a follow-up).
        reply: bool,
    },
}

/// A snowflake from Discord's JSON, where ids are strings (or, from some clients, numbers).
pub(crate) fn snowflake_of(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn content_type_for(filename: &str) -> &'static str {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".txt") {
        "text/plain; charset=utf-8"
    } else if lower.ends_with(".png") {
        "image/png"
    } else if lower.ends_with(".json") {
        "application/json"
    } else if lower.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}
