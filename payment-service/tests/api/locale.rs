//! The language a buyer last used is remembered (`users.locale`) and travels on the events
//! sent to the bot for them, so a DM sent later speaks it; a request without one (an older
//! bot) keeps the remembered language.

use sea_orm::ConnectionTrait;
use shared_proto::{DiscordUserId, Idr, TopupCreate, TopupState, TopupStatusQuery, UserRef};

use crate::helpers::{spawn_app_with, Options, TestApp};

fn request(request_id: &str, user_id: u64, locale: Option<&str>) -> TopupCreate {
    TopupCreate {
        request_id: request_id.to_string(),
        user: UserRef {
            user_id: DiscordUserId::new(user_id).unwrap(),
            username: Some(format!("user{user_id}")),
            locale: locale.map(str::to_string),
        },
        amount: Idr::new(20_000),
        interaction: None,
    }
}

async fn remembered(app: &TestApp, user_id: u64) -> Option<String> {
    let row = app
        .db
        .query_one(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            "SELECT locale FROM users WHERE user_id = $1",
            [(user_id as i64).into()],
        ))
        .await
        .unwrap()
        .expect("user row");
    row.try_get::<Option<String>>("", "locale").unwrap()
}

/// The `topup.settled` outbox payload of `order_id`.
async fn settled_payload(app: &TestApp, order_id: &str) -> serde_json::Value {
    let row = app
        .db
        .query_one(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            "SELECT payload FROM outbox WHERE message_type = 'topup.settled' AND payload LIKE $1",
            [format!("%\"{order_id}\"%").into()],
        ))
        .await
        .unwrap()
        .expect("a topup.settled row");
    serde_json::from_str(&row.try_get::<String>("", "payload").unwrap()).unwrap()
}

async fn pay(app: &TestApp, user_id: u64, order_id: &str) {
    app.sim.pay(order_id).await.expect("paid");
    let info = app
        .topups
        .status(&TopupStatusQuery {
            user_id: DiscordUserId::new(user_id).unwrap(),
            order_id: order_id.to_string(),
        })
        .await
        .outcome
        .expect("status");
    assert_eq!(info.state, TopupState::Success);
}

async fn remembers_and_carries_the_language(sqlite: bool) {
    let app = spawn_app_with(Options {
        webhook: false,
        sqlite,
        ..Default::default()
    })
    .await;
    let user = 880_001;
    let first = app
        .topups
        .create(&request("locale-1", user, Some("id")))
        .await
        .outcome
        .expect("charged");
    assert_eq!(remembered(&app, user).await.as_deref(), Some("id"));
    pay(&app, user, &first.order_id).await;
    let event = settled_payload(&app, &first.order_id).await;
    assert_eq!(event["payload"]["locale"], "id", "{event}");
    assert_eq!(event["payload"]["balance_after"], 20_000, "{event}");

    // An older bot sends no locale: the remembered one stays and is still carried.
    let second = app
        .topups
        .create(&request("locale-2", user, None))
        .await
        .outcome
        .expect("charged");
    assert_eq!(remembered(&app, user).await.as_deref(), Some("id"));
    pay(&app, user, &second.order_id).await;
    assert_eq!(
        settled_payload(&app, &second.order_id).await["payload"]["locale"],
        "id"
    );

    // The buyer switches Discord to English.
    app.topups
        .create(&request("locale-3", user, Some("en-US")))
        .await
        .outcome
        .expect("charged");
    assert_eq!(remembered(&app, user).await.as_deref(), Some("en-US"));

    // Nobody known: no locale on the event (the bot uses DEFAULT_LOCALE).
    let stranger = 880_002;
    let third = app
        .topups
        .create(&request("locale-4", stranger, None))
        .await
        .outcome
        .expect("charged");
    assert_eq!(remembered(&app, stranger).await, None);
    pay(&app, stranger, &third.order_id).await;
    let event = settled_payload(&app, &third.order_id).await;
    assert!(event["payload"]["locale"].is_null(), "{event}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_language_is_remembered_and_carried_on_postgres() {
    remembers_and_carries_the_language(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_language_is_remembered_and_carried_on_sqlite() {
    remembers_and_carries_the_language(true).await;
}
