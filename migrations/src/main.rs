//! `migrations up [N] | down [N] | status` against `DATABASE_URL`.
//!
//! A hand-written front end instead of sea-orm-migration's `run_cli`: that one offers `fresh`
//! and `reset` (which would drop the sibling bot's tables), panics when `DATABASE_URL` is unset,
//! and prints nothing without a tracing subscriber.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use migrations::{apply_pending, migration_status, roll_back};
use sea_orm::{ConnectOptions, Database};

const DEFAULT_DATABASE_URL: &str = "sqlite://redfinger.db?mode=rwc";

const USAGE: &str = "usage: migrations <command>

commands:
  up [N]     apply pending migrations (all, or the next N)
  down [N]   roll back the last N applied migrations (default 1); users and topups are kept
  status     list migrations and whether each is applied

environment:
  DATABASE_URL  postgres://user:pass@host:port/db or sqlite://path.db?mode=rwc
                (default sqlite://redfinger.db?mode=rwc; a .env file is read if present)";

enum Command {
    Up(Option<u32>),
    Down(u32),
    Status,
}

fn parse_args(args: &[String]) -> anyhow::Result<Command> {
    let steps = |arg: Option<&String>| -> anyhow::Result<Option<u32>> {
        match arg {
            None => Ok(None),
            Some(n) => match n.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => bail!("N must be a positive whole number, got {n:?}"),
            },
        }
    };
    match args {
        [cmd, rest @ ..] if rest.len() <= 1 => match cmd.as_str() {
            "up" => Ok(Command::Up(steps(rest.first())?)),
            "down" => Ok(Command::Down(steps(rest.first())?.unwrap_or(1))),
            "status" if rest.is_empty() => Ok(Command::Status),
            other => bail!("unknown command {other:?}"),
        },
        _ => bail!("expected one command"),
    }
}

/// Reads `DATABASE_URL` and checks its scheme before connecting. The URL itself is never
/// printed: it may carry a password.
fn database_url() -> anyhow::Result<String> {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.trim().is_empty() => {
            bail!("DATABASE_URL is set but empty; unset it to use {DEFAULT_DATABASE_URL}")
        }
        Ok(url) => url.trim().to_owned(),
        Err(std::env::VarError::NotPresent) => DEFAULT_DATABASE_URL.to_owned(),
        Err(std::env::VarError::NotUnicode(_)) => bail!("DATABASE_URL is not valid UTF-8"),
    };
    let supported = ["postgres://", "postgresql://", "sqlite:"];
    if !supported.iter().any(|p| url.starts_with(p)) {
        bail!(
            "DATABASE_URL is not a PostgreSQL or SQLite URL: it must start with postgres://, \
             postgresql:// or sqlite:"
        );
    }
    Ok(url)
}

async fn run(command: Command) -> anyhow::Result<()> {
    let url = database_url()?;
    let mut options = ConnectOptions::new(url);
    // A wrong host should fail in seconds, not after sqlx's default 30 s of retries.
    options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options).await.context(
        "cannot connect to the database named by DATABASE_URL (is it running and reachable?)",
    )?;

    let before = migration_status(&db)
        .await
        .context("reading migration status")?;
    match command {
        Command::Status => {
            for (name, applied) in &before {
                println!("{} {name}", if *applied { "applied" } else { "pending" });
            }
        }
        Command::Up(steps) => {
            apply_pending(&db, steps)
                .await
                .context("applying migrations (nothing was changed)")?;
            report(&before, &migration_status(&db).await?, "applied");
        }
        Command::Down(steps) => {
            roll_back(&db, steps)
                .await
                .context("rolling back migrations (nothing was changed)")?;
            report(&before, &migration_status(&db).await?, "rolled back");
        }
    }
    db.close().await.ok();
    Ok(())
}

fn report(before: &[(String, bool)], after: &[(String, bool)], verb: &str) {
    let mut changed: Vec<&str> = before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.as_str())
        .collect();
    if verb == "rolled back" {
        changed.reverse();
    }
    if changed.is_empty() {
        println!("nothing to do");
    }
    for name in changed {
        println!("{verb} {name}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("warning: ignoring .env: {e}");
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
