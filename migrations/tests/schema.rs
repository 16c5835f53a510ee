//! The schema on an empty database, on both backends: it applies, re-applies as a no-op, rolls
//! back and re-applies, enforces its constraints, keeps `updated_at` current, decodes as the
//! documented entity types, and its views report.

#[macro_use]
mod common;

use std::time::Duration;

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use common::{Db, ALL_TABLES_AND_VIEWS};
use migrations::{apply_pending, migration_status, roll_back};
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{ConnectionTrait, Statement};

on_both_backends!(
    applies_to_empty_database_and_second_up_is_a_no_op,
    down_keeps_shared_tables_and_up_again_works,
    negative_balance_is_rejected,
    updated_at_follows_every_update,
    timestamps_decode_as_documented_entity_types,
    views_report_stock_and_daily_sales,
    constraints_refuse_inconsistent_rows,
    the_ledger_takes_reversals_and_keeps_its_rows_when_widened,
);

async fn schema_fingerprint(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for rel in db.relations().await? {
        out.push(format!("{rel}: {}", db.columns(&rel).await?.join(",")));
        out.push(format!(
            "{rel} idx: {}",
            db.indexes_on(&rel).await?.join(",")
        ));
    }
    Ok(out)
}

async fn applies_to_empty_database_and_second_up_is_a_no_op(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    assert_eq!(db.relations().await?, ALL_TABLES_AND_VIEWS);
    let status = migration_status(&db.conn).await?;
    assert_eq!(status.len(), 10);
    assert!(status.iter().all(|(_, applied)| *applied), "{status:?}");
    let before = schema_fingerprint(&db).await?;

    apply_pending(&db.conn, None).await?;
    assert_eq!(migration_status(&db.conn).await?, status);
    assert_eq!(schema_fingerprint(&db).await?, before);
    Ok(())
}

async fn down_keeps_shared_tables_and_up_again_works(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    db.exec("INSERT INTO users (user_id, balance) VALUES (7, 1000)")
        .await?;
    db.exec("INSERT INTO topups (user_id, amount, order_id, bot_source) VALUES (7, 1000, 'ORDER-7-1', 'order')")
        .await?;
    db.exec("INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-1', 'req-1', 7, 1, 1, 15000)")
        .await?;
    let users = db.snapshot("users", "user_id").await?;
    let topups = db.snapshot("topups", "id").await?;

    // First the catalogue goes (its columns too); then one step: the reports go; two: the
    // remembered locale stays (a shared table is never
    // rewritten); three: the owed amounts go; four: the refund/quarantine additions; five: the
    // views too.
    roll_back(&db.conn, 1).await?;
    assert!(!db.relations().await?.contains(&"products".to_owned()));
    assert!(!db
        .columns("orders")
        .await?
        .contains(&"product_id".to_owned()));
    assert_eq!(db.snapshot("users", "user_id").await?, users);
    roll_back(&db.conn, 1).await?;
    assert!(!db.relations().await?.contains(&"code_reports".to_owned()));
    assert!(!db
        .columns("stock")
        .await?
        .contains(&"defective_at".to_owned()));
    roll_back(&db.conn, 1).await?;
    assert!(db.columns("users").await?.contains(&"locale".to_owned()));
    roll_back(&db.conn, 1).await?;
    assert!(!db.relations().await?.contains(&"balance_owed".to_owned()));
    roll_back(&db.conn, 1).await?;
    assert!(!db
        .relations()
        .await?
        .contains(&"order_anomalies".to_owned()));
    assert!(!db
        .columns("stock")
        .await?
        .contains(&"quarantined_at".to_owned()));
    roll_back(&db.conn, 1).await?;
    let mut without_views: Vec<&str> = ALL_TABLES_AND_VIEWS.to_vec();
    without_views.retain(|r| {
        ![
            "stock_summary",
            "daily_sales",
            "order_anomalies",
            "balance_owed",
            "code_reports",
            "code_report_items",
            "products",
            "product_prices",
        ]
        .contains(r)
    });
    assert_eq!(db.relations().await?, without_views);

    roll_back(&db.conn, 10).await?;
    assert_eq!(db.relations().await?, ["topups", "users"]);
    assert!(migration_status(&db.conn).await?.iter().all(|(_, a)| !a));
    assert_eq!(db.snapshot("users", "user_id").await?, users);
    assert_eq!(db.snapshot("topups", "id").await?, topups);
    assert!(db.triggers_on("users").await?.is_empty());
    assert!(db.triggers_on("topups").await?.is_empty());
    // The shared tables keep their added columns and their guard.
    assert!(db
        .columns("topups")
        .await?
        .contains(&"midtrans_status".to_owned()));
    assert!(db.try_exec("UPDATE users SET balance = -1").await.is_err());

    apply_pending(&db.conn, None).await?;
    assert_eq!(db.relations().await?, ALL_TABLES_AND_VIEWS);
    assert_eq!(db.snapshot("users", "user_id").await?, users);
    assert_eq!(db.snapshot("topups", "id").await?, topups);
    assert_eq!(db.triggers_on("users").await?.len(), 1);
    Ok(())
}

async fn negative_balance_is_rejected(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    db.exec("INSERT INTO users (user_id, balance) VALUES (1, 100)")
        .await?;
    assert!(db
        .try_exec("INSERT INTO users (user_id, balance) VALUES (2, -5)")
        .await
        .is_err());
    assert!(db
        .try_exec("UPDATE users SET balance = balance - 101 WHERE user_id = 1")
        .await
        .is_err());
    // The services' conditional deduction simply matches nothing.
    let res = db
        .try_exec("UPDATE users SET balance = balance - 150 WHERE user_id = 1 AND balance >= 150")
        .await?;
    assert_eq!(res.rows_affected(), 0);
    assert_eq!(
        db.one::<i64>("SELECT balance AS v FROM users WHERE user_id = 1")
            .await?,
        100
    );
    assert_eq!(db.one::<i64>("SELECT COUNT(*) AS v FROM users").await?, 1);
    Ok(())
}

async fn updated_at_follows_every_update(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    db.exec("INSERT INTO users (user_id) VALUES (5)").await?;
    db.exec("INSERT INTO topups (user_id, amount, order_id) VALUES (5, 10000, 'ORDER-5-1')")
        .await?;
    db.exec("INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-5', 'req-5', 5, 1, 1, 15000)")
        .await?;
    db.exec("INSERT INTO app_state (\"key\", \"value\") VALUES ('low_stock', 'false')")
        .await?;

    let users_sql = "SELECT updated_at AS v FROM users WHERE user_id = 5";
    let topups_sql = "SELECT updated_at AS v FROM topups WHERE order_id = 'ORDER-5-1'";
    let orders_sql = "SELECT updated_at AS v FROM orders WHERE order_number = 'RF-5'";
    let state_sql = "SELECT updated_at AS v FROM app_state WHERE \"key\" = 'low_stock'";
    let users_before: NaiveDateTime = db.one(users_sql).await?;
    let topups_before: NaiveDateTime = db.one(topups_sql).await?;
    let orders_before: DateTimeUtc = db.one(orders_sql).await?;
    let state_before: DateTimeUtc = db.one(state_sql).await?;
    let orders_created: DateTimeUtc = db
        .one("SELECT created_at AS v FROM orders WHERE order_number = 'RF-5'")
        .await?;

    tokio::time::sleep(Duration::from_millis(30)).await;
    db.exec("UPDATE users SET balance = 10 WHERE user_id = 5")
        .await?;
    db.exec("UPDATE topups SET status = 'success' WHERE order_id = 'ORDER-5-1'")
        .await?;
    db.exec("UPDATE orders SET status = 'delivering' WHERE order_number = 'RF-5'")
        .await?;
    db.exec("UPDATE app_state SET \"value\" = 'true' WHERE \"key\" = 'low_stock'")
        .await?;

    assert!(db.one::<NaiveDateTime>(users_sql).await? > users_before);
    assert!(db.one::<NaiveDateTime>(topups_sql).await? > topups_before);
    assert!(db.one::<DateTimeUtc>(orders_sql).await? > orders_before);
    assert!(db.one::<DateTimeUtc>(state_sql).await? > state_before);
    assert_eq!(
        db.one::<DateTimeUtc>("SELECT created_at AS v FROM orders WHERE order_number = 'RF-5'")
            .await?,
        orders_created
    );
    Ok(())
}

fn near_now(t: DateTimeUtc) -> bool {
    (Utc::now() - t).abs() < TimeDelta::minutes(5)
}

async fn timestamps_decode_as_documented_entity_types(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    let blob = db.bytes_literal("00ff");
    for sql in [
        "INSERT INTO users (user_id) VALUES (9)".to_owned(),
        "INSERT INTO topups (user_id, amount, order_id, bot_source) VALUES (9, 10000, 'ORDER-9-1', 'order')".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-9', 'req-9', 9, 1, 1, 15000)".to_owned(),
        format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash, batch_id) VALUES ({blob}, {blob}, 'k1', 'h1', 'b1')"),
        "INSERT INTO stock_batches (batch_id, added_by, added) VALUES ('b1', 9, 1)".to_owned(),
        "INSERT INTO deliveries (order_id, attempt, method, status) VALUES (1, 1, 'dm', 'sent')".to_owned(),
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (9, 10000, 'topup', 'ORDER-9-1', 10000)".to_owned(),
        "INSERT INTO outbox (message_id, exchange, routing_key, message_type, correlation_id, payload) VALUES ('m1', 'x', 'r', 't', 'c', '{}')".to_owned(),
        "INSERT INTO processed_messages (consumer, message_id) VALUES ('c', 'm1')".to_owned(),
        "INSERT INTO admin_audit (admin_user_id, action) VALUES (9, 'stock.add')".to_owned(),
    ] {
        db.exec(&sql).await?;
    }

    for (table, column) in [
        ("users", "created_at"),
        ("users", "updated_at"),
        ("topups", "created_at"),
        ("topups", "updated_at"),
    ] {
        let t: NaiveDateTime = db
            .one(&format!("SELECT {column} AS v FROM {table}"))
            .await?;
        assert!(near_now(t.and_utc()), "{table}.{column} = {t}");
    }
    for (table, column) in [
        ("orders", "created_at"),
        ("orders", "updated_at"),
        ("stock", "created_at"),
        ("stock_batches", "created_at"),
        ("deliveries", "created_at"),
        ("balance_ledger", "created_at"),
        ("outbox", "created_at"),
        ("processed_messages", "processed_at"),
        ("admin_audit", "created_at"),
    ] {
        let t: DateTimeUtc = db
            .one(&format!("SELECT {column} AS v FROM {table}"))
            .await?;
        assert!(near_now(t), "{table}.{column} = {t}");
    }
    // Nullable timestamps written by the services round-trip.
    // PostgreSQL keeps microseconds.
    let now = Utc::now();
    let paid = now
        .with_nanosecond(now.nanosecond() / 1000 * 1000)
        .context("truncating to microseconds")?;
    let stmt = if db.is_pg() {
        "UPDATE topups SET paid_at = $1, expires_at = $1 WHERE order_id = 'ORDER-9-1'"
    } else {
        "UPDATE topups SET paid_at = ?, expires_at = ? WHERE order_id = 'ORDER-9-1'"
    };
    let values = if db.is_pg() {
        vec![paid.into()]
    } else {
        vec![paid.into(), paid.into()]
    };
    db.conn
        .execute(Statement::from_sql_and_values(db.backend(), stmt, values))
        .await?;
    let read: Option<DateTimeUtc> = db.one("SELECT paid_at AS v FROM topups").await?;
    assert_eq!(read, Some(paid));

    // Comparisons against bound chrono values are right on both backends (on SQLite this is a
    // text comparison, which is why defaults use sqlx's own text shapes).
    let hour = TimeDelta::hours(1);
    for (bound, expected) in [(Utc::now() - hour, 1), (Utc::now() + hour, 0)] {
        let n: i64 = db
            .one_with(
                "SELECT COUNT(*) AS v FROM orders WHERE created_at >= $1",
                vec![bound.into()],
            )
            .await?;
        assert_eq!(n, expected, "orders.created_at >= {bound}");
        let n: i64 = db
            .one_with(
                "SELECT COUNT(*) AS v FROM users WHERE created_at >= $1",
                vec![bound.naive_utc().into()],
            )
            .await?;
        assert_eq!(n, expected, "users.created_at >= {bound}");
        let n: i64 = db
            .one_with(
                "SELECT COUNT(*) AS v FROM topups WHERE expires_at < $1",
                vec![bound.into()],
            )
            .await?;
        assert_eq!(n, 1 - expected, "topups.expires_at < {bound}");
    }
    Ok(())
}

async fn views_report_stock_and_daily_sales(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    db.exec("INSERT INTO users (user_id) VALUES (3)").await?;
    // Large prices make sure revenue is a BIGINT, not a 32-bit sum.
    db.exec(
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price, status, created_at, completed_at) VALUES
        ('RF-A', 'a', 3, 5, 5, 2000000000, 'completed', '2026-01-02T09:00:00+00:00', '2026-01-02T09:00:01+00:00'),
        ('RF-B', 'b', 3, 10, 10, 2000000000, 'completed', '2026-01-02T23:59:00+00:00', '2026-01-02T23:59:59.500+00:00'),
        ('RF-C', 'c', 3, 1, 1, 15000, 'completed', '2026-01-03T00:00:00+00:00', '2026-01-03T00:00:01+00:00'),
        ('RF-D', 'd', 3, 1, 1, 15000, 'pending', '2026-01-02T10:00:00+00:00', NULL),
        ('RF-E', 'e', 3, 1, 1, 15000, 'refunded', '2026-01-02T11:00:00+00:00', NULL)",
    )
    .await?;
    let blob = db.bytes_literal("01");
    db.exec(&format!(
        "INSERT INTO stock (ciphertext, nonce, key_id, code_hash, status, order_id) VALUES
        ({blob}, {blob}, 'k', 'h1', 'available', NULL),
        ({blob}, {blob}, 'k', 'h2', 'available', NULL),
        ({blob}, {blob}, 'k', 'h3', 'reserved', 4),
        ({blob}, {blob}, 'k', 'h4', 'sold', 1)"
    ))
    .await?;

    let rows = db
        .conn
        .query_all(Statement::from_string(
            db.backend(),
            "SELECT status, count FROM stock_summary ORDER BY status",
        ))
        .await?;
    let summary: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.try_get("", "status")?, r.try_get("", "count")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    assert_eq!(
        summary,
        [
            ("available".to_owned(), 2),
            ("reserved".to_owned(), 1),
            ("sold".to_owned(), 1)
        ]
    );

    let rows = db
        .conn
        .query_all(Statement::from_string(
            db.backend(),
            "SELECT day, orders, codes, revenue FROM daily_sales ORDER BY day",
        ))
        .await?;
    let sales: Vec<(NaiveDate, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "day")?,
                r.try_get("", "orders")?,
                r.try_get("", "codes")?,
                r.try_get("", "revenue")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    assert_eq!(
        sales,
        [(day(2), 2, 15, 4_000_000_000), (day(3), 1, 1, 15000)]
    );
    Ok(())
}

async fn constraints_refuse_inconsistent_rows(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    db.exec("INSERT INTO users (user_id) VALUES (4)").await?;
    db.exec("INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-1', 'r1', 4, 1, 1, 15000)")
        .await?;
    db.exec("INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (4, 15000, 'topup', 'ORDER-4-1', 15000)")
        .await?;
    db.exec("INSERT INTO topups (user_id, amount, order_id) VALUES (4, 1, 'T-1'), (4, 1, 'T-2')")
        .await?;
    db.exec("UPDATE topups SET request_id = 'same' WHERE order_id = 'T-1'")
        .await?;
    db.exec("INSERT INTO processed_messages (consumer, message_id) VALUES ('a', 'm'), ('b', 'm')")
        .await?;
    let blob = db.bytes_literal("02");

    let refused = [
        // The same top-up booked twice.
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (4, 15000, 'topup', 'ORDER-4-1', 30000)".to_owned(),
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (4, 1, 'gift', 'x', 1)".to_owned(),
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (4, -1, 'order', 'y', -1)".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-2', 'r1', 4, 1, 1, 15000)".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-1', 'r2', 4, 1, 1, 15000)".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-3', 'r3', 999, 1, 1, 15000)".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-4', 'r4', 4, 1, 0, 15000)".to_owned(),
        "UPDATE orders SET status = 'shipped'".to_owned(),
        format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash, status) VALUES ({blob}, {blob}, 'k', 'h', 'lost')"),
        format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash, order_id) VALUES ({blob}, {blob}, 'k', 'h9', 999)"),
        "INSERT INTO deliveries (order_id, attempt, method, status) VALUES (1, 1, 'pigeon', 'sent')".to_owned(),
        "UPDATE topups SET request_id = 'same' WHERE order_id = 'T-2'".to_owned(),
        "INSERT INTO topups (user_id, amount, order_id) VALUES (4, 1, 'T-1')".to_owned(),
        "INSERT INTO topups (user_id, amount, order_id) VALUES (999, 1, 'T-3')".to_owned(),
        "INSERT INTO processed_messages (consumer, message_id) VALUES ('a', 'm')".to_owned(),
        "INSERT INTO outbox (message_id, exchange, routing_key, message_type, correlation_id, payload) VALUES ('m', 'x', 'r', 't', 'c', '{}'), ('m', 'x', 'r', 't', 'c', '{}')".to_owned(),
    ];
    for sql in refused {
        assert!(db.try_exec(&sql).await.is_err(), "accepted: {sql}");
    }
    // Codes inserted once are fine, a duplicate hash is not.
    db.exec(&format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash) VALUES ({blob}, {blob}, 'k', 'dup')"))
        .await?;
    assert!(db
        .try_exec(&format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash) VALUES ({blob}, {blob}, 'k', 'dup')"))
        .await
        .is_err());
    Ok(())
}

async fn the_ledger_takes_reversals_and_keeps_its_rows_when_widened(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, Some(5)).await?;
    db.exec("INSERT INTO users (user_id, balance) VALUES (5, 15000)")
        .await?;
    db.exec("INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, 15000, 'topup', 'ORDER-5-1', 15000)")
        .await?;
    assert!(db
        .try_exec("INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, -1, 'reversal', 'ORDER-5-1#1', 14999)")
        .await
        .is_err());
    let before = db.snapshot("balance_ledger", "id").await?;

    apply_pending(&db.conn, None).await?;
    assert_eq!(db.snapshot("balance_ledger", "id").await?, before);
    db.exec("INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, -15000, 'reversal', 'ORDER-5-1#1', 0)")
        .await?;
    let refused = [
        // Each returned amount is reversed once.
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, -1, 'reversal', 'ORDER-5-1#1', 0)",
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, 1, 'gift', 'x', 1)",
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (5, -1, 'reversal', 'y', -1)",
        "INSERT INTO balance_owed (user_id, amount) VALUES (5, -1)",
        "INSERT INTO balance_owed (user_id, amount) VALUES (999, 1)",
    ];
    for sql in refused {
        assert!(db.try_exec(sql).await.is_err(), "accepted: {sql}");
    }
    db.exec("INSERT INTO balance_owed (user_id, amount) VALUES (5, 2500)")
        .await?;
    db.exec("UPDATE topups SET returned_amount = 1 WHERE order_id = 'none'")
        .await?;
    // A second up changes nothing (the SQLite rebuild is skipped).
    apply_pending(&db.conn, None).await?;
    assert_eq!(
        db.snapshot("balance_ledger", "id").await?.len(),
        before.len() + 1
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_migrators_on_postgres_apply_once() -> anyhow::Result<()> {
    let db = Db::pg().await?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let conn = db.another_connection().await?;
        tasks.spawn(async move { apply_pending(&conn, None).await });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    assert_eq!(
        db.one::<i64>("SELECT COUNT(*) AS v FROM seaql_migrations")
            .await?,
        10
    );
    assert_eq!(db.relations().await?, ALL_TABLES_AND_VIEWS);
    Ok(())
}
