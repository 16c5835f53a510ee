//! The top-up state machine, pure: given what we stored and what Midtrans says, what to do.
//!
//! A top-up only ever leaves `pending` (`success` and `failed` are final), so duplicates,
//! out-of-order notifications and a late `expire` after a credit change nothing. The amount
//! credited is always the stored amount, and only when Midtrans's amount matches it (directly, or
//! through the fee-imposition `original_amount`). No I/O here.

use shared_proto::Idr;

/// `topups.status`, the vocabulary shared with the sibling bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopupStatus {
    Pending,
    Success,
    Failed,
}

impl TopupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TopupStatus::Pending => "pending",
            TopupStatus::Success => "success",
            TopupStatus::Failed => "failed",
        }
    }

    /// Unknown or NULL statuses (another writer's rows) are not `pending`, so nothing touches them.
    pub fn parse(text: Option<&str>) -> Option<TopupStatus> {
        match text.map(str::trim) {
            Some("pending") => Some(TopupStatus::Pending),
            Some("success") => Some(TopupStatus::Success),
            Some("failed") => Some(TopupStatus::Failed),
            _ => None,
        }
    }
}

/// What a Midtrans transaction status means for the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// `settlement` (fraud status absent or `accept`), or `capture` with `accept`.
    Paid,
    /// `expire`, `cancel`, `deny`, `failure`: it will never be paid.
    NotPaid,
    /// `pending`, `authorize`, or a `challenge`d capture: wait.
    Waiting,
    /// `refund`, `partial_refund`, anything unknown: no automatic action.
    Other,
}

pub fn payment(transaction_status: &str, fraud_status: Option<&str>) -> Payment {
    let fraud_ok = matches!(fraud_status, None | Some("accept") | Some(""));
    match transaction_status {
        "settlement" if fraud_ok => Payment::Paid,
        "capture" if fraud_status == Some("accept") => Payment::Paid,
        "settlement" | "capture" | "pending" | "authorize" => Payment::Waiting,
        "expire" | "cancel" | "deny" | "failure" => Payment::NotPaid,
        _ => Payment::Other,
    }
}

/// Midtrans's view of one transaction, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation<'a> {
    pub transaction_status: &'a str,
    pub fraud_status: Option<&'a str>,
    pub gross_amount: Idr,
    /// With fee imposition, the amount before the customer's fee.
    pub original_amount: Option<Idr>,
}

/// The amount rule of DESIGN.md §3: Midtrans's amount is what we stored, or with fee
/// imposition its `original_amount` is (and the customer paid at least that).
pub fn amount_matches(stored: Idr, gross: Idr, original: Option<Idr>) -> bool {
    gross == stored || (original == Some(stored) && gross >= stored)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Mark `success` and add `amount` (the stored amount) to the balance.
    Credit {
        amount: Idr,
    },
    /// Mark `failed`, keeping Midtrans's word.
    Fail {
        midtrans_status: String,
    },
    Keep(KeepReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    /// Already `success` or `failed` (or not a status we manage): duplicates, late notifications.
    AlreadyFinal,
    /// Still pending at Midtrans (or on hold).
    StillPending,
    /// Paid, but not the amount we asked for: nothing is credited; an operator must look.
    AmountMismatch,
    /// A status with no automatic action (refunds, unknown words).
    Unsupported,
}

pub fn decide(current: Option<TopupStatus>, stored: Idr, seen: &Observation<'_>) -> Decision {
    if current != Some(TopupStatus::Pending) {
        return Decision::Keep(KeepReason::AlreadyFinal);
    }
    match payment(seen.transaction_status, seen.fraud_status) {
        Payment::Paid if amount_matches(stored, seen.gross_amount, seen.original_amount) => {
            Decision::Credit { amount: stored }
        }
        Payment::Paid => Decision::Keep(KeepReason::AmountMismatch),
        Payment::NotPaid => Decision::Fail {
            midtrans_status: seen.transaction_status.to_string(),
        },
        Payment::Waiting => Decision::Keep(KeepReason::StillPending),
        Payment::Other => Decision::Keep(KeepReason::Unsupported),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seen(status: &str, gross: i64) -> Observation<'_> {
        Observation {
            transaction_status: status,
            fraud_status: None,
            gross_amount: Idr::new(gross),
            original_amount: None,
        }
    }

    #[test]
    fn settlement_of_the_stored_amount_credits_it() {
        assert_eq!(
            decide(
                Some(TopupStatus::Pending),
                Idr::new(50_000),
                &seen("settlement", 50_000)
            ),
            Decision::Credit {
                amount: Idr::new(50_000)
            }
        );
    }

    #[test]
    fn capture_needs_accept() {
        let mut s = seen("capture", 10_000);
        assert_eq!(
            decide(Some(TopupStatus::Pending), Idr::new(10_000), &s),
            Decision::Keep(KeepReason::StillPending)
        );
        s.fraud_status = Some("challenge");
        assert_eq!(
            decide(Some(TopupStatus::Pending), Idr::new(10_000), &s),
            Decision::Keep(KeepReason::StillPending)
        );
        s.fraud_status = Some("accept");
        assert!(matches!(
            decide(Some(TopupStatus::Pending), Idr::new(10_000), &s),
            Decision::Credit { .. }
        ));
        let mut s = seen("settlement", 10_000);
        s.fraud_status = Some("deny");
        assert_eq!(
            decide(Some(TopupStatus::Pending), Idr::new(10_000), &s),
            Decision::Keep(KeepReason::StillPending)
        );
    }

    #[test]
    fn fee_imposition_credits_the_original_amount() {
        let mut s = seen("settlement", 50_350);
        s.original_amount = Some(Idr::new(50_000));
        assert_eq!(
            decide(Some(TopupStatus::Pending), Idr::new(50_000), &s),
            Decision::Credit {
                amount: Idr::new(50_000)
            }
        );
        s.original_amount = Some(Idr::new(60_000));
        assert_eq!(
            decide(Some(TopupStatus::Pending), Idr::new(50_000), &s),
            Decision::Keep(KeepReason::AmountMismatch)
        );
    }

    #[test]
    fn wrong_amount_is_not_credited() {
        assert_eq!(
            decide(
                Some(TopupStatus::Pending),
                Idr::new(50_000),
                &seen("settlement", 1)
            ),
            Decision::Keep(KeepReason::AmountMismatch)
        );
    }

    #[test]
    fn terminal_failures_fail_with_midtrans_word() {
        for word in ["expire", "cancel", "deny", "failure"] {
            assert_eq!(
                decide(Some(TopupStatus::Pending), Idr::new(1), &seen(word, 1)),
                Decision::Fail {
                    midtrans_status: word.into()
                }
            );
        }
    }

    #[test]
    fn late_expire_after_success_changes_nothing() {
        assert_eq!(
            decide(Some(TopupStatus::Success), Idr::new(1), &seen("expire", 1)),
            Decision::Keep(KeepReason::AlreadyFinal)
        );
        assert_eq!(
            decide(None, Idr::new(1), &seen("settlement", 1)),
            Decision::Keep(KeepReason::AlreadyFinal)
        );
    }

    fn any_status() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("pending".to_string()),
            Just("settlement".to_string()),
            Just("capture".to_string()),
            Just("expire".to_string()),
            Just("cancel".to_string()),
            Just("deny".to_string()),
            Just("failure".to_string()),
            Just("refund".to_string()),
            Just("authorize".to_string()),
            "[a-z_]{0,12}",
        ]
    }

    fn any_topup_status() -> impl Strategy<Value = Option<TopupStatus>> {
        prop_oneof![
            Just(None),
            Just(Some(TopupStatus::Pending)),
            Just(Some(TopupStatus::Success)),
            Just(Some(TopupStatus::Failed)),
        ]
    }

    proptest! {
        #[test]
        fn only_pending_ever_changes(
            current in any_topup_status(),
            status in any_status(),
            fraud in proptest::option::of(prop_oneof![Just("accept"), Just("challenge"), Just("deny")]),
            stored in 1i64..10_000_000,
            gross in 1i64..10_000_000,
            original in proptest::option::of(1i64..10_000_000),
        ) {
            let s = Observation {
                transaction_status: &status,
                fraud_status: fraud,
                gross_amount: Idr::new(gross),
                original_amount: original.map(Idr::new),
            };
            let d = decide(current, Idr::new(stored), &s);
            if current != Some(TopupStatus::Pending) {
                prop_assert_eq!(d, Decision::Keep(KeepReason::AlreadyFinal));
            } else if let Decision::Credit { amount } = d {
                prop_assert_eq!(amount, Idr::new(stored));
                prop_assert_eq!(payment(&status, fraud), Payment::Paid);
                prop_assert!(gross == stored || original == Some(stored));
            }
        }

        #[test]
        fn a_sequence_of_notifications_credits_at_most_once(
            statuses in proptest::collection::vec(any_status(), 0..20),
            stored in 1i64..1_000_000,
        ) {
            let mut state = Some(TopupStatus::Pending);
            let mut credited = 0i64;
            let mut finals = 0;
            for status in &statuses {
                match decide(state, Idr::new(stored), &seen(status, stored)) {
                    Decision::Credit { amount } => { credited += amount.rupiah(); state = Some(TopupStatus::Success); finals += 1; }
                    Decision::Fail { .. } => { state = Some(TopupStatus::Failed); finals += 1; }
                    Decision::Keep(_) => {}
                }
            }
            prop_assert!(finals <= 1);
            prop_assert!(credited == 0 || credited == stored);
        }
    }
}
