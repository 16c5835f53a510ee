//! Notification events → DMs to users and alerts to admins.

use std::time::Duration;

use chrono::Utc;
use shared_proto::{
    AnomalyKind, DiscordUserId, Event, Idr, OrderAnomaly, OrderFailed, StockLow, TopupSettled,
};

use crate::support::{spawn_bot, Options, STOCK_ADMIN};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_topup_is_dmed_to_the_user() {
    let bot = spawn_bot(Options { gateway: false }).await;
    let payer = 2_000_000_000_000_000_201;
    bot.publish_event(Event::TopupSettled(TopupSettled {
        order_id: format!("ORDER-{payer}-1767225600"),
        user_id: DiscordUserId::new(payer).unwrap(),
        amount: Idr::new(50_000),
        balance_after: Idr::new(65_000),
        paid_at: Utc::now(),
        interaction: None,
        locale: None,
    }))
    .await;
    let dm = bot
        .fake
        .wait_for(WAIT, |f| f.dm_messages_to(payer).into_iter().next())
        .await
        .expect("a DM");
    let text = dm.embeds()[0].to_string();
    assert!(
        text.contains("Rp 50.000") && text.contains("Rp 65.000"),
        "{text}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_stock_and_failed_orders_alert_the_admins() {
    let bot = spawn_bot(Options { gateway: false }).await;
    let alerts = bot.fake.config().channel_id;
    bot.publish_event(Event::StockLow(StockLow {
        product_id: shared_proto::ProductId::DEFAULT,
        product_name: None,
        available: 3,
        threshold: 10,
        notify_user_ids: vec![],
    }))
    .await;
    bot.publish_event(Event::OrderFailed(OrderFailed {
        order_number: "ORD-T-0301".into(),
        user_id: DiscordUserId::new(2_000_000_000_000_000_301).unwrap(),
        attempts: 3,
        reason: "DMs closed".into(),
    }))
    .await;
    let posted = bot
        .fake
        .wait_for(WAIT, |f| {
            let m = f.channel_messages(alerts);
            (m.len() >= 2).then_some(m)
        })
        .await
        .expect("two alerts");
    let all: String = posted
        .iter()
        .flat_map(|m| m.embeds())
        .map(|e| e.to_string())
        .collect();
    assert!(
        all.contains("Low stock") && all.contains("ORD-T-0301"),
        "{all}"
    );
    bot.fake
        .wait_for(WAIT, |f| f.dm_messages_to(STOCK_ADMIN).into_iter().next())
        .await
        .expect("the stock admin got a DM");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_after_a_refund_is_alerted_in_the_alert_channel() {
    let bot = spawn_bot(Options { gateway: false }).await;
    let alerts = bot.fake.config().channel_id;
    bot.publish_event(Event::OrderAnomaly(OrderAnomaly {
        order_number: "RF-20261202-ANM234".into(),
        user_id: DiscordUserId::new(2_000_000_000_000_000_302).unwrap(),
        kind: AnomalyKind::DeliveredAfterRefund,
        detail: "delivery confirmed (attempt 2, dm) after the order was refunded".into(),
    }))
    .await;
    let posted = bot
        .fake
        .wait_for(WAIT, |f| f.channel_messages(alerts).into_iter().next())
        .await
        .expect("an alert");
    let text: String = posted.embeds().iter().map(|e| e.to_string()).collect();
    assert!(
        text.contains("Delivered after refund") && text.contains("RF-20261202-ANM234"),
        "{text}"
    );
    assert!(text.contains("attempt 2"), "{text}");
    bot.stop().await;
}
