//! Layered key/value settings with typed getters whose errors name the variable.

use std::collections::HashMap;
use std::str::FromStr;

use secrecy::SecretString;

/// A setting that is missing or cannot be used. The message names the variable and never
/// repeats a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("required setting {0} is not set")]
    Missing(String),
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    #[error("could not read settings: {0}")]
    Source(String),
}

impl SettingError {
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        SettingError::Invalid {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}

/// The merged settings. Keys are upper-case environment names (`PRICE_1_CODE`).
#[derive(Clone, Default)]
pub struct Settings {
    values: HashMap<String, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: show only which keys are present.
        let mut keys: Vec<_> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Settings").field("keys", &keys).finish()
    }
}

impl Settings {
    /// Reads `.env` (if present), the optional TOML file named by `file_var`, and the environment.
    pub fn load(file_var: &str) -> Result<Self, SettingError> {
        // A missing .env is normal; a malformed one is worth stopping for.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(SettingError::Source(format!(".env: {e}"))),
        }
        let mut builder = config::Config::builder();
        if let Ok(path) = std::env::var(file_var) {
            builder = builder.add_source(config::File::with_name(&path).required(true));
        }
        let layered = builder
            .build()
            .map_err(|e| SettingError::Source(e.to_string()))?;
        let mut values = HashMap::new();
        if let Ok(table) = layered.try_deserialize::<HashMap<String, config::Value>>() {
            for (k, v) in table {
                if let Ok(s) = v.into_string() {
                    values.insert(k.to_ascii_uppercase(), s);
                }
            }
        }
        for (k, v) in std::env::vars() {
            values.insert(k.to_ascii_uppercase(), v);
        }
        Ok(Settings { values })
    }

    /// Settings from an explicit map only (tests, embedding).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Settings {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into().to_ascii_uppercase(), v.into()))
                .collect(),
        }
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_ascii_uppercase(), value.into());
    }

    /// The raw value; empty strings count as unset (an `.env` line `KEY=` means "not set").
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    pub fn string_or(&self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or(default).to_string()
    }

    pub fn optional_string(&self, key: &str) -> Option<String> {
        self.raw(key).map(str::to_string)
    }

    pub fn required_string(&self, key: &str) -> Result<String, SettingError> {
        self.raw(key)
            .map(str::to_string)
            .ok_or_else(|| SettingError::Missing(key.to_string()))
    }

    pub fn required_secret(&self, key: &str) -> Result<SecretString, SettingError> {
        self.required_string(key).map(SecretString::from)
    }

    pub fn optional_secret(&self, key: &str) -> Option<SecretString> {
        self.optional_string(key).map(SecretString::from)
    }

    /// A parsed value, or the default when unset. The error names the key and the bad text
    /// (never call this for secrets).
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, SettingError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<T>()
                .map_err(|e| SettingError::invalid(key, format!("{text:?}: {e}"))),
        }
    }

    pub fn parse_optional<T: FromStr>(&self, key: &str) -> Result<Option<T>, SettingError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(None),
            Some(text) => text
                .parse::<T>()
                .map(Some)
                .map_err(|e| SettingError::invalid(key, format!("{text:?}: {e}"))),
        }
    }

    /// `true/false/1/0/yes/no/on/off`, any case, as the earlier version accepted.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, SettingError> {
        match self.raw(key) {
            None => Ok(default),
            Some(text) => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(SettingError::invalid(
                    key,
                    format!("{text:?} is not true/false"),
                )),
            },
        }
    }

    /// A comma-separated list; blanks skipped.
    pub fn list_or<T: FromStr>(&self, key: &str, default: Vec<T>) -> Result<Vec<T>, SettingError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<T>()
                        .map_err(|e| SettingError::invalid(key, format!("{s:?}: {e}")))
                })
                .collect(),
        }
    }

    /// Names of the given keys that are set: used to warn once about settings of the earlier
    /// version that no longer apply.
    pub fn present<'a>(&self, keys: &[&'a str]) -> Vec<&'a str> {
        keys.iter()
            .copied()
            .filter(|k| self.raw(k).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_name_the_setting() {
        let s = Settings::from_pairs([
            ("PRICE_1_CODE", "15000"),
            ("BAD", "abc"),
            ("FLAG", "Yes"),
            ("LIST", "1, 2,,3"),
            ("EMPTY", ""),
        ]);
        assert_eq!(s.parse_or::<i64>("PRICE_1_CODE", 0).unwrap(), 15000);
        assert_eq!(s.parse_or::<i64>("UNSET", 7).unwrap(), 7);
        let err = s.parse_or::<i64>("BAD", 0).unwrap_err().to_string();
        assert!(err.contains("BAD"), "{err}");
        assert!(s.bool_or("FLAG", false).unwrap());
        assert!(s.bool_or("BAD", false).is_err());
        assert_eq!(s.list_or::<u32>("LIST", vec![]).unwrap(), vec![1, 2, 3]);
        assert_eq!(
            s.required_string("EMPTY").unwrap_err().to_string(),
            "required setting EMPTY is not set"
        );
        assert_eq!(s.present(&["FLAG", "NOPE"]), vec!["FLAG"]);
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let s = Settings::from_pairs([("DISCORD_TOKEN", "super-secret-token")]);
        let shown = format!("{s:?}");
        assert!(shown.contains("DISCORD_TOKEN"));
        assert!(!shown.contains("super-secret-token"));
    }
}
