//! Midtrans's notification signature and signed notification bodies.
//!
//! Pure functions, no I/O: tests in other crates use them to forge correctly (or deliberately
//! incorrectly) signed notifications without running the simulator.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

/// Midtrans reports every time in Jakarta time (UTC+7) without an offset.
pub const JAKARTA: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// The `YYYY-MM-DD HH:MM:SS` format of Midtrans's `transaction_time`, `settlement_time`, ….
pub const MIDTRANS_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Lowercase hex SHA-512 of `order_id + status_code + gross_amount + server_key`, the strings
/// exactly as they appear in the notification (e.g. `"50000.00"`).
pub fn signature_key(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &str,
) -> String {
    let mut hasher = Sha512::new();
    hasher.update(order_id.as_bytes());
    hasher.update(status_code.as_bytes());
    hasher.update(gross_amount.as_bytes());
    hasher.update(server_key.as_bytes());
    hex::encode(hasher.finalize())
}

/// Rupiah as Midtrans writes them in answers and notifications: `50000` → `"50000.00"`.
pub fn format_amount(rupiah: i64) -> String {
    format!("{rupiah}.00")
}

/// A time as Midtrans writes it: Jakarta wall-clock time, no offset.
pub fn format_time(time: DateTime<FixedOffset>) -> String {
    time.with_timezone(&JAKARTA)
        .format(MIDTRANS_TIME_FORMAT)
        .to_string()
}

/// Now, in Jakarta time.
pub fn now_jakarta() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&JAKARTA)
}

/// The `status_code` `GET /v2/{order_id}/status` pairs with a `transaction_status`
/// (an expired transaction answers 407 there).
pub fn status_code_for(transaction_status: &str) -> &'static str {
    match transaction_status {
        "pending" => "201",
        "deny" | "failure" => "202",
        "expire" => "407",
        // settlement, capture, cancel, refund, partial_refund, chargeback, authorize
        _ => "200",
    }
}

/// The `status_code` an HTTP notification carries for a `transaction_status`: 200 success
/// (settlement, capture, refunds, chargebacks), 201 pending, 202 for deny, cancel, expire and
/// failure. Differs from [`status_code_for`] (the status API) for `expire` (407 there) and
/// `cancel` (200 there).
pub fn notification_status_code_for(transaction_status: &str) -> &'static str {
    match transaction_status {
        "pending" => "201",
        "deny" | "cancel" | "expire" | "failure" => "202",
        _ => "200",
    }
}

/// Everything a notification says. [`NotificationSpec::new`] fills realistic defaults; change
/// the public fields for the case under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSpec {
    pub order_id: String,
    pub transaction_id: String,
    pub transaction_status: String,
    pub status_code: String,
    /// What the customer was charged, fee included (integer rupiah).
    pub gross_amount: i64,
    /// With fee imposition: the merchant's base amount, sent in
    /// `metadata.extra_info.gross_amount_info.original_amount`.
    pub original_amount: Option<i64>,
    pub fraud_status: String,
    pub transaction_time: String,
    /// Sent only when `Some` (Midtrans sends it for `settlement`).
    pub settlement_time: Option<String>,
    /// Sent only when `Some` (newer QRIS notifications carry it).
    pub expiry_time: Option<String>,
    pub merchant_id: String,
    pub acquirer: String,
    pub issuer: String,
    pub transaction_type: String,
    /// Money returned after settlement (refunds and chargebacks), sent as `refund_amount` and
    /// `refunds[]` when not empty.
    pub refunds: Vec<RefundEntry>,
}

/// One refund or chargeback of a settled transaction, as `refunds[]` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEntry {
    /// Midtrans's `refund_chargeback_id`: one numbering for refunds and chargebacks.
    pub refund_chargeback_id: u64,
    /// Integer rupiah; sent as `"5000.00"`.
    pub refund_amount: i64,
    pub created_at: String,
    pub reason: String,
    /// The merchant's key of a refund (absent for chargebacks, which the payer's bank starts).
    pub refund_key: Option<String>,
    /// `refund` or `chargeback`.
    pub kind: String,
}

impl RefundEntry {
    pub fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert(
            "refund_chargeback_id".into(),
            json!(self.refund_chargeback_id),
        );
        entry.insert(
            "refund_amount".into(),
            json!(format_amount(self.refund_amount)),
        );
        entry.insert("created_at".into(), json!(self.created_at));
        entry.insert("reason".into(), json!(self.reason));
        if let Some(key) = &self.refund_key {
            entry.insert("refund_key".into(), json!(key));
        }
        entry.insert("refund_method".into(), json!(self.kind));
        Value::Object(entry)
    }
}

/// `refund_amount` (the total returned so far) and `refunds[]` for a body, when any.
pub(crate) fn insert_refunds(body: &mut Map<String, Value>, refunds: &[RefundEntry]) {
    if refunds.is_empty() {
        return;
    }
    let total: i64 = refunds.iter().map(|r| r.refund_amount).sum();
    body.insert("refund_amount".into(), json!(format_amount(total)));
    body.insert(
        "refunds".into(),
        Value::Array(refunds.iter().map(RefundEntry::to_json).collect()),
    );
}

impl NotificationSpec {
    /// A QRIS notification for `order_id` in `transaction_status`, with the matching
    /// `status_code`, a fresh transaction id and the current time.
    pub fn new(order_id: &str, transaction_status: &str, gross_amount: i64) -> Self {
        let now = format_time(now_jakarta());
        Self {
            order_id: order_id.to_owned(),
            transaction_id: uuid::Uuid::new_v4().to_string(),
            transaction_status: transaction_status.to_owned(),
            status_code: notification_status_code_for(transaction_status).to_owned(),
            gross_amount,
            original_amount: None,
            fraud_status: "accept".to_owned(),
            transaction_time: now.clone(),
            settlement_time: (transaction_status == "settlement").then_some(now),
            expiry_time: None,
            merchant_id: crate::config::DEFAULT_MERCHANT_ID.to_owned(),
            acquirer: "gopay".to_owned(),
            issuer: "gopay".to_owned(),
            transaction_type: "on-us".to_owned(),
            refunds: Vec::new(),
        }
    }
}

/// The JSON body Midtrans POSTs for `spec`, shaped like `qris-settlement-docs.json`, signed
/// with `server_key`.
pub fn notification_body(spec: &NotificationSpec, server_key: &str) -> Value {
    let gross_amount = format_amount(spec.gross_amount);
    let signature = signature_key(&spec.order_id, &spec.status_code, &gross_amount, server_key);
    let mut body = Map::new();
    body.insert("transaction_type".into(), json!(spec.transaction_type));
    body.insert("transaction_time".into(), json!(spec.transaction_time));
    body.insert("transaction_status".into(), json!(spec.transaction_status));
    body.insert("transaction_id".into(), json!(spec.transaction_id));
    body.insert(
        "status_message".into(),
        json!("midtrans payment notification"),
    );
    body.insert("status_code".into(), json!(spec.status_code));
    body.insert("signature_key".into(), json!(signature));
    if let Some(settlement_time) = &spec.settlement_time {
        body.insert("settlement_time".into(), json!(settlement_time));
    }
    if let Some(expiry_time) = &spec.expiry_time {
        body.insert("expiry_time".into(), json!(expiry_time));
    }
    body.insert("payment_type".into(), json!("qris"));
    body.insert("order_id".into(), json!(spec.order_id));
    body.insert("merchant_id".into(), json!(spec.merchant_id));
    body.insert("issuer".into(), json!(spec.issuer));
    body.insert("gross_amount".into(), json!(gross_amount));
    body.insert("fraud_status".into(), json!(spec.fraud_status));
    body.insert("currency".into(), json!("IDR"));
    body.insert("acquirer".into(), json!(spec.acquirer));
    if let Some(original) = spec.original_amount {
        body.insert(
            "metadata".into(),
            fee_metadata(original, spec.gross_amount - original),
        );
    }
    insert_refunds(&mut body, &spec.refunds);
    Value::Object(body)
}

/// `metadata.extra_info.gross_amount_info` with the value types of Midtrans's documented sample
/// (`original_amount` and the fee as strings, `gross_amount` as a number).
pub(crate) fn fee_metadata(original_amount: i64, fee: i64) -> Value {
    json!({
        "extra_info": {
            "gross_amount_info": {
                "original_amount": original_amount.to_string(),
                "gross_amount": original_amount + fee,
                "customer_imposed_payment_fee": fee.to_string(),
            }
        }
    })
}

/// Re-signs an already built notification (after its `status_code` or `gross_amount` was
/// changed), in place. Leaves bodies without those fields alone.
pub fn resign(body: &mut Value, server_key: &str) {
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    if let (Some(order_id), Some(status_code), Some(gross_amount)) = (
        field("order_id"),
        field("status_code"),
        field("gross_amount"),
    ) {
        let signature = signature_key(&order_id, &status_code, &gross_amount, server_key);
        if let Some(object) = body.as_object_mut() {
            object.insert("signature_key".into(), Value::String(signature));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_two_decimals() {
        assert_eq!(format_amount(50_000), "50000.00");
        assert_eq!(format_amount(0), "0.00");
    }

    #[test]
    fn status_codes_follow_midtrans() {
        assert_eq!(status_code_for("settlement"), "200");
        assert_eq!(status_code_for("pending"), "201");
        assert_eq!(status_code_for("deny"), "202");
        assert_eq!(status_code_for("expire"), "407");
        assert_eq!(status_code_for("cancel"), "200");
    }

    #[test]
    fn notifications_carry_202_for_deny_cancel_and_expire() {
        for status in ["deny", "cancel", "expire"] {
            assert_eq!(notification_status_code_for(status), "202", "{status}");
            assert_eq!(NotificationSpec::new("o", status, 1).status_code, "202");
        }
        assert_eq!(notification_status_code_for("settlement"), "200");
        assert_eq!(notification_status_code_for("pending"), "201");
        assert_eq!(notification_status_code_for("refund"), "200");
        assert_eq!(notification_status_code_for("partial_chargeback"), "200");
    }

    #[test]
    fn fee_imposition_puts_the_base_in_metadata() {
        let mut spec = NotificationSpec::new("ORDER-1-2", "settlement", 50_700);
        spec.original_amount = Some(50_000);
        let body = notification_body(&spec, "k");
        assert_eq!(body["gross_amount"], "50700.00");
        assert_eq!(
            body["metadata"]["extra_info"]["gross_amount_info"]["original_amount"],
            "50000"
        );
        assert_eq!(
            body["signature_key"],
            signature_key("ORDER-1-2", "200", "50700.00", "k")
        );
    }
}
