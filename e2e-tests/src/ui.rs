//! Acting as a person: commands, and clicks on the buttons and menus the bot actually sent,
//! found by what they say (labels), never by constructing custom_ids.

use std::time::Duration;

use fake_discord::{FakeUser, RecordedMessage, SlashOption};
use serde_json::Value;

use crate::{System, STEP_TIMEOUT};

/// Discord's flag on a deferred response still showing "thinking…".
const LOADING: u64 = 128;
const EPHEMERAL: u64 = 64;

fn components(m: &RecordedMessage) -> Vec<Value> {
    m.components()
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn labels(m: &RecordedMessage) -> Vec<String> {
    components(m)
        .iter()
        .filter_map(|c| c["label"].as_str().map(str::to_string))
        .collect()
}

/// `count` codes unique to this run (for stock uploads).
pub fn fresh_codes(count: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..count)
        .map(|i| format!("RF-{}-{i:03}", &run[..10]).to_uppercase())
        .collect()
}

/// Whether the message shows an enabled button labelled `label`.
pub fn has_button(m: &RecordedMessage, label: &str) -> bool {
    components(m)
        .iter()
        .any(|c| c["type"] == 2 && c["label"] == label && c["disabled"].as_bool() != Some(true))
}

/// The custom_id of the button labelled `label`, as the bot sent it.
pub fn button_id(m: &RecordedMessage, label: &str) -> String {
    let ids = m.custom_ids();
    let found = components(m)
        .iter()
        .find(|c| c["type"] == 2 && c["label"] == label)
        .and_then(|c| c["custom_id"].as_str().map(str::to_string));
    match found {
        Some(id) => {
            assert!(ids.contains(&id));
            id
        }
        None => panic!(
            "no button {label:?} on the message; it shows {:?} and says:\n{}",
            labels(m),
            m.visible_text()
        ),
    }
}

/// The select menu's custom_id and the value of its option whose label starts with `label`.
pub fn select_value(m: &RecordedMessage, label: &str) -> (String, String) {
    for c in components(m).iter().filter(|c| c["type"] == 3) {
        let Some(id) = c["custom_id"].as_str() else {
            continue;
        };
        for option in c["options"].as_array().into_iter().flatten() {
            if option["label"]
                .as_str()
                .is_some_and(|l| l.starts_with(label))
            {
                if let Some(value) = option["value"].as_str() {
                    return (id.to_string(), value.to_string());
                }
            }
        }
    }
    panic!(
        "no select option starting with {label:?}; the message has {:?}",
        m.components()
    );
}

/// The codes a message carries: lines that are a single `code` in an embed, plus the lines of
/// attached .txt files.
pub fn codes_in(m: &RecordedMessage) -> Vec<String> {
    let mut codes = Vec::new();
    for embed in m.embeds() {
        for line in embed["description"].as_str().unwrap_or_default().lines() {
            let line = line.trim();
            if line.len() > 2 && line.starts_with('`') && line.ends_with('`') {
                codes.push(line.trim_matches('`').to_string());
            }
        }
    }
    for file in &m.files {
        if file.filename.ends_with(".txt") {
            codes.extend(
                file.text()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            );
        }
    }
    codes
}

fn has_select(m: &RecordedMessage) -> bool {
    components(m).iter().any(|c| c["type"] == 3)
}

impl System {
    /// The user types `/name`.
    pub fn slash(&self, user: &FakeUser, name: &str, options: Vec<SlashOption>) -> u64 {
        self.fake
            .send_slash_command(user, name, options)
            .unwrap_or_else(|e| panic!("/{name} could not be sent: {e:#}"))
    }

    /// The user clicks the button labelled `label` on `message`.
    pub fn click(&self, user: &FakeUser, message: &RecordedMessage, label: &str) -> u64 {
        let id = button_id(message, label);
        self.fake
            .click_button(user, message, &id)
            .unwrap_or_else(|e| panic!("clicking {label:?} failed: {e:#}"))
    }

    /// The user picks the option starting with `label` in the message's select menu.
    pub fn pick(&self, user: &FakeUser, message: &RecordedMessage, label: &str) -> u64 {
        let (id, value) = select_value(message, label);
        self.fake
            .select_menu(user, message, &id, &[value.as_str()])
            .unwrap_or_else(|e| panic!("picking {label:?} failed: {e:#}"))
    }

    /// Waits until the response to `interaction` (the new message, or the clicked message for
    /// a deferred update) is finished and satisfies `done`.
    pub async fn answer(
        &self,
        interaction: u64,
        what: &str,
        done: impl Fn(&RecordedMessage) -> bool,
    ) -> RecordedMessage {
        let found = self
            .fake
            .wait_for(STEP_TIMEOUT, |f| {
                f.original_response_of(interaction)
                    .filter(|m| m.flags() & LOADING == 0 && done(m))
            })
            .await;
        match found {
            Some(m) => m,
            None => panic!(
                "no answer ({what}) to interaction {interaction} within {STEP_TIMEOUT:?}; it shows: {:?}; callbacks: {:?}",
                self.fake
                    .original_response_of(interaction)
                    .map(|m| m.visible_text()),
                self.fake.interaction_responses(interaction)
            ),
        }
    }

    /// The custom_id of the modal that the click `interaction` opened (callback type 9).
    pub async fn opened_modal(&self, interaction: u64, what: &str) -> String {
        let modal = self
            .fake
            .wait_for(STEP_TIMEOUT, |f| {
                f.interaction_responses(interaction)
                    .into_iter()
                    .find(|c| c["type"] == 9)
            })
            .await
            .unwrap_or_else(|| panic!("{what}: no modal was opened"));
        modal["data"]["custom_id"]
            .as_str()
            .expect("a modal has a custom_id")
            .to_string()
    }

    /// `/shop`: the main menu.
    pub async fn open_shop(&self, user: &FakeUser) -> RecordedMessage {
        let id = self.slash(user, "shop", vec![]);
        let menu = self
            .answer(id, "the shop menu", |m| has_button(m, "Top up"))
            .await;
        assert_ne!(menu.flags() & EPHEMERAL, 0, "the menu is only for the user");
        menu
    }

    /// `/shop` → Top up → the preset `preset_label` (e.g. "Rp 50.000"): returns the QR message
    /// and the top-up's order id read from it.
    pub async fn start_top_up(
        &self,
        user: &FakeUser,
        preset_label: &str,
    ) -> (RecordedMessage, String) {
        let menu = self.open_shop(user).await;
        let click = self.click(user, &menu, "Top up");
        let picker = self
            .answer(click, "the top-up picker", |m| has_button(m, preset_label))
            .await;
        let click = self.click(user, &picker, preset_label);
        let qr = self
            .answer(click, "the QR code", |m| {
                // "Scan to pay", or "TEST PAYMENT (sandbox): scan to pay" in sandbox mode.
                m.visible_text().to_lowercase().contains("scan to pay")
            })
            .await;
        let order_id = qr
            .visible_text()
            .lines()
            .find_map(|l| l.strip_prefix("Top-up ").map(str::trim).map(str::to_string))
            .unwrap_or_else(|| panic!("the QR message names no top-up: {}", qr.visible_text()));
        (qr, order_id)
    }

    /// The customer pays a pending QRIS charge (the simulator's control API, as the demo does).
    pub async fn pay(&self, order_id: &str) {
        let url = format!("{}/_sim/transactions/{order_id}/pay", self.sim.base_url());
        let response = self
            .http
            .post(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {url} → {status}: {body}");
    }

    /// A whole top-up: `/shop` → Top up → preset → paid → the DM saying it arrived.
    pub async fn top_up(&self, user: &FakeUser, preset_label: &str) -> RecordedMessage {
        let (_, order_id) = self.start_top_up(user, preset_label).await;
        self.pay(&order_id).await;
        self.wait_dm(user, "the top-up DM", |m| {
            m.visible_text().contains("Top-up received") && m.visible_text().contains(&order_id)
        })
        .await
    }

    /// Waits for a DM to `user` satisfying `done`.
    pub async fn wait_dm(
        &self,
        user: &FakeUser,
        what: &str,
        done: impl Fn(&RecordedMessage) -> bool,
    ) -> RecordedMessage {
        let found = self
            .fake
            .wait_for(STEP_TIMEOUT, |f| {
                f.dm_messages_to(user.id).into_iter().find(|m| done(m))
            })
            .await;
        found.unwrap_or_else(|| {
            panic!(
                "no DM ({what}) to {} within {STEP_TIMEOUT:?}; DMs: {:?}",
                user.username,
                self.fake
                    .dm_messages_to(user.id)
                    .iter()
                    .map(|m| m.visible_text())
                    .collect::<Vec<_>>()
            )
        })
    }

    /// `/balance`: the answer's text.
    pub async fn balance_text(&self, user: &FakeUser) -> String {
        let id = self.slash(user, "balance", vec![]);
        self.answer(id, "the balance", |m| {
            m.visible_text().contains("Your balance")
        })
        .await
        .visible_text()
    }

    /// `/admin addstock file:<codes.txt>`: the answer.
    pub async fn add_stock(&self, user: &FakeUser, codes: &[String]) -> RecordedMessage {
        let mut text = codes.join("\n");
        text.push('\n');
        let file = self.fake.add_attachment("codes.txt", text.into_bytes());
        let id = self.slash(
            user,
            "admin",
            vec![SlashOption::sub(
                "addstock",
                vec![SlashOption::attachment("file", &file)],
            )],
        );
        self.answer(id, "the addstock answer", |m| !m.embeds().is_empty())
            .await
    }

    /// `/shop` → Order codes → the package starting with `package_label` (e.g. "5 codes"): the
    /// step shown next (confirm, not enough balance, or out of stock).
    pub async fn order_step(&self, user: &FakeUser, package_label: &str) -> RecordedMessage {
        let menu = self.open_shop(user).await;
        let click = self.click(user, &menu, "Order codes");
        let picker = self.answer(click, "the package menu", has_select).await;
        let pick = self.pick(user, &picker, package_label);
        self.answer(pick, "the step after picking a package", |m| !has_select(m))
            .await
    }

    /// Clicks Confirm on the confirm step; returns the click's interaction id.
    pub fn confirm(&self, user: &FakeUser, step: &RecordedMessage) -> u64 {
        self.click(user, step, "Confirm")
    }

    /// The outcome shown after Confirm (placed, out of stock, not enough balance, error).
    pub async fn order_outcome(&self, confirm: u64) -> RecordedMessage {
        self.answer(confirm, "the order outcome", |m| {
            !m.visible_text().contains("Placing your order")
                && !m.visible_text().contains("Confirm your order")
        })
        .await
    }

    /// Waits for the DM carrying an order's codes.
    pub async fn codes_dm(&self, user: &FakeUser) -> RecordedMessage {
        self.wait_dm(user, "the codes", |m| {
            m.visible_text().contains("Your Redfinger codes")
        })
        .await
    }

    /// Discord's 3-second rule held for every interaction so far: each one was answered, in
    /// time, and none counts as failed.
    pub async fn assert_every_interaction_answered_in_time(&self) {
        // Let the last answers land before judging.
        let _ = self
            .fake
            .wait_for(Duration::from_secs(5), |f| {
                f.interactions()
                    .iter()
                    .all(|i| i.acknowledged_at.is_some() || i.failed)
                    .then_some(())
            })
            .await;
        let interactions = self.fake.interactions();
        assert!(!interactions.is_empty());
        let failed = self.fake.failed_interactions();
        assert!(
            failed.is_empty(),
            "interactions that failed Discord's deadline: {:?}",
            failed
                .iter()
                .map(|i| (
                    i.kind,
                    i.payload["data"]["name"].clone(),
                    i.payload["data"]["custom_id"].clone()
                ))
                .collect::<Vec<_>>()
        );
        for i in &interactions {
            let latency = i.latency().unwrap_or_else(|| {
                panic!("interaction {} ({:?}) was never answered", i.id, i.kind)
            });
            assert!(
                latency < Duration::from_secs(3),
                "interaction {} ({:?}) took {latency:?}",
                i.id,
                i.kind
            );
        }
    }
}
