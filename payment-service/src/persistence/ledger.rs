//! The balance ledger: one row for every balance change this bot makes. Rows are written in the
//! same transaction as the change; `UNIQUE(reason, reference)` makes booking the same top-up,
//! order or refund twice impossible.

use sea_orm::{ConnectionTrait, DbErr};

use super::stmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerReason {
    Topup,
    Order,
    Refund,
    Adjustment,
    /// Money of a credited top-up returned to the payer after settlement (refund or
    /// chargeback), taken back from the balance; reference `{order_id}#{refund id}`.
    Reversal,
}

impl LedgerReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerReason::Topup => "topup",
            LedgerReason::Order => "order",
            LedgerReason::Refund => "refund",
            LedgerReason::Adjustment => "adjustment",
            LedgerReason::Reversal => "reversal",
        }
    }
}

/// Appends a ledger row. Call inside the transaction that changed the balance.
pub async fn record(
    txn: &impl ConnectionTrait,
    user_id: i64,
    delta: i64,
    reason: LedgerReason,
    reference: &str,
    balance_after: i64,
) -> Result<(), DbErr> {
    txn.execute(stmt(
        txn,
        "INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) \
         VALUES ($1, $2, $3, $4, $5)",
        [
            user_id.into(),
            delta.into(),
            reason.as_str().into(),
            reference.into(),
            balance_after.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Creates the user row if it does not exist yet (the sibling bot may have created it already),
/// refreshes the username and the remembered locale when Discord gave new ones, and locks the
/// row for the rest of the transaction either way (PostgreSQL locks a conflicting row even when
/// the `WHERE` of `DO UPDATE` skips the update; SQLite has one writer). An unchanged row is not
/// rewritten; a value not given (`None`) keeps the stored one.
pub async fn ensure_user(
    txn: &impl ConnectionTrait,
    user_id: i64,
    username: Option<&str>,
    locale: Option<&str>,
) -> Result<(), DbErr> {
    txn.execute(stmt(
        txn,
        "INSERT INTO users (user_id, username, locale) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET \
         username = COALESCE(EXCLUDED.username, users.username), \
         locale = COALESCE(EXCLUDED.locale, users.locale) \
         WHERE (EXCLUDED.username IS NOT NULL \
                AND (users.username IS NULL OR users.username <> EXCLUDED.username)) \
            OR (EXCLUDED.locale IS NOT NULL \
                AND (users.locale IS NULL OR users.locale <> EXCLUDED.locale))",
        [
            user_id.into(),
            username.map(str::to_string).into(),
            locale.map(str::to_string).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The Discord locale the user last used with the shop (`users.locale`), if known.
pub async fn user_locale(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<String>, DbErr> {
    Ok(db
        .query_one(stmt(
            db,
            "SELECT locale FROM users WHERE user_id = $1",
            [user_id.into()],
        ))
        .await?
        .map(|row| row.try_get::<Option<String>>("", "locale"))
        .transpose()?
        .flatten())
}

/// Gives `amount` back to the user (balance up, `total_spent` down) and books it as a `refund`
/// under `reference`, in the caller's transaction; answers the balance after.
pub async fn refund(
    txn: &impl ConnectionTrait,
    user_id: i64,
    amount: i64,
    reference: &str,
) -> Result<i64, DbErr> {
    let balance_after: i64 = txn
        .query_one(stmt(
            txn,
            "UPDATE users SET balance = balance + $1, total_spent = total_spent - $1 \
             WHERE user_id = $2 RETURNING balance",
            [amount.into(), user_id.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("user {user_id} of a refund")))?
        .try_get("", "balance")?;
    record(
        txn,
        user_id,
        amount,
        LedgerReason::Refund,
        reference,
        balance_after,
    )
    .await?;
    Ok(balance_after)
}
