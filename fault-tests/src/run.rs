//! One scenario from start to verdict: a fresh database and broker namespace on the private
//! servers, the services, stock, funded buyers, the load; then [`Run::finish`] stops the load,
//! sends unanswered requests again, waits for the system to settle and checks everything.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sea_orm::{ConnectionTrait, Database};

use crate::cluster::{Cluster, Infra, Kind};
use crate::infra::{PrivatePostgres, PrivateRabbit};
use crate::invariants;
use crate::load::{Load, LoadConfig};
use crate::outcome;

/// The private servers the scenarios of one test run on (one after the other).
pub struct Env {
    pub rabbit: PrivateRabbit,
    pub pg: PrivatePostgres,
}

impl Env {
    /// Starts both servers. Call from the test's own thread (see [`crate::infra`]).
    pub async fn start() -> anyhow::Result<Self> {
        let (rabbit, pg) = tokio::join!(PrivateRabbit::start(), PrivatePostgres::start());
        Ok(Env {
            rabbit: rabbit.context(
                "starting the private RabbitMQ (the fault tests run as root with rabbitmq-server installed)",
            )?,
            pg: pg.context(
                "starting the private PostgreSQL (the fault tests run as root with PostgreSQL 15 in /usr/lib/postgresql/15)",
            )?,
        })
    }
}

/// How a scenario's system is set up.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub payments: Vec<&'static str>,
    pub bots: Vec<&'static str>,
    /// The first bot replica holds the gateway session (the others only consume events).
    pub gateway: bool,
    pub payment_env: Vec<(&'static str, &'static str)>,
    pub bot_env: Vec<(&'static str, &'static str)>,
    pub load: LoadConfig,
    pub stock: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            payments: vec!["payment-a"],
            bots: vec!["bot-a"],
            gateway: false,
            payment_env: Vec::new(),
            bot_env: Vec::new(),
            load: LoadConfig::default(),
            stock: 1500,
        }
    }
}

pub struct Run {
    pub name: String,
    pub cluster: Cluster,
    pub load: Load,
    pub db_url: String,
    /// Graceful scenarios: every request must have been answered within its timeout (nothing
    /// needed sending again) and no delivery repeated.
    pub strict: bool,
    started: Instant,
}

impl Run {
    /// Sets everything up and starts the load.
    pub async fn start(name: &str, env: &Env, options: RunOptions) -> anyhow::Result<Run> {
        let started = Instant::now();
        let database = test_support::unique_name("fault");
        let db_url = env.pg.create_database(&database).await?;
        let infra = Infra {
            database_url: db_url.clone(),
            amqp_url: env.rabbit.amqp_url(),
            namespace: test_support::unique_namespace(),
        };
        let mut cluster = Cluster::new(infra, &options.payment_env, &options.bot_env).await?;
        for p in &options.payments {
            cluster.start(p, Kind::Payment).await?;
        }
        for (i, b) in options.bots.iter().enumerate() {
            if i == 0 && options.gateway {
                cluster
                    .start_with(b, Kind::Bot, &[("BOT_GATEWAY", "true")])
                    .await?;
                if !cluster
                    .fake
                    .wait_for_sessions(1, Duration::from_secs(30))
                    .await
                {
                    bail!(
                        "{b} opened no gateway session in 30 s\n{}",
                        cluster.log_tails(30)
                    );
                }
            } else {
                cluster.start(b, Kind::Bot).await?;
            }
        }
        let load = Load::connect(
            &env.rabbit.amqp_url(),
            &cluster.infra.namespace,
            cluster.sim.clone(),
            options.load.clone(),
        )
        .await?;
        load.load_stock(&cluster.claim_secret, options.stock)
            .await?;
        load.open_accounts().await?;
        let funded = options.load.users as i64;
        let db = Database::connect(&db_url).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let credited = db
                .query_one(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT COUNT(*) AS n FROM topups WHERE status = 'success'",
                ))
                .await?
                .and_then(|r| r.try_get::<i64>("", "n").ok())
                .unwrap_or(0);
            if credited >= funded {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "only {credited} of {funded} opening top-ups credited after 60 s\n{}",
                    cluster.log_tails(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        db.close().await.ok();
        let mut run = Run {
            name: name.to_string(),
            cluster,
            load,
            db_url,
            strict: false,
            started,
        };
        run.load.start();
        eprintln!(
            "[{name}] set up in {:.1}s; load running",
            started.elapsed().as_secs_f64()
        );
        Ok(run)
    }

    /// Lets the load run for `d` while watching that no replica dies on its own.
    pub async fn under_load(&mut self, d: Duration) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + d;
        while tokio::time::Instant::now() < until {
            self.cluster.check_alive()?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Webhook answers the simulator got so far, by HTTP status (`None`: no answer).
    pub fn webhook_answers(&self) -> std::collections::BTreeMap<String, usize> {
        let mut answers = std::collections::BTreeMap::new();
        for n in self.cluster.sim.notifications() {
            let key = n
                .http_status
                .map_or_else(|| "none".to_string(), |s| s.to_string());
            *answers.entry(key).or_insert(0) += 1;
        }
        answers
    }

    pub fn note(&self, what: &str) {
        eprintln!(
            "[{}] {:>5.1}s {what}",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Stops the load, settles and checks every invariant, the outside view and the broker,
    /// then stops every replica with SIGTERM (each must exit 0) and checks the outbox and the
    /// queues once more. Answers a summary.
    pub async fn finish(mut self, env: &Env) -> anyhow::Result<String> {
        self.note("stopping the load");
        self.load.stop().await;
        let (orders, topups) = self.load.tally().unresolved();
        if self.strict && (orders, topups) != (0, 0) {
            bail!(
                "[{}] {orders} orders and {topups} top-ups got no answer in time (a message was lost or stalled)\n{}",
                self.name,
                self.cluster.log_tails(40)
            );
        }
        self.load
            .settle(Duration::from_secs(90))
            .await
            .with_context(|| format!("settling the load\n{}", self.cluster.log_tails(30)))?;
        let tally = self.load.tally();
        self.note(&format!("load settled: {}", tally.summary()));
        self.cluster.check_alive()?;

        let report = invariants::wait_until_settled(&self.db_url, Duration::from_secs(60))
            .await
            .with_context(|| self.cluster.log_tails(40))?;
        self.note(&format!("invariants hold:\n{report}"));

        let db = Database::connect(&self.db_url).await?;
        let outside = outcome::check(&db, &self.cluster, &tally).await?;
        if !outside.violations.is_empty() {
            bail!(
                "[{}] outside view: {outside}\n{}",
                self.name,
                self.cluster.log_tails(40)
            );
        }
        self.note(&format!("outside view: {outside}"));
        if self.strict && outside.duplicate_dms != 0 {
            bail!(
                "[{}] {} deliveries were repeated in a graceful scenario",
                self.name,
                outside.duplicate_dms
            );
        }

        self.queues_drained(env).await?;
        self.note("queues drained, nothing unacknowledged, DLQs empty");

        let ended = self.cluster.shutdown_all().await?;
        for e in &ended {
            if !e.log.contains("stopped") {
                bail!("{} exited 0 but logged no orderly stop:\n{}", e.name, e.log);
            }
        }
        let after = invariants::check_all(&self.db_url).await?;
        if after.outbox_unpublished != 0 {
            bail!("outbox not flushed at shutdown: {after}");
        }
        self.queues_drained(env).await?;
        self.load.close().await;
        db.close().await.ok();
        let summary = format!(
            "{}; {} orders accepted, {} settled payments, {} codes DMed, {} repeated DMs",
            tally.summary(),
            outside.accepted_orders + outside.accepted_later,
            outside.settled_payments,
            outside.codes_dmed,
            outside.duplicate_dms
        );
        self.note("all replicas stopped with exit 0; outbox and queues still clean");
        Ok(summary)
    }

    /// Every queue of this run's namespace: nothing ready, nothing unacknowledged, DLQs empty
    /// (waits up to 30 s for consumers to finish what the last events brought).
    pub async fn queues_drained(&self, env: &Env) -> anyhow::Result<()> {
        let prefix = format!("{}.", self.cluster.infra.namespace);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let queues = env.rabbit.queues().await?;
            let ours: Vec<&(String, u64, u64)> =
                queues.iter().filter(|q| q.0.starts_with(&prefix)).collect();
            let dirty: Vec<String> = ours
                .iter()
                .filter(|(_, ready, unacked)| *ready != 0 || *unacked != 0)
                .map(|(n, r, u)| format!("{n}: {r} ready, {u} unacked"))
                .collect();
            if ours.len() >= 8 && dirty.is_empty() {
                return Ok(());
            }
            let dead_lettered = dirty.iter().any(|d| d.contains(".dlq:"));
            if dead_lettered || tokio::time::Instant::now() >= deadline {
                bail!(
                    "[{}] queues not drained ({} of ours listed): {}\n{}",
                    self.name,
                    ours.len(),
                    dirty.join(", "),
                    self.cluster.log_tails(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
