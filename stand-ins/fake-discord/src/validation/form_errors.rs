//! Discord's `errors` tree of a 50035 "Invalid Form Body" answer: one nested object per path
//! segment (array indexes as strings), the failures of a field in its `_errors` list:
//! `{"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "..."}]}}`.
//!
//! Messages never quote the refused value: it may be a token or a redeem code.

use serde_json::{json, Map, Value};

/// One refused field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FormError {
    /// From the body's root, e.g. `["data", "components", "0", "components", "1", "label"]`.
    pub path: Vec<String>,
    /// Discord's code, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub code: String,
    pub message: String,
}

impl FormError {
    pub fn new(path: Vec<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            path,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn max_length(path: Vec<String>, max: impl std::fmt::Display) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    }

    pub fn min_length(path: Vec<String>, min: impl std::fmt::Display) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MIN_LENGTH",
            format!("Must be {min} or more in length."),
        )
    }

    pub fn bad_length(path: Vec<String>, min: usize, max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between {min} and {max} in length."),
        )
    }

    pub fn required(path: Vec<String>) -> Self {
        Self::new(path, "BASE_TYPE_REQUIRED", "This field is required")
    }
}

/// A path from a prefix and more segments.
pub(crate) fn path(prefix: &[String], more: &[&str]) -> Vec<String> {
    prefix
        .iter()
        .cloned()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

/// The failures collected for one request, deduplicated by path and code (the specification
/// and a documented rule may refuse the same field for the same reason).
#[derive(Clone, Debug, Default)]
pub(crate) struct FormErrors {
    errors: Vec<FormError>,
}

impl FormErrors {
    pub fn push(&mut self, error: FormError) {
        let known = self
            .errors
            .iter()
            .any(|e| e.path == error.path && e.code == error.code);
        if !known {
            self.errors.push(error);
        }
    }

    pub fn extend(&mut self, errors: impl IntoIterator<Item = FormError>) {
        for error in errors {
            self.push(error);
        }
    }

    /// Adds another set, keeping this one's failures first.
    pub fn merge(&mut self, other: FormErrors) {
        self.extend(other.errors);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The `errors` value of Discord's answer.
    pub fn tree(&self) -> Value {
        let mut root = Map::new();
        for error in &self.errors {
            let entry = json!({"code": error.code, "message": error.message});
            insert(&mut root, &error.path, entry);
        }
        Value::Object(root)
    }
}

fn insert(node: &mut Map<String, Value>, path: &[String], entry: Value) {
    match path.split_first() {
        None => {
            if let Value::Array(list) = node.entry("_errors").or_insert_with(|| json!([])) {
                list.push(entry);
            }
        }
        Some((head, rest)) => {
            if let Value::Object(child) = node.entry(head.clone()).or_insert_with(|| json!({})) {
                insert(child, rest, entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn nests_errors_by_path_like_discord() {
        let mut errors = FormErrors::default();
        errors.push(FormError::max_length(p("content"), 2000));
        errors.push(FormError::max_length(
            p("components.0.components.1.label"),
            80,
        ));
        errors.push(FormError::required(p(
            "components.0.components.1.custom_id",
        )));
        assert_eq!(
            errors.tree(),
            json!({
                "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]},
                "components": {"0": {"components": {"1": {
                    "label": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 80 or fewer in length."}]},
                    "custom_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]},
                }}}},
            })
        );
    }

    #[test]
    fn the_same_failure_twice_is_reported_once_and_root_errors_sit_at_the_top() {
        let mut errors = FormErrors::default();
        errors.push(FormError::max_length(p("content"), 2000));
        errors.push(FormError::max_length(p("content"), 4000));
        errors.push(FormError::new(Vec::new(), "DICT_TYPE_CONVERT", "x"));
        let tree = errors.tree();
        assert_eq!(tree["content"]["_errors"].as_array().map(Vec::len), Some(1));
        assert_eq!(tree["_errors"][0]["code"], "DICT_TYPE_CONVERT");
    }
}
