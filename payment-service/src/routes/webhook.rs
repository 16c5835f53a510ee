//! `POST /webhook/midtrans`: Midtrans HTTP notifications.
//!
//! Answers (DESIGN.md §4): 200 handled, ignored or duplicate; 400 malformed JSON or missing
//! fields; 401 bad signature; 403 source not allowed; 413 body too large; 429 too many from one
//! address; **503** whenever the notification could not be recorded, so Midtrans retries (it
//! retries a 503 four times, a 500 once). Never 200 for a failure. Never logs the signature or
//! the server key.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use super::HttpState;
use crate::config::{IpNet, PaymentConfig};
use crate::midtrans::parse_notification;

/// How long the webhook may work on one notification before answering 503 (Midtrans: answer
/// within 5 seconds).
pub const WEBHOOK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(4500);

pub async fn midtrans_notification(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let arrived = Instant::now();
    let count = |outcome: &str| {
        state
            .metrics
            .notifications
            .with_label_values(&[outcome])
            .inc()
    };

    let source = state.guard.client_ip(&req);
    if !state.guard.allowed(source) {
        count("forbidden_source");
        tracing::warn!(source = ?source, "notification from a source outside the allowlist");
        return answer(HttpResponse::Forbidden(), "forbidden");
    }
    if !state.guard.within_rate(source) {
        count("rate_limited");
        return answer(HttpResponse::TooManyRequests(), "too many requests");
    }

    let notification = match parse_notification(&body) {
        Ok(n) => n,
        Err(e) => {
            count("malformed");
            tracing::warn!(error = %e, "malformed notification");
            return answer(HttpResponse::BadRequest(), "malformed notification");
        }
    };
    let order_id = notification.transaction.order_id.clone();
    if !state.topups.signature_ok(&notification) {
        count("bad_signature");
        tracing::warn!(%order_id, "notification with a bad signature");
        return answer(HttpResponse::Unauthorized(), "invalid signature");
    }
    // Midtrans advises answering within 5 seconds (it gives up at 15). The status check is
    // bounded on its own; this bounds everything else too (a slow database): past it the
    // notification counts as not recorded, 503, and Midtrans sends it again. Every change is a
    // conditional, idempotent transaction, so one that committed just before the cut-off makes
    // the retry a duplicate.
    let applied = tokio::time::timeout(
        WEBHOOK_DEADLINE,
        state.topups.apply_notification(&notification, arrived),
    )
    .await;
    let applied = match applied {
        Ok(result) => result,
        Err(_) => {
            count("timeout");
            tracing::error!(%order_id, "notification not handled within the deadline; Midtrans will retry");
            return answer(
                HttpResponse::ServiceUnavailable(),
                "temporarily unavailable",
            );
        }
    };
    match applied {
        Ok(outcome) => {
            count(outcome.label());
            tracing::info!(%order_id, outcome = outcome.label(), status = %notification.transaction.transaction_status, "notification handled");
            HttpResponse::Ok().json(json!({"status": "ok", "outcome": outcome.label()}))
        }
        Err(e) => {
            count("error");
            tracing::error!(%order_id, error = %e, "notification not recorded; Midtrans will retry");
            answer(
                HttpResponse::ServiceUnavailable(),
                "temporarily unavailable",
            )
        }
    }
}

fn answer(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder.json(json!({"status": "error", "message": message}))
}

/// The optional source allowlist and per-address rate limit.
pub struct SourceGuard {
    allowed: Vec<IpNet>,
    trusted_proxies: Vec<IpAddr>,
    /// `WEBHOOK_RATE_LIMIT_PER_SEC` per address (a GCRA bucket of one second's worth); `None`
    /// when unlimited.
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Bound on remembered addresses; past it, addresses whose bucket is full again are forgotten.
const MAX_TRACKED_SOURCES: usize = 10_000;

impl SourceGuard {
    pub fn from_config(config: &PaymentConfig) -> Self {
        SourceGuard {
            allowed: config.webhook_allowed_sources.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            limiter: NonZeroU32::new(config.webhook_rate_limit_per_sec)
                .map(|per_sec| RateLimiter::keyed(Quota::per_second(per_sec))),
        }
    }

    /// The caller's address: the TCP peer, or — only when the peer is a trusted proxy — the
    /// right-most `X-Forwarded-For` entry (the one that proxy added).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip());
        match peer {
            Some(p) if self.trusted_proxies.contains(&p) => req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|ip| ip.trim().parse().ok())
                .or(Some(p)),
            other => other,
        }
    }

    pub fn allowed(&self, ip: Option<IpAddr>) -> bool {
        if self.allowed.is_empty() {
            return true;
        }
        ip.is_some_and(|ip| self.allowed.iter().any(|net| net.contains(ip)))
    }

    /// At most `WEBHOOK_RATE_LIMIT_PER_SEC` notifications a second per address, in bursts of
    /// up to that many.
    pub fn within_rate(&self, ip: Option<IpAddr>) -> bool {
        let (Some(ip), Some(limiter)) = (ip, &self.limiter) else {
            return true;
        };
        if limiter.len() >= MAX_TRACKED_SOURCES {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).is_ok()
    }
}
