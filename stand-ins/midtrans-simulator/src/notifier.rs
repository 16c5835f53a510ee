//! Delivers notifications to webhooks the way Midtrans does, retrying on failure, and keeps a
//! log of every attempt for tests to inspect.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::NotificationRetry;
use crate::signature::{format_time, now_jakarta};

/// One delivery attempt of one notification to one URL.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotificationRecord {
    pub order_id: String,
    pub url: String,
    /// 1 for the first delivery, 2 for the first retry, …
    pub attempt: u32,
    pub transaction_status: String,
    pub status_code: String,
    /// The HTTP status the webhook answered; `None` when it did not answer (refused, timeout).
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub sent_at: String,
    pub body: Value,
}

/// How the first attempt to one URL went (retries continue in the background).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub url: String,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

pub struct Notifier {
    client: reqwest::Client,
    retry: NotificationRetry,
    log: Mutex<Vec<NotificationRecord>>,
    runtime: Handle,
    shutdown: CancellationToken,
}

impl Notifier {
    pub fn new(
        retry: NotificationRetry,
        timeout: Duration,
        runtime: Handle,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        // Midtrans follows 307/308 (the method and body survive) and nothing else.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let keeps_method = matches!(attempt.status().as_u16(), 307 | 308);
            if keeps_method && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(redirects)
            .user_agent("Veritrans")
            .build()?;
        Ok(Self {
            client,
            retry,
            log: Mutex::new(Vec::new()),
            runtime,
            shutdown,
        })
    }

    pub fn log(&self) -> Vec<NotificationRecord> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends `body` to every URL; answers once each first attempt is over, leaving retries to
    /// background tasks on the simulator's runtime.
    pub async fn dispatch(self: &Arc<Self>, urls: &[String], body: Value) -> Vec<DeliveryOutcome> {
        let mut firsts = Vec::with_capacity(urls.len());
        for url in urls {
            let (first_tx, first_rx) = oneshot::channel();
            let notifier = Arc::clone(self);
            let url = url.clone();
            let body = body.clone();
            self.runtime
                .spawn(async move { notifier.deliver(url, body, first_tx).await });
            firsts.push(first_rx);
        }
        let mut outcomes = Vec::with_capacity(firsts.len());
        for (url, first) in urls.iter().zip(firsts) {
            outcomes.push(first.await.unwrap_or_else(|_| DeliveryOutcome {
                url: url.clone(),
                http_status: None,
                error: Some("simulator stopped before delivering".to_owned()),
            }));
        }
        outcomes
    }

    async fn deliver(&self, url: String, body: Value, first: oneshot::Sender<DeliveryOutcome>) {
        let mut first = Some(first);
        let mut retries_done = 0usize;
        loop {
            let attempt = u32::try_from(retries_done + 1).unwrap_or(u32::MAX);
            let outcome = tokio::select! {
                outcome = self.attempt(&url, &body, attempt) => outcome,
                () = self.shutdown.cancelled() => return,
            };
            let http_status = outcome.http_status;
            if let Some(first) = first.take() {
                let _ = first.send(outcome);
            }
            let allowed = NotificationRetry::retries_for(http_status);
            let Some(pause) = self.retry.delays.get(retries_done).copied() else {
                return;
            };
            if retries_done >= allowed {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.shutdown.cancelled() => return,
            }
            retries_done += 1;
        }
    }

    async fn attempt(&self, url: &str, body: &Value, attempt: u32) -> DeliveryOutcome {
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let sent_at = format_time(now_jakarta());
        let result = self.client.post(url).json(body).send().await;
        let (http_status, error) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                // Drain the body so the connection can be reused.
                let _ = response.bytes().await;
                (Some(status), None)
            }
            Err(error) => (None, Some(describe(&error))),
        };
        tracing::info!(
            order_id = %field("order_id"),
            transaction_status = %field("transaction_status"),
            url,
            attempt,
            http_status,
            error = error.as_deref(),
            "notification attempt"
        );
        let record = NotificationRecord {
            order_id: field("order_id"),
            url: url.to_owned(),
            attempt,
            transaction_status: field("transaction_status"),
            status_code: field("status_code"),
            http_status,
            error: error.clone(),
            sent_at,
            body: body.clone(),
        };
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(record);
        DeliveryOutcome {
            url: url.to_owned(),
            http_status,
            error,
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else if error.is_redirect() {
        "too many redirects".to_owned()
    } else {
        "request failed".to_owned()
    }
}
