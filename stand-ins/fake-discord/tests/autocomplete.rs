//! An autocomplete interaction (type 4) as Discord sends it while a user types in an option:
//! the focused option carries the text typed, serenity reads it as autocomplete data, and the
//! type 8 answer with choices is recorded (no message is made).

use fake_discord::{FakeDiscord, FakeDiscordConfig, FakeUser, InteractionKind, SlashOption};
use serde_json::json;
use serenity::all::{CommandDataOptionValue, Interaction};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_focused_option_is_sent_as_text_and_the_choices_are_recorded() {
    let fake = FakeDiscord::start(FakeDiscordConfig::default())
        .await
        .unwrap();
    let user = FakeUser::new(1_200_000_000_000_000_078, "typist");
    let id = fake
        .send_autocomplete(
            &user,
            "admin",
            vec![SlashOption::SubCommandGroup(
                "product".into(),
                vec![SlashOption::sub(
                    "price",
                    vec![
                        SlashOption::integer("product", 2),
                        SlashOption::integer("package", 1),
                    ],
                )],
            )],
            "product",
        )
        .unwrap();
    assert!(fake
        .send_autocomplete(&user, "admin", vec![], "product")
        .is_err());

    let record = fake.interaction(id).unwrap();
    assert_eq!(record.kind, InteractionKind::Autocomplete);
    assert_eq!(record.payload["type"], 4);
    let Interaction::Autocomplete(auto) =
        serde_json::from_value::<Interaction>(record.payload.clone()).unwrap()
    else {
        panic!("serenity reads an autocomplete interaction")
    };
    let focused = auto.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("product", "2"));
    let CommandDataOptionValue::SubCommandGroup(group) = &auto.data.options[0].value else {
        panic!("the group")
    };
    let CommandDataOptionValue::SubCommand(options) = &group[0].value else {
        panic!("the subcommand")
    };
    assert!(matches!(
        options[1].value,
        CommandDataOptionValue::Integer(1)
    ));

    let url = format!(
        "{}/api/v10/interactions/{id}/{}/callback",
        fake.base_url(),
        record.token
    );
    let choices =
        json!({"type": 8, "data": {"choices": [{"name": "KVIP 7 days (#2)", "value": 2}]}});
    let status = reqwest::Client::new()
        .post(url)
        .json(&choices)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    assert_eq!(fake.interaction_responses(id), vec![choices]);
    assert!(fake.original_response_of(id).is_none(), "no message");
    assert!(fake.failed_interactions().is_empty());
}
