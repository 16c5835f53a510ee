//! `/healthz` (the process answers), `/readyz` (database and broker reachable), `/metrics`.
//! Only `/healthz` is also on the public webhook port; see [`super::configure_internal`].

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::HttpState;
use crate::persistence;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    let (database, broker) =
        tokio::join!(persistence::is_ready(&state.db), state.broker.is_ready());
    let body = json!({"database": database, "broker": broker});
    if database && broker {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics(state: web::Data<HttpState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
