use payment_service::persistence::stmt;
use payment_service::stock_vault::rotation;
use sea_orm::ConnectionTrait;
use shared_proto::{AdminStockAdd, PackageSize};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::helpers::*;

async fn upload(w: &World, text: &str) -> shared_proto::StockAdded {
    let rid = Uuid::new_v4().to_string();
    w.admin
        .stock_add(
            &signed(AdminStockAdd {
                product_id: shared_proto::ProductId::DEFAULT,
                request_id: rid.clone(),
                claim: admin_claim(7),
                text: text.into(),
                source_name: Some("codes.txt".into()),
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
        .unwrap()
}

#[tokio::test]
async fn upload_counts_added_duplicates_and_rejected_lines() {
    let w = World::pg().await;
    let added = upload(
        &w,
        "# batch 1\r\nAAA111\r\n\r\nBBB222\r\nAAA111\r\nhas space\r\n  CCC333  \r\n",
    )
    .await;
    assert_eq!((added.added, added.duplicates), (3, 1));
    assert_eq!(added.rejected.len(), 1);
    assert_eq!(added.rejected[0].line, 6);
    assert_eq!(added.available_after, 3);
    // Against the table: two known, one new, one over-long, one unicode.
    let long = "Z".repeat(65);
    let again = upload(&w, &format!("BBB222\nCCC333\nDDD444\n{long}\nkodé1\n")).await;
    assert_eq!((again.added, again.duplicates), (1, 2));
    let lines: Vec<u32> = again.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![4, 5]);
    // Empty upload.
    let empty = upload(&w, "").await;
    assert_eq!(
        (empty.added, empty.duplicates, empty.rejected.len()),
        (0, 0, 0)
    );
    // Nothing stored in clear text, and the hash is not a plain SHA-256 of the code.
    let stored = w.scalar("SELECT COUNT(*) FROM stock", vec![]).await;
    assert_eq!(stored, 4);
    let row =
        w.db.query_one(stmt(
            &w.db,
            "SELECT ciphertext, code_hash FROM stock ORDER BY id LIMIT 1",
            [],
        ))
        .await
        .unwrap()
        .unwrap();
    let ct: Vec<u8> = row.try_get("", "ciphertext").unwrap();
    let hash: String = row.try_get("", "code_hash").unwrap();
    assert!(!ct.windows(6).any(|win| win == b"AAA111"));
    use sha2::Digest;
    assert_ne!(hash, hex::encode(sha2::Sha256::digest(b"AAA111")));
    // Batches and audit rows.
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock_batches", vec![]).await,
        3
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM admin_audit WHERE action = 'stock.add'",
            vec![]
        )
        .await,
        3
    );
    assert_eq!(
        w.scalar(
            "SELECT CAST(SUM(added) AS BIGINT) FROM stock_batches",
            vec![]
        )
        .await,
        4
    );
}

#[tokio::test]
async fn large_upload_of_one_hundred_thousand_lines() {
    let w = World::pg().await;
    let text: String = (0..100_000).map(|i| format!("BULK{i:07}\n")).collect();
    let started = std::time::Instant::now();
    let added = upload(&w, &text).await;
    assert_eq!(added.added, 100_000);
    assert_eq!(added.duplicates, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM stock", vec![]).await,
        100_000
    );
}

#[tokio::test]
async fn tampered_ciphertext_is_never_delivered() {
    let w = World::pg().await;
    w.add_codes(&codes("TAMP", 3)).await;
    // Flip one byte of the oldest code: the next order would take it first.
    let first_id = w.scalar("SELECT MIN(id) FROM stock", vec![]).await;
    let row =
        w.db.query_one(stmt(
            &w.db,
            "SELECT ciphertext FROM stock WHERE id = $1",
            [first_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let mut ct: Vec<u8> = row.try_get("", "ciphertext").unwrap();
    ct[0] ^= 0x01;
    w.db.execute(stmt(
        &w.db,
        "UPDATE stock SET ciphertext = $1 WHERE id = $2",
        [ct.into(), first_id.into()],
    ))
    .await
    .unwrap();
    w.user_with_balance(1, 100_000).await;
    let accepted = w
        .order(1, PackageSize::One, "t")
        .await
        .outcome
        .expect("served from the next code");
    let delivered = delivered_codes(&w.outbox("delivery.requested").await[0]);
    assert_eq!(delivered, vec!["TAMP00001".to_string()]);
    assert!(accepted.order_number.starts_with("RF-"));
    // The tampered code is out of sale, bound to no order.
    assert_eq!(
        w.text(
            "SELECT status FROM stock WHERE id = $1",
            vec![first_id.into()]
        )
        .await,
        "reserved"
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE id = $1 AND order_id IS NULL",
            vec![first_id.into()]
        )
        .await,
        1
    );
    assert_eq!(
        w.balance(1).await,
        85_000,
        "charged once, for the code delivered"
    );
}

#[tokio::test]
async fn rotation_re_encrypts_online_and_keeps_duplicates_detected() {
    let tdb = TestDatabase::create().await.unwrap();
    let url = tdb.url().to_string();
    // Stock written under the old key.
    let old = World::build(&url, &[("ENCRYPTION_KEY", OLD_KEY)], Db::None).await;
    old.add_codes(&codes("ROT", 25)).await;
    let old_key_id = old.text("SELECT key_id FROM stock LIMIT 1", vec![]).await;
    drop(old);
    // New key current, old key still able to decrypt.
    let w = World::build(&url, &[("PREVIOUS_ENCRYPTION_KEYS", OLD_KEY)], Db::Pg(tdb)).await;
    assert!(w.vault.has_previous_keys());
    // Before rotating, a re-upload of an old code is still a duplicate.
    let again = w.add_codes(&codes("ROT", 2)).await;
    assert_eq!((again.added, again.duplicates), (0, 2));
    let report = rotation::rotate(&w.db, &w.vault, 10).await.unwrap();
    assert_eq!((report.rotated, report.failed), (25, 0));
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE key_id = $1",
            vec![old_key_id.into()]
        )
        .await,
        0
    );
    assert_eq!(
        rotation::rotate(&w.db, &w.vault, 10).await.unwrap().rotated,
        0
    );
    // After rotation the old key can go: the new key alone decrypts and detects duplicates.
    let only_new = World::build(&url, &[], Db::None).await;
    assert!(!only_new.vault.has_previous_keys());
    only_new.user_with_balance(1, 100_000).await;
    only_new
        .order(1, PackageSize::Five, "after-rotation")
        .await
        .outcome
        .unwrap();
    assert_eq!(
        delivered_codes(&only_new.outbox("delivery.requested").await[0]),
        codes("ROT", 5)
    );
    assert_eq!(only_new.add_codes(&codes("ROT", 1)).await.duplicates, 1);
    drop(only_new);
    drop(w);
}
