//! The `migrations` binary: commands, `DATABASE_URL` handling and its messages.

mod common;

use std::process::{Command, Output};

use common::Db;

fn run(url: Option<&str>, args: &[&str], cwd: &std::path::Path) -> anyhow::Result<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrations"));
    cmd.args(args).current_dir(cwd);
    match url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    Ok(cmd.output()?)
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

async fn up_status_down(db: Db) -> anyhow::Result<()> {
    let cwd = std::env::temp_dir();
    let url = Some(db.url.as_str());

    let out = run(url, &["status"], &cwd)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("pending ").count(), 10);

    let out = run(url, &["up"], &cwd)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("applied ").count(), 10);

    let out = run(url, &["up"], &cwd)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "nothing to do");

    let out = run(url, &["down"], &cwd)?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "rolled back m20261202_000009_products"
    );

    let out = run(url, &["status"], &cwd)?;
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("applied ").count(), 9, "{stdout}");
    assert!(stdout.contains("pending m20261202_000009_products"));
    Ok(())
}

#[tokio::test]
async fn up_status_down_on_postgres() -> anyhow::Result<()> {
    up_status_down(Db::pg().await?).await
}

#[tokio::test]
async fn up_status_down_on_sqlite() -> anyhow::Result<()> {
    up_status_down(Db::sqlite().await?).await
}

#[test]
fn without_database_url_uses_local_sqlite_file() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(test_support::unique_name("cli"));
    std::fs::create_dir_all(&dir)?;
    let out = run(None, &["up"], &dir)?;
    let created = dir.join("redfinger.db").exists();
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(created);
    Ok(())
}

#[test]
fn unsupported_database_url_is_named_in_the_error() -> anyhow::Result<()> {
    let out = run(
        Some("mysql://root:hunter2@localhost/db"),
        &["up"],
        &std::env::temp_dir(),
    )?;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    Ok(())
}

#[test]
fn unreachable_database_fails_without_leaking_the_password() -> anyhow::Result<()> {
    let out = run(
        Some("postgres://postgres:hunter2@127.0.0.1:1/nowhere"),
        &["status"],
        &std::env::temp_dir(),
    )?;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    Ok(())
}

#[test]
fn unknown_command_prints_usage() -> anyhow::Result<()> {
    for args in [&["fresh"][..], &[][..], &["down", "zero"][..]] {
        let out = run(Some("sqlite::memory:"), args, &std::env::temp_dir())?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("usage: migrations"));
    }
    Ok(())
}
