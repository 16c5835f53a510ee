//! Money returned after settlement: refund, partial_refund, chargeback, partial_chargeback.

use midtrans_simulator::ReturnRequest;
use serde_json::json;

use crate::helpers::{correctly_signed, spawn_receiver, spawn_simulator, SERVER_KEY};

#[tokio::test]
async fn partial_then_full_refund_notify_with_refund_amount_and_refunds() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-60-1", 50_000).await;
    app.sim.pay("ORDER-60-1").await.expect("pays");

    let (http, outcome) = app
        .control(
            "/_sim/transactions/ORDER-60-1/refund",
            Some(json!({"amount": 20_000, "reason": "customer asked", "refund_key": "rk-1"})),
        )
        .await;
    assert_eq!(http, 200, "{outcome}");
    assert_eq!(
        outcome["transaction"]["transaction_status"],
        "partial_refund"
    );

    let rest = app
        .sim
        .refund("ORDER-60-1", ReturnRequest::default())
        .await
        .expect("the rest is refunded");
    assert_eq!(rest.transaction["transaction_status"], "refund");

    let received = webhook.wait_for(3).await;
    let partial = &received[1];
    assert_eq!(partial["transaction_status"], "partial_refund");
    assert_eq!(partial["status_code"], "200");
    assert_eq!(partial["gross_amount"], "50000.00", "the original amount");
    assert!(correctly_signed(partial, SERVER_KEY), "{partial}");
    assert_eq!(partial["refund_amount"], "20000.00");
    assert_eq!(partial["refunds"][0]["refund_amount"], "20000.00");
    assert_eq!(partial["refunds"][0]["refund_key"], "rk-1");
    assert_eq!(partial["refunds"][0]["reason"], "customer asked");
    assert!(partial["refunds"][0]["refund_chargeback_id"].is_u64());
    assert!(partial["settlement_time"].is_string());

    let full = &received[2];
    assert_eq!(full["transaction_status"], "refund");
    assert_eq!(full["status_code"], "200");
    assert!(correctly_signed(full, SERVER_KEY));
    assert_eq!(full["refund_amount"], "50000.00", "the total returned");
    assert_eq!(full["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(full["refunds"][1]["refund_amount"], "30000.00");
    assert_ne!(
        full["refunds"][0]["refund_chargeback_id"],
        full["refunds"][1]["refund_chargeback_id"]
    );

    let (_, status) = app.status("ORDER-60-1").await;
    assert_eq!(status["transaction_status"], "refund");
    assert_eq!(status["status_code"], "200");
    assert_eq!(status["refund_amount"], "50000.00");

    // Nothing left to return.
    let (http, _) = app
        .control("/_sim/transactions/ORDER-60-1/refund", None)
        .await;
    assert_eq!(http, 409);
}

#[tokio::test]
async fn chargebacks_notify_partial_then_full() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-61-1", 40_000).await;
    app.sim.pay("ORDER-61-1").await.expect("pays");
    let partial = app
        .sim
        .chargeback(
            "ORDER-61-1",
            ReturnRequest {
                amount: Some(10_000),
                ..ReturnRequest::default()
            },
        )
        .await
        .expect("partial chargeback");
    assert_eq!(
        partial.transaction["transaction_status"],
        "partial_chargeback"
    );
    let (http, full) = app
        .control("/_sim/transactions/ORDER-61-1/chargeback", None)
        .await;
    assert_eq!(http, 200);
    assert_eq!(full["transaction"]["transaction_status"], "chargeback");

    let received = webhook.wait_for(3).await;
    assert_eq!(received[1]["transaction_status"], "partial_chargeback");
    assert_eq!(received[2]["transaction_status"], "chargeback");
    for body in &received[1..] {
        assert_eq!(body["status_code"], "200");
        assert!(correctly_signed(body, SERVER_KEY));
        assert!(body["refunds"][0].get("refund_key").is_none());
    }
    assert_eq!(received[2]["refund_amount"], "40000.00");
    assert_eq!(received[2]["refunds"][1]["refund_amount"], "30000.00");
}

#[tokio::test]
async fn money_is_returned_only_after_settlement_and_never_more_than_paid() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-62-1", 10_000).await;
    let (http, body) = app
        .control("/_sim/transactions/ORDER-62-1/refund", None)
        .await;
    assert_eq!(http, 409);
    assert_eq!(body["transaction_status"], "pending");
    app.sim.pay("ORDER-62-1").await.expect("pays");
    let (http, body) = app
        .control(
            "/_sim/transactions/ORDER-62-1/refund",
            Some(json!({"amount": 10_001})),
        )
        .await;
    assert_eq!(http, 409);
    assert_eq!(body["returnable"], 10_000);
    let (http, _) = app
        .control("/_sim/transactions/never/chargeback", None)
        .await;
    assert_eq!(http, 404);
    assert_eq!(
        app.status("ORDER-62-1").await.1["transaction_status"],
        "settlement"
    );
}
