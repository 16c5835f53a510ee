//! Private RabbitMQ and PostgreSQL servers that a fault test may stop, kill and restart without
//! touching the shared ones on 5432/5672 that other tests use at the same time.
//!
//! Each server runs as a direct child process of the test (as the `rabbitmq` / `postgres` OS
//! user, in a fresh directory under the temp dir), with `PR_SET_PDEATHSIG`, so even a test
//! process killed with SIGKILL takes its servers with it. The guards stop the servers and remove
//! their directories on drop, also while a test panics. Directories left by a test process that
//! died before its destructors ran are removed by the next [`PrivateRabbit::start`] /
//! [`PrivatePostgres::start`].

use std::ffi::CString;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const DIR_PREFIX: &str = "rf-fault-";
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const RABBIT_BIN: &str = "/usr/lib/rabbitmq/bin";
const RABBIT_HOME: &str = "/var/lib/rabbitmq";

/// A free loopback port (released again; the server binds it a moment later).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// uid and gid of an OS user.
fn os_user(name: &str) -> anyhow::Result<(u32, u32)> {
    let c = CString::new(name)?;
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        bail!("there is no OS user {name}");
    }
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok((uid, gid))
}

/// A directory `<tmp>/rf-fault-<kind>-<pid>-<id>` owned by `owner`.
fn private_dir(kind: &str, owner: (u32, u32)) -> anyhow::Result<PathBuf> {
    remove_stale_dirs();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{kind}-{}-{}",
        std::process::id(),
        &id[..8]
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    chown(&dir, Some(owner.0), Some(owner.1))
        .with_context(|| format!("handing {} to uid {}", dir.display(), owner.0))?;
    Ok(dir)
}

/// Removes directories of test processes that are gone (killed before their guards ran).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').nth(1).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Makes `command` run as `owner` and die with the thread that spawns it.
fn as_child_of_this_thread(command: &mut Command, owner: (u32, u32)) {
    command.uid(owner.0).gid(owner.1);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec. It runs after
    // the uid change (which would clear it).
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Waits up to `timeout` for `child` to exit; SIGKILLs it after that.
fn reap(child: &mut Child, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn wait_for_port(port: u16, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{what} did not open port {port} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---- RabbitMQ ------------------------------------------------------------------------------

/// A private RabbitMQ node (`rf-fault-<id>@localhost`) on its own AMQP and distribution ports.
pub struct PrivateRabbit {
    node: String,
    port: u16,
    dir: PathBuf,
    owner: (u32, u32),
    child: Option<Child>,
}

impl PrivateRabbit {
    /// Starts the node and waits until it accepts AMQP connections.
    pub async fn start() -> anyhow::Result<Self> {
        let owner = os_user("rabbitmq")?;
        let dir = private_dir("rabbit", owner)?;
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().replace(DIR_PREFIX, ""))
            .unwrap_or_default();
        let port = free_port()?;
        let mut rabbit = PrivateRabbit {
            node: format!("rf-fault-{id}@localhost"),
            port,
            dir,
            owner,
            child: None,
        };
        // Our own config file: the machine's rabbitmq.conf pins the shared node's listener.
        for (name, text) in [
            ("rabbitmq.conf", "log.file.level = warning\n"),
            ("enabled_plugins", ""),
        ] {
            let path = rabbit.dir.join(name);
            std::fs::write(&path, text)?;
            chown(&path, Some(owner.0), Some(owner.1))?;
        }
        let dist_port = free_port()?;
        let log = File::create(rabbit.dir.join("stdout.log"))?;
        chown(rabbit.dir.join("stdout.log"), Some(owner.0), Some(owner.1))?;
        let mut command = Command::new(format!("{RABBIT_BIN}/rabbitmq-server"));
        command
            .current_dir(RABBIT_HOME)
            .env("HOME", RABBIT_HOME)
            // Makes the start script exec the VM (no wrapper shell), so the death signal and
            // our kill reach the node itself.
            .env("RUNNING_UNDER_SYSTEMD", "true")
            .env("RABBITMQ_NODENAME", &rabbit.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", rabbit.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", rabbit.dir.join("log"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                rabbit.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_CONFIG_FILE", rabbit.dir.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                rabbit.dir.join("advanced.config"),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        as_child_of_this_thread(&mut command, owner);
        rabbit.child = Some(command.spawn().context("starting rabbitmq-server")?);
        if let Err(e) = wait_for_port(port, Duration::from_secs(90), "RabbitMQ").await {
            bail!("{e}\n{}", tail(&rabbit.dir.join("stdout.log"), 30));
        }
        Ok(rabbit)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Runs `rabbitmqctl -n <node> <args>` as the rabbitmq user.
    pub async fn ctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut command = tokio::process::Command::new(format!("{RABBIT_BIN}/rabbitmqctl"));
        command
            .current_dir(RABBIT_HOME)
            .env("HOME", RABBIT_HOME)
            .arg("-n")
            .arg(&self.node)
            .args(args)
            .uid(self.owner.0)
            .gid(self.owner.1)
            .stdin(Stdio::null());
        let out = tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .context("rabbitmqctl timed out")?
            .context("running rabbitmqctl")?;
        if !out.status.success() {
            bail!(
                "rabbitmqctl {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// `rabbitmqctl stop_app`: the broker closes every connection and stops listening.
    pub async fn stop_app(&self) -> anyhow::Result<()> {
        self.ctl(&["stop_app"]).await.map(drop)
    }

    /// `rabbitmqctl start_app`, then waits until AMQP is accepted again.
    pub async fn start_app(&self) -> anyhow::Result<()> {
        self.ctl(&["start_app"]).await?;
        wait_for_port(self.port, Duration::from_secs(60), "RabbitMQ").await
    }

    /// `(queue, ready, unacknowledged)` for every queue of the node.
    pub async fn queues(&self) -> anyhow::Result<Vec<(String, u64, u64)>> {
        let out = self
            .ctl(&[
                "list_queues",
                "-q",
                "--no-table-headers",
                "name",
                "messages_ready",
                "messages_unacknowledged",
            ])
            .await?;
        let mut queues = Vec::new();
        for line in out.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [name, ready, unacked] = parts[..] {
                queues.push((
                    name.to_string(),
                    ready.parse().unwrap_or(u64::MAX),
                    unacked.parse().unwrap_or(u64::MAX),
                ));
            }
        }
        Ok(queues)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("stdout.log"), lines)
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The node stops cleanly on SIGTERM (what `rabbitmqctl stop` asks for), without the
            // two seconds a CLI start costs.
            signal(&child, libc::SIGTERM);
            reap(&mut child, Duration::from_secs(20));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---- PostgreSQL ----------------------------------------------------------------------------

/// A private PostgreSQL 15 cluster (trust auth, user `postgres`) on its own port.
pub struct PrivatePostgres {
    port: u16,
    dir: PathBuf,
    owner: (u32, u32),
    child: Option<Child>,
    starts: u32,
}

impl PrivatePostgres {
    /// `initdb`, then starts the server and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<Self> {
        let owner = os_user("postgres")?;
        let dir = private_dir("pg", owner)?;
        let data = dir.join("data");
        let mut initdb = tokio::process::Command::new(format!("{PG_BIN}/initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .env("LC_ALL", "C")
            .current_dir(&dir)
            .uid(owner.0)
            .gid(owner.1)
            .stdin(Stdio::null());
        let out = initdb.output().await.context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = free_port()?;
        // Durability against a crash of the server process is what is tested, not of the OS.
        let extra = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 32MB\n",
            dir.display()
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)?;
        text.push_str(&extra);
        std::fs::write(&conf, text)?;
        let mut pg = PrivatePostgres {
            port,
            dir,
            owner,
            child: None,
            starts: 0,
        };
        pg.spawn().await?;
        Ok(pg)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        let log_path = self.dir.join(format!("postgres-{}.log", self.starts));
        let log = File::create(&log_path)?;
        chown(&log_path, Some(self.owner.0), Some(self.owner.1))?;
        let mut command = Command::new(format!("{PG_BIN}/postgres"));
        command
            .arg("-D")
            .arg(self.dir.join("data"))
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        as_child_of_this_thread(&mut command, self.owner);
        self.child = Some(command.spawn().context("starting postgres")?);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(db) = sea_orm::Database::connect(self.admin_url()).await {
                db.close().await.ok();
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("postgres exited ({status}):\n{}", tail(&log_path, 30));
                }
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("postgres did not start:\n{}", tail(&log_path, 30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `postgres` maintenance database.
    pub fn admin_url(&self) -> String {
        self.url("postgres")
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and answers its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(self.admin_url()).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"))?;
        admin.close().await.ok();
        Ok(self.url(name))
    }

    /// Stops the server: `fast` = SIGINT (what `pg_ctl stop -m fast` sends: sessions are
    /// terminated, a checkpoint is written), otherwise SIGQUIT (`-m immediate`: a crash, recovery
    /// replays the WAL on the next start).
    pub async fn stop(&mut self, fast: bool) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            signal(&child, if fast { libc::SIGINT } else { libc::SIGQUIT });
            tokio::task::spawn_blocking(move || reap(&mut child, Duration::from_secs(30)))
                .await
                .context("waiting for postgres to stop")?;
        }
        Ok(())
    }

    /// Starts the server again after [`PrivatePostgres::stop`].
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("postgres is still running");
        }
        self.spawn().await
    }

    /// `pg_ctl restart -m fast|immediate`.
    pub async fn restart(&mut self, fast: bool) -> anyhow::Result<()> {
        self.stop(fast).await?;
        self.start_again().await
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(
            &self.dir.join(format!("postgres-{}.log", self.starts)),
            lines,
        )
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGQUIT);
            reap(&mut child, Duration::from_secs(20));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
