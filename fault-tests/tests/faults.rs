//! Issue 7, items 1 and 5: the real services under a steady load of orders and top-ups while
//! RabbitMQ, PostgreSQL or a service is stopped, killed or restarted; SIGTERM and a rolling
//! restart under load. After each: every invariant of DESIGN.md §6, the outside view (what users
//! were told, what Midtrans settled, what Discord received) and the broker queues.
//!
//! The scenarios run one after another on one private RabbitMQ node and one private PostgreSQL
//! cluster started by this test (never the shared servers), each with its own database and broker
//! namespace. `FAULT_SCENARIOS=rabbitmq_restart,postgres_restart` runs only those.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use fault_tests::run::{Env, RunOptions};
use fault_tests::{Kind, Run};
use sea_orm::{ConnectionTrait, Database};

type Scenario =
    for<'a> fn(&'a mut Env) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + 'a>>;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The longest one scenario may take, set-up and checks included.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_graceful_shutdown() {
    let all: Vec<(&str, Scenario)> = vec![
        ("rabbitmq_restart", |e| Box::pin(rabbitmq_restart(e))),
        ("payment_sigkill", |e| Box::pin(payment_sigkill(e))),
        ("postgres_restart", |e| Box::pin(postgres_restart(e))),
        ("bot_sigkill", |e| Box::pin(bot_sigkill(e))),
        ("two_payment_replicas", |e| {
            Box::pin(two_payment_replicas(e))
        }),
        ("scale_out", |e| Box::pin(scale_out(e))),
        ("sigterm_each_service", |e| {
            Box::pin(sigterm_each_service(e))
        }),
        ("rolling_restart", |e| Box::pin(rolling_restart(e))),
    ];
    let selected: Option<Vec<String>> = std::env::var("FAULT_SCENARIOS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
    let started = Instant::now();
    let mut env = Env::start()
        .await
        .expect("private RabbitMQ and PostgreSQL start");
    eprintln!(
        "private servers up in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut results = Vec::new();
    for (name, scenario) in all {
        if selected
            .as_ref()
            .is_some_and(|s| !s.iter().any(|n| n == name))
        {
            continue;
        }
        let t = Instant::now();
        let result = match tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&mut env)).await {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("timed out after {SCENARIO_TIMEOUT:?}")),
        };
        let secs = t.elapsed().as_secs_f64();
        match &result {
            Ok(summary) => eprintln!("PASS {name} ({secs:.1}s): {summary}"),
            Err(e) => eprintln!("FAIL {name} ({secs:.1}s): {e:#}"),
        }
        results.push((name, secs, result));
    }
    eprintln!(
        "\n---- fault scenarios ({:.1}s in all) ----",
        started.elapsed().as_secs_f64()
    );
    for (name, secs, result) in &results {
        eprintln!(
            "{:<24} {:>6.1}s  {}",
            name,
            secs,
            if result.is_ok() { "pass" } else { "FAIL" }
        );
    }
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|(name, _, r)| r.err().map(|e| format!("{name}: {e:#}")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} scenario(s) failed:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// `rabbitmqctl stop_app` for 5 s mid-load, then `start_app`.
async fn rabbitmq_restart(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("rabbitmq_restart", env, RunOptions::default()).await?;
    run.under_load(SECS(5)).await?;
    run.note("rabbitmqctl stop_app");
    env.rabbit.stop_app().await?;
    run.under_load(SECS(5)).await?;
    run.note("rabbitmqctl start_app");
    env.rabbit.start_app().await?;
    run.note("broker back");
    run.under_load(SECS(8)).await?;
    run.finish(env).await
}

/// payment-service SIGKILLed while it handles orders and notifications; a new one started.
async fn payment_sigkill(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("payment_sigkill", env, RunOptions::default()).await?;
    run.under_load(SECS(5)).await?;
    run.load.burst_orders(60);
    tokio::time::sleep(Duration::from_millis(150)).await;
    run.note("60 orders burst; SIGKILL payment-a");
    run.cluster.kill("payment-a").await?;
    run.cluster.start("payment-a2", Kind::Payment).await?;
    run.note("payment-a2 ready");
    run.under_load(SECS(8)).await?;
    run.finish(env).await
}

/// PostgreSQL stopped like a crash (`-m immediate`) for 12 s mid-load, then started again.
async fn postgres_restart(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("postgres_restart", env, RunOptions::default()).await?;
    let unpaid = run.load.unpaid_topups(6).await?;
    run.under_load(SECS(5)).await?;
    run.note("PostgreSQL stop -m immediate; 6 customers pay now");
    env.pg.stop(false).await?;
    run.load.pay_later(&unpaid);
    // Longer than the services' pool acquire timeout (10 s): handlers fail and retry, the
    // webhook answers 503 and Midtrans retries.
    run.under_load(SECS(12)).await?;
    env.pg.start_again().await?;
    run.note("PostgreSQL back");
    run.under_load(SECS(8)).await?;
    run.note(&format!(
        "webhook answers so far: {:?}",
        run.webhook_answers()
    ));
    run.finish(env).await
}

/// bot-service SIGKILLed with deliveries in flight and more arriving; restarted 5 s later.
async fn bot_sigkill(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("bot_sigkill", env, RunOptions::default()).await?;
    run.under_load(SECS(5)).await?;
    run.load.burst_orders(60);
    tokio::time::sleep(Duration::from_millis(400)).await;
    run.note("60 orders burst; SIGKILL bot-a");
    run.cluster.kill("bot-a").await?;
    run.under_load(SECS(5)).await?;
    let waiting = env
        .rabbit
        .queues()
        .await?
        .into_iter()
        .find(|q| q.0 == format!("{}.bot.deliveries", run.cluster.infra.namespace))
        .map_or(0, |q| q.1 + q.2);
    run.note(&format!("{waiting} deliveries waiting for a bot"));
    ensure!(
        waiting > 0,
        "the scenario needs deliveries pending while the bot is down"
    );
    run.cluster.start("bot-a2", Kind::Bot).await?;
    run.note("bot-a2 ready");
    run.under_load(SECS(6)).await?;
    run.finish(env).await
}

/// Two payment-service replicas compete for the same queues; both must take work.
async fn two_payment_replicas(env: &mut Env) -> anyhow::Result<String> {
    let options = RunOptions {
        payments: vec!["payment-a", "payment-b"],
        ..RunOptions::default()
    };
    let mut run = Run::start("two_payment_replicas", env, options).await?;
    run.under_load(SECS(12)).await?;
    let a = run
        .cluster
        .metric_sum("payment-a", "payment_orders_total")
        .await?;
    let b = run
        .cluster
        .metric_sum("payment-b", "payment_orders_total")
        .await?;
    run.note(&format!("orders handled: payment-a {a}, payment-b {b}"));
    ensure!(
        a > 0.0 && b > 0.0,
        "both replicas must consume (a {a}, b {b})"
    );
    let summary = run.finish(env).await?;
    Ok(format!("replica a {a} / b {b} orders; {summary}"))
}

/// Issue 8: three payment-service and two bot-service replicas on one broker and one database.
/// bot-a holds the gateway (users' slash commands reach it), both bots consume delivery events;
/// the payment replicas compete for commands and share the webhook behind the front door. Every
/// replica must have handled some of the work, nothing twice, and every invariant must hold.
async fn scale_out(env: &mut Env) -> anyhow::Result<String> {
    const PAYMENTS: [&str; 3] = ["payment-a", "payment-b", "payment-c"];
    const BOTS: [&str; 2] = ["bot-a", "bot-b"];
    let options = RunOptions {
        payments: PAYMENTS.to_vec(),
        bots: BOTS.to_vec(),
        gateway: true,
        ..RunOptions::default()
    };
    let first_user = options.load.first_user;
    let mut run = Run::start("scale_out", env, options).await?;
    run.strict = true;

    // Users talk to the gateway replica meanwhile: each /balance is a request/reply that any
    // payment replica may answer.
    let mut asked = Vec::new();
    for i in 0..12u64 {
        let user = fake_discord::FakeUser::new(first_user + i % 24, format!("buyer{i}"));
        let id = run
            .cluster
            .fake
            .send_slash_command(&user, "balance", vec![])?;
        asked.push(id);
        run.under_load(Duration::from_millis(800)).await?;
    }
    run.under_load(SECS(4)).await?;
    for id in &asked {
        let answered = run
            .cluster
            .fake
            .wait_for(SECS(10), |f| {
                f.original_response_of(*id)
                    .filter(|m| m.visible_text().contains("Your balance"))
            })
            .await;
        ensure!(
            answered.is_some(),
            "/balance {id} was not answered with the balance"
        );
    }
    let sessions = run.cluster.fake.connected_sessions().len();
    ensure!(
        sessions == 1,
        "{sessions} gateway sessions; only bot-a may hold one"
    );

    let mut shares = Vec::new();
    for name in PAYMENTS {
        let orders = run.cluster.metric_sum(name, "payment_orders_total").await?;
        let topups = run.cluster.metric_sum(name, "payment_topups_total").await?;
        let webhooks = run
            .cluster
            .metric_sum(name, "payment_webhook_notifications_total")
            .await?;
        shares.push(format!(
            "{name}: {orders} orders, {topups} top-ups, {webhooks} notifications"
        ));
        ensure!(
            orders > 0.0 && topups > 0.0 && webhooks > 0.0,
            "every payment replica must take orders, top-ups and notifications ({})",
            shares.join("; ")
        );
    }
    for name in BOTS {
        let deliveries = run.cluster.metric_sum(name, "bot_deliveries_total").await?;
        shares.push(format!("{name}: {deliveries} deliveries"));
        ensure!(
            deliveries > 0.0,
            "both bot replicas must deliver ({})",
            shares.join("; ")
        );
    }
    // Every replica reports the lag of the queues it consumes (and of their dead-letter queues).
    let ns = run.cluster.infra.namespace.clone();
    for (name, gauge, queue) in [
        (
            "payment-a",
            "payment_consumer_lag_messages",
            "payment.commands",
        ),
        (
            "payment-c",
            "payment_consumer_lag_messages",
            "payment.commands.dlq",
        ),
        ("bot-b", "bot_consumer_lag_messages", "bot.deliveries"),
    ] {
        let text = run.cluster.metrics_text(name).await?;
        let series = format!("{gauge}{{queue=\"{ns}.{queue}\"}}");
        ensure!(text.contains(&series), "{name} exports no {series}");
    }
    run.note(&format!("work shared: {}", shares.join("; ")));
    let summary = run.finish(env).await?;
    Ok(format!("{}; {summary}", shares.join("; ")))
}

/// SIGTERM to each service while work is in flight: it stops taking messages, finishes what it
/// holds, flushes the outbox and exits 0; a new replica takes over. Three rounds per service, so
/// the signal lands with work in flight more than once.
async fn sigterm_each_service(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("sigterm_each_service", env, RunOptions::default()).await?;
    run.under_load(SECS(4)).await?;
    let db = Database::connect(&run.db_url).await?;
    // Recorded, not returned at once, so the rest of the scenario still runs and reports.
    let mut not_flushed = Vec::new();
    for round in 1..=3 {
        let (old, new) = (format!("payment-{round}"), format!("payment-{}", round + 1));
        let old = if round == 1 {
            "payment-a".to_string()
        } else {
            old
        };
        run.note(&format!("SIGTERM {old}"));
        let ended = run.cluster.terminate(&old, SECS(30)).await?;
        ensure!(
            ended.status.success(),
            "{old} exited with {} after SIGTERM:\n{}",
            ended.status,
            tail(&ended.log, 40)
        );
        // It was the only replica: whatever it committed must have been published before it left.
        let left = db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT COUNT(*) AS n, string_agg(message_type, ',') AS types FROM outbox \
                 WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= now())",
            ))
            .await?
            .context("no row")?;
        let unpublished: i64 = left.try_get("", "n")?;
        if unpublished != 0 {
            let types: Option<String> = left.try_get("", "types")?;
            let failure = format!(
                "{old} exited 0 after SIGTERM but left {unpublished} committed outbox rows unpublished ({}): the outbox was not flushed",
                types.unwrap_or_default()
            );
            run.note(&failure);
            not_flushed.push(format!("{failure}\n{}", tail(&ended.log, 12)));
        } else {
            run.note(&format!("{old} exited 0, outbox flushed"));
        }
        run.cluster.start(&new, Kind::Payment).await?;
        run.under_load(SECS(2)).await?;
    }
    db.close().await.ok();
    for round in 1..=2 {
        let (old, new) = if round == 1 {
            ("bot-a".to_string(), "bot-2".to_string())
        } else {
            ("bot-2".to_string(), "bot-3".to_string())
        };
        run.note(&format!("SIGTERM {old}"));
        let ended = run.cluster.terminate(&old, SECS(30)).await?;
        ensure!(
            ended.status.success(),
            "{old} exited with {} after SIGTERM:\n{}",
            ended.status,
            tail(&ended.log, 40)
        );
        run.cluster.start(&new, Kind::Bot).await?;
        run.note(&format!("{old} exited 0; {new} ready"));
        run.under_load(SECS(2)).await?;
    }
    let summary = run.finish(env).await?;
    if !not_flushed.is_empty() {
        bail!(
            "{}\n(the rest of the scenario passed: {summary})",
            not_flushed.join("\n")
        );
    }
    Ok(summary)
}

/// Rolling restart under load: B started, A SIGTERMed, then C replaces B, for both services.
/// Nothing may be lost or even wait for a resend: every request is answered in time.
async fn rolling_restart(env: &mut Env) -> anyhow::Result<String> {
    let mut run = Run::start("rolling_restart", env, RunOptions::default()).await?;
    run.strict = true;
    run.under_load(SECS(4)).await?;
    for (old, new) in [("a", "b"), ("b", "c")] {
        for (kind, service) in [(Kind::Payment, "payment"), (Kind::Bot, "bot")] {
            let (old, new) = (format!("{service}-{old}"), format!("{service}-{new}"));
            run.cluster.start(&new, kind).await?;
            run.note(&format!("{new} ready; SIGTERM {old}"));
            let ended = run.cluster.terminate(&old, SECS(30)).await?;
            ensure!(
                ended.status.success(),
                "{old} exited with {} after SIGTERM:\n{}",
                ended.status,
                tail(&ended.log, 40)
            );
            run.under_load(SECS(2)).await?;
        }
    }
    run.under_load(SECS(3)).await?;
    run.finish(env).await
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
