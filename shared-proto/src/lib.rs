//! Message contracts between bot-service and payment-service.
//!
//! Holds wire types and broker topology only — no service logic. Every message travels in an
//! [`Envelope`] (message id, correlation id, type, schema version, timestamp). Messages on one
//! queue form a family ([`Command`], [`Reply`], [`Event`]); decoding an unknown type is an error.
//! See `README.md` in this crate for the catalogue.

pub mod envelope;
pub mod ids;
pub mod messages;
pub mod money;
pub mod topology;

pub use envelope::{DecodeError, Envelope, MessageFamily, SCHEMA_VERSION};
pub use ids::{
    DiscordGuildId, DiscordUserId, InvalidDiscordId, PackageSize, ProductId, UnknownPackage,
};
pub use messages::*;
pub use money::{Idr, IdrParseError};
pub use topology::Topology;

message_family! {
    /// Requests to the payment-service (routing key = type). Each expects a [`Reply`].
    pub enum Command {
        OrderCreate(OrderCreate) = "order.create",
        TopupCreate(TopupCreate) = "topup.create",
        TopupStatus(TopupStatusQuery) = "topup.status",
        TopupCancel(TopupCancel) = "topup.cancel",
        BalanceGet(BalanceQuery) = "balance.get",
        HistoryGet(HistoryQuery) = "history.get",
        CatalogGet(CatalogQuery) = "catalog.get",
        AdminStockAdd(AdminStockAdd) = "admin.stock.add",
        AdminStockView(AdminStockView) = "admin.stock.view",
        AdminOrdersList(AdminOrdersList) = "admin.orders.list",
        AdminOrderProcess(AdminOrderProcess) = "admin.order.process",
        AdminStats(AdminStats) = "admin.stats",
        AdminStockQuarantine(AdminStockQuarantine) = "admin.stock.quarantine",
        AdminOwedClear(AdminOwedClear) = "admin.owed.clear",
        ReportCreate(ReportCreate) = "report.create",
        AdminReportAction(AdminReportAction) = "admin.report.action",
        AdminBatchDefective(AdminBatchDefective) = "admin.batch.defective",
        AdminProduct(AdminProduct) = "admin.product",
        OrderCodes(OrderCodesQuery) = "order.codes",
    }
}

message_family! {
    /// Answers of the payment-service, one per [`Command`].
    pub enum Reply {
        OrderCreate(OrderCreateReply) = "reply.order.create",
        TopupCreate(TopupCreateReply) = "reply.topup.create",
        TopupStatus(TopupStatusReply) = "reply.topup.status",
        Balance(QueryReply<BalanceReply>) = "reply.balance",
        History(QueryReply<HistoryReply>) = "reply.history",
        Catalog(QueryReply<CatalogReply>) = "reply.catalog",
        StockAdded(AdminReply<StockAdded>) = "reply.admin.stock.add",
        StockView(AdminReply<StockView>) = "reply.admin.stock.view",
        OrdersPage(AdminReply<OrdersPage>) = "reply.admin.orders.list",
        OrderProcessed(AdminReply<OrderProcessed>) = "reply.admin.order.process",
        Stats(AdminReply<StatsView>) = "reply.admin.stats",
        QuarantineProcessed(AdminReply<QuarantineProcessed>) = "reply.admin.stock.quarantine",
        OwedCleared(AdminReply<OwedCleared>) = "reply.admin.owed.clear",
        ReportCreated(ReportCreateReply) = "reply.report.create",
        ReportActionDone(AdminReply<ReportActionDone>) = "reply.admin.report.action",
        BatchDefective(AdminReply<BatchDefective>) = "reply.admin.batch.defective",
        Products(AdminReply<ProductsView>) = "reply.admin.product",
        OrderCodes(OrderCodesReply) = "reply.order.codes",
        /// The command could not be decoded or handled at all.
        Error(QueryReply<()>) = "reply.error",
    }
}

message_family! {
    /// Events published after a database change (through the outbox) or by the bot after a delivery.
    pub enum Event {
        DeliveryRequested(DeliveryRequested) = "delivery.requested",
        DeliveryConfirmed(DeliveryConfirmed) = "delivery.confirmed",
        DeliveryFailed(DeliveryFailed) = "delivery.failed",
        TopupSettled(TopupSettled) = "topup.settled",
        TopupExpired(TopupExpired) = "topup.expired",
        StockLow(StockLow) = "stock.low",
        OrderFailed(OrderFailed) = "order.failed",
        OrderRefunded(OrderRefunded) = "order.refunded",
        OrderAnomaly(OrderAnomaly) = "order.anomaly",
        TopupReversed(TopupReversed) = "topup.reversed",
        ReportUpdated(ReportUpdated) = "report.updated",
    }
}
