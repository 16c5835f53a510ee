//! Encrypted stock: every redeem code is stored AES-256-GCM encrypted (random 96-bit nonce,
//! key id beside it) and found again for duplicate checks through a keyed hash, never a plain
//! one (a plain SHA-256 of a short code is a dictionary lookup away from the code).
//!
//! Keys: `ENCRYPTION_KEY` encrypts; `PREVIOUS_ENCRYPTION_KEYS` still decrypt during a rotation.
//!
//! The hash key is *one* stable key, independent of which key encrypted a row (see
//! [`hash_key`]): a code is a duplicate whatever key it was stored under, even while that key is
//! missing from this replica (a half-finished rotation, a replica started with the old
//! settings), so a re-upload of the supplier's file never stores a second copy. Rows written
//! before the stable key existed carry a hash under the key that encrypted them
//! (`HMAC-SHA256(key, "redfinger-stock-code-hash-v1")`, the "legacy" hash); duplicate checks
//! also look for those under every configured key, and [`rotation::rotate`] moves them to the
//! stable hash.
//!
//! At start-up [`open`] refuses to run when `stock` holds codes under a key id that is not
//! configured, naming the key ids and how many codes each holds.
//!
//! This module must never log a code or put one in an error.

pub mod hash_key;
pub mod parse;
pub mod rotation;
pub mod store;

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::PaymentConfig;

type HmacSha256 = Hmac<Sha256>;

/// Bound into every ciphertext so a blob from another purpose never authenticates as a code.
const AAD: &[u8] = b"redfinger-stock-v1";
const HASH_KEY_LABEL: &[u8] = b"redfinger-stock-code-hash-v1";
/// Bound into the sealed copies of the stable hash key.
const HASH_KEY_WRAP_AAD: &[u8] = b"redfinger-stock-hash-key-wrap-v1";

/// One encrypted code as stored in `stock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCode {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
    /// Hex HMAC-SHA256 of the code under the hash key of `key_id`.
    pub code_hash: String,
}

/// Why a stored code could not be read back. Never contains the code or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("stock code was encrypted with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("stock code failed authentication (tampered or wrong key)")]
    Authentication,
    #[error("stock code has a malformed nonce")]
    MalformedNonce,
    #[error("stock code decrypted to something that is not UTF-8")]
    NotUtf8,
}

struct VaultKey {
    id: String,
    cipher: Aes256Gcm,
    hash_key: [u8; 32],
}

impl VaultKey {
    fn new(id: &str, key: &[u8; 32]) -> Self {
        VaultKey {
            id: id.to_string(),
            cipher: Aes256Gcm::new(key.into()),
            hash_key: derive_hash_key(key),
        }
    }

    fn hash(&self, code: &str) -> String {
        keyed_hash(&self.hash_key, code)
    }
}

fn derive_hash_key(key: &[u8; 32]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(HASH_KEY_LABEL);
    mac.finalize().into_bytes().into()
}

fn keyed_hash(hash_key: &[u8; 32], code: &str) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(hash_key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Encrypts, decrypts and hashes codes. Cheap to clone.
#[derive(Clone)]
pub struct StockVault {
    /// `keys[0]` is the current key; the rest only decrypt.
    keys: Arc<Vec<VaultKey>>,
    /// The stable hash key every new `code_hash` is computed with.
    hash_key: [u8; 32],
}

impl std::fmt::Debug for StockVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "StockVault {{ key_ids: {ids:?} }}")
    }
}

impl StockVault {
    pub fn from_config(c: &PaymentConfig) -> Self {
        let mut keys = vec![VaultKey::new(
            &c.encryption_key.id,
            c.encryption_key.bytes(),
        )];
        for k in &c.previous_encryption_keys {
            if keys.iter().all(|known| known.id != k.id) {
                keys.push(VaultKey::new(&k.id, k.bytes()));
            }
        }
        Self::over(keys)
    }

    /// A vault over raw keys, current first (tests and tools).
    pub fn from_keys(keys: &[(&str, [u8; 32])]) -> Self {
        Self::over(keys.iter().map(|(id, k)| VaultKey::new(id, k)).collect())
    }

    /// Until [`hash_key::load_or_create`] says otherwise, the hash key is the current key's
    /// legacy one (what every row written before the stable key existed carries).
    fn over(keys: Vec<VaultKey>) -> Self {
        let hash_key = keys.first().map(|k| k.hash_key).unwrap_or_default();
        StockVault {
            keys: Arc::new(keys),
            hash_key,
        }
    }

    /// This vault with `hash_key` as the stable hash key.
    pub fn with_hash_key(mut self, hash_key: [u8; 32]) -> Self {
        self.hash_key = hash_key;
        self
    }

    /// Whether `key_id` is configured (current or previous).
    pub fn knows_key(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id)
    }

    /// The configured key ids, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    fn current(&self) -> &VaultKey {
        // `from_config` always puts the current key first; `from_keys` callers pass at least one.
        &self.keys[0]
    }

    pub fn current_key_id(&self) -> &str {
        &self.current().id
    }

    /// True when more than one key is configured (a rotation may be under way).
    pub fn has_previous_keys(&self) -> bool {
        self.keys.len() > 1
    }

    /// Encrypts `code` under the current key with a fresh random nonce.
    pub fn seal(&self, code: &str) -> SealedCode {
        let key = self.current();
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: code.as_bytes(),
                    aad: AAD,
                },
            )
            // AES-GCM encryption fails only for plaintexts beyond 64 GiB.
            .unwrap_or_default();
        SealedCode {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: key.id.clone(),
            code_hash: self.hash(code),
        }
    }

    /// Decrypts a stored code; any tampering (ciphertext, nonce or key id) is an error.
    pub fn open(
        &self,
        ciphertext: &[u8],
        nonce: &[u8],
        key_id: &str,
    ) -> Result<String, VaultError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))?;
        if nonce.len() != 12 {
            return Err(VaultError::MalformedNonce);
        }
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| VaultError::Authentication)?;
        String::from_utf8(plain).map_err(|_| VaultError::NotUtf8)
    }

    /// The hash of `code` under the stable hash key (what a new row stores).
    pub fn hash(&self, code: &str) -> String {
        keyed_hash(&self.hash_key, code)
    }

    /// Whether rows may carry a hash other than [`Self::hash`]: a configured key's legacy hash
    /// differs from the stable one.
    pub fn has_legacy_hashes(&self) -> bool {
        self.keys.iter().any(|k| k.hash_key != self.hash_key)
    }

    /// The legacy hashes of `code` (under each configured key's own hash key) that differ from
    /// [`Self::hash`]: what rows written before the stable hash key may carry.
    pub fn legacy_hashes(&self, code: &str) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| k.hash_key != self.hash_key)
            .map(|k| k.hash(code))
            .collect()
    }

    /// The stable hash key sealed under every configured key: `(key id, blob)`.
    pub(crate) fn wrap_hash_key(&self) -> Vec<(String, Vec<u8>)> {
        self.keys
            .iter()
            .map(|k| {
                let mut nonce = [0u8; 12];
                rand::thread_rng().fill_bytes(&mut nonce);
                let sealed = k
                    .cipher
                    .encrypt(
                        Nonce::from_slice(&nonce),
                        Payload {
                            msg: &self.hash_key,
                            aad: HASH_KEY_WRAP_AAD,
                        },
                    )
                    .unwrap_or_default();
                let mut blob = nonce.to_vec();
                blob.extend(sealed);
                (k.id.clone(), blob)
            })
            .collect()
    }

    /// Opens a hash key sealed by [`Self::wrap_hash_key`] under `key_id`.
    pub(crate) fn unwrap_hash_key(
        &self,
        key_id: &str,
        blob: &[u8],
    ) -> Result<[u8; 32], VaultError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))?;
        if blob.len() < 12 {
            return Err(VaultError::MalformedNonce);
        }
        let (nonce, sealed) = blob.split_at(12);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: HASH_KEY_WRAP_AAD,
                },
            )
            .map_err(|_| VaultError::Authentication)?;
        plain
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Authentication)
    }
}

/// The vault of a running service: the configured keys and the stable hash key. Refuses (an
/// error naming the key ids and how many codes each holds, never a code) when `stock` holds
/// codes under a key id that is not configured: those codes could be neither sold nor told
/// apart from a re-upload, and silently quarantining them would take stock off sale unseen.
/// Codes already quarantined do not count (admins see and handle them); nor do the key ids an
/// operator declared lost (`LOST_ENCRYPTION_KEY_IDS`), whose codes still on sale are quarantined
/// here instead.
pub async fn open(
    db: &sea_orm::DatabaseConnection,
    config: &PaymentConfig,
) -> anyhow::Result<StockVault> {
    let vault = StockVault::from_config(config);
    let mut missing = store::codes_under_unknown_keys(db, &vault)
        .await
        .map_err(anyhow::Error::from)
        .map_err(|e| e.context("counting stock codes by key id"))?;
    let lost = &config.lost_encryption_key_ids;
    for (key_id, codes) in missing.iter().filter(|(id, _)| lost.contains(id)) {
        let quarantined = store::quarantine_key(db, key_id)
            .await
            .map_err(anyhow::Error::from)
            .map_err(|e| e.context("quarantining codes under a lost key"))?;
        tracing::warn!(
            key_id,
            codes,
            quarantined,
            "key declared lost (LOST_ENCRYPTION_KEY_IDS): its codes on sale are quarantined"
        );
    }
    missing.retain(|(id, _)| !lost.contains(id));
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|(id, n)| format!("{id} ({n} codes)"))
            .collect::<Vec<_>>()
            .join(", ");
        anyhow::bail!(
            "stock holds codes encrypted with key ids that are not configured: {list}; \
             configured are {:?}. Put the missing keys in PREVIOUS_ENCRYPTION_KEYS (or \
             ENCRYPTION_KEY) and start again; only for a key lost for good, list its id in \
             LOST_ENCRYPTION_KEY_IDS to start with its codes quarantined",
            vault.key_ids()
        );
    }
    hash_key::load_or_create(db, vault, lost).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vault() -> StockVault {
        StockVault::from_keys(&[("k2", [2u8; 32]), ("k1", [1u8; 32])])
    }

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let v = vault();
        let a = v.seal("RF-ABC123");
        let b = v.seal("RF-ABC123");
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(a.code_hash, b.code_hash);
        assert_eq!(a.key_id, "k2");
        assert_eq!(
            v.open(&a.ciphertext, &a.nonce, &a.key_id).unwrap(),
            "RF-ABC123"
        );
        assert!(!a.code_hash.contains("ABC123"));
    }

    #[test]
    fn tampering_is_detected() {
        let v = vault();
        let s = v.seal("CODE-1");
        let mut ct = s.ciphertext.clone();
        ct[0] ^= 1;
        assert_eq!(
            v.open(&ct, &s.nonce, &s.key_id),
            Err(VaultError::Authentication)
        );
        let mut nonce = s.nonce.clone();
        nonce[3] ^= 0x80;
        assert_eq!(
            v.open(&s.ciphertext, &nonce, &s.key_id),
            Err(VaultError::Authentication)
        );
        // The right bytes under the other configured key do not authenticate either.
        assert_eq!(
            v.open(&s.ciphertext, &s.nonce, "k1"),
            Err(VaultError::Authentication)
        );
        assert_eq!(
            v.open(&s.ciphertext, &s.nonce, "zz"),
            Err(VaultError::UnknownKey("zz".into()))
        );
        assert_eq!(
            v.open(&s.ciphertext, &[0; 5], &s.key_id),
            Err(VaultError::MalformedNonce)
        );
    }

    #[test]
    fn previous_keys_still_decrypt_and_legacy_hashes_are_found() {
        let old = StockVault::from_keys(&[("k1", [1u8; 32])]);
        let s = old.seal("X1");
        let v = vault();
        assert_eq!(v.open(&s.ciphertext, &s.nonce, "k1").unwrap(), "X1");
        assert_eq!(v.legacy_hashes("X1"), vec![s.code_hash.clone()]);
        assert_ne!(v.hash("X1"), s.code_hash);
    }

    #[test]
    fn the_stable_hash_key_hashes_alike_whatever_key_encrypts() {
        let stable = [9u8; 32];
        let old = StockVault::from_keys(&[("k1", [1u8; 32])]).with_hash_key(stable);
        let new = vault().with_hash_key(stable);
        let a = old.seal("SAME-CODE");
        let b = new.seal("SAME-CODE");
        assert_ne!(a.key_id, b.key_id);
        assert_eq!(a.code_hash, b.code_hash);
        // Wrapped under one key, opened by a vault that has only that key.
        let wraps = new.wrap_hash_key();
        assert_eq!(wraps.len(), 2);
        let (id, blob) = wraps.iter().find(|(id, _)| id == "k1").unwrap();
        assert_eq!(old.unwrap_hash_key(id, blob), Ok(stable));
        let mut bad = blob.clone();
        bad[20] ^= 1;
        assert_eq!(
            old.unwrap_hash_key(id, &bad),
            Err(VaultError::Authentication)
        );
        assert!(old.unwrap_hash_key("k2", blob).is_err());
    }

    proptest! {
        #[test]
        fn any_code_round_trips(code in "\\PC{0,80}") {
            let v = vault();
            let s = v.seal(&code);
            prop_assert_eq!(v.open(&s.ciphertext, &s.nonce, &s.key_id).unwrap(), code);
        }

        #[test]
        fn any_single_bit_flip_fails(code in "[A-Z0-9]{1,32}", bit in 0usize..8, pos in 0usize..48) {
            let v = vault();
            let s = v.seal(&code);
            let mut ct = s.ciphertext.clone();
            let i = pos % ct.len();
            ct[i] ^= 1 << bit;
            prop_assert!(v.open(&ct, &s.nonce, &s.key_id).is_err());
        }
    }
}
