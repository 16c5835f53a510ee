//! Manual-ack consumers that survive connection loss and stop gracefully.
//!
//! Concurrency: each delivery runs its handler in its own task, so up to `prefetch` handlers of
//! one consumer run at once (the broker never has more than `prefetch` unacknowledged deliveries
//! out). Handlers must therefore not assume ordering — ours are idempotent by message id.
//!
//! A message is acknowledged only after [`Handler::handle`] returned [`HandlerOutcome::Ack`],
//! i.e. after the handler committed its work. If the connection drops first, the ack is lost and
//! the broker redelivers: at-least-once, never at-most-once.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::connection::{reconnect_backoff, Inner, OUTAGE_WAIT};
use crate::topology::close_quietly;
use crate::BrokerError;

/// Processes one delivery. Implementations commit their work before returning `Ack`.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome;
}

/// One delivery as the handler sees it. `Debug` shows the body's length, never its bytes (a
/// delivery request carries plaintext codes).
#[derive(Clone)]
pub struct IncomingMessage {
    /// The full envelope JSON.
    pub body: Vec<u8>,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The AMQP `type` property.
    pub message_type: Option<String>,
    /// Where to send the reply of a request (see [`crate::Broker::reply`]).
    pub reply_to: Option<String>,
    /// The broker delivered this message before (to this or another consumer).
    pub redelivered: bool,
    /// How many earlier deliveries of this message failed (`x-delivery-count`, set by quorum
    /// queues on redelivery); 0 on the first delivery.
    pub delivery_count: u32,
}

/// What to do with a delivery once its handler has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerOutcome {
    /// Done (work committed): acknowledge.
    Ack,
    /// Transient failure: requeue, after a pause that doubles with each delivery of the message
    /// (see [`retry_pause`]). Counts toward the delivery limit, after which the message is
    /// dead-lettered.
    Retry,
    /// Poison message: dead-letter it now.
    Reject,
}

impl std::fmt::Debug for IncomingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingMessage")
            .field("body_len", &self.body.len())
            .field("message_id", &self.message_id)
            .field("correlation_id", &self.correlation_id)
            .field("message_type", &self.message_type)
            .field("reply_to", &self.reply_to)
            .field("redelivered", &self.redelivered)
            .field("delivery_count", &self.delivery_count)
            .finish()
    }
}

impl IncomingMessage {
    fn from_delivery(delivery: &mut Delivery) -> Self {
        let p = &delivery.properties;
        let text = |v: &Option<lapin::types::ShortString>| v.as_ref().map(|s| s.to_string());
        IncomingMessage {
            message_id: text(p.message_id()),
            correlation_id: text(p.correlation_id()),
            message_type: text(p.kind()),
            reply_to: text(p.reply_to()),
            redelivered: delivery.redelivered,
            delivery_count: p.headers().as_ref().map_or(0, delivery_count),
            body: std::mem::take(&mut delivery.data),
        }
    }
}

fn delivery_count(headers: &FieldTable) -> u32 {
    let count = match headers.inner().get("x-delivery-count") {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::Timestamp(n)) => i64::try_from(*n).unwrap_or(i64::MAX),
        _ => 0,
    };
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}

/// Why a consuming session ended.
enum SessionEnd {
    Shutdown,
    Lost(String),
}

/// Runs until `shutdown` is cancelled or the broker is closed.
pub(crate) async fn run<H: Handler>(
    inner: Arc<Inner>,
    queue: String,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    // Handler tasks outlive a lost session (their ack then fails and the broker redelivers), so
    // the set spans sessions and shutdown waits for all of them.
    let mut in_flight = JoinSet::new();
    let mut delays = reconnect_backoff().build();
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let link = tokio::select! {
            _ = shutdown.cancelled() => break,
            link = inner.link(OUTAGE_WAIT) => link,
        };
        let link = match link {
            Ok(link) => link,
            Err(BrokerError::Closed) => break,
            Err(error) => {
                tracing::warn!(%queue, %error, "consumer waiting for RabbitMQ");
                continue;
            }
        };
        let started = tokio::time::Instant::now();
        match session(&inner, &link, &queue, &handler, &shutdown, &mut in_flight).await {
            SessionEnd::Shutdown => break,
            SessionEnd::Lost(reason) => {
                if started.elapsed() > Duration::from_secs(30) {
                    delays = reconnect_backoff().build();
                }
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(%queue, %reason, ?delay, "consumer lost its channel, resuming");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        log_task_end(done);
    }
    tracing::info!(%queue, "consumer stopped");
}

/// Consumes on a fresh channel until the channel dies or shutdown.
async fn session<H: Handler>(
    inner: &Inner,
    link: &crate::connection::Link,
    queue: &str,
    handler: &Arc<H>,
    shutdown: &CancellationToken,
    in_flight: &mut JoinSet<()>,
) -> SessionEnd {
    let channel = match link.connection.create_channel().await {
        Ok(channel) => channel,
        Err(error) => return SessionEnd::Lost(format!("opening a channel: {error}")),
    };
    // Prefetch bounds both the memory held by unacked deliveries and the handler concurrency.
    // Applied on every new channel: it is per channel and is not restored by anyone else.
    // 0 would mean "unlimited" to RabbitMQ; never allow that.
    let prefetch = inner.config.prefetch.max(1);
    if let Err(error) = channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
    {
        return SessionEnd::Lost(format!("setting prefetch: {error}"));
    }
    let mut consumer = match channel
        .basic_consume(
            queue,
            "",
            // Manual ack: a message is removed only after its handler committed.
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
    {
        Ok(consumer) => consumer,
        Err(error) => {
            close_quietly(&channel).await;
            return SessionEnd::Lost(format!("consuming {queue}: {error}"));
        }
    };
    tracing::info!(%queue, prefetch, "consuming");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                // Stop new deliveries; ones already prefetched but not started are released
                // (requeued) when the channel closes below.
                if let Err(error) = channel
                    .basic_cancel(consumer.tag().as_str(), BasicCancelOptions::default())
                    .await
                {
                    tracing::debug!(%error, "cancelling the consumer");
                }
                while let Some(done) = in_flight.join_next().await {
                    log_task_end(done);
                }
                close_quietly(&channel).await;
                return SessionEnd::Shutdown;
            }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_task_end(done),
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    in_flight.spawn(process(handler.clone(), delivery));
                }
                Some(Err(error)) => return SessionEnd::Lost(error.to_string()),
                None => {
                    close_quietly(&channel).await;
                    return SessionEnd::Lost("the broker cancelled the consumer".into());
                }
            },
        }
    }
}

fn log_task_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "message handler task failed");
    }
}

/// How long a message whose handler asked for a retry waits before it is requeued: 100 ms after
/// its first delivery, doubling with each redelivery, at most 2 s. Without it a failure that ends
/// at once (a database connection that died with its server, say) would spend the whole delivery
/// limit within milliseconds, long before the outage is over.
pub fn retry_pause(delivery_count: u32) -> Duration {
    Duration::from_millis(100u64 << delivery_count.min(5)).min(Duration::from_secs(2))
}

/// Runs the handler for one delivery and settles it.
async fn process<H: Handler>(handler: Arc<H>, mut delivery: Delivery) {
    let message = IncomingMessage::from_delivery(&mut delivery);
    let delivery_count = message.delivery_count;
    let span = tracing::info_span!(
        "handle_message",
        message_id = message.message_id.as_deref().unwrap_or(""),
        correlation_id = message.correlation_id.as_deref().unwrap_or(""),
        message_type = message.message_type.as_deref().unwrap_or(""),
        delivery_count = message.delivery_count,
    );
    async move {
        // A panicking handler must not leave the delivery unsettled until the channel dies.
        let outcome = match AssertUnwindSafe(handler.handle(message))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!("message handler panicked; requeueing the message");
                HandlerOutcome::Retry
            }
        };
        let settled = match outcome {
            HandlerOutcome::Ack => delivery.acker.ack(BasicAckOptions::default()).await,
            HandlerOutcome::Retry => {
                tokio::time::sleep(retry_pause(delivery_count)).await;
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        multiple: false,
                        requeue: true,
                    })
                    .await
            }
            HandlerOutcome::Reject => {
                tracing::warn!("message rejected; dead-lettering it");
                delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await
            }
        };
        match settled {
            Ok(()) => tracing::debug!(?outcome, "message settled"),
            // The channel is gone: the broker requeues the message by itself.
            Err(error) => {
                tracing::warn!(%error, ?outcome, "could not settle message; it will be redelivered")
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pause_doubles_and_is_capped() {
        assert_eq!(retry_pause(0), Duration::from_millis(100));
        assert_eq!(retry_pause(1), Duration::from_millis(200));
        assert_eq!(retry_pause(3), Duration::from_millis(800));
        assert_eq!(retry_pause(5), Duration::from_secs(2));
        assert_eq!(retry_pause(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn debug_hides_the_body() {
        let message = IncomingMessage {
            body: b"SECRET-CODE-123".to_vec(),
            message_id: Some("m".into()),
            correlation_id: None,
            message_type: None,
            reply_to: None,
            redelivered: false,
            delivery_count: 0,
        };
        let shown = format!("{message:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("body_len: 15"), "{shown}");
    }

    #[test]
    fn delivery_count_reads_any_integer_header() {
        let mut headers = FieldTable::default();
        assert_eq!(delivery_count(&headers), 0);
        headers.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
        assert_eq!(delivery_count(&headers), 3);
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(-1));
        assert_eq!(delivery_count(&headers), 0);
    }
}
