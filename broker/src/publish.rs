//! Confirmed publishing: persistent, mandatory, and only `Ok` once the broker has confirmed.

use lapin::options::BasicPublishOptions;
use lapin::publisher_confirm::{Confirmation, PublisherConfirm};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use shared_proto::SCHEMA_VERSION;

use crate::connection::Link;
use crate::BrokerError;

/// A message already serialized (e.g. read back from the outbox). `payload` is the full envelope
/// JSON; the ids and type are repeated in AMQP properties so the broker, the management UI and
/// consumers can see them without parsing the body.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRaw<'a> {
    pub exchange: &'a str,
    pub routing_key: &'a str,
    pub message_id: &'a str,
    pub correlation_id: &'a str,
    pub message_type: &'a str,
    pub payload: &'a [u8],
}

/// AMQP properties of every message we publish.
pub(crate) fn properties(msg: &OutgoingRaw<'_>) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        "x-schema-version".into(),
        AMQPValue::LongInt(i32::from(SCHEMA_VERSION)),
    );
    headers.insert(
        "x-correlation-id".into(),
        AMQPValue::LongString(msg.correlation_id.into()),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(ShortString::from(msg.message_id))
        .with_correlation_id(ShortString::from(msg.correlation_id))
        .with_type(ShortString::from(msg.message_type))
        .with_timestamp(now)
        .with_headers(headers)
}

/// Why one publish attempt failed: a final answer from the broker, or a transport problem
/// worth one retry on a fresh channel/connection.
pub(crate) enum AttemptError {
    Final(BrokerError),
    Transport(lapin::Error),
}

impl AttemptError {
    pub(crate) fn into_broker_error(self) -> BrokerError {
        match self {
            AttemptError::Final(e) => e,
            AttemptError::Transport(e) => BrokerError::from_lapin(e),
        }
    }
}

/// Sends one message on a publisher channel of `link` and returns its pending confirm.
pub(crate) async fn send(
    link: &Link,
    msg: &OutgoingRaw<'_>,
    mandatory: bool,
) -> Result<PublisherConfirm, lapin::Error> {
    let slot = link.publisher().await?;
    let Some(channel) = slot.as_ref() else {
        return Err(lapin::Error::InvalidChannelState(
            lapin::ChannelState::Closed,
        ));
    };
    channel
        .basic_publish(
            msg.exchange,
            msg.routing_key,
            BasicPublishOptions {
                mandatory,
                immediate: false,
            },
            msg.payload,
            properties(msg),
        )
        .await
}

/// Interprets a publisher confirm.
pub(crate) fn check_confirmation(
    confirmation: Result<Confirmation, lapin::Error>,
    msg: &OutgoingRaw<'_>,
) -> Result<(), AttemptError> {
    match confirmation {
        Ok(Confirmation::Ack(None)) => Ok(()),
        Ok(Confirmation::Ack(Some(_returned))) => {
            Err(AttemptError::Final(BrokerError::Unroutable {
                exchange: msg.exchange.to_string(),
                routing_key: msg.routing_key.to_string(),
            }))
        }
        Ok(Confirmation::Nack(_)) => Err(AttemptError::Final(BrokerError::Nacked)),
        // Confirms are always enabled on publisher channels; without one we cannot claim success.
        Ok(Confirmation::NotRequested) => Err(AttemptError::Final(BrokerError::Connection(
            "publisher confirms were not enabled on the channel".into(),
        ))),
        Err(e) => Err(AttemptError::Transport(e)),
    }
}

/// One attempt: publish and wait for the confirm.
pub(crate) async fn attempt(
    link: &Link,
    msg: &OutgoingRaw<'_>,
    mandatory: bool,
) -> Result<(), AttemptError> {
    let confirm = send(link, msg, mandatory)
        .await
        .map_err(AttemptError::Transport)?;
    check_confirmation(confirm.await, msg)
}

/// Publishes all messages on one channel in order, then awaits all confirms.
pub(crate) async fn attempt_batch(
    link: &Link,
    msgs: &[&OutgoingRaw<'_>],
) -> Vec<Result<(), AttemptError>> {
    let sent: Vec<Result<PublisherConfirm, lapin::Error>> = match link.publisher().await {
        Err(e) => msgs.iter().map(|_| Err(e.clone())).collect(),
        Ok(slot) => match slot.as_ref() {
            None => msgs
                .iter()
                .map(|_| {
                    Err(lapin::Error::InvalidChannelState(
                        lapin::ChannelState::Closed,
                    ))
                })
                .collect(),
            Some(channel) => {
                // join_all polls the futures in order, so frames and confirm sequence numbers
                // are assigned in batch order; only the socket writes overlap.
                futures::future::join_all(msgs.iter().map(|msg| {
                    channel.basic_publish(
                        msg.exchange,
                        msg.routing_key,
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        msg.payload,
                        properties(msg),
                    )
                }))
                .await
            }
        },
    };
    futures::future::join_all(sent.into_iter().zip(msgs).map(|(sent, msg)| async move {
        match sent {
            Ok(confirm) => check_confirmation(confirm.await, msg),
            Err(e) => Err(AttemptError::Transport(e)),
        }
    }))
    .await
}
