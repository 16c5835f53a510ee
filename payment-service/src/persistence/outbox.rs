//! The transactional outbox: events that follow a database change are written in the same
//! transaction as the change and published afterwards by the relay, so a crash between commit and
//! publish loses nothing and a rolled-back change publishes nothing.

use sea_orm::{ConnectionTrait, DbErr};
use shared_proto::{Envelope, Event, MessageFamily};

use super::stmt;

/// Queues `event` for publication on `exchange` with routing key = its type.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    exchange: &str,
    event: &Envelope<Event>,
) -> Result<(), DbErr> {
    let payload = String::from_utf8(event.to_bytes()).unwrap_or_default();
    txn.execute(stmt(
        txn,
        "INSERT INTO outbox (message_id, exchange, routing_key, message_type, correlation_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            event.message_id.to_string().into(),
            exchange.into(),
            event.payload.message_type().into(),
            event.payload.message_type().into(),
            event.correlation_id.to_string().into(),
            payload.into(),
        ],
    ))
    .await?;
    Ok(())
}
