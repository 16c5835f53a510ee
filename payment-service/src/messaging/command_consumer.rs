//! The payment-service's command consumer: decodes every [`Command`], runs it, and answers on the
//! requester's reply queue. It acknowledges only after the handler's transaction committed;
//! handlers are idempotent (request ids), so a redelivered command returns the first outcome.
//!
//! Failure policy: an undecodable command is answered with `reply.error` (when it says where to
//! reply) and dead-lettered; an unexpected failure (database down, …) is retried through the
//! broker until the last allowed delivery, which answers `Internal` and is dead-lettered.

use std::sync::Arc;
use std::time::Instant;

use broker::{Broker, Handler, HandlerOutcome, IncomingMessage};
use sea_orm::DatabaseConnection;
use shared_proto::{
    Command, Envelope, MessageFamily, OrderCodesReply, QueryReply, Reply, ReportCreateReply,
    ServiceError, TopupStatusReply,
};
use uuid::Uuid;

use crate::admin::AdminService;
use crate::config::PaymentConfig;
use crate::metrics::Metrics;
use crate::orders::OrderService;
use crate::queries;
use crate::stock_vault::StockVault;
use crate::topups::TopupService;

/// Everything the command consumer needs.
pub struct CommandDeps {
    pub db: DatabaseConnection,
    pub config: Arc<PaymentConfig>,
    pub vault: StockVault,
    pub topups: TopupService,
    pub broker: Broker,
    pub metrics: Metrics,
}

pub struct CommandConsumer {
    db: DatabaseConnection,
    config: Arc<PaymentConfig>,
    orders: OrderService,
    admin: AdminService,
    topups: TopupService,
    broker: Broker,
    metrics: Metrics,
}

impl CommandConsumer {
    pub fn new(deps: CommandDeps) -> Self {
        let events_exchange = deps.broker.topology().events_exchange();
        let orders = OrderService::new(
            deps.db.clone(),
            deps.config.clone(),
            deps.vault,
            deps.metrics.clone(),
            events_exchange,
        );
        CommandConsumer {
            db: deps.db,
            config: deps.config,
            admin: AdminService::new(orders.clone()),
            orders,
            topups: deps.topups,
            broker: deps.broker,
            metrics: deps.metrics,
        }
    }

    /// Runs one command. `Err` = unexpected failure, nothing committed.
    pub async fn dispatch(&self, envelope: &Envelope<Command>) -> anyhow::Result<Reply> {
        let correlation_id = envelope.correlation_id;
        Ok(match &envelope.payload {
            Command::OrderCreate(cmd) => {
                Reply::OrderCreate(self.orders.create(cmd, correlation_id).await?)
            }
            Command::TopupCreate(cmd) => Reply::TopupCreate(self.topups.create(cmd).await),
            Command::TopupStatus(q) => Reply::TopupStatus(self.topups.status(q).await),
            Command::TopupCancel(q) => Reply::TopupStatus(self.topups.cancel(q).await),
            Command::BalanceGet(q) => Reply::Balance(QueryReply {
                outcome: Ok(queries::balance(&self.db, q).await?),
            }),
            Command::HistoryGet(q) => Reply::History(QueryReply {
                outcome: Ok(queries::history(&self.db, q).await?),
            }),
            Command::CatalogGet(_) => Reply::Catalog(QueryReply {
                outcome: Ok(queries::catalog(&self.db, &self.config).await?),
            }),
            Command::AdminStockAdd(cmd) => {
                Reply::StockAdded(self.admin.stock_add(cmd, correlation_id).await?)
            }
            Command::AdminStockView(cmd) => Reply::StockView(self.admin.stock_view(cmd).await?),
            Command::AdminOrdersList(cmd) => Reply::OrdersPage(self.admin.orders_list(cmd).await?),
            Command::AdminOrderProcess(cmd) => {
                Reply::OrderProcessed(self.admin.order_process(cmd, correlation_id).await?)
            }
            Command::AdminStats(cmd) => Reply::Stats(self.admin.stats(cmd).await?),
            Command::AdminStockQuarantine(cmd) => {
                Reply::QuarantineProcessed(self.admin.stock_quarantine(cmd, correlation_id).await?)
            }
            Command::AdminOwedClear(cmd) => Reply::OwedCleared(self.admin.owed_clear(cmd).await?),
            Command::ReportCreate(cmd) => Reply::ReportCreated(ReportCreateReply {
                request_id: cmd.request_id.clone(),
                outcome: self.orders.report_create(cmd).await?,
            }),
            Command::AdminReportAction(cmd) => {
                Reply::ReportActionDone(self.admin.report_action(cmd, correlation_id).await?)
            }
            Command::AdminBatchDefective(cmd) => {
                Reply::BatchDefective(self.admin.batch_defective(cmd).await?)
            }
            Command::AdminProduct(cmd) => Reply::Products(self.admin.product(cmd).await?),
            Command::OrderCodes(q) => Reply::OrderCodes(OrderCodesReply {
                request_id: q.request_id.clone(),
                outcome: self.orders.order_codes(q).await?,
            }),
        })
    }

    async fn answer(&self, reply_to: Option<&str>, correlation_id: Uuid, reply: Reply) -> bool {
        let Some(reply_to) = reply_to else {
            return true;
        };
        let envelope = Envelope::with_correlation(reply, correlation_id);
        match self.broker.reply(reply_to, correlation_id, &envelope).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, %correlation_id, "sending the reply failed");
                false
            }
        }
    }
}

/// The reply for a command that failed unexpectedly for good.
fn internal_error(command: &Command) -> Reply {
    let error = ServiceError::Internal {
        message: "The service could not handle this request; please try again later.".into(),
    };
    match command {
        Command::TopupStatus(_) | Command::TopupCancel(_) => Reply::TopupStatus(TopupStatusReply {
            outcome: Err(error),
        }),
        _ => Reply::Error(QueryReply {
            outcome: Err(error),
        }),
    }
}

#[async_trait::async_trait]
impl Handler for CommandConsumer {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let started = Instant::now();
        let envelope = match Envelope::<Command>::from_bytes(&message.body) {
            Ok(e) => e,
            Err(error) => {
                tracing::warn!(%error, "undecodable command; answering with an error and dead-lettering it");
                let correlation_id = message
                    .correlation_id
                    .as_deref()
                    .and_then(|c| c.parse::<Uuid>().ok())
                    .unwrap_or_else(Uuid::nil);
                let reply = Reply::Error(QueryReply {
                    outcome: Err(ServiceError::InvalidInput {
                        message: format!("The request could not be read: {error}"),
                        refusal: None,
                    }),
                });
                self.answer(message.reply_to.as_deref(), correlation_id, reply)
                    .await;
                return HandlerOutcome::Reject;
            }
        };
        let message_type = envelope.payload.message_type();
        let correlation_id = envelope.correlation_id;
        let span = tracing::info_span!("command", message_type, %correlation_id);
        let outcome = tracing::Instrument::instrument(
            async {
                match self.dispatch(&envelope).await {
                    Ok(reply) => {
                        if self
                            .answer(message.reply_to.as_deref(), correlation_id, reply)
                            .await
                        {
                            HandlerOutcome::Ack
                        } else {
                            // Committed but unanswered: the redelivery replays the first outcome.
                            HandlerOutcome::Retry
                        }
                    }
                    Err(error) => {
                        let last = message.delivery_count + 1 >= self.config.amqp_delivery_limit;
                        tracing::warn!(
                            error = format!("{error:#}"),
                            delivery_count = message.delivery_count,
                            last,
                            "command failed"
                        );
                        if last {
                            self.answer(
                                message.reply_to.as_deref(),
                                correlation_id,
                                internal_error(&envelope.payload),
                            )
                            .await;
                            HandlerOutcome::Reject
                        } else {
                            HandlerOutcome::Retry
                        }
                    }
                }
            },
            span,
        )
        .await;
        self.metrics
            .handler_latency
            .with_label_values(&[message_type])
            .observe(started.elapsed().as_secs_f64());
        outcome
    }
}
