//! The webhook under hostile input: property tests over arbitrary and mutated bodies, and the
//! forged / replayed / tampered notifications that `payment-service/tests/api/webhook.rs` does
//! not already cover (signature over other fields, replays after settlement, an old `expire`
//! replayed, both with and without the status check).

use midtrans_simulator::signature::signature_key;
use midtrans_simulator::{notification_body, resign, NotificationSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use security_tests::{scalar, snapshot, AppOptions, PaymentApp, SERVER_KEY};
use serde_json::{json, Value};

use crate::support::{block_on_runtime, opts};

/// The text the service would sign for a field (strings as they are, numbers as written).
fn scalar_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// True when `body` carries a signature that is right for its own fields under `SERVER_KEY`.
fn correctly_signed(body: &Value) -> bool {
    let (Some(o), Some(s), Some(g), Some(sig)) = (
        scalar_text(body.get("order_id")),
        scalar_text(body.get("status_code")),
        scalar_text(body.get("gross_amount")),
        body.get("signature_key").and_then(Value::as_str),
    ) else {
        return false;
    };
    signature_key(&o, &s, &g, SERVER_KEY) == sig.trim()
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("10000.00"),
            Just("-10000.00"),
            Just("1e308"),
            Just("99999999999999999999999.00"),
            Just("0.00"),
            Just("10000.5"),
            Just("settlement"),
            Just("capture"),
            Just("expire"),
            Just("200"),
            Just("201"),
            Just("'; DROP TABLE topups; --"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "order_id",
    "status_code",
    "gross_amount",
    "signature_key",
    "transaction_status",
    "fraud_status",
    "transaction_id",
    "payment_type",
    "settlement_time",
    "metadata",
];

#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    Set(usize, Value),
    /// Fee-imposition amount pointing somewhere else.
    Original(Value),
    Extra(String, Value),
    /// Re-sign with the right key after the other mutations (so only the state machine and
    /// the amount checks stand between the body and a credit).
    Resign,
    /// Re-sign with the wrong key.
    ResignWrong,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..FIELDS.len()).prop_map(Mutation::Remove),
        (0..FIELDS.len(), any_json()).prop_map(|(i, v)| Mutation::Set(i, v)),
        any_json().prop_map(Mutation::Original),
        ("[a-z_]{1,20}", any_json()).prop_map(|(k, v)| Mutation::Extra(k, v)),
        Just(Mutation::Resign),
        Just(Mutation::ResignWrong),
    ]
}

fn apply(mut body: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let Some(obj) = body.as_object_mut() else {
            return body;
        };
        match m {
            Mutation::Remove(i) => {
                obj.remove(FIELDS[*i]);
            }
            Mutation::Set(i, v) => {
                obj.insert(FIELDS[*i].to_string(), v.clone());
            }
            Mutation::Original(v) => {
                obj.insert(
                    "metadata".into(),
                    json!({"extra_info": {"gross_amount_info": {"original_amount": v}}}),
                );
            }
            Mutation::Extra(k, v) => {
                obj.insert(k.clone(), v.clone());
            }
            Mutation::Resign => resign(&mut body, SERVER_KEY),
            Mutation::ResignWrong => resign(&mut body, "SB-Mid-server-ATTACKER"),
        }
    }
    body
}

#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    Json(Value),
    /// A mutation of a real notification for `target`; `paid` picks the paid or the pending one.
    Mutated {
        paid: bool,
        mutations: Vec<Mutation>,
    },
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..1024).prop_map(Input::Bytes),
        1 => any_json().prop_map(Input::Json),
        4 => (any::<bool>(), proptest::collection::vec(mutation(), 1..5))
            .prop_map(|(paid, mutations)| Input::Mutated { paid, mutations }),
    ]
}

/// Arbitrary and mutated bodies against the running app. With the status check on (the
/// default) nothing may be credited at all for the pending top-up (Midtrans says pending), and
/// never twice for the paid one; with it off, nothing changes unless the body is correctly
/// signed. Answers are only ever 200/400/401 (the database is up, so never 5xx).
fn webhook_bodies(verify_status: bool, cases: u32) {
    let rt = block_on_runtime();
    let (app, paid, paid_body, pending_body) = rt.block_on(async {
        let app = PaymentApp::start_with(AppOptions {
            extra: opts(&[
                ("MIDTRANS_VERIFY_STATUS", &verify_status.to_string()),
                ("WEBHOOK_MAX_BODY_BYTES", "16384"),
            ]),
            ..Default::default()
        })
        .await
        .expect("app starts");
        // One top-up paid at Midtrans (its settlement not yet delivered), one still pending.
        let paid = app.create_topup("fuzz-paid", 4_001, 25_000).await;
        app.sim.pay(&paid).await.expect("paid");
        let paid_body = app.signed_notification(&paid).await;
        let pending = app.create_topup("fuzz-pending", 4_002, 30_000).await;
        let pending_body = notification_body(
            &NotificationSpec::new(&pending, "settlement", 30_000),
            SERVER_KEY,
        );
        (app, paid, paid_body, pending_body)
    });

    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&input(), |inp| {
        rt.block_on(async {
            let before = snapshot(&app.db).await;
            let (bytes, body) = match &inp {
                Input::Bytes(b) => (b.clone(), None),
                Input::Json(v) => (v.to_string().into_bytes(), Some(v.clone())),
                Input::Mutated { paid, mutations } => {
                    let base = if *paid {
                        paid_body.clone()
                    } else {
                        pending_body.clone()
                    };
                    let v = apply(base, mutations);
                    (v.to_string().into_bytes(), Some(v))
                }
            };
            let (status, text) = app.post(bytes).await;
            prop_assert!(
                matches!(status, 200 | 400 | 401),
                "status {} ({}) for {:?}",
                status,
                text,
                inp
            );
            let after = snapshot(&app.db).await;
            let signed = body.as_ref().is_some_and(correctly_signed);
            if !signed {
                prop_assert_eq!(
                    &before,
                    &after,
                    "changed without a valid signature: {:?}",
                    inp
                );
            }
            // Never more than the stored amounts, never twice, ledger = balances.
            let paid_balance = app.balance(4_001).await;
            let pending_balance = app.balance(4_002).await;
            let ledger = scalar(
                &app.db,
                "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM balance_ledger",
                vec![],
            )
            .await;
            prop_assert_eq!(paid_balance + pending_balance, ledger);
            prop_assert!(paid_balance == 0 || paid_balance == 25_000);
            if verify_status {
                prop_assert_eq!(pending_balance, 0, "credited a top-up Midtrans has pending");
            } else {
                prop_assert!(pending_balance == 0 || pending_balance == 30_000);
            }
            let rows = scalar(
                &app.db,
                "SELECT COUNT(*) FROM balance_ledger WHERE reference = $1",
                vec![paid.clone().into()],
            )
            .await;
            prop_assert!(rows <= 1);
            Ok(())
        })
    });
    rt.block_on(async {
        if let Err(e) = result {
            panic!("{e}");
        }
        // The app is still healthy after all of it.
        let health = app
            .http
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status().as_u16(), 200);
        app.stop().await;
    });
}

#[test]
fn webhook_bodies_with_status_check() {
    webhook_bodies(true, crate::support::cases(96));
}

#[test]
fn webhook_bodies_without_status_check() {
    webhook_bodies(false, crate::support::cases(96));
}

// ---- forged, replayed, tampered ---------------------------------------------------------

async fn app(verify_status: bool) -> PaymentApp {
    PaymentApp::start_with(AppOptions {
        extra: opts(&[("MIDTRANS_VERIFY_STATUS", &verify_status.to_string())]),
        ..Default::default()
    })
    .await
    .expect("app starts")
}

/// The signature covers order_id + status_code + gross_amount only. A captured `pending`
/// notification (status_code 201) re-labelled `settlement` keeps a valid signature; it must not
/// credit — with the status check (Midtrans says pending) and without it (201 is not a payment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_notification_relabelled_settlement_is_not_credited() {
    for verify in [true, false] {
        let app = app(verify).await;
        let order_id = app.create_topup("relabel", 4_101, 40_000).await;
        let mut body = notification_body(
            &NotificationSpec::new(&order_id, "pending", 40_000),
            SERVER_KEY,
        );
        assert_eq!(body["status_code"], "201");
        let signature = body["signature_key"].clone();
        body["transaction_status"] = json!("settlement");
        body["fraud_status"] = json!("accept");
        body["settlement_time"] = body["transaction_time"].clone();
        assert_eq!(body["signature_key"], signature, "signature still valid");
        assert_eq!(app.post_json(&body).await, 200, "verify={verify}");
        assert_eq!(
            app.balance(4_101).await,
            0,
            "verify={verify}: a pending notification relabelled settlement was credited"
        );
        assert_eq!(app.topup_status(&order_id).await.0, "pending");
        // A `capture` whose fraud_status was flipped to accept, same trick.
        let mut capture = notification_body(
            &NotificationSpec::new(&order_id, "capture", 40_000),
            SERVER_KEY,
        );
        capture["status_code"] = json!("201");
        resign(&mut capture, SERVER_KEY);
        capture["fraud_status"] = json!("challenge");
        let sig = capture["signature_key"].clone();
        capture["fraud_status"] = json!("accept");
        assert_eq!(capture["signature_key"], sig);
        assert_eq!(app.post_json(&capture).await, 200);
        assert_eq!(
            app.balance(4_101).await,
            0,
            "verify={verify}: flipped fraud_status credited"
        );
        app.stop().await;
    }
}

/// A valid settlement replayed after it was applied — sequentially, concurrently, and after
/// the balance was spent — credits once; a replay to another order id is refused (signature).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_settlement_credits_once_even_after_the_balance_changed() {
    for verify in [true, false] {
        let app = app(verify).await;
        let order_id = app.create_topup("replay", 4_201, 60_000).await;
        app.sim.pay(&order_id).await.expect("paid");
        let body = app.signed_notification(&order_id).await;
        assert_eq!(app.post_json(&body).await, 200);
        assert_eq!(app.balance(4_201).await, 60_000);
        // The balance moves (an operator adjustment stands in for spending it).
        security_tests::execute(
            &app.db,
            "UPDATE users SET balance = 0 WHERE user_id = $1",
            vec![4_201i64.into()],
        )
        .await;
        let replays: Vec<_> = (0..20)
            .map(|_| {
                let http = app.http.clone();
                let url = app.webhook_url();
                let body = body.clone();
                tokio::spawn(async move {
                    http.post(url)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                })
            })
            .collect();
        for r in replays {
            assert_eq!(r.await.expect("task").expect("answer"), 200);
        }
        assert_eq!(
            app.balance(4_201).await,
            0,
            "verify={verify}: replay credited again"
        );
        assert_eq!(
            scalar(
                &app.db,
                "SELECT COUNT(*) FROM balance_ledger WHERE reference = $1",
                vec![order_id.clone().into()]
            )
            .await,
            1
        );
        assert_eq!(
            scalar(
                &app.db,
                "SELECT COUNT(*) FROM outbox WHERE message_type = 'topup.settled'",
                vec![]
            )
            .await,
            1
        );
        // The same body pointed at another pending top-up of the same amount: the signature
        // no longer matches.
        let other = app.create_topup("replay-2", 4_202, 60_000).await;
        let mut moved = body.clone();
        moved["order_id"] = json!(other);
        assert_eq!(app.post_json(&moved).await, 401);
        assert_eq!(app.balance(4_202).await, 0);
        app.stop().await;
    }
}

/// An `expire` captured while the top-up was pending and replayed after it succeeded changes
/// nothing; an `expire` with a tampered status_code (signature broken) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_expire_replayed_after_success_changes_nothing() {
    for verify in [true, false] {
        let app = app(verify).await;
        let order_id = app.create_topup("old-expire", 4_301, 20_000).await;
        let old_expire = notification_body(
            &NotificationSpec::new(&order_id, "expire", 20_000),
            SERVER_KEY,
        );
        app.sim.pay(&order_id).await.expect("paid");
        let settled = app.signed_notification(&order_id).await;
        assert_eq!(app.post_json(&settled).await, 200);
        assert_eq!(app.balance(4_301).await, 20_000);
        let before = snapshot(&app.db).await;
        for _ in 0..3 {
            assert_eq!(app.post_json(&old_expire).await, 200);
        }
        let mut broken = old_expire.clone();
        broken["status_code"] = json!("200");
        assert_eq!(app.post_json(&broken).await, 401);
        assert_eq!(snapshot(&app.db).await, before, "verify={verify}");
        assert_eq!(
            app.topup_status(&order_id).await,
            ("success".to_string(), Some("settlement".to_string()))
        );
        app.stop().await;
    }
}

/// Amount tampering in every place a forger could try: gross_amount (re-signed with a guessed
/// key → 401), the fee-imposition original_amount (not covered by the signature), number
/// instead of string, and a lower gross_amount with a correct signature (status check off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_amounts_are_never_credited() {
    let app = app(false).await;
    let order_id = app.create_topup("amount", 4_401, 100_000).await;
    // original_amount claims the stored amount while the customer paid 1 rupiah.
    let mut fee = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 1),
        SERVER_KEY,
    );
    fee["metadata"] =
        json!({"extra_info": {"gross_amount_info": {"original_amount": "100000.00"}}});
    assert_eq!(app.post_json(&fee).await, 200);
    assert_eq!(
        app.balance(4_401).await,
        0,
        "original_amount above what was paid was credited"
    );
    // A wrong key guessed by the forger.
    let mut guessed = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 100_000),
        "SB-Mid-server-guess",
    );
    assert_eq!(app.post_json(&guessed).await, 401);
    // Same fields as numbers, signed over their text with the wrong key: still 401.
    guessed["gross_amount"] = json!(100000);
    resign(&mut guessed, "SB-Mid-server-guess");
    assert_eq!(app.post_json(&guessed).await, 401);
    // A signature that is a prefix or an extension of the right one, or empty. (Upper-case hex
    // of the right digest is the same signature and is accepted, so it is not tried here.)
    let mut right = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 100_000),
        SERVER_KEY,
    );
    let sig = right["signature_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for forged in [
        sig[..64].to_string(),
        format!("{sig}00"),
        format!(
            "{}{}",
            if sig.starts_with('0') { '1' } else { '0' },
            &sig[1..]
        ),
        String::new(),
    ] {
        right["signature_key"] = json!(forged);
        let status = app.post_json(&right).await;
        assert!(
            status == 401 || status == 400,
            "{status} for signature {forged:?}"
        );
    }
    assert_eq!(app.balance(4_401).await, 0);
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM balance_ledger", vec![]).await,
        0
    );
    app.stop().await;
}

/// Body limit: exactly at the limit is read (then judged on content), one byte over is 413,
/// and a chunked body without Content-Length over the limit is 413 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let app = PaymentApp::start_with(AppOptions {
        extra: opts(&[("WEBHOOK_MAX_BODY_BYTES", "2048")]),
        ..Default::default()
    })
    .await
    .expect("app starts");
    let pad = |n: usize| {
        let base = r#"{"order_id":"x","pad":""}"#;
        let fill = "a".repeat(n - base.len());
        format!(r#"{{"order_id":"x","pad":"{fill}"}}"#)
    };
    assert_eq!(
        app.post(pad(2048)).await.0,
        400,
        "at the limit: read, then malformed"
    );
    assert_eq!(app.post(pad(2049)).await.0, 413);
    assert_eq!(app.post(pad(1024 * 1024)).await.0, 413);
    // Chunked, no Content-Length: the limit holds while streaming.
    assert_eq!(
        crate::support::post_chunked(&app.address, "/webhook/midtrans", 64, 1024).await,
        413
    );
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM topups", vec![]).await,
        0
    );
    app.stop().await;
}
