//! Discord's documented rules that its OpenAPI specification does not encode (the specification
//! allows 4000 characters of content and 40 components for the newer layouts): message content,
//! embeds, the legacy action-row layout, modals, and which interaction response types fit which
//! interaction. Pure functions over the request JSON; each failure names its path.

use std::collections::HashSet;

use serde_json::Value;

use super::form_errors::{path, FormError};

/// `IS_COMPONENTS_V2`: the message uses the newer layout components, not action rows alone.
const IS_COMPONENTS_V2: u64 = 1 << 15;
const MAX_CONTENT: usize = 2000;
const MAX_EMBEDS: usize = 10;
const MAX_EMBED_TOTAL: usize = 6000;
const MAX_ROWS: usize = 5;
const MAX_BUTTONS_PER_ROW: usize = 5;
const MAX_SELECT_OPTIONS: usize = 25;
const MAX_CUSTOM_ID: usize = 100;
const MAX_BUTTON_LABEL: usize = 80;
const MAX_MODAL_TITLE: usize = 45;
const MAX_MODAL_INPUTS: usize = 5;
/// Link buttons open `url` and carry no custom id.
const LINK_BUTTON_STYLE: u64 = 5;

const ACTION_ROW: u64 = 1;
const BUTTON: u64 = 2;
const STRING_SELECT: u64 = 3;
const TEXT_INPUT: u64 = 4;
/// String, user, role, mentionable and channel selects.
const SELECTS: [u64; 5] = [3, 5, 6, 7, 8];

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// The rules for a message body (create, edit, webhook execute/edit, callback types 4 and 7).
/// `at` is where the message sits in the request (`[]`, or `["data"]` in a callback).
pub(crate) fn message(body: &Value, at: &[String]) -> Vec<FormError> {
    let mut errors = Vec::new();
    if chars(&body["content"]) > MAX_CONTENT {
        errors.push(FormError::max_length(path(at, &["content"]), MAX_CONTENT));
    }
    embeds(body, at, &mut errors);
    let flags = body["flags"].as_u64().unwrap_or(0);
    if flags & IS_COMPONENTS_V2 == 0 {
        action_rows(body, at, &mut errors);
    }
    errors
}

fn embeds(body: &Value, at: &[String], errors: &mut Vec<FormError>) {
    let embeds = items(&body["embeds"]);
    if embeds.len() > MAX_EMBEDS {
        errors.push(FormError::max_length(path(at, &["embeds"]), MAX_EMBEDS));
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let i = i.to_string();
        let limits = [
            (&["title"][..], 256),
            (&["description"][..], 4096),
            (&["footer", "text"][..], 2048),
            (&["author", "name"][..], 256),
        ];
        for (field, max) in limits {
            let value = field.iter().fold(embed, |v, key| &v[*key]);
            let n = chars(value);
            total += n;
            if n > max {
                let mut p = path(at, &["embeds", &i]);
                p.extend(field.iter().map(|s| s.to_string()));
                errors.push(FormError::max_length(p, max));
            }
        }
        let fields = items(&embed["fields"]);
        if fields.len() > 25 {
            errors.push(FormError::max_length(
                path(at, &["embeds", &i, "fields"]),
                25,
            ));
        }
        for (j, field) in fields.iter().enumerate() {
            let j = j.to_string();
            for (key, max) in [("name", 256), ("value", 1024)] {
                let n = chars(&field[key]);
                total += n;
                if n == 0 || n > max {
                    errors.push(FormError::bad_length(
                        path(at, &["embeds", &i, "fields", &j, key]),
                        1,
                        max,
                    ));
                }
            }
        }
    }
    if total > MAX_EMBED_TOTAL {
        errors.push(FormError::new(
            path(at, &["embeds"]),
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"),
        ));
    }
}

/// The legacy layout: at most 5 action rows; a row holds up to 5 buttons or one select alone;
/// a select offers 1–25 options; custom ids are 1–100 characters and unique in the message.
fn action_rows(body: &Value, at: &[String], errors: &mut Vec<FormError>) {
    let rows = items(&body["components"]);
    if rows.len() > MAX_ROWS {
        errors.push(FormError::max_length(path(at, &["components"]), MAX_ROWS));
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let i = i.to_string();
        if row["type"].as_u64() != Some(ACTION_ROW) {
            errors.push(FormError::new(
                path(at, &["components", &i, "type"]),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1}.",
            ));
            continue;
        }
        let children = items(&row["components"]);
        let selects = children
            .iter()
            .filter(|c| c["type"].as_u64().is_some_and(|t| SELECTS.contains(&t)))
            .count();
        if children.len() > MAX_BUTTONS_PER_ROW {
            errors.push(FormError::max_length(
                path(at, &["components", &i, "components"]),
                MAX_BUTTONS_PER_ROW,
            ));
        } else if selects > 0 && children.len() > 1 {
            errors.push(FormError::new(
                path(at, &["components", &i, "components"]),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            ));
        }
        for (j, child) in children.iter().enumerate() {
            let here = path(at, &["components", &i, "components", &j.to_string()]);
            component(child, &here, &mut seen, errors);
        }
    }
}

fn component(
    child: &Value,
    here: &[String],
    seen: &mut HashSet<String>,
    errors: &mut Vec<FormError>,
) {
    let kind = child["type"].as_u64().unwrap_or(0);
    let link = kind == BUTTON && child["style"].as_u64() == Some(LINK_BUTTON_STYLE);
    match child["custom_id"].as_str() {
        Some(id) => {
            let n = id.chars().count();
            if n == 0 {
                errors.push(FormError::min_length(path(here, &["custom_id"]), 1));
            } else if n > MAX_CUSTOM_ID {
                errors.push(FormError::max_length(
                    path(here, &["custom_id"]),
                    MAX_CUSTOM_ID,
                ));
            } else if !seen.insert(id.to_string()) {
                errors.push(FormError::new(
                    path(here, &["custom_id"]),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                ));
            }
        }
        None if !link && (kind == BUTTON || SELECTS.contains(&kind)) => {
            errors.push(FormError::required(path(here, &["custom_id"])));
        }
        None => {}
    }
    if link && child["url"].as_str().is_none_or(str::is_empty) {
        errors.push(FormError::required(path(here, &["url"])));
    }
    if kind == BUTTON && chars(&child["label"]) > MAX_BUTTON_LABEL {
        errors.push(FormError::max_length(
            path(here, &["label"]),
            MAX_BUTTON_LABEL,
        ));
    }
    if kind == STRING_SELECT {
        let options = items(&child["options"]).len();
        if options == 0 {
            errors.push(FormError::min_length(path(here, &["options"]), 1));
        } else if options > MAX_SELECT_OPTIONS {
            errors.push(FormError::max_length(
                path(here, &["options"]),
                MAX_SELECT_OPTIONS,
            ));
        }
    }
}

/// The rules for a modal (callback type 9): a title of 1–45 characters and 1–5 rows, each
/// holding exactly one text input, custom ids unique.
pub(crate) fn modal(data: &Value, at: &[String]) -> Vec<FormError> {
    let mut errors = Vec::new();
    let title = chars(&data["title"]);
    if title == 0 {
        errors.push(FormError::min_length(path(at, &["title"]), 1));
    } else if title > MAX_MODAL_TITLE {
        errors.push(FormError::max_length(path(at, &["title"]), MAX_MODAL_TITLE));
    }
    let rows = items(&data["components"]);
    if rows.is_empty() {
        errors.push(FormError::min_length(path(at, &["components"]), 1));
    } else if rows.len() > MAX_MODAL_INPUTS {
        errors.push(FormError::max_length(
            path(at, &["components"]),
            MAX_MODAL_INPUTS,
        ));
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let i = i.to_string();
        if row["type"].as_u64() != Some(ACTION_ROW) {
            // Label and text display components are checked by the specification.
            continue;
        }
        let children = items(&row["components"]);
        if children.len() != 1 || children[0]["type"].as_u64() != Some(TEXT_INPUT) {
            errors.push(FormError::new(
                path(at, &["components", &i, "components"]),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "A modal row holds exactly one text input",
            ));
        }
        for (j, child) in children.iter().enumerate() {
            let here = path(at, &["components", &i, "components", &j.to_string()]);
            if let Some(id) = child["custom_id"].as_str() {
                if !seen.insert(id.to_string()) {
                    errors.push(FormError::new(
                        path(&here, &["custom_id"]),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    ));
                }
            }
        }
    }
    errors
}

/// Interaction types as Discord numbers them in INTERACTION_CREATE.
pub(crate) mod interaction_type {
    pub const PING: u64 = 1;
    pub const APPLICATION_COMMAND: u64 = 2;
    pub const MESSAGE_COMPONENT: u64 = 3;
    pub const AUTOCOMPLETE: u64 = 4;
    pub const MODAL_SUBMIT: u64 = 5;
}

/// The response types Discord accepts for an interaction: 4/5 always (not for autocomplete or
/// ping); 6/7 for components and for modal submits that came from a component (the submit then
/// carries its `message`); 9 (a modal) never in answer to a modal submit; 8 only for
/// autocomplete; 1 only for a ping.
pub(crate) fn allowed_callback_types(interaction_type: u64, from_message: bool) -> Vec<u64> {
    use interaction_type::*;
    match interaction_type {
        PING => vec![1],
        APPLICATION_COMMAND => vec![4, 5, 9, 10, 12],
        MESSAGE_COMPONENT => vec![4, 5, 6, 7, 9, 10, 12],
        AUTOCOMPLETE => vec![8],
        MODAL_SUBMIT if from_message => vec![4, 5, 6, 7],
        MODAL_SUBMIT => vec![4, 5],
        _ => Vec::new(),
    }
}

/// The callback's `type` checked against the interaction it answers.
pub(crate) fn callback_type(
    callback_type: u64,
    interaction_type: u64,
    from_message: bool,
) -> Option<FormError> {
    let allowed = allowed_callback_types(interaction_type, from_message);
    if allowed.contains(&callback_type) {
        return None;
    }
    let list = allowed
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Some(FormError::new(
        vec!["type".to_string()],
        "INTERACTION_CALLBACK_TYPE_INVALID",
        format!("Interaction callback type must be one of {{{list}}} for this interaction."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn button(id: &str) -> Value {
        json!({"type": 2, "style": 1, "label": "ok", "custom_id": id})
    }

    fn paths(errors: &[FormError]) -> Vec<String> {
        errors.iter().map(|e| e.path.join(".")).collect()
    }

    #[test]
    fn content_over_2000_characters_is_refused_at_content() {
        let ok = json!({"content": "é".repeat(2000)});
        assert!(message(&ok, &[]).is_empty());
        let long = json!({"content": "a".repeat(2001)});
        assert_eq!(paths(&message(&long, &[])), ["content"]);
    }

    #[test]
    fn layout_rules_name_the_offending_component() {
        let six_rows: Vec<Value> = (0..6)
            .map(|i| json!({"type": 1, "components": [button(&format!("b{i}"))]}))
            .collect();
        assert_eq!(
            paths(&message(&json!({"components": six_rows}), &[])),
            ["components"]
        );
        let select =
            json!({"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]});
        let shared = json!({"components": [{"type": 1, "components": [select, button("b")]}]});
        assert_eq!(paths(&message(&shared, &[])), ["components.0.components"]);
        let dup = json!({"components": [
            {"type": 1, "components": [button("x")]},
            {"type": 1, "components": [button("x")]},
        ]});
        let errors = message(&dup, &["data".to_string()]);
        assert_eq!(paths(&errors), ["data.components.1.components.0.custom_id"]);
        assert_eq!(errors[0].code, "COMPONENT_CUSTOM_ID_DUPLICATED");
    }

    #[test]
    fn components_v2_messages_skip_the_action_row_rules() {
        let rows: Vec<Value> = (0..6)
            .map(|i| json!({"type": 10, "content": format!("t{i}")}))
            .collect();
        assert!(message(&json!({"flags": 1 << 15, "components": rows}), &[]).is_empty());
    }

    #[test]
    fn embeds_together_may_not_exceed_6000_characters() {
        let embed = json!({"title": "t", "description": "d".repeat(3000)});
        assert!(message(&json!({"embeds": [embed.clone()]}), &[]).is_empty());
        let errors = message(&json!({"embeds": [embed.clone(), embed]}), &[]);
        assert_eq!(errors[0].code, "MAX_EMBED_SIZE_EXCEEDED");
    }

    #[test]
    fn modals_hold_a_short_title_and_one_to_five_single_input_rows() {
        let input = |id: &str| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "label": "L", "style": 1}]});
        let ok = json!({"custom_id": "m", "title": "t".repeat(45), "components": [input("a")]});
        assert!(modal(&ok, &[]).is_empty());
        let long = json!({"custom_id": "m", "title": "t".repeat(46), "components": [input("a")]});
        assert_eq!(paths(&modal(&long, &[])), ["title"]);
        let six: Vec<Value> = (0..6).map(|i| input(&format!("i{i}"))).collect();
        let many = json!({"custom_id": "m", "title": "t", "components": six});
        assert_eq!(paths(&modal(&many, &[])), ["components"]);
    }

    #[test]
    fn response_types_fit_the_interaction() {
        use interaction_type::*;
        assert!(callback_type(7, APPLICATION_COMMAND, false).is_some());
        assert!(callback_type(6, APPLICATION_COMMAND, false).is_some());
        assert!(callback_type(7, MESSAGE_COMPONENT, true).is_none());
        assert!(callback_type(9, MODAL_SUBMIT, true).is_some());
        assert!(callback_type(7, MODAL_SUBMIT, true).is_none());
        assert!(callback_type(7, MODAL_SUBMIT, false).is_some());
        for kind in [APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT] {
            assert!(callback_type(4, kind, false).is_none());
            assert!(callback_type(5, kind, false).is_none());
        }
    }
}
