//! The bot's words, in Bahasa Indonesia and English, from the Project Fluent catalogue in
//! `bot-service/locales/{id,en-US}/*.ftl` (compiled into the binary by `fluent-templates`).
//!
//! Why Fluent: its messages carry their own grammar (English plurals "1 code" / "5 codes" are
//! a selector inside the English message; Indonesian has none and needs none), translators edit
//! plain `.ftl` files without touching Rust, and a message's variables are named, so the
//! catalogue test can check both languages use the same ones.
//!
//! Every text is looked up with [`tr!`](crate::tr): `tr!(lang, "order-placed-title")` or with
//! named arguments `tr!(lang, "topup-settled", amount = idr)`. Money is always `Rp 50.000`
//! ([`shared_proto::Idr`]'s display); dates and times are Western Indonesian Time (WIB,
//! Asia/Jakarta, UTC+7 all year — Indonesia keeps no daylight saving) with the zone shown.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use shared_proto::{Idr, PackageSize};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en-US",
        // Discord shows the Unicode isolation marks Fluent puts around arguments as boxes in
        // some clients and they break `contains` checks on text: off.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages the shop speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Bahasa Indonesia (Discord locale `id`).
    Id,
    /// English (every other Discord locale).
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Id, Lang::En];

    /// The language for a Discord locale: Indonesian for `id`, English for any other.
    pub fn from_discord(locale: &str) -> Lang {
        if locale.eq_ignore_ascii_case("id") || locale.to_ascii_lowercase().starts_with("id-") {
            Lang::Id
        } else {
            Lang::En
        }
    }

    /// The language of a remembered locale, or `default` when none is known.
    pub fn from_remembered(locale: Option<&str>, default: Lang) -> Lang {
        match locale.map(str::trim).filter(|l| !l.is_empty()) {
            Some(locale) => Lang::from_discord(locale),
            None => default,
        }
    }

    /// `DEFAULT_LOCALE`: `id`, `en` or `en-US` (case-insensitive).
    pub fn parse_setting(value: &str) -> Option<Lang> {
        match value.trim().to_ascii_lowercase().as_str() {
            "id" | "id-id" => Some(Lang::Id),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The Discord locale (and catalogue folder) of the language.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en-US",
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::Id => fluent_templates::langid!("id"),
            Lang::En => fluent_templates::langid!("en-US"),
        }
    }
}

/// A value for a named argument of a message.
pub trait Arg {
    fn arg(self) -> FluentValue<'static>;
}

impl Arg for &str {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}

impl Arg for String {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self)
    }
}

impl Arg for &String {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.clone())
    }
}

impl Arg for Idr {
    /// `Rp 50.000`, in both languages.
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}

impl Arg for PackageSize {
    /// The number of codes: messages say "5 codes" / "5 kode" with a selector.
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.codes())
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {
        $(impl Arg for $t {
            fn arg(self) -> FluentValue<'static> {
                FluentValue::from(self)
            }
        })*
    };
}
number_arg!(u8, u16, u32, u64, usize, i32, i64);

/// The text of `key` in `lang` with `args`. A key missing from the catalogue (the catalogue
/// test makes that a failing test) shows the key rather than nothing.
pub fn text(lang: Lang, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
    let args: Option<HashMap<Cow<'static, str>, FluentValue<'static>>> = if args.is_empty() {
        None
    } else {
        Some(
            args.iter()
                .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
                .collect(),
        )
    };
    LOCALES
        .try_lookup_complete(&lang.langid(), key, args.as_ref())
        .unwrap_or_else(|| {
            tracing::error!(key, lang = lang.code(), "text missing from the catalogue");
            key.to_string()
        })
}

/// Looks a text up in the catalogue: `tr!(lang, "key")` or `tr!(lang, "key", name = value, …)`
/// where each value is a [`Arg`](crate::domain::i18n::Arg) (text, number, `Idr`, package).
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:literal) => {
        $crate::domain::i18n::text($lang, $key, &[])
    };
    ($lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::domain::i18n::text(
            $lang,
            $key,
            &[$((stringify!($name), $crate::domain::i18n::Arg::arg($value))),+],
        )
    };
}

/// Western Indonesian Time: UTC+7, all year.
fn wib() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

fn month(lang: Lang, month: u32) -> String {
    match month {
        1 => crate::tr!(lang, "month-1"),
        2 => crate::tr!(lang, "month-2"),
        3 => crate::tr!(lang, "month-3"),
        4 => crate::tr!(lang, "month-4"),
        5 => crate::tr!(lang, "month-5"),
        6 => crate::tr!(lang, "month-6"),
        7 => crate::tr!(lang, "month-7"),
        8 => crate::tr!(lang, "month-8"),
        9 => crate::tr!(lang, "month-9"),
        10 => crate::tr!(lang, "month-10"),
        11 => crate::tr!(lang, "month-11"),
        _ => crate::tr!(lang, "month-12"),
    }
}

/// A date and time in WIB with the zone shown: `2 Des 2026 17.30 WIB` / `2 Dec 2026, 17:30 WIB`.
pub fn datetime(lang: Lang, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&wib());
    crate::tr!(
        lang,
        "datetime",
        day = local.day(),
        month = month(lang, local.month()),
        year = local.year(),
        hour = format!("{:02}", local.hour()),
        minute = format!("{:02}", local.minute()),
    )
}

/// A time of day in WIB with the zone shown: `17.30 WIB` / `17:30 WIB`.
pub fn time(lang: Lang, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&wib());
    crate::tr!(
        lang,
        "time-of-day",
        hour = format!("{:02}", local.hour()),
        minute = format!("{:02}", local.minute()),
    )
}

/// "1 code" / "5 codes" / "5 kode".
pub fn package(lang: Lang, package: PackageSize) -> String {
    crate::tr!(lang, "package-name", count = package)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn indonesian_for_id_english_for_every_other_locale() {
        assert_eq!(Lang::from_discord("id"), Lang::Id);
        assert_eq!(Lang::from_discord("en-US"), Lang::En);
        assert_eq!(Lang::from_discord("en-GB"), Lang::En);
        assert_eq!(Lang::from_discord("ja"), Lang::En);
        assert_eq!(Lang::from_remembered(None, Lang::Id), Lang::Id);
        assert_eq!(Lang::from_remembered(Some("en-US"), Lang::Id), Lang::En);
        assert_eq!(Lang::parse_setting("ID"), Some(Lang::Id));
        assert_eq!(Lang::parse_setting("en"), Some(Lang::En));
        assert_eq!(Lang::parse_setting("fr"), None);
    }

    #[test]
    fn dates_are_wib_with_the_zone_shown() {
        // 10:30 UTC is 17:30 in Jakarta.
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 10, 30, 0).unwrap();
        assert_eq!(datetime(Lang::Id, t), "2 Des 2026 17.30 WIB");
        assert_eq!(datetime(Lang::En, t), "2 Dec 2026, 17:30 WIB");
        assert_eq!(time(Lang::Id, t), "17.30 WIB");
        // 20:00 UTC on the last day of the year is already next year in Jakarta.
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(datetime(Lang::En, t), "1 Jan 2027, 03:00 WIB");
    }

    #[test]
    fn english_plurals_and_rupiah_in_both_languages() {
        assert_eq!(package(Lang::En, PackageSize::One), "1 code");
        assert_eq!(package(Lang::En, PackageSize::Five), "5 codes");
        assert_eq!(package(Lang::Id, PackageSize::Five), "5 kode");
        let amount = Idr::new(50_000);
        assert_eq!(
            crate::tr!(Lang::En, "amount-label", amount = amount),
            "Rp 50.000"
        );
        assert_eq!(
            crate::tr!(Lang::Id, "amount-label", amount = amount),
            "Rp 50.000"
        );
    }
}
