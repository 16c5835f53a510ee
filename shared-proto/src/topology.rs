//! Exchange, queue and routing-key names, in one place. Every name starts with a namespace
//! (`AMQP_NAMESPACE`, default `redfinger`) so tests and staging can share one broker.
//!
//! ```text
//! bot-service ──order.create/topup.create/…──▶ {ns}.commands (direct) ──▶ {ns}.payment.commands
//! payment-service ──reply──▶ amq.rabbitmq.reply-to (direct reply-to of the requester)
//! payment-service ──delivery.requested──▶ {ns}.events (topic) ──▶ {ns}.bot.deliveries
//! payment-service ──topup.*, stock.low, order.*──▶ {ns}.events ──▶ {ns}.bot.notifications
//! bot-service ──delivery.confirmed/failed──▶ {ns}.events ──▶ {ns}.payment.delivery-results
//! any queue ──(rejected past its delivery limit)──▶ {ns}.dead-letter ──▶ {queue}.dlq
//! ```

/// The RabbitMQ queue the requester reads replies from (RabbitMQ's direct reply-to).
pub const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

pub const DEFAULT_NAMESPACE: &str = "redfinger";

/// Routing keys of the command types (equal to their message types).
pub mod commands {
    pub const ORDER_CREATE: &str = "order.create";
    pub const TOPUP_CREATE: &str = "topup.create";
    pub const TOPUP_STATUS: &str = "topup.status";
    pub const TOPUP_CANCEL: &str = "topup.cancel";
    pub const BALANCE_GET: &str = "balance.get";
    pub const HISTORY_GET: &str = "history.get";
    pub const CATALOG_GET: &str = "catalog.get";
    pub const ADMIN_STOCK_ADD: &str = "admin.stock.add";
    pub const ADMIN_STOCK_VIEW: &str = "admin.stock.view";
    pub const ADMIN_ORDERS_LIST: &str = "admin.orders.list";
    pub const ADMIN_ORDER_PROCESS: &str = "admin.order.process";
    pub const ADMIN_STATS: &str = "admin.stats";
    pub const ADMIN_STOCK_QUARANTINE: &str = "admin.stock.quarantine";
    pub const ADMIN_OWED_CLEAR: &str = "admin.owed.clear";
    pub const REPORT_CREATE: &str = "report.create";
    pub const ADMIN_REPORT_ACTION: &str = "admin.report.action";
    pub const ADMIN_BATCH_DEFECTIVE: &str = "admin.batch.defective";
    pub const ADMIN_PRODUCT: &str = "admin.product";
    pub const ORDER_CODES: &str = "order.codes";
}

/// Routing keys of the event types (equal to their message types).
pub mod events {
    pub const DELIVERY_REQUESTED: &str = "delivery.requested";
    pub const DELIVERY_CONFIRMED: &str = "delivery.confirmed";
    pub const DELIVERY_FAILED: &str = "delivery.failed";
    pub const TOPUP_SETTLED: &str = "topup.settled";
    pub const TOPUP_EXPIRED: &str = "topup.expired";
    pub const STOCK_LOW: &str = "stock.low";
    pub const ORDER_FAILED: &str = "order.failed";
    pub const ORDER_REFUNDED: &str = "order.refunded";
    pub const ORDER_ANOMALY: &str = "order.anomaly";
    pub const TOPUP_REVERSED: &str = "topup.reversed";
    pub const REPORT_UPDATED: &str = "report.updated";
}

/// The kind of an exchange, as RabbitMQ names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    Direct,
    Topic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeKind,
}

/// A durable quorum queue, its bindings and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub exchange: String,
    pub binding_keys: Vec<String>,
    /// Name of the queue that receives messages rejected past the delivery limit.
    pub dead_letter_queue: String,
}

/// All names for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    namespace: String,
}

impl Default for Topology {
    fn default() -> Self {
        Topology::new(DEFAULT_NAMESPACE)
    }
}

impl Topology {
    pub fn new(namespace: impl Into<String>) -> Self {
        Topology {
            namespace: namespace.into(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn commands_exchange(&self) -> String {
        format!("{}.commands", self.namespace)
    }

    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    pub fn payment_commands_queue(&self) -> String {
        format!("{}.payment.commands", self.namespace)
    }

    pub fn payment_delivery_results_queue(&self) -> String {
        format!("{}.payment.delivery-results", self.namespace)
    }

    pub fn bot_deliveries_queue(&self) -> String {
        format!("{}.bot.deliveries", self.namespace)
    }

    pub fn bot_notifications_queue(&self) -> String {
        format!("{}.bot.notifications", self.namespace)
    }

    pub fn exchanges(&self) -> Vec<ExchangeSpec> {
        vec![
            ExchangeSpec {
                name: self.commands_exchange(),
                kind: ExchangeKind::Direct,
            },
            ExchangeSpec {
                name: self.events_exchange(),
                kind: ExchangeKind::Topic,
            },
            ExchangeSpec {
                name: self.dead_letter_exchange(),
                kind: ExchangeKind::Direct,
            },
        ]
    }

    fn queue(&self, name: String, exchange: String, keys: &[&str]) -> QueueSpec {
        QueueSpec {
            dead_letter_queue: format!("{name}.dlq"),
            name,
            exchange,
            binding_keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    /// Queues the payment-service consumes.
    pub fn payment_queues(&self) -> Vec<QueueSpec> {
        use commands::*;
        vec![
            self.queue(
                self.payment_commands_queue(),
                self.commands_exchange(),
                &[
                    ORDER_CREATE,
                    TOPUP_CREATE,
                    TOPUP_STATUS,
                    TOPUP_CANCEL,
                    BALANCE_GET,
                    HISTORY_GET,
                    CATALOG_GET,
                    ADMIN_STOCK_ADD,
                    ADMIN_STOCK_VIEW,
                    ADMIN_ORDERS_LIST,
                    ADMIN_ORDER_PROCESS,
                    ADMIN_STATS,
                    ADMIN_STOCK_QUARANTINE,
                    ADMIN_OWED_CLEAR,
                    REPORT_CREATE,
                    ADMIN_REPORT_ACTION,
                    ADMIN_BATCH_DEFECTIVE,
                    ADMIN_PRODUCT,
                    ORDER_CODES,
                ],
            ),
            self.queue(
                self.payment_delivery_results_queue(),
                self.events_exchange(),
                &[events::DELIVERY_CONFIRMED, events::DELIVERY_FAILED],
            ),
        ]
    }

    /// Queues the bot-service consumes.
    pub fn bot_queues(&self) -> Vec<QueueSpec> {
        use events::*;
        vec![
            self.queue(
                self.bot_deliveries_queue(),
                self.events_exchange(),
                &[DELIVERY_REQUESTED],
            ),
            self.queue(
                self.bot_notifications_queue(),
                self.events_exchange(),
                &[
                    TOPUP_SETTLED,
                    TOPUP_EXPIRED,
                    STOCK_LOW,
                    ORDER_FAILED,
                    ORDER_REFUNDED,
                    ORDER_ANOMALY,
                    TOPUP_REVERSED,
                    REPORT_UPDATED,
                ],
            ),
        ]
    }

    /// Every queue of the system: either service declares all of them at start-up, so a message
    /// published before the other service ever ran is kept, not dropped as unroutable.
    pub fn all_queues(&self) -> Vec<QueueSpec> {
        let mut all = self.payment_queues();
        all.extend(self.bot_queues());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_name_carries_the_namespace() {
        let t = Topology::new("ns1");
        for q in t.all_queues() {
            assert!(q.name.starts_with("ns1."), "{}", q.name);
            assert!(q.dead_letter_queue.starts_with("ns1."));
            assert!(!q.binding_keys.is_empty());
        }
        assert_eq!(t.all_queues().len(), 4);
    }
}
