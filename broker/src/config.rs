//! Settings of one [`crate::Broker`]: where RabbitMQ is and how consumers and queues behave.

use std::fmt;

use shared_proto::Topology;

/// How to reach RabbitMQ and the knobs every queue and consumer of this broker shares.
#[derive(Clone)]
pub struct BrokerConfig {
    /// AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f` (`amqps://` works). Holds the
    /// password, so `Debug` masks it.
    pub url: String,
    /// Names of every exchange and queue (the namespace prefix lets tests share one broker).
    pub topology: Topology,
    /// Unacknowledged deliveries one consumer holds at most; it is also how many handlers of one
    /// consumer run at once (0 is treated as 1).
    pub prefetch: u16,
    /// `x-delivery-limit` of every quorum queue: a message that keeps failing is delivered
    /// `delivery_limit + 1` times (the first delivery plus this many redeliveries; measured on
    /// RabbitMQ 3.10) and then goes to the dead-letter queue. Both services must use the same value, because
    /// RabbitMQ refuses to re-declare a queue with different arguments.
    pub delivery_limit: u32,
    /// Shown in the RabbitMQ management UI and `rabbitmqctl list_connections`.
    pub connection_name: String,
}

impl BrokerConfig {
    pub const DEFAULT_PREFETCH: u16 = 32;
    pub const DEFAULT_DELIVERY_LIMIT: u32 = 5;

    /// A configuration with the default prefetch (32) and delivery limit (5).
    pub fn new(
        url: impl Into<String>,
        topology: Topology,
        connection_name: impl Into<String>,
    ) -> Self {
        BrokerConfig {
            url: url.into(),
            topology,
            prefetch: Self::DEFAULT_PREFETCH,
            delivery_limit: Self::DEFAULT_DELIVERY_LIMIT,
            connection_name: connection_name.into(),
        }
    }
}

impl fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("url", &mask_password(&self.url))
            .field("topology", &self.topology)
            .field("prefetch", &self.prefetch)
            .field("delivery_limit", &self.delivery_limit)
            .field("connection_name", &self.connection_name)
            .finish()
    }
}

/// `amqp://user:secret@host/vhost` → `amqp://user:***@host/vhost`.
pub(crate) fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = BrokerConfig::new(
            "amqps://shop:hunter2@rabbit.example:5671/%2f",
            Topology::default(),
            "test",
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("amqps://shop:***@rabbit.example:5671/%2f"),
            "{shown}"
        );
    }

    #[test]
    fn urls_without_password_are_unchanged() {
        assert_eq!(
            mask_password("amqp://127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(mask_password("not a url"), "not a url");
    }
}
