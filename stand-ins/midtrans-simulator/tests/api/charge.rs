//! `POST /v2/charge`: answers, validation, auth, duplicates and idempotency.

use base64::Engine as _;
use serde_json::json;

use crate::helpers::{qris_charge, spawn_simulator, TestSimulator, SERVER_KEY};

#[tokio::test]
async fn qris_charge_answers_like_midtrans() {
    let app = spawn_simulator(|_| {}).await;
    let (http, body) = app.charge("ORDER-1-1700000000", 50_000).await;
    assert_eq!(http, 200);
    assert_eq!(body["status_code"], "201");
    assert_eq!(body["status_message"], "QRIS transaction is created");
    assert_eq!(body["order_id"], "ORDER-1-1700000000");
    assert_eq!(body["gross_amount"], "50000.00");
    assert_eq!(body["currency"], "IDR");
    assert_eq!(body["payment_type"], "qris");
    assert_eq!(body["transaction_status"], "pending");
    assert_eq!(body["fraud_status"], "accept");
    assert_eq!(body["acquirer"], "gopay");
    assert!(uuid::Uuid::parse_str(body["transaction_id"].as_str().unwrap()).is_ok());
    assert!(body["merchant_id"].as_str().unwrap().starts_with('G'));
    let qr = body["qr_string"].as_str().unwrap();
    assert!(
        qr.starts_with("000201010212") && qr.contains("540550000"),
        "{qr}"
    );
    assert_eq!(body["actions"][0]["name"], "generate-qr-code");
    assert_eq!(body["actions"][0]["method"], "GET");
    let time = body["transaction_time"].as_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").is_ok());
    let expiry = body["expiry_time"].as_str().unwrap();
    let minutes = chrono::NaiveDateTime::parse_from_str(expiry, "%Y-%m-%d %H:%M:%S").unwrap()
        - chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(minutes.num_minutes(), 15);
}

#[tokio::test]
async fn custom_expiry_sets_expiry_time() {
    let app = spawn_simulator(|_| {}).await;
    let mut body = qris_charge("o-expiry", 10_000);
    body["custom_expiry"] = json!({
        "order_time": "2030-01-31 10:00:00 +0700", "expiry_duration": 2, "unit": "hour"
    });
    let (_, answer) = TestSimulator::send(app.charge_request(&body)).await;
    assert_eq!(answer["expiry_time"], "2030-01-31 12:00:00");
}

#[tokio::test]
async fn wrong_server_key_is_401() {
    let app = spawn_simulator(|_| {}).await;
    let (http, body) = TestSimulator::send(
        app.http
            .post(app.url("/v2/charge"))
            .basic_auth("SB-Mid-server-WRONG", Some(""))
            .json(&qris_charge("o-1", 10_000)),
    )
    .await;
    assert_eq!(http, 401);
    assert_eq!(body["status_code"], "401");
    assert_eq!(
        body["status_message"],
        "Access denied due to unauthorized transaction, please check client or server key"
    );
    assert!(app.sim.transactions().is_empty());
}

#[tokio::test]
async fn missing_authorization_is_401_everywhere() {
    let app = spawn_simulator(|_| {}).await;
    let charge = app
        .http
        .post(app.url("/v2/charge"))
        .json(&qris_charge("o-1", 1));
    assert_eq!(TestSimulator::send(charge).await.0, 401);
    let status = app.http.get(app.url("/v2/o-1/status"));
    assert_eq!(TestSimulator::send(status).await.0, 401);
}

#[tokio::test]
async fn basic_auth_header_is_server_key_and_colon() {
    let app = spawn_simulator(|_| {}).await;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{SERVER_KEY}:"));
    let (http, body) = TestSimulator::send(
        app.http
            .post(app.url("/v2/charge"))
            .header("Authorization", format!("Basic {token}"))
            .json(&qris_charge("o-raw-auth", 10_000)),
    )
    .await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
}

#[tokio::test]
async fn invalid_order_id_is_400() {
    let app = spawn_simulator(|_| {}).await;
    for bad in ["has space", "slash/no", &"x".repeat(51)] {
        let (http, body) = app.charge(bad, 10_000).await;
        assert_eq!(http, 400, "{bad}");
        assert_eq!(body["status_code"], "400");
        assert!(body["validation_messages"][0]
            .as_str()
            .unwrap()
            .contains("order_id"));
    }
    assert!(app.sim.transactions().is_empty());
}

#[tokio::test]
async fn fractional_gross_amount_is_400() {
    let app = spawn_simulator(|_| {}).await;
    let mut body = qris_charge("o-1", 1);
    body["transaction_details"]["gross_amount"] = json!(100.5);
    let (http, answer) = TestSimulator::send(app.charge_request(&body)).await;
    assert_eq!((http, answer["status_code"].as_str()), (400, Some("400")));
}

#[tokio::test]
async fn second_charge_with_same_order_id_is_406_in_an_http_200() {
    let app = spawn_simulator(|_| {}).await;
    let (_, first) = app.charge("ORDER-7-1", 50_000).await;
    assert_eq!(first["status_code"], "201");
    let (http, second) = app.charge("ORDER-7-1", 50_000).await;
    assert_eq!(http, 200);
    assert_eq!(second["status_code"], "406");
    assert_eq!(
        second["status_message"],
        "The request could not be completed due to a conflict with the current state of the target resource, please try again"
    );
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn idempotency_key_replays_the_same_answer_without_a_new_transaction() {
    let app = spawn_simulator(|_| {}).await;
    let key = uuid::Uuid::new_v4().to_string();
    let request = || {
        app.charge_request(&qris_charge("ORDER-8-1", 25_000))
            .header("Idempotency-Key", &key)
    };
    let (http1, first) = TestSimulator::send(request()).await;
    let (http2, second) = TestSimulator::send(request()).await;
    assert_eq!((http1, http2), (200, 200));
    assert_eq!(first["status_code"], "201");
    assert_eq!(first, second, "replay must be identical, not a 406");
    assert_eq!(app.sim.transactions().len(), 1);

    // Another key for the same order is a genuine second attempt.
    let (_, other) = TestSimulator::send(
        app.charge_request(&qris_charge("ORDER-8-1", 25_000))
            .header("Idempotency-Key", "another-key"),
    )
    .await;
    assert_eq!(other["status_code"], "406");
}

#[tokio::test]
async fn idempotency_key_expires_after_its_retention() {
    let app = spawn_simulator(|c| c.idempotency_ttl = std::time::Duration::from_millis(50)).await;
    let request = || {
        app.charge_request(&qris_charge("ORDER-9-1", 25_000))
            .header("Idempotency-Key", "k-1")
    };
    assert_eq!(TestSimulator::send(request()).await.1["status_code"], "201");
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    assert_eq!(TestSimulator::send(request()).await.1["status_code"], "406");
}

#[tokio::test]
async fn more_than_two_override_urls_are_refused() {
    let app = spawn_simulator(|_| {}).await;
    let (http, body) =
        TestSimulator::send(app.charge_request(&qris_charge("o-urls", 10_000)).header(
            "X-Override-Notification",
            "http://a.test/1,http://b.test/2,http://c.test/3",
        ))
        .await;
    assert_eq!((http, body["status_code"].as_str()), (400, Some("400")));
}

#[tokio::test]
async fn generate_qr_code_action_serves_a_png() {
    let app = spawn_simulator(|_| {}).await;
    let (_, body) = app.charge("ORDER-10-1", 10_000).await;
    let url = body["actions"][0]["url"].as_str().unwrap();
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = response.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let missing = app
        .http
        .get(app.url("/v2/qris/nope/qr-code"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
