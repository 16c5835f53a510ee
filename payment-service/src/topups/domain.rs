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

/// Money returned to the payer after settlement: a refund (by the merchant) or a chargeback (by
/// the payer's bank), whole or partial. It can follow a credit; DESIGN invariant 5.
pub fn is_money_returned(transaction_status: &str) -> bool {
    matches!(
        transaction_status,
        "refund" | "partial_refund" | "chargeback" | "partial_chargeback"
    )
}

/// One returned amount to reverse, identified so that a repeated notification reverses it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalPlan {
    /// The ledger reference (`{order_id}#{key}`): `UNIQUE(reason, reference)` books it once.
    pub reference: String,
    pub requested: Idr,
    /// `requested` is the total returned so far (no `refunds[]` list was given), not one refund.
    pub cumulative: bool,
}

/// What to reverse for a money-returned report: one plan per listed refund or chargeback
/// (`refunds[]`, each keyed by its id), or, without a list, one for the reported total.
pub fn reversal_plans<'a>(
    order_id: &str,
    listed: impl IntoIterator<Item = (&'a str, Idr)>,
    total: Option<Idr>,
) -> Vec<ReversalPlan> {
    let plans: Vec<ReversalPlan> = listed
        .into_iter()
        .filter(|(_, amount)| amount.is_positive())
        .map(|(key, amount)| ReversalPlan {
            reference: format!("{order_id}#{key}"),
            requested: amount,
            cumulative: false,
        })
        .collect();
    if !plans.is_empty() {
        return plans;
    }
    match total {
        Some(total) if total.is_positive() => vec![ReversalPlan {
            reference: format!("{order_id}#total:{}", total.rupiah()),
            requested: total,
            cumulative: true,
        }],
        _ => Vec::new(),
    }
}

/// How one returned amount is reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReversalSplit {
    /// What this report returns of the top-up (never more than is left of what was credited).
    pub due: Idr,
    /// Taken back from the balance now.
    pub taken: Idr,
    /// What the balance could not cover: owed until an admin clears it.
    pub owed: Idr,
}

/// Takes `due` back from `balance` as far as it goes (the balance never goes negative) and
/// keeps the rest as owed. `due` is capped by what is left of the credited `stored` amount once
/// `returned_before` is counted (a fee-imposed refund may name more than was credited).
pub fn split_reversal(
    stored: Idr,
    returned_before: Idr,
    plan: &ReversalPlan,
    balance: Idr,
) -> ReversalSplit {
    let left = (stored.rupiah() - returned_before.rupiah()).max(0);
    let requested = if plan.cumulative {
        plan.requested.rupiah() - returned_before.rupiah()
    } else {
        plan.requested.rupiah()
    };
    let due = requested.clamp(0, left);
    let taken = due.min(balance.rupiah().max(0));
    ReversalSplit {
        due: Idr::new(due),
        taken: Idr::new(taken),
        owed: Idr::new(due - taken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan(requested: i64, cumulative: bool) -> ReversalPlan {
        ReversalPlan {
            reference: "o#id:1".into(),
            requested: Idr::new(requested),
            cumulative,
        }
    }

    #[test]
    fn a_refund_takes_what_the_balance_has_and_the_rest_is_owed() {
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(0),
            &plan(50_000, false),
            Idr::new(20_000),
        );
        assert_eq!(
            (s.due.rupiah(), s.taken.rupiah(), s.owed.rupiah()),
            (50_000, 20_000, 30_000)
        );
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(0),
            &plan(10_000, false),
            Idr::new(90_000),
        );
        assert_eq!(
            (s.due.rupiah(), s.taken.rupiah(), s.owed.rupiah()),
            (10_000, 10_000, 0)
        );
    }

    #[test]
    fn never_more_than_was_credited_is_reversed() {
        // A fee-imposed refund of 50,350 on a 50,000 top-up.
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(0),
            &plan(50_350, false),
            Idr::new(99_000),
        );
        assert_eq!(s.due.rupiah(), 50_000);
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(45_000),
            &plan(20_000, false),
            Idr::new(99_000),
        );
        assert_eq!(s.due.rupiah(), 5_000);
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(50_000),
            &plan(1, false),
            Idr::new(99_000),
        );
        assert_eq!(s.due.rupiah(), 0);
    }

    #[test]
    fn a_cumulative_total_reverses_only_what_is_new() {
        let s = split_reversal(
            Idr::new(50_000),
            Idr::new(20_000),
            &plan(30_000, true),
            Idr::new(99_000),
        );
        assert_eq!(s.due.rupiah(), 10_000);
    }

    #[test]
    fn plans_follow_the_refund_list_or_the_total() {
        let listed = [("id:1", Idr::new(20_000)), ("id:2", Idr::new(5_000))];
        let plans = reversal_plans("ORDER-1-2", listed, Some(Idr::new(25_000)));
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].reference, "ORDER-1-2#id:2");
        assert!(!plans[0].cumulative);
        let plans = reversal_plans("ORDER-1-2", [], Some(Idr::new(25_000)));
        assert_eq!(plans[0].reference, "ORDER-1-2#total:25000");
        assert!(plans[0].cumulative);
        assert!(reversal_plans("ORDER-1-2", [], None).is_empty());
        assert!(is_money_returned("partial_chargeback"));
        assert!(!is_money_returned("settlement"));
    }

    proptest! {
        #[test]
        fn a_reversal_never_makes_a_negative_balance_and_loses_nothing(
            stored in 1i64..10_000_000, before in 0i64..10_000_000,
            requested in 0i64..20_000_000, balance in 0i64..20_000_000,
        ) {
            let s = split_reversal(Idr::new(stored), Idr::new(before), &plan(requested, false), Idr::new(balance));
            prop_assert!(s.taken.rupiah() <= balance);
            prop_assert_eq!(s.taken.rupiah() + s.owed.rupiah(), s.due.rupiah());
            prop_assert!(s.due.rupiah() + before.min(stored) <= stored.max(before));
            prop_assert!(s.owed.rupiah() >= 0 && s.taken.rupiah() >= 0);
        }
    }

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
