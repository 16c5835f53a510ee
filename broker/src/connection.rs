//! The one AMQP connection of a [`crate::Broker`] and its replacement when it dies.
//!
//! A [`Link`] is one live connection with its lazily opened publisher channels and its
//! request/reply channel. When a caller finds the link dead (or lapin reports a connection
//! error), a single background task reconnects with exponential backoff and publishes the new
//! link through a `watch` channel; callers wait for it, bounded, and never get a dead link back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::{watch, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use crate::config::BrokerConfig;
use crate::rpc::RpcChannel;
use crate::BrokerError;

/// Publisher channels per connection. Publishes on one channel are serialized (see
/// [`Link::publisher`]), so a few channels let concurrent publishers overlap their socket writes.
const PUBLISHER_CHANNELS: usize = 4;

/// How long an operation waits for a lost connection to come back before it fails.
pub(crate) const OUTAGE_WAIT: Duration = Duration::from_secs(30);

/// Delays between reconnection attempts.
pub(crate) fn reconnect_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
}

/// One live connection and the channels opened on it.
pub(crate) struct Link {
    pub(crate) connection: Connection,
    /// Each slot holds a confirm-mode channel, opened on first use and reopened if the broker
    /// closed it (e.g. after a publish to a missing exchange).
    publishers: Vec<Mutex<Option<Channel>>>,
    next_publisher: AtomicUsize,
    pub(crate) rpc: Mutex<Option<Arc<RpcChannel>>>,
}

impl Link {
    fn new(connection: Connection) -> Self {
        Link {
            connection,
            publishers: (0..PUBLISHER_CHANNELS).map(|_| Mutex::new(None)).collect(),
            next_publisher: AtomicUsize::new(0),
            rpc: Mutex::new(None),
        }
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.connection.status().connected()
    }

    /// A confirm-mode channel, exclusively held until the guard drops.
    ///
    /// Exclusive because lapin assigns the publisher-confirm sequence number and queues the
    /// frames under two separate locks: two tasks publishing on one channel at once could get
    /// their confirms (and returned messages) swapped. Hold the guard only while calling
    /// `basic_publish`, not while awaiting the confirm.
    pub(crate) async fn publisher(&self) -> Result<MutexGuard<'_, Option<Channel>>, lapin::Error> {
        let n = self.publishers.len();
        let start = self.next_publisher.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| self.publishers[(start + i) % n].try_lock().ok());
        let mut slot = match free {
            Some(slot) => slot,
            None => self.publishers[start].lock().await,
        };
        if !slot.as_ref().is_some_and(|c| c.status().connected()) {
            let channel = self.connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *slot = Some(channel);
        }
        Ok(slot)
    }
}

/// State shared by every clone of a [`crate::Broker`].
pub(crate) struct Inner {
    pub(crate) config: BrokerConfig,
    state: watch::Sender<Option<Arc<Link>>>,
    reconnecting: AtomicBool,
    pub(crate) closing: CancellationToken,
    /// Set by `declare_topology`; a new connection then re-declares it (the broker may have lost
    /// its definitions, e.g. a fresh container).
    pub(crate) topology_declared: AtomicBool,
    runtime: tokio::runtime::Handle,
}

impl Inner {
    /// Connects, retrying with backoff for up to [`OUTAGE_WAIT`].
    pub(crate) async fn connect(config: BrokerConfig) -> Result<Arc<Inner>, BrokerError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| BrokerError::Connection("the broker needs a tokio runtime".into()))?;
        let inner = Arc::new(Inner {
            config,
            state: watch::Sender::new(None),
            reconnecting: AtomicBool::new(false),
            closing: CancellationToken::new(),
            topology_declared: AtomicBool::new(false),
            runtime,
        });
        let mut delays = reconnect_backoff().build();
        let deadline = tokio::time::Instant::now() + OUTAGE_WAIT;
        loop {
            match open_link(&inner).await {
                Ok(link) => {
                    inner.state.send_replace(Some(link));
                    return Ok(inner);
                }
                Err(error) => {
                    let delay = delays.next().unwrap_or(Duration::from_secs(5));
                    if tokio::time::Instant::now() + delay >= deadline {
                        return Err(BrokerError::Connection(format!(
                            "could not connect within {OUTAGE_WAIT:?}: {error}"
                        )));
                    }
                    tracing::warn!(%error, ?delay, "connecting to RabbitMQ failed, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The live link, if there is one right now.
    pub(crate) fn current(&self) -> Option<Arc<Link>> {
        self.state.borrow().clone().filter(|l| l.is_alive())
    }

    /// A live link, waiting up to `wait` for a reconnection if the connection is down.
    pub(crate) async fn link(self: &Arc<Self>, wait: Duration) -> Result<Arc<Link>, BrokerError> {
        if self.closing.is_cancelled() {
            return Err(BrokerError::Closed);
        }
        if let Some(link) = self.current() {
            return Ok(link);
        }
        self.trigger_reconnect();
        let mut rx = self.state.subscribe();
        let live = rx.wait_for(|l| l.as_ref().is_some_and(|l| l.is_alive()));
        tokio::select! {
            _ = self.closing.cancelled() => Err(BrokerError::Closed),
            waited = tokio::time::timeout(wait, live) => match waited {
                Ok(Ok(link)) => link.clone().ok_or(BrokerError::Closed),
                Ok(Err(_)) => Err(BrokerError::Closed),
                Err(_) => Err(BrokerError::Connection(format!(
                    "RabbitMQ did not come back within {wait:?}"
                ))),
            },
        }
    }

    /// Starts the reconnection task unless it already runs.
    pub(crate) fn trigger_reconnect(self: &Arc<Self>) {
        if self.closing.is_cancelled() || self.reconnecting.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        self.runtime.spawn(reconnect_loop(weak));
    }

    pub(crate) async fn close(&self) {
        self.closing.cancel();
        if let Some(link) = self.state.send_replace(None) {
            if link.is_alive() {
                if let Err(error) = link.connection.close(200, "closing").await {
                    tracing::debug!(%error, "closing the RabbitMQ connection");
                }
            }
        }
    }
}

/// Reconnects until it succeeds or the broker is closed or dropped.
async fn reconnect_loop(weak: Weak<Inner>) {
    let mut delays = reconnect_backoff().build();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.closing.is_cancelled() {
            return;
        }
        if inner.current().is_some() {
            inner.reconnecting.store(false, Ordering::SeqCst);
            return;
        }
        match open_link(&inner).await {
            Ok(link) => {
                if inner.topology_declared.load(Ordering::SeqCst) {
                    if let Err(error) = crate::topology::declare(&link, &inner.config).await {
                        tracing::error!(%error, "re-declaring the topology after reconnecting failed");
                    }
                }
                inner.state.send_replace(Some(link));
                inner.reconnecting.store(false, Ordering::SeqCst);
                tracing::info!("reconnected to RabbitMQ");
                if inner.closing.is_cancelled() {
                    inner.close().await;
                }
                return;
            }
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(%error, ?delay, "reconnecting to RabbitMQ failed, retrying");
                let closing = inner.closing.clone();
                drop(inner);
                tokio::select! {
                    _ = closing.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

async fn open_link(inner: &Arc<Inner>) -> Result<Arc<Link>, lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(inner.config.connection_name.clone().into());
    let connection = Connection::connect(&inner.config.url, properties).await?;
    let weak = Arc::downgrade(inner);
    // Runs on lapin's I/O thread: only flag the loss; the reconnection runs on tokio.
    connection.on_error(move |error| {
        tracing::warn!(%error, "RabbitMQ connection lost");
        if let Some(inner) = weak.upgrade() {
            inner.trigger_reconnect();
        }
    });
    tracing::info!(connection_name = %inner.config.connection_name, "connected to RabbitMQ");
    Ok(Arc::new(Link::new(connection)))
}
