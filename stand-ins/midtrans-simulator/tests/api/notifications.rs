//! Notifications: shape, signature, URL headers, retries, duplicates, fee imposition.

use std::time::Duration;

use midtrans_simulator::{NotificationRetry, NotifyRequest};
use serde_json::{json, Value};

use crate::helpers::{
    correctly_signed, qris_charge, spawn_receiver, spawn_simulator, TestSimulator, SERVER_KEY,
};

#[tokio::test]
async fn charge_then_pay_delivers_a_correctly_signed_settlement() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    let (_, charge) = app.charge("ORDER-11-1700000000", 50_000).await;

    let (http, outcome) = app
        .control("/_sim/transactions/ORDER-11-1700000000/pay", None)
        .await;
    assert_eq!(http, 200);
    assert_eq!(outcome["deliveries"][0]["http_status"], 200);

    let received = webhook.wait_for(1).await;
    let body = &received[0];
    assert!(correctly_signed(body, SERVER_KEY), "{body}");
    assert_eq!(body["transaction_status"], "settlement");
    assert_eq!(body["status_code"], "200");
    assert_eq!(body["status_message"], "midtrans payment notification");
    assert_eq!(body["order_id"], "ORDER-11-1700000000");
    assert_eq!(body["transaction_id"], charge["transaction_id"]);
    assert_eq!(body["merchant_id"], charge["merchant_id"]);
    assert_eq!(body["gross_amount"], "50000.00");
    assert_eq!(body["payment_type"], "qris");
    assert_eq!(body["currency"], "IDR");
    assert_eq!(body["fraud_status"], "accept");
    assert_eq!(body["transaction_type"], "on-us");
    assert_eq!(body["acquirer"], "gopay");
    assert_eq!(body["issuer"], "gopay");
    assert_eq!(body["transaction_time"], charge["transaction_time"]);
    assert!(body["settlement_time"].is_string());
    assert!(body.get("metadata").is_none());

    let log = app.sim.notifications();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].http_status, Some(200));
    assert_eq!(log[0].attempt, 1);

    let (_, over_http) = TestSimulator::send(app.http.get(app.url("/_sim/notifications"))).await;
    assert_eq!(over_http[0]["http_status"], 200);
    assert_eq!(over_http[0]["url"], webhook.url.as_str());
}

#[tokio::test]
async fn override_header_replaces_the_default_url() {
    let default = spawn_receiver(&[]).await;
    let ours = spawn_receiver(&[]).await;
    let url = default.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    TestSimulator::send(
        app.charge_request(&qris_charge("ORDER-12-1", 10_000))
            .header("X-Override-Notification", &ours.url),
    )
    .await;
    app.sim.pay("ORDER-12-1").await.expect("pending order pays");
    assert_eq!(ours.wait_for(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(default.received().is_empty());
}

#[tokio::test]
async fn append_header_adds_to_the_default_url() {
    let default = spawn_receiver(&[]).await;
    let extra = spawn_receiver(&[]).await;
    let url = default.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    TestSimulator::send(
        app.charge_request(&qris_charge("ORDER-13-1", 10_000))
            .header("X-Append-Notification", &extra.url),
    )
    .await;
    let outcome = app.sim.pay("ORDER-13-1").await.expect("pays");
    assert_eq!(outcome.deliveries.len(), 2);
    assert_eq!(default.wait_for(1).await.len(), 1);
    assert_eq!(extra.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn two_override_urls_both_receive() {
    let a = spawn_receiver(&[]).await;
    let b = spawn_receiver(&[]).await;
    let app = spawn_simulator(|_| {}).await;
    TestSimulator::send(
        app.charge_request(&qris_charge("ORDER-14-1", 10_000))
            .header("X-Override-Notification", format!("{}, {}", a.url, b.url)),
    )
    .await;
    app.sim.pay("ORDER-14-1").await.expect("pays");
    assert_eq!(a.wait_for(1).await.len(), 1);
    assert_eq!(b.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_503_is_retried_until_the_webhook_accepts() {
    let webhook = spawn_receiver(&[503, 503]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-15-1", 10_000).await;
    let outcome = app.sim.pay("ORDER-15-1").await.expect("pays");
    assert_eq!(outcome.deliveries[0].http_status, Some(503));

    let received = webhook.wait_for(3).await;
    assert_eq!(received[0], received[2], "a retry resends the same body");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let statuses: Vec<_> = app
        .sim
        .notifications()
        .iter()
        .map(|r| (r.attempt, r.http_status))
        .collect();
    assert_eq!(
        statuses,
        vec![(1, Some(503)), (2, Some(503)), (3, Some(200))]
    );
}

#[tokio::test]
async fn a_500_earns_one_retry_only() {
    let webhook = spawn_receiver(&[500, 500, 500, 500]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-16-1", 10_000).await;
    app.sim.pay("ORDER-16-1").await.expect("pays");
    webhook.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(webhook.received().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_the_configured_schedule() {
    let webhook = spawn_receiver(&[503, 503, 503, 503, 503, 503]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| {
        c.default_notification_url = Some(url);
        c.notification_retry = NotificationRetry::from_millis(&[10]);
    })
    .await;
    app.charge("ORDER-17-1", 10_000).await;
    app.sim.pay("ORDER-17-1").await.expect("pays");
    webhook.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(webhook.received().len(), 2);
}

#[tokio::test]
async fn an_unreachable_webhook_is_logged_without_a_status() {
    let app = spawn_simulator(|c| {
        // Port 9 (discard) on loopback is closed on test machines.
        c.default_notification_url = Some("http://127.0.0.1:9/webhook".into());
        c.notification_retry = NotificationRetry::none();
    })
    .await;
    app.charge("ORDER-18-1", 10_000).await;
    let outcome = app.sim.pay("ORDER-18-1").await.expect("pays");
    assert_eq!(outcome.deliveries[0].http_status, None);
    assert!(outcome.deliveries[0].error.is_some());
    assert_eq!(app.sim.notifications().len(), 1);
}

#[tokio::test]
async fn notify_sends_duplicates_and_altered_notifications() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-19-1", 50_000).await;
    app.sim.pay("ORDER-19-1").await.expect("pays");

    // Duplicate: same status again.
    let (http, _) = app
        .control("/_sim/transactions/ORDER-19-1/notify", None)
        .await;
    assert_eq!(http, 200);
    // Out of order: a late pending, correctly signed.
    app.control(
        "/_sim/transactions/ORDER-19-1/notify",
        Some(json!({"transaction_status": "pending"})),
    )
    .await;
    // Tampered amount, signed over the tampered value.
    app.control(
        "/_sim/transactions/ORDER-19-1/notify",
        Some(json!({"gross_amount": "1.00"})),
    )
    .await;
    // A forged signature.
    app.sim
        .notify(
            "ORDER-19-1",
            NotifyRequest {
                signature_key: Some("00".repeat(64)),
                ..NotifyRequest::default()
            },
        )
        .await
        .expect("known order");

    let received = webhook.wait_for(5).await;
    let first = &received[0];
    assert_eq!(received[1], *first, "a duplicate is byte-for-byte the same");
    assert_eq!(received[2]["transaction_status"], "pending");
    assert_eq!(received[2]["status_code"], "201");
    assert!(correctly_signed(&received[2], SERVER_KEY));
    assert_eq!(received[3]["gross_amount"], "1.00");
    assert!(correctly_signed(&received[3], SERVER_KEY));
    assert!(!correctly_signed(&received[4], SERVER_KEY));

    // None of it changed the transaction.
    let (_, status) = app.status("ORDER-19-1").await;
    assert_eq!(status["transaction_status"], "settlement");
}

#[tokio::test]
async fn notify_for_an_unknown_order_is_404() {
    let app = spawn_simulator(|_| {}).await;
    let (http, _) = app.control("/_sim/transactions/nope/notify", None).await;
    assert_eq!(http, 404);
}

#[tokio::test]
async fn fee_imposition_adds_the_fee_and_reports_the_base_amount() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| {
        c.default_notification_url = Some(url);
        c.fee_imposition = Some(350);
    })
    .await;
    let (_, charge) = app.charge("ORDER-20-1", 50_000).await;
    assert_eq!(charge["gross_amount"], "50350.00");
    app.sim.pay("ORDER-20-1").await.expect("pays");
    let body: Value = webhook.wait_for(1).await.remove(0);
    assert_eq!(body["gross_amount"], "50350.00");
    assert!(correctly_signed(&body, SERVER_KEY));
    let info = &body["metadata"]["extra_info"]["gross_amount_info"];
    assert_eq!(info["original_amount"], "50000");
    assert_eq!(info["customer_imposed_payment_fee"], "350");
    let (_, status) = app.status("ORDER-20-1").await;
    assert_eq!(
        status["metadata"]["extra_info"]["gross_amount_info"]["original_amount"],
        "50000"
    );
}

#[tokio::test]
async fn cancel_through_the_core_api_notifies() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    app.charge("ORDER-21-1", 10_000).await;
    let (http, body) = TestSimulator::send(
        app.http
            .post(app.url("/v2/ORDER-21-1/cancel"))
            .basic_auth(SERVER_KEY, Some("")),
    )
    .await;
    assert_eq!(http, 200);
    assert_eq!(body["transaction_status"], "cancel");
    let received = webhook.wait_for(1).await;
    assert_eq!(received[0]["transaction_status"], "cancel");
    assert_eq!(received[0]["status_code"], "202");
    assert!(correctly_signed(&received[0], SERVER_KEY));
}

#[tokio::test]
async fn expire_cancel_and_deny_notifications_carry_status_code_202() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| c.default_notification_url = Some(url)).await;
    for (order, action) in [
        ("ORDER-23-1", "expire"),
        ("ORDER-23-2", "cancel"),
        ("ORDER-23-3", "deny"),
    ] {
        app.charge(order, 10_000).await;
        let (http, _) = app
            .control(&format!("/_sim/transactions/{order}/{action}"), None)
            .await;
        assert_eq!(http, 200);
    }
    let received = webhook.wait_for(3).await;
    for (body, action) in received.iter().zip(["expire", "cancel", "deny"]) {
        assert_eq!(body["transaction_status"], action);
        assert_eq!(body["status_code"], "202", "{action}");
        assert!(correctly_signed(body, SERVER_KEY), "{action}");
    }
    // The status API keeps its own codes: 407 for an expired transaction.
    assert_eq!(app.status("ORDER-23-1").await.1["status_code"], "407");
}

#[tokio::test]
async fn auto_pay_settles_new_charges() {
    let webhook = spawn_receiver(&[]).await;
    let url = webhook.url.clone();
    let app = spawn_simulator(|c| {
        c.default_notification_url = Some(url);
        c.auto_pay_after = Some(Duration::from_millis(50));
    })
    .await;
    app.charge("ORDER-22-1", 10_000).await;
    let received = webhook.wait_for(1).await;
    assert_eq!(received[0]["transaction_status"], "settlement");
}
