//! The invariants of DESIGN.md §6, checked in the database (and the broker) after a run, for any
//! test that drove the real services: fault tests, end-to-end tests, scale-out tests.
//!
//! ```no_run
//! # async fn f(db_url: &str) -> anyhow::Result<()> {
//! let report = fault_tests::invariants::check_all(db_url).await?; // Err lists every violation
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! It assumes that every balance change of the users it looks at was made by this service
//! (true in a test database; the sibling bot's credits would need their own ledger rows).
//! What it checks:
//! 1. money: Σ credited top-ups − Σ charged orders + Σ refunds (+ Σ adjustments) = Σ ledger
//!    deltas = Σ balances; per user, balance = Σ of its ledger deltas = the last `balance_after`,
//!    balance ≥ 0, `total_topup`/`total_spent` agree; one ledger row per credited top-up, per
//!    order and per refund, with the right amount and user, and none without its cause;
//!    money returned after settlement (refunds, chargebacks of credited top-ups; DESIGN
//!    invariant 5): every reversal row belongs to a credited top-up of the same user, never more
//!    is returned than was credited, and per user what was returned = what was taken back from
//!    the balance + what is owed + what an admin cleared (nothing lost);
//!    after the sale (reports): an order's code-by-code refunds equal its ledger rows and never
//!    exceed its price; replaced + refunded codes of an order ≤ its quantity; a code is
//!    replaced or refunded once, a replacement delivered once, to the reported order, and every
//!    replaced or refunded code is marked defective;
//! 2. stock: no code hash twice; sold = Σ quantities of completed orders; each completed order
//!    holds exactly its quantity of sold codes, each delivering/failed order its reserved ones;
//!    no sold code outside a completed order;
//! 3. orders: none left `pending`/`delivering` (every charged order ended completed, refunded or
//!    visibly failed, i.e. with `last_error`);
//! 4. outbox: every row published;
//!
//! plus, with [`check_queues`], the broker: no message ready in any queue, nothing in any DLQ.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use anyhow::Context;
use broker::Broker;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

/// How many examples of one violation are listed.
const EXAMPLES: i64 = 5;

/// What the database holds after a run, and every invariant it breaks.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub users: i64,
    pub credited_topups: i64,
    pub credited_topups_sum: i64,
    pub pending_topups: i64,
    pub failed_topups: i64,
    pub orders: i64,
    pub charged_orders_sum: i64,
    pub refunds: i64,
    pub refunds_sum: i64,
    pub adjustments_sum: i64,
    /// Σ of the `reversal` ledger rows (≤ 0): money returned after settlement, taken back.
    pub reversals_sum: i64,
    /// Σ `topups.returned_amount`: money Midtrans reported returned after settlement.
    pub returned_sum: i64,
    /// Σ `balance_owed.amount`.
    pub owed_sum: i64,
    pub ledger_sum: i64,
    pub balance_sum: i64,
    pub orders_by_status: BTreeMap<String, i64>,
    pub stock_by_status: BTreeMap<String, i64>,
    pub sold_codes: i64,
    pub completed_quantity: i64,
    pub outbox_rows: i64,
    pub outbox_unpublished: i64,
    /// Human-readable, each naming the invariant and a few examples.
    pub violations: Vec<String>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "users {}; top-ups credited {} (Rp {}), pending {}, failed {}; orders {} (Rp {}) {:?}; refunds {} (Rp {}); adjustments Rp {}; returned Rp {} (reversed Rp {}, owed Rp {})",
            self.users,
            self.credited_topups,
            self.credited_topups_sum,
            self.pending_topups,
            self.failed_topups,
            self.orders,
            self.charged_orders_sum,
            self.orders_by_status,
            self.refunds,
            self.refunds_sum,
            self.adjustments_sum,
            self.returned_sum,
            -self.reversals_sum,
            self.owed_sum
        )?;
        writeln!(
            f,
            "ledger Σ Rp {}, balances Σ Rp {}; stock {:?}, sold {} = completed quantity {}; outbox {} rows, {} unpublished",
            self.ledger_sum,
            self.balance_sum,
            self.stock_by_status,
            self.sold_codes,
            self.completed_quantity,
            self.outbox_rows,
            self.outbox_unpublished
        )?;
        if self.violations.is_empty() {
            write!(f, "all invariants hold")
        } else {
            write!(
                f,
                "{} VIOLATIONS:\n  - {}",
                self.violations.len(),
                self.violations.join("\n  - ")
            )
        }
    }
}

/// Connects to `db_url`, checks everything, and answers the report; `Err` (with the whole report)
/// if any invariant is broken.
pub async fn check_all(db_url: &str) -> anyhow::Result<Report> {
    let db = Database::connect(db_url)
        .await
        .context("connecting to the database to check invariants")?;
    let report = collect(&db).await;
    db.close().await.ok();
    let report = report?;
    if report.is_ok() {
        Ok(report)
    } else {
        anyhow::bail!("invariants broken:\n{report}")
    }
}

/// Polls [`collect`] until every invariant holds (work in flight — deliveries, the outbox —
/// has finished) or `timeout` passes; `Err` then carries the last report.
pub async fn wait_until_settled(db_url: &str, timeout: Duration) -> anyhow::Result<Report> {
    let db = Database::connect(db_url)
        .await
        .context("connecting to the database to check invariants")?;
    let deadline = tokio::time::Instant::now() + timeout;
    let result = loop {
        match collect(&db).await {
            Ok(report) if report.is_ok() => break Ok(report),
            Ok(report) if tokio::time::Instant::now() >= deadline => {
                break Err(anyhow::anyhow!(
                    "invariants still broken after {timeout:?}:\n{report}"
                ))
            }
            Err(e) if tokio::time::Instant::now() >= deadline => break Err(e),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    db.close().await.ok();
    result
}

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    db.query_all(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .with_context(|| format!("invariant query failed: {sql}"))
}

async fn int(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(rows(db, sql)
        .await?
        .first()
        .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
        .unwrap_or(0))
}

/// Runs `sql` (which selects one text column describing an offending row, at most
/// [`EXAMPLES`] + 1 of them) and records a violation named `what` if it finds any.
async fn none_of(
    db: &DatabaseConnection,
    report: &mut Report,
    what: &str,
    sql: &str,
) -> anyhow::Result<()> {
    let found = rows(db, &format!("{sql} LIMIT {}", EXAMPLES + 1)).await?;
    if found.is_empty() {
        return Ok(());
    }
    let mut examples: Vec<String> = found
        .iter()
        .take(EXAMPLES as usize)
        .map(|r| r.try_get_by_index::<String>(0).unwrap_or_default())
        .collect();
    if found.len() > EXAMPLES as usize {
        examples.push("…".into());
    }
    report
        .violations
        .push(format!("{what}: {}", examples.join("; ")));
    Ok(())
}

fn by_status(found: Vec<sea_orm::QueryResult>) -> BTreeMap<String, i64> {
    found
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get_by_index::<Option<String>>(0)
                    .ok()?
                    .unwrap_or_else(|| "NULL".into()),
                r.try_get_by_index::<i64>(1).ok()?,
            ))
        })
        .collect()
}

/// Reads the figures and every violation; never fails because of a violation.
pub async fn collect(db: &DatabaseConnection) -> anyhow::Result<Report> {
    let mut r = Report::default();
    let ours = "(SELECT user_id FROM balance_ledger UNION SELECT user_id FROM orders \
                UNION SELECT user_id FROM topups WHERE bot_source = 'order' AND user_id IS NOT NULL)";

    // ---- figures ----------------------------------------------------------------------------
    r.users = int(db, &format!("SELECT COUNT(*) FROM {ours} u")).await?;
    r.credited_topups = int(
        db,
        "SELECT COUNT(*) FROM topups WHERE bot_source = 'order' AND status = 'success'",
    )
    .await?;
    r.credited_topups_sum = int(
        db,
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM topups WHERE bot_source = 'order' AND status = 'success'",
    )
    .await?;
    r.pending_topups = int(
        db,
        "SELECT COUNT(*) FROM topups WHERE bot_source = 'order' AND status = 'pending'",
    )
    .await?;
    r.failed_topups = int(
        db,
        "SELECT COUNT(*) FROM topups WHERE bot_source = 'order' AND status = 'failed'",
    )
    .await?;
    r.orders = int(db, "SELECT COUNT(*) FROM orders").await?;
    r.charged_orders_sum = int(
        db,
        "SELECT COALESCE(SUM(total_price), 0)::BIGINT FROM orders",
    )
    .await?;
    r.refunds = int(db, "SELECT COUNT(*) FROM orders WHERE status = 'refunded'").await?;
    // Whole-order refunds return what code-by-code refunds (reports) had not yet returned.
    r.refunds_sum = int(
        db,
        "SELECT COALESCE(SUM(CASE WHEN status = 'refunded' THEN total_price ELSE refunded_amount END), 0)::BIGINT \
         FROM orders",
    )
    .await?;
    r.adjustments_sum = int(
        db,
        "SELECT COALESCE(SUM(delta), 0)::BIGINT FROM balance_ledger WHERE reason = 'adjustment'",
    )
    .await?;
    r.reversals_sum = int(
        db,
        "SELECT COALESCE(SUM(delta), 0)::BIGINT FROM balance_ledger WHERE reason = 'reversal'",
    )
    .await?;
    r.returned_sum = int(
        db,
        "SELECT COALESCE(SUM(returned_amount), 0)::BIGINT FROM topups WHERE bot_source = 'order'",
    )
    .await?;
    r.owed_sum = int(
        db,
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM balance_owed",
    )
    .await?;
    r.ledger_sum = int(
        db,
        "SELECT COALESCE(SUM(delta), 0)::BIGINT FROM balance_ledger",
    )
    .await?;
    r.balance_sum = int(
        db,
        &format!("SELECT COALESCE(SUM(balance), 0)::BIGINT FROM users WHERE user_id IN {ours}"),
    )
    .await?;
    r.orders_by_status =
        by_status(rows(db, "SELECT status, COUNT(*) FROM orders GROUP BY status").await?);
    r.stock_by_status =
        by_status(rows(db, "SELECT status, COUNT(*) FROM stock GROUP BY status").await?);
    r.sold_codes = r.stock_by_status.get("sold").copied().unwrap_or(0);
    // A completed order holds its quantity plus the replacements it was sent after a report.
    r.completed_quantity = int(
        db,
        "SELECT (COALESCE(SUM(code_quantity), 0) + (SELECT COUNT(*) FROM code_report_items i \
         JOIN stock s ON s.id = i.replacement_stock_id JOIN orders o2 ON o2.id = s.order_id \
         WHERE o2.status = 'completed'))::BIGINT FROM orders WHERE status = 'completed'",
    )
    .await?;
    r.outbox_rows = int(db, "SELECT COUNT(*) FROM outbox").await?;
    r.outbox_unpublished =
        int(db, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").await?;

    // ---- 1. money ---------------------------------------------------------------------------
    let expected = r.credited_topups_sum - r.charged_orders_sum
        + r.refunds_sum
        + r.adjustments_sum
        + r.reversals_sum;
    if expected != r.ledger_sum || r.ledger_sum != r.balance_sum {
        r.violations.push(format!(
            "money: credited top-ups − charged orders + refunds + adjustments − reversals = Rp {expected}, ledger Σ = Rp {}, balances Σ = Rp {}",
            r.ledger_sum, r.balance_sum
        ));
    }
    none_of(
        db,
        &mut r,
        "a balance below zero",
        "SELECT user_id || ': ' || balance FROM users WHERE balance < 0",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a user's balance differs from the sum of its ledger rows",
        &format!(
            "SELECT u.user_id || ': balance ' || u.balance || ', ledger Σ ' || COALESCE(l.s, 0) \
             FROM users u LEFT JOIN (SELECT user_id, SUM(delta)::BIGINT s FROM balance_ledger GROUP BY user_id) l \
             ON l.user_id = u.user_id WHERE u.user_id IN {ours} AND u.balance <> COALESCE(l.s, 0)"
        ),
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a code went to an order of another product",
        "SELECT 'stock ' || s.id || ' of product ' || s.product_id || ' in order ' || \
         o.order_number || ' of product ' || o.product_id \
         FROM stock s JOIN orders o ON o.id = s.order_id WHERE s.product_id <> o.product_id",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a user's balance differs from its last ledger row's balance_after",
        "SELECT u.user_id || ': balance ' || u.balance || ', last balance_after ' || l.balance_after \
         FROM users u JOIN (SELECT DISTINCT ON (user_id) user_id, balance_after FROM balance_ledger \
         ORDER BY user_id, id DESC) l ON l.user_id = u.user_id WHERE u.balance <> l.balance_after",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a user's total_topup differs from its credited top-ups",
        &format!(
            "SELECT u.user_id || ': total_topup ' || u.total_topup || ', credited ' || COALESCE(t.s, 0) \
             FROM users u LEFT JOIN (SELECT user_id, SUM(amount)::BIGINT s FROM topups \
             WHERE bot_source = 'order' AND status = 'success' GROUP BY user_id) t ON t.user_id = u.user_id \
             WHERE u.user_id IN {ours} AND u.total_topup <> COALESCE(t.s, 0)"
        ),
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a user's total_spent differs from its orders minus refunds",
        &format!(
            "SELECT u.user_id || ': total_spent ' || u.total_spent || ', orders − refunds ' || COALESCE(o.s, 0) \
             FROM users u LEFT JOIN (SELECT user_id, SUM(CASE WHEN status = 'refunded' THEN 0 ELSE total_price - refunded_amount END)::BIGINT s \
             FROM orders GROUP BY user_id) o ON o.user_id = u.user_id \
             WHERE u.user_id IN {ours} AND u.total_spent <> COALESCE(o.s, 0)"
        ),
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a credited top-up without exactly one matching ledger row (+amount, same user)",
        "SELECT t.order_id || ': ' || COUNT(l.id) || ' ledger rows' FROM topups t \
         LEFT JOIN balance_ledger l ON l.reason = 'topup' AND l.reference = t.order_id \
              AND l.delta = t.amount AND l.user_id = t.user_id \
         WHERE t.bot_source = 'order' AND t.status = 'success' GROUP BY t.order_id HAVING COUNT(l.id) <> 1",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a top-up ledger row without a credited top-up",
        "SELECT l.reference || ' (ledger id ' || l.id || ')' FROM balance_ledger l \
         WHERE l.reason = 'topup' AND NOT EXISTS (SELECT 1 FROM topups t WHERE t.order_id = l.reference \
              AND t.status = 'success' AND t.bot_source = 'order')",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "an order without exactly one charge in the ledger (−price, same user)",
        "SELECT o.order_number || ': ' || COUNT(l.id) || ' charge rows' FROM orders o \
         LEFT JOIN balance_ledger l ON l.reason = 'order' AND l.reference = o.order_number \
              AND l.delta = -o.total_price AND l.user_id = o.user_id \
         GROUP BY o.order_number HAVING COUNT(l.id) <> 1",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "an order ledger row without its order",
        "SELECT l.reference FROM balance_ledger l WHERE l.reason = 'order' \
         AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_number = l.reference)",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a refunded order without exactly one refund row (+price − refunded code by code), or a refund of an order that is not refunded",
        "SELECT o.order_number || ' (' || o.status || '): ' || COUNT(l.id) || ' refund rows' FROM orders o \
         LEFT JOIN balance_ledger l ON l.reason = 'refund' AND l.reference = o.order_number \
              AND l.delta = o.total_price - o.refunded_amount AND l.user_id = o.user_id \
         GROUP BY o.order_number, o.status \
         HAVING COUNT(l.id) <> CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a refund ledger row without its order",
        "SELECT l.reference FROM balance_ledger l WHERE l.reason = 'refund' \
         AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_number = split_part(l.reference, '#', 1))",
    )
    .await?;

    // ---- 1c. after the sale: reports (issue 17) ---------------------------------------------
    none_of(
        db,
        &mut r,
        "an order whose code-by-code refunds differ from its ledger rows, or exceed its price",
        "SELECT o.order_number || ': refunded_amount ' || o.refunded_amount || ', ledger ' || COALESCE(l.s, 0) \
         || ', items ' || COALESCE(i.s, 0) || ', price ' || o.total_price FROM orders o \
         LEFT JOIN (SELECT split_part(reference, '#', 1) AS n, SUM(delta)::BIGINT s FROM balance_ledger \
               WHERE reason = 'refund' AND reference LIKE '%#report-%' GROUP BY 1) l ON l.n = o.order_number \
         LEFT JOIN (SELECT r.order_id, SUM(i.refund_amount)::BIGINT s FROM code_report_items i \
               JOIN code_reports r ON r.id = i.report_id WHERE i.outcome = 'refunded' GROUP BY 1) i \
               ON i.order_id = o.id \
         WHERE o.refunded_amount <> COALESCE(l.s, 0) OR o.refunded_amount <> COALESCE(i.s, 0) \
            OR o.refunded_amount > o.total_price OR o.refunded_amount < 0",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "an order with more codes replaced and refunded than it holds",
        "SELECT o.order_number || ': ' || COUNT(*) || ' of ' || o.code_quantity FROM code_report_items i \
         JOIN code_reports r ON r.id = i.report_id JOIN orders o ON o.id = r.order_id \
         WHERE i.outcome IN ('replaced', 'refunded') GROUP BY o.order_number, o.code_quantity \
         HAVING COUNT(*) > o.code_quantity",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a code replaced or refunded twice, or delivered twice as a replacement",
        "SELECT 'stock id ' || stock_id FROM code_report_items WHERE outcome IN ('replaced', 'refunded') \
         GROUP BY stock_id HAVING COUNT(*) > 1 \
         UNION ALL SELECT 'replacement stock id ' || replacement_stock_id FROM code_report_items \
         WHERE replacement_stock_id IS NOT NULL GROUP BY replacement_stock_id HAVING COUNT(*) > 1",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a replacement code not sold to the reported order, or a replaced or refunded code not marked defective",
        "SELECT 'report ' || i.report_id || ', stock id ' || i.stock_id FROM code_report_items i \
         JOIN code_reports r ON r.id = i.report_id JOIN stock old ON old.id = i.stock_id \
         LEFT JOIN stock new ON new.id = i.replacement_stock_id \
         WHERE i.outcome IN ('replaced', 'refunded') AND (old.defective_at IS NULL \
            OR (i.outcome = 'replaced' AND (new.id IS NULL OR new.order_id <> r.order_id \
                OR new.status NOT IN ('sold', 'reserved'))))",
    )
    .await?;

    // ---- 1b. money returned after settlement (invariant 5) ----------------------------------
    none_of(
        db,
        &mut r,
        "a reversal ledger row without a credited top-up of the same user, or one that adds money",
        "SELECT l.reference || ' (ledger id ' || l.id || ', delta ' || l.delta || ')' FROM balance_ledger l \
         WHERE l.reason = 'reversal' AND (l.delta > 0 OR NOT EXISTS (SELECT 1 FROM topups t \
              WHERE t.order_id = split_part(l.reference, '#', 1) AND t.user_id = l.user_id \
              AND t.status = 'success' AND t.bot_source = 'order'))",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a top-up with more returned than was credited",
        "SELECT order_id || ': returned ' || returned_amount || ' of ' || amount FROM topups \
         WHERE bot_source = 'order' AND returned_amount IS NOT NULL \
         AND (returned_amount > amount OR returned_amount < 0 OR status <> 'success')",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "money returned after settlement not accounted for (returned ≠ taken back + owed + cleared by an admin)",
        "SELECT u.user_id || ': returned ' || u.returned || ', taken ' || COALESCE(l.taken, 0) \
              || ', owed ' || COALESCE(o.amount, 0) || ', cleared ' || COALESCE(c.cleared, 0) \
         FROM (SELECT user_id, SUM(returned_amount)::BIGINT returned FROM topups \
               WHERE bot_source = 'order' AND returned_amount IS NOT NULL GROUP BY user_id) u \
         LEFT JOIN (SELECT user_id, -SUM(delta)::BIGINT taken FROM balance_ledger \
               WHERE reason = 'reversal' GROUP BY user_id) l ON l.user_id = u.user_id \
         LEFT JOIN balance_owed o ON o.user_id = u.user_id \
         LEFT JOIN (SELECT detail::jsonb->>'user_id' AS user_id, \
               SUM((detail::jsonb->>'cleared')::BIGINT)::BIGINT cleared FROM admin_audit \
               WHERE action = 'owed.clear' GROUP BY 1) c ON c.user_id = u.user_id::text \
         WHERE u.returned <> COALESCE(l.taken, 0) + COALESCE(o.amount, 0) + COALESCE(c.cleared, 0)",
    )
    .await?;

    // ---- 2. stock -----------------------------------------------------------------------------
    none_of(
        db,
        &mut r,
        "a code stored twice",
        "SELECT code_hash || ' ×' || COUNT(*) FROM stock GROUP BY code_hash HAVING COUNT(*) > 1",
    )
    .await?;
    if r.sold_codes != r.completed_quantity {
        r.violations.push(format!(
            "stock: {} codes sold but completed orders hold {} codes",
            r.sold_codes, r.completed_quantity
        ));
    }
    none_of(
        db,
        &mut r,
        "an order not holding exactly its quantity of codes, plus its replacements (sold when completed, reserved when delivering/failed)",
        "SELECT o.order_number || ' (' || o.status || ', ' || o.code_quantity || ' codes): ' || COUNT(s.id) || ' held' \
         FROM orders o LEFT JOIN stock s ON s.order_id = o.id AND s.status = \
              CASE WHEN o.status = 'completed' THEN 'sold' ELSE 'reserved' END \
         WHERE o.status IN ('completed', 'delivering', 'failed') \
         GROUP BY o.id, o.order_number, o.status, o.code_quantity HAVING COUNT(s.id) <> o.code_quantity + \
              (SELECT COUNT(*) FROM code_report_items i JOIN code_reports r ON r.id = i.report_id \
               WHERE r.order_id = o.id AND i.replacement_stock_id IS NOT NULL)",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a sold code outside a completed order",
        "SELECT 'stock id ' || s.id || ' (order ' || COALESCE(o.status, 'none') || ')' FROM stock s \
         LEFT JOIN orders o ON o.id = s.order_id WHERE s.status = 'sold' AND (o.id IS NULL OR o.status <> 'completed')",
    )
    .await?;

    // ---- 3. orders ----------------------------------------------------------------------------
    none_of(
        db,
        &mut r,
        "an order left pending or delivering (charged, not finished)",
        "SELECT order_number || ' ' || status || ' since ' || updated_at FROM orders \
         WHERE status IN ('pending', 'delivering') ORDER BY id",
    )
    .await?;
    none_of(
        db,
        &mut r,
        "a failed order without a visible reason (last_error)",
        "SELECT order_number FROM orders WHERE status = 'failed' AND COALESCE(last_error, '') = ''",
    )
    .await?;

    // ---- 4. outbox ----------------------------------------------------------------------------
    none_of(
        db,
        &mut r,
        "an outbox row never published",
        "SELECT id || ' ' || message_type || ' (attempts ' || attempts || ', ' || COALESCE(last_error, 'no error') || ')' \
         FROM outbox WHERE published_at IS NULL ORDER BY id",
    )
    .await?;
    Ok(r)
}

/// Messages in every queue of a namespace (`ready` only: unacknowledged ones are invisible to
/// AMQP; check after the consumers stopped, or with `rabbitmqctl list_queues`).
#[derive(Debug, Clone, Default)]
pub struct QueueReport {
    pub queues: Vec<(String, u32)>,
    pub violations: Vec<String>,
}

/// Checks that every work queue is drained and every dead-letter queue empty.
pub async fn check_queues(broker: &Broker) -> anyhow::Result<QueueReport> {
    let mut report = QueueReport::default();
    for spec in broker.topology().all_queues() {
        for (name, dlq) in [
            (spec.name.clone(), false),
            (spec.dead_letter_queue.clone(), true),
        ] {
            let n = broker
                .queue_ready_count(&name)
                .await
                .with_context(|| format!("reading the depth of {name}"))?;
            if n > 0 {
                report.violations.push(if dlq {
                    format!("{n} dead-lettered messages in {name}")
                } else {
                    format!("{n} messages left in {name}")
                });
            }
            report.queues.push((name, n));
        }
    }
    Ok(report)
}
