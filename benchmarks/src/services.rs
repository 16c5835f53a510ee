//! Starting and stopping the real service binaries (payment-service, bot-service and the
//! stand-ins) as child processes, reading their memory, and waiting until they are ready.
//!
//! Children are killed when their guard is dropped, so a failed or interrupted stage never
//! leaves a process behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use rand::RngCore;
use tokio::process::{Child, Command};

use crate::stats::Rss;
use crate::Settings;

/// The Midtrans server key the payment-service checks signatures with in this run.
pub const SERVER_KEY: &str = "SB-Mid-server-BENCHMARK";
/// `DISCORD_GUILD_ID` of the services under test: the fake Discord's default guild, the one
/// guild admin claims may come from.
pub const BENCH_GUILD_ID: u64 = 1_100_000_000_000_000_100;

/// Secrets shared by the services of one run (fresh random values each run).
pub struct RunSecrets {
    pub encryption_key: String,
    pub admin_claim_secret: String,
}

impl RunSecrets {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let mut claim = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut claim);
        RunSecrets {
            encryption_key: base64::engine::general_purpose::STANDARD.encode(key),
            admin_claim_secret: hex::encode(claim),
        }
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// One child process with its log file.
pub struct ServiceProcess {
    name: String,
    child: Child,
    pid: u32,
    log_path: PathBuf,
}

impl ServiceProcess {
    pub fn spawn(
        name: &str,
        binary: &Path,
        env: &[(&str, String)],
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        if !binary.exists() {
            bail!(
                "{} does not exist (scripts/bench.sh builds it with cargo build --release)",
                binary.display()
            );
        }
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("creating {}", log_dir.display()))?;
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let err = log.try_clone()?;
        let mut command = Command::new(binary);
        // The log directory as working directory: no stray `.env` of the caller is read.
        command
            .current_dir(log_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the child has no pid")?;
        Ok(ServiceProcess {
            name: name.to_string(),
            child,
            pid,
            log_path,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn rss(&self) -> Option<Rss> {
        Rss::read(self.pid)
    }

    /// `Some(reason)` when the process has already ended.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited ({status}); last log lines: {}",
                self.name,
                self.log_tail(4)
            )),
            _ => None,
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let tail: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .rev()
            .take(lines)
            .collect();
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 10 s.
    pub async fn stop(mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
    }
}

/// Polls `url` until it answers 200, the process dies, or `limit` passes.
pub async fn wait_ready(
    process: &mut ServiceProcess,
    url: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(reason) = process.exited() {
            bail!(reason);
        }
        if let Ok(answer) = client.get(url).send().await {
            if answer.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!(
                "{} not ready at {url} after {limit:?}; last log lines: {}",
                process.name,
                process.log_tail(4)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How one payment-service is configured for a stage.
pub struct PaymentEnv<'a> {
    pub database_url: &'a str,
    pub namespace: &'a str,
    /// `MIDTRANS_VERIFY_STATUS`.
    pub verify_status: bool,
    /// `MIDTRANS_API_BASE_URL`: the simulator, or a closed local port when nothing should be
    /// called (never the real sandbox).
    pub midtrans_base_url: String,
}

/// A running payment-service.
pub struct PaymentService {
    pub process: ServiceProcess,
    pub base_url: String,
}

impl PaymentService {
    pub async fn start(
        settings: &Settings,
        secrets: &RunSecrets,
        env: &PaymentEnv<'_>,
        label: &str,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let internal_port = free_port()?;
        let vars: Vec<(&str, String)> = vec![
            ("DATABASE_URL", env.database_url.to_string()),
            ("AMQP_URL", settings.amqp_url.clone()),
            ("AMQP_NAMESPACE", env.namespace.to_string()),
            ("MIDTRANS_SERVER_KEY", SERVER_KEY.to_string()),
            ("MIDTRANS_IS_PRODUCTION", "false".into()),
            ("MIDTRANS_API_BASE_URL", env.midtrans_base_url.clone()),
            ("MIDTRANS_VERIFY_STATUS", env.verify_status.to_string()),
            ("ENCRYPTION_KEY", secrets.encryption_key.clone()),
            ("ADMIN_CLAIM_SECRET", secrets.admin_claim_secret.clone()),
            ("DISCORD_GUILD_ID", BENCH_GUILD_ID.to_string()),
            ("WEBHOOK_HOST", "127.0.0.1".into()),
            ("WEBHOOK_PORT", port.to_string()),
            ("INTERNAL_HTTP_PORT", internal_port.to_string()),
            ("LOG_LEVEL", settings.service_log_level.clone()),
            ("LOG_FORMAT", "json".into()),
        ];
        let binary = settings.bin_dir.join("payment-service");
        let mut process = ServiceProcess::spawn(
            &format!("payment-service-{label}"),
            &binary,
            &vars,
            &settings.log_dir,
        )?;
        let base_url = format!("http://127.0.0.1:{port}");
        wait_ready(
            &mut process,
            &format!("http://127.0.0.1:{internal_port}/readyz"),
            Duration::from_secs(90),
        )
        .await?;
        Ok(PaymentService { process, base_url })
    }
}

/// Samples a process's VmRSS every 100 ms in the background and keeps the largest value.
pub struct RssSampler {
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let max_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let max_kib = max_kib.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = Rss::read(pid) {
                        max_kib.fetch_max(rss.rss_kib, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        RssSampler {
            max_kib,
            stop,
            task,
        }
    }

    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.max_kib.load(Ordering::Relaxed)
    }
}
