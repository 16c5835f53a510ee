//! Logging: `LOG_LEVEL` (an `EnvFilter` directive, e.g. `info` or `payment_service=debug`) and
//! `LOG_FORMAT` (`pretty` for people, `json` for log shippers).

use tracing_subscriber::{fmt, EnvFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty" | "text" | "" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Installs the global subscriber once; later calls (tests starting several apps) are no-ops.
pub fn init_tracing(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(level.to_ascii_lowercase())
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // sqlx logs every statement at info; that is noise for operators.
        .add_directive("sqlx=warn".parse().unwrap_or_default())
        // serenity logs every gateway frame, lapin every channel event: operators need only
        // their warnings.
        .add_directive("serenity=warn".parse().unwrap_or_default())
        .add_directive("lapin=warn".parse().unwrap_or_default());
    let builder = fmt().with_env_filter(filter).with_target(true);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
