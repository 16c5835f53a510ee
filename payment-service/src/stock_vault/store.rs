//! Stock rows in the database: bulk upload, counts by status and the low-stock flag.
//!
//! Everything here takes a connection or transaction from the caller so it joins the caller's
//! transaction (an upload is one transaction with its batch row and audit row).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr, Value};
use shared_proto::{ProductId, RejectedLine, StockCounts};

use super::parse::parse_upload;
use super::StockVault;
use crate::persistence::stmt;

/// `app_state` key: "1" while the default product's available stock is below the threshold and
/// admins were told (the key of the one-product shop, kept).
pub const LOW_STOCK_FLAG: &str = "stock_low_alerted";

/// The `app_state` key of a product's low-stock flag.
pub fn low_stock_flag(product: ProductId) -> String {
    if product.is_default() {
        LOW_STOCK_FLAG.to_owned()
    } else {
        format!("{LOW_STOCK_FLAG}:{product}")
    }
}

/// Rows per multi-row INSERT: 5 values each stays far below SQLite's variable limit.
const INSERT_CHUNK: usize = 500;

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    pub added: u32,
    pub duplicates: u32,
    pub rejected: Vec<RejectedLine>,
}

/// Parses `text`, encrypts every well-formed code and inserts the new ones under `batch_id`, as
/// codes of `product`. Duplicates (inside the upload or already stored, under any configured
/// key, of any product) are counted, not inserted. Call inside a transaction.
pub async fn add_codes(
    txn: &impl ConnectionTrait,
    vault: &StockVault,
    batch_id: &str,
    product: ProductId,
    text: &str,
) -> Result<UploadOutcome, DbErr> {
    let parsed = parse_upload(text);
    let mut duplicates = 0u32;
    let mut seen = HashSet::with_capacity(parsed.codes.len());
    let mut fresh: Vec<(String, &str)> = Vec::with_capacity(parsed.codes.len());
    for (_, code) in &parsed.codes {
        let hash = vault.hash(code);
        if seen.insert(hash.clone()) {
            fresh.push((hash, code.as_str()));
        } else {
            duplicates += 1;
        }
    }
    if vault.has_legacy_hashes() {
        // Rows written before the stable hash key carry the hash of the key that encrypted them.
        let mut by_old_hash: HashMap<String, usize> = HashMap::new();
        for (i, (_, code)) in fresh.iter().enumerate() {
            for h in vault.legacy_hashes(code) {
                by_old_hash.insert(h, i);
            }
        }
        let old: Vec<String> = by_old_hash.keys().cloned().collect();
        let mut known = HashSet::new();
        for chunk in old.chunks(INSERT_CHUNK) {
            let placeholders = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = txn
                .query_all(stmt(
                    txn,
                    &format!("SELECT code_hash FROM stock WHERE code_hash IN ({placeholders})"),
                    chunk.iter().map(|h| Value::from(h.clone())),
                ))
                .await?;
            for row in rows {
                let h: String = row.try_get("", "code_hash")?;
                if let Some(i) = by_old_hash.get(&h) {
                    known.insert(*i);
                }
            }
        }
        duplicates += u32::try_from(known.len()).unwrap_or(u32::MAX);
        fresh = fresh
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !known.contains(i))
            .map(|(_, f)| f)
            .collect();
    }
    let mut added = 0u32;
    let now = Utc::now();
    for chunk in fresh.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO stock (ciphertext, nonce, key_id, code_hash, batch_id, created_at, product_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 7);
        for (i, (_, code)) in chunk.iter().enumerate() {
            let sealed = vault.seal(code);
            let b = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            ));
            values.push(Value::from(sealed.ciphertext));
            values.push(Value::from(sealed.nonce));
            values.push(Value::from(sealed.key_id));
            values.push(Value::from(sealed.code_hash));
            values.push(Value::from(batch_id.to_string()));
            values.push(Value::from(now));
            values.push(Value::from(product.get()));
        }
        sql.push_str(" ON CONFLICT (code_hash) DO NOTHING");
        let result = txn.execute(stmt(txn, &sql, values)).await?;
        let inserted = result.rows_affected();
        added += inserted as u32;
        // Rows skipped by ON CONFLICT were stored before (or by a concurrent upload).
        duplicates += (chunk.len() as u64).saturating_sub(inserted) as u32;
    }
    Ok(UploadOutcome {
        added,
        duplicates,
        rejected: parsed.rejected,
    })
}

/// Codes by product: by status, how many of the reserved ones are quarantined, and how many
/// are defective (products without any code are absent). One scan of `stock`.
pub async fn counts_by_product(
    db: &impl ConnectionTrait,
) -> Result<BTreeMap<i64, StockCounts>, DbErr> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT product_id, status, COUNT(*) AS n, COUNT(quarantined_at) AS q, \
             COUNT(defective_at) AS d FROM stock GROUP BY product_id, status",
            [],
        ))
        .await?;
    let mut out: BTreeMap<i64, StockCounts> = BTreeMap::new();
    for row in rows {
        let product: i64 = row.try_get("", "product_id")?;
        let status: String = row.try_get("", "status")?;
        let n = u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0);
        let c = out.entry(product).or_default();
        c.quarantined += u64::try_from(row.try_get::<i64>("", "q")?).unwrap_or(0);
        c.defective += u64::try_from(row.try_get::<i64>("", "d")?).unwrap_or(0);
        match status.as_str() {
            "available" => c.available = n,
            "reserved" => c.reserved = n,
            "sold" => c.sold = n,
            _ => {}
        }
    }
    Ok(out)
}

/// Every product's counts together.
pub fn total(by_product: &BTreeMap<i64, StockCounts>) -> StockCounts {
    by_product
        .values()
        .fold(StockCounts::default(), |mut t, c| {
            t.available += c.available;
            t.reserved += c.reserved;
            t.sold += c.sold;
            t.quarantined += c.quarantined;
            t.defective += c.defective;
            t
        })
}

/// The condition that picks quarantined codes (see `orders::create`'s quarantine).
const QUARANTINED: &str = "quarantined_at IS NOT NULL AND status = 'reserved' AND order_id IS NULL";

/// What [`release_quarantined`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Released {
    /// Stock ids put back on sale.
    pub released: Vec<i64>,
    /// Stock ids that still do not decrypt (their key is still missing or wrong).
    pub still_quarantined: Vec<i64>,
}

/// Puts every quarantined code that decrypts with the configured keys back on sale. Call
/// inside a transaction.
pub async fn release_quarantined(
    txn: &impl ConnectionTrait,
    vault: &StockVault,
) -> Result<Released, DbErr> {
    let rows = txn
        .query_all(stmt(
            txn,
            &format!(
                "SELECT id, ciphertext, nonce, key_id FROM stock WHERE {QUARANTINED} ORDER BY id"
            ),
            [],
        ))
        .await?;
    let mut out = Released::default();
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let ciphertext: Vec<u8> = row.try_get("", "ciphertext")?;
        let nonce: Vec<u8> = row.try_get("", "nonce")?;
        let key_id: String = row.try_get("", "key_id")?;
        if vault.open(&ciphertext, &nonce, &key_id).is_err() {
            out.still_quarantined.push(id);
            continue;
        }
        let r = txn
            .execute(stmt(
                txn,
                &format!(
                    "UPDATE stock SET status = 'available', reserved_at = NULL, \
                     quarantined_at = NULL WHERE id = $1 AND {QUARANTINED}"
                ),
                [id.into()],
            ))
            .await?;
        if r.rows_affected() == 1 {
            out.released.push(id);
        }
    }
    Ok(out)
}

/// Quarantines every code still on sale under `key_id` (a key declared lost); returns how many.
pub async fn quarantine_key(db: &impl ConnectionTrait, key_id: &str) -> Result<u64, DbErr> {
    let now = Utc::now();
    let r = db
        .execute(stmt(
            db,
            "UPDATE stock SET status = 'reserved', order_id = NULL, reserved_at = $1, \
             quarantined_at = $1 WHERE key_id = $2 AND status = 'available'",
            [now.into(), key_id.into()],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// Deletes every quarantined code; returns their stock ids. A later upload of the same codes
/// stores them again under the current key. Call inside a transaction.
pub async fn discard_quarantined(txn: &impl ConnectionTrait) -> Result<Vec<i64>, DbErr> {
    let rows = txn
        .query_all(stmt(
            txn,
            &format!("DELETE FROM stock WHERE {QUARANTINED} RETURNING id"),
            [],
        ))
        .await?;
    let mut ids = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Codes per key id that the vault cannot decrypt because the key is not configured, leaving
/// out quarantined codes (already off sale and visible to admins). Sorted by key id.
pub async fn codes_under_unknown_keys(
    db: &impl ConnectionTrait,
    vault: &StockVault,
) -> Result<Vec<(String, u64)>, DbErr> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT key_id, COUNT(*) AS n FROM stock WHERE quarantined_at IS NULL \
             GROUP BY key_id ORDER BY key_id",
            [],
        ))
        .await?;
    let mut missing = Vec::new();
    for row in rows {
        let key_id: String = row.try_get("", "key_id")?;
        let n: i64 = row.try_get("", "n")?;
        if !vault.knows_key(&key_id) {
            missing.push((key_id, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(missing)
}

/// Codes of every product available for sale.
pub async fn available_all(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM stock WHERE status = 'available'",
            [],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Codes of `product` available for sale.
pub async fn available(db: &impl ConnectionTrait, product: ProductId) -> Result<u64, DbErr> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM stock WHERE status = 'available' AND product_id = $1",
            [product.get().into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Where available stock stands against the low-stock threshold, read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLevel {
    /// Available codes, counted only up to the threshold: cheap on a large table, and exact
    /// whenever the answer is below the threshold (which is all the low-stock check needs).
    pub available: u64,
    /// Whether `stock.low` was already sent for the current crossing.
    pub alert_raised: bool,
}

/// Reads `product`'s [`StockLevel`]. The count walks the partial index
/// `stock_product_available_idx` in id order and stops after `threshold` live rows; without the
/// `ORDER BY` PostgreSQL may choose a bitmap scan, which visits every entry of the index
/// (reserved codes' dead ones included) first.
pub async fn stock_level(
    db: &impl ConnectionTrait,
    product: ProductId,
    threshold: u64,
) -> Result<StockLevel, DbErr> {
    let row = db
        .query_one(stmt(
            db,
            &format!("SELECT {}", stock_level_columns(1)),
            stock_level_values(product, threshold),
        ))
        .await?;
    match row {
        Some(r) => stock_level_of(&r),
        None => Ok(StockLevel {
            available: 0,
            alert_raised: false,
        }),
    }
}

/// The select-list of [`stock_level`] (columns `n` and `flag`), its three placeholders numbered
/// from `first`, for a statement that reads the level along with something else.
pub fn stock_level_columns(first: usize) -> String {
    format!(
        "(SELECT COUNT(*) FROM (SELECT 1 AS one FROM stock WHERE status = 'available' \
         AND product_id = ${} ORDER BY id LIMIT ${first}) AS t) AS n, \
         (SELECT \"value\" FROM app_state WHERE \"key\" = ${}) AS flag",
        first + 2,
        first + 1
    )
}

/// The values of [`stock_level_columns`]' placeholders.
pub fn stock_level_values(product: ProductId, threshold: u64) -> [Value; 3] {
    [
        i64::try_from(threshold).unwrap_or(i64::MAX).into(),
        low_stock_flag(product).into(),
        product.get().into(),
    ]
}

/// [`StockLevel`] from a row holding [`stock_level_columns`].
pub fn stock_level_of(row: &sea_orm::QueryResult) -> Result<StockLevel, DbErr> {
    let n: i64 = row.try_get("", "n")?;
    let flag: Option<String> = row.try_get("", "flag")?;
    Ok(StockLevel {
        available: u64::try_from(n).unwrap_or(0),
        alert_raised: flag.as_deref() == Some("1"),
    })
}

/// Records where available stock stands against the threshold. Returns true exactly once per
/// crossing below it (the caller then publishes `stock.low`); going back to the threshold or
/// above re-arms the alert. Concurrent callers serialize on the `app_state` row (the
/// conditional upsert), so only one of them sees `true`.
pub async fn note_available(
    txn: &impl ConnectionTrait,
    product: ProductId,
    level: StockLevel,
    threshold: u64,
) -> Result<bool, DbErr> {
    let flag = low_stock_flag(product);
    if level.available < threshold {
        if level.alert_raised {
            return Ok(false);
        }
        let r = txn
            .execute(stmt(
                txn,
                "INSERT INTO app_state (\"key\", \"value\") VALUES ($1, '1') \
                 ON CONFLICT (\"key\") DO UPDATE SET \"value\" = '1' WHERE app_state.\"value\" <> '1'",
                [flag.into()],
            ))
            .await?;
        Ok(r.rows_affected() == 1)
    } else {
        if level.alert_raised {
            txn.execute(stmt(
                txn,
                "UPDATE app_state SET \"value\" = '0' WHERE \"key\" = $1",
                [flag.into()],
            ))
            .await?;
        }
        Ok(false)
    }
}
