//! `bench`: the benchmark suite of DESIGN.md §7. Run it with `scripts/bench.sh` (which builds
//! the release binaries first); it prints one table and writes it, with a description of the
//! machine, to BENCHMARKS.md.
//!
//! Stages: pgbench baseline, RabbitMQ ceiling, webhook settlements, order pipeline, the
//! 1,000-orders-for-500-codes race, and service memory. Each stage is bounded in time, works in
//! its own scratch database and broker namespace, and removes them (and stops every process it
//! started) when it ends, fails or is interrupted. It is not part of `cargo test`.

mod bot;
mod drop;
mod orders;
mod pgbench;
mod rabbit;
mod race;
mod report;
mod scratch;
mod services;
mod stats;
mod system;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use report::{Machine, Report};

/// What the run does, from the command line and `BENCH_*` variables.
pub struct Settings {
    pub quick: bool,
    /// `pgbench -T` (BENCH_SECONDS; 30, or 10 with --quick).
    pub pgbench_seconds: u64,
    /// Length of each throughput phase of our own stages (BENCH_STAGE_SECONDS).
    pub stage_seconds: u64,
    /// Length of each fixed-rate latency phase (BENCH_LATENCY_SECONDS).
    pub latency_seconds: u64,
    /// Requests in flight in the closed-loop throughput phases (BENCH_CONCURRENCY).
    pub concurrency: usize,
    pub pg_admin_url: String,
    pub amqp_url: String,
    /// The workspace root (BENCHMARKS.md goes there).
    pub root: PathBuf,
    /// Where the release binaries are (BENCH_BIN_DIR, default `<root>/target/release`).
    pub bin_dir: PathBuf,
    /// Service logs of this run.
    pub log_dir: PathBuf,
    /// Log level given to the services (BENCH_SERVICE_LOG_LEVEL, default info as in production).
    pub service_log_level: String,
    pub write_file: bool,
    /// Only these stages (`--only pgbench,rabbitmq,...`); all when empty.
    pub only: Vec<String>,
}

const STAGES: &[&str] = &[
    "pgbench",
    "rabbitmq",
    "webhook",
    "webhook-verify",
    "orders",
    "race",
    "bot",
    "drop",
];

fn env_u64(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .with_context(|| format!("{name} must be a whole number, got {v:?}")),
        _ => Ok(default),
    }
}

fn env_string(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

const USAGE: &str = "usage: bench [--quick] [--no-write] [--only stage,stage]

stages: pgbench, rabbitmq, webhook, webhook-verify, orders, race, bot, drop (payment-service
  memory is measured during webhook, orders and race; the bot's loaded memory needs the orders
  stage's backlog; webhook includes webhook-verify, the 3c row alone)
environment: BENCH_SECONDS (pgbench -T, default 30; 10 with --quick), BENCH_STAGE_SECONDS,
  BENCH_LATENCY_SECONDS, BENCH_CONCURRENCY (64), BENCH_PG_ADMIN_URL, BENCH_AMQP_URL,
  BENCH_BIN_DIR, BENCH_SERVICE_LOG_LEVEL (info)";

impl Settings {
    fn load() -> anyhow::Result<Settings> {
        let mut quick = false;
        let mut write_file = true;
        let mut only = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--no-write" => write_file = false,
                "--only" => {
                    let list = args.next().context("--only needs a list of stages")?;
                    only = list.split(',').map(|s| s.trim().to_string()).collect();
                    if let Some(bad) = only.iter().find(|s| !STAGES.contains(&s.as_str())) {
                        bail!("unknown stage {bad:?}\n{USAGE}");
                    }
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        let pgbench_seconds = env_u64("BENCH_SECONDS", if quick { 10 } else { 30 })?;
        let stage_seconds = env_u64("BENCH_STAGE_SECONDS", pgbench_seconds.min(20))?.max(1);
        let latency_seconds = env_u64("BENCH_LATENCY_SECONDS", stage_seconds.min(10))?.max(1);
        let root = match std::env::var("BENCH_ROOT") {
            Ok(r) if !r.is_empty() => PathBuf::from(r),
            _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(PathBuf::from)
                .context("locating the workspace root")?,
        };
        // Cargo's target directory: CARGO_TARGET_DIR when set (as scripts/bench.sh builds there).
        let target_dir = match std::env::var("CARGO_TARGET_DIR") {
            Ok(d) if !d.is_empty() => PathBuf::from(d),
            _ => root.join("target"),
        };
        let bin_dir = match std::env::var("BENCH_BIN_DIR") {
            Ok(d) if !d.is_empty() => PathBuf::from(d),
            _ => target_dir.join("release"),
        };
        // Services run in the log directory, so a relative path would point elsewhere.
        let bin_dir = if bin_dir.is_absolute() {
            bin_dir
        } else {
            std::env::current_dir()
                .context("reading the current directory")?
                .join(bin_dir)
        };
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let log_dir = target_dir.join("bench-logs").join(stamp);
        let log_dir = if log_dir.is_absolute() {
            log_dir
        } else {
            std::env::current_dir()
                .context("reading the current directory")?
                .join(log_dir)
        };
        Ok(Settings {
            quick,
            pgbench_seconds,
            stage_seconds,
            latency_seconds,
            concurrency: env_u64("BENCH_CONCURRENCY", 64)?.max(1) as usize,
            pg_admin_url: env_string(
                "BENCH_PG_ADMIN_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            amqp_url: env_string("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            root,
            bin_dir,
            log_dir,
            service_log_level: env_string("BENCH_SERVICE_LOG_LEVEL", "info"),
            write_file,
            only,
        })
    }

    fn runs(&self, stage: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == stage)
    }
}

async fn run_stages(settings: &Settings, report: &mut Report) {
    if settings.runs("pgbench") {
        eprintln!("[bench] stage 1: pgbench ({} s)", settings.pgbench_seconds);
        report.push(pgbench::run(settings).await);
    }
    if settings.runs("rabbitmq") {
        eprintln!("[bench] stage 2: RabbitMQ ceiling");
        let limit = Duration::from_secs(settings.stage_seconds * 3 + 180);
        match tokio::time::timeout(limit, rabbit::run(settings)).await {
            Ok(rows) => {
                for row in rows {
                    report.push(row);
                }
            }
            Err(_) => report.push(report::Row::new(
                "2",
                "RabbitMQ ceiling",
                report::Outcome::NotRun(format!(
                    "timed out after {} s (is RabbitMQ answering?)",
                    limit.as_secs()
                )),
            )),
        }
    }
    system::run(settings, report).await;
}

/// Ctrl-C or SIGTERM: the stages' futures are then dropped, which stops their processes and
/// removes their scratch databases and namespaces.
async fn interrupt() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(error) => {
            eprintln!("bench: {error:#}");
            return ExitCode::from(2);
        }
    };
    let machine = Machine::describe(&settings.root);
    let mut report = Report::new();
    let started = std::time::Instant::now();
    let interrupted = tokio::select! {
        () = run_stages(&settings, &mut report) => false,
        () = interrupt() => true,
    };
    if interrupted {
        eprintln!("[bench] interrupted: processes stopped, scratch databases and queues removed");
        report.note("The run was interrupted; stages after the last row did not run.");
    }
    report.note(format!(
        "Durations: pgbench -T {} s; throughput phases {} s; fixed-rate phases {} s; {} requests in flight in closed loops{}. Whole run: {:.0} s.",
        settings.pgbench_seconds,
        settings.stage_seconds,
        settings.latency_seconds,
        settings.concurrency,
        if settings.quick { " (--quick)" } else { "" },
        started.elapsed().as_secs_f64()
    ));
    report.note(
        "The load generator runs on the same machine as PostgreSQL, RabbitMQ and the services, so \
         it takes part of the same cores; pgbench's own client does too.",
    );
    let table = report.table();
    println!("{table}");
    if settings.write_file && settings.only.is_empty() && !interrupted {
        let path = settings.root.join("BENCHMARKS.md");
        let command = if settings.quick {
            "scripts/bench.sh --quick"
        } else {
            "scripts/bench.sh"
        };
        match std::fs::write(&path, report.markdown(&machine, command)) {
            Ok(()) => eprintln!("[bench] wrote {}", path.display()),
            Err(error) => {
                eprintln!("bench: writing {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        }
    } else if settings.write_file {
        eprintln!("[bench] BENCHMARKS.md not written (partial run)");
    }
    ExitCode::SUCCESS
}
