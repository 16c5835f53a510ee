//! The real binaries (through the `e2e-tests` harness: fake Discord, Midtrans simulator,
//! PostgreSQL, RabbitMQ): every line both services print during a top-up, a stock upload and an
//! order at LOG_LEVEL=debug holds no secret and no code; the codes at rest are unreadable
//! (pg_dump); members without the admin role are refused at the bot; a wrong ENCRYPTION_KEY
//! stops the binary at start-up.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use e2e_tests::{has_button, System, SystemOptions, ADMIN_ROLE_ID};
use fake_discord::{FakeUser, SlashOption};

fn buyer() -> FakeUser {
    FakeUser::new(1_300_000_000_000_000_001, "logbuyer")
}

fn admin() -> FakeUser {
    FakeUser::new(1_300_000_000_000_000_900, "logadmin").with_roles([ADMIN_ROLE_ID])
}

fn fresh_codes(n: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    (0..n)
        .map(|i| format!("RFSEC{}{i:03}", &run[..12]))
        .collect()
}

/// The environment a child was started with (Linux), read back as the operator set it.
fn environ(pid: u32) -> Vec<(String, String)> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn secret_forms(name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = vec![(name.to_string(), value.to_string())];
    if name == "ENCRYPTION_KEY" {
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(value) {
            out.push(("ENCRYPTION_KEY (hex)".into(), hex::encode(&raw)));
            out.push(("ENCRYPTION_KEY (HEX)".into(), hex::encode_upper(&raw)));
            out.push((
                "ENCRYPTION_KEY (url-safe base64)".into(),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
            ));
            // A Debug print of the bytes would show them as a list.
            out.push((
                "ENCRYPTION_KEY (bytes)".into(),
                format!("{:?}", &raw[..8]).trim_end_matches(']').to_string(),
            ));
        }
    }
    if name == "MIDTRANS_SERVER_KEY" {
        // Basic auth header value of the Core API.
        out.push((
            "MIDTRANS_SERVER_KEY (basic auth)".into(),
            base64::engine::general_purpose::STANDARD.encode(format!("{value}:")),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_at_debug_level_logs_no_secret_and_no_code() {
    let discord_token = format!(
        "MTMwMDAw.{}.{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut sys = System::start_with(SystemOptions {
        payment_env: vec![("LOG_LEVEL".into(), "debug".into())],
        bot_env: vec![
            ("LOG_LEVEL".into(), "debug".into()),
            ("DISCORD_TOKEN".into(), discord_token.clone()),
        ],
        ..SystemOptions::default()
    })
    .await
    .expect("the system starts");
    let payment_env = environ(sys.payment.pid());
    let bot_env = environ(sys.bot.pid());

    // A top-up, a stock upload, an order with its delivery, a balance query.
    let user = buyer();
    sys.top_up(&user, "Rp 50.000").await;
    let codes = fresh_codes(12);
    let added = sys.add_stock(&admin(), &codes).await;
    assert!(
        added.visible_text().contains("12"),
        "{}",
        added.visible_text()
    );
    let step = sys.order_step(&user, "1 code").await;
    let confirm = sys.confirm(&user, &step);
    sys.order_outcome(confirm).await;
    let dm = sys.codes_dm(&user).await;
    let delivered = e2e_tests::codes_in(&dm);
    assert_eq!(delivered.len(), 1, "{}", dm.visible_text());
    let _ = sys.balance_text(&user).await;
    sys.assert_every_interaction_answered_in_time().await;
    // Let the last log lines (delivery confirmations, relay) be written.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut secrets: Vec<(String, String)> = Vec::new();
    for (name, env) in [("payment", &payment_env), ("bot", &bot_env)] {
        for (k, v) in env.iter() {
            if [
                "MIDTRANS_SERVER_KEY",
                "DISCORD_TOKEN",
                "ENCRYPTION_KEY",
                "ADMIN_CLAIM_SECRET",
            ]
            .contains(&k.as_str())
            {
                assert!(v.len() >= 16, "{name}: {k} is too short to search for");
                secrets.extend(secret_forms(k, v));
            }
        }
    }
    let names: HashSet<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "MIDTRANS_SERVER_KEY",
        "DISCORD_TOKEN",
        "ENCRYPTION_KEY",
        "ADMIN_CLAIM_SECRET",
        "ENCRYPTION_KEY (hex)",
    ] {
        assert!(
            names.contains(wanted),
            "{wanted} not found in the children's environment"
        );
    }
    for code in &codes {
        secrets.push(("a stock code".into(), code.clone()));
    }
    for interaction in sys.fake.interactions() {
        secrets.push(("an interaction token".into(), interaction.token.clone()));
    }
    let logs = [
        ("payment-service", sys.payment.log()),
        ("bot-service", sys.bot.log()),
    ];
    for (service, log) in &logs {
        assert!(
            log.lines().count() > 20,
            "{service} logged almost nothing at debug level:\n{log}"
        );
        assert!(
            log.contains("DEBUG") || log.contains("debug"),
            "{service} is not at debug level"
        );
    }
    let mut leaks = Vec::new();
    for (service, log) in &logs {
        for (what, value) in &secrets {
            if let Some(line) = log.lines().find(|l| l.contains(value.as_str())) {
                let shown: String = line.chars().take(300).collect();
                leaks.push(format!("{service} logs {what}: {shown}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the logs (logs kept with E2E_KEEP_LOGS=1):\n{}",
        leaks.join("\n")
    );
    sys.assert_services_alive();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_at_rest_are_not_in_a_database_dump() {
    let sys = System::start().await.expect("the system starts");
    let codes = fresh_codes(15);
    sys.add_stock(&admin(), &codes).await;
    assert_eq!(sys.count("SELECT COUNT(*) FROM stock", vec![]).await, 15);
    // Some sold too: decrypted for delivery, still encrypted at rest.
    let user = buyer();
    sys.top_up(&user, "Rp 50.000").await;
    let step = sys.order_step(&user, "1 code").await;
    let confirm = sys.confirm(&user, &step);
    sys.order_outcome(confirm).await;
    sys.codes_dm(&user).await;

    let name = sys
        .query("SELECT current_database()::TEXT AS name", vec![])
        .await
        .first()
        .and_then(|r| r.try_get::<String>("", "name").ok())
        .expect("database name");
    let mut dumps = Vec::new();
    for format in [
        ["--format=plain", "--inserts"],
        ["--format=plain", "--column-inserts"],
    ] {
        let out = std::process::Command::new("pg_dump")
            .args(["-h", "127.0.0.1", "-U", "postgres", "--no-password"])
            .args(format)
            .arg(&name)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dumps.push(out.stdout);
    }
    let out = std::process::Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--no-password",
            "--format=custom",
            "--compress=0",
        ])
        .arg(&name)
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success());
    dumps.push(out.stdout);
    for dump in &dumps {
        let text = String::from_utf8_lossy(dump);
        assert!(text.contains("stock"), "the dump has the stock table");
        for code in &codes {
            if let Some(line) = text.lines().find(|l| l.contains(code.as_str())) {
                let shown: String = line.chars().take(400).collect();
                panic!("plaintext code {code} in the dump: {shown}");
            }
            // Nor any long fragment of it (e.g. a prefix kept for display).
            assert!(
                !text.contains(&code[..12]),
                "a fragment of {code} in the dump"
            );
        }
    }
    // And the rows are really there, sealed: ciphertext, nonce and key id.
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM stock WHERE ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_id IS NOT NULL", vec![]).await,
        15
    );
}

/// Members without the admin role: every admin command and the admin's own orders-page
/// buttons are refused by the bot, nothing reaches the payment-service (no audit row, stock
/// unchanged), and the role-holder's same commands work (the control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_the_role_are_refused_at_the_bot() {
    let sys = System::start().await.expect("the system starts");
    let boss = admin();
    sys.add_stock(&boss, &fresh_codes(3)).await;
    let audit_before = sys.count("SELECT COUNT(*) FROM admin_audit", vec![]).await;
    let stock_before = sys.count("SELECT COUNT(*) FROM stock", vec![]).await;
    // A member with some other role, and one with a role named like the admin role's id.
    let mallory =
        FakeUser::new(1_300_000_000_000_000_666, "mallory").with_roles([ADMIN_ROLE_ID + 1]);
    let file = sys
        .fake
        .add_attachment("codes.txt", b"EVIL-1\nEVIL-2\n".to_vec());
    let commands: Vec<(&str, Vec<SlashOption>)> = vec![
        ("addstock", vec![SlashOption::attachment("file", &file)]),
        (
            "addstock",
            vec![SlashOption::string("text", "EVIL-3 EVIL-4")],
        ),
        ("viewstock", vec![]),
        ("vieworders", vec![]),
        (
            "processorder",
            vec![
                SlashOption::string("order_number", "RF-20260101-ABCDEF"),
                SlashOption::integer("action", 1),
            ],
        ),
        ("botstats", vec![]),
        ("postpanel", vec![]),
    ];
    for (sub, options) in &commands {
        let id = sys.slash(
            &mallory,
            "admin",
            vec![SlashOption::sub(sub, options.clone())],
        );
        let answer = sys
            .answer(id, "the refusal", |m| !m.visible_text().is_empty())
            .await;
        let text = answer.visible_text();
        assert!(
            text.to_lowercase().contains("admin"),
            "/admin {sub}: {text}"
        );
        assert_ne!(
            answer.flags() & 64,
            0,
            "/admin {sub}: the refusal is ephemeral"
        );
    }
    // The admin's orders page: its buttons re-check the role on every click.
    let id = sys.slash(&boss, "admin", vec![SlashOption::sub("vieworders", vec![])]);
    let page = sys
        .answer(id, "the orders page", |m| !m.visible_text().is_empty())
        .await;
    let audit_after_boss = sys.count("SELECT COUNT(*) FROM admin_audit", vec![]).await;
    assert_eq!(
        audit_after_boss,
        audit_before + 1,
        "the admin's own command is audited"
    );
    if let Some(label) = ["Next", "Refresh", "Previous"]
        .into_iter()
        .find(|l| has_button(&page, l))
    {
        let _ = sys.click(&mallory, &page, label);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM admin_audit", vec![]).await,
        audit_after_boss,
        "a refused member reached the payment-service"
    );
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM stock", vec![]).await,
        stock_before
    );
    assert_eq!(
        sys.count("SELECT COUNT(*) FROM stock_batches", vec![])
            .await,
        1
    );
}

/// ENCRYPTION_KEY of the wrong length (or raw hex, or the old placeholder) stops the binary at
/// start-up with a message naming the setting and not showing the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_encryption_key_is_refused_at_start_up() {
    let binaries = tokio::task::spawn_blocking(e2e_tests::service_binaries)
        .await
        .expect("join")
        .expect("binaries");
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![0x5au8; n]);
    let hex32 = hex::encode([0xa5u8; 32]);
    let cases = [
        ("16 bytes", b64(16)),
        ("31 bytes", b64(31)),
        ("33 bytes", b64(33)),
        ("64 bytes", b64(64)),
        ("raw hex of 32 bytes", hex32),
        (
            "placeholder",
            "your-32-byte-encryption-key-here".to_string(),
        ),
        ("not base64", "this is not a key at all!".to_string()),
    ];
    let dir = std::env::temp_dir().join(test_support::unique_name("sec-key"));
    std::fs::create_dir_all(&dir).expect("dir");
    for (what, key) in &cases {
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::process::Command::new(&binaries.payment_service)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .current_dir(&dir)
                .env("ENCRYPTION_KEY", key)
                .env("MIDTRANS_SERVER_KEY", "SB-Mid-server-KEYTEST")
                .env("ADMIN_CLAIM_SECRET", security_tests::CLAIM_SECRET)
                // Never reached: the key is checked first.
                .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
                .env("AMQP_URL", "amqp://nobody:x@127.0.0.1:1/%2f")
                .env("WEBHOOK_PORT", "0")
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: the binary did not exit"))
        .expect("runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "{what}: started with a bad key: {text}"
        );
        assert!(
            text.contains("ENCRYPTION_KEY"),
            "{what}: the message does not name the setting: {text}"
        );
        assert!(
            !text.contains(key.as_str()),
            "{what}: the message shows the key: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
