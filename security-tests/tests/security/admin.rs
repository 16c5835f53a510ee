//! Admin operations at the payment-service, as a hostile broker client sends them: forged,
//! expired, future, replayed and missing claims (→ Forbidden or `reply.error`, audit and stock
//! unchanged), SQL injection in every text a command carries (→ harmless), and the stock upload
//! accounting as a property (added + duplicates + rejected = non-blank non-comment lines).

use chrono::{Duration, Utc};
use payment_service::admin::claim;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use security_tests::{
    admin_claim, request, scalar, signed, snapshot, PaymentApp, CLAIM_SECRET, SHOP_GUILD_ID,
};
use serde_json::json;
use shared_proto::{
    AdminClaim, AdminOrderProcess, AdminOrdersList, AdminStats, AdminStockAdd,
    AdminStockQuarantine, AdminStockView, Command, DiscordGuildId, DiscordUserId, OrderFilter,
    ProcessAction, QuarantineAction, Reply, ServiceError,
};

use crate::decoders::RawClient;
use crate::support::{block_on_runtime, cases};

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every admin command for request id `r`, each with a genuine claim bound to it.
fn admin_commands(r: &str) -> Vec<Command> {
    vec![
        Command::AdminStockAdd(signed(AdminStockAdd {
            product_id: shared_proto::ProductId::DEFAULT,
            request_id: r.into(),
            claim: admin_claim(42),
            text: "FORGED-1\nFORGED-2\n".into(),
            source_name: Some("forged.txt".into()),
        })),
        Command::AdminStockView(signed(AdminStockView {
            request_id: r.into(),
            claim: admin_claim(42),
        })),
        Command::AdminOrdersList(signed(AdminOrdersList {
            request_id: r.into(),
            claim: admin_claim(42),
            filter: OrderFilter::default(),
            page: 0,
            page_size: 10,
        })),
        Command::AdminOrderProcess(signed(AdminOrderProcess {
            request_id: r.into(),
            claim: admin_claim(42),
            order_number: "RF-20260101-ABCDEF".into(),
            action: ProcessAction::Refund,
            force: true,
            reason: Some("forged".into()),
        })),
        Command::AdminStats(signed(AdminStats {
            request_id: r.into(),
            claim: admin_claim(42),
        })),
        Command::AdminStockQuarantine(signed(AdminStockQuarantine {
            request_id: r.into(),
            claim: admin_claim(42),
            action: QuarantineAction::Discard,
        })),
    ]
}

/// The claim an admin command carries.
fn claim_of(command: &mut Command) -> &mut AdminClaim {
    match command {
        Command::AdminStockAdd(c) => &mut c.claim,
        Command::AdminStockView(c) => &mut c.claim,
        Command::AdminOrdersList(c) => &mut c.claim,
        Command::AdminOrderProcess(c) => &mut c.claim,
        Command::AdminStats(c) => &mut c.claim,
        Command::AdminStockQuarantine(c) => &mut c.claim,
        other => panic!("not an admin command: {other:?}"),
    }
}

/// Changes the command's parameters (not its claim); false when it has none but its request id.
fn change_parameters(command: &mut Command) -> bool {
    match command {
        Command::AdminStockAdd(c) => c.text = "JUNK-1\nJUNK-2\n".into(),
        Command::AdminOrdersList(c) => c.page = 7,
        Command::AdminOrderProcess(c) => c.action = ProcessAction::Redeliver,
        Command::AdminStockQuarantine(c) => c.action = QuarantineAction::Release,
        _ => return false,
    }
    true
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
    // Each case turns a genuine command for request `r` into a hostile one.
    type Tamper = Box<dyn Fn(&mut Command, &str)>;
    let resign = |c: &mut AdminClaim, r: &str| c.signature = claim::sign(CLAIM_SECRET, c, r);
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "forged with another secret",
            Box::new(|cmd, r| {
                let c = claim_of(cmd);
                c.signature = claim::sign("guessed-secret", c, r);
            }),
        ),
        (
            "expired (issued 11 minutes ago)",
            Box::new(move |cmd, r| {
                let c = claim_of(cmd);
                c.issued_at = now - Duration::minutes(11);
                resign(c, r);
            }),
        ),
        (
            "issued 5 minutes in the future",
            Box::new(move |cmd, r| {
                let c = claim_of(cmd);
                c.issued_at = now + Duration::minutes(5);
                resign(c, r);
            }),
        ),
        (
            "replayed from another request",
            Box::new(move |cmd, _r| resign(claim_of(cmd), "some-earlier-request")),
        ),
        (
            "user id changed after signing",
            Box::new(|cmd, _r| claim_of(cmd).admin_user_id = DiscordUserId::new(43).expect("id")),
        ),
        (
            "role changed after signing",
            Box::new(|cmd, _r| claim_of(cmd).role = "Moderator".into()),
        ),
        (
            "empty signature",
            Box::new(|cmd, _r| claim_of(cmd).signature = String::new()),
        ),
        (
            "signature not hex",
            Box::new(|cmd, _r| claim_of(cmd).signature = "zz".repeat(32)),
        ),
        (
            "captured from another operation (admin.stats, or admin.stock.view for stats)",
            Box::new(|cmd, r| {
                let captured = if matches!(cmd, Command::AdminStats(_)) {
                    signed(AdminStockView {
                        request_id: r.into(),
                        claim: admin_claim(42),
                    })
                    .claim
                } else {
                    signed(AdminStats {
                        request_id: r.into(),
                        claim: admin_claim(42),
                    })
                    .claim
                };
                *claim_of(cmd) = captured;
            }),
        ),
        (
            "parameters changed after signing (or a digest of other parameters)",
            Box::new(move |cmd, r| {
                if !change_parameters(cmd) {
                    let c = claim_of(cmd);
                    c.params_digest = "00".repeat(32);
                    resign(c, r);
                }
            }),
        ),
        (
            "signed for another guild",
            Box::new(move |cmd, r| {
                let c = claim_of(cmd);
                c.guild_id = Some(DiscordGuildId::new(SHOP_GUILD_ID + 1).expect("id"));
                resign(c, r);
            }),
        ),
        (
            "signed in a DM (no guild)",
            Box::new(move |cmd, r| {
                let c = claim_of(cmd);
                c.guild_id = None;
                resign(c, r);
            }),
        ),
        (
            "unbound, as an older bot signed it",
            Box::new(move |cmd, r| {
                let c = claim_of(cmd);
                c.operation = String::new();
                c.params_digest = String::new();
                resign(c, r);
            }),
        ),
    ];
    for (what, tamper) in &cases {
        let r = rid();
        for mut command in admin_commands(&r) {
            tamper(&mut command, &r);
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
        Command::AdminStats(signed(AdminStats {
            request_id: r.clone(),
            claim: admin_claim(42),
        })),
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
        Command::AdminStockAdd(signed(AdminStockAdd {
            product_id: shared_proto::ProductId::DEFAULT,
            request_id: r.clone(),
            claim: admin_claim(1),
            text: "REAL-1\nREAL-2\nREAL-3\n".into(),
            source_name: None,
        })),
    )
    .await;
    assert!(matches!(reply, Reply::StockAdded(ref s) if s.outcome.is_ok()));
    let stock_before = scalar(&app.db, "SELECT COUNT(*) FROM stock", vec![]).await;

    // Text fields that are bound parameters: request ids, order numbers, source names.
    for h in HOSTILE {
        let r = format!("{h}-{}", rid());
        let reply = request(
            &broker,
            Command::AdminOrderProcess(signed(AdminOrderProcess {
                request_id: r.clone(),
                claim: admin_claim(1),
                order_number: h.to_string(),
                action: ProcessAction::Refund,
                force: false,
                reason: Some(h.to_string()),
            })),
        )
        .await;
        assert!(
            matches!(reply, Reply::OrderProcessed(ref p) if matches!(p.outcome, Err(ServiceError::NotFound { .. }))),
            "{reply:?}"
        );
        let reply = request(
            &broker,
            Command::AdminOrdersList(signed(AdminOrdersList {
                request_id: r.clone(),
                claim: admin_claim(1),
                filter: OrderFilter::default(),
                page: 0,
                page_size: 10,
            })),
        )
        .await;
        assert!(
            matches!(reply, Reply::OrdersPage(ref p) if p.outcome.as_ref().is_ok_and(|p| p.total == 0)),
            "{reply:?}"
        );
        let r2 = rid();
        let reply = request(
            &broker,
            Command::AdminStockAdd(signed(AdminStockAdd {
                product_id: shared_proto::ProductId::DEFAULT,
                request_id: r2.clone(),
                claim: admin_claim(1),
                text: format!("{h}\n"),
                source_name: Some(h.to_string()),
            })),
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
        let claim = signed(AdminOrdersList {
            request_id: r.clone(),
            claim: admin_claim(1),
            filter: OrderFilter::default(),
            page: 0,
            page_size: 10,
        })
        .claim;
        let payload =
            json!({"request_id": r, "claim": claim, "filter": filter, "page": 0, "page_size": 10});
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
                Command::AdminStockAdd(signed(AdminStockAdd {
                    product_id: shared_proto::ProductId::DEFAULT,
                    request_id: r.clone(),
                    claim: admin_claim(1),
                    text: text.clone(),
                    source_name: None,
                })),
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
