//! The simulator's transactions, their state machine and how Midtrans renders them.
//!
//! In memory only; nothing here sends or listens.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::signature::{
    fee_metadata, format_amount, format_time, signature_key, status_code_for, NotificationSpec,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Pending,
    Settlement,
    Expire,
    Cancel,
    Deny,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Settlement => "settlement",
            Self::Expire => "expire",
            Self::Cancel => "cancel",
            Self::Deny => "deny",
        }
    }

    pub fn status_code(self) -> &'static str {
        status_code_for(self.as_str())
    }
}

/// One QRIS charge.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub transaction_id: Uuid,
    pub order_id: String,
    pub merchant_id: String,
    /// What the merchant asked for.
    pub base_amount: i64,
    /// Fee imposed on the customer on top of `base_amount` (0 without fee imposition).
    pub fee: i64,
    pub acquirer: String,
    pub status: TransactionStatus,
    pub transaction_time: DateTime<FixedOffset>,
    pub expiry_time: DateTime<FixedOffset>,
    pub settlement_time: Option<DateTime<FixedOffset>>,
    pub qr_string: String,
    pub notification_urls: Vec<String>,
}

impl Transaction {
    /// What the customer pays, fee included.
    pub fn gross_amount(&self) -> i64 {
        self.base_amount + self.fee
    }

    fn fee_imposed(&self) -> bool {
        self.fee != 0
    }

    /// The answer to a successful `POST /v2/charge`.
    pub fn charge_answer(&self, public_base_url: &str) -> Value {
        json!({
            "status_code": "201",
            "status_message": "QRIS transaction is created",
            "transaction_id": self.transaction_id.to_string(),
            "order_id": self.order_id,
            "merchant_id": self.merchant_id,
            "gross_amount": format_amount(self.gross_amount()),
            "currency": "IDR",
            "payment_type": "qris",
            "transaction_time": format_time(self.transaction_time),
            "transaction_status": "pending",
            "fraud_status": "accept",
            "actions": [{
                "name": "generate-qr-code",
                "method": "GET",
                "url": format!("{public_base_url}/v2/qris/{}/qr-code", self.transaction_id),
            }],
            "acquirer": self.acquirer,
            "qr_string": self.qr_string,
            "expiry_time": format_time(self.expiry_time),
        })
    }

    /// The answer to `GET /v2/{order_id}/status`.
    pub fn status_answer(&self, server_key: &str) -> Value {
        let gross_amount = format_amount(self.gross_amount());
        let status_code = self.status.status_code();
        let mut answer = json!({
            "status_code": status_code,
            "status_message": "Success, transaction is found",
            "transaction_id": self.transaction_id.to_string(),
            "order_id": self.order_id,
            "merchant_id": self.merchant_id,
            "gross_amount": gross_amount,
            "currency": "IDR",
            "payment_type": "qris",
            "transaction_time": format_time(self.transaction_time),
            "transaction_status": self.status.as_str(),
            "fraud_status": "accept",
            "acquirer": self.acquirer,
            "issuer": self.acquirer,
            "transaction_type": "on-us",
            "expiry_time": format_time(self.expiry_time),
            "signature_key": signature_key(&self.order_id, status_code, &gross_amount, server_key),
        });
        if let Some(object) = answer.as_object_mut() {
            if let Some(settled) = self.settlement_time {
                object.insert("settlement_time".into(), json!(format_time(settled)));
            }
            if self.fee_imposed() {
                object.insert("metadata".into(), fee_metadata(self.base_amount, self.fee));
            }
        }
        answer
    }

    /// The answer to `POST /v2/{order_id}/cancel` or `/expire` once the change is made.
    pub fn modification_answer(&self) -> Value {
        let status_message = match self.status {
            TransactionStatus::Expire => "Success, transaction has expired",
            _ => "Success, transaction is canceled",
        };
        json!({
            "status_code": self.status.status_code(),
            "status_message": status_message,
            "transaction_id": self.transaction_id.to_string(),
            "order_id": self.order_id,
            "merchant_id": self.merchant_id,
            "gross_amount": format_amount(self.gross_amount()),
            "currency": "IDR",
            "payment_type": "qris",
            "transaction_time": format_time(self.transaction_time),
            "transaction_status": self.status.as_str(),
            "fraud_status": "accept",
        })
    }

    /// The notification Midtrans would send for the transaction as it is now.
    pub fn notification_spec(&self) -> NotificationSpec {
        NotificationSpec {
            order_id: self.order_id.clone(),
            transaction_id: self.transaction_id.to_string(),
            transaction_status: self.status.as_str().to_owned(),
            status_code: self.status.status_code().to_owned(),
            gross_amount: self.gross_amount(),
            original_amount: self.fee_imposed().then_some(self.base_amount),
            fraud_status: "accept".to_owned(),
            transaction_time: format_time(self.transaction_time),
            settlement_time: self.settlement_time.map(format_time),
            expiry_time: Some(format_time(self.expiry_time)),
            merchant_id: self.merchant_id.clone(),
            acquirer: self.acquirer.clone(),
            issuer: self.acquirer.clone(),
            transaction_type: "on-us".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    UnknownOrder,
    /// Only pending transactions change state; this is what it is instead.
    NotPending(TransactionStatus),
}

/// All transactions by order id, in creation order.
#[derive(Default)]
pub struct TransactionStore {
    inner: Mutex<StoreInner>,
}

#[derive(Default)]
struct StoreInner {
    transactions: Vec<Transaction>,
    by_order_id: HashMap<String, usize>,
}

impl TransactionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner> {
        // A panic while holding the lock cannot leave a half-written transaction behind
        // (every change is a single assignment), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `transaction` unless its order id is taken; then answers `false`.
    pub fn insert(&self, transaction: Transaction) -> bool {
        let mut inner = self.lock();
        if inner.by_order_id.contains_key(&transaction.order_id) {
            return false;
        }
        let index = inner.transactions.len();
        inner
            .by_order_id
            .insert(transaction.order_id.clone(), index);
        inner.transactions.push(transaction);
        true
    }

    pub fn get(&self, order_id: &str) -> Option<Transaction> {
        let inner = self.lock();
        let index = *inner.by_order_id.get(order_id)?;
        inner.transactions.get(index).cloned()
    }

    pub fn by_transaction_id(&self, transaction_id: &str) -> Option<Transaction> {
        self.lock()
            .transactions
            .iter()
            .find(|t| t.transaction_id.to_string() == transaction_id)
            .cloned()
    }

    pub fn all(&self) -> Vec<Transaction> {
        self.lock().transactions.clone()
    }

    /// Moves a pending transaction to `to`; answers the transaction after the change.
    pub fn transition(
        &self,
        order_id: &str,
        to: TransactionStatus,
        at: DateTime<FixedOffset>,
    ) -> Result<Transaction, TransitionError> {
        let mut inner = self.lock();
        let index = *inner
            .by_order_id
            .get(order_id)
            .ok_or(TransitionError::UnknownOrder)?;
        let transaction = inner
            .transactions
            .get_mut(index)
            .ok_or(TransitionError::UnknownOrder)?;
        if transaction.status != TransactionStatus::Pending {
            return Err(TransitionError::NotPending(transaction.status));
        }
        transaction.status = to;
        if to == TransactionStatus::Settlement {
            transaction.settlement_time = Some(at);
        }
        Ok(transaction.clone())
    }
}
