use midtrans_simulator::FaultRequest;
use payment_service::topups::domain::TopupStatus;
use shared_proto::{DiscordUserId, ServiceError, TopupCancel, TopupState, TopupStatusQuery};

use crate::helpers::{spawn_app, topup_request};

#[tokio::test]
async fn create_writes_a_pending_row_and_answers_the_qr() {
    let app = spawn_app().await;
    let reply = app
        .topups
        .create(&topup_request("req-1", 111, 50_000))
        .await;
    let created = reply.outcome.expect("created");
    assert!(
        created.order_id.starts_with("ORDER-111-"),
        "{}",
        created.order_id
    );
    assert!(created.order_id.len() <= 50);
    assert!(!created.qr_string.is_empty());
    assert!(created.expires_at > chrono::Utc::now());

    let row = app.topup(&created.order_id).await;
    assert_eq!(row.status.as_deref(), Some("pending"));
    assert_eq!(row.bot_source.as_deref(), Some("order"));
    assert_eq!(row.amount, 50_000);
    assert_eq!(row.user_id, Some(111));
    assert_eq!(row.request_id.as_deref(), Some("req-1"));
    assert_eq!(row.qr_string.as_deref(), Some(created.qr_string.as_str()));
    assert!(row.transaction_id.is_some());
    assert_eq!(row.midtrans_status.as_deref(), Some("pending"));
    assert_eq!(
        app.balance(111).await,
        (0, 0),
        "user exists, nothing credited"
    );
    assert_eq!(app.count("users").await, 1);
    // The charge asked Midtrans to notify this service.
    let tx = app.sim.transactions();
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0]["gross_amount"], "50000.00");
    assert_eq!(
        tx[0]["notification_urls"][0],
        format!("{}/webhook/midtrans", app.address)
    );
}

/// MIDTRANS_IS_PRODUCTION=false: the reply tells the bot to label the QR as a test payment,
/// also when a redelivered request is answered from the stored row.
#[tokio::test]
async fn a_sandbox_topup_reply_is_flagged_as_sandbox_also_on_replay() {
    let app = spawn_app().await;
    let request = topup_request("req-sandbox", 112, 50_000);
    let first = app.topups.create(&request).await.outcome.expect("created");
    assert!(first.sandbox, "a sandbox top-up must be flagged");
    let again = app.topups.create(&request).await.outcome.expect("replayed");
    assert_eq!(again.order_id, first.order_id);
    assert!(again.sandbox, "the replayed answer must be flagged too");
    app.stop().await;
}

#[tokio::test]
async fn invalid_amounts_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    for (i, amount) in [0, -5, 9_999, 10_000_001, i64::MAX].into_iter().enumerate() {
        let reply = app
            .topups
            .create(&topup_request(&format!("bad-{i}"), 222, amount))
            .await;
        assert!(
            matches!(reply.outcome, Err(ServiceError::InvalidAmount { .. })),
            "{amount}: {:?}",
            reply.outcome
        );
    }
    assert_eq!(app.count("topups").await, 0);
    assert_eq!(app.count("users").await, 0);
    assert!(app.sim.transactions().is_empty(), "nothing charged");
}

#[tokio::test]
async fn a_repeated_request_returns_the_first_result_and_charges_once() {
    let app = spawn_app().await;
    let first = app.topups.create(&topup_request("same", 333, 20_000)).await;
    let again = app.topups.create(&topup_request("same", 333, 20_000)).await;
    assert_eq!(first.outcome, again.outcome);
    // Concurrent repeats of a new request while the first charge is slow.
    app.sim.inject_faults(&FaultRequest {
        delay_ms: Some(300),
        ..Default::default()
    });
    let mut handles = Vec::new();
    for _ in 0..5 {
        let topups = app.topups.clone();
        handles.push(tokio::spawn(async move {
            topups.create(&topup_request("burst", 333, 30_000)).await
        }));
    }
    let mut order_ids = Vec::new();
    for h in handles {
        let reply = h.await.expect("task");
        order_ids.push(reply.outcome.expect("created").order_id);
    }
    order_ids.dedup();
    assert_eq!(order_ids.len(), 1, "{order_ids:?}");
    assert_eq!(app.count("topups").await, 2);
    assert_eq!(
        app.sim.transactions().len(),
        2,
        "one Midtrans charge per request"
    );
}

#[tokio::test]
async fn two_top_ups_in_one_second_get_distinct_order_ids() {
    let app = spawn_app().await;
    let a = app.create_topup("a", 444, 10_000).await;
    let b = app.create_topup("b", 444, 10_000).await;
    let c = app.create_topup("c", 444, 10_000).await;
    assert!(a != b && b != c && a != c);
    for id in [&a, &b, &c] {
        assert!(id.len() <= 50 && id.starts_with("ORDER-444-"), "{id}");
    }
}

#[tokio::test]
async fn a_refused_charge_leaves_the_row_failed() {
    let app = spawn_app().await;
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(401),
        ..Default::default()
    });
    let reply = app.topups.create(&topup_request("r", 555, 10_000)).await;
    assert!(matches!(
        reply.outcome,
        Err(ServiceError::ProviderUnavailable { .. })
    ));
    let order_id: String = {
        let rows = app
            .scalar(
                "SELECT COUNT(*) FROM topups WHERE status = 'failed'",
                vec![],
            )
            .await;
        assert_eq!(rows, 1);
        let row = payment_service::topups::repository::find_by_request_id(&app.db, "r")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.midtrans_status.as_deref(), Some("charge_error_401"));
        row.order_id
    };
    assert_eq!(app.count("topups").await, 1);
    assert_eq!(app.balance(555).await, (0, 0));
    assert!(order_id.starts_with("ORDER-555-"));
    // Repeating the same request does not charge again.
    let again = app.topups.create(&topup_request("r", 555, 10_000)).await;
    assert!(again.outcome.is_err());
    assert!(app.sim.transactions().is_empty());
}

#[tokio::test]
async fn a_5xx_from_midtrans_is_retried() {
    let app = spawn_app().await;
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(503),
        times: Some(2),
        ..Default::default()
    });
    let order_id = app.create_topup("retry", 556, 10_000).await;
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.sim.transactions().len(), 1);
}

#[tokio::test]
async fn unavailable_midtrans_fails_the_row_after_bounded_retries() {
    let app = spawn_app().await;
    app.sim.inject_faults(&FaultRequest {
        charge_status: Some(500),
        times: Some(10),
        ..Default::default()
    });
    let reply = app.topups.create(&topup_request("down", 557, 10_000)).await;
    assert!(reply.outcome.is_err());
    let row = payment_service::topups::repository::find_by_request_id(&app.db, "down")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status.as_deref(), Some("failed"));
    assert_eq!(row.midtrans_status.as_deref(), Some("charge_unavailable"));
}

#[tokio::test]
async fn status_and_cancel_only_for_the_owner() {
    let app = spawn_app().await;
    let order_id = app.create_topup("c1", 666, 10_000).await;
    let stranger = DiscordUserId::new(667).unwrap();
    let owner = DiscordUserId::new(666).unwrap();

    let reply = app
        .topups
        .cancel(&TopupCancel {
            user_id: stranger,
            order_id: order_id.clone(),
        })
        .await;
    assert!(matches!(reply.outcome, Err(ServiceError::NotFound { .. })));
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );

    let status = app
        .topups
        .status(&TopupStatusQuery {
            user_id: owner,
            order_id: order_id.clone(),
        })
        .await
        .outcome
        .expect("own top-up");
    assert_eq!(status.state, TopupState::Pending);

    let cancelled = app
        .topups
        .cancel(&TopupCancel {
            user_id: owner,
            order_id: order_id.clone(),
        })
        .await
        .outcome
        .expect("cancelled");
    assert_eq!(cancelled.state, TopupState::Failed);
    let row = app.topup(&order_id).await;
    assert_eq!(
        TopupStatus::parse(row.status.as_deref()),
        Some(TopupStatus::Failed)
    );
    assert_eq!(row.midtrans_status.as_deref(), Some("cancel"));
    assert_eq!(app.outbox_rows("topup.expired", &order_id).await, 1);
    // Paying a cancelled transaction is impossible at Midtrans too.
    assert!(app.sim.pay(&order_id).await.is_err());
}

#[tokio::test]
async fn status_refresh_credits_a_payment_whose_notification_was_lost() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        webhook: false,
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("lost", 777, 25_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    let info = app
        .topups
        .status(&TopupStatusQuery {
            user_id: DiscordUserId::new(777).unwrap(),
            order_id: order_id.clone(),
        })
        .await
        .outcome
        .expect("status");
    assert_eq!(info.state, TopupState::Success);
    assert_eq!(app.balance(777).await, (25_000, 25_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
}
