//! How a simulator instance behaves: keys, addresses, fees and the notification retry schedule.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The merchant id the simulator reports when none is configured (Midtrans's `G` + 9 digits).
pub const DEFAULT_MERCHANT_ID: &str = "G123456789";

/// Configuration of one simulator. Build it with [`SimulatorConfig::new`] (or `Default`) and
/// change the fields a test cares about.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// The server key clients must present (Basic auth) and notifications are signed with.
    pub server_key: String,
    /// Where to listen; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// The dashboard's "Payment Notification URL"; `X-Override-Notification` replaces it per
    /// transaction and `X-Append-Notification` adds to it.
    pub default_notification_url: Option<String>,
    /// "Automatic fee imposition": a fixed fee in rupiah added to every charge's gross amount.
    pub fee_imposition: Option<i64>,
    pub merchant_id: String,
    /// When a notification is retried; see [`NotificationRetry`].
    pub notification_retry: NotificationRetry,
    /// How long a webhook may take to answer before the attempt counts as failed (Midtrans: 15 s).
    pub notification_timeout: Duration,
    /// For demos: settle every new charge after this long, as if the customer paid.
    pub auto_pay_after: Option<Duration>,
    /// How long a successful `Idempotency-Key` answer is replayed (Midtrans: 5 minutes; the
    /// simulator's clock can be moved forward, see `POST /_sim/clock`).
    pub idempotency_ttl: Duration,
    /// How long processing a charge takes; a retry with the same `Idempotency-Key` meanwhile
    /// answers HTTP 202. Zero by default; `/_sim/charge-hold` holds charges indefinitely.
    pub charge_processing_delay: Duration,
    /// The base URL put into `actions[].url`, when the bound address is not what clients see
    /// (containers). Defaults to the bound base URL.
    pub public_base_url: Option<String>,
}

impl SimulatorConfig {
    /// A simulator on a free loopback port with a fast retry schedule, for tests.
    pub fn new(server_key: impl Into<String>) -> Self {
        Self {
            server_key: server_key.into(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            default_notification_url: None,
            fee_imposition: None,
            merchant_id: DEFAULT_MERCHANT_ID.to_owned(),
            notification_retry: NotificationRetry::fast(),
            notification_timeout: Duration::from_secs(15),
            auto_pay_after: None,
            idempotency_ttl: Duration::from_secs(5 * 60),
            charge_processing_delay: Duration::ZERO,
            public_base_url: None,
        }
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self::new("SB-Mid-server-TEST")
    }
}

impl fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("server_key", &"[redacted]")
            .field("bind", &self.bind)
            .field("default_notification_url", &self.default_notification_url)
            .field("fee_imposition", &self.fee_imposition)
            .field("merchant_id", &self.merchant_id)
            .field("notification_retry", &self.notification_retry)
            .field("notification_timeout", &self.notification_timeout)
            .field("auto_pay_after", &self.auto_pay_after)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("charge_processing_delay", &self.charge_processing_delay)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

/// The pauses between a failed notification attempt and the next one.
///
/// How many retries an answer earns follows Midtrans (500 → 1, 503 → 4, 400/404 → 2,
/// 3xx → 0, anything else including timeouts and refused connections → 5); this list caps it
/// further and gives the pause before retry *n* (no jitter, so tests are deterministic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRetry {
    pub delays: Vec<Duration>,
}

impl NotificationRetry {
    /// Midtrans's published schedule: 2, 10, 30, 90 and 210 minutes.
    pub fn midtrans() -> Self {
        Self::from_secs(&[120, 600, 1800, 5400, 12600])
    }

    /// The same shape in milliseconds, for tests.
    pub fn fast() -> Self {
        Self::from_millis(&[20, 50, 100, 200, 400])
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self { delays: Vec::new() }
    }

    pub fn from_millis(delays: &[u64]) -> Self {
        Self {
            delays: delays.iter().copied().map(Duration::from_millis).collect(),
        }
    }

    pub fn from_secs(delays: &[u64]) -> Self {
        Self {
            delays: delays.iter().copied().map(Duration::from_secs).collect(),
        }
    }

    /// Retries Midtrans grants after a webhook answered `http_status` (`None`: no answer).
    pub fn retries_for(http_status: Option<u16>) -> usize {
        match http_status {
            Some(200..=299) => 0,
            Some(300..=399) => 0,
            Some(500) => 1,
            Some(503) => 4,
            Some(400) | Some(404) => 2,
            _ => 5,
        }
    }
}
