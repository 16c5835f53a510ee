//! Orders, stock, delivery, refunds and admin operations against a real PostgreSQL database
//! (a fresh one per test), SQLite for the basic path, and a real RabbitMQ for the relay.

mod admin;
mod catalogue;
mod delivery;
mod helpers;
mod invariants;
mod order_create;
mod owed;
mod quarantine;
mod refunds;
mod relay;
mod reports;
mod stock;
