//! The whole shop, end to end: real payment-service and bot-service processes, the fake Discord,
//! the Midtrans simulator, PostgreSQL and RabbitMQ. Users act through commands and the buttons
//! the bot sent; outcomes are checked in what Discord received and in the database.

use std::collections::HashSet;

use e2e_tests::{
    codes_in, fresh_codes, has_button, System, SystemOptions, ADMIN_ROLE_ID, FOREIGN_ADMIN_ROLE_ID,
    FOREIGN_GUILD_ID,
};
use fake_discord::{FakeRole, FakeUser, SlashOption};
use midtrans_simulator::FaultRequest;

const EPHEMERAL: u64 = 64;

fn buyer(n: u64) -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_000 + n, format!("buyer{n}"))
}

fn admin() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_900, "shopadmin").with_roles([ADMIN_ROLE_ID])
}

async fn start() -> System {
    System::start().await.expect("the system starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_up_50000_is_paid_dmed_and_shown_as_balance() {
    let mut sys = start().await;
    let user = buyer(1);

    let (qr, order_id) = sys.start_top_up(&user, "Rp 50.000").await;
    assert_ne!(
        qr.flags() & EPHEMERAL,
        0,
        "the QR is shown only to the payer"
    );
    assert!(
        qr.visible_text().contains("Rp 50.000"),
        "{}",
        qr.visible_text()
    );
    assert!(
        qr.files
            .iter()
            .any(|f| f.filename.ends_with(".png") && !f.bytes.is_empty()),
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
    assert_eq!(
        sys.db_balance(user.id).await,
        0,
        "nothing credited before payment"
    );

    sys.pay(&order_id).await;
    let dm = sys
        .wait_dm(&user, "the top-up DM", |m| {
            m.visible_text().contains("Top-up received")
        })
        .await;
    assert!(
        dm.visible_text().contains("Rp 50.000"),
        "{}",
        dm.visible_text()
    );
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
    assert_eq!(
        status[0].try_get::<String>("", "status").unwrap(),
        "success"
    );
    assert_eq!(
        status[0].try_get::<String>("", "bot_source").unwrap(),
        "order"
    );
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

/// Midtrans answers the charge "still processing" (HTTP 202) for longer than the service
/// waits: the buyer sees a pending top-up with its buttons, not a failure, and "Check status"
/// shows the QR once Midtrans has created it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_midtrans_creates_late_is_shown_by_check_status() {
    let sys = System::start_with(SystemOptions {
        payment_env: vec![("MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS".into(), "300".into())],
        ..Default::default()
    })
    .await
    .expect("the system starts");
    let user = buyer(40);
    sys.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(1_000),
        ..Default::default()
    });
    let menu = sys.open_shop(&user).await;
    let click = sys.click(&user, &menu, "Top up");
    let picker = sys
        .answer(click, "the top-up picker", |m| has_button(m, "Rp 50.000"))
        .await;
    let click = sys.click(&user, &picker, "Rp 50.000");
    let pending = sys
        .answer(click, "the pending top-up", |m| {
            m.visible_text().contains("on its way")
        })
        .await;
    assert!(
        has_button(&pending, "Check status"),
        "{}",
        pending.visible_text()
    );
    assert!(has_button(&pending, "Cancel"));
    assert!(pending.files.is_empty(), "no QR exists yet");
    assert!(
        sys.sim.transactions().is_empty(),
        "Midtrans made nothing yet"
    );

    // Midtrans finishes; the buyer checks.
    sys.sim.inject_faults(&FaultRequest {
        charge_status: Some(202),
        times: Some(0),
        ..Default::default()
    });
    let click = sys.click(&user, &pending, "Check status");
    let qr = sys
        .answer(click, "the QR after Check status", |m| {
            m.visible_text().to_lowercase().contains("scan to pay")
        })
        .await;
    assert!(
        qr.files
            .iter()
            .any(|f| f.filename.ends_with(".png") && !f.bytes.is_empty()),
        "the QR is drawn in place: {}",
        qr.visible_text()
    );
    let order_id = qr
        .visible_text()
        .lines()
        .find_map(|l| l.strip_prefix("Top-up ").map(str::trim).map(str::to_string))
        .expect("the QR names its top-up");
    assert!(pending.visible_text().contains(&order_id));
    let charged = sys.sim.transactions();
    assert_eq!(
        charged.len(),
        1,
        "one charge, however often asked: {charged:?}"
    );

    sys.pay(&order_id).await;
    sys.wait_dm(&user, "the top-up DM", |m| {
        m.visible_text().contains("Top-up received") && m.visible_text().contains(&order_id)
    })
    .await;
    assert_eq!(sys.db_balance(user.id).await, 50_000);
    sys.assert_every_interaction_answered_in_time().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_uploads_codes_and_a_non_admin_is_refused() {
    let mut sys = start().await;
    let codes = fresh_codes(20);

    let refused = sys.add_stock(&buyer(2), &codes).await;
    assert_ne!(refused.flags() & EPHEMERAL, 0);
    assert!(
        refused.visible_text().contains("You need the"),
        "{}",
        refused.visible_text()
    );
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 0);

    let added = sys.add_stock(&admin(), &codes).await;
    let text = added.visible_text();
    assert!(text.contains("Stock added"), "{text}");
    assert!(text.contains("\n20\n"), "20 codes added: {text}");
    assert_eq!(
        sys.count(
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
            vec![]
        )
        .await,
        20
    );
    // Stored encrypted: no row holds a code in clear, and each code's keyed hash is there.
    for code in &codes {
        let hash = sys.vault.hash(code);
        assert_eq!(
            sys.count(
                "SELECT COUNT(*) FROM stock WHERE code_hash = $1",
                vec![hash.into()]
            )
            .await,
            1,
            "{code} is in stock exactly once"
        );
    }

    // Uploading the same file again adds nothing.
    let again = sys.add_stock(&admin(), &codes).await;
    assert!(
        again.visible_text().contains("Stock added"),
        "{}",
        again.visible_text()
    );
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 20);

    // The non-admin is still refused after stock exists, and changes nothing.
    let refused = sys.add_stock(&buyer(2), &fresh_codes(3)).await;
    assert!(refused.visible_text().contains("You need the"));
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 20);

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}

/// `/admin addstock` with `codes` as an attached file, as `user` sends it from `place`.
enum Place {
    ForeignGuild,
    Dm,
}

fn addstock_from(sys: &System, user: &FakeUser, place: Place, codes: &[String]) -> u64 {
    let file = sys
        .fake
        .add_attachment("codes.txt", format!("{}\n", codes.join("\n")).into_bytes());
    let options = vec![SlashOption::sub(
        "addstock",
        vec![SlashOption::attachment("file", &file)],
    )];
    match place {
        Place::ForeignGuild => {
            sys.fake
                .send_slash_command_in_guild(FOREIGN_GUILD_ID, user, "admin", options)
        }
        Place::Dm => sys.fake.send_dm_slash_command(user, "admin", options),
    }
    .expect("the command is sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_role_of_another_server_or_a_dm_is_refused_and_adds_no_stock() {
    let mut sys = start().await;
    // Somebody invited the bot to their own server, made a role "Admin" there and took it (and,
    // for good measure, claims our Admin role's id as well).
    let attacker = FakeUser::new(1_200_000_000_000_000_666, "mallory")
        .with_roles([FOREIGN_ADMIN_ROLE_ID, ADMIN_ROLE_ID]);

    let id = addstock_from(&sys, &attacker, Place::ForeignGuild, &fresh_codes(5));
    let refused = sys
        .answer(id, "the refusal in the other server", |m| {
            !m.visible_text().trim().is_empty()
        })
        .await;
    assert_ne!(refused.flags() & EPHEMERAL, 0, "the refusal is ephemeral");
    assert!(
        refused.visible_text().contains("shop's own server"),
        "{}",
        refused.visible_text()
    );
    // The other admin views: listing everyone's orders, stats.
    for sub in ["vieworders", "botstats", "viewstock"] {
        let id = sys
            .fake
            .send_slash_command_in_guild(
                FOREIGN_GUILD_ID,
                &attacker,
                "admin",
                vec![SlashOption::sub(sub, vec![])],
            )
            .expect("sent");
        let answer = sys
            .answer(id, "the refusal of a view", |m| {
                !m.visible_text().trim().is_empty()
            })
            .await;
        assert!(
            answer.visible_text().contains("shop's own server"),
            "{sub}: {}",
            answer.visible_text()
        );
    }

    // In a DM with the bot, for the attacker and for the shop's real admin alike.
    for user in [&attacker, &admin()] {
        let id = addstock_from(&sys, user, Place::Dm, &fresh_codes(5));
        let answer = sys
            .answer(id, "the answer in a DM", |m| {
                !m.visible_text().trim().is_empty()
            })
            .await;
        assert!(
            !answer.visible_text().contains("Stock added"),
            "{}",
            answer.visible_text()
        );
    }

    // Nothing changed.
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 0);
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM stock_batches", vec![])
            .await,
        0
    );
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM admin_audit", vec![]).await,
        0
    );
    // The shop's admin in the shop's server still can.
    let added = sys.add_stock(&admin(), &fresh_codes(2)).await;
    assert!(
        added.visible_text().contains("Stock added"),
        "{}",
        added.visible_text()
    );
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 2);
    sys.assert_services_alive();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_refuses_to_start_when_two_roles_of_the_shop_guild_are_named_admin() {
    let started = System::start_with(SystemOptions {
        extra_guild_roles: vec![FakeRole {
            id: 1_100_000_000_000_000_301,
            name: "Admin".into(),
            permissions: 0,
        }],
        ..SystemOptions::default()
    })
    .await;
    let Err(error) = started else {
        panic!("the bot started although two roles are named \"Admin\"");
    };
    let text = format!("{error:#}");
    assert!(
        text.contains("bot-service exited during start-up"),
        "the bot must be the one refusing: {text}"
    );
    assert!(
        text.contains("2 roles are named \"Admin\"") && text.contains("ADMIN_ROLE_NAME"),
        "the refusal names the problem: {text}"
    );
}

/// The stock rows an order took: their hashes must be exactly the delivered codes' hashes.
async fn assert_codes_sold_for(sys: &System, order_number: &str, codes: &[String]) {
    let rows = sys
        .query(
            "SELECT s.code_hash, s.status FROM stock s JOIN orders o ON s.order_id = o.id \
             WHERE o.order_number = $1",
            vec![order_number.into()],
        )
        .await;
    let sold: HashSet<String> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.try_get::<String>("", "status").unwrap(), "sold");
            r.try_get::<String>("", "code_hash").unwrap()
        })
        .collect();
    let delivered: HashSet<String> = codes.iter().map(|c| sys.vault.hash(c)).collect();
    assert_eq!(
        sold, delivered,
        "the codes delivered are the stock rows the order took"
    );
}

async fn order_row(sys: &System, order_number: &str) -> (String, i64, i64) {
    let rows = sys
        .query(
            "SELECT status, total_price, code_quantity::BIGINT AS q FROM orders WHERE order_number = $1",
            vec![order_number.into()],
        )
        .await;
    assert_eq!(rows.len(), 1, "order {order_number} exists once");
    (
        rows[0].try_get("", "status").unwrap(),
        rows[0].try_get("", "total_price").unwrap(),
        rows[0].try_get("", "q").unwrap(),
    )
}

/// The order number in a codes message ("Your Redfinger codes — ORD-…").
fn order_number_in(text: &str) -> String {
    text.split("Your Redfinger codes — ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no order number in {text}"))
        .to_string()
}

async fn wait_order_status(sys: &System, order_number: &str, status: &str) {
    for _ in 0..300 {
        if order_row(sys, order_number).await.0 == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "order {order_number} is {:?}, not {status}",
        order_row(sys, order_number).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_5_codes_delivers_them_by_dm_and_charges_the_price() {
    let mut sys = start().await;
    let user = buyer(3);
    let stock = fresh_codes(12);
    sys.add_stock(&admin(), &stock).await;
    sys.top_up(&user, "Rp 100.000").await;
    assert_eq!(sys.db_balance(user.id).await, 100_000);

    let step = sys.order_step(&user, "5 codes").await;
    let text = step.visible_text();
    assert!(text.contains("Confirm your order"), "{text}");
    assert!(text.contains("Rp 70.000"), "the price is shown: {text}");
    assert!(
        text.contains("Rp 30.000"),
        "the balance after is shown: {text}"
    );
    let confirm = sys.confirm(&user, &step);
    let outcome = sys.order_outcome(confirm).await;
    assert!(
        outcome.visible_text().contains("Order placed"),
        "{}",
        outcome.visible_text()
    );

    let dm = sys.codes_dm(&user).await;
    let codes = codes_in(&dm);
    assert_eq!(codes.len(), 5, "{}", dm.visible_text());
    let distinct: HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 5, "the codes are distinct");
    assert!(
        codes.iter().all(|c| stock.contains(c)),
        "every code came from the stock"
    );
    let order_number = order_number_in(&dm.visible_text());

    wait_order_status(&sys, &order_number, "completed").await;
    let (_, total, quantity) = order_row(&sys, &order_number).await;
    assert_eq!((total, quantity), (70_000, 5));
    assert_codes_sold_for(&sys, &order_number, &codes).await;
    assert_eq!(sys.db_balance(user.id).await, 30_000);
    let balance = sys.balance_text(&user).await;
    assert!(balance.contains("**Rp 30.000**"), "{balance}");
    assert_eq!(
        sys.count(
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
            vec![]
        )
        .await,
        7
    );
    // Codes never appear outside the DM.
    for m in sys.fake.messages() {
        if Some(m.channel_id) != sys.fake.dm_channel_of(user.id) {
            assert!(
                codes.iter().all(|c| !m.visible_text().contains(c.as_str())),
                "a code leaked into message {}: {}",
                m.id,
                m.visible_text()
            );
        }
    }

    // One order can be followed through both services' logs: the bot's request carries the
    // request id and a correlation id; the payment-service logs the same correlation id with the
    // order number, and the bot's delivery logs the order number.
    let bot_log = json_log(&sys.bot.log());
    let sent = bot_log
        .iter()
        .find(|l| {
            l.to_string().contains("payment-service answered")
                && field(l, "command").as_deref() == Some("order.create")
        })
        .expect("the bot logged the order request");
    let correlation_id = field(sent, "correlation_id").expect("correlation id logged");
    assert!(
        field(sent, "request_id").is_some_and(|r| !r.is_empty()),
        "request id logged: {sent}"
    );
    let payment_log = json_log(&sys.payment.log());
    assert!(
        payment_log.iter().any(|l| {
            field(l, "correlation_id").as_deref() == Some(correlation_id.as_str())
                && field(l, "order_number").as_deref() == Some(order_number.as_str())
        }),
        "the payment-service logged order {order_number} under correlation id {correlation_id}"
    );
    assert!(
        bot_log
            .iter()
            .any(|l| field(l, "order_number").as_deref() == Some(order_number.as_str())),
        "the bot logged the delivery of {order_number}"
    );

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}

/// The JSON lines of a service log (`LOG_FORMAT=json`).
fn json_log(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A field of a log line, wherever it sits (the event's fields or one of its spans').
fn field(line: &serde_json::Value, key: &str) -> Option<String> {
    match line {
        serde_json::Value::Object(map) => map
            .get(key)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .or_else(|| map.values().find_map(|v| field(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| field(v, key)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_get_the_codes_privately_never_in_public() {
    let mut sys = start().await;
    let user = buyer(4);
    let stock = fresh_codes(6);
    sys.add_stock(&admin(), &stock).await;
    sys.top_up(&user, "Rp 100.000").await;
    sys.fake.close_dms_for(user.id);

    let step = sys.order_step(&user, "5 codes").await;
    let confirm = sys.confirm(&user, &step);
    let outcome = sys.order_outcome(confirm).await;
    assert!(
        outcome.visible_text().contains("Order placed"),
        "{}",
        outcome.visible_text()
    );

    // The DM was tried and refused; the codes come as an ephemeral follow-up to the click, or
    // in a private thread with only the user.
    let private = sys
        .fake
        .wait_for(e2e_tests::STEP_TIMEOUT, |f| {
            let followup = f
                .followups(confirm)
                .into_iter()
                .find(|m| codes_in(m).len() == 5);
            let threaded = f.threads().into_iter().find_map(|t| {
                let id: u64 = t["id"].as_str()?.parse().ok()?;
                f.channel_messages(id)
                    .into_iter()
                    .find(|m| codes_in(m).len() == 5)
            });
            followup.or(threaded)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the codes never reached the user privately; messages: {:?}",
                sys.fake
                    .messages()
                    .iter()
                    .map(|m| (m.channel_id, m.flags(), m.visible_text()))
                    .collect::<Vec<_>>()
            )
        });
    let codes = codes_in(&private);
    if sys
        .fake
        .channel(private.channel_id)
        .and_then(|c| c["type"].as_u64())
        == Some(12)
    {
        assert_eq!(
            sys.fake
                .thread_members(private.channel_id)
                .iter()
                .filter(|u| **u != sys.fake.config().bot_user_id)
                .collect::<Vec<_>>(),
            vec![&user.id]
        );
    } else {
        assert_ne!(private.flags() & EPHEMERAL, 0, "the follow-up is ephemeral");
    }
    assert!(codes.iter().all(|c| stock.contains(c)));
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 5);
    assert!(
        sys.fake
            .dm_messages_to(user.id)
            .iter()
            .all(|m| codes_in(m).is_empty()),
        "no codes landed in the closed DM (only the earlier top-up DM is there)"
    );
    assert!(
        !sys.fake
            .requests_to("POST", "/channels/*/messages")
            .iter()
            .all(|r| r.status != 403),
        "the DM was attempted and refused with 403"
    );
    // No public message carries a code.
    for m in sys.fake.messages() {
        let public = m.flags() & EPHEMERAL == 0
            && sys
                .fake
                .channel(m.channel_id)
                .and_then(|c| c["type"].as_u64())
                != Some(12);
        if public {
            assert!(
                codes.iter().all(|c| !m.visible_text().contains(c.as_str())),
                "a code is in public message {}: {}",
                m.id,
                m.visible_text()
            );
        }
    }
    let order_number = order_number_in(&private.visible_text());
    wait_order_status(&sys, &order_number, "completed").await;
    assert_codes_sold_for(&sys, &order_number, &codes).await;
    assert_eq!(sys.db_balance(user.id).await, 30_000);

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_balance_offers_a_top_up_and_short_stock_charges_nothing() {
    let mut sys = start().await;
    let poor = buyer(5);
    let rich = buyer(6);
    sys.add_stock(&admin(), &fresh_codes(3)).await;
    sys.top_up(&poor, "Rp 10.000").await;
    sys.top_up(&rich, "Rp 100.000").await;

    // 1 code costs Rp 15.000; Rp 10.000 is Rp 5.000 short.
    let step = sys.order_step(&poor, "1 code").await;
    let text = step.visible_text();
    assert!(text.contains("Not enough balance"), "{text}");
    assert!(text.contains("Rp 5.000"), "the shortfall is shown: {text}");
    assert!(!has_button(&step, "Confirm"));
    let click = sys.click(&poor, &step, "Top up");
    let picker = sys
        .answer(click, "the top-up picker", |m| has_button(m, "Rp 50.000"))
        .await;
    assert_ne!(picker.flags() & EPHEMERAL, 0);
    assert_eq!(sys.db_balance(poor.id).await, 10_000);

    // 5 codes with 3 in stock: out of stock, nothing to confirm, nothing charged.
    let step = sys.order_step(&rich, "5 codes").await;
    let text = step.visible_text();
    assert!(text.contains("Out of stock"), "{text}");
    assert!(!has_button(&step, "Confirm"));
    assert_eq!(sys.db_balance(rich.id).await, 100_000);
    assert_eq!(sys.count("SELECT COUNT(*) FROM orders", vec![]).await, 0);
    assert_eq!(
        sys.count(
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
            vec![]
        )
        .await,
        3
    );

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_race_for_the_last_codes_and_each_code_reaches_one_user() {
    let mut sys = start().await;
    let (a, b) = (buyer(7), buyer(8));
    let stock = fresh_codes(5);
    sys.add_stock(&admin(), &stock).await;
    sys.top_up(&a, "Rp 100.000").await;
    sys.top_up(&b, "Rp 100.000").await;

    // Both see 5 codes in stock and get to Confirm; then both click at once.
    let step_a = sys.order_step(&a, "5 codes").await;
    let step_b = sys.order_step(&b, "5 codes").await;
    assert!(has_button(&step_a, "Confirm") && has_button(&step_b, "Confirm"));
    let click_a = sys.confirm(&a, &step_a);
    let click_b = sys.confirm(&b, &step_b);
    let (out_a, out_b) = tokio::join!(sys.order_outcome(click_a), sys.order_outcome(click_b));
    let placed: Vec<bool> = [&out_a, &out_b]
        .iter()
        .map(|o| o.visible_text().contains("Order placed"))
        .collect();
    assert_eq!(
        placed.iter().filter(|p| **p).count(),
        1,
        "exactly one wins: {:?} / {:?}",
        out_a.visible_text(),
        out_b.visible_text()
    );
    let (winner, loser, lost) = if placed[0] {
        (&a, &b, &out_b)
    } else {
        (&b, &a, &out_a)
    };
    assert!(
        lost.visible_text().contains("Out of stock")
            && lost.visible_text().contains("Nothing was charged"),
        "{}",
        lost.visible_text()
    );

    let dm = sys.codes_dm(winner).await;
    let codes = codes_in(&dm);
    let mut sorted = codes.clone();
    sorted.sort();
    let mut all = stock.clone();
    all.sort();
    assert_eq!(sorted, all, "the winner got exactly the 5 codes");
    // Give a wrong second delivery time to show up before asserting there is none.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let loser_codes: Vec<String> = sys
        .fake
        .messages()
        .iter()
        .filter(|m| {
            m.json["interaction_metadata"]["user"]["id"].as_str()
                == Some(loser.id.to_string().as_str())
                || Some(m.channel_id) == sys.fake.dm_channel_of(loser.id)
        })
        .flat_map(codes_in)
        .collect();
    assert!(
        loser_codes.is_empty(),
        "the loser got codes: {loser_codes:?}"
    );

    let order_number = order_number_in(&dm.visible_text());
    wait_order_status(&sys, &order_number, "completed").await;
    assert_codes_sold_for(&sys, &order_number, &codes).await;
    assert_eq!(sys.db_balance(winner.id).await, 30_000);
    assert_eq!(
        sys.db_balance(loser.id).await,
        100_000,
        "the loser was not charged"
    );
    assert_eq!(
        sys.count(
            "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND status IN ('pending','delivering','completed')",
            vec![(loser.id as i64).into()]
        )
        .await,
        0
    );
    // Invariant 1 for both users: balance = Σ ledger deltas.
    for user in [&a, &b] {
        assert_eq!(
            sys.count(
                "SELECT SUM(delta)::BIGINT FROM balance_ledger WHERE user_id = $1",
                vec![(user.id as i64).into()]
            )
            .await,
            sys.db_balance(user.id).await
        );
    }

    sys.assert_every_interaction_answered_in_time().await;
    sys.assert_services_alive();
}

/// Words only an English screen uses, and words only an Indonesian one uses (lower case, whole
/// words; ids such as `ORDER-…` and `RF-…` are removed first).
// ("scan" is said in both: Indonesian shops write "scan untuk bayar".)
const ENGLISH_WORDS: [&str; 13] = [
    "your", "the", "balance", "codes", "code", "confirm", "received", "placed", "order", "pay",
    "amount", "expires", "top",
];
const INDONESIAN_WORDS: [&str; 12] = [
    "kamu", "saldo", "kode", "pesanan", "isi", "bayar", "berhasil", "nominal", "berlaku", "masuk",
    "untuk", "beli",
];

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        // Order numbers, top-up ids, codes and mentions are not words of either language.
        .filter(|w| !w.contains("ORDER-") && !w.contains("RF-") && !w.contains("<@"))
        .flat_map(|w| {
            w.split(|c: char| !c.is_alphabetic())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Everything a person reads on a message: text, embeds and the labels of its buttons and
/// menu options.
fn everything_shown(m: &fake_discord::RecordedMessage) -> String {
    let mut text = m.visible_text();
    for row in m.components() {
        for c in row["components"].as_array().cloned().unwrap_or_default() {
            for key in ["label", "placeholder"] {
                if let Some(s) = c[key].as_str() {
                    text.push('\n');
                    text.push_str(s);
                }
            }
            for o in c["options"].as_array().cloned().unwrap_or_default() {
                for key in ["label", "description"] {
                    if let Some(s) = o[key].as_str() {
                        text.push('\n');
                        text.push_str(s);
                    }
                }
            }
        }
    }
    text
}

fn assert_in_language(what: &str, m: &fake_discord::RecordedMessage, indonesian: bool) {
    let shown = everything_shown(m);
    let words = words(&shown);
    let (foreign, own): (&[&str], &[&str]) = if indonesian {
        (&ENGLISH_WORDS, &INDONESIAN_WORDS)
    } else {
        (&INDONESIAN_WORDS, &ENGLISH_WORDS)
    };
    let wrong: Vec<_> = words
        .iter()
        .filter(|w| foreign.contains(&w.as_str()))
        .collect();
    assert!(
        wrong.is_empty(),
        "{what} is not in {}: {wrong:?} in\n{shown}",
        if indonesian { "Indonesian" } else { "English" }
    );
    assert!(
        words.iter().any(|w| own.contains(&w.as_str())),
        "{what} has no word of its language:\n{shown}"
    );
}

/// One buyer's whole visit (top-up, order, delivery) in the language of their client; returns
/// every message they saw, labelled.
async fn visit(
    sys: &System,
    user: &FakeUser,
    labels: [&str; 6],
) -> Vec<(String, fake_discord::RecordedMessage)> {
    let [topup, order, confirm, scan, received, codes] = labels;
    let mut seen = Vec::new();
    let menu = sys.slash(user, "shop", vec![]);
    let menu = sys.answer(menu, "the menu", |m| has_button(m, topup)).await;
    seen.push(("menu".to_string(), menu.clone()));
    let click = sys.click(user, &menu, topup);
    let picker = sys
        .answer(click, "the top-up picker", |m| has_button(m, "Rp 50.000"))
        .await;
    seen.push(("top-up picker".into(), picker.clone()));
    let click = sys.click(user, &picker, "Rp 50.000");
    let qr = sys
        .answer(click, "the QR", |m| {
            m.visible_text().to_lowercase().contains(scan)
        })
        .await;
    seen.push(("QR".into(), qr.clone()));
    let order_id = qr
        .visible_text()
        .split_whitespace()
        .find(|w| w.starts_with("ORDER-"))
        .expect("the QR names its top-up")
        .to_string();
    sys.pay(&order_id).await;
    let paid = sys
        .wait_dm(user, "the top-up DM", |m| {
            m.visible_text().contains(received)
        })
        .await;
    seen.push(("top-up DM".into(), paid));

    let menu = sys.slash(user, "shop", vec![]);
    let menu = sys.answer(menu, "the menu", |m| has_button(m, order)).await;
    let click = sys.click(user, &menu, order);
    let picker = sys
        .answer(click, "the package menu", |m| {
            m.components()
                .iter()
                .any(|row| row["components"][0]["type"] == 3)
        })
        .await;
    seen.push(("package picker".into(), picker.clone()));
    let pick = sys.pick(user, &picker, "1 ");
    let step = sys
        .answer(pick, "the confirm step", |m| has_button(m, confirm))
        .await;
    seen.push(("confirm step".into(), step.clone()));
    let click = sys.click(user, &step, confirm);
    let outcome = sys
        .answer(click, "the order outcome", |m| {
            m.embeds()
                .first()
                .is_some_and(|e| e.to_string().contains("RF-"))
        })
        .await;
    seen.push(("order outcome".into(), outcome));
    let dm = sys
        .wait_dm(user, "the codes", |m| m.visible_text().contains(codes))
        .await;
    assert_eq!(codes_in(&dm).len(), 1, "{}", dm.visible_text());
    seen.push(("codes DM".into(), dm));
    seen
}

/// Issue 14: a buyer whose Discord is in Indonesian and one whose Discord is in English top
/// up, order and receive codes; every message each one sees is in their own language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indonesian_and_an_english_buyer_each_read_only_their_language() {
    let sys = start().await;
    let codes = fresh_codes(4);
    let added = sys.add_stock(&admin(), &codes).await;
    assert!(
        added.visible_text().contains("4"),
        "{}",
        added.visible_text()
    );

    let siti = buyer(70).with_locale("id");
    let john = buyer(71).with_locale("en-US");
    let seen_by_siti = visit(
        &sys,
        &siti,
        [
            "Isi Saldo",
            "Beli Kode",
            "Konfirmasi",
            "scan untuk bayar",
            "Saldo masuk",
            "Kode Redfinger kamu",
        ],
    )
    .await;
    let seen_by_john = visit(
        &sys,
        &john,
        [
            "Top up",
            "Order codes",
            "Confirm",
            "scan to pay",
            "Top-up received",
            "Your Redfinger codes",
        ],
    )
    .await;
    for (what, m) in &seen_by_siti {
        assert_in_language(what, m, true);
    }
    for (what, m) in &seen_by_john {
        assert_in_language(what, m, false);
    }
    // Money in the Indonesian way in both, and the language remembered for later messages.
    for (_, m) in seen_by_siti.iter().chain(&seen_by_john) {
        assert!(!m.visible_text().contains("IDR"), "{}", m.visible_text());
    }
    let remembered = sys
        .query(
            "SELECT user_id, locale FROM users WHERE user_id IN ($1, $2) ORDER BY user_id",
            vec![(siti.id as i64).into(), (john.id as i64).into()],
        )
        .await;
    let locales: Vec<String> = remembered
        .iter()
        .map(|r| r.try_get::<String>("", "locale").unwrap())
        .collect();
    assert_eq!(locales, vec!["id".to_string(), "en-US".to_string()]);
    sys.assert_every_interaction_answered_in_time().await;
}
