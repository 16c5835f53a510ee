//! The public records a test reads back and the inputs it scripts users with.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::multipart::Part;

/// A Discord user (and, in the guild, member) that a test acts as.
#[derive(Clone, Debug)]
pub struct FakeUser {
    pub id: u64,
    pub username: String,
    /// Role ids the member holds in the guild.
    pub roles: Vec<u64>,
    /// The language of the user's Discord client, which their interactions carry as `locale`
    /// (one of Discord's locales, e.g. `"id"`). `None`: what
    /// [`crate::RunningFake::set_user_locale`] set for this id, else [`DEFAULT_LOCALE`].
    pub locale: Option<String>,
}

/// The locale of users and guilds nobody set one for.
pub const DEFAULT_LOCALE: &str = "en-US";

impl FakeUser {
    pub fn new(id: u64, username: impl Into<String>) -> Self {
        Self {
            id,
            username: username.into(),
            roles: Vec::new(),
            locale: None,
        }
    }

    /// The user's client speaks `locale` (e.g. `"id"` for Indonesian); it wins over
    /// [`crate::RunningFake::set_user_locale`].
    ///
    /// # Panics
    /// If `locale` is not one of Discord's locales (the OpenAPI `AvailableLocalesEnum`).
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        let locale = locale.into();
        if let Err(e) = crate::validation::check_locale(&locale) {
            panic!("FakeUser::with_locale: {e}");
        }
        self.locale = Some(locale);
        self
    }

    pub fn with_roles(mut self, roles: impl IntoIterator<Item = u64>) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }
}

/// A file registered with the fake and served at `GET /attachments/{id}/{filename}`.
#[derive(Clone, Debug)]
pub struct FakeAttachment {
    pub id: u64,
    pub filename: String,
    pub url: String,
    pub size: u32,
    pub content_type: String,
}

/// An option of a slash command as a user fills it in.
#[derive(Clone, Debug)]
pub enum SlashOption {
    String(String, String),
    Integer(String, i64),
    Number(String, f64),
    Boolean(String, bool),
    User(String, u64),
    Attachment(String, FakeAttachment),
    SubCommand(String, Vec<SlashOption>),
    SubCommandGroup(String, Vec<SlashOption>),
}

impl SlashOption {
    pub fn string(name: &str, value: impl Into<String>) -> Self {
        Self::String(name.to_string(), value.into())
    }
    pub fn integer(name: &str, value: i64) -> Self {
        Self::Integer(name.to_string(), value)
    }
    pub fn attachment(name: &str, attachment: &FakeAttachment) -> Self {
        Self::Attachment(name.to_string(), attachment.clone())
    }
    pub fn sub(name: &str, options: Vec<SlashOption>) -> Self {
        Self::SubCommand(name.to_string(), options)
    }
}

/// The message a component sits on: one the bot sent through the fake (by id), or raw JSON.
#[derive(Clone, Debug)]
pub enum MessageRef {
    Id(u64),
    Json(Value),
}

impl From<u64> for MessageRef {
    fn from(id: u64) -> Self {
        Self::Id(id)
    }
}

impl From<Value> for MessageRef {
    fn from(json: Value) -> Self {
        Self::Json(json)
    }
}

impl From<&RecordedMessage> for MessageRef {
    fn from(message: &RecordedMessage) -> Self {
        Self::Id(message.id)
    }
}

/// The body of a recorded request.
#[derive(Clone, Debug)]
pub enum RecordedBody {
    Empty,
    Json(Value),
    /// Not JSON and not multipart (kept as lossy text).
    Other(String),
    Multipart(Vec<Part>),
}

/// One HTTP request the fake received, with the status it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    /// The raw query string (serenity sends `&k=v`), empty when none.
    pub query: String,
    pub body: RecordedBody,
    pub status: u16,
    /// The fake has no such route (answered 404 `{"code":0}`).
    pub unknown_route: bool,
    /// The body was checked against Discord's OpenAPI schema and documented rules.
    pub validated: bool,
    /// Discord's `errors` tree when the body was refused (answered 400 / 50035).
    pub invalid_form: Option<Value>,
    pub at: DateTime<Utc>,
}

impl RecordedRequest {
    /// The path with interaction and webhook tokens replaced by `[token]`, for logs.
    pub fn redacted_path(&self) -> String {
        redact_tokens(&self.path)
    }

    /// The JSON payload: the body itself, or `payload_json` of a multipart body.
    pub fn json(&self) -> Option<Value> {
        match &self.body {
            RecordedBody::Json(v) => Some(v.clone()),
            RecordedBody::Multipart(parts) => parts
                .iter()
                .find(|p| p.name == "payload_json")
                .and_then(|p| serde_json::from_slice(&p.bytes).ok()),
            _ => None,
        }
    }

    /// The file parts of a multipart body.
    pub fn files(&self) -> Vec<Part> {
        match &self.body {
            RecordedBody::Multipart(parts) => parts
                .iter()
                .filter(|p| p.filename.is_some())
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A file the bot uploaded with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    pub filename: String,
    pub bytes: Vec<u8>,
}

impl UploadedFile {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A message as the fake stores it (channel messages, DMs, interaction responses, follow-ups).
#[derive(Clone, Debug)]
pub struct RecordedMessage {
    pub id: u64,
    pub channel_id: u64,
    /// The Discord message object, as the fake answers it.
    pub json: Value,
    /// Files attached by the latest create or edit.
    pub files: Vec<UploadedFile>,
    pub deleted: bool,
}

impl RecordedMessage {
    pub fn content(&self) -> &str {
        self.json["content"].as_str().unwrap_or_default()
    }

    /// Flags as sent, e.g. 64 for ephemeral.
    pub fn flags(&self) -> u64 {
        self.json["flags"].as_u64().unwrap_or(0)
    }

    pub fn embeds(&self) -> Vec<Value> {
        self.json["embeds"].as_array().cloned().unwrap_or_default()
    }

    pub fn components(&self) -> Vec<Value> {
        self.json["components"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every custom_id on the message's components, in order.
    pub fn custom_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for row in self.components() {
            for component in row["components"].as_array().into_iter().flatten() {
                if let Some(id) = component["custom_id"].as_str() {
                    ids.push(id.to_string());
                }
            }
        }
        ids
    }

    /// All the text a user would read: content, embed titles, descriptions, fields and footers.
    pub fn visible_text(&self) -> String {
        let mut text = self.content().to_string();
        for embed in self.embeds() {
            for key in ["title", "description"] {
                if let Some(s) = embed[key].as_str() {
                    text.push('\n');
                    text.push_str(s);
                }
            }
            for field in embed["fields"].as_array().into_iter().flatten() {
                for key in ["name", "value"] {
                    if let Some(s) = field[key].as_str() {
                        text.push('\n');
                        text.push_str(s);
                    }
                }
            }
            if let Some(s) = embed["footer"]["text"].as_str() {
                text.push('\n');
                text.push_str(s);
            }
        }
        text
    }
}

/// What kind of interaction the fake dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    SlashCommand,
    Component,
    ModalSubmit,
    /// A user typing in an option with autocomplete (type 4); answered with type 8 choices.
    Autocomplete,
}

/// One dispatched interaction and what the bot did with it.
#[derive(Clone, Debug)]
pub struct InteractionRecord {
    pub id: u64,
    pub token: String,
    pub kind: InteractionKind,
    pub user_id: u64,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    /// The INTERACTION_CREATE `d` payload as dispatched.
    pub payload: Value,
    pub dispatched_at: Instant,
    /// When the first callback arrived in time.
    pub acknowledged_at: Option<Instant>,
    /// Callback bodies (`{type, data}`) in arrival order, accepted or not (bodies refused with
    /// 50035 are only in the request log).
    pub callbacks: Vec<Value>,
    /// Sessions the event was written to.
    pub delivered_to: Vec<String>,
    /// The message `@original` refers to, once there is one.
    pub original_message_id: Option<u64>,
    /// The deadline passed without a response.
    pub failed: bool,
}

impl InteractionRecord {
    /// Time from dispatch to the first in-time callback.
    pub fn latency(&self) -> Option<Duration> {
        self.acknowledged_at
            .map(|at| at.duration_since(self.dispatched_at))
    }
}

/// A gateway session (one websocket that identified).
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub session_id: String,
    /// `[shard_id, shard_count]` from Identify, if sent.
    pub shard: Option<[u32; 2]>,
    pub intents: u64,
    pub connected: bool,
    pub identified_at: DateTime<Utc>,
    pub resumed: u32,
    /// Resumes that came in through READY's `resume_gateway_url` (the rest used the first URL).
    pub resumed_via_resume_url: u32,
    /// The session can no longer be resumed (timed out, replaced by a new IDENTIFY of its
    /// shard, or closed with a non-resumable code).
    pub invalidated: bool,
    /// Heartbeats (op 1) the client sent, over all its connections.
    pub heartbeats: u32,
    /// The connection asked for `compress=zlib-stream`.
    pub zlib_stream: bool,
    /// IDENTIFY asked for payload compression (`"compress": true`): dispatches go out as
    /// zlib-compressed binary frames.
    pub payload_compression: bool,
    /// Dispatches replayed by RESUMEs.
    pub replayed: u32,
}

impl SessionInfo {
    /// The shard id this session serves (0 when it did not shard).
    pub fn shard_id(&self) -> u32 {
        self.shard.map(|[id, _]| id).unwrap_or(0)
    }
}

/// Replaces the token in `/interactions/{id}/{token}/...` and `/webhooks/{id}/{token}/...`.
pub(crate) fn redact_tokens(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    let token_at = segments
        .iter()
        .position(|s| *s == "interactions" || *s == "webhooks")
        .map(|i| i + 2);
    if let Some(i) = token_at.filter(|i| *i < segments.len()) {
        segments[i] = "[token]";
    }
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_redacted() {
        assert_eq!(
            redact_tokens("/api/v10/interactions/123/aW50ZXJhY3Rpb24/callback"),
            "/api/v10/interactions/123/[token]/callback"
        );
        assert_eq!(
            redact_tokens("/api/v10/webhooks/9/secret/messages/@original"),
            "/api/v10/webhooks/9/[token]/messages/@original"
        );
        assert_eq!(
            redact_tokens("/api/v10/channels/1/messages"),
            "/api/v10/channels/1/messages"
        );
    }
}
