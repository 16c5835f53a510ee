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

/// The envelope JSON with `payload.codes` emptied (still a decodable envelope): what an outbox
/// row of `delivery.requested` keeps once it was published or voided.
pub fn without_codes(payload: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let codes = value.get_mut("payload")?.get_mut("codes")?;
    *codes = serde_json::Value::Array(Vec::new());
    serde_json::to_string(&value).ok()
}

const DELIVERY_REQUESTED: &str = shared_proto::topology::events::DELIVERY_REQUESTED;

/// Voids every `delivery.requested` of `order_number` still waiting in the outbox (delayed
/// retries included), inside the caller's transaction: the row is marked `voided_at` (and
/// `published_at`, so the relay's scan never sees it again) and loses its codes. Returns how many
/// rows it voided.
///
/// On PostgreSQL the rows are locked first: a row the relay is publishing right now is waited
/// for and then, being published, left alone (it was sent; nothing can void it any more); a row
/// voided here is skipped by the relay's `SKIP LOCKED` claim and never published.
pub async fn void_deliveries(
    txn: &impl ConnectionTrait,
    order_number: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u32, DbErr> {
    let lock = if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    // The LIKE only narrows the scan (order numbers hold no LIKE wildcard); each candidate's
    // payload is decoded and its order number compared exactly below.
    let rows = txn
        .query_all(stmt(
            txn,
            &format!(
                "SELECT id, payload FROM outbox WHERE published_at IS NULL \
                 AND message_type = $1 AND payload LIKE $2 ORDER BY id{lock}"
            ),
            [
                DELIVERY_REQUESTED.into(),
                format!("%{order_number}%").into(),
            ],
        ))
        .await?;
    let mut voided = 0u32;
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let payload: String = row.try_get("", "payload")?;
        let same_order = Envelope::<Event>::from_bytes(payload.as_bytes())
            .ok()
            .is_some_and(|e| {
                matches!(&e.payload, Event::DeliveryRequested(d) if d.order_number == order_number)
            });
        if !same_order {
            continue;
        }
        let redacted = without_codes(&payload).unwrap_or_else(|| "{}".to_string());
        let r = txn
            .execute(stmt(
                txn,
                "UPDATE outbox SET voided_at = $1, published_at = $1, locked_until = NULL, \
                 payload = $2, last_error = 'voided: the order was refunded' \
                 WHERE id = $3 AND published_at IS NULL",
                [now.into(), redacted.into(), id.into()],
            ))
            .await?;
        voided += u32::try_from(r.rows_affected()).unwrap_or(0);
    }
    Ok(voided)
}
