//! Payment-service configuration, read once at start-up. Names are DESIGN.md §4's (the earlier
//! Python version's names are kept so an operator's `.env` works unchanged).

use std::net::IpAddr;

use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use service_runtime::{LogFormat, SettingError, Settings};
use shared_proto::{DiscordGuildId, DiscordUserId, Idr, PackageSize};

/// Settings of the earlier version that no longer apply: accepted and named once in a warning.
pub const LEGACY_SETTINGS: &[&str] = &[
    "DATABASE_TYPE",
    "DB_FILE",
    "LOG_TO_FILE",
    "LOG_FILE",
    "DB_POOL_SIZE",
    "REDIS_URL",
    "WEBHOOK_PATH",
];

/// The placeholder the earlier version's `.env.example` shipped; refusing it stops a
/// deployment that never set a real key.
const PLACEHOLDER_KEYS: &[&str] = &[
    "your-32-byte-encryption-key-here",
    "your_encryption_key_here",
    "change-me",
    "changeme",
];

/// A 256-bit AES key with the id stored beside every ciphertext so keys can rotate.
pub struct EncryptionKey {
    pub id: String,
    pub key: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey {{ id: {:?}, key: [REDACTED] }}", self.id)
    }
}

impl EncryptionKey {
    /// Parses a base64 key of exactly 32 bytes. The error never contains the key.
    pub fn parse(name: &str, text: &str) -> Result<Self, SettingError> {
        let text = text.trim();
        if PLACEHOLDER_KEYS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(text))
        {
            return Err(SettingError::invalid(
                name,
                "is still the example placeholder; generate one with `openssl rand -base64 32`",
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .map_err(|_| {
                SettingError::invalid(
                    name,
                    "is not base64; generate one with `openssl rand -base64 32`",
                )
            })?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            SettingError::invalid(
                name,
                format!("must decode to 32 bytes (AES-256), got {}", bytes.len()),
            )
        })?;
        // The id is derived from the key itself so it needs no extra setting and is stable.
        let id = key_id(&key);
        Ok(EncryptionKey {
            id,
            key: SecretBox::new(Box::new(key)),
        })
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.key.expose_secret()
    }
}

/// First 8 hex chars of SHA-256("redfinger-key-id" || key): identifies a key without revealing it.
fn key_id(key: &[u8; 32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"redfinger-key-id");
    h.update(key);
    hex::encode(&h.finalize()[..4])
}

#[derive(Debug)]
pub struct MidtransConfig {
    pub server_key: SecretString,
    pub client_key: Option<SecretString>,
    pub is_production: bool,
    /// Core API base; the simulator's address in tests.
    pub api_base_url: String,
    /// Confirm each notification with `GET /v2/{order_id}/status` before acting on it.
    pub verify_status: bool,
    /// This service's public notification URL, sent as `X-Override-Notification`.
    pub webhook_url: Option<String>,
    pub qris_expiry_minutes: u32,
    pub request_timeout_secs: u64,
    /// The webhook's bound on its status check (`MIDTRANS_WEBHOOK_STATUS_TIMEOUT_MS`, default
    /// 2500): one attempt, no retries, so the webhook answers well within Midtrans's advised 5 s
    /// (503 when it could not confirm, and Midtrans retries).
    pub webhook_status_timeout_ms: u64,
    /// How long `topup.create` keeps asking again (same `Idempotency-Key`) while Midtrans answers
    /// HTTP 202 "still processing" (`MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS`, default 4000). After
    /// that the top-up stays pending without a QR: `topup.status` and the sweeper finish it.
    pub charge_in_progress_wait_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Prices {
    pub one: Idr,
    pub five: Idr,
    pub ten: Idr,
    pub twenty_five: Idr,
    pub fifty: Idr,
}

impl Prices {
    pub fn price_of(&self, package: PackageSize) -> Idr {
        match package {
            PackageSize::One => self.one,
            PackageSize::Five => self.five,
            PackageSize::Ten => self.ten,
            PackageSize::TwentyFive => self.twenty_five,
            PackageSize::Fifty => self.fifty,
        }
    }
}

/// Feature flags of the earlier version, same meaning.
#[derive(Debug, Clone)]
pub struct Features {
    /// false → paid orders wait for an admin's process-order instead of being delivered.
    pub auto_delivery_enabled: bool,
    pub manual_approval_required: bool,
    pub enable_refund: bool,
    pub stock_alert_enabled: bool,
    pub notify_admin_on_order: bool,
    pub notify_user_on_delivery: bool,
}

#[derive(Debug)]
pub struct PaymentConfig {
    pub database_url: SecretString,
    pub run_migrations: bool,
    pub db_max_connections: u32,
    pub amqp_url: SecretString,
    pub amqp_namespace: String,
    pub amqp_prefetch: u16,
    pub amqp_delivery_limit: u32,
    pub webhook_host: String,
    pub webhook_port: u16,
    /// The listener of `/metrics`, `/readyz` and `/healthz` for operators and Prometheus
    /// (`INTERNAL_HTTP_HOST`, loopback by default; compose sets `0.0.0.0` inside its network).
    pub internal_http_host: String,
    pub internal_http_port: u16,
    /// Largest webhook body accepted (Midtrans notifications are ~1 KiB).
    pub webhook_max_body_bytes: usize,
    /// When non-empty, only these source networks may call the webhook.
    pub webhook_allowed_sources: Vec<IpNet>,
    /// `X-Forwarded-For` is believed only when the direct peer is one of these.
    pub trusted_proxies: Vec<IpAddr>,
    /// Per source address, notifications per second (0 = unlimited).
    pub webhook_rate_limit_per_sec: u32,
    pub midtrans: MidtransConfig,
    pub encryption_key: EncryptionKey,
    /// Older keys still able to decrypt stock during a rotation.
    pub previous_encryption_keys: Vec<EncryptionKey>,
    /// Key ids (`LOST_ENCRYPTION_KEY_IDS`) the operator declares lost for good: instead of
    /// refusing to start, the codes still on sale under them are quarantined at start-up.
    pub lost_encryption_key_ids: Vec<String>,
    pub admin_claim_secret: SecretString,
    /// The shop's own Discord guild(s) (`DISCORD_GUILD_ID`, one id or a short comma list): an
    /// admin claim from any other guild is refused, whatever role it names.
    pub shop_guild_ids: Vec<DiscordGuildId>,
    pub prices: Prices,
    pub topup_min: Idr,
    pub topup_max: Idr,
    pub low_stock_threshold: u64,
    /// How many days after a purchase its buyer may see the codes again ("my purchases",
    /// `REVEAL_WINDOW_DAYS`, default 30; 0 turns it off).
    pub reveal_window_days: u32,
    /// How many times an hour a buyer may see codes again (`REVEALS_PER_HOUR`, default 10).
    pub reveals_per_hour: u32,
    pub stock_admin_user_ids: Vec<DiscordUserId>,
    pub max_codes_per_order: u32,
    pub max_orders_per_user_per_day: u32,
    pub order_cooldown_seconds: u64,
    pub delivery_retry_attempts: u32,
    pub features: Features,
    pub sweeper_interval_secs: u64,
    pub outbox_poll_interval_ms: u64,
    pub log_level: String,
    pub log_format: LogFormat,
}

/// An IPv4/IPv6 network in CIDR notation (`103.208.23.0/24`), or a bare address (a network of
/// one host). Parsing and matching are the `ipnet` crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(pub ipnet::IpNet);

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.contains('/') {
            text.parse::<ipnet::IpNet>()
                .map(IpNet)
                .map_err(|_| format!("{s:?} is not an IP network (address/prefix length)"))
        } else {
            text.parse::<IpAddr>()
                .map(|addr| IpNet(ipnet::IpNet::from(addr)))
                .map_err(|_| format!("{s:?} is not an IP network"))
        }
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

/// A secret both services share: refused when it is an example value or shorter than
/// [`service_runtime::secrets::MIN_SECRET_BYTES`] (see README, "Security").
fn strong_shared_secret(s: &Settings, name: &str) -> Result<SecretString, SettingError> {
    let value = s.required_string(name)?;
    match service_runtime::secrets::weak_secret_reason(&value) {
        Some(reason) => Err(SettingError::invalid(name, reason)),
        None => Ok(SecretString::from(value)),
    }
}

/// A Midtrans key that matches the mode: sandbox keys start with `SB-`, production keys do not.
/// A mismatch is refused at start rather than failing every charge later (or, worse, a sandbox
/// deployment taking real money).
fn midtrans_key(
    s: &Settings,
    name: &str,
    is_production: bool,
) -> Result<Option<SecretString>, SettingError> {
    let Some(value) = s.optional_string(name) else {
        return Ok(None);
    };
    let sandbox_key = value.starts_with("SB-");
    let production_key = value.starts_with("Mid-");
    if is_production && sandbox_key {
        return Err(SettingError::invalid(
            name,
            "is a sandbox key (SB-Mid-…) but MIDTRANS_IS_PRODUCTION=true; use the production key from the Midtrans dashboard, or set MIDTRANS_IS_PRODUCTION=false",
        ));
    }
    if !is_production && production_key {
        return Err(SettingError::invalid(
            name,
            "is a production key (Mid-…) but MIDTRANS_IS_PRODUCTION=false (sandbox); set MIDTRANS_IS_PRODUCTION=true, or use the sandbox key (SB-Mid-…)",
        ));
    }
    Ok(Some(SecretString::from(value)))
}

impl PaymentConfig {
    /// Builds the configuration; any missing or invalid value is an error naming it.
    pub fn from_settings(s: &Settings) -> Result<Self, SettingError> {
        let is_production = s.bool_or("MIDTRANS_IS_PRODUCTION", false)?;
        let default_base = if is_production {
            "https://api.midtrans.com"
        } else {
            "https://api.sandbox.midtrans.com"
        };
        let encryption_key =
            EncryptionKey::parse("ENCRYPTION_KEY", &s.required_string("ENCRYPTION_KEY")?)?;
        let previous_encryption_keys = match s.raw("PREVIOUS_ENCRYPTION_KEYS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| EncryptionKey::parse("PREVIOUS_ENCRYPTION_KEYS", k))
                .collect::<Result<_, _>>()?,
        };
        let idr = |key: &str, default: i64| -> Result<Idr, SettingError> {
            let v = s.parse_or::<i64>(key, default)?;
            if v <= 0 {
                return Err(SettingError::invalid(
                    key,
                    "must be a positive amount of rupiah",
                ));
            }
            Ok(Idr::new(v))
        };
        let topup_min = idr("TOPUP_MIN", 10_000)?;
        let topup_max = idr("TOPUP_MAX", 10_000_000)?;
        if topup_max < topup_min {
            return Err(SettingError::invalid("TOPUP_MAX", "is below TOPUP_MIN"));
        }
        let log_format_text = s.string_or("LOG_FORMAT", "pretty");
        let log_format = LogFormat::parse(&log_format_text)
            .ok_or_else(|| SettingError::invalid("LOG_FORMAT", "must be pretty or json"))?;
        let max_codes_per_order = s.parse_or::<u32>("MAX_CODES_PER_ORDER", 50)?;
        if max_codes_per_order == 0 {
            return Err(SettingError::invalid(
                "MAX_CODES_PER_ORDER",
                "must be at least 1",
            ));
        }
        Ok(PaymentConfig {
            database_url: SecretString::from(
                s.string_or("DATABASE_URL", "sqlite://redfinger.db?mode=rwc"),
            ),
            run_migrations: s.bool_or("RUN_MIGRATIONS", true)?,
            db_max_connections: s.parse_or::<u32>("DB_MAX_CONNECTIONS", 16)?,
            amqp_url: SecretString::from(
                s.string_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            ),
            amqp_namespace: s
                .string_or("AMQP_NAMESPACE", shared_proto::topology::DEFAULT_NAMESPACE),
            amqp_prefetch: s.parse_or::<u16>("AMQP_PREFETCH", 32)?,
            amqp_delivery_limit: s.parse_or::<u32>("AMQP_DELIVERY_LIMIT", 5)?,
            webhook_host: s.string_or("WEBHOOK_HOST", "0.0.0.0"),
            webhook_port: s.parse_or::<u16>("WEBHOOK_PORT", 8001)?,
            internal_http_host: s.string_or("INTERNAL_HTTP_HOST", "127.0.0.1"),
            internal_http_port: s.parse_or::<u16>("INTERNAL_HTTP_PORT", 8003)?,
            webhook_max_body_bytes: s.parse_or::<usize>("WEBHOOK_MAX_BODY_BYTES", 16 * 1024)?,
            webhook_allowed_sources: s.list_or::<IpNet>("WEBHOOK_ALLOWED_SOURCES", Vec::new())?,
            trusted_proxies: s.list_or::<IpAddr>("TRUSTED_PROXIES", Vec::new())?,
            webhook_rate_limit_per_sec: s.parse_or::<u32>("WEBHOOK_RATE_LIMIT_PER_SEC", 0)?,
            midtrans: MidtransConfig {
                server_key: midtrans_key(s, "MIDTRANS_SERVER_KEY", is_production)?
                    .ok_or_else(|| SettingError::Missing("MIDTRANS_SERVER_KEY".into()))?,
                client_key: midtrans_key(s, "MIDTRANS_CLIENT_KEY", is_production)?,
                is_production,
                api_base_url: s
                    .string_or("MIDTRANS_API_BASE_URL", default_base)
                    .trim_end_matches('/')
                    .to_string(),
                verify_status: s.bool_or("MIDTRANS_VERIFY_STATUS", true)?,
                webhook_url: s.optional_string("WEBHOOK_URL"),
                qris_expiry_minutes: s.parse_or::<u32>("QRIS_EXPIRY_MINUTES", 15)?,
                request_timeout_secs: s.parse_or::<u64>("MIDTRANS_TIMEOUT_SECS", 10)?,
                webhook_status_timeout_ms: s
                    .parse_or::<u64>("MIDTRANS_WEBHOOK_STATUS_TIMEOUT_MS", 2500)?,
                charge_in_progress_wait_ms: s
                    .parse_or::<u64>("MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS", 4000)?,
            },
            encryption_key,
            previous_encryption_keys,
            lost_encryption_key_ids: s.list_or::<String>("LOST_ENCRYPTION_KEY_IDS", Vec::new())?,
            admin_claim_secret: strong_shared_secret(s, "ADMIN_CLAIM_SECRET")?,
            shop_guild_ids: shop_guild_ids(s)?,
            prices: Prices {
                one: idr("PRICE_1_CODE", 15_000)?,
                five: idr("PRICE_5_CODES", 70_000)?,
                ten: idr("PRICE_10_CODES", 130_000)?,
                twenty_five: idr("PRICE_25_CODES", 300_000)?,
                fifty: idr("PRICE_50_CODES", 550_000)?,
            },
            topup_min,
            topup_max,
            low_stock_threshold: s.parse_or::<u64>("LOW_STOCK_THRESHOLD", 10)?,
            reveal_window_days: s.parse_or::<u32>("REVEAL_WINDOW_DAYS", 30)?,
            reveals_per_hour: s.parse_or::<u32>("REVEALS_PER_HOUR", 10)?,
            stock_admin_user_ids: s.list_or::<DiscordUserId>("STOCK_ADMIN_USER_IDS", Vec::new())?,
            max_codes_per_order,
            max_orders_per_user_per_day: s.parse_or::<u32>("MAX_ORDERS_PER_USER_PER_DAY", 10)?,
            order_cooldown_seconds: s.parse_or::<u64>("ORDER_COOLDOWN_SECONDS", 60)?,
            delivery_retry_attempts: s.parse_or::<u32>("DELIVERY_RETRY_ATTEMPTS", 3)?,
            features: Features {
                auto_delivery_enabled: s.bool_or("AUTO_DELIVERY_ENABLED", true)?,
                manual_approval_required: s.bool_or("MANUAL_APPROVAL_REQUIRED", false)?,
                enable_refund: s.bool_or("ENABLE_REFUND", true)?,
                stock_alert_enabled: s.bool_or("STOCK_ALERT_ENABLED", true)?,
                notify_admin_on_order: s.bool_or("NOTIFY_ADMIN_ON_ORDER", false)?,
                notify_user_on_delivery: s.bool_or("NOTIFY_USER_ON_DELIVERY", true)?,
            },
            sweeper_interval_secs: s.parse_or::<u64>("SWEEPER_INTERVAL_SECS", 60)?,
            outbox_poll_interval_ms: s.parse_or::<u64>("OUTBOX_POLL_INTERVAL_MS", 200)?,
            log_level: s.string_or("LOG_LEVEL", "info"),
            log_format,
        })
    }

    /// Settings of the earlier version that are set but no longer used.
    pub fn ignored_legacy_settings(s: &Settings) -> Vec<&'static str> {
        s.present(LEGACY_SETTINGS)
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// Reads `DISCORD_GUILD_ID`: required, one id or a comma list of at most [`MAX_SHOP_GUILDS`].
fn shop_guild_ids(s: &Settings) -> Result<Vec<DiscordGuildId>, SettingError> {
    const NAME: &str = "DISCORD_GUILD_ID";
    let ids = s.list_or::<DiscordGuildId>(NAME, Vec::new())?;
    if ids.is_empty() {
        return Err(SettingError::Missing(NAME.to_string()));
    }
    if ids.len() > MAX_SHOP_GUILDS {
        return Err(SettingError::invalid(
            NAME,
            format!("at most {MAX_SHOP_GUILDS} guilds (the shop's own servers)"),
        ));
    }
    Ok(ids)
}

/// A short list: the shop's own servers, never "every server the bot is in".
pub const MAX_SHOP_GUILDS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM_SECRET: &str = "3f9d1c7a5b2e8f6041d9c3b7a5e2f8d1-unit-test";

    pub(crate) fn base() -> Settings {
        Settings::from_pairs([
            (
                "ENCRYPTION_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("MIDTRANS_SERVER_KEY", "SB-Mid-server-TEST"),
            ("ADMIN_CLAIM_SECRET", CLAIM_SECRET),
            ("DISCORD_GUILD_ID", "100000000000000100"),
        ])
    }

    #[test]
    fn the_shop_guild_is_required_and_may_be_a_short_list() {
        let mut s = base();
        s.set("DISCORD_GUILD_ID", "");
        assert_eq!(
            PaymentConfig::from_settings(&s).unwrap_err().to_string(),
            "required setting DISCORD_GUILD_ID is not set"
        );
        let mut s = base();
        s.set("DISCORD_GUILD_ID", "100000000000000100, 100000000000000101");
        let c = PaymentConfig::from_settings(&s).unwrap();
        assert_eq!(
            c.shop_guild_ids,
            vec![
                DiscordGuildId::new(100000000000000100).unwrap(),
                DiscordGuildId::new(100000000000000101).unwrap()
            ]
        );
        for bad in ["abc", "0", "1,x"] {
            let mut s = base();
            s.set("DISCORD_GUILD_ID", bad);
            assert!(PaymentConfig::from_settings(&s)
                .unwrap_err()
                .to_string()
                .contains("DISCORD_GUILD_ID"));
        }
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = PaymentConfig::from_settings(&base()).unwrap();
        assert_eq!(c.webhook_port, 8001);
        assert_eq!(c.internal_http_host, "127.0.0.1");
        assert_eq!(c.internal_http_port, 8003);
        assert_eq!(c.prices.price_of(PackageSize::Five), Idr::new(70_000));
        assert_eq!(c.prices.price_of(PackageSize::Fifty), Idr::new(550_000));
        assert_eq!(c.topup_min, Idr::new(10_000));
        assert_eq!(c.midtrans.api_base_url, "https://api.sandbox.midtrans.com");
        assert!(c.midtrans.verify_status);
        assert_eq!(c.database_url(), "sqlite://redfinger.db?mode=rwc");
        assert_eq!(c.max_orders_per_user_per_day, 10);
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for bad in [
            "your-32-byte-encryption-key-here",
            "c2hvcnQ=",
            "not base64 at all!!",
        ] {
            let mut s = base();
            s.set("ENCRYPTION_KEY", bad);
            let err = PaymentConfig::from_settings(&s).unwrap_err().to_string();
            assert!(err.contains("ENCRYPTION_KEY"), "{err}");
            assert!(!err.contains(bad), "error echoes the key: {err}");
        }
        let mut s = base();
        s.set("ENCRYPTION_KEY", "");
        assert_eq!(
            PaymentConfig::from_settings(&s).unwrap_err().to_string(),
            "required setting ENCRYPTION_KEY is not set"
        );
    }

    #[test]
    fn missing_server_key_and_bad_prices_are_named() {
        let mut s = base();
        s.set("MIDTRANS_SERVER_KEY", "");
        assert!(PaymentConfig::from_settings(&s)
            .unwrap_err()
            .to_string()
            .contains("MIDTRANS_SERVER_KEY"));
        let mut s = base();
        s.set("PRICE_5_CODES", "-1");
        assert!(PaymentConfig::from_settings(&s)
            .unwrap_err()
            .to_string()
            .contains("PRICE_5_CODES"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = PaymentConfig::from_settings(&base()).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SB-Mid-server-TEST"));
        assert!(!shown.contains(CLAIM_SECRET));
        assert!(!shown.contains("MDEyMzQ1"));
    }

    #[test]
    fn example_or_short_claim_secrets_are_refused_without_echoing_them() {
        for bad in [
            "change-me-too",
            "claim-secret",
            "0123456789abcdef0123456789abcde",
            "replace-with-a-long-random-value-of-32-bytes-or-more",
        ] {
            let mut s = base();
            s.set("ADMIN_CLAIM_SECRET", bad);
            let err = PaymentConfig::from_settings(&s).unwrap_err().to_string();
            assert!(err.contains("ADMIN_CLAIM_SECRET"), "{err}");
            assert!(!err.contains(bad), "error echoes the secret: {err}");
        }
        let mut s = base();
        s.set("ADMIN_CLAIM_SECRET", "");
        assert_eq!(
            PaymentConfig::from_settings(&s).unwrap_err().to_string(),
            "required setting ADMIN_CLAIM_SECRET is not set"
        );
    }

    #[test]
    fn a_midtrans_key_of_the_other_mode_is_refused() {
        let mut s = base();
        s.set("MIDTRANS_IS_PRODUCTION", "true");
        let err = PaymentConfig::from_settings(&s).unwrap_err().to_string();
        assert!(err.contains("MIDTRANS_SERVER_KEY"), "{err}");
        assert!(err.contains("sandbox key"), "{err}");
        assert!(!err.contains("SB-Mid-server-TEST"), "{err}");

        let mut s = base();
        s.set("MIDTRANS_SERVER_KEY", "Mid-server-LIVEKEY");
        let err = PaymentConfig::from_settings(&s).unwrap_err().to_string();
        assert!(err.contains("production key"), "{err}");
        assert!(!err.contains("LIVEKEY"), "{err}");

        let mut s = base();
        s.set("MIDTRANS_CLIENT_KEY", "Mid-client-LIVE");
        assert!(PaymentConfig::from_settings(&s)
            .unwrap_err()
            .to_string()
            .contains("MIDTRANS_CLIENT_KEY"));

        // The matching pairs start.
        let mut s = base();
        s.set("MIDTRANS_IS_PRODUCTION", "true");
        s.set("MIDTRANS_SERVER_KEY", "Mid-server-LIVEKEY");
        let c = PaymentConfig::from_settings(&s).unwrap();
        assert!(c.midtrans.is_production);
        assert!(
            !PaymentConfig::from_settings(&base())
                .unwrap()
                .midtrans
                .is_production
        );
    }

    #[test]
    fn networks_match_addresses() {
        let net: IpNet = "103.208.23.0/24".parse().unwrap();
        assert!(net.contains("103.208.23.77".parse().unwrap()));
        assert!(!net.contains("103.208.24.1".parse().unwrap()));
        let one: IpNet = "103.58.103.177".parse().unwrap();
        assert!(one.contains("103.58.103.177".parse().unwrap()));
        assert!("1.2.3.4/40".parse::<IpNet>().is_err());
        assert!("not-an-ip".parse::<IpNet>().is_err());
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("103.208.23.77".parse().unwrap()));
        // Host bits in the network part are ignored, as everywhere CIDR is written.
        let loose: IpNet = "103.208.23.9/24".parse().unwrap();
        assert!(loose.contains("103.208.23.200".parse().unwrap()));
    }
}
