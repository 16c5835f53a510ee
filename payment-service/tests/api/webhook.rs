use midtrans_simulator::{notification_body, resign, NotificationSpec, NotifyRequest};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Options, SERVER_KEY};

/// An app whose charges notify nobody, so a test decides what reaches the webhook and when.
async fn quiet_app() -> crate::helpers::TestApp {
    spawn_app_with(Options {
        webhook: false,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn payment_through_the_simulator_credits_exactly_once() {
    let app = spawn_app().await;
    let order_id = app.create_topup("pay-1", 1001, 50_000).await;

    let outcome = app.sim.pay(&order_id).await.expect("paid");
    assert_eq!(outcome.deliveries.len(), 1);
    assert_eq!(outcome.deliveries[0].http_status, Some(200));

    let row = app.topup(&order_id).await;
    assert_eq!(row.status.as_deref(), Some("success"));
    assert_eq!(row.midtrans_status.as_deref(), Some("settlement"));
    assert!(row.paid_at.is_some());
    assert!(row.transaction_id.is_some());
    assert_eq!(app.balance(1001).await, (50_000, 50_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
    assert_eq!(
        app.scalar(
            "SELECT balance_after FROM balance_ledger WHERE reference = $1 AND reason = 'topup'",
            vec![order_id.clone().into()]
        )
        .await,
        50_000
    );
    assert_eq!(app.outbox_rows("topup.settled", &order_id).await, 1);

    // Midtrans repeats itself: nothing more happens.
    let repeat = app
        .sim
        .notify(&order_id, NotifyRequest::default())
        .await
        .expect("renotified");
    assert_eq!(repeat.deliveries[0].http_status, Some(200));
    assert_eq!(app.balance(1001).await, (50_000, 50_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
    assert_eq!(app.outbox_rows("topup.settled", &order_id).await, 1);
}

#[tokio::test]
async fn concurrent_duplicate_settlements_credit_once() {
    let app = quiet_app().await;
    let order_id = app.create_topup("dup", 1002, 100_000).await;
    app.sim
        .pay(&order_id)
        .await
        .expect("paid (nobody notified)");
    let body = app.signed_notification(&order_id).await;

    let mut handles = Vec::new();
    for _ in 0..50 {
        let http = app.http.clone();
        let url = format!("{}/webhook/midtrans", app.address);
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for h in handles {
        assert_eq!(h.await.expect("task").expect("answer"), 200);
    }
    assert_eq!(app.balance(1002).await, (100_000, 100_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
    assert_eq!(app.ledger_sum(1002).await, 100_000);
    assert_eq!(app.outbox_rows("topup.settled", &order_id).await, 1);
    let metrics = app.get_internal("/metrics").await.1;
    assert!(
        metrics.contains("payment_webhook_notifications_total{outcome=\"credited\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_changes_nothing() {
    let app = quiet_app().await;
    let order_id = app.create_topup("sig", 1003, 10_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    let mut body = app.signed_notification(&order_id).await;
    body["signature_key"] = json!("0".repeat(128));
    assert_eq!(app.post_notification(&body).await, 401);
    // Signed with another key.
    resign(&mut body, "SB-Mid-server-SOMEONE-ELSE");
    assert_eq!(app.post_notification(&body).await, 401);

    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.balance(1003).await, (0, 0));
    assert_eq!(app.count("balance_ledger").await, 0);
    assert_eq!(app.count("outbox").await, 0);
}

#[tokio::test]
async fn a_tampered_amount_is_not_credited() {
    let app = quiet_app().await;
    let order_id = app.create_topup("amt", 1004, 10_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    let mut body = app.signed_notification(&order_id).await;
    body["gross_amount"] = json!("10000000.00");
    resign(&mut body, SERVER_KEY);
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.balance(1004).await, (0, 0));
    assert_eq!(app.count("balance_ledger").await, 0);
}

#[tokio::test]
async fn without_status_check_a_wrong_amount_is_still_refused() {
    let app = spawn_app_with(Options {
        webhook: false,
        verify_status: false,
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("amt2", 1005, 10_000).await;
    let mut spec = NotificationSpec::new(&order_id, "settlement", 9_000);
    spec.status_code = "200".into();
    let body = notification_body(&spec, SERVER_KEY);
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.balance(1005).await, (0, 0));

    // The right amount is credited even without the status check.
    let body = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 10_000),
        SERVER_KEY,
    );
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(app.balance(1005).await, (10_000, 10_000));
}

#[tokio::test]
async fn a_forged_settlement_is_not_credited_when_midtrans_says_pending() {
    let app = quiet_app().await;
    let order_id = app.create_topup("forged", 1010, 10_000).await;
    // A correctly signed "settlement" for a transaction Midtrans still has pending
    // (e.g. a replayed or crafted body): the status check refuses it.
    let body = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 10_000),
        SERVER_KEY,
    );
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.balance(1010).await, (0, 0));
}

#[tokio::test]
async fn a_late_expire_after_settlement_changes_nothing() {
    let app = spawn_app().await;
    let order_id = app.create_topup("late", 1006, 10_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    assert_eq!(app.balance(1006).await, (10_000, 10_000));

    let late = app
        .sim
        .notify(
            &order_id,
            NotifyRequest {
                transaction_status: Some("expire".into()),
                ..Default::default()
            },
        )
        .await
        .expect("sent");
    assert_eq!(late.deliveries[0].http_status, Some(200));
    let row = app.topup(&order_id).await;
    assert_eq!(row.status.as_deref(), Some("success"));
    assert_eq!(row.midtrans_status.as_deref(), Some("settlement"));
    assert_eq!(app.balance(1006).await, (10_000, 10_000));
    assert_eq!(app.outbox_rows("topup.expired", &order_id).await, 0);
}

#[tokio::test]
async fn expiry_marks_the_top_up_failed_with_an_event() {
    let app = spawn_app().await;
    let order_id = app.create_topup("exp", 1011, 10_000).await;
    app.sim.expire(&order_id).await.expect("expired");
    let row = app.topup(&order_id).await;
    assert_eq!(row.status.as_deref(), Some("failed"));
    assert_eq!(row.midtrans_status.as_deref(), Some("expire"));
    assert_eq!(app.outbox_rows("topup.expired", &order_id).await, 1);
    assert_eq!(app.balance(1011).await, (0, 0));
    // A settlement after that is not credited.
    let body = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 10_000),
        SERVER_KEY,
    );
    assert_eq!(app.post_notification(&body).await, 200);
    assert_eq!(app.balance(1011).await, (0, 0));
}

#[tokio::test]
async fn malformed_notifications_get_400_and_change_nothing() {
    let app = quiet_app().await;
    let order_id = app.create_topup("mal", 1007, 10_000).await;
    assert_eq!(app.post_raw(b"{not json".to_vec()).await, 400);
    assert_eq!(app.post_raw(b"".to_vec()).await, 400);
    let missing =
        json!({"order_id": order_id, "status_code": "200", "transaction_status": "settlement"});
    assert_eq!(app.post_notification(&missing).await, 400);
    let fraction = json!({"order_id": order_id, "status_code": "200", "transaction_status": "settlement",
        "gross_amount": "10000.50", "signature_key": "00"});
    assert_eq!(app.post_notification(&fraction).await, 400);
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("pending")
    );
    assert_eq!(app.count("balance_ledger").await, 0);
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = quiet_app().await;
    let big = json!({"order_id": "x", "padding": "a".repeat(64 * 1024)});
    assert_eq!(app.post_notification(&big).await, 413);
}

#[tokio::test]
async fn rows_of_the_sibling_bot_and_unknown_orders_are_ignored() {
    let app = quiet_app().await;
    app.execute(
        "INSERT INTO users (user_id, balance) VALUES (1008, 5)",
        vec![],
    )
    .await;
    app.execute(
        "INSERT INTO topups (user_id, amount, order_id, status, bot_source) \
         VALUES (1008, 20000, 'REDEEM-1008-1', 'pending', 'redeem')",
        vec![],
    )
    .await;
    let body = notification_body(
        &NotificationSpec::new("REDEEM-1008-1", "settlement", 20_000),
        SERVER_KEY,
    );
    assert_eq!(app.post_notification(&body).await, 200);
    let row = app.topup("REDEEM-1008-1").await;
    assert_eq!(row.status.as_deref(), Some("pending"));
    assert_eq!(row.midtrans_status, None);
    assert_eq!(app.balance(1008).await, (5, 0));

    let unknown = notification_body(
        &NotificationSpec::new("ORDER-1-1", "settlement", 20_000),
        SERVER_KEY,
    );
    assert_eq!(app.post_notification(&unknown).await, 200);
    assert_eq!(app.count("balance_ledger").await, 0);
    assert_eq!(app.count("outbox").await, 0);
}

#[tokio::test]
async fn fee_imposition_credits_the_original_amount() {
    let app = spawn_app_with(Options {
        fee_imposition: Some(350),
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("fee", 1009, 50_000).await;
    let outcome = app.sim.pay(&order_id).await.expect("paid");
    assert_eq!(outcome.notification["gross_amount"], "50350.00");
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("success")
    );
    assert_eq!(app.balance(1009).await, (50_000, 50_000));
}

#[tokio::test]
async fn an_unreachable_database_answers_503_and_the_retry_credits() {
    let app = quiet_app().await;
    let order_id = app.create_topup("db", 1012, 10_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    let body = app.signed_notification(&order_id).await;

    let name = app.database_name.clone().expect("PostgreSQL test");
    let admin = sea_orm::Database::connect(test_support::pg_admin_url())
        .await
        .expect("admin connection");
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();

    let started = std::time::Instant::now();
    assert_eq!(app.post_notification(&body).await, 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "answered within Midtrans's wait"
    );

    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"
        ))
        .await
        .unwrap();
    // Midtrans retries a 503 up to 4 times, minutes apart (here half a second apart). The pool
    // may still hold connections the termination killed: one used moments ago is not pinged and
    // fails its statement (503 again, and the pool drops it); one idle for longer is pinged and
    // replaced. Either way a retry is credited.
    let mut answers = Vec::new();
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let status = app.post_notification(&body).await;
        answers.push(status);
        if status == 200 {
            break;
        }
    }
    assert_eq!(
        answers.last(),
        Some(&200),
        "answers to Midtrans's retries: {answers:?}"
    );
    assert_eq!(app.balance(1012).await, (10_000, 10_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
}

#[tokio::test]
async fn health_readiness_and_metrics_answer_on_the_internal_port() {
    let app = quiet_app().await;
    assert_eq!(app.get_internal("/healthz").await.0, 200);
    let (status, body) = app.get_internal("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get_internal("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("payment_webhook_credit_latency_seconds"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_flow_works_on_sqlite_too() {
    let app = spawn_app_with(Options {
        sqlite: true,
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("lite", 1013, 15_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("success")
    );
    assert_eq!(app.balance(1013).await, (15_000, 15_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
    let again = app.signed_notification(&order_id).await;
    assert_eq!(app.post_notification(&again).await, 200);
    assert_eq!(app.balance(1013).await, (15_000, 15_000));
}

#[tokio::test]
async fn the_source_allowlist_and_rate_limit_apply() {
    let app = spawn_app_with(Options {
        webhook: false,
        extra: vec![
            (
                "WEBHOOK_ALLOWED_SOURCES",
                "103.208.23.0/24,103.58.103.177".into(),
            ),
            ("TRUSTED_PROXIES", "127.0.0.1".into()),
            ("WEBHOOK_RATE_LIMIT_PER_SEC", "3".into()),
        ],
        ..Default::default()
    })
    .await;
    let body = notification_body(
        &NotificationSpec::new("ORDER-9-9", "settlement", 10_000),
        SERVER_KEY,
    );
    let post = |forwarded: &'static str| {
        app.http
            .post(format!("{}/webhook/midtrans", app.address))
            .header("X-Forwarded-For", forwarded)
            .json(&body)
            .send()
    };
    // Through the trusted proxy from outside the allowlist.
    assert_eq!(post("10.0.0.1").await.unwrap().status().as_u16(), 403);
    // From Midtrans's range (the proxy's entry is the right-most one).
    assert_eq!(
        post("1.2.3.4, 103.58.103.177")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(post("103.208.23.7").await.unwrap().status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    // Without a trusted proxy in between, the header is not believed.
    assert_eq!(app.post_notification(&body).await, 403);
}

/// The port Midtrans (and so the internet) reaches answers the webhook and `/healthz` only:
/// metrics and readiness are on the internal listener, loopback by default.
#[tokio::test]
async fn the_public_port_answers_only_the_webhook_and_healthz() {
    let app = quiet_app().await;
    assert_ne!(app.address, app.internal_address);
    assert_eq!(app.get("/healthz").await.0, 200);
    for path in ["/metrics", "/readyz", "/", "/admin", "/webhook"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 404, "public {path}: {body}");
    }
    assert_eq!(app.get_internal("/metrics").await.0, 200);
    assert_eq!(app.get_internal("/readyz").await.0, 200);
    // The webhook itself is not served on the internal port.
    let status = app
        .http
        .post(format!("{}/webhook/midtrans", app.internal_address))
        .body("{}")
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16();
    assert_eq!(status, 404);
    app.stop().await;
}
