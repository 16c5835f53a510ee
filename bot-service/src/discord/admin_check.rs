//! The admin check of admin commands and buttons, and the start-up resolution of the admin role
//! in the shop's guild(s).

use anyhow::Context as _;
use serenity::all::GuildId;
use serenity::http::Http;

use super::interaction::Origin;
use crate::config::Settings;
use crate::domain::admin::{
    resolve_admin_role, AdminAccess, AdminGrant, AdminRole, GuildRole, NotAdmin,
};
use crate::state::AppState;

/// The grant when the member who used the command is an admin of the shop guild it came from,
/// else why not (another guild, a DM, no admin role).
pub fn admin_grant(state: &AppState, origin: &Origin) -> Result<AdminGrant, NotAdmin> {
    let roles = origin.role_ids();
    state.admin_access.check(
        origin.user,
        Some(origin.username.clone()),
        origin.guild_id.map(GuildId::get),
        roles.as_deref(),
    )
}

/// Resolves the admin role once in each shop guild (`DISCORD_GUILD_ID`): with `ADMIN_ROLE_ID`
/// as given, with `ADMIN_ROLE_NAME` by reading the guild's roles over REST. An unknown or
/// ambiguous name is an error, so the bot does not start with an admin role anyone could copy.
pub async fn resolve_admin_access(http: &Http, settings: &Settings) -> anyhow::Result<AdminAccess> {
    let mut resolved = Vec::with_capacity(settings.guild_ids.len());
    for &guild_id in &settings.guild_ids {
        let roles = match &settings.admin_role {
            AdminRole::Id(_) => Vec::new(),
            AdminRole::Name(_) => http
                .get_guild_roles(GuildId::new(guild_id))
                .await
                .with_context(|| {
                    format!("reading the roles of guild {guild_id} (DISCORD_GUILD_ID) to find ADMIN_ROLE_NAME")
                })?
                .into_iter()
                .map(|r| GuildRole {
                    id: r.id.get(),
                    name: r.name,
                })
                .collect(),
        };
        let role_id = resolve_admin_role(&settings.admin_role, guild_id, &roles)?;
        tracing::info!(guild_id, role_id, "admin role resolved");
        resolved.push((guild_id, role_id));
    }
    let access = AdminAccess::new(resolved);
    Ok(match &settings.admin_role {
        AdminRole::Name(name) => access.with_role_name(name),
        AdminRole::Id(_) => access,
    })
}
