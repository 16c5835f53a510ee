//! After the sale, end to end: a buyer of 5 codes reports 2 as already used; an admin replaces
//! one and refunds the other in the report's private thread. The buyer holds 4 + 1 new codes and
//! the price of one code back; the batch counts 2 defects; no code appears anywhere but in the
//! buyer's DMs and the admin's own reveal.

use e2e_tests::{codes_in, fresh_codes, has_button, System, ADMIN_ROLE_ID, PUBLIC_CHANNEL_ID};
use fake_discord::{FakeUser, RecordedMessage};

fn buyer() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_170, "reporter")
}

fn admin() -> FakeUser {
    FakeUser::new(1_200_000_000_000_000_990, "supportadmin").with_roles([ADMIN_ROLE_ID])
}

/// The newest message in the report's thread for which `done` holds.
async fn thread_post(
    sys: &System,
    thread: u64,
    done: impl Fn(&RecordedMessage) -> bool,
) -> RecordedMessage {
    sys.fake
        .wait_for(e2e_tests::STEP_TIMEOUT, |f| {
            f.channel_messages(thread)
                .into_iter()
                .rev()
                .find(|m| done(m))
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no such post in thread {thread}: {:?}",
                sys.fake
                    .channel_messages(thread)
                    .iter()
                    .map(RecordedMessage::visible_text)
                    .collect::<Vec<_>>()
            )
        })
}

/// The admin clicks `label` on the post and submits the modal it opens with `fields`.
async fn admin_acts(
    sys: &System,
    post: &RecordedMessage,
    label: &str,
    fields: &[(&str, &str)],
) -> u64 {
    let click = sys.click(&admin(), post, label);
    let modal_id = sys.opened_modal(click, label).await;
    sys.fake
        .submit_modal(&admin(), &modal_id, fields)
        .unwrap_or_else(|e| panic!("submitting the {label} modal: {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_reports_two_codes_one_is_replaced_and_one_refunded() {
    let sys = System::start().await.expect("the system starts");
    let codes = fresh_codes(8);
    sys.add_stock(&admin(), &codes).await;
    let user = buyer();
    sys.top_up(&user, "Rp 100.000").await;
    let step = sys.order_step(&user, "5 codes").await;
    let confirm = sys.confirm(&user, &step);
    sys.order_outcome(confirm).await;
    let dm = sys.codes_dm(&user).await;
    let bought = codes_in(&dm);
    assert_eq!(bought.len(), 5);
    let order_number = dm
        .visible_text()
        .split_whitespace()
        .find(|w| w.starts_with("RF-2"))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .to_string()
        })
        .expect("the DM names its order");
    let balance_after_order = sys.db_balance(user.id).await;

    // The buyer reports codes 2 and 4 as already used.
    let click = sys.click(&user, &dm, "Report a problem");
    let reasons = sys
        .answer(click, "the reasons", |m| has_button(m, "Already used"))
        .await;
    let click = sys.click(&user, &reasons, "Already used");
    let modal_id = sys.opened_modal(click, "the report modal").await;
    let submit = sys
        .fake
        .submit_modal(&user, &modal_id, &[("positions", "2, 4")])
        .expect("submitted");
    let sent = sys
        .answer(submit, "the report receipt", |m| {
            m.visible_text().contains("Report #")
        })
        .await;
    assert!(
        sent.visible_text().contains(&order_number),
        "{}",
        sent.visible_text()
    );

    // A private thread in the support channel, with the buyer in it, shows the report.
    let thread = sys
        .fake
        .wait_for(e2e_tests::STEP_TIMEOUT, |f| {
            f.threads().into_iter().find(|t| {
                let parent = t["parent_id"].as_str().and_then(|p| p.parse::<u64>().ok());
                parent == Some(PUBLIC_CHANNEL_ID) && t["type"] == 12
            })
        })
        .await
        .expect("a private support thread");
    let thread_id: u64 = thread["id"].as_str().unwrap().parse().unwrap();
    assert!(sys.fake.thread_members(thread_id).contains(&user.id));
    // The thread is the shop's (DEFAULT_LOCALE, Indonesian by default): "Ganti" is Replace.
    let post = thread_post(&sys, thread_id, |m| has_button(m, "Ganti")).await;
    let shown = post.visible_text();
    assert!(shown.contains(&order_number), "{shown}");
    assert!(shown.contains("#2") && shown.contains("#4"), "{shown}");

    // The admin looks at the codes (only they see them), replaces #2, refunds #4.
    let reveal = sys.click(&admin(), &post, "Lihat kode");
    let revealed = sys
        .answer(reveal, "the revealed codes", |m| {
            m.visible_text().contains(bought[1].as_str())
        })
        .await;
    assert_ne!(revealed.flags() & 64, 0, "only the admin sees the codes");
    let text = revealed.visible_text();
    for (i, code) in bought.iter().enumerate() {
        assert_eq!(
            text.contains(code.as_str()),
            i == 1 || i == 3,
            "exactly the reported codes #2 and #4: {text}"
        );
    }
    let replace = admin_acts(&sys, &post, "Ganti", &[("positions", "2")]).await;
    sys.answer(replace, "the replacement", |m| !m.visible_text().is_empty())
        .await;
    let replacement = sys
        .wait_dm(&user, "the replacement codes", |m| {
            m.visible_text().contains("Replacement")
        })
        .await;
    let new_codes = codes_in(&replacement);
    assert_eq!(new_codes.len(), 1, "{}", replacement.visible_text());
    assert!(!bought.contains(&new_codes[0]));
    let post = thread_post(&sys, thread_id, |m| has_button(m, "Refund")).await;
    let refund = admin_acts(&sys, &post, "Refund", &[("positions", "4")]).await;
    sys.answer(refund, "the refund", |m| !m.visible_text().is_empty())
        .await;
    sys.wait_dm(&user, "the refund notice", |m| {
        m.visible_text().contains("Rp 14.000")
    })
    .await;

    // The buyer holds 4 + 1 codes (the 4 originals not replaced — one of them refunded — and
    // the new one) and one code's price back.
    assert_eq!(sys.db_balance(user.id).await, balance_after_order + 14_000);
    let sys_ref = &sys;
    let sold_to_order = |extra: &'static str| {
        let sql = format!(
            "SELECT COUNT(*) FROM stock s JOIN orders o ON o.id = s.order_id \
             WHERE o.order_number = $1 AND s.status = 'sold' {extra}"
        );
        let number = order_number.clone();
        async move { sys_ref.count(&sql, vec![number.into()]).await }
    };
    assert_eq!(sold_to_order("").await, 6, "5 originals + 1 replacement");
    assert_eq!(
        sold_to_order(
            "AND s.id NOT IN (SELECT stock_id FROM code_report_items WHERE outcome = 'replaced')"
        )
        .await,
        5,
        "4 originals not replaced + 1 new"
    );
    assert_eq!(
        sold_to_order("AND s.defective_at IS NULL").await,
        4,
        "3 good originals + 1 new"
    );
    // The batch counts 2 defects.
    let defects = sys
        .count(
            "SELECT COUNT(*) FROM stock WHERE defective_at IS NOT NULL",
            vec![],
        )
        .await;
    assert_eq!(defects, 2);

    // The buyer's history shows the order as partially refunded.
    let history = sys.slash(&user, "history", vec![]);
    let history = sys
        .answer(history, "the history", |m| {
            m.visible_text().contains(&order_number)
        })
        .await
        .visible_text();
    assert!(
        history.contains("completed, partially refunded (Rp 14.000)"),
        "{history}"
    );
    // The admin sees the defects on the batch in /admin viewstock (8 codes: 5 sold with the order and 1 as a replacement, 2 of them defective).
    let view = sys.slash(
        &admin(),
        "admin",
        vec![fake_discord::SlashOption::sub("viewstock", vec![])],
    );
    let stock = sys
        .answer(view, "the stock view", |m| {
            m.visible_text().contains("defective")
        })
        .await
        .visible_text();
    assert!(
        stock.contains("6 sold · 2 defective (25.0%)"),
        "the batch line shows the defects and their rate: {stock}"
    );

    // No code anywhere but the buyer's DMs and the admin's reveal.
    let dm_channel = sys.fake.dm_channel_of(user.id).expect("a DM channel");
    let everything: Vec<String> = sys
        .fake
        .messages()
        .into_iter()
        .filter(|m| m.channel_id != dm_channel && m.id != revealed.id)
        .map(|m| format!("{}{:?}", m.visible_text(), m.json))
        .chain(
            sys.fake
                .interactions()
                .into_iter()
                .filter(|i| i.id != reveal && i.user_id != user.id)
                .flat_map(|i| i.callbacks.into_iter().map(|c| c.to_string())),
        )
        .collect();
    for code in bought.iter().chain(&new_codes) {
        assert!(
            everything.iter().all(|text| !text.contains(code.as_str())),
            "{code} leaked outside the buyer's DMs"
        );
    }
    sys.assert_every_interaction_answered_in_time().await;
}
