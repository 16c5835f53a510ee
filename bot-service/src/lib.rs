//! The Discord front end of Redfinger Shop: slash commands and buttons for users and admins,
//! QRIS top-ups, code delivery by DM. It holds no database credentials: everything goes to the
//! payment-service over the broker.
//!
//! [`run`] starts the whole service and returns after `shutdown` is cancelled and every part
//! stopped, so tests can run the bot in-process.

pub mod config;
pub mod discord;
pub mod domain;
pub mod health;
pub mod messaging;
pub mod metrics;
pub mod payment_client;
pub mod state;

use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use broker::{Broker, BrokerConfig};
use secrecy::ExposeSecret;
use serenity::all::{ClientBuilder, GatewayIntents};
use serenity::http::{Http, HttpBuilder};
use shared_proto::Topology;
use tokio_util::sync::CancellationToken;

use crate::config::{GatewayMode, Settings};
use crate::messaging::delivery_consumer::DeliveryConsumer;
use crate::messaging::notification_consumer::NotificationConsumer;
use crate::metrics::Metrics;
use crate::payment_client::PaymentClient;
use crate::state::{AppState, RecentDeliveries};

pub use config::Settings as BotSettings;

/// How often the depth of the consumed queues is sampled for `bot_consumer_lag_messages`.
const BACKLOG_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// DM channels remembered per replica (a user id and a channel id each).
const DM_CHANNELS_REMEMBERED: usize = 50_000;

/// Builds the Discord REST client. In production: serenity's own client and rate limiter.
/// With `DISCORD_API_BASE_URL` every call goes to that stand-in, with serenity's limiter off
/// (serenity ignores the proxy while its limiter is on). With `DISCORD_TEST_ONLY_*` the limiter
/// stays on and `discord.com` is reached at a TLS stand-in (see [`config::DiscordTestTls`]).
fn discord_http(settings: &Settings) -> anyhow::Result<Http> {
    let builder = HttpBuilder::new(settings.discord_token.expose_secret());
    if let Some(test) = &settings.discord_test_tls {
        tracing::warn!(api_addr = %test.api_addr, ca_file = %test.ca_file.display(),
            "DISCORD_TEST_ONLY_* is set: Discord API calls go to a test stand-in, not to Discord");
        return Ok(builder.client(test_tls_client(test)?).build());
    }
    Ok(match &settings.discord_api_base_url {
        Some(base) => builder
            .proxy(base.clone())
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    })
}

/// serenity's client as it builds it (rustls), plus the test CA and `discord.com` pinned to the
/// stand-in's address.
fn test_tls_client(test: &config::DiscordTestTls) -> anyhow::Result<reqwest::Client> {
    let pem = std::fs::read(&test.ca_file).with_context(|| {
        format!(
            "reading DISCORD_TEST_ONLY_CA_FILE {}",
            test.ca_file.display()
        )
    })?;
    let ca = reqwest::Certificate::from_pem(&pem)
        .context("DISCORD_TEST_ONLY_CA_FILE is not a PEM certificate")?;
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .resolve("discord.com", test.api_addr)
        .build()
        .context("building the Discord HTTP client for the test stand-in")
}

/// Counts the live replicas (the consumers of the deliveries queue, which every replica
/// consumes) every [`discord::budget::REPLICA_PROBE_EVERY`] and sets this replica's share of the
/// token's global budget to match. A failed sample keeps the last share.
fn spawn_replica_count(
    broker: Broker,
    deliveries_queue: String,
    budget: Arc<discord::budget::GlobalBudget>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(discord::budget::REPLICA_PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let sample = tokio::select! {
                _ = stop.cancelled() => return,
                n = broker.queue_consumer_count(&deliveries_queue) => n,
            };
            match sample {
                // Our own consumer may not be registered yet: never count fewer than one.
                Ok(replicas) => {
                    budget.set_replicas(replicas.max(1));
                }
                Err(error) => tracing::debug!(%error, "replica count sample skipped"),
            }
        }
    })
}

/// Runs the bot until `shutdown` is cancelled: health server, broker consumers and (when this
/// replica holds it) the gateway. Then stops consuming, lets in-flight deliveries finish, closes
/// the gateway and the broker.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    if !settings.ignored_settings.is_empty() {
        tracing::warn!(
            settings = %settings.ignored_settings.join(", "),
            "these settings are not used by bot-service (payment-service settings or left over from the earlier version); ignoring them"
        );
    }
    // Before anything can log them: the log writer masks these wherever they turn up.
    service_runtime::register_secret(settings.discord_token.expose_secret());
    service_runtime::register_secret(settings.admin_claim_secret.expose_secret());
    let metrics = Metrics::new().context("creating metrics")?;

    let topology = Topology::new(settings.amqp_namespace.clone());
    let mut broker_config =
        BrokerConfig::new(settings.amqp_url.expose_secret(), topology, "bot-service");
    broker_config.prefetch = 16;
    let broker = Broker::connect(broker_config)
        .await
        .context("connecting to RabbitMQ (AMQP_URL)")?;
    broker
        .declare_topology()
        .await
        .context("declaring the broker topology")?;

    let state_cell: Arc<OnceLock<discord::Data>> = Arc::new(OnceLock::new());
    let intents = GatewayIntents::GUILDS;
    let mut client = match settings.gateway {
        GatewayMode::Off => None,
        GatewayMode::Shards { .. } => Some(
            ClientBuilder::new_with_http(discord_http(&settings)?, intents)
                .framework(discord::framework(state_cell.clone()))
                .await
                .context("building the Discord client")?,
        ),
    };
    let http: Arc<Http> = match &client {
        Some(c) => c.http.clone(),
        None => Arc::new(discord_http(&settings)?),
    };
    // Follow-ups and edits through interaction tokens need the application id, also on
    // replicas without a gateway session (which never see READY).
    let app = http
        .get_current_application_info()
        .await
        .context("reading the bot's application from Discord (is DISCORD_TOKEN valid?)")?;
    http.set_application_id(app.id);
    // Admin rights live in the shop's guild(s) only; an unknown or ambiguous admin role name
    // stops the start here rather than granting admin to whoever holds a look-alike role.
    let admin_access = discord::admin_check::resolve_admin_access(&http, &settings)
        .await
        .context("resolving the admin role in the shop guild (DISCORD_GUILD_ID, ADMIN_ROLE_ID / ADMIN_ROLE_NAME)")?;
    let thread_channel = match settings.public_channel_id {
        Some(id) => discord::channel_check::usable_thread_channel(&http, id).await,
        None => None,
    };
    let support_channel = match settings.support_channel_id {
        Some(id) => discord::channel_check::usable_support_channel(&http, id).await,
        None => None,
    }
    .or(thread_channel);

    let state = Arc::new(AppState {
        payments: PaymentClient::new(broker.clone(), settings.request_timeout),
        http: http.clone(),
        metrics,
        gateway_connected: AtomicBool::new(false),
        recent_deliveries: RecentDeliveries::new(10_000),
        admin_access,
        thread_channel,
        support_channel,
        budget: Arc::new(discord::budget::GlobalBudget::new(
            settings.discord_global_rate,
        )),
        dm_channels: discord::budget::DmChannels::new(DM_CHANNELS_REMEMBERED),
        settings,
    });
    let _ = state_cell.set(state.clone());

    let listener = TcpListener::bind((state.settings.health_host, state.settings.health_port))
        .with_context(|| {
            format!(
                "binding the health listener {}:{} (BOT_HEALTH_HOST/BOT_HEALTH_PORT)",
                state.settings.health_host, state.settings.health_port
            )
        })?;
    let (server, server_handle) =
        health::serve(listener, state.clone()).context("starting the health server")?;
    let server_task = tokio::spawn(server);

    let consumers_stop = CancellationToken::new();
    let topology = broker.topology().clone();
    let lag = state.metrics.consumer_lag.clone();
    let consumers = vec![
        broker.spawn_backlog_probe(
            topology
                .bot_queues()
                .into_iter()
                .flat_map(|q| [q.name, q.dead_letter_queue])
                .collect(),
            BACKLOG_PROBE_EVERY,
            consumers_stop.clone(),
            move |queue, ready| lag.with_label_values(&[queue]).set(i64::from(ready)),
        ),
        broker.spawn_consumer(
            topology.bot_deliveries_queue(),
            Arc::new(DeliveryConsumer::new(state.clone())),
            consumers_stop.clone(),
        ),
        broker.spawn_consumer(
            topology.bot_notifications_queue(),
            Arc::new(NotificationConsumer::new(state.clone())),
            consumers_stop.clone(),
        ),
        spawn_replica_count(
            broker.clone(),
            topology.bot_deliveries_queue(),
            state.budget.clone(),
            consumers_stop.clone(),
        ),
    ];

    // The live stock panel: one keeper only, the replica holding shard 0 (no gateway, no panel).
    let panel_stop = CancellationToken::new();
    let panel_task = match (state.settings.stock_channel_id, state.settings.gateway) {
        (Some(channel), GatewayMode::Shards { first: 0, .. }) => Some(discord::stock_panel::spawn(
            state.clone(),
            channel,
            panel_stop.clone(),
        )),
        (Some(_), _) => {
            tracing::info!("STOCK_CHANNEL_ID is set, but this replica does not hold shard 0: another keeps the stock panel");
            None
        }
        (None, _) => None,
    };

    let mut gateway_task = None;
    let mut shard_manager = None;
    if let (Some(mut c), GatewayMode::Shards { first, last, total }) =
        (client.take(), state.settings.gateway)
    {
        shard_manager = Some(c.shard_manager.clone());
        gateway_task = Some(tokio::spawn(async move {
            // serenity boots shards range.start ..= range.end.
            if let Err(error) = c.start_shard_range(first..last, total).await {
                tracing::error!(error = %discord::outbound::loggable(&error), "the Discord gateway stopped");
            }
        }));
        tracing::info!(first, last, total, "gateway shards starting");
    } else {
        tracing::info!("gateway disabled on this replica (BOT_GATEWAY=false): consuming deliveries and notifications only");
    }
    tracing::info!(
        health_port = state.settings.health_port,
        "bot-service started"
    );

    shutdown.cancelled().await;
    tracing::info!("shutting down: stopping consumers, finishing in-flight deliveries");
    consumers_stop.cancel();
    panel_stop.cancel();
    for c in consumers {
        let _ = c.await;
    }
    if let Some(task) = panel_task {
        let _ = task.await;
    }
    if let Some(manager) = shard_manager {
        manager.shutdown_all().await;
    }
    if let Some(task) = gateway_task {
        let _ = task.await;
    }
    broker.close().await;
    server_handle.stop(true).await;
    let _ = server_task.await;
    tracing::info!("bot-service stopped");
    Ok(())
}
