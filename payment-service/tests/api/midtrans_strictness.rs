//! What a strict Midtrans (the simulator) made the service fix: a charge answered HTTP 202
//! ("still processing") is not a failure, a charge that never completed is swept, and the
//! webhook answers within Midtrans's 5 seconds whatever the status API does.

use std::time::{Duration, Instant};

use midtrans_simulator::FaultRequest;
use payment_service::sweeper::sweep_once;
use payment_service::topups::repository;
use shared_proto::{DiscordUserId, ServiceError, TopupState, TopupStatusQuery};

use crate::helpers::{spawn_app_with, topup_request, Options, TestApp};

async fn app_with(extra: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(Options {
        webhook: false,
        extra,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_202_from_the_charge_endpoint_is_asked_again_and_the_qr_is_shown() {
    let app = app_with(vec![]).await;
    // Midtrans answers "still processing" twice, then the charge.
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(2),
        ..Default::default()
    });
    let reply = app
        .topups
        .create(&topup_request("in-progress-1", 4001, 10_000))
        .await;
    let created = reply.outcome.expect("the QR once Midtrans has it");
    assert!(!created.qr_string.is_empty());
    let row = app.topup(&created.order_id).await;
    assert_eq!(row.status.as_deref(), Some("pending"));
    assert_eq!(row.qr_string.as_deref(), Some(created.qr_string.as_str()));
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn a_repeated_request_while_the_first_charge_is_in_progress_gets_the_first_charges_qr() {
    let app = app_with(vec![("MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS", "3000".into())]).await;
    app.sim.hold_charges(true);
    let first = {
        let topups = app.topups.clone();
        tokio::spawn(async move {
            topups
                .create(&topup_request("in-progress-2", 4002, 10_000))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The broker redelivers the request while Midtrans is still processing the first charge;
    // Midtrans answers the repeat 202 until the first one completes.
    let repeat = {
        let topups = app.topups.clone();
        tokio::spawn(async move {
            topups
                .create(&topup_request("in-progress-2", 4002, 10_000))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.sim.hold_charges(false);
    let first = first.await.unwrap().outcome.expect("first gets the QR");
    let repeat = repeat
        .await
        .unwrap()
        .outcome
        .expect("the repeat gets the same QR");
    assert_eq!(repeat, first);
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn a_charge_still_in_progress_after_the_wait_stays_pending_and_status_shows_the_qr_later() {
    let app = app_with(vec![("MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS", "300".into())]).await;
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(20),
        ..Default::default()
    });
    let reply = app
        .topups
        .create(&topup_request("in-progress-3", 4003, 10_000))
        .await;
    let pending_order_id = match reply.outcome {
        Err(ServiceError::ProviderUnavailable {
            pending_order_id, ..
        }) => pending_order_id,
        other => panic!("expected a pending top-up, got {other:?}"),
    };
    let row = repository::find_by_request_id(&app.db, "in-progress-3")
        .await
        .unwrap()
        .expect("row kept");
    assert_eq!(
        pending_order_id.as_deref(),
        Some(row.order_id.as_str()),
        "the reply names the pending top-up so the bot can show its Check-status button"
    );
    assert_eq!(row.status.as_deref(), Some("pending"), "not failed");
    assert!(row.qr_string.is_none());

    // Midtrans finishes; the user checks the top-up: the QR is there now.
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(0),
        ..Default::default()
    });
    let status = app
        .topups
        .status(&TopupStatusQuery {
            user_id: DiscordUserId::new(4003).unwrap(),
            order_id: row.order_id.clone(),
        })
        .await
        .outcome
        .expect("own top-up");
    assert_eq!(status.state, TopupState::Pending);
    assert!(status.expires_at.is_some());
    let row = app.topup(&row.order_id).await;
    assert!(
        row.qr_string.is_some(),
        "the QR is stored once Midtrans has it"
    );
    assert_eq!(
        status.qr_string, row.qr_string,
        "the status answer carries the QR to show"
    );
    assert!(status.sandbox, "the simulator is Midtrans's sandbox");
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn a_top_up_whose_charge_never_completed_is_swept() {
    let app = app_with(vec![("MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS", "100".into())]).await;
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(20),
        ..Default::default()
    });
    let reply = app
        .topups
        .create(&topup_request("never-charged", 4004, 10_000))
        .await;
    assert!(reply.outcome.is_err());
    let row = repository::find_by_request_id(&app.db, "never-charged")
        .await
        .unwrap()
        .expect("row kept");
    assert!(row.expires_at.is_none());
    // Not yet: it could still get its QR.
    assert_eq!(sweep_once(&app.topups).await.unwrap(), 0);
    // A QR's lifetime and the grace period later.
    app.execute(
        "UPDATE topups SET created_at = $1 WHERE order_id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::minutes(60))
                .naive_utc()
                .into(),
            row.order_id.clone().into(),
        ],
    )
    .await;
    assert_eq!(sweep_once(&app.topups).await.unwrap(), 1);
    let row = app.topup(&row.order_id).await;
    assert_eq!(row.status.as_deref(), Some("failed"));
    assert_eq!(app.outbox_rows("topup.expired", &row.order_id).await, 1);
}

#[tokio::test]
async fn a_hanging_status_api_gets_a_503_within_five_seconds_and_the_retry_credits() {
    let app = app_with(vec![]).await;
    let order_id = app.create_topup("slow-status", 4005, 10_000).await;
    app.sim
        .pay(&order_id)
        .await
        .expect("paid (nobody notified)");
    let body = app.signed_notification(&order_id).await;
    app.sim.inject_faults(&FaultRequest {
        status_delay_ms: Some(30_000),
        ..Default::default()
    });

    let started = Instant::now();
    assert_eq!(app.post_notification(&body).await, 503);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(app.balance(4005).await, (0, 0));

    // Midtrans retries the 503; the status API answers again.
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(app.balance(4005).await, (10_000, 10_000));
}

#[tokio::test]
async fn the_webhook_does_not_retry_the_status_api_inside_the_request() {
    let app = app_with(vec![]).await;
    let order_id = app.create_topup("status-503", 4006, 10_000).await;
    app.sim
        .pay(&order_id)
        .await
        .expect("paid (nobody notified)");
    let body = app.signed_notification(&order_id).await;
    app.sim.inject_faults(&FaultRequest {
        status_status: Some(503),
        times: Some(1),
        ..Default::default()
    });
    let started = Instant::now();
    assert_eq!(
        app.post_notification(&body).await,
        503,
        "not confirmed: Midtrans retries"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(app.balance(4006).await, (0, 0));
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(app.balance(4006).await, (10_000, 10_000));
}
