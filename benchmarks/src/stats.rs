//! Latency percentiles and process memory readings.

use std::time::Duration;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// Nearest-rank percentiles. `None` for an empty set.
    pub fn of(latencies: &[Duration]) -> Option<Summary> {
        if latencies.is_empty() {
            return None;
        }
        let mut sorted: Vec<Duration> = latencies.to_vec();
        sorted.sort_unstable();
        let rank = |p: f64| -> f64 {
            let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            ms(sorted[index])
        };
        Some(Summary {
            count: sorted.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: ms(sorted[sorted.len() - 1]),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `VmRSS` and `VmHWM` (peak RSS) of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Rss {
    pub fn read(pid: u32) -> Option<Rss> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find(|l| l.starts_with(name))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        Some(Rss {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    pub fn hwm_mib(&self) -> f64 {
        self.hwm_kib as f64 / 1024.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let set: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&set).unwrap();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 1e-9);
        assert!((s.p99_ms - 99.0).abs() < 1e-9);
        assert!((s.max_ms - 100.0).abs() < 1e-9);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn own_memory_is_readable() {
        let rss = Rss::read(std::process::id()).unwrap();
        assert!(rss.rss_kib > 0 && rss.hwm_kib >= rss.rss_kib);
    }
}
