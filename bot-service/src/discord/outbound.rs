//! Discord REST calls the bot makes outside of a command's own reply: DMs, follow-ups and edits
//! through an interaction token, private threads, channel messages — each classified into a
//! [`FailureClass`] and retried with backoff when that can help.

use std::future::Future;
use std::time::Duration;

use serenity::all::{
    Builder, ChannelId, ChannelType, CreateThread, GuildChannel, MessageId, UserId,
};
use serenity::http::{Http, HttpError};

use super::budget::{DmChannels, GlobalBudget};
use super::render;
use crate::domain::message::Message;
use crate::domain::retry::{classify, FailureClass, RetryPolicy};
use crate::metrics::Metrics;

/// A Discord call that failed, reduced to what the caller can act on. Never contains a token.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Discord call failed ({class:?}): {detail}")]
pub struct DiscordFailure {
    pub class: FailureClass,
    /// Status and Discord code/message; safe to log.
    pub detail: String,
}

/// An error as it may be logged: its whole chain (`{:#}`), with the interaction and webhook
/// tokens of any URL in it (reqwest names the URL) and the configured secrets masked.
pub fn loggable(error: &dyn std::fmt::Display) -> String {
    service_runtime::redact(&format!("{error:#}")).into_owned()
}

/// Classifies a serenity error and counts it.
pub fn failure(error: &serenity::Error, metrics: &Metrics) -> DiscordFailure {
    let (class, detail, label) = match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) => {
            let status = resp.status_code.as_u16();
            let code = resp.error.code as i64;
            let code = (code > 0).then_some(code);
            (
                classify(Some(status), code, None),
                format!("HTTP {status}, code {:?}: {}", code, resp.error.message),
                code.map(|c| c.to_string())
                    .unwrap_or_else(|| format!("http_{status}")),
            )
        }
        serenity::Error::Http(HttpError::Request(e)) => (
            FailureClass::Transient,
            // reqwest's message includes the URL, which can hold an interaction token.
            format!(
                "network error (timeout: {}, connect: {})",
                e.is_timeout(),
                e.is_connect()
            ),
            "network".to_string(),
        ),
        other => (
            FailureClass::Permanent,
            loggable(other),
            "other".to_string(),
        ),
    };
    metrics.discord_errors.with_label_values(&[&label]).inc();
    DiscordFailure { class, detail }
}

/// Runs `call` up to `policy.attempts` times while its failures are retryable, waiting with
/// backoff (at least Discord's `retry_after`) in between.
pub async fn with_retry<T, F, Fut>(
    policy: RetryPolicy,
    metrics: &Metrics,
    mut call: F,
) -> Result<T, DiscordFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut delays = policy.delays();
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let f = failure(&e, metrics);
                if !f.class.is_retryable() {
                    return Err(f);
                }
                let Some(step) = delays.next() else {
                    return Err(f);
                };
                let mut pause = policy.pause(step, f.class);
                if let FailureClass::RateLimited { .. } = f.class {
                    metrics.rate_limit_waits.inc();
                    // Without serenity's own rate limiter the body's retry_after is not exposed;
                    // wait at least a second, Discord's usual bucket reset.
                    pause = pause.max(Duration::from_secs(1));
                }
                tracing::warn!(error = %f, pause_ms = pause.as_millis() as u64, "Discord call failed, retrying");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Discord's "Unknown Channel": a remembered DM channel Discord no longer knows.
const UNKNOWN_CHANNEL: isize = 10003;

/// The REST client for requests on the token's global limit: each one first takes a token from
/// this replica's share of the [`GlobalBudget`], and DM channels are remembered. Interaction
/// callbacks, follow-ups and edits through an interaction token are outside the global limit and
/// never wait here, so answering a click never queues behind deliveries.
#[derive(Clone, Copy)]
pub struct Rest<'a> {
    pub http: &'a Http,
    pub budget: &'a GlobalBudget,
    pub dm_channels: &'a DmChannels,
}

/// Sends `message` to the user's DMs and returns the message id: two requests (open the DM
/// channel, send) the first time, one once the channel is known. The budget for both is taken
/// at once, so a delivery that started is not overtaken by later ones.
pub async fn send_dm(
    rest: Rest<'_>,
    user: UserId,
    message: &Message,
) -> Result<MessageId, serenity::Error> {
    let known = rest.dm_channels.get(user.get());
    rest.budget
        .acquire(if known.is_some() { 1 } else { 2 })
        .await;
    let channel = match known {
        Some(id) => ChannelId::new(id),
        None => {
            let channel = user.create_dm_channel(rest.http).await?.id;
            rest.dm_channels.remember(user.get(), channel.get());
            channel
        }
    };
    match channel
        .send_message(rest.http, render::create_message(message))
        .await
    {
        Ok(sent) => Ok(sent.id),
        Err(error) => {
            if let serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) = &error {
                if resp.error.code == UNKNOWN_CHANNEL {
                    rest.dm_channels.forget(user.get());
                }
            }
            Err(error)
        }
    }
}

/// Posts a follow-up to an interaction through its token (works from any replica for 15 min).
pub async fn followup(
    http: &Http,
    token: &str,
    message: &Message,
    ephemeral: bool,
) -> Result<MessageId, serenity::Error> {
    let sent = render::followup(message, ephemeral)
        .execute(http, (None, token))
        .await?;
    Ok(sent.id)
}

/// Replaces the interaction's original response (or, for a component, the message it is on).
pub async fn edit_original(
    http: &Http,
    token: &str,
    message: &Message,
) -> Result<(), serenity::Error> {
    render::edit(message).execute(http, token).await?;
    Ok(())
}

/// Opens a private thread in `channel` with only `user` added (besides the bot and whoever a
/// later message mentions). Two requests on the global limit.
pub async fn open_private_thread(
    rest: Rest<'_>,
    channel: ChannelId,
    name: &str,
    user: UserId,
) -> Result<GuildChannel, serenity::Error> {
    rest.budget.acquire(2).await;
    let thread = channel
        .create_thread(
            rest.http,
            CreateThread::new(name)
                .kind(ChannelType::PrivateThread)
                .invitable(false),
        )
        .await?;
    thread.id.add_thread_member(rest.http, user).await?;
    Ok(thread)
}

/// `message` with `greeting` as its text (a mention, so Discord shows the thread to them).
pub fn with_greeting(message: &Message, greeting: &str) -> Message {
    let mut with_mention = message.clone();
    with_mention.content = Some(greeting.to_string());
    with_mention
}

/// Opens a private thread in `channel` with only `user` added and posts `message` there.
pub async fn private_thread(
    rest: Rest<'_>,
    channel: ChannelId,
    name: &str,
    user: UserId,
    greeting: &str,
    message: &Message,
) -> Result<MessageId, serenity::Error> {
    let thread = open_private_thread(rest, channel, name, user).await?;
    post(rest, thread.id, &with_greeting(message, greeting)).await
}

/// Replaces the embeds and components of a message the bot posted in a channel.
pub async fn edit_channel_message(
    rest: Rest<'_>,
    channel: ChannelId,
    message_id: MessageId,
    message: &Message,
) -> Result<(), serenity::Error> {
    rest.budget.acquire(1).await;
    channel
        .edit_message(rest.http, message_id, render::edit_message(message))
        .await?;
    Ok(())
}

/// Posts `message` in a channel or thread, within the global budget.
pub async fn post(
    rest: Rest<'_>,
    channel: ChannelId,
    message: &Message,
) -> Result<MessageId, serenity::Error> {
    rest.budget.acquire(1).await;
    let sent = channel
        .send_message(rest.http, render::create_message(message))
        .await?;
    Ok(sent.id)
}
