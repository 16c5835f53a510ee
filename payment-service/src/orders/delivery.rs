//! The delivery state machine: the bot's `delivery.confirmed` / `delivery.failed`, automatic
//! retries with backoff, and an admin's re-delivery or refund.
//!
//! Codes that left the database (a `delivery.requested` was queued) are never sold again: a
//! refunded order keeps its stock rows `reserved` and bound to it. Only a pending order whose
//! codes were never sent gives them back. A refund voids the order's queued deliveries in the
//! same transaction, and a confirmation that still arrives for a refunded order is recorded as
//! an anomaly and alerted, never taken as a completion.

use anyhow::Context;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use shared_proto::{
    AnomalyKind, DeliveryConfirmed, DeliveryFailed, DeliveryRequested, Event, Idr, OrderAnomaly,
    OrderFailed, OrderProcessed, OrderRefunded, OrderStatus, ProcessAction, Refusal, ServiceError,
};
use uuid::Uuid;

use super::domain::{self, FailureDecision, RefundRefusal, RefundRule};
use super::{find_order, order_codes, OrderRow, OrderService};
use crate::messaging::outbox_relay;
use crate::persistence::ledger;
use crate::persistence::{outbox, stmt};

/// What an admin asked `process` to do with an order.
#[derive(Debug, Clone, Copy)]
pub struct ProcessRequest<'a> {
    pub order_number: &'a str,
    pub action: ProcessAction,
    /// Allows refunding a `completed` or `delivering` order (with a reason).
    pub force: bool,
    pub reason: Option<&'a str>,
}

/// `order_anomalies.kind` of a confirmation that arrived after the refund.
const ANOMALY_DELIVERED_AFTER_REFUND: &str = "delivered_after_refund";

/// `processed_messages.consumer` of the delivery-results consumer.
const CONSUMER: &str = "delivery_results";
const MAX_ERROR_LEN: usize = 500;

impl OrderService {
    /// Records a confirmed delivery; completes the order and marks its codes sold. Duplicate and
    /// late confirmations are harmless; a confirmation for a refunded order is an anomaly.
    pub async fn delivery_confirmed(
        &self,
        ev: &DeliveryConfirmed,
        message_id: &str,
    ) -> anyhow::Result<()> {
        self.delivery_confirmed_in(ev, message_id, Uuid::now_v7())
            .await
    }

    /// [`Self::delivery_confirmed`] within the conversation `correlation` (the anomaly alert
    /// joins it).
    #[tracing::instrument(skip_all, fields(order_number = %ev.order_number, attempt = ev.attempt))]
    pub async fn delivery_confirmed_in(
        &self,
        ev: &DeliveryConfirmed,
        message_id: &str,
        correlation: Uuid,
    ) -> anyhow::Result<()> {
        let txn = self.db.begin().await?;
        if !first_time(&txn, message_id).await? {
            return Ok(());
        }
        let Some(order) = find_order(&txn, &ev.order_number).await? else {
            tracing::warn!("delivery confirmed for an unknown order");
            txn.commit().await?;
            return Ok(());
        };
        let now = Utc::now();
        insert_delivery(
            &txn,
            order.id,
            ev.attempt,
            ev.method.as_str(),
            "confirmed",
            None,
        )
        .await?;
        self.metrics
            .deliveries
            .with_label_values(&[ev.method.as_str(), "confirmed"])
            .inc();
        if order.status == OrderStatus::Refunded {
            // The buyer has the codes and the money: never accepted silently. The order stays
            // refunded; admins see it in the alert channel and in `order_anomalies`.
            self.delivered_after_refund(&txn, &order, ev, message_id, correlation)
                .await?;
            txn.commit()
                .await
                .context("committing a delivery anomaly")?;
            outbox_relay::wake();
            return Ok(());
        }
        let mut anomaly = false;
        if domain::completes_on_confirm(order.status) {
            let done = txn
                .execute(stmt(
                    &txn,
                    "UPDATE orders SET status = 'completed', completed_at = $1, updated_at = $1, \
                     last_error = NULL WHERE id = $2 AND status IN ('pending', 'delivering', 'failed')",
                    [now.into(), order.id.into()],
                ))
                .await?;
            if done.rows_affected() == 1 {
                txn.execute(stmt(
                    &txn,
                    "UPDATE stock SET status = 'sold', sold_at = $1 \
                     WHERE order_id = $2 AND status = 'reserved'",
                    [now.into(), order.id.into()],
                ))
                .await?;
            } else if let Some(now_order) = find_order(&txn, &ev.order_number)
                .await?
                .filter(|o| o.status == OrderStatus::Refunded)
            {
                // A refund committed between the read above and this update.
                self.delivered_after_refund(&txn, &now_order, ev, message_id, correlation)
                    .await?;
                anomaly = true;
            }
        }
        txn.commit()
            .await
            .context("committing a delivery confirmation")?;
        if anomaly {
            outbox_relay::wake();
        }
        Ok(())
    }

    /// Records a failed delivery and either schedules the next attempt or gives up (the order
    /// becomes `failed` and admins get `order.failed`).
    #[tracing::instrument(skip_all, fields(order_number = %ev.order_number, attempt = ev.attempt))]
    pub async fn delivery_failed(
        &self,
        ev: &DeliveryFailed,
        message_id: &str,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        let txn = self.db.begin().await?;
        if !first_time(&txn, message_id).await? {
            return Ok(());
        }
        let Some(order) = find_order(&txn, &ev.order_number).await? else {
            tracing::warn!("delivery failed for an unknown order");
            txn.commit().await?;
            return Ok(());
        };
        let error: String = ev.error.chars().take(MAX_ERROR_LEN).collect();
        // The bot tries a DM first; the report does not say which fallback failed.
        insert_delivery(&txn, order.id, ev.attempt, "dm", "failed", Some(&error)).await?;
        self.metrics
            .deliveries
            .with_label_values(&["dm", "failed"])
            .inc();
        let decision = domain::on_delivery_failed(
            order.status,
            order.delivery_attempts,
            ev.attempt,
            ev.retryable,
            self.config.delivery_retry_attempts,
        );
        match decision {
            FailureDecision::Stale => {
                tracing::info!(
                    status = order.status.as_str(),
                    current = order.delivery_attempts,
                    "stale delivery failure"
                );
            }
            FailureDecision::Retry {
                next_attempt,
                delay,
            } => {
                let moved = txn
                    .execute(stmt(
                        &txn,
                        "UPDATE orders SET delivery_attempts = $1, last_error = $2, updated_at = $3 \
                         WHERE id = $4 AND delivery_attempts = $5 AND status = 'delivering'",
                        [
                            (next_attempt as i32).into(),
                            error.clone().into(),
                            Utc::now().into(),
                            order.id.into(),
                            (order.delivery_attempts as i32).into(),
                        ],
                    ))
                    .await?;
                if moved.rows_affected() == 1
                    && !self
                        .request_delivery(&txn, &order, next_attempt, correlation_id, Some(delay))
                        .await?
                {
                    self.give_up(
                        &txn,
                        &order,
                        next_attempt,
                        "stored codes failed authentication",
                        correlation_id,
                    )
                    .await?;
                }
            }
            FailureDecision::GiveUp => {
                self.give_up(
                    &txn,
                    &order,
                    order.delivery_attempts,
                    &error,
                    correlation_id,
                )
                .await?;
            }
        }
        txn.commit()
            .await
            .context("committing a delivery failure")?;
        outbox_relay::wake();
        Ok(())
    }

    /// Queues `delivery.requested` for `attempt`. False when a code fails authentication (then
    /// nothing is queued: a code that cannot be verified is never delivered).
    async fn request_delivery(
        &self,
        txn: &DatabaseTransaction,
        order: &OrderRow,
        attempt: u32,
        correlation_id: Uuid,
        delay: Option<std::time::Duration>,
    ) -> anyhow::Result<bool> {
        let codes = match order_codes(txn, &self.vault, order.id).await? {
            Ok(codes) => codes,
            Err(_) => return Ok(false),
        };
        let event = Event::DeliveryRequested(DeliveryRequested {
            order_number: order.order_number.clone(),
            user_id: order.user()?,
            product_id: order.product_id,
            product_name: order.product_name.clone(),
            package: order.package,
            total_price: order.total_price,
            codes,
            attempt,
            interaction: order.interaction(),
            locale: ledger::user_locale(txn, order.user_id).await?,
            replacing: Vec::new(),
        });
        self.enqueue(txn, event, correlation_id, delay).await?;
        Ok(true)
    }

    async fn give_up(
        &self,
        txn: &DatabaseTransaction,
        order: &OrderRow,
        attempts: u32,
        reason: &str,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        let failed = txn
            .execute(stmt(
                txn,
                "UPDATE orders SET status = 'failed', last_error = $1, updated_at = $2 \
                 WHERE id = $3 AND status = 'delivering'",
                [reason.into(), Utc::now().into(), order.id.into()],
            ))
            .await?;
        if failed.rows_affected() == 1 {
            tracing::warn!(order_number = %order.order_number, "delivery gave up; waiting for an admin");
            let event = Event::OrderFailed(OrderFailed {
                order_number: order.order_number.clone(),
                user_id: order.user()?,
                attempts,
                reason: reason.to_string(),
            });
            self.enqueue(txn, event, correlation_id, None).await?;
        }
        Ok(())
    }

    /// An admin's "process order", inside the caller's transaction (which also writes the
    /// audit row). `Ok(Err(_))` is a refusal the admin sees.
    pub async fn process(
        &self,
        txn: &DatabaseTransaction,
        request: ProcessRequest<'_>,
        correlation_id: Uuid,
    ) -> anyhow::Result<Result<OrderProcessed, ServiceError>> {
        let Some(number) = domain::OrderNumber::parse(request.order_number) else {
            return Ok(Err(ServiceError::NotFound {
                message: "No such order.".into(),
                refusal: None,
            }));
        };
        let Some(order) = find_order(txn, number.as_str()).await? else {
            return Ok(Err(ServiceError::NotFound {
                message: format!("No order {number}."),
                refusal: Some(Refusal::OrderNotFound {
                    order_number: number.to_string(),
                }),
            }));
        };
        match request.action {
            ProcessAction::Redeliver => {
                let mut outcome = self.redeliver(txn, &order, correlation_id).await?;
                if let Ok(done) = &mut outcome {
                    done.reason = domain::clean_reason(request.reason);
                }
                Ok(outcome)
            }
            ProcessAction::Refund => {
                self.refund(txn, &order, request.force, request.reason, correlation_id)
                    .await
            }
        }
    }

    async fn redeliver(
        &self,
        txn: &DatabaseTransaction,
        order: &OrderRow,
        correlation_id: Uuid,
    ) -> anyhow::Result<Result<OrderProcessed, ServiceError>> {
        if order.status == OrderStatus::Refunded {
            return Ok(Err(ServiceError::InvalidInput {
                message: format!(
                    "Order {} was refunded; its codes are not sent again.",
                    order.order_number
                ),
                refusal: None,
            }));
        }
        let attempt = order.delivery_attempts + 1;
        let status = if order.status == OrderStatus::Completed {
            OrderStatus::Completed
        } else {
            OrderStatus::Delivering
        };
        let moved = txn
            .execute(stmt(
                txn,
                "UPDATE orders SET delivery_attempts = $1, status = $2, updated_at = $3 \
                 WHERE id = $4 AND delivery_attempts = $5 AND status <> 'refunded'",
                [
                    (attempt as i32).into(),
                    status.as_str().into(),
                    Utc::now().into(),
                    order.id.into(),
                    (order.delivery_attempts as i32).into(),
                ],
            ))
            .await?;
        if moved.rows_affected() != 1 {
            return Ok(Err(ServiceError::InvalidInput {
                message: "The order changed meanwhile; look again and retry.".into(),
                refusal: Some(Refusal::OrderChanged {
                    order_number: order.order_number.clone(),
                }),
            }));
        }
        if !self
            .request_delivery(txn, order, attempt, correlation_id, None)
            .await?
        {
            return Ok(Err(ServiceError::Internal {
                message: "A stored code of this order failed authentication; it cannot be delivered. Refund the order.".into(),
            }));
        }
        Ok(Ok(OrderProcessed {
            order_number: order.order_number.clone(),
            action: ProcessAction::Redeliver,
            status,
            refunded: None,
            forced: false,
            reason: None,
            voided_deliveries: 0,
        }))
    }

    /// Refunds `order` if its state allows (see [`domain::refund_rule`]): the money back through
    /// the ledger, every queued delivery of the order voided, the codes withdrawn (or back on
    /// sale when they were never sent) — all in the caller's transaction.
    async fn refund(
        &self,
        txn: &DatabaseTransaction,
        order: &OrderRow,
        force: bool,
        reason: Option<&str>,
        correlation_id: Uuid,
    ) -> anyhow::Result<Result<OrderProcessed, ServiceError>> {
        if !self.config.features.enable_refund {
            return Ok(Err(ServiceError::Forbidden {
                message: "Refunds are disabled (ENABLE_REFUND=false).".into(),
                refusal: Some(Refusal::RefundsDisabled),
            }));
        }
        let n = &order.order_number;
        let (forced, reason) = match domain::refund_rule(order.status, force, reason) {
            Ok(RefundRule::Plain) => (false, domain::clean_reason(reason)),
            Ok(RefundRule::Forced { reason }) => (true, Some(reason)),
            Err(RefundRefusal::AlreadyRefunded) => {
                return Ok(Err(ServiceError::InvalidInput {
                    message: format!("Order {n} was already refunded."),
                    refusal: Some(Refusal::AlreadyRefunded {
                        order_number: n.clone(),
                    }),
                }))
            }
            Err(RefundRefusal::NeedsForce(status)) => {
                return Ok(Err(ServiceError::InvalidInput {
                    message: format!(
                        "Order {n} is {}: the buyer may already have its codes. Refund it only \
                         with force and a reason.",
                        status.as_str()
                    ),
                    refusal: Some(Refusal::RefundNeedsForce {
                        order_number: n.clone(),
                    }),
                }))
            }
            Err(RefundRefusal::NeedsReason) => {
                return Ok(Err(ServiceError::InvalidInput {
                    message: format!("A forced refund of order {n} needs a reason."),
                    refusal: Some(Refusal::ForcedRefundNeedsReason {
                        order_number: n.clone(),
                    }),
                }))
            }
        };
        let now = Utc::now();
        // Guarded by the state the rule was checked against: an order that moved meanwhile
        // (e.g. a confirmation completed it) is judged again by the admin, not refunded blindly.
        let moved = txn
            .execute(stmt(
                txn,
                "UPDATE orders SET status = 'refunded', updated_at = $1 WHERE id = $2 AND status = $3",
                [now.into(), order.id.into(), order.status.as_str().into()],
            ))
            .await?;
        if moved.rows_affected() != 1 {
            return Ok(Err(ServiceError::InvalidInput {
                message: format!("Order {n} changed meanwhile; look at it again and retry."),
                refusal: Some(Refusal::OrderChanged {
                    order_number: n.clone(),
                }),
            }));
        }
        // No delivery of a refunded order may leave the outbox any more (delayed retries too).
        let voided_deliveries = outbox::void_deliveries(txn, n, now)
            .await
            .context("voiding the order's queued deliveries")?;
        if voided_deliveries > 0 {
            tracing::info!(order_number = %n, voided_deliveries, "queued deliveries voided by the refund");
        }
        // What was refunded code by code (reports) is not refunded twice.
        let price = order.total_price.rupiah() - refunded_so_far(txn, order.id).await?;
        let balance_after = ledger::refund(txn, order.user_id, price, &order.order_number)
            .await
            .context("refunding the order to the balance")?;
        if order.status == OrderStatus::Pending && order.delivery_attempts == 0 {
            // Never sent: the codes go back on sale.
            txn.execute(stmt(
                txn,
                "UPDATE stock SET status = 'available', order_id = NULL, reserved_at = NULL \
                 WHERE order_id = $1 AND status = 'reserved'",
                [order.id.into()],
            ))
            .await?;
            self.note_stock_level(txn, order.product_id, correlation_id)
                .await?;
        } else {
            // Sent (maybe seen): withdrawn for good, and not counted as sold.
            txn.execute(stmt(
                txn,
                "UPDATE stock SET status = 'reserved' WHERE order_id = $1 AND status = 'sold'",
                [order.id.into()],
            ))
            .await?;
        }
        let event = Event::OrderRefunded(OrderRefunded {
            order_number: order.order_number.clone(),
            user_id: order.user()?,
            amount: Idr::new(price),
            balance_after: Idr::new(balance_after),
            locale: ledger::user_locale(txn, order.user_id).await?,
        });
        self.enqueue(txn, event, correlation_id, None).await?;
        Ok(Ok(OrderProcessed {
            order_number: order.order_number.clone(),
            action: ProcessAction::Refund,
            status: OrderStatus::Refunded,
            refunded: Some(Idr::new(price)),
            forced,
            reason,
            voided_deliveries,
        }))
    }

    /// Records and announces a confirmed delivery of a refunded order.
    async fn delivered_after_refund(
        &self,
        txn: &DatabaseTransaction,
        order: &OrderRow,
        ev: &DeliveryConfirmed,
        message_id: &str,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        let detail = format!(
            "delivery confirmed (attempt {}, {}) after the order was refunded; the buyer holds \
             the codes and the refund",
            ev.attempt,
            ev.method.as_str()
        );
        tracing::error!(order_number = %order.order_number, attempt = ev.attempt, "delivery confirmed for a refunded order");
        txn.execute(stmt(
            txn,
            "INSERT INTO order_anomalies (order_id, kind, detail, message_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            [
                order.id.into(),
                ANOMALY_DELIVERED_AFTER_REFUND.into(),
                detail.clone().into(),
                message_id.into(),
                Utc::now().into(),
            ],
        ))
        .await
        .context("recording the delivery anomaly")?;
        let event = Event::OrderAnomaly(OrderAnomaly {
            order_number: order.order_number.clone(),
            user_id: order.user()?,
            kind: AnomalyKind::DeliveredAfterRefund,
            detail,
        });
        self.enqueue(txn, event, correlation_id, None).await?;
        Ok(())
    }
}

/// Records `message_id` as handled; false when it was handled before.
/// What was refunded of the order code by code (`orders.refunded_amount`).
pub(crate) async fn refunded_so_far(
    txn: &impl ConnectionTrait,
    order_id: i64,
) -> anyhow::Result<i64> {
    Ok(txn
        .query_one(stmt(
            txn,
            "SELECT refunded_amount FROM orders WHERE id = $1",
            [order_id.into()],
        ))
        .await?
        .context("the order row is missing")?
        .try_get::<i64>("", "refunded_amount")?)
}

async fn first_time(txn: &DatabaseTransaction, message_id: &str) -> anyhow::Result<bool> {
    let r = txn
        .execute(stmt(
            txn,
            "INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) \
             ON CONFLICT (consumer, message_id) DO NOTHING",
            [CONSUMER.into(), message_id.into()],
        ))
        .await
        .context("recording the message id")?;
    Ok(r.rows_affected() == 1)
}

async fn insert_delivery(
    txn: &DatabaseTransaction,
    order_id: i64,
    attempt: u32,
    method: &str,
    status: &str,
    error: Option<&str>,
) -> anyhow::Result<()> {
    txn.execute(stmt(
        txn,
        "INSERT INTO deliveries (order_id, attempt, method, status, error, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            order_id.into(),
            (attempt.min(i32::MAX as u32) as i32).into(),
            method.into(),
            status.into(),
            error.map(str::to_string).into(),
            Utc::now().into(),
        ],
    ))
    .await
    .context("recording the delivery")?;
    Ok(())
}
