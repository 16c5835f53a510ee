//! Midtrans transaction bodies (HTTP notifications and `GET /v2/{order_id}/status` answers),
//! parsed once at the edge into typed values: amounts become [`Idr`], the strings the signature
//! covers are kept exactly as received.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use shared_proto::{Idr, IdrParseError};

/// One transaction as Midtrans describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionView {
    pub order_id: String,
    /// As received (the signature covers this exact text).
    pub status_code: String,
    pub transaction_status: String,
    pub fraud_status: Option<String>,
    pub transaction_id: Option<String>,
    pub payment_type: Option<String>,
    /// As received (the signature covers this exact text), e.g. `"50000.00"`.
    pub gross_amount_text: String,
    pub gross_amount: Idr,
    /// With "automatic fee imposition", what the merchant asked for (without the customer's fee).
    pub original_amount: Option<Idr>,
    pub settlement_time: Option<DateTime<Utc>>,
    /// `refund_amount`: everything returned after settlement so far (refunds and chargebacks).
    pub refund_amount: Option<Idr>,
    /// `refunds[]`: each refund or chargeback, oldest first.
    pub refunds: Vec<ReturnedMoney>,
}

/// One refund or chargeback in `refunds[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedMoney {
    /// What identifies it across repeated notifications: Midtrans's `refund_chargeback_id`
    /// (`id:7`), else the merchant's `refund_key` (`key:…`), else its position and amount.
    pub key: String,
    pub amount: Idr,
}

/// An HTTP notification: a transaction plus its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub transaction: TransactionView,
    pub signature_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a JSON object")]
    NotJson,
    #[error("field {0} is missing or not a string")]
    Missing(&'static str),
    #[error("field {field} is not an amount: {source}")]
    Amount {
        field: &'static str,
        #[source]
        source: IdrParseError,
    },
}

/// Parses a notification body.
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ParseError::NotJson)?;
    let transaction = parse_transaction(&value)?;
    let signature_key =
        text(&value, "signature_key").ok_or(ParseError::Missing("signature_key"))?;
    Ok(Notification {
        transaction,
        signature_key,
    })
}

/// Parses a transaction object (a notification or a status answer).
pub fn parse_transaction(value: &Value) -> Result<TransactionView, ParseError> {
    if !value.is_object() {
        return Err(ParseError::NotJson);
    }
    let required = |name: &'static str| text(value, name).ok_or(ParseError::Missing(name));
    let order_id = required("order_id")?;
    let status_code = required("status_code")?;
    let transaction_status = required("transaction_status")?;
    let gross_amount_text = required("gross_amount")?;
    let gross_amount =
        Idr::parse_decimal(&gross_amount_text).map_err(|source| ParseError::Amount {
            field: "gross_amount",
            source,
        })?;
    let original_amount = match value
        .pointer("/metadata/extra_info/gross_amount_info/original_amount")
        .and_then(scalar_text)
    {
        None => None,
        Some(t) => Some(Idr::parse_decimal(&t).map_err(|source| ParseError::Amount {
            field: "metadata.extra_info.gross_amount_info.original_amount",
            source,
        })?),
    };
    let refund_amount = match value.get("refund_amount").and_then(scalar_text) {
        None => None,
        Some(t) => Some(Idr::parse_decimal(&t).map_err(|source| ParseError::Amount {
            field: "refund_amount",
            source,
        })?),
    };
    let refunds = match value.get("refunds").and_then(Value::as_array) {
        None => Vec::new(),
        Some(entries) => entries
            .iter()
            .enumerate()
            .map(|(n, entry)| returned_money(n, entry))
            .collect::<Result<_, _>>()?,
    };
    Ok(TransactionView {
        order_id,
        status_code,
        transaction_status,
        fraud_status: text(value, "fraud_status"),
        transaction_id: text(value, "transaction_id"),
        payment_type: text(value, "payment_type"),
        gross_amount_text,
        gross_amount,
        original_amount,
        settlement_time: text(value, "settlement_time").and_then(|t| parse_jakarta_time(&t)),
        refund_amount,
        refunds,
    })
}

fn returned_money(position: usize, entry: &Value) -> Result<ReturnedMoney, ParseError> {
    let amount_text =
        text(entry, "refund_amount").ok_or(ParseError::Missing("refunds[].refund_amount"))?;
    let amount = Idr::parse_decimal(&amount_text).map_err(|source| ParseError::Amount {
        field: "refunds[].refund_amount",
        source,
    })?;
    let key = match (
        text(entry, "refund_chargeback_id"),
        text(entry, "refund_key"),
    ) {
        (Some(id), _) => format!("id:{id}"),
        (None, Some(key)) => format!("key:{key}"),
        (None, None) => format!("n:{position}:{}", amount.rupiah()),
    };
    Ok(ReturnedMoney { key, amount })
}

/// A non-empty string field; numbers are accepted as their text (the signature is then computed
/// over that text, which is what a sender that wrote a number would have signed).
fn text(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(scalar_text)
        .filter(|s| !s.is_empty())
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Midtrans writes times as Jakarta wall-clock time (UTC+7) without an offset.
pub fn parse_jakarta_time(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    Some((naive - chrono::Duration::hours(7)).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midtrans::signature;
    use secrecy::SecretString;

    const SAMPLES: &[(&str, &str)] = &[
        (
            include_str!("../../tests/fixtures/qris-settlement-docs.json"),
            "08c38188bcfc2f3aded4c6ad9856fc192c844fc844a5b67285aae08f7d45c986720efdc5ab0618a8c7a7b9bfb33e003404f80b1bedc1d947b49506ea87ce3d4c",
        ),
        (
            include_str!("../../tests/fixtures/qris-settlement-gopay-pos.json"),
            "0fe882d2595b1dbff2881ea11b3bd13542d3df57bba34e0841a6c1271930ce4d3f7f112e572a6d2ad2d543c06b35fbd9beb4c6d4ad8ccd5117b80883fa8cdaa5",
        ),
        (
            include_str!("../../tests/fixtures/bank-transfer-settlement-sandbox.json"),
            "ed5a4a9e76cd7236048082267de541f243a4a24e673ad0460a9c70746f67f8045a11f66f6889cf9bf256b47e5c1a3e580b6ea1fe7cf0660679c66ed396a6c77b",
        ),
    ];

    #[test]
    fn every_shared_sample_parses_and_verifies_once_resigned() {
        let key = SecretString::from("SB-Mid-server-TEST".to_string());
        for (body, resigned) in SAMPLES {
            let n = parse_notification(body.as_bytes()).unwrap();
            let t = &n.transaction;
            assert_eq!(t.transaction_status, "settlement");
            assert!(t.gross_amount.is_positive());
            assert!(t.settlement_time.is_some());
            // Their own signatures were made with unpublished keys.
            assert!(!signature::verify(
                &t.order_id,
                &t.status_code,
                &t.gross_amount_text,
                &key,
                &n.signature_key
            ));
            let mut value: Value = serde_json::from_str(body).unwrap();
            value["signature_key"] = Value::String(resigned.to_string());
            let n = parse_notification(value.to_string().as_bytes()).unwrap();
            let t = &n.transaction;
            assert!(signature::verify(
                &t.order_id,
                &t.status_code,
                &t.gross_amount_text,
                &key,
                &n.signature_key
            ));
        }
    }

    #[test]
    fn amounts_and_times_are_typed() {
        let n = parse_notification(SAMPLES[0].0.as_bytes()).unwrap();
        assert_eq!(n.transaction.gross_amount, Idr::new(5539));
        assert_eq!(n.transaction.order_id, "qris-01");
        assert_eq!(
            n.transaction.settlement_time.unwrap().to_rfc3339(),
            "2021-06-23T07:06:48+00:00"
        );
    }

    #[test]
    fn fee_imposition_original_amount_is_read() {
        let body = serde_json::json!({
            "order_id": "o", "status_code": "200", "transaction_status": "settlement",
            "gross_amount": "50350.00", "signature_key": "x",
            "metadata": {"extra_info": {"gross_amount_info": {"original_amount": "50000", "gross_amount": 50350}}}
        });
        let n = parse_notification(body.to_string().as_bytes()).unwrap();
        assert_eq!(n.transaction.original_amount, Some(Idr::new(50000)));
        assert_eq!(n.transaction.gross_amount, Idr::new(50350));
    }

    #[test]
    fn refunds_are_read_with_a_stable_key_each() {
        let body = serde_json::json!({
            "order_id": "o", "status_code": "200", "transaction_status": "partial_refund",
            "gross_amount": "50000.00", "signature_key": "x", "refund_amount": "30000.00",
            "refunds": [
                {"refund_chargeback_id": 7, "refund_amount": "20000.00", "refund_key": "rk"},
                {"refund_key": "rk-2", "refund_amount": "5000.00"},
                {"refund_amount": "5000.00"}
            ]
        });
        let t = parse_notification(body.to_string().as_bytes())
            .unwrap()
            .transaction;
        assert_eq!(t.refund_amount, Some(Idr::new(30_000)));
        let keys: Vec<_> = t
            .refunds
            .iter()
            .map(|r| (r.key.as_str(), r.amount.rupiah()))
            .collect();
        assert_eq!(
            keys,
            [("id:7", 20_000), ("key:rk-2", 5_000), ("n:2:5000", 5_000)]
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(matches!(
            parse_notification(b"{not json"),
            Err(ParseError::NotJson)
        ));
        assert!(matches!(
            parse_notification(b"[]"),
            Err(ParseError::NotJson)
        ));
        assert!(matches!(
            parse_notification(br#"{"order_id":"o","status_code":"200","transaction_status":"settlement","gross_amount":"1.00"}"#),
            Err(ParseError::Missing("signature_key"))
        ));
        assert!(matches!(
            parse_notification(br#"{"order_id":"o","status_code":"200","transaction_status":"settlement","gross_amount":"1.50","signature_key":"x"}"#),
            Err(ParseError::Amount { .. })
        ));
        assert!(matches!(
            parse_notification(br#"{"status_code":"200","transaction_status":"settlement","gross_amount":"1.00","signature_key":"x"}"#),
            Err(ParseError::Missing("order_id"))
        ));
    }
}
