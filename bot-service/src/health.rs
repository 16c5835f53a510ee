//! `/healthz` (process up), `/readyz` (broker connected and, when this replica holds the
//! gateway, the gateway session connected) and `/metrics` (Prometheus text).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::config::GatewayMode;
use crate::state::AppState;

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<Arc<AppState>>) -> HttpResponse {
    let broker = state.payments.broker().is_ready().await;
    let gateway = match state.settings.gateway {
        GatewayMode::Off => true,
        GatewayMode::Shards { .. } => state.gateway_connected(),
    };
    let body = serde_json::json!({ "broker": broker, "gateway": gateway });
    if broker && gateway {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<Arc<AppState>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Starts the health server on `listener`; returns the server future and its handle.
pub fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
) -> std::io::Result<(Server, ServerHandle)> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok((server, handle))
}
