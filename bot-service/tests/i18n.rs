//! The message catalogue (`bot-service/locales`) is complete in both languages, every key the
//! code looks up exists, and no text for people is left in the code outside the catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast;

const LANGS: [&str; 2] = ["en-US", "id"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Message id → the variables its value (every variant of every selector) uses.
type Catalogue = BTreeMap<String, BTreeSet<String>>;

fn variables_of_pattern(p: &ast::Pattern<String>, out: &mut BTreeSet<String>) {
    for element in &p.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            variables_of_expression(expression, out);
        }
    }
}

fn variables_of_expression(e: &ast::Expression<String>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            variables_of_inline(selector, out);
            for v in variants {
                variables_of_pattern(&v.value, out);
            }
        }
        ast::Expression::Inline(i) => variables_of_inline(i, out),
    }
}

fn variables_of_inline(i: &ast::InlineExpression<String>, out: &mut BTreeSet<String>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.clone());
        }
        ast::InlineExpression::Placeable { expression } => variables_of_expression(expression, out),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                variables_of_inline(a, out);
            }
        }
        _ => {}
    }
}

fn load(lang: &str) -> Catalogue {
    let dir = crate_dir().join("locales").join(lang);
    let mut catalogue = Catalogue::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ftl files in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let resource = fluent_syntax::parser::parse(text)
            .unwrap_or_else(|(_, errors)| panic!("{} does not parse: {errors:?}", file.display()));
        for entry in resource.body {
            match entry {
                ast::Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    let value = m.value.as_ref().unwrap_or_else(|| {
                        panic!("{} in {} has no value", m.id.name, file.display())
                    });
                    variables_of_pattern(value, &mut vars);
                    let previous = catalogue.insert(m.id.name.clone(), vars);
                    assert!(
                        previous.is_none(),
                        "{} is defined twice in locales/{lang}",
                        m.id.name
                    );
                }
                ast::Entry::Junk { content } => {
                    panic!("{}: cannot read {content:?}", file.display())
                }
                _ => {}
            }
        }
    }
    catalogue
}

#[test]
fn every_key_exists_in_both_languages_with_the_same_placeables() {
    let mut folders: Vec<String> = std::fs::read_dir(crate_dir().join("locales"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders, LANGS, "the shop speaks exactly these languages");
    let en = load("en-US");
    let id = load("id");
    let only_en: Vec<_> = en.keys().filter(|k| !id.contains_key(*k)).collect();
    let only_id: Vec<_> = id.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(
        only_en.is_empty() && only_id.is_empty(),
        "missing in Indonesian: {only_en:?}; missing in English: {only_id:?}"
    );
    let mut differ = Vec::new();
    for (key, vars) in &en {
        if id[key] != *vars {
            differ.push(format!("{key}: en {vars:?} / id {:?}", id[key]));
        }
    }
    assert!(
        differ.is_empty(),
        "placeables differ:\n{}",
        differ.join("\n")
    );
    assert!(en.len() > 200, "only {} messages", en.len());
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The source of `bot-service/src` without its unit-test modules.
fn sources() -> Vec<(String, String)> {
    let src = crate_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = match text.find("#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            let name = path.strip_prefix(&src).unwrap().display().to_string();
            (name, code)
        })
        .collect()
}

/// Keys in `tr!(lang, "key"…)` calls.
fn keys_used(code: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("tr!(") {
        rest = &rest[i + 4..];
        // The first string literal after the language expression.
        if let Some(q) = rest.find('"') {
            let after = &rest[q + 1..];
            if let Some(end) = after.find('"') {
                keys.push(after[..end].to_string());
            }
        }
    }
    keys
}

#[test]
fn every_key_the_code_looks_up_is_in_the_catalogue() {
    let en = load("en-US");
    let mut used = 0;
    let mut missing = Vec::new();
    for (file, code) in sources() {
        for key in keys_used(&strip_comments(&code)) {
            used += 1;
            if !en.contains_key(&key) {
                missing.push(format!("{file}: {key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys not in the catalogue:\n{}",
        missing.join("\n")
    );
    assert!(
        used > 150,
        "only {used} lookups found: is the scanner broken?"
    );
}

/// Removes `//` comments (doc comments are for developers; slash command descriptions come
/// from the catalogue, see `commands::localize`), keeping string literals whole.
fn strip_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Removes comments and the argument lists of calls whose text is for logs, operators or
/// developers (never shown in Discord).
fn strip_non_user_text(code: &str) -> String {
    const NOT_FOR_USERS: [&str; 16] = [
        "tracing::trace!(",
        "tracing::debug!(",
        "tracing::info!(",
        "tracing::warn!(",
        "tracing::error!(",
        "anyhow::anyhow!(",
        "anyhow!(",
        "anyhow::bail!(",
        "bail!(",
        ".context(",
        ".with_context(",
        "panic!(",
        ".expect(",
        "unreachable!(",
        "#[error(",
        "#[",
    ];
    let mut text = strip_comments(code);
    for opener in NOT_FOR_USERS {
        while let Some(start) = text.find(opener) {
            let open = start + opener.len() - 1;
            let close_char = if opener == "#[" { ']' } else { ')' };
            let open_char = if opener == "#[" { '[' } else { '(' };
            let mut depth = 0usize;
            let mut end = text.len();
            let mut in_str = false;
            let mut escaped = false;
            for (j, ch) in text[open..].char_indices() {
                if in_str {
                    if escaped {
                        escaped = false;
                    } else if ch == '\\' {
                        escaped = true;
                    } else if ch == '"' {
                        in_str = false;
                    }
                    continue;
                }
                if ch == '"' {
                    in_str = true;
                } else if ch == open_char {
                    depth += 1;
                } else if ch == close_char {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
            }
            text.replace_range(start..end, " ");
        }
    }
    text
}

/// String literals of `code`, with their line numbers.
fn literals(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut chars = code.char_indices().peekable();
    let mut line = 1;
    while let Some((_, c)) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if c == '\'' {
            // A char literal such as '"' must not open a string.
            let rest: String = chars.clone().take(3).map(|(_, c)| c).collect();
            if rest.starts_with("\"'") || rest.starts_with("\\\"'") {
                for _ in 0..rest.find('\'').unwrap_or(0) + 1 {
                    chars.next();
                }
            }
            continue;
        }
        if c != '"' {
            continue;
        }
        let start_line = line;
        let mut text = String::new();
        while let Some((_, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        if n == '\n' {
                            line += 1;
                        }
                        text.push(n);
                    }
                }
                '"' => break,
                '\n' => {
                    line += 1;
                    text.push(c);
                }
                _ => text.push(c),
            }
        }
        found.push((start_line, text));
    }
    found
}

/// Prose: at least three words of letters separated by spaces (a sentence or a label a person
/// reads), as opposed to keys, ids, formats, metric names and the like.
fn is_prose(s: &str) -> bool {
    let words = s
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| ",.;:!?()'`*—-".contains(c));
            w.len() >= 2 && w.chars().all(|c| c.is_alphabetic())
        })
        .count();
    words >= 3
}

/// Files whose text is only for operators and developers (configuration errors at start-up,
/// metric help texts, health answers, the permission list of the start-up check and README,
/// Discord's limits as developer errors): never shown in Discord.
const OPERATOR_FILES: [&str; 7] = [
    "config.rs",
    "metrics.rs",
    "main.rs",
    "health.rs",
    "discord/channel_check.rs",
    "domain/permissions.rs",
    "domain/message.rs",
];

/// Single texts for logs and records, not for Discord: a failure's detail (logged, and kept as
/// the order's `last_error` for the admin's `processorder` decision).
const OPERATOR_TEXTS: [(&str, &str); 2] = [
    ("discord/outbound.rs", "network error ("),
    (
        "messaging/delivery_consumer.rs",
        "the user's DMs are closed and there is no private fallback",
    ),
];

#[test]
fn no_text_for_people_is_left_outside_the_catalogue() {
    let mut left = Vec::new();
    let mut scanned = 0;
    for (file, code) in sources() {
        if OPERATOR_FILES.contains(&file.as_str()) {
            continue;
        }
        scanned += 1;
        for (line, literal) in literals(&strip_non_user_text(&code)) {
            let allowed = OPERATOR_TEXTS
                .iter()
                .any(|(f, start)| *f == file && literal.starts_with(start));
            if is_prose(&literal) && !allowed {
                left.push(format!("{file}:{line}: {literal:?}"));
            }
        }
    }
    assert!(scanned > 20, "only {scanned} files scanned");
    assert!(
        left.is_empty(),
        "English left in the code; move it to locales/*/*.ftl and use tr!:\n{}",
        left.join("\n")
    );
}

/// The scanner itself finds what it must: a sentence in a view, and not one in a log line.
#[test]
fn the_scanner_finds_a_sentence_and_ignores_logs() {
    let code = r#"
        fn view() -> Message { views::error("Please try again later.") }
        fn log() { tracing::warn!(user_id = 1, "could not DM the user, giving up"); }
        // A comment with many words in it.
        fn key() -> String { tr!(lang, "menu-title") }
    "#;
    let found: Vec<_> = literals(&strip_non_user_text(code))
        .into_iter()
        .filter(|(_, l)| is_prose(l))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(found, vec!["Please try again later.".to_string()]);
    assert_eq!(keys_used(code), vec!["menu-title".to_string()]);
}

/// README shows the main menu in Indonesian: the very words of the catalogue.
#[test]
fn the_readme_shows_the_indonesian_menu_of_the_catalogue() {
    let readme = std::fs::read_to_string(crate_dir().join("../README.md")).unwrap();
    let text = std::fs::read_to_string(crate_dir().join("locales/id/shop.ftl")).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{key} not in locales/id/shop.ftl"))
            .to_string()
    };
    for key in [
        "menu-order",
        "menu-topup",
        "menu-balance",
        "menu-history",
        "menu-help",
    ] {
        let label = format!("[ {} ]", value(key));
        assert!(readme.contains(&label), "README lacks {label}");
    }
    // The box wraps lines: compare the words in order, the box drawing removed.
    let words: Vec<&str> = readme
        .split_whitespace()
        .filter(|w| !w.chars().all(|c| "│┌┐└┘─".contains(c)))
        .collect();
    let description = value("menu-description");
    assert!(
        words.join(" ").contains(&description),
        "README's menu text differs from the catalogue: {description}"
    );
}
