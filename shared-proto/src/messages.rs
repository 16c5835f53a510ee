//! Payloads of every command, reply and event. Field names are the wire format: renaming one is
//! a breaking change and shows up in the golden files under `tests/golden/`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DiscordGuildId, DiscordUserId, PackageSize, ProductId};
use crate::money::Idr;

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Who a request is for. The username is informative only (kept in `users.username`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub user_id: DiscordUserId,
    #[serde(default)]
    pub username: Option<String>,
    /// Discord's locale of the interaction (`id`, `en-US`, …): the payment-service remembers it
    /// (`users.locale`) and puts it on the events for this user, so a DM sent later speaks the
    /// language the user last used. Absent from older bots: the remembered one stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The Discord interaction that started a request, so any bot replica can still answer it
/// (ephemeral follow-ups) while its token lives (15 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRef {
    pub application_id: String,
    pub token: String,
    /// The channel the user clicked in (the fallback thread goes there if no public channel is set).
    #[serde(default)]
    pub channel_id: Option<String>,
    /// When the interaction was created; its token expires 15 minutes later.
    pub created_at: DateTime<Utc>,
}

/// Proof, given by the bot, that a Discord member holding the admin role in one of the shop's
/// guilds asked for exactly this admin operation with exactly these parameters.
///
/// `signature` is hex HMAC-SHA256 over [`AdminClaim::signing_input`] with the secret both
/// services share (`ADMIN_CLAIM_SECRET`), so another broker client cannot forge it. The signed
/// input covers who (`admin_user_id`, `role`), when (`issued_at`), the request id, where
/// (`guild_id`), what (`operation`, the message type such as `admin.stats`) and with which
/// parameters (`params_digest`, see [`params_digest`]). A claim captured from one command is
/// therefore worthless for another operation, other parameters or another guild.
///
/// `guild_id`, `operation` and `params_digest` default to empty when absent (claims of bots
/// older than this version decode, and are then refused as unbound).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminClaim {
    pub admin_user_id: DiscordUserId,
    #[serde(default)]
    pub admin_username: Option<String>,
    /// The role that made the member an admin (its id).
    pub role: String,
    pub issued_at: DateTime<Utc>,
    /// The shop guild the command was used in.
    #[serde(default)]
    pub guild_id: Option<DiscordGuildId>,
    /// The message type this claim authorises, e.g. `admin.stock.add`.
    #[serde(default)]
    pub operation: String,
    /// Hex SHA-256 of the command's parameters, see [`params_digest`].
    #[serde(default)]
    pub params_digest: String,
    pub signature: String,
}

impl AdminClaim {
    /// The bytes the signature covers: `admin-claim:v2|` and a JSON array of the user id, role,
    /// issue time (unix seconds), request id, guild id (`""` when none), operation and
    /// parameter digest. JSON quoting keeps the fields apart whatever a role name contains.
    pub fn signing_input(&self, request_id: &str) -> String {
        let fields = serde_json::json!([
            self.admin_user_id.to_string(),
            self.role,
            self.issued_at.timestamp(),
            request_id,
            self.guild_id.map(|g| g.to_string()).unwrap_or_default(),
            self.operation,
            self.params_digest,
        ]);
        format!("admin-claim:v2|{fields}")
    }

    /// Fills `operation` and `params_digest` for `command`: what the signer must do before it
    /// computes the signature, and what the verifier recomputes to compare.
    pub fn bind_to<T: AdminOperation>(&mut self, command: &T) -> Result<(), serde_json::Error> {
        self.operation = T::OPERATION.to_string();
        self.params_digest = params_digest(command)?;
        Ok(())
    }
}

/// An admin command: a payload that carries an [`AdminClaim`] in its `claim` field.
/// Every new admin command implements this (with `OPERATION` = its message type), so its claim
/// is bound to it and to all of its fields, including fields added later.
pub trait AdminOperation: Serialize {
    /// The message type, e.g. `admin.stats`.
    const OPERATION: &'static str;
    fn request_id(&self) -> &str;
    fn claim(&self) -> &AdminClaim;
    fn claim_mut(&mut self) -> &mut AdminClaim;
}

/// The digest an admin claim binds its command's parameters with: lower-case hex SHA-256 of the
/// canonical JSON of the command without its top-level `claim` field. Canonical: serde_json's
/// compact form of the payload struct with every object's keys sorted (byte order), recursively;
/// absent optional fields appear as `null`, as serde writes them. Both services compute it from
/// the typed struct, so a field added to a command later is covered without further work.
pub fn params_digest<T: AdminOperation>(command: &T) -> Result<String, serde_json::Error> {
    use sha2::{Digest, Sha256};
    let mut value = serde_json::to_value(command)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("claim");
    }
    let canonical = serde_json::to_string(&sorted(value))?;
    Ok(hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// `value` with every object's keys in sorted order, whichever map serde_json was built with.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

macro_rules! admin_operation {
    ($($ty:ident = $op:expr),* $(,)?) => {$(
        impl AdminOperation for $ty {
            const OPERATION: &'static str = $op;
            fn request_id(&self) -> &str {
                &self.request_id
            }
            fn claim(&self) -> &AdminClaim {
                &self.claim
            }
            fn claim_mut(&mut self) -> &mut AdminClaim {
                &mut self.claim
            }
        }
    )*};
}

admin_operation! {
    AdminStockAdd = crate::topology::commands::ADMIN_STOCK_ADD,
    AdminStockView = crate::topology::commands::ADMIN_STOCK_VIEW,
    AdminOrdersList = crate::topology::commands::ADMIN_ORDERS_LIST,
    AdminOrderProcess = crate::topology::commands::ADMIN_ORDER_PROCESS,
    AdminStats = crate::topology::commands::ADMIN_STATS,
    AdminStockQuarantine = crate::topology::commands::ADMIN_STOCK_QUARANTINE,
    AdminOwedClear = crate::topology::commands::ADMIN_OWED_CLEAR,
    AdminReportAction = crate::topology::commands::ADMIN_REPORT_ACTION,
    AdminBatchDefective = crate::topology::commands::ADMIN_BATCH_DEFECTIVE,
    AdminProduct = crate::topology::commands::ADMIN_PRODUCT,
}

/// What a free-text refusal means, so the bot words it in the buyer's or admin's language; the
/// variant's `message` keeps the English sentence (logs, older bots). A kind this build does not
/// know reads as [`Refusal::Unknown`], never as an unreadable reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// No such order of this user (or no such order at all: an admin's view).
    OrderNotFound {
        order_number: String,
    },
    /// The order is not `completed`: only a delivered order can be reported.
    OrderNotDelivered {
        order_number: String,
    },
    /// The order already has an open report.
    ReportAlreadyOpen {
        order_number: String,
    },
    /// This code of the order was already replaced or refunded.
    CodeAlreadySettled {
        order_number: String,
        position: u32,
    },
    /// The order has codes 1 to `quantity`; there is no code `position`.
    NoSuchCode {
        position: u32,
        quantity: u32,
    },
    /// "Other" needs the buyer's words.
    ReportNoteRequired,
    ReportNotFound {
        report_id: i64,
    },
    /// The report is closed; nothing more to do.
    ReportClosed {
        report_id: i64,
    },
    /// The position is not a still-open code of the report.
    ReportCodeNotOpen {
        report_id: i64,
        position: u32,
    },
    /// Rejecting needs a reason the buyer reads.
    RejectionReasonRequired,
    BatchNotFound {
        batch_id: String,
    },
    /// Money returned after a top-up is still owed; orders wait until an admin clears it.
    BalanceOwed {
        owed: Idr,
    },
    RefundsDisabled,
    AlreadyRefunded {
        order_number: String,
    },
    /// A completed or delivering order is refunded only with force and a reason.
    RefundNeedsForce {
        order_number: String,
    },
    ForcedRefundNeedsReason {
        order_number: String,
    },
    /// The order changed while the admin looked at it.
    OrderChanged {
        order_number: String,
    },
    TopupNotFound {
        order_id: String,
    },
    /// The price changed after the buyer saw it: nothing was charged; `price` is the new one.
    PriceChanged {
        product: String,
        package: PackageSize,
        confirmed: Idr,
        price: Idr,
    },
    /// No such product, or (for buyers) no longer on sale.
    ProductNotFound {
        product_id: ProductId,
    },
    /// The product is not on sale (disabled by an admin).
    ProductInactive {
        product: String,
    },
    /// This package of the product is not on sale.
    PackageNotOnSale {
        product: String,
        package: PackageSize,
    },
    /// Another product already has this name.
    ProductNameTaken {
        name: String,
    },
    /// A product name must be 1 to 80 characters; a description at most 300.
    ProductNameInvalid,
    /// The order's codes can be shown again only within this many days of the purchase.
    RevealWindowPassed {
        order_number: String,
        days: u32,
    },
    #[serde(other)]
    Unknown,
}

/// Machine-readable reason for a refused request; the bot turns these into messages for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ServiceError {
    InsufficientBalance {
        balance: Idr,
        price: Idr,
        shortfall: Idr,
    },
    OutOfStock {
        requested: u32,
        available: u32,
    },
    UnknownPackage {
        codes: u32,
    },
    InvalidAmount {
        min: Idr,
        max: Idr,
        message: String,
    },
    DailyOrderLimit {
        limit: u32,
    },
    Cooldown {
        retry_after_secs: u64,
    },
    Forbidden {
        message: String,
        /// What the refusal means, for the bot to word it in the user's language (absent from
        /// older payment-services and for refusals without one: the bot words the variant).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<Refusal>,
    },
    NotFound {
        message: String,
        /// What the refusal means, for the bot to word it in the user's language (absent from
        /// older payment-services and for refusals without one: the bot words the variant).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<Refusal>,
    },
    InvalidInput {
        message: String,
        /// What the refusal means, for the bot to word it in the user's language (absent from
        /// older payment-services and for refusals without one: the bot words the variant).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<Refusal>,
    },
    /// Midtrans (or another provider) failed; the user can try again later.
    ProviderUnavailable {
        message: String,
        /// Set when the top-up exists and stays pending while Midtrans finishes creating its
        /// QR (Midtrans answered HTTP 202 for longer than the service waits): the bot shows
        /// the top-up with its Check-status button instead of a failure. Absent from older
        /// payment-services, and ignored by older bots, which show `message`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending_order_id: Option<String>,
    },
    Internal {
        message: String,
    },
}

impl ServiceError {
    /// A short sentence for people; contains no secret by construction.
    pub fn describe(&self) -> String {
        match self {
            ServiceError::InsufficientBalance { balance, price, shortfall } => format!(
                "Not enough balance: the price is {price}, your balance is {balance}; top up at least {shortfall}."
            ),
            ServiceError::OutOfStock { requested, available } => format!(
                "Not enough codes in stock: you asked for {requested}, {available} available."
            ),
            ServiceError::UnknownPackage { codes } => {
                format!("There is no package of {codes} codes.")
            }
            ServiceError::InvalidAmount { message, .. } => message.clone(),
            ServiceError::DailyOrderLimit { limit } => {
                format!("You reached today's limit of {limit} orders.")
            }
            ServiceError::Cooldown { retry_after_secs } => {
                format!("Please wait {retry_after_secs} s before ordering again.")
            }
            ServiceError::Forbidden { message, .. }
            | ServiceError::NotFound { message, .. }
            | ServiceError::InvalidInput { message, .. }
            | ServiceError::ProviderUnavailable { message, .. }
            | ServiceError::Internal { message } => message.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Commands: bot-service → payment-service (request/reply)

/// Buy a package. `request_id` is the Discord interaction id: a redelivered or repeated request
/// returns the first outcome and charges nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreate {
    pub request_id: String,
    pub user: UserRef,
    pub package: PackageSize,
    #[serde(default)]
    pub interaction: Option<InteractionRef>,
    /// The product bought; absent (a bot of the previous version) means the default product.
    #[serde(default)]
    pub product_id: ProductId,
    /// The price the buyer saw and confirmed. When the current price differs, the order is
    /// refused with [`Refusal::PriceChanged`] and nothing is charged. Absent from older bots
    /// (then the current price is charged, as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_price: Option<Idr>,
}

/// `order.codes`: a buyer asks to see the codes of one of their own completed orders again
/// ("my purchases"). Only the buyer, only within the service's reveal window, a few times an
/// hour; every reveal is audited. `to_dm` says the bot will send them by DM rather than show
/// them ephemerally (audited as such).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCodesQuery {
    pub request_id: String,
    pub user: UserRef,
    pub order_number: String,
    #[serde(default)]
    pub to_dm: bool,
}

/// Start a QRIS top-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupCreate {
    pub request_id: String,
    pub user: UserRef,
    pub amount: Idr,
    #[serde(default)]
    pub interaction: Option<InteractionRef>,
}

/// Ask (and refresh from Midtrans) the state of one of the user's top-ups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupStatusQuery {
    pub user_id: DiscordUserId,
    pub order_id: String,
}

/// Cancel one of the user's pending top-ups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupCancel {
    pub user_id: DiscordUserId,
    pub order_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceQuery {
    pub user_id: DiscordUserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub user_id: DiscordUserId,
    /// At most this many orders and this many top-ups (the service caps it at 25).
    pub limit: u32,
}

/// The packages with prices and current availability, for the picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CatalogQuery {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStockAdd {
    pub request_id: String,
    pub claim: AdminClaim,
    /// The product the codes are of; absent (an older bot) means the default product. Left out
    /// when it is the default, so the claim digest of an older bot's upload still matches.
    #[serde(default, skip_serializing_if = "ProductId::is_default")]
    pub product_id: ProductId,
    /// One code a line; blank lines and lines starting with `#` are skipped.
    pub text: String,
    #[serde(default)]
    pub source_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStockView {
    pub request_id: String,
    pub claim: AdminClaim,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderFilter {
    #[serde(default)]
    pub user_id: Option<DiscordUserId>,
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// Inclusive, UTC dates.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Only this product's orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<ProductId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrdersList {
    pub request_id: String,
    pub claim: AdminClaim,
    #[serde(default)]
    pub filter: OrderFilter,
    /// Zero-based.
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessAction {
    /// Send the order's codes again.
    Redeliver,
    /// Give the money back; the codes are never sold again.
    Refund,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderProcess {
    pub request_id: String,
    pub claim: AdminClaim,
    pub order_number: String,
    pub action: ProcessAction,
    /// Refunding a `completed` or `delivering` order (the buyer may hold the codes) is refused
    /// unless the admin sets this and gives a [`reason`](Self::reason). Absent in messages of
    /// older bots: false.
    #[serde(default)]
    pub force: bool,
    /// Why the admin acts; required with `force`, written to the audit log and echoed in the
    /// reply.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineAction {
    /// Put every quarantined code that decrypts again (its key is back) on sale; the rest stay.
    Release,
    /// Delete every quarantined code for good (its key is lost); a later upload of the same
    /// codes adds them again under the current key.
    Discard,
}

/// Release or discard the codes taken off sale because they could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStockQuarantine {
    pub request_id: String,
    pub claim: AdminClaim,
    pub action: QuarantineAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStats {
    pub request_id: String,
    pub claim: AdminClaim,
}

/// Clears what a user owes after a refund or chargeback of a top-up the balance could no
/// longer cover (the money was settled with the user some other way, or written off). Until
/// then the user cannot order. The claim covers this request; the clearing is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOwedClear {
    pub request_id: String,
    pub claim: AdminClaim,
    pub user_id: DiscordUserId,
    /// Why (kept in the audit row).
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a buyer reports codes of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// The code was already redeemed.
    AlreadyUsed,
    /// Redfinger says the code does not exist or is malformed.
    Invalid,
    /// Anything else; the buyer's note says what.
    Other,
}

/// `report.create`: a buyer reports codes of one of their own completed orders. The codes are
/// named by their 1-based positions in the order as it was delivered (never by the codes
/// themselves); none means every code. A repeated request (same `request_id`) answers the first
/// report; an order has at most one open report; a buyer may open only a few reports an hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCreate {
    pub request_id: String,
    pub user: UserRef,
    pub order_number: String,
    #[serde(default)]
    pub positions: Vec<u32>,
    pub reason: ReportReason,
    /// The buyer's words (required for [`ReportReason::Other`]); at most 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// What an admin does about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Show the reported codes to this admin only (audited).
    Reveal,
    /// Fresh codes from stock for the chosen reported codes, delivered to the buyer; the old
    /// ones are marked defective.
    Replace,
    /// Refund the chosen reported codes' share of the order price to the buyer's balance.
    Refund,
    /// Close the report without replacing or refunding (with a reason for the buyer).
    Reject,
}

/// `admin.report.action`: an admin acts on a report. `positions` are positions of reported
/// codes still open; none means all of them. Replace and refund of one report by two admins at
/// once act once (the report's rows are locked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminReportAction {
    pub request_id: String,
    pub claim: AdminClaim,
    pub report_id: i64,
    pub action: ReportAction,
    #[serde(default)]
    pub positions: Vec<u32>,
    /// Required to reject (told to the buyer and audited).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `admin.batch.defective`: every code of a stock batch is declared defective (the supplier's
/// batch is bad). Its unsold codes leave sale at once; sold ones are counted as defects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminBatchDefective {
    pub request_id: String,
    pub claim: AdminClaim,
    pub batch_id: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A package of a product with its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagePrice {
    pub package: PackageSize,
    pub price: Idr,
}

/// What an admin does to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ProductAction {
    /// Every product, active or not, with prices and stock counts.
    List,
    /// A new product, active, with the packages on sale and their prices.
    Add {
        name: String,
        #[serde(default)]
        description: String,
        prices: Vec<PackagePrice>,
        #[serde(default)]
        display_order: Option<i32>,
        #[serde(default)]
        low_stock_threshold: Option<u64>,
    },
    /// Changes the fields given; the others stay.
    Edit {
        product_id: ProductId,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        display_order: Option<i32>,
        #[serde(default)]
        low_stock_threshold: Option<u64>,
        /// `Some(true)` puts a disabled product back on sale.
        #[serde(default)]
        active: Option<bool>,
    },
    /// Takes the product off sale (its stock and orders stay).
    Disable { product_id: ProductId },
    /// Sets one package's price (effective for the next order on every replica), or takes the
    /// package off sale (`price` absent).
    SetPrice {
        product_id: ProductId,
        package: PackageSize,
        #[serde(default)]
        price: Option<Idr>,
    },
}

/// `admin.product`: manage the catalogue; every change is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProduct {
    pub request_id: String,
    pub claim: AdminClaim,
    pub action: ProductAction,
}

// ---------------------------------------------------------------------------------------------
// Replies: payment-service → the requester's reply queue

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Delivering,
    Completed,
    Failed,
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Delivering => "delivering",
            OrderStatus::Completed => "completed",
            OrderStatus::Failed => "failed",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OrderStatus::Pending,
            "delivering" => OrderStatus::Delivering,
            "completed" => OrderStatus::Completed,
            "failed" => OrderStatus::Failed,
            "refunded" => OrderStatus::Refunded,
            _ => return None,
        })
    }
}

/// The order was accepted and charged; codes follow in `delivery.requested`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    pub order_number: String,
    /// The product bought (the default product in replies of older services).
    #[serde(default)]
    pub product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    pub package: PackageSize,
    pub total_price: Idr,
    pub balance_after: Idr,
    pub status: OrderStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreateReply {
    pub request_id: String,
    pub outcome: Result<OrderAccepted, ServiceError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupCreated {
    /// Midtrans order id, `ORDER-{user_id}-{unix_ts}…`.
    pub order_id: String,
    pub amount: Idr,
    /// The EMV QRIS payload; the bot renders it as a QR image.
    pub qr_string: String,
    pub expires_at: DateTime<Utc>,
    /// The payment-service runs against Midtrans's sandbox (`MIDTRANS_IS_PRODUCTION=false`):
    /// the QR takes no real money, and the bot says so on it. Absent in replies of older
    /// payment-services, which read as `false`.
    #[serde(default)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupCreateReply {
    pub request_id: String,
    pub outcome: Result<TopupCreated, ServiceError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopupState {
    Pending,
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupInfo {
    pub order_id: String,
    pub amount: Idr,
    pub state: TopupState,
    /// Midtrans's own word (`settlement`, `expire`, …) when known.
    #[serde(default)]
    pub midtrans_status: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    /// The QRIS payload while the top-up is pending and Midtrans has created it, so "Check
    /// status" can show the QR of a top-up whose charge completed late. Absent otherwise (and
    /// from older payment-services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_string: Option<String>,
    /// The top-up was charged against Midtrans's sandbox (see [`TopupCreated::sandbox`]).
    #[serde(default)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupStatusReply {
    pub outcome: Result<TopupInfo, ServiceError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceReply {
    pub user_id: DiscordUserId,
    pub balance: Idr,
    pub total_topup: Idr,
    pub total_spent: Idr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub order_number: String,
    pub user_id: DiscordUserId,
    /// The product bought (the default product in replies of older services).
    #[serde(default)]
    pub product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    pub package: PackageSize,
    pub total_price: Idr,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Refunded code by code after a report (the order is then partially refunded); zero
    /// otherwise and from older payment-services.
    #[serde(default)]
    pub refunded: Idr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryReply {
    pub user_id: DiscordUserId,
    pub orders: Vec<OrderSummary>,
    pub topups: Vec<TopupInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub package: PackageSize,
    pub price: Idr,
    /// Whether enough codes are available right now for this package.
    pub in_stock: bool,
}

/// One active product as buyers see it: its packages on sale, with prices and availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOffer {
    pub product_id: ProductId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub available_codes: u64,
    pub packages: Vec<CatalogEntry>,
}

impl ProductOffer {
    /// The lowest price of a package on sale ("from Rp …").
    pub fn from_price(&self) -> Option<Idr> {
        self.packages.iter().map(|p| p.price).min()
    }
}

/// `packages` and `available_codes` describe the default product (what bots of the previous
/// version show); `products` lists every active product in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogReply {
    pub packages: Vec<CatalogEntry>,
    pub available_codes: u64,
    #[serde(default)]
    pub products: Vec<ProductOffer>,
}

impl CatalogReply {
    pub fn product(&self, id: ProductId) -> Option<&ProductOffer> {
        self.products.iter().find(|p| p.product_id == id)
    }
}

/// A product as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub product_id: ProductId,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub display_order: i32,
    /// The product's own threshold; absent: the service's `LOW_STOCK_THRESHOLD`.
    #[serde(default)]
    pub low_stock_threshold: Option<u64>,
    /// Packages on sale, smallest first.
    pub prices: Vec<PackagePrice>,
    pub counts: StockCounts,
}

/// Answer to [`AdminProduct`]: the product acted on (none for `list`) and the whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductsView {
    #[serde(default)]
    pub changed: Option<ProductId>,
    pub products: Vec<ProductInfo>,
}

/// Codes of a buyer's own order shown again (never logged, never in an event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCodes {
    pub order_number: String,
    pub product_id: ProductId,
    pub product_name: String,
    pub package: PackageSize,
    pub completed_at: Option<DateTime<Utc>>,
    /// In delivery order; replaced or refunded codes are left out.
    pub codes: Vec<RevealedCode>,
    pub to_dm: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCodesReply {
    pub request_id: String,
    pub outcome: Result<OrderCodes, ServiceError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedLine {
    /// 1-based line number in the uploaded text.
    pub line: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdded {
    pub batch_id: String,
    pub added: u32,
    /// Already in stock, or repeated inside the upload.
    pub duplicates: u32,
    pub rejected: Vec<RejectedLine>,
    pub available_after: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StockCounts {
    pub available: u64,
    /// Codes bound to an order not yet completed, plus the quarantined ones.
    pub reserved: u64,
    pub sold: u64,
    /// Of `reserved`: codes taken off sale because they could not be decrypted (a key missing
    /// or wrong); an admin releases or discards them (`admin.stock.quarantine`).
    #[serde(default)]
    pub quarantined: u64,
    /// Codes marked defective (reported bad and replaced or refunded, or of a batch declared
    /// defective); the unsold ones among them are off sale.
    #[serde(default)]
    pub defective: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockBatchSummary {
    pub batch_id: String,
    pub added: u32,
    pub duplicates: u32,
    pub rejected: u32,
    #[serde(default)]
    pub added_by: Option<DiscordUserId>,
    pub created_at: DateTime<Utc>,
    /// The product the batch was uploaded for.
    #[serde(default)]
    pub product_id: ProductId,
    /// Codes of the batch sold so far and, of all its codes, those marked defective: a seller
    /// claims from the supplier with these (the defect rate is `defective / added`).
    #[serde(default)]
    pub sold: u64,
    #[serde(default)]
    pub defective: u64,
}

/// One product's stock, for `/admin viewstock` and `/admin botstats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductStock {
    pub product_id: ProductId,
    pub name: String,
    pub active: bool,
    pub counts: StockCounts,
    pub low_stock_threshold: u64,
    /// Completed orders and their revenue over the last 30 days (stats only; zero in stock views).
    #[serde(default)]
    pub last_30_days: PeriodStats,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockView {
    /// Every product together.
    pub counts: StockCounts,
    pub low_stock_threshold: u64,
    pub recent_batches: Vec<StockBatchSummary>,
    /// Per product, in display order (empty from older services).
    #[serde(default)]
    pub products: Vec<ProductStock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<OrderSummary>,
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProcessed {
    pub order_number: String,
    pub action: ProcessAction,
    pub status: OrderStatus,
    /// Money returned (refund only).
    #[serde(default)]
    pub refunded: Option<Idr>,
    /// The refund overrode the order's state (it was `completed` or `delivering`).
    #[serde(default)]
    pub forced: bool,
    /// The admin's reason, as given.
    #[serde(default)]
    pub reason: Option<String>,
    /// Queued (not yet published) deliveries of the order that the refund cancelled.
    #[serde(default)]
    pub voided_deliveries: u32,
}

/// What `admin.stock.quarantine` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineProcessed {
    pub action: QuarantineAction,
    /// Codes put back on sale.
    pub released: u64,
    /// Codes deleted.
    pub discarded: u64,
    /// Codes still quarantined (their key is still missing or wrong).
    pub still_quarantined: u64,
    pub available_after: u64,
}

/// Answer to [`AdminOwedClear`]: how much was owed and is now cleared (0 when nothing was).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedCleared {
    pub user_id: DiscordUserId,
    pub cleared: Idr,
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Some reported codes await an admin.
    Open,
    /// Every reported code was replaced, refunded or turned down.
    Resolved,
    /// Rejected as a whole.
    Rejected,
}

/// What became of one reported code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeOutcome {
    Replaced,
    Refunded,
    Rejected,
}

/// One reported code: its position in the order and, once decided, its outcome. Never the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedCode {
    pub position: u32,
    #[serde(default)]
    pub outcome: Option<CodeOutcome>,
}

/// A report as buyers and admins see it: no code in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    pub report_id: i64,
    pub order_number: String,
    pub user_id: DiscordUserId,
    pub package: PackageSize,
    pub total_price: Idr,
    pub ordered_at: DateTime<Utc>,
    pub reason: ReportReason,
    #[serde(default)]
    pub note: Option<String>,
    pub status: ReportStatus,
    pub codes: Vec<ReportedCode>,
    /// Refunded of this order so far, code by code (all its reports).
    pub refunded: Idr,
    #[serde(default)]
    pub rejection: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCreateReply {
    pub request_id: String,
    pub outcome: Result<ReportView, ServiceError>,
}

/// A code shown to an admin who asked to see it (never logged, never in an event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealedCode {
    pub position: u32,
    pub code: String,
}

/// Answer to [`AdminReportAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportActionDone {
    pub action: ReportAction,
    pub report: ReportView,
    /// [`ReportAction::Reveal`] only.
    #[serde(default)]
    pub revealed: Vec<RevealedCode>,
    /// Positions this action replaced, refunded or turned down.
    #[serde(default)]
    pub positions: Vec<u32>,
    /// Refunded by this action.
    #[serde(default)]
    pub refunded: Idr,
}

/// Answer to [`AdminBatchDefective`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchDefective {
    pub batch_id: String,
    /// Unsold codes taken off sale now.
    pub withdrawn: u64,
    /// Codes of the batch now counted defective (sold or not).
    pub defective: u64,
    pub available_after: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PeriodStats {
    pub orders: u64,
    pub codes_sold: u64,
    pub revenue: Idr,
    pub topups: u64,
    pub topup_amount: Idr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsView {
    pub today: PeriodStats,
    pub last_7_days: PeriodStats,
    pub last_30_days: PeriodStats,
    pub stock: StockCounts,
    pub failed_deliveries: u64,
    pub users: u64,
    /// Batches with defective codes, most defective first (at most 10).
    #[serde(default)]
    pub defective_batches: Vec<StockBatchSummary>,
    /// Reports waiting for an admin.
    #[serde(default)]
    pub open_reports: u64,
    /// Per product, in display order (empty from older services).
    #[serde(default)]
    pub products: Vec<ProductStock>,
}

/// Answer to any admin operation (or to the balance/history/catalog queries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminReply<T> {
    pub request_id: String,
    pub outcome: Result<T, ServiceError>,
}

/// Answer to the plain queries, which can still fail (database down, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryReply<T> {
    pub outcome: Result<T, ServiceError>,
}

// ---------------------------------------------------------------------------------------------
// Events

/// Codes to hand to a user. Carries the plaintext codes: it travels only over the broker, and
/// the bot never logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRequested {
    pub order_number: String,
    pub user_id: DiscordUserId,
    /// The product bought; absent (an older payment-service) means the default product.
    #[serde(default)]
    pub product_id: ProductId,
    /// Its name, for the message (absent from older services: the bot says "codes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    pub package: PackageSize,
    pub total_price: Idr,
    pub codes: Vec<String>,
    /// 1 for the first delivery; higher for retries and admin re-deliveries.
    pub attempt: u32,
    #[serde(default)]
    pub interaction: Option<InteractionRef>,
    /// The user's remembered Discord locale (`users.locale`), for the words of the message;
    /// absent when unknown (the bot then uses its `DEFAULT_LOCALE`) and from older services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// A replacement after a report: the positions (in the order as first delivered) whose
    /// codes these replace. Empty for an order's own delivery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacing: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// Codes in an embed in a direct message.
    Dm,
    /// Codes as a .txt attachment in a direct message.
    File,
    /// An ephemeral follow-up or a private thread, when DMs are closed.
    Channel,
}

impl DeliveryMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMethod::Dm => "dm",
            DeliveryMethod::File => "file",
            DeliveryMethod::Channel => "channel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryConfirmed {
    pub order_number: String,
    pub attempt: u32,
    pub method: DeliveryMethod,
    #[serde(default)]
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailed {
    pub order_number: String,
    pub attempt: u32,
    /// What went wrong, without any code or token in it.
    pub error: String,
    /// False when retrying cannot help (e.g. the user is unknown to Discord).
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupSettled {
    pub order_id: String,
    pub user_id: DiscordUserId,
    pub amount: Idr,
    pub balance_after: Idr,
    pub paid_at: DateTime<Utc>,
    #[serde(default)]
    pub interaction: Option<InteractionRef>,
    /// The user's remembered Discord locale (`users.locale`), for the words of the message;
    /// absent when unknown (the bot then uses its `DEFAULT_LOCALE`) and from older services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupExpired {
    pub order_id: String,
    pub user_id: DiscordUserId,
    pub amount: Idr,
    /// `expire`, `cancel`, `deny` or `failure`.
    pub midtrans_status: String,
    #[serde(default)]
    pub interaction: Option<InteractionRef>,
    /// The user's remembered Discord locale (`users.locale`), for the words of the message;
    /// absent when unknown (the bot then uses its `DEFAULT_LOCALE`) and from older services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLow {
    /// The product running low (the default product from older services).
    #[serde(default)]
    pub product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    pub available: u64,
    pub threshold: u64,
    /// Users to DM besides the alert channel (`STOCK_ADMIN_USER_IDS`).
    #[serde(default)]
    pub notify_user_ids: Vec<DiscordUserId>,
}

/// An order gave up delivering and waits for an admin (`processorder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFailed {
    pub order_number: String,
    pub user_id: DiscordUserId,
    pub attempts: u32,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// The bot confirmed a delivery of an order that had been refunded: the buyer got the
    /// codes and the money back. The order stays refunded; an admin decides what to do.
    DeliveredAfterRefund,
}

/// Something happened that must not have: recorded in `order_anomalies` and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAnomaly {
    pub order_number: String,
    pub user_id: DiscordUserId,
    pub kind: AnomalyKind,
    /// For people; no code or token in it.
    pub detail: String,
}

/// Money of a credited top-up went back to the payer after settlement (a refund or a
/// chargeback, whole or partial): it was taken back from the balance as far as the balance
/// allowed; the rest is owed and blocks orders until an admin clears it. For the alert channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupReversed {
    pub order_id: String,
    pub user_id: DiscordUserId,
    /// `refund`, `partial_refund`, `chargeback` or `partial_chargeback`.
    pub midtrans_status: String,
    /// What this report returned of the top-up.
    pub returned: Idr,
    /// Taken back from the balance.
    pub taken_from_balance: Idr,
    /// Could not be taken back: added to what the user owes.
    pub owed: Idr,
    pub balance_after: Idr,
    /// Everything the user owes now.
    pub total_owed: Idr,
}

/// The user's money came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefunded {
    pub order_number: String,
    pub user_id: DiscordUserId,
    pub amount: Idr,
    pub balance_after: Idr,
    /// The user's remembered Discord locale (`users.locale`), for the words of the message;
    /// absent when unknown (the bot then uses its `DEFAULT_LOCALE`) and from older services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// A report's outcome for its buyer: what an admin decided. No code in it; a replacement's
/// codes travel in their own `delivery.requested`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportUpdated {
    pub report: ReportView,
    pub action: ReportAction,
    pub positions: Vec<u32>,
    #[serde(default)]
    pub refunded: Idr,
    #[serde(default)]
    pub balance_after: Option<Idr>,
    /// See [`DeliveryRequested::locale`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}
