//! Parsing and validating a `POST /v2/charge` body the way Midtrans's validation answers it.

use chrono::{DateTime, Duration, FixedOffset};
use serde_json::Value;

/// A charge the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub order_id: String,
    pub gross_amount: i64,
    pub acquirer: String,
    pub expiry: Option<CustomExpiry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomExpiry {
    pub order_time: Option<DateTime<FixedOffset>>,
    pub duration: Duration,
}

/// QRIS transactions expire after 15 minutes unless `custom_expiry` says otherwise.
pub const DEFAULT_QRIS_EXPIRY_MINUTES: i64 = 15;

/// Midtrans's limit on order ids and the characters it allows in them.
pub fn valid_order_id(order_id: &str) -> bool {
    !order_id.is_empty()
        && order_id.chars().count() <= 50
        && order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~' | '.'))
}

/// Parses `body`; on failure answers Midtrans-style `validation_messages`.
pub fn parse_charge(body: &[u8]) -> Result<ChargeRequest, Vec<String>> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| vec!["Request body is not valid JSON".to_owned()])?;
    let mut problems = Vec::new();

    match json.get("payment_type").and_then(Value::as_str) {
        Some("qris") => {}
        Some(_) => {
            problems.push("payment_type is not supported by the simulator (only qris)".into())
        }
        None => problems.push("payment_type is required".into()),
    }

    let details = json.get("transaction_details");
    let order_id = match details.and_then(|d| d.get("order_id")) {
        Some(Value::String(id)) if valid_order_id(id) => Some(id.clone()),
        Some(Value::String(_)) => {
            problems.push(
                "transaction_details.order_id must be at most 50 characters of letters, digits, '-', '_', '~' and '.'"
                    .into(),
            );
            None
        }
        Some(_) => {
            problems.push("transaction_details.order_id must be a string".into());
            None
        }
        None => {
            problems.push("transaction_details.order_id is required".into());
            None
        }
    };
    let gross_amount = match details.and_then(|d| d.get("gross_amount")) {
        Some(amount) => match amount.as_i64() {
            Some(rupiah) if rupiah >= 1 => Some(rupiah),
            Some(_) => {
                problems.push(
                    "transaction_details.gross_amount must be greater than or equal to 1".into(),
                );
                None
            }
            None => {
                problems.push("transaction_details.gross_amount must be an integer".into());
                None
            }
        },
        None => {
            problems.push("transaction_details.gross_amount is required".into());
            None
        }
    };

    let acquirer = match json.get("qris").and_then(|q| q.get("acquirer")) {
        None | Some(Value::Null) => Some("gopay".to_owned()),
        Some(Value::String(a)) if a == "gopay" || a == "airpay shopee" => Some(a.clone()),
        Some(_) => {
            problems.push("qris.acquirer must be one of: gopay, airpay shopee".into());
            None
        }
    };

    let expiry = match json.get("custom_expiry") {
        None | Some(Value::Null) => None,
        Some(custom) => match parse_custom_expiry(custom) {
            Ok(expiry) => Some(expiry),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };

    match (order_id, gross_amount, acquirer) {
        (Some(order_id), Some(gross_amount), Some(acquirer)) if problems.is_empty() => {
            Ok(ChargeRequest {
                order_id,
                gross_amount,
                acquirer,
                expiry,
            })
        }
        _ => Err(problems),
    }
}

fn parse_custom_expiry(custom: &Value) -> Result<CustomExpiry, String> {
    let order_time = match custom.get("order_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z").map_err(|_| {
                "custom_expiry.order_time must look like 2024-01-31 23:59:00 +0700".to_owned()
            })?,
        ),
        Some(_) => return Err("custom_expiry.order_time must be a string".into()),
    };
    let amount = custom
        .get("expiry_duration")
        .and_then(Value::as_i64)
        .filter(|n| *n >= 1)
        .ok_or_else(|| "custom_expiry.expiry_duration must be a positive integer".to_owned())?;
    let duration = match custom.get("unit").and_then(Value::as_str) {
        Some("second" | "seconds") => Duration::try_seconds(amount),
        Some("minute" | "minutes") => Duration::try_minutes(amount),
        Some("hour" | "hours") => Duration::try_hours(amount),
        Some("day" | "days") => Duration::try_days(amount),
        _ => return Err("custom_expiry.unit must be one of: second, minute, hour, day".into()),
    }
    .ok_or_else(|| "custom_expiry.expiry_duration is too large".to_owned())?;
    Ok(CustomExpiry {
        order_time,
        duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_ids_follow_midtrans_rules() {
        assert!(valid_order_id("ORDER-123456789012345678-1700000000"));
        assert!(valid_order_id("a_b~c.d"));
        assert!(!valid_order_id(""));
        assert!(!valid_order_id("has space"));
        assert!(!valid_order_id("slash/no"));
        assert!(!valid_order_id(&"x".repeat(51)));
        assert!(valid_order_id(&"x".repeat(50)));
    }

    #[test]
    fn minimal_qris_charge_parses() {
        let body = json!({
            "payment_type": "qris",
            "transaction_details": {"order_id": "o-1", "gross_amount": 50000},
        });
        let parsed = parse_charge(body.to_string().as_bytes());
        assert_eq!(
            parsed,
            Ok(ChargeRequest {
                order_id: "o-1".into(),
                gross_amount: 50000,
                acquirer: "gopay".into(),
                expiry: None,
            })
        );
    }

    #[test]
    fn fractional_amounts_and_bad_units_are_refused() {
        let body = json!({
            "payment_type": "qris",
            "transaction_details": {"order_id": "o-1", "gross_amount": 500.5},
            "custom_expiry": {"expiry_duration": 5, "unit": "week"},
        });
        let problems = parse_charge(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn custom_expiry_with_order_time_parses() {
        let body = json!({
            "payment_type": "qris",
            "transaction_details": {"order_id": "o-1", "gross_amount": 10000},
            "custom_expiry": {"order_time": "2024-01-31 23:59:00 +0700", "expiry_duration": 15, "unit": "minute"},
        });
        let parsed = parse_charge(body.to_string().as_bytes()).unwrap();
        let expiry = parsed.expiry.unwrap();
        assert_eq!(expiry.duration, Duration::minutes(15));
        assert!(expiry.order_time.is_some());
    }
}
