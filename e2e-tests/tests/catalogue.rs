//! A two-product shop, end to end: an admin adds a second product with its prices from Discord
//! and uploads codes to it, a buyer picks that product and buys it, and the live stock panel
//! shows both products' counts after each step, in one message edited in place.

use e2e_tests::{codes_in, fresh_codes, System, SystemOptions, ADMIN_ROLE_ID, STOCK_CHANNEL_ID};
use fake_discord::{FakeUser, RecordedMessage, SlashOption};

fn admin() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_991, "catalogueadmin").with_roles([ADMIN_ROLE_ID])
}

fn buyer() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_181, "vipbuyer")
}

/// The stock panel messages in the stock channel (not deleted).
fn panels(sys: &System) -> Vec<RecordedMessage> {
    sys.fake
        .channel_messages(STOCK_CHANNEL_ID)
        .into_iter()
        .filter(|m| !m.deleted)
        .collect()
}

/// Waits until the one panel shows every line of `expected`.
async fn panel_shows(sys: &System, expected: &[&str]) -> RecordedMessage {
    let found = sys
        .fake
        .wait_for(e2e_tests::STEP_TIMEOUT, |_| {
            let all = panels(sys);
            let text = all.last()?.visible_text();
            expected
                .iter()
                .all(|line| text.contains(line))
                .then(|| all.last().cloned())
                .flatten()
        })
        .await;
    found.unwrap_or_else(|| {
        panic!(
            "the stock panel never showed {expected:?}; it shows {:?}",
            panels(sys)
                .iter()
                .map(RecordedMessage::visible_text)
                .collect::<Vec<_>>()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_product_stocks_it_a_buyer_buys_it_and_the_panel_follows() {
    let sys = System::start_with(SystemOptions {
        bot_env: vec![
            ("STOCK_CHANNEL_ID".into(), STOCK_CHANNEL_ID.to_string()),
            ("STOCK_PANEL_INTERVAL_SECS".into(), "1".into()),
            ("DEFAULT_LOCALE".into(), "en".into()),
        ],
        ..SystemOptions::default()
    })
    .await
    .expect("the system starts");

    // The one-product shop: the default product, stocked.
    sys.add_stock(&admin(), &fresh_codes(4)).await;
    let first = panel_shows(&sys, &["Redfinger: 4 available"]).await;

    // The admin adds a second product with two packages.
    let id = sys.slash(
        &admin(),
        "admin",
        vec![SlashOption::sub(
            "product",
            vec![SlashOption::sub(
                "add",
                vec![
                    SlashOption::string("name", "VIP 30 hari"),
                    SlashOption::string("prices", "1=20000, 5=95000"),
                    SlashOption::string("description", "Redfinger VIP, 30 days"),
                ],
            )],
        )],
    );
    let added = sys
        .answer(id, "the product add answer", |m| {
            m.visible_text().contains("VIP 30 hari")
        })
        .await;
    assert!(
        added.visible_text().contains("Rp 20.000"),
        "{}",
        added.visible_text()
    );
    let product_id: i64 = sys
        .scalar_i64("SELECT id FROM products WHERE name = 'VIP 30 hari'", vec![])
        .await
        .expect("the product is in the catalogue");
    panel_shows(
        &sys,
        &["Redfinger: 4 available", "VIP 30 hari: 0 available"],
    )
    .await;

    // Codes uploaded to it (the product option is what autocomplete fills in: its id).
    let vip_codes = fresh_codes(6);
    let file = sys.fake.add_attachment(
        "vip.txt",
        format!("{}\n", vip_codes.join("\n")).into_bytes(),
    );
    let id = sys.slash(
        &admin(),
        "admin",
        vec![SlashOption::sub(
            "addstock",
            vec![
                SlashOption::attachment("file", &file),
                SlashOption::integer("product", product_id),
            ],
        )],
    );
    sys.answer(id, "the addstock answer", |m| !m.embeds().is_empty())
        .await;
    panel_shows(
        &sys,
        &["Redfinger: 4 available", "VIP 30 hari: 6 available"],
    )
    .await;

    // A buyer picks the product, then its 1-code package, and confirms.
    let user = buyer();
    sys.top_up(&user, "Rp 100.000").await;
    let menu = sys.open_shop(&user).await;
    let click = sys.click(&user, &menu, "Order codes");
    let products = sys
        .answer(click, "the product step", |m| {
            m.visible_text().contains("Choose a product")
        })
        .await;
    let pick = sys.pick(&user, &products, "VIP 30 hari");
    let packages = sys
        .answer(pick, "the VIP packages", |m| {
            m.visible_text().contains("VIP 30 hari")
        })
        .await;
    let pick = sys.pick(&user, &packages, "1 code");
    let step = sys
        .answer(pick, "the confirm step", |m| {
            m.visible_text().contains("Rp 20.000")
        })
        .await;
    let confirm = sys.confirm(&user, &step);
    sys.order_outcome(confirm).await;
    let dm = sys.codes_dm(&user).await;
    let got = codes_in(&dm);
    assert_eq!(got.len(), 1);
    assert!(vip_codes.contains(&got[0]), "a VIP code, not a default one");
    assert!(
        dm.visible_text().contains("VIP 30 hari"),
        "{}",
        dm.visible_text()
    );
    panel_shows(
        &sys,
        &["Redfinger: 4 available", "VIP 30 hari: 5 available"],
    )
    .await;

    // Charged the VIP price, recorded against the VIP product.
    assert_eq!(sys.db_balance(user.id).await, 80_000);
    assert_eq!(
        sys.count(
            "SELECT COUNT(*) FROM orders WHERE product_id = $1 AND total_price = 20000",
            vec![product_id.into()],
        )
        .await,
        1
    );
    // One panel all along, edited in place.
    let all = panels(&sys);
    assert_eq!(all.len(), 1, "the panel was re-posted");
    assert_eq!(all[0].id, first.id);
    sys.assert_every_interaction_answered_in_time().await;
}
