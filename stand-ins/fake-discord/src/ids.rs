//! Snowflake ids and interaction tokens shaped like Discord's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds between the Unix epoch and Discord's epoch (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

static INCREMENT: AtomicU64 = AtomicU64::new(0);

/// A fresh snowflake: the current time in its top bits so ids sort by creation, like Discord's.
pub fn snowflake() -> u64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS);
    let increment = INCREMENT.fetch_add(1, Ordering::Relaxed) & 0x3f_ffff;
    (now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22) | increment
}

/// An interaction token: opaque, long and URL-safe, as Discord's are.
pub fn interaction_token() -> String {
    format!(
        "aW50ZXJhY3Rpb246{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
