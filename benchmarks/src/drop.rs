//! Stage 7: the restock rush. 500 codes in stock, 1,000 funded buyers who have never been sent a
//! DM each click Confirm on a 1-code package, spread evenly over 10 s, against the fake Discord
//! with Discord's rate limits on (50 requests/s globally per bot token, per-route buckets), two
//! bot-service replicas (one holds the gateway, both consume deliveries) and two
//! payment-service replicas on one database.
//!
//! The fake Discord runs inside this process (so its records can be read directly: interaction
//! latencies, message timestamps, every 429 by scope and route); the services are the real
//! release binaries. The bots reach the fake the way production reaches Discord: serenity's own
//! rate limiter on, over TLS to `discord.com` (`DISCORD_TEST_ONLY_*` pins it to the fake).
//!
//! Before the drop every buyer walks the real flow to the confirm step (`/shop` → Order codes →
//! 1 code), which only uses interaction callbacks and token webhooks (outside the global limit).
//! The drop is then measured from the first click:
//! - interaction answer time: dispatch → first callback (the deferral), per the fake's record;
//! - losers: click → the confirm message edited to "Out of stock";
//! - winners: click → the DM with the codes created;
//! - the floor: the global-limit requests the drop needed (DM channel opened + codes sent,
//!   answered 2xx after the first click) ÷ 50/s, against the last DM's time since the first click;
//! - every 429 the fake answered during the drop, by scope and route;
//! - the books: exactly 500 sold, none twice, every charged buyer has a confirmed delivery (or a
//!   refund), nobody refused was charged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use fake_discord::{
    FakeDiscord, FakeDiscordConfig, FakeRole, FakeUser, RateLimitCounts, RecordedMessage,
    RunningFake,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::orders;
use crate::report::{Outcome, Row};
use crate::scratch::{ScratchDb, ScratchNamespace};
use crate::services::{
    free_port, wait_ready, PaymentEnv, PaymentService, RunSecrets, ServiceProcess, BENCH_GUILD_ID,
};
use crate::stats::Summary;
use crate::Settings;

pub const CODES: usize = 500;
pub const BUYERS: usize = 1_000;
/// The clicks are spread evenly over this long.
pub const SPREAD: Duration = Duration::from_secs(10);
/// Discord's global limit per bot token.
const DISCORD_GLOBAL_PER_SECOND: f64 = 50.0;
const FIRST_BUYER: u64 = 1_200_000_000_000_000_000;
const ADMIN_ROLE: u64 = 1_100_000_000_000_000_300;
/// Buyers walked to the confirm step at once before the drop.
const PREPARE_CONCURRENCY: usize = 24;
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the drop may take to settle before it is judged as it stands.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);
/// Interaction callbacks answered later than this count as slow (target: p99 within it).
const ANSWER_TARGET: Duration = Duration::from_secs(1);
const LOSERS_TARGET: Duration = Duration::from_secs(3);
/// "No more than a handful" of 429s on any one route.
const ROUTE_429_HANDFUL: usize = 5;

pub const M_ANSWER: &str = "Drop: interaction answer time (dispatch → deferral), 1,000 Confirm clicks over 10 s, 2 bot + 2 payment replicas";
pub const M_LOSERS: &str = "Drop: click → loser told \"Out of stock\" (500 losers)";
pub const M_WINNERS: &str = "Drop: click → codes in the buyer's DM (500 winners, none DMed before), last delivery vs the floor Discord's global limit sets";
pub const M_429: &str = "Drop: 429s the bot received (fake Discord, Discord's limits)";
pub const M_BOOKS: &str =
    "Drop: 500 sold, none twice, every charge matched by a delivery or refund";

/// The whole stage; always five rows.
pub async fn run(settings: &Settings, secrets: &RunSecrets) -> Vec<Row> {
    match measure(settings, secrets).await {
        Ok(rows) => rows,
        Err(e) => {
            let reason = format!("{e:#}");
            [M_ANSWER, M_LOSERS, M_WINNERS, M_429, M_BOOKS]
                .iter()
                .zip(["7a", "7b", "7c", "7d", "7e"])
                .map(|(m, id)| Row::new(id, *m, Outcome::NotRun(reason.clone())))
                .collect()
        }
    }
}

/// One buyer: who they are and the confirm step they will click.
struct Buyer {
    user: FakeUser,
    confirm_step: RecordedMessage,
    confirm_id: String,
}

/// One click of the drop.
struct Click {
    buyer: usize,
    interaction: u64,
    at: DateTime<Utc>,
}

async fn measure(settings: &Settings, secrets: &RunSecrets) -> anyhow::Result<Vec<Row>> {
    let db = ScratchDb::create(&settings.pg_admin_url, "bench_drop").await?;
    let ns = ScratchNamespace::new(&settings.amqp_url, "bench_drop");
    let env = PaymentEnv {
        database_url: db.url(),
        namespace: ns.namespace(),
        verify_status: false,
        midtrans_base_url: "http://127.0.0.1:9".into(),
    };
    // One after the other: the first runs the migrations.
    let pay_a = PaymentService::start(settings, secrets, &env, "drop-a").await?;
    let pay_b = PaymentService::start(settings, secrets, &env, "drop-b").await?;
    let conn = db.connect().await?;
    let broker = ns.connect("bench-drop", 32).await?;
    orders::load_stock(&broker, &secrets.admin_claim_secret, CODES).await?;
    broker.close().await;
    let price = orders::one_code_price();
    let balance = price + 5_000;
    orders::fund_users(&conn, FIRST_BUYER as i64, BUYERS as i64, balance).await?;

    let fake = Arc::new(
        FakeDiscord::start(FakeDiscordConfig {
            guild_id: BENCH_GUILD_ID,
            roles: vec![FakeRole {
                id: ADMIN_ROLE,
                name: "Admin".into(),
                permissions: 0,
            }],
            // Discord's limits (the default), and the production REST path (TLS).
            tls: true,
            ..FakeDiscordConfig::default()
        })
        .await
        .context("starting the fake Discord")?,
    );
    // Report refused bodies in the row instead of panicking when the fake is dropped.
    fake.expect_invalid_requests();
    let ca_file = settings.log_dir.join("fake-discord-drop-ca.pem");
    std::fs::create_dir_all(&settings.log_dir)?;
    std::fs::write(&ca_file, fake.tls_ca_pem().context("TLS front")?)?;
    let tls_addr = fake.tls_addr().context("TLS front")?;
    let bot_a = start_bot(
        settings,
        secrets,
        ns.namespace(),
        "drop-a",
        true,
        tls_addr,
        &ca_file,
    )
    .await?;
    let bot_b = start_bot(
        settings,
        secrets,
        ns.namespace(),
        "drop-b",
        false,
        tls_addr,
        &ca_file,
    )
    .await?;
    let commands_ready = fake
        .wait_for(Duration::from_secs(30), |f| {
            (!f.guild_commands(BENCH_GUILD_ID).is_empty()).then_some(())
        })
        .await;
    if commands_ready.is_none() {
        bail!("the bot registered no slash commands within 30 s");
    }

    eprintln!("[bench] stage 7: walking {BUYERS} buyers to the confirm step");
    let prepared = Instant::now();
    let buyers = prepare(&fake).await?;
    eprintln!(
        "[bench]   ready in {:.1} s; the drop: {BUYERS} clicks over {} s",
        prepared.elapsed().as_secs_f64(),
        SPREAD.as_secs()
    );
    // Let the replicas count each other (every 2 s) and the limits settle after the walk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let hits_before = fake.rate_limit_hits().len();
    let requests_before = fake.requests().len();

    let clicks = click_all(&fake, &buyers).await?;
    let first_click = clicks.first().map(|c| c.at).context("no click")?;
    let settled = settle(&fake, &conn, &clicks, &buyers).await?;

    let rows = judge(
        &fake,
        &conn,
        &buyers,
        &clicks,
        first_click,
        settled,
        hits_before,
        requests_before,
        balance,
        price,
    )
    .await;
    bot_a.stop().await;
    bot_b.stop().await;
    pay_a.process.stop().await;
    pay_b.process.stop().await;
    let _ = conn.close().await;
    drop(ns);
    drop(db);
    rows
}

async fn start_bot(
    settings: &Settings,
    secrets: &RunSecrets,
    namespace: &str,
    label: &str,
    gateway: bool,
    tls_addr: std::net::SocketAddr,
    ca_file: &std::path::Path,
) -> anyhow::Result<ServiceProcess> {
    let health_port = free_port()?;
    let mut bot = ServiceProcess::spawn(
        &format!("bot-service-{label}"),
        &settings.bin_dir.join("bot-service"),
        &[
            ("DISCORD_TOKEN", "bench.bot.token".into()),
            ("DISCORD_TEST_ONLY_API_ADDR", tls_addr.to_string()),
            ("DISCORD_TEST_ONLY_CA_FILE", ca_file.display().to_string()),
            ("ADMIN_CLAIM_SECRET", secrets.admin_claim_secret.clone()),
            ("DISCORD_GUILD_ID", BENCH_GUILD_ID.to_string()),
            ("AMQP_URL", settings.amqp_url.clone()),
            ("AMQP_NAMESPACE", namespace.to_string()),
            ("BOT_HEALTH_PORT", health_port.to_string()),
            ("BOT_GATEWAY", gateway.to_string()),
            ("DEFAULT_LOCALE", "en".into()),
            ("LOG_LEVEL", settings.service_log_level.clone()),
            ("LOG_FORMAT", "json".into()),
        ],
        &settings.log_dir,
    )?;
    wait_ready(
        &mut bot,
        &format!("http://127.0.0.1:{health_port}/readyz"),
        Duration::from_secs(60),
    )
    .await?;
    Ok(bot)
}

fn components(m: &RecordedMessage) -> Vec<Value> {
    m.components()
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The custom_id of the button whose label starts with `label`.
fn button(m: &RecordedMessage, label: &str) -> Option<String> {
    components(m)
        .into_iter()
        .find(|c| c["type"] == 2 && c["label"].as_str().is_some_and(|l| l.starts_with(label)))
        .and_then(|c| c["custom_id"].as_str().map(str::to_string))
}

/// The custom_id of the select menu that offers `value`.
fn select_offering(m: &RecordedMessage, value: &str) -> Option<String> {
    components(m)
        .into_iter()
        .find(|c| {
            c["type"] == 3
                && c["options"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|o| o["value"] == value))
        })
        .and_then(|c| c["custom_id"].as_str().map(str::to_string))
}

/// 1 000 buyers walk `/shop` → Order codes → 1 code, some at a time.
async fn prepare(fake: &Arc<RunningFake>) -> anyhow::Result<Vec<Buyer>> {
    let gate = Arc::new(Semaphore::new(PREPARE_CONCURRENCY));
    let tasks: Vec<_> = (0..BUYERS)
        .map(|i| {
            let (fake, gate) = (fake.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                walk_to_confirm(
                    &fake,
                    FakeUser::new(FIRST_BUYER + i as u64, format!("buyer{i}")),
                )
                .await
            })
        })
        .collect();
    let mut buyers = Vec::with_capacity(BUYERS);
    for t in tasks {
        buyers.push(t.await??);
    }
    Ok(buyers)
}

async fn answer(
    fake: &RunningFake,
    interaction: u64,
    what: &str,
    done: impl Fn(&RecordedMessage) -> bool,
) -> anyhow::Result<RecordedMessage> {
    const LOADING: u64 = 1 << 7;
    fake.wait_for(STEP_TIMEOUT, |f| {
        f.original_response_of(interaction)
            .filter(|m| m.flags() & LOADING == 0 && done(m))
    })
    .await
    .with_context(|| format!("no answer ({what}) to interaction {interaction}"))
}

async fn walk_to_confirm(fake: &RunningFake, user: FakeUser) -> anyhow::Result<Buyer> {
    let shop = fake.send_slash_command(&user, "shop", vec![])?;
    let menu = answer(fake, shop, "the shop menu", |m| {
        button(m, "Order").is_some()
    })
    .await?;
    let order = button(&menu, "Order").context("no Order button")?;
    let click = fake.click_button(&user, &menu, &order)?;
    let picker = answer(fake, click, "the package menu", |m| {
        select_offering(m, "1").is_some()
    })
    .await?;
    let select = select_offering(&picker, "1").context("no 1-code package")?;
    let pick = fake.select_menu(&user, &picker, &select, &["1"])?;
    let step = answer(fake, pick, "the confirm step", |m| {
        select_offering(m, "1").is_none()
    })
    .await?;
    let confirm_id = button(&step, "Confirm")
        .with_context(|| format!("no Confirm button on: {}", step.visible_text()))?;
    Ok(Buyer {
        user,
        confirm_step: step,
        confirm_id,
    })
}

/// Every buyer clicks Confirm once, evenly spread over [`SPREAD`].
async fn click_all(fake: &RunningFake, buyers: &[Buyer]) -> anyhow::Result<Vec<Click>> {
    let step = SPREAD / BUYERS as u32;
    let start = tokio::time::Instant::now();
    let mut clicks = Vec::with_capacity(buyers.len());
    for (i, b) in buyers.iter().enumerate() {
        tokio::time::sleep_until(start + step * i as u32).await;
        let at = Utc::now();
        let interaction = fake
            .click_button(&b.user, &b.confirm_step, &b.confirm_id)
            .with_context(|| format!("click {i}"))?;
        clicks.push(Click {
            buyer: i,
            interaction,
            at,
        });
    }
    Ok(clicks)
}

/// How a click ended, as the buyer saw it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shown {
    Placed,
    OutOfStock,
    Other,
    Pending,
}

fn shown(m: Option<&RecordedMessage>) -> Shown {
    let Some(m) = m else { return Shown::Pending };
    let text = m.visible_text();
    if text.contains("Placing your order") || text.contains("Confirm your order") {
        Shown::Pending
    } else if text.contains("Order placed") {
        Shown::Placed
    } else if text.contains("Out of stock") {
        Shown::OutOfStock
    } else {
        Shown::Other
    }
}

/// Waits until every click shows its outcome and every placed order is completed (or the limit
/// passes). Returns how long that took from the first click.
async fn settle(
    fake: &RunningFake,
    db: &DatabaseConnection,
    clicks: &[Click],
    _buyers: &[Buyer],
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let open = count(db, "SELECT count(*) AS n FROM orders WHERE status NOT IN ('completed', 'refunded', 'failed')").await?;
        let orders = count(db, "SELECT count(*) AS n FROM orders").await?;
        if open == 0 && orders > 0 {
            let pending = clicks
                .iter()
                .filter(|c| {
                    shown(fake.original_response_of(c.interaction).as_ref()) == Shown::Pending
                })
                .count();
            if pending == 0 {
                return Ok(start.elapsed());
            }
        }
        if start.elapsed() > SETTLE_LIMIT {
            eprintln!("[bench]   the drop did not settle within {SETTLE_LIMIT:?}; judging it as it stands");
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await?
        .context("no answer")?;
    Ok(row.try_get("", "n")?)
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

/// Codes as the bench loaded them (`BENCH` + 32 hex digits) found in a message's text.
fn codes_in(m: &RecordedMessage) -> Vec<String> {
    let text = m.visible_text();
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 37 && w.starts_with("BENCH"))
        .map(str::to_string)
        .collect()
}

fn s(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn global_route(r: &fake_discord::RecordedRequest) -> bool {
    fake_discord::counts_toward_global(&r.method, &r.path)
}

#[allow(clippy::too_many_arguments)]
async fn judge(
    fake: &RunningFake,
    db: &DatabaseConnection,
    buyers: &[Buyer],
    clicks: &[Click],
    first_click: DateTime<Utc>,
    settled: Duration,
    hits_before: usize,
    requests_before: usize,
    balance: i64,
    price: i64,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();

    // 7a: the deferral of each Confirm click.
    let mut answers = Vec::new();
    let mut unanswered = 0;
    let mut failed = 0;
    for c in clicks {
        match fake.interaction(c.interaction) {
            Some(r) => {
                failed += usize::from(r.failed);
                match r.latency() {
                    Some(l) => answers.push(l),
                    None => unanswered += 1,
                }
            }
            None => unanswered += 1,
        }
    }
    let answer_summary = Summary::of(&answers);
    rows.push(Row::new(
        "7a",
        M_ANSWER,
        match answer_summary {
            Some(sum) => Outcome::Target {
                result: format!(
                    "p99 {:.1} ms (p50 {:.1}, max {:.1}, n={}; {unanswered} unanswered, {failed} past Discord's 3 s)",
                    sum.p99_ms, sum.p50_ms, sum.max_ms, sum.count
                ),
                target: "p99 < 1 s, all answered".into(),
                pass: sum.p99_ms < ANSWER_TARGET.as_secs_f64() * 1000.0
                    && unanswered == 0
                    && failed == 0,
            },
            None => Outcome::NotRun("no click was answered".into()),
        },
    ));

    // Outcomes shown, and the DMs.
    let messages = fake.messages();
    let by_channel: HashMap<u64, Vec<&RecordedMessage>> =
        messages.iter().fold(HashMap::new(), |mut m, msg| {
            m.entry(msg.channel_id).or_default().push(msg);
            m
        });
    let mut told = Vec::new();
    let mut last_told = Duration::ZERO;
    let mut to_dm = Vec::new();
    let mut last_dm: Option<(Duration, Duration)> = None; // (since first click, since own click)
    let (mut placed, mut out_of_stock, mut other, mut pending) = (0, 0, 0, 0);
    let mut codes = Vec::new();
    let mut winners_without_dm = 0;
    let mut extra_dms = 0;
    for c in clicks {
        let original = fake.original_response_of(c.interaction);
        match shown(original.as_ref()) {
            Shown::OutOfStock => {
                out_of_stock += 1;
                if let Some(at) = original
                    .as_ref()
                    .and_then(|m| parse_time(&m.json["edited_timestamp"]))
                {
                    told.push(since(c.at, at));
                    last_told = last_told.max(since(first_click, at));
                }
            }
            Shown::Placed => placed += 1,
            Shown::Other => other += 1,
            Shown::Pending => pending += 1,
        }
        let user = buyers[c.buyer].user.id;
        let dms: Vec<&RecordedMessage> = fake
            .dm_channel_of(user)
            .and_then(|ch| by_channel.get(&ch))
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|m| !codes_in(m).is_empty())
                    .collect()
            })
            .unwrap_or_default();
        match dms.first() {
            Some(dm) => {
                extra_dms += dms.len() - 1;
                codes.extend(dms.iter().flat_map(|m| codes_in(m)));
                if let Some(at) = parse_time(&dm.json["timestamp"]) {
                    let own = since(c.at, at);
                    let overall = since(first_click, at);
                    to_dm.push(own);
                    if last_dm.is_none_or(|(o, _)| overall > o) {
                        last_dm = Some((overall, own));
                    }
                }
            }
            None if shown(original.as_ref()) == Shown::Placed => winners_without_dm += 1,
            None => {}
        }
    }

    // 7b: losers told.
    let told_summary = Summary::of(&told);
    rows.push(Row::new(
        "7b",
        M_LOSERS,
        match told_summary {
            Some(sum) => Outcome::Target {
                result: format!(
                    "max {:.0} ms (p50 {:.0}, p99 {:.0}, n={}); the last loser told {:.1} s after the first click",
                    sum.max_ms, sum.p50_ms, sum.p99_ms, sum.count, s(last_told)
                ),
                target: "every loser within 3 s".into(),
                pass: sum.max_ms <= LOSERS_TARGET.as_secs_f64() * 1000.0
                    && out_of_stock == BUYERS - CODES,
            },
            None => Outcome::NotRun("no loser was told".into()),
        },
    ));

    // 7c: deliveries against the floor.
    let drop_requests: Vec<_> = fake.requests().into_iter().skip(requests_before).collect();
    let needed = drop_requests
        .iter()
        .filter(|r| global_route(r) && (200..300).contains(&r.status))
        .count();
    let sent_global = drop_requests.iter().filter(|r| global_route(r)).count();
    let mut by_route: BTreeMap<String, usize> = BTreeMap::new();
    for r in drop_requests
        .iter()
        .filter(|r| global_route(r) && (200..300).contains(&r.status))
    {
        *by_route
            .entry(fake_discord::route_template(&r.method, &r.path))
            .or_default() += 1;
    }
    let floor = Duration::from_secs_f64(needed as f64 / DISCORD_GLOBAL_PER_SECOND);
    let dm_summary = Summary::of(&to_dm);
    rows.push(Row::new(
        "7c",
        M_WINNERS,
        match (dm_summary, last_dm) {
            (Some(sum), Some((overall, own))) => {
                let limit = floor.mul_f64(1.25) + Duration::from_secs(2);
                let ratio = s(overall) / s(floor).max(1e-9);
                Outcome::Target {
                    result: format!(
                        "last delivery {:.1} s after the first click = {ratio:.2}× the floor of {:.1} s ({needed} global-limit requests needed ÷ 50/s: {}); \
                         click → DM p50 {:.1} s, p99 {:.1} s, last winner {:.1} s after their click (n={}; {sent_global} global-limit requests sent)",
                        s(overall),
                        s(floor),
                        by_route.iter().map(|(r, n)| format!("{n} {r}")).collect::<Vec<_>>().join(", "),
                        sum.p50_ms / 1000.0,
                        sum.p99_ms / 1000.0,
                        s(own),
                        sum.count,
                    ),
                    target: format!("last ≤ 1.25 × floor + 2 s = {:.1} s", s(limit)),
                    pass: overall <= limit && sum.count == CODES,
                }
            }
            _ => Outcome::NotRun("no codes reached a DM".into()),
        },
    ));

    // 7d: 429s during the drop.
    let hits: Vec<_> = fake
        .rate_limit_hits()
        .into_iter()
        .skip(hits_before)
        .collect();
    let counts = RateLimitCounts::of(&hits);
    let routes: Vec<String> = counts
        .user
        .iter()
        .chain(counts.shared.iter())
        .map(|(r, n)| format!("{n} on {r}"))
        .collect();
    rows.push(Row::new(
        "7d",
        M_429,
        Outcome::Target {
            result: format!(
                "{} in all: {} global; per route: {}",
                counts.total(),
                counts.global,
                if routes.is_empty() {
                    "none".to_string()
                } else {
                    routes.join(", ")
                }
            ),
            target: format!("0 global, ≤ {ROUTE_429_HANDFUL} on any route"),
            pass: counts.global == 0 && counts.worst_route() <= ROUTE_429_HANDFUL,
        },
    ));

    // 7e: the books.
    rows.push(Row::new(
        "7e",
        M_BOOKS,
        books(
            db,
            balance,
            price,
            Books {
                placed,
                out_of_stock,
                other,
                pending,
                codes,
                winners_without_dm,
                extra_dms,
                invalid_bodies: fake.invalid_requests().len(),
                settled,
            },
        )
        .await
        .unwrap_or_else(|e| Outcome::NotRun(format!("{e:#}"))),
    ));
    Ok(rows)
}

struct Books {
    placed: usize,
    out_of_stock: usize,
    other: usize,
    pending: usize,
    codes: Vec<String>,
    winners_without_dm: usize,
    extra_dms: usize,
    invalid_bodies: usize,
    settled: Duration,
}

async fn books(
    db: &DatabaseConnection,
    balance: i64,
    price: i64,
    b: Books,
) -> anyhow::Result<Outcome> {
    let first = FIRST_BUYER as i64;
    let last = first + BUYERS as i64 - 1;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT \
                   (SELECT count(*) FROM stock WHERE status = 'sold') AS sold, \
                   (SELECT count(*) FROM stock WHERE status <> 'sold') AS unsold, \
                   (SELECT count(*) FROM (SELECT order_id FROM stock WHERE order_id IS NOT NULL \
                       GROUP BY order_id HAVING count(*) <> 1) x) AS bad_orders, \
                   (SELECT count(*) FROM orders) AS orders, \
                   (SELECT count(*) FROM orders WHERE status = 'completed') AS completed, \
                   (SELECT count(*) FROM orders WHERE status = 'refunded') AS refunded, \
                   (SELECT count(*) FROM orders o WHERE status = 'completed' AND NOT EXISTS \
                       (SELECT 1 FROM deliveries d WHERE d.order_id = o.id AND d.status = 'confirmed')) AS undelivered, \
                   (SELECT count(*) FROM users WHERE user_id BETWEEN {first} AND {last} AND balance = {balance} - {price}) AS charged, \
                   (SELECT count(*) FROM users WHERE user_id BETWEEN {first} AND {last} AND balance = {balance}) AS untouched, \
                   (SELECT coalesce(sum(balance), 0)::bigint FROM users WHERE user_id BETWEEN {first} AND {last}) AS balances"
            ),
        ))
        .await?
        .context("no answer to the books")?;
    let get = |name: &str| -> anyhow::Result<i64> { Ok(row.try_get::<i64>("", name)?) };
    let (
        sold,
        unsold,
        bad_orders,
        orders,
        completed,
        refunded,
        undelivered,
        charged,
        untouched,
        balances,
    ) = (
        get("sold")?,
        get("unsold")?,
        get("bad_orders")?,
        get("orders")?,
        get("completed")?,
        get("refunded")?,
        get("undelivered")?,
        get("charged")?,
        get("untouched")?,
        get("balances")?,
    );
    let codes_n = CODES as i64;
    let distinct: HashSet<&String> = b.codes.iter().collect();
    let mut problems = Vec::new();
    if sold != codes_n || unsold != 0 {
        problems.push(format!("{sold} codes sold, {unsold} not"));
    }
    if bad_orders != 0 {
        problems.push(format!("{bad_orders} orders hold other than one code"));
    }
    if b.codes.len() != CODES || distinct.len() != CODES {
        problems.push(format!(
            "{} codes in DMs, {} distinct",
            b.codes.len(),
            distinct.len()
        ));
    }
    if completed + refunded != orders || undelivered != 0 {
        problems.push(format!(
            "{orders} orders: {completed} completed ({undelivered} without a confirmed delivery), {refunded} refunded"
        ));
    }
    if charged != completed || charged + untouched != BUYERS as i64 {
        problems.push(format!(
            "{charged} buyers charged, {completed} orders completed, {untouched} untouched"
        ));
    }
    let expected = BUYERS as i64 * balance - completed * price;
    if balances != expected {
        problems.push(format!("Σ balances {balances}, expected {expected}"));
    }
    if b.placed != CODES || b.out_of_stock != BUYERS - CODES || b.other + b.pending != 0 {
        problems.push(format!(
            "buyers were shown {} placed, {} out of stock, {} other, {} nothing",
            b.placed, b.out_of_stock, b.other, b.pending
        ));
    }
    if b.winners_without_dm + b.extra_dms != 0 {
        problems.push(format!(
            "{} winners without a DM, {} extra DMs",
            b.winners_without_dm, b.extra_dms
        ));
    }
    if b.invalid_bodies != 0 {
        problems.push(format!(
            "{} requests refused as invalid (50035)",
            b.invalid_bodies
        ));
    }
    let pass = problems.is_empty();
    Ok(Outcome::Check {
        pass,
        detail: if pass {
            format!(
                "PASS: {sold} sold, {} distinct codes in {} DMs, {completed} orders completed with a confirmed delivery, {refunded} refunded, {untouched} refused buyers not charged, Σ balances = {balances}; settled {:.1} s after the clicks",
                distinct.len(),
                b.placed,
                s(b.settled)
            )
        } else {
            format!("FAIL: {}", problems.join("; "))
        },
    })
}
