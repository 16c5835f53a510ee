//! Declares (and, for tests, deletes) every exchange and queue of a [`shared_proto::Topology`].
//!
//! Declaring is idempotent as long as the arguments do not change: RabbitMQ refuses to
//! re-declare a queue with other arguments (PRECONDITION_FAILED), so every process that shares a
//! namespace must use the same delivery limit.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::ExchangeKind;
use shared_proto::topology::{ExchangeKind as SpecKind, QueueSpec};

use crate::config::BrokerConfig;
use crate::connection::Link;

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

/// Arguments of a work queue: quorum (replicated, counts deliveries), a delivery limit set
/// explicitly (3.10 has no default, so a poison message would loop for ever), and dead-lettering
/// to `{queue}.dlq` through the dead-letter exchange.
pub(crate) fn work_queue_arguments(
    queue: &QueueSpec,
    dead_letter_exchange: &str,
    delivery_limit: u32,
) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), string("quorum"));
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(i64::from(delivery_limit)),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        string(dead_letter_exchange),
    );
    args.insert("x-dead-letter-routing-key".into(), string(&queue.name));
    args
}

/// A dead-letter queue is a plain quorum queue: durable, no limit, no further dead-lettering.
fn dead_letter_queue_arguments() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), string("quorum"));
    args
}

/// Declares all exchanges, then every queue of both services with its dead-letter queue and
/// bindings, skipping the queues this broker user may not configure.
///
/// In production each service has its own broker user whose permissions cover only its own
/// queues (deploy/rabbitmq): RabbitMQ answers ACCESS_REFUSED for the other service's queues,
/// which that service declares itself. With one user allowed everything (tests, the offline
/// demo) every queue is declared by whoever starts first, as before.
#[tracing::instrument(skip_all, fields(namespace = %config.topology.namespace()))]
pub(crate) async fn declare(link: &Link, config: &BrokerConfig) -> Result<(), lapin::Error> {
    let topology = &config.topology;
    let mut channel = link.connection.create_channel().await?;
    for exchange in topology.exchanges() {
        let kind = match exchange.kind {
            SpecKind::Direct => ExchangeKind::Direct,
            SpecKind::Topic => ExchangeKind::Topic,
        };
        channel
            .exchange_declare(
                &exchange.name,
                kind,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
    }
    let dead_letter_exchange = topology.dead_letter_exchange();
    for queue in topology.all_queues() {
        match declare_queue(&channel, &queue, &dead_letter_exchange, config).await {
            Ok(()) => {}
            Err(error) if is_access_refused(&error) => {
                tracing::debug!(
                    queue = %queue.name,
                    "not permitted to declare this queue (a broker user of its own service declares it)"
                );
                // The refusal closed the channel.
                channel = link.connection.create_channel().await?;
            }
            Err(error) => return Err(error),
        }
    }
    close_quietly(&channel).await;
    tracing::debug!("topology declared");
    Ok(())
}

/// One work queue: its dead-letter queue and binding, the queue, its bindings.
async fn declare_queue(
    channel: &lapin::Channel,
    queue: &QueueSpec,
    dead_letter_exchange: &str,
    config: &BrokerConfig,
) -> Result<(), lapin::Error> {
    channel
        .queue_declare(
            &queue.dead_letter_queue,
            durable_queue(),
            dead_letter_queue_arguments(),
        )
        .await?;
    channel
        .queue_bind(
            &queue.dead_letter_queue,
            dead_letter_exchange,
            &queue.name,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            &queue.name,
            durable_queue(),
            work_queue_arguments(queue, dead_letter_exchange, config.delivery_limit),
        )
        .await?;
    for key in &queue.binding_keys {
        channel
            .queue_bind(
                &queue.name,
                &queue.exchange,
                key,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// RabbitMQ's 403 ACCESS_REFUSED: the user's permissions do not cover the resource.
pub(crate) fn is_access_refused(error: &lapin::Error) -> bool {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    matches!(error, lapin::Error::ProtocolError(amqp)
        if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)))
}

/// Deletes every queue (with its messages) and exchange of the topology. For tests and tools.
pub(crate) async fn delete(link: &Link, config: &BrokerConfig) -> Result<(), lapin::Error> {
    let topology = &config.topology;
    let channel = link.connection.create_channel().await?;
    for queue in topology.all_queues() {
        for name in [&queue.name, &queue.dead_letter_queue] {
            channel
                .queue_delete(name, QueueDeleteOptions::default())
                .await?;
        }
    }
    for exchange in topology.exchanges() {
        channel
            .exchange_delete(&exchange.name, ExchangeDeleteOptions::default())
            .await?;
    }
    close_quietly(&channel).await;
    Ok(())
}

/// A queue's ready (not yet delivered) messages and its consumers, by a passive declare.
pub(crate) async fn counts(link: &Link, queue: &str) -> Result<(u32, u32), lapin::Error> {
    let channel = link.connection.create_channel().await?;
    let declared = channel
        .queue_declare(
            queue,
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    close_quietly(&channel).await;
    Ok((declared.message_count(), declared.consumer_count()))
}

pub(crate) async fn close_quietly(channel: &lapin::Channel) {
    if channel.status().connected() {
        if let Err(error) = channel.close(200, "done").await {
            tracing::debug!(%error, "closing a channel");
        }
    }
}
