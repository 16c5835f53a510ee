//! The REST route table, generated from Discord's OpenAPI specification (`openapi/openapi.json`,
//! vendored with its MIT licence): path templates → operations → request body schemas, and the
//! schema validation of a body with its failures turned into Discord's `errors` paths.
//!
//! The table is built once per process (the first fake started pays for parsing the 1 MB
//! specification); each body schema is compiled on first use and kept. Nothing here is written
//! by hand per route: a newer specification needs no code change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError, Validator};
use serde_json::{json, Value};

use super::form_errors::{FormError, FormErrors};

/// The specification, embedded so the fake needs no file at run time.
const SPEC: &str = include_str!("../../openapi/openapi.json");

/// One path segment of a template: a literal (`messages`, `@me`) or a parameter (`{channel_id}`).
#[derive(Debug)]
enum Segment {
    Literal(String),
    Parameter,
}

/// The request body an operation accepts, per media type.
#[derive(Debug)]
pub(crate) struct Operation {
    /// Discord's `operationId`, e.g. `create_message`.
    pub id: String,
    /// The body is required (`requestBody.required`).
    pub body_required: bool,
    /// Request body schemas by media type (`application/json`, `multipart/form-data`).
    bodies: HashMap<String, Value>,
}

impl Operation {
    pub fn has_body(&self) -> bool {
        !self.bodies.is_empty()
    }
}

#[derive(Debug)]
struct Route {
    template: Vec<Segment>,
    /// Literal segments: the most specific template wins (`/users/@me` over `/users/{id}`).
    literals: usize,
    /// By upper-case method.
    operations: HashMap<String, Operation>,
}

/// Every route of the specification, and the compiled body validators.
pub(crate) struct RouteTable {
    routes: Vec<Route>,
    /// `components` of the specification: the target of every `$ref`.
    components: Value,
    /// Compiled validators by (operation id, media type).
    validators: Mutex<HashMap<(String, String), Arc<Validator>>>,
    /// Discord's locales (`AvailableLocalesEnum`), e.g. `en-US`, `id`.
    locales: Vec<String>,
}

/// The table, built on first use. `Err` only if the vendored specification is broken.
pub(crate) fn table() -> Result<&'static RouteTable, String> {
    static TABLE: OnceLock<Result<RouteTable, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| RouteTable::from_spec(SPEC))
        .as_ref()
        .map_err(Clone::clone)
}

impl RouteTable {
    fn from_spec(text: &str) -> Result<Self, String> {
        let spec: Value = serde_json::from_str(text)
            .map_err(|e| format!("Discord's OpenAPI specification is not JSON: {e}"))?;
        let paths = spec["paths"]
            .as_object()
            .ok_or("Discord's OpenAPI specification has no paths")?;
        let mut routes = Vec::with_capacity(paths.len());
        for (template, item) in paths {
            let template: Vec<Segment> = template
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Parameter
                    } else {
                        Segment::Literal(s.to_string())
                    }
                })
                .collect();
            let literals = template
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            let mut operations = HashMap::new();
            for (method, op) in item.as_object().into_iter().flatten() {
                if method == "parameters" || !op.is_object() {
                    continue;
                }
                let bodies = op["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, media)| media["schema"].is_object())
                    .map(|(media_type, media)| {
                        let mut schema = media["schema"].clone();
                        accept_numeric_strings(&mut schema);
                        (media_type.clone(), schema)
                    })
                    .collect();
                operations.insert(
                    method.to_ascii_uppercase(),
                    Operation {
                        id: op["operationId"].as_str().unwrap_or(method).to_string(),
                        body_required: op["requestBody"]["required"].as_bool().unwrap_or(false),
                        bodies,
                    },
                );
            }
            routes.push(Route {
                template,
                literals,
                operations,
            });
        }
        if routes.is_empty() {
            return Err("Discord's OpenAPI specification lists no routes".into());
        }
        let mut components = spec["components"].clone();
        accept_numeric_strings(&mut components);
        // Discord reads a snowflake sent as a JSON integer as well as a string of digits
        // (serenity sends attachment ids as integers); the specification only lists the string.
        let snowflake = &mut components["schemas"]["SnowflakeType"];
        if snowflake.is_object() {
            let as_string = snowflake.clone();
            *snowflake = json!({"anyOf": [as_string, {"type": "integer", "minimum": 0}]});
        }
        let locales: Vec<String> = spec["components"]["schemas"]["AvailableLocalesEnum"]["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["const"].as_str().map(str::to_string))
            .collect();
        if locales.is_empty() {
            return Err("Discord's OpenAPI specification lists no locales".into());
        }
        Ok(Self {
            routes,
            components,
            validators: Mutex::new(HashMap::new()),
            locales,
        })
    }

    /// Discord's locales, as the specification's `AvailableLocalesEnum` lists them.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    /// How many path templates the specification has.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// The operation for a method and path segments (without `/api/v10`), if Discord has one.
    pub fn operation(&self, method: &str, segments: &[String]) -> Option<&Operation> {
        let method = method.to_ascii_uppercase();
        self.routes
            .iter()
            .filter(|route| {
                route.template.len() == segments.len()
                    && route.template.iter().zip(segments).all(|(t, s)| match t {
                        Segment::Literal(l) => l == s,
                        Segment::Parameter => !s.is_empty(),
                    })
            })
            .filter_map(|route| Some((route.literals, route.operations.get(&method)?)))
            .max_by_key(|(literals, _)| *literals)
            .map(|(_, op)| op)
    }

    /// Validates `body` against the operation's schema for `media_type` (falling back to its
    /// JSON schema). `Ok` with no errors when it fits or when the operation takes no body.
    pub fn validate(
        &self,
        operation: &Operation,
        media_type: &str,
        body: &Value,
    ) -> Result<FormErrors, String> {
        let media_type = if operation.bodies.contains_key(media_type) {
            media_type
        } else {
            "application/json"
        };
        let Some(schema) = operation.bodies.get(media_type) else {
            return Ok(FormErrors::default());
        };
        let validator = self.validator(&operation.id, media_type, schema)?;
        let mut errors = FormErrors::default();
        for error in validator.iter_errors(body) {
            collect(&error, &mut errors);
        }
        Ok(errors)
    }

    fn validator(
        &self,
        operation: &str,
        media_type: &str,
        schema: &Value,
    ) -> Result<Arc<Validator>, String> {
        let key = (operation.to_string(), media_type.to_string());
        if let Some(validator) = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(validator));
        }
        // The body schema sits beside the specification's components, so its
        // `#/components/schemas/...` references resolve as in the specification.
        let document = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.components,
        });
        let validator = jsonschema::draft202012::options()
            .build(&document)
            .map(Arc::new)
            .map_err(|e| format!("compiling the schema of {operation} ({media_type}): {e}"))?;
        self.validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&validator));
        Ok(validator)
    }
}

/// The path of a JSON pointer (`/data/components/0`) as segments.
fn segments_of(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Turns one schema failure into Discord's errors. A failed `anyOf`/`oneOf` (Discord's unions:
/// component kinds, callback kinds, "null or object") is reported through the branch the body
/// meant, the one whose `type` discriminator and JSON type fit, as Discord reports the field.
fn collect(error: &ValidationError<'_>, out: &mut FormErrors) {
    let path = segments_of(error.instance_path().as_str());
    match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            match intended_branch(&path, context) {
                Some(branch) => {
                    for inner in branch {
                        collect(inner, out);
                    }
                }
                None => out.push(FormError::new(
                    path,
                    "UNION_TYPE_CHOICES",
                    "Value is not one of the allowed kinds.",
                )),
            }
        }
        kind => out.push(describe(path, kind)),
    }
}

/// The branch of a union the body meant: not one refused for its `type` field or its JSON type
/// at the union's own place; of those, the one with the fewest failures.
fn intended_branch<'a>(
    path: &[String],
    branches: &'a [Vec<ValidationError<'static>>],
) -> Option<&'a Vec<ValidationError<'static>>> {
    let mut discriminator = path.to_vec();
    discriminator.push("type".to_string());
    branches
        .iter()
        .filter(|errors| !errors.is_empty())
        .filter(|errors| {
            !errors.iter().any(|e| {
                let at = segments_of(e.instance_path().as_str());
                (at == discriminator
                    && matches!(
                        e.kind(),
                        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
                    ))
                    || (at == path && matches!(e.kind(), ValidationErrorKind::Type { .. }))
            })
        })
        .min_by_key(|errors| errors.len())
}

/// Discord's code and message for a schema failure. The message never quotes the value.
fn describe(mut path: Vec<String>, kind: &ValidationErrorKind) -> FormError {
    match kind {
        ValidationErrorKind::MaxLength { limit } | ValidationErrorKind::MaxItems { limit } => {
            FormError::max_length(path, limit)
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MinItems { limit } => {
            FormError::min_length(path, limit)
        }
        ValidationErrorKind::Required { property } => {
            path.push(property.as_str().unwrap_or_default().to_string());
            FormError::required(path)
        }
        ValidationErrorKind::Type { kind } => type_error(path, kind),
        ValidationErrorKind::Enum { options }
        | ValidationErrorKind::Constant {
            expected_value: options,
        } => {
            let choices = match options.as_ref() {
                Value::Array(list) => list
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            FormError::new(
                path,
                "BASE_TYPE_CHOICES",
                format!("Value must be one of {{{choices}}}."),
            )
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => FormError::new(
            path,
            "NUMBER_TYPE_MIN",
            format!("Int value should be greater than or equal to {limit}."),
        ),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => FormError::new(
            path,
            "NUMBER_TYPE_MAX",
            format!("Int value should be less than or equal to {limit}."),
        ),
        // A string where an integer belongs (see `accept_numeric_strings`): Discord could not
        // coerce it.
        ValidationErrorKind::Pattern { pattern } if pattern == NUMERIC_STRING => {
            FormError::new(path, "NUMBER_TYPE_COERCE", "Value is not int.")
        }
        ValidationErrorKind::Pattern { .. } => FormError::new(
            path,
            "STRING_TYPE_REGEX",
            "String value did not match validation regex.",
        ),
        other => FormError::new(
            path,
            "BASE_TYPE_INVALID",
            format!("Invalid value ({} failed).", other.keyword()),
        ),
    }
}

/// Discord's coercion errors, named after the type the field needed.
fn type_error(path: Vec<String>, kind: &TypeKind) -> FormError {
    let expected: Vec<JsonType> = match kind {
        TypeKind::Single(t) => vec![*t],
        TypeKind::Multiple(set) => set.iter().collect(),
    };
    let wanted = expected
        .iter()
        .copied()
        .find(|t| *t != JsonType::Null)
        .unwrap_or(JsonType::Null);
    let (code, message) = match wanted {
        JsonType::Integer => ("NUMBER_TYPE_COERCE", "Value is not int."),
        JsonType::Number => ("NUMBER_TYPE_COERCE", "Value is not a number."),
        JsonType::Boolean => ("BOOLEAN_TYPE_COERCE", "Value is not a boolean."),
        JsonType::String => (
            "STRING_TYPE_CONVERT",
            "Could not interpret value as string.",
        ),
        JsonType::Array => (
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ),
        JsonType::Object => (
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        ),
        JsonType::Null => ("BASE_TYPE_INVALID", "Value must be null."),
    };
    FormError::new(path, code, message)
}

/// The pattern an integer field's string form must match (added only by
/// `accept_numeric_strings`, so a refusal by it means "not an integer").
const NUMERIC_STRING: &str = "^[0-9]+$";

/// Discord coerces a string of digits where its form expects an integer (its error for a value
/// that cannot be coerced is `NUMBER_TYPE_COERCE`): permission sets such as
/// `default_member_permissions` are documented as strings and sent as strings by serenity, while
/// the specification types them as integers. Every integer schema therefore also takes a string
/// of digits; a non-numeric string is still refused.
fn accept_numeric_strings(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if integer && !map.contains_key("pattern") {
                let mut types: Vec<Value> = match map.get("type") {
                    Some(Value::Array(ts)) => ts.clone(),
                    Some(t) => vec![t.clone()],
                    None => Vec::new(),
                };
                if !types.iter().any(|t| t == "string") {
                    types.push(Value::String("string".into()));
                }
                map.insert("type".into(), Value::Array(types));
                // Applies to strings only: integers keep their minimum and maximum.
                map.insert("pattern".into(), Value::String(NUMERIC_STRING.into()));
            }
            for value in map.values_mut() {
                accept_numeric_strings(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(accept_numeric_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_route_table_comes_from_the_specification() {
        let table = table().unwrap();
        assert!(table.route_count() > 100, "{}", table.route_count());
        let op = table
            .operation("POST", &segs("channels/1/messages"))
            .unwrap();
        assert_eq!(op.id, "create_message");
        assert!(op.has_body());
        let op = table
            .operation("PATCH", &segs("webhooks/1/tok/messages/@original"))
            .unwrap();
        assert_eq!(op.id, "update_original_webhook_message");
        let op = table.operation("GET", &segs("users/@me")).unwrap();
        assert_eq!(op.id, "get_my_user");
        assert!(table.operation("POST", &segs("no/such/route")).is_none());
    }

    #[test]
    fn a_wrong_type_is_reported_at_its_field() {
        let table = table().unwrap();
        let op = table
            .operation("POST", &segs("channels/1/messages"))
            .unwrap();
        let errors = table
            .validate(
                op,
                "application/json",
                &json!({"content": "hi", "flags": "sixty-four"}),
            )
            .unwrap();
        assert_eq!(
            errors.tree()["flags"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
        let errors = table
            .validate(
                op,
                "application/json",
                &json!({"content": "hi", "flags": 64}),
            )
            .unwrap();
        assert!(errors.is_empty(), "{:?}", errors.tree());
        // Discord coerces a string of digits.
        let errors = table
            .validate(
                op,
                "application/json",
                &json!({"content": "hi", "flags": "64"}),
            )
            .unwrap();
        assert!(errors.is_empty(), "{:?}", errors.tree());
    }

    #[test]
    fn a_union_reports_the_branch_the_body_meant() {
        let table = table().unwrap();
        let op = table
            .operation("POST", &segs("interactions/1/tok/callback"))
            .unwrap();
        let label = "x".repeat(81);
        let errors = table
            .validate(
                op,
                "application/json",
                &json!({"type": 4, "data": {"components": [{"type": 1, "components": [
                    {"type": 2, "style": 1, "custom_id": "a", "label": label}
                ]}]}}),
            )
            .unwrap();
        let tree = errors.tree();
        assert_eq!(
            tree["data"]["components"]["0"]["components"]["0"]["label"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH",
            "{tree}"
        );
    }
}
