//! After the sale: a buyer reports bad codes from the delivery's "Report a problem" button, a
//! private support thread opens for admins (without the codes), admins act on it from there
//! (role-checked, claim-signed), and the buyer hears the outcome by DM in their language. The
//! payment-service is stood in for by canned replies on its commands queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bot_service::domain::admin::sign_claim;
use chrono::Utc;
use fake_discord::{RecordedMessage, SlashOption};
use secrecy::SecretString;
use shared_proto::{
    AdminReply, BatchDefective, CodeOutcome, Command, DiscordUserId, Event, Idr, PackageSize,
    Reply, ReportAction, ReportActionDone, ReportCreateReply, ReportReason, ReportStatus,
    ReportUpdated, ReportView, ReportedCode, RevealedCode, ServiceError,
};

use crate::support::{
    delivery, fake_config, spawn_bot, spawn_bot_env, user, DiscordPath, Options, PaymentStandIn,
    TestBot, ADMIN_ROLE, CLAIM_SECRET,
};

const WAIT: Duration = Duration::from_secs(15);
const SUPPORT_CHANNEL: u64 = 1_100_000_000_000_000_350;
const ORDER: &str = "RF-20261202-ABC234";
const REPORT_ID: i64 = 12;

/// The bot with `SUPPORT_CHANNEL_ID` set to a channel of its own (not `PUBLIC_CHANNEL_ID`).
async fn spawn_support_bot() -> TestBot {
    let mut config = fake_config();
    config.extra_channel_ids.push(SUPPORT_CHANNEL);
    spawn_bot_env(
        Options { gateway: true },
        config,
        DiscordPath::Proxy,
        &[("SUPPORT_CHANNEL_ID", &SUPPORT_CHANNEL.to_string())],
    )
    .await
}

fn report_view(buyer: u64, codes: Vec<ReportedCode>, refunded: i64) -> ReportView {
    ReportView {
        report_id: REPORT_ID,
        order_number: ORDER.into(),
        user_id: DiscordUserId::new(buyer).unwrap(),
        package: PackageSize::Five,
        total_price: Idr::new(70_000),
        ordered_at: Utc::now(),
        reason: ReportReason::AlreadyUsed,
        note: None,
        status: ReportStatus::Open,
        codes,
        refunded: Idr::new(refunded),
        rejection: None,
        created_at: Utc::now(),
    }
}

fn open_codes(positions: &[u32]) -> Vec<ReportedCode> {
    positions
        .iter()
        .map(|&position| ReportedCode {
            position,
            outcome: None,
        })
        .collect()
}

/// The payment-service of these tests: a report of `buyer`'s order holding `codes` (positions 2
/// and 4 reported; a second report refused as the order has one open, a third as too many),
/// revealed, refunded (Rp 14.000 a code) and a batch declared defective.
fn payment_service(bot: &TestBot, buyer: u64, codes: Vec<String>) -> PaymentStandIn {
    let reports = AtomicUsize::new(0);
    bot.answer_payments(move |command| match command {
        Command::ReportCreate(c) => Some(Reply::ReportCreated(ReportCreateReply {
            request_id: c.request_id.clone(),
            outcome: match reports.fetch_add(1, Ordering::SeqCst) {
                0 => Ok(report_view(buyer, open_codes(&c.positions), 0)),
                1 => Err(ServiceError::InvalidInput {
                    message: format!(
                        "Order {ORDER} already has an open report; an admin is on it."
                    ),
                    refusal: None,
                }),
                _ => Err(ServiceError::Cooldown {
                    retry_after_secs: 1_140,
                }),
            },
        })),
        Command::AdminReportAction(a) => {
            let mut done = ReportActionDone {
                action: a.action,
                report: report_view(buyer, open_codes(&[2, 4]), 0),
                revealed: Vec::new(),
                positions: a.positions.clone(),
                refunded: Idr::ZERO,
            };
            match a.action {
                ReportAction::Reveal => {
                    done.revealed = [2, 4]
                        .map(|position| RevealedCode {
                            position,
                            code: codes[position as usize - 1].clone(),
                        })
                        .to_vec();
                }
                ReportAction::Refund => {
                    done.refunded = Idr::new(14_000);
                    done.report.refunded = Idr::new(14_000);
                    done.report.codes[1].outcome = Some(CodeOutcome::Refunded);
                }
                ReportAction::Replace | ReportAction::Reject => {}
            }
            Some(Reply::ReportActionDone(AdminReply {
                request_id: a.request_id.clone(),
                outcome: Ok(done),
            }))
        }
        Command::AdminBatchDefective(b) => Some(Reply::BatchDefective(AdminReply {
            request_id: b.request_id.clone(),
            outcome: Ok(BatchDefective {
                batch_id: b.batch_id.clone(),
                withdrawn: 7,
                defective: 19,
                available_after: 41,
            }),
        })),
        _ => None,
    })
}

fn text_of(m: &RecordedMessage) -> String {
    let mut all = m.visible_text();
    for f in &m.files {
        all.push_str(&f.text());
    }
    all
}

fn has_button(m: &RecordedMessage, custom_id: &str) -> bool {
    m.custom_ids().iter().any(|id| id == custom_id)
}

/// The modal the bot opened in answer to interaction `id`.
async fn modal_of(bot: &TestBot, id: u64) -> serde_json::Value {
    bot.fake
        .wait_for(WAIT, |f| {
            f.interaction_responses(id)
                .into_iter()
                .find(|c| c["type"] == 9)
        })
        .await
        .expect("a modal")
}

/// The first answer with an embed to interaction `id` whose text contains `needle`.
async fn answer_of(bot: &TestBot, id: u64, needle: &str) -> RecordedMessage {
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

fn report_commands(payments: &PaymentStandIn) -> Vec<shared_proto::ReportCreate> {
    payments
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            Command::ReportCreate(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn admin_actions(payments: &PaymentStandIn) -> Vec<shared_proto::AdminReportAction> {
    payments
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            Command::AdminReportAction(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// Non-ephemeral messages of the report thread (what everyone in it reads).
fn thread_posts(bot: &TestBot, thread: u64) -> Vec<RecordedMessage> {
    bot.fake
        .channel_messages(thread)
        .into_iter()
        .filter(|m| m.flags() & 64 == 0)
        .collect()
}

struct Reported {
    codes: Vec<String>,
    thread: u64,
    /// The report's post in the thread, with the admin buttons.
    post: RecordedMessage,
}

/// Delivers 5 codes to `buyer`, who reports codes 2 and 4 as already used.
async fn deliver_and_report(
    bot: &mut TestBot,
    payments: &PaymentStandIn,
    buyer: &fake_discord::FakeUser,
) -> Reported {
    let d = delivery(ORDER, buyer.id, 5);
    bot.publish_delivery(d.clone()).await;
    let confirmed = bot.events.next(WAIT).await;
    assert!(
        matches!(confirmed.payload, Event::DeliveryConfirmed(_)),
        "{}",
        confirmed.message_type
    );

    // (a) The DM with the codes carries the buyer's Report button.
    let dm = bot.fake.dm_messages_to(buyer.id).remove(0);
    let report_id = format!("rf1:rp:{}:{ORDER}", buyer.id);
    assert!(has_button(&dm, &report_id), "{:?}", dm.custom_ids());
    assert!(
        dm.components()[0]["components"][0]["label"] == "Report a problem",
        "{:?}",
        dm.components()
    );

    let click = bot
        .fake
        .click_button(buyer, &dm, &report_id)
        .expect("clicked");
    let reasons = answer_of(bot, click, ORDER).await;
    assert_eq!(reasons.flags() & 64, 64, "only the buyer sees the reasons");
    let used = format!("rf1:rpr:{}:{ORDER}:used", buyer.id);
    assert!(has_button(&reasons, &used), "{:?}", reasons.custom_ids());
    let click = bot
        .fake
        .click_button(buyer, &reasons, &used)
        .expect("clicked");
    let modal = modal_of(bot, click).await;
    let modal_id = format!("rf1:rpm:{}:{ORDER}:used", buyer.id);
    assert_eq!(modal["data"]["custom_id"], modal_id.as_str());

    // Typed wrong: told why, nothing sent.
    let wrong = bot
        .fake
        .submit_modal(buyer, &modal_id, &[("positions", "2-4")])
        .expect("submitted");
    let refusal = answer_of(bot, wrong, "is not a code number").await;
    assert_eq!(refusal.flags() & 64, 64);
    assert!(report_commands(payments).is_empty(), "nothing was sent");

    let submit = bot
        .fake
        .submit_modal(buyer, &modal_id, &[("positions", "2,4")])
        .expect("submitted");
    let answer = answer_of(bot, submit, "Report sent").await;
    assert_eq!(answer.flags() & 64, 64, "only the buyer sees the answer");

    // (b) report.create: the positions and the reason, keyed by the submit's interaction id.
    let sent = report_commands(payments);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].positions, vec![2, 4]);
    assert_eq!(sent[0].reason, ReportReason::AlreadyUsed);
    assert_eq!(sent[0].order_number, ORDER);
    assert_eq!(sent[0].request_id, submit.to_string());
    assert_eq!(sent[0].user.user_id.get(), buyer.id);
    assert_eq!(sent[0].note, None);

    // A private thread in the support channel, the buyer in it, the admins mentioned.
    let threads = bot.fake.threads();
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(threads[0]["type"], 12, "a private thread");
    assert_eq!(
        threads[0]["parent_id"],
        SUPPORT_CHANNEL.to_string().as_str()
    );
    let thread: u64 = threads[0]["id"].as_str().unwrap().parse().unwrap();
    assert!(bot.fake.thread_members(thread).contains(&buyer.id));
    assert!(
        answer.visible_text().contains(&format!("<#{thread}>")),
        "{}",
        answer.visible_text()
    );
    let posts = thread_posts(bot, thread);
    assert_eq!(posts.len(), 1, "the report, once");
    let post = posts[0].clone();
    let shown = text_of(&post);
    assert!(
        post.content().contains(&format!("<@&{ADMIN_ROLE}>")),
        "{shown}"
    );
    assert!(
        post.content().contains(&format!("<@{}>", buyer.id)),
        "{shown}"
    );
    for expected in [ORDER, "#2", "#4", "Already used"] {
        assert!(shown.contains(expected), "{expected} missing: {shown}");
    }
    // No code anywhere but the buyer's DM.
    let dm_channel = bot.fake.dm_channel_of(buyer.id).unwrap();
    for m in bot.fake.messages() {
        if m.channel_id != dm_channel {
            let text = text_of(&m);
            assert!(
                !d.codes.iter().any(|c| text.contains(c)),
                "a code is shown in channel {}: {text}",
                m.channel_id
            );
        }
    }
    Reported {
        codes: d.codes,
        thread,
        post,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_reports_codes_and_a_private_thread_opens_without_them() {
    let mut bot = spawn_support_bot().await;
    let buyer = user(2_000_000_000_000_000_701, "buyer701");
    let payments = payment_service(&bot, buyer.id, delivery(ORDER, buyer.id, 5).codes);
    let reported = deliver_and_report(&mut bot, &payments, &buyer).await;
    let post = &reported.post;
    for action in ["reveal", "replace", "refund", "reject"] {
        assert!(
            has_button(post, &format!("rf1:ra:{REPORT_ID}:{action}")),
            "{:?}",
            post.custom_ids()
        );
    }
    // The payment-service's refusals are the buyer's answer: an open report, then too many.
    let modal_id = format!("rf1:rpm:{}:{ORDER}:used", buyer.id);
    let again = bot
        .fake
        .submit_modal(&buyer, &modal_id, &[("positions", "all")])
        .expect("submitted");
    answer_of(&bot, again, "already has an open report").await;
    let third = bot
        .fake
        .submit_modal(&buyer, &modal_id, &[("positions", "1")])
        .expect("submitted");
    answer_of(&bot, third, "wait 19 minutes").await;
    let sent: Vec<Vec<u32>> = report_commands(&payments)
        .into_iter()
        .map(|c| c.positions)
        .collect();
    assert_eq!(
        sent,
        vec![vec![2, 4], vec![], vec![1]],
        "`all` is sent as none"
    );
    assert_eq!(
        bot.fake.threads().len(),
        1,
        "no thread for a refused report"
    );
    // Nothing went to the public channel.
    assert!(bot
        .fake
        .channel_messages(crate::support::PUBLIC_CHANNEL)
        .is_empty());
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_act_on_a_report_and_only_the_asking_admin_sees_the_codes() {
    let mut bot = spawn_support_bot().await;
    let buyer = user(2_000_000_000_000_000_702, "buyer702");
    let payments = payment_service(&bot, buyer.id, delivery(ORDER, buyer.id, 5).codes);
    let Reported {
        codes,
        thread,
        post,
    } = deliver_and_report(&mut bot, &payments, &buyer).await;

    // (c) A member without the admin role clicks Replace: refused, no modal, nothing sent.
    let mallory = user(2_000_000_000_000_000_703, "mallory");
    let replace = format!("rf1:ra:{REPORT_ID}:replace");
    let click = bot
        .fake
        .click_button(&mallory, &post, &replace)
        .expect("clicked");
    let refused = answer_of(&bot, click, "\"Admin\" role").await;
    assert_eq!(refused.flags() & 64, 64, "the refusal is ephemeral");
    assert!(bot
        .fake
        .interaction_responses(click)
        .iter()
        .all(|c| c["type"] != 9));
    // So is the buyer, whose thread it is.
    let click = bot
        .fake
        .click_button(&buyer, &post, &format!("rf1:ra:{REPORT_ID}:reveal"))
        .expect("clicked");
    answer_of(&bot, click, "\"Admin\" role").await;
    assert!(admin_actions(&payments).is_empty(), "nothing was sent");

    // An admin reveals the codes: to that admin alone, signed with a valid claim.
    let admin = user(2_000_000_000_000_000_704, "boss").with_roles([ADMIN_ROLE]);
    let click = bot
        .fake
        .click_button(&admin, &post, &format!("rf1:ra:{REPORT_ID}:reveal"))
        .expect("clicked");
    let revealed = answer_of(&bot, click, &codes[1]).await;
    assert_eq!(revealed.flags() & 64, 64, "only the admin sees the codes");
    let text = revealed.visible_text();
    assert!(text.contains(&codes[3]), "{text}");
    assert!(!text.contains(&codes[0]), "only the reported codes: {text}");
    let actions = admin_actions(&payments);
    assert_eq!(actions.len(), 1);
    let reveal = &actions[0];
    assert_eq!(
        (reveal.report_id, reveal.action),
        (REPORT_ID, ReportAction::Reveal)
    );
    assert_eq!(reveal.claim.admin_user_id.get(), admin.id);
    assert_eq!(reveal.claim.operation, "admin.report.action");
    let resigned = sign_claim(&SecretString::from(CLAIM_SECRET), reveal.clone());
    assert_eq!(
        resigned.claim.signature, reveal.claim.signature,
        "the claim is signed with the shared secret over this very command"
    );
    for m in thread_posts(&bot, thread) {
        let text = text_of(&m);
        assert!(!codes.iter().any(|c| text.contains(c)), "{text}");
    }

    // The admin refunds code 4: the outcome is posted in the thread and the report updated.
    let refund = format!("rf1:ra:{REPORT_ID}:refund");
    let click = bot
        .fake
        .click_button(&admin, &post, &refund)
        .expect("clicked");
    let modal = modal_of(&bot, click).await;
    let modal_id = format!("rf1:ram:{REPORT_ID}:refund");
    assert_eq!(modal["data"]["custom_id"], modal_id.as_str());
    let submit = bot
        .fake
        .submit_modal(&admin, &modal_id, &[("positions", "4")])
        .expect("submitted");
    answer_of(&bot, submit, "posted in the report's thread").await;
    let refunds: Vec<_> = admin_actions(&payments)
        .into_iter()
        .filter(|a| a.action == ReportAction::Refund)
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].positions, vec![4]);
    assert_eq!(refunds[0].request_id, submit.to_string());
    let outcome = bot
        .fake
        .wait_for(WAIT, |f| {
            f.channel_messages(thread)
                .into_iter()
                .find(|m| m.flags() & 64 == 0 && m.visible_text().contains("Codes refunded"))
        })
        .await
        .expect("the outcome in the thread");
    let text = outcome.visible_text();
    assert!(text.contains("#4") && text.contains("Rp 14.000"), "{text}");
    let updated = bot.fake.message(post.id).expect("the report's post");
    assert!(
        updated.visible_text().contains("#4: refunded"),
        "{}",
        updated.visible_text()
    );
    for m in thread_posts(&bot, thread) {
        let text = text_of(&m);
        assert!(!codes.iter().any(|c| text.contains(c)), "{text}");
    }

    // A batch declared defective.
    let id = bot
        .fake
        .send_slash_command(
            &admin,
            "admin",
            vec![SlashOption::sub(
                "defectbatch",
                vec![
                    SlashOption::string("batch", " batch-7 "),
                    SlashOption::string("note", "supplier recalled it"),
                ],
            )],
        )
        .expect("dispatched");
    let shown = answer_of(&bot, id, "Batch declared defective").await;
    let text = shown.visible_text();
    for expected in ["batch-7", "7", "19", "41"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let batch = payments
        .commands()
        .into_iter()
        .find_map(|c| match c {
            Command::AdminBatchDefective(b) => Some(b),
            _ => None,
        })
        .expect("admin.batch.defective sent");
    assert_eq!(batch.batch_id, "batch-7");
    assert_eq!(batch.note.as_deref(), Some("supplier recalled it"));
    assert_eq!(batch.claim.operation, "admin.batch.defective");
    assert!(bot.fake.failed_interactions().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_is_told_the_outcome_in_their_language() {
    let bot = spawn_bot(Options { gateway: false }).await;
    let siti = 2_000_000_000_000_000_705;
    let john = 2_000_000_000_000_000_706;
    let update = |buyer: u64, action, locale: Option<&str>| {
        let mut report = report_view(buyer, open_codes(&[2, 4]), 14_000);
        report.status = ReportStatus::Resolved;
        report.rejection = (action == ReportAction::Reject).then(|| "already redeemed".into());
        Event::ReportUpdated(ReportUpdated {
            report,
            action,
            positions: vec![4],
            refunded: Idr::new(14_000),
            balance_after: Some(Idr::new(53_000)),
            locale: locale.map(str::to_string),
        })
    };
    // Reveal is between admins: the buyer is not told.
    bot.publish_event(update(siti, ReportAction::Reveal, Some("id")))
        .await;
    bot.publish_event(update(siti, ReportAction::Refund, Some("id")))
        .await;
    bot.publish_event(update(john, ReportAction::Reject, None))
        .await;
    let dm_of = |buyer: u64| {
        bot.fake
            .wait_for(WAIT, move |f| f.dm_messages_to(buyer).into_iter().next())
    };
    let to_siti = dm_of(siti).await.expect("a DM to Siti").visible_text();
    for expected in [
        "Dana kode dikembalikan",
        "Rp 14.000",
        "#4",
        ORDER,
        "Saldo sekarang",
    ] {
        assert!(to_siti.contains(expected), "{expected}: {to_siti}");
    }
    assert!(!to_siti.contains("refunded"), "{to_siti}");
    // No remembered language: DEFAULT_LOCALE (English in this harness).
    let to_john = dm_of(john).await.expect("a DM to John").visible_text();
    for expected in ["Report turned down", "#4", ORDER, "already redeemed"] {
        assert!(to_john.contains(expected), "{expected}: {to_john}");
    }
    assert_eq!(bot.fake.dm_messages_to(siti).len(), 1, "no DM about Reveal");
    bot.stop().await;
}
