//! A local stand-in for Midtrans's Core API (QRIS charge, status, cancel, expire) that sends
//! signed HTTP notifications, for tests and offline demos.
//!
//! It speaks Midtrans's wire format (paths, Basic auth with the server key, bodies, status codes
//! in the body, `Idempotency-Key`, `X-Override-Notification` / `X-Append-Notification`) and adds
//! a control API under `/_sim/` to play the customer, replay notifications and inject faults.
//! It never talks to the real Midtrans.

pub mod charge_request;
pub mod clock;
pub mod config;
pub mod faults;
mod idempotency;
pub mod notifier;
pub mod qris;
mod routes;
pub mod signature;
pub mod state;
pub mod transactions;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{NotificationRetry, SimulatorConfig};
pub use faults::FaultRequest;
pub use notifier::{DeliveryOutcome, NotificationRecord};
pub use signature::{
    format_amount, notification_body, notification_status_code_for, resign, signature_key,
    status_code_for, NotificationSpec, RefundEntry,
};
pub use state::{ControlOutcome, NotifyRequest, MAX_NOTIFICATION_URLS};
pub use transactions::{ReturnKind, ReturnRequest, TransactionStatus, TransitionError};

use state::SimulatorState;

/// Entry point: `Simulator::start(config)`.
pub struct Simulator;

impl Simulator {
    /// Binds `config.bind` and serves until the returned handle is stopped or dropped.
    /// Must be called inside a tokio runtime; notifications, retries and scheduled expiries run
    /// on that runtime.
    pub async fn start(config: SimulatorConfig) -> anyhow::Result<RunningSimulator> {
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("binding the simulator to {}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let base_url = base_url_for(local_addr);
        let public_base_url = config
            .public_base_url
            .clone()
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| base_url.clone());
        let shutdown = CancellationToken::new();
        let state = Arc::new(SimulatorState::new(
            config,
            public_base_url,
            tokio::runtime::Handle::current(),
            shutdown.clone(),
        )?);

        let app_state = web::Data::new(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .configure(routes::configure)
        })
        .workers(2)
        .shutdown_timeout(5)
        .disable_signals()
        .listen(listener)
        .context("serving the simulator")?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        tracing::info!(%base_url, "Midtrans simulator listening");
        Ok(RunningSimulator {
            base_url,
            local_addr,
            server: handle,
            task: Some(task),
            state,
            shutdown,
        })
    }
}

/// A listening simulator. Dropping it stops the server and its background work.
pub struct RunningSimulator {
    base_url: String,
    local_addr: SocketAddr,
    server: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
    state: Arc<SimulatorState>,
    shutdown: CancellationToken,
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT`: what to use as `MIDTRANS_API_BASE_URL`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every notification attempt so far, oldest first.
    pub fn notifications(&self) -> Vec<NotificationRecord> {
        self.state.notifications()
    }

    /// Every transaction as `GET /v2/{order_id}/status` would answer it, oldest first.
    pub fn transactions(&self) -> Vec<serde_json::Value> {
        self.state.transactions()
    }

    /// Settles a pending transaction (the customer paid) and notifies.
    pub async fn pay(&self, order_id: &str) -> Result<ControlOutcome, TransitionError> {
        self.state
            .change(order_id, TransactionStatus::Settlement)
            .await
    }

    /// Expires a pending transaction and notifies.
    pub async fn expire(&self, order_id: &str) -> Result<ControlOutcome, TransitionError> {
        self.state.change(order_id, TransactionStatus::Expire).await
    }

    /// Denies a pending transaction and notifies.
    pub async fn deny(&self, order_id: &str) -> Result<ControlOutcome, TransitionError> {
        self.state.change(order_id, TransactionStatus::Deny).await
    }

    /// Sends a notification for `order_id` again, possibly altered (see [`NotifyRequest`]).
    pub async fn notify(
        &self,
        order_id: &str,
        request: NotifyRequest,
    ) -> Result<ControlOutcome, TransitionError> {
        self.state.renotify(order_id, request).await
    }

    /// Refunds `request.amount` (default: everything left) of a settled transaction and
    /// notifies (`refund` or `partial_refund`).
    pub async fn refund(
        &self,
        order_id: &str,
        request: ReturnRequest,
    ) -> Result<ControlOutcome, TransitionError> {
        self.state
            .return_money(order_id, ReturnKind::Refund, &request)
            .await
    }

    /// A chargeback by the payer's bank of `request.amount` (default: everything left) and
    /// its notification (`chargeback` or `partial_chargeback`).
    pub async fn chargeback(
        &self,
        order_id: &str,
        request: ReturnRequest,
    ) -> Result<ControlOutcome, TransitionError> {
        self.state
            .return_money(order_id, ReturnKind::Chargeback, &request)
            .await
    }

    /// While held, charges wait before they are processed; retries with the same
    /// `Idempotency-Key` meanwhile answer HTTP 202. Release to let them finish.
    pub fn hold_charges(&self, hold: bool) {
        self.state.hold_charges(hold);
    }

    /// Moves the simulator's clock forward (the `Idempotency-Key` retention).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.state.clock().advance(by);
    }

    /// Arms faults as `POST /_sim/faults` does.
    pub fn inject_faults(&self, request: &FaultRequest) {
        self.state.faults().arm(request);
    }

    /// Stops accepting requests, lets in-flight ones finish, and ends retries and timers.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until the server ends on its own (the binary races this against Ctrl-C).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match self.task.as_mut() {
            Some(task) => Ok(task.await.context("simulator server task")??),
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Sends the stop command at once; nothing left to await it.
        drop(self.server.stop(false));
    }
}

fn base_url_for(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
