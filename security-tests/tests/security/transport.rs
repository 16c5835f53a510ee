//! Transport security: PostgreSQL over TLS (`sslmode=require`) through the payment-service's
//! own database layer, RabbitMQ over TLS (`amqps://`) against a private RabbitMQ node this test
//! starts with a certificate it generates (the shared broker is never touched), and the
//! webhook's source allowlist, trusted-proxy `X-Forwarded-For` handling and per-address rate
//! limit.

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use midtrans_simulator::{notification_body, NotificationSpec};
use payment_service::config::PaymentConfig;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use security_tests::{base_settings, AppOptions, PaymentApp, SERVER_KEY};
use service_runtime::Settings;

use crate::support::opts;

// ---- PostgreSQL -------------------------------------------------------------------------

async fn server_has_ssl() -> bool {
    let admin = sea_orm::Database::connect(test_support::pg_admin_url())
        .await
        .expect("admin connection");
    let row = admin
        .query_one(Statement::from_string(DbBackend::Postgres, "SHOW ssl"))
        .await
        .expect("SHOW ssl")
        .expect("a row");
    let on: String = row.try_get_by_index(0).expect("text");
    admin.close().await.ok();
    on == "on"
}

async fn connection_is_encrypted(db: &sea_orm::DatabaseConnection) -> bool {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .expect("pg_stat_ssl")
        .expect("a row");
    row.try_get_by_index::<bool>(0).expect("bool")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sslmode_require_is_encrypted_through_the_service_db_layer() {
    if !server_has_ssl().await {
        eprintln!("SKIPPED: the local PostgreSQL has ssl = off; see README_SECURITY.md");
        return;
    }
    let database = test_support::TestDatabase::create()
        .await
        .expect("test database");
    for (mode, want) in [("require", true), ("disable", false)] {
        let url = format!("{}?sslmode={mode}", database.url());
        let pairs = base_settings(&url, "unused", "http://127.0.0.1:9");
        let config = PaymentConfig::from_settings(&Settings::from_pairs(pairs)).expect("config");
        // The service's own connect: pool + migrations, all over this URL.
        let db = payment_service::persistence::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e:#}"));
        assert_eq!(connection_is_encrypted(&db).await, want, "sslmode={mode}");
        let tables = security_tests::scalar(
            &db,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'balance_ledger'",
            vec![],
        )
        .await;
        assert_eq!(tables, 1, "migrated over sslmode={mode}");
        db.close().await.ok();
    }
    // The whole application over TLS: /readyz checks the database through the pool.
    let app = PaymentApp::start_with(AppOptions {
        extra: opts(&[(
            "DATABASE_URL",
            &format!("{}?sslmode=require", database.url()),
        )]),
        ..Default::default()
    })
    .await
    .expect("app starts over sslmode=require");
    let ready = app
        .http
        .get(format!("{}/readyz", app.internal_address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    app.stop().await;
}

// ---- RabbitMQ over TLS ------------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A RabbitMQ node of our own with only a TLS listener, killed (its process group) on drop.
struct PrivateRabbit {
    dir: PathBuf,
    child: Child,
    tls_port: u16,
    /// Leave `dir` behind on drop (a failed start whose certificates the next attempt reuses).
    keep_dir: bool,
}

impl PrivateRabbit {
    fn start() -> Option<PrivateRabbit> {
        let server = Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server");
        if !server.exists() || Command::new("openssl").arg("version").output().is_err() {
            eprintln!("SKIPPED: rabbitmq-server or openssl not installed");
            return None;
        }
        let dir = std::env::temp_dir().join(test_support::unique_name("sec-tls"));
        std::fs::create_dir_all(dir.join("home")).expect("temp dir");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=security-tests CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        // A port found free can be taken by another test before the node binds it; then the node
        // fails to start while something else answers on the port. So the node counts as up only
        // once its own log says its TLS listener is on that port, and a node that died is
        // started again on fresh ports.
        for attempt in 1..=3 {
            let tls_port = free_port();
            let dist_port = free_port();
            let d = dir.display();
            std::fs::write(
                dir.join("rabbitmq.conf"),
                format!(
                    "listeners.tcp = none\nlisteners.ssl.default = 127.0.0.1:{tls_port}\n\
                     ssl_options.cacertfile = {d}/ca.pem\nssl_options.certfile = {d}/server.pem\n\
                     ssl_options.keyfile = {d}/server.key\nssl_options.verify = verify_none\n\
                     ssl_options.fail_if_no_peer_cert = false\n"
                ),
            )
            .expect("conf");
            std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("plugins");
            std::fs::write(dir.join("env.conf"), "").expect("env");
            let node = format!("{}@localhost", test_support::unique_name("sectls"));
            let mut command = Command::new(server);
            command
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", dir.join("home"))
                .env("RABBITMQ_CONF_ENV_FILE", dir.join("env.conf"))
                .env("RABBITMQ_NODENAME", &node)
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .env("ERL_FLAGS", "-kernel inet_dist_use_interface {127,0,0,1}")
                .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
                .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.join("log"))
                .env("RABBITMQ_PID_FILE", dir.join("pid"))
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(dir.join("out.log")).expect("log"))
                .stderr(Stdio::null());
            {
                use std::os::unix::process::CommandExt;
                command.process_group(0);
                // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                unsafe {
                    command.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
            }
            let child = command.spawn().expect("rabbitmq-server starts");
            let mut rabbit = PrivateRabbit {
                dir: dir.clone(),
                child,
                tls_port,
                keep_dir: false,
            };
            let deadline = std::time::Instant::now() + Duration::from_secs(40);
            loop {
                if rabbit.listening_on_its_port() {
                    return Some(rabbit);
                }
                if matches!(rabbit.child.try_wait(), Ok(Some(_))) {
                    eprintln!(
                        "the private RabbitMQ node stopped during start-up (attempt {attempt}, ports {tls_port}/{dist_port} probably taken); starting it again"
                    );
                    // Keep the directory (its certificates) for the next attempt.
                    rabbit.stop_keeping_files();
                    break;
                }
                if std::time::Instant::now() > deadline {
                    panic!(
                        "the private RabbitMQ node did not open its TLS port:\n{}",
                        std::fs::read_to_string(rabbit.dir.join("out.log")).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        panic!("the private RabbitMQ node failed to start three times");
    }

    fn url(&self) -> String {
        format!("amqps://guest:guest@localhost:{}/%2f", self.tls_port)
    }

    /// The node's own log says its TLS listener is up on `tls_port` (not merely: something
    /// answers on that port).
    fn listening_on_its_port(&self) -> bool {
        let port = format!(":{}", self.tls_port);
        let Ok(entries) = std::fs::read_dir(self.dir.join("log")) else {
            return false;
        };
        entries.flatten().any(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|log| {
                log.lines()
                    .any(|l| l.contains("started TLS (SSL) listener") && l.contains(&port))
            })
        }) && std::net::TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok()
    }

    /// Stops the node, leaving its directory (certificates) but not its data and logs.
    fn stop_keeping_files(mut self) {
        self.keep_dir = true;
        let dir = self.dir.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(dir.join("mnesia"));
        let _ = std::fs::remove_dir_all(dir.join("log"));
    }

    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // Only our own node: the process group we started.
        let pgid = self.child.id() as i32;
        // SAFETY: plain syscall on a process group id we own.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// lapin (as the broker crate builds it, same features) speaks TLS and verifies certificates:
/// `amqps://` to a plain-AMQP port fails in the TLS handshake, not while parsing the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_urls_parse_and_fail_in_tls_not_in_parsing() {
    let props = lapin::ConnectionProperties::default();
    let plain = url::Url::parse(&test_support::amqp_url()).expect("AMQP URL");
    let port = plain.port().unwrap_or(5672);
    let url = format!("amqps://guest:guest@127.0.0.1:{port}/%2f");
    let error = tokio::time::timeout(
        Duration::from_secs(15),
        lapin::Connection::connect(&url, props.clone()),
    )
    .await
    .expect("fails quickly")
    .expect_err("a TLS client cannot talk to a plain AMQP port");
    let text = format!("{error:?}");
    assert!(
        !text.to_lowercase().contains("parse") && !text.contains("InvalidUri"),
        "{text}"
    );
    // A malformed URL fails differently (as a parse error), which is what the above is not.
    let malformed = lapin::Connection::connect("amqps://guest:guest@:notaport/%2f", props).await;
    assert!(malformed.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_over_tls_with_a_private_node() {
    let Some(rabbit) = tokio::task::spawn_blocking(PrivateRabbit::start)
        .await
        .expect("start")
    else {
        return;
    };
    // 1. Without trusting our CA the handshake is refused: certificates are verified.
    let error = tokio::time::timeout(
        Duration::from_secs(15),
        lapin::Connection::connect(&rabbit.url(), lapin::ConnectionProperties::default()),
    )
    .await
    .expect("fails quickly")
    .expect_err("an unknown CA is refused");
    let text = format!("{error:?}");
    assert!(
        text.contains("Certificate")
            || text.contains("certificate")
            || text.contains("UnknownIssuer"),
        "{text}"
    );

    // 2. The real payment-service binary with AMQP_URL=amqps://… and the CA in SSL_CERT_FILE
    //    (how an operator trusts a private CA) connects, declares its topology and is ready.
    let binaries = tokio::task::spawn_blocking(e2e_tests::service_binaries)
        .await
        .expect("join")
        .expect("service binaries");
    let database = test_support::TestDatabase::create()
        .await
        .expect("database");
    let port = free_port();
    let internal_port = free_port();
    let sim =
        midtrans_simulator::Simulator::start(midtrans_simulator::SimulatorConfig::new(SERVER_KEY))
            .await
            .expect("simulator");
    let mut env = base_settings(
        database.url(),
        &test_support::unique_namespace(),
        sim.base_url(),
    );
    env.retain(|(k, _)| k != "AMQP_URL");
    env.extend(opts(&[
        ("AMQP_URL", &rabbit.url()),
        ("WEBHOOK_PORT", &port.to_string()),
        ("INTERNAL_HTTP_PORT", &internal_port.to_string()),
        ("SSL_CERT_FILE", &rabbit.ca().display().to_string()),
        ("LOG_LEVEL", "info"),
    ]));
    let dir = rabbit.dir.clone();
    let service = e2e_tests::ServiceProcess::spawn(
        "payment-service-tls",
        &binaries.payment_service,
        &env,
        &dir,
    )
    .expect("payment-service starts");
    let http = reqwest::Client::new();
    let ready_url = format!("http://127.0.0.1:{internal_port}/readyz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if matches!(http.get(&ready_url).send().await, Ok(r) if r.status().is_success()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payment-service not ready over amqps://:\n{}",
            service.log_tail(40)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = service.log();
    assert!(!log.contains("guest:guest"), "the AMQP password is logged");
    drop(service);
    drop(rabbit);
}

// ---- webhook allowlist, trusted proxies, rate limit ---------------------------------------

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn post_from(
    app: &PaymentApp,
    from: &str,
    xff: Option<&str>,
    body: &serde_json::Value,
) -> u16 {
    let mut r = client_from(from).post(app.webhook_url()).json(body);
    if let Some(x) = xff {
        r = r.header("X-Forwarded-For", x);
    }
    r.send().await.expect("answers").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_admits_listed_sources_and_ignores_spoofed_forwarded_for() {
    let app = PaymentApp::start_with(AppOptions {
        extra: opts(&[
            (
                "WEBHOOK_ALLOWED_SOURCES",
                "127.0.0.2/32, 103.208.23.0/24, 103.127.16.0/23",
            ),
            ("TRUSTED_PROXIES", "127.0.0.5"),
            ("MIDTRANS_VERIFY_STATUS", "false"),
        ]),
        ..Default::default()
    })
    .await
    .expect("app starts");
    let order_id = app.create_topup("allow", 4_501, 10_000).await;
    let settle = notification_body(
        &NotificationSpec::new(&order_id, "settlement", 10_000),
        SERVER_KEY,
    );
    let junk = serde_json::json!({"hello": "world"});
    // Direct peers.
    assert_eq!(
        post_from(&app, "127.0.0.3", None, &settle).await,
        403,
        "unlisted peer"
    );
    assert_eq!(
        post_from(&app, "127.0.0.3", Some("127.0.0.2"), &settle).await,
        403,
        "spoofed XFF from an untrusted peer"
    );
    assert_eq!(
        post_from(&app, "127.0.0.3", Some("103.208.23.7"), &settle).await,
        403
    );
    assert_eq!(
        post_from(&app, "127.0.0.6", Some("103.208.23.7"), &junk).await,
        403
    );
    assert_eq!(
        app.balance(4_501).await,
        0,
        "a refused source changed nothing"
    );
    assert_eq!(
        post_from(&app, "127.0.0.2", None, &junk).await,
        400,
        "listed peer reaches the handler"
    );
    // Through the trusted proxy: the right-most XFF entry (the one the proxy added) counts.
    assert_eq!(
        post_from(&app, "127.0.0.5", Some("1.2.3.4"), &junk).await,
        403
    );
    assert_eq!(
        post_from(&app, "127.0.0.5", Some("103.208.23.7, 9.9.9.9"), &junk).await,
        403,
        "client-written left part is not trusted"
    );
    assert_eq!(
        post_from(&app, "127.0.0.5", Some("9.9.9.9, 103.127.17.200"), &junk).await,
        400
    );
    assert_eq!(
        post_from(&app, "127.0.0.5", Some("not-an-ip"), &junk).await,
        403,
        "garbage XFF falls back to the proxy's own address"
    );
    assert_eq!(post_from(&app, "127.0.0.5", None, &junk).await, 403);
    assert_eq!(
        post_from(&app, "127.0.0.5", Some("103.208.23.7"), &settle).await,
        200
    );
    assert_eq!(app.balance(4_501).await, 10_000);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_gets_429_while_others_get_through() {
    let app = PaymentApp::start_with(AppOptions {
        extra: opts(&[
            ("WEBHOOK_RATE_LIMIT_PER_SEC", "5"),
            ("TRUSTED_PROXIES", "127.0.0.5"),
        ]),
        ..Default::default()
    })
    .await
    .expect("app starts");
    let junk = serde_json::json!({"x": 1});
    let flood = |from: &'static str, xff: Option<&'static str>, n: usize| {
        let client = client_from(from);
        let url = app.webhook_url();
        let junk = junk.clone();
        async move {
            let sends = (0..n).map(|_| {
                let mut r = client.post(&url).json(&junk);
                if let Some(x) = xff {
                    r = r.header("X-Forwarded-For", x);
                }
                async move { r.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
            });
            futures::future::join_all(sends).await
        }
    };
    // Start at the beginning of a second so the window is not split.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time");
    tokio::time::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ))
    .await;
    let (a, b, c, d) = tokio::join!(
        flood("127.0.0.2", None, 80),
        flood("127.0.0.3", None, 3),
        flood("127.0.0.5", Some("198.51.100.1"), 80),
        flood("127.0.0.5", Some("198.51.100.2"), 3),
    );
    let limited = |v: &[u16]| v.iter().filter(|s| **s == 429).count();
    assert!(limited(&a) >= 60, "the flooding address was limited: {a:?}");
    assert!(a.iter().all(|s| *s == 429 || *s == 400), "{a:?}");
    assert_eq!(limited(&b), 0, "another address still gets through: {b:?}");
    assert!(
        limited(&c) >= 60,
        "a flooding client behind the trusted proxy: {c:?}"
    );
    assert_eq!(
        limited(&d),
        0,
        "another client behind the same proxy is not starved: {d:?}"
    );
    // The next second the flooder is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(post_from(&app, "127.0.0.2", None, &junk).await, 400);
    app.stop().await;
}
