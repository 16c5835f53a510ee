//! Injected failures: answer matching requests with a Discord error (e.g. 403/50007) or a 429.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::state::FailureRule;

/// Discord's message for an error code, as its API words it.
pub fn message_for(code: u32, status: u16) -> String {
    match code {
        10003 => "Unknown Channel".into(),
        10004 => "Unknown Guild".into(),
        10007 => "Unknown Member".into(),
        10008 => "Unknown Message".into(),
        10015 => "Unknown Webhook".into(),
        10062 => "Unknown interaction".into(),
        40003 => "You are opening direct messages too fast.".into(),
        40005 => "Request entity too large".into(),
        40060 => "Interaction has already been acknowledged.".into(),
        50001 => "Missing Access".into(),
        50006 => "Cannot send an empty message".into(),
        50007 => "Cannot send messages to this user".into(),
        50013 => "Missing Permissions".into(),
        50027 => "Invalid Webhook Token".into(),
        50035 => "Invalid Form Body".into(),
        50278 => "Cannot send messages to this user due to having no mutual guilds".into(),
        _ => match status {
            400 => "400: Bad Request".into(),
            401 => "401: Unauthorized".into(),
            403 => "403: Forbidden".into(),
            404 => "404: Not Found".into(),
            405 => "405: Method Not Allowed".into(),
            _ => "500: Internal Server Error".into(),
        },
    }
}

pub fn error_body(code: u32, status: u16) -> Value {
    json!({"code": code, "message": message_for(code, status)})
}

/// Splits a path into segments without the `/api/v{n}` prefix, so patterns and paths compare
/// whether or not they carry it.
pub fn route_segments(path: &str) -> Vec<String> {
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.first() == Some(&"api") {
        segments.remove(0);
        if segments.first().is_some_and(|s| s.starts_with('v')) {
            segments.remove(0);
        }
    }
    segments.into_iter().map(str::to_string).collect()
}

impl FailureRule {
    pub fn matches(&self, method: &str, segments: &[String]) -> bool {
        self.remaining > 0
            && (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && self.pattern.len() == segments.len()
            && self
                .pattern
                .iter()
                .zip(segments)
                .all(|(p, s)| p == "*" || p == s)
    }

    pub fn error(method: &str, pattern: &str, status: u16, code: u32, times: usize) -> Self {
        Self {
            method: method.to_string(),
            pattern: route_segments(pattern),
            status,
            body: error_body(code, status),
            headers: Vec::new(),
            remaining: times,
        }
    }

    /// A 429 as Discord sends it: body with `retry_after` (seconds, fractional) and `global`,
    /// plus the `Retry-After` and `X-RateLimit-*` headers.
    pub fn rate_limit(
        method: &str,
        pattern: &str,
        retry_after: f64,
        global: bool,
        times: usize,
    ) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let mut headers = vec![
            (
                "Retry-After".to_string(),
                format!("{}", retry_after.ceil() as u64),
            ),
            ("X-RateLimit-Limit".to_string(), "5".to_string()),
            ("X-RateLimit-Remaining".to_string(), "0".to_string()),
            (
                "X-RateLimit-Reset".to_string(),
                format!("{:.3}", now + retry_after),
            ),
            (
                "X-RateLimit-Reset-After".to_string(),
                format!("{retry_after:.3}"),
            ),
            (
                "X-RateLimit-Bucket".to_string(),
                "fakebucket0123456789abcdef".to_string(),
            ),
            (
                "X-RateLimit-Scope".to_string(),
                if global { "global" } else { "user" }.to_string(),
            ),
        ];
        if global {
            headers.push(("X-RateLimit-Global".to_string(), "true".to_string()));
        }
        Self {
            method: method.to_string(),
            pattern: route_segments(pattern),
            status: 429,
            body: json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": global,
            }),
            headers,
            remaining: times,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_or_without_api_prefix_and_wildcards() {
        let rule = FailureRule::error("POST", "/channels/*/messages", 403, 50007, 1);
        assert!(rule.matches("POST", &route_segments("/api/v10/channels/123/messages")));
        assert!(!rule.matches("GET", &route_segments("/api/v10/channels/123/messages")));
        assert!(!rule.matches("POST", &route_segments("/api/v10/channels/123")));
        let rule = FailureRule::error("*", "/api/v10/users/@me/channels", 403, 50007, 1);
        assert!(rule.matches("POST", &route_segments("/users/@me/channels")));
    }
}
