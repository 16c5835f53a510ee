//! The expiry sweeper: pending top-ups whose QR expired are checked with Midtrans's status API
//! and closed — credited if Midtrans says they were paid (a notification was lost), failed with
//! a `topup.expired` event otherwise. Rows whose charge never completed (no QR, no `expires_at`:
//! Midtrans kept answering "still processing") are swept the same way once they are older than
//! a QR's lifetime plus a grace period, so none stays "being created" forever.
//!
//! Safe with several replicas: every change goes through the conditional `WHERE status =
//! 'pending'` update, so two sweepers (or a sweeper and the webhook) acting on one row credit or
//! fail it once; the loser sees "already done".

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::topups::{repository, Outcome, TopupService};

/// Rows looked at per round.
const BATCH: u64 = 50;

/// One pass over the expired pending top-ups; answers how many were closed.
pub async fn sweep_once(topups: &TopupService) -> anyhow::Result<usize> {
    let now = Utc::now();
    let rows =
        repository::expired_pending(topups.db(), now, topups.never_charged_cutoff(now), BATCH)
            .await?;
    let mut closed = 0;
    for row in rows {
        match topups.close_expired(&row).await {
            Ok(Outcome::Credited) | Ok(Outcome::Failed) => closed += 1,
            Ok(outcome) => {
                tracing::debug!(order_id = %row.order_id, outcome = outcome.label(), "expired top-up not closed")
            }
            Err(e) => {
                tracing::warn!(order_id = %row.order_id, error = %e, "closing an expired top-up failed; next round retries")
            }
        }
    }
    Ok(closed)
}

/// Runs [`sweep_once`] every `interval` until `shutdown`.
pub fn spawn_sweeper(
    topups: TopupService,
    interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let interval = interval.max(Duration::from_millis(100));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
            match sweep_once(&topups).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "expired top-ups closed"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "sweeper round failed"),
            }
        }
    })
}
