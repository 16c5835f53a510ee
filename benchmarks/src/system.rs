//! Stages 3–6: the real payment-service binary against a fresh database and broker namespace.
//!
//! One instance takes the webhook and order-pipeline loads (so its memory figures are "under
//! the loads above"); the race gets its own instance and database, because it needs exactly
//! 500 codes in stock. Each instance is stopped and its database and namespace removed at the
//! end of its part, also on failure.

use std::sync::Arc;
use std::time::Duration;

use crate::bot;
use crate::orders::{self, Observer};
use crate::race;
use crate::report::{Outcome, Report, Row};
use crate::scratch::{ScratchDb, ScratchNamespace};
use crate::services::{
    free_port, wait_ready, PaymentEnv, PaymentService, RssSampler, RunSecrets, ServiceProcess,
    SERVER_KEY,
};
use crate::stats::Rss;
use crate::webhook::{self, TopupBlock};
use crate::Settings;

/// A closed port: with status verification off nothing should call Midtrans, and if something
/// does it must fail here rather than reach the real sandbox.
const NO_MIDTRANS: &str = "http://127.0.0.1:9";

const WEBHOOK_RATE: u32 = 500;
const ORDER_RATE: u32 = 100;

struct Memory {
    idle: Option<Rss>,
    loaded_max_rss_kib: u64,
    loaded_hwm: Option<Rss>,
}

/// bot-service figures; `Err` holds why they could not be taken.
struct BotMemory {
    idle: Result<Rss, String>,
    loaded: Result<bot::Loaded, String>,
}

pub async fn run(settings: &Settings, report: &mut Report) {
    let secrets = RunSecrets::generate();
    let runs_webhook = settings.runs("webhook");
    let runs_orders = settings.runs("orders");
    let runs_bot = settings.runs("bot");
    let mut memory = Vec::new();
    let mut bot_memory = None;
    if runs_webhook || runs_orders || runs_bot {
        let limit =
            Duration::from_secs(settings.stage_seconds * 4 + settings.latency_seconds * 2 + 600);
        let (rows, mem, bot_mem) = tokio::time::timeout(
            limit,
            main_instance(settings, &secrets, runs_webhook, runs_orders, runs_bot),
        )
        .await
        .unwrap_or_else(|_| {
            let reason = format!("timed out after {} s", limit.as_secs());
            (
                vec![
                    not_run("3a", M_WEBHOOK_RATE, &reason),
                    not_run("3b", M_WEBHOOK_P99, &reason),
                    not_run("4a", M_ORDER_RATE, &reason),
                    not_run("4b", M_ORDER_P99, &reason),
                ],
                None,
                None,
            )
        });
        for row in rows {
            report.push(row);
        }
        memory.extend(mem);
        bot_memory = bot_mem;
    }
    if runs_webhook || settings.runs("webhook-verify") {
        eprintln!("[bench] stage 3: webhook with status verification against the simulator");
        let limit = Duration::from_secs(settings.latency_seconds * 3 + 300);
        report.push(
            tokio::time::timeout(limit, verified_instance(settings, &secrets))
                .await
                .unwrap_or_else(|_| {
                    not_run(
                        "3c",
                        M_WEBHOOK_VERIFIED,
                        &format!("timed out after {} s", limit.as_secs()),
                    )
                }),
        );
    }
    if settings.runs("race") {
        eprintln!("[bench] stage 5: 1,000 orders for 500 codes");
        let limit = Duration::from_secs(400);
        let (row, mem) = tokio::time::timeout(limit, race_instance(settings, &secrets))
            .await
            .unwrap_or_else(|_| {
                (
                    not_run(
                        "5",
                        M_RACE,
                        &format!("timed out after {} s", limit.as_secs()),
                    ),
                    None,
                )
            });
        report.push(row);
        memory.extend(mem);
    }
    if runs_webhook || runs_orders || settings.runs("race") {
        push_memory_rows(report, &memory);
    }
    if runs_bot {
        push_bot_rows(report, bot_memory);
    }
    if settings.runs("drop") {
        eprintln!("[bench] stage 7: the restock rush (1,000 buyers, 500 codes, Discord's limits)");
        let limit = Duration::from_secs(900);
        match tokio::time::timeout(limit, crate::drop::run(settings, &secrets)).await {
            Ok(rows) => {
                for row in rows {
                    report.push(row);
                }
            }
            Err(_) => report.push(not_run(
                "7",
                crate::drop::M_WINNERS,
                &format!("timed out after {} s", limit.as_secs()),
            )),
        }
    }
}

fn not_run(id: &str, measure: &str, reason: &str) -> Row {
    Row::new(id, measure, Outcome::NotRun(reason.to_string()))
}

const M_WEBHOOK_RATE: &str =
    "Webhook: valid signed settlements credited/s (MIDTRANS_VERIFY_STATUS=false)";
const M_WEBHOOK_P99: &str =
    "Webhook: latency at a fixed 500 settlements/s (MIDTRANS_VERIFY_STATUS=false)";
const M_ORDER_RATE: &str =
    "Order pipeline: order.create published → delivery.requested received, 1-code orders, sustained";
const M_ORDER_P99: &str =
    "Order pipeline: publish → delivery.requested latency at a fixed 100 orders/s";

async fn main_instance(
    settings: &Settings,
    secrets: &RunSecrets,
    webhook_on: bool,
    orders_on: bool,
    bot_on: bool,
) -> (Vec<Row>, Option<Memory>, Option<BotMemory>) {
    let mut rows = Vec::new();
    let db = match ScratchDb::create(&settings.pg_admin_url, "bench_sys").await {
        Ok(db) => db,
        Err(e) => {
            let reason = format!("{e:#}");
            return (
                vec![
                    not_run("3a", M_WEBHOOK_RATE, &reason),
                    not_run("3b", M_WEBHOOK_P99, &reason),
                    not_run("4a", M_ORDER_RATE, &reason),
                    not_run("4b", M_ORDER_P99, &reason),
                ],
                None,
                bot_on.then(|| BotMemory {
                    idle: Err(reason.clone()),
                    loaded: Err(reason.clone()),
                }),
            );
        }
    };
    let ns = ScratchNamespace::new(&settings.amqp_url, "bench_sys");
    eprintln!("[bench] starting payment-service (database {})", db.name());
    let env = PaymentEnv {
        database_url: db.url(),
        namespace: ns.namespace(),
        verify_status: false,
        midtrans_base_url: NO_MIDTRANS.into(),
    };
    let service = match PaymentService::start(settings, secrets, &env, "main").await {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("payment-service did not start: {e:#}");
            return (
                vec![
                    not_run("3a", M_WEBHOOK_RATE, &reason),
                    not_run("3b", M_WEBHOOK_P99, &reason),
                    not_run("4a", M_ORDER_RATE, &reason),
                    not_run("4b", M_ORDER_P99, &reason),
                ],
                None,
                bot_on.then(|| BotMemory {
                    idle: Err(reason.clone()),
                    loaded: Err(reason.clone()),
                }),
            );
        }
    };
    // Let start-up work (migrations, topology, first sweeper pass) settle before "idle".
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = service.process.rss();
    let sampler = RssSampler::start(service.process.pid());
    let mut bot_idle = Err("not measured".to_string());
    if bot_on {
        eprintln!("[bench] stage 6: bot-service idle memory");
        bot_idle = bot::idle_rss(settings, secrets, ns.namespace())
            .await
            .map_err(|e| format!("bot-service did not run: {e:#}"));
    }

    let conn = match db.connect().await {
        Ok(c) => Some(c),
        Err(e) => {
            rows.push(not_run("3a", M_WEBHOOK_RATE, &format!("{e:#}")));
            None
        }
    };
    if let Some(conn) = &conn {
        if webhook_on {
            eprintln!(
                "[bench] stage 3: webhook throughput ({} s)",
                settings.stage_seconds
            );
            let block = TopupBlock {
                first_user: 100_000_000,
                count: (settings.stage_seconds * 3_000).min(90_000) as i64,
            };
            let outcome = match block.seed(conn).await {
                Ok(()) => webhook::throughput(
                    &service.base_url,
                    conn,
                    &block,
                    settings.concurrency,
                    settings.stage_seconds,
                )
                .await
                .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}"))),
                Err(e) => Outcome::NotRun(format!("{e:#}")),
            };
            rows.push(Row::new("3a", M_WEBHOOK_RATE, outcome));

            eprintln!(
                "[bench] stage 3: webhook latency at {WEBHOOK_RATE}/s ({} s)",
                settings.latency_seconds
            );
            let block = TopupBlock {
                first_user: 200_000_000,
                count: (u64::from(WEBHOOK_RATE) * settings.latency_seconds) as i64,
            };
            let outcome = match block.seed(conn).await {
                Ok(()) => webhook::latency_at(&service.base_url, conn, &block, WEBHOOK_RATE, 25.0)
                    .await
                    .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}"))),
                Err(e) => Outcome::NotRun(format!("{e:#}")),
            };
            rows.push(Row::new("3b", M_WEBHOOK_P99, outcome));
        }
        if orders_on {
            let (rate, p99) = order_stage(settings, secrets, &ns, conn).await;
            rows.push(Row::new("4a", M_ORDER_RATE, rate));
            rows.push(Row::new("4b", M_ORDER_P99, p99));
        }
    }
    let mut bot_loaded = Err("no payment-service database".to_string());
    if let (true, Some(conn)) = (bot_on, &conn) {
        eprintln!("[bench] stage 6: bot-service working through the delivery backlog");
        bot_loaded = bot::loaded(
            settings,
            secrets,
            ns.namespace(),
            conn,
            settings.stage_seconds,
        )
        .await
        .map_err(|e| format!("bot-service did not run: {e:#}"));
    }
    let loaded_max_rss_kib = sampler.finish().await;
    let loaded_hwm = service.process.rss();
    if let Some(c) = conn {
        let _ = c.close().await;
    }
    eprintln!(
        "[bench] payment-service log: {}",
        service.process.log_path().display()
    );
    service.process.stop().await;
    drop(ns);
    drop(db);
    (
        rows,
        Some(Memory {
            idle,
            loaded_max_rss_kib,
            loaded_hwm,
        }),
        bot_on.then_some(BotMemory {
            idle: bot_idle,
            loaded: bot_loaded,
        }),
    )
}

async fn order_stage(
    settings: &Settings,
    secrets: &RunSecrets,
    ns: &ScratchNamespace,
    conn: &sea_orm::DatabaseConnection,
) -> (Outcome, Outcome) {
    let fail = |e: anyhow::Error| {
        let reason = format!("{e:#}");
        (Outcome::NotRun(reason.clone()), Outcome::NotRun(reason))
    };
    let broker = match ns.connect("bench-orders", 32).await {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let observer = match Observer::start(&settings.amqp_url, ns.topology()).await {
        Ok(o) => Arc::new(o),
        Err(e) => return fail(e),
    };
    let throughput_orders = (settings.stage_seconds * 1_500).min(40_000);
    let latency_orders = u64::from(ORDER_RATE) * settings.latency_seconds;
    let first_throughput: u64 = 300_000_000;
    let first_latency: u64 = 400_000_000;
    let result = async {
        eprintln!(
            "[bench] stage 4: loading {} codes through admin.stock.add",
            throughput_orders + latency_orders
        );
        let loading = std::time::Instant::now();
        orders::load_stock(
            &broker,
            &secrets.admin_claim_secret,
            (throughput_orders + latency_orders) as usize,
        )
        .await?;
        eprintln!(
            "[bench]   loaded in {:.1} s",
            loading.elapsed().as_secs_f64()
        );
        let balance = orders::one_code_price() * 4;
        orders::fund_users(
            conn,
            first_throughput as i64,
            throughput_orders as i64,
            balance,
        )
        .await?;
        orders::fund_users(conn, first_latency as i64, latency_orders as i64, balance).await?;
        eprintln!(
            "[bench] stage 4: order throughput ({} s)",
            settings.stage_seconds
        );
        let rate = orders::throughput(
            &broker,
            &observer,
            first_throughput,
            throughput_orders,
            settings.concurrency,
            settings.stage_seconds,
        )
        .await
        .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}")));
        eprintln!(
            "[bench] stage 4: order latency at {ORDER_RATE}/s ({} s)",
            settings.latency_seconds
        );
        let p99 = orders::latency_at(
            &broker,
            &observer,
            first_latency,
            latency_orders,
            ORDER_RATE,
            50.0,
        )
        .await
        .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}")));
        anyhow::Ok((rate, p99))
    }
    .await;
    if let Ok(observer) = Arc::try_unwrap(observer) {
        observer.close().await;
    }
    broker.close().await;
    result.unwrap_or_else(fail)
}

const M_RACE: &str = "Race: 1,000 concurrent 1-code orders (distinct funded users) for 500 codes";

async fn race_instance(settings: &Settings, secrets: &RunSecrets) -> (Row, Option<Memory>) {
    let db = match ScratchDb::create(&settings.pg_admin_url, "bench_race").await {
        Ok(db) => db,
        Err(e) => return (not_run("5", M_RACE, &format!("{e:#}")), None),
    };
    let ns = ScratchNamespace::new(&settings.amqp_url, "bench_race");
    let env = PaymentEnv {
        database_url: db.url(),
        namespace: ns.namespace(),
        verify_status: false,
        midtrans_base_url: NO_MIDTRANS.into(),
    };
    let service = match PaymentService::start(settings, secrets, &env, "race").await {
        Ok(s) => s,
        Err(e) => {
            return (
                not_run(
                    "5",
                    M_RACE,
                    &format!("payment-service did not start: {e:#}"),
                ),
                None,
            )
        }
    };
    let idle = service.process.rss();
    let sampler = RssSampler::start(service.process.pid());
    let outcome = async {
        let conn = db.connect().await?;
        let broker = ns.connect("bench-race", 32).await?;
        let observer = Arc::new(Observer::start(&settings.amqp_url, ns.topology()).await?);
        orders::load_stock(&broker, &secrets.admin_claim_secret, race::CODES as usize).await?;
        let balance = orders::one_code_price() + 5_000;
        orders::fund_users(&conn, race::FIRST_USER as i64, race::ORDERS as i64, balance).await?;
        let outcome = race::run(&broker, &observer, &conn, balance).await;
        if let Ok(observer) = Arc::try_unwrap(observer) {
            observer.close().await;
        }
        broker.close().await;
        let _ = conn.close().await;
        outcome
    }
    .await
    .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}")));
    let loaded_max_rss_kib = sampler.finish().await;
    let loaded_hwm = service.process.rss();
    service.process.stop().await;
    drop(ns);
    drop(db);
    (
        Row::new("5", M_RACE, outcome),
        Some(Memory {
            idle,
            loaded_max_rss_kib,
            loaded_hwm,
        }),
    )
}

fn push_memory_rows(report: &mut Report, memory: &[Memory]) {
    let idle = memory.first().and_then(|m| m.idle);
    report.push(Row::new(
        "6a",
        "payment-service RSS idle (VmRSS 3 s after ready)",
        match idle {
            Some(rss) => Outcome::Memory {
                mib: rss.rss_mib(),
                limit_mib: 40.0,
                detail: "VmRSS".into(),
            },
            None => Outcome::NotRun("payment-service did not run".into()),
        },
    ));
    let peak_hwm = memory
        .iter()
        .filter_map(|m| m.loaded_hwm)
        .map(|r| r.hwm_kib)
        .max();
    let peak_sampled = memory
        .iter()
        .map(|m| m.loaded_max_rss_kib)
        .max()
        .unwrap_or(0);
    report.push(Row::new(
        "6b",
        "payment-service RSS under the loads above (peak VmHWM)",
        match peak_hwm {
            Some(hwm) => Outcome::Memory {
                mib: hwm as f64 / 1024.0,
                limit_mib: 150.0,
                detail: format!(
                    "VmHWM; largest VmRSS sampled every 100 ms: {:.1} MiB",
                    peak_sampled as f64 / 1024.0
                ),
            },
            None => Outcome::NotRun("payment-service did not run under load".into()),
        },
    ));
}

fn push_bot_rows(report: &mut Report, memory: Option<BotMemory>) {
    let memory = memory.unwrap_or(BotMemory {
        idle: Err("not run".into()),
        loaded: Err("not run".into()),
    });
    report.push(Row::new(
        "6c",
        "bot-service RSS idle (VmRSS 3 s after ready, fake Discord gateway + REST)",
        match memory.idle {
            Ok(rss) => Outcome::Memory {
                mib: rss.rss_mib(),
                limit_mib: 40.0,
                detail: "VmRSS".into(),
            },
            Err(reason) => Outcome::NotRun(reason),
        },
    ));
    match memory.loaded {
        Ok(loaded) => {
            report.push(Row::new(
                "6d",
                "bot-service RSS delivering the order stage's backlog through the fake Discord (VmHWM)",
                Outcome::Memory {
                    mib: loaded.hwm.hwm_mib(),
                    limit_mib: 150.0,
                    detail: format!(
                        "largest VmRSS sampled: {:.1} MiB",
                        loaded.max_sampled_kib as f64 / 1024.0
                    ),
                },
            ));
            report.push(Row::new(
                "6e",
                "bot-service deliveries completed (DM via fake Discord → delivery.confirmed → order completed)",
                Outcome::Info(format!(
                    "{} of a backlog of {} in {:.1} s = {:.0}/s",
                    loaded.completed,
                    loaded.backlog,
                    loaded.seconds,
                    loaded.completed as f64 / loaded.seconds.max(1e-3)
                )),
            ));
        }
        Err(reason) => report.push(Row::new(
            "6d",
            "bot-service RSS delivering the order stage's backlog (VmHWM)",
            Outcome::NotRun(reason),
        )),
    }
}

const M_WEBHOOK_VERIFIED: &str = "Webhook: settlements credited/s with MIDTRANS_VERIFY_STATUS=true, the production setting (status API = midtrans-simulator binary)";
/// DESIGN.md §7: with status verification on, as with it off.
const WEBHOOK_VERIFIED_MIN_RATIO: f64 = 0.7;

/// A third payment-service, confirming every notification with `GET /v2/{order_id}/status`
/// against the Midtrans simulator (as production does against Midtrans).
async fn verified_instance(settings: &Settings, secrets: &RunSecrets) -> Row {
    let outcome = async {
        let port = free_port()?;
        let mut simulator = ServiceProcess::spawn(
            "midtrans-simulator",
            &settings.bin_dir.join("midtrans-simulator"),
            &[
                ("MIDTRANS_SERVER_KEY", SERVER_KEY.to_string()),
                ("SIMULATOR_BIND", format!("127.0.0.1:{port}")),
                ("RUST_LOG", "warn".into()),
            ],
            &settings.log_dir,
        )?;
        let simulator_url = format!("http://127.0.0.1:{port}");
        wait_ready(
            &mut simulator,
            &format!("{simulator_url}/_sim/health"),
            Duration::from_secs(30),
        )
        .await?;
        let db = ScratchDb::create(&settings.pg_admin_url, "bench_verify").await?;
        let ns = ScratchNamespace::new(&settings.amqp_url, "bench_verify");
        let env = PaymentEnv {
            database_url: db.url(),
            namespace: ns.namespace(),
            verify_status: true,
            midtrans_base_url: simulator_url.clone(),
        };
        let service = PaymentService::start(settings, secrets, &env, "verify").await?;
        let result = async {
            let conn = db.connect().await?;
            let block = TopupBlock {
                first_user: 500_000_000,
                count: (settings.latency_seconds * 1_500) as i64,
            };
            block.seed(&conn).await?;
            webhook::prepare_in_simulator(&simulator_url, &block).await?;
            let outcome = webhook::throughput(
                &service.base_url,
                &conn,
                &block,
                settings.concurrency,
                settings.latency_seconds,
            )
            .await;
            let _ = conn.close().await;
            outcome
        }
        .await;
        service.process.stop().await;
        simulator.stop().await;
        drop(ns);
        drop(db);
        result
    }
    .await;
    let outcome = match outcome {
        Ok(Outcome::Rate {
            per_sec,
            unit,
            detail,
            ..
        }) => Outcome::Rate {
            per_sec,
            unit,
            min_ratio: Some(WEBHOOK_VERIFIED_MIN_RATIO),
            detail,
        },
        Ok(other) => other,
        Err(e) => Outcome::NotRun(format!("{e:#}")),
    };
    Row::new("3c", M_WEBHOOK_VERIFIED, outcome)
}
