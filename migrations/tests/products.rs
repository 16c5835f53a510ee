//! The catalogue migration on a database made by the schema before it: every row of every
//! table survives unchanged, and every code, upload and order belongs to the default product.

#[macro_use]
mod common;

use common::Db;
use migrations::{apply_pending, migration_status};

on_both_backends!(
    upgrade_keeps_every_row_and_adopts_it_into_the_default_product,
    product_rows_refuse_nonsense,
);

/// The tables the shop had before the catalogue (all of them but the two new ones).
const TABLES: &[(&str, &str)] = &[
    ("users", "user_id"),
    ("topups", "id"),
    ("orders", "id"),
    ("stock", "id"),
    ("stock_batches", "batch_id"),
    ("deliveries", "id"),
    ("balance_ledger", "id"),
    ("outbox", "id"),
    ("processed_messages", "message_id"),
    ("admin_audit", "id"),
    ("balance_owed", "user_id"),
    ("order_anomalies", "id"),
    ("code_reports", "id"),
    ("code_report_items", "stock_id"),
    ("app_state", "key"),
];

async fn upgrade_keeps_every_row_and_adopts_it_into_the_default_product(
    db: Db,
) -> anyhow::Result<()> {
    let before_catalogue = migration_status(&db.conn).await?.len() as u32 - 1;
    apply_pending(&db.conn, Some(before_catalogue)).await?;
    assert!(
        !db.relations().await?.iter().any(|r| r == "products"),
        "the catalogue is the last migration"
    );

    // A shop in use: users, a top-up, orders in every state, codes available/reserved/sold, a
    // batch, a delivery, the ledger, the outbox, an audit row, a report.
    let blob = db.bytes_literal("0a0b");
    for sql in [
        "INSERT INTO users (user_id, username, balance, total_topup, total_spent) VALUES (7, 'seven', 5000, 50000, 45000), (8, NULL, 0, 0, 0)".to_owned(),
        "INSERT INTO topups (user_id, amount, order_id, status, bot_source) VALUES (7, 50000, 'ORDER-7-1', 'success', 'order')".to_owned(),
        "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price, status) VALUES
            ('RF-1', 'r1', 7, 1, 1, 15000, 'completed'),
            ('RF-2', 'r2', 7, 1, 1, 15000, 'pending'),
            ('RF-3', 'r3', 7, 1, 1, 15000, 'refunded')".to_owned(),
        "INSERT INTO stock_batches (batch_id, added_by, added) VALUES ('b1', 1, 4)".to_owned(),
        format!("INSERT INTO stock (ciphertext, nonce, key_id, code_hash, status, order_id, batch_id) VALUES
            ({blob}, {blob}, 'k1', 'h1', 'sold', 1, 'b1'),
            ({blob}, {blob}, 'k1', 'h2', 'reserved', 2, 'b1'),
            ({blob}, {blob}, 'k1', 'h3', 'available', NULL, 'b1'),
            ({blob}, {blob}, 'k1', 'h4', 'available', NULL, NULL)"),
        "INSERT INTO deliveries (order_id, attempt, method, status) VALUES (1, 1, 'dm', 'confirmed')".to_owned(),
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (7, 50000, 'topup', 'ORDER-7-1', 50000), (7, -15000, 'order', 'RF-1', 35000)".to_owned(),
        "INSERT INTO outbox (message_id, exchange, routing_key, message_type, correlation_id, payload) VALUES ('m1', 'x', 'k', 't', 'c', '{}')".to_owned(),
        "INSERT INTO admin_audit (admin_user_id, action, detail) VALUES (1, 'stock.add', 'b1')".to_owned(),
        "INSERT INTO code_reports (request_id, order_id, user_id, reason) VALUES ('rep1', 1, 7, 'invalid')".to_owned(),
        "INSERT INTO code_report_items (report_id, stock_id, position) VALUES (1, 1, 1)".to_owned(),
    ] {
        db.exec(&sql).await?;
    }
    let mut before = Vec::new();
    for (table, key) in TABLES {
        before.push(db.snapshot(table, key).await?);
    }

    apply_pending(&db.conn, None).await?;

    for ((table, key), rows) in TABLES.iter().zip(before) {
        // The old columns, row for row; the new `product_id` columns are checked below.
        let old: Vec<String> = db
            .columns(table)
            .await?
            .into_iter()
            .filter(|c| c != "product_id")
            .collect();
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        assert_eq!(
            db.snapshot_of(table, &old, key).await?,
            rows,
            "{table} changed"
        );
    }
    for table in ["stock", "stock_batches", "orders"] {
        let ids: Vec<i64> = db
            .all(&format!("SELECT product_id AS v FROM {table}"))
            .await?;
        assert!(
            !ids.is_empty() && ids.iter().all(|&p| p == 1),
            "{table}: {ids:?}"
        );
    }
    let default: Vec<String> = db
        .all("SELECT CAST(id AS TEXT) || ':' || name AS v FROM products")
        .await?;
    assert_eq!(default, ["1:Redfinger"]);
    // Prices come from the payment-service's settings on its first start, not from SQL.
    assert_eq!(
        db.one::<i64>("SELECT COUNT(*) AS v FROM product_prices")
            .await?,
        0
    );

    // A new product takes the next id, on both backends.
    db.exec("INSERT INTO products (name) VALUES ('VIP 30 days')")
        .await?;
    assert_eq!(
        db.one::<i64>("SELECT id AS v FROM products WHERE name = 'VIP 30 days'")
            .await?,
        2
    );
    Ok(())
}

async fn product_rows_refuse_nonsense(db: Db) -> anyhow::Result<()> {
    apply_pending(&db.conn, None).await?;
    for bad in [
        "INSERT INTO products (name) VALUES ('Redfinger')",
        "INSERT INTO product_prices (product_id, codes, price) VALUES (1, 3, 1000)",
        "INSERT INTO product_prices (product_id, codes, price) VALUES (1, 1, 0)",
        "INSERT INTO product_prices (product_id, codes, price) VALUES (1, 1, -5)",
        "INSERT INTO products (name, low_stock_threshold) VALUES ('X', -1)",
    ] {
        assert!(db.try_exec(bad).await.is_err(), "accepted: {bad}");
    }
    db.exec("INSERT INTO product_prices (product_id, codes, price) VALUES (1, 1, 15000)")
        .await?;
    assert!(db
        .try_exec("INSERT INTO product_prices (product_id, codes, price) VALUES (1, 1, 16000)")
        .await
        .is_err());
    Ok(())
}
