//! "My purchases": from `/history` a buyer picks a completed order and sees its codes again,
//! only to them, then has them sent by DM. Every reveal asks `order.codes`; its refusals are
//! worded for the buyer; the codes appear in the ephemeral answer and the DM only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use fake_discord::RecordedMessage;
use shared_proto::{
    Command, DiscordUserId, HistoryReply, Idr, OrderCodes, OrderCodesReply, OrderStatus,
    OrderSummary, PackageSize, ProductId, QueryReply, Reply, RevealedCode, ServiceError,
};

use crate::support::{spawn_bot, user, Options, TestBot};

const WAIT: Duration = Duration::from_secs(15);
const ORDER: &str = "RF-20261202-MINE01";

fn summary(buyer: u64, number: &str, status: OrderStatus) -> OrderSummary {
    OrderSummary {
        order_number: number.into(),
        user_id: DiscordUserId::new(buyer).unwrap(),
        product_id: ProductId(2),
        product_name: Some("KVIP 7 days".into()),
        package: PackageSize::Five,
        total_price: Idr::new(42_000),
        status,
        created_at: Utc::now(),
        completed_at: None,
        refunded: Idr::ZERO,
    }
}

fn codes() -> Vec<String> {
    (1..=5).map(|i| format!("KVIP-SECRET-{i:04}")).collect()
}

async fn answer(bot: &TestBot, id: u64, needle: &str) -> RecordedMessage {
    bot.fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id)
                .filter(|m| m.visible_text().contains(needle))
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no answer with {needle:?}; got {:?}",
                bot.fake.original_response_of(id).map(|m| m.visible_text())
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_sees_a_completed_orders_codes_again_privately_and_by_dm() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let buyer = user(2_000_000_000_000_000_401, "dewi");
    let buyer_id = buyer.id;
    let asks = AtomicUsize::new(0);
    let payments = bot.answer_payments(move |command| match command {
        Command::HistoryGet(q) => Some(Reply::History(QueryReply {
            outcome: Ok(HistoryReply {
                user_id: q.user_id,
                orders: vec![
                    summary(buyer_id, ORDER, OrderStatus::Completed),
                    summary(buyer_id, "RF-20261202-WAIT01", OrderStatus::Delivering),
                ],
                topups: vec![],
            }),
        })),
        Command::OrderCodes(q) => Some(Reply::OrderCodes(OrderCodesReply {
            request_id: q.request_id.clone(),
            outcome: match asks.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Ok(OrderCodes {
                    order_number: q.order_number.clone(),
                    product_id: ProductId(2),
                    product_name: "KVIP 7 days".into(),
                    package: PackageSize::Five,
                    completed_at: Some(Utc::now()),
                    codes: codes()
                        .into_iter()
                        .enumerate()
                        .map(|(i, code)| RevealedCode {
                            position: i as u32 + 1,
                            code,
                        })
                        .collect(),
                    to_dm: q.to_dm,
                }),
                _ => Err(ServiceError::Cooldown {
                    retry_after_secs: 1_500,
                }),
            },
        })),
        _ => None,
    });

    let history = bot
        .fake
        .send_slash_command(&buyer, "history", vec![])
        .expect("dispatched");
    let listed = answer(&bot, history, "KVIP 7 days").await;
    let select = &listed.components()[0]["components"][0];
    let custom_id = select["custom_id"].as_str().unwrap().to_string();
    assert_eq!(custom_id, format!("rf1:mine:{}", buyer.id));
    let options = select["options"].as_array().unwrap();
    assert_eq!(options.len(), 1, "only the completed order: {select}");
    assert_eq!(options[0]["value"], ORDER);

    // Picked: the codes, only to the buyer, with "Send to my DMs".
    let pick = bot
        .fake
        .select_menu(&buyer, listed.id, &custom_id, &[ORDER])
        .expect("picked");
    let shown = answer(&bot, pick, "KVIP-SECRET-0001").await;
    assert_eq!(shown.flags() & 64, 64, "ephemeral");
    let text = shown.visible_text();
    for code in codes() {
        assert!(text.contains(&code), "{text}");
    }
    let to_dm = format!("rf1:mined:{}:{ORDER}", buyer.id);
    assert!(
        shown.custom_ids().contains(&to_dm),
        "{:?}",
        shown.custom_ids()
    );

    // By DM: asked again with to_dm, then a DM with the codes.
    let click = bot
        .fake
        .click_button(&buyer, shown.id, &to_dm)
        .expect("clicked");
    answer(&bot, click, "in your DMs").await;
    let dms = bot.fake.dm_messages_to(buyer.id);
    assert_eq!(dms.len(), 1);
    assert!(dms[0].visible_text().contains("KVIP-SECRET-0005"));
    assert!(dms[0].custom_ids().is_empty(), "no button in the DM");

    // DMs closed: said so, nothing sent.
    bot.fake.close_dms_for(buyer.id);
    let click = bot.fake.click_button(&buyer, shown.id, &to_dm).unwrap();
    answer(&bot, click, "DMs are closed").await;
    assert_eq!(bot.fake.dm_messages_to(buyer.id).len(), 1);

    // Too many reveals: the service's cooldown, worded for reveals.
    let pick = bot
        .fake
        .select_menu(&buyer, listed.id, &custom_id, &[ORDER])
        .unwrap();
    answer(&bot, pick, "too often").await;

    let sent: Vec<_> = payments
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            Command::OrderCodes(q) => Some(q),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent.iter().map(|q| q.to_dm).collect::<Vec<_>>(),
        vec![false, true, true, false]
    );
    assert!(sent
        .iter()
        .all(|q| q.order_number == ORDER && q.user.user_id.get() == buyer.id));

    // The codes are nowhere but in the ephemeral answer and the DM.
    let dm_channel = bot.fake.dm_channel_of(buyer.id);
    for m in bot.fake.messages() {
        if m.json.to_string().contains("KVIP-SECRET") {
            assert!(
                m.flags() & 64 == 64 || Some(m.channel_id) == dm_channel,
                "codes in a visible message: {}",
                m.json
            );
        }
    }
    drop(payments);
    bot.stop().await;
}
