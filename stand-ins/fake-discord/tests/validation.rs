//! The fake refuses every body the real Discord refuses, with Discord's answer: 400, code 50035
//! "Invalid Form Body" and the `errors` tree naming the field. Bodies are checked against
//! Discord's OpenAPI specification and the documented rules it does not encode; valid bodies as
//! serenity builds them pass, and a test that received a refusal it did not ask for fails.

use std::panic::AssertUnwindSafe;

use fake_discord::{control, FakeDiscord, FakeDiscordConfig, FakeUser, RunningFake};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, CreateActionRow, CreateAttachment, CreateButton, CreateEmbed, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, CreateModal, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
    EditInteractionResponse, HttpBuilder, InputTextStyle, Interaction,
};

const USER: u64 = 1_200_000_000_000_000_042;

async fn start() -> RunningFake {
    FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .expect("the fake starts")
}

/// Sends a JSON body with bot auth; the status and the JSON answer.
async fn send(
    fake: &RunningFake,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}/api/v10{path}", fake.base_url()))
        .header("Authorization", "Bot fake-token")
        .json(&body)
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

async fn post_message(fake: &RunningFake, body: Value) -> (u16, Value) {
    let path = format!("/channels/{}/messages", fake.config().channel_id);
    send(fake, reqwest::Method::POST, &path, body).await
}

async fn callback(fake: &RunningFake, interaction: u64, body: Value) -> (u16, Value) {
    let token = fake.interaction(interaction).expect("dispatched").token;
    let path = format!("/interactions/{interaction}/{token}/callback");
    send(fake, reqwest::Method::POST, &path, body).await
}

/// Asserts Discord's 50035 answer with the first error at `path` (dot-separated) having `code`.
fn assert_refused(answer: &(u16, Value), path: &str, code: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 400, "{body}");
    assert_eq!(body["code"], 50035, "{body}");
    assert_eq!(body["message"], "Invalid Form Body", "{body}");
    let node = path
        .split('.')
        .fold(&body["errors"], |node, segment| &node[segment]);
    assert_eq!(node["_errors"][0]["code"], code, "errors at {path}: {body}");
}

fn button(id: &str) -> Value {
    json!({"type": 2, "style": 1, "label": "Go", "custom_id": id})
}

fn row(components: Vec<Value>) -> Value {
    json!({"type": 1, "components": components})
}

fn options(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"label": format!("Option {i}"), "value": format!("v{i}")}))
        .collect()
}

fn text_input(id: &str) -> Value {
    row(vec![
        json!({"type": 4, "custom_id": id, "label": "Amount", "style": 1}),
    ])
}

fn user() -> FakeUser {
    FakeUser::new(USER, "validator")
}

/// A slash command, answered with a message carrying button `b`, then a click on it.
async fn command_then_click(fake: &RunningFake) -> (u64, u64) {
    let command = fake.send_slash_command(&user(), "shop", vec![]).unwrap();
    let answer = callback(
        fake,
        command,
        json!({"type": 4, "data": {"content": "menu", "components": [row(vec![button("b")])]}}),
    )
    .await;
    assert_eq!(answer.0, 204, "{}", answer.1);
    let message = fake.original_response_of(command).expect("menu shown");
    let click = fake.click_button(&user(), &message, "b").unwrap();
    (command, click)
}

#[tokio::test]
async fn content_of_2001_characters_is_refused_at_content() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let answer = post_message(&fake, json!({"content": "a".repeat(2001)})).await;
    assert_refused(&answer, "content", "BASE_TYPE_MAX_LENGTH");
    let (status, _) = post_message(&fake, json!({"content": "é".repeat(2000)})).await;
    assert_eq!(status, 200, "2000 characters (not bytes) are allowed");
    assert_eq!(
        fake.messages().len(),
        1,
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn six_action_rows_are_refused_at_components() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let rows: Vec<Value> = (0..6)
        .map(|i| row(vec![button(&format!("b{i}"))]))
        .collect();
    let answer = post_message(&fake, json!({"content": "x", "components": rows})).await;
    assert_refused(&answer, "components", "BASE_TYPE_MAX_LENGTH");
    let six_buttons: Vec<Value> = (0..6).map(|i| button(&format!("b{i}"))).collect();
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(six_buttons)]}),
    )
    .await;
    assert_refused(&answer, "components.0.components", "BASE_TYPE_MAX_LENGTH");
}

#[tokio::test]
async fn a_select_sharing_its_row_is_refused() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let select = json!({"type": 3, "custom_id": "pick", "options": options(3)});
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![select, button("b")])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.0.components",
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
    );
}

#[tokio::test]
async fn a_select_with_26_options_is_refused_at_its_options() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let select = json!({"type": 3, "custom_id": "pick", "options": options(26)});
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![select])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.0.components.0.options",
        "BASE_TYPE_MAX_LENGTH",
    );
    let empty = json!({"type": 3, "custom_id": "pick", "options": []});
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![empty])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.0.components.0.options",
        "BASE_TYPE_MIN_LENGTH",
    );
}

#[tokio::test]
async fn duplicate_custom_ids_are_refused_at_the_second() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![button("same")]), row(vec![button("same")])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.1.components.0.custom_id",
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    );
    let long_id = "i".repeat(101);
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![button(&long_id)])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.0.components.0.custom_id",
        "BASE_TYPE_MAX_LENGTH",
    );
}

#[tokio::test]
async fn a_button_label_of_81_characters_is_refused() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let long = json!({"type": 2, "style": 1, "label": "l".repeat(81), "custom_id": "b"});
    let answer = post_message(
        &fake,
        json!({"content": "x", "components": [row(vec![long])]}),
    )
    .await;
    assert_refused(
        &answer,
        "components.0.components.0.label",
        "BASE_TYPE_MAX_LENGTH",
    );
}

#[tokio::test]
async fn a_modal_title_of_46_characters_or_six_inputs_is_refused() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let command = fake.send_slash_command(&user(), "topup", vec![]).unwrap();
    let answer = callback(
        &fake,
        command,
        json!({"type": 9, "data": {"custom_id": "m", "title": "t".repeat(46), "components": [text_input("a")]}}),
    )
    .await;
    assert_refused(&answer, "data.title", "BASE_TYPE_MAX_LENGTH");
    let inputs: Vec<Value> = (0..6).map(|i| text_input(&format!("i{i}"))).collect();
    let answer = callback(
        &fake,
        command,
        json!({"type": 9, "data": {"custom_id": "m", "title": "Top up", "components": inputs}}),
    )
    .await;
    assert_refused(&answer, "data.components", "BASE_TYPE_MAX_LENGTH");
    assert!(
        fake.interaction(command).unwrap().acknowledged_at.is_none(),
        "a refused response does not answer the interaction"
    );
    let answer = callback(
        &fake,
        command,
        json!({"type": 9, "data": {"custom_id": "m", "title": "t".repeat(45), "components": [text_input("a")]}}),
    )
    .await;
    assert_eq!(answer.0, 204, "{}", answer.1);
}

#[tokio::test]
async fn response_type_7_to_a_slash_command_is_refused_at_type() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let command = fake.send_slash_command(&user(), "shop", vec![]).unwrap();
    for kind in [6, 7] {
        let answer = callback(
            &fake,
            command,
            json!({"type": kind, "data": {"content": "x"}}),
        )
        .await;
        assert_refused(&answer, "type", "INTERACTION_CALLBACK_TYPE_INVALID");
    }
    let (_, click) = command_then_click(&fake).await;
    let answer = callback(
        &fake,
        click,
        json!({"type": 7, "data": {"content": "updated"}}),
    )
    .await;
    assert_eq!(answer.0, 204, "type 7 answers a click: {}", answer.1);
}

#[tokio::test]
async fn response_type_9_to_a_modal_submit_is_refused_at_type() {
    let fake = start().await;
    fake.expect_invalid_requests();
    // A modal opened from a slash command: its submit may not update a message (6/7) either.
    let command = fake.send_slash_command(&user(), "topup", vec![]).unwrap();
    let modal = json!({"type": 9, "data": {"custom_id": "m", "title": "Top up", "components": [text_input("amount")]}});
    assert_eq!(callback(&fake, command, modal.clone()).await.0, 204);
    let submit = fake.submit_modal(&user(), "m", &[("amount", "5")]).unwrap();
    let answer = callback(&fake, submit, modal.clone()).await;
    assert_refused(&answer, "type", "INTERACTION_CALLBACK_TYPE_INVALID");
    let answer = callback(&fake, submit, json!({"type": 7, "data": {"content": "x"}})).await;
    assert_refused(&answer, "type", "INTERACTION_CALLBACK_TYPE_INVALID");
    assert_eq!(
        callback(&fake, submit, json!({"type": 4, "data": {"content": "ok"}}))
            .await
            .0,
        204
    );

    // A modal opened from a button: its submit may update the button's message (type 7).
    let (_, click) = command_then_click(&fake).await;
    let modal = json!({"type": 9, "data": {"custom_id": "m2", "title": "Top up", "components": [text_input("amount")]}});
    assert_eq!(callback(&fake, click, modal).await.0, 204);
    let submit = fake
        .submit_modal(&user(), "m2", &[("amount", "5")])
        .unwrap();
    let answer = callback(
        &fake,
        submit,
        json!({"type": 7, "data": {"content": "done"}}),
    )
    .await;
    assert_eq!(answer.0, 204, "{}", answer.1);
}

#[tokio::test]
async fn a_body_against_the_openapi_schema_is_refused_at_the_field() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let answer = post_message(&fake, json!({"content": "x", "flags": "ephemeral"})).await;
    assert_refused(&answer, "flags", "NUMBER_TYPE_COERCE");
    let answer = post_message(
        &fake,
        json!({"content": "x", "embeds": {"title": "not a list"}}),
    )
    .await;
    assert_refused(&answer, "embeds", "LIST_TYPE_CONVERT");
    // Inside a union (the callback kinds), the error names the field of the kind that was meant.
    let command = fake.send_slash_command(&user(), "shop", vec![]).unwrap();
    let answer = callback(
        &fake,
        command,
        json!({"type": 4, "data": {"content": "x", "flags": "sixty-four"}}),
    )
    .await;
    assert_refused(&answer, "data.flags", "NUMBER_TYPE_COERCE");
    let answer = callback(
        &fake,
        command,
        json!({"type": 9, "data": {"title": "t", "components": [text_input("a")]}}),
    )
    .await;
    assert_refused(&answer, "data.custom_id", "BASE_TYPE_REQUIRED");
    let answer = send(
        &fake,
        reqwest::Method::POST,
        "/users/@me/channels",
        json!({"recipient_id": "not-an-id"}),
    )
    .await;
    assert_refused(&answer, "recipient_id", "STRING_TYPE_REGEX");
}

#[tokio::test]
async fn multipart_bodies_are_validated_through_payload_json() {
    let fake = start().await;
    fake.expect_invalid_requests();
    let form = |content: String| {
        reqwest::multipart::Form::new()
            .part(
                "files[0]",
                reqwest::multipart::Part::bytes(b"CODE-1\nCODE-2".to_vec()).file_name("codes.txt"),
            )
            .text(
                "payload_json",
                json!({"content": content, "attachments": [{"id": 0, "filename": "codes.txt"}]})
                    .to_string(),
            )
    };
    let url = format!(
        "{}/api/v10/channels/{}/messages",
        fake.base_url(),
        fake.config().channel_id
    );
    let client = reqwest::Client::new();
    let response = client
        .post(&url)
        .header("Authorization", "Bot fake-token")
        .multipart(form("a".repeat(2001)))
        .send()
        .await
        .unwrap();
    let answer = (
        response.status().as_u16(),
        response.json::<Value>().await.unwrap(),
    );
    assert_refused(&answer, "content", "BASE_TYPE_MAX_LENGTH");
    let response = client
        .post(&url)
        .header("Authorization", "Bot fake-token")
        .multipart(form("your codes".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stored = fake.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].files[0].text(), "CODE-1\nCODE-2");
}

/// What the shop's bot sends, built with serenity's own builders: all of it passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_serenity_builds_for_the_shop_pass() {
    let fake = start().await;
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(fake.config().application_id.into())
        .build();
    let user = user();
    let channel = ChannelId::new(fake.config().channel_id);

    // A channel message with an embed, a row of buttons and a link button, and a file.
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new("shop:topup").label("Top up"),
        CreateButton::new("shop:order").label("Order codes"),
        CreateButton::new_link("https://example.com/help").label("Help"),
    ]);
    let embed = CreateEmbed::new()
        .title("Redfinger Shop")
        .description("Balance: Rp 100.000")
        .field("Stock", "25 codes", true)
        .footer(serenity::all::CreateEmbedFooter::new("Prices in rupiah"));
    channel
        .send_message(
            &http,
            CreateMessage::new()
                .content("Welcome")
                .embed(embed)
                .components(vec![buttons])
                .add_file(CreateAttachment::bytes(b"CODE-1".to_vec(), "codes.txt")),
        )
        .await
        .expect("a shop message passes");

    // A slash command answered with a 25-option select alone in its row.
    let command = fake.send_slash_command(&user, "shop", vec![]).unwrap();
    let Interaction::Command(interaction) =
        serde_json::from_value(fake.interaction(command).unwrap().payload).unwrap()
    else {
        panic!("a command interaction");
    };
    let select = CreateSelectMenu::new(
        "shop:package",
        CreateSelectMenuKind::String {
            options: (0..25)
                .map(|i| CreateSelectMenuOption::new(format!("{i} codes"), format!("p{i}")))
                .collect(),
        },
    );
    interaction
        .create_response(
            &http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("Pick a package")
                    .ephemeral(true)
                    .components(vec![
                        CreateActionRow::SelectMenu(select),
                        CreateActionRow::Buttons(
                            vec![CreateButton::new("shop:back").label("Back")],
                        ),
                    ]),
            ),
        )
        .await
        .expect("a select answer passes");
    interaction
        .edit_response(&http, EditInteractionResponse::new().content("Picked"))
        .await
        .expect("an edit passes");
    interaction
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new()
                .content("Your codes")
                .ephemeral(true)
                .add_file(CreateAttachment::bytes(b"CODE-2".to_vec(), "codes.txt")),
        )
        .await
        .expect("a follow-up with a file passes");

    // A click answered with a modal of five inputs; a second click with a deferred update.
    let message = fake.original_response_of(command).expect("answered");
    let click = fake.click_button(&user, &message, "shop:back").unwrap();
    let Interaction::Component(clicked) =
        serde_json::from_value(fake.interaction(click).unwrap().payload).unwrap()
    else {
        panic!("a component interaction");
    };
    let inputs = (0..5)
        .map(|i| {
            CreateActionRow::InputText(
                CreateInputText::new(InputTextStyle::Short, "Amount", format!("amount{i}"))
                    .required(false),
            )
        })
        .collect();
    clicked
        .create_response(
            &http,
            CreateInteractionResponse::Modal(
                CreateModal::new("topup:modal", "Top up").components(inputs),
            ),
        )
        .await
        .expect("a modal passes");
    let again = fake.click_button(&user, &message, "shop:back").unwrap();
    let Interaction::Component(again) =
        serde_json::from_value(fake.interaction(again).unwrap().payload).unwrap()
    else {
        panic!("a component interaction");
    };
    again
        .create_response(&http, CreateInteractionResponse::Acknowledge)
        .await
        .expect("a deferred update passes");

    assert!(fake.invalid_requests().is_empty());
    // The message, the select answer, the edit, the follow-up, the modal and the deferred update.
    assert_eq!(fake.validated_request_count(), 6);
}

#[tokio::test]
async fn an_unexpected_refusal_fails_the_test_when_the_fake_is_dropped() {
    let fake = start().await;
    let answer = post_message(&fake, json!({"content": "a".repeat(2001)})).await;
    assert_eq!(answer.0, 400);
    let report = fake.check_no_invalid_requests().unwrap_err();
    assert!(report.contains("/channels/"), "{report}");
    assert!(report.contains("BASE_TYPE_MAX_LENGTH"), "{report}");
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(fake)));
    assert!(dropped.is_err(), "dropping the fake panicked");

    let fake = start().await;
    fake.expect_invalid_requests();
    post_message(&fake, json!({"content": "a".repeat(2001)})).await;
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(fake)));
    assert!(
        dropped.is_ok(),
        "an expected refusal does not fail the test"
    );
}

#[tokio::test]
async fn the_request_log_shows_every_request_with_tokens_redacted() {
    let fake = std::sync::Arc::new(start().await);
    fake.expect_invalid_requests();
    let command = fake.send_slash_command(&user(), "shop", vec![]).unwrap();
    let token = fake.interaction(command).unwrap().token;
    callback(&fake, command, json!({"type": 7, "data": {"content": "x"}})).await;
    callback(
        &fake,
        command,
        json!({"type": 4, "data": {"content": "ok"}}),
    )
    .await;
    let control = control::serve(fake.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let log: Vec<Value> = reqwest::get(format!("{}/_fake/requests", control.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    let path = format!("/api/v10/interactions/{command}/[token]/callback");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], path);
    assert_eq!(log[0]["status"], 400);
    assert_eq!(log[0]["validated"], true);
    assert_eq!(
        log[0]["errors"]["type"]["_errors"][0]["code"],
        "INTERACTION_CALLBACK_TYPE_INVALID"
    );
    assert_eq!(log[0]["body"]["type"], 7);
    assert_eq!(log[1]["status"], 204);
    assert_eq!(log[1]["errors"], Value::Null);
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains(&token),
        "the interaction token is not in the log"
    );
    control.stop().await;
}
