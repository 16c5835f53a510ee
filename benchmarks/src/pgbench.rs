//! Stage 1: PostgreSQL's own ceiling on this machine, `pgbench -c 16 -j 2 -T <s>` (TPC-B-like,
//! scale 10) on a scratch database. Every other rate is reported as a multiple of it.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::Command;

use crate::report::{Outcome, Row};
use crate::scratch::ScratchDb;
use crate::Settings;

pub async fn run(settings: &Settings) -> Row {
    let measure = format!(
        "pgbench -c 16 -j 2 -T {} (scale 10, TPC-B-like)",
        settings.pgbench_seconds
    );
    match measure_tps(settings).await {
        Ok((tps, latency)) => Row::new(
            "1",
            measure,
            Outcome::Baseline {
                tps,
                detail: format!("avg latency {latency}"),
            },
        ),
        Err(error) => Row::new("1", measure, Outcome::NotRun(format!("{error:#}"))),
    }
}

async fn measure_tps(settings: &Settings) -> anyhow::Result<(f64, String)> {
    let db = ScratchDb::create(&settings.pg_admin_url, "bench_pgbench").await?;
    let init = run_pgbench(
        &["-i", "-s", "10", "-q", db.url()],
        Duration::from_secs(300),
    )
    .await
    .context("pgbench -i -s 10")?;
    drop(init);
    let seconds = settings.pgbench_seconds.to_string();
    let out = run_pgbench(
        &["-c", "16", "-j", "2", "-T", &seconds, db.url()],
        Duration::from_secs(settings.pgbench_seconds + 120),
    )
    .await
    .context("pgbench run")?;
    let tps = parse_tps(&out).context("no tps line in pgbench's output")?;
    let latency = out
        .lines()
        .find_map(|l| l.strip_prefix("latency average = "))
        .unwrap_or("unknown")
        .to_string();
    Ok((tps, latency))
}

async fn run_pgbench(args: &[&str], limit: Duration) -> anyhow::Result<String> {
    let child = Command::new("pgbench")
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(limit, child)
        .await
        .context("pgbench took too long")?
        .context("starting pgbench (is it installed? apt-get install postgresql-client)")?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().take(3).collect::<Vec<_>>();
        bail!("pgbench failed ({}): {}", out.status, last.join(" / "));
    }
    Ok(stdout)
}

/// The tps line without connection time (`tps = 3512.3 (without initial connection time)` in
/// pgbench 14+, `(excluding connections establishing)` before).
pub fn parse_tps(output: &str) -> Option<f64> {
    let tps_lines: Vec<&str> = output
        .lines()
        .filter(|l| l.trim_start().starts_with("tps = "))
        .collect();
    let line = tps_lines
        .iter()
        .find(|l| l.contains("without initial") || l.contains("excluding"))
        .or_else(|| tps_lines.first())?;
    line.trim_start()
        .strip_prefix("tps = ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::parse_tps;

    #[test]
    fn reads_the_tps_without_connection_time() {
        let new = "latency average = 4.551 ms\ninitial connection time = 20.1 ms\ntps = 3515.773318 (without initial connection time)\n";
        assert_eq!(parse_tps(new), Some(3515.773318));
        let old = "tps = 3400.1 (including connections establishing)\ntps = 3450.2 (excluding connections establishing)\n";
        assert_eq!(parse_tps(old), Some(3450.2));
        assert_eq!(parse_tps("nothing"), None);
    }
}
