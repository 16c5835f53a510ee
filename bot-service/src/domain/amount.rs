//! Top-up amounts typed by users or configured as presets, checked against the configured bounds.

use super::i18n::Lang;
use crate::tr;
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
    #[error("Please enter a whole number of rupiah, like 50000 or 50.000.")]
    NotANumber,
    /// `50.000,50`: rupiah are paid in whole units, so sen are refused rather than dropped.
    #[error("Rupiah top-ups have no sen: enter a whole amount, like 50.000 (not {0}).")]
    HasSen(String),
    #[error("The amount must be more than zero.")]
    NotPositive,
    #[error("The smallest top-up is {0}.")]
    BelowMin(Idr),
    #[error("The largest top-up is {0}.")]
    AboveMax(Idr),
}

impl AmountError {
    /// The refusal in words for the user, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AmountError::NotANumber => tr!(lang, "amount-not-a-number"),
            AmountError::HasSen(text) => tr!(lang, "amount-has-sen", text = text.as_str()),
            AmountError::NotPositive => tr!(lang, "amount-not-positive"),
            AmountError::BelowMin(min) => tr!(lang, "amount-below-min", min = *min),
            AmountError::AboveMax(max) => tr!(lang, "amount-above-max", max = *max),
        }
    }
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

    /// Reads what a person types: `50000`, `50.000`, `50,000`, `Rp 50.000`, `Rp. 50.000,-`,
    /// `50.000,00`, `50000.00`. A dot or comma followed by exactly two digits at the end marks
    /// decimals (sen), which must be zero; every other dot or comma separates thousands, so the
    /// groups after it must have three digits. Anything else is refused rather than guessed:
    /// a misread amount is money charged that the buyer did not mean.
    pub fn parse(text: &str, bounds: TopupBounds) -> Result<Self, AmountError> {
        let trimmed = text.trim();
        let without_currency = strip_prefix_ignore_case(trimmed, "rp")
            .map(|rest| rest.trim_start().strip_prefix('.').unwrap_or(rest))
            .unwrap_or(trimmed)
            .trim();
        let (negative, number) = match without_currency.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, without_currency),
        };
        // `50.000,-` is the Indonesian way of writing "no sen".
        let number = number
            .strip_suffix(",-")
            .or_else(|| number.strip_suffix(".-"))
            .unwrap_or(number);
        let compact: String = number.chars().filter(|c| *c != ' ' && *c != '_').collect();
        let (whole, sen) = split_sen(&compact);
        let digits = whole_rupiah_digits(whole).ok_or(AmountError::NotANumber)?;
        if let Some(sen) = sen {
            if sen != "00" {
                let separator = &compact[whole.len()..whole.len() + 1];
                return Err(AmountError::HasSen(format!("{separator}{sen}")));
            }
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

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Splits `50.000,00` into (`50.000`, Some(`00`)): a dot or comma followed by exactly two
/// digits at the very end is the decimal mark.
fn split_sen(number: &str) -> (&str, Option<&str>) {
    let bytes = number.as_bytes();
    let n = bytes.len();
    if n >= 4
        && matches!(bytes[n - 3], b'.' | b',')
        && bytes[n - 2].is_ascii_digit()
        && bytes[n - 1].is_ascii_digit()
    {
        (&number[..n - 3], Some(&number[n - 2..]))
    } else {
        (number, None)
    }
}

/// The digits of a whole number of rupiah whose dots and commas separate thousands
/// (`1.000.000`, `50,000`), or `None` when it is not one (`5.0000`, `12.5`, `50k`).
fn whole_rupiah_digits(whole: &str) -> Option<String> {
    let mut groups = whole.split(['.', ',']);
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let all_digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(first) {
        return None;
    }
    if rest.is_empty() {
        return Some(first.to_string());
    }
    if first.len() > 3 || rest.iter().any(|g| g.len() != 3 || !all_digits(g)) {
        return None;
    }
    let mut digits = first.to_string();
    rest.iter().for_each(|g| digits.push_str(g));
    Some(digits)
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
    fn reads_two_final_digits_after_a_dot_or_comma_as_sen() {
        for (text, want) in [
            ("50.000", 50_000),
            ("50.000,00", 50_000),
            ("50000.00", 50_000),
            ("50000,00", 50_000),
            ("50,000", 50_000),
            ("50,000.00", 50_000),
            ("1.000.000", 1_000_000),
            ("1.000.000,00", 1_000_000),
            ("Rp 50.000", 50_000),
            ("Rp. 50.000,-", 50_000),
            ("RP50.000,00", 50_000),
            ("50 000", 50_000),
        ] {
            assert_eq!(
                TopupAmount::parse(text, B).map(TopupAmount::idr),
                Ok(Idr::new(want)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_sen_that_are_not_zero_and_names_them() {
        let err = TopupAmount::parse("50.000,50", B).unwrap_err();
        assert_eq!(err, AmountError::HasSen(",50".into()));
        assert!(err.to_string().contains("no sen"), "{err}");
        assert_eq!(
            TopupAmount::parse("50000.01", B),
            Err(AmountError::HasSen(".01".into()))
        );
    }

    #[test]
    fn refuses_separators_that_do_not_group_thousands() {
        for text in [
            "5.0000",
            "50000.000",
            "12.5",
            "50.000,5",
            "1..000",
            "50.",
            ".000",
        ] {
            assert_eq!(
                TopupAmount::parse(text, B),
                Err(AmountError::NotANumber),
                "{text}"
            );
        }
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const WIDE: TopupBounds = TopupBounds {
            min: Idr::new(1),
            max: Idr::new(i64::MAX),
        };

        /// `1234567` with `sep` every three digits from the right: `1.234.567`.
        fn grouped(n: u64, sep: char) -> String {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(sep);
                }
                out.push(c);
            }
            out
        }

        proptest! {
            #[test]
            fn every_indonesian_or_english_spelling_reads_the_same_amount(
                n in 1u64..=1_000_000_000_000,
                style in 0usize..6,
            ) {
                let text = match style {
                    0 => n.to_string(),
                    1 => grouped(n, '.'),
                    2 => format!("{},00", grouped(n, '.')),
                    3 => grouped(n, ','),
                    4 => format!("{}.00", grouped(n, ',')),
                    _ => format!("Rp {}.00", n),
                };
                prop_assert_eq!(
                    TopupAmount::parse(&text, WIDE).map(TopupAmount::idr),
                    Ok(Idr::new(n as i64)),
                    "{}", text
                );
            }

            #[test]
            fn non_zero_sen_are_always_refused(
                n in 1u64..=1_000_000_000_000,
                sen in 1u8..=99,
                comma in any::<bool>(),
            ) {
                let text = if comma {
                    format!("{},{sen:02}", grouped(n, '.'))
                } else {
                    format!("{}.{sen:02}", grouped(n, ','))
                };
                prop_assert!(matches!(
                    TopupAmount::parse(&text, WIDE),
                    Err(AmountError::HasSen(_))
                ), "{}", text);
            }

            #[test]
            fn an_accepted_amount_is_the_digits_typed_without_zero_sen(
                text in "(Rp\\.? ?)?-?[0-9]{1,7}([.,][0-9]{1,4}){0,3}(,-)?|\\PC{0,24}",
            ) {
                if let Ok(amount) = TopupAmount::parse(&text, WIDE) {
                    let typed: String = text.chars().filter(char::is_ascii_digit).collect();
                    let typed = typed.trim_start_matches('0');
                    let read = amount.idr().rupiah().to_string();
                    prop_assert!(
                        typed == read || typed == format!("{read}00"),
                        "{:?} read as {}", text, read
                    );
                }
            }
        }
    }
}
