//! `order.codes` ("my purchases"): a buyer sees the codes of one of their own completed orders
//! again, after losing the DM. Only the buyer, only within `REVEAL_WINDOW_DAYS` of the purchase,
//! at most `REVEALS_PER_HOUR` times an hour; every reveal is written to the audit log (action
//! `order.reveal`, the buyer as actor, never the codes).

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use shared_proto::{OrderCodes, OrderCodesQuery, OrderStatus, Refusal, RevealedCode, ServiceError};

use super::{find_order, order_codes, OrderService};
use crate::admin::audit_by;
use crate::persistence::stmt;

/// The audit action of a reveal.
pub const REVEAL_ACTION: &str = "order.reveal";

impl OrderService {
    #[tracing::instrument(skip_all, fields(request_id = %q.request_id, user_id = %q.user.user_id))]
    pub async fn order_codes(
        &self,
        q: &OrderCodesQuery,
    ) -> anyhow::Result<Result<OrderCodes, ServiceError>> {
        let user_id = q.user.user_id.as_i64();
        let not_found = || ServiceError::NotFound {
            message: format!("You have no order {}.", q.order_number.trim()),
            refusal: Some(Refusal::OrderNotFound {
                order_number: q.order_number.trim().to_owned(),
            }),
        };
        let days = self.config().reveal_window_days;
        if days == 0 {
            return Ok(Err(ServiceError::Forbidden {
                message: "Showing the codes of an order again is turned off.".into(),
                refusal: None,
            }));
        }
        let txn = self.db().begin().await?;
        // Someone else's order reads exactly like an order that does not exist.
        let Some(order) = find_order(&txn, q.order_number.trim()).await? else {
            return Ok(Err(not_found()));
        };
        if order.user_id != user_id {
            return Ok(Err(not_found()));
        }
        if order.status != OrderStatus::Completed {
            return Ok(Err(ServiceError::Forbidden {
                message: format!(
                    "Order {} is {}: only a delivered order's codes can be shown again.",
                    order.order_number,
                    order.status.as_str()
                ),
                refusal: Some(Refusal::OrderNotDelivered {
                    order_number: order.order_number.clone(),
                }),
            }));
        }
        let now = Utc::now();
        let completed_at: Option<DateTime<Utc>> = txn
            .query_one(stmt(
                &txn,
                "SELECT completed_at FROM orders WHERE id = $1",
                [order.id.into()],
            ))
            .await?
            .context("the order row is missing")?
            .try_get("", "completed_at")?;
        let bought = completed_at.unwrap_or(order.created_at);
        if now - bought > Duration::days(i64::from(days)) {
            return Ok(Err(ServiceError::Forbidden {
                message: format!(
                    "The codes of order {} can be shown again only within {days} days of the purchase.",
                    order.order_number
                ),
                refusal: Some(Refusal::RevealWindowPassed {
                    order_number: order.order_number.clone(),
                    days,
                }),
            }));
        }
        let hour_ago = now - Duration::hours(1);
        let recent: Vec<DateTime<Utc>> = txn
            .query_all(stmt(
                &txn,
                "SELECT created_at FROM admin_audit WHERE admin_user_id = $1 AND action = $2 \
                 AND created_at > $3 ORDER BY created_at",
                [user_id.into(), REVEAL_ACTION.into(), hour_ago.into()],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<DateTime<Utc>>("", "created_at"))
            .collect::<Result<_, _>>()?;
        let limit = self.config().reveals_per_hour.max(1) as usize;
        if recent.len() >= limit {
            let free_at = recent[recent.len() - limit] + Duration::hours(1);
            return Ok(Err(ServiceError::Cooldown {
                retry_after_secs: (free_at - now).num_seconds().max(1) as u64,
            }));
        }
        let codes = match order_codes(&txn, self.vault(), order.id).await? {
            Ok(codes) => codes,
            Err(_) => {
                return Ok(Err(ServiceError::Internal {
                    message: "A code of this order cannot be read right now; please ask an admin."
                        .into(),
                }))
            }
        };
        audit_by(
            &txn,
            user_id,
            REVEAL_ACTION,
            serde_json::json!({
                "request_id": q.request_id,
                "order_number": order.order_number,
                "codes": codes.len(),
                "to_dm": q.to_dm,
                "by": "buyer",
            }),
        )
        .await?;
        txn.commit().await.context("recording the reveal")?;
        tracing::info!(order_number = %order.order_number, to_dm = q.to_dm, "order codes shown again to their buyer");
        Ok(Ok(OrderCodes {
            order_number: order.order_number,
            product_id: order.product_id,
            product_name: order.product_name.unwrap_or_default(),
            package: order.package,
            completed_at,
            codes: codes
                .into_iter()
                .enumerate()
                .map(|(i, code)| RevealedCode {
                    position: i as u32 + 1,
                    code,
                })
                .collect(),
            to_dm: q.to_dm,
        }))
    }
}
