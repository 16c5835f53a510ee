//! Request/reply over RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`).
//!
//! Each connection has one request channel that consumes the reply pseudo-queue (no-ack, as
//! RabbitMQ requires) and publishes the requests — direct reply-to only delivers replies to the
//! channel that sent the request. A listener task routes each reply by its AMQP correlation id
//! to the waiting request. Replies are not durable: if the connection drops, waiting requests
//! fail at once and the caller may resend (commands are idempotent by request id).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::Channel;
use shared_proto::topology::DIRECT_REPLY_TO;
use tokio::sync::oneshot;

use crate::connection::Link;
use crate::publish::{check_confirmation, properties, AttemptError, OutgoingRaw};

/// One waiting request: its token (to find it again on drop) and where to send the reply body.
type WaitingRequest = (u64, oneshot::Sender<Vec<u8>>);

/// Requests waiting for their reply, by correlation id. Several requests may share one
/// correlation id (one user action); their replies are handed out first-come first-served.
#[derive(Default)]
struct Pending {
    next_token: u64,
    /// False once the reply consumer has stopped: new requests must use a new channel.
    closed: bool,
    waiters: HashMap<String, VecDeque<WaitingRequest>>,
}

pub(crate) struct RpcChannel {
    channel: Channel,
    /// Serializes publishes on this channel (see `Link::publisher` for why).
    publish_lock: tokio::sync::Mutex<()>,
    pending: Arc<Mutex<Pending>>,
}

/// Removes its request from the pending map when dropped (reply received, timeout, error).
pub(crate) struct Waiter {
    pending: Arc<Mutex<Pending>>,
    correlation_id: String,
    token: u64,
    pub(crate) reply: oneshot::Receiver<Vec<u8>>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut pending = lock(&self.pending);
        if let Some(queue) = pending.waiters.get_mut(&self.correlation_id) {
            queue.retain(|(token, _)| *token != self.token);
            if queue.is_empty() {
                pending.waiters.remove(&self.correlation_id);
            }
        }
    }
}

fn lock(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    // The map stays consistent even if a holder panicked: every operation is a single insert or
    // remove.
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RpcChannel {
    fn is_usable(&self) -> bool {
        self.channel.status().connected() && !lock(&self.pending).closed
    }

    /// Registers a waiter for a reply with this correlation id. Register before publishing: the
    /// reply can arrive before the publisher confirm.
    pub(crate) fn register(&self, correlation_id: &str) -> Waiter {
        let (tx, rx) = oneshot::channel();
        let mut pending = lock(&self.pending);
        pending.next_token += 1;
        let token = pending.next_token;
        pending
            .waiters
            .entry(correlation_id.to_string())
            .or_default()
            .push_back((token, tx));
        Waiter {
            pending: self.pending.clone(),
            correlation_id: correlation_id.to_string(),
            token,
            reply: rx,
        }
    }

    /// Publishes a request with `reply_to` = direct reply-to and waits for its confirm.
    pub(crate) async fn publish(&self, msg: &OutgoingRaw<'_>) -> Result<(), AttemptError> {
        let confirm = {
            let _serialized = self.publish_lock.lock().await;
            self.channel
                .basic_publish(
                    msg.exchange,
                    msg.routing_key,
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    msg.payload,
                    properties(msg).with_reply_to(ShortString::from(DIRECT_REPLY_TO)),
                )
                .await
                .map_err(AttemptError::Transport)?
        };
        check_confirmation(confirm.await, msg)
    }
}

/// The request channel of this link, opened (with its reply listener) on first use.
pub(crate) async fn channel_of(link: &Link) -> Result<Arc<RpcChannel>, lapin::Error> {
    let mut slot = link.rpc.lock().await;
    if let Some(rpc) = slot.as_ref().filter(|r| r.is_usable()) {
        return Ok(rpc.clone());
    }
    let channel = link.connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            DIRECT_REPLY_TO,
            "",
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let pending = Arc::new(Mutex::new(Pending::default()));
    tokio::spawn(listen_for_replies(consumer, pending.clone()));
    let rpc = Arc::new(RpcChannel {
        channel,
        publish_lock: tokio::sync::Mutex::new(()),
        pending,
    });
    *slot = Some(rpc.clone());
    Ok(rpc)
}

async fn listen_for_replies(mut consumer: lapin::Consumer, pending: Arc<Mutex<Pending>>) {
    while let Some(next) = consumer.next().await {
        let delivery = match next {
            Ok(delivery) => delivery,
            Err(error) => {
                tracing::warn!(%error, "reply consumer stopped");
                break;
            }
        };
        let Some(correlation_id) = delivery.properties.correlation_id().as_ref() else {
            tracing::warn!("dropping a reply without correlation id");
            continue;
        };
        let waiter = {
            let mut pending = lock(&pending);
            let key = correlation_id.as_str();
            let waiter = pending.waiters.get_mut(key).and_then(VecDeque::pop_front);
            if pending.waiters.get(key).is_some_and(VecDeque::is_empty) {
                pending.waiters.remove(key);
            }
            waiter
        };
        match waiter {
            Some((_, tx)) => {
                // The requester may have timed out in the meantime; then the reply is dropped.
                let _ = tx.send(delivery.data);
            }
            None => tracing::debug!(
                correlation_id = %correlation_id,
                "reply arrived after its request gave up"
            ),
        }
    }
    // Dropping the senders wakes every waiting request with an error.
    let mut pending = lock(&pending);
    pending.closed = true;
    pending.waiters.clear();
}
