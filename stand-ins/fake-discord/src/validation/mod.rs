//! Discord's validation of REST request bodies, so a bot tested against the fake sends nothing
//! the real Discord would refuse: every body is checked against the request schema of its
//! operation in Discord's OpenAPI specification (`openapi.rs`, route table generated from the
//! vendored file) and against the documented rules the specification does not encode
//! (`rules.rs`). A refused body gets Discord's answer, 400 / 50035 "Invalid Form Body" with the
//! `errors` tree, before any route sees it: validation never changes the fake's state.

mod form_errors;
mod openapi;
mod rules;

use serde_json::{json, Map, Value};

use crate::model::{Part, RecordedBody};
use crate::state::Inner;

use form_errors::{FormError, FormErrors};

/// Discord's limit of files on one message.
const MAX_FILES: usize = 10;

/// What validation made of one request.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Discord takes no body on this route (or has no such route): nothing to check.
    Unchecked,
    /// The body fits the operation's schema and Discord's documented rules.
    Valid,
    /// Refused: Discord's `errors` tree for the 50035 answer.
    Invalid(Value),
    /// The vendored specification could not be used: a defect of the fake, not of the caller.
    Broken(String),
}

/// Loads the route table (once per process), so a broken specification stops the fake at start
/// instead of waving requests through.
pub(crate) fn load() -> anyhow::Result<usize> {
    openapi::table()
        .map(|t| t.route_count())
        .map_err(anyhow::Error::msg)
}

/// `Ok` if `locale` is one of Discord's locales (the specification's `AvailableLocalesEnum`,
/// e.g. `en-US`, `id`); else an error naming them.
pub(crate) fn check_locale(locale: &str) -> anyhow::Result<()> {
    let table = openapi::table().map_err(anyhow::Error::msg)?;
    let known = table.locales();
    if known.iter().any(|l| l == locale) {
        return Ok(());
    }
    anyhow::bail!(
        "unknown locale {locale:?}: Discord's locales are {}",
        known.join(", ")
    )
}

/// Validates one request's body.
pub(crate) fn check(
    inner: &Inner,
    method: &str,
    segments: &[String],
    body: &RecordedBody,
) -> Verdict {
    let table = match openapi::table() {
        Ok(table) => table,
        Err(e) => return Verdict::Broken(e),
    };
    let Some(operation) = table.operation(method, segments) else {
        return Verdict::Unchecked;
    };
    if !operation.has_body() {
        return Verdict::Unchecked;
    }
    let mut errors = FormErrors::default();
    let (media_type, instance) = match body {
        RecordedBody::Json(value) => ("application/json", value.clone()),
        RecordedBody::Multipart(parts) => {
            let files = parts.iter().filter(|p| p.filename.is_some()).count();
            if files > MAX_FILES {
                errors.push(FormError::max_length(vec!["files".into()], MAX_FILES));
            }
            ("multipart/form-data", multipart_instance(parts))
        }
        RecordedBody::Empty if operation.body_required => ("application/json", json!({})),
        // No body where none is required; a body that is neither JSON nor multipart is left to
        // the route, which reads it as empty.
        RecordedBody::Empty | RecordedBody::Other(_) => return Verdict::Unchecked,
    };
    // The documented rules first: where they and the specification refuse the same field, the
    // stricter documented limit is the one reported.
    errors.extend(documented_rules(inner, &operation.id, segments, &instance));
    match table.validate(operation, media_type, &instance) {
        Ok(found) => errors.merge(found),
        Err(e) => return Verdict::Broken(e),
    }
    if errors.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Invalid(errors.tree())
    }
}

/// A multipart body as the schema sees it: the fields of `payload_json`, plus each file part
/// under its form name (`files[0]`) as a (binary) string.
fn multipart_instance(parts: &[Part]) -> Value {
    let mut object = parts
        .iter()
        .find(|p| p.name == "payload_json")
        .and_then(|p| serde_json::from_slice::<Value>(&p.bytes).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_else(Map::new);
    for part in parts.iter().filter(|p| p.filename.is_some()) {
        object.insert(part.name.clone(), Value::String(String::new()));
    }
    Value::Object(object)
}

/// The rules Discord documents for this operation beyond its schema.
fn documented_rules(
    inner: &Inner,
    operation: &str,
    segments: &[String],
    body: &Value,
) -> Vec<FormError> {
    match operation {
        "create_message"
        | "update_message"
        | "execute_webhook"
        | "update_original_webhook_message"
        | "update_webhook_message" => rules::message(body, &[]),
        "create_interaction_response" => interaction_response(inner, segments, body),
        _ => Vec::new(),
    }
}

/// `POST /interactions/{id}/{token}/callback`: the response type must fit the interaction, and
/// its data follows the message rules (types 4 and 7) or the modal rules (type 9).
fn interaction_response(inner: &Inner, segments: &[String], body: &Value) -> Vec<FormError> {
    let mut errors = Vec::new();
    let Some(kind) = body["type"].as_u64() else {
        return errors;
    };
    let id = segments.get(1).and_then(|s| s.parse::<u64>().ok());
    let token = segments.get(2).map(String::as_str);
    let answered = inner
        .interactions
        .iter()
        .find(|i| Some(i.id) == id && Some(i.token.as_str()) == token);
    if let Some(interaction) = answered {
        let interaction_type = interaction.payload["type"].as_u64().unwrap_or(0);
        let from_message = interaction.payload["message"].is_object();
        errors.extend(rules::callback_type(kind, interaction_type, from_message));
    }
    let data = &body["data"];
    if data.is_object() {
        let at = ["data".to_string()];
        match kind {
            4 | 7 => errors.extend(rules::message(data, &at)),
            9 => errors.extend(rules::modal(data, &at)),
            _ => {}
        }
    }
    errors
}
