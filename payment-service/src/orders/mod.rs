//! Orders: `order.create` (charge, reserve codes, request delivery — one transaction), the
//! delivery state machine driven by the bot's results, and an admin's re-delivery or refund.
//!
//! Money moves only through conditional UPDATEs (`… WHERE balance >= $price`), never
//! read-modify-write: the sibling redeem bot spends the same balance. Every balance change has
//! its ledger row and every announcement its outbox row in the same transaction.

mod create;
pub(crate) use create::{take_available, TakeAs};
mod delivery;
pub mod domain;
mod reveal;

pub use delivery::ProcessRequest;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};
use shared_proto::{
    DiscordUserId, Envelope, Event, Idr, InteractionRef, OrderStatus, PackageSize, ProductId,
};

use crate::config::PaymentConfig;
use crate::metrics::Metrics;
use crate::persistence::{outbox, stmt};
use crate::stock_vault::StockVault;

/// Order operations. Cheap to clone.
#[derive(Clone)]
pub struct OrderService {
    db: DatabaseConnection,
    config: Arc<PaymentConfig>,
    vault: StockVault,
    metrics: Metrics,
    events_exchange: String,
}

impl OrderService {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<PaymentConfig>,
        vault: StockVault,
        metrics: Metrics,
        events_exchange: String,
    ) -> Self {
        OrderService {
            db,
            config,
            vault,
            metrics,
            events_exchange,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn config(&self) -> &PaymentConfig {
        &self.config
    }

    pub fn vault(&self) -> &StockVault {
        &self.vault
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn events_exchange(&self) -> &str {
        &self.events_exchange
    }

    /// Queues `event`; with a delay the relay leaves it alone until then (delivery backoff).
    async fn enqueue(
        &self,
        txn: &impl ConnectionTrait,
        event: Event,
        correlation_id: uuid::Uuid,
        delay: Option<Duration>,
    ) -> Result<(), DbErr> {
        let envelope = Envelope::with_correlation(event, correlation_id);
        outbox::enqueue(txn, &self.events_exchange, &envelope).await?;
        if let Some(delay) = delay.filter(|d| !d.is_zero()) {
            let not_before = Utc::now()
                + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::zero());
            txn.execute(stmt(
                txn,
                "UPDATE outbox SET locked_until = $1 WHERE message_id = $2",
                [not_before.into(), envelope.message_id.to_string().into()],
            ))
            .await?;
        }
        Ok(())
    }
}

/// One `orders` row as the flows need it.
#[derive(Debug, Clone)]
pub(crate) struct OrderRow {
    pub id: i64,
    pub order_number: String,
    pub user_id: i64,
    pub package: PackageSize,
    pub total_price: Idr,
    pub status: OrderStatus,
    pub delivery_attempts: u32,
    pub interaction_token: Option<String>,
    pub interaction_application_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub product_id: ProductId,
    /// The product's name now (absent only if the product row is missing).
    pub product_name: Option<String>,
}

/// The columns [`OrderRow::from_row`] reads; select them `FROM orders` (not aliased).
pub(crate) const ORDER_COLUMNS: &str = "id, order_number, user_id, package_size, total_price, \
     status, delivery_attempts, interaction_token, interaction_application_id, created_at, \
     product_id, (SELECT p.name FROM products p WHERE p.id = orders.product_id) AS product_name";

impl OrderRow {
    pub(crate) fn from_row(row: &QueryResult) -> anyhow::Result<Self> {
        let package_size: i32 = row.try_get("", "package_size")?;
        let status: String = row.try_get("", "status")?;
        let attempts: i32 = row.try_get("", "delivery_attempts")?;
        Ok(OrderRow {
            id: row.try_get("", "id")?,
            order_number: row.try_get("", "order_number")?,
            user_id: row.try_get("", "user_id")?,
            package: PackageSize::try_from(u32::try_from(package_size).unwrap_or(0))
                .context("orders.package_size is not a catalogue package")?,
            total_price: Idr::new(row.try_get("", "total_price")?),
            status: OrderStatus::parse(&status)
                .with_context(|| format!("orders.status {status:?} is unknown"))?,
            delivery_attempts: u32::try_from(attempts).unwrap_or(0),
            interaction_token: row.try_get("", "interaction_token")?,
            interaction_application_id: row.try_get("", "interaction_application_id")?,
            created_at: row.try_get("", "created_at")?,
            product_id: ProductId(row.try_get("", "product_id")?),
            product_name: row.try_get("", "product_name")?,
        })
    }

    pub(crate) fn user(&self) -> anyhow::Result<DiscordUserId> {
        DiscordUserId::from_i64(self.user_id).context("orders.user_id is not a Discord id")
    }

    /// The interaction the order came from, while its token may still work.
    pub(crate) fn interaction(&self) -> Option<InteractionRef> {
        match (&self.interaction_application_id, &self.interaction_token) {
            (Some(application_id), Some(token)) => Some(InteractionRef {
                application_id: application_id.clone(),
                token: token.clone(),
                channel_id: None,
                created_at: self.created_at,
            }),
            _ => None,
        }
    }
}

pub(crate) async fn find_order(
    db: &impl ConnectionTrait,
    order_number: &str,
) -> anyhow::Result<Option<OrderRow>> {
    let row = db
        .query_one(stmt(
            db,
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_number = $1"),
            [order_number.into()],
        ))
        .await
        .context("reading an order")?;
    row.as_ref().map(OrderRow::from_row).transpose()
}

/// Why an order's codes could not all be decrypted: the stock ids (never the codes).
#[derive(Debug)]
pub(crate) struct CorruptCodes(pub Vec<i64>);

/// Decrypts the codes bound to an order, in stock id order.
pub(crate) async fn order_codes(
    db: &impl ConnectionTrait,
    vault: &StockVault,
    order_id: i64,
) -> anyhow::Result<Result<Vec<String>, CorruptCodes>> {
    let rows = db
        .query_all(stmt(
            db,
            // Codes replaced or refunded after a report are not the buyer's any more (a
            // replacement is, and is listed after the original codes).
            "SELECT id, ciphertext, nonce, key_id FROM stock WHERE order_id = $1 AND id NOT IN \
             (SELECT stock_id FROM code_report_items WHERE outcome IN ('replaced', 'refunded')) \
             ORDER BY id",
            [order_id.into()],
        ))
        .await
        .context("reading an order's codes")?;
    decrypt_rows(vault, rows)
}

pub(crate) fn decrypt_rows(
    vault: &StockVault,
    mut rows: Vec<QueryResult>,
) -> anyhow::Result<Result<Vec<String>, CorruptCodes>> {
    let mut decoded = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        let id: i64 = row.try_get("", "id")?;
        let ciphertext: Vec<u8> = row.try_get("", "ciphertext")?;
        let nonce: Vec<u8> = row.try_get("", "nonce")?;
        let key_id: String = row.try_get("", "key_id")?;
        decoded.push((id, vault.open(&ciphertext, &nonce, &key_id)));
    }
    decoded.sort_by_key(|(id, _)| *id);
    let mut codes = Vec::with_capacity(decoded.len());
    let mut bad = Vec::new();
    for (id, result) in decoded {
        match result {
            Ok(code) => codes.push(code),
            Err(error) => {
                tracing::error!(stock_id = id, %error, "stock code cannot be delivered");
                bad.push(id);
            }
        }
    }
    Ok(if bad.is_empty() {
        Ok(codes)
    } else {
        Err(CorruptCodes(bad))
    })
}

/// True when `error` (anywhere in its chain) is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<DbErr>()
            .and_then(DbErr::sql_err)
            .is_some_and(|s| matches!(s, sea_orm::SqlErr::UniqueConstraintViolation(_)))
    })
}
