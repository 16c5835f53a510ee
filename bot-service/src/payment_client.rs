//! Request/reply with the payment-service over the broker, typed per command. The bot never
//! opens the database: balances, orders, stock and top-ups all go through here.

use std::time::Duration;

use crate::domain::i18n::Lang;
use broker::{Broker, BrokerError};
use shared_proto::{
    AdminBatchDefective, AdminOrderProcess, AdminOrdersList, AdminOwedClear, AdminProduct,
    AdminReportAction, AdminStats, AdminStockAdd, AdminStockQuarantine, AdminStockView,
    BalanceQuery, BalanceReply, BatchDefective, CatalogQuery, CatalogReply, Command, DiscordUserId,
    Envelope, HistoryQuery, HistoryReply, OrderAccepted, OrderCodes, OrderCodesQuery, OrderCreate,
    OrderProcessed, OrdersPage, OwedCleared, ProductsView, QuarantineProcessed, Reply,
    ReportActionDone, ReportCreate, ReportView, ServiceError, StatsView, StockAdded, StockView,
    TopupCancel, TopupCreate, TopupCreated, TopupInfo, TopupStatusQuery,
};

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The payment-service refused or could not do it; the reason is for people.
    #[error("{}", .0.describe())]
    Service(ServiceError),
    #[error("the payment service did not answer in time")]
    Timeout,
    #[error("the payment service is unavailable")]
    Unavailable(#[source] BrokerError),
    #[error("the payment service sent an unexpected reply {0:?}")]
    UnexpectedReply(String),
}

impl RequestError {
    /// A sentence for the user in `lang`; contains nothing internal.
    pub fn user_message(&self, lang: Lang) -> String {
        match self {
            RequestError::Service(e) => crate::domain::views::service_error(lang, e),
            RequestError::Timeout => crate::tr!(lang, "err-timeout"),
            RequestError::Unavailable(_) | RequestError::UnexpectedReply(_) => {
                crate::tr!(lang, "err-unavailable")
            }
        }
    }
}

#[derive(Clone)]
pub struct PaymentClient {
    broker: Broker,
    timeout: Duration,
}

macro_rules! expect_reply {
    ($reply:expr, $variant:path) => {
        match $reply {
            $variant(r) => r.outcome.map_err(RequestError::Service),
            Reply::Error(e) => Err(RequestError::Service(match e.outcome {
                Err(se) => se,
                // No detail: the catalogue's sentence is shown.
                Ok(()) => ServiceError::Internal {
                    message: String::new(),
                },
            })),
            other => Err(RequestError::UnexpectedReply(
                shared_proto::MessageFamily::message_type(&other).to_string(),
            )),
        }
    };
}

impl PaymentClient {
    pub fn new(broker: Broker, timeout: Duration) -> Self {
        PaymentClient { broker, timeout }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Sends one command and waits for its reply. The span carries the envelope's correlation id
    /// (the payment-service logs the same one for the command) and the request id where the
    /// command has one, so one user action can be followed through both services' logs.
    #[tracing::instrument(
        skip_all,
        fields(
            command = command.message_type_str(),
            request_id = request_id_of(&command).unwrap_or(""),
            correlation_id = tracing::field::Empty,
        )
    )]
    async fn send(&self, command: Command) -> Result<Reply, RequestError> {
        let envelope = Envelope::new(command);
        tracing::Span::current().record(
            "correlation_id",
            tracing::field::display(envelope.correlation_id),
        );
        let started = std::time::Instant::now();
        let result = match self.broker.request(&envelope, self.timeout).await {
            Ok(reply) => Ok(reply.payload),
            Err(BrokerError::Timeout) => Err(RequestError::Timeout),
            Err(e) => Err(RequestError::Unavailable(e)),
        };
        match &result {
            Ok(reply) => tracing::info!(
                reply = shared_proto::MessageFamily::message_type(reply),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "payment-service answered"
            ),
            Err(error) => tracing::warn!(%error, "payment-service request failed"),
        }
        result
    }

    pub async fn catalog(&self) -> Result<CatalogReply, RequestError> {
        expect_reply!(
            self.send(Command::CatalogGet(CatalogQuery {})).await?,
            Reply::Catalog
        )
    }

    pub async fn balance(&self, user_id: DiscordUserId) -> Result<BalanceReply, RequestError> {
        expect_reply!(
            self.send(Command::BalanceGet(BalanceQuery { user_id }))
                .await?,
            Reply::Balance
        )
    }

    pub async fn history(
        &self,
        user_id: DiscordUserId,
        limit: u32,
    ) -> Result<HistoryReply, RequestError> {
        expect_reply!(
            self.send(Command::HistoryGet(HistoryQuery { user_id, limit }))
                .await?,
            Reply::History
        )
    }

    pub async fn create_order(&self, order: OrderCreate) -> Result<OrderAccepted, RequestError> {
        expect_reply!(
            self.send(Command::OrderCreate(order)).await?,
            Reply::OrderCreate
        )
    }

    pub async fn create_topup(&self, topup: TopupCreate) -> Result<TopupCreated, RequestError> {
        expect_reply!(
            self.send(Command::TopupCreate(topup)).await?,
            Reply::TopupCreate
        )
    }

    pub async fn topup_status(
        &self,
        user_id: DiscordUserId,
        order_id: String,
    ) -> Result<TopupInfo, RequestError> {
        expect_reply!(
            self.send(Command::TopupStatus(TopupStatusQuery { user_id, order_id }))
                .await?,
            Reply::TopupStatus
        )
    }

    pub async fn cancel_topup(
        &self,
        user_id: DiscordUserId,
        order_id: String,
    ) -> Result<TopupInfo, RequestError> {
        expect_reply!(
            self.send(Command::TopupCancel(TopupCancel { user_id, order_id }))
                .await?,
            Reply::TopupStatus
        )
    }

    pub async fn add_stock(&self, req: AdminStockAdd) -> Result<StockAdded, RequestError> {
        expect_reply!(
            self.send(Command::AdminStockAdd(req)).await?,
            Reply::StockAdded
        )
    }

    pub async fn view_stock(&self, req: AdminStockView) -> Result<StockView, RequestError> {
        expect_reply!(
            self.send(Command::AdminStockView(req)).await?,
            Reply::StockView
        )
    }

    pub async fn list_orders(&self, req: AdminOrdersList) -> Result<OrdersPage, RequestError> {
        expect_reply!(
            self.send(Command::AdminOrdersList(req)).await?,
            Reply::OrdersPage
        )
    }

    pub async fn process_order(
        &self,
        req: AdminOrderProcess,
    ) -> Result<OrderProcessed, RequestError> {
        expect_reply!(
            self.send(Command::AdminOrderProcess(req)).await?,
            Reply::OrderProcessed
        )
    }

    pub async fn quarantine_stock(
        &self,
        req: AdminStockQuarantine,
    ) -> Result<QuarantineProcessed, RequestError> {
        expect_reply!(
            self.send(Command::AdminStockQuarantine(req)).await?,
            Reply::QuarantineProcessed
        )
    }

    pub async fn clear_owed(&self, req: AdminOwedClear) -> Result<OwedCleared, RequestError> {
        expect_reply!(
            self.send(Command::AdminOwedClear(req)).await?,
            Reply::OwedCleared
        )
    }

    pub async fn stats(&self, req: AdminStats) -> Result<StatsView, RequestError> {
        expect_reply!(self.send(Command::AdminStats(req)).await?, Reply::Stats)
    }

    /// A buyer reports codes of their order; the answer is the report (no code in it).
    pub async fn create_report(&self, req: ReportCreate) -> Result<ReportView, RequestError> {
        expect_reply!(
            self.send(Command::ReportCreate(req)).await?,
            Reply::ReportCreated
        )
    }

    pub async fn report_action(
        &self,
        req: AdminReportAction,
    ) -> Result<ReportActionDone, RequestError> {
        expect_reply!(
            self.send(Command::AdminReportAction(req)).await?,
            Reply::ReportActionDone
        )
    }

    /// Manage the catalogue (`admin.product`): the answer lists every product.
    pub async fn admin_product(&self, req: AdminProduct) -> Result<ProductsView, RequestError> {
        expect_reply!(
            self.send(Command::AdminProduct(req)).await?,
            Reply::Products
        )
    }

    /// A buyer's own completed order's codes, again (`order.codes`). The reply holds codes:
    /// nothing of it is logged here or by [`Self::send`] (which logs the reply's type only).
    pub async fn order_codes(&self, req: OrderCodesQuery) -> Result<OrderCodes, RequestError> {
        expect_reply!(
            self.send(Command::OrderCodes(req)).await?,
            Reply::OrderCodes
        )
    }

    pub async fn batch_defective(
        &self,
        req: AdminBatchDefective,
    ) -> Result<BatchDefective, RequestError> {
        expect_reply!(
            self.send(Command::AdminBatchDefective(req)).await?,
            Reply::BatchDefective
        )
    }
}

trait TypeStr {
    fn message_type_str(&self) -> &'static str;
}

impl TypeStr for Command {
    fn message_type_str(&self) -> &'static str {
        shared_proto::MessageFamily::message_type(self)
    }
}

/// The request id of commands that carry one (idempotency key of orders, top-ups and admin work).
fn request_id_of(command: &Command) -> Option<&str> {
    match command {
        Command::OrderCreate(c) => Some(&c.request_id),
        Command::TopupCreate(c) => Some(&c.request_id),
        Command::AdminStockAdd(c) => Some(&c.request_id),
        Command::AdminOrderProcess(c) => Some(&c.request_id),
        Command::ReportCreate(c) => Some(&c.request_id),
        Command::AdminReportAction(c) => Some(&c.request_id),
        Command::AdminBatchDefective(c) => Some(&c.request_id),
        Command::AdminProduct(c) => Some(&c.request_id),
        Command::OrderCodes(c) => Some(&c.request_id),
        _ => None,
    }
}
