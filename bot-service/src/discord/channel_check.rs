//! At start, checks that `PUBLIC_CHANNEL_ID` can hold the private delivery threads: reads the
//! channel (its type and overwrites), the guild's roles and the bot's own member over REST, and
//! computes the bot's permissions there as Discord does. A channel that cannot is reported
//! loudly and not used; the start never fails over it.

use serenity::all::{Channel, ChannelId, PermissionOverwriteType};
use serenity::http::{Http, HttpError};

use crate::domain::permissions::{self, Overwrite, ThreadChannelProblem};

/// A Discord error reduced to status and code; never carries a URL (it could hold a token).
fn describe(error: &serenity::Error) -> String {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) => format!(
            "HTTP {}, code {}: {}",
            resp.status_code.as_u16(),
            resp.error.code,
            resp.error.message
        ),
        serenity::Error::Http(_) => "the request to Discord failed".to_string(),
        other => other.to_string(),
    }
}

/// Whether private delivery threads can be opened in `channel`.
#[tracing::instrument(skip_all, fields(channel_id = %channel))]
pub async fn check_thread_channel(
    http: &Http,
    channel: ChannelId,
) -> Result<(), ThreadChannelProblem> {
    let unreachable = |e: serenity::Error| ThreadChannelProblem::Unreachable(describe(&e));
    let channel = match http.get_channel(channel).await.map_err(unreachable)? {
        Channel::Guild(c) => c,
        _ => {
            return Err(ThreadChannelProblem::Unreachable(
                "not a server channel".to_string(),
            ))
        }
    };
    let bot = http.get_current_user().await.map_err(unreachable)?;
    let roles = http
        .get_guild_roles(channel.guild_id)
        .await
        .map_err(unreachable)?;
    let member = http
        .get_member(channel.guild_id, bot.id)
        .await
        .map_err(unreachable)?;
    let roles: Vec<(u64, u64)> = roles
        .iter()
        .map(|r| (r.id.get(), r.permissions.bits()))
        .collect();
    let member_roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let overwrites: Vec<Overwrite> = channel
        .permission_overwrites
        .iter()
        .filter_map(|o| {
            let (id, member) = match o.kind {
                PermissionOverwriteType::Member(u) => (u.get(), true),
                PermissionOverwriteType::Role(r) => (r.get(), false),
                _ => return None,
            };
            Some(Overwrite {
                id,
                member,
                allow: o.allow.bits(),
                deny: o.deny.bits(),
            })
        })
        .collect();
    let granted = permissions::channel_permissions(
        channel.guild_id.get(),
        &roles,
        bot.id.get(),
        &member_roles,
        &overwrites,
    );
    permissions::check_thread_channel(u8::from(channel.kind), granted)
}

/// `PUBLIC_CHANNEL_ID` when private delivery threads can be opened there; otherwise says why at
/// error level and returns `None`, so deliveries fall back to the channel the user clicked in.
pub async fn usable_thread_channel(http: &Http, configured: u64) -> Option<u64> {
    usable(
        http,
        configured,
        "PUBLIC_CHANNEL_ID",
        "buyers with closed DMs will get their codes in a private thread of the channel they clicked in instead, where the bot is allowed to",
    )
    .await
}

/// `SUPPORT_CHANNEL_ID` when private report threads can be opened there; otherwise says why at
/// error level and returns `None`, so report threads go to `PUBLIC_CHANNEL_ID`.
pub async fn usable_support_channel(http: &Http, configured: u64) -> Option<u64> {
    usable(
        http,
        configured,
        "SUPPORT_CHANNEL_ID",
        "buyers' reports open their support thread in PUBLIC_CHANNEL_ID instead (or are recorded without one)",
    )
    .await
}

/// `configured` (the channel of `setting`) if private threads can be opened there; else logs
/// the problem loudly, with what happens instead (`fallback`).
async fn usable(http: &Http, configured: u64, setting: &str, fallback: &str) -> Option<u64> {
    match check_thread_channel(http, ChannelId::new(configured)).await {
        Ok(()) => {
            tracing::info!(
                channel_id = configured,
                setting,
                "the channel can hold private threads"
            );
            Some(configured)
        }
        Err(problem) => {
            tracing::error!(
                channel_id = configured,
                setting,
                %problem,
                needed = ?permissions::missing(0, permissions::PRIVATE_THREAD_CHANNEL),
                fallback,
                "THE CHANNEL OF THIS SETTING CANNOT HOLD PRIVATE THREADS. Point it at a text channel where the bot has these permissions."
            );
            None
        }
    }
}
