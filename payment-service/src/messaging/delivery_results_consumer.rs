//! Consumes the bot's `delivery.confirmed` / `delivery.failed` and drives the order's delivery
//! state machine. Acknowledges only after the transaction committed; a message seen before
//! (same message id) changes nothing.

use std::sync::Arc;
use std::time::Instant;

use broker::{Handler, HandlerOutcome, IncomingMessage};
use sea_orm::DatabaseConnection;
use shared_proto::{Envelope, Event, MessageFamily};

use crate::config::PaymentConfig;
use crate::metrics::Metrics;
use crate::orders::OrderService;
use crate::stock_vault::StockVault;

pub struct DeliveryResultsConsumer {
    orders: OrderService,
}

impl DeliveryResultsConsumer {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<PaymentConfig>,
        vault: StockVault,
        metrics: Metrics,
        events_exchange: String,
    ) -> Self {
        DeliveryResultsConsumer {
            orders: OrderService::new(db, config, vault, metrics, events_exchange),
        }
    }
}

#[async_trait::async_trait]
impl Handler for DeliveryResultsConsumer {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let started = Instant::now();
        let envelope = match Envelope::<Event>::from_bytes(&message.body) {
            Ok(e) => e,
            Err(error) => {
                tracing::error!(%error, "undecodable delivery result; dead-lettering it");
                return HandlerOutcome::Reject;
            }
        };
        let message_id = envelope.message_id.to_string();
        let result = match &envelope.payload {
            Event::DeliveryConfirmed(ev) => {
                self.orders
                    .delivery_confirmed_in(ev, &message_id, envelope.correlation_id)
                    .await
            }
            Event::DeliveryFailed(ev) => {
                self.orders
                    .delivery_failed(ev, &message_id, envelope.correlation_id)
                    .await
            }
            other => {
                tracing::warn!(
                    message_type = other.message_type(),
                    "unexpected event on the delivery results queue"
                );
                return HandlerOutcome::Reject;
            }
        };
        self.orders_metrics(envelope.payload.message_type(), started);
        match result {
            Ok(()) => HandlerOutcome::Ack,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), correlation_id = %envelope.correlation_id, "handling a delivery result failed; will retry");
                HandlerOutcome::Retry
            }
        }
    }
}

impl DeliveryResultsConsumer {
    fn orders_metrics(&self, message_type: &str, started: Instant) {
        self.orders
            .metrics()
            .handler_latency
            .with_label_values(&[message_type])
            .observe(started.elapsed().as_secs_f64());
    }
}
