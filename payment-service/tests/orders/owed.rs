//! Money returned on a credited top-up beyond what the balance held is owed: it blocks new
//! orders (the reply says why) until an admin clears it, with a claim and an audit row.

use payment_service::topups::domain::ReversalPlan;
use payment_service::topups::repository::{self, Reversed, TopupRow};
use sea_orm::ConnectionTrait;
use shared_proto::{AdminOwedClear, DiscordUserId, Idr, PackageSize, ServiceError};
use uuid::Uuid;

use crate::helpers::*;

/// A credited top-up of `amount` (as the webhook would leave it) and a user with `balance`.
async fn credited_topup(w: &World, user_id: i64, amount: i64, balance: i64) -> TopupRow {
    w.user_with_balance(user_id, balance).await;
    let order_id = format!("ORDER-{user_id}-1700000000");
    w.db.execute(payment_service::persistence::stmt(
        &w.db,
        "INSERT INTO topups (order_id, user_id, amount, bot_source, status, midtrans_status) \
         VALUES ($1, $2, $3, 'order', 'success', 'settlement')",
        [order_id.clone().into(), user_id.into(), amount.into()],
    ))
    .await
    .unwrap();
    repository::find_by_order_id(&w.db, &order_id)
        .await
        .unwrap()
        .unwrap()
}

fn plan(row: &TopupRow, key: &str, amount: i64) -> ReversalPlan {
    ReversalPlan {
        reference: format!("{}#{key}", row.order_id),
        requested: Idr::new(amount),
        cumulative: false,
    }
}

async fn owed_blocks_orders_until_an_admin_clears_it(w: World) {
    w.add_codes(&codes("OWED", 3)).await;
    let row = credited_topup(&w, 501, 50_000, 20_000).await;
    let user = DiscordUserId::from_i64(501).unwrap();
    let reversed = repository::reverse(
        &w.db,
        "events",
        &row,
        user,
        &plan(&row, "id:1", 50_000),
        "chargeback",
    )
    .await
    .unwrap();
    let Reversed::Done {
        split,
        balance_after,
        total_owed,
    } = reversed
    else {
        panic!("reversed: {reversed:?}");
    };
    assert_eq!(
        (split.taken.rupiah(), split.owed.rupiah()),
        (20_000, 30_000)
    );
    assert_eq!((balance_after.rupiah(), total_owed.rupiah()), (0, 30_000));
    // The same returned amount again: nothing.
    assert_eq!(
        repository::reverse(
            &w.db,
            "events",
            &row,
            user,
            &plan(&row, "id:1", 50_000),
            "chargeback"
        )
        .await
        .unwrap(),
        Reversed::AlreadyDone
    );
    assert_eq!(w.balance(501).await, 0);

    // A new top-up credits the balance, but orders stay blocked while money is owed.
    w.db.execute_unprepared("UPDATE users SET balance = 15000 WHERE user_id = 501")
        .await
        .unwrap();
    let refused = w.order(501, PackageSize::One, "owed-1").await;
    match refused.outcome {
        Err(ServiceError::Forbidden { message, .. }) => {
            assert!(
                message.contains("30.000") || message.contains("30000"),
                "{message}"
            );
            assert!(message.contains("admin"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(w.balance(501).await, 15_000, "nothing charged");

    // An admin clears it (claim checked, audited); a forged claim does nothing.
    let request_id = Uuid::new_v4().to_string();
    let forged = w
        .admin
        .owed_clear(&AdminOwedClear {
            request_id: request_id.clone(),
            // Genuinely signed, but for another request: not for this one.
            claim: signed(AdminOwedClear {
                request_id: "another-request".into(),
                claim: admin_claim(7),
                user_id: user,
                note: None,
            })
            .claim,
            user_id: user,
            note: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        forged.outcome,
        Err(ServiceError::Forbidden { .. })
    ));
    let clear = signed(AdminOwedClear {
        request_id: request_id.clone(),
        claim: admin_claim(7),
        user_id: user,
        note: Some("paid back in person".into()),
    });
    let cleared = w.admin.owed_clear(&clear).await.unwrap().outcome.unwrap();
    assert_eq!(cleared.cleared.rupiah(), 30_000);
    // Redelivered: the same answer, nothing else.
    let again = w.admin.owed_clear(&clear).await.unwrap().outcome.unwrap();
    assert_eq!(again.cleared.rupiah(), 30_000);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM admin_audit WHERE action = 'owed.clear' AND admin_user_id = 7",
            vec![]
        )
        .await,
        1
    );
    let accepted = w.order(501, PackageSize::One, "owed-2").await;
    assert!(accepted.outcome.is_ok(), "{:?}", accepted.outcome);
}

#[tokio::test]
async fn owed_blocks_orders_until_an_admin_clears_it_on_postgres() {
    owed_blocks_orders_until_an_admin_clears_it(World::pg().await).await;
}

#[tokio::test]
async fn owed_blocks_orders_until_an_admin_clears_it_on_sqlite() {
    owed_blocks_orders_until_an_admin_clears_it(World::sqlite().await).await;
}

#[tokio::test]
async fn concurrent_copies_of_one_chargeback_reverse_it_once() {
    let w = World::pg().await;
    let row = credited_topup(&w, 502, 40_000, 40_000).await;
    let user = DiscordUserId::from_i64(502).unwrap();
    let p = plan(&row, "id:9", 40_000);
    let tries = (0..8).map(|_| repository::reverse(&w.db, "events", &row, user, &p, "chargeback"));
    let results = futures::future::join_all(tries).await;
    let done = results
        .iter()
        .filter(|r| matches!(r, Ok(Reversed::Done { .. })))
        .count();
    assert_eq!(done, 1, "{results:?}");
    assert_eq!(w.balance(502).await, 0);
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM balance_ledger WHERE reason = 'reversal'",
            vec![]
        )
        .await,
        1
    );
}
