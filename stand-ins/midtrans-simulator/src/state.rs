//! The simulator's behaviour behind the HTTP routes: charges, state changes, notifications,
//! faults and idempotency. Routes only translate HTTP to these calls and back.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::charge_request::{parse_charge, ChargeRequest, DEFAULT_QRIS_EXPIRY_MINUTES};
use crate::config::SimulatorConfig;
use crate::faults::{Endpoint, Fault, Faults};
use crate::idempotency::{IdempotencyCache, StoredAnswer, MAX_KEY_LEN};
use crate::notifier::{DeliveryOutcome, NotificationRecord, Notifier};
use crate::qris::qr_string;
use crate::signature::{notification_body, now_jakarta, resign, status_code_for};
use crate::transactions::{Transaction, TransactionStatus, TransactionStore, TransitionError};

/// An HTTP status and a JSON body, as a Core API route answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    pub http_status: u16,
    pub body: Value,
}

impl ApiAnswer {
    fn ok(body: Value) -> Self {
        Self {
            http_status: 200,
            body,
        }
    }

    /// A Midtrans error body: `status_code` as a string, a message and a request id.
    fn error(http_status: u16, status_code: u16, message: &str) -> Self {
        Self {
            http_status,
            body: json!({
                "status_code": status_code.to_string(),
                "status_message": message,
                "id": Uuid::new_v4().to_string(),
            }),
        }
    }

    fn validation(messages: Vec<String>) -> Self {
        let mut answer = Self::error(
            400,
            400,
            "One or more parameters in the payload is invalid.",
        );
        if let Some(object) = answer.body.as_object_mut() {
            object.insert("validation_messages".into(), json!(messages));
        }
        answer
    }

    pub fn unauthorized() -> Self {
        Self::error(
            401,
            401,
            "Access denied due to unauthorized transaction, please check client or server key",
        )
    }

    pub fn error_500() -> Self {
        Self::injected(500)
    }

    pub fn not_found() -> Self {
        Self::error(404, 404, "Transaction doesn't exist.")
    }

    fn injected(http_status: u16) -> Self {
        let message = match http_status {
            500 => "Sorry, we encountered internal server error. We will fix this soon.",
            503 => "Sorry. Our system is recovering from unexpected issues. Please retry.",
            429 => "Too many requests. Please retry later.",
            _ => "Simulated failure.",
        };
        Self::error(http_status, http_status, message)
    }
}

/// What the charge route extracted from the request.
#[derive(Debug, Clone, Default)]
pub struct ChargeCall {
    pub body: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub override_notification: Option<String>,
    pub append_notification: Option<String>,
}

/// The answer of a control action: the transaction afterwards, what was sent and how the first
/// delivery to each URL went.
#[derive(Debug, Clone, Serialize)]
pub struct ControlOutcome {
    pub transaction: Value,
    pub notification: Value,
    pub deliveries: Vec<DeliveryOutcome>,
}

/// Body of `POST /_sim/transactions/{order_id}/notify`: every field optional, defaults taken
/// from the transaction as it is now.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NotifyRequest {
    pub transaction_status: Option<String>,
    /// Defaults to the code matching `transaction_status`.
    pub status_code: Option<String>,
    /// Send this `gross_amount` string instead (signed over it unless `signature_key` is given).
    pub gross_amount: Option<String>,
    pub fraud_status: Option<String>,
    /// Send this signature instead of a correct one.
    pub signature_key: Option<String>,
    /// Send to these URLs instead of the transaction's.
    pub urls: Option<Vec<String>>,
    /// Send exactly this body; everything above except `urls` is ignored.
    pub body: Option<Value>,
}

pub struct SimulatorState {
    pub config: SimulatorConfig,
    pub public_base_url: String,
    store: TransactionStore,
    notifier: Arc<Notifier>,
    faults: Faults,
    idempotency: IdempotencyCache,
    runtime: Handle,
    shutdown: CancellationToken,
}

impl SimulatorState {
    pub fn new(
        config: SimulatorConfig,
        public_base_url: String,
        runtime: Handle,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let notifier = Notifier::new(
            config.notification_retry.clone(),
            config.notification_timeout,
            runtime.clone(),
            shutdown.clone(),
        )?;
        Ok(Self {
            idempotency: IdempotencyCache::new(config.idempotency_ttl),
            config,
            public_base_url,
            store: TransactionStore::default(),
            notifier: Arc::new(notifier),
            faults: Faults::default(),
            runtime,
            shutdown,
        })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Whether an `Authorization` header value is Basic auth with our server key as user name.
    pub fn authorized(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|h| h.strip_prefix("Basic ")) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        matches!(decoded.split_once(':'), Some((user, _)) if user == self.config.server_key)
    }

    pub async fn charge(self: &Arc<Self>, call: ChargeCall) -> ApiAnswer {
        let fault = self.faults.take(Endpoint::Charge).unwrap_or_default();
        if let Some(status) = fault.http_status {
            pause(fault).await;
            return ApiAnswer::injected(status);
        }
        let answer = self.charge_now(call);
        pause(fault).await;
        answer
    }

    fn charge_now(self: &Arc<Self>, call: ChargeCall) -> ApiAnswer {
        let key = call.idempotency_key.clone().filter(|k| !k.is_empty());
        if key
            .as_ref()
            .is_some_and(|k| k.chars().count() > MAX_KEY_LEN)
        {
            return ApiAnswer::validation(vec![format!(
                "Idempotency-Key must be at most {MAX_KEY_LEN} characters"
            )]);
        }
        let urls = match self.notification_urls(&call) {
            Ok(urls) => urls,
            Err(problem) => return ApiAnswer::validation(vec![problem]),
        };
        let Some(key) = key else {
            return self.create_from(&call.body, urls);
        };
        let mut cache = self.idempotency.lock();
        if let Some(stored) = cache.get(&key) {
            return ApiAnswer {
                http_status: stored.http_status,
                body: stored.body,
            };
        }
        let answer = self.create_from(&call.body, urls);
        cache.put(
            key,
            StoredAnswer {
                http_status: answer.http_status,
                body: answer.body.clone(),
            },
        );
        answer
    }

    fn notification_urls(&self, call: &ChargeCall) -> Result<Vec<String>, String> {
        fn split(header: &str, value: &str) -> Result<Vec<String>, String> {
            let urls: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
            if urls.len() > 2 {
                return Err(format!("{header} accepts at most 2 URLs"));
            }
            if let Some(bad) = urls
                .iter()
                .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
            {
                return Err(format!(
                    "{header} URL must start with http:// or https://: {bad}"
                ));
            }
            Ok(urls)
        }
        // Midtrans: when both headers come, X-Override-Notification wins.
        if let Some(value) = &call.override_notification {
            return split("X-Override-Notification", value);
        }
        let mut urls: Vec<String> = self
            .config
            .default_notification_url
            .iter()
            .cloned()
            .collect();
        if let Some(value) = &call.append_notification {
            urls.extend(split("X-Append-Notification", value)?);
        }
        Ok(urls)
    }

    fn create_from(self: &Arc<Self>, body: &[u8], urls: Vec<String>) -> ApiAnswer {
        match parse_charge(body) {
            Ok(request) => self.create(request, urls),
            Err(problems) => ApiAnswer::validation(problems),
        }
    }

    fn create(
        self: &Arc<Self>,
        request: ChargeRequest,
        notification_urls: Vec<String>,
    ) -> ApiAnswer {
        let now = now_jakarta();
        let expiry_time = match &request.expiry {
            Some(custom) => custom.order_time.unwrap_or(now) + custom.duration,
            None => now + chrono::Duration::minutes(DEFAULT_QRIS_EXPIRY_MINUTES),
        };
        let transaction_id = Uuid::new_v4();
        let fee = self.config.fee_imposition.unwrap_or(0);
        let transaction = Transaction {
            transaction_id,
            order_id: request.order_id.clone(),
            merchant_id: self.config.merchant_id.clone(),
            base_amount: request.gross_amount,
            fee,
            acquirer: request.acquirer,
            status: TransactionStatus::Pending,
            transaction_time: now,
            expiry_time,
            settlement_time: None,
            qr_string: qr_string(
                &self.config.merchant_id,
                &transaction_id.to_string(),
                request.gross_amount + fee,
            ),
            notification_urls,
        };
        let answer = transaction.charge_answer(&self.public_base_url);
        if !self.store.insert(transaction) {
            return ApiAnswer::error(
                200,
                406,
                "The request could not be completed due to a conflict with the current state of the target resource, please try again",
            );
        }
        tracing::info!(order_id = %request.order_id, gross_amount = request.gross_amount, "QRIS charge created");
        let until_expiry = (expiry_time - now).to_std().unwrap_or(Duration::ZERO);
        self.later(
            until_expiry,
            request.order_id.clone(),
            TransactionStatus::Expire,
        );
        if let Some(after) = self.config.auto_pay_after {
            self.later(after, request.order_id, TransactionStatus::Settlement);
        }
        ApiAnswer::ok(answer)
    }

    /// Moves `order_id` to `to` after `delay` if it is still pending then (expiry, auto-pay).
    fn later(self: &Arc<Self>, delay: Duration, order_id: String, to: TransactionStatus) {
        let state = Arc::clone(self);
        let shutdown = self.shutdown.clone();
        self.runtime.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(delay) => {
                    if let Ok(outcome) = state.change(&order_id, to).await {
                        tracing::info!(%order_id, status = to.as_str(), deliveries = outcome.deliveries.len(), "scheduled change");
                    }
                }
                () = shutdown.cancelled() => {}
            }
        });
    }

    pub async fn status(&self, order_id: &str) -> ApiAnswer {
        let fault = self.faults.take(Endpoint::Status).unwrap_or_default();
        pause(fault).await;
        if let Some(status) = fault.http_status {
            return ApiAnswer::injected(status);
        }
        match self.store.get(order_id) {
            Some(transaction) => ApiAnswer::ok(transaction.status_answer(&self.config.server_key)),
            None => ApiAnswer::not_found(),
        }
    }

    /// Core API `cancel` / `expire`: answers at once, notifies in the background.
    pub fn modify(self: &Arc<Self>, order_id: &str, to: TransactionStatus) -> ApiAnswer {
        match self.store.transition(order_id, to, now_jakarta()) {
            Ok(transaction) => {
                let answer = transaction.modification_answer();
                let state = Arc::clone(self);
                self.runtime.spawn(async move {
                    let body = state.signed(&transaction);
                    state
                        .notifier
                        .dispatch(&transaction.notification_urls, body)
                        .await;
                });
                ApiAnswer::ok(answer)
            }
            Err(TransitionError::UnknownOrder) => ApiAnswer::not_found(),
            Err(TransitionError::NotPending(_)) => ApiAnswer::error(
                200,
                412,
                "Merchant cannot modify the status of the transaction",
            ),
        }
    }

    /// Control API: change a pending transaction and notify, answering after the first delivery
    /// attempts.
    pub async fn change(
        &self,
        order_id: &str,
        to: TransactionStatus,
    ) -> Result<ControlOutcome, TransitionError> {
        let transaction = self.store.transition(order_id, to, now_jakarta())?;
        tracing::info!(%order_id, status = to.as_str(), "transaction changed");
        let body = self.signed(&transaction);
        Ok(self
            .send(&transaction, transaction.notification_urls.clone(), body)
            .await)
    }

    /// Control API: send a notification for `order_id` again, possibly altered.
    pub async fn renotify(
        &self,
        order_id: &str,
        request: NotifyRequest,
    ) -> Result<ControlOutcome, TransitionError> {
        let transaction = self
            .store
            .get(order_id)
            .ok_or(TransitionError::UnknownOrder)?;
        let urls = request
            .urls
            .clone()
            .unwrap_or_else(|| transaction.notification_urls.clone());
        let body = match request.body {
            Some(body) => body,
            None => self.altered(&transaction, &request),
        };
        Ok(self.send(&transaction, urls, body).await)
    }

    fn altered(&self, transaction: &Transaction, request: &NotifyRequest) -> Value {
        let mut spec = transaction.notification_spec();
        if let Some(status) = &request.transaction_status {
            spec.transaction_status = status.clone();
            spec.status_code = status_code_for(status).to_owned();
            if status == "settlement" && spec.settlement_time.is_none() {
                spec.settlement_time = Some(crate::signature::format_time(now_jakarta()));
            }
        }
        if let Some(code) = &request.status_code {
            spec.status_code = code.clone();
        }
        if let Some(fraud) = &request.fraud_status {
            spec.fraud_status = fraud.clone();
        }
        let mut body = notification_body(&spec, &self.config.server_key);
        if let (Some(gross), Some(object)) = (&request.gross_amount, body.as_object_mut()) {
            object.insert("gross_amount".into(), json!(gross));
        }
        resign(&mut body, &self.config.server_key);
        if let (Some(signature), Some(object)) = (&request.signature_key, body.as_object_mut()) {
            object.insert("signature_key".into(), json!(signature));
        }
        body
    }

    fn signed(&self, transaction: &Transaction) -> Value {
        notification_body(&transaction.notification_spec(), &self.config.server_key)
    }

    async fn send(
        &self,
        transaction: &Transaction,
        urls: Vec<String>,
        body: Value,
    ) -> ControlOutcome {
        let deliveries = if urls.is_empty() {
            tracing::info!(order_id = %transaction.order_id, "no notification URL; nothing sent");
            Vec::new()
        } else {
            self.notifier.dispatch(&urls, body.clone()).await
        };
        let current = self
            .store
            .get(&transaction.order_id)
            .unwrap_or_else(|| transaction.clone());
        ControlOutcome {
            transaction: current.status_answer(&self.config.server_key),
            notification: body,
            deliveries,
        }
    }

    /// The `generate-qr-code` image of a transaction, by transaction id.
    pub fn qr_png(&self, transaction_id: &str) -> Option<anyhow::Result<Vec<u8>>> {
        self.store
            .by_transaction_id(transaction_id)
            .map(|t| crate::qris::qr_png(&t.qr_string))
    }

    pub fn transactions(&self) -> Vec<Value> {
        self.store
            .all()
            .iter()
            .map(|t| {
                let mut view = t.status_answer(&self.config.server_key);
                if let Some(object) = view.as_object_mut() {
                    object.insert("notification_urls".into(), json!(t.notification_urls));
                    object.insert("qr_string".into(), json!(t.qr_string));
                }
                view
            })
            .collect()
    }

    pub fn transaction(&self, order_id: &str) -> Option<Value> {
        self.store
            .get(order_id)
            .map(|t| t.status_answer(&self.config.server_key))
    }

    pub fn notifications(&self) -> Vec<NotificationRecord> {
        self.notifier.log()
    }
}

async fn pause(fault: Fault) {
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
}
