//! Fault injection: make the next few Core API calls fail or answer slowly.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Body of `POST /_sim/faults`. Each part applies to the next `times` calls of its endpoint.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct FaultRequest {
    /// Answer `POST /v2/charge` with this HTTP status (and the same `status_code` in the body)
    /// without creating a transaction.
    pub charge_status: Option<u16>,
    /// Wait this long before answering `POST /v2/charge`. Without `charge_status` the charge is
    /// made first, so a client that gave up still finds the transaction (and the
    /// `Idempotency-Key` replay) afterwards.
    pub delay_ms: Option<u64>,
    /// Answer `GET /v2/{order_id}/status` with this HTTP status.
    pub status_status: Option<u16>,
    /// Wait this long before answering `GET /v2/{order_id}/status`.
    pub status_delay_ms: Option<u64>,
    /// How many calls are affected; default 1.
    pub times: Option<u32>,
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fault {
    pub http_status: Option<u16>,
    pub delay: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Armed {
    fault: Fault,
    remaining: u32,
}

#[derive(Default)]
pub struct Faults {
    inner: Mutex<FaultsInner>,
}

#[derive(Default)]
struct FaultsInner {
    charge: Option<Armed>,
    status: Option<Armed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Charge,
    Status,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, FaultsInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Arms the faults of `request`, replacing earlier ones for the same endpoint.
    pub fn arm(&self, request: &FaultRequest) {
        let remaining = request.times.unwrap_or(1);
        let mut inner = self.lock();
        let charge = Fault {
            http_status: request.charge_status,
            delay: request.delay_ms.map(Duration::from_millis),
        };
        if charge != Fault::default() {
            inner.charge = Some(Armed {
                fault: charge,
                remaining,
            });
        }
        let status = Fault {
            http_status: request.status_status,
            delay: request.status_delay_ms.map(Duration::from_millis),
        };
        if status != Fault::default() {
            inner.status = Some(Armed {
                fault: status,
                remaining,
            });
        }
    }

    pub fn clear(&self) {
        *self.lock() = FaultsInner::default();
    }

    /// The fault for this call of `endpoint`, if one is armed; uses it up.
    pub fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut inner = self.lock();
        let slot = match endpoint {
            Endpoint::Charge => &mut inner.charge,
            Endpoint::Status => &mut inner.status,
        };
        let armed = slot.as_mut()?;
        if armed.remaining == 0 {
            *slot = None;
            return None;
        }
        armed.remaining -= 1;
        let fault = armed.fault;
        if armed.remaining == 0 {
            *slot = None;
        }
        Some(fault)
    }

    /// Calls each endpoint still has faults for, for `GET /_sim/faults`.
    pub fn remaining(&self) -> (u32, u32) {
        let inner = self.lock();
        (
            inner.charge.map_or(0, |a| a.remaining),
            inner.status.map_or(0, |a| a.remaining),
        )
    }
}
