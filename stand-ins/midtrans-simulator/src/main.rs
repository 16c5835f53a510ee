//! `midtrans-simulator`: runs the simulator from environment variables, for demos and manual
//! testing. See the library for the routes.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use midtrans_simulator::{NotificationRetry, Simulator, SimulatorConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = config_from_env()?;
    tracing::info!(?config, "starting");
    let mut simulator = Simulator::start(config).await?;
    tokio::select! {
        result = simulator.wait() => result?,
        signal = tokio::signal::ctrl_c() => {
            signal.context("listening for Ctrl-C")?;
            tracing::info!("stopping");
            simulator.stop().await;
        }
    }
    Ok(())
}

fn config_from_env() -> anyhow::Result<SimulatorConfig> {
    let server_key = std::env::var("MIDTRANS_SERVER_KEY").context(
        "MIDTRANS_SERVER_KEY must be set (the key clients use and notifications are signed with)",
    )?;
    let mut config = SimulatorConfig::new(server_key);
    config.bind = optional("SIMULATOR_BIND")?
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned())
        .parse::<SocketAddr>()
        .context("SIMULATOR_BIND must be an address like 127.0.0.1:8090")?;
    config.default_notification_url = optional("SIMULATOR_NOTIFICATION_URL")?;
    config.public_base_url = optional("SIMULATOR_PUBLIC_URL")?;
    config.fee_imposition = parse_optional::<i64>("SIMULATOR_FEE_IMPOSITION")?;
    config.auto_pay_after =
        parse_optional::<u64>("SIMULATOR_AUTO_PAY_AFTER_SECS")?.map(Duration::from_secs);
    if let Some(ms) = parse_optional::<u64>("SIMULATOR_CHARGE_PROCESSING_MS")? {
        config.charge_processing_delay = Duration::from_millis(ms);
    }
    if let Some(merchant_id) = optional("SIMULATOR_MERCHANT_ID")? {
        config.merchant_id = merchant_id;
    }
    // Midtrans's minutes become seconds by default so a demo sees retries happen.
    config.notification_retry = match optional("SIMULATOR_RETRY_DELAYS_MS")? {
        Some(list) => {
            let delays = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::parse::<u64>)
                .collect::<Result<Vec<_>, _>>()
                .context("SIMULATOR_RETRY_DELAYS_MS must be a comma list of milliseconds")?;
            NotificationRetry::from_millis(&delays)
        }
        None => NotificationRetry::from_secs(&[2, 10, 30, 90, 210]),
    };
    Ok(config)
}

fn optional(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => anyhow::bail!("{name} is not valid UTF-8"),
    }
}

fn parse_optional<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    optional(name)?
        .map(|value| {
            value
                .trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("{name} is not a valid number: {value}"))
        })
        .transpose()
}
