//! Typed identifiers and the package catalogue, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Discord user id (snowflake). On the wire it is a JSON string, as Discord writes snowflakes,
/// so no JavaScript consumer loses precision; in the database it is a BIGINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscordUserId(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Discord id")]
pub struct InvalidDiscordId(pub String);

impl DiscordUserId {
    /// Snowflakes are positive and fit in an `i64` (the database column), which this enforces.
    pub fn new(id: u64) -> Result<Self, InvalidDiscordId> {
        if id == 0 || id > i64::MAX as u64 {
            return Err(InvalidDiscordId(id.to_string()));
        }
        Ok(Self(id))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The value stored in `users.user_id`.
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    pub fn from_i64(id: i64) -> Result<Self, InvalidDiscordId> {
        u64::try_from(id)
            .map_err(|_| InvalidDiscordId(id.to_string()))
            .and_then(Self::new)
    }
}

impl FromStr for DiscordUserId {
    type Err = InvalidDiscordId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u64>()
            .map_err(|_| InvalidDiscordId(s.to_string()))
            .and_then(Self::new)
    }
}

impl fmt::Display for DiscordUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for DiscordUserId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DiscordUserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Number(n) => DiscordUserId::new(n).map_err(serde::de::Error::custom),
        }
    }
}

/// A Discord guild (server) id. Same wire form as [`DiscordUserId`] (a JSON string); a separate
/// type so a user id can never be compared with a guild id by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscordGuildId(u64);

impl DiscordGuildId {
    /// Positive and within `i64`, as for user ids.
    pub fn new(id: u64) -> Result<Self, InvalidDiscordId> {
        DiscordUserId::new(id).map(|u| Self(u.get()))
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for DiscordGuildId {
    type Err = InvalidDiscordId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<DiscordUserId>().map(|u| Self(u.get()))
    }
}

impl fmt::Display for DiscordGuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for DiscordGuildId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DiscordGuildId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DiscordUserId::deserialize(d).map(|u| Self(u.get()))
    }
}

/// The packages on sale: a fixed number of codes each. Serialized as the number of codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum PackageSize {
    One,
    Five,
    Ten,
    TwentyFive,
    Fifty,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no package of {0} codes (packages: 1, 5, 10, 25, 50)")]
pub struct UnknownPackage(pub u32);

impl PackageSize {
    pub const ALL: [PackageSize; 5] = [
        PackageSize::One,
        PackageSize::Five,
        PackageSize::Ten,
        PackageSize::TwentyFive,
        PackageSize::Fifty,
    ];

    pub fn codes(self) -> u32 {
        match self {
            PackageSize::One => 1,
            PackageSize::Five => 5,
            PackageSize::Ten => 10,
            PackageSize::TwentyFive => 25,
            PackageSize::Fifty => 50,
        }
    }
}

impl TryFrom<u32> for PackageSize {
    type Error = UnknownPackage;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        match n {
            1 => Ok(PackageSize::One),
            5 => Ok(PackageSize::Five),
            10 => Ok(PackageSize::Ten),
            25 => Ok(PackageSize::TwentyFive),
            50 => Ok(PackageSize::Fifty),
            other => Err(UnknownPackage(other)),
        }
    }
}

impl From<PackageSize> for u32 {
    fn from(p: PackageSize) -> u32 {
        p.codes()
    }
}

impl fmt::Display for PackageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.codes() {
            1 => write!(f, "1 code"),
            n => write!(f, "{n} codes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_parse_and_travel_as_strings() {
        let id: DiscordUserId = "123456789012345678".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"123456789012345678\""
        );
        let back: DiscordUserId = serde_json::from_str("\"123456789012345678\"").unwrap();
        assert_eq!(back, id);
        let from_number: DiscordUserId = serde_json::from_str("42").unwrap();
        assert_eq!(from_number.get(), 42);
        assert!("0".parse::<DiscordUserId>().is_err());
        assert!("-5".parse::<DiscordUserId>().is_err());
        assert!("abc".parse::<DiscordUserId>().is_err());
        assert!(DiscordUserId::new(u64::MAX).is_err());
        assert!(serde_json::from_str::<DiscordUserId>("\"x\"").is_err());
    }

    #[test]
    fn only_catalogue_packages_exist() {
        for p in PackageSize::ALL {
            assert_eq!(PackageSize::try_from(p.codes()), Ok(p));
        }
        assert_eq!(PackageSize::try_from(3), Err(UnknownPackage(3)));
        assert!(serde_json::from_str::<PackageSize>("7").is_err());
        assert_eq!(
            serde_json::to_string(&PackageSize::TwentyFive).unwrap(),
            "25"
        );
    }
}

/// A product of the catalogue (`products.id`). Messages of a bot or service built before the
/// catalogue carry none: they mean [`ProductId::DEFAULT`], the product the upgrade made of the
/// one-product shop, which adopted all earlier stock and orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(pub i64);

impl ProductId {
    /// The default product (id 1), created by the catalogue migration.
    pub const DEFAULT: ProductId = ProductId(1);

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn is_default(&self) -> bool {
        *self == Self::DEFAULT
    }
}

impl Default for ProductId {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
