//! A small HTTP control API for a running fake Discord, so an operator can play users from a
//! shell (`curl`) during the offline demo: use slash commands, click buttons, pick select
//! options, submit modals, read what the bot showed a user, and close a user's DMs.
//!
//! Routes (JSON in, JSON out; ids are strings or numbers):
//! - `POST /_fake/slash {"user_id","username"?,"roles"?:[..],"name","options"?:[..]}` — an option
//!   is `{"name","value"}` (string, integer, number or boolean), `{"name","options":[..]}` (a
//!   subcommand) or `{"name","attachment":{"filename","content"}}` (an uploaded text file).
//!   Optional: `"channel_id"` (a channel of the main guild), `"guild_id"` (the main channel of
//!   that guild, e.g. one of the configured extra guilds), `"dm": true` (in the user's DM).
//! - `POST /_fake/click {"user_id","message_id","custom_id","guild_id"?}` — with `guild_id` the
//!   click arrives from that guild's main channel instead of the message's channel.
//! - `POST /_fake/select {"user_id","message_id","custom_id","values":[..]}`
//! - `POST /_fake/modal {"user_id","custom_id","fields":{"input_id":"value"}}`
//! - `GET /_fake/messages?user_id=` — DMs, ephemeral answers and private-thread messages the user
//!   can see, oldest first, with their text, buttons, selects and files.
//! - `GET /_fake/channels/{channel_id}/messages` — what everyone sees in a guild channel (e.g.
//!   the stock panel, the buy log), oldest first, deleted ones left out, in the same shape.
//! - `GET /_fake/interactions` — every interaction with its user's locale, its latency and
//!   whether it failed.
//! - `GET /_fake/requests` — every REST request the bot made, oldest first: method, path
//!   (interaction and webhook tokens redacted), body (files by name and size), status, whether
//!   the body was validated and Discord's `errors` tree when it was refused with 50035.
//! - `GET /_fake/rate-limits` — the 429s the fake's rate limits answered: `{"global", "user":
//!   {route: n}, "shared": {route: n}, "total"}`, routes with ids and tokens replaced.
//! - `POST /_fake/close-dms/{user_id}`, `POST /_fake/open-dms/{user_id}`
//! - `POST /_fake/users/{user_id}/locale {"locale":"id"}` — the language of the user's Discord
//!   client, which their interactions carry as `locale` (default `en-US`). One of Discord's
//!   locales, else 400. `/_fake/slash`, `/click`, `/select` and `/modal` also take `"locale"`:
//!   it wins over the one set before and is remembered like `username`.
//! - `POST /_fake/guilds/{guild_id}/locale {"locale":"id"}` — the guild's preferred locale, which
//!   its interactions carry as `guild_locale` (DMs carry none).
//! - `POST /_fake/permissions {"channel_id","permissions"}` — the bot's exact permissions in a
//!   channel (a decimal string or number, as Discord writes them); missing ones get 403/50013.
//! - `POST /_fake/gateway/heartbeat` — op 1 to every session; one that does not answer is closed.
//! - `POST /_fake/gateway/disconnect {"close_code"?}` — cut the sessions off (no code: drop the
//!   TCP connection); their events are kept for RESUME.
//!
//! Each action answers `{"interaction_id"}`; the bot's answer shows up in `/_fake/messages`.
//! Users are remembered by id: give `username`/`roles` once (with `/_fake/slash`) and later
//! clicks reuse them (and `locale`, given with any action or set on its own).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{FakeUser, RecordedBody, RecordedMessage, RecordedRequest, SlashOption};
use crate::RunningFake;

/// The control API's state: the fake it drives and the users it has seen.
struct Control {
    fake: Arc<RunningFake>,
    users: Mutex<HashMap<u64, FakeUser>>,
}

impl Control {
    /// The user with `id`, updated with a name or roles when given.
    fn user(&self, id: u64, username: Option<String>, roles: Option<Vec<u64>>) -> FakeUser {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let user = users
            .entry(id)
            .or_insert_with(|| FakeUser::new(id, format!("user{id}")));
        if let Some(name) = username.filter(|n| !n.trim().is_empty()) {
            user.username = name;
        }
        if let Some(roles) = roles {
            user.roles = roles;
        }
        user.clone()
    }
}

/// A running control API. Dropping it stops the server.
pub struct RunningControl {
    base_url: String,
    server: actix_web::dev::ServerHandle,
}

impl RunningControl {
    /// e.g. `http://127.0.0.1:8092`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

impl Drop for RunningControl {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

/// Serves the control API for `fake` on `bind` (port 0 picks a free one).
pub fn serve(fake: Arc<RunningFake>, bind: SocketAddr) -> anyhow::Result<RunningControl> {
    let listener = std::net::TcpListener::bind(bind)
        .with_context(|| format!("binding the fake Discord control API on {bind}"))?;
    let addr = listener.local_addr()?;
    let data = web::Data::new(Control {
        fake,
        users: Mutex::new(HashMap::new()),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(8 * 1024 * 1024))
            .route("/_fake/slash", web::post().to(slash))
            .route("/_fake/click", web::post().to(click))
            .route("/_fake/select", web::post().to(select))
            .route("/_fake/modal", web::post().to(modal))
            .route("/_fake/messages", web::get().to(messages))
            .route(
                "/_fake/channels/{channel_id}/messages",
                web::get().to(channel_messages),
            )
            .route("/_fake/interactions", web::get().to(interactions))
            .route("/_fake/requests", web::get().to(requests))
            .route("/_fake/rate-limits", web::get().to(rate_limits))
            .route("/_fake/close-dms/{user_id}", web::post().to(close_dms))
            .route("/_fake/open-dms/{user_id}", web::post().to(open_dms))
            .route(
                "/_fake/users/{user_id}/locale",
                web::post().to(set_user_locale),
            )
            .route(
                "/_fake/guilds/{guild_id}/locale",
                web::post().to(set_guild_locale),
            )
            .route("/_fake/permissions", web::post().to(set_permissions))
            .route(
                "/_fake/gateway/heartbeat",
                web::post().to(request_heartbeat),
            )
            .route("/_fake/gateway/disconnect", web::post().to(disconnect))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(RunningControl {
        base_url: format!("http://{addr}"),
        server: handle,
    })
}

/// A Discord id given as a JSON string or number.
#[derive(Debug, Clone, Copy)]
struct Id(u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(Id)
                .ok_or_else(|| serde::de::Error::custom("an id must be a positive integer")),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Id)
                .map_err(|_| serde::de::Error::custom("an id must be digits")),
            _ => Err(serde::de::Error::custom(
                "an id must be a string or a number",
            )),
        }
    }
}

#[derive(Deserialize)]
struct SlashRequest {
    user_id: Id,
    username: Option<String>,
    roles: Option<Vec<Id>>,
    name: String,
    #[serde(default)]
    options: Vec<Value>,
    channel_id: Option<Id>,
    /// Use the command in this guild's main channel.
    guild_id: Option<Id>,
    /// Use the command in the user's DM with the bot.
    #[serde(default)]
    dm: bool,
    /// The user's client locale from now on.
    locale: Option<String>,
}

#[derive(Deserialize)]
struct ClickRequest {
    user_id: Id,
    message_id: Id,
    custom_id: String,
    /// The click arrives from this guild's main channel.
    guild_id: Option<Id>,
    locale: Option<String>,
}

#[derive(Deserialize)]
struct SelectRequest {
    user_id: Id,
    message_id: Id,
    custom_id: String,
    values: Vec<String>,
    locale: Option<String>,
}

#[derive(Deserialize)]
struct ModalRequest {
    user_id: Id,
    custom_id: String,
    #[serde(default)]
    fields: HashMap<String, String>,
    locale: Option<String>,
}

#[derive(Deserialize)]
struct MessagesQuery {
    user_id: Id,
}

/// Remembers the locale a request gave for its user; the 400 to answer for an unknown one.
fn remember_locale(control: &Control, user_id: Id, locale: Option<&str>) -> Option<HttpResponse> {
    let locale = locale?;
    control
        .fake
        .set_user_locale(user_id.0, locale)
        .err()
        .map(|e| bad_request(format!("{e:#}")))
}

fn bad_request(error: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error.to_string()}))
}

fn dispatched(result: anyhow::Result<u64>) -> HttpResponse {
    match result {
        Ok(id) => HttpResponse::Ok().json(json!({"interaction_id": id.to_string()})),
        Err(e) => bad_request(format!("{e:#}")),
    }
}

async fn slash(control: web::Data<Control>, body: web::Json<SlashRequest>) -> HttpResponse {
    let body = body.into_inner();
    if let Some(refused) = remember_locale(&control, body.user_id, body.locale.as_deref()) {
        return refused;
    }
    let roles = body.roles.map(|r| r.into_iter().map(|Id(id)| id).collect());
    let user = control.user(body.user_id.0, body.username, roles);
    let mut options = Vec::new();
    for option in &body.options {
        match slash_option(&control.fake, option) {
            Ok(o) => options.push(o),
            Err(e) => return bad_request(e),
        }
    }
    let name = body.name.trim_start_matches('/');
    dispatched(match (body.dm, body.guild_id, body.channel_id) {
        (true, _, _) => control.fake.send_dm_slash_command(&user, name, options),
        (false, Some(Id(guild)), _) => control
            .fake
            .send_slash_command_in_guild(guild, &user, name, options),
        (false, None, Some(Id(channel))) => control
            .fake
            .send_slash_command_in(channel, &user, name, options),
        (false, None, None) => control.fake.send_slash_command(&user, name, options),
    })
}

/// Turns `{"name", "value" | "options" | "attachment"}` into a [`SlashOption`].
fn slash_option(fake: &RunningFake, option: &Value) -> Result<SlashOption, String> {
    let name = option["name"]
        .as_str()
        .ok_or("every option needs a \"name\"")?
        .to_string();
    if let Some(children) = option["options"].as_array() {
        let children = children
            .iter()
            .map(|c| slash_option(fake, c))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(SlashOption::SubCommand(name, children));
    }
    if option["attachment"].is_object() {
        let file = &option["attachment"];
        let filename = file["filename"].as_str().unwrap_or("upload.txt");
        let content = file["content"]
            .as_str()
            .ok_or("an attachment needs \"content\" (the file's text)")?;
        let attachment = fake.add_attachment(filename, content.as_bytes().to_vec());
        return Ok(SlashOption::Attachment(name, attachment));
    }
    match &option["value"] {
        Value::String(s) => Ok(SlashOption::String(name, s.clone())),
        Value::Bool(b) => Ok(SlashOption::Boolean(name, *b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(SlashOption::Integer(name, i)),
            None => Ok(SlashOption::Number(name, n.as_f64().unwrap_or_default())),
        },
        _ => Err(format!(
            "option {name:?} needs a \"value\", \"options\" or \"attachment\""
        )),
    }
}

async fn click(control: web::Data<Control>, body: web::Json<ClickRequest>) -> HttpResponse {
    if let Some(refused) = remember_locale(&control, body.user_id, body.locale.as_deref()) {
        return refused;
    }
    let user = control.user(body.user_id.0, None, None);
    dispatched(match body.guild_id {
        Some(Id(guild)) => {
            control
                .fake
                .click_button_in_guild(&user, guild, body.message_id.0, &body.custom_id)
        }
        None => control
            .fake
            .click_button(&user, body.message_id.0, &body.custom_id),
    })
}

async fn select(control: web::Data<Control>, body: web::Json<SelectRequest>) -> HttpResponse {
    if let Some(refused) = remember_locale(&control, body.user_id, body.locale.as_deref()) {
        return refused;
    }
    let user = control.user(body.user_id.0, None, None);
    let values: Vec<&str> = body.values.iter().map(String::as_str).collect();
    dispatched(
        control
            .fake
            .select_menu(&user, body.message_id.0, &body.custom_id, &values),
    )
}

async fn modal(control: web::Data<Control>, body: web::Json<ModalRequest>) -> HttpResponse {
    if let Some(refused) = remember_locale(&control, body.user_id, body.locale.as_deref()) {
        return refused;
    }
    let user = control.user(body.user_id.0, None, None);
    let fields: Vec<(&str, &str)> = body
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    dispatched(control.fake.submit_modal(&user, &body.custom_id, &fields))
}

async fn messages(control: web::Data<Control>, query: web::Query<MessagesQuery>) -> HttpResponse {
    let user_id = query.user_id.0;
    let fake = &control.fake;
    let dm = fake.dm_channel_of(user_id);
    let threads: Vec<u64> = fake
        .threads()
        .iter()
        .filter_map(|t| t["id"].as_str().and_then(|id| id.parse().ok()))
        .filter(|id| fake.thread_members(*id).contains(&user_id))
        .collect();
    let visible: Vec<Value> = fake
        .messages()
        .iter()
        .filter(|m| !m.deleted)
        .filter_map(|m| {
            let kind = if Some(m.channel_id) == dm {
                "dm"
            } else if threads.contains(&m.channel_id) {
                "thread"
            } else if shown_to(m) == Some(user_id) {
                if m.flags() & 64 != 0 {
                    "ephemeral"
                } else {
                    "reply"
                }
            } else {
                return None;
            };
            Some(describe(m, kind))
        })
        .collect();
    HttpResponse::Ok().json(visible)
}

async fn channel_messages(control: web::Data<Control>, path: web::Path<String>) -> HttpResponse {
    let Ok(channel_id) = path.parse::<u64>() else {
        return bad_request("the channel id must be digits");
    };
    let visible: Vec<Value> = control
        .fake
        .channel_messages(channel_id)
        .iter()
        .filter(|m| !m.deleted && m.flags() & 64 == 0)
        .map(|m| describe(m, "channel"))
        .collect();
    HttpResponse::Ok().json(visible)
}

/// The user an interaction response or follow-up was made for.
fn shown_to(m: &RecordedMessage) -> Option<u64> {
    m.json["interaction_metadata"]["user"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
}

/// A message as a person reads it: text, buttons, select menus and attached files.
fn describe(m: &RecordedMessage, kind: &str) -> Value {
    let mut buttons = Vec::new();
    let mut selects = Vec::new();
    for row in m.components() {
        for c in row["components"].as_array().into_iter().flatten() {
            match c["type"].as_u64() {
                Some(2) => buttons.push(json!({
                    "label": c["label"],
                    "custom_id": c["custom_id"],
                    "url": c["url"],
                    "disabled": c["disabled"].as_bool().unwrap_or(false),
                })),
                Some(3) => selects.push(json!({
                    "custom_id": c["custom_id"],
                    "placeholder": c["placeholder"],
                    "options": c["options"].as_array().into_iter().flatten()
                        .map(|o| json!({"label": o["label"], "value": o["value"]}))
                        .collect::<Vec<_>>(),
                })),
                _ => {}
            }
        }
    }
    let files: Vec<Value> = m
        .files
        .iter()
        .map(|f| {
            let text = f.filename.ends_with(".txt").then(|| f.text());
            json!({"filename": f.filename, "size": f.bytes.len(), "text": text})
        })
        .collect();
    json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "kind": kind,
        "interaction_id": m.json["interaction_metadata"]["id"],
        "text": m.visible_text(),
        "buttons": buttons,
        "selects": selects,
        "files": files,
    })
}

async fn interactions(control: web::Data<Control>) -> HttpResponse {
    let list: Vec<Value> = control
        .fake
        .interactions()
        .iter()
        .map(|i| {
            json!({
                "id": i.id.to_string(),
                "kind": format!("{:?}", i.kind),
                "user_id": i.user_id.to_string(),
                "locale": i.payload["locale"],
                "latency_ms": i.latency().map(|l| l.as_millis() as u64),
                "failed": i.failed,
            })
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn requests(control: web::Data<Control>) -> HttpResponse {
    let list: Vec<Value> = control
        .fake
        .requests()
        .iter()
        .map(request_log_entry)
        .collect();
    HttpResponse::Ok().json(list)
}

async fn rate_limits(control: web::Data<Control>) -> HttpResponse {
    let counts = control.fake.rate_limit_counts();
    HttpResponse::Ok().json(json!({
        "global": counts.global,
        "user": counts.user,
        "shared": counts.shared,
        "total": counts.total(),
    }))
}

/// One request as the log shows it: no token, no file bytes.
fn request_log_entry(r: &RecordedRequest) -> Value {
    let body = match &r.body {
        RecordedBody::Empty => Value::Null,
        RecordedBody::Json(v) => v.clone(),
        RecordedBody::Other(text) => json!({"text": text}),
        RecordedBody::Multipart(parts) => json!({"multipart": parts
            .iter()
            .map(|p| match &p.filename {
                Some(filename) => json!({"name": p.name, "filename": filename, "size": p.bytes.len()}),
                None => json!({
                    "name": p.name,
                    "value": serde_json::from_slice::<Value>(&p.bytes).unwrap_or_else(|_| json!(p.text())),
                }),
            })
            .collect::<Vec<_>>()}),
    };
    json!({
        "method": r.method,
        "path": r.redacted_path(),
        "query": r.query,
        "body": body,
        "status": r.status,
        "validated": r.validated,
        "errors": r.invalid_form,
        "at": r.at.to_rfc3339(),
    })
}

async fn close_dms(control: web::Data<Control>, user_id: web::Path<String>) -> HttpResponse {
    match user_id.parse::<u64>() {
        Ok(id) => {
            control.fake.close_dms_for(id);
            HttpResponse::Ok().json(json!({"user_id": id.to_string(), "dms": "closed"}))
        }
        Err(_) => bad_request("the user id must be digits"),
    }
}

async fn open_dms(control: web::Data<Control>, user_id: web::Path<String>) -> HttpResponse {
    match user_id.parse::<u64>() {
        Ok(id) => {
            control.fake.open_dms_for(id);
            HttpResponse::Ok().json(json!({"user_id": id.to_string(), "dms": "open"}))
        }
        Err(_) => bad_request("the user id must be digits"),
    }
}

#[derive(Deserialize)]
struct LocaleRequest {
    locale: String,
}

async fn set_user_locale(
    control: web::Data<Control>,
    user_id: web::Path<String>,
    body: web::Json<LocaleRequest>,
) -> HttpResponse {
    let Ok(id) = user_id.parse::<u64>() else {
        return bad_request("the user id must be digits");
    };
    match control.fake.set_user_locale(id, &body.locale) {
        Ok(()) => {
            HttpResponse::Ok().json(json!({"user_id": id.to_string(), "locale": body.locale}))
        }
        Err(e) => bad_request(format!("{e:#}")),
    }
}

async fn set_guild_locale(
    control: web::Data<Control>,
    guild_id: web::Path<String>,
    body: web::Json<LocaleRequest>,
) -> HttpResponse {
    let Ok(id) = guild_id.parse::<u64>() else {
        return bad_request("the guild id must be digits");
    };
    match control.fake.set_guild_locale(id, &body.locale) {
        Ok(()) => {
            HttpResponse::Ok().json(json!({"guild_id": id.to_string(), "locale": body.locale}))
        }
        Err(e) => bad_request(format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct PermissionsRequest {
    channel_id: Id,
    permissions: Id,
}

async fn set_permissions(
    control: web::Data<Control>,
    body: web::Json<PermissionsRequest>,
) -> HttpResponse {
    let Id(channel) = body.channel_id;
    let Id(bits) = body.permissions;
    if control.fake.set_bot_permissions(channel, bits) {
        HttpResponse::Ok()
            .json(json!({"channel_id": channel.to_string(), "permissions": bits.to_string()}))
    } else {
        bad_request("no such guild channel")
    }
}

async fn request_heartbeat(control: web::Data<Control>) -> HttpResponse {
    let asked = control.fake.request_heartbeat();
    HttpResponse::Ok().json(json!({"sessions": asked}))
}

#[derive(Deserialize)]
struct DisconnectRequest {
    close_code: Option<u16>,
}

async fn disconnect(
    control: web::Data<Control>,
    body: Option<web::Json<DisconnectRequest>>,
) -> HttpResponse {
    let code = body.and_then(|b| b.close_code);
    let cut = control.fake.disconnect_sessions(code);
    HttpResponse::Ok().json(json!({"sessions": cut}))
}
