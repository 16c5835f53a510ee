//! The catalogue: products with their own stock and prices, managed by admins; orders charge the
//! price the buyer confirmed or nothing; a buyer sees their codes again ("my purchases").

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::ConnectionTrait;

use shared_proto::{
    CodeOutcome, Idr, OrderCodesQuery, PackagePrice, PackageSize, ProductAction, ProductId,
    Refusal, ServiceError, UserRef,
};
use uuid::Uuid;

use crate::helpers::*;

fn vip_prices() -> Vec<PackagePrice> {
    vec![
        PackagePrice {
            package: PackageSize::One,
            price: Idr::new(20_000),
        },
        PackagePrice {
            package: PackageSize::Five,
            price: Idr::new(95_000),
        },
    ]
}

async fn add_vip(w: &World) -> ProductId {
    let view = w
        .product(ProductAction::Add {
            name: "VIP 30 hari".into(),
            description: "Redfinger VIP, 30 days".into(),
            prices: vip_prices(),
            display_order: None,
            low_stock_threshold: Some(2),
        })
        .await
        .expect("product added");
    view.changed.expect("the new product's id")
}

/// 1,000 buyers race for the 500 codes of the default product while a second product has its
/// own 50 codes: exactly 500 sold, all of the default product, the other product untouched.
/// At most `in_flight` orders run at once (all of them on PostgreSQL; SQLite has one writer and
/// a small pool, so more in flight only wait for a connection, past its timeout on a busy CI).
async fn orders_on_one_product_never_touch_the_other(w: World, buyers: usize, in_flight: usize) {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let w = Arc::new(w);
    let vip = add_vip(&w).await;
    let codes_a = buyers / 2;
    w.add_codes(&codes("CAT-A-", codes_a)).await;
    w.add_codes_to(vip, &codes("CAT-B-", 50)).await.unwrap();
    for u in 0..buyers {
        w.user_with_balance(20_000 + u as i64, 15_000).await;
    }
    let mut tasks = Vec::new();
    for u in 0..buyers {
        let w = w.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = gate.acquire().await.unwrap();
            w.order(20_000 + u as i64, PackageSize::One, &format!("cat-{u}"))
                .await
        }));
    }
    let (mut accepted, mut sold_out) = (0, 0);
    for t in tasks {
        match t.await.unwrap().outcome {
            Ok(a) => {
                assert_eq!(a.product_id, ProductId::DEFAULT);
                assert_eq!(a.total_price, Idr::new(15_000));
                accepted += 1;
            }
            Err(ServiceError::OutOfStock { .. }) => sold_out += 1,
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!((accepted, sold_out), (codes_a, buyers - codes_a));
    let delivered: Vec<String> = w
        .outbox("delivery.requested")
        .await
        .iter()
        .flat_map(delivered_codes)
        .collect();
    assert_eq!(delivered.len(), codes_a);
    assert_eq!(delivered.iter().collect::<HashSet<_>>().len(), codes_a);
    assert!(delivered.iter().all(|c| c.starts_with("CAT-A-")));
    let vip_id = vip.get();
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE product_id = $1 AND status = 'available' \
             AND order_id IS NULL",
            vec![vip_id.into()]
        )
        .await,
        50,
        "the other product's stock is untouched"
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM orders WHERE product_id = $1",
            vec![vip_id.into()]
        )
        .await,
        0
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock s JOIN orders o ON o.id = s.order_id \
             WHERE s.product_id <> o.product_id",
            vec![]
        )
        .await,
        0,
        "every code went to an order of its own product"
    );
    // Money: only accepted orders were charged.
    assert_eq!(
        w.scalar("SELECT CAST(SUM(balance) AS BIGINT) FROM users", vec![])
            .await,
        15_000 * (buyers - codes_a) as i64
    );
}

#[tokio::test]
async fn a_thousand_orders_on_one_product_never_touch_the_other_postgres() {
    orders_on_one_product_never_touch_the_other(World::pg().await, 1000, 1000).await;
}

#[tokio::test]
async fn a_thousand_orders_on_one_product_never_touch_the_other_sqlite() {
    orders_on_one_product_never_touch_the_other(World::sqlite().await, 1000, 32).await;
}

async fn a_price_changed_between_confirm_and_click_charges_nothing(w: World) {
    let vip = add_vip(&w).await;
    w.add_codes_to(vip, &codes("PRC-", 5)).await.unwrap();
    w.user_with_balance(501, 100_000).await;
    // The buyer saw Rp 20.000; an admin raises it before the click arrives.
    w.product(ProductAction::SetPrice {
        product_id: vip,
        package: PackageSize::One,
        price: Some(Idr::new(22_000)),
    })
    .await
    .unwrap();
    let mut cmd = order_cmd(501, PackageSize::One, "price-1");
    cmd.product_id = vip;
    cmd.confirmed_price = Some(Idr::new(20_000));
    let reply = w.orders.create(&cmd, Uuid::new_v4()).await.unwrap();
    match reply.outcome {
        Err(ServiceError::InvalidInput {
            refusal:
                Some(Refusal::PriceChanged {
                    product,
                    package,
                    confirmed,
                    price,
                }),
            ..
        }) => {
            assert_eq!(product, "VIP 30 hari");
            assert_eq!(package, PackageSize::One);
            assert_eq!(confirmed, Idr::new(20_000));
            assert_eq!(price, Idr::new(22_000));
        }
        other => panic!("expected a price change, got {other:?}"),
    }
    assert_eq!(w.balance(501).await, 100_000, "nothing charged");
    assert_eq!(w.scalar("SELECT COUNT(*) FROM orders", vec![]).await, 0);
    assert_eq!(
        w.scalar("SELECT COUNT(*) FROM balance_ledger", vec![])
            .await,
        0
    );
    assert_eq!(
        w.scalar(
            "SELECT COUNT(*) FROM stock WHERE status = 'available'",
            vec![]
        )
        .await,
        5
    );

    // Confirming the new price buys at the new price.
    let mut again = order_cmd(501, PackageSize::One, "price-2");
    again.product_id = vip;
    again.confirmed_price = Some(Idr::new(22_000));
    let accepted = w
        .orders
        .create(&again, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .expect("bought at the new price");
    assert_eq!(accepted.total_price, Idr::new(22_000));
    assert_eq!(accepted.product_name.as_deref(), Some("VIP 30 hari"));
    assert_eq!(w.balance(501).await, 78_000);

    // The same click again after yet another change answers its first outcome, charges nothing.
    w.product(ProductAction::SetPrice {
        product_id: vip,
        package: PackageSize::One,
        price: Some(Idr::new(25_000)),
    })
    .await
    .unwrap();
    let replay = w.orders.create(&again, Uuid::new_v4()).await.unwrap();
    assert_eq!(
        replay.outcome.unwrap().order_number,
        accepted.order_number,
        "a redelivered order replays"
    );
    assert_eq!(w.balance(501).await, 78_000);

    // An older bot sends no confirmed price and no product: the default product at its price.
    w.add_codes(&codes("PRC-DEF-", 1)).await;
    let old = w.order(501, PackageSize::One, "price-3").await;
    assert_eq!(old.outcome.unwrap().total_price, Idr::new(15_000));
}

#[tokio::test]
async fn a_price_changed_between_confirm_and_click_charges_nothing_postgres() {
    a_price_changed_between_confirm_and_click_charges_nothing(World::pg().await).await;
}

#[tokio::test]
async fn a_price_changed_between_confirm_and_click_charges_nothing_sqlite() {
    a_price_changed_between_confirm_and_click_charges_nothing(World::sqlite().await).await;
}

async fn admins_manage_the_catalogue(w: World) {
    // The default product took its prices from PRICE_* on the first start.
    let listed = w.product(ProductAction::List).await.unwrap();
    assert_eq!(listed.products.len(), 1);
    let default = &listed.products[0];
    assert_eq!(default.product_id, ProductId::DEFAULT);
    assert_eq!(default.prices.len(), 5);
    assert_eq!(default.prices[0].price, Idr::new(15_000));

    let vip = add_vip(&w).await;
    let audit = |action: &'static str| {
        format!("SELECT COUNT(*) FROM admin_audit WHERE action = '{action}'")
    };
    assert_eq!(w.scalar(&audit("product.add"), vec![]).await, 1);

    // Bad input is refused and changes nothing.
    let before = w.product(ProductAction::List).await.unwrap();
    for bad in [
        ProductAction::Add {
            name: "vip 30 HARI".into(), // names are unique whatever their case
            description: String::new(),
            prices: vip_prices(),
            display_order: None,
            low_stock_threshold: None,
        },
        ProductAction::Add {
            name: "   ".into(),
            description: String::new(),
            prices: vip_prices(),
            display_order: None,
            low_stock_threshold: None,
        },
        ProductAction::Add {
            name: "SVIP".into(),
            description: String::new(),
            prices: vec![],
            display_order: None,
            low_stock_threshold: None,
        },
        ProductAction::Add {
            name: "SVIP".into(),
            description: String::new(),
            prices: vec![PackagePrice {
                package: PackageSize::One,
                price: Idr::new(-5),
            }],
            display_order: None,
            low_stock_threshold: None,
        },
        ProductAction::SetPrice {
            product_id: vip,
            package: PackageSize::Ten,
            price: Some(Idr::new(0)),
        },
        ProductAction::SetPrice {
            product_id: ProductId(999),
            package: PackageSize::One,
            price: Some(Idr::new(1_000)),
        },
        ProductAction::Edit {
            product_id: vip,
            name: Some("Redfinger".into()),
            description: None,
            display_order: None,
            low_stock_threshold: None,
            active: None,
        },
    ] {
        let refused = w.product(bad.clone()).await;
        assert!(refused.is_err(), "{bad:?} was accepted");
    }
    assert_eq!(w.product(ProductAction::List).await.unwrap(), before);

    // A claim signed with another secret is refused: nothing is added.
    let mut forged = shared_proto::AdminProduct {
        request_id: "forged".into(),
        claim: admin_claim(7),
        action: ProductAction::Disable {
            product_id: ProductId::DEFAULT,
        },
    };
    payment_service::admin::claim::sign_command("another-secret-entirely-0123456789", &mut forged);
    let refused = w.admin.product(&forged).await.unwrap().outcome;
    assert!(
        matches!(refused, Err(ServiceError::Forbidden { .. })),
        "{refused:?}"
    );
    assert_eq!(w.product(ProductAction::List).await.unwrap(), before);

    // Buyers see both products, in display order, with "from" prices.
    w.add_codes_to(vip, &codes("ADM-", 3)).await.unwrap();
    let catalog = payment_service::queries::catalog(&w.db, &w.config)
        .await
        .unwrap();
    let names: Vec<&str> = catalog.products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Redfinger", "VIP 30 hari"]);
    let offer = catalog.product(vip).unwrap();
    assert_eq!(offer.available_codes, 3);
    assert_eq!(offer.from_price(), Some(Idr::new(20_000)));
    assert!(offer.packages[0].in_stock && !offer.packages[1].in_stock);

    // Off sale: a package, then the product.
    w.product(ProductAction::SetPrice {
        product_id: vip,
        package: PackageSize::Five,
        price: None,
    })
    .await
    .unwrap();
    w.user_with_balance(601, 500_000).await;
    let mut five = order_cmd(601, PackageSize::Five, "off-1");
    five.product_id = vip;
    let refused = w
        .orders
        .create(&five, Uuid::new_v4())
        .await
        .unwrap()
        .outcome;
    assert!(
        matches!(
            refused,
            Err(ServiceError::InvalidInput {
                refusal: Some(Refusal::PackageNotOnSale { .. }),
                ..
            })
        ),
        "{refused:?}"
    );
    w.product(ProductAction::Disable { product_id: vip })
        .await
        .unwrap();
    let mut one = order_cmd(601, PackageSize::One, "off-2");
    one.product_id = vip;
    let refused = w.orders.create(&one, Uuid::new_v4()).await.unwrap().outcome;
    assert!(
        matches!(
            refused,
            Err(ServiceError::Forbidden {
                refusal: Some(Refusal::ProductInactive { .. }),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(w.balance(601).await, 500_000);
    let catalog = payment_service::queries::catalog(&w.db, &w.config)
        .await
        .unwrap();
    assert_eq!(catalog.products.len(), 1, "a disabled product is not shown");
    let mut unknown = order_cmd(601, PackageSize::One, "off-3");
    unknown.product_id = ProductId(424242);
    assert!(matches!(
        w.orders
            .create(&unknown, Uuid::new_v4())
            .await
            .unwrap()
            .outcome,
        Err(ServiceError::NotFound {
            refusal: Some(Refusal::ProductNotFound { .. }),
            ..
        })
    ));
    assert!(w
        .add_codes_to(ProductId(424242), &codes("NOPE-", 1))
        .await
        .is_err());

    // Back on sale under a new name; every change is in the audit log.
    w.product(ProductAction::Edit {
        product_id: vip,
        name: Some("VIP 31 hari".into()),
        description: None,
        display_order: Some(-1),
        low_stock_threshold: None,
        active: Some(true),
    })
    .await
    .unwrap();
    let catalog = payment_service::queries::catalog(&w.db, &w.config)
        .await
        .unwrap();
    assert_eq!(catalog.products[0].name, "VIP 31 hari");
    assert_eq!(w.scalar(&audit("product.price"), vec![]).await, 1);
    assert_eq!(w.scalar(&audit("product.disable"), vec![]).await, 1);
    assert_eq!(w.scalar(&audit("product.edit"), vec![]).await, 1);
}

#[tokio::test]
async fn admins_manage_the_catalogue_postgres() {
    admins_manage_the_catalogue(World::pg().await).await;
}

#[tokio::test]
async fn admins_manage_the_catalogue_sqlite() {
    admins_manage_the_catalogue(World::sqlite().await).await;
}

#[tokio::test]
async fn stock_views_alerts_and_deliveries_name_the_product() {
    let w = World::pg().await;
    let vip = add_vip(&w).await; // threshold 2
    w.add_codes(&codes("SV-A-", 10)).await;
    w.add_codes_to(vip, &codes("SV-B-", 3)).await.unwrap();
    w.user_with_balance(701, 100_000).await;
    let mut cmd = order_cmd(701, PackageSize::One, "sv-1");
    cmd.product_id = vip;
    w.orders
        .create(&cmd, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .unwrap();
    cmd.request_id = "sv-2".into();
    w.orders
        .create(&cmd, Uuid::new_v4())
        .await
        .unwrap()
        .outcome
        .unwrap();
    // 1 VIP code left (< 2): one alert, naming the product; the default product (10 ≥ 3) none.
    let alerts = w.outbox("stock.low").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    match &alerts[0] {
        shared_proto::Event::StockLow(low) => {
            assert_eq!(low.product_id, vip);
            assert_eq!(low.product_name.as_deref(), Some("VIP 30 hari"));
            assert_eq!((low.available, low.threshold), (1, 2));
        }
        other => panic!("{other:?}"),
    }
    match &w.outbox("delivery.requested").await[0] {
        shared_proto::Event::DeliveryRequested(d) => {
            assert_eq!(d.product_id, vip);
            assert_eq!(d.product_name.as_deref(), Some("VIP 30 hari"));
        }
        other => panic!("{other:?}"),
    }
    let view = w
        .admin
        .stock_view(&signed(shared_proto::AdminStockView {
            request_id: "sv-view".into(),
            claim: admin_claim(7),
        }))
        .await
        .unwrap()
        .outcome
        .unwrap();
    let by_name: Vec<(String, u64, u64)> = view
        .products
        .iter()
        .map(|p| (p.name.clone(), p.counts.available, p.low_stock_threshold))
        .collect();
    assert_eq!(
        by_name,
        [
            ("Redfinger".to_string(), 10, 3),
            ("VIP 30 hari".to_string(), 1, 2)
        ]
    );
    assert_eq!(view.counts.available, 11);
    let page = w
        .admin
        .orders_list(&signed(shared_proto::AdminOrdersList {
            request_id: "sv-list".into(),
            claim: admin_claim(7),
            filter: shared_proto::OrderFilter {
                product_id: Some(vip),
                ..Default::default()
            },
            page: 0,
            page_size: 10,
        }))
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(page.total, 2);
    assert!(page
        .orders
        .iter()
        .all(|o| o.product_name.as_deref() == Some("VIP 30 hari")));
}

/// Settles an order's delivery as the bot would (confirmation of attempt 1).
async fn deliver(w: &World, order_number: &str) {
    w.orders
        .delivery_confirmed(
            &shared_proto::DeliveryConfirmed {
                order_number: order_number.into(),
                attempt: 1,
                method: shared_proto::DeliveryMethod::Dm,
                message_id: None,
            },
            "delivery-confirmed-msg",
        )
        .await
        .unwrap();
}

fn reveal(user: i64, order_number: &str, request_id: &str) -> OrderCodesQuery {
    OrderCodesQuery {
        request_id: request_id.into(),
        user: UserRef {
            user_id: shared_proto::DiscordUserId::from_i64(user).unwrap(),
            username: None,
            locale: None,
        },
        order_number: order_number.into(),
        to_dm: false,
    }
}

#[tokio::test]
async fn a_buyer_sees_their_own_codes_again_within_the_window_a_few_times_an_hour() {
    let w = World::pg_with(&[("REVEALS_PER_HOUR", "2"), ("REVEAL_WINDOW_DAYS", "30")]).await;
    w.add_codes(&codes("RVL-", 5)).await;
    w.user_with_balance(801, 100_000).await;
    w.user_with_balance(802, 100_000).await;
    let order = w
        .order(801, PackageSize::Five, "rvl-1")
        .await
        .outcome
        .unwrap()
        .order_number;

    // Not yet delivered: refused.
    let early = w
        .orders
        .order_codes(&reveal(801, &order, "r0"))
        .await
        .unwrap();
    assert!(
        matches!(
            early,
            Err(ServiceError::Forbidden {
                refusal: Some(Refusal::OrderNotDelivered { .. }),
                ..
            })
        ),
        "{early:?}"
    );
    deliver(&w, &order).await;

    // Someone else asking reads as "no such order", and nothing is shown or audited for them.
    let theirs = w
        .orders
        .order_codes(&reveal(802, &order, "r1"))
        .await
        .unwrap();
    assert!(
        matches!(
            theirs,
            Err(ServiceError::NotFound {
                refusal: Some(Refusal::OrderNotFound { .. }),
                ..
            })
        ),
        "{theirs:?}"
    );
    let shown = w
        .orders
        .order_codes(&reveal(801, &order, "r2"))
        .await
        .unwrap()
        .expect("the buyer's codes");
    let delivered = delivered_codes(&w.outbox("delivery.requested").await[0]);
    let codes: Vec<String> = shown.codes.iter().map(|c| c.code.clone()).collect();
    assert_eq!(codes, delivered, "the codes delivered, in order");
    assert_eq!(
        shown.codes.iter().map(|c| c.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(shown.product_name, "Redfinger");
    let mut dm = reveal(801, &order, "r3");
    dm.to_dm = true;
    assert!(w.orders.order_codes(&dm).await.unwrap().unwrap().to_dm);

    // The third within the hour waits.
    let limited = w
        .orders
        .order_codes(&reveal(801, &order, "r4"))
        .await
        .unwrap();
    match limited {
        Err(ServiceError::Cooldown { retry_after_secs }) => {
            assert!((1..=3600).contains(&retry_after_secs))
        }
        other => panic!("expected a cooldown, got {other:?}"),
    }
    // Each reveal is audited under the buyer, without a code in it.
    let audit = w
        .text(
            "SELECT string_agg(detail, '|') FROM admin_audit WHERE action = 'order.reveal' \
             AND admin_user_id = 801",
            vec![],
        )
        .await;
    assert_eq!(audit.matches("order_number").count(), 2);
    assert!(!audit.contains("RVL-"), "no code in the audit log");

    // Past the window: refused.
    w.db.execute(payment_service::persistence::stmt(
        &w.db,
        "UPDATE orders SET completed_at = now() - interval '31 days'",
        [],
    ))
    .await
    .unwrap();
    w.db.execute(payment_service::persistence::stmt(
        &w.db,
        "DELETE FROM admin_audit WHERE action = 'order.reveal'",
        [],
    ))
    .await
    .unwrap();
    let late = w
        .orders
        .order_codes(&reveal(801, &order, "r5"))
        .await
        .unwrap();
    assert!(
        matches!(
            late,
            Err(ServiceError::Forbidden {
                refusal: Some(Refusal::RevealWindowPassed { days: 30, .. }),
                ..
            })
        ),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_replaced_code_is_not_shown_again_but_its_replacement_is() {
    let w = World::pg().await;
    w.add_codes(&codes("RPL2-", 4)).await;
    w.user_with_balance(901, 100_000).await;
    let order = w
        .order(901, PackageSize::One, "rpl2-1")
        .await
        .outcome
        .unwrap()
        .order_number;
    deliver(&w, &order).await;
    let before = w
        .orders
        .order_codes(&reveal(901, &order, "a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.codes.len(), 1);
    // Mark the code replaced by another (as a report's replacement does).
    let report = w
        .orders
        .report_create(&shared_proto::ReportCreate {
            request_id: "rep".into(),
            user: reveal(901, &order, "x").user,
            order_number: order.clone(),
            positions: vec![1],
            reason: shared_proto::ReportReason::Invalid,
            note: None,
        })
        .await
        .unwrap()
        .unwrap();
    let done = w
        .admin
        .report_action(
            &signed(shared_proto::AdminReportAction {
                request_id: "act".into(),
                claim: admin_claim(7),
                report_id: report.report_id,
                action: shared_proto::ReportAction::Replace,
                positions: vec![],
                reason: None,
            }),
            Uuid::new_v4(),
        )
        .await
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(done.report.codes[0].outcome, Some(CodeOutcome::Replaced));
    let after = w
        .orders
        .order_codes(&reveal(901, &order, "b"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.codes.len(), 1);
    assert_ne!(after.codes[0].code, before.codes[0].code);
}

#[tokio::test]
async fn prices_set_by_admins_survive_a_restart_and_the_settings_no_longer_apply() {
    let tdb = test_support::TestDatabase::create().await.unwrap();
    let url = tdb.url().to_string();
    let first = World::build(&url, &[("PRICE_1_CODE", "16000")], Db::None).await;
    let listed = first.product(ProductAction::List).await.unwrap();
    assert_eq!(listed.products[0].prices[0].price, Idr::new(16_000));
    first
        .product(ProductAction::SetPrice {
            product_id: ProductId::DEFAULT,
            package: PackageSize::One,
            price: Some(Idr::new(17_500)),
        })
        .await
        .unwrap();
    drop(first);
    let again = World::build(&url, &[("PRICE_1_CODE", "99000")], Db::None).await;
    let listed = again.product(ProductAction::List).await.unwrap();
    assert_eq!(listed.products[0].prices[0].price, Idr::new(17_500));
    drop(tdb);
}
