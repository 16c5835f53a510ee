//! Messages made in answer to a click or a modal carry the `interaction_metadata` Discord sends
//! (`interacted_message_id`, `triggering_interaction_metadata`), so serenity can read them and
//! the clicks on them: a bot must be able to click through a chain of its own answers.

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeUser, RecordedMessage, RunningFake};
use serde_json::{json, Value};
use serenity::all::{Interaction, Message, MessageInteractionMetadata};

async fn answer(fake: &RunningFake, interaction: u64, body: Value) -> RecordedMessage {
    let token = fake.interaction(interaction).unwrap().token;
    let url = format!(
        "{}/api/v10/interactions/{interaction}/{token}/callback",
        fake.base_url()
    );
    let status = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    fake.original_response_of(interaction)
        .unwrap_or_else(|| fake.messages().last().cloned().unwrap())
}

fn button(id: &str) -> Value {
    json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": id, "custom_id": id}]}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_to_clicks_and_modals_are_readable_by_serenity() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let user = FakeUser::new(1_200_000_000_000_000_077, "clicker");

    let command = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let first = answer(
        &fake,
        command,
        json!({"type": 4, "data": {"content": "menu", "flags": 64, "components": button("a")}}),
    )
    .await;

    let click = fake.click_button(&user, &first, "a").unwrap();
    let second = answer(
        &fake,
        click,
        json!({"type": 4, "data": {"content": "picker", "flags": 64, "components": button("b")}}),
    )
    .await;
    let parsed: Message = serde_json::from_value(second.json.clone()).unwrap();
    match parsed.interaction_metadata.as_deref() {
        Some(MessageInteractionMetadata::Component(meta)) => {
            assert_eq!(meta.interacted_message_id.get(), first.id);
        }
        other => panic!("expected component metadata, got {other:?}"),
    }

    // Clicking the answer to a click gives an INTERACTION_CREATE serenity can read.
    let click = fake.click_button(&user, &second, "b").unwrap();
    let payload = fake.interaction(click).unwrap().payload;
    let parsed: Interaction = serde_json::from_value(payload).unwrap();
    assert!(matches!(parsed, Interaction::Component(_)));

    // A modal opened from that click, submitted, answered: readable too.
    answer(
        &fake,
        click,
        json!({"type": 9, "data": {"custom_id": "m", "title": "Amount", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "amount", "label": "Amount", "style": 1}]}
        ]}}),
    )
    .await;
    let submit = fake
        .submit_modal(&user, "m", &[("amount", "50000")])
        .unwrap();
    let parsed: Interaction =
        serde_json::from_value(fake.interaction(submit).unwrap().payload).unwrap();
    assert!(matches!(parsed, Interaction::Modal(_)));
    let reply = answer(
        &fake,
        submit,
        json!({"type": 4, "data": {"content": "done", "flags": 64, "components": button("c")}}),
    )
    .await;
    let parsed: Message = serde_json::from_value(reply.json.clone()).unwrap();
    assert!(matches!(
        parsed.interaction_metadata.as_deref(),
        Some(MessageInteractionMetadata::ModalSubmit(_))
    ));
    let click = fake.click_button(&user, &reply, "c").unwrap();
    let parsed: Interaction =
        serde_json::from_value(fake.interaction(click).unwrap().payload).unwrap();
    assert!(matches!(parsed, Interaction::Component(_)));
}
