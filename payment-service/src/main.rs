//! The payment-service binary: configuration, logging, then the library's [`Application`].

use payment_service::app::Application;
use payment_service::config::PaymentConfig;
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
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => exit_with(&format!("payment-service failed to start: {e:#}")),
    };
    if let Err(e) = app.run(service_runtime::shutdown_on_signal()).await {
        exit_with(&format!("payment-service stopped with an error: {e:#}"));
    }
}

fn exit_with(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}
