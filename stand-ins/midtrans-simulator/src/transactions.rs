//! The simulator's transactions, their state machine and how Midtrans renders them.
//!
//! In memory only; nothing here sends or listens.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::signature::{
    fee_metadata, format_amount, format_time, insert_refunds, notification_status_code_for,
    signature_key, status_code_for, NotificationSpec, RefundEntry,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Pending,
    Settlement,
    Expire,
    Cancel,
    Deny,
    /// Everything returned to the payer by refunds.
    Refund,
    PartialRefund,
    /// Everything taken back by the payer's bank (chargebacks, possibly after partial refunds).
    Chargeback,
    PartialChargeback,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Settlement => "settlement",
            Self::Expire => "expire",
            Self::Cancel => "cancel",
            Self::Deny => "deny",
            Self::Refund => "refund",
            Self::PartialRefund => "partial_refund",
            Self::Chargeback => "chargeback",
            Self::PartialChargeback => "partial_chargeback",
        }
    }

    /// The code `GET /v2/{order_id}/status` answers with.
    pub fn status_code(self) -> &'static str {
        status_code_for(self.as_str())
    }

    /// The code a notification for this status carries.
    pub fn notification_status_code(self) -> &'static str {
        notification_status_code_for(self.as_str())
    }

    /// Whether money can still be returned: settled, or partly returned already.
    fn returnable(self) -> bool {
        matches!(
            self,
            Self::Settlement | Self::PartialRefund | Self::PartialChargeback
        )
    }
}

/// Money returned after settlement: by the merchant (refund) or the payer's bank (chargeback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnKind {
    Refund,
    Chargeback,
}

impl ReturnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Chargeback => "chargeback",
        }
    }

    /// The transaction status after returning money: full when nothing is left.
    fn status(self, full: bool) -> TransactionStatus {
        match (self, full) {
            (Self::Refund, true) => TransactionStatus::Refund,
            (Self::Refund, false) => TransactionStatus::PartialRefund,
            (Self::Chargeback, true) => TransactionStatus::Chargeback,
            (Self::Chargeback, false) => TransactionStatus::PartialChargeback,
        }
    }
}

/// What to return; see [`TransactionStore::return_money`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReturnRequest {
    /// Integer rupiah; default: everything not yet returned.
    pub amount: Option<i64>,
    pub reason: Option<String>,
    /// A refund's key (Midtrans: the merchant's `refund_key`); default generated. Ignored for
    /// chargebacks.
    pub refund_key: Option<String>,
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
    /// Refunds and chargebacks after settlement, oldest first.
    pub refunds: Vec<RefundEntry>,
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
            insert_refunds(object, &self.refunds);
        }
        answer
    }

    /// What has not been returned yet (rupiah, fee included).
    pub fn returnable_amount(&self) -> i64 {
        self.gross_amount() - self.refunds.iter().map(|r| r.refund_amount).sum::<i64>()
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
            status_code: self.status.notification_status_code().to_owned(),
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
            refunds: self.refunds.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    UnknownOrder,
    /// Only pending transactions change state; this is what it is instead.
    NotPending(TransactionStatus),
    /// Money is returned only after settlement; this is what it is instead.
    NotSettled(TransactionStatus),
    /// More than is left to return (rupiah left).
    TooMuch {
        returnable: i64,
    },
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

    /// Returns money on a settled transaction: a refund or a chargeback of `request.amount`
    /// (default: all that is left). The status becomes `refund`/`chargeback` when nothing is
    /// left, `partial_refund`/`partial_chargeback` otherwise.
    pub fn return_money(
        &self,
        order_id: &str,
        kind: ReturnKind,
        request: &ReturnRequest,
        at: DateTime<FixedOffset>,
    ) -> Result<Transaction, TransitionError> {
        let mut inner = self.lock();
        let next_id = inner
            .transactions
            .iter()
            .map(|t| t.refunds.len() as u64)
            .sum::<u64>()
            + 1;
        let index = *inner
            .by_order_id
            .get(order_id)
            .ok_or(TransitionError::UnknownOrder)?;
        let transaction = inner
            .transactions
            .get_mut(index)
            .ok_or(TransitionError::UnknownOrder)?;
        if !transaction.status.returnable() {
            return Err(TransitionError::NotSettled(transaction.status));
        }
        let returnable = transaction.returnable_amount();
        let amount = request.amount.unwrap_or(returnable);
        if amount <= 0 || amount > returnable {
            return Err(TransitionError::TooMuch { returnable });
        }
        transaction.refunds.push(RefundEntry {
            refund_chargeback_id: next_id,
            refund_amount: amount,
            created_at: format_time(at),
            reason: request
                .reason
                .clone()
                .unwrap_or_else(|| format!("simulated {}", kind.as_str())),
            refund_key: match kind {
                ReturnKind::Refund => Some(
                    request
                        .refund_key
                        .clone()
                        .unwrap_or_else(|| format!("sim-refund-{next_id}")),
                ),
                ReturnKind::Chargeback => None,
            },
            kind: kind.as_str().to_owned(),
        });
        transaction.status = kind.status(amount == returnable);
        Ok(transaction.clone())
    }
}
