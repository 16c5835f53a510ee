//! Wiring: `Application::build` connects the database (and migrates), connects the broker and
//! declares the topology, and binds the HTTP listeners (the public webhook port, and the internal
//! one of `/metrics` and `/readyz`); `Application::run` serves them and
//! runs the consumers, the outbox relay and the expiry sweeper until the shutdown token fires,
//! then stops taking work and lets what is in flight finish.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use broker::{Broker, BrokerConfig};
use sea_orm::DatabaseConnection;
use shared_proto::Topology;
use tokio_util::sync::CancellationToken;

use crate::config::PaymentConfig;
use crate::messaging::{spawn_outbox_relay, CommandConsumer, CommandDeps, DeliveryResultsConsumer};
use crate::metrics::Metrics;
use crate::midtrans::MidtransClient;
use crate::persistence;
use crate::routes::{self, webhook::SourceGuard, HttpState};
use crate::stock_vault::{self, StockVault};
use crate::sweeper;
use crate::topups::TopupService;

/// How often the depth of the consumed queues is sampled for `payment_consumer_lag_messages`.
const BACKLOG_PROBE_EVERY: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    listener: TcpListener,
    internal_port: u16,
    internal_listener: TcpListener,
    config: Arc<PaymentConfig>,
    db: DatabaseConnection,
    broker: Broker,
    metrics: Metrics,
    topups: TopupService,
    vault: StockVault,
}

impl Application {
    /// Binds `WEBHOOK_HOST:WEBHOOK_PORT` (port 0 picks a free one).
    pub async fn build(config: PaymentConfig) -> anyhow::Result<Self> {
        let address = format!("{}:{}", config.webhook_host, config.webhook_port);
        let listener = TcpListener::bind(&address).with_context(|| {
            format!("binding the webhook listener on {address} (WEBHOOK_HOST/WEBHOOK_PORT)")
        })?;
        Self::build_with_listener(config, listener).await
    }

    /// Like [`Application::build`] on a listener the caller bound (tests learn the port first
    /// so `WEBHOOK_URL` can point at it). The internal listener is bound from
    /// `INTERNAL_HTTP_HOST:INTERNAL_HTTP_PORT` (port 0 picks a free one; see
    /// [`Application::internal_port`]).
    pub async fn build_with_listener(
        config: PaymentConfig,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener
            .local_addr()
            .context("reading the listener address")?
            .port();
        let internal_address = format!(
            "{}:{}",
            config.internal_http_host, config.internal_http_port
        );
        let internal_listener = TcpListener::bind(&internal_address).with_context(|| {
            format!("binding the internal listener on {internal_address} (INTERNAL_HTTP_HOST/INTERNAL_HTTP_PORT)")
        })?;
        let internal_port = internal_listener
            .local_addr()
            .context("reading the internal listener address")?
            .port();
        announce_secrets_and_mode(&config);
        let config = Arc::new(config);
        let db = persistence::connect(&config).await?;
        // Refuses to start when stock holds codes under a key that is not configured.
        let vault = stock_vault::open(&db, &config).await?;
        let topology = Topology::new(config.amqp_namespace.clone());
        let mut broker_config = BrokerConfig::new(
            secrecy::ExposeSecret::expose_secret(&config.amqp_url).to_string(),
            topology.clone(),
            "payment-service",
        );
        broker_config.prefetch = config.amqp_prefetch;
        broker_config.delivery_limit = config.amqp_delivery_limit;
        let broker = Broker::connect(broker_config)
            .await
            .context("connecting to RabbitMQ (AMQP_URL)")?;
        broker
            .declare_topology()
            .await
            .context("declaring exchanges and queues")?;
        let metrics = Metrics::new();
        let midtrans = MidtransClient::new(&config.midtrans)?;
        let topups = TopupService::new(
            db.clone(),
            Arc::clone(&config),
            midtrans,
            metrics.clone(),
            topology.events_exchange(),
        );
        Ok(Application {
            port,
            listener,
            internal_port,
            internal_listener,
            config,
            db,
            broker,
            metrics,
            topups,
            vault,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Port of `/metrics`, `/readyz` and `/healthz` for operators.
    pub fn internal_port(&self) -> u16 {
        self.internal_port
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn topups(&self) -> &TopupService {
        &self.topups
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Serves until `shutdown` is cancelled, then drains: the HTTP server finishes in-flight
    /// requests, consumers finish their messages, the relay finishes its round.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application {
            port,
            listener,
            internal_port,
            internal_listener,
            config,
            db,
            broker,
            metrics,
            topups,
            vault,
        } = self;
        let topology = broker.topology().clone();
        let events_exchange = topology.events_exchange();

        let commands = CommandConsumer::new(CommandDeps {
            db: db.clone(),
            config: Arc::clone(&config),
            vault: vault.clone(),
            topups: topups.clone(),
            broker: broker.clone(),
            metrics: metrics.clone(),
        });
        let delivery_results = DeliveryResultsConsumer::new(
            db.clone(),
            Arc::clone(&config),
            vault,
            metrics.clone(),
            events_exchange,
        );
        // The relay stops last (its own token): rows committed by requests and messages still in
        // flight when the shutdown starts must be published before the connection closes.
        let relay_stop = CancellationToken::new();
        let relay = spawn_outbox_relay(
            db.clone(),
            broker.clone(),
            metrics.clone(),
            Duration::from_millis(config.outbox_poll_interval_ms),
            relay_stop.clone(),
        );
        let mut tasks = vec![
            broker.spawn_consumer(
                topology.payment_commands_queue(),
                Arc::new(commands),
                shutdown.clone(),
            ),
            broker.spawn_consumer(
                topology.payment_delivery_results_queue(),
                Arc::new(delivery_results),
                shutdown.clone(),
            ),
            {
                let lag = metrics.consumer_lag.clone();
                broker.spawn_backlog_probe(
                    topology
                        .payment_queues()
                        .into_iter()
                        .flat_map(|q| [q.name, q.dead_letter_queue])
                        .collect(),
                    BACKLOG_PROBE_EVERY,
                    shutdown.clone(),
                    move |queue, ready| {
                        lag.with_label_values(&[queue]).set(i64::from(ready));
                    },
                )
            },
            sweeper::spawn_sweeper(
                topups.clone(),
                Duration::from_secs(config.sweeper_interval_secs),
                shutdown.clone(),
            ),
        ];

        let state = web::Data::new(HttpState {
            guard: SourceGuard::from_config(&config),
            config: Arc::clone(&config),
            db: db.clone(),
            broker: broker.clone(),
            topups,
            metrics,
        });
        let internal_state = state.clone();
        let server = HttpServer::new(move || {
            App::new().configure(|cfg| routes::configure(cfg, state.clone()))
        })
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)
        .context("serving the webhook")?
        .run();
        // One worker is plenty for scrapes and probes, and keeps the idle footprint small.
        let internal_server = HttpServer::new(move || {
            App::new().configure(|cfg| routes::configure_internal(cfg, internal_state.clone()))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(internal_listener)
        .context("serving the internal endpoints")?
        .run();
        let handle = server.handle();
        let internal_handle = internal_server.handle();
        tracing::info!(
            port,
            internal_port,
            "payment-service listening (webhook on port, /metrics and /readyz on internal_port)"
        );
        let server_task = tokio::spawn(server);
        let internal_task = tokio::spawn(internal_server);

        shutdown.cancelled().await;
        tracing::info!("shutting down: draining HTTP requests and consumers");
        handle.stop(true).await;
        let _ = server_task.await;
        for task in tasks.drain(..) {
            let _ = task.await;
        }
        relay_stop.cancel();
        let _ = relay.await;
        // The relay's last round may have ended before the last commits: flush what is left.
        // Pooled connections opened by an HTTP worker died with the worker's runtime a moment
        // ago (the pool pings only idle connections, so it may hand one out): a failed round
        // drops its connection, and the next round takes another, up to the pool's size.
        let mut failures = 0;
        for _ in 0..10 + config.db_max_connections + 2 {
            match crate::messaging::outbox_relay::relay_once(&db, &broker).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if failures < config.db_max_connections + 2 => {
                    failures += 1;
                    tracing::debug!(
                        error = format!("{error:#}"),
                        "outbox flush round failed, retrying"
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "flushing the outbox at shutdown failed; the next start publishes the rest"
                    );
                    break;
                }
            }
        }
        // Probes keep answering (not ready) until the very end of the drain.
        internal_handle.stop(true).await;
        let _ = internal_task.await;
        broker.close().await;
        db.close().await.ok();
        Ok(())
    }
}

/// Tells the log writer which configured values to mask wherever they turn up (a library's
/// `Debug` print, an error message), and says loudly when payments are not real.
fn announce_secrets_and_mode(config: &PaymentConfig) {
    use base64::Engine;
    use secrecy::ExposeSecret;
    let server_key = config.midtrans.server_key.expose_secret();
    service_runtime::register_secret(server_key);
    // The Core API's Basic auth value (`base64(server_key + ":")`).
    service_runtime::register_secret(
        &base64::engine::general_purpose::STANDARD.encode(format!("{server_key}:")),
    );
    service_runtime::register_secret(config.admin_claim_secret.expose_secret());
    for key in std::iter::once(&config.encryption_key).chain(&config.previous_encryption_keys) {
        service_runtime::register_secret(
            &base64::engine::general_purpose::STANDARD.encode(key.bytes()),
        );
        service_runtime::register_secret(&hex::encode(key.bytes()));
    }
    for url in [config.database_url(), config.amqp_url.expose_secret()] {
        if let Some(password) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
        {
            service_runtime::register_secret(&password);
        }
    }
    if !config.midtrans.is_production {
        tracing::warn!(
            api = %config.midtrans.api_base_url,
            "MIDTRANS SANDBOX MODE (MIDTRANS_IS_PRODUCTION=false): top-ups are TEST PAYMENTS, no real money is collected; every QR shown to buyers is labelled as a test payment"
        );
    }
}
