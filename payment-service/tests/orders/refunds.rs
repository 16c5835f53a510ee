//! Refunds follow the order's state (issue 12, item 3): `failed` and `pending` orders refund,
//! `completed` and `delivering` ones only with force and a reason (both audited and echoed); a
//! refund voids the order's queued deliveries in the same transaction; a confirmation arriving
//! after the refund is an anomaly, recorded and alerted; and an `order.create` replayed with
//! another user's request id learns nothing of that order.

use broker::{Broker, BrokerConfig};
use payment_service::messaging::outbox_relay;
use sea_orm::ConnectionTrait;
use shared_proto::{
    AdminOrderProcess, AnomalyKind, DeliveryConfirmed, DeliveryFailed, DeliveryMethod, Event,
    OrderProcessed, OrderStatus, PackageSize, ProcessAction, ServiceError, Topology,
};
use uuid::Uuid;

use crate::helpers::*;

fn id() -> String {
    Uuid::new_v4().to_string()
}

async fn status_of(w: &World, order_number: &str) -> String {
    w.text(
        "SELECT status FROM orders WHERE order_number = $1",
        vec![order_number.into()],
    )
    .await
}

async fn refund(
    w: &World,
    order: &str,
    force: bool,
    reason: Option<&str>,
) -> Result<OrderProcessed, ServiceError> {
    let rid = id();
    w.admin
        .order_process(
            &signed(AdminOrderProcess {
                request_id: rid.clone(),
                claim: admin_claim(9),
                order_number: order.into(),
                action: ProcessAction::Refund,
                force,
                reason: reason.map(str::to_string),
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
}

fn confirmed(order_number: &str, attempt: u32) -> DeliveryConfirmed {
    DeliveryConfirmed {
        order_number: order_number.into(),
        attempt,
        method: DeliveryMethod::Dm,
        message_id: None,
    }
}

fn failed(order_number: &str, attempt: u32, retryable: bool) -> DeliveryFailed {
    DeliveryFailed {
        order_number: order_number.into(),
        attempt,
        error: "Cannot send messages to this user (50007)".into(),
        retryable,
    }
}

/// One order of 5 codes for `user` (balance 100 000, so 30 000 after it), being delivered.
async fn delivering_order(w: &World, user: i64, prefix: &str) -> String {
    w.add_codes(&codes(prefix, 5)).await;
    w.user_with_balance(user, 100_000).await;
    w.order(user, PackageSize::Five, &format!("{prefix}-req"))
        .await
        .outcome
        .unwrap()
        .order_number
}

#[tokio::test]
async fn refund_of_a_completed_order_needs_force_and_a_reason_both_audited() {
    let w = World::pg().await;
    let order = delivering_order(&w, 11, "CMP").await;
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &id())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "completed");

    // Without force: refused, nothing moves (the buyer keeps codes, we keep the money).
    let plain = refund(&w, &order, false, Some("buyer asked")).await;
    assert!(
        matches!(&plain, Err(ServiceError::InvalidInput { message, .. }) if message.contains("force")),
        "{plain:?}"
    );
    // Force without a reason (or a blank one): refused too.
    for reason in [None, Some("   ")] {
        let r = refund(&w, &order, true, reason).await;
        assert!(
            matches!(&r, Err(ServiceError::InvalidInput { message, .. }) if message.contains("reason")),
            "{r:?}"
        );
    }
    assert_eq!(status_of(&w, &order).await, "completed");
    assert_eq!(w.balance(11).await, 30_000);
    assert_eq!(w.outbox("order.refunded").await.len(), 0);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM admin_audit WHERE action = 'order.process.refused'",
            vec![]
        )
        .await,
        3
    );

    // Forced, with a reason: refunded; the reply and the audit row say so.
    let done = refund(&w, &order, true, Some("  codes reported as already used ")).await;
    let done = done.unwrap();
    assert_eq!(done.status, OrderStatus::Refunded);
    assert!(done.forced);
    assert_eq!(
        done.reason.as_deref(),
        Some("codes reported as already used")
    );
    assert_eq!(done.refunded.map(|i| i.rupiah()), Some(70_000));
    assert_eq!(w.balance(11).await, 100_000);
    let detail: serde_json::Value = serde_json::from_str(
        &w.text(
            "SELECT detail FROM admin_audit WHERE action = 'order.process' ORDER BY id DESC LIMIT 1",
            vec![],
        )
        .await,
    )
    .unwrap();
    assert_eq!(detail["force"], true);
    assert_eq!(detail["forced"], true);
    assert_eq!(detail["reason"], "codes reported as already used");
    assert_eq!(detail["order_number"], order.as_str());
}

#[tokio::test]
async fn failed_orders_refund_without_force() {
    let w = World::pg().await;
    let order = delivering_order(&w, 12, "FLD").await;
    w.orders
        .delivery_failed(&failed(&order, 1, false), &id(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "failed");
    let done = refund(&w, &order, false, None).await.unwrap();
    assert!(!done.forced);
    assert_eq!(done.reason, None);
    assert_eq!(w.balance(12).await, 100_000);
}

/// A refund of a delivering order voids its queued deliveries (the first one and the delayed
/// retry) in the same transaction: once their delay has passed, the relay publishes nothing
/// for the order.
#[tokio::test]
async fn refund_of_a_delivering_order_voids_its_queued_deliveries_and_delayed_retry() {
    let broker = Broker::connect(BrokerConfig::new(
        test_support::amqp_url(),
        Topology::new(test_support::unique_namespace()),
        "payment-refund-test",
    ))
    .await
    .expect("RabbitMQ on 127.0.0.1:5672");
    broker.declare_topology().await.unwrap();
    let w = World::pg_events(&broker.topology().events_exchange()).await;
    // Another user's order, queued too: the refund must leave it alone.
    let other = delivering_order(&w, 14, "OTH").await;
    let order = delivering_order(&w, 13, "DLV").await;
    // Attempt 1 failed: attempt 2 waits in the outbox behind its backoff.
    w.orders
        .delivery_failed(&failed(&order, 1, true), &id(), Uuid::new_v4())
        .await
        .unwrap();
    let unpublished = |n: String| {
        let w = &w;
        async move {
            w.scalar(
                "SELECT COUNT(*) FROM outbox WHERE message_type = 'delivery.requested' \
                 AND published_at IS NULL AND payload LIKE $1",
                vec![format!("%{n}%").into()],
            )
            .await
        }
    };
    assert_eq!(unpublished(order.clone()).await, 2);
    assert_eq!(status_of(&w, &order).await, "delivering");

    let refused = refund(&w, &order, false, None).await;
    assert!(
        matches!(refused, Err(ServiceError::InvalidInput { .. })),
        "{refused:?}"
    );
    assert_eq!(
        unpublished(order.clone()).await,
        2,
        "a refusal voids nothing"
    );

    let done = refund(&w, &order, true, Some("buyer waited an hour"))
        .await
        .unwrap();
    assert_eq!(done.voided_deliveries, 2);
    assert_eq!(unpublished(order.clone()).await, 0);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM outbox WHERE voided_at IS NOT NULL AND payload LIKE $1",
            vec![format!("%{order}%").into()],
        )
        .await,
        2
    );
    // The voided rows keep no plaintext code.
    for code in codes("DLV", 5) {
        assert_eq!(
            w.scalar(
                "SELECT COUNT(*) FROM outbox WHERE payload LIKE $1",
                vec![format!("%{code}%").into()],
            )
            .await,
            0,
            "a voided row still holds a code"
        );
    }
    // Time passes: every delay is over. The relay publishes everything but the voided rows.
    w.db.execute_unprepared("UPDATE outbox SET locked_until = NULL")
        .await
        .unwrap();
    let due = w
        .scalar(
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL",
            vec![],
        )
        .await;
    assert!(
        due >= 2,
        "the other order's delivery and order.refunded are due"
    );
    let published = outbox_relay::relay_once(&w.db, &broker).await.unwrap();
    assert_eq!(published as i64, due);
    assert_eq!(unpublished(other.clone()).await, 0);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_type = 'delivery.requested' \
             AND voided_at IS NULL AND payload LIKE $1",
            vec![format!("%{order}%").into()],
        )
        .await,
        0,
        "a delivery of the refunded order was published"
    );
    assert_eq!(outbox_relay::relay_once(&w.db, &broker).await.unwrap(), 0);
}

async fn anomaly_after_refund(w: &World) {
    let order = delivering_order(w, 15, "ANO").await;
    w.orders
        .delivery_failed(&failed(&order, 1, false), &id(), Uuid::new_v4())
        .await
        .unwrap();
    refund(w, &order, false, None).await.unwrap();
    // The bot delivered after all (a message in flight when the refund happened).
    let message_id = id();
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &message_id)
        .await
        .unwrap();
    // Redelivered by the broker: recorded once.
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &message_id)
        .await
        .unwrap();
    assert_eq!(
        status_of(w, &order).await,
        "refunded",
        "never silently accepted"
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM order_anomalies a JOIN orders o ON o.id = a.order_id \
             WHERE o.order_number = $1 AND a.kind = 'delivered_after_refund'",
            vec![order.clone().into()],
        )
        .await,
        1
    );
    let alerts = w.outbox("order.anomaly").await;
    assert_eq!(alerts.len(), 1);
    match &alerts[0] {
        Event::OrderAnomaly(a) => {
            assert_eq!(a.order_number, order);
            assert_eq!(a.user_id.as_i64(), 15);
            assert_eq!(a.kind, AnomalyKind::DeliveredAfterRefund);
        }
        other => panic!("{other:?}"),
    }
    // Still refunded: the codes are not counted as sold and the money stays returned.
    assert_eq!(w.balance(15).await, 100_000);
    assert_eq!(w.stock_status_counts().await.2, 0);
}

#[tokio::test]
async fn delivery_confirmed_after_a_refund_is_recorded_as_an_anomaly_and_alerted() {
    anomaly_after_refund(&World::pg().await).await;
}

#[tokio::test]
async fn delivery_confirmed_after_a_refund_is_an_anomaly_on_sqlite_too() {
    anomaly_after_refund(&World::sqlite().await).await;
}

async fn foreign_request_id(w: &World) {
    w.add_codes(&codes("FRI", 5)).await;
    w.user_with_balance(21, 100_000).await;
    w.user_with_balance(22, 100_000).await;
    let first = w.order(21, PackageSize::One, "shared-interaction-id").await;
    let accepted = first.outcome.unwrap();
    // Someone else sends order.create with the first user's request id.
    let replay = w
        .order(22, PackageSize::Five, "shared-interaction-id")
        .await;
    assert!(
        matches!(replay.outcome, Err(ServiceError::InvalidInput { .. })),
        "{replay:?}"
    );
    let wire = serde_json::to_string(&replay).unwrap();
    for secret in [
        accepted.order_number.as_str(),
        "85000",
        "15000",
        "delivering",
    ] {
        assert!(
            !wire.contains(secret),
            "the refusal reveals {secret}: {wire}"
        );
    }
    // Nothing happened for the second user; the owner's own retry still gets the first outcome.
    assert_eq!(w.balance(22).await, 100_000);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 1);
    let own = w.order(21, PackageSize::One, "shared-interaction-id").await;
    assert_eq!(own.outcome.unwrap().order_number, accepted.order_number);
    assert_eq!(w.balance(21).await, 85_000);
}

#[tokio::test]
async fn order_create_with_another_users_request_id_reveals_nothing() {
    foreign_request_id(&World::pg().await).await;
}

#[tokio::test]
async fn order_create_with_another_users_request_id_reveals_nothing_on_sqlite() {
    foreign_request_id(&World::sqlite().await).await;
}
