//! HTTP routes: Midtrans's Core API under `/v2/` and the simulator's control API under `/_sim/`.

mod control;
mod core_api;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use crate::state::{ApiAnswer, SimulatorState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    core_api::configure(cfg);
    control::configure(cfg);
}

type State = web::Data<Arc<SimulatorState>>;

fn respond(answer: ApiAnswer) -> HttpResponse {
    let status =
        StatusCode::from_u16(answer.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(answer.body)
}
