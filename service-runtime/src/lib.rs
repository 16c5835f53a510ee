//! What both services start with: layered settings, logging and the shutdown signal.
//!
//! Settings come from, lowest first: built-in defaults, an optional config file (TOML, path in
//! `<SERVICE>_CONFIG_FILE`), then the environment (a `.env` file in the working directory is read
//! first when present, without overriding variables that are already set). Names are the
//! environment variable names of the earlier Python version, so an operator's `.env` works as is.

pub mod redact;
pub mod secrets;
pub mod settings;
pub mod telemetry;

pub use redact::{redact, register_secret};
pub use settings::{SettingError, Settings};
pub use telemetry::{init_tracing, init_tracing_to, LogFormat};

use tokio_util::sync::CancellationToken;

/// A token cancelled on SIGTERM or Ctrl-C: every loop of a service watches it.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
    token
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
