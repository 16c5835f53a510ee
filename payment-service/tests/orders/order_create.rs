use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use shared_proto::{Event, OrderStatus, PackageSize, ServiceError};

use crate::helpers::*;

async fn happy_path(w: World) {
    w.add_codes(&codes("HAPPY", 7)).await;
    w.user_with_balance(1001, 100_000).await;
    let reply = w.order(1001, PackageSize::Five, "req-1").await;
    let accepted = reply.outcome.expect("accepted");
    assert_eq!(accepted.total_price.rupiah(), 70_000);
    assert_eq!(accepted.balance_after.rupiah(), 30_000);
    assert_eq!(accepted.status, OrderStatus::Delivering);
    assert!(accepted.order_number.starts_with("RF-"));
    assert_eq!(w.balance(1001).await, 30_000);
    assert_eq!(
        w.scalar(
            "SELECT total_spent FROM users WHERE user_id = $1",
            vec![1001i64.into()]
        )
        .await,
        70_000
    );
    // Ledger row: negative delta, reason order, reference = order number.
    assert_eq!(
        w.scalar(
            "SELECT delta FROM balance_ledger WHERE reason = 'order' AND reference = $1",
            vec![accepted.order_number.clone().into()]
        )
        .await,
        -70_000
    );
    let (available, reserved, sold) = w.stock_status_counts().await;
    assert_eq!((available, reserved, sold), (2, 5, 0));
    let events = w.outbox("delivery.requested").await;
    assert_eq!(events.len(), 1);
    let delivered = delivered_codes(&events[0]);
    assert_eq!(
        delivered,
        codes("HAPPY", 5),
        "the oldest codes, decrypted, in order"
    );
    // Crossing below LOW_STOCK_THRESHOLD (3) raised exactly one alert.
    let lows = w.outbox("stock.low").await;
    assert_eq!(lows.len(), 1);
    match &lows[0] {
        Event::StockLow(s) => assert_eq!((s.available, s.threshold), (2, 3)),
        other => panic!("{other:?}"),
    }
    // Still below the threshold: no second alert.
    w.order(1001, PackageSize::One, "req-2")
        .await
        .outcome
        .expect("accepted");
    assert_eq!(w.outbox("stock.low").await.len(), 1);
    // Restock above, then cross again: a new alert.
    w.add_codes(&codes("MORE", 5)).await;
    w.user_with_balance(1002, 1_000_000).await;
    w.order(1002, PackageSize::Five, "req-3")
        .await
        .outcome
        .expect("accepted");
    assert_eq!(w.outbox("stock.low").await.len(), 2);
}

#[tokio::test]
async fn order_charges_reserves_and_requests_delivery_on_postgres() {
    happy_path(World::pg().await).await;
}

#[tokio::test]
async fn order_charges_reserves_and_requests_delivery_on_sqlite() {
    happy_path(World::sqlite().await).await;
}

#[tokio::test]
async fn repeated_request_charges_once_and_returns_the_first_outcome() {
    let w = World::pg().await;
    w.add_codes(&codes("REP", 10)).await;
    w.user_with_balance(2001, 100_000).await;
    let first = w.order(2001, PackageSize::One, "same-interaction").await;
    let again = w.order(2001, PackageSize::One, "same-interaction").await;
    assert_eq!(first, again);
    // Concurrent repeats too.
    let w = Arc::new(w);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let w = w.clone();
        tasks.push(tokio::spawn(async move {
            w.order(2001, PackageSize::One, "raced").await
        }));
    }
    let mut numbers = HashSet::new();
    for t in tasks {
        numbers.insert(t.await.unwrap().outcome.unwrap().order_number);
    }
    assert_eq!(numbers.len(), 1);
    assert_eq!(w.balance(2001).await, 100_000 - 2 * 15_000);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 2);
    assert_eq!(w.outbox("delivery.requested").await.len(), 2);
}

#[tokio::test]
async fn insufficient_balance_reports_the_shortfall_and_changes_nothing() {
    let w = World::pg().await;
    w.add_codes(&codes("POOR", 5)).await;
    w.user_with_balance(3001, 10_000).await;
    let reply = w.order(3001, PackageSize::One, "r").await;
    assert_eq!(
        reply.outcome,
        Err(ServiceError::InsufficientBalance {
            balance: shared_proto::Idr::new(10_000),
            price: shared_proto::Idr::new(15_000),
            shortfall: shared_proto::Idr::new(5_000),
        })
    );
    assert_eq!(w.balance(3001).await, 10_000);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 0);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM balance_ledger", vec![])
            .await,
        0
    );
    assert_eq!(w.stock_status_counts().await, (5, 0, 0));
    // An unknown user is not left behind either.
    let reply = w.order(3002, PackageSize::One, "r2").await;
    assert!(matches!(
        reply.outcome,
        Err(ServiceError::InsufficientBalance { .. })
    ));
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM users WHERE user_id = 3002", vec![])
            .await,
        0
    );
}

#[tokio::test]
async fn out_of_stock_charges_nothing_and_alerts_admins() {
    let w = World::pg().await;
    w.add_codes(&codes("FEW", 2)).await;
    w.user_with_balance(4001, 1_000_000).await;
    // Uploading 2 codes (below the threshold of 3) already raised the alert once.
    let alerts_before = w.outbox("stock.low").await.len();
    let reply = w.order(4001, PackageSize::Five, "r").await;
    assert_eq!(
        reply.outcome,
        Err(ServiceError::OutOfStock {
            requested: 5,
            available: 2
        })
    );
    assert_eq!(w.balance(4001).await, 1_000_000);
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 0);
    assert_eq!(w.stock_status_counts().await, (2, 0, 0));
    assert_eq!(w.outbox("delivery.requested").await.len(), 0);
    assert_eq!(alerts_before, 1);
    assert_eq!(w.outbox("stock.low").await.len(), 1, "once per crossing");
    // Empty stock: an alert exists for admins.
    let empty = World::pg().await;
    empty.user_with_balance(4002, 1_000_000).await;
    let reply = empty.order(4002, PackageSize::One, "r").await;
    assert_eq!(
        reply.outcome,
        Err(ServiceError::OutOfStock {
            requested: 1,
            available: 0
        })
    );
    assert_eq!(empty.outbox("stock.low").await.len(), 1);
    empty.order(4002, PackageSize::One, "r2").await;
    assert_eq!(
        empty.outbox("stock.low").await.len(),
        1,
        "once per crossing"
    );
}

#[tokio::test]
async fn concurrent_orders_never_share_a_code_and_charge_only_accepted_ones() {
    let n_orders: usize = std::env::var("ORDERS_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let n_codes = n_orders / 2;
    let w = Arc::new(World::pg().await);
    w.add_codes(&codes("RACE", n_codes)).await;
    for u in 0..n_orders {
        w.user_with_balance(10_000 + u as i64, 15_000).await;
    }
    let mut tasks = Vec::new();
    for u in 0..n_orders {
        let w = w.clone();
        tasks.push(tokio::spawn(async move {
            w.order(10_000 + u as i64, PackageSize::One, &format!("race-{u}"))
                .await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap().outcome {
            Ok(_) => accepted += 1,
            Err(ServiceError::OutOfStock { .. }) => {}
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(accepted, n_codes, "every code sold, no more");
    let delivered: Vec<String> = w
        .outbox("delivery.requested")
        .await
        .iter()
        .flat_map(delivered_codes)
        .collect();
    let unique: HashSet<&String> = delivered.iter().collect();
    assert_eq!(delivered.len(), n_codes);
    assert_eq!(unique.len(), n_codes, "no code twice");
    assert_eq!(
        w.scalar(
            "SELECT COUNT(DISTINCT order_id) FROM stock WHERE order_id IS NOT NULL",
            vec![]
        )
        .await,
        n_codes as i64
    );
    let charged = w
        .scalar(
            "SELECT CAST(COALESCE(-SUM(delta), 0) AS BIGINT) FROM balance_ledger",
            vec![],
        )
        .await;
    let prices = w
        .scalar(
            "SELECT CAST(SUM(total_price) AS BIGINT) FROM orders",
            vec![],
        )
        .await;
    assert_eq!(charged, prices);
    assert_eq!(charged, 15_000 * n_codes as i64);
    let total_balance = w
        .scalar("SELECT CAST(SUM(balance) AS BIGINT) FROM users", vec![])
        .await;
    assert_eq!(total_balance, 15_000 * (n_orders - n_codes) as i64);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM users WHERE balance < 0", vec![])
            .await,
        0
    );
}

#[tokio::test]
async fn daily_limit_and_cooldown_are_enforced_here() {
    let w = World::pg_with(&[("MAX_ORDERS_PER_USER_PER_DAY", "2")]).await;
    w.add_codes(&codes("LIM", 10)).await;
    w.user_with_balance(5001, 1_000_000).await;
    w.order(5001, PackageSize::One, "a").await.outcome.unwrap();
    w.order(5001, PackageSize::One, "b").await.outcome.unwrap();
    let third = w.order(5001, PackageSize::One, "c").await;
    assert_eq!(
        third.outcome,
        Err(ServiceError::DailyOrderLimit { limit: 2 })
    );
    assert_eq!(w.balance(5001).await, 1_000_000 - 30_000);
    // A repeat of an accepted request is not a new order and is not limited.
    assert!(w.order(5001, PackageSize::One, "a").await.outcome.is_ok());

    let w = World::pg_with(&[("ORDER_COOLDOWN_SECONDS", "60")]).await;
    w.add_codes(&codes("COOL", 10)).await;
    w.user_with_balance(5002, 1_000_000).await;
    w.order(5002, PackageSize::One, "a").await.outcome.unwrap();
    match w.order(5002, PackageSize::One, "b").await.outcome {
        Err(ServiceError::Cooldown { retry_after_secs }) => {
            assert!((1..=60).contains(&retry_after_secs))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_users_concurrent_orders_cannot_pass_the_daily_limit() {
    // The first statement of an order locks the user's row (even when it writes nothing), so the
    // limit check of each order sees every order committed before it.
    let w = Arc::new(World::pg_with(&[("MAX_ORDERS_PER_USER_PER_DAY", "3")]).await);
    w.add_codes(&codes("SAME", 20)).await;
    w.user_with_balance(5003, 1_000_000).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move { w.order(5003, PackageSize::One, &format!("same-{i}")).await })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap().outcome {
            Ok(_) => accepted += 1,
            Err(ServiceError::DailyOrderLimit { limit: 3 }) => {}
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(accepted, 3);
    assert_eq!(w.balance(5003).await, 1_000_000 - 3 * 15_000);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM orders WHERE user_id = 5003", vec![])
            .await,
        3
    );
}

#[tokio::test]
async fn an_order_refreshes_a_changed_username_and_keeps_a_known_one() {
    let w = World::pg().await;
    w.add_codes(&codes("NAME", 5)).await;
    w.user_with_balance(5004, 100_000).await;
    w.db.execute_unprepared("UPDATE users SET username = 'old-name' WHERE user_id = 5004")
        .await
        .unwrap();
    w.order(5004, PackageSize::One, "n1").await.outcome.unwrap();
    let name = "SELECT username FROM users WHERE user_id = 5004";
    assert_eq!(w.text(name, vec![]).await, "user5004");

    // Discord gave no username this time: the known one stays.
    let mut cmd = order_cmd(5004, PackageSize::One, "n2");
    cmd.user.username = None;
    w.orders
        .create(&cmd, uuid::Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(w.text(name, vec![]).await, "user5004");
}

#[tokio::test]
async fn manual_delivery_leaves_the_order_pending_for_an_admin() {
    let w = World::pg_with(&[("AUTO_DELIVERY_ENABLED", "false")]).await;
    w.add_codes(&codes("MAN", 5)).await;
    w.user_with_balance(6001, 100_000).await;
    let accepted = w.order(6001, PackageSize::One, "m").await.outcome.unwrap();
    assert_eq!(accepted.status, OrderStatus::Pending);
    assert_eq!(w.balance(6001).await, 85_000);
    assert!(w.outbox("delivery.requested").await.is_empty());
}
