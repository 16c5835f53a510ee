//! The HTTP edge (actix-web): the Midtrans webhook and the operator endpoints. Handlers only
//! translate HTTP to service calls and back; they log error chains and answer opaquely.

pub mod health;
pub mod webhook;

use std::sync::Arc;

use actix_web::web;
use broker::Broker;
use sea_orm::DatabaseConnection;

use crate::config::PaymentConfig;
use crate::metrics::Metrics;
use crate::topups::TopupService;

/// What the handlers share.
pub struct HttpState {
    pub config: Arc<PaymentConfig>,
    pub db: DatabaseConnection,
    pub broker: Broker,
    pub topups: TopupService,
    pub metrics: Metrics,
    pub guard: webhook::SourceGuard,
}

/// The public listener (`WEBHOOK_HOST:WEBHOOK_PORT`, reached by Midtrans): the webhook and
/// `/healthz` only; anything else is 404. `state` is shared by all workers.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<HttpState>) {
    let limit = state.config.webhook_max_body_bytes;
    cfg.app_data(state)
        .service(
            web::resource("/webhook/midtrans")
                .app_data(web::PayloadConfig::new(limit))
                .route(web::post().to(webhook::midtrans_notification)),
        )
        .route("/healthz", web::get().to(health::healthz));
}

/// The internal listener (`INTERNAL_HTTP_HOST:INTERNAL_HTTP_PORT`, loopback by default): what
/// operators and Prometheus read. Metrics tell order volumes and error rates, and `/readyz`
/// probes the database on every call, so neither belongs on the port the internet reaches.
pub fn configure_internal(cfg: &mut web::ServiceConfig, state: web::Data<HttpState>) {
    cfg.app_data(state)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics));
}
