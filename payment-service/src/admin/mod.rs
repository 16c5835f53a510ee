//! Admin operations (request/reply): add stock, view stock, release or discard quarantined
//! stock, list orders, process an order, stats. Each one is refused without a valid admin claim from the bot, and each allowed one
//! writes an `admin_audit` row (in the same transaction where it changes something).
//!
//! Filters are bound parameters in fixed SQL; no request text is ever spliced into a query.

pub mod claim;
mod products;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, TransactionTrait, Value};
use shared_proto::{
    AdminBatchDefective, AdminClaim, AdminOperation, AdminOrderProcess, AdminOrdersList,
    AdminOwedClear, AdminReply, AdminReportAction, AdminStats, AdminStockAdd, AdminStockQuarantine,
    AdminStockView, BatchDefective, DiscordUserId, Idr, OrderProcessed, OrderStatus, OrderSummary,
    OrdersPage, OwedCleared, PackageSize, PeriodStats, ProductId, QuarantineAction,
    QuarantineProcessed, ReportActionDone, ServiceError, StatsView, StockAdded, StockBatchSummary,
    StockView,
};
use uuid::Uuid;

use crate::catalogue;
use crate::messaging::outbox_relay;
use crate::orders::domain::clean_reason;
use crate::orders::{OrderService, ProcessRequest};
use crate::persistence::stmt;
use crate::stock_vault::store;

const RECENT_BATCHES: i64 = 10;
const MAX_PAGE_SIZE: u32 = 100;

/// Cheap to clone.
#[derive(Clone)]
pub struct AdminService {
    orders: OrderService,
}

type Outcome<T> = anyhow::Result<AdminReply<T>>;

impl AdminService {
    pub fn new(orders: OrderService) -> Self {
        AdminService { orders }
    }

    /// Verifies the claim `cmd` carries: genuine, fresh, from a shop guild, for this operation
    /// and these parameters. The reason of a refusal is logged, the requester gets no detail.
    fn check<T: AdminOperation>(&self, cmd: &T) -> Result<(), ServiceError> {
        let config = self.orders.config();
        claim::verify(
            &config.admin_claim_secret,
            &config.shop_guild_ids,
            cmd,
            Utc::now(),
        )
        .map_err(|refusal| {
            tracing::warn!(
                admin_user_id = %cmd.claim().admin_user_id,
                request_id = cmd.request_id(),
                operation = T::OPERATION,
                reason = %refusal,
                "admin operation refused: invalid claim"
            );
            ServiceError::from(refusal)
        })
    }

    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id))]
    pub async fn stock_add(
        &self,
        cmd: &AdminStockAdd,
        correlation_id: Uuid,
    ) -> Outcome<StockAdded> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let db = self.orders.db();
        let batch_id = batch_id_for(&cmd.request_id);
        let txn = db.begin().await?;
        // Admins may stock a disabled product (to enable it once stocked), not an unknown one.
        let Some(product) = catalogue::product(&txn, cmd.product_id).await? else {
            return Ok(reply(Err(ServiceError::NotFound {
                message: format!("There is no product {}.", cmd.product_id),
                refusal: Some(shared_proto::Refusal::ProductNotFound {
                    product_id: cmd.product_id,
                }),
            })));
        };
        let created = txn
            .execute(stmt(
                &txn,
                "INSERT INTO stock_batches (batch_id, added_by, created_at, product_id) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING",
                [
                    batch_id.clone().into(),
                    cmd.claim.admin_user_id.as_i64().into(),
                    Utc::now().into(),
                    product.id.get().into(),
                ],
            ))
            .await
            .context("creating the stock batch")?;
        if created.rows_affected() == 0 {
            // The same request again (redelivery): answer with what the first one recorded.
            let row = txn
                .query_one(stmt(
                    &txn,
                    "SELECT added, duplicates, product_id FROM stock_batches WHERE batch_id = $1",
                    [batch_id.clone().into()],
                ))
                .await?
                .context("stock batch vanished")?;
            let product = ProductId(row.try_get("", "product_id")?);
            let available_after = store::available(&txn, product).await?;
            txn.commit().await?;
            return Ok(reply(Ok(StockAdded {
                batch_id,
                added: row.try_get::<i32>("", "added")?.max(0) as u32,
                duplicates: row.try_get::<i32>("", "duplicates")?.max(0) as u32,
                rejected: Vec::new(),
                available_after,
            })));
        }
        let upload =
            store::add_codes(&txn, self.orders.vault(), &batch_id, product.id, &cmd.text).await?;
        let rejected = u32::try_from(upload.rejected.len()).unwrap_or(u32::MAX);
        txn.execute(stmt(
            &txn,
            "UPDATE stock_batches SET added = $1, duplicates = $2, rejected = $3 WHERE batch_id = $4",
            [
                (upload.added as i32).into(),
                (upload.duplicates as i32).into(),
                (rejected as i32).into(),
                batch_id.clone().into(),
            ],
        ))
        .await?;
        self.orders
            .note_stock_level(&txn, product.id, correlation_id)
            .await?;
        let available_after = store::available(&txn, product.id).await?;
        // The gauge counts every product, as the stock view and the quarantine set it.
        self.orders
            .metrics()
            .stock_available
            .set(i64::try_from(store::available_all(&txn).await?).unwrap_or(i64::MAX));
        audit(
            &txn,
            &cmd.claim,
            "stock.add",
            serde_json::json!({
                "request_id": cmd.request_id,
                "batch_id": batch_id,
                "source_name": cmd.source_name,
                "added": upload.added,
                "duplicates": upload.duplicates,
                "rejected": rejected,
            }),
        )
        .await?;
        txn.commit().await.context("committing the stock upload")?;
        outbox_relay::wake();
        tracing::info!(
            added = upload.added,
            duplicates = upload.duplicates,
            rejected,
            "stock added"
        );
        Ok(reply(Ok(StockAdded {
            batch_id,
            added: upload.added,
            duplicates: upload.duplicates,
            rejected: upload.rejected,
            available_after,
        })))
    }

    pub async fn stock_view(&self, cmd: &AdminStockView) -> Outcome<StockView> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let db = self.orders.db();
        let txn = db.begin().await?;
        audit(
            &txn,
            &cmd.claim,
            "stock.view",
            serde_json::json!({"request_id": cmd.request_id}),
        )
        .await?;
        let by_product = store::counts_by_product(&txn).await?;
        let counts = store::total(&by_product);
        self.orders
            .metrics()
            .stock_available
            .set(i64::try_from(counts.available).unwrap_or(i64::MAX));
        let rows = txn
            .query_all(stmt(
                &txn,
                &format!("{BATCH_SUMMARY} ORDER BY b.created_at DESC LIMIT $1"),
                [RECENT_BATCHES.into()],
            ))
            .await?;
        let recent_batches = rows
            .iter()
            .map(batch_summary)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let threshold = self.orders.config().low_stock_threshold;
        let products = catalogue::stock_by_product(&txn, threshold, by_product).await?;
        txn.commit().await?;
        Ok(reply(Ok(StockView {
            counts,
            low_stock_threshold: threshold,
            recent_batches,
            products,
        })))
    }

    pub async fn orders_list(&self, cmd: &AdminOrdersList) -> Outcome<OrdersPage> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let page_size = cmd.page_size.clamp(1, MAX_PAGE_SIZE);
        let f = &cmd.filter;
        let from = f.from.map(|d| d.and_time(NaiveTime::MIN).and_utc());
        let until =
            f.to.and_then(|d| d.succ_opt())
                .map(|d| d.and_time(NaiveTime::MIN).and_utc());
        let filter_values = || -> Vec<Value> {
            vec![
                Value::BigInt(f.user_id.map(DiscordUserId::as_i64)),
                Value::String(f.status.map(|s| Box::new(s.as_str().to_string()))),
                Value::ChronoDateTimeUtc(from.map(Box::new)),
                Value::ChronoDateTimeUtc(until.map(Box::new)),
                Value::BigInt(f.product_id.map(ProductId::get)),
            ]
        };
        const WHERE: &str = "WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
             AND ($5 IS NULL OR product_id = $5)";
        let db = self.orders.db();
        let txn = db.begin().await?;
        audit(
            &txn,
            &cmd.claim,
            "orders.list",
            serde_json::json!({"request_id": cmd.request_id, "filter": f, "page": cmd.page}),
        )
        .await?;
        let total: i64 = txn
            .query_one(stmt(
                &txn,
                &format!("SELECT COUNT(*) AS n FROM orders {WHERE}"),
                filter_values(),
            ))
            .await?
            .map(|r| r.try_get("", "n"))
            .transpose()?
            .unwrap_or(0);
        let mut values = filter_values();
        values.push(i64::from(page_size).into());
        values.push((i64::from(cmd.page) * i64::from(page_size)).into());
        let rows = txn
            .query_all(stmt(
                &txn,
                &format!(
                    "SELECT {SUMMARY_COLUMNS} \
                     FROM orders {WHERE} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
                ),
                values,
            ))
            .await?;
        let orders = rows
            .iter()
            .map(order_summary)
            .collect::<anyhow::Result<Vec<_>>>()?;
        txn.commit().await?;
        Ok(reply(Ok(OrdersPage {
            orders,
            page: cmd.page,
            page_size,
            total: u64::try_from(total).unwrap_or(0),
        })))
    }

    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, order_number = %cmd.order_number))]
    pub async fn order_process(
        &self,
        cmd: &AdminOrderProcess,
        correlation_id: Uuid,
    ) -> Outcome<OrderProcessed> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let txn = self.orders.db().begin().await?;
        let request = ProcessRequest {
            order_number: &cmd.order_number,
            action: cmd.action,
            force: cmd.force,
            reason: cmd.reason.as_deref(),
        };
        let outcome = self.orders.process(&txn, request, correlation_id).await?;
        match &outcome {
            Ok(done) => {
                audit(
                    &txn,
                    &cmd.claim,
                    "order.process",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "order_number": done.order_number,
                        "action": cmd.action,
                        "refunded": done.refunded,
                        "force": cmd.force,
                        "forced": done.forced,
                        "reason": done.reason,
                        "voided_deliveries": done.voided_deliveries,
                    }),
                )
                .await?;
                txn.commit()
                    .await
                    .context("committing the order processing")?;
                outbox_relay::wake();
            }
            Err(_) => {
                // Refused: nothing changed; still record that the admin tried.
                drop(txn);
                let txn = self.orders.db().begin().await?;
                audit(
                    &txn,
                    &cmd.claim,
                    "order.process.refused",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "order_number": cmd.order_number,
                        "action": cmd.action,
                        "force": cmd.force,
                        "reason": clean_reason(cmd.reason.as_deref()),
                    }),
                )
                .await?;
                txn.commit().await?;
            }
        }
        Ok(reply(outcome))
    }

    /// Releases the quarantined codes that decrypt again, or discards all quarantined codes.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id))]
    pub async fn stock_quarantine(
        &self,
        cmd: &AdminStockQuarantine,
        correlation_id: Uuid,
    ) -> Outcome<QuarantineProcessed> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let txn = self.orders.db().begin().await?;
        let (released, discarded, still) = match cmd.action {
            QuarantineAction::Release => {
                let r = store::release_quarantined(&txn, self.orders.vault())
                    .await
                    .context("releasing quarantined codes")?;
                (r.released, Vec::new(), r.still_quarantined)
            }
            QuarantineAction::Discard => {
                let d = store::discard_quarantined(&txn)
                    .await
                    .context("discarding quarantined codes")?;
                (Vec::new(), d, Vec::new())
            }
        };
        // Stock ids only: they say which rows, never what code.
        audit(
            &txn,
            &cmd.claim,
            "stock.quarantine",
            serde_json::json!({
                "request_id": cmd.request_id,
                "action": cmd.action,
                "released_stock_ids": released,
                "discarded_stock_ids": discarded,
                "still_quarantined": still.len(),
            }),
        )
        .await?;
        self.orders
            .note_every_stock_level(&txn, correlation_id)
            .await?;
        let available_after = store::available_all(&txn).await?;
        txn.commit()
            .await
            .context("committing the quarantine decision")?;
        outbox_relay::wake();
        self.orders
            .metrics()
            .stock_available
            .set(i64::try_from(available_after).unwrap_or(i64::MAX));
        tracing::info!(
            released = released.len(),
            discarded = discarded.len(),
            still_quarantined = still.len(),
            "quarantined stock handled"
        );
        Ok(reply(Ok(QuarantineProcessed {
            action: cmd.action,
            released: released.len() as u64,
            discarded: discarded.len() as u64,
            still_quarantined: still.len() as u64,
            available_after,
        })))
    }

    /// `admin.owed.clear`: clears what a user owes after money returned on a credited top-up
    /// (the block on their orders goes with it). Audited with the amount; a repeated request
    /// answers what the first one cleared.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id, user_id = %cmd.user_id))]
    pub async fn owed_clear(&self, cmd: &AdminOwedClear) -> Outcome<OwedCleared> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let txn = self.orders.db().begin().await?;
        let user_id = cmd.user_id.as_i64();
        // Locks the row (PostgreSQL) so a reversal cannot add to it between read and clear.
        let lock = if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let owed = txn
            .query_one(stmt(
                &txn,
                &format!("SELECT amount FROM balance_owed WHERE user_id = $1{lock}"),
                [user_id.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "amount"))
            .transpose()?
            .unwrap_or(0);
        if owed == 0 {
            if let Some(cleared) = already_cleared(&txn, &cmd.request_id).await? {
                txn.commit().await?;
                return Ok(reply(Ok(OwedCleared {
                    user_id: cmd.user_id,
                    cleared: Idr::new(cleared),
                })));
            }
        }
        txn.execute(stmt(
            &txn,
            "UPDATE balance_owed SET amount = 0, updated_at = $1 WHERE user_id = $2",
            [Utc::now().into(), user_id.into()],
        ))
        .await
        .context("clearing what the user owes")?;
        audit(
            &txn,
            &cmd.claim,
            "owed.clear",
            serde_json::json!({
                "request_id": cmd.request_id,
                "user_id": cmd.user_id,
                "cleared": owed,
                "note": cmd.note,
            }),
        )
        .await?;
        txn.commit().await.context("committing the owed clearing")?;
        tracing::warn!(cleared = owed, "amount owed cleared by an admin");
        Ok(reply(Ok(OwedCleared {
            user_id: cmd.user_id,
            cleared: Idr::new(owed),
        })))
    }

    /// `admin.report.action`: reveal, replace, refund or reject reported codes.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id, report_id = cmd.report_id))]
    pub async fn report_action(
        &self,
        cmd: &AdminReportAction,
        correlation_id: Uuid,
    ) -> Outcome<ReportActionDone> {
        let outcome = match self.check(cmd) {
            Err(e) => Err(e),
            Ok(()) => self.orders.report_action(cmd, correlation_id).await?,
        };
        Ok(AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        })
    }

    /// `admin.batch.defective`: a supplier's batch is bad; its unsold codes leave sale.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id, batch_id = %cmd.batch_id))]
    pub async fn batch_defective(&self, cmd: &AdminBatchDefective) -> Outcome<BatchDefective> {
        let outcome = match self.check(cmd) {
            Err(e) => Err(e),
            Ok(()) => {
                self.orders
                    .batch_defective(
                        &cmd.claim,
                        &cmd.request_id,
                        cmd.batch_id.trim(),
                        cmd.note.as_deref(),
                    )
                    .await?
            }
        };
        Ok(AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        })
    }

    pub async fn stats(&self, cmd: &AdminStats) -> Outcome<StatsView> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let now = Utc::now();
        let today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
        let txn = self.orders.db().begin().await?;
        audit(
            &txn,
            &cmd.claim,
            "stats",
            serde_json::json!({"request_id": cmd.request_id}),
        )
        .await?;
        let by_product = store::counts_by_product(&txn).await?;
        let view = StatsView {
            today: period(&txn, today).await?,
            last_7_days: period(&txn, now - Duration::days(7)).await?,
            last_30_days: period(&txn, now - Duration::days(30)).await?,
            stock: store::total(&by_product),
            failed_deliveries: count(
                &txn,
                "SELECT COUNT(*) AS n FROM orders WHERE status = 'failed'",
            )
            .await?,
            users: count(&txn, "SELECT COUNT(*) AS n FROM users").await?,
            defective_batches: txn
                .query_all(stmt(
                    &txn,
                    &format!(
                        "SELECT * FROM ({BATCH_SUMMARY}) s WHERE defective > 0 \
                         ORDER BY defective DESC, created_at DESC LIMIT 10"
                    ),
                    [],
                ))
                .await?
                .iter()
                .map(batch_summary)
                .collect::<anyhow::Result<Vec<_>>>()?,
            open_reports: count(
                &txn,
                "SELECT COUNT(*) AS n FROM code_reports WHERE status = 'open'",
            )
            .await?,
            products: {
                let threshold = self.orders.config().low_stock_threshold;
                let mut products = catalogue::stock_by_product(&txn, threshold, by_product).await?;
                let mut sales = sales_by_product(&txn, now - Duration::days(30)).await?;
                for p in &mut products {
                    p.last_30_days = sales.remove(&p.product_id.get()).unwrap_or_default();
                }
                products
            },
        };
        txn.commit().await?;
        Ok(reply(Ok(view)))
    }
}

/// A stock batch with its sold and defective counts (columns of [`batch_summary`]).
const BATCH_SUMMARY: &str = "SELECT b.batch_id, b.added, b.duplicates, b.rejected, b.added_by, \
     b.created_at, b.product_id, \
     (SELECT COUNT(*) FROM stock s WHERE s.batch_id = b.batch_id AND s.status = 'sold') AS sold, \
     (SELECT COUNT(*) FROM stock s WHERE s.batch_id = b.batch_id AND s.defective_at IS NOT NULL) \
     AS defective FROM stock_batches b";

fn batch_summary(r: &QueryResult) -> anyhow::Result<StockBatchSummary> {
    Ok(StockBatchSummary {
        batch_id: r.try_get("", "batch_id")?,
        added: r.try_get::<i32>("", "added")?.max(0) as u32,
        duplicates: r.try_get::<i32>("", "duplicates")?.max(0) as u32,
        rejected: r.try_get::<i32>("", "rejected")?.max(0) as u32,
        added_by: DiscordUserId::from_i64(r.try_get("", "added_by")?).ok(),
        created_at: r.try_get("", "created_at")?,
        product_id: ProductId(r.try_get("", "product_id")?),
        sold: u64::try_from(r.try_get::<i64>("", "sold")?).unwrap_or(0),
        defective: u64::try_from(r.try_get::<i64>("", "defective")?).unwrap_or(0),
    })
}

/// What an earlier `owed.clear` of this request id cleared, from its audit row.
async fn already_cleared(
    txn: &DatabaseTransaction,
    request_id: &str,
) -> anyhow::Result<Option<i64>> {
    Ok(audited_request(txn, "owed.clear", request_id)
        .await?
        .and_then(|detail| detail.get("cleared").and_then(serde_json::Value::as_i64)))
}

/// The detail of the newest recent audit row of `action` written for `request_id`: how a
/// redelivered admin request finds what its first delivery did.
pub(crate) async fn audited_request(
    txn: &DatabaseTransaction,
    action: &str,
    request_id: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    let rows = txn
        .query_all(stmt(
            txn,
            "SELECT detail FROM admin_audit WHERE action = $1 ORDER BY id DESC LIMIT 200",
            [action.into()],
        ))
        .await?;
    for row in rows {
        let detail: Option<String> = row.try_get("", "detail")?;
        let Some(detail) = detail.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        else {
            continue;
        };
        if detail.get("request_id").and_then(serde_json::Value::as_str) == Some(request_id) {
            return Ok(Some(detail));
        }
    }
    Ok(None)
}

/// Stock batch ids come from the request id, so a redelivered upload is recognised.
fn batch_id_for(request_id: &str) -> String {
    let clean: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    format!("B-{clean}")
}

async fn audit(
    txn: &DatabaseTransaction,
    claim: &AdminClaim,
    action: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    audit_by(txn, claim.admin_user_id.as_i64(), action, detail).await
}

/// Writes an `admin_audit` row for `admin_user_id` (inside the caller's transaction).
pub(crate) async fn audit_by(
    txn: &impl ConnectionTrait,
    admin_user_id: i64,
    action: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    txn.execute(stmt(
        txn,
        "INSERT INTO admin_audit (admin_user_id, action, detail, created_at) VALUES ($1, $2, $3, $4)",
        [
            admin_user_id.into(),
            action.into(),
            detail.to_string().into(),
            Utc::now().into(),
        ],
    ))
    .await
    .context("writing the admin audit row")?;
    Ok(())
}

async fn count(db: &impl ConnectionTrait, sql: &str) -> anyhow::Result<u64> {
    let n: i64 = db
        .query_one(stmt(db, sql, []))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Completed orders, codes and revenue by product since `since` (no top-ups: they buy balance,
/// not a product).
async fn sales_by_product(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> anyhow::Result<std::collections::BTreeMap<i64, PeriodStats>> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT product_id, COUNT(*) AS n, CAST(COALESCE(SUM(code_quantity), 0) AS BIGINT) AS codes, \
             CAST(COALESCE(SUM(total_price), 0) AS BIGINT) AS revenue \
             FROM orders WHERE status = 'completed' AND created_at >= $1 GROUP BY product_id",
            [since.into()],
        ))
        .await?;
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        out.insert(
            r.try_get::<i64>("", "product_id")?,
            PeriodStats {
                orders: u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
                codes_sold: u64::try_from(r.try_get::<i64>("", "codes")?).unwrap_or(0),
                revenue: Idr::new(r.try_get("", "revenue")?),
                ..PeriodStats::default()
            },
        );
    }
    Ok(out)
}

/// Completed orders (by creation time) and this bot's settled top-ups (by payment time) since `since`.
async fn period(db: &impl ConnectionTrait, since: DateTime<Utc>) -> anyhow::Result<PeriodStats> {
    let o = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(code_quantity), 0) AS BIGINT) AS codes, \
             CAST(COALESCE(SUM(total_price), 0) AS BIGINT) AS revenue \
             FROM orders WHERE status = 'completed' AND created_at >= $1",
            [since.into()],
        ))
        .await?
        .context("no stats row")?;
    let t = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total \
             FROM topups WHERE bot_source = 'order' AND status = 'success' AND paid_at >= $1",
            [since.into()],
        ))
        .await?
        .context("no stats row")?;
    Ok(PeriodStats {
        orders: u64::try_from(o.try_get::<i64>("", "n")?).unwrap_or(0),
        codes_sold: u64::try_from(o.try_get::<i64>("", "codes")?).unwrap_or(0),
        revenue: Idr::new(o.try_get("", "revenue")?),
        topups: u64::try_from(t.try_get::<i64>("", "n")?).unwrap_or(0),
        topup_amount: Idr::new(t.try_get("", "total")?),
    })
}

/// The columns [`order_summary`] reads, selected `FROM orders` (not aliased).
pub(crate) const SUMMARY_COLUMNS: &str = "order_number, user_id, package_size, total_price, \
     status, created_at, completed_at, refunded_amount, product_id, \
     (SELECT p.name FROM products p WHERE p.id = orders.product_id) AS product_name";

pub(crate) fn order_summary(r: &QueryResult) -> anyhow::Result<OrderSummary> {
    let package: i32 = r.try_get("", "package_size")?;
    let status: String = r.try_get("", "status")?;
    Ok(OrderSummary {
        order_number: r.try_get("", "order_number")?,
        user_id: DiscordUserId::from_i64(r.try_get("", "user_id")?)?,
        package: PackageSize::try_from(u32::try_from(package).unwrap_or(0))?,
        total_price: Idr::new(r.try_get("", "total_price")?),
        status: OrderStatus::parse(&status)
            .with_context(|| format!("unknown order status {status:?}"))?,
        created_at: r.try_get("", "created_at")?,
        completed_at: r.try_get("", "completed_at")?,
        refunded: Idr::new(r.try_get("", "refunded_amount")?),
        product_id: ProductId(r.try_get("", "product_id")?),
        product_name: r.try_get("", "product_name")?,
    })
}
