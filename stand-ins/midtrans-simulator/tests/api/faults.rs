//! Fault injection through `/_sim/faults`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{qris_charge, spawn_simulator, TestSimulator};

#[tokio::test]
async fn charge_faults_answer_the_next_n_charges_with_5xx() {
    let app = spawn_simulator(|_| {}).await;
    let (http, _) = app
        .control(
            "/_sim/faults",
            Some(json!({"charge_status": 503, "times": 2})),
        )
        .await;
    assert_eq!(http, 200);

    for _ in 0..2 {
        let (http, body) = app.charge("ORDER-40-1", 10_000).await;
        assert_eq!(http, 503);
        assert_eq!(body["status_code"], "503");
    }
    assert!(
        app.sim.transactions().is_empty(),
        "failed charges create nothing"
    );
    let (http, body) = app.charge("ORDER-40-1", 10_000).await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
}

#[tokio::test]
async fn a_failed_charge_is_not_replayed_by_its_idempotency_key() {
    let app = spawn_simulator(|_| {}).await;
    app.control("/_sim/faults", Some(json!({"charge_status": 500})))
        .await;
    let request = || {
        app.charge_request(&qris_charge("ORDER-41-1", 10_000))
            .header("Idempotency-Key", "retry-me")
    };
    assert_eq!(TestSimulator::send(request()).await.0, 500);
    let (http, body) = TestSimulator::send(request()).await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
}

#[tokio::test]
async fn a_delayed_charge_still_happens_and_replays() {
    let app = spawn_simulator(|_| {}).await;
    app.control("/_sim/faults", Some(json!({"delay_ms": 400})))
        .await;
    let request = || {
        app.charge_request(&qris_charge("ORDER-42-1", 10_000))
            .header("Idempotency-Key", "slow-1")
    };
    // The client gives up before the answer, as a payment-service with a short timeout would.
    let gave_up = request().timeout(Duration::from_millis(100)).send().await;
    assert!(gave_up.is_err());
    // The first is still being processed: a retry gets 202 until it completes.
    assert_eq!(TestSimulator::send(request()).await.0, 202);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (http, body) = TestSimulator::send(request()).await;
    assert_eq!((http, body["status_code"].as_str()), (200, Some("201")));
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn status_faults_and_delays() {
    let app = spawn_simulator(|_| {}).await;
    app.charge("ORDER-43-1", 10_000).await;
    app.control(
        "/_sim/faults",
        Some(json!({"status_status": 503, "status_delay_ms": 100, "times": 1})),
    )
    .await;
    let started = Instant::now();
    let (http, body) = app.status("ORDER-43-1").await;
    assert_eq!((http, body["status_code"].as_str()), (503, Some("503")));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(app.status("ORDER-43-1").await.0, 200);
}

#[tokio::test]
async fn faults_can_be_cleared() {
    let app = spawn_simulator(|_| {}).await;
    app.control(
        "/_sim/faults",
        Some(json!({"charge_status": 503, "times": 5})),
    )
    .await;
    let (_, remaining) = TestSimulator::send(app.http.delete(app.url("/_sim/faults"))).await;
    assert_eq!(remaining["charge_remaining"], 0);
    assert_eq!(app.charge("ORDER-44-1", 10_000).await.0, 200);
}
