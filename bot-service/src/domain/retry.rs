//! How the bot reacts to a failed Discord call: what is worth retrying, and how long to wait.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Discord's error code for "Cannot send messages to this user" (DMs closed).
pub const DM_CLOSED: i64 = 50007;
/// Discord's other refusal of a DM: "Cannot send messages to this user due to having no mutual
/// guilds". For the shop it means the same as 50007: the DM will not go through.
pub const CANNOT_MESSAGE_USER: i64 = 50278;
/// "You are opening direct messages too fast".
pub const OPENING_DMS_TOO_FAST: i64 = 40003;
/// Unknown interaction / unknown webhook: the interaction token is no longer valid.
pub const UNKNOWN_INTERACTION: i64 = 10062;
pub const UNKNOWN_WEBHOOK: i64 = 10015;
/// "Invalid Webhook Token" (401): what Discord answers a follow-up or an edit through an
/// interaction token once the token has expired (15 minutes) or is not valid.
pub const INVALID_WEBHOOK_TOKEN: i64 = 50027;

/// What a failed Discord call means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The user does not accept DMs from the bot. Retrying only counts toward Discord's
    /// invalid-request ban, so never retry it.
    DmClosed,
    /// 429: wait (at least `retry_after` when known) and retry.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, network trouble, "opening DMs too fast": retry with backoff.
    Transient,
    /// The interaction token expired or is unknown: use another path.
    TokenExpired,
    /// Anything else (bad request, missing access): retrying cannot help.
    Permanent,
}

impl FailureClass {
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            FailureClass::RateLimited { .. } | FailureClass::Transient
        )
    }
}

/// Classifies a failed call from its HTTP status (None: no answer at all) and Discord JSON code.
pub fn classify(
    status: Option<u16>,
    code: Option<i64>,
    retry_after: Option<Duration>,
) -> FailureClass {
    match (status, code) {
        (_, Some(DM_CLOSED | CANNOT_MESSAGE_USER)) => FailureClass::DmClosed,
        (_, Some(UNKNOWN_INTERACTION | UNKNOWN_WEBHOOK | INVALID_WEBHOOK_TOKEN)) => {
            FailureClass::TokenExpired
        }
        (Some(429), _) => FailureClass::RateLimited { retry_after },
        (_, Some(OPENING_DMS_TOO_FAST)) => FailureClass::Transient,
        (None, _) => FailureClass::Transient,
        (Some(s), _) if s >= 500 => FailureClass::Transient,
        _ => FailureClass::Permanent,
    }
}

/// Retry schedule for one delivery: `attempts` tries in all, exponential backoff with jitter
/// between them, and never less than Discord's `retry_after`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn new(attempts: u32) -> Self {
        RetryPolicy {
            attempts: attempts.max(1),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }

    /// The pauses between tries (`attempts - 1` of them).
    pub fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .with_max_times(self.attempts.saturating_sub(1) as usize)
            .build()
    }

    /// The pause before the next try: the backoff step, stretched to Discord's `retry_after`.
    pub fn pause(&self, backoff_step: Duration, class: FailureClass) -> Duration {
        match class {
            FailureClass::RateLimited {
                retry_after: Some(after),
            } => backoff_step.max(after).min(self.max_delay.max(after)),
            _ => backoff_step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_dms_are_never_retried() {
        let c = classify(Some(403), Some(DM_CLOSED), None);
        assert_eq!(c, FailureClass::DmClosed);
        assert!(!c.is_retryable());
    }

    #[test]
    fn both_dm_refusals_mean_dms_closed() {
        for code in [DM_CLOSED, CANNOT_MESSAGE_USER] {
            let c = classify(Some(403), Some(code), None);
            assert_eq!(c, FailureClass::DmClosed, "code {code}");
            assert!(!c.is_retryable());
        }
    }

    #[test]
    fn an_invalid_webhook_token_means_the_interaction_token_expired() {
        let c = classify(Some(401), Some(INVALID_WEBHOOK_TOKEN), None);
        assert_eq!(c, FailureClass::TokenExpired);
        assert!(!c.is_retryable());
    }

    #[test]
    fn server_errors_rate_limits_and_network_are_retried() {
        assert!(classify(Some(502), None, None).is_retryable());
        assert!(classify(None, None, None).is_retryable());
        assert!(classify(Some(429), Some(0), Some(Duration::from_secs(2))).is_retryable());
        assert!(classify(Some(400), Some(OPENING_DMS_TOO_FAST), None).is_retryable());
        assert_eq!(
            classify(Some(400), Some(50035), None),
            FailureClass::Permanent
        );
        assert_eq!(
            classify(Some(404), Some(UNKNOWN_WEBHOOK), None),
            FailureClass::TokenExpired
        );
    }

    #[test]
    fn schedule_has_attempts_minus_one_pauses_and_honours_retry_after() {
        let p = RetryPolicy::new(3);
        assert_eq!(p.delays().count(), 2);
        assert_eq!(RetryPolicy::new(0).delays().count(), 0);
        let rl = FailureClass::RateLimited {
            retry_after: Some(Duration::from_secs(45)),
        };
        assert_eq!(
            p.pause(Duration::from_millis(500), rl),
            Duration::from_secs(45)
        );
        assert_eq!(
            p.pause(Duration::from_millis(500), FailureClass::Transient),
            Duration::from_millis(500)
        );
    }
}
