//! The payment-service binary: configuration, logging, then the library's [`Application`].
//!
//! `payment-service` runs the service. `payment-service rotate-keys` re-encrypts the stock under
//! `ENCRYPTION_KEY` (the old key in `PREVIOUS_ENCRYPTION_KEYS`) while the service keeps running.

use payment_service::app::Application;
use payment_service::config::PaymentConfig;
use payment_service::stock_vault::{self, rotation};
use service_runtime::Settings;

#[tokio::main]
async fn main() {
    let settings = match Settings::load("PAYMENT_CONFIG_FILE") {
        Ok(s) => s,
        Err(e) => exit_with(&e.to_string()),
    };
    let config = match PaymentConfig::from_settings(&settings) {
        Ok(c) => c,
        Err(e) => exit_with(&e.to_string()),
    };
    service_runtime::init_tracing(&config.log_level, config.log_format);
    let legacy = PaymentConfig::ignored_legacy_settings(&settings);
    if !legacy.is_empty() {
        tracing::warn!(settings = ?legacy, "settings of the earlier version are set but no longer used; they are ignored");
    }
    match std::env::args().nth(1).as_deref() {
        None | Some("run") => {}
        Some("rotate-keys") => return rotate_keys(config).await,
        Some(other) => exit_with(&format!(
            "unknown command {other:?}; use `payment-service` (run) or `payment-service rotate-keys`"
        )),
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => exit_with(&format!("payment-service failed to start: {e:#}")),
    };
    if let Err(e) = app.run(service_runtime::shutdown_on_signal()).await {
        exit_with(&format!("payment-service stopped with an error: {e:#}"));
    }
}

/// Re-encrypts every stock row not under the current key, in small online batches.
async fn rotate_keys(config: PaymentConfig) {
    let db = match payment_service::persistence::connect(&config).await {
        Ok(db) => db,
        Err(e) => exit_with(&format!("rotate-keys: {e:#}")),
    };
    // Rows are re-hashed under the stable hash key, so the vault must know it.
    let vault = match stock_vault::open(&db, &config).await {
        Ok(vault) => vault,
        Err(e) => exit_with(&format!("rotate-keys: {e:#}")),
    };
    match rotation::rotate(&db, &vault, 200).await {
        Ok(report) if report.failed == 0 => {
            println!(
                "re-encrypted {} stock codes under key {}; the previous keys can now be removed",
                report.rotated,
                vault.current_key_id()
            );
        }
        Ok(report) => exit_with(&format!(
            "re-encrypted {} stock codes; {} could not be decrypted with the configured keys (see the log); keep PREVIOUS_ENCRYPTION_KEYS",
            report.rotated, report.failed
        )),
        Err(e) => exit_with(&format!("rotate-keys: {e:#}")),
    }
}

fn exit_with(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}
