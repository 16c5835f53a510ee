//! Midtrans Core API routes, with Midtrans's paths, headers and bodies.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{respond, State};
use crate::state::{ApiAnswer, ChargeCall};
use crate::transactions::TransactionStatus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/charge", web::post().to(charge))
        .route("/v2/{order_id}/status", web::get().to(status))
        .route("/v2/{order_id}/cancel", web::post().to(cancel))
        .route("/v2/{order_id}/expire", web::post().to(expire))
        .route("/v2/qris/{transaction_id}/qr-code", web::get().to(qr_code));
}

fn header(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn authorized(state: &State, request: &HttpRequest) -> bool {
    state.authorized(header(request, AUTHORIZATION.as_str()).as_deref())
}

async fn charge(state: State, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !authorized(&state, &request) {
        return respond(ApiAnswer::unauthorized());
    }
    let call = ChargeCall {
        body: body.to_vec(),
        idempotency_key: header(&request, "Idempotency-Key"),
        override_notification: header(&request, "X-Override-Notification"),
        append_notification: header(&request, "X-Append-Notification"),
    };
    respond(state.charge(call).await)
}

async fn status(state: State, request: HttpRequest, order_id: web::Path<String>) -> HttpResponse {
    if !authorized(&state, &request) {
        return respond(ApiAnswer::unauthorized());
    }
    respond(state.status(&order_id).await)
}

async fn cancel(state: State, request: HttpRequest, order_id: web::Path<String>) -> HttpResponse {
    if !authorized(&state, &request) {
        return respond(ApiAnswer::unauthorized());
    }
    respond(state.modify(&order_id, TransactionStatus::Cancel))
}

async fn expire(state: State, request: HttpRequest, order_id: web::Path<String>) -> HttpResponse {
    if !authorized(&state, &request) {
        return respond(ApiAnswer::unauthorized());
    }
    respond(state.modify(&order_id, TransactionStatus::Expire))
}

/// The QR image customers scan; public, like Midtrans's.
async fn qr_code(state: State, transaction_id: web::Path<String>) -> HttpResponse {
    match state.qr_png(&transaction_id) {
        Some(Ok(png)) => HttpResponse::Ok().content_type("image/png").body(png),
        Some(Err(error)) => {
            tracing::error!(error = format!("{error:#}"), "rendering a QR code");
            respond(ApiAnswer::error_500())
        }
        None => respond(ApiAnswer::not_found()),
    }
}
