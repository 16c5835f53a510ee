//! After the sale (issue 17): a buyer reports codes of a completed order by position; an admin
//! reveals, replaces, refunds or rejects them; a batch can be declared defective. On PostgreSQL
//! and SQLite.

use sea_orm::ConnectionTrait;
use shared_proto::{
    AdminBatchDefective, AdminReportAction, CodeOutcome, DeliveryConfirmed, DeliveryMethod,
    DiscordUserId, Event, PackageSize, ReportAction, ReportActionDone, ReportCreate, ReportReason,
    ReportStatus, ReportView, ServiceError, UserRef,
};
use uuid::Uuid;

use crate::helpers::*;

fn id() -> String {
    Uuid::new_v4().to_string()
}

/// A buyer with a completed order of 5 codes (Rp 70.000 at the default prices); answers the
/// order number and its codes in delivery order.
async fn completed_order(w: &World, buyer: i64, prefix: &str) -> (String, Vec<String>) {
    w.user_with_balance(buyer, 200_000).await;
    w.add_codes(&codes(prefix, 8)).await;
    let placed = w
        .order(buyer, PackageSize::Five, &id())
        .await
        .outcome
        .expect("ordered");
    let delivered = w.outbox("delivery.requested").await;
    let codes = delivered
        .iter()
        .find_map(|e| match e {
            Event::DeliveryRequested(d) if d.order_number == placed.order_number => {
                Some(d.codes.clone())
            }
            _ => None,
        })
        .expect("a delivery");
    w.orders
        .delivery_confirmed(
            &DeliveryConfirmed {
                order_number: placed.order_number.clone(),
                attempt: 1,
                method: DeliveryMethod::Dm,
                message_id: None,
            },
            &id(),
        )
        .await
        .unwrap();
    (placed.order_number, codes)
}

fn report_cmd(buyer: i64, order: &str, positions: &[u32], request_id: &str) -> ReportCreate {
    ReportCreate {
        request_id: request_id.into(),
        user: UserRef {
            user_id: DiscordUserId::from_i64(buyer).unwrap(),
            username: None,
            locale: Some("id".into()),
        },
        order_number: order.into(),
        positions: positions.to_vec(),
        reason: ReportReason::AlreadyUsed,
        note: None,
    }
}

async fn act(
    w: &World,
    admin: u64,
    report: i64,
    action: ReportAction,
    positions: &[u32],
    reason: Option<&str>,
) -> Result<ReportActionDone, ServiceError> {
    w.admin
        .report_action(
            &signed(AdminReportAction {
                request_id: id(),
                claim: admin_claim(admin),
                report_id: report,
                action,
                positions: positions.to_vec(),
                reason: reason.map(str::to_string),
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
}

async fn report(w: &World, buyer: i64, order: &str, positions: &[u32]) -> ReportView {
    w.orders
        .report_create(&report_cmd(buyer, order, positions, &id()))
        .await
        .unwrap()
        .expect("report opened")
}

/// The case: 5 codes, 2 reported as used; the admin replaces one and refunds the
/// other; the buyer holds 4 + 1 new codes and the price of one code back; 2 defects.
async fn replace_one_refund_one(w: World) {
    let buyer = 5_100;
    let (order, codes) = completed_order(&w, buyer, "RPT-A-").await;
    let balance_after_order = w.balance(buyer).await;
    let opened = report(&w, buyer, &order, &[2, 4]).await;
    assert_eq!(opened.status, ReportStatus::Open);
    assert_eq!(
        opened.codes.iter().map(|c| c.position).collect::<Vec<_>>(),
        vec![2, 4]
    );
    // No code is in the report, as seen by anyone.
    let text = serde_json::to_string(&opened).unwrap();
    assert!(codes.iter().all(|c| !text.contains(c.as_str())), "{text}");

    // Reveal: the admin sees exactly the reported codes, by position.
    let shown = act(&w, 9, opened.report_id, ReportAction::Reveal, &[], None)
        .await
        .expect("revealed");
    assert_eq!(shown.revealed.len(), 2);
    assert_eq!(shown.revealed[0].position, 2);
    assert_eq!(shown.revealed[0].code, codes[1]);
    assert_eq!(shown.revealed[1].code, codes[3]);

    let replaced = act(&w, 9, opened.report_id, ReportAction::Replace, &[2], None)
        .await
        .expect("replaced");
    assert_eq!(replaced.positions, vec![2]);
    assert_eq!(replaced.report.status, ReportStatus::Open, "code 4 is left");
    let deliveries = w.outbox("delivery.requested").await;
    let replacement = deliveries
        .iter()
        .filter_map(|e| match e {
            Event::DeliveryRequested(d) if !d.replacing.is_empty() => Some(d.clone()),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(replacement.len(), 1);
    assert_eq!(replacement[0].replacing, vec![2]);
    assert_eq!(replacement[0].codes.len(), 1);
    assert!(!codes.contains(&replacement[0].codes[0]), "a fresh code");
    assert_eq!(replacement[0].locale.as_deref(), Some("id"));

    let refunded = act(&w, 9, opened.report_id, ReportAction::Refund, &[], None)
        .await
        .expect("refunded");
    assert_eq!(refunded.positions, vec![4]);
    assert_eq!(refunded.refunded.rupiah(), 14_000, "a fifth of Rp 70.000");
    assert_eq!(refunded.report.status, ReportStatus::Resolved);
    assert_eq!(refunded.report.refunded.rupiah(), 14_000);
    assert_eq!(w.balance(buyer).await, balance_after_order + 14_000);
    let outcomes: Vec<_> = refunded.report.codes.iter().map(|c| c.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Some(CodeOutcome::Replaced), Some(CodeOutcome::Refunded)]
    );
    // The buyer's codes now: 4 originals left + 1 new, never the replaced or refunded ones.
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE defective_at IS NOT NULL",
            vec![]
        )
        .await,
        2
    );
    assert_eq!(w.outbox("report.updated").await.len(), 2);
    // One open report per order at a time, and none once closed can be acted on again.
    assert!(
        act(&w, 9, opened.report_id, ReportAction::Refund, &[], None)
            .await
            .is_err()
    );
    // The ledger holds the partial refund once, and a later whole-order refund returns only
    // the rest.
    assert_eq!(
        w.scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger WHERE reason = 'refund'",
            vec![]
        )
        .await,
        14_000
    );
    let whole = w
        .admin
        .order_process(
            &signed(shared_proto::AdminOrderProcess {
                request_id: id(),
                claim: admin_claim(9),
                order_number: order.clone(),
                action: shared_proto::ProcessAction::Refund,
                force: true,
                reason: Some("buyer gave up on the rest".into()),
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
        .expect("refunded");
    assert_eq!(
        whole.refunded.map(|r| r.rupiah()),
        Some(56_000),
        "only what was not refunded code by code"
    );
    assert_eq!(w.balance(buyer).await, balance_after_order + 70_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_replaced_and_refunded_code_by_code_on_postgres() {
    replace_one_refund_one(World::pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_replaced_and_refunded_code_by_code_on_sqlite() {
    replace_one_refund_one(World::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_replacing_one_report_at_once_replace_once() {
    let w = World::pg().await;
    let buyer = 5_200;
    let (order, _) = completed_order(&w, buyer, "RPT-B-").await;
    let opened = report(&w, buyer, &order, &[1, 3]).await;
    let (a, b) = tokio::join!(
        act(&w, 9, opened.report_id, ReportAction::Replace, &[], None),
        act(&w, 10, opened.report_id, ReportAction::Replace, &[], None)
    );
    let done: Vec<_> = [a, b].into_iter().filter_map(Result::ok).collect();
    assert_eq!(done.len(), 1, "exactly one admin's replace acts");
    assert_eq!(done[0].positions, vec![1, 3]);
    let replacements = w
        .outbox("delivery.requested")
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::DeliveryRequested(d) if !d.replacing.is_empty()))
        .count();
    assert_eq!(replacements, 1);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM code_report_items WHERE replacement_stock_id IS NOT NULL",
            vec![]
        )
        .await,
        2
    );
    // 8 codes: 5 sold with the order, 2 replacements sold, 1 left.
    assert_eq!(w.stock_status_counts().await, (1, 0, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_refused_for_others_orders_open_twice_bad_positions_and_too_often() {
    let w = World::pg().await;
    let buyer = 5_300;
    let (order, _) = completed_order(&w, buyer, "RPT-C-").await;
    let refusal = |r: anyhow::Result<Result<ReportView, ServiceError>>| r.unwrap().unwrap_err();
    // Somebody else's order: not found, nothing learnt.
    assert!(matches!(
        refusal(
            w.orders
                .report_create(&report_cmd(9_999, &order, &[1], &id()))
                .await
        ),
        ServiceError::NotFound { .. }
    ));
    // A position the order does not have.
    assert!(matches!(
        refusal(
            w.orders
                .report_create(&report_cmd(buyer, &order, &[6], &id()))
                .await
        ),
        ServiceError::InvalidInput { .. }
    ));
    // "Other" needs words.
    let mut other = report_cmd(buyer, &order, &[1], &id());
    other.reason = ReportReason::Other;
    assert!(matches!(
        refusal(w.orders.report_create(&other).await),
        ServiceError::InvalidInput { .. }
    ));
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM code_reports", vec![]).await,
        0
    );

    let request = id();
    let first = w
        .orders
        .report_create(&report_cmd(buyer, &order, &[1], &request))
        .await
        .unwrap()
        .unwrap();
    // The same request again: the same report.
    let again = w
        .orders
        .report_create(&report_cmd(buyer, &order, &[1], &request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.report_id, again.report_id);
    // A second open report of the order: refused.
    assert!(matches!(
        refusal(
            w.orders
                .report_create(&report_cmd(buyer, &order, &[2], &id()))
                .await
        ),
        ServiceError::InvalidInput { .. }
    ));
    // Rejecting needs a reason; with one, the report closes as rejected.
    assert!(act(&w, 9, first.report_id, ReportAction::Reject, &[], None)
        .await
        .is_err());
    let rejected = act(
        &w,
        9,
        first.report_id,
        ReportAction::Reject,
        &[],
        Some("the code works: redeem it in the Redfinger app, not the website"),
    )
    .await
    .expect("rejected");
    assert_eq!(rejected.report.status, ReportStatus::Rejected);
    // Reports per buyer per hour are limited.
    let second = report(&w, buyer, &order, &[2]).await;
    act(
        &w,
        9,
        second.report_id,
        ReportAction::Reject,
        &[],
        Some("works"),
    )
    .await
    .unwrap();
    let third = report(&w, buyer, &order, &[3]).await;
    act(
        &w,
        9,
        third.report_id,
        ReportAction::Reject,
        &[],
        Some("works"),
    )
    .await
    .unwrap();
    assert!(matches!(
        refusal(
            w.orders
                .report_create(&report_cmd(buyer, &order, &[4], &id()))
                .await
        ),
        ServiceError::Cooldown { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defective_batch_leaves_sale_and_its_defects_are_counted() {
    let w = World::pg().await;
    let batch = w.add_codes(&codes("RPT-D-", 6)).await;
    w.user_with_balance(5_400, 100_000).await;
    w.order(5_400, PackageSize::One, &id())
        .await
        .outcome
        .expect("ordered");
    let done = w
        .admin
        .batch_defective(&signed(AdminBatchDefective {
            request_id: id(),
            claim: admin_claim(9),
            batch_id: batch.batch_id.clone(),
            note: Some("supplier resold them".into()),
        }))
        .await
        .unwrap()
        .outcome
        .expect("declared");
    assert_eq!(done.withdrawn, 5);
    assert_eq!(done.defective, 6);
    assert_eq!(done.available_after, 0);
    // Nothing of it can be sold any more.
    w.user_with_balance(5_401, 100_000).await;
    assert!(matches!(
        w.order(5_401, PackageSize::One, &id()).await.outcome,
        Err(ServiceError::OutOfStock { .. })
    ));
    let view = w
        .admin
        .stock_view(&signed(shared_proto::AdminStockView {
            request_id: id(),
            claim: admin_claim(9),
        }))
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(view.counts.defective, 6);
    let b = view
        .recent_batches
        .iter()
        .find(|b| b.batch_id == batch.batch_id)
        .unwrap();
    assert_eq!((b.added, b.defective), (6, 6));
    let audited =
        w.db.query_one(sea_orm::Statement::from_string(
            w.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM admin_audit WHERE action = 'batch.defective'".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(audited, 1);
}
