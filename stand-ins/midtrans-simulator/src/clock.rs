//! The simulator's clock for time-bound rules (the `Idempotency-Key` retention): the real
//! monotonic clock plus an offset tests move forward (`POST /_sim/clock`), so "5 minutes later"
//! takes no waiting.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct SimClock {
    offset: Mutex<Duration>,
}

impl SimClock {
    pub fn now(&self) -> Instant {
        Instant::now() + self.offset()
    }

    pub fn offset(&self) -> Duration {
        *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock forward by `by`; answers the total offset.
    pub fn advance(&self, by: Duration) -> Duration {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset += by;
        *offset
    }
}
