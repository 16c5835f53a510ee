//! DESIGN.md §6 after a randomized concurrent run of orders, delivery confirmations and
//! failures, refunds and re-deliveries, and chargebacks of credited top-ups (invariant 5).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use payment_service::persistence::stmt;
use rand::{Rng, SeedableRng};
use sea_orm::ConnectionTrait;
use shared_proto::{
    AdminOrderProcess, DeliveryConfirmed, DeliveryFailed, DeliveryMethod, Event, PackageSize,
    ProcessAction,
};
use uuid::Uuid;

use crate::helpers::*;

const USERS: i64 = 25;

#[tokio::test]
async fn invariants_hold_after_a_randomized_concurrent_run() {
    let seed: u64 = std::env::var("INVARIANTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("INVARIANTS_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let w = Arc::new(World::pg_with(&[("DELIVERY_RETRY_ATTEMPTS", "2")]).await);
    w.add_codes(&codes("INV", 120)).await;
    let mut initial = HashMap::new();
    for u in 1..=USERS {
        let b = rng.gen_range(0..20) * 15_000;
        w.user_with_balance(u, b).await;
        initial.insert(u, b);
    }
    let mut tasks = Vec::new();
    // Some users had a top-up credited; Midtrans reports it charged back (each report twice, at
    // once) while their orders run.
    const CHARGED_BACK: i64 = 8;
    for u in 1..=CHARGED_BACK {
        let order_id = format!("ORDER-{u}-1700000000");
        w.db.execute(stmt(
            &w.db,
            "INSERT INTO topups (order_id, user_id, amount, bot_source, status, midtrans_status) \
             VALUES ($1, $2, 60000, 'order', 'success', 'settlement')",
            [order_id.clone().into(), u.into()],
        ))
        .await
        .unwrap();
        let row = payment_service::topups::repository::find_by_order_id(&w.db, &order_id)
            .await
            .unwrap()
            .unwrap();
        let amount = rng.gen_range(1..=4) * 15_000;
        for _ in 0..2 {
            let (w, row) = (w.clone(), row.clone());
            tasks.push(tokio::spawn(async move {
                let plan = payment_service::topups::domain::ReversalPlan {
                    reference: format!("{}#id:{u}", row.order_id),
                    requested: shared_proto::Idr::new(amount),
                    cumulative: false,
                };
                let user = shared_proto::DiscordUserId::from_i64(u).unwrap();
                // A copy that lost the race on SQLite-style guards may fail; Midtrans retries.
                for _ in 0..5 {
                    if payment_service::topups::repository::reverse(
                        &w.db,
                        "events",
                        &row,
                        user,
                        &plan,
                        "partial_chargeback",
                    )
                    .await
                    .is_ok()
                    {
                        break;
                    }
                }
            }));
        }
    }
    for i in 0..250u32 {
        let w = w.clone();
        let user = rng.gen_range(1..=USERS);
        let package = if rng.gen_bool(0.8) {
            PackageSize::One
        } else {
            PackageSize::Five
        };
        let plan: u8 = rng.gen_range(0..5);
        let repeat = rng.gen_bool(0.1);
        tasks.push(tokio::spawn(async move {
            let rid = format!("inv-{i}");
            let reply = w.order(user, package, &rid).await;
            if repeat && reply.outcome.is_ok() {
                // An accepted request is remembered; a refused one is simply evaluated again.
                assert_eq!(
                    w.order(user, package, &rid).await,
                    reply,
                    "a repeat returns the first outcome"
                );
            }
            let Ok(accepted) = reply.outcome else { return };
            let n = accepted.order_number;
            let fail = |attempt, retryable| DeliveryFailed {
                order_number: n.clone(),
                attempt,
                error: "dm closed".into(),
                retryable,
            };
            let confirm = |attempt| DeliveryConfirmed {
                order_number: n.clone(),
                attempt,
                method: DeliveryMethod::Dm,
                message_id: None,
            };
            let process = |action| {
                let r = Uuid::new_v4().to_string();
                signed(AdminOrderProcess {
                    request_id: r.clone(),
                    claim: admin_claim(1),
                    order_number: n.clone(),
                    action,
                    // Plan 2 refunds an order still delivering (a retry is queued).
                    force: true,
                    reason: Some("the buyer reports no delivery".into()),
                })
            };
            let id = || Uuid::new_v4().to_string();
            match plan {
                0 => w
                    .orders
                    .delivery_confirmed(&confirm(1), &id())
                    .await
                    .unwrap(),
                1 => {
                    w.orders
                        .delivery_failed(&fail(1, true), &id(), Uuid::new_v4())
                        .await
                        .unwrap();
                    w.orders
                        .delivery_confirmed(&confirm(2), &id())
                        .await
                        .unwrap();
                }
                2 => {
                    w.orders
                        .delivery_failed(&fail(1, true), &id(), Uuid::new_v4())
                        .await
                        .unwrap();
                    w.orders
                        .delivery_failed(&fail(2, true), &id(), Uuid::new_v4())
                        .await
                        .unwrap();
                    // Two admins press refund at once: one wins.
                    let (p1, p2) = (
                        process(ProcessAction::Refund),
                        process(ProcessAction::Refund),
                    );
                    let (a, b) = tokio::join!(
                        w.admin.order_process(&p1, Uuid::new_v4()),
                        w.admin.order_process(&p2, Uuid::new_v4()),
                    );
                    let wins = [a.unwrap().outcome.is_ok(), b.unwrap().outcome.is_ok()];
                    assert_eq!(wins.iter().filter(|x| **x).count(), 1);
                }
                3 => {
                    w.orders
                        .delivery_failed(&fail(1, false), &id(), Uuid::new_v4())
                        .await
                        .unwrap();
                    w.admin
                        .order_process(&process(ProcessAction::Redeliver), Uuid::new_v4())
                        .await
                        .unwrap()
                        .outcome
                        .unwrap();
                    w.orders
                        .delivery_confirmed(&confirm(2), &id())
                        .await
                        .unwrap();
                }
                _ => {} // still delivering
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // 1. Per user: initial balance + Σ ledger deltas = balance, never negative.
    for (u, b0) in &initial {
        let deltas = w.scalar("SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger WHERE user_id = $1", vec![(*u).into()]).await;
        assert_eq!(w.balance(*u).await, b0 + deltas, "user {u}");
        assert!(w.balance(*u).await >= 0);
    }
    // Charged orders − refunds = Σ ledger deltas overall.
    let charged = w
        .scalar(
            "SELECT CAST(COALESCE(SUM(total_price), 0) AS BIGINT) FROM orders",
            vec![],
        )
        .await;
    let refunded = w.scalar("SELECT CAST(COALESCE(SUM(total_price), 0) AS BIGINT) FROM orders WHERE status = 'refunded'", vec![]).await;
    let ledger = w
        .scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger",
            vec![],
        )
        .await;
    let reversed = w
        .scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger WHERE reason = 'reversal'",
            vec![],
        )
        .await;
    assert_eq!(-charged + refunded + reversed, ledger);
    // 5. Money returned after settlement: reversed once each, as far as the balance allowed,
    //    the rest owed — returned = taken back + owed, per user; nothing lost.
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'reversal'",
            vec![]
        )
        .await,
        CHARGED_BACK
    );
    for u in 1..=CHARGED_BACK {
        let returned = w
            .scalar(
                "SELECT CAST(COALESCE(SUM(returned_amount), 0) AS BIGINT) FROM topups WHERE user_id = $1",
                vec![u.into()],
            )
            .await;
        let taken = -w
            .scalar(
                "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger WHERE user_id = $1 AND reason = 'reversal'",
                vec![u.into()],
            )
            .await;
        let owed = w
            .scalar(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM balance_owed WHERE user_id = $1",
                vec![u.into()],
            )
            .await;
        assert!(returned > 0, "user {u}");
        assert_eq!(returned, taken + owed, "user {u}");
        assert!(taken >= 0 && owed >= 0);
    }
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'refund'",
            vec![]
        )
        .await,
        w.scalar(
            "SELECT COUNT(*) FROM orders WHERE status = 'refunded'",
            vec![]
        )
        .await
    );
    // 2. Every code in at most one order; each order holds exactly its quantity.
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM orders o WHERE code_quantity <> (SELECT COUNT(*) FROM stock s WHERE s.order_id = o.id)", vec![]).await,
        0
    );
    let mut owner: HashMap<String, String> = HashMap::new();
    let rows =
        w.db.query_all(stmt(
            &w.db,
            "SELECT payload FROM outbox WHERE message_type = 'delivery.requested'",
            [],
        ))
        .await
        .unwrap();
    for r in rows {
        let p: String = r.try_get("", "payload").unwrap();
        if let Event::DeliveryRequested(d) =
            shared_proto::Envelope::<Event>::from_bytes(p.as_bytes())
                .unwrap()
                .payload
        {
            for c in d.codes {
                let prev = owner.insert(c.clone(), d.order_number.clone());
                assert!(
                    prev.is_none() || prev.as_ref() == Some(&d.order_number),
                    "code in two orders"
                );
            }
        }
    }
    // Sold = Σ quantities of completed orders.
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock WHERE status = 'sold'", vec![]).await,
        w.scalar("SELECT CAST(COALESCE(SUM(code_quantity), 0) AS BIGINT) FROM orders WHERE status = 'completed'", vec![]).await
    );
    // 3. Every charged order is completed, refunded, visibly failed or still delivering.
    let statuses: HashSet<String> =
        w.db.query_all(stmt(&w.db, "SELECT DISTINCT status FROM orders", []))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "status").unwrap())
            .collect();
    assert!(
        statuses
            .iter()
            .all(|s| ["completed", "refunded", "failed", "delivering"].contains(&s.as_str())),
        "{statuses:?}"
    );
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM orders", vec![]).await,
        w.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'order'",
            vec![]
        )
        .await
    );
}
