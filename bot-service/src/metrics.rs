//! Prometheus metrics of the bot, served at `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the bot records. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Interactions handled, by kind (`command:shop`, `component:confirm_order`, …).
    pub interactions: IntCounterVec,
    /// Deliveries by method (dm/file/channel/none) and outcome (confirmed/failed/duplicate).
    pub deliveries: IntCounterVec,
    /// Discord API errors by JSON error code (or HTTP status when there is none).
    pub discord_errors: IntCounterVec,
    /// Times the bot waited because Discord said 429.
    pub rate_limit_waits: IntCounter,
    /// Seconds spent handling an interaction, by kind.
    pub handler_seconds: HistogramVec,
    /// Seconds from an interaction's arrival to its first answer (deferral); Discord allows 3.
    pub deferral_seconds: Histogram,
    /// Messages waiting in each queue the bot consumes and in its dead-letter queue (`….dlq`),
    /// sampled every few seconds: the consumer lag.
    pub consumer_lag: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("bot".into()), None)?;
        let interactions = IntCounterVec::new(
            Opts::new("interactions_total", "Interactions handled, by kind"),
            &["kind"],
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new("deliveries_total", "Code deliveries by method and outcome"),
            &["method", "outcome"],
        )?;
        let discord_errors = IntCounterVec::new(
            Opts::new("discord_api_errors_total", "Discord API errors by code"),
            &["code"],
        )?;
        let rate_limit_waits = IntCounter::new(
            "discord_rate_limit_waits_total",
            "Waits after Discord answered 429",
        )?;
        let handler_seconds = HistogramVec::new(
            HistogramOpts::new("handler_duration_seconds", "Interaction handling time").buckets(
                vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            &["kind"],
        )?;
        let deferral_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "interaction_deferral_seconds",
                "Time from an interaction's arrival to its first answer",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0]),
        )?;
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "consumer_lag_messages",
                "Messages waiting in a consumed queue (or its dead-letter queue)",
            ),
            &["queue"],
        )?;
        registry.register(Box::new(interactions.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(discord_errors.clone()))?;
        registry.register(Box::new(rate_limit_waits.clone()))?;
        registry.register(Box::new(handler_seconds.clone()))?;
        registry.register(Box::new(deferral_seconds.clone()))?;
        registry.register(Box::new(consumer_lag.clone()))?;
        Ok(Metrics {
            registry,
            interactions,
            deliveries,
            discord_errors,
            rate_limit_waits,
            handler_seconds,
            deferral_seconds,
            consumer_lag,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
