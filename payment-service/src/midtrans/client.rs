//! Midtrans Core API client: QRIS charge, status, cancel and expire.
//!
//! Every call has a timeout; connection errors and 5xx answers are retried a few times with
//! exponential backoff (a charge is safe to retry because it carries an `Idempotency-Key`);
//! 4xx answers never are. Midtrans also reports errors in the body's `status_code` while
//! answering HTTP 200, so the body decides, not only the HTTP status.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, FixedOffset, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use shared_proto::Idr;

use super::notification::{parse_jakarta_time, parse_transaction, TransactionView};
use crate::config::MidtransConfig;

/// Why a Midtrans call failed, in the cases a caller acts on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MidtransError {
    #[error("Midtrans refused the server key (401); check MIDTRANS_SERVER_KEY and MIDTRANS_IS_PRODUCTION")]
    Unauthorized,
    #[error("the order id is already used at Midtrans (406)")]
    DuplicateOrder,
    #[error("the transaction does not exist at Midtrans (404)")]
    NotFound,
    #[error("the transaction can no longer be changed (412)")]
    NotModifiable,
    #[error("Midtrans refused the request ({status_code}): {message}")]
    Rejected { status_code: u16, message: String },
    /// 5xx answers and connection errors, after the retries.
    #[error("Midtrans is unavailable: {0}")]
    Unavailable(String),
    /// No answer in time. Not retried: the request may have been processed.
    #[error("Midtrans did not answer in time")]
    Timeout,
    /// HTTP 202: a request with the same `Idempotency-Key` is still being processed. Not an
    /// error and not a final answer: ask again (same key) a little later.
    #[error("Midtrans is still processing an earlier request with the same idempotency key (202)")]
    InProgress,
    #[error("unexpected answer from Midtrans: {0}")]
    InvalidResponse(String),
}

impl MidtransError {
    fn is_retryable(&self) -> bool {
        matches!(self, MidtransError::Unavailable(_))
    }

    /// A short word for `topups.midtrans_status` when a charge fails.
    pub fn status_word(&self) -> String {
        match self {
            MidtransError::Unauthorized => "charge_error_401".into(),
            MidtransError::DuplicateOrder => "charge_error_406".into(),
            MidtransError::NotFound => "charge_error_404".into(),
            MidtransError::NotModifiable => "charge_error_412".into(),
            MidtransError::Rejected { status_code, .. } => format!("charge_error_{status_code}"),
            MidtransError::Unavailable(_) => "charge_unavailable".into(),
            MidtransError::Timeout => "charge_timeout".into(),
            MidtransError::InProgress => "charge_in_progress".into(),
            MidtransError::InvalidResponse(_) => "charge_invalid_response".into(),
        }
    }
}

/// A created QRIS charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrisCharge {
    pub transaction_id: String,
    pub transaction_status: String,
    /// The EMV payload to render as a QR code.
    pub qr_string: String,
    /// `actions[name = generate-qr-code].url`, when given.
    pub qr_url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// How retries behave; tests shorten the pauses.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: usize,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct MidtransClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    server_key: SecretString,
    webhook_url: Option<String>,
    expiry_minutes: u32,
    retry: RetryPolicy,
}

impl std::fmt::Debug for MidtransClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidtransClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

const JAKARTA_OFFSET_SECS: i32 = 7 * 3600;

impl MidtransClient {
    pub fn new(config: &MidtransConfig) -> anyhow::Result<Self> {
        Self::with_retry(config, RetryPolicy::default())
    }

    pub fn with_retry(config: &MidtransConfig, retry: RetryPolicy) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.request_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!(
                "redfinger-payment-service/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(MidtransClient {
            inner: Arc::new(Inner {
                http,
                base_url: config.api_base_url.trim_end_matches('/').to_string(),
                server_key: SecretString::from(config.server_key.expose_secret().to_string()),
                webhook_url: config.webhook_url.clone().filter(|u| !u.trim().is_empty()),
                expiry_minutes: config.qris_expiry_minutes.max(1),
                retry,
            }),
        })
    }

    /// The key notifications are signed with.
    pub fn server_key(&self) -> &SecretString {
        &self.inner.server_key
    }

    /// `POST /v2/charge` with `payment_type: qris`. `idempotency_key` (≤ 36 chars) makes a
    /// retried or repeated charge return the first answer instead of a second transaction.
    #[tracing::instrument(skip_all, fields(order_id = %order_id, amount = amount.rupiah()))]
    pub async fn charge_qris(
        &self,
        order_id: &str,
        amount: Idr,
        idempotency_key: &str,
    ) -> Result<QrisCharge, MidtransError> {
        let now = Utc::now();
        let jakarta = FixedOffset::east_opt(JAKARTA_OFFSET_SECS)
            .ok_or_else(|| MidtransError::InvalidResponse("time zone".into()))?;
        let body = json!({
            "payment_type": "qris",
            "transaction_details": {"order_id": order_id, "gross_amount": amount.rupiah()},
            "qris": {"acquirer": "gopay"},
            "custom_expiry": {
                "order_time": now.with_timezone(&jakarta).format("%Y-%m-%d %H:%M:%S %z").to_string(),
                "expiry_duration": self.inner.expiry_minutes,
                "unit": "minute",
            },
        });
        let url = format!("{}/v2/charge", self.inner.base_url);
        let answer = (|| async {
            let mut request = self
                .authorized(self.inner.http.post(&url))
                .header("Idempotency-Key", idempotency_key)
                .json(&body);
            if let Some(webhook) = &self.inner.webhook_url {
                request = request.header("X-Override-Notification", webhook);
            }
            send(request).await
        })
        .retry(self.backoff())
        .when(MidtransError::is_retryable)
        .await?;

        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
        let transaction_id = text("transaction_id").ok_or_else(|| {
            MidtransError::InvalidResponse("charge without transaction_id".into())
        })?;
        let qr_string = text("qr_string")
            .ok_or_else(|| MidtransError::InvalidResponse("charge without qr_string".into()))?;
        let qr_url = answer
            .get("actions")
            .and_then(Value::as_array)
            .and_then(|actions| {
                actions
                    .iter()
                    .find(|a| a.get("name").and_then(Value::as_str) == Some("generate-qr-code"))
            })
            .and_then(|a| a.get("url").and_then(Value::as_str))
            .map(str::to_string);
        let expires_at = text("expiry_time")
            .and_then(|t| parse_jakarta_time(&t))
            .unwrap_or_else(|| {
                now + chrono::Duration::minutes(i64::from(self.inner.expiry_minutes))
            });
        Ok(QrisCharge {
            transaction_id,
            transaction_status: text("transaction_status").unwrap_or_else(|| "pending".into()),
            qr_string,
            qr_url,
            expires_at,
        })
    }

    /// `GET /v2/{order_id}/status` once, answered within `deadline` or [`MidtransError::Timeout`]:
    /// for the webhook, which must answer Midtrans within 5 seconds whatever the status API does
    /// (a failure there answers 503 and Midtrans retries the notification later).
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn status_within(
        &self,
        order_id: &str,
        deadline: Duration,
    ) -> Result<TransactionView, MidtransError> {
        let url = format!(
            "{}/v2/{}/status",
            self.inner.base_url,
            path_segment(order_id)
        );
        let request = self.authorized(self.inner.http.get(&url)).timeout(deadline);
        let answer = match tokio::time::timeout(deadline, send(request)).await {
            Ok(answer) => answer?,
            Err(_) => return Err(MidtransError::Timeout),
        };
        parse_transaction(&answer).map_err(|e| MidtransError::InvalidResponse(e.to_string()))
    }

    /// `GET /v2/{order_id}/status`, retried on 5xx and connection errors.
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn status(&self, order_id: &str) -> Result<TransactionView, MidtransError> {
        let url = format!(
            "{}/v2/{}/status",
            self.inner.base_url,
            path_segment(order_id)
        );
        let answer = (|| async { send(self.authorized(self.inner.http.get(&url))).await })
            .retry(self.backoff())
            .when(MidtransError::is_retryable)
            .await?;
        parse_transaction(&answer).map_err(|e| MidtransError::InvalidResponse(e.to_string()))
    }

    /// `POST /v2/{order_id}/cancel`: the customer no longer wants to pay.
    pub async fn cancel(&self, order_id: &str) -> Result<String, MidtransError> {
        self.modify(order_id, "cancel").await
    }

    /// `POST /v2/{order_id}/expire`: close a transaction that is past its time.
    pub async fn expire(&self, order_id: &str) -> Result<String, MidtransError> {
        self.modify(order_id, "expire").await
    }

    /// Answers the transaction status Midtrans reports afterwards (`cancel` / `expire`).
    #[tracing::instrument(skip(self))]
    async fn modify(&self, order_id: &str, action: &str) -> Result<String, MidtransError> {
        let url = format!(
            "{}/v2/{}/{action}",
            self.inner.base_url,
            path_segment(order_id)
        );
        let answer = (|| async { send(self.authorized(self.inner.http.post(&url))).await })
            .retry(self.backoff())
            .when(MidtransError::is_retryable)
            .await?;
        Ok(answer
            .get("transaction_status")
            .and_then(Value::as_str)
            .unwrap_or(action)
            .to_string())
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .basic_auth(self.inner.server_key.expose_secret(), Some(""))
            .header("Accept", "application/json")
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.inner.retry.first_delay)
            .with_max_delay(self.inner.retry.max_delay)
            .with_max_times(self.inner.retry.attempts)
            .with_jitter()
    }
}

/// Order ids are restricted to `[A-Za-z0-9-_~.]`, which need no escaping; anything else is
/// percent-encoded so it cannot change the path.
fn path_segment(order_id: &str) -> String {
    url::form_urlencoded::byte_serialize(order_id.as_bytes()).collect()
}

/// Sends and classifies: the body's `status_code` wins over the HTTP status.
async fn send(request: reqwest::RequestBuilder) -> Result<Value, MidtransError> {
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            MidtransError::Timeout
        } else {
            // Connection refused/reset, DNS: nothing was processed, retrying is safe.
            MidtransError::Unavailable(without_url(&e))
        }
    })?;
    let http_status = response.status().as_u16();
    // HTTP 202 (whatever the body says): an earlier request with this Idempotency-Key is still
    // being processed. (A denied charge is a body status_code 202 in an HTTP 200.)
    if http_status == 202 {
        return Err(MidtransError::InProgress);
    }
    let bytes = response.bytes().await.map_err(|e| {
        if e.is_timeout() {
            MidtransError::Timeout
        } else {
            MidtransError::Unavailable(without_url(&e))
        }
    })?;
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let body_code = body
        .as_ref()
        .and_then(|b| b.get("status_code"))
        .and_then(|c| match c {
            Value::String(s) => s.trim().parse::<u16>().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        });
    let message = body
        .as_ref()
        .and_then(|b| b.get("status_message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if http_status >= 500 {
        return Err(MidtransError::Unavailable(format!(
            "HTTP {http_status} {message}"
        )));
    }
    let code = body_code.unwrap_or(http_status);
    match code {
        // 2xx: created/pending/denied transactions; 407: expired (a transaction state, not an error).
        200..=299 | 407 if http_status < 300 => {
            body.ok_or_else(|| MidtransError::InvalidResponse("body is not JSON".into()))
        }
        401 => Err(MidtransError::Unauthorized),
        404 => Err(MidtransError::NotFound),
        406 => Err(MidtransError::DuplicateOrder),
        412 => Err(MidtransError::NotModifiable),
        500..=599 => Err(MidtransError::Unavailable(format!(
            "status_code {code} {message}"
        ))),
        _ => Err(MidtransError::Rejected {
            status_code: code,
            message,
        }),
    }
}

/// reqwest errors print the URL; ours carries no secret, but keep messages short anyway.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    if e.is_connect() {
        format!("connection failed ({})", text.trim())
    } else {
        text.trim().to_string()
    }
}
