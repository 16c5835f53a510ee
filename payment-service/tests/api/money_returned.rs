//! Money returned after settlement (DESIGN invariant 5): refunds and chargebacks of a credited
//! top-up, sent by the simulator as Midtrans sends them, are reversed through the ledger once
//! each, as far as the balance allows; the rest is owed.

use midtrans_simulator::{NotifyRequest, ReturnRequest};

use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

async fn credited(app: &TestApp, request_id: &str, user_id: u64, amount: i64) -> String {
    let order_id = app.create_topup(request_id, user_id, amount).await;
    app.sim.pay(&order_id).await.expect("paid");
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("success")
    );
    order_id
}

async fn reversal_sum(app: &TestApp, order_id: &str) -> i64 {
    app.scalar(
        "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger \
         WHERE reason = 'reversal' AND reference LIKE $1",
        vec![format!("{order_id}#%").into()],
    )
    .await
}

async fn reversal_rows(app: &TestApp, order_id: &str) -> i64 {
    app.scalar(
        "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'reversal' AND reference LIKE $1",
        vec![format!("{order_id}#%").into()],
    )
    .await
}

async fn owed(app: &TestApp, user_id: u64) -> i64 {
    app.scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM balance_owed WHERE user_id = $1",
        vec![(user_id as i64).into()],
    )
    .await
}

async fn returned_amount(app: &TestApp, order_id: &str) -> i64 {
    app.scalar(
        "SELECT CAST(COALESCE(returned_amount, 0) AS BIGINT) FROM topups WHERE order_id = $1",
        vec![order_id.into()],
    )
    .await
}

#[tokio::test]
async fn a_full_refund_is_taken_back_once_and_recorded_on_the_top_up() {
    let app = spawn_app().await;
    let order_id = credited(&app, "rf-1", 3001, 50_000).await;

    let outcome = app
        .sim
        .refund(&order_id, ReturnRequest::default())
        .await
        .expect("refunded");
    assert_eq!(outcome.deliveries[0].http_status, Some(200));

    let row = app.topup(&order_id).await;
    assert_eq!(
        row.status.as_deref(),
        Some("success"),
        "shared vocabulary kept"
    );
    assert_eq!(row.midtrans_status.as_deref(), Some("refund"));
    assert_eq!(returned_amount(&app, &order_id).await, 50_000);
    assert_eq!(app.balance(3001).await.0, 0);
    assert_eq!(reversal_sum(&app, &order_id).await, -50_000);
    assert_eq!(app.ledger_sum(3001).await, 0);
    assert_eq!(owed(&app, 3001).await, 0);
    assert_eq!(app.outbox_rows("topup.reversed", &order_id).await, 1);

    // Midtrans repeats the notification: nothing more is taken.
    let repeat = app
        .sim
        .notify(&order_id, NotifyRequest::default())
        .await
        .expect("renotified");
    assert_eq!(repeat.deliveries[0].http_status, Some(200));
    assert_eq!(reversal_rows(&app, &order_id).await, 1);
    assert_eq!(app.balance(3001).await.0, 0);
    assert_eq!(app.outbox_rows("topup.reversed", &order_id).await, 1);
}

#[tokio::test]
async fn each_partial_refund_is_reversed_once() {
    let app = spawn_app().await;
    let order_id = credited(&app, "rf-2", 3002, 50_000).await;
    for amount in [20_000, 10_000] {
        app.sim
            .refund(
                &order_id,
                ReturnRequest {
                    amount: Some(amount),
                    ..ReturnRequest::default()
                },
            )
            .await
            .expect("partly refunded");
    }
    // Both notifications again, in any order: nothing changes.
    app.sim
        .notify(&order_id, NotifyRequest::default())
        .await
        .expect("renotified");
    assert_eq!(reversal_rows(&app, &order_id).await, 2);
    assert_eq!(reversal_sum(&app, &order_id).await, -30_000);
    assert_eq!(app.balance(3002).await.0, 20_000);
    assert_eq!(returned_amount(&app, &order_id).await, 30_000);
    assert_eq!(
        app.topup(&order_id).await.midtrans_status.as_deref(),
        Some("partial_refund")
    );
    assert_eq!(app.outbox_rows("topup.reversed", &order_id).await, 2);
}

#[tokio::test]
async fn a_chargeback_after_the_balance_was_spent_leaves_the_rest_owed_never_a_negative_balance() {
    let app = spawn_app().await;
    let order_id = credited(&app, "cb-1", 3003, 50_000).await;
    // The user spent 35,000 of it meanwhile (as an order would, atomically).
    app.execute(
        "UPDATE users SET balance = balance - 35000, total_spent = total_spent + 35000 \
         WHERE user_id = $1 AND balance >= 35000",
        vec![3003i64.into()],
    )
    .await;

    app.sim
        .chargeback(&order_id, ReturnRequest::default())
        .await
        .expect("charged back");

    assert_eq!(app.balance(3003).await.0, 0);
    assert_eq!(reversal_sum(&app, &order_id).await, -15_000);
    assert_eq!(owed(&app, 3003).await, 35_000);
    assert_eq!(returned_amount(&app, &order_id).await, 50_000);
    let row = app.topup(&order_id).await;
    assert_eq!(row.status.as_deref(), Some("success"));
    assert_eq!(row.midtrans_status.as_deref(), Some("chargeback"));
    assert_eq!(
        app.scalar(
            "SELECT balance_after FROM balance_ledger WHERE reason = 'reversal' AND reference LIKE $1",
            vec![format!("{order_id}#%").into()],
        )
        .await,
        0
    );
    let event = app
        .scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_type = 'topup.reversed' \
             AND payload LIKE '%\"owed\":35000%' AND payload LIKE '%\"taken_from_balance\":15000%'",
            vec![],
        )
        .await;
    assert_eq!(event, 1, "the admins' alert carries the figures");
}

#[tokio::test]
async fn a_forged_refund_that_midtrans_does_not_confirm_changes_nothing() {
    let app = spawn_app_with(Options {
        webhook: false,
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("rf-forged", 3004, 40_000).await;
    app.sim
        .pay(&order_id)
        .await
        .expect("paid (nobody notified)");
    let settlement = app.signed_notification(&order_id).await;
    assert_eq!(app.post_notification(&settlement).await, 200);

    // A correctly signed `refund` (the signature does not cover transaction_status) while
    // Midtrans still says settlement.
    let mut forged = settlement.clone();
    forged["transaction_status"] = "refund".into();
    forged["refund_amount"] = "40000.00".into();
    assert_eq!(app.post_notification(&forged).await, 200);
    assert_eq!(app.balance(3004).await.0, 40_000);
    assert_eq!(reversal_rows(&app, &order_id).await, 0);
}

#[tokio::test]
async fn refunds_are_reversed_on_sqlite_too() {
    let app = spawn_app_with(Options {
        sqlite: true,
        ..Default::default()
    })
    .await;
    let order_id = credited(&app, "rf-sqlite", 3005, 30_000).await;
    app.execute(
        "UPDATE users SET balance = balance - 20000 WHERE user_id = $1 AND balance >= 20000",
        vec![3005i64.into()],
    )
    .await;
    app.sim
        .refund(
            &order_id,
            ReturnRequest {
                amount: Some(25_000),
                ..ReturnRequest::default()
            },
        )
        .await
        .expect("partly refunded");
    app.sim
        .notify(&order_id, NotifyRequest::default())
        .await
        .expect("renotified");
    assert_eq!(app.balance(3005).await.0, 0);
    assert_eq!(reversal_sum(&app, &order_id).await, -10_000);
    assert_eq!(owed(&app, 3005).await, 15_000);
    assert_eq!(reversal_rows(&app, &order_id).await, 1);
}
