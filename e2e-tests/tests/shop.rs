//! The whole shop, end to end: real payment-service and bot-service processes, the fake Discord,
//! the Midtrans simulator, PostgreSQL and RabbitMQ. Users act through commands and the buttons
//! the bot sent; outcomes are checked in what Discord received and in the database.

use std::collections::HashSet;

use e2e_tests::{codes_in, has_button, System, ADMIN_ROLE_ID};
use fake_discord::FakeUser;

const EPHEMERAL: u64 = 64;

fn buyer(n: u64) -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_000 + n, format!("buyer{n}"))
}

fn admin() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_900, "shopadmin").with_roles([ADMIN_ROLE_ID])
}

/// `count` codes unique to this run.
fn fresh_codes(count: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..count)
        .map(|i| format!("RF-{}-{i:03}", &run[..10]).to_uppercase())
        .collect()
}

async fn start() -> System {
    System::start().await.expect("the system starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_up_50000_is_paid_dmed_and_shown_as_balance() {
    let mut sys = start().await;
    let user = buyer(1);

    let (qr, order_id) = sys.start_top_up(&user, "Rp 50.000").await;
    assert_ne!(qr.flags() & EPHEMERAL, 0, "the QR is shown only to the payer");
    assert!(qr.visible_text().contains("Rp 50.000"), "{}", qr.visible_text());
    assert!(
        qr.files.iter().any(|f| f.filename.ends_with(".png") && !f.bytes.is_empty()),
        "the QR is an image the bot rendered"
    );
    assert!(has_button(&qr, "Check status"));
    let charged = sys.sim.transactions();
    let charge = charged
        .iter()
        .find(|t| t["order_id"] == order_id.as_str())
        .unwrap_or_else(|| panic!("Midtrans never saw {order_id}: {charged:?}"));
    assert_eq!(charge["gross_amount"], "50000.00");
    assert_eq!(charge["transaction_status"], "pending");
    assert_eq!(sys.db_balance(user.id).await, 0, "nothing credited before payment");

    sys.pay(&order_id).await;
    let dm = sys
        .wait_dm(&user, "the top-up DM", |m| {
            m.visible_text().contains("Top-up received")
        })
        .await;
    assert!(dm.visible_text().contains("Rp 50.000"), "{}", dm.visible_text());
    assert!(dm.visible_text().contains(&order_id));

    let balance = sys.balance_text(&user).await;
    assert!(balance.contains("**Rp 50.000**"), "{balance}");
    assert_eq!(sys.db_balance(user.id).await, 50_000);
    let status = sys
        .query(
            "SELECT status, bot_source FROM topups WHERE order_id = $1",
            vec![order_id.clone().into()],
        )
        .await;
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].try_get::<String>("", "status").unwrap(), "success");
    assert_eq!(status[0].try_get::<String>("", "bot_source").unwrap(), "order");
    assert_eq!(
        sys.count(
            "SELECT SUM(delta)::BIGINT FROM balance_ledger WHERE user_id = $1",
            vec![(user.id as i64).into()]
        )
        .await,
        50_000
    );

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}
