use payment_service::sweeper::sweep_once;

use crate::helpers::{spawn_app_with, Options};

async fn quiet_app() -> crate::helpers::TestApp {
    spawn_app_with(Options {
        webhook: false,
        ..Default::default()
    })
    .await
}

async fn make_expired(app: &crate::helpers::TestApp, order_id: &str) {
    app.execute(
        "UPDATE topups SET expires_at = $1 WHERE order_id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::minutes(1)).into(),
            order_id.into(),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_sweeper_closes_an_expired_pending_top_up() {
    let app = quiet_app().await;
    let order_id = app.create_topup("sw", 2001, 10_000).await;
    let fresh = app.create_topup("sw-fresh", 2001, 10_000).await;
    make_expired(&app, &order_id).await;

    assert_eq!(sweep_once(&app.topups).await.unwrap(), 1);
    let row = app.topup(&order_id).await;
    assert_eq!(row.status.as_deref(), Some("failed"));
    assert_eq!(row.midtrans_status.as_deref(), Some("expire"));
    assert_eq!(app.outbox_rows("topup.expired", &order_id).await, 1);
    // Midtrans was told too, so the QR can no longer be paid.
    assert!(app.sim.pay(&order_id).await.is_err());
    // The one still valid is left alone.
    assert_eq!(app.topup(&fresh).await.status.as_deref(), Some("pending"));
    // A second round (another replica) finds nothing to do.
    assert_eq!(sweep_once(&app.topups).await.unwrap(), 0);
    assert_eq!(app.outbox_rows("topup.expired", &order_id).await, 1);
}

#[tokio::test]
async fn the_sweeper_credits_a_paid_top_up_whose_notification_was_lost() {
    let app = quiet_app().await;
    let order_id = app.create_topup("sw-paid", 2002, 20_000).await;
    app.sim.pay(&order_id).await.expect("paid");
    make_expired(&app, &order_id).await;

    // Two replicas sweeping at once.
    let (a, b) = tokio::join!(sweep_once(&app.topups), sweep_once(&app.topups));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(
        app.topup(&order_id).await.status.as_deref(),
        Some("success")
    );
    assert_eq!(app.balance(2002).await, (20_000, 20_000));
    assert_eq!(app.ledger_rows(&order_id).await, 1);
    assert_eq!(app.outbox_rows("topup.settled", &order_id).await, 1);
}

#[tokio::test]
async fn the_running_sweeper_closes_expired_top_ups_by_itself() {
    let app = spawn_app_with(Options {
        webhook: false,
        extra: vec![("SWEEPER_INTERVAL_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    let order_id = app.create_topup("sw-run", 2003, 10_000).await;
    make_expired(&app, &order_id).await;
    test_support::eventually(std::time::Duration::from_secs(10), "sweeper", || async {
        (app.topup(&order_id).await.status.as_deref() == Some("failed")).then_some(())
    })
    .await
    .unwrap();
}
