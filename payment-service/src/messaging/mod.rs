//! Broker adapters of the payment-service: the command consumer (request/reply for every
//! command), the delivery-results consumer, and the outbox relay that publishes committed events.

pub mod command_consumer;
pub mod delivery_results_consumer;
pub mod outbox_relay;

pub use command_consumer::{CommandConsumer, CommandDeps};
pub use delivery_results_consumer::DeliveryResultsConsumer;
pub use outbox_relay::spawn_outbox_relay;
