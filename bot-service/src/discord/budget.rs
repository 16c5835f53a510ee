//! The bot token's global rate limit, shared by every replica, and the DM channels already
//! opened.
//!
//! Discord allows 50 requests/s per bot token across every process using it (interaction
//! callbacks and webhook calls through an interaction token excepted). serenity's limiter, in
//! production, only waits *after* Discord answered a global 429, and every such 429 counts toward
//! the invalid-request ban; without it (`DISCORD_API_BASE_URL`) nothing waits at all. So every
//! request the bot makes on a global route first takes a token from a [`GlobalBudget`].
//!
//! **How replicas share it, without a new server.** Every bot replica consumes the
//! `bot.deliveries` queue, so RabbitMQ's consumer count of that queue is the number of live
//! replicas. Each replica samples it (a passive queue declare, every
//! [`REPLICA_PROBE_EVERY`]) and keeps a fair share, `DISCORD_GLOBAL_RATE ÷ replicas` per second,
//! as a local `governor` GCRA limiter with a small burst. The shares add up to the budget; a
//! replica that dies stops consuming, and the others take its share at the next sample. A
//! replica that starts counts itself at once; the others notice it within one probe period,
//! during which the sum may exceed the budget by one share for up to 2 s — the 10% headroom of
//! the default budget (45 of Discord's 50/s) and the burst Discord tolerates cover it.
//!
//! **Order.** Waiting requests are served first come, first served (a fair mutex in front of the
//! limiter), and a delivery takes the tokens for all its requests at once, so the first paid
//! order (the first `delivery.requested` consumed) is the first delivered instead of every
//! delivery's first request going before anyone's second.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// How often a replica counts the live replicas.
pub const REPLICA_PROBE_EVERY: Duration = Duration::from_secs(2);
/// Discord's global limit is 50/s; by default the replicas together use 45/s of it.
pub const DEFAULT_GLOBAL_RATE: u32 = 45;
/// Requests a replica may send back to back: one delivery (open the DM channel, send).
const BURST: u32 = 2;

/// This process's share of the bot token's global budget (see the module documentation).
pub struct GlobalBudget {
    total_per_second: u32,
    share: RwLock<Share>,
    /// tokio's mutex queues its waiters in order: first to ask, first served.
    gate: tokio::sync::Mutex<()>,
}

struct Share {
    replicas: u32,
    per_second: u32,
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl Share {
    fn new(total_per_second: u32, replicas: u32) -> Share {
        let replicas = replicas.max(1);
        let per_second = (total_per_second / replicas).max(1);
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(BURST.min(per_second).max(1)).unwrap_or(NonZeroU32::MIN);
        Share {
            replicas,
            per_second,
            limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(rate).allow_burst(burst),
            )),
        }
    }
}

impl GlobalBudget {
    /// A budget of `total_per_second` for the whole bot, held alone until replicas are counted.
    pub fn new(total_per_second: u32) -> Self {
        let total_per_second = total_per_second.max(1);
        GlobalBudget {
            total_per_second,
            share: RwLock::new(Share::new(total_per_second, 1)),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    /// The budget of the whole bot (every replica together), requests per second.
    pub fn total_per_second(&self) -> u32 {
        self.total_per_second
    }

    /// This replica's share, requests per second.
    pub fn per_second(&self) -> u32 {
        self.read().per_second
    }

    /// How many replicas the share was computed for.
    pub fn replicas(&self) -> u32 {
        self.read().replicas
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Share> {
        self.share.read().unwrap_or_else(|p| p.into_inner())
    }

    /// `replicas` processes use the token now: take 1/`replicas` of the budget. Returns whether
    /// the share changed.
    pub fn set_replicas(&self, replicas: u32) -> bool {
        let replicas = replicas.max(1);
        if self.read().replicas == replicas {
            return false;
        }
        let mut share = self.share.write().unwrap_or_else(|p| p.into_inner());
        if share.replicas == replicas {
            return false;
        }
        *share = Share::new(self.total_per_second, replicas);
        tracing::info!(
            replicas,
            per_second = share.per_second,
            total_per_second = self.total_per_second,
            "share of Discord's global rate limit"
        );
        true
    }

    /// Waits, in turn, until `requests` requests may be sent now.
    pub async fn acquire(&self, requests: u32) {
        let _turn = self.gate.lock().await;
        let mut left = requests.max(1);
        while left > 0 {
            // The share may change while waiting: always wait on the current limiter.
            let limiter = self.read().limiter.clone();
            let n = left.min(BURST.min(self.per_second()).max(1));
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            match limiter.until_n_ready(n).await {
                Ok(()) => left -= n.get(),
                // Cannot happen (n ≤ burst); never spin.
                Err(_) => {
                    limiter.until_ready().await;
                    left -= 1;
                }
            }
        }
    }
}

/// The DM channel of each user the bot has written to, so a repeat buyer costs one request
/// (send) instead of two (open the channel, send). Bounded; the oldest entries go first.
///
/// Per replica: a user's deliveries may land on any replica, so a repeat buyer costs the
/// channel lookup once per replica that serves them (at most one extra request each), which is
/// not worth a shared store. Discord returns the same channel for the same user every time, so
/// an entry never goes stale unless Discord forgets the channel (then it is dropped on error).
pub struct DmChannels {
    capacity: usize,
    inner: Mutex<(HashMap<u64, u64>, VecDeque<u64>)>,
}

impl DmChannels {
    pub fn new(capacity: usize) -> Self {
        DmChannels {
            capacity: capacity.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub fn get(&self, user_id: u64) -> Option<u64> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.get(&user_id).copied()
    }

    pub fn remember(&self, user_id: u64, channel_id: u64) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0.insert(user_id, channel_id).is_none() {
            guard.1.push_back(user_id);
        }
        while guard.1.len() > self.capacity {
            if let Some(old) = guard.1.pop_front() {
                guard.0.remove(&old);
            }
        }
    }

    pub fn forget(&self, user_id: u64) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0.remove(&user_id).is_some() {
            guard.1.retain(|u| *u != user_id);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_share_is_the_budget_divided_by_the_replicas() {
        let budget = GlobalBudget::new(45);
        assert_eq!(budget.per_second(), 45);
        assert!(budget.set_replicas(2));
        assert_eq!(budget.per_second(), 22);
        assert!(!budget.set_replicas(2), "unchanged");
        assert!(budget.set_replicas(0), "no consumer seen yet: alone");
        assert_eq!((budget.replicas(), budget.per_second()), (1, 45));
        budget.set_replicas(100);
        assert_eq!(budget.per_second(), 1, "never zero");
    }

    #[tokio::test]
    async fn requests_are_spaced_at_the_share() {
        let budget = GlobalBudget::new(20);
        budget.set_replicas(2); // 10/s: one every 100 ms after a burst of 2
        let start = Instant::now();
        for _ in 0..6 {
            budget.acquire(1).await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(took < Duration::from_millis(800), "{took:?}");
    }

    #[tokio::test]
    async fn waiters_are_served_in_the_order_they_came() {
        let budget = Arc::new(GlobalBudget::new(20));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..6u32 {
            let (budget, order) = (budget.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                budget.acquire(2).await;
                order.lock().unwrap().push(i);
            }));
            // Let each one reach the gate before the next.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn dm_channels_are_bounded_and_forgettable() {
        let dms = DmChannels::new(2);
        dms.remember(1, 10);
        dms.remember(2, 20);
        dms.remember(1, 10);
        assert_eq!(dms.len(), 2);
        dms.remember(3, 30);
        assert_eq!(dms.get(1), None, "oldest evicted");
        assert_eq!(dms.get(3), Some(30));
        dms.forget(3);
        assert_eq!(dms.get(3), None);
        assert_eq!(dms.len(), 1);
    }
}
