//! bot-service for the memory figures: the real binary against the fake Discord binary (REST
//! and gateway), in the namespace of the main payment-service.
//!
//! Idle: started before any order exists, measured 3 s after it reports ready, then stopped.
//! Loaded: started again after the order-pipeline stage, when its delivery queue holds every
//! `delivery.requested` of that stage; it DMs the codes through the fake Discord and reports
//! back, and its memory is sampled while it works through the backlog.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::services::{free_port, wait_ready, RssSampler, RunSecrets, ServiceProcess};
use crate::stats::Rss;
use crate::Settings;

pub struct Bot {
    fake: ServiceProcess,
    pub bot: ServiceProcess,
}

impl Bot {
    pub async fn start(
        settings: &Settings,
        secrets: &RunSecrets,
        namespace: &str,
        label: &str,
    ) -> anyhow::Result<Bot> {
        let rest_port = free_port()?;
        let gateway_port = free_port()?;
        let mut fake = ServiceProcess::spawn(
            &format!("fake-discord-{label}"),
            &settings.bin_dir.join("fake-discord"),
            &[
                ("FAKE_DISCORD_BIND", format!("127.0.0.1:{rest_port}")),
                (
                    "FAKE_DISCORD_GATEWAY_BIND",
                    format!("127.0.0.1:{gateway_port}"),
                ),
                ("RUST_LOG", "warn".into()),
            ],
            &settings.log_dir,
        )?;
        wait_for_port(&mut fake, rest_port).await?;
        let health_port = free_port()?;
        let mut bot = ServiceProcess::spawn(
            &format!("bot-service-{label}"),
            &settings.bin_dir.join("bot-service"),
            &[
                ("DISCORD_TOKEN", "bench.bot.token".into()),
                (
                    "DISCORD_API_BASE_URL",
                    format!("http://127.0.0.1:{rest_port}"),
                ),
                ("ADMIN_CLAIM_SECRET", secrets.admin_claim_secret.clone()),
                // The fake's default guild, which has the default "Admin" role.
                (
                    "DISCORD_GUILD_ID",
                    crate::services::BENCH_GUILD_ID.to_string(),
                ),
                ("AMQP_URL", settings.amqp_url.clone()),
                ("AMQP_NAMESPACE", namespace.to_string()),
                ("BOT_HEALTH_PORT", health_port.to_string()),
                ("BOT_GATEWAY", "true".into()),
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
        Ok(Bot { fake, bot })
    }

    pub async fn stop(self) {
        self.bot.stop().await;
        self.fake.stop().await;
    }
}

async fn wait_for_port(process: &mut ServiceProcess, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(reason) = process.exited() {
            bail!(reason);
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("fake Discord did not listen on port {port} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Idle VmRSS of a freshly started bot (3 s after ready).
pub async fn idle_rss(
    settings: &Settings,
    secrets: &RunSecrets,
    namespace: &str,
) -> anyhow::Result<Rss> {
    let bot = Bot::start(settings, secrets, namespace, "idle").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = bot.bot.rss().context("reading the bot's memory");
    bot.stop().await;
    rss
}

/// What the loaded run saw.
pub struct Loaded {
    pub hwm: Rss,
    pub max_sampled_kib: u64,
    pub completed: u64,
    pub backlog: u64,
    pub seconds: f64,
}

/// Starts the bot on a backlog of `backlog` deliveries and samples its memory until the orders
/// are completed or `seconds` pass.
pub async fn loaded(
    settings: &Settings,
    secrets: &RunSecrets,
    namespace: &str,
    db: &DatabaseConnection,
    seconds: u64,
) -> anyhow::Result<Loaded> {
    let completed_before = count(db, "status = 'completed'").await?;
    let backlog = count(db, "status IN ('pending', 'delivering')").await?;
    let bot = Bot::start(settings, secrets, namespace, "loaded").await?;
    let sampler = RssSampler::start(bot.bot.pid());
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut completed = 0;
    while Instant::now() < until {
        completed = count(db, "status = 'completed'")
            .await?
            .saturating_sub(completed_before);
        if completed >= backlog {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let hwm = bot.bot.rss().context("reading the bot's memory");
    let max_sampled_kib = sampler.finish().await;
    bot.stop().await;
    Ok(Loaded {
        hwm: hwm?,
        max_sampled_kib,
        completed,
        backlog,
        seconds: elapsed,
    })
}

async fn count(db: &DatabaseConnection, condition: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) AS n FROM orders WHERE {condition}"),
        ))
        .await?
        .context("no answer")?;
    let n: i64 = row.try_get("", "n")?;
    Ok(n as u64)
}
