//! Re-encrypting stock under the current key, online: small batches, each its own short
//! transaction, so orders keep flowing while it runs. Run it after putting the new key in
//! `ENCRYPTION_KEY` and the old one in `PREVIOUS_ENCRYPTION_KEYS`; when it reports nothing
//! left and no failures, the old key can be removed.

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};

use super::StockVault;
use crate::persistence::stmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Rows now under the current key.
    pub rotated: u64,
    /// Rows that could not be decrypted (unknown key or failed authentication); left untouched
    /// and reported by id in the log, never by content.
    pub failed: u64,
}

/// Re-encrypts (and re-hashes) every stock row not under the current key, `batch_size` rows per
/// transaction.
pub async fn rotate(
    db: &DatabaseConnection,
    vault: &StockVault,
    batch_size: u32,
) -> anyhow::Result<RotationReport> {
    let batch_size = i64::from(batch_size.max(1));
    let current = vault.current_key_id().to_string();
    let mut report = RotationReport::default();
    let mut after_id = 0i64;
    loop {
        let txn = db.begin().await?;
        let rows = txn
            .query_all(stmt(
                &txn,
                "SELECT id, ciphertext, nonce, key_id FROM stock \
                 WHERE key_id <> $1 AND id > $2 ORDER BY id LIMIT $3",
                [current.clone().into(), after_id.into(), batch_size.into()],
            ))
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(report);
        }
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            after_id = id;
            let ciphertext: Vec<u8> = row.try_get("", "ciphertext")?;
            let nonce: Vec<u8> = row.try_get("", "nonce")?;
            let key_id: String = row.try_get("", "key_id")?;
            let code = match vault.open(&ciphertext, &nonce, &key_id) {
                Ok(code) => code,
                Err(error) => {
                    tracing::error!(stock_id = id, %error, "cannot re-encrypt stock row");
                    report.failed += 1;
                    continue;
                }
            };
            let sealed = vault.seal(&code);
            // Guarded by the old key id: a concurrent rotation of the same row wins once.
            let r = txn
                .execute(stmt(
                    &txn,
                    "UPDATE stock SET ciphertext = $1, nonce = $2, key_id = $3, code_hash = $4 \
                     WHERE id = $5 AND key_id = $6",
                    [
                        Value::from(sealed.ciphertext),
                        Value::from(sealed.nonce),
                        Value::from(sealed.key_id),
                        Value::from(sealed.code_hash),
                        id.into(),
                        key_id.into(),
                    ],
                ))
                .await?;
            report.rotated += r.rows_affected();
        }
        txn.commit().await?;
        tracing::info!(
            rotated = report.rotated,
            failed = report.failed,
            "stock key rotation progress"
        );
    }
}
