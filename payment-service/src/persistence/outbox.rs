//! The transactional outbox: events that follow a database change are written in the same
//! transaction as the change and published afterwards by the relay, so a crash between commit and
//! publish loses nothing and a rolled-back change publishes nothing.

use sea_orm::{ConnectionTrait, DbErr};
use shared_proto::{Envelope, Event, MessageFamily};

use super::stmt;

/// The values of `event`'s outbox row, in the order of [`INSERT`]'s placeholders `$1`…`$6`.
fn row_values(exchange: &str, event: &Envelope<Event>) -> [sea_orm::Value; 6] {
    let payload = String::from_utf8(event.to_bytes()).unwrap_or_default();
    [
        event.message_id.to_string().into(),
        exchange.into(),
        event.payload.message_type().into(),
        event.payload.message_type().into(),
        event.correlation_id.to_string().into(),
        payload.into(),
    ]
}

const INSERT: &str = "INSERT INTO outbox (message_id, exchange, routing_key, message_type, \
    correlation_id, payload) VALUES ($1, $2, $3, $4, $5, $6)";

/// Queues `event` like [`enqueue`] and, in the same statement (PostgreSQL only: a
/// data-modifying CTE), reads the values of `select_list`, whose placeholders start at `$7`.
pub async fn enqueue_and_select(
    txn: &impl ConnectionTrait,
    exchange: &str,
    event: &Envelope<Event>,
    select_list: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<sea_orm::QueryResult, DbErr> {
    let mut all: Vec<sea_orm::Value> = row_values(exchange, event).into();
    all.extend(values);
    txn.query_one(stmt(
        txn,
        &format!("WITH queued AS ({INSERT} RETURNING id) SELECT (SELECT COUNT(*) FROM queued) AS queued, {select_list}"),
        all,
    ))
    .await?
    .ok_or_else(|| DbErr::Custom("the outbox statement gave no row".into()))
}

/// Queues `event` for publication on `exchange` with routing key = its type.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    exchange: &str,
    event: &Envelope<Event>,
) -> Result<(), DbErr> {
    txn.execute(stmt(txn, INSERT, row_values(exchange, event)))
        .await?;
    Ok(())
}
