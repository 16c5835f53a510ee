//! The one table the suite prints, the machine it ran on, and BENCHMARKS.md.
//!
//! Every figure in the table was measured in this run; a stage that could not run says so with
//! its reason instead of a number.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::stats::Summary;

/// What one row of the table reports.
pub enum Outcome {
    /// The database's own ceiling every other rate is compared with.
    Baseline { tps: f64, detail: String },
    /// A throughput; `min_ratio` is the target as a multiple of pgbench's tx/s, if there is one.
    Rate {
        per_sec: f64,
        unit: &'static str,
        min_ratio: Option<f64>,
        detail: String,
    },
    /// A latency distribution against a p99 limit.
    Latency {
        summary: Summary,
        p99_limit_ms: f64,
        detail: String,
    },
    /// A yes/no property (the stock race).
    Check { pass: bool, detail: String },
    /// Memory in MiB against a limit.
    Memory {
        mib: f64,
        limit_mib: f64,
        detail: String,
    },
    /// A figure against a target of its own (the drop's rows), judged where it was measured.
    Target {
        result: String,
        target: String,
        pass: bool,
    },
    /// Measured for information, no target.
    Info(String),
    /// The stage did not run; the reason says why.
    NotRun(String),
}

pub struct Row {
    pub id: String,
    pub measure: String,
    pub outcome: Outcome,
}

impl Row {
    pub fn new(id: &str, measure: impl Into<String>, outcome: Outcome) -> Self {
        Row {
            id: id.to_string(),
            measure: measure.into(),
            outcome,
        }
    }
}

/// The machine and the code the figures belong to.
pub struct Machine {
    pub nproc: String,
    pub memory: String,
    pub cpu: String,
    pub date: String,
    pub commit: String,
    pub load: String,
}

impl Machine {
    pub fn describe(root: &Path) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let commit = match output(
            "git",
            &[
                "-C",
                &root.display().to_string(),
                "rev-parse",
                "--short=12",
                "HEAD",
            ],
        ) {
            Some(sha) => {
                let dirty = output(
                    "git",
                    &[
                        "-C",
                        &root.display().to_string(),
                        "status",
                        "--porcelain",
                        "--untracked-files=no",
                    ],
                )
                .is_some_and(|s| !s.is_empty());
                if dirty {
                    format!("{sha} (with uncommitted changes)")
                } else {
                    sha
                }
            }
            None => "unknown".into(),
        };
        Machine {
            nproc: output("nproc", &[]).unwrap_or_else(|| "unknown".into()),
            memory: output("free", &["-h"]).unwrap_or_else(|| "unknown".into()),
            cpu,
            date: output("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"])
                .unwrap_or_else(|| "unknown".into()),
            commit,
            load: std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "unknown".into()),
        }
    }
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new() -> Self {
        Report {
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn pgbench_tps(&self) -> Option<f64> {
        self.rows.iter().find_map(|r| match r.outcome {
            Outcome::Baseline { tps, .. } => Some(tps),
            _ => None,
        })
    }

    /// The table as Markdown (readable as plain text too).
    pub fn table(&self) -> String {
        let baseline = self.pgbench_tps();
        let mut lines = vec![
            "| # | Measure | Result | Target | vs pgbench | Status |".to_string(),
            "|---|---|---|---|---|---|".to_string(),
        ];
        for row in &self.rows {
            let (result, target, ratio, status) = render(&row.outcome, baseline);
            lines.push(format!(
                "| {} | {} | {} | {} | {} | {} |",
                row.id,
                escape(&row.measure),
                escape(&result),
                escape(&target),
                ratio,
                status
            ));
        }
        lines.join("\n")
    }

    /// The whole BENCHMARKS.md.
    pub fn markdown(&self, machine: &Machine, command: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmarks\n");
        let _ = writeln!(
            s,
            "Produced by `{command}` (see `benchmarks/README.md` for what each stage measures). \
             Targets are DESIGN.md §7's; every figure below was measured in the same run.\n"
        );
        let _ = writeln!(s, "## Machine\n");
        let _ = writeln!(s, "- date: {}", machine.date);
        let _ = writeln!(s, "- git commit: {}", machine.commit);
        let _ = writeln!(s, "- nproc: {}", machine.nproc);
        let _ = writeln!(s, "- CPU: {}", machine.cpu);
        let _ = writeln!(s, "- load average at the start: {}", machine.load);
        let _ = writeln!(s, "- `free -h`:\n\n```\n{}\n```\n", machine.memory);
        let _ = writeln!(s, "## Results\n");
        let _ = writeln!(s, "{}\n", self.table());
        let _ = writeln!(
            s,
            "What limits each figure, how that was found and what was changed: \
             `benchmarks/PROFILING.md`.\n"
        );
        if !self.notes.is_empty() {
            let _ = writeln!(s, "## Notes\n");
            for note in &self.notes {
                let _ = writeln!(s, "- {note}");
            }
        }
        s
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn ratio_text(value: f64, baseline: Option<f64>) -> Option<f64> {
    baseline.filter(|b| *b > 0.0).map(|b| value / b)
}

/// (result, target, ratio to pgbench, status) of one row.
fn render(outcome: &Outcome, baseline: Option<f64>) -> (String, String, String, String) {
    match outcome {
        Outcome::Baseline { tps, detail } => (
            format!("{tps:.0} tx/s ({detail})"),
            "baseline (≈3,500 in DESIGN.md)".into(),
            "1.00×".into(),
            "—".into(),
        ),
        Outcome::Rate {
            per_sec,
            unit,
            min_ratio,
            detail,
        } => {
            let ratio = ratio_text(*per_sec, baseline);
            let ratio_cell = ratio.map_or("n/a (no pgbench)".to_string(), |r| format!("{r:.2}×"));
            let (target, status) = match (min_ratio, ratio) {
                (Some(min), Some(r)) => (
                    format!(
                        "≥ {min:.1}× pgbench = {:.0} {unit}",
                        min * baseline.unwrap_or(0.0)
                    ),
                    verdict(r >= *min),
                ),
                (Some(min), None) => (format!("≥ {min:.1}× pgbench"), "no baseline".into()),
                (None, _) => ("— (information)".into(), "info".into()),
            };
            (
                format!("{per_sec:.0} {unit} ({detail})"),
                target,
                ratio_cell,
                status,
            )
        }
        Outcome::Latency {
            summary,
            p99_limit_ms,
            detail,
        } => (
            format!(
                "p99 {:.1} ms (p50 {:.1}, max {:.1}, n={}; {detail})",
                summary.p99_ms, summary.p50_ms, summary.max_ms, summary.count
            ),
            format!("p99 < {p99_limit_ms:.0} ms"),
            "".into(),
            verdict(summary.p99_ms < *p99_limit_ms),
        ),
        Outcome::Check { pass, detail } => {
            (detail.clone(), "exact".into(), "".into(), verdict(*pass))
        }
        Outcome::Memory {
            mib,
            limit_mib,
            detail,
        } => (
            format!("{mib:.1} MiB ({detail})"),
            format!("< {limit_mib:.0} MiB"),
            "".into(),
            verdict(mib < limit_mib),
        ),
        Outcome::Target {
            result,
            target,
            pass,
        } => (result.clone(), target.clone(), "".into(), verdict(*pass)),
        Outcome::Info(text) => (
            text.clone(),
            "— (information)".into(),
            "".into(),
            "info".into(),
        ),
        Outcome::NotRun(reason) => (
            format!("not run: {reason}"),
            "".into(),
            "".into(),
            "NOT RUN".into(),
        ),
    }
}

fn verdict(pass: bool) -> String {
    if pass { "PASS" } else { "FAIL" }.to_string()
}
