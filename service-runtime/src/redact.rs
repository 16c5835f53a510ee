//! Keeps secrets out of log lines and error messages.
//!
//! Two kinds of secrets end up in text by accident: tokens that are part of a URL (Discord's
//! interaction and webhook tokens sit in `/webhooks/{app}/{token}/…` and
//! `/interactions/{id}/{token}/callback`, and reqwest puts the URL into its error messages), and
//! the configured secrets themselves (bot token, Midtrans server key, claim secret), which a
//! `Debug` print of some library's struct can carry. [`redact`] masks both; the log writer
//! installed by [`crate::init_tracing`] runs every line through it, so a line that escapes every
//! other care still leaves the process masked. It must never be bypassed by a service's logging.

use std::borrow::Cow;
use std::sync::RwLock;

/// What replaces a secret in text.
pub const MASK: &str = "[REDACTED]";

/// Values shorter than this are not registered: masking every "abc" in the logs would hide
/// more than it protects, and real secrets are long (the services refuse short ones).
const MIN_REGISTERED_LEN: usize = 8;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Path segments after which the next-but-one segment is a token: `webhooks/{id}/{token}`,
/// `interactions/{id}/{token}`.
const TOKEN_ROUTES: &[&str] = &["webhooks/", "interactions/"];

/// Adds a configured secret's value to what [`redact`] masks anywhere in a text. Called once
/// per secret at start-up, before anything is logged.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < MIN_REGISTERED_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with URL tokens and registered secrets replaced by [`MASK`]. Borrowed when there was
/// nothing to mask (the common case costs one scan).
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if TOKEN_ROUTES.iter().any(|r| text.contains(r)) {
        let masked = mask_url_tokens(text);
        if masked != text {
            out = Cow::Owned(masked);
        }
    }
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Masks the token segment of `webhooks/{id}/{token}` and `interactions/{id}/{token}`.
fn mask_url_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, route)) = TOKEN_ROUTES
        .iter()
        .filter_map(|r| rest.find(r).map(|at| (at, *r)))
        .min_by_key(|(at, _)| *at)
    {
        let after_route = at + route.len();
        out.push_str(&rest[..after_route]);
        rest = &rest[after_route..];
        // The id: digits (a snowflake), or anything up to the next '/'.
        let id_len = rest.find(['/', ' ', '"', '\'', ')']).unwrap_or(rest.len());
        if !rest[id_len..].starts_with('/') {
            continue;
        }
        out.push_str(&rest[..=id_len]);
        rest = &rest[id_len + 1..];
        let token_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '%')))
            .unwrap_or(rest.len());
        if token_len > 0 {
            out.push_str(MASK);
            rest = &rest[token_len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_and_webhook_tokens_in_urls_are_masked() {
        let token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpXa3F3";
        let line = format!(
            "error sending request for url (http://127.0.0.1:4000/api/v10/webhooks/1100000000000000001/{token}/messages/@original): connection refused; \
             POST https://discord.com/api/v10/interactions/1200000000000000002/{token}/callback"
        );
        let shown = redact(&line);
        assert!(!shown.contains(token), "{shown}");
        assert!(
            shown.contains("webhooks/1100000000000000001/[REDACTED]/messages/@original"),
            "{shown}"
        );
        assert!(
            shown.contains("interactions/1200000000000000002/[REDACTED]/callback"),
            "{shown}"
        );
        // URL-escaped JSON (Debug of a String) and a token at the very end of the text.
        let debug = format!("url: \"https://x/api/webhooks/1/{token}\"");
        assert!(!redact(&debug).contains(token));
        assert!(!redact(&format!("/webhooks/1/{token}")).contains(token));
    }

    #[test]
    fn text_without_secrets_is_left_as_is() {
        for text in [
            "payment-service listening",
            "GET /api/v10/channels/1/messages",
            "webhooks/ without an id",
            "interactions/123",
        ] {
            assert!(
                matches!(redact(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn registered_secrets_are_masked_anywhere_and_short_values_are_not_registered() {
        register_secret("MTIz.registered-bot-token.xyz");
        register_secret("abc");
        let shown = redact("Authorization: Bot MTIz.registered-bot-token.xyz; abc stays");
        assert_eq!(shown, "Authorization: Bot [REDACTED]; abc stays");
    }
}
