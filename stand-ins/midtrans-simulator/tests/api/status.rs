//! `GET /v2/{order_id}/status`, `/cancel`, `/expire` and the control state changes.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{correctly_signed, qris_charge, spawn_simulator, TestSimulator, SERVER_KEY};

#[tokio::test]
async fn status_follows_the_transaction() {
    let app = spawn_simulator(|_| {}).await;
    let (_, charge) = app.charge("ORDER-30-1", 75_000).await;

    let (http, pending) = app.status("ORDER-30-1").await;
    assert_eq!(http, 200);
    assert_eq!(pending["status_code"], "201");
    assert_eq!(pending["transaction_status"], "pending");
    assert_eq!(pending["transaction_id"], charge["transaction_id"]);
    assert_eq!(pending["gross_amount"], "75000.00");
    assert!(correctly_signed(&pending, SERVER_KEY));

    let (http, _) = app.control("/_sim/transactions/ORDER-30-1/pay", None).await;
    assert_eq!(http, 200);
    let (_, settled) = app.status("ORDER-30-1").await;
    assert_eq!(settled["status_code"], "200");
    assert_eq!(settled["transaction_status"], "settlement");
    assert_eq!(settled["fraud_status"], "accept");
    assert!(settled["settlement_time"].is_string());

    // A settled transaction does not change any more.
    let (http, conflict) = app
        .control("/_sim/transactions/ORDER-30-1/expire", None)
        .await;
    assert_eq!(http, 409);
    assert_eq!(conflict["transaction_status"], "settlement");
}

#[tokio::test]
async fn status_after_expire_is_407() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-31-1", 10_000).await;
    let (http, expired) = TestSimulator::send(
        app.http
            .post(app.url("/v2/ORDER-31-1/expire"))
            .basic_auth(SERVER_KEY, Some("")),
    )
    .await;
    assert_eq!(http, 200);
    assert_eq!(expired["status_code"], "407");
    assert_eq!(expired["transaction_status"], "expire");

    let (http, status) = app.status("ORDER-31-1").await;
    assert_eq!(http, 200);
    assert_eq!(status["status_code"], "407");
    assert_eq!(status["transaction_status"], "expire");
}

#[tokio::test]
async fn control_expire_and_deny_set_their_codes() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-32-1", 10_000).await;
    app.charge("ORDER-32-2", 10_000).await;
    app.control("/_sim/transactions/ORDER-32-1/expire", None)
        .await;
    app.control("/_sim/transactions/ORDER-32-2/deny", None)
        .await;
    assert_eq!(app.status("ORDER-32-1").await.1["status_code"], "407");
    let denied = app.status("ORDER-32-2").await.1;
    assert_eq!(denied["status_code"], "202");
    assert_eq!(denied["transaction_status"], "deny");
}

#[tokio::test]
async fn custom_expiry_expires_by_itself() {
    let app = spawn_simulator(|_| {}).await;
    let mut body = qris_charge("ORDER-33-1", 10_000);
    body["custom_expiry"] = json!({"expiry_duration": 1, "unit": "second"});
    TestSimulator::send(app.charge_request(&body)).await;
    assert_eq!(app.status("ORDER-33-1").await.1["status_code"], "201");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(app.status("ORDER-33-1").await.1["status_code"], "407");
}

#[tokio::test]
async fn unknown_order_is_404_in_the_body_of_an_http_200() {
    let app = spawn_simulator(|_| {}).await;
    let (http, body) = app.status("never-charged").await;
    assert_eq!(http, 200);
    assert_eq!(body["status_code"], "404");
    assert_eq!(body["status_message"], "Transaction doesn't exist.");
    let (http, _) = app
        .control("/_sim/transactions/never-charged/pay", None)
        .await;
    assert_eq!(http, 404);
}

#[tokio::test]
async fn cancelling_a_settled_transaction_is_412() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-34-1", 10_000).await;
    app.sim.pay("ORDER-34-1").await.expect("pays");
    let (_, body) = TestSimulator::send(
        app.http
            .post(app.url("/v2/ORDER-34-1/cancel"))
            .basic_auth(SERVER_KEY, Some("")),
    )
    .await;
    assert_eq!(body["status_code"], "412");
    assert_eq!(
        app.status("ORDER-34-1").await.1["transaction_status"],
        "settlement"
    );
}

#[tokio::test]
async fn transactions_list_shows_every_charge() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-35-1", 10_000).await;
    app.charge("ORDER-35-2", 20_000).await;
    let (_, list) = TestSimulator::send(app.http.get(app.url("/_sim/transactions"))).await;
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["order_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec!["ORDER-35-1", "ORDER-35-2"]);
}
