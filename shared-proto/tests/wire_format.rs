//! The wire format is pinned by one golden JSON file per message type under `tests/golden/`.
//! A change of field names or shapes makes these tests fail and shows up in review.
//! Regenerate deliberately with `UPDATE_GOLDEN=1 cargo test -p shared-proto`.

use chrono::{TimeZone, Utc};
use serde_json::json;
use shared_proto::*;
use uuid::Uuid;

fn user() -> DiscordUserId {
    "412345678901234567".parse().unwrap()
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 30, 0).unwrap()
}

fn claim() -> AdminClaim {
    AdminClaim {
        admin_user_id: "300000000000000001".parse().unwrap(),
        admin_username: Some("admin".into()),
        role: "Admin".into(),
        issued_at: at(),
        guild_id: Some("100000000000000100".parse().unwrap()),
        operation: String::new(),
        params_digest: String::new(),
        signature: "9f".repeat(32),
    }
}

/// `command` with its claim bound to it (operation and parameter digest), as the bot signs it.
fn bound<T: AdminOperation>(mut command: T) -> T {
    let mut claim = command.claim().clone();
    claim.bind_to(&command).unwrap();
    *command.claim_mut() = claim;
    command
}

fn interaction() -> Option<InteractionRef> {
    Some(InteractionRef {
        application_id: "100000000000000001".into(),
        token: "interaction-token".into(),
        channel_id: Some("200000000000000002".into()),
        created_at: at(),
    })
}

fn product_stock() -> ProductStock {
    ProductStock {
        product_id: ProductId::DEFAULT,
        name: "Redfinger".into(),
        active: true,
        counts: StockCounts {
            available: 10,
            reserved: 3,
            sold: 40,
            quarantined: 2,
            defective: 1,
        },
        low_stock_threshold: 10,
        last_30_days: PeriodStats::default(),
    }
}

fn order_summary() -> OrderSummary {
    OrderSummary {
        order_number: "RF-20261125-7K3M9Q".into(),
        user_id: user(),
        product_id: ProductId(2),
        product_name: Some("VIP 30 hari".into()),
        package: PackageSize::Five,
        total_price: Idr::new(70_000),
        status: OrderStatus::Completed,
        created_at: at(),
        completed_at: Some(at()),
        refunded: Idr::ZERO,
    }
}

fn topup_info() -> TopupInfo {
    TopupInfo {
        order_id: "ORDER-412345678901234567-1795602600".into(),
        amount: Idr::new(50_000),
        state: TopupState::Success,
        midtrans_status: Some("settlement".into()),
        created_at: at(),
        expires_at: Some(at()),
        paid_at: Some(at()),
        qr_string: None,
        sandbox: false,
    }
}

fn commands() -> Vec<Command> {
    let u = UserRef {
        user_id: user(),
        username: Some("buyer".into()),
        locale: Some("id".into()),
    };
    vec![
        Command::OrderCreate(OrderCreate {
            request_id: "1300000000000000001".into(),
            user: u.clone(),
            package: PackageSize::Five,
            interaction: interaction(),
            product_id: ProductId(2),
            confirmed_price: Some(Idr::new(70_000)),
        }),
        Command::TopupCreate(TopupCreate {
            request_id: "1300000000000000002".into(),
            user: u,
            amount: Idr::new(50_000),
            interaction: interaction(),
        }),
        Command::TopupStatus(TopupStatusQuery {
            user_id: user(),
            order_id: "ORDER-412345678901234567-1795602600".into(),
        }),
        Command::TopupCancel(TopupCancel {
            user_id: user(),
            order_id: "ORDER-412345678901234567-1795602600".into(),
        }),
        Command::BalanceGet(BalanceQuery { user_id: user() }),
        Command::HistoryGet(HistoryQuery {
            user_id: user(),
            limit: 10,
        }),
        Command::CatalogGet(CatalogQuery {}),
        Command::AdminStockAdd(bound(AdminStockAdd {
            request_id: "r-1".into(),
            claim: claim(),
            product_id: ProductId(2),
            text: "CODE-1\nCODE-2\n".into(),
            source_name: Some("codes.txt".into()),
        })),
        Command::AdminStockView(bound(AdminStockView {
            request_id: "r-2".into(),
            claim: claim(),
        })),
        Command::AdminOrdersList(bound(AdminOrdersList {
            request_id: "r-3".into(),
            claim: claim(),
            filter: OrderFilter {
                user_id: Some(user()),
                status: Some(OrderStatus::Failed),
                from: Some(at().date_naive()),
                to: None,
                product_id: Some(ProductId(2)),
            },
            page: 0,
            page_size: 10,
        })),
        Command::AdminOrderProcess(bound(AdminOrderProcess {
            request_id: "r-4".into(),
            claim: claim(),
            order_number: "RF-20261125-7K3M9Q".into(),
            action: ProcessAction::Refund,
            force: true,
            reason: Some("buyer reports the codes were already used".into()),
        })),
        Command::AdminStats(bound(AdminStats {
            request_id: "r-5".into(),
            claim: claim(),
        })),
        Command::AdminStockQuarantine(bound(AdminStockQuarantine {
            request_id: "r-6".into(),
            claim: claim(),
            action: QuarantineAction::Release,
        })),
        Command::AdminOwedClear(bound(AdminOwedClear {
            request_id: "r-7".into(),
            claim: claim(),
            user_id: user(),
            note: Some("settled in person".into()),
        })),
        Command::ReportCreate(ReportCreate {
            request_id: "1300000000000000009".into(),
            user: UserRef {
                user_id: user(),
                username: Some("buyer".into()),
                locale: Some("id".into()),
            },
            order_number: "RF-20261125-7K3M9Q".into(),
            positions: vec![2, 4],
            reason: ReportReason::AlreadyUsed,
            note: None,
        }),
        Command::AdminReportAction(bound(AdminReportAction {
            request_id: "r-8".into(),
            claim: claim(),
            report_id: 42,
            action: ReportAction::Replace,
            positions: vec![2],
            reason: None,
        })),
        Command::AdminBatchDefective(bound(AdminBatchDefective {
            request_id: "r-9".into(),
            claim: claim(),
            batch_id: "B-20261125-0001".into(),
            note: Some("supplier confirmed the batch was resold".into()),
        })),
        Command::AdminProduct(bound(AdminProduct {
            request_id: "r-10".into(),
            claim: claim(),
            action: ProductAction::Add {
                name: "VIP 30 hari".into(),
                description: "Redfinger VIP, 30 days".into(),
                prices: vec![
                    PackagePrice {
                        package: PackageSize::One,
                        price: Idr::new(20_000),
                    },
                    PackagePrice {
                        package: PackageSize::Five,
                        price: Idr::new(95_000),
                    },
                ],
                display_order: Some(2),
                low_stock_threshold: Some(5),
            },
        })),
        Command::OrderCodes(OrderCodesQuery {
            request_id: "1300000000000000011".into(),
            user: UserRef {
                user_id: user(),
                username: Some("buyer".into()),
                locale: Some("id".into()),
            },
            order_number: "RF-20261125-7K3M9Q".into(),
            to_dm: false,
        }),
    ]
}

fn report_view() -> ReportView {
    ReportView {
        report_id: 42,
        order_number: "RF-20261125-7K3M9Q".into(),
        user_id: user(),
        package: PackageSize::Five,
        total_price: Idr::new(70_000),
        ordered_at: at(),
        reason: ReportReason::AlreadyUsed,
        note: None,
        status: ReportStatus::Open,
        codes: vec![
            ReportedCode {
                position: 2,
                outcome: Some(CodeOutcome::Replaced),
            },
            ReportedCode {
                position: 4,
                outcome: None,
            },
        ],
        refunded: Idr::new(0),
        rejection: None,
        created_at: at(),
    }
}

fn replies() -> Vec<Reply> {
    vec![
        Reply::OrderCreate(OrderCreateReply {
            request_id: "1300000000000000001".into(),
            outcome: Err(ServiceError::InsufficientBalance {
                balance: Idr::new(10_000),
                price: Idr::new(70_000),
                shortfall: Idr::new(60_000),
            }),
        }),
        Reply::TopupCreate(TopupCreateReply {
            request_id: "1300000000000000002".into(),
            outcome: Ok(TopupCreated {
                order_id: "ORDER-412345678901234567-1795602600".into(),
                amount: Idr::new(50_000),
                qr_string: "00020101021226620014COM.GO-JEK.WWW".into(),
                expires_at: at(),
                sandbox: true,
            }),
        }),
        Reply::TopupStatus(TopupStatusReply {
            outcome: Ok(topup_info()),
        }),
        Reply::Balance(QueryReply {
            outcome: Ok(BalanceReply {
                user_id: user(),
                balance: Idr::new(35_000),
                total_topup: Idr::new(50_000),
                total_spent: Idr::new(15_000),
            }),
        }),
        Reply::History(QueryReply {
            outcome: Ok(HistoryReply {
                user_id: user(),
                orders: vec![order_summary()],
                topups: vec![topup_info()],
            }),
        }),
        Reply::Catalog(QueryReply {
            outcome: Ok(CatalogReply {
                packages: vec![CatalogEntry {
                    package: PackageSize::One,
                    price: Idr::new(15_000),
                    in_stock: true,
                }],
                available_codes: 3,
                products: vec![ProductOffer {
                    product_id: ProductId::DEFAULT,
                    name: "Redfinger".into(),
                    description: String::new(),
                    available_codes: 3,
                    packages: vec![CatalogEntry {
                        package: PackageSize::One,
                        price: Idr::new(15_000),
                        in_stock: true,
                    }],
                }],
            }),
        }),
        Reply::StockAdded(AdminReply {
            request_id: "r-1".into(),
            outcome: Ok(StockAdded {
                batch_id: "B-20261125-0001".into(),
                added: 2,
                duplicates: 1,
                rejected: vec![RejectedLine {
                    line: 4,
                    reason: "contains whitespace".into(),
                }],
                available_after: 12,
            }),
        }),
        Reply::StockView(AdminReply {
            request_id: "r-2".into(),
            outcome: Ok(StockView {
                counts: StockCounts {
                    available: 10,
                    reserved: 3,
                    sold: 40,
                    quarantined: 2,
                    defective: 1,
                },
                low_stock_threshold: 10,
                recent_batches: vec![StockBatchSummary {
                    batch_id: "B-20261125-0001".into(),
                    added: 2,
                    duplicates: 1,
                    rejected: 1,
                    added_by: Some(user()),
                    created_at: at(),
                    product_id: ProductId::DEFAULT,
                    sold: 2,
                    defective: 1,
                }],
                products: vec![product_stock()],
            }),
        }),
        Reply::OrdersPage(AdminReply {
            request_id: "r-3".into(),
            outcome: Ok(OrdersPage {
                orders: vec![order_summary()],
                page: 0,
                page_size: 10,
                total: 1,
            }),
        }),
        Reply::OrderProcessed(AdminReply {
            request_id: "r-4".into(),
            outcome: Ok(OrderProcessed {
                order_number: "RF-20261125-7K3M9Q".into(),
                action: ProcessAction::Refund,
                status: OrderStatus::Refunded,
                refunded: Some(Idr::new(70_000)),
                forced: true,
                reason: Some("buyer reports the codes were already used".into()),
                voided_deliveries: 1,
            }),
        }),
        Reply::Stats(AdminReply {
            request_id: "r-5".into(),
            outcome: Err(ServiceError::Forbidden {
                message: "admin claim missing or invalid".into(),
                refusal: None,
            }),
        }),
        Reply::QuarantineProcessed(AdminReply {
            request_id: "r-6".into(),
            outcome: Ok(QuarantineProcessed {
                action: QuarantineAction::Release,
                released: 4,
                discarded: 0,
                still_quarantined: 1,
                available_after: 14,
            }),
        }),
        Reply::OwedCleared(AdminReply {
            request_id: "r-7".into(),
            outcome: Ok(OwedCleared {
                user_id: user(),
                cleared: Idr::new(30_000),
            }),
        }),
        Reply::ReportCreated(ReportCreateReply {
            request_id: "1300000000000000009".into(),
            outcome: Ok(report_view()),
        }),
        Reply::ReportActionDone(AdminReply {
            request_id: "r-8".into(),
            outcome: Ok(ReportActionDone {
                action: ReportAction::Replace,
                report: report_view(),
                revealed: vec![],
                positions: vec![2],
                refunded: Idr::new(0),
            }),
        }),
        Reply::BatchDefective(AdminReply {
            request_id: "r-9".into(),
            outcome: Ok(BatchDefective {
                batch_id: "B-20261125-0001".into(),
                withdrawn: 12,
                defective: 20,
                available_after: 31,
            }),
        }),
        Reply::Products(AdminReply {
            request_id: "r-10".into(),
            outcome: Ok(ProductsView {
                changed: Some(ProductId(2)),
                products: vec![ProductInfo {
                    product_id: ProductId(2),
                    name: "VIP 30 hari".into(),
                    description: "Redfinger VIP, 30 days".into(),
                    active: true,
                    display_order: 2,
                    low_stock_threshold: Some(5),
                    prices: vec![PackagePrice {
                        package: PackageSize::One,
                        price: Idr::new(20_000),
                    }],
                    counts: StockCounts::default(),
                }],
            }),
        }),
        Reply::OrderCodes(OrderCodesReply {
            request_id: "1300000000000000011".into(),
            outcome: Ok(OrderCodes {
                order_number: "RF-20261125-7K3M9Q".into(),
                product_id: ProductId(2),
                product_name: "VIP 30 hari".into(),
                package: PackageSize::One,
                completed_at: Some(at()),
                codes: vec![RevealedCode {
                    position: 1,
                    code: "RF-CODE-0001".into(),
                }],
                to_dm: false,
            }),
        }),
        Reply::Error(QueryReply {
            outcome: Err(ServiceError::InvalidInput {
                message: "unknown message type \"x\"".into(),
                refusal: None,
            }),
        }),
    ]
}

fn events() -> Vec<Event> {
    vec![
        Event::DeliveryRequested(DeliveryRequested {
            order_number: "RF-20261125-7K3M9Q".into(),
            user_id: user(),
            product_id: ProductId(2),
            product_name: Some("VIP 30 hari".into()),
            package: PackageSize::One,
            total_price: Idr::new(15_000),
            codes: vec!["RF-CODE-0001".into()],
            attempt: 1,
            interaction: interaction(),
            locale: Some("id".into()),
            replacing: Vec::new(),
        }),
        Event::DeliveryConfirmed(DeliveryConfirmed {
            order_number: "RF-20261125-7K3M9Q".into(),
            attempt: 1,
            method: DeliveryMethod::Dm,
            message_id: Some("500000000000000005".into()),
        }),
        Event::DeliveryFailed(DeliveryFailed {
            order_number: "RF-20261125-7K3M9Q".into(),
            attempt: 2,
            error: "Discord answered 503".into(),
            retryable: true,
        }),
        Event::TopupSettled(TopupSettled {
            order_id: "ORDER-412345678901234567-1795602600".into(),
            user_id: user(),
            amount: Idr::new(50_000),
            balance_after: Idr::new(85_000),
            paid_at: at(),
            interaction: None,
            locale: Some("en-US".into()),
        }),
        Event::TopupExpired(TopupExpired {
            order_id: "ORDER-412345678901234567-1795602600".into(),
            user_id: user(),
            amount: Idr::new(50_000),
            midtrans_status: "expire".into(),
            interaction: None,
            locale: None,
        }),
        Event::StockLow(StockLow {
            product_id: ProductId(2),
            product_name: Some("VIP 30 hari".into()),
            available: 9,
            threshold: 10,
            notify_user_ids: vec![user()],
        }),
        Event::OrderFailed(OrderFailed {
            order_number: "RF-20261125-7K3M9Q".into(),
            user_id: user(),
            attempts: 3,
            reason: "DMs closed and no fallback channel".into(),
        }),
        Event::OrderRefunded(OrderRefunded {
            order_number: "RF-20261125-7K3M9Q".into(),
            user_id: user(),
            amount: Idr::new(15_000),
            balance_after: Idr::new(15_000),
            locale: None,
        }),
        Event::OrderAnomaly(OrderAnomaly {
            order_number: "RF-20261125-7K3M9Q".into(),
            user_id: user(),
            kind: AnomalyKind::DeliveredAfterRefund,
            detail: "delivery confirmed (attempt 2, dm) after the order was refunded".into(),
        }),
        Event::TopupReversed(TopupReversed {
            order_id: "ORDER-412345678901234567-1795602600".into(),
            user_id: user(),
            midtrans_status: "chargeback".into(),
            returned: Idr::new(50_000),
            taken_from_balance: Idr::new(20_000),
            owed: Idr::new(30_000),
            balance_after: Idr::new(0),
            total_owed: Idr::new(30_000),
        }),
        Event::ReportUpdated(ReportUpdated {
            report: report_view(),
            action: ReportAction::Refund,
            positions: vec![4],
            refunded: Idr::new(14_000),
            balance_after: Some(Idr::new(14_000)),
            locale: Some("id".into()),
        }),
    ]
}

fn fixed<P: MessageFamily>(payload: P) -> Envelope<P> {
    let mut env = Envelope::with_correlation(
        payload,
        Uuid::parse_str("01937a1e-0000-7000-8000-000000000001").unwrap(),
    );
    env.message_id = Uuid::parse_str("01937a1e-0000-7000-8000-000000000002").unwrap();
    env.timestamp = at();
    env
}

fn check_family<P: MessageFamily + PartialEq + std::fmt::Debug + Clone>(all: Vec<P>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut seen = Vec::new();
    for payload in all {
        let ty = payload.message_type();
        seen.push(ty);
        let env = fixed(payload.clone());
        let bytes = env.to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap() + "\n";
        let path = format!("{dir}/{ty}.json");
        if update {
            std::fs::write(&path, &pretty).unwrap();
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("missing golden file {path}; run with UPDATE_GOLDEN=1"));
        assert_eq!(pretty, golden, "wire format of {ty} changed");
        let back = Envelope::<P>::from_bytes(golden.as_bytes()).unwrap();
        assert_eq!(back, env, "{ty} does not round-trip");
    }
    let mut known: Vec<_> = P::known_types().to_vec();
    known.sort();
    seen.sort();
    assert_eq!(known, seen, "every message type needs a golden sample");
}

#[test]
fn commands_match_golden_files_and_round_trip() {
    check_family(commands());
}

#[test]
fn replies_match_golden_files_and_round_trip() {
    check_family(replies());
}

#[test]
fn events_match_golden_files_and_round_trip() {
    check_family(events());
}

#[test]
fn unknown_fields_are_tolerated() {
    let mut v: serde_json::Value = serde_json::from_slice(
        &fixed(Command::BalanceGet(BalanceQuery { user_id: user() })).to_bytes(),
    )
    .unwrap();
    v["added_by_a_newer_producer"] = json!(true);
    v["payload"]["also_new"] = json!({"x": 1});
    let env = Envelope::<Command>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(
        env.payload,
        Command::BalanceGet(BalanceQuery { user_id: user() })
    );
}

#[test]
fn unknown_message_type_is_refused_clearly() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixed(Command::CatalogGet(CatalogQuery {})).to_bytes()).unwrap();
    v["type"] = json!("order.delete_everything");
    let err = Envelope::<Command>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(err, DecodeError::UnknownType(ref t) if t == "order.delete_everything"));
    assert_eq!(
        err.to_string(),
        "unknown message type \"order.delete_everything\""
    );
    // An event is not a command either.
    let event = fixed(Event::StockLow(StockLow {
        product_id: ProductId::DEFAULT,
        product_name: None,
        available: 1,
        threshold: 2,
        notify_user_ids: vec![],
    }));
    assert!(matches!(
        Envelope::<Command>::from_bytes(&event.to_bytes()),
        Err(DecodeError::UnknownType(_))
    ));
}

#[test]
fn newer_schema_versions_and_bad_payloads_are_refused() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixed(Command::CatalogGet(CatalogQuery {})).to_bytes()).unwrap();
    v["schema_version"] = json!(2);
    let err = Envelope::<Command>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        matches!(err, DecodeError::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );

    let mut v: serde_json::Value = serde_json::from_slice(
        &fixed(Command::OrderCreate(OrderCreate {
            request_id: "1".into(),
            user: UserRef {
                user_id: user(),
                username: None,
                locale: None,
            },
            package: PackageSize::One,
            interaction: None,
            product_id: ProductId::DEFAULT,
            confirmed_price: None,
        }))
        .to_bytes(),
    )
    .unwrap();
    v["payload"]["package"] = json!(7);
    let err = Envelope::<Command>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(err, DecodeError::Payload { .. }), "{err}");
    assert!(err.to_string().contains("order.create"));

    assert!(matches!(
        Envelope::<Command>::from_bytes(b"not json"),
        Err(DecodeError::Envelope(_))
    ));
}

/// A payment-service from before the sandbox flag answers without it: the bot reads that as a
/// production top-up (no label), and a new bot keeps working against an old payment-service.
#[test]
fn a_topup_reply_without_the_sandbox_flag_reads_as_not_sandbox() {
    let golden = include_str!("golden/reply.topup.create.json");
    let mut value: serde_json::Value = serde_json::from_str(golden).unwrap();
    let created = &mut value["payload"]["outcome"]["Ok"];
    assert_eq!(
        created["sandbox"],
        json!(true),
        "the golden sample is a sandbox reply"
    );
    created.as_object_mut().unwrap().remove("sandbox");
    let envelope = Envelope::<Reply>::from_bytes(value.to_string().as_bytes()).unwrap();
    let Reply::TopupCreate(TopupCreateReply {
        outcome: Ok(created),
        ..
    }) = envelope.payload
    else {
        panic!("not a top-up reply: {:?}", envelope.payload);
    };
    assert!(!created.sandbox);
}

#[test]
fn every_admin_operation_is_named_by_its_message_type() {
    for command in commands() {
        let expected = match &command {
            Command::AdminStockAdd(c) => (AdminStockAdd::OPERATION, c.claim.operation.clone()),
            Command::AdminStockView(c) => (AdminStockView::OPERATION, c.claim.operation.clone()),
            Command::AdminOrdersList(c) => (AdminOrdersList::OPERATION, c.claim.operation.clone()),
            Command::AdminOrderProcess(c) => {
                (AdminOrderProcess::OPERATION, c.claim.operation.clone())
            }
            Command::AdminStats(c) => (AdminStats::OPERATION, c.claim.operation.clone()),
            Command::AdminStockQuarantine(c) => {
                (AdminStockQuarantine::OPERATION, c.claim.operation.clone())
            }
            Command::AdminOwedClear(c) => (AdminOwedClear::OPERATION, c.claim.operation.clone()),
            Command::AdminReportAction(c) => {
                (AdminReportAction::OPERATION, c.claim.operation.clone())
            }
            Command::AdminBatchDefective(c) => {
                (AdminBatchDefective::OPERATION, c.claim.operation.clone())
            }
            Command::AdminProduct(c) => (AdminProduct::OPERATION, c.claim.operation.clone()),
            _ => continue,
        };
        assert_eq!(expected.0, command.message_type());
        assert_eq!(expected.1, command.message_type());
    }
}

#[test]
fn params_digest_is_sha256_of_the_sorted_payload_without_the_claim() {
    let stats = AdminStats {
        request_id: "r-5".into(),
        claim: claim(),
    };
    // The canonical form, written out: keys sorted, compact, no claim.
    let canonical = r#"{"request_id":"r-5"}"#;
    use sha2::Digest;
    let expected = hex::encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(params_digest(&stats).unwrap(), expected);

    let list = AdminOrdersList {
        request_id: "r-3".into(),
        claim: claim(),
        filter: OrderFilter {
            user_id: Some(user()),
            status: Some(OrderStatus::Failed),
            from: None,
            to: None,
            product_id: None,
        },
        page: 2,
        page_size: 10,
    };
    let canonical = r#"{"filter":{"from":null,"status":"failed","to":null,"user_id":"412345678901234567"},"page":2,"page_size":10,"request_id":"r-3"}"#;
    let expected = hex::encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(params_digest(&list).unwrap(), expected);
}

#[test]
fn params_digest_ignores_the_claim_and_changes_with_every_parameter() {
    let base = AdminOrderProcess {
        request_id: "r-4".into(),
        claim: claim(),
        order_number: "RF-20261125-7K3M9Q".into(),
        action: ProcessAction::Redeliver,
        force: false,
        reason: None,
    };
    let digest = params_digest(&base).unwrap();
    let mut other_claim = base.clone();
    other_claim.claim.role = "Other".into();
    other_claim.claim.signature = "00".into();
    assert_eq!(params_digest(&other_claim).unwrap(), digest);
    let mut refund = base.clone();
    refund.action = ProcessAction::Refund;
    assert_ne!(params_digest(&refund).unwrap(), digest);
    let mut other_order = base.clone();
    other_order.order_number = "RF-20261125-AAAAAA".into();
    assert_ne!(params_digest(&other_order).unwrap(), digest);
    let mut other_request = base;
    other_request.request_id = "r-44".into();
    assert_ne!(params_digest(&other_request).unwrap(), digest);
}

#[test]
fn signing_input_covers_guild_operation_and_digest() {
    let mut claim = claim();
    let stats = AdminStats {
        request_id: "r-5".into(),
        claim: claim.clone(),
    };
    claim.bind_to(&stats).unwrap();
    let input = claim.signing_input("r-5");
    assert!(input.starts_with("admin-claim:v2|"), "{input}");
    for part in [
        "300000000000000001",
        "\"Admin\"",
        "100000000000000100",
        "admin.stats",
        claim.params_digest.as_str(),
        "\"r-5\"",
    ] {
        assert!(input.contains(part), "{part} missing from {input}");
    }
    let mut elsewhere = claim.clone();
    elsewhere.guild_id = Some("100000000000000999".parse().unwrap());
    assert_ne!(elsewhere.signing_input("r-5"), input);
    let mut other_op = claim.clone();
    other_op.operation = "admin.stock.add".into();
    assert_ne!(other_op.signing_input("r-5"), input);
    // A role name with the old separator cannot shift fields.
    let mut piped = claim.clone();
    piped.role = "Admin|1".into();
    assert_ne!(piped.signing_input("r-5"), input);
}

#[test]
fn process_order_and_its_reply_from_an_older_peer_still_decode() {
    // What a bot built before `force`/`reason` existed sends, and what an older service answers.
    let mut v: serde_json::Value = serde_json::from_slice(
        &fixed(Command::AdminOrderProcess(AdminOrderProcess {
            request_id: "r-4".into(),
            claim: claim(),
            order_number: "RF-20261125-7K3M9Q".into(),
            action: ProcessAction::Refund,
            force: true,
            reason: Some("x".into()),
        }))
        .to_bytes(),
    )
    .unwrap();
    let payload = v["payload"].as_object_mut().unwrap();
    payload.remove("force");
    payload.remove("reason");
    let env = Envelope::<Command>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap();
    match env.payload {
        Command::AdminOrderProcess(p) => {
            assert!(!p.force, "an old request never forces");
            assert_eq!(p.reason, None);
        }
        other => panic!("{other:?}"),
    }
    let old_reply = json!({"order_number": "RF-20261125-7K3M9Q", "action": "refund",
        "status": "refunded", "refunded": 15000});
    let p: OrderProcessed = serde_json::from_value(old_reply).unwrap();
    assert!(!p.forced);
    assert_eq!((p.reason, p.voided_deliveries), (None, 0));
    let old_counts: StockCounts =
        serde_json::from_value(json!({"available": 1, "reserved": 2, "sold": 3})).unwrap();
    assert_eq!(old_counts.quarantined, 0);
}

#[test]
fn a_refusal_travels_with_its_meaning_and_an_unknown_kind_still_reads() {
    let refused = ServiceError::InvalidInput {
        message: "Order RF-1 already has an open report; an admin is on it.".into(),
        refusal: Some(Refusal::ReportAlreadyOpen {
            order_number: "RF-1".into(),
        }),
    };
    let wire = serde_json::to_value(&refused).unwrap();
    assert_eq!(
        wire,
        json!({
            "code": "invalid_input",
            "message": "Order RF-1 already has an open report; an admin is on it.",
            "refusal": {"kind": "report_already_open", "order_number": "RF-1"}
        })
    );
    assert_eq!(
        serde_json::from_value::<ServiceError>(wire).unwrap(),
        refused
    );
    // From a newer payment-service: a kind this build does not know.
    let newer = json!({
        "code": "forbidden",
        "message": "Something new.",
        "refusal": {"kind": "a_kind_from_the_future", "detail": 1}
    });
    assert_eq!(
        serde_json::from_value::<ServiceError>(newer).unwrap(),
        ServiceError::Forbidden {
            message: "Something new.".into(),
            refusal: Some(Refusal::Unknown),
        }
    );
    // From an older payment-service: no refusal at all.
    let older = json!({"code": "not_found", "message": "No such order."});
    assert!(matches!(
        serde_json::from_value::<ServiceError>(older).unwrap(),
        ServiceError::NotFound { refusal: None, .. }
    ));
}

#[test]
fn messages_of_the_previous_version_mean_the_default_product() {
    // What a bot-service and a payment-service of the version before the catalogue send during
    // a rolling upgrade: no product id anywhere.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/previous");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
    for name in ["order.create.json", "admin.stock.add.json"] {
        let text = read(name);
        assert!(
            !text.contains("product"),
            "{name} is of the previous version"
        );
        match Envelope::<Command>::from_bytes(text.as_bytes())
            .unwrap()
            .payload
        {
            Command::OrderCreate(c) => {
                assert_eq!(c.product_id, ProductId::DEFAULT);
                assert_eq!(c.confirmed_price, None);
                assert_eq!(c.package, PackageSize::Five);
            }
            Command::AdminStockAdd(c) => {
                assert_eq!(c.product_id, ProductId::DEFAULT);
                // The digest the older bot signed is the digest the service recomputes.
                assert_eq!(params_digest(&c).unwrap(), c.claim.params_digest);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let text = read("delivery.requested.json");
    assert!(!text.contains("product"));
    let Event::DeliveryRequested(d) = Envelope::<Event>::from_bytes(text.as_bytes())
        .unwrap()
        .payload
    else {
        panic!("not a delivery");
    };
    assert_eq!(d.product_id, ProductId::DEFAULT);
    assert_eq!(d.product_name, None);
    assert_eq!(d.codes, ["RF-CODE-0001"]);
}

#[test]
fn a_price_change_refusal_names_the_new_price() {
    let refusal = Refusal::PriceChanged {
        product: "VIP 30 hari".into(),
        package: PackageSize::Five,
        confirmed: Idr::new(70_000),
        price: Idr::new(75_000),
    };
    let value = serde_json::to_value(&refusal).unwrap();
    assert_eq!(value["kind"], "price_changed");
    assert_eq!(value["price"], 75_000);
    assert_eq!(serde_json::from_value::<Refusal>(value).unwrap(), refusal);
}
