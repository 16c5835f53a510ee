//! `Idempotency-Key` as Midtrans applies it: only **successful** answers are kept, for the
//! retention period (5 minutes), and a retry that arrives while the first request is still being
//! processed answers HTTP 202 until that one finishes. Failed answers are not kept, so the same
//! request is processed again (a reused order id then gets 406).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Midtrans's API reference allows keys of up to 46 characters and ignores longer ones (the
/// request is then processed without idempotency). midtrans-go advises ≤ 36 (a UUID).
pub const MAX_KEY_LEN: usize = 46;

/// The key a request's `Idempotency-Key` header gives, or `None` when it has none, an empty
/// one, or one longer than [`MAX_KEY_LEN`] (ignored, like Midtrans).
pub fn usable_key(header: Option<&str>) -> Option<String> {
    header
        .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_LEN)
        .map(str::to_owned)
}

#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub http_status: u16,
    pub body: Value,
}

enum Entry {
    /// The first request with this key is still being processed.
    InProgress,
    Done {
        stored_at: Instant,
        answer: StoredAnswer,
    },
}

/// What a request with a key should do.
pub enum Begin {
    /// A successful answer is kept: answer it again.
    Replay(StoredAnswer),
    /// Another request with this key is being processed: answer 202.
    InProgress,
    /// Process it; then call [`IdempotencyCache::finish`].
    Process,
}

pub struct IdempotencyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl IdempotencyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Looks `key` up at `now` (the simulator's clock) and, when nothing is kept for it, marks
    /// it in progress.
    pub fn begin(&self, key: &str, now: Instant) -> Begin {
        let ttl = self.ttl;
        let mut entries = self.lock();
        entries.retain(|_, entry| match entry {
            Entry::InProgress => true,
            Entry::Done { stored_at, .. } => now.saturating_duration_since(*stored_at) < ttl,
        });
        match entries.get(key) {
            Some(Entry::Done { answer, .. }) => Begin::Replay(answer.clone()),
            Some(Entry::InProgress) => Begin::InProgress,
            None => {
                entries.insert(key.to_owned(), Entry::InProgress);
                Begin::Process
            }
        }
    }

    /// Ends the processing of `key`: keeps `answer` when it is a success, forgets the key
    /// otherwise.
    pub fn finish(&self, key: &str, answer: &StoredAnswer, now: Instant) {
        let mut entries = self.lock();
        if is_success(answer) {
            entries.insert(
                key.to_owned(),
                Entry::Done {
                    stored_at: now,
                    answer: answer.clone(),
                },
            );
        } else {
            entries.remove(key);
        }
    }
}

/// HTTP 200 with a 2xx `status_code` in the body (Midtrans reports errors such as 406 in an
/// HTTP 200; an HTTP 202 "still processing" is not an answer at all).
fn is_success(answer: &StoredAnswer) -> bool {
    let body_code = answer
        .body
        .get("status_code")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(answer.http_status);
    answer.http_status == 200 && (200..300).contains(&body_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_longer_than_46_are_ignored() {
        assert_eq!(usable_key(Some(&"k".repeat(46))), Some("k".repeat(46)));
        assert_eq!(usable_key(Some(&"k".repeat(47))), None);
        assert_eq!(usable_key(Some("")), None);
    }

    #[test]
    fn only_successes_are_kept_and_only_for_the_ttl() {
        let cache = IdempotencyCache::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert!(matches!(cache.begin("a", t0), Begin::Process));
        assert!(matches!(cache.begin("a", t0), Begin::InProgress));
        let refused = StoredAnswer {
            http_status: 200,
            body: json!({"status_code": "406"}),
        };
        cache.finish("a", &refused, t0);
        assert!(matches!(cache.begin("a", t0), Begin::Process));
        let still_processing = StoredAnswer {
            http_status: 202,
            body: json!({"status_code": "202"}),
        };
        cache.finish("a", &still_processing, t0);
        assert!(matches!(cache.begin("a", t0), Begin::Process));
        let created = StoredAnswer {
            http_status: 200,
            body: json!({"status_code": "201"}),
        };
        cache.finish("a", &created, t0);
        assert!(matches!(
            cache.begin("a", t0 + Duration::from_secs(299)),
            Begin::Replay(_)
        ));
        assert!(matches!(
            cache.begin("a", t0 + Duration::from_secs(300)),
            Begin::Process
        ));
    }
}
