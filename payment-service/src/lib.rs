//! The payment-service: owns the database, talks to Midtrans, keeps stock encrypted, sells codes
//! and publishes what happened through the outbox. See README.md for the flows.
//!
//! Layout: `domain/` holds pure rules and state machines (no actix, SeaORM, lapin imports);
//! the other modules are adapters around it.

pub mod admin;
pub mod app;
pub mod catalogue;
pub mod config;
pub mod messaging;
pub mod metrics;
pub mod midtrans;
pub mod orders;
pub mod persistence;
pub mod queries;
pub mod reports;
pub mod routes;
pub mod stock_vault;
pub mod sweeper;
pub mod topups;
