//! What the people outside were told, checked against what happened: every order the load was
//! told "accepted" exists (lost commits), every payment the simulator settled is credited and
//! nothing it did not settle is, every completed order's codes reached its buyer's DMs, and no
//! code reached two buyers.

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::cluster::Cluster;
use crate::load::Tally;

/// Figures and violations of the outside view.
#[derive(Debug, Clone, Default)]
pub struct OutcomeReport {
    pub accepted_orders: usize,
    /// Orders in the database whose first answer the load never saw accepted (reply lost, or a
    /// refusal followed by a redelivery that succeeded); each is still checked like the others.
    pub accepted_later: usize,
    pub settled_payments: usize,
    pub codes_dmed: usize,
    /// DMs carrying codes already sent before (a redelivery after a crash: at-least-once).
    pub duplicate_dms: usize,
    pub violations: Vec<String>,
}

impl std::fmt::Display for OutcomeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accepted orders {} (+{} accepted after an unseen answer), settled payments {}, codes DMed {} ({} repeated DMs)",
            self.accepted_orders,
            self.accepted_later,
            self.settled_payments,
            self.codes_dmed,
            self.duplicate_dms
        )?;
        if !self.violations.is_empty() {
            write!(
                f,
                "\n{} VIOLATIONS:\n  - {}",
                self.violations.len(),
                self.violations.join("\n  - ")
            )?;
        }
        Ok(())
    }
}

fn push_examples(violations: &mut Vec<String>, what: &str, examples: Vec<String>) {
    if examples.is_empty() {
        return;
    }
    let n = examples.len();
    let shown: Vec<String> = examples.into_iter().take(5).collect();
    violations.push(format!("{what} ({n}): {}", shown.join("; ")));
}

async fn query(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    db.query_all(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .with_context(|| format!("outcome query failed: {sql}"))
}

/// Compares the load's tally, the simulator and the fake Discord with the database.
pub async fn check(
    db: &DatabaseConnection,
    cluster: &Cluster,
    tally: &Tally,
) -> anyhow::Result<OutcomeReport> {
    let mut report = OutcomeReport::default();

    // ---- orders: told accepted ⇒ exists, same user, price and number -----------------------
    let mut db_orders = HashMap::new();
    for row in query(
        db,
        "SELECT id, request_id, order_number, user_id, total_price, status FROM orders",
    )
    .await?
    {
        let request_id: String = row.try_get("", "request_id")?;
        db_orders.insert(
            request_id,
            (
                row.try_get::<i64>("", "id")?,
                row.try_get::<String>("", "order_number")?,
                row.try_get::<i64>("", "user_id")?,
                row.try_get::<i64>("", "total_price")?,
                row.try_get::<String>("", "status")?,
            ),
        );
    }
    let mut lost = Vec::new();
    for (request_id, track, accepted) in tally.accepted_orders() {
        report.accepted_orders += 1;
        match db_orders.get(request_id.as_str()) {
            None => lost.push(format!("{request_id} ({})", accepted.order_number)),
            Some((_, number, user, price, _)) => {
                if *number != accepted.order_number
                    || *user as u64 != track.user
                    || *price != accepted.total_price.rupiah()
                {
                    lost.push(format!(
                        "{request_id}: told {} for Rp {}, stored {number} for Rp {price}",
                        accepted.order_number,
                        accepted.total_price.rupiah()
                    ));
                }
            }
        }
    }
    push_examples(
        &mut report.violations,
        "orders the user was told were accepted, missing or different in the database",
        lost,
    );
    let mut unknown = Vec::new();
    for request_id in db_orders.keys() {
        match tally.orders.get(request_id) {
            Some(t) if matches!(t.outcome, Some(Ok(_))) => {}
            Some(_) => report.accepted_later += 1,
            None => unknown.push(request_id.clone()),
        }
    }
    push_examples(&mut report.violations, "orders nobody asked for", unknown);

    // ---- payments: settled at Midtrans ⇔ credited ------------------------------------------
    let settled: HashSet<String> = cluster
        .sim
        .transactions()
        .iter()
        .filter(|t| t["transaction_status"] == "settlement")
        .filter_map(|t| t["order_id"].as_str().map(str::to_string))
        .collect();
    report.settled_payments = settled.len();
    let mut credited = HashSet::new();
    for row in query(
        db,
        "SELECT order_id FROM topups WHERE bot_source = 'order' AND status = 'success'",
    )
    .await?
    {
        credited.insert(row.try_get::<String>("", "order_id")?);
    }
    push_examples(
        &mut report.violations,
        "payments settled at Midtrans but not credited",
        settled.difference(&credited).cloned().collect(),
    );
    push_examples(
        &mut report.violations,
        "top-ups credited that Midtrans never settled",
        credited.difference(&settled).cloned().collect(),
    );
    let mut missing_topups = Vec::new();
    let stored: HashSet<String> = query(
        db,
        "SELECT request_id FROM topups WHERE request_id IS NOT NULL",
    )
    .await?
    .iter()
    .filter_map(|r| r.try_get::<String>("", "request_id").ok())
    .collect();
    for (request_id, t) in &tally.topups {
        if matches!(t.outcome, Some(Ok(_))) && !stored.contains(request_id) {
            missing_topups.push(request_id.clone());
        }
    }
    push_examples(
        &mut report.violations,
        "top-ups the user was shown a QR for, missing in the database",
        missing_topups,
    );

    // ---- codes: every completed order's codes in its buyer's DMs, no code to two buyers ----
    let mut owner_of_code: HashMap<String, u64> = HashMap::new();
    let mut order_codes: HashMap<i64, (u64, String, Vec<String>)> = HashMap::new();
    for row in query(
        db,
        "SELECT s.ciphertext, s.nonce, s.key_id, o.id AS order_id, o.user_id, o.order_number \
         FROM stock s JOIN orders o ON o.id = s.order_id WHERE o.status = 'completed'",
    )
    .await?
    {
        let code = cluster.open_code(
            &row.try_get::<Vec<u8>>("", "ciphertext")?,
            &row.try_get::<Vec<u8>>("", "nonce")?,
            &row.try_get::<String>("", "key_id")?,
        )?;
        let order_id: i64 = row.try_get("", "order_id")?;
        let user = row.try_get::<i64>("", "user_id")? as u64;
        owner_of_code.insert(code.clone(), user);
        order_codes
            .entry(order_id)
            .or_insert_with(|| {
                (
                    user,
                    row.try_get("", "order_number").unwrap_or_default(),
                    Vec::new(),
                )
            })
            .2
            .push(code);
    }
    let users: BTreeSet<u64> = tally
        .orders
        .values()
        .map(|t| t.user)
        .chain(order_codes.values().map(|(u, _, _)| *u))
        .collect();
    let mut dmed: HashMap<u64, HashSet<String>> = HashMap::new();
    let mut to_two = Vec::new();
    let mut seen_by: HashMap<String, u64> = HashMap::new();
    for user in &users {
        let mut mine = HashSet::new();
        for message in cluster.fake.dm_messages_to(*user) {
            let codes = e2e_tests::codes_in(&message);
            if !codes.is_empty() && codes.iter().all(|c| mine.contains(c)) {
                report.duplicate_dms += 1;
            }
            for code in codes {
                if let Some(other) = seen_by.insert(code.clone(), *user) {
                    if other != *user {
                        to_two.push(format!("a code DMed to {other} and {user}"));
                    }
                }
                mine.insert(code);
            }
        }
        report.codes_dmed += mine.len();
        dmed.insert(*user, mine);
    }
    push_examples(&mut report.violations, "codes sent to two buyers", to_two);
    let mut undelivered = Vec::new();
    for (user, number, codes) in order_codes.values() {
        let got = dmed.get(user);
        let missing = codes
            .iter()
            .filter(|c| !got.is_some_and(|g| g.contains(*c)))
            .count();
        if missing > 0 {
            undelivered.push(format!(
                "{number}: {missing} of {} codes not in the buyer's DMs",
                codes.len()
            ));
        }
    }
    push_examples(
        &mut report.violations,
        "completed orders whose codes the buyer never received",
        undelivered,
    );
    let mut foreign = Vec::new();
    for (user, codes) in &dmed {
        for code in codes {
            match owner_of_code.get(code) {
                Some(owner) if owner == user => {}
                Some(_) => foreign.push(format!("user {user} got a code of another buyer's order")),
                None => foreign.push(format!("user {user} got a code of no completed order")),
            }
        }
    }
    push_examples(
        &mut report.violations,
        "codes DMed outside a completed order of that buyer",
        foreign,
    );
    Ok(report)
}
