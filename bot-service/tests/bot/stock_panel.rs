//! The live stock panel in `STOCK_CHANNEL_ID`: posted once, edited in place (PATCH) when the
//! catalogue changes, left alone while it does not, posted again after someone deleted it, and
//! found again after a restart instead of posted twice. Also the buy log: what was bought,
//! never a code nor who bought it, and only for an order's first delivery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_discord::RecordedMessage;
use serde_json::json;
use shared_proto::{
    CatalogEntry, CatalogReply, Command, Event, Idr, PackageSize, ProductId, ProductOffer,
    QueryReply, Reply,
};

use crate::support::{delivery, fake_config, spawn_bot_env, DiscordPath, Options, TestBot};

const WAIT: Duration = Duration::from_secs(15);
const STOCK_CHANNEL: u64 = 1_100_000_000_000_000_360;
const BUYLOG_CHANNEL: u64 = 1_100_000_000_000_000_361;

fn catalog(vip: u64) -> CatalogReply {
    let packages = vec![
        CatalogEntry {
            package: PackageSize::One,
            price: Idr::new(15_000),
            in_stock: vip >= 1,
        },
        CatalogEntry {
            package: PackageSize::Five,
            price: Idr::new(70_000),
            in_stock: vip >= 5,
        },
    ];
    CatalogReply {
        packages: packages.clone(),
        available_codes: vip,
        products: vec![
            ProductOffer {
                product_id: ProductId::DEFAULT,
                name: "VIP 30 days".into(),
                description: String::new(),
                available_codes: vip,
                packages,
            },
            ProductOffer {
                product_id: ProductId(2),
                name: "KVIP 7 days".into(),
                description: String::new(),
                available_codes: 3,
                packages: vec![CatalogEntry {
                    package: PackageSize::One,
                    price: Idr::new(9_000),
                    in_stock: true,
                }],
            },
        ],
    }
}

async fn spawn_shop_bot(extra: &[(&str, &str)]) -> TestBot {
    let mut config = fake_config();
    config
        .extra_channel_ids
        .extend([STOCK_CHANNEL, BUYLOG_CHANNEL]);
    spawn_bot_env(Options { gateway: true }, config, DiscordPath::Proxy, extra).await
}

fn panels(bot: &TestBot) -> Vec<RecordedMessage> {
    bot.fake
        .channel_messages(STOCK_CHANNEL)
        .into_iter()
        .filter(|m| !m.deleted)
        .collect()
}

fn posts(bot: &TestBot) -> usize {
    bot.fake
        .requests_to("POST", &format!("/channels/{STOCK_CHANNEL}/messages"))
        .len()
}

fn edits(bot: &TestBot) -> usize {
    bot.fake
        .requests_to("PATCH", &format!("/channels/{STOCK_CHANNEL}/messages/*"))
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stock_panel_is_posted_once_edited_on_change_recreated_and_found_after_a_restart() {
    let stock = STOCK_CHANNEL.to_string();
    let mut bot = spawn_shop_bot(&[
        ("STOCK_CHANNEL_ID", &stock),
        ("STOCK_PANEL_INTERVAL_SECS", "1"),
    ])
    .await;
    let shown = Arc::new(Mutex::new(catalog(40)));
    let current = shown.clone();
    let _payments = bot.answer_payments(move |command| match command {
        Command::CatalogGet(_) => Some(Reply::Catalog(QueryReply {
            outcome: Ok(current.lock().unwrap().clone()),
        })),
        _ => None,
    });

    // Posted once, in the shop's language (English in these tests), every product in it.
    let panel = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(STOCK_CHANNEL)
                .into_iter()
                .find(|m| m.visible_text().contains("40 available"))
        })
        .await
        .expect("the panel is posted");
    let text = panel.visible_text();
    assert!(
        text.contains("VIP 30 days") && text.contains("KVIP 7 days"),
        "{text}"
    );
    assert!(text.contains("5 codes — Rp 70.000"), "{text}");
    assert_eq!(panel.flags() & 64, 0, "for everyone");
    assert!(panel.custom_ids().contains(&"rf1:m:order".to_string()));

    // Unchanged: nothing is sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (posts(&bot), edits(&bot)),
        (1, 0),
        "no request while unchanged"
    );

    // Changed: edited in place.
    *shown.lock().unwrap() = catalog(39);
    bot.fake
        .wait_for(WAIT, |f| {
            f.message(panel.id)
                .filter(|m| m.visible_text().contains("39 available"))
        })
        .await
        .expect("the panel is edited");
    assert_eq!((posts(&bot), edits(&bot)), (1, 1));
    assert_eq!(panels(&bot).len(), 1);

    // Someone deletes it; the next change posts it again.
    let client = reqwest::Client::new();
    let deleted = client
        .delete(format!(
            "{}/api/v10/channels/{STOCK_CHANNEL}/messages/{}",
            bot.fake.base_url(),
            panel.id
        ))
        .header("authorization", "Bot someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    *shown.lock().unwrap() = catalog(38);
    let second = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(STOCK_CHANNEL)
                .into_iter()
                .find(|m| !m.deleted && m.visible_text().contains("38 available"))
        })
        .await
        .expect("posted again after the deletion");
    assert_ne!(second.id, panel.id);
    assert_eq!(posts(&bot), 2);
    assert_eq!(panels(&bot).len(), 1);

    // A newer message of the bot's in the channel that is not the panel.
    let other = client
        .post(format!(
            "{}/api/v10/channels/{STOCK_CHANNEL}/messages",
            bot.fake.base_url()
        ))
        .header("authorization", "Bot test.bot.token")
        .json(&json!({"content": "Restock at 20:00 WIB!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);

    // A restart: the panel is found among the channel's messages and edited, not posted again.
    bot.restart().await;
    *shown.lock().unwrap() = catalog(37);
    bot.fake
        .wait_for(WAIT, |f| {
            f.message(second.id)
                .filter(|m| m.visible_text().contains("37 available"))
        })
        .await
        .expect("the old panel is edited after the restart");
    assert!(
        !bot.fake
            .requests_to("GET", &format!("/channels/{STOCK_CHANNEL}/messages"))
            .is_empty(),
        "the channel's recent messages were read"
    );
    assert_eq!(
        posts(&bot),
        3,
        "two panels and the other message, nothing new"
    );
    let panels_now: Vec<_> = panels(&bot)
        .into_iter()
        .filter(|m| !m.embeds().is_empty())
        .collect();
    assert_eq!(panels_now.len(), 1);
    bot.fake.assert_no_invalid_requests();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_gateway_no_panel_is_kept() {
    let stock = STOCK_CHANNEL.to_string();
    let mut config = fake_config();
    config.extra_channel_ids.push(STOCK_CHANNEL);
    let bot = spawn_bot_env(
        Options { gateway: false },
        config,
        DiscordPath::Proxy,
        &[
            ("STOCK_CHANNEL_ID", &stock),
            ("STOCK_PANEL_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let payments = bot.answer_payments(|command| match command {
        Command::CatalogGet(_) => Some(Reply::Catalog(QueryReply {
            outcome: Ok(catalog(40)),
        })),
        _ => None,
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(bot.fake.channel_messages(STOCK_CHANNEL).is_empty());
    assert!(
        payments.commands().is_empty(),
        "not even the catalogue read"
    );
    drop(payments);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buy_log_names_what_was_bought_never_a_code_or_the_buyer_and_only_once() {
    let buylog = BUYLOG_CHANNEL.to_string();
    let mut bot = spawn_shop_bot(&[("BUYLOG_CHANNEL_ID", &buylog)]).await;
    let buyer = 2_000_000_000_000_000_301;
    bot.fake
        .add_member(&crate::support::user(buyer, "budi_buyer"));

    let mut first = delivery("RF-20261202-LOG001", buyer, 5);
    first.product_id = ProductId(2);
    first.product_name = Some("KVIP 7 days".into());
    bot.publish_delivery(first.clone()).await;
    assert!(matches!(
        bot.events.next(WAIT).await.payload,
        Event::DeliveryConfirmed(_)
    ));
    let logged = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(BUYLOG_CHANNEL).into_iter().next()
        })
        .await
        .expect("a buy log line");
    let text = logged.visible_text();
    assert_eq!(text.trim(), "A buyer bought 5 × KVIP 7 days");
    // The buyer's own delivery names the product too.
    let dm = bot.fake.dm_messages_to(buyer);
    assert!(
        dm[0].visible_text().contains("KVIP 7 days: 5 codes"),
        "{}",
        dm[0].visible_text()
    );

    // The same delivery again, a re-delivery (attempt 2) and a replacement: no new line.
    bot.publish_delivery(first.clone()).await;
    let mut again = first.clone();
    again.attempt = 2;
    bot.publish_delivery(again).await;
    let mut replacement = delivery("RF-20261202-LOG001", buyer, 1);
    replacement.replacing = vec![3];
    replacement.attempt = 3;
    bot.publish_delivery(replacement).await;
    for _ in 0..3 {
        assert!(matches!(
            bot.events.next(WAIT).await.payload,
            Event::DeliveryConfirmed(_)
        ));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lines = bot.fake.channel_messages(BUYLOG_CHANNEL);
    assert_eq!(
        lines.len(),
        1,
        "{:?}",
        lines.iter().map(|m| m.visible_text()).collect::<Vec<_>>()
    );
    for m in &lines {
        let all = m.json.to_string();
        for code in &first.codes {
            assert!(!all.contains(code.as_str()), "a code in the buy log: {all}");
        }
        assert!(
            !all.contains("budi_buyer") && !all.contains(&buyer.to_string()),
            "{all}"
        );
    }
    bot.stop().await;
}
