//! Money on the wire: whole Indonesian rupiah as an `i64`. There are no fractional rupiah in this
//! product and floats never carry money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of Indonesian rupiah. Serialized as a plain JSON integer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Idr(i64);

/// Why a text could not be read as rupiah.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdrParseError {
    #[error("amount is empty")]
    Empty,
    #[error("amount {0:?} is not a whole number of rupiah")]
    NotWhole(String),
    #[error("amount {0:?} is not a number")]
    NotANumber(String),
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

impl Idr {
    pub const ZERO: Idr = Idr(0);

    pub const fn new(rupiah: i64) -> Self {
        Idr(rupiah)
    }

    pub const fn rupiah(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Idr) -> Option<Idr> {
        self.0.checked_add(other.0).map(Idr)
    }

    pub fn checked_sub(self, other: Idr) -> Option<Idr> {
        self.0.checked_sub(other.0).map(Idr)
    }

    pub fn checked_mul(self, n: i64) -> Option<Idr> {
        self.0.checked_mul(n).map(Idr)
    }

    /// Reads an amount as Midtrans writes it (`"50000.00"`, `"50000"`): a whole number, optionally
    /// followed by a fraction made only of zeros. Anything else is refused, never rounded.
    pub fn parse_decimal(text: &str) -> Result<Idr, IdrParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IdrParseError::Empty);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdrParseError::NotANumber(text.to_string()));
        }
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdrParseError::NotANumber(text.to_string()));
        }
        if fraction.bytes().any(|b| b != b'0') {
            return Err(IdrParseError::NotWhole(text.to_string()));
        }
        whole
            .parse::<i64>()
            .map(Idr)
            .map_err(|_| IdrParseError::TooLarge(text.to_string()))
    }

    /// The amount as Midtrans expects it in a notification signature (`"50000.00"`).
    pub fn to_decimal_string(self) -> String {
        format!("{}.00", self.0)
    }
}

/// `Rp 1.500.000` — the Indonesian way: dots group thousands.
impl fmt::Display for Idr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(ch);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}Rp {grouped}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_midtrans_amounts() {
        assert_eq!(Idr::parse_decimal("50000.00"), Ok(Idr::new(50000)));
        assert_eq!(Idr::parse_decimal("5539"), Ok(Idr::new(5539)));
        assert_eq!(Idr::parse_decimal(" 10000.0 "), Ok(Idr::new(10000)));
    }

    #[test]
    fn refuses_fractions_and_junk() {
        assert!(matches!(
            Idr::parse_decimal("100.50"),
            Err(IdrParseError::NotWhole(_))
        ));
        assert!(matches!(
            Idr::parse_decimal("-5.00"),
            Err(IdrParseError::NotANumber(_))
        ));
        assert!(matches!(
            Idr::parse_decimal("1e5"),
            Err(IdrParseError::NotANumber(_))
        ));
        assert!(matches!(Idr::parse_decimal(""), Err(IdrParseError::Empty)));
        assert!(matches!(
            Idr::parse_decimal(".00"),
            Err(IdrParseError::NotANumber(_))
        ));
        assert!(matches!(
            Idr::parse_decimal("99999999999999999999"),
            Err(IdrParseError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_with_thousand_dots() {
        assert_eq!(Idr::new(1_500_000).to_string(), "Rp 1.500.000");
        assert_eq!(Idr::new(15_000).to_string(), "Rp 15.000");
        assert_eq!(Idr::new(999).to_string(), "Rp 999");
        assert_eq!(Idr::new(-70_000).to_string(), "-Rp 70.000");
        assert_eq!(Idr::new(50000).to_decimal_string(), "50000.00");
    }
}
