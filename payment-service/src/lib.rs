//! The payment-service: owns the database, talks to Midtrans, keeps stock encrypted, sells codes
//! and publishes what happened through the outbox. See README.md for the flows.
//!
//! Layout: `domain/` holds pure rules and state machines (no actix, SeaORM, lapin imports);
//! the other modules are adapters around it.

pub mod config;
pub mod metrics;
pub mod persistence;
pub mod midtrans;
pub mod topups;
pub mod admin;
pub mod messaging;
pub mod orders;
pub mod queries;
pub mod stock_vault;
pub mod app;
pub mod routes;
pub mod sweeper;
