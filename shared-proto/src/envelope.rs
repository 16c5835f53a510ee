//! The envelope every broker message travels in, and the typed decoding of its payload.
//!
//! On the wire (JSON):
//! `{"message_id": uuid, "correlation_id": uuid, "type": "order.create", "schema_version": 1,
//!   "timestamp": rfc3339, "payload": {...}}`.
//! Unknown fields anywhere are ignored (so a newer producer can add fields); an unknown `type`
//! or a `schema_version` newer than this build understands is refused with a clear error.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The schema version this build writes and the highest it reads.
pub const SCHEMA_VERSION: u16 = 1;

/// A message with its metadata. `P` is the typed body ([`crate::Command`], [`crate::Event`],
/// [`crate::Reply`]) or [`serde_json::Value`] before decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<P> {
    /// Unique per message; consumers record it to stay idempotent under redelivery.
    pub message_id: Uuid,
    /// Shared by every message of one user action (request, reply, events), so logs of both
    /// services can be joined.
    pub correlation_id: Uuid,
    #[serde(rename = "type")]
    pub message_type: String,
    pub schema_version: u16,
    pub timestamp: DateTime<Utc>,
    pub payload: P,
}

/// Why bytes from the broker could not become a typed message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message is not a valid envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("message type {message_type:?} has schema version {found}, this build reads up to {supported}")]
    UnsupportedVersion {
        message_type: String,
        found: u16,
        supported: u16,
    },
    #[error("payload of {message_type:?} is invalid: {source}")]
    Payload {
        message_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// A closed family of message bodies that share a queue: each variant has a fixed type string.
pub trait MessageFamily: Sized {
    /// The wire type of this body, e.g. `"order.create"`.
    fn message_type(&self) -> &'static str;
    /// Every type string this family accepts.
    fn known_types() -> &'static [&'static str];
    /// Builds the body from its type string and JSON payload.
    fn from_type_and_payload(
        message_type: &str,
        payload: serde_json::Value,
    ) -> Result<Self, DecodeError>;
    /// The JSON payload (without the envelope).
    fn to_payload(&self) -> serde_json::Value;
}

impl<P: MessageFamily> Envelope<P> {
    /// A new message that starts a conversation: its correlation id is its own message id.
    pub fn new(payload: P) -> Self {
        let id = Uuid::now_v7();
        Self::with_correlation(payload, id)
    }

    /// A new message that belongs to an existing conversation.
    pub fn with_correlation(payload: P, correlation_id: Uuid) -> Self {
        Envelope {
            message_id: Uuid::now_v7(),
            correlation_id,
            message_type: payload.message_type().to_string(),
            schema_version: SCHEMA_VERSION,
            timestamp: Utc::now(),
            payload,
        }
    }

    /// Serializes the whole envelope to JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let raw = Envelope {
            message_id: self.message_id,
            correlation_id: self.correlation_id,
            message_type: self.message_type.clone(),
            schema_version: self.schema_version,
            timestamp: self.timestamp,
            payload: self.payload.to_payload(),
        };
        // Serializing a struct of plain data to a Vec cannot fail.
        serde_json::to_vec(&raw).unwrap_or_default()
    }

    /// Parses JSON bytes into a typed envelope of this family.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: Envelope<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?;
        if !P::known_types().contains(&raw.message_type.as_str()) {
            return Err(DecodeError::UnknownType(raw.message_type));
        }
        if raw.schema_version > SCHEMA_VERSION || raw.schema_version == 0 {
            return Err(DecodeError::UnsupportedVersion {
                message_type: raw.message_type,
                found: raw.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        let payload = P::from_type_and_payload(&raw.message_type, raw.payload)?;
        Ok(Envelope {
            message_id: raw.message_id,
            correlation_id: raw.correlation_id,
            message_type: raw.message_type,
            schema_version: raw.schema_version,
            timestamp: raw.timestamp,
            payload,
        })
    }
}

/// Declares a message family enum whose variants each wrap one payload struct under a fixed
/// type string, and implements [`MessageFamily`] for it.
#[macro_export]
macro_rules! message_family {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($payload:ty) = $type_str:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($payload), )+
        }

        impl $crate::envelope::MessageFamily for $name {
            fn message_type(&self) -> &'static str {
                match self { $( $name::$variant(_) => $type_str, )+ }
            }

            fn known_types() -> &'static [&'static str] {
                &[ $( $type_str, )+ ]
            }

            fn from_type_and_payload(
                message_type: &str,
                payload: serde_json::Value,
            ) -> Result<Self, $crate::envelope::DecodeError> {
                match message_type {
                    $( $type_str => serde_json::from_value::<$payload>(payload)
                        .map($name::$variant)
                        .map_err(|source| $crate::envelope::DecodeError::Payload {
                            message_type: message_type.to_string(),
                            source,
                        }), )+
                    other => Err($crate::envelope::DecodeError::UnknownType(other.to_string())),
                }
            }

            fn to_payload(&self) -> serde_json::Value {
                match self {
                    $( $name::$variant(p) => serde_json::to_value(p).unwrap_or(serde_json::Value::Null), )+
                }
            }
        }
    };
}

/// Helper for decoding a single payload type regardless of family (used by tests and tools).
pub fn decode_payload<T: DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}
