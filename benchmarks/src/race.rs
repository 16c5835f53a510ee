//! Stage 5: 1,000 concurrent 1-code orders from 1,000 funded users for 500 codes. Passes only
//! if exactly 500 codes were sold (reserved or sold), no code went to two orders or was
//! delivered twice, the other 500 orders were refused as out of stock, and nobody refused was
//! charged (every balance and the sum of balances add up).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use broker::Broker;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use shared_proto::ServiceError;

use crate::orders::{one_code_price, one_order, Observer, OrderResult};
use crate::report::Outcome;

pub const ORDERS: u64 = 1_000;
pub const CODES: u64 = 500;
pub const FIRST_USER: u64 = 900_000_000;

/// Runs the race against a payment-service that has exactly [`CODES`] codes in stock and
/// [`ORDERS`] users from [`FIRST_USER`] each holding `balance`.
pub async fn run(
    broker: &Broker,
    observer: &Arc<Observer>,
    db: &DatabaseConnection,
    balance: i64,
) -> anyhow::Result<Outcome> {
    let price = one_code_price();
    let start = Instant::now();
    let tasks: Vec<_> = (0..ORDERS)
        .map(|i| {
            let (broker, observer) = (broker.clone(), observer.clone());
            tokio::spawn(async move {
                let user = FIRST_USER + i;
                (
                    user,
                    one_order(&broker, &observer, user, Instant::now()).await,
                )
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut out_of_stock = HashSet::new();
    let mut other = Vec::new();
    for t in tasks {
        let (user, result) = t.await?;
        match result {
            OrderResult::Delivered(_) => accepted.push(user),
            OrderResult::Refused(ServiceError::OutOfStock { .. }) => {
                out_of_stock.insert(user);
            }
            OrderResult::Refused(e) => other.push(e.describe()),
            OrderResult::Failed(e) => other.push(e),
        }
    }
    let took = start.elapsed();
    // Late duplicates, if any, would show up here.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut problems = Vec::new();
    let delivered = observer.seen();
    let codes: Vec<&String> = delivered.iter().flat_map(|d| d.codes.iter()).collect();
    let distinct: HashSet<&String> = codes.iter().copied().collect();
    if codes.len() != distinct.len() {
        problems.push(format!(
            "{} codes delivered but only {} distinct",
            codes.len(),
            distinct.len()
        ));
    }
    if accepted.len() as u64 != CODES {
        problems.push(format!("{} orders accepted and delivered", accepted.len()));
    }
    if out_of_stock.len() as u64 != ORDERS - CODES {
        problems.push(format!("{} refused as out of stock", out_of_stock.len()));
    }
    if let Some(first) = other.first() {
        problems.push(format!("{} other outcomes (first: {first})", other.len()));
    }

    let q = |sql: String| Statement::from_string(db.get_database_backend(), sql);
    let last = FIRST_USER + ORDERS - 1;
    let row = db
        .query_one(q(format!(
            "SELECT \
               (SELECT count(*) FROM stock WHERE status IN ('reserved', 'sold')) AS taken, \
               (SELECT count(*) FROM stock WHERE status = 'available') AS available, \
               (SELECT count(*) FROM (SELECT order_id FROM stock WHERE order_id IS NOT NULL \
                   GROUP BY order_id HAVING count(*) <> 1) x) AS bad_orders, \
               (SELECT count(*) FROM orders) AS orders, \
               (SELECT coalesce(sum(code_quantity), 0)::bigint FROM orders) AS quantity, \
               (SELECT coalesce(sum(balance), 0)::bigint FROM users WHERE user_id BETWEEN {FIRST_USER} AND {last}) AS balances, \
               (SELECT count(*) FROM users WHERE user_id BETWEEN {FIRST_USER} AND {last} AND balance = {balance}) AS untouched, \
               (SELECT count(*) FROM users WHERE user_id BETWEEN {FIRST_USER} AND {last} AND balance = {balance} - {price}) AS charged"
        )))
        .await?
        .context("no answer to the race check")?;
    let get = |name: &str| -> anyhow::Result<i64> { Ok(row.try_get::<i64>("", name)?) };
    let (taken, available, bad_orders, orders, quantity, balances, untouched, charged) = (
        get("taken")?,
        get("available")?,
        get("bad_orders")?,
        get("orders")?,
        get("quantity")?,
        get("balances")?,
        get("untouched")?,
        get("charged")?,
    );
    let codes_n = CODES as i64;
    let orders_n = ORDERS as i64;
    if taken != codes_n || available != 0 {
        problems.push(format!(
            "{taken} codes reserved/sold, {available} still available"
        ));
    }
    if bad_orders != 0 {
        problems.push(format!(
            "{bad_orders} orders hold other than exactly one code"
        ));
    }
    if orders != codes_n || quantity != codes_n {
        problems.push(format!(
            "{orders} orders with {quantity} codes in the database"
        ));
    }
    let expected_sum = orders_n * balance - codes_n * price;
    if balances != expected_sum || untouched != orders_n - codes_n || charged != codes_n {
        problems.push(format!(
            "Σ balances {balances} (expected {expected_sum}); {untouched} untouched, {charged} charged once"
        ));
    }
    // The refused must be exactly the untouched ones.
    if !out_of_stock.is_empty() {
        let list: Vec<String> = out_of_stock.iter().map(u64::to_string).collect();
        let row = db
            .query_one(q(format!(
                "SELECT count(*) AS n FROM users WHERE user_id IN ({}) AND balance <> {balance}",
                list.join(",")
            )))
            .await?
            .context("no answer")?;
        let charged_refused: i64 = row.try_get("", "n")?;
        if charged_refused != 0 {
            problems.push(format!("{charged_refused} refused users were charged"));
        }
    }
    let pass = problems.is_empty();
    let detail = if pass {
        format!(
            "PASS: {CODES} sold, none twice ({} distinct codes delivered), {} refused out of stock and not charged, Σ balances = {expected_sum}; {:.1} s",
            distinct.len(),
            out_of_stock.len(),
            took.as_secs_f64()
        )
    } else {
        format!("FAIL: {}", problems.join("; "))
    };
    Ok(Outcome::Check { pass, detail })
}
