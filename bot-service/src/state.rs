//! What every handler shares: settings, the Discord REST client, the payment-service client,
//! metrics and the small amount of in-process memory the bot keeps.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serenity::http::Http;
use shared_proto::DeliveryConfirmed;

use crate::config::Settings;
use crate::discord::budget::{DmChannels, GlobalBudget};
use crate::discord::outbound::Rest;
use crate::domain::admin::AdminAccess;
use crate::metrics::Metrics;
use crate::payment_client::PaymentClient;

pub struct AppState {
    pub settings: Settings,
    /// The shop guild(s) and the admin role resolved in each at start.
    pub admin_access: AdminAccess,
    pub http: Arc<Http>,
    pub payments: PaymentClient,
    pub metrics: Metrics,
    /// True while this replica's gateway session is connected (always false without gateway).
    pub gateway_connected: AtomicBool,
    /// Deliveries this process completed recently, so a redelivered `delivery.requested` is
    /// confirmed again instead of DMing the same codes twice.
    pub recent_deliveries: RecentDeliveries,
    /// `PUBLIC_CHANNEL_ID` if the start-up check found the bot may open private threads there;
    /// `None` when unset or unusable (deliveries then use the channel the user clicked in).
    pub thread_channel: Option<u64>,
    /// Where report threads open: `SUPPORT_CHANNEL_ID` if the start-up check found it usable,
    /// else [`Self::thread_channel`]; `None`: reports are recorded without a thread.
    pub support_channel: Option<u64>,
    /// This replica's share of the bot token's global rate limit (see `discord::budget`).
    pub budget: Arc<GlobalBudget>,
    /// DM channels already opened, so a repeat recipient costs one request.
    pub dm_channels: DmChannels,
}

impl AppState {
    /// The REST client for requests on the token's global limit.
    pub fn rest(&self) -> Rest<'_> {
        Rest {
            http: &self.http,
            budget: &self.budget,
            dm_channels: &self.dm_channels,
        }
    }

    pub fn gateway_connected(&self) -> bool {
        self.gateway_connected.load(Ordering::Relaxed)
    }
}

type DeliveryKey = (String, u32);
/// Confirmations by key, and keys oldest first (for eviction).
type DeliveryMemory = (
    HashMap<DeliveryKey, DeliveryConfirmed>,
    VecDeque<DeliveryKey>,
);

/// A bounded memory of (order number, attempt) → confirmation. Never holds codes.
pub struct RecentDeliveries {
    capacity: usize,
    // A std mutex is fine: it is never held across an await.
    inner: Mutex<DeliveryMemory>,
}

impl RecentDeliveries {
    pub fn new(capacity: usize) -> Self {
        RecentDeliveries {
            capacity: capacity.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub fn get(&self, order_number: &str, attempt: u32) -> Option<DeliveryConfirmed> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.get(&(order_number.to_string(), attempt)).cloned()
    }

    pub fn remember(&self, confirmed: DeliveryConfirmed) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = (confirmed.order_number.clone(), confirmed.attempt);
        if guard.0.insert(key.clone(), confirmed).is_none() {
            guard.1.push_back(key);
        }
        while guard.1.len() > self.capacity {
            if let Some(old) = guard.1.pop_front() {
                guard.0.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::DeliveryMethod;

    fn c(n: &str, a: u32) -> DeliveryConfirmed {
        DeliveryConfirmed {
            order_number: n.into(),
            attempt: a,
            method: DeliveryMethod::Dm,
            message_id: None,
        }
    }

    #[test]
    fn remembers_a_bounded_number_of_deliveries() {
        let r = RecentDeliveries::new(2);
        r.remember(c("A", 1));
        r.remember(c("B", 1));
        assert!(r.get("A", 1).is_some());
        assert!(r.get("A", 2).is_none());
        r.remember(c("C", 1));
        assert!(r.get("A", 1).is_none());
        assert!(r.get("C", 1).is_some());
    }
}
