//! Prometheus metrics of the payment-service, served on `/metrics` of the webhook server.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the service exports. Cheap to clone (the collectors are reference counted).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Webhook notifications by outcome (credited, duplicate, ignored, bad_signature, failed, …).
    pub notifications: IntCounterVec,
    /// Seconds from a notification's arrival to the committed credit.
    pub credit_latency: Histogram,
    /// Orders by outcome (accepted, insufficient_balance, out_of_stock, limited, failed, …).
    pub orders: IntCounterVec,
    /// Top-ups created by outcome (created, invalid_amount, provider_error, …).
    pub topups: IntCounterVec,
    /// Delivery results reported by the bot, by method and outcome.
    pub deliveries: IntCounterVec,
    /// Codes available for sale.
    pub stock_available: IntGauge,
    /// Outbox rows not yet published.
    pub outbox_backlog: IntGauge,
    /// Seconds spent handling one broker message, by message type.
    pub handler_latency: HistogramVec,
    /// Messages waiting in each queue this service consumes and in its dead-letter queue
    /// (`….dlq`), sampled every few seconds: the consumer lag.
    pub consumer_lag: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("payment".into()), None).unwrap_or_default();
        let notifications = IntCounterVec::new(
            Opts::new(
                "webhook_notifications_total",
                "Midtrans notifications by outcome",
            ),
            &["outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let credit_latency = Histogram::with_opts(
            HistogramOpts::new(
                "webhook_credit_latency_seconds",
                "From notification arrival to committed credit",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .unwrap_or_else(|_| unreachable_metric());
        let orders = IntCounterVec::new(
            Opts::new("orders_total", "Order requests by outcome"),
            &["outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let topups = IntCounterVec::new(
            Opts::new("topups_total", "Top-up requests by outcome"),
            &["outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let deliveries = IntCounterVec::new(
            Opts::new("deliveries_total", "Delivery results by method and outcome"),
            &["method", "outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let stock_available = IntGauge::new("stock_available", "Codes available for sale")
            .unwrap_or_else(|_| unreachable_metric());
        let outbox_backlog = IntGauge::new("outbox_backlog", "Outbox rows not yet published")
            .unwrap_or_else(|_| unreachable_metric());
        let handler_latency = HistogramVec::new(
            HistogramOpts::new(
                "handler_latency_seconds",
                "Time to handle one broker message",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["message_type"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "consumer_lag_messages",
                "Messages waiting in a consumed queue (or its dead-letter queue)",
            ),
            &["queue"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        for c in [
            Box::new(notifications.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(credit_latency.clone()),
            Box::new(orders.clone()),
            Box::new(topups.clone()),
            Box::new(deliveries.clone()),
            Box::new(stock_available.clone()),
            Box::new(outbox_backlog.clone()),
            Box::new(handler_latency.clone()),
            Box::new(consumer_lag.clone()),
        ] {
            // Names are distinct constants: registration cannot collide.
            let _ = registry.register(c);
        }
        Metrics {
            registry,
            notifications,
            credit_latency,
            orders,
            topups,
            deliveries,
            stock_available,
            outbox_backlog,
            handler_latency,
            consumer_lag,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Metric definitions are constants checked by the test below; this path is never taken.
fn unreachable_metric<T>() -> T {
    panic!("invalid metric definition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_metrics_render() {
        let m = Metrics::new();
        m.notifications.with_label_values(&["credited"]).inc();
        m.orders.with_label_values(&["accepted"]).inc();
        m.deliveries.with_label_values(&["dm", "confirmed"]).inc();
        m.handler_latency
            .with_label_values(&["order.create"])
            .observe(0.01);
        m.consumer_lag
            .with_label_values(&["shop.payment.commands"])
            .set(4);
        let text = m.render();
        for name in [
            "payment_consumer_lag_messages{queue=\"shop.payment.commands\"} 4",
            "payment_webhook_notifications_total{outcome=\"credited\"} 1",
            "payment_orders_total",
            "payment_deliveries_total",
            "payment_stock_available",
            "payment_outbox_backlog",
            "payment_handler_latency_seconds",
            "payment_webhook_credit_latency_seconds",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
