//! Pure rules of an order: its number and what a delivery result does to it. No database,
//! broker or clock access here (time and randomness are passed in).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use shared_proto::OrderStatus;

/// Order numbers avoid letters people confuse when reading them out (0/O, 1/I/L).
const ORDER_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// `RF-YYYYMMDD-XXXXXX`: the day it was placed and six random characters (31^6 ≈ 887 million
/// per day); the UNIQUE column catches the rare clash and the order is retried with a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNumber(String);

impl OrderNumber {
    pub fn generate(now: DateTime<Utc>, rng: &mut impl Rng) -> Self {
        let suffix: String = (0..6)
            .map(|_| ORDER_ALPHABET[rng.gen_range(0..ORDER_ALPHABET.len())] as char)
            .collect();
        OrderNumber(format!("RF-{}-{suffix}", now.format("%Y%m%d")))
    }

    /// Accepts what [`OrderNumber::generate`] makes (case-insensitive, surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase();
        let mut parts = t.split('-');
        let (Some("RF"), Some(day), Some(suffix), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let day_ok = day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit());
        let suffix_ok = suffix.len() == 6 && suffix.bytes().all(|b| ORDER_ALPHABET.contains(&b));
        (day_ok && suffix_ok).then_some(OrderNumber(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a `delivery.failed` report does to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureDecision {
    /// About an older attempt, or the order is no longer being delivered: record it, change nothing.
    Stale,
    /// Send the codes again as attempt `next_attempt`, not before `delay` has passed.
    Retry { next_attempt: u32, delay: Duration },
    /// Stop retrying: the order becomes `failed` and waits for an admin.
    GiveUp,
}

/// `max_attempts` is the number of automatic delivery attempts in total
/// (`DELIVERY_RETRY_ATTEMPTS`, at least 1). An admin re-delivery beyond it gets one attempt.
pub fn on_delivery_failed(
    status: OrderStatus,
    current_attempt: u32,
    reported_attempt: u32,
    retryable: bool,
    max_attempts: u32,
) -> FailureDecision {
    if status != OrderStatus::Delivering || reported_attempt != current_attempt {
        return FailureDecision::Stale;
    }
    if retryable && reported_attempt < max_attempts.max(1) {
        FailureDecision::Retry {
            next_attempt: reported_attempt + 1,
            delay: retry_delay(reported_attempt),
        }
    } else {
        FailureDecision::GiveUp
    }
}

/// Exponential backoff after failed attempt `n` (1-based): 5 s, 10 s, 20 s, … capped at 5 min.
pub fn retry_delay(n: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << n.saturating_sub(1).min(10));
    Duration::from_secs(secs.min(300))
}

/// Whether a `delivery.confirmed` completes the order. A confirmation of any attempt counts
/// (the user has the codes); a refunded order stays refunded.
pub fn completes_on_confirm(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Pending | OrderStatus::Delivering | OrderStatus::Failed
    )
}

/// Longest admin reason kept (audit log and reply); longer text is cut, not refused.
pub const MAX_REASON_LEN: usize = 300;

/// How a refund fits the order's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRule {
    /// Never sent (`pending`) or given up (`failed`): an ordinary refund.
    Plain,
    /// `completed` or `delivering`: the buyer may hold the codes, so this is the admin's
    /// explicit decision (forced, with the reason).
    Forced { reason: String },
}

/// Why a refund is refused; nothing changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    AlreadyRefunded,
    /// The order is `completed` or `delivering` and the request did not set `force`.
    NeedsForce(OrderStatus),
    /// `force` without a reason (or a blank one).
    NeedsReason,
}

/// The admin's reason, trimmed and cut to [`MAX_REASON_LEN`] characters; `None` when blank.
pub fn clean_reason(reason: Option<&str>) -> Option<String> {
    let r: String = reason?
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_LEN)
        .collect();
    (!r.is_empty()).then_some(r)
}

/// Whether an order in `status` may be refunded: `pending` and `failed` orders may; a
/// `completed` or `delivering` one only with `force` and a reason (design invariant 6: a refund
/// of a delivered order is always an admin's explicit, audited decision).
pub fn refund_rule(
    status: OrderStatus,
    force: bool,
    reason: Option<&str>,
) -> Result<RefundRule, RefundRefusal> {
    match status {
        OrderStatus::Refunded => Err(RefundRefusal::AlreadyRefunded),
        OrderStatus::Pending | OrderStatus::Failed => Ok(RefundRule::Plain),
        OrderStatus::Completed | OrderStatus::Delivering => {
            if !force {
                return Err(RefundRefusal::NeedsForce(status));
            }
            match clean_reason(reason) {
                Some(reason) => Ok(RefundRule::Forced { reason }),
                None => Err(RefundRefusal::NeedsReason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn order_numbers_have_the_documented_shape() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let n = OrderNumber::generate(now, &mut rand::thread_rng());
        assert!(n.as_str().starts_with("RF-20260102-"), "{n}");
        assert_eq!(n.as_str().len(), "RF-20260102-XXXXXX".len());
        assert_eq!(
            OrderNumber::parse(&n.as_str().to_lowercase()),
            Some(n.clone())
        );
        for bad in [
            "",
            "RF-2026-ABCDEF",
            "RF-20260102-ABCDE0",
            "XX-20260102-ABCDEF",
            "RF-20260102-ABCDEF-1",
            "RF-20260102-ABCD'; --",
        ] {
            assert_eq!(OrderNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn failures_retry_then_give_up() {
        use FailureDecision::*;
        let d = OrderStatus::Delivering;
        assert_eq!(
            on_delivery_failed(d, 1, 1, true, 3),
            Retry {
                next_attempt: 2,
                delay: Duration::from_secs(5)
            }
        );
        assert_eq!(
            on_delivery_failed(d, 2, 2, true, 3),
            Retry {
                next_attempt: 3,
                delay: Duration::from_secs(10)
            }
        );
        assert_eq!(on_delivery_failed(d, 3, 3, true, 3), GiveUp);
        assert_eq!(on_delivery_failed(d, 1, 1, false, 3), GiveUp);
        assert_eq!(on_delivery_failed(d, 2, 1, true, 3), Stale);
        assert_eq!(
            on_delivery_failed(OrderStatus::Completed, 1, 1, true, 3),
            Stale
        );
        assert_eq!(
            on_delivery_failed(OrderStatus::Failed, 3, 3, true, 3),
            Stale
        );
        assert_eq!(on_delivery_failed(d, 1, 1, true, 0), GiveUp);
    }

    #[test]
    fn confirmations_never_undo_a_refund() {
        assert!(completes_on_confirm(OrderStatus::Failed));
        assert!(!completes_on_confirm(OrderStatus::Refunded));
        assert!(!completes_on_confirm(OrderStatus::Completed));
    }

    #[test]
    fn refunds_follow_the_order_state() {
        use OrderStatus::*;
        assert_eq!(refund_rule(Failed, false, None), Ok(RefundRule::Plain));
        assert_eq!(refund_rule(Pending, false, None), Ok(RefundRule::Plain));
        assert_eq!(refund_rule(Failed, true, Some("x")), Ok(RefundRule::Plain));
        for s in [Completed, Delivering] {
            assert_eq!(
                refund_rule(s, false, Some("why")),
                Err(RefundRefusal::NeedsForce(s))
            );
            assert_eq!(refund_rule(s, true, None), Err(RefundRefusal::NeedsReason));
            assert_eq!(
                refund_rule(s, true, Some(" \t ")),
                Err(RefundRefusal::NeedsReason)
            );
            assert_eq!(
                refund_rule(s, true, Some("  codes were used  ")),
                Ok(RefundRule::Forced {
                    reason: "codes were used".into()
                })
            );
        }
        assert_eq!(
            refund_rule(Refunded, true, Some("again")),
            Err(RefundRefusal::AlreadyRefunded)
        );
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        let long = "x".repeat(MAX_REASON_LEN + 50);
        assert_eq!(
            clean_reason(Some(&long)).map(|r| r.chars().count()),
            Some(MAX_REASON_LEN)
        );
        assert_eq!(clean_reason(Some("a\u{7}b\n")), Some("ab".into()));
        assert_eq!(clean_reason(None), None);
    }

    proptest! {
        #[test]
        fn retries_are_bounded(max in 0u32..10, attempt in 0u32..20, retryable: bool) {
            match on_delivery_failed(OrderStatus::Delivering, attempt, attempt, retryable, max) {
                FailureDecision::Retry { next_attempt, delay } => {
                    prop_assert!(next_attempt <= max.max(1));
                    prop_assert!(delay <= Duration::from_secs(300));
                }
                FailureDecision::GiveUp => prop_assert!(!retryable || attempt >= max.max(1)),
                FailureDecision::Stale => prop_assert!(false),
            }
        }
    }
}
