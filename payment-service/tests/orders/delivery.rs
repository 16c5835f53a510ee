use shared_proto::{
    DeliveryConfirmed, DeliveryFailed, DeliveryMethod, Event, OrderStatus, PackageSize,
    ProcessAction, ServiceError,
};
use uuid::Uuid;

use crate::helpers::*;

async fn status_of(w: &World, order_number: &str) -> String {
    w.text(
        "SELECT status FROM orders WHERE order_number = $1",
        vec![order_number.into()],
    )
    .await
}

fn confirmed(order_number: &str, attempt: u32) -> DeliveryConfirmed {
    DeliveryConfirmed {
        order_number: order_number.into(),
        attempt,
        method: DeliveryMethod::Dm,
        message_id: None,
    }
}

fn failed(order_number: &str, attempt: u32) -> DeliveryFailed {
    DeliveryFailed {
        order_number: order_number.into(),
        attempt,
        error: "Cannot send messages to this user (50007)".into(),
        retryable: true,
    }
}

fn id() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test]
async fn confirmed_delivery_completes_the_order_and_sells_its_codes() {
    let w = World::pg().await;
    w.add_codes(&codes("DLV", 6)).await;
    w.user_with_balance(1, 100_000).await;
    let order = w
        .order(1, PackageSize::Five, "d")
        .await
        .outcome
        .unwrap()
        .order_number;
    let msg = id();
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &msg)
        .await
        .unwrap();
    // The same message again (redelivery) changes nothing.
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &msg)
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "completed");
    assert_eq!(w.stock_status_counts().await, (1, 0, 5));
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'confirmed'",
            vec![]
        )
        .await,
        1
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE status = 'sold' AND sold_at IS NULL",
            vec![]
        )
        .await,
        0
    );
    // A stale failure of the same attempt after completion is harmless.
    w.orders
        .delivery_failed(&failed(&order, 1), &id(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "completed");
    assert!(w.outbox("order.failed").await.is_empty());
}

#[tokio::test]
async fn failed_deliveries_retry_then_fail_and_alert() {
    let w = World::pg_with(&[("DELIVERY_RETRY_ATTEMPTS", "3")]).await;
    w.add_codes(&codes("FAIL", 3)).await;
    w.user_with_balance(2, 100_000).await;
    let order = w
        .order(2, PackageSize::One, "f")
        .await
        .outcome
        .unwrap()
        .order_number;
    for attempt in 1..=2 {
        w.orders
            .delivery_failed(&failed(&order, attempt), &id(), Uuid::new_v4())
            .await
            .unwrap();
        assert_eq!(status_of(&w, &order).await, "delivering");
        let requests = w.outbox("delivery.requested").await;
        assert_eq!(requests.len(), attempt as usize + 1);
        match requests.last().unwrap() {
            Event::DeliveryRequested(d) => {
                assert_eq!(d.attempt, attempt + 1);
                assert_eq!(d.codes, codes("FAIL", 1));
            }
            other => panic!("{other:?}"),
        }
    }
    // The retry waits (backoff): its outbox row is not due yet.
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM outbox WHERE message_type = 'delivery.requested' AND locked_until IS NOT NULL", vec![]).await,
        2
    );
    // A stale report about attempt 1 arriving late does nothing.
    w.orders
        .delivery_failed(&failed(&order, 1), &id(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(w.outbox("delivery.requested").await.len(), 3);
    // The last attempt fails: the order is failed and admins hear of it, once.
    w.orders
        .delivery_failed(&failed(&order, 3), &id(), Uuid::new_v4())
        .await
        .unwrap();
    w.orders
        .delivery_failed(&failed(&order, 3), &id(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "failed");
    let alerts = w.outbox("order.failed").await;
    assert_eq!(alerts.len(), 1);
    match &alerts[0] {
        Event::OrderFailed(f) => {
            assert_eq!(f.order_number, order);
            assert_eq!(f.attempts, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.balance(2).await,
        85_000,
        "a failed order stays charged until an admin acts"
    );
    // An admin re-delivers: a new attempt, and a late confirmation completes it.
    let rid = id();
    let processed = w
        .admin
        .order_process(
            &signed(shared_proto::AdminOrderProcess {
                request_id: rid.clone(),
                claim: admin_claim(9),
                order_number: order.clone(),
                action: ProcessAction::Redeliver,
                force: false,
                reason: None,
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(processed.status, OrderStatus::Delivering);
    match w.outbox("delivery.requested").await.last().unwrap() {
        Event::DeliveryRequested(d) => assert_eq!(d.attempt, 4),
        other => panic!("{other:?}"),
    }
    w.orders
        .delivery_confirmed(&confirmed(&order, 4), &id())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "completed");
}

#[tokio::test]
async fn not_retryable_failure_gives_up_at_once() {
    let w = World::pg().await;
    w.add_codes(&codes("NR", 3)).await;
    w.user_with_balance(3, 100_000).await;
    let order = w
        .order(3, PackageSize::One, "n")
        .await
        .outcome
        .unwrap()
        .order_number;
    let mut f = failed(&order, 1);
    f.retryable = false;
    w.orders
        .delivery_failed(&f, &id(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "failed");
    assert_eq!(w.outbox("delivery.requested").await.len(), 1);
}

async fn process(
    w: &World,
    order: &str,
    action: ProcessAction,
) -> Result<shared_proto::OrderProcessed, ServiceError> {
    let rid = id();
    w.admin
        .order_process(
            &signed(shared_proto::AdminOrderProcess {
                request_id: rid.clone(),
                claim: admin_claim(9),
                order_number: order.into(),
                action,
                force: false,
                reason: None,
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
}

#[tokio::test]
async fn refund_restores_the_balance_once_and_codes_never_return() {
    let w = World::pg().await;
    w.add_codes(&codes("REF", 10)).await;
    w.user_with_balance(4, 100_000).await;
    let order = w
        .order(4, PackageSize::Five, "r")
        .await
        .outcome
        .unwrap()
        .order_number;
    w.orders
        .delivery_failed(
            &DeliveryFailed {
                retryable: false,
                ..failed(&order, 1)
            },
            &id(),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    assert_eq!(w.balance(4).await, 30_000);
    let done = process(&w, &order, ProcessAction::Refund).await.unwrap();
    assert_eq!(done.status, OrderStatus::Refunded);
    assert_eq!(done.refunded.map(|i| i.rupiah()), Some(70_000));
    assert_eq!(w.balance(4).await, 100_000);
    let second = process(&w, &order, ProcessAction::Refund).await;
    assert!(
        matches!(second, Err(ServiceError::InvalidInput { .. })),
        "{second:?}"
    );
    assert_eq!(w.balance(4).await, 100_000);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'refund'",
            vec![]
        )
        .await,
        1
    );
    assert_eq!(w.outbox("order.refunded").await.len(), 1);
    // The codes were sent once: never on sale again, and not counted as sold.
    assert_eq!(w.stock_status_counts().await, (5, 5, 0));
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock s JOIN orders o ON o.id = s.order_id WHERE o.order_number = $1", vec![order.clone().into()]).await,
        5
    );
    // A late confirmation does not undo the refund; re-delivery of a refunded order is refused.
    w.orders
        .delivery_confirmed(&confirmed(&order, 1), &id())
        .await
        .unwrap();
    assert_eq!(status_of(&w, &order).await, "refunded");
    assert!(process(&w, &order, ProcessAction::Redeliver).await.is_err());
    // Ledger sum equals the balance change: -70 000 + 70 000.
    assert_eq!(
        w.scalar(
            "SELECT CAST(SUM(delta) AS BIGINT) FROM balance_ledger",
            vec![]
        )
        .await,
        0
    );
    // Unknown / malformed order numbers are a clean "not found".
    assert!(matches!(
        process(&w, "RF-20200101-ZZZZZZ", ProcessAction::Refund).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        process(&w, "x' OR 1=1 --", ProcessAction::Refund).await,
        Err(ServiceError::NotFound { .. })
    ));
}

#[tokio::test]
async fn refund_of_a_never_sent_pending_order_puts_codes_back_on_sale() {
    let w = World::pg_with(&[("AUTO_DELIVERY_ENABLED", "false")]).await;
    w.add_codes(&codes("PEND", 5)).await;
    w.user_with_balance(5, 100_000).await;
    let order = w
        .order(5, PackageSize::Five, "p")
        .await
        .outcome
        .unwrap()
        .order_number;
    assert_eq!(w.stock_status_counts().await, (0, 5, 0));
    process(&w, &order, ProcessAction::Refund).await.unwrap();
    assert_eq!(w.stock_status_counts().await, (5, 0, 0));
    assert_eq!(w.balance(5).await, 100_000);
}
