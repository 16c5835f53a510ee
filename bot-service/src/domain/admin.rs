//! Who counts as an admin, and the signed claim that proves it to the payment-service.
//!
//! Admin rights belong to the shop's own guild(s) only (`DISCORD_GUILD_ID`): the admin role is
//! resolved once per shop guild at start ([`resolve_admin_role`]) into an [`AdminAccess`], and
//! a command from any other guild or from a DM is refused whatever roles its member holds there.
//! The claim is then bound to the guild, the operation and its parameters ([`sign_claim`]).

use super::i18n::Lang;
use crate::tr;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared_proto::{AdminClaim, AdminOperation, DiscordGuildId, DiscordUserId};

/// How the admin role is configured. The id wins when both are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRole {
    Id(u64),
    Name(String),
}

/// A role of the guild, as far as the admin check cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildRole {
    pub id: u64,
    pub name: String,
}

/// Why the configured admin role cannot be used in a shop guild: the bot refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleResolutionError {
    #[error("no role named {name:?} in guild {guild_id} (ADMIN_ROLE_NAME); create it or set ADMIN_ROLE_ID")]
    Missing { name: String, guild_id: u64 },
    #[error("{count} roles are named {name:?} in guild {guild_id} (ids {ids}); ADMIN_ROLE_NAME must name exactly one role: rename the others or set ADMIN_ROLE_ID")]
    Ambiguous {
        name: String,
        guild_id: u64,
        count: usize,
        ids: String,
    },
}

/// The admin role's id in `guild_id`: the configured id, or the one role of the guild whose name
/// is exactly the configured name. Two roles with that name (anyone with Manage Roles can add
/// one) would make the name mean two things, so that is an error, as is no such role.
pub fn resolve_admin_role(
    config: &AdminRole,
    guild_id: u64,
    guild_roles: &[GuildRole],
) -> Result<u64, RoleResolutionError> {
    match config {
        AdminRole::Id(id) => Ok(*id),
        AdminRole::Name(name) => {
            let matching: Vec<u64> = guild_roles
                .iter()
                .filter(|r| r.name == *name)
                .map(|r| r.id)
                .collect();
            match matching.as_slice() {
                [one] => Ok(*one),
                [] => Err(RoleResolutionError::Missing {
                    name: name.clone(),
                    guild_id,
                }),
                many => Err(RoleResolutionError::Ambiguous {
                    name: name.clone(),
                    guild_id,
                    count: many.len(),
                    ids: many
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        }
    }
}

/// The shop's guilds and, for each, the role id that makes a member an admin there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminAccess {
    roles: BTreeMap<u64, u64>,
    /// How refusals name the role: `"Admin"` when configured by name, else a role mention.
    role_label: Option<String>,
}

/// Why a member is not treated as an admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAdmin {
    #[error("Admin commands work only inside the shop's server, not in direct messages.")]
    NotInGuild,
    #[error("Admin commands work only in the shop's own server.")]
    ForeignGuild,
    #[error("You need the {0} role to use this command.")]
    MissingRole(String),
}

impl NotAdmin {
    /// The refusal in words for the member, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            NotAdmin::NotInGuild => tr!(lang, "admin-not-in-guild"),
            NotAdmin::ForeignGuild => tr!(lang, "admin-foreign-guild"),
            NotAdmin::MissingRole(role) => tr!(lang, "admin-missing-role", role = role.as_str()),
        }
    }
}

/// What an admin check grants: who, with which role, in which shop guild. Turned into a claim
/// for one command by [`AdminGrant::claim`] and [`sign_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGrant {
    pub admin: DiscordUserId,
    pub admin_username: Option<String>,
    pub role_id: u64,
    pub guild_id: DiscordGuildId,
}

impl AdminAccess {
    /// `roles`: (shop guild id, admin role id in it).
    pub fn new(roles: impl IntoIterator<Item = (u64, u64)>) -> Self {
        AdminAccess {
            roles: roles.into_iter().collect(),
            role_label: None,
        }
    }

    /// Refusals name the role as `"{name}"` (for a role configured by name).
    pub fn with_role_name(mut self, name: &str) -> Self {
        self.role_label = Some(format!("\"{name}\""));
        self
    }

    pub fn guild_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.roles.keys().copied()
    }

    /// The admin role of shop guild `guild_id` (None for any other guild).
    pub fn role_in(&self, guild_id: u64) -> Option<u64> {
        self.roles.get(&guild_id).copied()
    }

    /// Decides whether the member who used a command in `guild_id` (None: a DM) holding
    /// `member_roles` is a shop admin. Only the role resolved for that very guild counts.
    pub fn check(
        &self,
        admin: DiscordUserId,
        admin_username: Option<String>,
        guild_id: Option<u64>,
        member_roles: Option<&[u64]>,
    ) -> Result<AdminGrant, NotAdmin> {
        let guild = guild_id.ok_or(NotAdmin::NotInGuild)?;
        let role_id = *self.roles.get(&guild).ok_or(NotAdmin::ForeignGuild)?;
        let guild_id = DiscordGuildId::new(guild).map_err(|_| NotAdmin::ForeignGuild)?;
        let roles = member_roles.ok_or(NotAdmin::NotInGuild)?;
        if !roles.contains(&role_id) {
            let label = self
                .role_label
                .clone()
                .unwrap_or_else(|| format!("<@&{role_id}>"));
            return Err(NotAdmin::MissingRole(label));
        }
        Ok(AdminGrant {
            admin,
            admin_username,
            role_id,
            guild_id,
        })
    }
}

impl AdminGrant {
    /// An unsigned claim for this admin, issued at `issued_at`: put it in the command, then
    /// pass the command through [`sign_claim`].
    pub fn claim(&self, issued_at: DateTime<Utc>) -> AdminClaim {
        AdminClaim {
            admin_user_id: self.admin,
            admin_username: self.admin_username.clone(),
            role: self.role_id.to_string(),
            issued_at,
            guild_id: Some(self.guild_id),
            operation: String::new(),
            params_digest: String::new(),
            signature: String::new(),
        }
    }
}

/// Binds the claim in `command` to that command (operation, digest of its parameters) and signs
/// it (hex HMAC-SHA256 over [`AdminClaim::signing_input`]). Build the command completely first:
/// a field changed afterwards makes the payment-service refuse it.
pub fn sign_claim<T: AdminOperation>(secret: &SecretString, mut command: T) -> T {
    let mut claim = command.claim().clone();
    // Serializing our own command structs to JSON does not fail; if it ever did, the claim stays
    // unbound and unsigned and the payment-service refuses it (nothing is done, nothing panics).
    if claim.bind_to(&command).is_ok() {
        claim.signature = hmac_hex(secret, claim.signing_input(command.request_id()).as_bytes());
    } else {
        claim.signature = String::new();
    }
    *command.claim_mut() = claim;
    command
}

fn hmac_hex(secret: &SecretString, input: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails; fall back to an empty (invalid)
    // signature rather than panic if that ever changed.
    match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mut mac) => {
            mac.update(input);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shared_proto::{AdminOrderProcess, AdminStats, ProcessAction};

    const SHOP: u64 = 500;
    const OTHER: u64 = 600;

    fn roles() -> Vec<GuildRole> {
        vec![
            GuildRole {
                id: 10,
                name: "Admin".into(),
            },
            GuildRole {
                id: 11,
                name: "Member".into(),
            },
        ]
    }

    fn admin() -> DiscordUserId {
        DiscordUserId::new(42).unwrap()
    }

    #[test]
    fn role_name_resolves_to_exactly_one_role_of_the_guild() {
        let cfg = AdminRole::Name("Admin".into());
        assert_eq!(resolve_admin_role(&cfg, SHOP, &roles()), Ok(10));
        // Case matters: "admin" is another name.
        assert!(matches!(
            resolve_admin_role(&AdminRole::Name("admin".into()), SHOP, &roles()),
            Err(RoleResolutionError::Missing { .. })
        ));
        assert_eq!(resolve_admin_role(&AdminRole::Id(77), SHOP, &[]), Ok(77));
    }

    #[test]
    fn two_roles_with_the_admin_name_refuse_to_resolve() {
        let mut twice = roles();
        twice.push(GuildRole {
            id: 12,
            name: "Admin".into(),
        });
        let err = resolve_admin_role(&AdminRole::Name("Admin".into()), SHOP, &twice).unwrap_err();
        assert!(matches!(
            err,
            RoleResolutionError::Ambiguous { count: 2, .. }
        ));
        let text = err.to_string();
        assert!(
            text.contains("ADMIN_ROLE_NAME") && text.contains("10, 12"),
            "{text}"
        );
    }

    #[test]
    fn admin_role_counts_only_in_the_shop_guild() {
        let access = AdminAccess::new([(SHOP, 10)]).with_role_name("Admin");
        let grant = access
            .check(admin(), None, Some(SHOP), Some(&[11, 10]))
            .unwrap();
        assert_eq!(grant.role_id, 10);
        assert_eq!(grant.guild_id.get(), SHOP);
        assert_eq!(
            access.check(admin(), None, Some(SHOP), Some(&[11])),
            Err(NotAdmin::MissingRole("\"Admin\"".into()))
        );
        // A guild of the attacker's, where they gave themselves a role with the same id or name.
        assert_eq!(
            access.check(admin(), None, Some(OTHER), Some(&[10])),
            Err(NotAdmin::ForeignGuild)
        );
        // A DM carries no guild and no member.
        assert_eq!(
            access.check(admin(), None, None, None),
            Err(NotAdmin::NotInGuild)
        );
    }

    #[test]
    fn claim_is_bound_to_guild_operation_and_parameters_and_signed() {
        let secret = SecretString::from("s3cret");
        let access = AdminAccess::new([(SHOP, 10)]);
        let grant = access
            .check(admin(), None, Some(SHOP), Some(&[10]))
            .unwrap();
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let cmd = sign_claim(
            &secret,
            AdminOrderProcess {
                request_id: "req-1".into(),
                claim: grant.claim(at),
                order_number: "RF-1".into(),
                action: ProcessAction::Refund,
                force: false,
                reason: None,
            },
        );
        assert_eq!(cmd.claim.operation, "admin.order.process");
        assert_eq!(cmd.claim.guild_id.map(|g| g.get()), Some(SHOP));
        assert_eq!(cmd.claim.role, "10");
        assert_eq!(
            cmd.claim.params_digest,
            shared_proto::params_digest(&cmd).unwrap()
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(cmd.claim.signing_input("req-1").as_bytes());
        assert_eq!(
            cmd.claim.signature,
            hex::encode(mac.finalize().into_bytes())
        );
        // Another operation by the same admin at the same second gets another signature.
        let stats = sign_claim(
            &secret,
            AdminStats {
                request_id: "req-1".into(),
                claim: grant.claim(at),
            },
        );
        assert_ne!(stats.claim.signature, cmd.claim.signature);
        // So do other parameters.
        let redeliver = sign_claim(
            &secret,
            AdminOrderProcess {
                request_id: "req-1".into(),
                claim: grant.claim(at),
                order_number: "RF-1".into(),
                action: ProcessAction::Redeliver,
                force: false,
                reason: None,
            },
        );
        assert_ne!(redeliver.claim.signature, cmd.claim.signature);
    }
}
