//! Keys lost or half-rotated never take stock off sale silently (issue 12, item 5): the service
//! refuses to start over codes under a key it does not have; codes quarantined after a failed
//! decryption are counted for admins and released or discarded by an admin command; duplicate
//! detection works whatever key stored a code, even on a replica that lacks that key.

use payment_service::app::Application;
use payment_service::config::PaymentConfig;
use payment_service::stock_vault;
use shared_proto::{
    AdminStockQuarantine, AdminStockView, PackageSize, QuarantineAction, QuarantineProcessed,
    ServiceError, StockView,
};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::helpers::*;

async fn view(w: &World) -> StockView {
    let r = Uuid::new_v4().to_string();
    w.admin
        .stock_view(&signed(AdminStockView {
            request_id: r.clone(),
            claim: admin_claim(5),
        }))
        .await
        .unwrap()
        .outcome
        .unwrap()
}

async fn quarantine(w: &World, action: QuarantineAction) -> QuarantineProcessed {
    let r = Uuid::new_v4().to_string();
    w.admin
        .stock_quarantine(
            &signed(AdminStockQuarantine {
                request_id: r.clone(),
                claim: admin_claim(5),
                action,
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
        .unwrap()
}

/// An order on the replica that lacks the new key: it meets the codes stored under the new key,
/// quarantines them and is refused as out of stock, charging nothing.
async fn order_meets_unknown_codes(old: &World, user: i64, request: &str) {
    let reply = old.order(user, PackageSize::One, request).await;
    assert!(
        matches!(reply.outcome, Err(ServiceError::OutOfStock { .. })),
        "{reply:?}"
    );
    assert_eq!(old.balance(user).await, 100_000);
}

/// A rolling deploy half done: `new` encrypts with a new key (the old one as previous), `old`
/// still runs with the old key only.
#[tokio::test]
async fn quarantined_codes_are_shown_never_duplicated_and_released_or_discarded() {
    let tdb = TestDatabase::create().await.unwrap();
    let url = tdb.url().to_string();
    let old = World::build(&url, &[("ENCRYPTION_KEY", OLD_KEY)], Db::None).await;
    let new = World::build(&url, &[("PREVIOUS_ENCRYPTION_KEYS", OLD_KEY)], Db::Pg(tdb)).await;
    let supplier_file = codes("NEWKEY", 2);
    assert_eq!(new.add_codes(&supplier_file).await.added, 2);
    old.user_with_balance(1, 100_000).await;
    order_meets_unknown_codes(&old, 1, "o1").await;

    // Visible to admins, from either replica.
    for w in [&old, &new] {
        let v = view(w).await;
        assert_eq!(
            (v.counts.available, v.counts.reserved, v.counts.quarantined),
            (0, 2, 2)
        );
    }
    // The supplier's file again, through the replica that cannot read those codes: no copy.
    let again = old.add_codes(&supplier_file).await;
    assert_eq!((again.added, again.duplicates), (0, 2));
    assert_eq!(old.scalar("SELECT COUNT(*) FROM stock", vec![]).await, 2);

    // Releasing where the key is still missing changes nothing; where it is back, the codes
    // return to sale.
    let r = quarantine(&old, QuarantineAction::Release).await;
    assert_eq!((r.released, r.still_quarantined), (0, 2));
    let r = quarantine(&new, QuarantineAction::Release).await;
    assert_eq!(
        (r.released, r.still_quarantined, r.available_after),
        (2, 0, 2)
    );
    assert_eq!(view(&new).await.counts.quarantined, 0);
    new.user_with_balance(2, 100_000).await;
    let sold = new.order(2, PackageSize::One, "n1").await.outcome.unwrap();
    assert_eq!(sold.total_price.rupiah(), 15_000);

    // Quarantined again, then discarded (the key is given up): gone, and a later upload of the
    // same codes stores them afresh.
    order_meets_unknown_codes(&old, 1, "o2").await;
    assert_eq!(view(&old).await.counts.quarantined, 1);
    let d = quarantine(&old, QuarantineAction::Discard).await;
    assert_eq!((d.discarded, d.still_quarantined), (1, 0));
    assert_eq!(view(&old).await.counts.quarantined, 0);
    let back = new.add_codes(&supplier_file).await;
    assert_eq!((back.added, back.duplicates), (1, 1));
    // Every decision is audited, by stock id only.
    let audits = new
        .scalar(
            "SELECT COUNT(*) FROM admin_audit WHERE action = 'stock.quarantine'",
            vec![],
        )
        .await;
    assert_eq!(audits, 3);
    for code in &supplier_file {
        assert_eq!(
            new.scalar(
                "SELECT COUNT(*) FROM admin_audit WHERE detail LIKE $1",
                vec![format!("%{code}%").into()],
            )
            .await,
            0
        );
    }
    drop(old);
}

#[tokio::test]
async fn start_up_refuses_codes_under_a_key_that_is_not_configured() {
    let tdb = TestDatabase::create().await.unwrap();
    let url = tdb.url().to_string();
    let old = World::build(&url, &[("ENCRYPTION_KEY", OLD_KEY)], Db::None).await;
    let lost = codes("LOSTKEY", 3);
    old.add_codes(&lost).await;
    let old_key_id = old.text("SELECT key_id FROM stock LIMIT 1", vec![]).await;
    drop(old);
    // The operator replaced ENCRYPTION_KEY and forgot the old one.
    let mut config = PaymentConfig::from_settings(&settings(&url, &[])).unwrap();
    config.webhook_port = 0;
    config.webhook_host = "127.0.0.1".into();
    let error = match Application::build(config).await {
        Ok(_) => panic!("started with 3 codes under a missing key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains(&old_key_id), "{error}");
    assert!(error.contains("3 codes"), "{error}");
    assert!(error.contains("PREVIOUS_ENCRYPTION_KEYS"), "{error}");
    for code in &lost {
        assert!(!error.contains(code.as_str()), "{error}");
    }
    // Declared lost for good: it starts, with those codes quarantined (off sale, shown, not
    // deleted).
    let config = PaymentConfig::from_settings(&settings(
        &url,
        &[("LOST_ENCRYPTION_KEY_IDS", old_key_id.as_str())],
    ))
    .unwrap();
    let db = payment_service::persistence::connect(&config)
        .await
        .unwrap();
    stock_vault::open(&db, &config).await.unwrap();
    let w = World::build(
        &url,
        &[("LOST_ENCRYPTION_KEY_IDS", old_key_id.as_str())],
        Db::None,
    )
    .await;
    let counts = view(&w).await.counts;
    assert_eq!((counts.available, counts.quarantined), (0, 3));
    // With the old key back as a previous key it starts, and the codes can be released.
    let config =
        PaymentConfig::from_settings(&settings(&url, &[("PREVIOUS_ENCRYPTION_KEYS", OLD_KEY)]))
            .unwrap();
    let db = payment_service::persistence::connect(&config)
        .await
        .unwrap();
    stock_vault::open(&db, &config).await.unwrap();
    let back = World::build(&url, &[("PREVIOUS_ENCRYPTION_KEYS", OLD_KEY)], Db::None).await;
    let r = quarantine(&back, QuarantineAction::Release).await;
    assert_eq!((r.released, r.available_after), (3, 3));
    drop((w, back));
    drop(tdb);
}
