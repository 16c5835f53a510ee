//! QRIS top-ups: creating them (`topup.create`), answering `topup.status` / `topup.cancel`, and
//! applying what Midtrans reports (webhook notifications and the expiry sweeper share one path).

pub mod domain;
pub mod repository;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use sha2::{Digest, Sha256};
use shared_proto::{
    DiscordUserId, ServiceError, TopupCancel, TopupCreate, TopupCreateReply, TopupCreated,
    TopupInfo, TopupState, TopupStatusQuery, TopupStatusReply,
};

use crate::config::PaymentConfig;
use crate::metrics::Metrics;
use crate::midtrans::{signature, MidtransClient, MidtransError, Notification, TransactionView};
use crate::persistence::ledger;
use domain::{Decision, KeepReason, Observation, TopupStatus};
use repository::{Applied, TopupRow, BOT_SOURCE};

/// What became of one notification (or one reconciliation); also the metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Credited,
    Failed,
    /// The top-up was already final, or a concurrent copy won.
    Duplicate,
    StillPending,
    AmountMismatch,
    /// Not ours (another bot_source, unknown order id) or nothing to do for this status.
    Ignored,
    /// The status API does not know the transaction: the notification is not acted on.
    Unverified,
    /// Money returned after settlement was taken back (as far as the balance allowed; the rest
    /// is owed).
    Reversed,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Credited => "credited",
            Outcome::Failed => "failed",
            Outcome::Duplicate => "duplicate",
            Outcome::StillPending => "pending",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::Ignored => "ignored",
            Outcome::Unverified => "unverified",
            Outcome::Reversed => "reversed",
        }
    }
}

/// Why a notification could not be recorded. Every variant means "answer 503, retry later".
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("confirming with Midtrans: {0}")]
    Provider(#[from] MidtransError),
}

/// Cheap to clone.
#[derive(Clone)]
pub struct TopupService {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    config: Arc<PaymentConfig>,
    midtrans: MidtransClient,
    metrics: Metrics,
    events_exchange: String,
}

/// Whether a charge is the request's first attempt or a repeat of a request already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    First,
    Repeat,
}

/// How many order-id suffixes to try when several top-ups of one user start in one second.
const ORDER_ID_ATTEMPTS: u32 = 50;

impl TopupService {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<PaymentConfig>,
        midtrans: MidtransClient,
        metrics: Metrics,
        broker_events_exchange: String,
    ) -> Self {
        TopupService {
            inner: Arc::new(Inner {
                db,
                config,
                midtrans,
                metrics,
                events_exchange: broker_events_exchange,
            }),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn midtrans(&self) -> &MidtransClient {
        &self.inner.midtrans
    }

    /// `topup.create`: validates the amount, writes the pending row, then charges. A repeated
    /// request id answers what the first one got and never charges twice.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, user_id = %cmd.user.user_id))]
    pub async fn create(&self, cmd: &TopupCreate) -> TopupCreateReply {
        let outcome = self.create_inner(cmd).await;
        let label = match &outcome {
            Ok(_) => "created",
            Err(ServiceError::InvalidAmount { .. }) => "invalid_amount",
            Err(ServiceError::ProviderUnavailable { .. }) => "provider_error",
            Err(_) => "failed",
        };
        self.inner.metrics.topups.with_label_values(&[label]).inc();
        TopupCreateReply {
            request_id: cmd.request_id.clone(),
            outcome,
        }
    }

    async fn create_inner(&self, cmd: &TopupCreate) -> Result<TopupCreated, ServiceError> {
        let config = &self.inner.config;
        if cmd.amount < config.topup_min || cmd.amount > config.topup_max {
            return Err(ServiceError::InvalidAmount {
                min: config.topup_min,
                max: config.topup_max,
                message: format!(
                    "A top-up must be between {} and {}.",
                    config.topup_min, config.topup_max
                ),
            });
        }
        if cmd.request_id.trim().is_empty() {
            return Err(ServiceError::InvalidInput {
                message: "The request has no id.".into(),
                refusal: None,
            });
        }
        let db = &self.inner.db;
        if let Some(existing) = repository::find_by_request_id(db, &cmd.request_id)
            .await
            .map_err(internal)?
        {
            return self.replay(cmd, existing).await;
        }
        let user_id = cmd.user.user_id.as_i64();
        ledger::ensure_user(
            db,
            user_id,
            cmd.user.username.as_deref(),
            cmd.user.locale.as_deref(),
        )
        .await
        .map_err(internal)?;
        let now = Utc::now();
        let base = format!("ORDER-{user_id}-{}", now.timestamp());
        let mut order_id = None;
        for n in 1..=ORDER_ID_ATTEMPTS {
            let candidate = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            if repository::insert_pending(db, &candidate, user_id, cmd.amount, &cmd.request_id, now)
                .await
                .map_err(internal)?
            {
                order_id = Some(candidate);
                break;
            }
            // The same request id may have been inserted concurrently: then this is a repeat.
            if let Some(existing) = repository::find_by_request_id(db, &cmd.request_id)
                .await
                .map_err(internal)?
            {
                return self.replay(cmd, existing).await;
            }
        }
        let order_id = order_id.ok_or_else(|| ServiceError::Internal {
            message: "Could not allocate an order id; please try again.".into(),
        })?;
        self.charge(
            &cmd.request_id,
            &order_id,
            cmd.amount.rupiah(),
            Attempt::First,
        )
        .await
    }

    /// Charges the row's order id and stores the QR. On a definite refusal the row becomes
    /// `failed` (never a dangling `pending`).
    async fn charge(
        &self,
        request_id: &str,
        order_id: &str,
        amount: i64,
        attempt: Attempt,
    ) -> Result<TopupCreated, ServiceError> {
        let amount = shared_proto::Idr::new(amount);
        let key = idempotency_key(request_id);
        match self.charge_until_answered(order_id, amount, &key).await {
            Ok(charge) => {
                repository::store_charge(
                    &self.inner.db,
                    order_id,
                    &charge.transaction_id,
                    &charge.qr_string,
                    charge.expires_at,
                )
                .await
                .map_err(internal)?;
                tracing::info!(%order_id, "QRIS top-up created");
                Ok(TopupCreated {
                    order_id: order_id.to_string(),
                    amount,
                    qr_string: charge.qr_string,
                    expires_at: charge.expires_at,
                    sandbox: !self.inner.config.midtrans.is_production,
                })
            }
            // Midtrans is still processing an earlier charge with this key (HTTP 202). Not a
            // failure: the row stays pending without a QR; asking again (a repeated request,
            // `topup.status`) gets the QR once Midtrans has it, and the sweeper closes the row
            // if it never comes.
            Err(MidtransError::InProgress) => {
                tracing::info!(%order_id, "QRIS charge still being processed at Midtrans");
                Err(ServiceError::ProviderUnavailable {
                    message:
                        "Your QRIS code is still being created; check the top-up again in a moment."
                            .into(),
                    pending_order_id: Some(order_id.to_string()),
                })
            }
            Err(e) if attempt == Attempt::Repeat => {
                // The first attempt owns the row's fate (it may still be charging); a repeat
                // never fails it.
                tracing::warn!(%order_id, error = %e, "repeated QRIS charge failed");
                Err(ServiceError::ProviderUnavailable {
                    message: "Your top-up is still being created; please try again in a moment."
                        .into(),
                    pending_order_id: Some(order_id.to_string()),
                })
            }
            Err(e) => {
                tracing::warn!(%order_id, error = %e, "QRIS charge failed");
                if matches!(e, MidtransError::Timeout) {
                    // The charge may exist at Midtrans; close it so it can never be paid
                    // unseen. Best effort: the row is failed either way.
                    let _ = self.inner.midtrans.cancel(order_id).await;
                }
                repository::fail_charge(&self.inner.db, order_id, &e.status_word())
                    .await
                    .map_err(internal)?;
                Err(ServiceError::ProviderUnavailable {
                    message: "The payment provider could not create the QRIS code; please try again later."
                        .into(),
                    pending_order_id: None,
                })
            }
        }
    }

    /// Charges, asking again with the same `Idempotency-Key` while Midtrans answers HTTP 202
    /// ("still processing an earlier request with this key"), for at most
    /// `MIDTRANS_CHARGE_IN_PROGRESS_WAIT_MS`; then answers [`MidtransError::InProgress`].
    async fn charge_until_answered(
        &self,
        order_id: &str,
        amount: shared_proto::Idr,
        key: &str,
    ) -> Result<crate::midtrans::QrisCharge, MidtransError> {
        let budget = Duration::from_millis(self.inner.config.midtrans.charge_in_progress_wait_ms);
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.inner.midtrans.charge_qris(order_id, amount, key).await {
                Err(MidtransError::InProgress) if started.elapsed() + pause <= budget => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// Pending rows created before this have had every chance to get their QR: the sweeper
    /// closes those still without one (`expires_at` never set).
    pub fn never_charged_cutoff(&self, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
        now - chrono::Duration::minutes(i64::from(self.inner.config.midtrans.qris_expiry_minutes))
            - chrono::Duration::minutes(5)
    }

    /// The answer for a request id seen before.
    async fn replay(&self, cmd: &TopupCreate, row: TopupRow) -> Result<TopupCreated, ServiceError> {
        if row.user_id != Some(cmd.user.user_id.as_i64()) {
            return Err(ServiceError::InvalidInput {
                message: "This request id belongs to another request.".into(),
                refusal: None,
            });
        }
        let amount = shared_proto::Idr::new(row.amount);
        match (
            TopupStatus::parse(row.status.as_deref()),
            row.qr_string,
            row.expires_at,
        ) {
            (Some(TopupStatus::Failed), _, _) => Err(ServiceError::ProviderUnavailable {
                message:
                    "The payment provider could not create the QRIS code; please try again later."
                        .into(),
                pending_order_id: None,
            }),
            (_, Some(qr_string), Some(expires_at)) => Ok(TopupCreated {
                order_id: row.order_id,
                amount,
                qr_string,
                expires_at,
                sandbox: !self.inner.config.midtrans.is_production,
            }),
            // The first attempt is still charging (or died mid-way): charging again with the
            // same Idempotency-Key and order id cannot create a second transaction.
            _ => {
                self.charge(&cmd.request_id, &row.order_id, row.amount, Attempt::Repeat)
                    .await
            }
        }
    }

    /// `topup.status`: the user's own top-up, refreshed from Midtrans while pending.
    #[tracing::instrument(skip_all, fields(order_id = %q.order_id))]
    pub async fn status(&self, q: &TopupStatusQuery) -> TopupStatusReply {
        TopupStatusReply {
            outcome: self.status_inner(q.user_id, &q.order_id, false).await,
        }
    }

    /// `topup.cancel`: cancels the user's own pending top-up at Midtrans and here.
    #[tracing::instrument(skip_all, fields(order_id = %q.order_id))]
    pub async fn cancel(&self, q: &TopupCancel) -> TopupStatusReply {
        TopupStatusReply {
            outcome: self.status_inner(q.user_id, &q.order_id, true).await,
        }
    }

    async fn status_inner(
        &self,
        user_id: DiscordUserId,
        order_id: &str,
        cancel: bool,
    ) -> Result<TopupInfo, ServiceError> {
        let not_found = || ServiceError::NotFound {
            message: format!("No top-up {order_id} of yours."),
            refusal: Some(shared_proto::Refusal::TopupNotFound {
                order_id: order_id.to_string(),
            }),
        };
        let row = repository::find_by_order_id(&self.inner.db, order_id)
            .await
            .map_err(internal)?
            .filter(|r| r.bot_source.as_deref() == Some(BOT_SOURCE))
            .filter(|r| r.user_id == Some(user_id.as_i64()))
            .ok_or_else(not_found)?;
        if TopupStatus::parse(row.status.as_deref()) == Some(TopupStatus::Pending) {
            if !cancel && row.qr_string.is_none() {
                if let Some(request_id) = row.request_id.as_deref() {
                    // The charge never completed (Midtrans answered "still processing"): ask
                    // again with the same key, which answers the first charge's QR once it
                    // exists and can never create a second transaction.
                    if let Err(e) = self
                        .charge(request_id, order_id, row.amount, Attempt::Repeat)
                        .await
                    {
                        tracing::info!(%order_id, error = ?e, "QRIS charge still not available");
                    }
                }
            }
            if cancel {
                match self.inner.midtrans.cancel(order_id).await {
                    Ok(word) => {
                        repository::fail(
                            &self.inner.db,
                            &self.inner.events_exchange,
                            &row,
                            user_id,
                            &word,
                        )
                        .await
                        .map_err(internal)?;
                    }
                    // Not at Midtrans (the charge never happened): just close ours.
                    Err(MidtransError::NotFound) => {
                        repository::fail(
                            &self.inner.db,
                            &self.inner.events_exchange,
                            &row,
                            user_id,
                            "cancel",
                        )
                        .await
                        .map_err(internal)?;
                    }
                    // Already paid or expired there: take Midtrans's word below.
                    Err(MidtransError::NotModifiable) => {
                        let _ = self.reconcile(&row).await;
                    }
                    Err(e) => {
                        tracing::warn!(%order_id, error = %e, "cancel at Midtrans failed");
                        return Err(ServiceError::ProviderUnavailable {
                            message: "The payment provider did not answer; please try again later."
                                .into(),
                            pending_order_id: None,
                        });
                    }
                }
            } else if let Err(e) = self.reconcile(&row).await {
                // The stored state is still a correct answer.
                tracing::warn!(%order_id, error = %e, "refreshing top-up status failed");
            }
        }
        let row = repository::find_by_order_id(&self.inner.db, order_id)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        Ok(info(&row, !self.inner.config.midtrans.is_production))
    }

    /// Whether the notification's `signature_key` is right (constant-time).
    pub fn signature_ok(&self, n: &Notification) -> bool {
        let t = &n.transaction;
        signature::verify(
            &t.order_id,
            &t.status_code,
            &t.gross_amount_text,
            self.inner.midtrans.server_key(),
            &n.signature_key,
        )
    }

    /// Applies a notification (signature already verified): looks the top-up up, confirms with
    /// the status API when configured, decides, and records the result in one transaction.
    #[tracing::instrument(skip_all, fields(order_id = %n.transaction.order_id, status = %n.transaction.transaction_status))]
    pub async fn apply_notification(
        &self,
        n: &Notification,
        arrived: Instant,
    ) -> Result<Outcome, ApplyError> {
        let seen = &n.transaction;
        let Some(row) = repository::find_by_order_id(&self.inner.db, &seen.order_id).await? else {
            return Ok(Outcome::Ignored);
        };
        if row.bot_source.as_deref() != Some(BOT_SOURCE) {
            return Ok(Outcome::Ignored);
        }
        if TopupStatus::parse(row.status.as_deref()) == Some(TopupStatus::Success)
            && domain::is_money_returned(&seen.transaction_status)
        {
            return self.apply_returned(&row, seen).await;
        }
        if TopupStatus::parse(row.status.as_deref()) != Some(TopupStatus::Pending) {
            if domain::payment(&seen.transaction_status, seen.fraud_status.as_deref())
                == domain::Payment::Paid
                && row.status.as_deref() == Some("failed")
            {
                tracing::error!(order_id = %row.order_id, "payment reported for a failed top-up; an operator must check it");
            }
            return Ok(Outcome::Duplicate);
        }
        let claims_paid = domain::payment(&seen.transaction_status, seen.fraud_status.as_deref())
            == domain::Payment::Paid;
        // The signature covers status_code but not transaction_status or fraud_status: a signed
        // `pending` (201) relabelled `settlement` keeps a valid signature. Midtrans reports a
        // payment with 200 only, so anything else claiming one is not acted on.
        if claims_paid && seen.status_code.trim() != "200" {
            tracing::warn!(order_id = %row.order_id, status_code = %seen.status_code, "notification claims a payment with a non-200 status_code; not acted on");
            return Ok(Outcome::Unverified);
        }
        // The notification's own amount must already fit: a tampered copy is refused even
        // when the status check is off.
        if claims_paid
            && !domain::amount_matches(
                shared_proto::Idr::new(row.amount),
                seen.gross_amount,
                seen.original_amount,
            )
        {
            tracing::error!(order_id = %row.order_id, "notification amount differs from the top-up; not credited");
            return Ok(Outcome::AmountMismatch);
        }
        let confirmed;
        let view = if self.inner.config.midtrans.verify_status {
            confirmed = match self.confirm(&seen.order_id).await {
                Ok(v) => v,
                Err(MidtransError::NotFound) => return Ok(Outcome::Unverified),
                Err(e) => return Err(e.into()),
            };
            &confirmed
        } else {
            seen
        };
        self.apply_view(&row, view, Some(arrived)).await
    }

    /// The webhook's status check: one attempt within `MIDTRANS_WEBHOOK_STATUS_TIMEOUT_MS`, no
    /// retries, so the webhook answers well within Midtrans's 5 seconds (an error becomes a 503
    /// and Midtrans sends the notification again later).
    async fn confirm(&self, order_id: &str) -> Result<TransactionView, MidtransError> {
        let deadline =
            Duration::from_millis(self.inner.config.midtrans.webhook_status_timeout_ms.max(1));
        self.inner.midtrans.status_within(order_id, deadline).await
    }

    /// Money of a credited top-up went back to the payer (refund or chargeback, whole or
    /// partial): each returned amount is reversed once, from the balance as far as it goes, the
    /// rest owed (DESIGN invariant 5). Midtrans's status API is the source when verification is
    /// on; the notification (signature checked) otherwise.
    async fn apply_returned(
        &self,
        row: &TopupRow,
        seen: &TransactionView,
    ) -> Result<Outcome, ApplyError> {
        // Midtrans reports money returned with status_code 200; the signature covers it.
        if seen.status_code.trim() != "200" {
            tracing::warn!(order_id = %row.order_id, status_code = %seen.status_code, "money-returned notification with a non-200 status_code; not acted on");
            return Ok(Outcome::Unverified);
        }
        let confirmed;
        let view = if self.inner.config.midtrans.verify_status {
            confirmed = match self.confirm(&seen.order_id).await {
                Ok(v) => v,
                Err(MidtransError::NotFound) => return Ok(Outcome::Unverified),
                Err(e) => return Err(e.into()),
            };
            &confirmed
        } else {
            seen
        };
        if view.order_id != row.order_id || !domain::is_money_returned(&view.transaction_status) {
            tracing::warn!(order_id = %row.order_id, status = %view.transaction_status, "Midtrans does not confirm money returned; not acted on");
            return Ok(Outcome::Unverified);
        }
        let Some(user_id) = row.user_id.and_then(|u| DiscordUserId::from_i64(u).ok()) else {
            tracing::error!(order_id = %row.order_id, "top-up row without a valid user id");
            return Ok(Outcome::Ignored);
        };
        let plans = domain::reversal_plans(
            &row.order_id,
            view.refunds.iter().map(|r| (r.key.as_str(), r.amount)),
            view.refund_amount,
        );
        let mut outcome = Outcome::Duplicate;
        for plan in &plans {
            match repository::reverse(
                &self.inner.db,
                &self.inner.events_exchange,
                row,
                user_id,
                plan,
                &view.transaction_status,
            )
            .await?
            {
                repository::Reversed::Done {
                    split,
                    balance_after,
                    total_owed,
                } => {
                    tracing::warn!(
                        order_id = %row.order_id,
                        status = %view.transaction_status,
                        returned = split.due.rupiah(),
                        taken = split.taken.rupiah(),
                        owed = split.owed.rupiah(),
                        balance_after = balance_after.rupiah(),
                        total_owed = total_owed.rupiah(),
                        "money returned after settlement reversed"
                    );
                    outcome = Outcome::Reversed;
                }
                repository::Reversed::AlreadyDone => {}
            }
        }
        if plans.is_empty() {
            tracing::error!(order_id = %row.order_id, status = %view.transaction_status, "money returned without an amount; an operator must check it");
            return Ok(Outcome::Ignored);
        }
        Ok(outcome)
    }

    /// Asks Midtrans about a pending top-up and applies the answer (sweeper, status refresh).
    pub async fn reconcile(&self, row: &TopupRow) -> Result<Outcome, ApplyError> {
        let view = match self.inner.midtrans.status(&row.order_id).await {
            Ok(v) => v,
            Err(MidtransError::NotFound) => return Ok(Outcome::Unverified),
            Err(e) => return Err(e.into()),
        };
        self.apply_view(row, &view, None).await
    }

    /// Closes a pending top-up that is past its expiry: takes Midtrans's final word, or expires
    /// it there if Midtrans still says pending.
    pub async fn close_expired(&self, row: &TopupRow) -> Result<Outcome, ApplyError> {
        let outcome = self.reconcile(row).await?;
        match outcome {
            Outcome::StillPending | Outcome::Unverified => {
                let word = match self.inner.midtrans.expire(&row.order_id).await {
                    Ok(word) => word,
                    Err(MidtransError::NotFound) => "expire".to_string(),
                    // Settled or closed meanwhile: the next reconcile takes its word.
                    Err(MidtransError::NotModifiable) => return self.reconcile(row).await,
                    Err(e) => return Err(e.into()),
                };
                let Some(user_id) = row.user_id.and_then(|u| DiscordUserId::from_i64(u).ok())
                else {
                    return Ok(Outcome::Ignored);
                };
                let done = repository::fail(
                    &self.inner.db,
                    &self.inner.events_exchange,
                    row,
                    user_id,
                    &word,
                )
                .await?;
                Ok(if done == Applied::Failed {
                    Outcome::Failed
                } else {
                    Outcome::Duplicate
                })
            }
            other => Ok(other),
        }
    }

    async fn apply_view(
        &self,
        row: &TopupRow,
        view: &TransactionView,
        arrived: Option<Instant>,
    ) -> Result<Outcome, ApplyError> {
        if view.order_id != row.order_id {
            return Ok(Outcome::Unverified);
        }
        let Some(user_id) = row.user_id.and_then(|u| DiscordUserId::from_i64(u).ok()) else {
            tracing::error!(order_id = %row.order_id, "top-up row without a valid user id");
            return Ok(Outcome::Ignored);
        };
        let observation = Observation {
            transaction_status: &view.transaction_status,
            fraud_status: view.fraud_status.as_deref(),
            gross_amount: view.gross_amount,
            original_amount: view.original_amount,
        };
        let current = TopupStatus::parse(row.status.as_deref());
        let exchange = &self.inner.events_exchange;
        match domain::decide(current, shared_proto::Idr::new(row.amount), &observation) {
            Decision::Credit { amount } => {
                let paid_at = view.settlement_time.unwrap_or_else(Utc::now);
                let applied = repository::credit(
                    &self.inner.db,
                    exchange,
                    row,
                    repository::Settlement {
                        user_id,
                        amount,
                        midtrans_status: &view.transaction_status,
                        transaction_id: view.transaction_id.as_deref(),
                        paid_at,
                    },
                )
                .await?;
                match applied {
                    Applied::Credited { .. } => {
                        if let Some(arrived) = arrived {
                            self.inner
                                .metrics
                                .credit_latency
                                .observe(arrived.elapsed().as_secs_f64());
                        }
                        tracing::info!(order_id = %row.order_id, amount = amount.rupiah(), "top-up credited");
                        Ok(Outcome::Credited)
                    }
                    _ => Ok(Outcome::Duplicate),
                }
            }
            Decision::Fail { midtrans_status } => {
                let applied =
                    repository::fail(&self.inner.db, exchange, row, user_id, &midtrans_status)
                        .await?;
                Ok(if applied == Applied::Failed {
                    tracing::info!(order_id = %row.order_id, %midtrans_status, "top-up closed unpaid");
                    Outcome::Failed
                } else {
                    Outcome::Duplicate
                })
            }
            Decision::Keep(KeepReason::AlreadyFinal) => Ok(Outcome::Duplicate),
            Decision::Keep(KeepReason::StillPending) => Ok(Outcome::StillPending),
            Decision::Keep(KeepReason::AmountMismatch) => {
                tracing::error!(order_id = %row.order_id, "Midtrans amount differs from the top-up; not credited");
                Ok(Outcome::AmountMismatch)
            }
            Decision::Keep(KeepReason::Unsupported) => {
                tracing::warn!(order_id = %row.order_id, status = %view.transaction_status, "no automatic action for this status");
                Ok(Outcome::Ignored)
            }
        }
    }
}

/// ≤ 36 characters, stable for one request id: a retried or repeated charge of the same request
/// gets Midtrans's first answer.
pub fn idempotency_key(request_id: &str) -> String {
    let digest = Sha256::digest(format!("topup:{request_id}").as_bytes());
    hex::encode(&digest[..16])
}

fn info(row: &TopupRow, sandbox: bool) -> TopupInfo {
    let state = match TopupStatus::parse(row.status.as_deref()) {
        Some(TopupStatus::Success) => TopupState::Success,
        Some(TopupStatus::Pending) => TopupState::Pending,
        _ => TopupState::Failed,
    };
    // The QR only while it can still be paid.
    let qr_string = match state {
        TopupState::Pending => row.qr_string.clone(),
        _ => None,
    };
    TopupInfo {
        order_id: row.order_id.clone(),
        amount: shared_proto::Idr::new(row.amount),
        state,
        midtrans_status: row.midtrans_status.clone(),
        created_at: row.created_at.map(|t| t.and_utc()).unwrap_or_else(Utc::now),
        expires_at: row.expires_at,
        paid_at: row.paid_at,
        qr_string,
        sandbox,
    }
}

fn internal(e: DbErr) -> ServiceError {
    tracing::error!(error = %e, "top-up database error");
    ServiceError::Internal {
        message: "Something went wrong on our side; please try again.".into(),
    }
}
