//! Checks the admin role when an admin command or button runs, and signs the admin claim.

use chrono::Utc;
use serenity::all::Context as SerenityContext;
use shared_proto::AdminClaim;

use super::interaction::Origin;
use crate::domain::admin::{check_admin, sign_claim, AdminRole, GuildRole, NotAdmin};
use crate::state::AppState;

/// The claim for `request_id` when the member holds the admin role, else why not.
pub async fn admin_claim(
    ctx: &SerenityContext,
    state: &AppState,
    origin: &Origin,
    request_id: &str,
) -> Result<AdminClaim, NotAdmin> {
    let roles = origin.role_ids();
    let guild_roles = match (&state.settings.admin_role, origin.guild_id) {
        (AdminRole::Name(_), Some(guild_id)) => guild_roles(ctx, guild_id).await,
        _ => Vec::new(),
    };
    let role = check_admin(&state.settings.admin_role, roles.as_deref(), &guild_roles)?;
    Ok(sign_claim(
        &state.settings.admin_claim_secret,
        origin.user,
        Some(origin.username.clone()),
        role,
        Utc::now(),
        request_id,
    ))
}

/// The guild's roles, from the cache when the gateway filled it, else from the REST API.
async fn guild_roles(ctx: &SerenityContext, guild_id: serenity::all::GuildId) -> Vec<GuildRole> {
    let cached: Option<Vec<GuildRole>> = ctx.cache.guild(guild_id).map(|g| {
        g.roles
            .values()
            .map(|r| GuildRole {
                id: r.id.get(),
                name: r.name.clone(),
            })
            .collect()
    });
    if let Some(roles) = cached.filter(|r| !r.is_empty()) {
        return roles;
    }
    match ctx.http.get_guild_roles(guild_id).await {
        Ok(roles) => roles
            .into_iter()
            .map(|r| GuildRole {
                id: r.id.get(),
                name: r.name,
            })
            .collect(),
        Err(error) => {
            tracing::warn!(error = %super::outbound::loggable(&error), "could not read the guild's roles; treating the member as non-admin");
            Vec::new()
        }
    }
}
