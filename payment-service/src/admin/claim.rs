//! Verifying the admin claim the bot attaches to admin operations: HMAC-SHA256 (hex) over
//! [`AdminClaim::signing_input`] with `ADMIN_CLAIM_SECRET`, compared in constant time, bound to
//! the request id and fresh (issued at most [`MAX_AGE`] ago).

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared_proto::{AdminClaim, ServiceError};

/// A claim older than this is refused (a replayed old message is not an admin's wish now).
pub const MAX_AGE: Duration = Duration::minutes(10);
/// Clock skew tolerated between the bot and this service.
const MAX_SKEW: Duration = Duration::seconds(60);

/// Checks `claim` for `request_id`. The refusal never says which check failed beyond
/// "expired", so it teaches a forger nothing.
pub fn verify(
    secret: &SecretString,
    claim: &AdminClaim,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let forbidden = |message: &str| ServiceError::Forbidden {
        message: message.to_string(),
    };
    let Ok(signature) = hex::decode(claim.signature.trim()) else {
        return Err(forbidden("This operation needs a valid admin claim."));
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
    else {
        return Err(forbidden("This operation needs a valid admin claim."));
    };
    mac.update(
        AdminClaim::signing_input(
            claim.admin_user_id,
            &claim.role,
            claim.issued_at,
            request_id,
        )
        .as_bytes(),
    );
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&signature).is_err() {
        return Err(forbidden("This operation needs a valid admin claim."));
    }
    if claim.issued_at < now - MAX_AGE || claim.issued_at > now + MAX_SKEW {
        return Err(forbidden(
            "The admin claim has expired; run the command again.",
        ));
    }
    Ok(())
}

/// Signs a claim the way the bot does (tests and tools).
pub fn sign(secret: &str, claim: &AdminClaim, request_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(
        AdminClaim::signing_input(
            claim.admin_user_id,
            &claim.role,
            claim.issued_at,
            request_id,
        )
        .as_bytes(),
    );
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::DiscordUserId;

    fn claim(at: DateTime<Utc>) -> AdminClaim {
        let mut c = AdminClaim {
            admin_user_id: DiscordUserId::new(42).unwrap(),
            admin_username: None,
            role: "Admin".into(),
            issued_at: at,
            signature: String::new(),
        };
        c.signature = sign("s3cret", &c, "req-1");
        c
    }

    #[test]
    fn valid_claims_pass_and_anything_else_is_forbidden() {
        let secret = SecretString::from("s3cret");
        let now = Utc::now();
        assert_eq!(verify(&secret, &claim(now), "req-1", now), Ok(()));
        // Bound to the request.
        assert!(verify(&secret, &claim(now), "req-2", now).is_err());
        // Wrong secret.
        assert!(verify(&SecretString::from("other"), &claim(now), "req-1", now).is_err());
        // Tampered fields.
        let mut c = claim(now);
        c.admin_user_id = DiscordUserId::new(43).unwrap();
        assert!(verify(&secret, &c, "req-1", now).is_err());
        let mut c = claim(now);
        c.role = "Member".into();
        assert!(verify(&secret, &c, "req-1", now).is_err());
        let mut c = claim(now);
        c.signature = "zz".into();
        assert!(verify(&secret, &c, "req-1", now).is_err());
        // Too old, or from the future.
        assert!(verify(&secret, &claim(now - Duration::minutes(11)), "req-1", now).is_err());
        assert!(verify(&secret, &claim(now + Duration::minutes(5)), "req-1", now).is_err());
        assert_eq!(
            verify(&secret, &claim(now - Duration::minutes(9)), "req-1", now),
            Ok(())
        );
    }
}
