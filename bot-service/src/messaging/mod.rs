//! Broker consumers of the bot: `delivery.requested` (codes to hand over) and the notification
//! events (top-ups settled/expired, low stock, failed and refunded orders).

pub mod delivery_consumer;
pub mod notification_consumer;

use broker::{Broker, BrokerError};
use shared_proto::{Envelope, Event};
use uuid::Uuid;

/// Publishes an event of the bot (delivery outcome) to the events exchange, keeping the
/// correlation id of the conversation it belongs to.
pub async fn publish_event(
    broker: &Broker,
    event: Event,
    correlation_id: Uuid,
) -> Result<(), BrokerError> {
    let routing_key = shared_proto::MessageFamily::message_type(&event);
    let envelope = Envelope::with_correlation(event, correlation_id);
    let exchange = broker.topology().events_exchange();
    broker.publish(&exchange, routing_key, &envelope).await
}
