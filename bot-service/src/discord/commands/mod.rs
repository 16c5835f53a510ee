//! Slash commands, one group per file. Each defers (or answers) at once, then works.

pub mod admin;
mod balance;
mod history;
mod product;
mod shop;
mod topup;

use super::interaction::Origin;
use super::{Context, Data, Error};
use crate::domain::i18n::{self, Lang};
pub use admin::orders_page;

pub fn all() -> Vec<poise::Command<Data, Error>> {
    let mut commands = vec![
        shop::shop(),
        balance::balance(),
        topup::topup(),
        history::history(),
        admin::admin(),
    ];
    for command in &mut commands {
        localize(command, "");
    }
    commands
}

/// Catalogue key of a command part: `cmd-{command}[-{subcommand}][-{option}]-{what}`.
fn key(path: &str, what: &str) -> String {
    format!("cmd-{}-{what}", path.replace('_', "-"))
}

/// Names, descriptions, option names and choices from the catalogue: English as what Discord
/// shows by default, Bahasa Indonesia as the `id` localization (Discord shows it to users whose
/// client is in Indonesian, and still sends the command's own name in the interaction).
fn localize(command: &mut poise::Command<Data, Error>, parent: &str) {
    let path = if parent.is_empty() {
        command.name.to_string()
    } else {
        format!("{parent}-{}", command.name)
    };
    let id = Lang::Id.code();
    command.description = Some(i18n::text(Lang::En, &key(&path, "description"), &[]).into());
    command.description_localizations = vec![(
        id.into(),
        i18n::text(Lang::Id, &key(&path, "description"), &[]).into(),
    )]
    .into();
    command.name_localizations = vec![(
        id.into(),
        i18n::text(Lang::Id, &key(&path, "name"), &[]).into(),
    )]
    .into();
    for parameter in &mut command.parameters {
        let param = format!("{path}-{}", parameter.name);
        parameter.description = Some(i18n::text(Lang::En, &key(&param, "description"), &[]).into());
        parameter.description_localizations = vec![(
            id.into(),
            i18n::text(Lang::Id, &key(&param, "description"), &[]).into(),
        )]
        .into();
        parameter.name_localizations = vec![(
            id.into(),
            i18n::text(Lang::Id, &key(&param, "name"), &[]).into(),
        )]
        .into();
        for choice in parameter.choices.to_mut() {
            let choice_key = format!("cmd-choice-{}", choice.name.to_lowercase());
            choice.localizations =
                vec![(id.into(), i18n::text(Lang::Id, &choice_key, &[]).into())].into();
        }
    }
    for sub in &mut command.subcommands {
        localize(sub, &path);
    }
}

/// The interaction behind a slash command (these commands are slash-only).
fn origin(ctx: Context<'_>) -> Result<Origin, Error> {
    match ctx {
        poise::Context::Application(a) => {
            let kind = format!("command:{}", ctx.command().qualified_name);
            ctx.data()
                .metrics
                .interactions
                .with_label_values(&[&kind])
                .inc();
            Origin::from_command(a.interaction)
                .ok_or_else(|| anyhow::anyhow!("interaction from an invalid user id"))
        }
        poise::Context::Prefix(_) => Err(anyhow::anyhow!("prefix commands are not enabled")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command, subcommand, option and choice has its words in both languages, and the
    /// localized names follow Discord's rules for names (lower case, no spaces, ≤ 32).
    #[test]
    fn every_command_is_worded_in_both_languages() {
        fn check(command: &poise::Command<Data, Error>, parent: &str, seen: &mut usize) {
            let path = if parent.is_empty() {
                command.name.to_string()
            } else {
                format!("{parent}-{}", command.name)
            };
            let description = command.description.as_deref().unwrap_or_default();
            assert!(!description.starts_with("cmd-"), "{path}: {description}");
            assert!(description.chars().count() <= 100, "{path}: {description}");
            for (locale, text) in command
                .name_localizations
                .iter()
                .chain(command.description_localizations.iter())
            {
                assert_eq!(locale, "id");
                assert!(!text.starts_with("cmd-"), "{path}: {text}");
                assert!(
                    !text.is_empty() && text.chars().count() <= 100,
                    "{path}: {text}"
                );
            }
            let name = &command.name_localizations[0].1;
            assert!(
                name.chars().count() <= 32
                    && name
                        .chars()
                        .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
                "{path}: {name:?} is not a valid command name"
            );
            for p in &command.parameters {
                let text = p.description.as_deref().unwrap_or_default();
                assert!(!text.starts_with("cmd-"), "{path} {}: {text}", p.name);
                let (_, id_name) = &p.name_localizations[0];
                assert!(!id_name.starts_with("cmd-"), "{path} {}", p.name);
                assert!(
                    id_name
                        .chars()
                        .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
                    "{path}: {id_name:?}"
                );
                let (_, id_text) = &p.description_localizations[0];
                assert!(!id_text.starts_with("cmd-"), "{path} {}", p.name);
                for c in p.choices.iter() {
                    let (_, label) = &c.localizations[0];
                    assert!(!label.starts_with("cmd-"), "{path} {}: {label}", c.name);
                }
                *seen += 1;
            }
            for sub in &command.subcommands {
                check(sub, &path, seen);
            }
        }
        let mut options = 0;
        for command in all() {
            check(&command, "", &mut options);
        }
        assert!(options >= 10, "only {options} options checked");
    }

    /// Discord refuses a command whose names, descriptions and choices (of the command, its
    /// groups, subcommands and options) add up to more than 8000 characters in one language.
    #[test]
    fn every_command_fits_discords_8000_characters() {
        fn count(v: &serde_json::Value, localized: Option<&str>) -> usize {
            let text = |key: &str| -> usize {
                let own = v[key].as_str().map(|s| s.chars().count()).unwrap_or(0);
                match localized {
                    Some(l) => v[format!("{key}_localizations")][l]
                        .as_str()
                        .map(|s| s.chars().count())
                        .unwrap_or(own),
                    None => own,
                }
            };
            let mut n = text("name") + text("description");
            for c in v["choices"].as_array().into_iter().flatten() {
                n += count(c, localized) + c["value"].to_string().chars().count();
            }
            for o in v["options"].as_array().into_iter().flatten() {
                n += count(o, localized);
            }
            n
        }
        for command in all() {
            let Some(create) = command.create_as_slash_command() else {
                continue;
            };
            let json = serde_json::to_value(create).unwrap();
            for locale in [None, Some("id")] {
                let n = count(&json, locale);
                assert!(
                    n <= 8000,
                    "/{} has {n} characters ({locale:?})",
                    command.name
                );
            }
        }
    }
}
