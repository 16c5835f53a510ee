//! The catalogue as admins type it and buyers pick from it: the compact price list of
//! `/admin product add` (`1=15000,5=70000`), a single price of `/admin product price`, and the
//! product choices offered while an admin types a product option. Pure: no Discord, no broker.

use shared_proto::{Idr, PackagePrice, PackageSize, ProductId, ProductInfo};

use super::i18n::Lang;
use crate::tr;

/// Discord offers at most 25 autocomplete choices; a choice's name is at most 100 characters.
pub const MAX_CHOICES: usize = 25;
const MAX_CHOICE_NAME: usize = 100;
/// Longest price list accepted (five packages with large prices fit many times over).
const MAX_PRICE_LIST_CHARS: usize = 300;

/// Why a price list or a price was refused; nothing is sent to the payment-service then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("no prices given")]
    Empty,
    #[error("the price list is too long")]
    TooLong,
    /// An entry that is not `package=price`.
    #[error("entry {0:?} is not package=price")]
    NotAPair(String),
    #[error("{0:?} is not a package (1, 5, 10, 25 or 50)")]
    UnknownPackage(String),
    #[error("{0:?} is not a whole positive number of rupiah")]
    BadPrice(String),
    #[error("package {0} is given twice")]
    Duplicate(u32),
}

impl PriceError {
    /// The admin's explanation, in `lang`, naming what was wrong.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            PriceError::Empty => tr!(lang, "price-list-empty"),
            PriceError::TooLong => tr!(lang, "price-list-too-long"),
            PriceError::NotAPair(entry) => tr!(lang, "price-list-not-a-pair", entry = entry),
            PriceError::UnknownPackage(p) => tr!(lang, "price-list-unknown-package", package = p),
            PriceError::BadPrice(p) => tr!(lang, "price-list-bad-price", price = p),
            PriceError::Duplicate(codes) => tr!(lang, "price-list-duplicate", codes = *codes),
        }
    }
}

/// Keeps user input short in messages (it is echoed back to the admin).
fn shown(text: &str) -> String {
    super::message::truncate(text.trim(), 40)
}

/// A price in rupiah: digits, optionally `Rp` before and `.` / `_` as thousands separators
/// (`70000`, `70.000`, `Rp 70.000`). Must be positive.
pub fn parse_price(text: &str) -> Result<Idr, PriceError> {
    let t = text.trim();
    let t = t
        .strip_prefix("Rp")
        .or_else(|| t.strip_prefix("rp"))
        .or_else(|| t.strip_prefix("RP"))
        .unwrap_or(t)
        .trim();
    let digits: String = t.chars().filter(|c| *c != '.' && *c != '_').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PriceError::BadPrice(shown(text)));
    }
    match digits.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Idr::new(n)),
        _ => Err(PriceError::BadPrice(shown(text))),
    }
}

/// `1=15000,5=70000` (also `;` or new lines between entries, spaces anywhere): the packages on
/// sale with their prices, smallest package first. Every entry must be valid, or none is taken.
pub fn parse_price_list(text: &str) -> Result<Vec<PackagePrice>, PriceError> {
    if text.chars().count() > MAX_PRICE_LIST_CHARS {
        return Err(PriceError::TooLong);
    }
    let mut prices: Vec<PackagePrice> = Vec::new();
    for entry in text
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (package, price) = entry
            .split_once('=')
            .ok_or_else(|| PriceError::NotAPair(shown(entry)))?;
        let package = package
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(|n| PackageSize::try_from(n).ok())
            .ok_or_else(|| PriceError::UnknownPackage(shown(package)))?;
        let price = parse_price(price)?;
        if prices.iter().any(|p| p.package == package) {
            return Err(PriceError::Duplicate(package.codes()));
        }
        prices.push(PackagePrice { package, price });
    }
    if prices.is_empty() {
        return Err(PriceError::Empty);
    }
    prices.sort_by_key(|p| p.package.codes());
    Ok(prices)
}

/// `/admin product price`'s `price` option: empty or 0 takes the package off sale.
pub fn price_setting(price: Option<i64>) -> Result<Option<Idr>, PriceError> {
    match price {
        None | Some(0) => Ok(None),
        Some(n) if n > 0 => Ok(Some(Idr::new(n))),
        Some(n) => Err(PriceError::BadPrice(n.to_string())),
    }
}

/// The products offered while an admin types a product option: those whose name or id
/// contains what was typed (case-insensitive), in catalogue order, at most 25. The name shown
/// says when a product is off sale.
pub fn product_choices(lang: Lang, products: &[ProductInfo], typed: &str) -> Vec<(String, i64)> {
    let typed = typed.trim().to_lowercase();
    products
        .iter()
        .filter(|p| {
            typed.is_empty()
                || p.name.to_lowercase().contains(&typed)
                || p.product_id.to_string() == typed
        })
        .take(MAX_CHOICES)
        .map(|p| {
            let name = if p.active {
                tr!(
                    lang,
                    "product-choice",
                    name = p.name.as_str(),
                    id = p.product_id.get()
                )
            } else {
                tr!(
                    lang,
                    "product-choice-disabled",
                    name = p.name.as_str(),
                    id = p.product_id.get()
                )
            };
            (
                super::message::truncate(&name, MAX_CHOICE_NAME),
                p.product_id.get(),
            )
        })
        .collect()
}

/// A product option as typed: an id (what autocomplete fills in), positive.
pub fn product_option(value: Option<i64>) -> Option<Result<ProductId, i64>> {
    value.map(|v| if v > 0 { Ok(ProductId(v)) } else { Err(v) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::StockCounts;

    fn pp(codes: u32, price: i64) -> PackagePrice {
        PackagePrice {
            package: PackageSize::try_from(codes).unwrap(),
            price: Idr::new(price),
        }
    }

    #[test]
    fn a_compact_price_list_parses_smallest_package_first() {
        assert_eq!(
            parse_price_list("5=70000, 1=15000").unwrap(),
            vec![pp(1, 15_000), pp(5, 70_000)]
        );
        assert_eq!(
            parse_price_list(" 10 = Rp 130.000 ;50=550_000\n").unwrap(),
            vec![pp(10, 130_000), pp(50, 550_000)]
        );
    }

    #[test]
    fn bad_price_lists_are_refused_whole_and_say_why() {
        let cases = [
            ("", PriceError::Empty),
            (" , ;", PriceError::Empty),
            ("1:15000", PriceError::NotAPair("1:15000".into())),
            ("3=15000", PriceError::UnknownPackage("3".into())),
            ("one=15000", PriceError::UnknownPackage("one".into())),
            ("1=15000,5=-70000", PriceError::BadPrice("-70000".into())),
            ("1=0", PriceError::BadPrice("0".into())),
            ("1=15k", PriceError::BadPrice("15k".into())),
            ("1=1.5e4", PriceError::BadPrice("1.5e4".into())),
            (
                "1=99999999999999999999",
                PriceError::BadPrice("99999999999999999999".into()),
            ),
            ("1=15000,1=16000", PriceError::Duplicate(1)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_price_list(text), Err(expected), "{text:?}");
        }
        assert_eq!(
            parse_price_list(&"1=1,".repeat(100)),
            Err(PriceError::TooLong)
        );
        for lang in Lang::ALL {
            let text = PriceError::UnknownPackage("3".into()).message(lang);
            assert!(text.contains('3') && !text.contains("price-list"), "{text}");
        }
    }

    #[test]
    fn an_empty_or_zero_price_takes_the_package_off_sale() {
        assert_eq!(price_setting(None), Ok(None));
        assert_eq!(price_setting(Some(0)), Ok(None));
        assert_eq!(price_setting(Some(70_000)), Ok(Some(Idr::new(70_000))));
        assert!(price_setting(Some(-5)).is_err());
    }

    #[test]
    fn product_choices_match_name_or_id_and_flag_disabled_ones() {
        let product = |id: i64, name: &str, active: bool| ProductInfo {
            product_id: ProductId(id),
            name: name.into(),
            description: String::new(),
            active,
            display_order: 0,
            low_stock_threshold: None,
            prices: vec![],
            counts: StockCounts::default(),
        };
        let all = vec![
            product(1, "Redfinger VIP 30 days", true),
            product(2, "Redfinger KVIP 7 days", false),
        ];
        let c = product_choices(Lang::En, &all, "kvip");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1, 2);
        assert!(
            c[0].0.contains("KVIP") && c[0].0.contains("off sale"),
            "{}",
            c[0].0
        );
        assert_eq!(product_choices(Lang::En, &all, "1")[0].1, 1);
        assert_eq!(product_choices(Lang::En, &all, "").len(), 2);
        let many: Vec<_> = (1..=40).map(|i| product(i, "P", true)).collect();
        assert_eq!(product_choices(Lang::Id, &many, "").len(), MAX_CHOICES);
    }
}
