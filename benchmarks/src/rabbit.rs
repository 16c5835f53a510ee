//! Stage 2: RabbitMQ's own ceiling through the project's `broker` crate: persistent messages
//! published with publisher confirms to the events exchange, routed to a quorum queue, consumed
//! and acknowledged one by one (prefetch 32, as the services run). No database is involved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::{Broker, Handler, HandlerOutcome, IncomingMessage, OutgoingRaw};
use shared_proto::topology::events::DELIVERY_REQUESTED;
use tokio_util::sync::CancellationToken;

use crate::report::{Outcome, Row};
use crate::scratch::ScratchNamespace;
use crate::Settings;

const BATCH: usize = 100;
const BATCH_PUBLISHERS: usize = 2;
const SINGLE_IN_FLIGHT: usize = 16;

/// Counts acknowledged deliveries and remembers when the last one came.
struct Counter {
    acked: AtomicU64,
    last: Mutex<Option<Instant>>,
}

#[async_trait::async_trait]
impl Handler for Counter {
    async fn handle(&self, _message: IncomingMessage) -> HandlerOutcome {
        self.acked.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Instant::now());
        }
        HandlerOutcome::Ack
    }
}

pub async fn run(settings: &Settings) -> Vec<Row> {
    let batch_measure = format!(
        "RabbitMQ only: persistent publish_batch ({BATCH}/batch, {BATCH_PUBLISHERS} publishers, confirms) → quorum queue → consume → ack (prefetch 32)"
    );
    let single_measure = format!(
        "RabbitMQ only: persistent publish, one confirm awaited per message ({SINGLE_IN_FLIGHT} in flight) → consume → ack"
    );
    match measure(settings).await {
        Ok((batch, single)) => vec![
            Row::new("2a", batch_measure, batch),
            Row::new("2b", single_measure, single),
        ],
        Err(error) => vec![
            Row::new("2a", batch_measure, Outcome::NotRun(format!("{error:#}"))),
            Row::new("2b", single_measure, Outcome::NotRun(format!("{error:#}"))),
        ],
    }
}

async fn measure(settings: &Settings) -> anyhow::Result<(Outcome, Outcome)> {
    let ns = ScratchNamespace::new(&settings.amqp_url, "bench_mq");
    let publisher = ns.connect("bench-mq-publisher", 32).await?;
    let consumer_broker = ns.connect("bench-mq-consumer", 32).await?;
    let counter = Arc::new(Counter {
        acked: AtomicU64::new(0),
        last: Mutex::new(None),
    });
    let shutdown = CancellationToken::new();
    let consumer = consumer_broker.spawn_consumer(
        ns.topology().bot_deliveries_queue(),
        counter.clone(),
        shutdown.clone(),
    );
    // A payload the size of a real delivery.requested envelope (~600 bytes).
    let payload = vec![b'x'; 600];
    let exchange = ns.topology().events_exchange();

    let result = async {
        let batch = phase(
            &publisher,
            &counter,
            &exchange,
            &payload,
            settings.stage_seconds,
            true,
        )
        .await?;
        let single = phase(
            &publisher,
            &counter,
            &exchange,
            &payload,
            settings.stage_seconds.div_ceil(2),
            false,
        )
        .await?;
        anyhow::Ok((batch, single))
    }
    .await;

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), consumer).await;
    publisher.close().await;
    consumer_broker.close().await;
    drop(ns);
    result
}

/// Publishes for `seconds`, then waits until every message was consumed and acknowledged.
async fn phase(
    publisher: &Broker,
    counter: &Arc<Counter>,
    exchange: &str,
    payload: &[u8],
    seconds: u64,
    batched: bool,
) -> anyhow::Result<Outcome> {
    let acked_before = counter.acked.load(Ordering::Relaxed);
    let published = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let workers = if batched {
        BATCH_PUBLISHERS
    } else {
        SINGLE_IN_FLIGHT
    };
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let publisher = publisher.clone();
        let exchange = exchange.to_string();
        let payload = payload.to_vec();
        let published = published.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            while Instant::now() < until {
                let size = if batched { BATCH } else { 1 };
                let ids: Vec<String> = (0..size)
                    .map(|i| format!("bench-{worker}-{n}-{i}"))
                    .collect();
                n += 1;
                let msgs: Vec<OutgoingRaw<'_>> = ids
                    .iter()
                    .map(|id| OutgoingRaw {
                        exchange: &exchange,
                        routing_key: DELIVERY_REQUESTED,
                        message_id: id,
                        correlation_id: id,
                        message_type: DELIVERY_REQUESTED,
                        payload: &payload,
                    })
                    .collect();
                let results = if batched {
                    publisher.publish_batch(&msgs).await
                } else {
                    let mut one = Vec::with_capacity(1);
                    for msg in msgs {
                        one.push(publisher.publish_raw(msg).await);
                    }
                    one
                };
                for r in results {
                    match r {
                        Ok(()) => published.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let publish_elapsed = start.elapsed();
    let published = published.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let drain_deadline = Instant::now() + Duration::from_secs(60);
    while counter.acked.load(Ordering::Relaxed) - acked_before < published {
        if Instant::now() > drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked = counter.acked.load(Ordering::Relaxed) - acked_before;
    let end = counter
        .last
        .lock()
        .ok()
        .and_then(|l| *l)
        .unwrap_or_else(Instant::now);
    let elapsed = end.saturating_duration_since(start).max(publish_elapsed);
    let rate = acked as f64 / elapsed.as_secs_f64();
    let publish_rate = published as f64 / publish_elapsed.as_secs_f64();
    let mut detail = format!(
        "{acked} msgs end to end in {:.1} s; publishing alone {publish_rate:.0}/s",
        elapsed.as_secs_f64()
    );
    if failed > 0 || acked < published {
        detail.push_str(&format!(
            "; {failed} publishes failed, {} not consumed",
            published - acked.min(published)
        ));
    }
    Ok(Outcome::Rate {
        per_sec: rate,
        unit: "msg/s",
        min_ratio: None,
        detail,
    })
}
