//! The bot speaks the buyer's language: Indonesian to a client in `id`, English otherwise, and
//! for messages not tied to an interaction the language remembered with the event, else
//! `DEFAULT_LOCALE`. Slash commands carry their Indonesian names and descriptions.

use std::time::Duration;

use chrono::Utc;
use shared_proto::{DiscordUserId, Event, Idr, TopupSettled};

use crate::support::{delivery, fake_config, spawn_bot, spawn_bot_env, user, DiscordPath, Options};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_follows_the_clients_language() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let siti = user(2_000_000_000_000_000_601, "siti").with_locale("id");
    let john = user(2_000_000_000_000_000_602, "john");
    let for_siti = bot
        .fake
        .send_slash_command(&siti, "shop", vec![])
        .expect("dispatched");
    let for_john = bot
        .fake
        .send_slash_command(&john, "shop", vec![])
        .expect("dispatched");
    let menu = |id| bot.fake.wait_for(WAIT, move |f| f.original_response_of(id));
    // What a member reads: the embed and the button labels.
    let shown = |m: fake_discord::RecordedMessage| {
        let labels: Vec<String> = m
            .components()
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["label"].as_str().map(str::to_string))
            .collect();
        format!("{}\n{}", m.visible_text(), labels.join(" | "))
    };
    let siti_menu = shown(menu(for_siti).await.expect("a menu for Siti"));
    let john_menu = shown(menu(for_john).await.expect("a menu for John"));
    for word in ["Beli Kode", "Isi Saldo", "Saldo", "Riwayat", "Bantuan"] {
        assert!(siti_menu.contains(word), "{word} missing: {siti_menu}");
    }
    assert!(!siti_menu.contains("Order codes"), "{siti_menu}");
    for word in ["Order codes", "Top up", "Balance", "History", "Help"] {
        assert!(john_menu.contains(word), "{word} missing: {john_menu}");
    }
    assert!(!john_menu.contains("Isi Saldo"), "{john_menu}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_are_registered_with_indonesian_names_and_descriptions() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let commands = bot.fake.guild_commands(bot.fake.config().guild_id);
    let command = |name: &str| {
        commands
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("/{name} not registered: {commands:?}"))
            .clone()
    };
    let topup = command("topup");
    assert_eq!(topup["name_localizations"]["id"], "isisaldo", "{topup}");
    assert_eq!(
        topup["description_localizations"]["id"],
        "Isi saldo kamu lewat QRIS."
    );
    assert_eq!(topup["description"], "Top up your balance with QRIS.");
    let amount = &topup["options"][0];
    assert_eq!(amount["name"], "amount");
    assert_eq!(amount["name_localizations"]["id"], "nominal", "{amount}");
    assert_eq!(command("shop")["name_localizations"]["id"], "toko");
    // Options and choices of admin subcommands too.
    let admin = command("admin");
    let process = admin["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "processorder")
        .expect("processorder")
        .clone();
    assert_eq!(process["name_localizations"]["id"], "prosespesanan");
    let action = process["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "action")
        .expect("action")
        .clone();
    assert_eq!(action["name_localizations"]["id"], "aksi");
    let choices: Vec<_> = action["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["name_localizations"]["id"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(choices, vec!["kirim ulang", "refund"], "{action}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_use_the_remembered_language_else_the_default_locale() {
    let bot = spawn_bot_env(
        Options { gateway: false },
        fake_config(),
        DiscordPath::Proxy,
        &[("DEFAULT_LOCALE", "id")],
    )
    .await;
    // Remembered English: English, whatever the default.
    let english = 2_000_000_000_000_000_611;
    let mut d = delivery("ORD-L-0611", english, 2);
    d.locale = Some("en-US".into());
    bot.publish_delivery(d).await;
    // Nothing remembered: the shop's default, Indonesian.
    let unknown = 2_000_000_000_000_000_612;
    bot.publish_delivery(delivery("ORD-L-0612", unknown, 2))
        .await;
    // A top-up DM to a buyer remembered as Indonesian.
    let payer = 2_000_000_000_000_000_613;
    bot.publish_event(Event::TopupSettled(TopupSettled {
        order_id: format!("ORDER-{payer}-1767225600"),
        user_id: DiscordUserId::new(payer).unwrap(),
        amount: Idr::new(50_000),
        balance_after: Idr::new(65_000),
        paid_at: Utc::now(),
        interaction: None,
        locale: Some("id".into()),
    }))
    .await;
    let dm_to = |user: u64| {
        bot.fake.wait_for(WAIT, move |f| {
            f.dm_messages_to(user)
                .into_iter()
                .next()
                .map(|m| m.visible_text())
        })
    };
    let english_dm = dm_to(english).await.expect("a DM");
    assert!(english_dm.contains("Your Redfinger codes"), "{english_dm}");
    assert!(english_dm.contains("50 codes for"), "{english_dm}");
    let default_dm = dm_to(unknown).await.expect("a DM");
    assert!(default_dm.contains("Kode Redfinger kamu"), "{default_dm}");
    assert!(default_dm.contains("50 kode seharga"), "{default_dm}");
    assert!(!default_dm.contains("Your"), "{default_dm}");
    let topup_dm = dm_to(payer).await.expect("a DM");
    assert!(topup_dm.contains("Saldo masuk"), "{topup_dm}");
    assert!(
        topup_dm.contains("Rp 50.000 sudah masuk ke saldo kamu"),
        "{topup_dm}"
    );
    bot.stop().await;
}
