//! The stable hash key behind `stock.code_hash`.
//!
//! It is independent of the encryption keys' lifecycle: created once (for a database that
//! already holds stock, it is the legacy hash key of the `ENCRYPTION_KEY` of that moment, so the
//! rows already stored keep matching) and kept in `app_state` sealed (AES-256-GCM) under every
//! configured encryption key, one row per key id (`stock_hash_key:{key id}`). Any one configured
//! key opens it, so it survives a rotation (a new key gets its sealed copy at the first start
//! that knows both keys) and a replica that lacks the newest key still hashes exactly like the
//! others. The plain hash key never reaches the database.

use anyhow::Context;
use base64::Engine as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use super::StockVault;
use crate::persistence::stmt;

/// `app_state` key prefix of the sealed copies.
pub const STATE_PREFIX: &str = "stock_hash_key:";
/// `app_state` row every start locks while it reads and writes the sealed copies, so two
/// replicas starting together agree on one hash key.
const LOCK_KEY: &str = "stock_hash_key.lock";

/// Returns `vault` with the stable hash key, creating and sealing it on first use, and stores a
/// sealed copy under every configured key that has none yet. Fails (refusing to start) when
/// copies exist but none opens with the configured keys, unless the stock is empty or every
/// copy is under a key declared lost (`lost_key_ids`): then a new hash key replaces it.
pub async fn load_or_create(
    db: &DatabaseConnection,
    vault: StockVault,
    lost_key_ids: &[String],
) -> anyhow::Result<StockVault> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let txn = db
        .begin()
        .await
        .context("starting the hash key transaction")?;
    // A write first: on PostgreSQL it locks the row until commit, on SQLite it takes the write
    // lock, so concurrent starts run this one after the other.
    txn.execute(stmt(
        &txn,
        "INSERT INTO app_state (\"key\", \"value\") VALUES ($1, '1') \
         ON CONFLICT (\"key\") DO UPDATE SET \"value\" = '1'",
        [LOCK_KEY.into()],
    ))
    .await
    .context("locking the stock hash key")?;
    let rows = txn
        .query_all(stmt(
            &txn,
            "SELECT \"key\" AS k, \"value\" AS v FROM app_state WHERE \"key\" LIKE $1 ORDER BY \"key\"",
            [format!("{STATE_PREFIX}%").into()],
        ))
        .await
        .context("reading the stock hash key")?;
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get("", "k")?;
        let value: String = row.try_get("", "v")?;
        if let Some(key_id) = key.strip_prefix(STATE_PREFIX) {
            stored.push((key_id.to_string(), value));
        }
    }
    let vault = if stored.is_empty() {
        // First start with a stable hash key: keep the current key's legacy one.
        vault
    } else {
        let opened = stored.iter().find_map(|(key_id, value)| {
            let blob = b64.decode(value).ok()?;
            vault.unwrap_hash_key(key_id, &blob).ok()
        });
        match opened {
            Some(hash_key) => vault.with_hash_key(hash_key),
            None if stored.iter().all(|(id, _)| lost_key_ids.contains(id))
                || stock_is_empty(&txn).await? =>
            {
                // Nothing can be hashed with the old hash key any more (its keys are lost) or
                // nothing was: start afresh under the keys now configured. Codes stored under
                // the lost keys are no longer recognised by a re-upload (they are quarantined
                // or sold; discard the quarantined ones before uploading them again).
                tracing::warn!(
                    "no sealed copy of the stock hash key opens with the configured keys and \
                     its keys are declared lost or the stock is empty; starting a new hash key"
                );
                txn.execute(stmt(
                    &txn,
                    "DELETE FROM app_state WHERE \"key\" LIKE $1",
                    [format!("{STATE_PREFIX}%").into()],
                ))
                .await
                .context("replacing the stock hash key")?;
                vault
            }
            None => {
                let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
                anyhow::bail!(
                    "the stock hash key is stored sealed under key ids {ids:?} and none of them \
                     opens with the configured ENCRYPTION_KEY / PREVIOUS_ENCRYPTION_KEYS \
                     (configured: {:?}); add one of those keys to PREVIOUS_ENCRYPTION_KEYS",
                    vault.key_ids()
                );
            }
        }
    };
    for (key_id, blob) in vault.wrap_hash_key() {
        txn.execute(stmt(
            &txn,
            "INSERT INTO app_state (\"key\", \"value\") VALUES ($1, $2) \
             ON CONFLICT (\"key\") DO NOTHING",
            [
                format!("{STATE_PREFIX}{key_id}").into(),
                b64.encode(blob).into(),
            ],
        ))
        .await
        .context("storing a sealed copy of the stock hash key")?;
    }
    txn.commit()
        .await
        .context("committing the stock hash key")?;
    Ok(vault)
}

async fn stock_is_empty(db: &impl ConnectionTrait) -> anyhow::Result<bool> {
    let row = db
        .query_one(stmt(db, "SELECT COUNT(*) AS n FROM stock", []))
        .await
        .context("counting stock")?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n == 0)
}
