use chrono::{Duration, Utc};
use payment_service::admin::claim;
use shared_proto::{
    AdminOrderProcess, AdminOrdersList, AdminStats, AdminStockAdd, AdminStockView, DeliveryFailed,
    DiscordGuildId, DiscordUserId, OrderFilter, OrderStatus, PackageSize, ProcessAction,
    ServiceError,
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
    let mut forged = signed(AdminStockAdd {
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: r.clone(),
        claim: admin_claim(1),
        text: "AAA1\n".into(),
        source_name: None,
    });
    forged.claim.signature = claim::sign("not-the-secret", &forged.claim, &r);
    let reply = w.admin.stock_add(&forged, Uuid::new_v4()).await.unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // A claim for another request (replayed).
    let other = signed(AdminStockView {
        request_id: "another-request".into(),
        claim: admin_claim(1),
    });
    let reply = w
        .admin
        .stock_view(&AdminStockView {
            request_id: rid(),
            claim: other.claim,
        })
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // Expired (signed correctly, half an hour ago).
    let mut old = AdminStats {
        request_id: rid(),
        claim: admin_claim(1),
    };
    old.claim.issued_at = Utc::now() - Duration::minutes(30);
    let reply = w.admin.stats(&signed(old)).await.unwrap();
    assert!(
        matches!(reply.outcome, Err(ServiceError::Forbidden { ref message, .. }) if message.contains("expired")),
        "{:?}",
        reply.outcome
    );
    // Role changed after signing.
    let mut c = signed(AdminOrderProcess {
        request_id: rid(),
        claim: admin_claim(1),
        order_number: "RF-20260101-ABCDEF".into(),
        action: ProcessAction::Refund,
        force: false,
        reason: None,
    });
    c.claim.role = "Member".into();
    let reply = w.admin.order_process(&c, Uuid::new_v4()).await.unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    assert_eq!(audit().await, 0);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM stock", vec![]).await, 0);
    // A valid one is carried out and audited with who did it.
    let r = rid();
    let reply = w
        .admin
        .stock_view(&signed(AdminStockView {
            request_id: r.clone(),
            claim: admin_claim(77),
        }))
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
    let cmd = signed(AdminStockAdd {
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: r.clone(),
        claim: admin_claim(5),
        text: "A1\nA2\nA3\n".into(),
        source_name: None,
    });
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
        let cmd = signed(AdminOrdersList {
            request_id: r.clone(),
            claim: admin_claim(1),
            filter,
            page,
            page_size,
        });
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
            &signed(AdminOrderProcess {
                request_id: r.clone(),
                claim: admin_claim(1),
                order_number: "RF-1' OR '1'='1".into(),
                action: ProcessAction::Refund,
                force: false,
                reason: None,
            }),
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
        .stats(&signed(AdminStats {
            request_id: r.clone(),
            claim: admin_claim(1),
        }))
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
        .stock_view(&signed(AdminStockView {
            request_id: r.clone(),
            claim: admin_claim(1),
        }))
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(view.counts, stats.stock);
    assert_eq!(view.recent_batches.len(), 1);
    assert_eq!(view.recent_batches[0].added, 12);
}

/// A failed order of user `user` for one code (charged, awaiting an admin).
async fn failed_order(w: &World, user: i64, tag: &str) -> String {
    w.user_with_balance(user, 100_000).await;
    let order = w
        .order(user, PackageSize::One, tag)
        .await
        .outcome
        .unwrap()
        .order_number;
    w.orders
        .delivery_failed(
            &DeliveryFailed {
                order_number: order.clone(),
                attempt: 1,
                error: "Cannot send messages to this user (50007)".into(),
                retryable: false,
            },
            &rid(),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    order
}

async fn order_status(w: &World, order: &str) -> String {
    w.text(
        "SELECT status FROM orders WHERE order_number = $1",
        vec![order.into()],
    )
    .await
}

#[tokio::test]
async fn claim_captured_from_stats_is_refused_as_refund_or_stock_upload_and_changes_nothing() {
    let w = World::pg().await;
    w.add_codes(&codes("RPL", 3)).await;
    let order = failed_order(&w, 31, "rpl").await;
    let audit = || w.scalar("SELECT COUNT(*) FROM admin_audit", vec![]);
    let balance_before = w.balance(31).await;
    let stock_before = w.scalar("SELECT COUNT(*) FROM stock", vec![]).await;
    // An admin looks at the stats: the claim travels on the broker, where it can be captured.
    let stats = signed(AdminStats {
        request_id: rid(),
        claim: admin_claim(1),
    });
    assert!(w.admin.stats(&stats).await.unwrap().outcome.is_ok());
    let audits_before = audit().await;
    // Replayed on a refund, with the same request id so the signature still matches.
    let refund = AdminOrderProcess {
        request_id: stats.request_id.clone(),
        claim: stats.claim.clone(),
        order_number: order.clone(),
        action: ProcessAction::Refund,
        force: false,
        reason: None,
    };
    let reply = w
        .admin
        .order_process(&refund, Uuid::new_v4())
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // Replayed on a stock upload.
    let upload = AdminStockAdd {
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: stats.request_id.clone(),
        claim: stats.claim.clone(),
        text: "JUNK-1\nJUNK-2\n".into(),
        source_name: None,
    };
    let reply = w.admin.stock_add(&upload, Uuid::new_v4()).await.unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // Nothing changed.
    assert_eq!(order_status(&w, &order).await, "failed");
    assert_eq!(w.balance(31).await, balance_before);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock", vec![]).await,
        stock_before
    );
    assert_eq!(audit().await, audits_before);
}

#[tokio::test]
async fn claim_for_other_parameters_is_refused_and_changes_nothing() {
    let w = World::pg().await;
    w.add_codes(&codes("PRM", 3)).await;
    let victim = failed_order(&w, 41, "victim").await;
    let own = failed_order(&w, 42, "own").await;
    let balance_before = w.balance(41).await;
    // An admin re-delivers their order; the claim is re-used to refund it, or another order.
    let redeliver = signed(AdminOrderProcess {
        request_id: rid(),
        claim: admin_claim(1),
        order_number: own.clone(),
        action: ProcessAction::Redeliver,
        force: false,
        reason: None,
    });
    let mut refund = redeliver.clone();
    refund.action = ProcessAction::Refund;
    let reply = w
        .admin
        .order_process(&refund, Uuid::new_v4())
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    let mut elsewhere = redeliver.clone();
    elsewhere.order_number = victim.clone();
    let reply = w
        .admin
        .order_process(&elsewhere, Uuid::new_v4())
        .await
        .unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    // A stock upload claim with other codes.
    let upload = signed(AdminStockAdd {
        product_id: shared_proto::ProductId::DEFAULT,
        request_id: rid(),
        claim: admin_claim(1),
        text: "GOOD-1\n".into(),
        source_name: None,
    });
    let mut swapped = upload.clone();
    swapped.text = "JUNK-1\nJUNK-2\n".into();
    let reply = w.admin.stock_add(&swapped, Uuid::new_v4()).await.unwrap();
    assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    assert_eq!(order_status(&w, &victim).await, "failed");
    assert_eq!(order_status(&w, &own).await, "failed");
    assert_eq!(w.balance(41).await, balance_before);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock_batches", vec![]).await,
        1,
        "only the set-up upload"
    );
    // The genuine command still works.
    assert!(w
        .admin
        .order_process(&redeliver, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .is_ok());
}

#[tokio::test]
async fn claim_from_another_guild_or_a_dm_is_refused_and_changes_nothing() {
    let w = World::pg().await;
    for guild in [Some(SHOP_GUILD_ID + 1), None] {
        let mut c = AdminStockAdd {
            product_id: shared_proto::ProductId::DEFAULT,
            request_id: rid(),
            claim: admin_claim(1),
            text: "ATTACKER-1\n".into(),
            source_name: None,
        };
        c.claim.guild_id = guild.map(|g| DiscordGuildId::new(g).unwrap());
        let reply = w.admin.stock_add(&signed(c), Uuid::new_v4()).await.unwrap();
        assert!(matches!(reply.outcome, Err(ServiceError::Forbidden { .. })));
    }
    assert_eq!(w.scalar("SELECT COUNT(*) FROM stock", vec![]).await, 0);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock_batches", vec![]).await,
        0
    );
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM admin_audit", vec![]).await,
        0
    );
}
