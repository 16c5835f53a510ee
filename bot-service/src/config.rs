//! Settings of the bot-service: defaults < optional file (`BOT_CONFIG_FILE`, TOML, lower-case
//! keys such as `discord_token`) < environment (a `.env` is read by `main` if present).
//!
//! Variable names of the earlier Python bot are kept. Settings that belong to the
//! payment-service or no longer apply are accepted and named once in a start-up warning.
//! A missing or invalid required value is an error naming the variable. Secrets are
//! `SecretString` from the moment they are read and never appear in `Debug` output.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use shared_proto::{DiscordUserId, Idr};

use crate::domain::admin::AdminRole;
use crate::domain::amount::TopupBounds;
use crate::domain::i18n::Lang;

/// Which gateway shards this replica holds.
///
/// Discord sends every event of a shard to every session holding it, so replicas must not hold
/// the same shard twice. Typical set-ups: one replica with `BOT_GATEWAY=true` and the others with
/// `BOT_GATEWAY=false` (they only consume delivery and notification events, and finish
/// interactions through their tokens), or each replica with its own `BOT_SHARD_RANGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayMode {
    /// No gateway session: consumers only.
    Off,
    /// Shards `first..=last` of `total` (`BOT_SHARD_RANGE=first-last`, `BOT_TOTAL_SHARDS=total`).
    /// The default is shard 0 of 1. DMs always reach shard 0.
    Shards { first: u32, last: u32, total: u32 },
}

pub use service_runtime::LogFormat;

#[derive(Debug, Clone)]
pub struct Settings {
    pub discord_token: SecretString,
    /// Base URL of a stand-in for Discord's API (the fake Discord); unset in production.
    pub discord_api_base_url: Option<String>,
    /// The shop's own guild(s) (`DISCORD_GUILD_ID`, required: one id or a short comma list).
    /// Commands are registered there only, and admin commands from anywhere else are refused.
    pub guild_ids: Vec<u64>,
    /// Tests only: reach a TLS stand-in of `discord.com` with serenity's rate limiter on.
    pub discord_test_tls: Option<DiscordTestTls>,
    pub admin_role: AdminRole,
    /// Where private delivery threads are opened when DMs are closed.
    pub public_channel_id: Option<u64>,
    /// Where low-stock and failed-delivery alerts go.
    pub alert_channel_id: Option<u64>,
    /// Where a buyer's report of bad codes opens its private support thread
    /// (`SUPPORT_CHANNEL_ID`); unset (or unusable, see `AppState::support_channel`):
    /// `PUBLIC_CHANNEL_ID`.
    pub support_channel_id: Option<u64>,
    pub stock_admin_user_ids: Vec<DiscordUserId>,
    pub amqp_url: SecretString,
    pub amqp_namespace: String,
    pub topup_bounds: TopupBounds,
    pub topup_presets: Vec<Idr>,
    /// Where the live stock panel is kept (`STOCK_CHANNEL_ID`): one message showing every
    /// active product's stock and prices, edited in place. Kept only by the replica whose
    /// gateway holds shard 0; none when unset.
    pub stock_channel_id: Option<u64>,
    /// How often the stock panel reads the catalogue (`STOCK_PANEL_INTERVAL_SECS`, default 5);
    /// the message is edited only when what it shows changed, so at most once per interval.
    pub stock_panel_interval: Duration,
    /// Where "a buyer bought 5 × VIP 30 days" is posted after an order's first delivery
    /// (`BUYLOG_CHANNEL_ID`): never a code or a buyer's name. None when unset.
    pub buylog_channel_id: Option<u64>,
    pub delivery_retry_attempts: u32,
    /// Requests per second all replicas together may make on the bot token's global limit
    /// (`DISCORD_GLOBAL_RATE`, default 45 of Discord's 50; each replica takes a share).
    pub discord_global_rate: u32,
    pub admin_claim_secret: SecretString,
    /// Address of the `/healthz`, `/readyz`, `/metrics` listener (`BOT_HEALTH_HOST`): loopback
    /// by default, so metrics are not served to whoever can reach the host; compose sets
    /// `0.0.0.0` inside its private network for Prometheus.
    pub health_host: std::net::IpAddr,
    pub health_port: u16,
    pub gateway: GatewayMode,
    /// How long a request to the payment-service may take before the user is told it is unavailable.
    pub request_timeout: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
    /// The language of messages not tied to an interaction when the user's is not known, of
    /// the shop panel and of admin alerts (`DEFAULT_LOCALE`: `id`, the default, or `en`).
    pub default_lang: Lang,
    /// Settings present in the environment that this service does not use (warned once).
    pub ignored_settings: Vec<String>,
}

/// `DISCORD_TEST_ONLY_API_ADDR` + `DISCORD_TEST_ONLY_CA_FILE`: send the REST calls meant for
/// `discord.com` to this address and also trust this CA there. serenity ignores
/// `DISCORD_API_BASE_URL` while its rate limiter is on, so this is how tests run the production
/// REST path (limiter on) against the fake Discord. TLS stays verified; never set in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordTestTls {
    pub api_addr: std::net::SocketAddr,
    pub ca_file: std::path::PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read the configuration: {0}")]
    Source(#[from] config::ConfigError),
}

/// Settings of the earlier Python bot or of the payment-service: accepted, never used here.
const IGNORED: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_TYPE",
    "DB_FILE",
    "LOG_TO_FILE",
    "LOG_FILE",
    "MIDTRANS_SERVER_KEY",
    "MIDTRANS_CLIENT_KEY",
    "MIDTRANS_IS_PRODUCTION",
    "MIDTRANS_API_BASE_URL",
    "MIDTRANS_VERIFY_STATUS",
    "WEBHOOK_PORT",
    "WEBHOOK_URL",
    "WEBHOOK_HOST",
    "ENCRYPTION_KEY",
    "LOW_STOCK_THRESHOLD",
    "MAX_CODES_PER_ORDER",
    "MAX_ORDERS_PER_USER_PER_DAY",
    "ORDER_COOLDOWN_SECONDS",
    "QRIS_EXPIRY_MINUTES",
    "AUTO_DELIVERY_ENABLED",
    "MANUAL_APPROVAL_REQUIRED",
    "ENABLE_REFUND",
    "STOCK_ALERT_ENABLED",
    "NOTIFY_ADMIN_ON_ORDER",
    "NOTIFY_USER_ON_DELIVERY",
    "COMMAND_PREFIX",
    // Prices live in the catalogue now (payment-service seeds the default product from these on
    // its first start with the catalogue; `/admin product price` changes them afterwards).
    "PRICE_1_CODE",
    "PRICE_5_CODES",
    "PRICE_10_CODES",
    "PRICE_25_CODES",
    "PRICE_50_CODES",
];

/// A short list: the shop's own servers, never "every server the bot is in".
pub const MAX_SHOP_GUILDS: usize = 10;

const DEFAULT_PRESETS: &str = "10000,50000,100000,500000,1000000";

impl Settings {
    /// Reads the process environment (and `BOT_CONFIG_FILE` when set).
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_env_map(std::env::vars().collect())
    }

    /// Reads settings from the given variables instead of the process environment (tests).
    pub fn from_env_map(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = vars.get("BOT_CONFIG_FILE").filter(|f| !f.is_empty()) {
            builder = builder.add_source(config::File::with_name(file).required(true));
        }
        let env: config::Map<String, String> =
            vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let cfg = builder
            .add_source(config::Environment::default().source(Some(env)))
            .build()?;
        let raw = Raw { cfg: &cfg };

        let ignored = IGNORED
            .iter()
            .filter(|k| raw.opt(k).is_some())
            .map(|k| k.to_string())
            .collect();

        let admin_role = match raw.opt_u64("ADMIN_ROLE_ID")? {
            Some(id) => AdminRole::Id(id),
            None => AdminRole::Name(raw.opt("ADMIN_ROLE_NAME").unwrap_or_else(|| "Admin".into())),
        };

        let default_lang = match raw.opt("DEFAULT_LOCALE") {
            None => Lang::Id,
            Some(value) => Lang::parse_setting(&value).ok_or_else(|| ConfigError::Invalid {
                name: "DEFAULT_LOCALE",
                reason: format!("{value:?} is not a language of the shop (id or en)"),
            })?,
        };

        let min = Idr::new(raw.i64_or("TOPUP_MIN", 10_000)?);
        let max = Idr::new(raw.i64_or("TOPUP_MAX", 10_000_000)?);
        if !min.is_positive() || max < min {
            return Err(ConfigError::Invalid {
                name: "TOPUP_MAX",
                reason: format!(
                    "TOPUP_MIN ({min}) must be positive and not above TOPUP_MAX ({max})"
                ),
            });
        }
        let presets_text = raw
            .opt("TOPUP_PRESETS")
            .unwrap_or_else(|| DEFAULT_PRESETS.into());
        let mut topup_presets = Vec::new();
        for part in presets_text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let amount: i64 = part.parse().map_err(|_| ConfigError::Invalid {
                name: "TOPUP_PRESETS",
                reason: format!("{part:?} is not a whole number of rupiah"),
            })?;
            let amount = Idr::new(amount);
            if amount < min || amount > max {
                return Err(ConfigError::Invalid {
                    name: "TOPUP_PRESETS",
                    reason: format!("{amount} is outside TOPUP_MIN..TOPUP_MAX ({min}..{max})"),
                });
            }
            topup_presets.push(amount);
        }
        if topup_presets.len() > 9 {
            return Err(ConfigError::Invalid {
                name: "TOPUP_PRESETS",
                reason: "at most 9 presets fit on the picker".into(),
            });
        }

        let panel_secs = raw.i64_or("STOCK_PANEL_INTERVAL_SECS", 5)?;
        let stock_panel_interval = u64::try_from(panel_secs)
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .map(Duration::from_secs)
            .ok_or(ConfigError::Invalid {
                name: "STOCK_PANEL_INTERVAL_SECS",
                reason: format!("{panel_secs} is not from 1 to 3600 seconds"),
            })?;

        let mut stock_admin_user_ids = Vec::new();
        if let Some(list) = raw.opt("STOCK_ADMIN_USER_IDS") {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                stock_admin_user_ids.push(part.parse().map_err(|_| ConfigError::Invalid {
                    name: "STOCK_ADMIN_USER_IDS",
                    reason: format!("{part:?} is not a Discord user id"),
                })?);
            }
        }

        let discord_global_rate = u32::try_from(raw.i64_or(
            "DISCORD_GLOBAL_RATE",
            i64::from(crate::discord::budget::DEFAULT_GLOBAL_RATE),
        )?)
        .ok()
        .filter(|r| (1..=50).contains(r))
        .ok_or(ConfigError::Invalid {
            name: "DISCORD_GLOBAL_RATE",
            reason: "must be 1..=50 (Discord allows 50 requests/s per bot token)".into(),
        })?;

        let gateway = if !raw.bool_or("BOT_GATEWAY", true)? {
            GatewayMode::Off
        } else {
            let total = raw.i64_or("BOT_TOTAL_SHARDS", 1)?;
            let total =
                u32::try_from(total)
                    .ok()
                    .filter(|t| *t >= 1)
                    .ok_or(ConfigError::Invalid {
                        name: "BOT_TOTAL_SHARDS",
                        reason: "must be at least 1".into(),
                    })?;
            let (first, last) = match raw.opt("BOT_SHARD_RANGE") {
                None => (0, total - 1),
                Some(text) => parse_range(&text).ok_or(ConfigError::Invalid {
                    name: "BOT_SHARD_RANGE",
                    reason: format!("{text:?} is not like 0-3"),
                })?,
            };
            if first > last || last >= total {
                return Err(ConfigError::Invalid {
                    name: "BOT_SHARD_RANGE",
                    reason: format!(
                        "shards {first}-{last} are not within 0..{total} (BOT_TOTAL_SHARDS)"
                    ),
                });
            }
            GatewayMode::Shards { first, last, total }
        };

        let log_format = match raw
            .opt("LOG_FORMAT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "LOG_FORMAT",
                    reason: format!("{other:?} is not pretty or json"),
                })
            }
        };

        let discord_api_base_url = raw
            .opt("DISCORD_API_BASE_URL")
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &discord_api_base_url {
            url::Url::parse(u).map_err(|e| ConfigError::Invalid {
                name: "DISCORD_API_BASE_URL",
                reason: e.to_string(),
            })?;
        }

        let health_host = match raw.opt("BOT_HEALTH_HOST") {
            None => std::net::IpAddr::from([127, 0, 0, 1]),
            Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                name: "BOT_HEALTH_HOST",
                reason: format!("{text:?} is not an IP address"),
            })?,
        };
        let admin_claim_secret = raw.required("ADMIN_CLAIM_SECRET")?;
        if let Some(reason) = service_runtime::secrets::weak_secret_reason(&admin_claim_secret) {
            return Err(ConfigError::Invalid {
                name: "ADMIN_CLAIM_SECRET",
                reason,
            });
        }
        let discord_test_tls = match (
            raw.opt("DISCORD_TEST_ONLY_API_ADDR"),
            raw.opt("DISCORD_TEST_ONLY_CA_FILE"),
        ) {
            (None, None) => None,
            (Some(addr), Some(ca_file)) => {
                if discord_api_base_url.is_some() {
                    return Err(ConfigError::Invalid {
                        name: "DISCORD_TEST_ONLY_API_ADDR",
                        reason: "set DISCORD_API_BASE_URL or DISCORD_TEST_ONLY_API_ADDR, not both"
                            .into(),
                    });
                }
                let api_addr = addr.parse().map_err(|_| ConfigError::Invalid {
                    name: "DISCORD_TEST_ONLY_API_ADDR",
                    reason: format!("{addr:?} is not like 127.0.0.1:8443"),
                })?;
                Some(DiscordTestTls {
                    api_addr,
                    ca_file: ca_file.into(),
                })
            }
            (Some(_), None) => return Err(ConfigError::Missing("DISCORD_TEST_ONLY_CA_FILE")),
            (None, Some(_)) => return Err(ConfigError::Missing("DISCORD_TEST_ONLY_API_ADDR")),
        };

        let health_port = u16::try_from(raw.i64_or("BOT_HEALTH_PORT", 8002)?).map_err(|_| {
            ConfigError::Invalid {
                name: "BOT_HEALTH_PORT",
                reason: "not a port number".into(),
            }
        })?;
        let attempts = u32::try_from(raw.i64_or("DELIVERY_RETRY_ATTEMPTS", 3)?)
            .ok()
            .filter(|a| (1..=20).contains(a))
            .ok_or(ConfigError::Invalid {
                name: "DELIVERY_RETRY_ATTEMPTS",
                reason: "must be between 1 and 20".into(),
            })?;
        let timeout_secs = u64::try_from(raw.i64_or("BOT_REQUEST_TIMEOUT_SECS", 10)?)
            .ok()
            .filter(|t| *t >= 1)
            .ok_or(ConfigError::Invalid {
                name: "BOT_REQUEST_TIMEOUT_SECS",
                reason: "must be at least 1".into(),
            })?;

        Ok(Settings {
            discord_token: SecretString::from(raw.required("DISCORD_TOKEN")?),
            discord_api_base_url,
            guild_ids: raw.guild_ids()?,
            discord_test_tls,
            admin_role,
            public_channel_id: raw.opt_u64("PUBLIC_CHANNEL_ID")?,
            alert_channel_id: raw.opt_u64("ALERT_CHANNEL_ID")?,
            support_channel_id: raw.opt_u64("SUPPORT_CHANNEL_ID")?,
            stock_admin_user_ids,
            amqp_url: SecretString::from(
                raw.opt("AMQP_URL")
                    .unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
            ),
            amqp_namespace: raw
                .opt("AMQP_NAMESPACE")
                .unwrap_or_else(|| "redfinger".into()),
            topup_bounds: TopupBounds { min, max },
            topup_presets,
            default_lang,
            stock_channel_id: raw.opt_u64("STOCK_CHANNEL_ID")?,
            stock_panel_interval,
            buylog_channel_id: raw.opt_u64("BUYLOG_CHANNEL_ID")?,
            delivery_retry_attempts: attempts,
            discord_global_rate,
            admin_claim_secret: SecretString::from(admin_claim_secret),
            health_host,
            health_port,
            gateway,
            request_timeout: Duration::from_secs(timeout_secs),
            log_level: raw.opt("LOG_LEVEL").unwrap_or_else(|| "info".into()),
            log_format,
            ignored_settings: ignored,
        })
    }
}

fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.trim().split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Reads named values, treating empty strings as unset (an `.env` line `KEY=` means "not set").
struct Raw<'a> {
    cfg: &'a config::Config,
}

impl Raw<'_> {
    fn opt(&self, name: &str) -> Option<String> {
        self.cfg
            .get_string(&name.to_ascii_lowercase())
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.opt(name).ok_or(ConfigError::Missing(name))
    }

    fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, ConfigError> {
        self.opt(name)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: format!("{v:?} is not a Discord id"),
                    })
            })
            .transpose()
    }

    /// `DISCORD_GUILD_ID`: required, one Discord id or a comma list of at most
    /// [`MAX_SHOP_GUILDS`], without repeats.
    fn guild_ids(&self) -> Result<Vec<u64>, ConfigError> {
        const NAME: &str = "DISCORD_GUILD_ID";
        let text = self.required(NAME)?;
        let mut ids = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = part
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0 && *n <= i64::MAX as u64)
                .ok_or(ConfigError::Invalid {
                    name: NAME,
                    reason: format!("{part:?} is not a Discord id"),
                })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(ConfigError::Missing(NAME));
        }
        if ids.len() > MAX_SHOP_GUILDS {
            return Err(ConfigError::Invalid {
                name: NAME,
                reason: format!("at most {MAX_SHOP_GUILDS} guilds (the shop's own servers)"),
            });
        }
        Ok(ids)
    }

    fn i64_or(&self, name: &'static str, default: i64) -> Result<i64, ConfigError> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{v:?} is not a whole number"),
            }),
        }
    }

    fn bool_or(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.opt(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!("{v:?} is not true or false"),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const CLAIM_SECRET: &str = "3f9d1c7a5b2e8f6041d9c3b7a5e2f8d1-unit-test";

    fn base() -> HashMap<String, String> {
        HashMap::from([
            ("DISCORD_TOKEN".to_string(), "tok.en.secret".to_string()),
            ("ADMIN_CLAIM_SECRET".to_string(), CLAIM_SECRET.to_string()),
            (
                "DISCORD_GUILD_ID".to_string(),
                "100000000000000100".to_string(),
            ),
        ])
    }

    #[test]
    fn defaults_apply_and_secrets_stay_out_of_debug() {
        let s = Settings::from_env_map(base()).unwrap();
        assert_eq!(s.amqp_namespace, "redfinger");
        assert_eq!(s.health_port, 8002);
        assert_eq!(s.health_host.to_string(), "127.0.0.1");
        assert_eq!(s.admin_role, AdminRole::Name("Admin".into()));
        assert_eq!(s.topup_presets.len(), 5);
        assert_eq!(
            s.gateway,
            GatewayMode::Shards {
                first: 0,
                last: 0,
                total: 1
            }
        );
        assert_eq!(s.discord_token.expose_secret(), "tok.en.secret");
        let debug = format!("{s:?}");
        assert!(!debug.contains("tok.en.secret"));
        assert!(!debug.contains(CLAIM_SECRET));
        assert!(!debug.contains("guest:guest"));
    }

    #[test]
    fn missing_or_invalid_required_values_are_named() {
        let mut v = base();
        v.remove("DISCORD_TOKEN");
        let e = Settings::from_env_map(v).unwrap_err().to_string();
        assert!(e.contains("DISCORD_TOKEN"), "{e}");
        let mut v = base();
        v.insert("ADMIN_CLAIM_SECRET".into(), "  ".into());
        assert!(Settings::from_env_map(v)
            .unwrap_err()
            .to_string()
            .contains("ADMIN_CLAIM_SECRET"));
        for (k, val) in [
            ("DISCORD_GUILD_ID", "abc"),
            ("TOPUP_PRESETS", "10000,x"),
            ("TOPUP_PRESETS", "5"),
            ("BOT_SHARD_RANGE", "3-1"),
            ("BOT_GATEWAY", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("DELIVERY_RETRY_ATTEMPTS", "0"),
            ("DEFAULT_LOCALE", "fr"),
        ] {
            let mut v = base();
            v.insert(k.into(), val.into());
            let e = Settings::from_env_map(v).unwrap_err().to_string();
            assert!(e.contains(k), "{k}={val}: {e}");
        }
    }

    #[test]
    fn the_default_language_is_indonesian_unless_set() {
        assert_eq!(
            Settings::from_env_map(base()).unwrap().default_lang,
            Lang::Id
        );
        let mut v = base();
        v.insert("DEFAULT_LOCALE".into(), "en".into());
        assert_eq!(Settings::from_env_map(v).unwrap().default_lang, Lang::En);
    }

    #[test]
    fn example_or_short_claim_secrets_are_refused_without_echoing_them() {
        for bad in [
            "change-me-too",
            "claim-secret",
            "0123456789abcdef0123456789abcde",
            "replace-with-a-long-random-value-of-32-bytes-or-more",
        ] {
            let mut v = base();
            v.insert("ADMIN_CLAIM_SECRET".into(), bad.into());
            let e = Settings::from_env_map(v).unwrap_err().to_string();
            assert!(e.contains("ADMIN_CLAIM_SECRET"), "{bad}: {e}");
            assert!(!e.contains(bad), "the error echoes the secret: {e}");
        }
    }

    #[test]
    fn the_shop_guild_is_required_and_may_be_a_short_list() {
        let mut v = base();
        v.remove("DISCORD_GUILD_ID");
        assert_eq!(
            Settings::from_env_map(v).unwrap_err().to_string(),
            "DISCORD_GUILD_ID is required but not set"
        );
        let mut v = base();
        v.insert("DISCORD_GUILD_ID".into(), " , ".into());
        assert!(Settings::from_env_map(v)
            .unwrap_err()
            .to_string()
            .contains("DISCORD_GUILD_ID"));
        let mut v = base();
        v.insert("DISCORD_GUILD_ID".into(), "11, 22,11".into());
        assert_eq!(Settings::from_env_map(v).unwrap().guild_ids, vec![11, 22]);
        for bad in ["0", "11,x", "-5"] {
            let mut v = base();
            v.insert("DISCORD_GUILD_ID".into(), bad.into());
            assert!(Settings::from_env_map(v)
                .unwrap_err()
                .to_string()
                .contains("DISCORD_GUILD_ID"));
        }
    }

    #[test]
    fn role_id_wins_and_gateway_modes_parse() {
        let mut v = base();
        v.insert("ADMIN_ROLE_ID".into(), "123".into());
        v.insert("ADMIN_ROLE_NAME".into(), "Boss".into());
        v.insert("BOT_GATEWAY".into(), "false".into());
        let s = Settings::from_env_map(v).unwrap();
        assert_eq!(s.admin_role, AdminRole::Id(123));
        assert_eq!(s.gateway, GatewayMode::Off);
        let mut v = base();
        v.insert("BOT_SHARD_RANGE".into(), "2-3".into());
        v.insert("BOT_TOTAL_SHARDS".into(), "4".into());
        let s = Settings::from_env_map(v).unwrap();
        assert_eq!(
            s.gateway,
            GatewayMode::Shards {
                first: 2,
                last: 3,
                total: 4
            }
        );
    }

    #[test]
    fn the_support_channel_is_optional_and_must_be_an_id() {
        let mut v = base();
        assert_eq!(
            Settings::from_env_map(v.clone())
                .unwrap()
                .support_channel_id,
            None
        );
        v.insert("SUPPORT_CHANNEL_ID".into(), "400".into());
        assert_eq!(
            Settings::from_env_map(v.clone())
                .unwrap()
                .support_channel_id,
            Some(400)
        );
        v.insert("SUPPORT_CHANNEL_ID".into(), "general".into());
        assert!(Settings::from_env_map(v)
            .unwrap_err()
            .to_string()
            .contains("SUPPORT_CHANNEL_ID"));
    }

    #[test]
    fn legacy_settings_are_accepted_and_listed() {
        let mut v = base();
        v.insert("DATABASE_TYPE".into(), "sqlite".into());
        v.insert("LOG_TO_FILE".into(), "true".into());
        v.insert("ORDER_COOLDOWN_SECONDS".into(), "60".into());
        let s = Settings::from_env_map(v).unwrap();
        assert!(s.ignored_settings.contains(&"DATABASE_TYPE".to_string()));
        assert!(s.ignored_settings.contains(&"LOG_TO_FILE".to_string()));
    }

    #[test]
    fn prices_are_the_catalogues_and_the_panel_and_buy_log_are_optional() {
        let mut v = base();
        v.insert("PRICE_5_CODES".into(), "70000".into());
        let s = Settings::from_env_map(v).unwrap();
        assert!(s.ignored_settings.contains(&"PRICE_5_CODES".to_string()));
        assert_eq!(s.stock_channel_id, None);
        assert_eq!(s.buylog_channel_id, None);
        assert_eq!(s.stock_panel_interval, Duration::from_secs(5));
        let mut v = base();
        v.insert("STOCK_CHANNEL_ID".into(), "100000000000000200".into());
        v.insert("BUYLOG_CHANNEL_ID".into(), "100000000000000201".into());
        v.insert("STOCK_PANEL_INTERVAL_SECS".into(), "30".into());
        let s = Settings::from_env_map(v).unwrap();
        assert_eq!(s.stock_channel_id, Some(100000000000000200));
        assert_eq!(s.buylog_channel_id, Some(100000000000000201));
        assert_eq!(s.stock_panel_interval, Duration::from_secs(30));
        for bad in ["0", "-1", "soon"] {
            let mut v = base();
            v.insert("STOCK_PANEL_INTERVAL_SECS".into(), bad.into());
            let e = Settings::from_env_map(v).unwrap_err().to_string();
            assert!(e.contains("STOCK_PANEL_INTERVAL_SECS"), "{e}");
        }
        let mut v = base();
        v.insert("STOCK_CHANNEL_ID".into(), "general".into());
        let e = Settings::from_env_map(v).unwrap_err().to_string();
        assert!(e.contains("STOCK_CHANNEL_ID"), "{e}");
    }
    #[test]
    fn the_test_only_tls_endpoint_needs_both_settings_and_excludes_the_proxy_url() {
        assert_eq!(
            Settings::from_env_map(base()).unwrap().discord_test_tls,
            None,
            "unset in production"
        );
        let mut vars = base();
        vars.insert("DISCORD_TEST_ONLY_API_ADDR".into(), "127.0.0.1:8443".into());
        assert!(matches!(
            Settings::from_env_map(vars.clone()),
            Err(ConfigError::Missing("DISCORD_TEST_ONLY_CA_FILE"))
        ));
        vars.insert("DISCORD_TEST_ONLY_CA_FILE".into(), "/tmp/ca.pem".into());
        let s = Settings::from_env_map(vars.clone()).unwrap();
        assert_eq!(
            s.discord_test_tls,
            Some(DiscordTestTls {
                api_addr: "127.0.0.1:8443".parse().unwrap(),
                ca_file: "/tmp/ca.pem".into(),
            })
        );
        vars.insert("DISCORD_API_BASE_URL".into(), "http://127.0.0.1:1".into());
        assert!(Settings::from_env_map(vars.clone()).is_err());
        vars.remove("DISCORD_API_BASE_URL");
        vars.insert("DISCORD_TEST_ONLY_API_ADDR".into(), "discord.com".into());
        assert!(Settings::from_env_map(vars).is_err());
    }
}
