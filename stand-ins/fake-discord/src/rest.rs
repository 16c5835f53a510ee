//! Discord's REST API, `/api/v10/...`: one catch-all handler that records every request, applies
//! injected failures, then routes by method and path segments.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use crate::access;
use crate::failures::{error_body, route_segments};
use crate::ids;
use crate::model::{RecordedBody, RecordedMessage, RecordedRequest, UploadedFile};
use crate::multipart;
use crate::payloads;
use crate::ratelimit::Verdict as RateVerdict;
use crate::state::{snowflake_of, Inner, MessageOrigin, Shared};
use crate::validation::{self, Verdict};

/// Discord's per-file limit without boosts.
const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

pub(crate) struct Reply {
    status: u16,
    body: ReplyBody,
    headers: Vec<(String, String)>,
    unknown_route: bool,
}

enum ReplyBody {
    Empty,
    Json(Value),
    Bytes(Vec<u8>, String),
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
            unknown_route: false,
        }
    }
    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }
    fn no_content() -> Self {
        Self {
            status: 204,
            body: ReplyBody::Empty,
            headers: Vec::new(),
            unknown_route: false,
        }
    }
    fn error(status: u16, code: u32) -> Self {
        Self::json(status, error_body(code, status))
    }
    fn not_found() -> Self {
        Self::error(404, 0)
    }
    /// A refusal computed by [`crate::access`].
    fn denied((status, body): crate::access::Denied) -> Self {
        Self::json(status, body)
    }
    fn invalid_form(errors: Value) -> Self {
        let mut body = error_body(50035, 400);
        body["errors"] = errors;
        Self::json(400, body)
    }
}

/// The parsed request as the routes see it.
struct Incoming<'a> {
    method: &'a str,
    segments: Vec<String>,
    /// The query string without `?` (serenity writes `?&limit=50`).
    query: &'a str,
    authorized: bool,
    body: &'a RecordedBody,
}

impl Incoming<'_> {
    fn seg(&self, i: usize) -> &str {
        self.segments.get(i).map(String::as_str).unwrap_or("")
    }
    fn id(&self, i: usize) -> Option<u64> {
        self.seg(i).parse().ok()
    }
    /// The JSON payload (plain body or multipart `payload_json`); `{}` when none.
    fn payload(&self) -> Value {
        match self.body {
            RecordedBody::Json(v) => v.clone(),
            RecordedBody::Multipart(parts) => parts
                .iter()
                .find(|p| p.name == "payload_json")
                .and_then(|p| serde_json::from_slice(&p.bytes).ok())
                .unwrap_or_else(|| json!({})),
            _ => json!({}),
        }
    }
    fn files(&self) -> Vec<UploadedFile> {
        match self.body {
            RecordedBody::Multipart(parts) => parts
                .iter()
                .filter(|p| p.name.starts_with("files[") || p.name == "file")
                .map(|p| UploadedFile {
                    filename: p.filename.clone().unwrap_or_else(|| p.name.clone()),
                    bytes: p.bytes.clone(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

pub(crate) async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Shared>>,
) -> HttpResponse {
    let method = req.method().as_str().to_string();
    let path = req.path().to_string();
    let query = req.query_string().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bot ") && v.len() > 4);
    let recorded_body = parse_body(&content_type, &body).await;
    let segments = route_segments(&path);

    let (reply, invalid_form) = {
        let mut inner = shared.lock();
        let injected = inner
            .failures
            .iter_mut()
            .find(|rule| rule.matches(&method, &segments))
            .map(|rule| {
                rule.remaining -= 1;
                Reply {
                    status: rule.status,
                    body: ReplyBody::Json(rule.body.clone()),
                    headers: rule.headers.clone(),
                    unknown_route: false,
                }
            });
        // Discord's rate limits, after the failures a test injected on purpose: a 429 answers
        // before routing, so a limited request changes nothing.
        let limits = match &injected {
            Some(_) => RateVerdict::default(),
            None => shared.rate_limits.check(&method, &path, &segments),
        };
        let injected = injected.or_else(|| {
            limits.refusal.clone().map(|(status, body)| Reply {
                status,
                body: ReplyBody::Json(body),
                headers: Vec::new(),
                unknown_route: false,
            })
        });
        let mut validated = false;
        let mut invalid_form = None;
        let mut reply = match injected {
            Some(reply) => reply,
            // Discord refuses a bad form body before anything else happens.
            None => match validation::check(&inner, &method, &segments, &recorded_body) {
                Verdict::Invalid(errors) => {
                    validated = true;
                    invalid_form = Some(errors.clone());
                    Reply::invalid_form(errors)
                }
                Verdict::Broken(e) => Reply::json(500, json!({"code": 0, "message": e})),
                verdict => {
                    validated = matches!(verdict, Verdict::Valid);
                    let incoming = Incoming {
                        method: &method,
                        segments,
                        query: &query,
                        authorized,
                        body: &recorded_body,
                    };
                    route(&shared, &mut inner, &incoming)
                }
            },
        };
        // Every answer carries the bucket's headers (unless an injected 429 brought its own).
        for (name, value) in limits.headers {
            if !reply
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                reply.headers.push((name, value));
            }
        }
        inner.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query,
            body: recorded_body,
            status: reply.status,
            unknown_route: reply.unknown_route,
            validated,
            invalid_form: invalid_form.clone(),
            at: Utc::now(),
        });
        (reply, invalid_form)
    };
    if let Some(errors) = &invalid_form {
        let path = crate::model::redact_tokens(&path);
        tracing::warn!(%method, %path, %errors, "fake discord refused an invalid form body (50035)");
    } else if reply.status >= 400 {
        tracing::debug!(%method, %path, status = reply.status, "fake discord answered an error");
    }

    let mut response =
        HttpResponse::build(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK));
    for (name, value) in &reply.headers {
        response.insert_header((name.as_str(), value.as_str()));
    }
    match reply.body {
        ReplyBody::Empty => response.finish(),
        ReplyBody::Json(v) => response
            .content_type("application/json")
            .body(v.to_string()),
        ReplyBody::Bytes(bytes, content_type) => response.content_type(content_type).body(bytes),
    }
}

async fn parse_body(content_type: &str, body: &[u8]) -> RecordedBody {
    if body.is_empty() {
        return RecordedBody::Empty;
    }
    if let Some(parts) = multipart::parse(content_type, body).await {
        return RecordedBody::Multipart(parts);
    }
    match serde_json::from_slice(body) {
        Ok(v) => RecordedBody::Json(v),
        Err(_) => RecordedBody::Other(String::from_utf8_lossy(body).into_owned()),
    }
}

fn route(shared: &Shared, inner: &mut Inner, req: &Incoming<'_>) -> Reply {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    // Files are served like Discord's CDN: no auth.
    if let ["attachments", _, _] = segs.as_slice() {
        return serve_attachment(inner, req);
    }
    // Interaction callbacks and webhook-token routes authenticate by token, not by bot auth.
    let token_route = matches!(segs.as_slice(), ["interactions", ..] | ["webhooks", ..]);
    if !token_route && !req.authorized {
        return Reply::error(401, 0);
    }
    let config = &shared.config;
    match (req.method, segs.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => Reply::ok(json!({
            "url": shared.gateway_url,
            "shards": config.recommended_shards,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1
            },
        })),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            Reply::ok(payloads::application(config))
        }
        ("GET", ["users", "@me"]) => Reply::ok(payloads::current_user(config)),
        ("GET", ["users", _]) => match req.id(1) {
            Some(id) => Reply::ok(shared.user_json(inner, id)),
            None => Reply::not_found(),
        },
        (_, ["applications", app, "commands", ..])
        | (_, ["applications", app, "guilds", _, "commands", ..])
            if *app != config.application_id.to_string() =>
        {
            Reply::error(403, 50001)
        }
        ("GET", ["applications", _, "commands"]) => Reply::ok(json!(inner.global_commands)),
        ("PUT", ["applications", _, "commands"]) => {
            let stored = overwrite_commands(config, &inner.global_commands, &req.payload(), None);
            match stored {
                Ok(stored) => {
                    inner.global_commands = stored.clone();
                    Reply::ok(json!(stored))
                }
                Err(reply) => reply,
            }
        }
        ("GET", ["applications", _, "guilds", _, "commands"]) => {
            let guild = req.id(3).unwrap_or(0);
            Reply::ok(json!(inner
                .guild_commands
                .get(&guild)
                .cloned()
                .unwrap_or_default()))
        }
        ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let known =
                |g: &u64| *g == config.guild_id || config.extra_guilds.iter().any(|x| x.id == *g);
            let Some(guild) = req.id(3).filter(known) else {
                return Reply::error(403, 50001);
            };
            let existing = inner
                .guild_commands
                .get(&guild)
                .cloned()
                .unwrap_or_default();
            match overwrite_commands(config, &existing, &req.payload(), Some(guild)) {
                Ok(stored) => {
                    inner.guild_commands.insert(guild, stored.clone());
                    Reply::ok(json!(stored))
                }
                Err(reply) => reply,
            }
        }
        ("POST", ["interactions", _, token, "callback"]) => {
            interaction_callback(shared, inner, req.id(1), token, req)
        }
        (_, ["webhooks", app, token, ..]) => webhook(shared, inner, req, app, token),
        ("POST", ["users", "@me", "channels"]) => {
            let payload = req.payload();
            let Some(recipient) = snowflake_of(&payload["recipient_id"]) else {
                return Reply::invalid_form(
                    json!({"recipient_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}}),
                );
            };
            let id = shared.dm_channel_for(inner, recipient);
            Reply::ok(inner.channels.get(&id).cloned().unwrap_or(Value::Null))
        }
        ("GET", ["channels", _]) => match req.id(1).and_then(|id| inner.channels.get(&id)) {
            Some(channel) => match access::check_view(config, inner, req.id(1).unwrap_or(0)) {
                Ok(()) => Reply::ok(channel.clone()),
                Err(denied) => Reply::denied(denied),
            },
            None => Reply::error(404, 10003),
        },
        ("POST", ["channels", _, "messages"]) => {
            let Some(channel_id) = req.id(1).filter(|id| inner.channels.contains_key(id)) else {
                return Reply::error(404, 10003);
            };
            let recipient = inner
                .dm_channels
                .iter()
                .find(|(_, c)| **c == channel_id)
                .map(|(u, _)| *u);
            if let Some(user) = recipient.filter(|u| inner.closed_dms.contains(u)) {
                let code = inner.dm_refusal_codes.get(&user).copied().unwrap_or(50007);
                return Reply::error(403, code);
            }
            let payload = req.payload();
            let files = req.files();
            if let Err(reply) = validate_message(&payload, &files, true) {
                return reply;
            }
            if let Err(denied) = access::check_send(config, inner, channel_id, !files.is_empty()) {
                return Reply::denied(denied);
            }
            let message =
                shared.create_message(inner, channel_id, &payload, files, MessageOrigin::Bot);
            Reply::ok(message.json)
        }
        ("GET", ["channels", _, "messages"]) => list_messages(config, inner, req),
        ("GET", ["channels", _, "messages", _]) => {
            match find_message(inner, req.id(1), req.id(3)) {
                Some(json) => Reply::ok(json),
                None => Reply::error(404, 10008),
            }
        }
        ("PATCH", ["channels", _, "messages", _]) => {
            let payload = req.payload();
            let files = req.files();
            if let Err(reply) = validate_message(&payload, &files, false) {
                return reply;
            }
            edit_message(shared, inner, req.id(1), req.id(3), &payload, files)
        }
        ("DELETE", ["channels", _, "messages", _]) => delete_message(inner, req.id(1), req.id(3)),
        ("POST", ["channels", _, "threads"]) => create_thread(shared, inner, req),
        ("PUT", ["channels", _, "thread-members", _]) => {
            let (Some(thread), Some(user)) = (req.id(1), req.id(3)) else {
                return Reply::not_found();
            };
            if !is_thread(inner, thread) {
                return Reply::error(404, 10003);
            }
            if let Err(denied) = access::check_thread_member_add(config, inner, thread) {
                return Reply::denied(denied);
            }
            let members = inner.thread_members.entry(thread).or_default();
            if !members.contains(&user) {
                members.push(user);
            }
            Reply::no_content()
        }
        ("GET", ["guilds", _, "members", _]) => {
            if req.id(1) != Some(config.guild_id) {
                return Reply::error(404, 10004);
            }
            if req.id(3) == Some(config.bot_user_id) {
                let mut json = access::bot_member(config);
                json["guild_id"] = json!(config.guild_id.to_string());
                return Reply::ok(json);
            }
            match req.id(3).and_then(|u| inner.members.get(&u)) {
                Some(member) => {
                    let mut json = payloads::member(config, member, false);
                    json["guild_id"] = json!(config.guild_id.to_string());
                    Reply::ok(json)
                }
                None => Reply::error(404, 10007),
            }
        }
        ("GET", ["guilds", _, "roles"]) => {
            match req.id(1).and_then(|g| payloads::roles_of(config, g)) {
                Some(roles) => Reply::ok(json!(roles)),
                None => Reply::error(404, 10004),
            }
        }
        ("GET", ["guilds", _, "channels"]) if req.id(1) == Some(config.guild_id) => {
            Reply::ok(json!(access::guild_channels(config, inner)))
        }
        _ => {
            tracing::warn!(method = req.method, path = %req.segments.join("/"), "fake discord: unknown route");
            Reply {
                unknown_route: true,
                ..Reply::not_found()
            }
        }
    }
}

fn serve_attachment(inner: &Inner, req: &Incoming<'_>) -> Reply {
    if let Some(status) = req.id(1).and_then(|id| inner.cdn_errors.get(&id)) {
        return cdn_error_page(*status);
    }
    match req.id(1).and_then(|id| inner.files.get(&id)) {
        Some(file) if req.method == "GET" && file.attachment.filename == req.seg(2) => Reply {
            status: 200,
            body: ReplyBody::Bytes(file.bytes.clone(), file.attachment.content_type.clone()),
            headers: Vec::new(),
            unknown_route: false,
        },
        _ => cdn_error_page(404),
    }
}

/// What Discord's CDN answers for a file it will not serve: an HTML page, not API JSON.
fn cdn_error_page(status: u16) -> Reply {
    let title = match status {
        403 => "403 Forbidden",
        404 => "404 Not Found",
        _ => "500 Internal Server Error",
    };
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr><center>cloudflare</center></body></html>\n"
    );
    Reply {
        status,
        body: ReplyBody::Bytes(html.into_bytes(), "text/html; charset=utf-8".into()),
        headers: Vec::new(),
        unknown_route: false,
    }
}

/// Bulk overwrite: names that already exist keep their ids, as on Discord.
fn overwrite_commands(
    config: &crate::config::FakeDiscordConfig,
    existing: &[Value],
    sent: &Value,
    guild_id: Option<u64>,
) -> Result<Vec<Value>, Reply> {
    let Some(commands) = sent.as_array() else {
        return Err(Reply::invalid_form(
            json!({"_errors": [{"code": "ARRAY_TYPE_CONVERT", "message": "Only iterables may be used in a ListType"}]}),
        ));
    };
    let mut stored = Vec::with_capacity(commands.len());
    for (i, command) in commands.iter().enumerate() {
        let name = command["name"].as_str().unwrap_or_default();
        let description = command["description"].as_str().unwrap_or_default();
        let kind = command["type"].as_u64().unwrap_or(1);
        if name.is_empty()
            || name.len() > 32
            || (kind == 1 && (description.is_empty() || description.len() > 100))
        {
            return Err(Reply::invalid_form(
                json!({i.to_string(): {"name": {"_errors": [{"code": "APPLICATION_COMMAND_INVALID", "message": "Invalid application command"}]}}}),
            ));
        }
        let id = existing
            .iter()
            .find(|c| c["name"] == command["name"])
            .and_then(|c| snowflake_of(&c["id"]))
            .unwrap_or_else(ids::snowflake);
        stored.push(payloads::command(
            config,
            command,
            id,
            ids::snowflake(),
            guild_id,
        ));
    }
    Ok(stored)
}

fn interaction_callback(
    shared: &Shared,
    inner: &mut Inner,
    id: Option<u64>,
    token: &str,
    req: &Incoming<'_>,
) -> Reply {
    let payload = req.payload();
    let files = req.files();
    shared.expire_interactions(inner);
    let Some(index) = inner
        .interactions
        .iter()
        .position(|i| Some(i.id) == id && i.token == token)
    else {
        return Reply::error(404, 10062);
    };
    let now = Instant::now();
    let interaction = &mut inner.interactions[index];
    interaction.callbacks.push(payload.clone());
    if interaction.acknowledged_at.is_some() {
        return Reply::error(400, 40060);
    }
    if interaction.failed
        || now.duration_since(interaction.dispatched_at) > shared.config.interaction_deadline
    {
        interaction.failed = true;
        return Reply::error(404, 10062);
    }
    let kind = payload["type"].as_u64().unwrap_or(0);
    let data = payload.get("data").cloned().unwrap_or_else(|| json!({}));
    if matches!(kind, 4 | 7) {
        if let Err(reply) = validate_message(&data, &files, kind == 4) {
            interaction.callbacks.pop();
            return reply;
        }
    }
    interaction.acknowledged_at = Some(now);
    let interaction = interaction.clone();
    let origin = |reply: bool| MessageOrigin::Interaction {
        interaction_id: interaction.id,
        user: interaction_user(&interaction.payload),
        command_name: interaction.payload["data"]["name"]
            .as_str()
            .map(str::to_string),
        reply,
    };
    let original = match kind {
        4 => Some(
            shared
                .create_message(inner, interaction.channel_id, &data, files, origin(true))
                .id,
        ),
        5 => {
            // A deferred reply shows "thinking…": an empty message flagged LOADING (128).
            let flags = data["flags"].as_u64().unwrap_or(0) | 128;
            let loading = json!({"content": "", "flags": flags});
            Some(
                shared
                    .create_message(
                        inner,
                        interaction.channel_id,
                        &loading,
                        Vec::new(),
                        origin(true),
                    )
                    .id,
            )
        }
        6 | 7 => {
            let message_id = snowflake_of(&interaction.payload["message"]["id"]);
            if kind == 7 {
                if let Some(stored) = message_id.and_then(|m| Shared::message_mut(inner, m)) {
                    let mut record = stored.record.clone();
                    shared.apply_edit(inner, &mut record, &data, files);
                    if let Some(stored) = Shared::message_mut(inner, record.id) {
                        stored.record = record;
                    }
                }
            }
            message_id
        }
        _ => None,
    };
    if let Some(record) = inner.interactions.get_mut(index) {
        record.original_message_id = original;
    }
    Reply::no_content()
}

fn interaction_user(payload: &Value) -> Value {
    let mut user = if payload["member"]["user"].is_object() {
        payload["member"]["user"].clone()
    } else {
        payload["user"].clone()
    };
    // The client locale belongs to the interaction, not to the user objects of messages.
    if let Some(fields) = user.as_object_mut() {
        fields.remove("locale");
    }
    user
}

fn webhook(
    shared: &Shared,
    inner: &mut Inner,
    req: &Incoming<'_>,
    app: &str,
    token: &str,
) -> Reply {
    if *app != shared.config.application_id.to_string() {
        return Reply::error(404, 10015);
    }
    let Some(interaction) = inner
        .interactions
        .iter()
        .find(|i| i.token == token)
        .cloned()
    else {
        // The application's webhook exists; a token Discord does not (or no longer) know is
        // refused as Discord refuses it: 401 "Invalid Webhook Token".
        return Reply::error(401, 50027);
    };
    if interaction.dispatched_at.elapsed() > shared.config.token_lifetime {
        return Reply::error(401, 50027);
    }
    if interaction.acknowledged_at.is_none() {
        // Discord knows no webhook for an interaction that was never answered.
        return Reply::error(404, 10015);
    }
    let target = match req.seg(3) {
        "" => None,
        "messages" => match req.seg(4) {
            "@original" => match interaction.original_message_id {
                Some(id) => Some(id),
                None => return Reply::error(404, 10008),
            },
            _ => match req.id(4) {
                Some(id) => Some(id),
                None => return Reply::error(404, 10008),
            },
        },
        _ => return Reply::not_found(),
    };
    let belongs = |inner: &Inner, id: u64| {
        inner.messages.iter().any(|m| {
            m.record.id == id
                && !m.record.deleted
                && (m.interaction_id == Some(interaction.id)
                    || Some(id) == interaction.original_message_id)
        })
    };
    match (req.method, target) {
        ("POST", None) => {
            let payload = req.payload();
            let files = req.files();
            if let Err(reply) = validate_message(&payload, &files, true) {
                return reply;
            }
            // After a deferral, the first follow-up replaces the "thinking…" message and keeps
            // the deferral's ephemeral flag, whatever flags it sends.
            let loading = interaction.original_message_id.and_then(|id| {
                inner.messages.iter().find(|m| {
                    m.record.id == id && m.record.json["flags"].as_u64().unwrap_or(0) & 128 != 0
                })
            });
            if let Some(loading) = loading {
                let id = loading.record.id;
                let kept_flags = loading.record.json["flags"].as_u64().unwrap_or(0) & !128;
                let mut payload = payload;
                payload["flags"] = json!(payload["flags"].as_u64().unwrap_or(0) | kept_flags);
                return edit_message(shared, inner, None, Some(id), &payload, files);
            }
            let origin = MessageOrigin::Interaction {
                interaction_id: interaction.id,
                user: interaction_user(&interaction.payload),
                command_name: interaction.payload["data"]["name"]
                    .as_str()
                    .map(str::to_string),
                reply: false,
            };
            let message =
                shared.create_message(inner, interaction.channel_id, &payload, files, origin);
            Reply::ok(message.json)
        }
        ("GET", Some(id)) if belongs(inner, id) => {
            find_message(inner, Some(interaction.channel_id), Some(id))
                .map(Reply::ok)
                .unwrap_or_else(|| Reply::error(404, 10008))
        }
        ("PATCH", Some(id)) if belongs(inner, id) => {
            let payload = req.payload();
            let files = req.files();
            if let Err(reply) = validate_message(&payload, &files, false) {
                return reply;
            }
            let is_loading = Some(id) == interaction.original_message_id;
            let reply = edit_message(shared, inner, None, Some(id), &payload, files);
            if is_loading {
                // The edit replaces the "thinking…" state.
                if let Some(stored) = Shared::message_mut(inner, id) {
                    let flags = stored.record.json["flags"].as_u64().unwrap_or(0) & !128;
                    stored.record.json["flags"] = json!(flags);
                    if let ReplyBody::Json(_) = reply.body {
                        return Reply::ok(stored.record.json.clone());
                    }
                }
            }
            reply
        }
        ("DELETE", Some(id)) if belongs(inner, id) => delete_message(inner, None, Some(id)),
        (_, Some(_)) => Reply::error(404, 10008),
        _ => Reply::error(405, 0),
    }
}

/// `GET /channels/{id}/messages`: the channel's messages newest first, `limit` 1–100 (default
/// 50), only those older than `before` or newer than `after` when given (`around` is not
/// supported: 400). Needs VIEW_CHANNEL (403/50001); without READ_MESSAGE_HISTORY Discord answers
/// an empty list. Ephemeral and deleted messages are not listed.
fn list_messages(
    config: &crate::config::FakeDiscordConfig,
    inner: &Inner,
    req: &Incoming<'_>,
) -> Reply {
    let Some(channel_id) = req.id(1).filter(|id| inner.channels.contains_key(id)) else {
        return Reply::error(404, 10003);
    };
    if let Err(denied) = access::check_view(config, inner, channel_id) {
        return Reply::denied(denied);
    }
    let mut limit = 50usize;
    let (mut before, mut after) = (None, None);
    for (key, value) in req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
    {
        let bad = |field: &str, code: &str, message: &str| {
            Reply::invalid_form(json!({field: {"_errors": [{"code": code, "message": message}]}}))
        };
        match key {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => limit = n,
                Ok(_) => {
                    return bad(
                        "limit",
                        "NUMBER_TYPE_MAX",
                        "int value should be between 1 and 100.",
                    )
                }
                Err(_) => return bad("limit", "NUMBER_TYPE_COERCE", "Value is not int."),
            },
            "before" | "after" => match value.parse::<u64>() {
                Ok(id) if key == "before" => before = Some(id),
                Ok(id) => after = Some(id),
                Err(_) => return bad(key, "NUMBER_TYPE_COERCE", "Value is not snowflake."),
            },
            "around" => {
                return bad(
                    "around",
                    "UNSUPPORTED",
                    "around is not supported by the fake.",
                )
            }
            _ => {}
        }
    }
    if !access::can_read_history(config, inner, channel_id) {
        return Reply::ok(json!([]));
    }
    let mut listed: Vec<&RecordedMessage> = inner
        .messages
        .iter()
        .map(|m| &m.record)
        .filter(|m| m.channel_id == channel_id && !m.deleted && m.flags() & 64 == 0)
        .filter(|m| before.is_none_or(|b| m.id < b) && after.is_none_or(|a| m.id > a))
        .collect();
    listed.sort_by_key(|m| m.id);
    // `after` pages forward from the given message (the oldest newer ones), otherwise the
    // newest; either way the page is listed newest first.
    let page: Vec<&RecordedMessage> = if after.is_some() && before.is_none() {
        listed.into_iter().take(limit).collect()
    } else {
        let skip = listed.len().saturating_sub(limit);
        listed.into_iter().skip(skip).collect()
    };
    Reply::ok(json!(page
        .iter()
        .rev()
        .map(|m| m.json.clone())
        .collect::<Vec<_>>()))
}

fn find_message(inner: &Inner, channel: Option<u64>, id: Option<u64>) -> Option<Value> {
    inner
        .messages
        .iter()
        .find(|m| {
            Some(m.record.id) == id
                && channel.is_none_or(|c| c == m.record.channel_id)
                && !m.record.deleted
        })
        .map(|m| m.record.json.clone())
}

fn edit_message(
    shared: &Shared,
    inner: &mut Inner,
    channel: Option<u64>,
    id: Option<u64>,
    payload: &Value,
    files: Vec<UploadedFile>,
) -> Reply {
    let Some(mut record) = inner
        .messages
        .iter()
        .find(|m| {
            Some(m.record.id) == id
                && channel.is_none_or(|c| c == m.record.channel_id)
                && !m.record.deleted
        })
        .map(|m| m.record.clone())
    else {
        return Reply::error(404, 10008);
    };
    shared.apply_edit(inner, &mut record, payload, files);
    let json = record.json.clone();
    if let Some(stored) = Shared::message_mut(inner, record.id) {
        stored.record = record;
    }
    Reply::ok(json)
}

fn delete_message(inner: &mut Inner, channel: Option<u64>, id: Option<u64>) -> Reply {
    match inner.messages.iter_mut().find(|m| {
        Some(m.record.id) == id
            && channel.is_none_or(|c| c == m.record.channel_id)
            && !m.record.deleted
    }) {
        Some(stored) => {
            stored.record.deleted = true;
            Reply::no_content()
        }
        None => Reply::error(404, 10008),
    }
}

fn is_thread(inner: &Inner, id: u64) -> bool {
    inner
        .channels
        .get(&id)
        .is_some_and(|c| matches!(c["type"].as_u64(), Some(10..=12)))
}

fn create_thread(shared: &Shared, inner: &mut Inner, req: &Incoming<'_>) -> Reply {
    let Some(parent) = req.id(1) else {
        return Reply::error(404, 10003);
    };
    let payload = req.payload();
    // Without a type Discord makes a private thread.
    let kind = payload["type"].as_u64().unwrap_or(12);
    if let Err(denied) = access::check_thread_create(&shared.config, inner, parent, kind) {
        return Reply::denied(denied);
    }
    let name = payload["name"].as_str().unwrap_or_default();
    if name.is_empty() || name.chars().count() > 100 {
        return Reply::invalid_form(
            json!({"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}]}}),
        );
    }
    let id = ids::snowflake();
    let thread = payloads::thread(
        &shared.config,
        id,
        parent,
        name,
        kind,
        payload["auto_archive_duration"].as_u64().unwrap_or(4320),
        payload["invitable"].as_bool().unwrap_or(true),
    );
    inner.channels.insert(id, thread.clone());
    inner
        .thread_members
        .insert(id, vec![shared.config.bot_user_id]);
    Reply::ok(thread)
}

/// What Discord refuses about a message beyond its form (50035 is `validation`'s answer, given
/// before any route runs): an oversized file (40005) and, on create, an empty message (50006).
fn validate_message(payload: &Value, files: &[UploadedFile], creating: bool) -> Result<(), Reply> {
    if files.iter().any(|f| f.bytes.len() > MAX_FILE_BYTES) {
        return Err(Reply::error(413, 40005));
    }
    let content = payload["content"].as_str().unwrap_or_default();
    let nothing = |key: &str| payload[key].as_array().is_none_or(Vec::is_empty);
    if creating
        && content.is_empty()
        && nothing("embeds")
        && files.is_empty()
        && nothing("components")
        && payload.get("poll").is_none()
        && payload.get("sticker_ids").is_none()
    {
        return Err(Reply::error(400, 50006));
    }
    Ok(())
}
