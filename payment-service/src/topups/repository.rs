//! SQL for `topups` (shared with the sibling bot: only rows with `bot_source = 'order'` are
//! ours) and the credit transaction. Written once for PostgreSQL and SQLite.

use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, TransactionTrait};
use shared_proto::{
    DiscordUserId, Envelope, Event, Idr, MessageFamily, TopupExpired, TopupReversed, TopupSettled,
};

use super::domain::{split_reversal, ReversalPlan, ReversalSplit};
use crate::persistence::{ledger, outbox, stmt};

/// Our rows in the shared `topups` table carry this source.
pub const BOT_SOURCE: &str = "order";

/// One `topups` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupRow {
    pub order_id: String,
    pub user_id: Option<i64>,
    pub amount: i64,
    pub status: Option<String>,
    pub bot_source: Option<String>,
    pub midtrans_status: Option<String>,
    pub transaction_id: Option<String>,
    pub qr_string: Option<String>,
    pub request_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: Option<NaiveDateTime>,
}

const COLUMNS: &str = "order_id, user_id, amount, status, bot_source, midtrans_status, \
    transaction_id, qr_string, request_id, expires_at, paid_at, created_at";

fn row(r: &QueryResult) -> Result<TopupRow, DbErr> {
    Ok(TopupRow {
        order_id: r.try_get("", "order_id")?,
        user_id: r.try_get("", "user_id")?,
        amount: r.try_get("", "amount")?,
        status: r.try_get("", "status")?,
        bot_source: r.try_get("", "bot_source")?,
        midtrans_status: r.try_get("", "midtrans_status")?,
        transaction_id: r.try_get("", "transaction_id")?,
        qr_string: r.try_get("", "qr_string")?,
        request_id: r.try_get("", "request_id")?,
        expires_at: r.try_get("", "expires_at")?,
        paid_at: r.try_get("", "paid_at")?,
        created_at: r.try_get("", "created_at")?,
    })
}

pub async fn find_by_order_id(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<TopupRow>, DbErr> {
    db.query_one(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM topups WHERE order_id = $1"),
        [order_id.into()],
    ))
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

pub async fn find_by_request_id(
    db: &impl ConnectionTrait,
    request_id: &str,
) -> Result<Option<TopupRow>, DbErr> {
    db.query_one(stmt(
        db,
        &format!("SELECT {COLUMNS} FROM topups WHERE request_id = $1 AND bot_source = $2"),
        [request_id.into(), BOT_SOURCE.into()],
    ))
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Inserts a pending row unless the request id or the order id is taken; true when inserted.
pub async fn insert_pending(
    db: &impl ConnectionTrait,
    order_id: &str,
    user_id: i64,
    amount: Idr,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = db
        .execute(stmt(
            db,
            "INSERT INTO topups (order_id, user_id, amount, bot_source, status, payment_type, \
             request_id, created_at) VALUES ($1, $2, $3, $4, 'pending', 'qris', $5, $6) \
             ON CONFLICT DO NOTHING",
            [
                order_id.into(),
                user_id.into(),
                amount.rupiah().into(),
                BOT_SOURCE.into(),
                request_id.into(),
                now.naive_utc().into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Stores the charge's QR and ids. Does not touch `status`: a fast payment may already have
/// settled the row.
pub async fn store_charge(
    db: &impl ConnectionTrait,
    order_id: &str,
    transaction_id: &str,
    qr_string: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    db.execute(stmt(
        db,
        "UPDATE topups SET transaction_id = COALESCE(transaction_id, $1), qr_string = $2, \
         expires_at = $3, midtrans_status = COALESCE(midtrans_status, 'pending') \
         WHERE order_id = $4 AND bot_source = $5",
        [
            transaction_id.into(),
            qr_string.into(),
            expires_at.into(),
            order_id.into(),
            BOT_SOURCE.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Our pending rows whose QR expired before `now`, and those whose charge never completed (no
/// `expires_at`: Midtrans never gave a QR, e.g. it answered "still processing" until the request
/// gave up) created before `never_charged_before`. Oldest first.
pub async fn expired_pending(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    never_charged_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<TopupRow>, DbErr> {
    let rows = db
        .query_all(stmt(
            db,
            &format!(
                "SELECT {COLUMNS} FROM topups WHERE status = 'pending' AND bot_source = $1 \
                 AND ((expires_at IS NOT NULL AND expires_at < $2) \
                 OR (expires_at IS NULL AND created_at < $3)) \
                 ORDER BY created_at LIMIT $4"
            ),
            [
                BOT_SOURCE.into(),
                now.into(),
                // `created_at` is the shared table's legacy timestamp without time zone (UTC).
                never_charged_before.naive_utc().into(),
                (limit as i64).into(),
            ],
        ))
        .await?;
    rows.iter().map(row).collect()
}

/// The result of trying to move a pending top-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Credited {
        balance_after: Idr,
    },
    Failed,
    /// Someone else moved it first (a duplicate or a concurrent notification).
    AlreadyDone,
}

/// What a credit records.
#[derive(Debug, Clone, Copy)]
pub struct Settlement<'a> {
    pub user_id: DiscordUserId,
    /// The stored amount (never Midtrans's gross amount, which may include a fee).
    pub amount: Idr,
    pub midtrans_status: &'a str,
    pub transaction_id: Option<&'a str>,
    pub paid_at: DateTime<Utc>,
}

/// Credits a pending top-up atomically: the conditional status change (only one caller can win
/// it), the balance, the ledger row and the `topup.settled` outbox row.
///
/// On PostgreSQL this is ONE statement (data-modifying CTEs, atomic like any statement): the
/// top-up leaves `pending` only if its user exists, and only if it did are the balance, the
/// ledger row and the outbox row written. The event's `balance_after` is filled in by the
/// database. Elsewhere the same writes run in one transaction.
pub async fn credit<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    events_exchange: &str,
    row: &TopupRow,
    settlement: Settlement<'_>,
) -> Result<Applied, DbErr> {
    let Settlement {
        user_id,
        amount,
        midtrans_status,
        transaction_id,
        paid_at,
    } = settlement;
    let event = |balance: i64, locale: Option<String>| {
        Envelope::new(Event::TopupSettled(TopupSettled {
            order_id: row.order_id.clone(),
            user_id,
            amount,
            balance_after: Idr::new(balance),
            paid_at,
            interaction: None,
            locale,
        }))
    };
    let missing_user =
        || DbErr::RecordNotFound(format!("user {user_id} of top-up {}", row.order_id));
    if db.get_database_backend() == DbBackend::Postgres {
        let template = event(0, None);
        let result = db
            .query_one(stmt(
                db,
                "WITH settled AS (UPDATE topups SET status = 'success', midtrans_status = $1, \
                 paid_at = $2, transaction_id = COALESCE($3, transaction_id) \
                 WHERE order_id = $4 AND status = 'pending' AND bot_source = $5 \
                 AND EXISTS (SELECT 1 FROM users WHERE user_id = $7) RETURNING order_id), \
                 credited AS (UPDATE users SET balance = balance + $6, total_topup = total_topup + $6 \
                 WHERE user_id = $7 AND EXISTS (SELECT 1 FROM settled) RETURNING balance, locale), \
                 booked AS (INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) \
                 SELECT $7, $6, $8, $4, balance FROM credited RETURNING balance_after), \
                 queued AS (INSERT INTO outbox (message_id, exchange, routing_key, message_type, \
                 correlation_id, payload) SELECT $9, $10, $11, $11, $12, \
                 jsonb_set(jsonb_set($13::jsonb, '{payload,balance_after}', to_jsonb(b.balance_after)), \
                 '{payload,locale}', COALESCE(to_jsonb(c.locale), 'null'::jsonb))::text \
                 FROM booked b, credited c RETURNING id) \
                 SELECT (SELECT COUNT(*) FROM settled) AS settled, \
                 (SELECT COUNT(*) FROM queued) AS queued, \
                 (SELECT balance_after FROM booked) AS balance, \
                 (SELECT COUNT(*) FROM users WHERE user_id = $7) AS user_known",
                [
                    midtrans_status.into(),
                    paid_at.into(),
                    transaction_id.map(str::to_string).into(),
                    row.order_id.as_str().into(),
                    BOT_SOURCE.into(),
                    amount.rupiah().into(),
                    user_id.as_i64().into(),
                    ledger::LedgerReason::Topup.as_str().into(),
                    template.message_id.to_string().into(),
                    events_exchange.into(),
                    template.payload.message_type().into(),
                    template.correlation_id.to_string().into(),
                    String::from_utf8(template.to_bytes()).unwrap_or_default().into(),
                ],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the settlement statement gave no row".into()))?;
        if result.try_get::<i64>("", "settled")? != 1 {
            if result.try_get::<i64>("", "user_known")? == 0 {
                return Err(missing_user());
            }
            return Ok(Applied::AlreadyDone);
        }
        let balance: Option<i64> = result.try_get("", "balance")?;
        return match (balance, result.try_get::<i64>("", "queued")?) {
            (Some(balance), 1) => Ok(Applied::Credited {
                balance_after: Idr::new(balance),
            }),
            // Unreachable while the CTEs chain (settled → credited → booked → queued).
            _ => Err(DbErr::Custom(
                "the settlement statement did not book every row".into(),
            )),
        };
    }

    let txn = db.begin().await?;
    let changed = txn
        .execute(stmt(
            &txn,
            "UPDATE topups SET status = 'success', midtrans_status = $1, paid_at = $2, \
             transaction_id = COALESCE($3, transaction_id) \
             WHERE order_id = $4 AND status = 'pending' AND bot_source = $5",
            [
                midtrans_status.into(),
                paid_at.into(),
                transaction_id.map(str::to_string).into(),
                row.order_id.as_str().into(),
                BOT_SOURCE.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed != 1 {
        txn.rollback().await?;
        return Ok(Applied::AlreadyDone);
    }
    let credited = txn
        .query_one(stmt(
            &txn,
            "UPDATE users SET balance = balance + $1, total_topup = total_topup + $1 \
             WHERE user_id = $2 RETURNING balance, locale",
            [amount.rupiah().into(), user_id.as_i64().into()],
        ))
        .await?
        .ok_or_else(missing_user)?;
    let balance = credited.try_get::<i64>("", "balance")?;
    let locale = credited.try_get::<Option<String>>("", "locale")?;
    ledger::record(
        &txn,
        user_id.as_i64(),
        amount.rupiah(),
        ledger::LedgerReason::Topup,
        &row.order_id,
        balance,
    )
    .await?;
    outbox::enqueue(&txn, events_exchange, &event(balance, locale)).await?;
    txn.commit().await?;
    Ok(Applied::Credited {
        balance_after: Idr::new(balance),
    })
}

/// Marks a pending top-up `failed` and queues `topup.expired`, in one transaction.
pub async fn fail<C: TransactionTrait>(
    db: &C,
    events_exchange: &str,
    row: &TopupRow,
    user_id: DiscordUserId,
    midtrans_status: &str,
) -> Result<Applied, DbErr> {
    let txn = db.begin().await?;
    let changed = txn
        .execute(stmt(
            &txn,
            "UPDATE topups SET status = 'failed', midtrans_status = $1 \
             WHERE order_id = $2 AND status = 'pending' AND bot_source = $3",
            [
                midtrans_status.into(),
                row.order_id.as_str().into(),
                BOT_SOURCE.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed != 1 {
        txn.rollback().await?;
        return Ok(Applied::AlreadyDone);
    }
    let event = Envelope::new(Event::TopupExpired(TopupExpired {
        order_id: row.order_id.clone(),
        user_id,
        amount: Idr::new(row.amount),
        midtrans_status: midtrans_status.to_string(),
        interaction: None,
        locale: ledger::user_locale(&txn, user_id.as_i64()).await?,
    }));
    outbox::enqueue(&txn, events_exchange, &event).await?;
    txn.commit().await?;
    Ok(Applied::Failed)
}

/// A charge that never produced a QR: `failed` without an event (the requester is told in the
/// reply).
pub async fn fail_charge(
    db: &impl ConnectionTrait,
    order_id: &str,
    midtrans_status: &str,
) -> Result<(), DbErr> {
    db.execute(stmt(
        db,
        "UPDATE topups SET status = 'failed', midtrans_status = $1 \
         WHERE order_id = $2 AND status = 'pending' AND bot_source = $3",
        [midtrans_status.into(), order_id.into(), BOT_SOURCE.into()],
    ))
    .await?;
    Ok(())
}

/// The result of reversing one returned amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reversed {
    Done {
        split: ReversalSplit,
        balance_after: Idr,
        total_owed: Idr,
    },
    /// This returned amount was reversed before (a repeated notification).
    AlreadyDone,
}

/// Reverses one returned amount of a credited top-up (DESIGN invariant 5), in one transaction:
/// takes it back from the balance as far as the balance allows (a guarded `UPDATE`, so the
/// balance never goes negative), books a `reversal` ledger row (its `UNIQUE(reason, reference)`
/// makes this exactly-once per returned amount), adds what the balance could not cover to
/// `balance_owed`, records the amount and Midtrans's word on the top-up (`status` stays
/// `success`) and queues `topup.reversed` for the admins.
///
/// The top-up row is locked first on PostgreSQL, so concurrent copies of one notification
/// serialise and the later ones find the ledger row. On SQLite the single writer does the same.
pub async fn reverse<C: TransactionTrait>(
    db: &C,
    events_exchange: &str,
    row: &TopupRow,
    user_id: DiscordUserId,
    plan: &ReversalPlan,
    midtrans_status: &str,
) -> Result<Reversed, DbErr> {
    let txn = db.begin().await?;
    let pg = txn.get_database_backend() == DbBackend::Postgres;
    let lock = if pg { " FOR UPDATE" } else { "" };
    let returned_before = txn
        .query_one(stmt(
            &txn,
            &format!(
                "SELECT COALESCE(returned_amount, 0) AS returned FROM topups \
                 WHERE order_id = $1 AND bot_source = $2 AND status = 'success'{lock}"
            ),
            [row.order_id.as_str().into(), BOT_SOURCE.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("credited top-up {}", row.order_id)))?
        .try_get::<i64>("", "returned")?;
    let booked = txn
        .query_one(stmt(
            &txn,
            "SELECT COUNT(*) AS n FROM balance_ledger WHERE reason = $1 AND reference = $2",
            [
                ledger::LedgerReason::Reversal.as_str().into(),
                plan.reference.as_str().into(),
            ],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if booked > 0 {
        txn.rollback().await?;
        return Ok(Reversed::AlreadyDone);
    }
    let balance = txn
        .query_one(stmt(
            &txn,
            &format!("SELECT balance FROM users WHERE user_id = $1{lock}"),
            [user_id.as_i64().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("user {user_id}")))?
        .try_get::<i64>("", "balance")?;
    let split = split_reversal(
        Idr::new(row.amount),
        Idr::new(returned_before),
        plan,
        Idr::new(balance),
    );
    // Guarded: if the balance changed since it was read (SQLite has no row lock), nothing is
    // taken and the caller retries (the webhook answers 503).
    let balance_after = txn
        .query_one(stmt(
            &txn,
            "UPDATE users SET balance = balance - $1 WHERE user_id = $2 AND balance >= $1 \
             RETURNING balance",
            [split.taken.rupiah().into(), user_id.as_i64().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("the balance changed during a reversal; retry".into()))?
        .try_get::<i64>("", "balance")?;
    ledger::record(
        &txn,
        user_id.as_i64(),
        -split.taken.rupiah(),
        ledger::LedgerReason::Reversal,
        &plan.reference,
        balance_after,
    )
    .await?;
    if split.owed.is_positive() {
        txn.execute(stmt(
            &txn,
            "INSERT INTO balance_owed (user_id, amount, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET amount = balance_owed.amount + EXCLUDED.amount, \
             updated_at = EXCLUDED.updated_at",
            [
                user_id.as_i64().into(),
                split.owed.rupiah().into(),
                Utc::now().into(),
            ],
        ))
        .await?;
    }
    let total_owed = owed_in(&txn, user_id.as_i64()).await?;
    txn.execute(stmt(
        &txn,
        "UPDATE topups SET midtrans_status = $1, returned_amount = COALESCE(returned_amount, 0) + $2, \
         returned_at = $3 WHERE order_id = $4 AND bot_source = $5",
        [
            midtrans_status.into(),
            split.due.rupiah().into(),
            Utc::now().into(),
            row.order_id.as_str().into(),
            BOT_SOURCE.into(),
        ],
    ))
    .await?;
    let event = Envelope::new(Event::TopupReversed(TopupReversed {
        order_id: row.order_id.clone(),
        user_id,
        midtrans_status: midtrans_status.to_string(),
        returned: split.due,
        taken_from_balance: split.taken,
        owed: split.owed,
        balance_after: Idr::new(balance_after),
        total_owed: Idr::new(total_owed),
    }));
    outbox::enqueue(&txn, events_exchange, &event).await?;
    txn.commit().await?;
    Ok(Reversed::Done {
        split,
        balance_after: Idr::new(balance_after),
        total_owed: Idr::new(total_owed),
    })
}

/// What `user_id` owes after money returned on a credited top-up (0 when nothing).
pub async fn owed_in(db: &impl ConnectionTrait, user_id: i64) -> Result<i64, DbErr> {
    Ok(db
        .query_one(stmt(
            db,
            "SELECT amount FROM balance_owed WHERE user_id = $1",
            [user_id.into()],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "amount"))
        .transpose()?
        .unwrap_or(0))
}
