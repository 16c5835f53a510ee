//! Fault and graceful-shutdown tests of Redfinger Shop (issue 7, items 1 and 5), and the tools
//! other black-box tests reuse:
//! - [`invariants`]: every invariant of DESIGN.md §6 checked in the database and the broker;
//! - [`infra`]: private RabbitMQ and PostgreSQL servers a test may stop and restart;
//! - [`cluster`]: payment-service and bot-service replicas as child processes (reusing the
//!   e2e harness's process and binary handling) with the fake Discord and Midtrans simulator;
//! - [`load`]: a steady load of orders and top-ups, sent as the bot sends them;
//! - [`outcome`]: what the load was told, checked against the database, the simulator and
//!   what Discord received.

pub mod cluster;
pub mod infra;
pub mod invariants;
pub mod load;
pub mod outcome;
pub mod run;

pub use cluster::{Cluster, Infra, Kind};
pub use load::{Load, LoadConfig, Tally};
pub use run::Run;
