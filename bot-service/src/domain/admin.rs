//! Who counts as an admin, and the signed claim that proves it to the payment-service.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared_proto::{AdminClaim, DiscordUserId};

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

/// Why a member is not treated as an admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAdmin {
    #[error("Admin commands work only inside the server, not in direct messages.")]
    NotInGuild,
    #[error("You need the {0} role to use this command.")]
    MissingRole(String),
}

/// Decides whether a member with `member_roles` holds the admin role. `guild_roles` is needed
/// only when the role is configured by name (the interaction carries role ids, not names).
/// Returns the role string that goes into the claim.
pub fn check_admin(
    config: &AdminRole,
    member_roles: Option<&[u64]>,
    guild_roles: &[GuildRole],
) -> Result<String, NotAdmin> {
    let roles = member_roles.ok_or(NotAdmin::NotInGuild)?;
    match config {
        AdminRole::Id(id) => {
            if roles.contains(id) {
                Ok(id.to_string())
            } else {
                Err(NotAdmin::MissingRole(format!("<@&{id}>")))
            }
        }
        AdminRole::Name(name) => {
            let held = guild_roles
                .iter()
                .any(|r| r.name == *name && roles.contains(&r.id));
            if held {
                Ok(name.clone())
            } else {
                Err(NotAdmin::MissingRole(format!("\"{name}\"")))
            }
        }
    }
}

/// Signs an admin claim for one request (hex HMAC-SHA256 over [`AdminClaim::signing_input`]).
pub fn sign_claim(
    secret: &SecretString,
    admin: DiscordUserId,
    admin_username: Option<String>,
    role: String,
    issued_at: DateTime<Utc>,
    request_id: &str,
) -> AdminClaim {
    let input = AdminClaim::signing_input(admin, &role, issued_at, request_id);
    let signature = hmac_hex(secret, input.as_bytes());
    AdminClaim {
        admin_user_id: admin,
        admin_username,
        role,
        issued_at,
        signature,
    }
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

    #[test]
    fn role_id_is_checked_against_member_roles() {
        let cfg = AdminRole::Id(10);
        assert_eq!(check_admin(&cfg, Some(&[11, 10]), &[]), Ok("10".into()));
        assert!(matches!(
            check_admin(&cfg, Some(&[11]), &roles()),
            Err(NotAdmin::MissingRole(_))
        ));
        assert_eq!(check_admin(&cfg, None, &roles()), Err(NotAdmin::NotInGuild));
    }

    #[test]
    fn role_name_needs_the_guild_roles_and_matches_exactly() {
        let cfg = AdminRole::Name("Admin".into());
        assert_eq!(check_admin(&cfg, Some(&[10]), &roles()), Ok("Admin".into()));
        assert!(check_admin(&cfg, Some(&[11]), &roles()).is_err());
        // Without the guild's roles the name cannot be resolved: refused, never assumed.
        assert!(check_admin(&cfg, Some(&[10]), &[]).is_err());
        let lower = AdminRole::Name("admin".into());
        assert!(check_admin(&lower, Some(&[10]), &roles()).is_err());
    }

    #[test]
    fn claim_signature_is_hmac_sha256_of_the_signing_input() {
        let secret = SecretString::from("s3cret");
        let admin = DiscordUserId::new(42).unwrap();
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let claim = sign_claim(&secret, admin, None, "Admin".into(), at, "req-1");
        assert_eq!(claim.signature.len(), 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"admin-claim:v1|42|Admin|1700000000|req-1");
        assert_eq!(claim.signature, hex::encode(mac.finalize().into_bytes()));
        let other = sign_claim(&secret, admin, None, "Admin".into(), at, "req-2");
        assert_ne!(claim.signature, other.signature);
        let other_key = sign_claim(
            &SecretString::from("other"),
            admin,
            None,
            "Admin".into(),
            at,
            "req-1",
        );
        assert_ne!(claim.signature, other_key.signature);
    }
}
