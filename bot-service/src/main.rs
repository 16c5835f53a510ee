//! The bot-service binary: reads settings, starts logging, runs until SIGTERM/SIGINT.

use std::process::ExitCode;

use bot_service::config::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    // A .env of the earlier version works unchanged; variables already set win.
    let _ = dotenvy::dotenv();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bot-service: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    service_runtime::init_tracing(&settings.log_level, settings.log_format);
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
    match bot_service::run(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let shown = service_runtime::redact(&format!("{e:#}")).into_owned();
            tracing::error!(error = %shown, "bot-service failed");
            eprintln!("bot-service: {shown}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
