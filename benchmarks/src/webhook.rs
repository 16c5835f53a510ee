//! Stage 3: the Midtrans webhook of the real payment-service binary.
//!
//! Pending top-ups (`bot_source = 'order'`) and their users are created with SQL, then valid
//! signed `settlement` notifications are POSTed to `/webhook/midtrans`:
//! - throughput: a closed loop with a bounded number in flight; the figure is top-ups credited
//!   per second, checked in the database (every one credited exactly once);
//! - latency: an open loop at a fixed 500/s (each request is sent at its scheduled time whether
//!   or not earlier ones have answered; latency counts from the scheduled time, so a stalled
//!   service cannot hide its queueing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use midtrans_simulator::{notification_body, NotificationSpec};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::report::Outcome;
use crate::services::SERVER_KEY;
use crate::stats::Summary;

/// Every benchmark top-up is this many rupiah.
pub const TOPUP_AMOUNT: i64 = 50_000;

/// A block of users `first..first+count`, each with one pending top-up of [`TOPUP_AMOUNT`].
pub struct TopupBlock {
    pub first_user: i64,
    pub count: i64,
}

impl TopupBlock {
    pub fn order_id(&self, i: i64) -> String {
        format!("ORDER-{}-1767225600", self.first_user + i)
    }

    fn last_user(&self) -> i64 {
        self.first_user + self.count - 1
    }

    /// Inserts the users and their pending top-ups.
    pub async fn seed(&self, db: &DatabaseConnection) -> anyhow::Result<()> {
        let (a, b) = (self.first_user, self.last_user());
        db.execute_unprepared(&format!(
            "INSERT INTO users (user_id, username, balance) \
             SELECT g, 'bench-' || g, 0 FROM generate_series({a}::bigint, {b}::bigint) g"
        ))
        .await
        .context("creating benchmark users")?;
        // Expiry far ahead so the sweeper leaves them alone during the run.
        db.execute_unprepared(&format!(
            "INSERT INTO topups (user_id, amount, order_id, status, bot_source, payment_type, \
                                 midtrans_status, request_id, expires_at) \
             SELECT g, {TOPUP_AMOUNT}, 'ORDER-' || g || '-1767225600', 'pending', 'order', 'qris', \
                    'pending', 'bench-topup-' || g, now() + interval '6 hours' \
             FROM generate_series({a}::bigint, {b}::bigint) g"
        ))
        .await
        .context("creating pending top-ups")?;
        Ok(())
    }

    /// Signed settlement notification bodies, built before the clock starts.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        (0..self.count)
            .map(|i| {
                let spec = NotificationSpec::new(&self.order_id(i), "settlement", TOPUP_AMOUNT);
                notification_body(&spec, SERVER_KEY)
                    .to_string()
                    .into_bytes()
            })
            .collect()
    }

    /// Checks in the database that exactly `expected` top-ups of this block were credited,
    /// each once. Returns the number credited.
    pub async fn verify(&self, db: &DatabaseConnection, expected: u64) -> anyhow::Result<u64> {
        let (a, b) = (self.first_user, self.last_user());
        let row = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT \
                       (SELECT count(*) FROM topups WHERE user_id BETWEEN {a} AND {b} AND status = 'success') AS credited, \
                       (SELECT count(*) FROM users WHERE user_id BETWEEN {a} AND {b} \
                          AND balance = {TOPUP_AMOUNT} AND total_topup = {TOPUP_AMOUNT}) AS once, \
                       (SELECT count(*) FROM users WHERE user_id BETWEEN {a} AND {b} \
                          AND (balance > {TOPUP_AMOUNT} OR total_topup > {TOPUP_AMOUNT})) AS more, \
                       (SELECT count(*) FROM balance_ledger WHERE user_id BETWEEN {a} AND {b} AND reason = 'topup') AS ledger"
                ),
            ))
            .await?
            .context("no answer to the verification query")?;
        let credited: i64 = row.try_get("", "credited")?;
        let once: i64 = row.try_get("", "once")?;
        let more: i64 = row.try_get("", "more")?;
        let ledger: i64 = row.try_get("", "ledger")?;
        if more > 0 {
            bail!("{more} users were credited more than once");
        }
        if credited != once || credited != ledger {
            bail!("{credited} top-ups marked success but {once} balances credited and {ledger} ledger rows");
        }
        if credited as u64 != expected {
            bail!("{expected} notifications answered 200 but {credited} top-ups were credited");
        }
        Ok(credited as u64)
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(1024)
        .build()?)
}

/// Closed loop: `concurrency` requests in flight until `seconds` pass or the block runs out.
pub async fn throughput(
    base_url: &str,
    db: &DatabaseConnection,
    block: &TopupBlock,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let bodies = Arc::new(block.bodies());
    let url = format!("{base_url}/webhook/midtrans");
    let client = client()?;
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let last_answer = Arc::new(Mutex::new(None::<Instant>));
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (bodies, url, client, next, ok, errors, last_answer) = (
            bodies.clone(),
            url.clone(),
            client.clone(),
            next.clone(),
            ok.clone(),
            errors.clone(),
            last_answer.clone(),
        );
        workers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match answer {
                    Ok(a) if a.status().as_u16() == 200 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(a) => push_error(&errors, format!("HTTP {}", a.status().as_u16())),
                    Err(e) => push_error(&errors, format!("{e}")),
                }
                if let Ok(mut last) = last_answer.lock() {
                    *last = Some(Instant::now());
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let end = last_answer
        .lock()
        .ok()
        .and_then(|l| *l)
        .unwrap_or_else(Instant::now);
    let elapsed = end.duration_since(start).as_secs_f64().max(1e-3);
    let ok = ok.load(Ordering::Relaxed) as u64;
    let credited = block.verify(db, ok).await?;
    let sent = next.load(Ordering::Relaxed).min(bodies.len());
    let mut detail = format!(
        "{credited} credited in {elapsed:.1} s, each exactly once (checked in the database); {concurrency} in flight"
    );
    if sent >= bodies.len() {
        detail.push_str(&format!(
            "; all {} prepared top-ups used before the time was up",
            bodies.len()
        ));
    }
    append_errors(&mut detail, &errors);
    Ok(Outcome::Rate {
        per_sec: credited as f64 / elapsed,
        unit: "settlements/s",
        min_ratio: Some(0.7),
        detail,
    })
}

/// Open loop at `rate` per second for `seconds`; latency from each request's scheduled time.
pub async fn latency_at(
    base_url: &str,
    db: &DatabaseConnection,
    block: &TopupBlock,
    rate: u32,
    p99_limit_ms: f64,
) -> anyhow::Result<Outcome> {
    let bodies = block.bodies();
    let url = format!("{base_url}/webhook/midtrans");
    let client = client()?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(bodies.len())));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let ok = Arc::new(AtomicUsize::new(0));
    let t0 = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let scheduled = t0 + interval * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let (client, url, latencies, errors, ok) = (
            client.clone(),
            url.clone(),
            latencies.clone(),
            errors.clone(),
            ok.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let answer = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let took = scheduled.elapsed();
            match answer {
                Ok(a) if a.status().as_u16() == 200 => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut l) = latencies.lock() {
                        l.push(took);
                    }
                }
                Ok(a) => push_error(&errors, format!("HTTP {}", a.status().as_u16())),
                Err(e) => push_error(&errors, format!("{e}")),
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let ok = ok.load(Ordering::Relaxed) as u64;
    let credited = block.verify(db, ok).await?;
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let summary = Summary::of(&latencies).context("no request succeeded")?;
    let mut detail = format!("{rate}/s open loop, {credited} credited once");
    append_errors(&mut detail, &errors);
    Ok(Outcome::Latency {
        summary,
        p99_limit_ms,
        detail,
    })
}

fn push_error(errors: &Mutex<Vec<String>>, error: String) {
    if let Ok(mut e) = errors.lock() {
        e.push(error);
    }
}

fn append_errors(detail: &mut String, errors: &Mutex<Vec<String>>) {
    let errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
    if let Some(first) = errors.first() {
        detail.push_str(&format!(
            "; {} failed requests (first: {first})",
            errors.len()
        ));
    }
}

/// Creates each top-up of `block` as a QRIS charge in the Midtrans simulator and marks it paid
/// there (no notification URL: the benchmark sends the notifications itself), so the
/// payment-service's status check finds `settlement`.
pub async fn prepare_in_simulator(simulator_url: &str, block: &TopupBlock) -> anyhow::Result<()> {
    let client = client()?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (client, next) = (client.clone(), next.clone());
        let base = simulator_url.to_string();
        let block = TopupBlock {
            first_user: block.first_user,
            count: block.count,
        };
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as i64;
                if i >= block.count {
                    return anyhow::Ok(());
                }
                let order_id = block.order_id(i);
                let charge = client
                    .post(format!("{base}/v2/charge"))
                    .basic_auth(SERVER_KEY, Some(""))
                    .json(&serde_json::json!({
                        "payment_type": "qris",
                        "transaction_details": {"order_id": order_id, "gross_amount": TOPUP_AMOUNT},
                        "qris": {"acquirer": "gopay"},
                    }))
                    .send()
                    .await?;
                if !charge.status().is_success() {
                    bail!("simulator charge answered HTTP {}", charge.status());
                }
                let paid = client
                    .post(format!("{base}/_sim/transactions/{order_id}/pay"))
                    .send()
                    .await?;
                if !paid.status().is_success() {
                    bail!("simulator pay answered HTTP {}", paid.status());
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}
