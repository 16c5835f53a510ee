//! Read-only queries for users: balance, history, catalog. Nothing here writes.

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult};
use shared_proto::{
    BalanceQuery, BalanceReply, CatalogReply, HistoryQuery, HistoryReply, Idr, ProductId,
    TopupInfo, TopupState,
};

use crate::admin::{order_summary, SUMMARY_COLUMNS};
use crate::catalogue;
use crate::config::PaymentConfig;
use crate::persistence::stmt;

/// History never returns more than this many orders (and top-ups).
pub const HISTORY_CAP: u32 = 25;

/// The user's balance; an unknown user has zeros (nothing is created).
pub async fn balance(db: &impl ConnectionTrait, q: &BalanceQuery) -> anyhow::Result<BalanceReply> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT balance, total_topup, total_spent FROM users WHERE user_id = $1",
            [q.user_id.as_i64().into()],
        ))
        .await
        .context("reading the balance")?;
    let (balance, total_topup, total_spent) = match row {
        Some(r) => (
            r.try_get::<i64>("", "balance")?,
            r.try_get::<i64>("", "total_topup")?,
            r.try_get::<i64>("", "total_spent")?,
        ),
        None => (0, 0, 0),
    };
    Ok(BalanceReply {
        user_id: q.user_id,
        balance: Idr::new(balance),
        total_topup: Idr::new(total_topup),
        total_spent: Idr::new(total_spent),
    })
}

/// The user's latest orders and top-ups (newest first), at most [`HISTORY_CAP`] of each.
pub async fn history(db: &impl ConnectionTrait, q: &HistoryQuery) -> anyhow::Result<HistoryReply> {
    let limit = i64::from(q.limit.clamp(1, HISTORY_CAP));
    let user = q.user_id.as_i64();
    let orders = db
        .query_all(stmt(
            db,
            &format!(
                "SELECT {SUMMARY_COLUMNS} \
                 FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ),
            [user.into(), limit.into()],
        ))
        .await
        .context("reading order history")?
        .iter()
        .map(order_summary)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let topup_rows = db
        .query_all(stmt(
            db,
            "SELECT order_id, amount, status, midtrans_status, created_at, expires_at, paid_at \
             FROM topups WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            [user.into(), limit.into()],
        ))
        .await
        .context("reading top-up history")?;
    let mut topups = Vec::with_capacity(topup_rows.len());
    for r in &topup_rows {
        let status: Option<String> = r.try_get("", "status")?;
        topups.push(TopupInfo {
            order_id: r.try_get("", "order_id")?,
            amount: Idr::new(r.try_get("", "amount")?),
            state: match status.as_deref() {
                Some("success") => TopupState::Success,
                Some("failed") => TopupState::Failed,
                _ => TopupState::Pending,
            },
            midtrans_status: r.try_get("", "midtrans_status")?,
            created_at: timestamp(r, "created_at").unwrap_or_default(),
            expires_at: timestamp(r, "expires_at"),
            paid_at: timestamp(r, "paid_at"),
            // A history line shows no QR; "Check status" asks for it.
            qr_string: None,
            sandbox: false,
        });
    }
    Ok(HistoryReply {
        user_id: q.user_id,
        orders,
        topups,
    })
}

/// The active products with their packages on sale, prices and whether enough codes are
/// available right now. `packages`/`available_codes` repeat the default product for bots of the
/// previous version (empty when it is inactive).
pub async fn catalog(
    db: &impl ConnectionTrait,
    config: &PaymentConfig,
) -> anyhow::Result<CatalogReply> {
    let products = catalogue::offers(db, config.max_codes_per_order).await?;
    let (packages, available_codes) =
        match products.iter().find(|p| p.product_id == ProductId::DEFAULT) {
            Some(p) => (p.packages.clone(), p.available_codes),
            None => (Vec::new(), 0),
        };
    Ok(CatalogReply {
        packages,
        available_codes,
        products,
    })
}

/// `topups` mixes zone-less `TIMESTAMP` columns (the shared, older ones; UTC by convention) and
/// `TIMESTAMPTZ` ones; this reads either.
fn timestamp(r: &QueryResult, column: &str) -> Option<DateTime<Utc>> {
    if let Ok(Some(t)) = r.try_get::<Option<DateTime<Utc>>>("", column) {
        return Some(t);
    }
    r.try_get::<Option<NaiveDateTime>>("", column)
        .ok()
        .flatten()
        .map(|t| t.and_utc())
}
