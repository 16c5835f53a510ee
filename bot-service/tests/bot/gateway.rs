//! The bot on the fake gateway: slash commands answered in time, admin commands refused to
//! non-admins without anything reaching the payment-service.

use std::time::Duration;

use fake_discord::SlashOption;
use shared_proto::{AdminReply, Command, Idr, OrderProcessed, OrderStatus, ProcessAction, Reply};

use crate::support::{spawn_bot, user, Options, ADMIN_ROLE, FOREIGN_ADMIN_ROLE, FOREIGN_GUILD};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_answers_at_once_with_the_main_menu() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let alice = user(2_000_000_000_000_000_101, "alice");
    let id = bot
        .fake
        .send_slash_command(&alice, "shop", vec![])
        .expect("dispatched");
    let original = bot
        .fake
        .wait_for(WAIT, |f| f.original_response_of(id))
        .await
        .expect("a response");
    let latency = bot.fake.interaction_latency(id).expect("answered in time");
    eprintln!("/shop answered in {latency:?}");
    assert!(
        latency < Duration::from_millis(500),
        "answered in {latency:?}"
    );
    assert_eq!(original.flags() & 64, 64, "ephemeral");
    let rows = original.components();
    let buttons = rows[0]["components"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 5);
    for b in buttons {
        let custom_id = b["custom_id"].as_str().unwrap();
        assert!(custom_id.starts_with("rf1:m:") && custom_id.len() <= 100);
    }
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_are_refused_to_members_without_the_role() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mallory = user(2_000_000_000_000_000_102, "mallory");
    let id = bot
        .fake
        .send_slash_command(
            &mallory,
            "admin",
            vec![SlashOption::SubCommand(
                "addstock".into(),
                vec![SlashOption::string("text", "CODE-A CODE-B")],
            )],
        )
        .expect("dispatched");
    let refused = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id)
                .filter(|m| m.embeds().iter().any(|e| e.to_string().contains("Admin")))
        })
        .await
        .expect("a refusal");
    assert_eq!(refused.flags() & 64, 64, "the refusal is ephemeral");
    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(
        bot.broker.queue_ready_count(&queue).await.unwrap(),
        0,
        "nothing was published"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_and_buttons_from_another_guild_or_a_dm_are_refused_and_publish_nothing() {
    let bot = spawn_bot(Options { gateway: true }).await;
    // Admin of their own server (a role named "Admin" there), and even holding our role's id.
    let mut mallory = user(2_000_000_000_000_000_105, "mallory");
    mallory.roles = vec![FOREIGN_ADMIN_ROLE, ADMIN_ROLE];
    let addstock = || {
        vec![SlashOption::SubCommand(
            "addstock".into(),
            vec![SlashOption::string("text", "JUNK-A JUNK-B")],
        )]
    };
    let in_foreign_guild = bot
        .fake
        .send_slash_command_in_guild(FOREIGN_GUILD, &mallory, "admin", addstock())
        .expect("dispatched");
    let refused = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(in_foreign_guild).filter(|m| {
                m.embeds()
                    .iter()
                    .any(|e| e.to_string().contains("shop's own server"))
            })
        })
        .await
        .expect("a refusal in the foreign guild");
    assert_eq!(refused.flags() & 64, 64, "the refusal is ephemeral");

    // The paging button of the admin order list, clicked in the foreign guild.
    let owner = shared_proto::DiscordUserId::new(mallory.id).unwrap();
    let custom_id = bot_service::domain::custom_id::ComponentAction::OrdersPage {
        owner,
        page: 1,
        status: None,
        user: None,
        product: None,
    }
    .encode()
    .unwrap();
    // A complete message object (the refusal above) carrying the admin's paging button.
    let mut message = refused.json.clone();
    message["flags"] = serde_json::json!(0);
    message["components"] = serde_json::json!([{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "Next", "custom_id": custom_id}
    ]}]);
    let click = bot
        .fake
        .click_button_in_guild(&mallory, FOREIGN_GUILD, message, &custom_id)
        .expect("dispatched");
    let click_id = click.to_string();
    bot.fake
        .wait_for(WAIT, |f| {
            f.messages().into_iter().find(|m| {
                m.json["interaction_metadata"]["id"].as_str() == Some(click_id.as_str())
                    && m.embeds()
                        .iter()
                        .any(|e| e.to_string().contains("shop's own server"))
            })
        })
        .await
        .expect("a refusal of the click");

    // In a DM: no guild, no member.
    let in_dm = bot
        .fake
        .send_dm_slash_command(&mallory, "admin", addstock())
        .expect("dispatched");
    bot.fake
        .wait_for(WAIT, |f| {
            f.original_response_of(in_dm)
                .filter(|m| !m.visible_text().trim().is_empty())
        })
        .await
        .expect("an answer in the DM");

    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(
        bot.broker.queue_ready_count(&queue).await.unwrap(),
        0,
        "nothing was published"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_in_the_shop_guild_only_and_admin_is_hidden_from_members() {
    let bot = spawn_bot(Options { gateway: true }).await;
    assert!(
        bot.fake.global_commands().is_empty(),
        "no global commands: {:?}",
        bot.fake.global_commands()
    );
    assert!(bot.fake.guild_commands(FOREIGN_GUILD).is_empty());
    let commands = bot.fake.guild_commands(bot.fake.config().guild_id);
    let admin = commands
        .iter()
        .find(|c| c["name"] == "admin")
        .expect("/admin registered in the shop guild");
    // MANAGE_GUILD (1 << 5): members without it do not see /admin.
    assert_eq!(admin["default_member_permissions"], "32", "{admin}");
    let shop = commands
        .iter()
        .find(|c| c["name"] == "shop")
        .expect("/shop registered in the shop guild");
    assert!(shop["default_member_permissions"].is_null(), "{shop}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_posts_the_panel_and_anyone_can_use_it() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mut admin = user(2_000_000_000_000_000_103, "boss");
    admin.roles = vec![ADMIN_ROLE];
    let bob = user(2_000_000_000_000_000_104, "bob");
    let channel = bot.fake.config().channel_id;
    let id = bot
        .fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::SubCommand("postpanel".into(), vec![])],
        )
        .expect("dispatched");
    let panel = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(channel)
                .into_iter()
                .find(|m| m.flags() & 64 == 0 && !m.components().is_empty())
        })
        .await
        .expect("the panel is posted in the channel");
    let confirmation = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id)
                .filter(|m| !m.embeds().is_empty())
        })
        .await
        .expect("the admin is told");
    assert!(confirmation.embeds()[0]
        .to_string()
        .contains("Panel posted"));

    // Bob uses the public panel. No payment-service runs here: he gets a clear, private answer.
    let balance_id = panel.components()[0]["components"][2]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(balance_id, "rf1:m:balance");
    let click = bot
        .fake
        .click_button(&bob, panel.id, &balance_id)
        .expect("clicked");
    let answer = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(click)
                .filter(|m| !m.embeds().is_empty())
        })
        .await
        .expect("an answer");
    let latency = bot
        .fake
        .interaction_latency(click)
        .expect("deferred in time");
    eprintln!("panel click deferred in {latency:?}");
    assert!(latency < Duration::from_millis(500));
    assert_eq!(answer.flags() & 64, 64, "only bob sees it");
    let text = answer.embeds()[0].to_string();
    assert!(text.contains("try again"), "{text}");
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processorder_sends_force_and_reason_and_the_reply_shows_them() {
    let bot = spawn_bot(Options { gateway: true }).await;
    // The payment-service answers `admin.order.process` as a forced refund echoing the reason.
    let payments = bot.answer_payments(|command| {
        let Command::AdminOrderProcess(cmd) = command else {
            return None;
        };
        Some(Reply::OrderProcessed(AdminReply {
            request_id: cmd.request_id.clone(),
            outcome: Ok(OrderProcessed {
                order_number: cmd.order_number.clone(),
                action: ProcessAction::Refund,
                status: OrderStatus::Refunded,
                refunded: Some(Idr::new(70_000)),
                forced: cmd.force,
                reason: cmd.reason.clone(),
                voided_deliveries: 1,
            }),
        }))
    });
    let mut admin = user(2_000_000_000_000_000_105, "boss");
    admin.roles = vec![ADMIN_ROLE];
    let id = bot
        .fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::SubCommand(
                "processorder".into(),
                vec![
                    SlashOption::string("order_number", " RF-20261202-ABC234 "),
                    // The second choice: refund.
                    SlashOption::integer("action", 1),
                    SlashOption::Boolean("force".into(), true),
                    SlashOption::string("reason", "buyer reports the codes were used"),
                ],
            )],
        )
        .expect("dispatched");
    let shown = bot
        .fake
        .wait_for(WAIT, |f| {
            f.original_response_of(id).filter(|m| {
                m.embeds()
                    .iter()
                    .any(|e| e.to_string().contains("Refunded"))
            })
        })
        .await
        .expect("the admin sees the outcome");
    let text: String = shown.embeds().iter().map(|e| e.to_string()).collect();
    assert!(text.contains("forced"), "{text}");
    assert!(text.contains("buyer reports the codes were used"), "{text}");
    assert!(text.contains("RF-20261202-ABC234"), "{text}");
    let sent: Vec<_> = payments
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            Command::AdminOrderProcess(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].force);
    assert_eq!(
        sent[0].reason.as_deref(),
        Some("buyer reports the codes were used")
    );
    assert_eq!(sent[0].order_number, "RF-20261202-ABC234");
    drop(payments);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_resumes_after_a_dropped_connection_and_answers_what_it_missed() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let first = bot.fake.sessions()[0].clone();
    assert!(
        first.payload_compression,
        "serenity asks for payload compression, so every event it gets comes zlib-compressed"
    );

    // The TCP connection drops mid-session; a user uses /shop before the bot is back.
    assert_eq!(bot.fake.disconnect_sessions(None), 1);
    let alice = user(2_000_000_000_000_000_105, "alice");
    let missed = bot
        .fake
        .send_slash_command(&alice, "shop", vec![])
        .expect("kept for the session's RESUME");
    bot.fake
        .wait_for(WAIT, |f| f.original_response_of(missed))
        .await
        .expect("answered after the resume");
    let sessions = bot.fake.sessions();
    assert_eq!(sessions.len(), 1, "resumed, not identified anew");
    assert!(sessions[0].connected);
    assert_eq!(sessions[0].resumed, 1);
    assert!(sessions[0].replayed >= 1, "the missed /shop was replayed");
    assert!(
        bot.fake.failed_interactions().is_empty(),
        "the replayed interaction was still answered within Discord's 3 s"
    );

    // Still answering afterwards, and answering the gateway's heartbeat request.
    let after = bot
        .fake
        .send_slash_command(&alice, "balance", vec![])
        .expect("dispatched");
    bot.fake
        .wait_for(WAIT, |f| f.original_response_of(after))
        .await
        .expect("answered");
    let beats = bot.fake.sessions()[0].heartbeats;
    assert_eq!(bot.fake.request_heartbeat(), 1);
    bot.fake
        .wait_for(Duration::from_secs(5), |f| {
            (f.sessions()[0].heartbeats > beats).then_some(())
        })
        .await
        .expect("serenity answers op 1 with a heartbeat");
    assert!(bot.fake.connected_sessions().len() == 1);
    // serenity 0.12.5 resumes on the URL from GET /gateway/bot, not READY's resume_gateway_url
    // (Discord still accepts that; `GatewayOptions::require_resume_url` would refuse it).
    assert_eq!(bot.fake.sessions()[0].resumed_via_resume_url, 0);
    bot.stop().await;
}
