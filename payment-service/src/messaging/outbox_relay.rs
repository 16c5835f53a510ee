//! The outbox relay: publishes committed `outbox` rows (in id order, with publisher confirms)
//! and marks them published. A crash between commit and publish loses nothing — the rows are
//! still unpublished when the service comes back; a crash between publish and marking publishes
//! twice, which the idempotent consumers absorb.
//!
//! Several replicas: on PostgreSQL each round claims its rows with `FOR UPDATE SKIP LOCKED` in a
//! short transaction held while publishing, so replicas never publish the same row at once and a
//! dead replica's claim ends with its connection. On SQLite (one process) rows are read without a
//! claim. `locked_until` delays a row (delivery backoff, or after a failed publish).
//!
//! Latency: the order path calls [`wake`] after its commit, so the relay does not wait for the
//! next poll.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use broker::{Broker, OutgoingRaw};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::persistence::outbox::without_codes;
use crate::persistence::stmt;

/// Rows per round.
const BATCH: i64 = 200;
/// How often the relay counts unpublished rows for the `outbox_backlog` gauge.
const BACKLOG_COUNT_EVERY: Duration = Duration::from_secs(1);
/// How long a row whose publish failed waits before the next try.
const FAILED_PUBLISH_BACKOFF: Duration = Duration::from_secs(5);

static WAKE: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Tells every relay of this process that new rows were committed.
pub fn wake() {
    WAKE.send_modify(|n| *n = n.wrapping_add(1));
}

/// Runs the relay until `shutdown`; finishes the round in progress first.
pub fn spawn_outbox_relay(
    db: DatabaseConnection,
    broker: Broker,
    metrics: Metrics,
    poll_interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut woken = WAKE.subscribe();
        let poll_interval = poll_interval.max(Duration::from_millis(10));
        let mut last_count: Option<tokio::time::Instant> = None;
        loop {
            let mut published_some = false;
            match relay_once(&db, &broker).await {
                Ok(n) => published_some = n > 0,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "outbox relay round failed")
                }
            }
            // The gauge is scraped every few seconds; counting once a second is plenty.
            if last_count.is_none_or(|at| at.elapsed() >= BACKLOG_COUNT_EVERY) {
                last_count = Some(tokio::time::Instant::now());
                if let Ok(backlog) = backlog(&db).await {
                    metrics.outbox_backlog.set(backlog);
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            if published_some {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = woken.changed() => {}
                _ = tokio::time::sleep(poll_interval) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    })
}

/// One round: claims up to [`BATCH`] due rows, publishes them, marks the confirmed ones.
/// Returns how many were published.
pub async fn relay_once(db: &DatabaseConnection, broker: &Broker) -> anyhow::Result<usize> {
    let now = Utc::now();
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let lock = if postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let select = format!(
        "SELECT id, message_id, exchange, routing_key, message_type, correlation_id, payload \
         FROM outbox WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
         ORDER BY id LIMIT $2{lock}"
    );
    let values = [Value::from(now), Value::from(BATCH)];
    if postgres {
        let txn = db.begin().await.context("starting the relay transaction")?;
        let rows = txn
            .query_all(stmt(&txn, &select, values))
            .await
            .context("claiming outbox rows")?;
        let n = publish_rows(&txn, broker, rows).await?;
        txn.commit()
            .await
            .context("marking outbox rows published")?;
        Ok(n)
    } else {
        let rows = db
            .query_all(stmt(db, &select, values))
            .await
            .context("reading outbox rows")?;
        publish_rows(db, broker, rows).await
    }
}

struct Row {
    id: i64,
    message_id: String,
    exchange: String,
    routing_key: String,
    message_type: String,
    correlation_id: String,
    payload: String,
}

async fn publish_rows(
    db: &impl ConnectionTrait,
    broker: &Broker,
    rows: Vec<sea_orm::QueryResult>,
) -> anyhow::Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let rows = rows
        .iter()
        .map(|r| {
            Ok(Row {
                id: r.try_get("", "id")?,
                message_id: r.try_get("", "message_id")?,
                exchange: r.try_get("", "exchange")?,
                routing_key: r.try_get("", "routing_key")?,
                message_type: r.try_get("", "message_type")?,
                correlation_id: r.try_get("", "correlation_id")?,
                payload: r.try_get("", "payload")?,
            })
        })
        .collect::<Result<Vec<Row>, sea_orm::DbErr>>()?;
    let msgs: Vec<OutgoingRaw<'_>> = rows
        .iter()
        .map(|r| OutgoingRaw {
            exchange: &r.exchange,
            routing_key: &r.routing_key,
            message_id: &r.message_id,
            correlation_id: &r.correlation_id,
            message_type: &r.message_type,
            payload: r.payload.as_bytes(),
        })
        .collect();
    let results = broker.publish_batch(&msgs).await;
    let mut ok = std::collections::HashSet::new();
    let now = Utc::now();
    for (row, result) in rows.iter().zip(results) {
        match result {
            Ok(()) => {
                ok.insert(row.id);
            }
            Err(error) => {
                tracing::warn!(outbox_id = row.id, message_type = %row.message_type, %error, "publishing an outbox row failed");
                let retry_at = now
                    + chrono::Duration::from_std(FAILED_PUBLISH_BACKOFF)
                        .unwrap_or_else(|_| chrono::Duration::zero());
                db.execute(stmt(
                    db,
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = $2 WHERE id = $3",
                    [error.to_string().into(), retry_at.into(), row.id.into()],
                ))
                .await?;
            }
        }
    }
    // One statement per chunk marks the confirmed rows published and, since a delivery request
    // carries decrypted codes, empties their codes: once the broker has the message, the row
    // keeps no plaintext code at rest (a dump or backup of the database must not reveal sold
    // codes).
    let confirmed: Vec<&Row> = rows.iter().filter(|r| ok.contains(&r.id)).collect();
    for chunk in confirmed.chunks(500) {
        let mut values: Vec<Value> = vec![now.into()];
        let mut ids = Vec::with_capacity(chunk.len());
        let mut redactions = String::new();
        for row in chunk {
            values.push(row.id.into());
            ids.push(format!("${}", values.len()));
            if row.message_type != DELIVERY_REQUESTED {
                continue;
            }
            if let Some(redacted) = without_codes(&row.payload) {
                values.push(row.id.into());
                values.push(redacted.into());
                let n = values.len();
                redactions.push_str(&format!(" WHEN ${} THEN ${n}", n - 1));
            }
        }
        let redact = if redactions.is_empty() {
            String::new()
        } else {
            format!(", payload = CASE id{redactions} ELSE payload END")
        };
        db.execute(stmt(
            db,
            &format!(
                "UPDATE outbox SET published_at = $1, locked_until = NULL, attempts = attempts + 1{redact} \
                 WHERE id IN ({})",
                ids.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(ok.len())
}

const DELIVERY_REQUESTED: &str = shared_proto::topology::events::DELIVERY_REQUESTED;

async fn backlog(db: &DatabaseConnection) -> anyhow::Result<i64> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL",
            [],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}
