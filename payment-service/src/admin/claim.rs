//! Verifying the admin claim the bot attaches to admin operations: HMAC-SHA256 (hex) over
//! [`AdminClaim::signing_input`] with `ADMIN_CLAIM_SECRET`, compared in constant time, bound to
//! the request id, to one of the shop's guilds (`DISCORD_GUILD_ID`), to the operation (the
//! command's message type) and to a digest of the command's parameters
//! ([`shared_proto::params_digest`]), and fresh (issued at most [`MAX_AGE`] ago).
//!
//! So a claim captured from one admin command cannot authorise another operation, the same
//! operation with other parameters, or a command from a guild that is not the shop's.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared_proto::{params_digest, AdminClaim, AdminOperation, DiscordGuildId, ServiceError};

/// A claim older than this is refused (a replayed old message is not an admin's wish now).
pub const MAX_AGE: Duration = Duration::minutes(10);
/// Clock skew tolerated between the bot and this service.
const MAX_SKEW: Duration = Duration::seconds(60);

/// Why a claim was refused. Logged for the operator; the requester only learns "invalid" or
/// "expired" ([`From<ClaimRefusal> for ServiceError`]), which teaches a forger nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefusal {
    #[error("the signature does not match")]
    BadSignature,
    #[error("the claim authorises {found:?}, not {expected:?}")]
    WrongOperation { expected: String, found: String },
    #[error("the claim was signed for other parameters")]
    WrongParameters,
    #[error("the claim names no guild or one that is not the shop's")]
    ForeignGuild,
    #[error("the claim was issued outside its lifetime")]
    Expired,
}

impl From<ClaimRefusal> for ServiceError {
    fn from(refusal: ClaimRefusal) -> Self {
        let message = match refusal {
            ClaimRefusal::Expired => "The admin claim has expired; run the command again.",
            _ => "This operation needs a valid admin claim.",
        };
        ServiceError::Forbidden {
            message: message.to_string(),
            refusal: None,
        }
    }
}

/// Checks the claim carried by `command` against the secret, the shop's guilds and the
/// command itself.
pub fn verify<T: AdminOperation>(
    secret: &SecretString,
    shop_guilds: &[DiscordGuildId],
    command: &T,
    now: DateTime<Utc>,
) -> Result<(), ClaimRefusal> {
    let claim = command.claim();
    let signature = hex::decode(claim.signature.trim()).map_err(|_| ClaimRefusal::BadSignature)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| ClaimRefusal::BadSignature)?;
    mac.update(claim.signing_input(command.request_id()).as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| ClaimRefusal::BadSignature)?;
    // The signature is genuine: now check that what it vouches for is this very command.
    if claim.operation != T::OPERATION {
        return Err(ClaimRefusal::WrongOperation {
            expected: T::OPERATION.to_string(),
            found: claim.operation.clone(),
        });
    }
    let digest = params_digest(command).map_err(|_| ClaimRefusal::WrongParameters)?;
    if claim.params_digest != digest {
        return Err(ClaimRefusal::WrongParameters);
    }
    if !claim.guild_id.is_some_and(|g| shop_guilds.contains(&g)) {
        return Err(ClaimRefusal::ForeignGuild);
    }
    if claim.issued_at < now - MAX_AGE || claim.issued_at > now + MAX_SKEW {
        return Err(ClaimRefusal::Expired);
    }
    Ok(())
}

/// The hex HMAC of `claim` for `request_id`, exactly as it stands (tests and tools that want
/// to sign something deliberately wrong).
pub fn sign(secret: &str, claim: &AdminClaim, request_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(claim.signing_input(request_id).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Binds the claim in `command` to it (operation and parameter digest) and signs it, the way
/// the bot does (tests and tools). The claim's who/when/guild fields are kept as given.
pub fn sign_command<T: AdminOperation>(secret: &str, command: &mut T) {
    let mut claim = command.claim().clone();
    claim
        .bind_to(command)
        .unwrap_or_else(|e| unreachable!("admin commands serialize to JSON: {e}"));
    claim.signature = sign(secret, &claim, command.request_id());
    *command.claim_mut() = claim;
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::{AdminOrderProcess, AdminStats, DiscordUserId, ProcessAction};

    const SHOP: u64 = 100_000_000_000_000_100;

    fn guilds() -> Vec<DiscordGuildId> {
        vec![DiscordGuildId::new(SHOP).unwrap()]
    }

    fn unsigned(at: DateTime<Utc>) -> AdminClaim {
        AdminClaim {
            admin_user_id: DiscordUserId::new(42).unwrap(),
            admin_username: None,
            role: "10".into(),
            issued_at: at,
            guild_id: Some(DiscordGuildId::new(SHOP).unwrap()),
            operation: String::new(),
            params_digest: String::new(),
            signature: String::new(),
        }
    }

    fn stats(at: DateTime<Utc>) -> AdminStats {
        let mut c = AdminStats {
            request_id: "req-1".into(),
            claim: unsigned(at),
        };
        sign_command("s3cret", &mut c);
        c
    }

    fn process(at: DateTime<Utc>, order: &str, action: ProcessAction) -> AdminOrderProcess {
        let mut c = AdminOrderProcess {
            request_id: "req-1".into(),
            claim: unsigned(at),
            order_number: order.into(),
            action,
            force: false,
            reason: None,
        };
        sign_command("s3cret", &mut c);
        c
    }

    #[test]
    fn valid_claims_pass_and_anything_else_is_forbidden() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        let ok = |c: &AdminStats| verify(&secret, &guilds(), c, now);
        assert_eq!(ok(&stats(now)), Ok(()));
        // Bound to the request.
        let mut c = stats(now);
        c.request_id = "req-2".into();
        assert_eq!(ok(&c), Err(ClaimRefusal::BadSignature));
        // Wrong secret.
        assert!(verify(&SecretString::from("other"), &guilds(), &stats(now), now).is_err());
        // Tampered fields.
        let mut c = stats(now);
        c.claim.admin_user_id = DiscordUserId::new(43).unwrap();
        assert_eq!(ok(&c), Err(ClaimRefusal::BadSignature));
        let mut c = stats(now);
        c.claim.role = "11".into();
        assert_eq!(ok(&c), Err(ClaimRefusal::BadSignature));
        let mut c = stats(now);
        c.claim.signature = "zz".into();
        assert_eq!(ok(&c), Err(ClaimRefusal::BadSignature));
        // Too old, or from the future.
        assert_eq!(
            ok(&stats(now - Duration::minutes(11))),
            Err(ClaimRefusal::Expired)
        );
        assert_eq!(
            ok(&stats(now + Duration::minutes(5))),
            Err(ClaimRefusal::Expired)
        );
        assert_eq!(ok(&stats(now - Duration::minutes(9))), Ok(()));
    }

    #[test]
    fn claim_for_stats_is_refused_for_a_refund() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        let captured = stats(now).claim;
        let replay = AdminOrderProcess {
            request_id: "req-1".into(),
            claim: captured,
            order_number: "RF-20261125-7K3M9Q".into(),
            action: ProcessAction::Refund,
            force: false,
            reason: None,
        };
        assert!(matches!(
            verify(&secret, &guilds(), &replay, now),
            Err(ClaimRefusal::WrongOperation { .. })
        ));
    }

    #[test]
    fn claim_for_one_order_or_action_is_refused_for_another() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        let redeliver = process(now, "RF-20261125-7K3M9Q", ProcessAction::Redeliver);
        assert_eq!(verify(&secret, &guilds(), &redeliver, now), Ok(()));
        let mut refund = redeliver.clone();
        refund.action = ProcessAction::Refund;
        assert_eq!(
            verify(&secret, &guilds(), &refund, now),
            Err(ClaimRefusal::WrongParameters)
        );
        let mut other = redeliver;
        other.order_number = "RF-20261125-AAAAAA".into();
        assert_eq!(
            verify(&secret, &guilds(), &other, now),
            Err(ClaimRefusal::WrongParameters)
        );
    }

    #[test]
    fn claim_from_another_guild_or_none_is_refused() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        let mut foreign = AdminStats {
            request_id: "req-1".into(),
            claim: unsigned(now),
        };
        foreign.claim.guild_id = Some(DiscordGuildId::new(SHOP + 1).unwrap());
        sign_command("s3cret", &mut foreign);
        assert_eq!(
            verify(&secret, &guilds(), &foreign, now),
            Err(ClaimRefusal::ForeignGuild)
        );
        let mut dm = AdminStats {
            request_id: "req-1".into(),
            claim: unsigned(now),
        };
        dm.claim.guild_id = None;
        sign_command("s3cret", &mut dm);
        assert_eq!(
            verify(&secret, &guilds(), &dm, now),
            Err(ClaimRefusal::ForeignGuild)
        );
        // Accepted when that guild is configured as one of the shop's.
        let mut both = guilds();
        both.push(DiscordGuildId::new(SHOP + 1).unwrap());
        assert_eq!(verify(&secret, &both, &foreign, now), Ok(()));
    }

    #[test]
    fn unbound_claims_of_older_bots_are_refused() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        let mut c = AdminStats {
            request_id: "req-1".into(),
            claim: unsigned(now),
        };
        c.claim.signature = sign("s3cret", &c.claim, "req-1");
        assert!(verify(&secret, &guilds(), &c, now).is_err());
    }
}
