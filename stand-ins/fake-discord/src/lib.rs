//! A local stand-in for Discord: the REST API (`/api/v10/...`) and the gateway websocket, in
//! Discord's real wire format, so serenity 0.12.5 / poise 0.7.1 run against it unmodified.
//!
//! Tests script users through it (slash commands, button clicks, select menus, modal submits),
//! read back everything the bot sent, inject Discord's failures (403/50007, 429) and check
//! Discord's 3-second rule. It must never be reachable from production configuration: it
//! accepts any token.

#![recursion_limit = "256"]

mod access;
mod config;
pub mod control;
mod dispatch;
mod failures;
mod gateway;
mod ids;
mod model;
mod multipart;
mod payloads;
mod ratelimit;
mod rest;
mod state;
mod tls;
mod validation;

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use config::{
    AccessOptions, FakeChannel, FakeDiscordConfig, FakeGuild, FakeRole, GatewayOptions,
};
pub use model::{
    FakeAttachment, FakeUser, InteractionKind, InteractionRecord, MessageRef, Part, RecordedBody,
    RecordedMessage, RecordedRequest, SessionInfo, SlashOption, UploadedFile, DEFAULT_LOCALE,
};
pub use ratelimit::{
    counts_toward_global, route_template, RateLimitConfig, RateLimitCounts, RateLimitHit,
    RateLimitScope, RouteLimit,
};

use failures::route_segments;
use state::{FailureRule, Outbound, Shared};

/// Largest request body accepted, above Discord's file limit so oversized uploads reach the
/// 40005 check instead of failing in the framework.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Entry point: `FakeDiscord::start(config)`.
pub struct FakeDiscord;

impl FakeDiscord {
    /// Binds the REST API and the gateway and serves them on the current tokio runtime.
    pub async fn start(config: FakeDiscordConfig) -> anyhow::Result<RunningFake> {
        let routes = validation::load().context("loading Discord's OpenAPI specification")?;
        validation::check_locale(&config.guild_locale)
            .context("FakeDiscordConfig::guild_locale")?;
        let rest_listener = std::net::TcpListener::bind(config.bind)
            .with_context(|| format!("binding the fake Discord REST API on {}", config.bind))?;
        let rest_addr = rest_listener.local_addr()?;
        let gateway_listener = tokio::net::TcpListener::bind(config.gateway_bind)
            .await
            .with_context(|| {
                format!(
                    "binding the fake Discord gateway on {}",
                    config.gateway_bind
                )
            })?;
        let gateway_addr = gateway_listener.local_addr()?;
        let resume_listener = tokio::net::TcpListener::bind(config.gateway.resume_bind)
            .await
            .with_context(|| {
                format!(
                    "binding the fake Discord resume gateway on {}",
                    config.gateway.resume_bind
                )
            })?;
        let resume_addr = resume_listener.local_addr()?;

        let base_url = format!("http://{rest_addr}");
        let gateway_url = format!("ws://{gateway_addr}");
        let mut shared = Shared::new(config, base_url, gateway_url);
        shared.resume_gateway_url = format!("ws://{resume_addr}");
        let shared = Arc::new(shared);

        let data = web::Data::new(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .default_service(web::to(rest::handle))
        })
        .workers(1)
        .disable_signals()
        .listen(rest_listener)?
        .run();
        let server_handle = server.handle();
        tokio::spawn(server);

        let shutdown = CancellationToken::new();
        let tls = if shared.config.tls {
            let bind = std::net::SocketAddr::new(shared.config.bind.ip(), 0);
            Some(tls::start(bind, rest_addr, shutdown.clone()).await?)
        } else {
            None
        };
        tokio::spawn(gateway::serve(
            gateway_listener,
            Arc::clone(&shared),
            shutdown.clone(),
            gateway::Entry::First,
        ));
        tokio::spawn(gateway::serve(
            resume_listener,
            Arc::clone(&shared),
            shutdown.clone(),
            gateway::Entry::ResumeUrl,
        ));
        tracing::info!(rest = %rest_addr, gateway = %gateway_addr, routes, "fake Discord listening");

        Ok(RunningFake {
            shared,
            server: server_handle,
            shutdown,
            invalid_requests_expected: AtomicBool::new(false),
            tls,
        })
    }
}

/// A running fake Discord. Dropping it stops both servers.
///
/// Dropping it also fails the test (panics) if it answered any request with 400 / 50035
/// "Invalid Form Body", that is if the code under test sent something Discord would refuse,
/// unless the test called [`RunningFake::expect_invalid_requests`].
pub struct RunningFake {
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
    shutdown: CancellationToken,
    /// The test sends invalid bodies on purpose; dropping the fake does not fail it.
    invalid_requests_expected: AtomicBool,
    tls: Option<tls::TlsFront>,
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Sends the stop command now; the returned future only waits for completion.
        drop(self.server.stop(false));
        self.tally_validation();
        if !self.invalid_requests_expected.load(Ordering::Relaxed) && !std::thread::panicking() {
            if let Err(report) = self.check_no_invalid_requests() {
                panic!("{report}");
            }
        }
    }
}

impl RunningFake {
    /// What to give serenity as `HttpBuilder::proxy`, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The gateway URL `GET /api/v10/gateway` hands out, e.g. `ws://127.0.0.1:40124`.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    pub fn config(&self) -> &FakeDiscordConfig {
        &self.shared.config
    }

    /// Where the REST API answers over TLS as `discord.com` (with `config.tls`): resolve
    /// `discord.com` to this address and trust [`Self::tls_ca_pem`].
    pub fn tls_addr(&self) -> Option<std::net::SocketAddr> {
        self.tls.as_ref().map(|t| t.addr)
    }

    /// The PEM of the CA that signed the TLS front's certificate (with `config.tls`).
    pub fn tls_ca_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|t| t.ca_pem.clone())
    }

    /// Every 429 the fake's rate limits answered (injected ones not included), in order.
    pub fn rate_limit_hits(&self) -> Vec<RateLimitHit> {
        self.shared.rate_limits.hits()
    }

    /// The 429s the fake's rate limits answered, counted by scope and by route bucket
    /// (`POST /channels/{id}/messages`), as `GET /_fake/rate-limits` shows them.
    pub fn rate_limit_counts(&self) -> RateLimitCounts {
        RateLimitCounts::of(&self.rate_limit_hits())
    }

    /// Stops both servers and closes every gateway session.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
    }

    // ---- recorded requests -------------------------------------------------------------

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests matching `method` (or `*`) and a path pattern (`*` matches one segment; the
    /// `/api/v10` prefix is optional).
    pub fn requests_to(&self, method: &str, pattern: &str) -> Vec<RecordedRequest> {
        let probe = FailureRule::error(method, pattern, 0, 0, 1);
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| probe.matches(&r.method, &route_segments(&r.path)))
            .cloned()
            .collect()
    }

    // ---- request validation ------------------------------------------------------------

    /// Requests answered 400 / 50035 because their body broke Discord's OpenAPI schema or a
    /// documented rule; `invalid_form` holds Discord's `errors` tree.
    pub fn invalid_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.invalid_form.is_some())
            .collect()
    }

    /// How many requests had their body validated (accepted or refused).
    pub fn validated_request_count(&self) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.validated)
            .count()
    }

    /// The test sends invalid bodies on purpose: dropping the fake will not fail it.
    pub fn expect_invalid_requests(&self) {
        self.invalid_requests_expected
            .store(true, Ordering::Relaxed);
    }

    /// `Err` with a readable report (tokens redacted) if any request was refused with 50035.
    pub fn check_no_invalid_requests(&self) -> Result<(), String> {
        let invalid = self.invalid_requests();
        if invalid.is_empty() {
            return Ok(());
        }
        let mut report = format!(
            "the fake Discord refused {} request(s) with 400/50035 Invalid Form Body, as Discord would \
             (call `expect_invalid_requests()` if the test sends them on purpose):",
            invalid.len()
        );
        for request in &invalid {
            let errors = request.invalid_form.clone().unwrap_or_default();
            report.push_str(&format!(
                "\n  {} {}: {errors}",
                request.method,
                request.redacted_path()
            ));
        }
        Err(report)
    }

    /// Panics with the report of [`Self::check_no_invalid_requests`].
    pub fn assert_no_invalid_requests(&self) {
        if let Err(report) = self.check_no_invalid_requests() {
            panic!("{report}");
        }
    }

    /// With `FAKE_DISCORD_TALLY=<file>`, appends `validated invalid requests` for this fake, so
    /// a whole test run can count the requests it had validated.
    fn tally_validation(&self) {
        let Ok(path) = std::env::var("FAKE_DISCORD_TALLY") else {
            return;
        };
        let (validated, invalid, total) = {
            let inner = self.shared.lock();
            (
                inner.requests.iter().filter(|r| r.validated).count(),
                inner
                    .requests
                    .iter()
                    .filter(|r| r.invalid_form.is_some())
                    .count(),
                inner.requests.len(),
            )
        };
        let line = format!("{validated} {invalid} {total}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(%path, error = %e, "could not append to FAKE_DISCORD_TALLY");
        }
    }

    /// Requests to routes the fake does not know (answered 404 `{"code":0}`).
    pub fn unknown_route_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.unknown_route)
            .collect()
    }

    // ---- messages and channels ---------------------------------------------------------

    /// Every message the bot created (channel messages, DMs, interaction responses, follow-ups).
    pub fn messages(&self) -> Vec<RecordedMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .map(|m| m.record.clone())
            .collect()
    }

    pub fn message(&self, id: u64) -> Option<RecordedMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .find(|m| m.record.id == id)
            .map(|m| m.record.clone())
    }

    /// Messages in a channel (or thread), oldest first, deleted ones included (see `deleted`).
    pub fn channel_messages(&self, channel_id: u64) -> Vec<RecordedMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.channel_id == channel_id)
            .collect()
    }

    /// The DM channel with a user, if the bot opened one.
    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.shared.lock().dm_channels.get(&user_id).copied()
    }

    /// Messages the bot sent to a user's DMs.
    pub fn dm_messages_to(&self, user_id: u64) -> Vec<RecordedMessage> {
        match self.dm_channel_of(user_id) {
            Some(channel) => self.channel_messages(channel),
            None => Vec::new(),
        }
    }

    /// A channel object (guild text channel, DM or thread).
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.shared.lock().channels.get(&id).cloned()
    }

    /// Threads the bot created, as channel objects.
    pub fn threads(&self) -> Vec<Value> {
        self.shared
            .lock()
            .channels
            .values()
            .filter(|c| matches!(c["type"].as_u64(), Some(10..=12)))
            .cloned()
            .collect()
    }

    /// Users in a thread (the bot and whoever was added).
    pub fn thread_members(&self, thread_id: u64) -> Vec<u64> {
        self.shared
            .lock()
            .thread_members
            .get(&thread_id)
            .cloned()
            .unwrap_or_default()
    }

    // ---- commands ----------------------------------------------------------------------

    pub fn global_commands(&self) -> Vec<Value> {
        self.shared.lock().global_commands.clone()
    }

    pub fn guild_commands(&self, guild_id: u64) -> Vec<Value> {
        self.shared
            .lock()
            .guild_commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    // ---- interactions ------------------------------------------------------------------

    pub fn interactions(&self) -> Vec<InteractionRecord> {
        let mut inner = self.shared.lock();
        self.shared.expire_interactions(&mut inner);
        inner.interactions.clone()
    }

    pub fn interaction(&self, id: u64) -> Option<InteractionRecord> {
        // Without copying every record: benchmarks poll this for a thousand interactions.
        let mut inner = self.shared.lock();
        self.shared.expire_interactions(&mut inner);
        inner.interactions.iter().find(|i| i.id == id).cloned()
    }

    /// Callback bodies (`{type, data}`) the bot posted for an interaction.
    pub fn interaction_responses(&self, id: u64) -> Vec<Value> {
        self.interaction(id)
            .map(|i| i.callbacks)
            .unwrap_or_default()
    }

    /// Time from dispatch to the first in-time callback; `None` if there was none.
    pub fn interaction_latency(&self, id: u64) -> Option<Duration> {
        self.interaction(id).and_then(|i| i.latency())
    }

    /// Interactions that missed Discord's deadline.
    pub fn failed_interactions(&self) -> Vec<InteractionRecord> {
        self.interactions()
            .into_iter()
            .filter(|i| i.failed)
            .collect()
    }

    /// The message `@original` currently refers to for an interaction token.
    pub fn original_response(&self, token: &str) -> Option<RecordedMessage> {
        let inner = self.shared.lock();
        let id = inner
            .interactions
            .iter()
            .find(|i| i.token == token)?
            .original_message_id?;
        inner
            .messages
            .iter()
            .find(|m| m.record.id == id)
            .map(|m| m.record.clone())
    }

    /// The original response of an interaction, by interaction id.
    pub fn original_response_of(&self, interaction_id: u64) -> Option<RecordedMessage> {
        let token = self.interaction(interaction_id)?.token;
        self.original_response(&token)
    }

    /// Follow-up messages of an interaction, oldest first.
    pub fn followups(&self, interaction_id: u64) -> Vec<RecordedMessage> {
        let inner = self.shared.lock();
        let original = inner
            .interactions
            .iter()
            .find(|i| i.id == interaction_id)
            .and_then(|i| i.original_message_id);
        inner
            .messages
            .iter()
            .filter(|m| m.interaction_id == Some(interaction_id) && Some(m.record.id) != original)
            .map(|m| m.record.clone())
            .collect()
    }

    // ---- gateway sessions --------------------------------------------------------------

    /// Every session that identified, connected or not.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared
            .lock()
            .sessions
            .iter()
            .map(|s| s.info.clone())
            .collect()
    }

    pub fn connected_sessions(&self) -> Vec<SessionInfo> {
        self.sessions()
            .into_iter()
            .filter(|s| s.connected)
            .collect()
    }

    /// Asks every connected session to reconnect (op 7), as Discord does before maintenance.
    pub fn request_reconnect(&self) {
        let inner = self.shared.lock();
        for session in inner.sessions.iter().filter(|s| s.info.connected) {
            if let Some(sender) = &session.sender {
                let _ = sender.send(Outbound::Raw(
                    serde_json::json!({"op": 7, "d": null, "s": null, "t": null}),
                ));
            }
        }
    }

    /// Polls `check` every 20 ms until it yields a value or `timeout` passes.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&RunningFake) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(value) = check(self) {
                return Some(value);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `count` sessions are connected.
    pub async fn wait_for_sessions(&self, count: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |f| {
            (f.connected_sessions().len() >= count).then_some(())
        })
        .await
        .is_some()
    }

    // ---- world setup and failure injection ---------------------------------------------

    /// Makes a user a guild member (for `GET /guilds/{g}/members/{u}`). Dispatching an
    /// interaction in the guild does this too.
    pub fn add_member(&self, user: &FakeUser) {
        self.shared.lock().members.insert(user.id, user.clone());
    }

    /// The user's Discord client speaks `locale` (one of Discord's locales, e.g. `"id"` for
    /// Indonesian): their next interactions carry it as `locale` (and in their `user` object),
    /// unless the [`FakeUser`] passed with them has its own ([`FakeUser::with_locale`]).
    /// `Err` naming Discord's locales if `locale` is not one of them.
    pub fn set_user_locale(&self, user_id: u64, locale: &str) -> anyhow::Result<()> {
        validation::check_locale(locale)?;
        self.shared
            .lock()
            .user_locales
            .insert(user_id, locale.to_string());
        Ok(())
    }

    /// The locale the interactions of user `user_id` carry when their [`FakeUser`] has none.
    pub fn user_locale(&self, user_id: u64) -> String {
        self.shared
            .lock()
            .user_locales
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string())
    }

    /// Guild `guild_id` (the main guild or an extra one) prefers `locale`: its next
    /// interactions carry it as `guild_locale` (and the next GUILD_CREATE of the main guild as
    /// `preferred_locale`). `Err` for an unknown guild or a locale Discord does not have.
    pub fn set_guild_locale(&self, guild_id: u64, locale: &str) -> anyhow::Result<()> {
        validation::check_locale(locale)?;
        if !self.shared.knows_guild(guild_id) {
            anyhow::bail!("no guild {guild_id}");
        }
        self.shared
            .lock()
            .guild_locales
            .insert(guild_id, locale.to_string());
        Ok(())
    }

    /// Guild `guild_id`'s preferred locale (`en-US` unless configured or set).
    pub fn guild_locale(&self, guild_id: u64) -> String {
        let inner = self.shared.lock();
        self.shared.guild_locale(&inner, guild_id)
    }

    /// Registers a file a user "uploads"; its `url` serves the bytes.
    pub fn add_attachment(&self, filename: &str, bytes: impl Into<Vec<u8>>) -> FakeAttachment {
        let mut inner = self.shared.lock();
        self.shared.store_file(&mut inner, filename, bytes.into())
    }

    /// Answers the next `times` requests matching `method` (or `*`) and `path_pattern` with
    /// `status` and Discord's error JSON for `discord_code`.
    pub fn fail_route(
        &self,
        method: &str,
        path_pattern: &str,
        status: u16,
        discord_code: u32,
        times: usize,
    ) {
        self.shared.lock().failures.push(FailureRule::error(
            method,
            path_pattern,
            status,
            discord_code,
            times,
        ));
    }

    /// Answers the next `times` matching requests with 429, `retry_after` seconds and
    /// Discord's rate-limit headers.
    pub fn rate_limit_route(
        &self,
        method: &str,
        path_pattern: &str,
        retry_after: f64,
        global: bool,
        times: usize,
    ) {
        self.shared.lock().failures.push(FailureRule::rate_limit(
            method,
            path_pattern,
            retry_after,
            global,
            times,
        ));
    }

    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// The user has DMs closed: messages to their DM channel get 403/50007 (opening the DM
    /// channel still works, as on Discord).
    pub fn close_dms_for(&self, user_id: u64) {
        let mut inner = self.shared.lock();
        inner.closed_dms.insert(user_id);
        inner.dm_refusal_codes.remove(&user_id);
    }

    /// The user cannot be messaged with Discord's other refusal: 403/50278 "Cannot send messages
    /// to this user due to having no mutual guilds" (opening the DM channel still works).
    pub fn refuse_dms_for(&self, user_id: u64, discord_code: u32) {
        let mut inner = self.shared.lock();
        inner.closed_dms.insert(user_id);
        inner.dm_refusal_codes.insert(user_id, discord_code);
    }

    /// Downloading the attachment gets the CDN's HTML error page with `status` (403, 404, 500…),
    /// as when a signed attachment URL expired or the CDN fails.
    pub fn fail_attachment(&self, attachment: &FakeAttachment, status: u16) {
        self.shared.lock().cdn_errors.insert(attachment.id, status);
    }

    pub fn open_dms_for(&self, user_id: u64) {
        let mut inner = self.shared.lock();
        inner.closed_dms.remove(&user_id);
        inner.dm_refusal_codes.remove(&user_id);
    }
}
