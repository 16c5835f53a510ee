//! `Idempotency-Key` replay: the same key within the retention period gets the same answer.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Midtrans accepts keys of up to 36 characters (a UUID).
pub const MAX_KEY_LEN: usize = 36;

#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub http_status: u16,
    pub body: Value,
}

pub struct IdempotencyCache {
    ttl: Duration,
    answers: Mutex<HashMap<String, (Instant, StoredAnswer)>>,
}

impl IdempotencyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// Locks the cache. The charge handler holds this guard while it creates the transaction,
    /// so two concurrent requests with one key cannot both create one.
    pub fn lock(&self) -> IdempotencyGuard<'_> {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ttl = self.ttl;
        answers.retain(|_, (stored_at, _)| stored_at.elapsed() < ttl);
        IdempotencyGuard { answers }
    }
}

pub struct IdempotencyGuard<'a> {
    answers: MutexGuard<'a, HashMap<String, (Instant, StoredAnswer)>>,
}

impl IdempotencyGuard<'_> {
    pub fn get(&self, key: &str) -> Option<StoredAnswer> {
        self.answers.get(key).map(|(_, answer)| answer.clone())
    }

    pub fn put(&mut self, key: String, answer: StoredAnswer) {
        self.answers.insert(key, (Instant::now(), answer));
    }
}
