//! Start-up checks on secrets an operator must choose: a service refuses to start on a value
//! copied from an example file or one short enough to guess, because either lets someone who
//! can reach the broker forge what the secret protects. The reasons never repeat the value.

/// The shortest shared secret accepted: 32 bytes, as `openssl rand -hex 32` or
/// `openssl rand -base64 32` give with room to spare.
pub const MIN_SECRET_BYTES: usize = 32;

/// Words that mark a value as copied from an example (`change-me-too`, `replace-with-…`,
/// `your-secret-here`). Compared case-insensitively, anywhere in the value.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "replace_me",
    "replace-with",
    "replace_with",
    "your-",
    "your_",
    "example",
    "placeholder",
    "secret-here",
    "not-a-secret",
];

/// A value with fewer different bytes than this is a pattern (`aaaa…`, `abababab…`), not
/// randomness; 32 random hex digits have about 14.
const MIN_DISTINCT_BYTES: usize = 8;

/// Why a shared secret (`ADMIN_CLAIM_SECRET`) cannot be used, or `None` when it can.
pub fn weak_secret_reason(value: &str) -> Option<String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    if let Some(marker) = PLACEHOLDER_MARKERS.iter().find(|m| lower.contains(*m)) {
        return Some(format!(
            "looks like an example placeholder (contains {marker:?}); generate one with `openssl rand -hex 32`"
        ));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "is {} bytes long; at least {MIN_SECRET_BYTES} are required (`openssl rand -hex 32`)",
            value.len()
        ));
    }
    let mut seen = [false; 256];
    value.bytes().for_each(|b| seen[usize::from(b)] = true);
    if seen.iter().filter(|s| **s).count() < MIN_DISTINCT_BYTES {
        return Some("is a repeated pattern, not a random value (`openssl rand -hex 32`)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_values_short_values_and_patterns_are_refused() {
        for bad in [
            "change-me-too",
            "CHANGE-ME-too-but-now-it-is-long-enough-0123456789",
            "replace-with-output-of-openssl-rand-hex-32-000000000",
            "claim-secret",
            "0123456789abcdef0123456789abcde",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababababab",
            "",
        ] {
            let reason = weak_secret_reason(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(
                bad.len() < 8 || !reason.contains(bad),
                "the reason repeats the value: {reason}"
            );
        }
    }

    #[test]
    fn random_values_of_32_bytes_or_more_are_accepted() {
        for good in [
            "0123456789abcdef0123456789abcdef",
            "3f9d1c7a5b2e8f6041d9c3b7a5e2f8d1c6b4a9e7f3d2c1b0a9e8f7d6c5b4a3e2",
            "q8Zr1vWm5Tn0Kc3Yh7Lx2Pb9Sd4Gf6Ja+/Ew=",
        ] {
            assert_eq!(weak_secret_reason(good), None, "{good}");
        }
    }
}
