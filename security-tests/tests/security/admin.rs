//! Admin operations at the payment-service, as a hostile broker client sends them: forged,
//! expired, future, replayed and missing claims (→ Forbidden or `reply.error`, audit and stock
//! unchanged), SQL injection in every text a command carries (→ harmless), and the stock upload
//! accounting as a property (added + duplicates + rejected = non-blank non-comment lines).

use chrono::{Duration, Utc};
use payment_service::admin::claim;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use security_tests::{admin_claim, request, scalar, snapshot, PaymentApp, CLAIM_SECRET};
use serde_json::json;
use shared_proto::{
    AdminClaim, AdminOrderProcess, AdminOrdersList, AdminStats, AdminStockAdd,
    AdminStockQuarantine, AdminStockView, Command, DiscordUserId, OrderFilter, ProcessAction,
    QuarantineAction, Reply, ServiceError,
};

use crate::decoders::RawClient;
use crate::support::{block_on_runtime, cases};

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every admin command, carrying `claim` for request id `r`.
fn admin_commands(r: &str, claim: &AdminClaim) -> Vec<Command> {
    vec![
        Command::AdminStockAdd(AdminStockAdd {
            request_id: r.into(),
            claim: claim.clone(),
            text: "FORGED-1\nFORGED-2\n".into(),
            source_name: Some("forged.txt".into()),
        }),
        Command::AdminStockView(AdminStockView {
            request_id: r.into(),
            claim: claim.clone(),
        }),
        Command::AdminOrdersList(AdminOrdersList {
            request_id: r.into(),
            claim: claim.clone(),
            filter: OrderFilter::default(),
            page: 0,
            page_size: 10,
        }),
        Command::AdminOrderProcess(AdminOrderProcess {
            request_id: r.into(),
            claim: claim.clone(),
            order_number: "RF-20260101-ABCDEF".into(),
            action: ProcessAction::Refund,
            force: true,
            reason: Some("forged".into()),
        }),
        Command::AdminStats(AdminStats {
            request_id: r.into(),
            claim: claim.clone(),
        }),
        Command::AdminStockQuarantine(AdminStockQuarantine {
            request_id: r.into(),
            claim: claim.clone(),
            action: QuarantineAction::Discard,
        }),
    ]
}

fn forbidden(reply: &Reply) -> bool {
    let outcome_err = match reply {
        Reply::StockAdded(r) => r.outcome.as_ref().err(),
        Reply::StockView(r) => r.outcome.as_ref().err(),
        Reply::OrdersPage(r) => r.outcome.as_ref().err(),
        Reply::OrderProcessed(r) => r.outcome.as_ref().err(),
        Reply::Stats(r) => r.outcome.as_ref().err(),
        Reply::QuarantineProcessed(r) => r.outcome.as_ref().err(),
        _ => None,
    };
    matches!(outcome_err, Some(ServiceError::Forbidden { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_with_a_bad_claim_are_forbidden_over_the_broker() {
    let app = PaymentApp::start().await.expect("app starts");
    let broker = app.broker().await;
    let before = snapshot(&app.db).await;
    let now = Utc::now();
    let signed = |r: &str, f: &dyn Fn(&mut AdminClaim)| {
        let mut c = admin_claim(r, 42);
        f(&mut c);
        c.signature = claim::sign(CLAIM_SECRET, &c, r);
        c
    };
    type MakeClaim = Box<dyn Fn(&str) -> AdminClaim>;
    let cases: Vec<(&str, MakeClaim)> = vec![
        (
            "forged with another secret",
            Box::new(|r: &str| {
                let mut c = admin_claim(r, 42);
                c.signature = claim::sign("guessed-secret", &c, r);
                c
            }),
        ),
        (
            "expired (issued 11 minutes ago)",
            Box::new(move |r: &str| signed(r, &|c| c.issued_at = now - Duration::minutes(11))),
        ),
        (
            "issued 5 minutes in the future",
            Box::new(move |r: &str| signed(r, &|c| c.issued_at = now + Duration::minutes(5))),
        ),
        (
            "replayed from another request",
            Box::new(|_r: &str| admin_claim("some-earlier-request", 42)),
        ),
        (
            "user id changed after signing",
            Box::new(|r: &str| {
                let mut c = admin_claim(r, 42);
                c.admin_user_id = DiscordUserId::new(43).expect("id");
                c
            }),
        ),
        (
            "role changed after signing",
            Box::new(|r: &str| {
                let mut c = admin_claim(r, 42);
                c.role = "Moderator".into();
                c
            }),
        ),
        (
            "empty signature",
            Box::new(|r: &str| {
                let mut c = admin_claim(r, 42);
                c.signature = String::new();
                c
            }),
        ),
        (
            "signature not hex",
            Box::new(|r: &str| {
                let mut c = admin_claim(r, 42);
                c.signature = "zz".repeat(32);
                c
            }),
        ),
    ];
    for (what, make) in &cases {
        let r = rid();
        let claim = make(&r);
        for command in admin_commands(&r, &claim) {
            let ty = shared_proto::MessageFamily::message_type(&command);
            let reply = request(&broker, command).await;
            assert!(forbidden(&reply), "{what}: {ty} was not refused: {reply:?}");
        }
    }
    assert_eq!(
        snapshot(&app.db).await,
        before,
        "a refused admin command changed something"
    );
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM admin_audit", vec![]).await,
        0
    );

    // No claim at all (a client that simply leaves it out): an error reply, dead-lettered.
    let mut client = RawClient::connect().await;
    let topology = shared_proto::Topology::new(app.namespace.clone());
    for ty in ["admin.stock.add", "admin.stats", "admin.order.process"] {
        let body = json!({
            "message_id": uuid::Uuid::new_v4(), "correlation_id": uuid::Uuid::new_v4(),
            "type": ty, "schema_version": 1, "timestamp": Utc::now(),
            "payload": {"request_id": "x", "text": "NOCLAIM-1\n", "order_number": "RF-20260101-ABCDEF", "action": "refund"},
        });
        client
            .publish(
                &topology.commands_exchange(),
                ty,
                body.to_string().as_bytes(),
                true,
            )
            .await;
        let reply = client
            .reply(std::time::Duration::from_secs(10))
            .await
            .expect("an answer");
        let reply = shared_proto::Envelope::<Reply>::from_bytes(&reply).expect("a reply");
        assert!(
            matches!(reply.payload, Reply::Error(ref q) if matches!(q.outcome, Err(ServiceError::InvalidInput { .. }))),
            "{ty}: {:?}",
            reply.payload
        );
    }
    assert_eq!(snapshot(&app.db).await, before);

    // The control: a valid claim works over the same path and is audited.
    let r = rid();
    let reply = request(
        &broker,
        Command::AdminStats(AdminStats {
            request_id: r.clone(),
            claim: admin_claim(&r, 42),
        }),
    )
    .await;
    assert!(
        matches!(reply, Reply::Stats(ref s) if s.outcome.is_ok()),
        "{reply:?}"
    );
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM admin_audit", vec![]).await,
        1
    );
    broker.close().await;
    app.stop().await;
}

const HOSTILE: &[&str] = &[
    "'; DROP TABLE orders; --",
    "1' OR '1'='1",
    "x'); DELETE FROM stock; --",
    "\"; DROP TABLE users; --",
    "RF-1' UNION SELECT ciphertext FROM stock --",
    "$1",
    "\\'; TRUNCATE balance_ledger; --",
];

/// Text in every field a command carries, typed fields given text on the wire: nothing beyond
/// the command's own effect happens, every table is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_in_admin_filters_and_fields_is_harmless() {
    let app = PaymentApp::start().await.expect("app starts");
    let broker = app.broker().await;
    // Some real data to lose.
    let r = rid();
    let reply = request(
        &broker,
        Command::AdminStockAdd(AdminStockAdd {
            request_id: r.clone(),
            claim: admin_claim(&r, 1),
            text: "REAL-1\nREAL-2\nREAL-3\n".into(),
            source_name: None,
        }),
    )
    .await;
    assert!(matches!(reply, Reply::StockAdded(ref s) if s.outcome.is_ok()));
    let stock_before = scalar(&app.db, "SELECT COUNT(*) FROM stock", vec![]).await;

    // Text fields that are bound parameters: request ids, order numbers, source names.
    for h in HOSTILE {
        let r = format!("{h}-{}", rid());
        let reply = request(
            &broker,
            Command::AdminOrderProcess(AdminOrderProcess {
                request_id: r.clone(),
                claim: admin_claim(&r, 1),
                order_number: h.to_string(),
                action: ProcessAction::Refund,
                force: false,
                reason: Some(h.to_string()),
            }),
        )
        .await;
        assert!(
            matches!(reply, Reply::OrderProcessed(ref p) if matches!(p.outcome, Err(ServiceError::NotFound { .. }))),
            "{reply:?}"
        );
        let reply = request(
            &broker,
            Command::AdminOrdersList(AdminOrdersList {
                request_id: r.clone(),
                claim: admin_claim(&r, 1),
                filter: OrderFilter::default(),
                page: 0,
                page_size: 10,
            }),
        )
        .await;
        assert!(
            matches!(reply, Reply::OrdersPage(ref p) if p.outcome.as_ref().is_ok_and(|p| p.total == 0)),
            "{reply:?}"
        );
        let r2 = rid();
        let reply = request(
            &broker,
            Command::AdminStockAdd(AdminStockAdd {
                request_id: r2.clone(),
                claim: admin_claim(&r2, 1),
                text: format!("{h}\n"),
                source_name: Some(h.to_string()),
            }),
        )
        .await;
        assert!(
            matches!(reply, Reply::StockAdded(ref s) if s.outcome.is_ok()),
            "{reply:?}"
        );
    }
    // Typed filter fields given text on the wire: refused at decoding, before any SQL.
    let mut client = RawClient::connect().await;
    let topology = shared_proto::Topology::new(app.namespace.clone());
    for filter in [
        json!({"status": "completed' OR '1'='1"}),
        json!({"user_id": "1 OR 1=1"}),
        json!({"user_id": "1; DROP TABLE orders"}),
        json!({"from": "2026-01-01'; DROP TABLE orders; --"}),
        json!({"to": "now()"}),
        json!({"status": ["completed", "'; --"]}),
    ] {
        let r = rid();
        let payload = json!({"request_id": r, "claim": admin_claim(&r, 1), "filter": filter, "page": 0, "page_size": 10});
        let body = json!({"message_id": uuid::Uuid::new_v4(), "correlation_id": uuid::Uuid::new_v4(),
            "type": "admin.orders.list", "schema_version": 1, "timestamp": Utc::now(), "payload": payload});
        client
            .publish(
                &topology.commands_exchange(),
                "admin.orders.list",
                body.to_string().as_bytes(),
                true,
            )
            .await;
        let reply = client
            .reply(std::time::Duration::from_secs(10))
            .await
            .expect("an answer");
        let reply = shared_proto::Envelope::<Reply>::from_bytes(&reply).expect("a reply");
        assert!(
            matches!(reply.payload, Reply::Error(_)),
            "{filter}: {:?}",
            reply.payload
        );
    }
    // Everything is still there; the only new stock rows are the hostile lines without spaces,
    // stored (encrypted) as the codes they claim to be.
    for table in [
        "orders",
        "users",
        "stock",
        "balance_ledger",
        "topups",
        "admin_audit",
        "outbox",
    ] {
        let exists = scalar(
            &app.db,
            &format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) t"),
            vec![],
        )
        .await;
        assert!(exists >= 0);
    }
    let accepted = HOSTILE
        .iter()
        .filter(|h| !h.chars().any(char::is_whitespace))
        .count() as i64;
    assert_eq!(
        scalar(&app.db, "SELECT COUNT(*) FROM stock", vec![]).await,
        stock_before + accepted
    );
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
            vec![]
        )
        .await,
        stock_before + accepted
    );
    broker.close().await;
    app.stop().await;
}

/// One line of an upload.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-D]{1,3}".prop_map(|s| format!("CODE-{s}")),
        1 => Just(String::new()),
        1 => "[ \t]{1,3}".prop_map(|s| s),
        1 => "#\\PC{0,10}".prop_map(|s| s),
        1 => "[ \t]*#[a-z ]{0,5}".prop_map(|s| s),
        1 => "[A-Z]{1,4} [A-Z]{1,4}".prop_map(|s| s),
        1 => "\\PC{1,12}",
        1 => "[A-Z]{65,70}",
        1 => Just("kod\u{e9}".to_string()),
        1 => Just("'; DROP TABLE stock; --".to_string()),
        1 => Just("bell\u{7}".to_string()),
    ]
}

fn upload() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((line(), prop_oneof![Just("\n"), Just("\r\n")]), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, bom)| {
            let body: String = lines
                .into_iter()
                .map(|(l, end)| format!("{l}{end}"))
                .collect();
            if bom {
                format!("\u{feff}{body}")
            } else {
                body
            }
        })
}

/// The spec's count: lines that are neither blank nor comments.
fn counted_lines(text: &str) -> usize {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

#[test]
fn stock_uploads_account_for_every_line() {
    let rt = block_on_runtime();
    let (app, broker) = rt.block_on(async {
        let app = PaymentApp::start().await.expect("app starts");
        let broker = app.broker().await;
        (app, broker)
    });
    let mut runner = TestRunner::new(Config {
        cases: cases(40),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&upload(), |text| {
        rt.block_on(async {
            let available = scalar(
                &app.db,
                "SELECT COUNT(*) FROM stock WHERE status = 'available'",
                vec![],
            )
            .await;
            let r = rid();
            let reply = request(
                &broker,
                Command::AdminStockAdd(AdminStockAdd {
                    request_id: r.clone(),
                    claim: admin_claim(&r, 1),
                    text: text.clone(),
                    source_name: None,
                }),
            )
            .await;
            let Reply::StockAdded(reply) = reply else {
                return Err(TestCaseError::fail(format!("unexpected reply {reply:?}")));
            };
            let added = reply
                .outcome
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let total = added.added as usize + added.duplicates as usize + added.rejected.len();
            prop_assert_eq!(
                total,
                counted_lines(&text),
                "added {} + duplicates {} + rejected {}",
                added.added,
                added.duplicates,
                added.rejected.len()
            );
            let now = scalar(
                &app.db,
                "SELECT COUNT(*) FROM stock WHERE status = 'available'",
                vec![],
            )
            .await;
            prop_assert_eq!(now - available, i64::from(added.added));
            prop_assert_eq!(added.available_after as i64, now);
            for rejected in &added.rejected {
                prop_assert!(
                    !rejected.reason.contains("DROP"),
                    "a reason echoes the line: {}",
                    rejected.reason
                );
            }
            Ok(())
        })
    });
    rt.block_on(async {
        if let Err(e) = result {
            panic!("{e}");
        }
        broker.close().await;
        app.stop().await;
    });
}

use proptest::test_runner::TestCaseError;
