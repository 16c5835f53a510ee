use chrono::{Duration, Utc};
use payment_service::admin::claim;
use shared_proto::{
    AdminOrderProcess, AdminOrdersList, AdminStats, AdminStockAdd, AdminStockView, DiscordUserId,
    OrderFilter, OrderStatus, PackageSize, ProcessAction, ServiceError,
};
use uuid::Uuid;

use crate::helpers::*;

fn rid() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test]
async fn operations_without_a_valid_claim_are_refused_and_leave_no_trace() {
    let w = World::pg().await;
    let audit = || w.scalar("SELECT COUNT(*) FROM admin_audit", vec![]);
    // Forged signature.
    let r = rid();
    let mut forged = admin_claim(&r, 1);
    forged.signature = claim::sign("not-the-secret", &forged, &r);
    let reply = w
        .admin
        .stock_add(
            &AdminStockAdd {
                request_id: r.clone(),
                claim: forged,
                text: "AAA1\n".into(),
                source_name: None,
            },
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // A claim for another request (replayed).
    let other = admin_claim("another-request", 1);
    let reply = w
        .admin
        .stock_view(&AdminStockView {
            request_id: rid(),
            claim: other,
        })
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // Expired.
    let r = rid();
    let mut old = admin_claim(&r, 1);
    old.issued_at = Utc::now() - Duration::minutes(30);
    old.signature = claim::sign(CLAIM_SECRET, &old, &r);
    let reply = w
        .admin
        .stats(&AdminStats {
            request_id: r,
            claim: old,
        })
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // Role changed after signing.
    let r = rid();
    let mut c = admin_claim(&r, 1);
    c.role = "Member".into();
    let reply = w
        .admin
        .order_process(
            &AdminOrderProcess {
                request_id: r,
                claim: c,
                order_number: "RF-20260101-ABCDEF".into(),
                action: ProcessAction::Refund,
                force: false,
                reason: None,
            },
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    assert_eq!(audit().await, 0);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM stock", vec![]).await, 0);
    // A valid one is carried out and audited with who did it.
    let r = rid();
    let reply = w
        .admin
        .stock_view(&AdminStockView {
            request_id: r.clone(),
            claim: admin_claim(&r, 77),
        })
        .await
        .unwrap();
    assert!(reply.outcome.is_ok());
    assert_eq!(audit().await, 1);
    assert_eq!(
        w.scalar("SELECT admin_user_id FROM admin_audit", vec![])
            .await,
        77
    );
    assert_eq!(
        w.text("SELECT action FROM admin_audit", vec![]).await,
        "stock.view"
    );
}

#[tokio::test]
async fn redelivered_stock_upload_is_not_added_twice() {
    let w = World::pg().await;
    let r = rid();
    let cmd = AdminStockAdd {
        request_id: r.clone(),
        claim: admin_claim(&r, 5),
        text: "A1\nA2\nA3\n".into(),
        source_name: None,
    };
    let first = w
        .admin
        .stock_add(&cmd, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .unwrap();
    let again = w
        .admin
        .stock_add(&cmd, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!((first.added, again.added, again.duplicates), (3, 3, 0));
    assert_eq!(first.batch_id, again.batch_id);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock_batches", vec![]).await,
        1
    );
}

#[tokio::test]
async fn orders_list_filters_pages_and_shrugs_off_injection() {
    let w = World::pg().await;
    w.add_codes(&codes("LST", 20)).await;
    w.user_with_balance(100, 1_000_000).await;
    w.user_with_balance(200, 1_000_000).await;
    for i in 0..5 {
        w.order(100, PackageSize::One, &format!("a{i}"))
            .await
            .outcome
            .unwrap();
    }
    for i in 0..3 {
        w.order(200, PackageSize::One, &format!("b{i}"))
            .await
            .outcome
            .unwrap();
    }
    let list = |filter: OrderFilter, page: u32, page_size: u32| {
        let r = rid();
        let cmd = AdminOrdersList {
            request_id: r.clone(),
            claim: admin_claim(&r, 1),
            filter,
            page,
            page_size,
        };
        let admin = w.admin.clone();
        async move { admin.orders_list(&cmd).await.unwrap().outcome.unwrap() }
    };
    let all = list(OrderFilter::default(), 0, 3).await;
    assert_eq!((all.total, all.orders.len()), (8, 3));
    let last = list(OrderFilter::default(), 2, 3).await;
    assert_eq!(last.orders.len(), 2);
    let mine = list(
        OrderFilter {
            user_id: Some(DiscordUserId::new(200).unwrap()),
            ..Default::default()
        },
        0,
        50,
    )
    .await;
    assert_eq!(mine.total, 3);
    assert!(mine.orders.iter().all(|o| o.user_id.get() == 200));
    let delivering = list(
        OrderFilter {
            status: Some(OrderStatus::Delivering),
            ..Default::default()
        },
        0,
        50,
    )
    .await;
    assert_eq!(delivering.total, 8);
    let none = list(
        OrderFilter {
            status: Some(OrderStatus::Completed),
            ..Default::default()
        },
        0,
        50,
    )
    .await;
    assert_eq!(none.total, 0);
    let today = Utc::now().date_naive();
    let dated = list(
        OrderFilter {
            from: Some(today),
            to: Some(today),
            ..Default::default()
        },
        0,
        50,
    )
    .await;
    assert_eq!(dated.total, 8);
    let yesterday = today.pred_opt().unwrap();
    let before = list(
        OrderFilter {
            to: Some(yesterday),
            ..Default::default()
        },
        0,
        50,
    )
    .await;
    assert_eq!(before.total, 0);
    // The filter is typed, so text can only arrive where a command carries text: the order
    // number of process-order and the request id. Both are bound, never spliced.
    let r = "1'; DROP TABLE orders; --".to_string();
    let reply = w
        .admin
        .order_process(
            &AdminOrderProcess {
                request_id: r.clone(),
                claim: admin_claim(&r, 1),
                order_number: "RF-1' OR '1'='1".into(),
                action: ProcessAction::Refund,
                force: false,
                reason: None,
            },
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::NotFound { .. })));
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 8);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM orders WHERE status = 'refunded'",
            vec![]
        )
        .await,
        0
    );
    // A hostile status on the wire is refused at decoding, before any SQL.
    let wire = serde_json::json!({"status": "completed' OR '1'='1"});
    assert!(serde_json::from_value::<OrderFilter>(wire).is_err());
}

#[tokio::test]
async fn stats_and_stock_view_add_up() {
    let w = World::pg().await;
    w.add_codes(&codes("STA", 12)).await;
    w.user_with_balance(1, 1_000_000).await;
    let a = w
        .order(1, PackageSize::Five, "s1")
        .await
        .outcome
        .unwrap()
        .order_number;
    w.order(1, PackageSize::One, "s2").await.outcome.unwrap();
    w.orders
        .delivery_confirmed(
            &shared_proto::DeliveryConfirmed {
                order_number: a,
                attempt: 1,
                method: shared_proto::DeliveryMethod::File,
                message_id: None,
            },
            &rid(),
        )
        .await
        .unwrap();
    let r = rid();
    let stats = w
        .admin
        .stats(&AdminStats {
            request_id: r.clone(),
            claim: admin_claim(&r, 1),
        })
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(stats.today.orders, 1);
    assert_eq!(stats.today.codes_sold, 5);
    assert_eq!(stats.today.revenue.rupiah(), 70_000);
    assert_eq!(stats.last_30_days.revenue.rupiah(), 70_000);
    assert_eq!(
        (
            stats.stock.available,
            stats.stock.reserved,
            stats.stock.sold
        ),
        (6, 1, 5)
    );
    assert_eq!(stats.failed_deliveries, 0);
    assert_eq!(stats.users, 1);
    let r = rid();
    let view = w
        .admin
        .stock_view(&AdminStockView {
            request_id: r.clone(),
            claim: admin_claim(&r, 1),
        })
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(view.counts, stats.stock);
    assert_eq!(view.recent_batches.len(), 1);
    assert_eq!(view.recent_batches[0].added, 12);
}
