//! The simulator's own control API (`/_sim/`) for tests and demos: act as the customer, replay
//! notifications, inspect what was sent and inject faults. Midtrans has no such thing.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::State;
use crate::faults::FaultRequest;
use crate::state::{ControlOutcome, NotifyRequest};
use crate::transactions::{ReturnKind, ReturnRequest, TransactionStatus, TransitionError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/health", web::get().to(health))
        .route("/_sim/transactions", web::get().to(list_transactions))
        .route(
            "/_sim/transactions/{order_id}",
            web::get().to(get_transaction),
        )
        .route("/_sim/transactions/{order_id}/pay", web::post().to(pay))
        .route(
            "/_sim/transactions/{order_id}/expire",
            web::post().to(expire),
        )
        .route("/_sim/transactions/{order_id}/deny", web::post().to(deny))
        .route(
            "/_sim/transactions/{order_id}/cancel",
            web::post().to(cancel),
        )
        .route(
            "/_sim/transactions/{order_id}/notify",
            web::post().to(notify),
        )
        .route(
            "/_sim/transactions/{order_id}/refund",
            web::post().to(refund),
        )
        .route(
            "/_sim/transactions/{order_id}/chargeback",
            web::post().to(chargeback),
        )
        .route("/_sim/charge-hold", web::get().to(get_hold))
        .route("/_sim/charge-hold", web::post().to(hold))
        .route("/_sim/charge-hold", web::delete().to(release))
        .route("/_sim/clock", web::post().to(advance_clock))
        .route("/_sim/notifications", web::get().to(notifications))
        .route("/_sim/faults", web::get().to(get_faults))
        .route("/_sim/faults", web::post().to(arm_faults))
        .route("/_sim/faults", web::delete().to(clear_faults));
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn list_transactions(state: State) -> HttpResponse {
    HttpResponse::Ok().json(state.transactions())
}

async fn get_transaction(state: State, order_id: web::Path<String>) -> HttpResponse {
    match state.transaction(&order_id) {
        Some(transaction) => HttpResponse::Ok().json(transaction),
        None => unknown(&order_id),
    }
}

fn unknown(order_id: &str) -> HttpResponse {
    HttpResponse::NotFound()
        .json(json!({"error": format!("no transaction with order_id {order_id}")}))
}

fn control_answer(order_id: &str, result: Result<ControlOutcome, TransitionError>) -> HttpResponse {
    match result {
        Ok(outcome) => HttpResponse::Ok().json(outcome),
        Err(TransitionError::UnknownOrder) => unknown(order_id),
        Err(TransitionError::NotPending(status)) => HttpResponse::Conflict().json(json!({
            "error": format!("transaction is {}, only pending transactions change", status.as_str()),
            "transaction_status": status.as_str(),
        })),
        Err(TransitionError::NotSettled(status)) => HttpResponse::Conflict().json(json!({
            "error": format!("transaction is {}, money is returned only after settlement", status.as_str()),
            "transaction_status": status.as_str(),
        })),
        Err(TransitionError::TooMuch { returnable }) => HttpResponse::Conflict().json(json!({
            "error": format!("the amount must be between 1 and the {returnable} rupiah not yet returned"),
            "returnable": returnable,
        })),
    }
}

/// Body: optional JSON `{"amount": 5000, "reason": "…", "refund_key": "…"}`.
async fn return_money(
    state: State,
    order_id: web::Path<String>,
    body: web::Bytes,
    kind: ReturnKind,
) -> HttpResponse {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        ReturnRequest::default()
    } else {
        match serde_json::from_slice::<ReturnRequest>(&body) {
            Ok(request) => request,
            Err(error) => {
                return HttpResponse::BadRequest()
                    .json(json!({"error": format!("invalid {} request: {error}", kind.as_str())}))
            }
        }
    };
    let result = state.return_money(&order_id, kind, &request).await;
    control_answer(&order_id, result)
}

async fn refund(state: State, order_id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    return_money(state, order_id, body, ReturnKind::Refund).await
}

async fn chargeback(state: State, order_id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    return_money(state, order_id, body, ReturnKind::Chargeback).await
}

async fn get_hold(state: State) -> HttpResponse {
    HttpResponse::Ok().json(json!({"held": state.charges_held()}))
}

async fn hold(state: State) -> HttpResponse {
    state.hold_charges(true);
    get_hold(state).await
}

async fn release(state: State) -> HttpResponse {
    state.hold_charges(false);
    get_hold(state).await
}

#[derive(serde::Deserialize)]
struct AdvanceClock {
    seconds: u64,
}

/// Body `{"seconds": 301}`: moves the simulator's clock forward.
async fn advance_clock(state: State, body: web::Json<AdvanceClock>) -> HttpResponse {
    let offset = state
        .clock()
        .advance(std::time::Duration::from_secs(body.seconds));
    HttpResponse::Ok().json(json!({"offset_seconds": offset.as_secs()}))
}

async fn change(state: State, order_id: web::Path<String>, to: TransactionStatus) -> HttpResponse {
    let result = state.change(&order_id, to).await;
    control_answer(&order_id, result)
}

async fn pay(state: State, order_id: web::Path<String>) -> HttpResponse {
    change(state, order_id, TransactionStatus::Settlement).await
}

async fn expire(state: State, order_id: web::Path<String>) -> HttpResponse {
    change(state, order_id, TransactionStatus::Expire).await
}

async fn deny(state: State, order_id: web::Path<String>) -> HttpResponse {
    change(state, order_id, TransactionStatus::Deny).await
}

async fn cancel(state: State, order_id: web::Path<String>) -> HttpResponse {
    change(state, order_id, TransactionStatus::Cancel).await
}

async fn notify(state: State, order_id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        NotifyRequest::default()
    } else {
        match serde_json::from_slice::<NotifyRequest>(&body) {
            Ok(request) => request,
            Err(error) => {
                return HttpResponse::BadRequest()
                    .json(json!({"error": format!("invalid notify request: {error}")}))
            }
        }
    };
    let result = state.renotify(&order_id, request).await;
    control_answer(&order_id, result)
}

async fn notifications(state: State) -> HttpResponse {
    HttpResponse::Ok().json(state.notifications())
}

async fn get_faults(state: State) -> HttpResponse {
    let (charge, status) = state.faults().remaining();
    HttpResponse::Ok().json(json!({"charge_remaining": charge, "status_remaining": status}))
}

async fn arm_faults(state: State, request: web::Json<FaultRequest>) -> HttpResponse {
    state.faults().arm(&request);
    get_faults(state).await
}

async fn clear_faults(state: State) -> HttpResponse {
    state.faults().clear();
    get_faults(state).await
}
