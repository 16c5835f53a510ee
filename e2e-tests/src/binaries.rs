//! Finding the service binaries: `cargo build` them once per test process (a no-op when they are
//! up to date) and take the paths cargo reports, so a test never runs a stale binary even when
//! only `cargo test -p e2e-tests` was asked for. A dependency on a package does not build its
//! binaries, and `CARGO_BIN_EXE_*` only exists inside the package that owns them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context};

#[derive(Debug, Clone)]
pub struct ServiceBinaries {
    pub payment_service: PathBuf,
    pub bot_service: PathBuf,
}

static BINARIES: OnceLock<Result<ServiceBinaries, String>> = OnceLock::new();

/// Builds (if needed) and locates both service binaries, once per process.
///
/// Set `E2E_SKIP_BUILD=1` to use the binaries next to the test executable as they are.
pub fn service_binaries() -> anyhow::Result<ServiceBinaries> {
    BINARIES
        .get_or_init(|| locate().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn locate() -> anyhow::Result<ServiceBinaries> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not inside target/<profile>/deps")?
        .to_path_buf();
    if std::env::var_os("E2E_SKIP_BUILD").is_some() {
        return next_to(&profile_dir);
    }
    build(&profile_dir)
}

fn next_to(profile_dir: &Path) -> anyhow::Result<ServiceBinaries> {
    let found = ServiceBinaries {
        payment_service: profile_dir.join(exe_name("payment-service")),
        bot_service: profile_dir.join(exe_name("bot-service")),
    };
    for path in [&found.payment_service, &found.bot_service] {
        if !path.is_file() {
            bail!(
                "{} does not exist; build it with `cargo build -p payment-service -p bot-service`",
                path.display()
            );
        }
    }
    Ok(found)
}

fn exe_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

fn build(profile_dir: &Path) -> anyhow::Result<ServiceBinaries> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the e2e-tests crate sits in the workspace root")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "-p",
            "payment-service",
            "-p",
            "bot-service",
            "--bins",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit());
    // Cargo gives a test the variables of its own package; passed on, they would change the
    // fingerprints of build scripts that watch them (ring watches CARGO_MANIFEST_DIR) and make
    // this build and the outer one rebuild each other's dependencies every time.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else {
            continue;
        };
        let package_specific = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name,
                "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            );
        if package_specific {
            command.env_remove(name);
        }
    }
    if profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
        command.arg("--release");
    }
    // Build into the target directory the tests themselves came from.
    if let Some(target) = profile_dir.parent() {
        command.arg("--target-dir").arg(target);
    }
    let output = command
        .output()
        .context("running cargo build for the service binaries")?;
    if !output.status.success() {
        bail!("cargo build -p payment-service -p bot-service failed (see its output above)");
    }
    let mut payment_service = None;
    let mut bot_service = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(executable) = message["executable"].as_str() else {
            continue;
        };
        match message["target"]["name"].as_str() {
            Some("payment-service") => payment_service = Some(PathBuf::from(executable)),
            Some("bot-service") => bot_service = Some(PathBuf::from(executable)),
            _ => {}
        }
    }
    Ok(ServiceBinaries {
        payment_service: payment_service.context("cargo reported no payment-service binary")?,
        bot_service: bot_service.context("cargo reported no bot-service binary")?,
    })
}
