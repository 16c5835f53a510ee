//! Logging set-up: `LOG_LEVEL` (an EnvFilter directive) and `LOG_FORMAT` (pretty|json).

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber; later calls (tests starting several bots) are no-ops.
pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(level.to_ascii_lowercase())
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // serenity logs every gateway frame at info/debug; operators need only its warnings.
        .add_directive("serenity=warn".parse().unwrap_or_default())
        .add_directive("lapin=warn".parse().unwrap_or_default());
    let builder = fmt().with_env_filter(filter).with_target(true);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
