//! After the sale: a buyer reports bad codes of a completed order (`report.create`), an admin
//! reveals, replaces, refunds or rejects them (`admin.report.action`), and a supplier's whole
//! batch can be declared defective (`admin.batch.defective`).
//!
//! Codes are named by their position in the order as delivered (1-based, by stock id, the
//! order the delivery lists them in); no code ever appears in a report, an event or a log, only
//! in the admin's explicit reveal answer and in the replacement's own `delivery.requested`.
//!
//! Every change runs in one transaction with its outbox rows and audit row. Two admins acting
//! on one report at once act once: the report row is locked (PostgreSQL `FOR UPDATE`; SQLite
//! has one writer) and only codes still open are acted on; a code is replaced or refunded at
//! most once and a stock code is delivered at most once as a replacement (unique indexes).

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, SqlErr, TransactionTrait, Value};
use shared_proto::{
    AdminClaim, AdminReportAction, BatchDefective, CodeOutcome, DeliveryRequested, DiscordUserId,
    Envelope, Event, Idr, OrderStatus, ProductId, Refusal, ReportAction, ReportActionDone,
    ReportCreate, ReportReason, ReportStatus, ReportUpdated, ReportView, ReportedCode,
    RevealedCode, ServiceError,
};
use uuid::Uuid;

use crate::admin::audit_by as audit;
use crate::orders::{decrypt_rows, find_order, take_available, OrderRow, OrderService, TakeAs};
use crate::persistence::ledger;
use crate::persistence::{outbox, stmt};
use crate::stock_vault::store;

/// Reports one buyer may open in [`REPORT_WINDOW`].
pub const REPORTS_PER_WINDOW: i64 = 3;
pub const REPORT_WINDOW: Duration = Duration::hours(1);
const MAX_NOTE_LEN: usize = 500;

fn refuse<T>(
    message: impl Into<String>,
    refusal: Refusal,
) -> anyhow::Result<Result<T, ServiceError>> {
    Ok(Err(ServiceError::InvalidInput {
        message: message.into(),
        refusal: Some(refusal),
    }))
}

fn reason_word(r: ReportReason) -> &'static str {
    match r {
        ReportReason::AlreadyUsed => "already_used",
        ReportReason::Invalid => "invalid",
        ReportReason::Other => "other",
    }
}

fn parse_reason(s: &str) -> anyhow::Result<ReportReason> {
    Ok(match s {
        "already_used" => ReportReason::AlreadyUsed,
        "invalid" => ReportReason::Invalid,
        "other" => ReportReason::Other,
        other => anyhow::bail!("code_reports.reason {other:?} is unknown"),
    })
}

fn parse_outcome(s: Option<String>) -> anyhow::Result<Option<CodeOutcome>> {
    Ok(match s.as_deref() {
        None => None,
        Some("replaced") => Some(CodeOutcome::Replaced),
        Some("refunded") => Some(CodeOutcome::Refunded),
        Some("rejected") => Some(CodeOutcome::Rejected),
        Some(other) => anyhow::bail!("code_report_items.outcome {other:?} is unknown"),
    })
}

fn for_update(txn: &impl ConnectionTrait) -> &'static str {
    if txn.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// The order's codes as delivered, in delivery order: stock ids of the codes it was sold with
/// (replacements excluded), position 1 first.
async fn original_codes(txn: &impl ConnectionTrait, order_id: i64) -> anyhow::Result<Vec<i64>> {
    let rows = txn
        .query_all(stmt(
            txn,
            "SELECT id FROM stock WHERE order_id = $1 AND id NOT IN \
             (SELECT replacement_stock_id FROM code_report_items WHERE replacement_stock_id IS NOT NULL) \
             ORDER BY id",
            [order_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64>("", "id").map_err(Into::into))
        .collect()
}

/// Positions the buyer named, checked against the order's size: sorted, without repeats;
/// none means all.
fn chosen_positions(asked: &[u32], quantity: u32) -> Result<Vec<u32>, ServiceError> {
    if asked.is_empty() {
        return Ok((1..=quantity).collect());
    }
    let mut positions: Vec<u32> = asked.to_vec();
    positions.sort_unstable();
    positions.dedup();
    if let Some(bad) = positions.iter().find(|p| **p == 0 || **p > quantity) {
        return Err(ServiceError::InvalidInput {
            message: format!("This order has codes 1 to {quantity}; there is no code {bad}."),
            refusal: Some(Refusal::NoSuchCode {
                position: *bad,
                quantity,
            }),
        });
    }
    Ok(positions)
}

/// The share of `price` for `k` more codes when `before` of `quantity` were refunded already:
/// rounding down each time, so the shares of all codes add up to the price exactly.
pub fn refund_share(price: i64, quantity: u32, before: u32, k: u32) -> i64 {
    let q = i64::from(quantity.max(1));
    let upto = |n: u32| price * i64::from(n.min(quantity)) / q;
    upto(before + k) - upto(before)
}

/// The report as buyers and admins see it.
pub async fn view(
    txn: &impl ConnectionTrait,
    report_id: i64,
) -> anyhow::Result<Option<ReportView>> {
    let Some(r) = txn
        .query_one(stmt(
            txn,
            "SELECT r.id, r.user_id, r.reason, r.note, r.status, r.rejection, r.created_at, \
             o.order_number, o.package_size, o.total_price, o.created_at AS ordered_at, o.refunded_amount \
             FROM code_reports r JOIN orders o ON o.id = r.order_id WHERE r.id = $1",
            [report_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let items = txn
        .query_all(stmt(
            txn,
            "SELECT position, outcome FROM code_report_items WHERE report_id = $1 ORDER BY position",
            [report_id.into()],
        ))
        .await?;
    let mut codes = Vec::with_capacity(items.len());
    for i in &items {
        codes.push(ReportedCode {
            position: u32::try_from(i.try_get::<i32>("", "position")?).unwrap_or(0),
            outcome: parse_outcome(i.try_get("", "outcome")?)?,
        });
    }
    let status: String = r.try_get("", "status")?;
    let package_size: i32 = r.try_get("", "package_size")?;
    Ok(Some(ReportView {
        report_id,
        order_number: r.try_get("", "order_number")?,
        user_id: DiscordUserId::from_i64(r.try_get("", "user_id")?)
            .context("code_reports.user_id is not a Discord id")?,
        package: shared_proto::PackageSize::try_from(u32::try_from(package_size).unwrap_or(0))
            .context("orders.package_size is not a package")?,
        total_price: Idr::new(r.try_get("", "total_price")?),
        ordered_at: r.try_get("", "ordered_at")?,
        reason: parse_reason(&r.try_get::<String>("", "reason")?)?,
        note: r.try_get("", "note")?,
        status: match status.as_str() {
            "open" => ReportStatus::Open,
            "rejected" => ReportStatus::Rejected,
            _ => ReportStatus::Resolved,
        },
        codes,
        refunded: Idr::new(r.try_get("", "refunded_amount")?),
        rejection: r.try_get("", "rejection")?,
        created_at: r.try_get("", "created_at")?,
    }))
}

impl OrderService {
    /// `report.create`: a buyer reports codes of their own completed order.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, order_number = %cmd.order_number))]
    pub async fn report_create(
        &self,
        cmd: &ReportCreate,
    ) -> anyhow::Result<Result<ReportView, ServiceError>> {
        let note = crate::orders::domain::clean_reason(cmd.note.as_deref())
            .map(|n| n.chars().take(MAX_NOTE_LEN).collect::<String>());
        if cmd.reason == ReportReason::Other && note.is_none() {
            return refuse(
                "Say what is wrong with the codes.",
                Refusal::ReportNoteRequired,
            );
        }
        let user_id = cmd.user.user_id.as_i64();
        let txn = self.db().begin().await?;
        if let Some(row) = txn
            .query_one(stmt(
                &txn,
                "SELECT id, user_id FROM code_reports WHERE request_id = $1",
                [cmd.request_id.as_str().into()],
            ))
            .await?
        {
            // A repeated request: the first answer.
            let first: i64 = row.try_get("", "id")?;
            let owner: i64 = row.try_get("", "user_id")?;
            let answer = if owner == user_id {
                Ok(view(&txn, first).await?.context("the report vanished")?)
            } else {
                Err(ServiceError::InvalidInput {
                    message: "This request id belongs to another request.".into(),
                    refusal: None,
                })
            };
            txn.commit().await?;
            return Ok(answer);
        }
        let not_yours = || ServiceError::NotFound {
            message: format!("No order {} of yours.", cmd.order_number.trim()),
            refusal: Some(Refusal::OrderNotFound {
                order_number: cmd.order_number.trim().to_string(),
            }),
        };
        let Some(order) = find_order(&txn, cmd.order_number.trim()).await? else {
            return Ok(Err(not_yours()));
        };
        if order.user_id != user_id {
            return Ok(Err(not_yours()));
        }
        if order.status != OrderStatus::Completed {
            return refuse(
                format!(
                    "Order {} is {}: only a delivered order can be reported.",
                    order.order_number,
                    order.status.as_str()
                ),
                Refusal::OrderNotDelivered {
                    order_number: order.order_number.clone(),
                },
            );
        }
        let now = Utc::now();
        let recent: Vec<DateTime<Utc>> = txn
            .query_all(stmt(
                &txn,
                "SELECT created_at FROM code_reports WHERE user_id = $1 AND created_at > $2 \
                 ORDER BY created_at",
                [user_id.into(), (now - REPORT_WINDOW).into()],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<DateTime<Utc>>("", "created_at"))
            .collect::<Result<_, _>>()?;
        if recent.len() as i64 >= REPORTS_PER_WINDOW {
            let free_at = recent[0] + REPORT_WINDOW;
            return Ok(Err(ServiceError::Cooldown {
                retry_after_secs: (free_at - now).num_seconds().max(1) as u64,
            }));
        }
        if open_report_of(&txn, order.id).await?.is_some() {
            return refuse(
                format!(
                    "Order {} already has an open report; an admin is on it.",
                    order.order_number
                ),
                Refusal::ReportAlreadyOpen {
                    order_number: order.order_number.clone(),
                },
            );
        }
        let codes = original_codes(&txn, order.id).await?;
        let quantity = u32::try_from(codes.len()).unwrap_or(0);
        let positions = match chosen_positions(&cmd.positions, quantity) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let settled = settled_codes(&txn, order.id).await?;
        if let Some(p) = positions
            .iter()
            .find(|p| settled.contains(&codes[(**p - 1) as usize]))
        {
            return refuse(
                format!(
                    "Code {p} of order {} was already replaced or refunded.",
                    order.order_number
                ),
                Refusal::CodeAlreadySettled {
                    order_number: order.order_number.clone(),
                    position: *p,
                },
            );
        }
        ledger::ensure_user(
            &txn,
            user_id,
            cmd.user.username.as_deref(),
            cmd.user.locale.as_deref(),
        )
        .await?;
        let inserted = txn
            .query_one(stmt(
                &txn,
                "INSERT INTO code_reports (request_id, order_id, user_id, reason, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                [
                    cmd.request_id.as_str().into(),
                    order.id.into(),
                    user_id.into(),
                    reason_word(cmd.reason).into(),
                    note.into(),
                    now.into(),
                ],
            ))
            .await;
        let report_id: i64 = match inserted {
            Ok(Some(row)) => row.try_get("", "id")?,
            Ok(None) => anyhow::bail!("INSERT … RETURNING gave no row"),
            // Another report of this order was opened at the same moment.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return refuse(
                    format!(
                        "Order {} already has an open report; an admin is on it.",
                        order.order_number
                    ),
                    Refusal::ReportAlreadyOpen {
                        order_number: order.order_number.clone(),
                    },
                )
            }
            Err(e) => return Err(e.into()),
        };
        for p in &positions {
            txn.execute(stmt(
                &txn,
                "INSERT INTO code_report_items (report_id, stock_id, position) VALUES ($1, $2, $3)",
                [
                    report_id.into(),
                    codes[(*p - 1) as usize].into(),
                    (*p as i32).into(),
                ],
            ))
            .await?;
        }
        let report = view(&txn, report_id)
            .await?
            .context("the report vanished")?;
        txn.commit().await.context("committing a report")?;
        tracing::info!(report_id, codes = positions.len(), "codes reported");
        Ok(Ok(report))
    }

    /// `admin.report.action`, after the claim was checked; audited in the same transaction.
    pub async fn report_action(
        &self,
        cmd: &AdminReportAction,
        correlation_id: Uuid,
    ) -> anyhow::Result<Result<ReportActionDone, ServiceError>> {
        let (claim, request_id, report_id, action) = (
            &cmd.claim,
            cmd.request_id.as_str(),
            cmd.report_id,
            cmd.action,
        );
        let (asked, reason) = (cmd.positions.as_slice(), cmd.reason.as_deref());
        let txn = self.db().begin().await?;
        let lock = for_update(&txn);
        let Some(row) = txn
            .query_one(stmt(
                &txn,
                &format!("SELECT order_id, status FROM code_reports WHERE id = $1{lock}"),
                [report_id.into()],
            ))
            .await?
        else {
            return Ok(Err(ServiceError::NotFound {
                message: format!("No report #{report_id}."),
                refusal: Some(Refusal::ReportNotFound { report_id }),
            }));
        };
        let order_id: i64 = row.try_get("", "order_id")?;
        let status: String = row.try_get("", "status")?;
        let order = find_order_by_id(&txn, order_id).await?;
        let items = txn
            .query_all(stmt(
                &txn,
                "SELECT stock_id, position, outcome FROM code_report_items WHERE report_id = $1 \
                 ORDER BY position",
                [report_id.into()],
            ))
            .await?;
        let mut open = Vec::new();
        let mut all = Vec::new();
        for i in &items {
            let stock_id: i64 = i.try_get("", "stock_id")?;
            let position = u32::try_from(i.try_get::<i32>("", "position")?).unwrap_or(0);
            all.push((stock_id, position));
            if i.try_get::<Option<String>>("", "outcome")?.is_none() {
                open.push((stock_id, position));
            }
        }
        let admin = claim.admin_user_id.as_i64();
        let now = Utc::now();
        let locale = ledger::user_locale(&txn, order.user_id).await?;

        if action == ReportAction::Reveal {
            let ids: Vec<Value> = all.iter().map(|(id, _)| (*id).into()).collect();
            let rows = txn
                .query_all(stmt(
                    &txn,
                    &format!(
                        "SELECT id, ciphertext, nonce, key_id FROM stock WHERE id IN ({})",
                        placeholders(1, ids.len())
                    ),
                    ids,
                ))
                .await?;
            let codes = match decrypt_rows(self.vault(), rows)? {
                Ok(codes) => codes,
                Err(_) => {
                    return Ok(Err(ServiceError::Internal {
                        message: "A reported code failed authentication; it cannot be shown."
                            .into(),
                    }))
                }
            };
            // decrypt_rows answers in stock id order, as `all` is once sorted by id.
            let mut by_id: Vec<(i64, u32)> = all.clone();
            by_id.sort_by_key(|(id, _)| *id);
            let mut revealed: Vec<RevealedCode> = by_id
                .iter()
                .zip(codes)
                .map(|((_, position), code)| RevealedCode {
                    position: *position,
                    code,
                })
                .collect();
            revealed.sort_by_key(|r| r.position);
            audit(
                &txn,
                admin,
                "report.reveal",
                serde_json::json!({
                    "request_id": request_id,
                    "report_id": report_id,
                    "order_number": order.order_number,
                    "positions": all.iter().map(|(_, p)| p).collect::<Vec<_>>(),
                }),
            )
            .await?;
            let report = view(&txn, report_id)
                .await?
                .context("the report vanished")?;
            txn.commit().await?;
            tracing::warn!(report_id, "reported codes revealed to an admin");
            return Ok(Ok(ReportActionDone {
                action,
                report,
                revealed,
                positions: all.iter().map(|(_, p)| *p).collect(),
                refunded: Idr::ZERO,
            }));
        }

        // A repeated request (the broker redelivered it): the first answer, nothing more.
        if let Some(done) = earlier_action(&txn, request_id).await? {
            let report = view(&txn, report_id)
                .await?
                .context("the report vanished")?;
            txn.commit().await?;
            return Ok(Ok(ReportActionDone {
                action,
                report,
                revealed: Vec::new(),
                positions: done.0,
                refunded: Idr::new(done.1),
            }));
        }
        if status != "open" {
            return refuse(
                format!("Report #{report_id} is closed."),
                Refusal::ReportClosed { report_id },
            );
        }
        let targets: Vec<(i64, u32)> = if asked.is_empty() {
            open.clone()
        } else {
            let mut chosen = Vec::new();
            for p in asked {
                match open.iter().find(|(_, q)| q == p) {
                    Some(t) if !chosen.contains(t) => chosen.push(*t),
                    Some(_) => {}
                    None => {
                        return refuse(
                            format!("Code {p} is not an open part of report #{report_id}."),
                            Refusal::ReportCodeNotOpen {
                                report_id,
                                position: *p,
                            },
                        )
                    }
                }
            }
            chosen.sort_by_key(|(_, p)| *p);
            chosen
        };
        if targets.is_empty() {
            return refuse(
                format!("Nothing of report #{report_id} is left open."),
                Refusal::ReportClosed { report_id },
            );
        }
        let positions: Vec<u32> = targets.iter().map(|(_, p)| *p).collect();
        let old_ids: Vec<Value> = targets.iter().map(|(id, _)| (*id).into()).collect();
        let mut refunded = 0i64;
        let mut balance_after = None;
        match action {
            ReportAction::Reveal => unreachable!("answered above"),
            ReportAction::Replace => {
                // Replacements come from the stock of the product the buyer bought.
                let fresh = take_available(
                    &txn,
                    order.id,
                    order.product_id,
                    targets.len() as u32,
                    now,
                    TakeAs::Sold,
                )
                .await?;
                if fresh.len() < targets.len() {
                    let available = store::available(&txn, order.product_id).await?;
                    return Ok(Err(ServiceError::OutOfStock {
                        requested: targets.len() as u32,
                        available: u32::try_from(available).unwrap_or(u32::MAX),
                    }));
                }
                let fresh_ids: Vec<i64> = fresh
                    .iter()
                    .map(|r| r.try_get::<i64>("", "id"))
                    .collect::<Result<_, _>>()?;
                let codes = match decrypt_rows(self.vault(), fresh)? {
                    Ok(codes) => codes,
                    Err(_) => {
                        return Ok(Err(ServiceError::Internal {
                            message: "A stock code failed authentication; nothing was replaced."
                                .into(),
                        }))
                    }
                };
                for ((old, _), new) in targets.iter().zip(&fresh_ids) {
                    txn.execute(stmt(
                        &txn,
                        "UPDATE code_report_items SET outcome = 'replaced', replacement_stock_id = $1, \
                         resolved_at = $2 WHERE report_id = $3 AND stock_id = $4 AND outcome IS NULL",
                        [(*new).into(), now.into(), report_id.into(), (*old).into()],
                    ))
                    .await?;
                }
                let attempt = txn
                    .query_one(stmt(
                        &txn,
                        "UPDATE orders SET delivery_attempts = delivery_attempts + 1, updated_at = $1 \
                         WHERE id = $2 RETURNING delivery_attempts",
                        [now.into(), order.id.into()],
                    ))
                    .await?
                    .context("the order row is missing")?
                    .try_get::<i32>("", "delivery_attempts")?;
                let delivery = Event::DeliveryRequested(DeliveryRequested {
                    order_number: order.order_number.clone(),
                    user_id: order.user()?,
                    product_id: order.product_id,
                    product_name: order.product_name.clone(),
                    package: order.package,
                    total_price: order.total_price,
                    codes,
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    interaction: None,
                    locale: locale.clone(),
                    replacing: positions.clone(),
                });
                outbox::enqueue(
                    &txn,
                    self.events_exchange(),
                    &Envelope::with_correlation(delivery, correlation_id),
                )
                .await?;
            }
            ReportAction::Refund => {
                let quantity = order.package.codes();
                let before = u32::try_from(
                    count(
                        &txn,
                        "SELECT COUNT(*) AS n FROM code_report_items i JOIN code_reports r \
                         ON r.id = i.report_id WHERE r.order_id = $1 AND i.outcome = 'refunded'",
                        order.id.into(),
                    )
                    .await?,
                )
                .unwrap_or(0);
                let k = targets.len() as u32;
                refunded = refund_share(order.total_price.rupiah(), quantity, before, k);
                let reference = format!(
                    "{}#report-{report_id}:{}",
                    order.order_number,
                    positions
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let balance = ledger::refund(&txn, order.user_id, refunded, &reference)
                    .await
                    .context("refunding the codes to the balance")?;
                balance_after = Some(Idr::new(balance));
                txn.execute(stmt(
                    &txn,
                    "UPDATE orders SET refunded_amount = refunded_amount + $1, updated_at = $2 \
                     WHERE id = $3",
                    [refunded.into(), now.into(), order.id.into()],
                ))
                .await?;
                // Each code's share, the first ones taking the rounding.
                for (i, (old, _)) in targets.iter().enumerate() {
                    let share =
                        refund_share(order.total_price.rupiah(), quantity, before + i as u32, 1);
                    txn.execute(stmt(
                        &txn,
                        "UPDATE code_report_items SET outcome = 'refunded', refund_amount = $1, \
                         resolved_at = $2 WHERE report_id = $3 AND stock_id = $4 AND outcome IS NULL",
                        [share.into(), now.into(), report_id.into(), (*old).into()],
                    ))
                    .await?;
                }
            }
            ReportAction::Reject => {
                let Some(reason) = crate::orders::domain::clean_reason(reason) else {
                    return refuse(
                        "Say why the report is rejected; the buyer is told.",
                        Refusal::RejectionReasonRequired,
                    );
                };
                txn.execute(stmt(
                    &txn,
                    &format!(
                        "UPDATE code_report_items SET outcome = 'rejected', resolved_at = $1 \
                         WHERE report_id = $2 AND outcome IS NULL AND stock_id IN ({})",
                        placeholders(3, old_ids.len())
                    ),
                    [vec![now.into(), report_id.into()], old_ids.clone()].concat(),
                ))
                .await?;
                txn.execute(stmt(
                    &txn,
                    "UPDATE code_reports SET rejection = $1 WHERE id = $2",
                    [reason.into(), report_id.into()],
                ))
                .await?;
            }
        }
        if matches!(action, ReportAction::Replace | ReportAction::Refund) {
            // The bad codes: never sold again (they are sold already) and counted per batch.
            txn.execute(stmt(
                &txn,
                &format!(
                    "UPDATE stock SET defective_at = COALESCE(defective_at, $1) WHERE id IN ({})",
                    placeholders(2, old_ids.len())
                ),
                [vec![now.into()], old_ids.clone()].concat(),
            ))
            .await?;
        }
        close_if_done(&txn, report_id, admin, now).await?;
        let report = view(&txn, report_id)
            .await?
            .context("the report vanished")?;
        let updated = Event::ReportUpdated(ReportUpdated {
            report: report.clone(),
            action,
            positions: positions.clone(),
            refunded: Idr::new(refunded),
            balance_after,
            locale,
        });
        outbox::enqueue(
            &txn,
            self.events_exchange(),
            &Envelope::with_correlation(updated, correlation_id),
        )
        .await?;
        audit(
            &txn,
            admin,
            match action {
                ReportAction::Replace => "report.replace",
                ReportAction::Refund => "report.refund",
                _ => "report.reject",
            },
            serde_json::json!({
                "request_id": request_id,
                "report_id": report_id,
                "order_number": order.order_number,
                "positions": positions,
                "refunded": refunded,
                "reason": reason,
            }),
        )
        .await?;
        txn.commit().await.context("committing a report action")?;
        crate::messaging::outbox_relay::wake();
        Ok(Ok(ReportActionDone {
            action,
            report,
            revealed: Vec::new(),
            positions,
            refunded: Idr::new(refunded),
        }))
    }

    /// `admin.batch.defective`, after the claim was checked.
    pub async fn batch_defective(
        &self,
        claim: &AdminClaim,
        request_id: &str,
        batch_id: &str,
        note: Option<&str>,
    ) -> anyhow::Result<Result<BatchDefective, ServiceError>> {
        let txn = self.db().begin().await?;
        let known = count(
            &txn,
            "SELECT COUNT(*) AS n FROM stock_batches WHERE batch_id = $1",
            batch_id.into(),
        )
        .await?;
        if known == 0 {
            return Ok(Err(ServiceError::NotFound {
                message: format!("No stock batch {batch_id}."),
                refusal: Some(Refusal::BatchNotFound {
                    batch_id: batch_id.to_string(),
                }),
            }));
        }
        let now = Utc::now();
        // Unsold codes leave sale: reserved without an order, like quarantined ones.
        let withdrawn = txn
            .execute(stmt(
                &txn,
                "UPDATE stock SET status = 'reserved', reserved_at = $1, defective_at = $1 \
                 WHERE batch_id = $2 AND status = 'available'",
                [now.into(), batch_id.into()],
            ))
            .await?
            .rows_affected();
        txn.execute(stmt(
            &txn,
            "UPDATE stock SET defective_at = $1 WHERE batch_id = $2 AND defective_at IS NULL",
            [now.into(), batch_id.into()],
        ))
        .await?;
        let defective = count(
            &txn,
            "SELECT COUNT(*) AS n FROM stock WHERE batch_id = $1 AND defective_at IS NOT NULL",
            batch_id.into(),
        )
        .await?;
        audit(
            &txn,
            claim.admin_user_id.as_i64(),
            "batch.defective",
            serde_json::json!({
                "request_id": request_id,
                "batch_id": batch_id,
                "withdrawn": withdrawn,
                "note": note,
            }),
        )
        .await?;
        // The batch's product: what is left of it on sale.
        let product = txn
            .query_one(stmt(
                &txn,
                "SELECT product_id FROM stock_batches WHERE batch_id = $1",
                [batch_id.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "product_id"))
            .transpose()?
            .map_or(ProductId::DEFAULT, ProductId);
        let available_after = store::available(&txn, product).await?;
        txn.commit().await.context("committing a defective batch")?;
        tracing::warn!(batch_id, withdrawn, "stock batch declared defective");
        Ok(Ok(BatchDefective {
            batch_id: batch_id.to_string(),
            withdrawn,
            defective: u64::try_from(defective).unwrap_or(0),
            available_after,
        }))
    }
}

/// The open report of an order, if any.
async fn open_report_of(txn: &impl ConnectionTrait, order_id: i64) -> anyhow::Result<Option<i64>> {
    Ok(txn
        .query_one(stmt(
            txn,
            "SELECT id FROM code_reports WHERE order_id = $1 AND status = 'open'",
            [order_id.into()],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "id"))
        .transpose()?)
}

/// Stock ids of the order's codes already replaced or refunded.
async fn settled_codes(txn: &impl ConnectionTrait, order_id: i64) -> anyhow::Result<Vec<i64>> {
    let rows = txn
        .query_all(stmt(
            txn,
            "SELECT i.stock_id FROM code_report_items i JOIN code_reports r ON r.id = i.report_id \
             WHERE r.order_id = $1 AND i.outcome IN ('replaced', 'refunded')",
            [order_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64>("", "stock_id").map_err(Into::into))
        .collect()
}

async fn find_order_by_id(txn: &impl ConnectionTrait, order_id: i64) -> anyhow::Result<OrderRow> {
    let row = txn
        .query_one(stmt(
            txn,
            &format!(
                "SELECT {} FROM orders WHERE id = $1",
                crate::orders::ORDER_COLUMNS
            ),
            [order_id.into()],
        ))
        .await?
        .context("the reported order is missing")?;
    OrderRow::from_row(&row)
}

/// Closes the report once no reported code is left open: `rejected` when every code was turned
/// down, else `resolved`.
async fn close_if_done(
    txn: &impl ConnectionTrait,
    report_id: i64,
    admin: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    txn.execute(stmt(
        txn,
        "UPDATE code_reports SET \
         status = CASE WHEN NOT EXISTS (SELECT 1 FROM code_report_items WHERE report_id = $1 \
                  AND outcome <> 'rejected') THEN 'rejected' ELSE 'resolved' END, \
         resolved_at = $2, resolved_by = $3 \
         WHERE id = $1 AND status = 'open' \
         AND NOT EXISTS (SELECT 1 FROM code_report_items WHERE report_id = $1 AND outcome IS NULL)",
        [report_id.into(), now.into(), admin.into()],
    ))
    .await?;
    Ok(())
}

/// `(positions, refunded)` of an earlier action with this request id, from its audit row.
async fn earlier_action(
    txn: &impl ConnectionTrait,
    request_id: &str,
) -> anyhow::Result<Option<(Vec<u32>, i64)>> {
    let rows = txn
        .query_all(stmt(
            txn,
            "SELECT detail FROM admin_audit WHERE action LIKE 'report.%' ORDER BY id DESC LIMIT 200",
            [],
        ))
        .await?;
    for row in rows {
        let detail: Option<String> = row.try_get("", "detail")?;
        let Some(d) = detail.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        else {
            continue;
        };
        if d["request_id"].as_str() == Some(request_id) {
            let positions = d["positions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_u64().map(|p| p as u32))
                        .collect()
                })
                .unwrap_or_default();
            return Ok(Some((positions, d["refunded"].as_i64().unwrap_or(0))));
        }
    }
    Ok(None)
}

/// `COUNT(*) AS n` of a query with one parameter.
async fn count(txn: &impl ConnectionTrait, sql: &str, value: Value) -> anyhow::Result<i64> {
    Ok(txn
        .query_one(stmt(txn, sql, [value]))
        .await?
        .context("COUNT(*) gave no row")?
        .try_get::<i64>("", "n")?)
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_shares_add_up_to_the_price_and_never_exceed_it() {
        // 5 codes for Rp 70.000: Rp 14.000 each.
        assert_eq!(refund_share(70_000, 5, 0, 1), 14_000);
        // 3 codes for Rp 10.000: 3.333 + 3.333 + 3.334.
        let shares: Vec<i64> = (0..3).map(|i| refund_share(10_000, 3, i, 1)).collect();
        assert_eq!(shares.iter().sum::<i64>(), 10_000);
        assert_eq!(refund_share(10_000, 3, 0, 3), 10_000);
        assert_eq!(refund_share(10_000, 3, 1, 2), 10_000 - 3_333);
        // Never more than what is left.
        assert_eq!(refund_share(10_000, 3, 3, 1), 0);
    }

    #[test]
    fn positions_are_checked_against_the_order() {
        assert_eq!(chosen_positions(&[], 3).unwrap(), vec![1, 2, 3]);
        assert_eq!(chosen_positions(&[4, 2, 2], 5).unwrap(), vec![2, 4]);
        assert!(chosen_positions(&[0], 5).is_err());
        assert!(chosen_positions(&[6], 5).is_err());
    }
}
