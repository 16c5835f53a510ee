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
use crate::clock::SimClock;
use crate::config::SimulatorConfig;
use crate::faults::{Endpoint, Fault, Faults};
use crate::idempotency::{usable_key, Begin, IdempotencyCache, StoredAnswer};
use crate::notifier::{DeliveryOutcome, NotificationRecord, Notifier};
use crate::qris::qr_string;
use crate::signature::{notification_body, notification_status_code_for, now_jakarta, resign};
use crate::transactions::{
    ReturnKind, ReturnRequest, Transaction, TransactionStatus, TransactionStore, TransitionError,
};

/// Midtrans takes up to 3 comma-separated URLs in `X-Override-Notification` /
/// `X-Append-Notification`.
pub const MAX_NOTIFICATION_URLS: usize = 3;

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

    /// `GET /v2/{order_id}/status` for an unknown order: HTTP 200, `status_code` "404".
    fn unknown_transaction() -> Self {
        Self::error(200, 404, "Transaction doesn't exist.")
    }

    /// A retry that arrived while the first request with its `Idempotency-Key` is still being
    /// processed: HTTP 202, not an error and not a final answer.
    fn in_progress() -> Self {
        Self::error(
            202,
            202,
            "The request with this Idempotency-Key is still being processed, please retry later",
        )
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
    clock: SimClock,
    /// While `true`, charges wait before they are processed (control API `/_sim/charge-hold`),
    /// so a test can retry one that is "still in progress".
    charge_hold: tokio::sync::watch::Sender<bool>,
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
            clock: SimClock::default(),
            charge_hold: tokio::sync::watch::channel(false).0,
            runtime,
            shutdown,
        })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Holds (`true`) or releases (`false`) every charge before it is processed.
    pub fn hold_charges(&self, hold: bool) {
        self.charge_hold.send_replace(hold);
    }

    pub fn charges_held(&self) -> bool {
        *self.charge_hold.borrow()
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

    /// `POST /v2/charge`. With a usable `Idempotency-Key`: a kept success is replayed, a retry
    /// while the first request is processed answers 202, anything else is processed. The
    /// processing runs as its own task, so a client that gives up does not cut it short (as at
    /// Midtrans, the charge still happens and its answer is kept).
    pub async fn charge(self: &Arc<Self>, call: ChargeCall) -> ApiAnswer {
        let key = usable_key(call.idempotency_key.as_deref());
        if let Some(key) = &key {
            match self.idempotency.begin(key, self.clock.now()) {
                Begin::Replay(stored) => {
                    return ApiAnswer {
                        http_status: stored.http_status,
                        body: stored.body,
                    }
                }
                Begin::InProgress => return ApiAnswer::in_progress(),
                Begin::Process => {}
            }
        }
        let state = Arc::clone(self);
        let processing = self.runtime.spawn(async move {
            let answer = state.process_charge(call).await;
            if let Some(key) = &key {
                let stored = StoredAnswer {
                    http_status: answer.http_status,
                    body: answer.body.clone(),
                };
                state.idempotency.finish(key, &stored, state.clock.now());
            }
            answer
        });
        processing.await.unwrap_or_else(|_| ApiAnswer::error_500())
    }

    async fn process_charge(self: &Arc<Self>, call: ChargeCall) -> ApiAnswer {
        let fault = self.faults.take(Endpoint::Charge).unwrap_or_default();
        if let Some(status) = fault.http_status {
            pause(fault).await;
            return ApiAnswer::injected(status);
        }
        let mut held = self.charge_hold.subscribe();
        tokio::select! {
            _ = held.wait_for(|held| !*held) => {}
            () = self.shutdown.cancelled() => return ApiAnswer::injected(503),
        }
        if !self.config.charge_processing_delay.is_zero() {
            tokio::time::sleep(self.config.charge_processing_delay).await;
        }
        let answer = self.charge_now(&call);
        pause(fault).await;
        answer
    }

    fn charge_now(self: &Arc<Self>, call: &ChargeCall) -> ApiAnswer {
        let urls = match self.notification_urls(call) {
            Ok(urls) => urls,
            Err(problem) => return ApiAnswer::validation(vec![problem]),
        };
        self.create_from(&call.body, urls)
    }

    fn notification_urls(&self, call: &ChargeCall) -> Result<Vec<String>, String> {
        fn split(header: &str, value: &str) -> Result<Vec<String>, String> {
            let mut urls: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
            // Midtrans documents "up to 3" URLs without saying what happens beyond; the
            // simulator notifies the first three and ignores the rest (see README).
            if urls.len() > MAX_NOTIFICATION_URLS {
                tracing::warn!(
                    header,
                    given = urls.len(),
                    "more than {MAX_NOTIFICATION_URLS} notification URLs; the rest are ignored"
                );
                urls.truncate(MAX_NOTIFICATION_URLS);
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
            refunds: Vec::new(),
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
            None => ApiAnswer::unknown_transaction(),
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
            Err(
                TransitionError::NotPending(_)
                | TransitionError::NotSettled(_)
                | TransitionError::TooMuch { .. },
            ) => ApiAnswer::error(
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

    /// Control API: return money on a settled transaction (a refund or a chargeback) and notify
    /// with `refund_amount` and `refunds[]`, status_code 200, signed over the original gross
    /// amount.
    pub async fn return_money(
        &self,
        order_id: &str,
        kind: ReturnKind,
        request: &ReturnRequest,
    ) -> Result<ControlOutcome, TransitionError> {
        let transaction = self
            .store
            .return_money(order_id, kind, request, now_jakarta())?;
        tracing::info!(%order_id, status = transaction.status.as_str(), "money returned");
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
            spec.status_code = notification_status_code_for(status).to_owned();
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
