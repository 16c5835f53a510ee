//! The invariant checker itself: it must pass a consistent database and name each kind of
//! breakage. Runs on the shared PostgreSQL (a fresh database, migrated, dropped at the end).

use fault_tests::invariants;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use test_support::TestDatabase;

async fn migrated() -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create().await.expect("test database");
    let db = Database::connect(database.url()).await.expect("connect");
    migrations::apply_pending(&db, None).await.expect("migrate");
    (database, db)
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One user: a credited top-up of 50 000, a completed 1-code order of 15 000 (with its sold
/// code), a refunded order of 15 000; another whose credited top-up of 20 000 was charged back
/// (taken back from the balance); all rows as the payment-service writes them.
async fn consistent(db: &DatabaseConnection) {
    exec(db, "INSERT INTO users (user_id, balance, total_topup, total_spent) VALUES (7, 35000, 50000, 15000)").await;
    exec(db, "INSERT INTO topups (user_id, amount, order_id, status, bot_source) VALUES (7, 50000, 'ORDER-7-1', 'success', 'order')").await;
    exec(db, "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price, status) VALUES \
              ('ORD-1', 'r1', 7, 1, 1, 15000, 'completed'), ('ORD-2', 'r2', 7, 1, 1, 15000, 'refunded')").await;
    exec(db, "INSERT INTO stock (ciphertext, nonce, key_id, code_hash, status, order_id) \
              SELECT '\\x00', '\\x00', 'k', 'h1', 'sold', id FROM orders WHERE order_number = 'ORD-1'").await;
    exec(
        db,
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES \
              (7, 50000, 'topup', 'ORDER-7-1', 50000), (7, -15000, 'order', 'ORD-1', 35000), \
              (7, -15000, 'order', 'ORD-2', 20000), (7, 15000, 'refund', 'ORD-2', 35000)",
    )
    .await;
    exec(
        db,
        "INSERT INTO users (user_id, balance, total_topup, total_spent) VALUES (8, 0, 20000, 0)",
    )
    .await;
    exec(db, "INSERT INTO topups (user_id, amount, order_id, status, bot_source, midtrans_status, returned_amount) \
              VALUES (8, 20000, 'ORDER-8-1', 'success', 'order', 'chargeback', 20000)").await;
    exec(
        db,
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES \
              (8, 20000, 'topup', 'ORDER-8-1', 20000), (8, -20000, 'reversal', 'ORDER-8-1#id:1', 0)",
    )
    .await;
    exec(db, "INSERT INTO outbox (message_id, exchange, routing_key, message_type, correlation_id, payload, published_at) \
              VALUES ('m1', 'x', 'k', 'topup.settled', 'c', '{}', now())").await;
    after_the_sale(db).await;
}

/// User 9 bought 5 codes for 70 000 (ORD-3) and reported codes 2 and 4: code 2 was replaced
/// (a sixth code sold to the order), code 4 refunded (14 000); both are marked defective.
async fn after_the_sale(db: &DatabaseConnection) {
    exec(db, "INSERT INTO users (user_id, balance, total_topup, total_spent) VALUES (9, 44000, 100000, 56000)").await;
    exec(db, "INSERT INTO topups (user_id, amount, order_id, status, bot_source) VALUES (9, 100000, 'ORDER-9-1', 'success', 'order')").await;
    exec(db, "INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price, status, refunded_amount) \
              VALUES ('ORD-3', 'r3', 9, 5, 5, 70000, 'completed', 14000)").await;
    exec(db, "INSERT INTO stock (ciphertext, nonce, key_id, code_hash, status, order_id, defective_at) \
              SELECT '\\x00', '\\x00', 'k', 'h3-' || n, 'sold', (SELECT id FROM orders WHERE order_number = 'ORD-3'), \
              CASE WHEN n IN (2, 4) THEN now() END FROM generate_series(1, 6) n ORDER BY n").await;
    exec(db, "INSERT INTO code_reports (request_id, order_id, user_id, reason, status) \
              SELECT 'rep-1', id, 9, 'already_used', 'resolved' FROM orders WHERE order_number = 'ORD-3'").await;
    exec(db, "INSERT INTO code_report_items (report_id, stock_id, position, outcome, replacement_stock_id, refund_amount) \
              SELECT (SELECT id FROM code_reports WHERE request_id = 'rep-1'), old.id, 2, 'replaced', new.id, NULL \
              FROM stock old, stock new WHERE old.code_hash = 'h3-2' AND new.code_hash = 'h3-6'").await;
    exec(db, "INSERT INTO code_report_items (report_id, stock_id, position, outcome, refund_amount) \
              SELECT (SELECT id FROM code_reports WHERE request_id = 'rep-1'), id, 4, 'refunded', 14000 \
              FROM stock WHERE code_hash = 'h3-4'").await;
    exec(
        db,
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES \
              (9, 100000, 'topup', 'ORDER-9-1', 100000), (9, -70000, 'order', 'ORD-3', 30000), \
              (9, 14000, 'refund', 'ORD-3#report-1:4', 44000)",
    )
    .await;
}

#[tokio::test]
async fn a_consistent_database_passes() {
    let (database, db) = migrated().await;
    consistent(&db).await;
    let report = invariants::check_all(database.url())
        .await
        .expect("consistent");
    assert_eq!(report.ledger_sum, 79_000);
    assert_eq!(report.balance_sum, 79_000);
    assert_eq!(report.sold_codes, 7, "1 + 5 + the replacement");
    db.close().await.ok();
}

#[tokio::test]
async fn each_kind_of_breakage_is_named() {
    let cases: &[(&str, &str)] = &[
        ("UPDATE users SET balance = balance + 1000", "balance differs from the sum of its ledger rows"),
        ("DELETE FROM balance_ledger WHERE reason = 'refund'", "without exactly one refund row"),
        ("INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) VALUES (7, 50000, 'topup', 'ORDER-7-9', 85000)", "a top-up ledger row without a credited top-up"),
        ("UPDATE orders SET status = 'delivering' WHERE order_number = 'ORD-1'", "left pending or delivering"),
        ("UPDATE stock SET status = 'reserved'", "codes sold but completed orders hold"),
        ("UPDATE outbox SET published_at = NULL", "never published"),
        ("UPDATE users SET total_topup = 0", "total_topup differs"),
        ("UPDATE topups SET returned_amount = 30000 WHERE order_id = 'ORDER-8-1'", "more returned than was credited"),
        ("INSERT INTO balance_owed (user_id, amount) VALUES (8, 5000)", "money returned after settlement not accounted for"),
        ("UPDATE balance_ledger SET reference = 'ORDER-7-1#id:1' WHERE reason = 'reversal'", "a reversal ledger row without a credited top-up of the same user"),
        ("UPDATE orders SET refunded_amount = 20000 WHERE order_number = 'ORD-3'", "code-by-code refunds differ from its ledger rows"),
        ("UPDATE code_report_items SET refund_amount = 90000", "code-by-code refunds differ"),
        ("UPDATE stock SET defective_at = NULL", "not marked defective"),
        ("UPDATE stock SET order_id = (SELECT id FROM orders WHERE order_number = 'ORD-1') WHERE code_hash = 'h3-6'", "a replacement code not sold to the reported order"),
        ("UPDATE code_report_items SET replacement_stock_id = NULL", "an order not holding exactly its quantity of codes, plus its replacements"),
        ("INSERT INTO products (name) VALUES ('VIP'); UPDATE stock SET product_id = 2 WHERE code_hash = 'h3-6'", "a code went to an order of another product"),
    ];
    for (breakage, named) in cases {
        let (database, db) = migrated().await;
        consistent(&db).await;
        exec(&db, breakage).await;
        let error = invariants::check_all(database.url())
            .await
            .expect_err(breakage);
        let text = format!("{error:#}");
        assert!(
            text.contains(named),
            "after `{breakage}` expected «{named}» in:\n{text}"
        );
        db.close().await.ok();
    }
}
