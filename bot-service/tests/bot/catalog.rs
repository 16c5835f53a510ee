//! The catalogue from the buyer's and the admin's side: the product step of a shop with several
//! products (skipped with one), the Confirm that carries the product and the price seen, a
//! changed price offered again at the new price, and the `/admin product` commands with their
//! refusals. The payment-service is stood in for by canned replies on its commands queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bot_service::domain::admin::sign_claim;
use fake_discord::{FakeUser, RecordedMessage, SlashOption};
use secrecy::SecretString;
use shared_proto::{
    AdminReply, BalanceReply, CatalogEntry, CatalogReply, Command, DiscordUserId, Idr,
    OrderAccepted, OrderCreateReply, OrderStatus, PackagePrice, PackageSize, ProductAction,
    ProductId, ProductInfo, ProductOffer, ProductsView, QueryReply, Refusal, Reply, ServiceError,
    StockCounts,
};

use crate::support::{spawn_bot, user, Options, PaymentStandIn, TestBot, ADMIN_ROLE, CLAIM_SECRET};

const WAIT: Duration = Duration::from_secs(15);

fn entry(codes: u32, price: i64) -> CatalogEntry {
    CatalogEntry {
        package: PackageSize::try_from(codes).unwrap(),
        price: Idr::new(price),
        in_stock: true,
    }
}

fn offer(id: i64, name: &str, available: u64, packages: Vec<CatalogEntry>) -> ProductOffer {
    ProductOffer {
        product_id: ProductId(id),
        name: name.into(),
        description: String::new(),
        available_codes: available,
        packages,
    }
}

fn catalog(products: Vec<ProductOffer>) -> CatalogReply {
    let default = products.iter().find(|p| p.product_id.is_default()).cloned();
    CatalogReply {
        packages: default
            .as_ref()
            .map(|d| d.packages.clone())
            .unwrap_or_default(),
        available_codes: default.map(|d| d.available_codes).unwrap_or_default(),
        products,
    }
}

fn two_products() -> CatalogReply {
    catalog(vec![
        offer(
            1,
            "VIP 30 days",
            40,
            vec![entry(1, 15_000), entry(5, 70_000)],
        ),
        offer(
            2,
            "KVIP 7 days",
            12,
            vec![entry(1, 9_000), entry(5, 42_000), entry(10, 80_000)],
        ),
    ])
}

/// The payment-service of the buyer tests: `catalog`, a balance of Rp 500.000 and orders answered
/// by `order` (called with the n-th order, from 0).
fn shop(
    bot: &TestBot,
    catalog: CatalogReply,
    order: impl Fn(usize, &shared_proto::OrderCreate) -> Result<OrderAccepted, ServiceError>
        + Send
        + Sync
        + 'static,
) -> PaymentStandIn {
    let orders = AtomicUsize::new(0);
    bot.answer_payments(move |command| match command {
        Command::CatalogGet(_) => Some(Reply::Catalog(QueryReply {
            outcome: Ok(catalog.clone()),
        })),
        Command::BalanceGet(q) => Some(Reply::Balance(QueryReply {
            outcome: Ok(BalanceReply {
                user_id: q.user_id,
                balance: Idr::new(500_000),
                total_topup: Idr::new(500_000),
                total_spent: Idr::ZERO,
            }),
        })),
        Command::OrderCreate(o) => Some(Reply::OrderCreate(OrderCreateReply {
            request_id: o.request_id.clone(),
            outcome: order(orders.fetch_add(1, Ordering::SeqCst), o),
        })),
        _ => None,
    })
}

fn accepted(o: &shared_proto::OrderCreate, name: &str, price: i64) -> OrderAccepted {
    OrderAccepted {
        order_number: "RF-20261202-CAT001".into(),
        product_id: o.product_id,
        product_name: Some(name.into()),
        package: o.package,
        total_price: Idr::new(price),
        balance_after: Idr::new(500_000 - price),
        status: OrderStatus::Pending,
    }
}

/// The first answer to interaction `id` (original response) that satisfies `f`.
async fn answer(bot: &TestBot, id: u64, f: impl Fn(&RecordedMessage) -> bool) -> RecordedMessage {
    bot.fake
        .wait_for(WAIT, |fake| fake.original_response_of(id).filter(|m| f(m)))
        .await
        .unwrap_or_else(|| {
            panic!(
                "no matching answer; got {:?}",
                bot.fake.original_response_of(id).map(|m| m.json)
            )
        })
}

fn select_of(m: &RecordedMessage) -> (String, Vec<serde_json::Value>) {
    let select = &m.components()[0]["components"][0];
    assert_eq!(select["type"], 3, "a select menu: {select}");
    (
        select["custom_id"].as_str().unwrap().to_string(),
        select["options"].as_array().unwrap().clone(),
    )
}

/// `/shop` → Order codes: the first step of an order, as `buyer` sees it.
async fn open_order_step(bot: &TestBot, buyer: &FakeUser) -> RecordedMessage {
    let shop = bot
        .fake
        .send_slash_command(buyer, "shop", vec![])
        .expect("dispatched");
    let menu = answer(bot, shop, |m| !m.components().is_empty()).await;
    let click = bot
        .fake
        .click_button(buyer, menu.id, "rf1:m:order")
        .expect("clicked");
    answer(bot, click, |m| !m.components().is_empty()).await
}

fn orders_sent(payments: &PaymentStandIn) -> Vec<shared_proto::OrderCreate> {
    payments
        .commands()
        .into_iter()
        .filter_map(|c| match c {
            Command::OrderCreate(o) => Some(o),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_product_shop_shows_the_products_then_their_packages_and_orders_at_the_price_seen() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let payments = shop(&bot, two_products(), |_, o| {
        Ok(accepted(o, "KVIP 7 days", 42_000))
    });
    let alice = user(2_000_000_000_000_000_201, "alice");

    let products = open_order_step(&bot, &alice).await;
    let (custom_id, options) = select_of(&products);
    assert!(custom_id.starts_with("rf1:prd:"), "{custom_id}");
    assert_eq!(options.len(), 2);
    assert_eq!(options[0]["label"], "VIP 30 days");
    assert_eq!(options[1]["label"], "KVIP 7 days");
    let kvip = options[1]["description"].as_str().unwrap();
    assert!(
        kvip.contains("12 available") && kvip.contains("from Rp 9.000"),
        "{kvip}"
    );

    let pick = bot
        .fake
        .select_menu(&alice, products.id, &custom_id, &["2"])
        .expect("picked");
    let packages = answer(&bot, pick, |m| m.visible_text().contains("KVIP")).await;
    let (custom_id, options) = select_of(&packages);
    assert_eq!(custom_id, format!("rf1:pkg:{}:2", alice.id));
    let labels: Vec<&str> = options
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        vec![
            "1 code — Rp 9.000",
            "5 codes — Rp 42.000",
            "10 codes — Rp 80.000"
        ]
    );

    let pick = bot
        .fake
        .select_menu(&alice, packages.id, &custom_id, &["5"])
        .expect("picked");
    let confirm = answer(&bot, pick, |m| m.visible_text().contains("Confirm")).await;
    let text = confirm.visible_text();
    assert!(
        text.contains("KVIP 7 days") && text.contains("Rp 42.000"),
        "{text}"
    );
    let buy = confirm
        .custom_ids()
        .into_iter()
        .find(|id| id.starts_with("rf1:buy:"))
        .expect("a Confirm button");
    assert!(buy.len() <= 100);
    assert!(buy.ends_with(":2:42000"), "{buy}");

    let click = bot
        .fake
        .click_button(&alice, confirm.id, &buy)
        .expect("clicked");
    let placed = answer(&bot, click, |m| m.visible_text().contains("Order placed")).await;
    assert!(
        placed.visible_text().contains("KVIP 7 days"),
        "{}",
        placed.visible_text()
    );
    let sent = orders_sent(&payments);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].product_id, ProductId(2));
    assert_eq!(sent[0].package, PackageSize::Five);
    assert_eq!(sent[0].confirmed_price, Some(Idr::new(42_000)));
    assert!(bot.fake.failed_interactions().is_empty());
    drop(payments);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_product_shop_goes_straight_to_the_packages() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let one = catalog(vec![offer(
        1,
        "VIP 30 days",
        40,
        vec![entry(1, 15_000), entry(5, 70_000)],
    )]);
    let payments = shop(&bot, one, |_, o| Ok(accepted(o, "VIP 30 days", 70_000)));
    let bob = user(2_000_000_000_000_000_202, "bob");

    let packages = open_order_step(&bot, &bob).await;
    let (custom_id, options) = select_of(&packages);
    assert_eq!(custom_id, format!("rf1:pkg:{}:1", bob.id));
    assert_eq!(options.len(), 2);
    assert!(
        packages.visible_text().contains("40 codes are available"),
        "{}",
        packages.visible_text()
    );
    let pick = bot
        .fake
        .select_menu(&bob, packages.id, &custom_id, &["5"])
        .expect("picked");
    let confirm = answer(&bot, pick, |m| m.visible_text().contains("Confirm")).await;
    let buy = confirm
        .custom_ids()
        .into_iter()
        .find(|id| id.starts_with("rf1:buy:"))
        .unwrap();
    let click = bot.fake.click_button(&bob, confirm.id, &buy).unwrap();
    answer(&bot, click, |m| m.visible_text().contains("Order placed")).await;
    let sent = orders_sent(&payments);
    assert_eq!(sent[0].product_id, ProductId::DEFAULT);
    assert_eq!(sent[0].confirmed_price, Some(Idr::new(70_000)));
    drop(payments);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_price_is_shown_in_indonesian_and_can_be_confirmed_at_the_new_price() {
    let bot = spawn_bot(Options { gateway: true }).await;
    // The first order finds the price raised to Rp 45.000; the second (at that price) goes through.
    let payments = shop(&bot, two_products(), |n, o| match n {
        0 => Err(ServiceError::InvalidInput {
            message: "The price changed.".into(),
            refusal: Some(Refusal::PriceChanged {
                product: "KVIP 7 days".into(),
                package: o.package,
                confirmed: o.confirmed_price.unwrap_or(Idr::ZERO),
                price: Idr::new(45_000),
            }),
        }),
        _ => Ok(accepted(o, "KVIP 7 days", 45_000)),
    });
    let siti = user(2_000_000_000_000_000_203, "siti");
    bot.fake.set_user_locale(siti.id, "id").unwrap();

    let products = open_order_step(&bot, &siti).await;
    let (custom_id, _) = select_of(&products);
    let pick = bot
        .fake
        .select_menu(&siti, products.id, &custom_id, &["2"])
        .unwrap();
    let packages = answer(&bot, pick, |m| m.visible_text().contains("KVIP")).await;
    let (custom_id, _) = select_of(&packages);
    let pick = bot
        .fake
        .select_menu(&siti, packages.id, &custom_id, &["5"])
        .unwrap();
    let confirm = answer(&bot, pick, |m| m.visible_text().contains("Konfirmasi")).await;
    let buy = confirm
        .custom_ids()
        .into_iter()
        .find(|id| id.starts_with("rf1:buy:"))
        .unwrap();
    let click = bot.fake.click_button(&siti, confirm.id, &buy).unwrap();
    let changed = answer(&bot, click, |m| m.visible_text().contains("Harga berubah")).await;
    let text = changed.visible_text();
    assert!(
        text.contains("Rp 45.000") && text.contains("Rp 42.000"),
        "{text}"
    );
    assert!(text.contains("Tidak ada yang ditagih"), "{text}");
    let again = changed
        .custom_ids()
        .into_iter()
        .find(|id| id.starts_with("rf1:buy:"))
        .expect("a Confirm at the new price");
    assert!(again.ends_with(":2:45000"), "{again}");
    assert_ne!(again, buy, "a new request id for the new order");

    let click = bot.fake.click_button(&siti, changed.id, &again).unwrap();
    answer(&bot, click, |m| {
        m.visible_text().contains("RF-20261202-CAT001")
    })
    .await;
    let sent = orders_sent(&payments);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].confirmed_price, Some(Idr::new(42_000)));
    assert_eq!(sent[1].confirmed_price, Some(Idr::new(45_000)));
    assert_ne!(sent[0].request_id, sent[1].request_id);
    drop(payments);
    bot.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Admins

fn admin_user(id: u64) -> FakeUser {
    let mut admin = user(id, "boss");
    admin.roles = vec![ADMIN_ROLE];
    admin
}

fn product_info(id: i64, name: &str) -> ProductInfo {
    ProductInfo {
        product_id: ProductId(id),
        name: name.into(),
        description: String::new(),
        active: true,
        display_order: 0,
        low_stock_threshold: None,
        prices: vec![PackagePrice {
            package: PackageSize::One,
            price: Idr::new(15_000),
        }],
        counts: StockCounts::default(),
    }
}

/// Answers `admin.product` with a two-product catalogue (the changed one: product 2) and
/// records the actions.
fn catalogue_service(bot: &TestBot) -> (PaymentStandIn, Arc<std::sync::Mutex<Vec<ProductAction>>>) {
    let actions = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = actions.clone();
    let payments = bot.answer_payments(move |command| match command {
        Command::AdminProduct(p) => {
            seen.lock().unwrap().push(p.action.clone());
            Some(Reply::Products(AdminReply {
                request_id: p.request_id.clone(),
                outcome: Ok(ProductsView {
                    changed: (p.action != ProductAction::List).then_some(ProductId(2)),
                    products: vec![
                        product_info(1, "VIP 30 days"),
                        product_info(2, "KVIP 7 days"),
                    ],
                }),
            }))
        }
        _ => None,
    });
    (payments, actions)
}

fn product_command(sub: &str, options: Vec<SlashOption>) -> Vec<SlashOption> {
    vec![SlashOption::SubCommandGroup(
        "product".into(),
        vec![SlashOption::sub(sub, options)],
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_add_by_a_member_without_the_role_is_refused_and_sends_nothing() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let mallory = user(2_000_000_000_000_000_204, "mallory");
    let id = bot
        .fake
        .send_slash_command(
            &mallory,
            "admin",
            product_command(
                "add",
                vec![
                    SlashOption::string("name", "Free codes"),
                    SlashOption::string("prices", "1=1"),
                ],
            ),
        )
        .expect("dispatched");
    let refused = answer(&bot, id, |m| m.visible_text().contains("Admin")).await;
    assert_eq!(refused.flags() & 64, 64, "the refusal is ephemeral");
    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(
        bot.broker.queue_ready_count(&queue).await.unwrap(),
        0,
        "nothing was published"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_product_commands_send_the_right_actions_and_bad_prices_send_nothing() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let (payments, actions) = catalogue_service(&bot);
    let admin = admin_user(2_000_000_000_000_000_205);
    let run = |sub: &str, options: Vec<SlashOption>| {
        bot.fake
            .send_slash_command(&admin, "admin", product_command(sub, options))
            .expect("dispatched")
    };

    // Bad prices: told why, nothing sent.
    let bad = run(
        "add",
        vec![
            SlashOption::string("name", "KVIP 7 days"),
            SlashOption::string("prices", "1=9000,3=20000"),
        ],
    );
    let refused = answer(&bot, bad, |m| m.visible_text().contains("not a package")).await;
    assert!(refused.visible_text().contains("Nothing was changed"));
    assert!(actions.lock().unwrap().is_empty());

    let add = run(
        "add",
        vec![
            SlashOption::string("name", " KVIP 7 days "),
            SlashOption::string("prices", "5=42.000, 1=9000"),
            SlashOption::string("description", "Seven days of KVIP"),
            SlashOption::integer("low_stock_threshold", 5),
        ],
    );
    let shown = answer(&bot, add, |m| m.visible_text().contains("Products")).await;
    assert!(shown.visible_text().contains("KVIP 7 days (#2)"));
    let price = run(
        "price",
        vec![
            SlashOption::integer("product", 2),
            // The second choice: 5 codes.
            SlashOption::integer("package", 1),
            SlashOption::integer("price", 0),
        ],
    );
    answer(&bot, price, |m| m.visible_text().contains("Products")).await;
    let raise = run(
        "price",
        vec![
            SlashOption::integer("product", 2),
            SlashOption::integer("package", 2),
            SlashOption::integer("price", 85_000),
        ],
    );
    answer(&bot, raise, |m| m.visible_text().contains("Products")).await;
    let disable = run("disable", vec![SlashOption::integer("product", 2)]);
    answer(&bot, disable, |m| m.visible_text().contains("Products")).await;
    let edit = run(
        "edit",
        vec![
            SlashOption::integer("product", 2),
            SlashOption::Boolean("active".into(), true),
        ],
    );
    answer(&bot, edit, |m| m.visible_text().contains("Products")).await;
    let nothing = run("edit", vec![SlashOption::integer("product", 2)]);
    answer(&bot, nothing, |m| {
        m.visible_text().contains("Nothing to change")
    })
    .await;
    let list = run("list", vec![]);
    answer(&bot, list, |m| m.visible_text().contains("VIP 30 days")).await;

    let kvip = ProductId(2);
    assert_eq!(
        *actions.lock().unwrap(),
        vec![
            ProductAction::Add {
                name: "KVIP 7 days".into(),
                description: "Seven days of KVIP".into(),
                prices: vec![
                    PackagePrice {
                        package: PackageSize::One,
                        price: Idr::new(9_000)
                    },
                    PackagePrice {
                        package: PackageSize::Five,
                        price: Idr::new(42_000)
                    },
                ],
                display_order: None,
                low_stock_threshold: Some(5),
            },
            ProductAction::SetPrice {
                product_id: kvip,
                package: PackageSize::Five,
                price: None,
            },
            ProductAction::SetPrice {
                product_id: kvip,
                package: PackageSize::Ten,
                price: Some(Idr::new(85_000)),
            },
            ProductAction::Disable { product_id: kvip },
            ProductAction::Edit {
                product_id: kvip,
                name: None,
                description: None,
                display_order: None,
                low_stock_threshold: None,
                active: Some(true),
            },
            ProductAction::List,
        ]
    );
    // Every request carries a claim bound to its own action, signed with the shared secret.
    for c in payments.commands() {
        let Command::AdminProduct(p) = c else {
            continue;
        };
        assert_eq!(p.claim.operation, "admin.product");
        assert_eq!(p.claim.admin_user_id, DiscordUserId::new(admin.id).unwrap());
        let resigned = sign_claim(&SecretString::from(CLAIM_SECRET), p.clone());
        assert_eq!(resigned.claim.signature, p.claim.signature);
        assert_eq!(resigned.claim.params_digest, p.claim.params_digest);
    }
    drop(payments);
    bot.stop().await;
}

/// The choices the bot answered autocomplete interaction `id` with.
async fn choices_of(bot: &TestBot, id: u64) -> serde_json::Value {
    bot.fake
        .wait_for(WAIT, |f| {
            f.interaction_responses(id)
                .into_iter()
                .find(|r| r["type"] == 8)
        })
        .await
        .expect("an autocomplete answer")["data"]["choices"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_option_is_autocompleted_from_the_catalogue_for_admins_only() {
    let bot = spawn_bot(Options { gateway: true }).await;
    let typing = |who: &FakeUser, typed: &str| {
        bot.fake
            .send_autocomplete(
                who,
                "admin",
                vec![SlashOption::sub(
                    "addstock",
                    vec![SlashOption::string("product", typed)],
                )],
                "product",
            )
            .expect("dispatched")
    };
    // A member without the role: no choices, nothing asked of the payment-service.
    let mallory = user(2_000_000_000_000_000_206, "mallory");
    let id = typing(&mallory, "kv");
    assert_eq!(choices_of(&bot, id).await, serde_json::json!([]));
    let queue = bot.broker.topology().payment_commands_queue();
    assert_eq!(bot.broker.queue_ready_count(&queue).await.unwrap(), 0);

    // An admin: the catalogue's products matching what was typed, by id.
    let (payments, actions) = catalogue_service(&bot);
    let admin = admin_user(2_000_000_000_000_000_207);
    let id = typing(&admin, "kv");
    assert_eq!(
        choices_of(&bot, id).await,
        serde_json::json!([{"name": "KVIP 7 days (#2)", "value": 2}])
    );
    assert_eq!(*actions.lock().unwrap(), vec![ProductAction::List]);
    assert!(bot.fake.failed_interactions().is_empty());
    drop(payments);
    bot.stop().await;
}
