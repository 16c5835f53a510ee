//! RabbitMQ layer shared by both services (lapin): topology, confirmed publishing, manual-ack
//! consumers, request/reply, reconnection.
//!
//! Guarantees: a publish returns `Ok` only after the broker confirmed the message (persistent,
//! mandatory: an unroutable message is an error, never a silent loss); a consumer acknowledges a
//! message only after its handler returned [`HandlerOutcome::Ack`]; a lost connection is
//! re-established with backoff and consumers resume by themselves. Delivery is at-least-once,
//! so handlers must be idempotent.
//!
//! This crate must never log or put payload bytes in errors.

mod config;
mod connection;
mod consumer;
mod error;
mod publish;
mod rpc;
mod topology;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use shared_proto::{Command, Envelope, MessageFamily, Reply, Topology};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use config::BrokerConfig;
pub use consumer::{Handler, HandlerOutcome, IncomingMessage};
pub use error::BrokerError;
pub use publish::OutgoingRaw;

use connection::{Inner, OUTAGE_WAIT};
use publish::AttemptError;

/// A handle on the broker. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Broker {
    /// Connects, retrying with backoff for about 30 s before giving up.
    #[tracing::instrument(skip_all, fields(connection_name = %config.connection_name))]
    pub async fn connect(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let inner = Inner::connect(config).await?;
        Ok(Broker { inner })
    }

    /// Declares every exchange, every queue of both services and their dead-letter queues.
    /// Idempotent; re-run automatically after a reconnection.
    pub async fn declare_topology(&self) -> Result<(), BrokerError> {
        let mut retried = false;
        loop {
            let link = self.inner.link(OUTAGE_WAIT).await?;
            match topology::declare(&link, &self.inner.config).await {
                Ok(()) => {
                    self.inner.topology_declared.store(true, Ordering::SeqCst);
                    return Ok(());
                }
                Err(error) if !retried && !link.is_alive() => {
                    tracing::warn!(%error, "declaring the topology failed, retrying once");
                    retried = true;
                }
                Err(error) => return Err(BrokerError::from_lapin(error)),
            }
        }
    }

    /// Deletes every queue (with its messages) and exchange of this broker's topology. Meant
    /// for tests and tooling, which must leave nothing behind.
    pub async fn delete_topology(&self) -> Result<(), BrokerError> {
        let link = self.inner.link(OUTAGE_WAIT).await?;
        self.inner.topology_declared.store(false, Ordering::SeqCst);
        topology::delete(&link, &self.inner.config)
            .await
            .map_err(BrokerError::from_lapin)
    }

    /// Messages ready for delivery in `queue` (not counting delivered, unacknowledged ones).
    pub async fn queue_ready_count(&self, queue: &str) -> Result<u32, BrokerError> {
        let link = self.inner.link(OUTAGE_WAIT).await?;
        topology::counts(&link, queue)
            .await
            .map(|(ready, _)| ready)
            .map_err(BrokerError::from_lapin)
    }

    /// Consumers of `queue` right now (e.g. how many replicas of a service consume it).
    pub async fn queue_consumer_count(&self, queue: &str) -> Result<u32, BrokerError> {
        let link = self.inner.link(OUTAGE_WAIT).await?;
        topology::counts(&link, queue)
            .await
            .map(|(_, consumers)| consumers)
            .map_err(BrokerError::from_lapin)
    }

    /// Samples the ready messages of each of `queues` every `every` until `stop` is cancelled,
    /// handing each figure to `record` (the services' consumer-lag gauges). A sample that fails
    /// (broker unreachable) is skipped; the next tick tries again.
    pub fn spawn_backlog_probe<F>(
        &self,
        queues: Vec<String>,
        every: Duration,
        stop: CancellationToken,
        record: F,
    ) -> JoinHandle<()>
    where
        F: Fn(&str, u32) + Send + Sync + 'static,
    {
        let broker = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                for queue in &queues {
                    let sample = tokio::select! {
                        _ = stop.cancelled() => return,
                        sample = broker.queue_ready_count(queue) => sample,
                    };
                    match sample {
                        Ok(ready) => record(queue, ready),
                        Err(error) => {
                            tracing::debug!(%error, queue = %queue, "queue depth sample skipped");
                        }
                    }
                }
            }
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.inner.config.topology
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    /// Persistent, mandatory, waits for the publisher confirm. Unroutable → `Err(Unroutable)`.
    pub async fn publish<P: MessageFamily>(
        &self,
        exchange: &str,
        routing_key: &str,
        envelope: &Envelope<P>,
    ) -> Result<(), BrokerError> {
        let payload = envelope.to_bytes();
        let message_id = envelope.message_id.to_string();
        let correlation_id = envelope.correlation_id.to_string();
        self.publish_raw(OutgoingRaw {
            exchange,
            routing_key,
            message_id: &message_id,
            correlation_id: &correlation_id,
            message_type: &envelope.message_type,
            payload: &payload,
        })
        .await
    }

    /// Same as [`Broker::publish`], for bytes already serialized (the outbox relay). During a
    /// connection outage it waits (up to 30 s) for the reconnection; a publish that failed on a
    /// dying connection is retried once, so the consumer may see a duplicate, never a loss.
    #[tracing::instrument(skip_all, fields(
        message_id = msg.message_id,
        correlation_id = msg.correlation_id,
        message_type = msg.message_type,
        exchange = msg.exchange,
        routing_key = msg.routing_key,
    ))]
    pub async fn publish_raw(&self, msg: OutgoingRaw<'_>) -> Result<(), BrokerError> {
        self.publish_with_retry(&msg, true).await
    }

    async fn publish_with_retry(
        &self,
        msg: &OutgoingRaw<'_>,
        mandatory: bool,
    ) -> Result<(), BrokerError> {
        let link = self.inner.link(OUTAGE_WAIT).await?;
        match publish::attempt(&link, msg, mandatory).await {
            Ok(()) => Ok(()),
            Err(AttemptError::Final(error)) => Err(error),
            Err(AttemptError::Transport(error)) => {
                tracing::warn!(%error, "publish failed, retrying once");
                let link = self.inner.link(OUTAGE_WAIT).await?;
                publish::attempt(&link, msg, mandatory)
                    .await
                    .map_err(AttemptError::into_broker_error)
            }
        }
    }

    /// Publishes all messages (in order) and then waits for all confirms. One result per
    /// message, in the same order. Messages whose publish failed on the transport are retried
    /// once after reconnecting.
    #[tracing::instrument(skip_all, fields(count = msgs.len()))]
    pub async fn publish_batch(&self, msgs: &[OutgoingRaw<'_>]) -> Vec<Result<(), BrokerError>> {
        let mut results: Vec<Option<Result<(), BrokerError>>> = msgs.iter().map(|_| None).collect();
        let mut todo: Vec<usize> = (0..msgs.len()).collect();
        for attempt in 0..2 {
            if todo.is_empty() {
                break;
            }
            let link = match self.inner.link(OUTAGE_WAIT).await {
                Ok(link) => link,
                Err(error) => {
                    let text = error.to_string();
                    for &i in &todo {
                        results[i] = Some(Err(match &error {
                            BrokerError::Closed => BrokerError::Closed,
                            _ => BrokerError::Connection(text.clone()),
                        }));
                    }
                    break;
                }
            };
            let batch: Vec<&OutgoingRaw<'_>> = todo.iter().map(|&i| &msgs[i]).collect();
            let outcomes = publish::attempt_batch(&link, &batch).await;
            let mut retry = Vec::new();
            for (&i, outcome) in todo.iter().zip(outcomes) {
                results[i] = Some(match outcome {
                    Ok(()) => Ok(()),
                    Err(AttemptError::Final(error)) => Err(error),
                    Err(AttemptError::Transport(error)) if attempt == 0 => {
                        retry.push(i);
                        Err(BrokerError::from_lapin(error))
                    }
                    Err(AttemptError::Transport(error)) => Err(BrokerError::from_lapin(error)),
                });
            }
            if !retry.is_empty() {
                tracing::warn!(
                    failed = retry.len(),
                    "batch publish partly failed, retrying those once"
                );
            }
            todo = retry;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(BrokerError::Connection("not published".into()))))
            .collect()
    }

    /// Sends a command to the commands exchange (routing key = command type) and waits up to
    /// `timeout` for its reply via direct reply-to. Replies are matched by correlation id.
    #[tracing::instrument(skip_all, fields(
        message_id = %command.message_id,
        correlation_id = %command.correlation_id,
        message_type = %command.message_type,
    ))]
    pub async fn request(
        &self,
        command: &Envelope<Command>,
        timeout: Duration,
    ) -> Result<Envelope<Reply>, BrokerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let payload = command.to_bytes();
        let message_id = command.message_id.to_string();
        let correlation_id = command.correlation_id.to_string();
        let exchange = self.inner.config.topology.commands_exchange();
        let msg = OutgoingRaw {
            exchange: &exchange,
            routing_key: &command.message_type,
            message_id: &message_id,
            correlation_id: &correlation_id,
            message_type: &command.message_type,
            payload: &payload,
        };
        let round_trip = async {
            let mut retried = false;
            let waiter = loop {
                let link = self.inner.link(OUTAGE_WAIT).await?;
                let rpc = match rpc::channel_of(&link).await {
                    Ok(rpc) => rpc,
                    Err(error) if !retried => {
                        tracing::warn!(%error, "opening the request channel failed, retrying once");
                        retried = true;
                        continue;
                    }
                    Err(error) => return Err(BrokerError::from_lapin(error)),
                };
                let waiter = rpc.register(&correlation_id);
                match rpc.publish(&msg).await {
                    Ok(()) => break waiter,
                    Err(AttemptError::Transport(error)) if !retried => {
                        tracing::warn!(%error, "sending the request failed, retrying once");
                        retried = true;
                    }
                    Err(error) => return Err(error.into_broker_error()),
                }
            };
            let bytes = (&mut { waiter }.reply).await.map_err(|_| {
                BrokerError::Connection("connection lost before the reply arrived".into())
            })?;
            Ok(Envelope::<Reply>::from_bytes(&bytes)?)
        };
        match tokio::time::timeout_at(deadline, round_trip).await {
            Ok(result) => result,
            Err(_) => Err(BrokerError::Timeout),
        }
    }

    /// Answers a request: publishes to the default exchange with routing key `reply_to` and waits
    /// for the confirm. If the requester is gone, RabbitMQ drops the reply and this returns `Ok`.
    #[tracing::instrument(skip_all, fields(
        message_id = %reply.message_id,
        correlation_id = %correlation_id,
        message_type = %reply.message_type,
    ))]
    pub async fn reply(
        &self,
        reply_to: &str,
        correlation_id: Uuid,
        reply: &Envelope<Reply>,
    ) -> Result<(), BrokerError> {
        let payload = reply.to_bytes();
        let message_id = reply.message_id.to_string();
        let correlation_id = correlation_id.to_string();
        let msg = OutgoingRaw {
            exchange: "",
            routing_key: reply_to,
            message_id: &message_id,
            correlation_id: &correlation_id,
            message_type: &reply.message_type,
            payload: &payload,
        };
        // Not mandatory: RabbitMQ treats `amq.rabbitmq.reply-to.*` as "not a queue", so a
        // mandatory reply comes back as returned even when it was delivered (checked on 3.10).
        // Hence a requester that is gone cannot be told apart: the reply is silently dropped.
        self.publish_with_retry(&msg, false).await
    }

    /// Runs a consumer of `queue` until `shutdown` is cancelled (or the broker is closed). It
    /// resumes by itself after the connection comes back, acknowledges only after `handler`
    /// returned `Ack`, and on shutdown stops taking deliveries and waits for running handlers.
    pub fn spawn_consumer<H: Handler>(
        &self,
        queue: String,
        handler: Arc<H>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let span = tracing::info_span!("consumer", queue = %queue);
        tokio::spawn(tracing::Instrument::instrument(
            consumer::run(self.inner.clone(), queue, handler, shutdown),
            span,
        ))
    }

    /// Whether the connection is up right now (for `/readyz`). Starts a reconnection if not.
    pub async fn is_ready(&self) -> bool {
        if self.inner.closing.is_cancelled() {
            return false;
        }
        if self.inner.current().is_some() {
            return true;
        }
        self.inner.trigger_reconnect();
        false
    }

    /// Closes the connection. Every later operation fails with [`BrokerError::Closed`] and
    /// consumers stop.
    pub async fn close(&self) {
        self.inner.close().await;
    }
}
