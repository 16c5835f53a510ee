//! The one error type of the broker layer. Messages never contain payload bytes.

use shared_proto::DecodeError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// No usable connection (could not connect, lost it, or gave up waiting for it to come back).
    #[error("broker connection unavailable: {0}")]
    Connection(String),
    /// The broker refused an operation on a channel (missing exchange or queue, a queue
    /// re-declared with other arguments, access refused, ...).
    #[error("broker refused the operation: {0}")]
    Amqp(#[source] lapin::Error),
    /// A mandatory message matched no queue and was returned.
    #[error("message to exchange {exchange:?} with routing key {routing_key:?} is unroutable")]
    Unroutable {
        exchange: String,
        routing_key: String,
    },
    /// The broker negatively confirmed the message: it was not stored.
    #[error("broker did not accept the message (publisher nack)")]
    Nacked,
    /// No reply arrived within the request's timeout.
    #[error("no reply within the timeout")]
    Timeout,
    /// A reply arrived but is not a valid message.
    #[error("reply could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// [`crate::Broker::close`] was called.
    #[error("broker layer is closed")]
    Closed,
}

impl BrokerError {
    /// Maps a lapin error: channel-level refusals stay inspectable, everything else means the
    /// connection is not usable.
    pub(crate) fn from_lapin(error: lapin::Error) -> Self {
        use lapin::protocol::AMQPErrorKind;
        match &error {
            lapin::Error::ProtocolError(amqp) if matches!(amqp.kind(), AMQPErrorKind::Soft(_)) => {
                BrokerError::Amqp(error)
            }
            _ => BrokerError::Connection(error.to_string()),
        }
    }
}
