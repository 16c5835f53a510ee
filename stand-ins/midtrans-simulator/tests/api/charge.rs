//! `POST /v2/charge`: answers, validation, auth, duplicates and idempotency.

use std::time::Duration;

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
async fn idempotency_key_expires_after_five_minutes_then_the_order_id_is_406() {
    let app = spawn_simulator(|_| {}).await;
    let request = || {
        app.charge_request(&qris_charge("ORDER-9-1", 25_000))
            .header("Idempotency-Key", "k-1")
    };
    let first = TestSimulator::send(request()).await.1;
    assert_eq!(first["status_code"], "201");
    app.sim.advance_clock(Duration::from_secs(4 * 60 + 59));
    assert_eq!(TestSimulator::send(request()).await.1, first, "still kept");
    // Over HTTP too: 2 more seconds passes the 5 minutes since the first answer.
    let (http, _) = TestSimulator::send(
        app.http
            .post(app.url("/_sim/clock"))
            .json(&json!({"seconds": 2})),
    )
    .await;
    assert_eq!(http, 200);
    let (http, again) = TestSimulator::send(request()).await;
    assert_eq!((http, again["status_code"].as_str()), (200, Some("406")));
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn a_refused_answer_is_not_kept_by_its_idempotency_key() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-9-2", 25_000).await;
    // A new key for a used order id: 406, and the 406 is not kept…
    let request = || {
        app.charge_request(&qris_charge("ORDER-9-2", 25_000))
            .header("Idempotency-Key", "k-406")
    };
    assert_eq!(TestSimulator::send(request()).await.1["status_code"], "406");
    // …so the same key with another order id is processed afresh and succeeds.
    let (_, fresh) = TestSimulator::send(
        app.charge_request(&qris_charge("ORDER-9-3", 25_000))
            .header("Idempotency-Key", "k-406"),
    )
    .await;
    assert_eq!(fresh["status_code"], "201");
    assert_eq!(fresh["order_id"], "ORDER-9-3");
}

#[tokio::test]
async fn a_retry_while_the_first_charge_is_in_progress_answers_202_until_it_completes() {
    let app = spawn_simulator(|_| {}).await;
    app.sim.hold_charges(true);
    let request = || {
        app.charge_request(&qris_charge("ORDER-9-4", 25_000))
            .header("Idempotency-Key", "in-progress-1")
    };
    let first = tokio::spawn(request().send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..2 {
        let (http, body) = TestSimulator::send(request()).await;
        assert_eq!(http, 202, "{body}");
        assert_eq!(body["status_code"], "202");
        assert!(body.get("qr_string").is_none());
    }
    assert!(app.sim.transactions().is_empty(), "still being processed");
    // Over the control API: the hold shows, then is released.
    let (_, held) = TestSimulator::send(app.http.get(app.url("/_sim/charge-hold"))).await;
    assert_eq!(held["held"], true);
    let (_, released) = TestSimulator::send(app.http.delete(app.url("/_sim/charge-hold"))).await;
    assert_eq!(released["held"], false);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["status_code"], "201");
    let (http, replay) = TestSimulator::send(request()).await;
    assert_eq!(http, 200);
    assert_eq!(replay, first);
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn a_configured_processing_delay_makes_retries_202() {
    let app = spawn_simulator(|c| c.charge_processing_delay = Duration::from_secs(3)).await;
    let request = || {
        app.charge_request(&qris_charge("ORDER-9-5", 25_000))
            .header("Idempotency-Key", "slow-key")
    };
    let first = tokio::spawn(request().send());
    // Well inside the 3 s the first charge takes, even on a loaded machine.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(TestSimulator::send(request()).await.0, 202);
    assert_eq!(first.await.unwrap().unwrap().status().as_u16(), 200);
    assert_eq!(TestSimulator::send(request()).await.1["status_code"], "201");
}

#[tokio::test]
async fn idempotency_keys_up_to_46_characters_count_and_longer_ones_are_ignored() {
    let app = spawn_simulator(|_| {}).await;
    let key46 = "k".repeat(46);
    let send = |order: &'static str, key: String| {
        TestSimulator::send(
            app.charge_request(&qris_charge(order, 10_000))
                .header("Idempotency-Key", key),
        )
    };
    let first = send("ORDER-9-6", key46.clone()).await;
    assert_eq!(first.1["status_code"], "201");
    assert_eq!(
        send("ORDER-9-6", key46).await,
        first,
        "a 46-character key replays"
    );

    let key47 = "k".repeat(47);
    let (http, body) = send("ORDER-9-7", key47.clone()).await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
    // Ignored: the repeat is a second charge of the same order id, not a replay.
    let (_, again) = send("ORDER-9-7", key47).await;
    assert_eq!(again["status_code"], "406");
}

#[tokio::test]
async fn up_to_three_override_urls_are_taken_and_more_are_cut_to_three() {
    let app = spawn_simulator(|_| {}).await;
    let (http, body) =
        TestSimulator::send(app.charge_request(&qris_charge("o-urls", 10_000)).header(
            "X-Override-Notification",
            "http://a.test/1,http://b.test/2,http://c.test/3",
        ))
        .await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
    let (_, body) =
        TestSimulator::send(app.charge_request(&qris_charge("o-urls-4", 10_000)).header(
            "X-Append-Notification",
            "http://a.test/1,http://b.test/2,http://c.test/3,http://d.test/4",
        ))
        .await;
    assert_eq!(body["status_code"], "201");
    let (_, list) = TestSimulator::send(app.http.get(app.url("/_sim/transactions"))).await;
    assert_eq!(
        list[0]["notification_urls"],
        json!(["http://a.test/1", "http://b.test/2", "http://c.test/3"])
    );
    assert_eq!(
        list[1]["notification_urls"],
        json!(["http://a.test/1", "http://b.test/2", "http://c.test/3"])
    );
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
