//! Top-up amounts typed by users or configured as presets, checked against the configured bounds.

use shared_proto::Idr;

/// The bounds a top-up must respect (`TOPUP_MIN`, `TOPUP_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopupBounds {
    pub min: Idr,
    pub max: Idr,
}

/// A top-up amount within the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopupAmount(Idr);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Please enter a whole number of rupiah, like 50000.")]
    NotANumber,
    #[error("The amount must be more than zero.")]
    NotPositive,
    #[error("The smallest top-up is {0}.")]
    BelowMin(Idr),
    #[error("The largest top-up is {0}.")]
    AboveMax(Idr),
}

impl TopupAmount {
    pub fn new(amount: Idr, bounds: TopupBounds) -> Result<Self, AmountError> {
        if !amount.is_positive() {
            return Err(AmountError::NotPositive);
        }
        if amount < bounds.min {
            return Err(AmountError::BelowMin(bounds.min));
        }
        if amount > bounds.max {
            return Err(AmountError::AboveMax(bounds.max));
        }
        Ok(TopupAmount(amount))
    }

    /// Reads what a person types: `50000`, `50.000`, `50,000`, `Rp 50.000`. Dots and commas are
    /// thousand separators in Indonesian writing, so they are dropped; decimals are not accepted.
    pub fn parse(text: &str, bounds: TopupBounds) -> Result<Self, AmountError> {
        let trimmed = text.trim();
        let without_currency = trimmed
            .strip_prefix("Rp")
            .or_else(|| trimmed.strip_prefix("rp"))
            .or_else(|| trimmed.strip_prefix("RP"))
            .unwrap_or(trimmed)
            .trim();
        let (negative, digits_part) = match without_currency.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, without_currency),
        };
        let digits: String = digits_part
            .chars()
            .filter(|c| *c != '.' && *c != ',' && *c != ' ' && *c != '_')
            .collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotANumber);
        }
        if negative {
            return Err(AmountError::NotPositive);
        }
        // Anything too long for an i64 is certainly above the maximum.
        let value: i64 = digits
            .parse()
            .map_err(|_| AmountError::AboveMax(bounds.max))?;
        TopupAmount::new(Idr::new(value), bounds)
    }

    pub fn idr(self) -> Idr {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: TopupBounds = TopupBounds {
        min: Idr::new(10_000),
        max: Idr::new(5_000_000),
    };

    #[test]
    fn accepts_common_spellings() {
        for text in ["50000", "50.000", "50,000", "Rp 50.000", " rp50000 "] {
            assert_eq!(
                TopupAmount::parse(text, B).unwrap().idr(),
                Idr::new(50_000),
                "{text}"
            );
        }
        assert_eq!(
            TopupAmount::parse("10000", B).unwrap().idr(),
            Idr::new(10_000)
        );
        assert_eq!(
            TopupAmount::parse("5000000", B).unwrap().idr(),
            Idr::new(5_000_000)
        );
    }

    #[test]
    fn refuses_negative_zero_out_of_bounds_and_junk() {
        assert_eq!(
            TopupAmount::parse("-50000", B),
            Err(AmountError::NotPositive)
        );
        assert_eq!(TopupAmount::parse("0", B), Err(AmountError::NotPositive));
        assert_eq!(
            TopupAmount::parse("9999", B),
            Err(AmountError::BelowMin(Idr::new(10_000)))
        );
        assert_eq!(
            TopupAmount::parse("5000001", B),
            Err(AmountError::AboveMax(Idr::new(5_000_000)))
        );
        assert_eq!(
            TopupAmount::parse("99999999999999999999999", B),
            Err(AmountError::AboveMax(Idr::new(5_000_000)))
        );
        for junk in ["", "abc", "1e5", "50k", "--5", "12.5x"] {
            assert_eq!(
                TopupAmount::parse(junk, B),
                Err(AmountError::NotANumber),
                "{junk}"
            );
        }
        assert_eq!(
            TopupAmount::new(Idr::new(-1), B),
            Err(AmountError::NotPositive)
        );
    }
}
