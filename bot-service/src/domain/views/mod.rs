//! Every screen the bot shows, as plain [`Message`] data: the main menu, the order and top-up
//! steps, balance/history, admin views and notifications. No Discord I/O here. Every word comes
//! from the catalogue (`bot-service/locales`) in the [`Lang`] the screen is for.

use chrono::{DateTime, Utc};
use shared_proto::{
    AnomalyKind, BalanceReply, BatchDefective, CatalogEntry, CodeOutcome, DiscordUserId,
    HistoryReply, Idr, OrderAccepted, OrderAnomaly, OrderFailed, OrderProcessed, OrderRefunded,
    OrderStatus, OrderSummary, OrdersPage, OwedCleared, PackageSize, ProcessAction, ProductId,
    ProductOffer, QuarantineAction, QuarantineProcessed, Refusal, ReportAction, ReportActionDone,
    ReportReason, ReportStatus, ReportUpdated, ReportView, RevealedCode, ServiceError, StatsView,
    StockAdded, StockBatchSummary, StockLow, StockView, TopupCreated, TopupInfo, TopupReversed,
    TopupState,
};

mod catalog;
mod purchases;

pub use catalog::*;
pub use purchases::*;

use super::custom_id::{ComponentAction, CustomIdError, MenuItem};
use super::i18n::{self, Lang};
use super::message::{
    button_rows, Attachment, Button, ButtonStyle, Embed, Message, Modal, Row, Select, SelectOption,
    TextInput, COLOR_BRAND, COLOR_ERROR, COLOR_OK, COLOR_WARN,
};
use super::report::{positions_list, MAX_NOTE_CHARS, MAX_POSITIONS_CHARS, MAX_REJECTION_CHARS};
use crate::tr;

/// Input ids of the bot's modals (read back from their submits).
pub const AMOUNT_INPUT: &str = "amount";
pub const POSITIONS_INPUT: &str = "positions";
pub const NOTE_INPUT: &str = "note";
pub const REASON_INPUT: &str = "reason";

fn id(action: ComponentAction) -> Result<String, CustomIdError> {
    action.encode()
}

fn when(lang: Lang, t: DateTime<Utc>) -> String {
    i18n::datetime(lang, t)
}

fn pkg(lang: Lang, package: PackageSize) -> String {
    i18n::package(lang, package)
}

/// The main menu (also the persistent panel): its buttons belong to nobody, so anyone can use
/// them and they keep working after restarts. The panel is posted once for everyone, in the
/// shop's `DEFAULT_LOCALE`; what each click answers is in the clicker's language.
pub fn main_menu(lang: Lang) -> Message {
    let b = |item, label: String, style| {
        Button::new(label, ComponentAction::Menu(item).to_string(), style)
    };
    Message::embed(
        Embed::new(
            tr!(lang, "menu-title"),
            tr!(lang, "menu-description"),
            COLOR_BRAND,
        )
        .footer(tr!(lang, "menu-footer")),
    )
    .with_row(Row::Buttons(vec![
        b(
            MenuItem::Order,
            tr!(lang, "menu-order"),
            ButtonStyle::Primary,
        ),
        b(
            MenuItem::Topup,
            tr!(lang, "menu-topup"),
            ButtonStyle::Success,
        ),
        b(
            MenuItem::Balance,
            tr!(lang, "menu-balance"),
            ButtonStyle::Secondary,
        ),
        b(
            MenuItem::History,
            tr!(lang, "menu-history"),
            ButtonStyle::Secondary,
        ),
        b(
            MenuItem::Help,
            tr!(lang, "menu-help"),
            ButtonStyle::Secondary,
        ),
    ]))
}

pub fn help(lang: Lang) -> Message {
    Message::embed(
        Embed::new(tr!(lang, "help-title"), "", COLOR_BRAND)
            .field(tr!(lang, "help-topup-name"), tr!(lang, "help-topup"), false)
            .field(tr!(lang, "help-order-name"), tr!(lang, "help-order"), false)
            .field(
                tr!(lang, "help-receive-name"),
                tr!(lang, "help-receive"),
                false,
            )
            .field(
                tr!(lang, "help-commands-name"),
                tr!(lang, "help-commands"),
                false,
            ),
    )
}

/// A clear refusal or failure, shown to the user only.
pub fn error(lang: Lang, text: impl Into<String>) -> Message {
    Message::embed(Embed::new(tr!(lang, "error-title"), text, COLOR_ERROR))
}

pub fn notice(title: impl Into<String>, text: impl Into<String>) -> Message {
    Message::embed(Embed::new(title, text, COLOR_WARN))
}

pub fn foreign_click(lang: Lang) -> Message {
    error(lang, tr!(lang, "foreign-click"))
}

pub fn stale_click(lang: Lang) -> Message {
    error(lang, tr!(lang, "stale-click"))
}

/// A refusal of the payment-service in words for people. Refusals with data (balance, stock,
/// limits) are fully worded from the catalogue; the free-text ones carry the service's English
/// sentence, shown as is to English speakers and replaced by the catalogue's sentence for the
/// kind of refusal otherwise.
pub fn service_error(lang: Lang, e: &ServiceError) -> String {
    match e {
        ServiceError::InsufficientBalance {
            balance,
            price,
            shortfall,
        } => tr!(
            lang,
            "err-insufficient-balance",
            price = *price,
            balance = *balance,
            shortfall = *shortfall
        ),
        ServiceError::OutOfStock {
            requested,
            available,
        } => tr!(
            lang,
            "err-out-of-stock",
            requested = *requested,
            available = *available
        ),
        ServiceError::UnknownPackage { codes } => tr!(lang, "err-unknown-package", codes = *codes),
        ServiceError::InvalidAmount { min, max, .. } => {
            tr!(lang, "err-invalid-amount", min = *min, max = *max)
        }
        ServiceError::DailyOrderLimit { limit } => tr!(lang, "err-daily-limit", limit = *limit),
        ServiceError::Cooldown { retry_after_secs } => {
            tr!(lang, "err-cooldown", seconds = *retry_after_secs)
        }
        ServiceError::Forbidden { message, refusal } => refusal_text(lang, refusal.as_ref())
            .unwrap_or_else(|| free_text(lang, message, "err-forbidden")),
        ServiceError::NotFound { message, refusal } => refusal_text(lang, refusal.as_ref())
            .unwrap_or_else(|| free_text(lang, message, "err-not-found")),
        ServiceError::InvalidInput { message, refusal } => refusal_text(lang, refusal.as_ref())
            .unwrap_or_else(|| free_text(lang, message, "err-invalid-input")),
        ServiceError::ProviderUnavailable { message, .. } => {
            free_text(lang, message, "err-provider")
        }
        ServiceError::Internal { message } => free_text(lang, message, "err-internal"),
    }
}

/// A refusal the payment-service explained (`Refusal`), in the catalogue's words; None for a
/// refusal without one, or of a kind this build does not know.
fn refusal_text(lang: Lang, refusal: Option<&Refusal>) -> Option<String> {
    Some(match refusal? {
        Refusal::OrderNotFound { order_number } => {
            tr!(
                lang,
                "refusal-order-not-found",
                order = order_number.as_str()
            )
        }
        Refusal::OrderNotDelivered { order_number } => {
            tr!(
                lang,
                "refusal-order-not-delivered",
                order = order_number.as_str()
            )
        }
        Refusal::ReportAlreadyOpen { order_number } => {
            tr!(
                lang,
                "refusal-report-already-open",
                order = order_number.as_str()
            )
        }
        Refusal::CodeAlreadySettled {
            order_number,
            position,
        } => tr!(
            lang,
            "refusal-code-already-settled",
            order = order_number.as_str(),
            position = *position
        ),
        Refusal::NoSuchCode { position, quantity } => tr!(
            lang,
            "refusal-no-such-code",
            position = *position,
            quantity = *quantity
        ),
        Refusal::ReportNoteRequired => tr!(lang, "refusal-report-note-required"),
        Refusal::ReportNotFound { report_id } => {
            tr!(lang, "refusal-report-not-found", id = *report_id)
        }
        Refusal::ReportClosed { report_id } => tr!(lang, "refusal-report-closed", id = *report_id),
        Refusal::ReportCodeNotOpen {
            report_id,
            position,
        } => tr!(
            lang,
            "refusal-report-code-not-open",
            id = *report_id,
            position = *position
        ),
        Refusal::RejectionReasonRequired => tr!(lang, "refusal-rejection-reason-required"),
        Refusal::BatchNotFound { batch_id } => {
            tr!(lang, "refusal-batch-not-found", batch = batch_id.as_str())
        }
        Refusal::BalanceOwed { owed } => tr!(lang, "refusal-balance-owed", amount = *owed),
        Refusal::RefundsDisabled => tr!(lang, "refusal-refunds-disabled"),
        Refusal::AlreadyRefunded { order_number } => {
            tr!(
                lang,
                "refusal-already-refunded",
                order = order_number.as_str()
            )
        }
        Refusal::RefundNeedsForce { order_number } => {
            tr!(
                lang,
                "refusal-refund-needs-force",
                order = order_number.as_str()
            )
        }
        Refusal::ForcedRefundNeedsReason { order_number } => tr!(
            lang,
            "refusal-forced-refund-needs-reason",
            order = order_number.as_str()
        ),
        Refusal::OrderChanged { order_number } => {
            tr!(lang, "refusal-order-changed", order = order_number.as_str())
        }
        Refusal::TopupNotFound { order_id } => {
            tr!(lang, "refusal-topup-not-found", order = order_id.as_str())
        }
        Refusal::PriceChanged {
            product,
            package,
            confirmed,
            price,
        } => tr!(
            lang,
            "refusal-price-changed",
            product = product.as_str(),
            package = pkg(lang, *package),
            confirmed = *confirmed,
            price = *price
        ),
        Refusal::ProductNotFound { product_id } => {
            tr!(lang, "refusal-product-not-found", id = product_id.get())
        }
        Refusal::ProductInactive { product } => {
            tr!(lang, "refusal-product-inactive", product = product.as_str())
        }
        Refusal::PackageNotOnSale { product, package } => tr!(
            lang,
            "refusal-package-not-on-sale",
            product = product.as_str(),
            package = pkg(lang, *package)
        ),
        Refusal::ProductNameTaken { name } => {
            tr!(lang, "refusal-product-name-taken", name = name.as_str())
        }
        Refusal::ProductNameInvalid => tr!(lang, "refusal-product-name-invalid"),
        Refusal::RevealWindowPassed { order_number, days } => tr!(
            lang,
            "refusal-reveal-window-passed",
            order = order_number.as_str(),
            days = *days
        ),
        Refusal::Unknown => return None,
    })
}

fn free_text(lang: Lang, message: &str, key: &'static str) -> String {
    match lang {
        Lang::En if !message.trim().is_empty() => message.to_string(),
        _ => match key {
            "err-forbidden" => tr!(lang, "err-forbidden"),
            "err-not-found" => tr!(lang, "err-not-found"),
            "err-invalid-input" => tr!(lang, "err-invalid-input"),
            "err-provider" => tr!(lang, "err-provider"),
            _ => tr!(lang, "err-internal"),
        },
    }
}

/// The package select menu of one product, with prices and availability. `several`: the shop
/// has other products too, so the product is named (with one product the step reads as it
/// always did).
pub fn package_picker(
    lang: Lang,
    owner: DiscordUserId,
    offer: &ProductOffer,
    several: bool,
) -> Result<Message, CustomIdError> {
    let options: Vec<SelectOption> = offer
        .packages
        .iter()
        .map(|e| SelectOption {
            label: super::message::truncate(
                &tr!(
                    lang,
                    "package-option",
                    package = pkg(lang, e.package),
                    price = e.price
                ),
                super::message::limits::OPTION_LABEL,
            ),
            value: e.package.codes().to_string(),
            description: Some(if e.in_stock {
                tr!(lang, "package-in-stock")
            } else {
                tr!(lang, "package-out-of-stock")
            }),
        })
        .collect();
    if options.is_empty() {
        return Ok(notice(
            tr!(lang, "nothing-on-sale-title"),
            tr!(lang, "nothing-on-sale"),
        ));
    }
    let (title, description) = if several {
        (
            super::message::truncate(
                &tr!(lang, "picker-product-title", product = offer.name.as_str()),
                super::message::limits::TITLE,
            ),
            tr!(
                lang,
                "picker-product-description",
                available = offer.available_codes
            ),
        )
    } else {
        (
            tr!(lang, "picker-title"),
            tr!(
                lang,
                "picker-description",
                available = offer.available_codes
            ),
        )
    };
    let mut embed = Embed::new(title, description, COLOR_BRAND);
    if several && !offer.description.trim().is_empty() {
        embed = embed.field(tr!(lang, "field-product"), offer.description.clone(), false);
    }
    Ok(Message::embed(embed.fitted()).with_row(Row::Select(Select {
        custom_id: id(ComponentAction::PickPackage {
            owner,
            product: offer.product_id,
        })?,
        placeholder: tr!(lang, "picker-placeholder"),
        options,
        disabled: false,
    })))
}

/// What the buyer is buying at the confirm step: the product (named when the shop has a name
/// for it) and the package.
#[derive(Debug, Clone, Copy)]
pub struct Purchase<'a> {
    pub product: ProductId,
    /// `None` from an older service (the one-product shop): the step shows the package only.
    pub product_name: Option<&'a str>,
    pub package: PackageSize,
}

/// "VIP 30 days: 5 codes", or "5 codes" without a product name.
pub fn purchase_title(lang: Lang, p: &Purchase<'_>) -> String {
    match p.product_name.filter(|n| !n.trim().is_empty()) {
        Some(name) => tr!(
            lang,
            "purchase-line",
            product = name,
            package = pkg(lang, p.package)
        ),
        None => pkg(lang, p.package),
    }
}

/// The confirm step: price, balance and the balance after. Not enough balance → shortfall and a
/// Top up button instead of Confirm.
pub fn confirm_order(
    lang: Lang,
    owner: DiscordUserId,
    purchase: Purchase<'_>,
    entry: &CatalogEntry,
    balance: Idr,
    nonce: u64,
) -> Result<Message, CustomIdError> {
    if !entry.in_stock {
        return Ok(notice(
            tr!(lang, "out-of-stock-title"),
            tr!(lang, "out-of-stock", package = pkg(lang, entry.package)),
        ));
    }
    let after = balance.checked_sub(entry.price).unwrap_or(Idr::ZERO);
    if balance < entry.price {
        let shortfall = entry.price.checked_sub(balance).unwrap_or(Idr::ZERO);
        return insufficient_balance(lang, owner, balance, entry.price, shortfall);
    }
    Ok(Message::embed(
        Embed::new(
            tr!(lang, "confirm-title"),
            format!("**{}**", purchase_title(lang, &purchase)),
            COLOR_BRAND,
        )
        .field(tr!(lang, "field-price"), entry.price.to_string(), true)
        .field(tr!(lang, "field-your-balance"), balance.to_string(), true)
        .field(tr!(lang, "field-balance-after"), after.to_string(), true)
        .fitted(),
    )
    .with_row(confirm_buttons(
        lang,
        owner,
        purchase.product,
        entry.package,
        Some(entry.price),
        nonce,
        false,
    )?))
}

fn confirm_buttons(
    lang: Lang,
    owner: DiscordUserId,
    product: ProductId,
    package: PackageSize,
    price: Option<Idr>,
    nonce: u64,
    disabled: bool,
) -> Result<Row, CustomIdError> {
    let mut confirm = Button::new(
        tr!(lang, "button-confirm"),
        id(ComponentAction::ConfirmOrder {
            owner,
            product,
            package,
            price,
            nonce,
        })?,
        ButtonStyle::Success,
    );
    let mut cancel = Button::new(
        tr!(lang, "button-cancel"),
        id(ComponentAction::CancelOrder { owner })?,
        ButtonStyle::Secondary,
    );
    confirm.disabled = disabled;
    cancel.disabled = disabled;
    Ok(Row::Buttons(vec![confirm, cancel]))
}

pub fn insufficient_balance(
    lang: Lang,
    owner: DiscordUserId,
    balance: Idr,
    price: Idr,
    shortfall: Idr,
) -> Result<Message, CustomIdError> {
    let _ = owner;
    Ok(Message::embed(
        Embed::new(
            tr!(lang, "short-title"),
            tr!(lang, "short-description", shortfall = shortfall),
            COLOR_WARN,
        )
        .field(tr!(lang, "field-price"), price.to_string(), true)
        .field(tr!(lang, "field-your-balance"), balance.to_string(), true)
        .field(tr!(lang, "field-short-by"), shortfall.to_string(), true),
    )
    .with_row(Row::Buttons(vec![Button::new(
        tr!(lang, "menu-topup"),
        id(ComponentAction::Menu(MenuItem::Topup))?,
        ButtonStyle::Success,
    )])))
}

/// Shown while the order is placed: the buttons stay visible but disabled, so nobody clicks twice.
pub fn order_processing(
    lang: Lang,
    owner: DiscordUserId,
    product: ProductId,
    package: PackageSize,
    price: Option<Idr>,
    nonce: u64,
) -> Result<Message, CustomIdError> {
    Ok(Message::embed(Embed::new(
        tr!(lang, "placing-title"),
        tr!(lang, "placing", package = pkg(lang, package)),
        COLOR_BRAND,
    ))
    .with_row(confirm_buttons(
        lang, owner, product, package, price, nonce, true,
    )?))
}

pub fn order_cancelled(lang: Lang) -> Message {
    notice(
        tr!(lang, "order-cancelled-title"),
        tr!(lang, "nothing-charged"),
    )
}

/// The outcome of `order.create`, shown in place of the confirm step. A changed price offers
/// to confirm again at the new price: `retry` is the product ordered and the nonce (the id of
/// the interaction that got the refusal) a new Confirm would use.
pub fn order_outcome(
    lang: Lang,
    owner: DiscordUserId,
    outcome: &Result<OrderAccepted, ServiceError>,
    retry: (ProductId, u64),
) -> Result<Message, CustomIdError> {
    match outcome {
        Ok(a) => Ok(Message::embed(
            Embed::new(
                tr!(lang, "order-placed-title"),
                tr!(
                    lang,
                    "order-placed",
                    order = a.order_number.as_str(),
                    package = purchase_title(
                        lang,
                        &Purchase {
                            product: a.product_id,
                            product_name: a.product_name.as_deref(),
                            package: a.package,
                        }
                    )
                ),
                COLOR_OK,
            )
            .field(tr!(lang, "field-paid"), a.total_price.to_string(), true)
            .field(
                tr!(lang, "field-balance-now"),
                a.balance_after.to_string(),
                true,
            ),
        )),
        Err(ServiceError::InsufficientBalance {
            balance,
            price,
            shortfall,
        }) => insufficient_balance(lang, owner, *balance, *price, *shortfall),
        Err(ServiceError::InvalidInput {
            refusal:
                Some(Refusal::PriceChanged {
                    product,
                    package,
                    confirmed,
                    price,
                }),
            ..
        }) => price_changed(
            lang,
            owner,
            Purchase {
                product: retry.0,
                product_name: Some(product),
                package: *package,
            },
            *confirmed,
            *price,
            retry.1,
        ),
        Err(e @ ServiceError::OutOfStock { .. }) => Ok(notice(
            tr!(lang, "out-of-stock-title"),
            tr!(lang, "order-out-of-stock", reason = service_error(lang, e)),
        )),
        Err(e) => Ok(error(lang, service_error(lang, e))),
    }
}

/// The top-up amount picker: preset buttons plus "Other amount" (a modal).
pub fn topup_picker(
    lang: Lang,
    owner: DiscordUserId,
    presets: &[Idr],
    min: Idr,
    max: Idr,
) -> Result<Message, CustomIdError> {
    let mut buttons = Vec::new();
    for amount in presets.iter().take(9) {
        buttons.push(Button::new(
            amount.to_string(),
            id(ComponentAction::TopupPreset {
                owner,
                amount: *amount,
            })?,
            ButtonStyle::Primary,
        ));
    }
    buttons.push(Button::new(
        tr!(lang, "topup-other-amount"),
        id(ComponentAction::TopupCustom { owner })?,
        ButtonStyle::Secondary,
    ));
    let mut m = Message::embed(Embed::new(
        tr!(lang, "topup-title"),
        tr!(lang, "topup-picker", min = min, max = max),
        COLOR_BRAND,
    ));
    m.rows = button_rows(buttons);
    Ok(m)
}

/// The custom-amount modal of a top-up.
pub fn topup_modal(lang: Lang, owner: DiscordUserId, min: Idr, max: Idr) -> Modal {
    Modal::new(
        ComponentAction::TopupModal { owner }.to_string(),
        &tr!(lang, "topup-modal-title"),
        vec![
            TextInput::new(AMOUNT_INPUT, tr!(lang, "topup-modal-label"), 20).placeholder(tr!(
                lang,
                "topup-modal-range",
                min = min,
                max = max
            )),
        ],
    )
}

pub const QR_FILE_NAME: &str = "qris.png";

/// What a QR screen shows: from a fresh charge, or from "Check status" of a top-up whose charge
/// completed late.
pub struct TopupQr<'a> {
    pub order_id: &'a str,
    pub amount: Idr,
    pub expires_at: Option<DateTime<Utc>>,
    pub sandbox: bool,
}

impl<'a> From<&'a TopupCreated> for TopupQr<'a> {
    fn from(t: &'a TopupCreated) -> Self {
        TopupQr {
            order_id: &t.order_id,
            amount: t.amount,
            expires_at: Some(t.expires_at),
            sandbox: t.sandbox,
        }
    }
}

impl<'a> From<&'a TopupInfo> for TopupQr<'a> {
    fn from(t: &'a TopupInfo) -> Self {
        TopupQr {
            order_id: &t.order_id,
            amount: t.amount,
            expires_at: t.expires_at,
            sandbox: t.sandbox,
        }
    }
}

fn topup_footer(lang: Lang, order_id: &str) -> String {
    tr!(lang, "topup-footer", order = order_id)
}

fn topup_buttons(lang: Lang, owner: DiscordUserId, order_id: &str) -> Result<Row, CustomIdError> {
    Ok(Row::Buttons(vec![
        Button::new(
            tr!(lang, "button-check-status"),
            id(ComponentAction::TopupCheck {
                owner,
                order_id: order_id.to_string(),
            })?,
            ButtonStyle::Primary,
        ),
        Button::new(
            tr!(lang, "button-cancel"),
            id(ComponentAction::TopupCancel {
                owner,
                order_id: order_id.to_string(),
            })?,
            ButtonStyle::Danger,
        ),
    ]))
}

/// Midtrans is still creating the QR (it answered "in progress" for longer than the service
/// waits): the top-up is pending, not failed; "Check status" shows the QR once it exists.
pub fn topup_being_created(
    lang: Lang,
    owner: DiscordUserId,
    order_id: &str,
    amount: Idr,
) -> Result<Message, CustomIdError> {
    Ok(Message::embed(
        Embed::new(
            tr!(lang, "qr-on-its-way-title"),
            tr!(lang, "qr-on-its-way", amount = amount),
            COLOR_BRAND,
        )
        .footer(topup_footer(lang, order_id)),
    )
    .with_row(topup_buttons(lang, owner, order_id)?))
}

/// The QR to pay, with amount, expiry and Check status / Cancel buttons. A sandbox QR says on
/// every screen that it takes no real money.
pub fn topup_created<'a>(
    lang: Lang,
    owner: DiscordUserId,
    t: impl Into<TopupQr<'a>>,
    qr_png: Vec<u8>,
) -> Result<Message, CustomIdError> {
    let t = t.into();
    let mut embed = if t.sandbox {
        Embed::new(
            tr!(lang, "qr-sandbox-title"),
            tr!(lang, "qr-sandbox"),
            COLOR_WARN,
        )
        .field(tr!(lang, "field-mode"), tr!(lang, "sandbox-label"), false)
    } else {
        Embed::new(
            tr!(lang, "qr-title"),
            tr!(lang, "qr-description"),
            COLOR_BRAND,
        )
    }
    .field(tr!(lang, "field-amount"), t.amount.to_string(), true);
    if let Some(expires_at) = t.expires_at {
        embed = embed.field(tr!(lang, "field-expires"), when(lang, expires_at), true);
    }
    embed = embed.footer(topup_footer(lang, t.order_id));
    embed.image_attachment = Some(format!("attachment://{QR_FILE_NAME}"));
    let mut m = Message::embed(embed).with_row(topup_buttons(lang, owner, t.order_id)?);
    m.attachments.push(Attachment {
        file_name: QR_FILE_NAME.into(),
        bytes: qr_png,
    });
    Ok(m)
}

fn closed_word(lang: Lang, midtrans_status: Option<&str>) -> String {
    match midtrans_status {
        Some("expire") => tr!(lang, "topup-word-expired"),
        Some("cancel") => tr!(lang, "topup-word-cancelled"),
        Some("deny") => tr!(lang, "topup-word-declined"),
        _ => tr!(lang, "topup-word-closed"),
    }
}

pub fn topup_status(lang: Lang, info: &TopupInfo) -> Message {
    let embed = match info.state {
        TopupState::Success => Embed::new(
            tr!(lang, "topup-paid-title"),
            tr!(lang, "topup-added", amount = info.amount),
            COLOR_OK,
        ),
        TopupState::Failed => Embed::new(
            tr!(lang, "topup-not-paid-title"),
            tr!(
                lang,
                "topup-not-paid",
                amount = info.amount,
                state = closed_word(lang, info.midtrans_status.as_deref())
            ),
            COLOR_WARN,
        ),
        TopupState::Pending => Embed::new(
            tr!(lang, "topup-waiting-title"),
            match info.expires_at {
                Some(e) => tr!(
                    lang,
                    "topup-waiting-until",
                    amount = info.amount,
                    expires = when(lang, e)
                ),
                None => tr!(lang, "topup-waiting", amount = info.amount),
            },
            COLOR_BRAND,
        ),
    };
    Message::embed(embed.footer(topup_footer(lang, &info.order_id)))
}

pub fn topup_settled(lang: Lang, order_id: &str, amount: Idr, balance_after: Idr) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "topup-received-title"),
            tr!(lang, "topup-added", amount = amount),
            COLOR_OK,
        )
        .field(
            tr!(lang, "field-balance-now"),
            balance_after.to_string(),
            true,
        )
        .footer(topup_footer(lang, order_id)),
    )
}

pub fn topup_expired(lang: Lang, order_id: &str, amount: Idr, midtrans_status: &str) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "topup-not-completed-title"),
            tr!(
                lang,
                "topup-not-completed",
                amount = amount,
                state = closed_word(lang, Some(midtrans_status))
            ),
            COLOR_WARN,
        )
        .footer(topup_footer(lang, order_id)),
    )
}

pub fn balance(lang: Lang, b: &BalanceReply) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "balance-title"),
            format!("**{}**", b.balance),
            COLOR_BRAND,
        )
        .field(
            tr!(lang, "field-topped-up"),
            b.total_topup.to_string(),
            true,
        )
        .field(tr!(lang, "field-spent"), b.total_spent.to_string(), true),
    )
}

fn order_status(lang: Lang, status: OrderStatus) -> String {
    match status {
        OrderStatus::Pending => tr!(lang, "order-status-pending"),
        OrderStatus::Delivering => tr!(lang, "order-status-delivering"),
        OrderStatus::Completed => tr!(lang, "order-status-completed"),
        OrderStatus::Failed => tr!(lang, "order-status-failed"),
        OrderStatus::Refunded => tr!(lang, "order-status-refunded"),
    }
}

fn order_line(lang: Lang, o: &OrderSummary) -> String {
    let mut status = order_status(lang, o.status);
    if o.refunded.is_positive() && o.status != OrderStatus::Refunded {
        status = tr!(
            lang,
            "order-status-partially-refunded",
            status = status,
            amount = o.refunded
        );
    }
    format!(
        "`{}` {} · {} · {} · {}",
        o.order_number,
        purchase_title(
            lang,
            &Purchase {
                product: o.product_id,
                product_name: o.product_name.as_deref(),
                package: o.package,
            }
        ),
        o.total_price,
        status,
        when(lang, o.created_at)
    )
}

pub fn history(lang: Lang, h: &HistoryReply) -> Message {
    let orders = if h.orders.is_empty() {
        tr!(lang, "history-no-orders")
    } else {
        h.orders
            .iter()
            .map(|o| order_line(lang, o))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let topups = if h.topups.is_empty() {
        tr!(lang, "history-no-topups")
    } else {
        h.topups
            .iter()
            .map(|t| {
                let state = match t.state {
                    TopupState::Pending => tr!(lang, "topup-state-pending"),
                    TopupState::Success => tr!(lang, "topup-state-paid"),
                    TopupState::Failed => tr!(lang, "topup-state-not-paid"),
                };
                format!("{} · {} · {}", t.amount, state, when(lang, t.created_at))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut m = Message::embed(
        Embed::new(tr!(lang, "history-title"), "", COLOR_BRAND)
            .field(tr!(lang, "history-orders"), orders, false)
            .field(tr!(lang, "history-topups"), topups, false)
            .fitted(),
    );
    // "My purchases": the completed orders listed above, to see their codes again.
    m.rows.extend(reveal_picker(lang, h.user_id, &h.orders));
    m
}

pub fn stock_added(lang: Lang, s: &StockAdded) -> Message {
    let mut e = Embed::new(
        tr!(lang, "stock-added-title"),
        tr!(lang, "stock-batch", batch = s.batch_id.as_str()),
        COLOR_OK,
    )
    .field(tr!(lang, "field-added"), s.added.to_string(), true)
    .field(
        tr!(lang, "field-duplicates"),
        s.duplicates.to_string(),
        true,
    )
    .field(
        tr!(lang, "field-available-now"),
        s.available_after.to_string(),
        true,
    );
    if !s.rejected.is_empty() {
        let lines = s
            .rejected
            .iter()
            .take(20)
            .map(|r| {
                tr!(
                    lang,
                    "stock-rejected-line",
                    line = r.line,
                    reason = r.reason.as_str()
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field(
            tr!(lang, "stock-rejected", count = s.rejected.len()),
            lines,
            false,
        );
    }
    Message::embed(e.fitted())
}

pub fn stock_view(lang: Lang, v: &StockView) -> Message {
    let color = if v.counts.available <= v.low_stock_threshold {
        COLOR_WARN
    } else {
        COLOR_BRAND
    };
    let mut e = Embed::new(tr!(lang, "stock-title"), "", color)
        .field(
            tr!(lang, "field-available"),
            v.counts.available.to_string(),
            true,
        )
        .field(
            tr!(lang, "field-reserved"),
            v.counts.reserved.to_string(),
            true,
        )
        .field(tr!(lang, "field-sold"), v.counts.sold.to_string(), true)
        .field(
            tr!(lang, "field-low-stock-at"),
            v.low_stock_threshold.to_string(),
            true,
        );
    e = e.field(
        tr!(lang, "field-defective"),
        v.counts.defective.to_string(),
        true,
    );
    if v.counts.quarantined > 0 {
        e = e.field(
            tr!(lang, "field-quarantined"),
            tr!(lang, "stock-quarantined", count = v.counts.quarantined),
            false,
        );
    }
    if !v.products.is_empty() {
        e = e.field(
            tr!(lang, "field-per-product"),
            product_stock_lines(lang, &v.products, false),
            false,
        );
    }
    if !v.recent_batches.is_empty() {
        // With several products, each batch says whose codes it holds.
        let product_of = |b: &StockBatchSummary| {
            v.products
                .iter()
                .find(|p| p.product_id == b.product_id && v.products.len() > 1)
                .map(|p| p.name.as_str())
        };
        let lines = v
            .recent_batches
            .iter()
            .map(|b| {
                let line = tr!(
                    lang,
                    "stock-batch-line",
                    batch = b.batch_id.as_str(),
                    added = b.added,
                    duplicates = b.duplicates,
                    rejected = b.rejected,
                    sold = b.sold,
                    defective = b.defective,
                    rate = defect_rate(lang, b),
                    at = when(lang, b.created_at)
                );
                match product_of(b) {
                    Some(product) => format!("{product} · {line}"),
                    None => line,
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field(tr!(lang, "field-recent-batches"), lines, false);
    }
    Message::embed(e.fitted())
}

/// A batch's defective codes as a share of the codes it added: `2.5%` / `2,5%`.
fn defect_rate(lang: Lang, b: &StockBatchSummary) -> String {
    let added = u64::from(b.added).max(1);
    // Tenths of a percent, rounded half up.
    let tenths = (b.defective.saturating_mul(1000) + added / 2) / added;
    tr!(lang, "percent", whole = tenths / 10, tenth = tenths % 10)
}

/// One page of orders with Previous/Next buttons that carry the filter.
pub fn orders_page(
    lang: Lang,
    owner: DiscordUserId,
    p: &OrdersPage,
    status: Option<OrderStatus>,
    user: Option<DiscordUserId>,
    product: Option<ProductId>,
) -> Result<Message, CustomIdError> {
    let pages = p.total.div_ceil(u64::from(p.page_size.max(1))).max(1);
    let body = if p.orders.is_empty() {
        tr!(lang, "orders-none")
    } else {
        p.orders
            .iter()
            .map(|o| format!("{} · <@{}>", order_line(lang, o), o.user_id))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut filter = Vec::new();
    if let Some(s) = status {
        filter.push(tr!(
            lang,
            "orders-filter-status",
            status = order_status(lang, s)
        ));
    }
    if let Some(u) = user {
        filter.push(tr!(lang, "orders-filter-user", user = format!("<@{u}>")));
    }
    if let Some(product) = product {
        let name = p
            .orders
            .iter()
            .find(|o| o.product_id == product)
            .and_then(|o| o.product_name.clone())
            .unwrap_or_else(|| format!("#{product}"));
        filter.push(tr!(lang, "orders-filter-product", product = name));
    }
    let mut e = Embed::new(tr!(lang, "orders-title"), body, COLOR_BRAND).footer(tr!(
        lang,
        "orders-footer",
        page = u64::from(p.page) + 1,
        pages = pages,
        total = p.total
    ));
    if !filter.is_empty() {
        e = e.field(tr!(lang, "field-filter"), filter.join(", "), false);
    }
    let mut prev = Button::new(
        tr!(lang, "button-previous"),
        id(ComponentAction::OrdersPage {
            owner,
            page: p.page.saturating_sub(1),
            status,
            user,
            product,
        })?,
        ButtonStyle::Secondary,
    );
    prev.disabled = p.page == 0;
    let mut next = Button::new(
        tr!(lang, "button-next"),
        id(ComponentAction::OrdersPage {
            owner,
            page: p.page.saturating_add(1),
            status,
            user,
            product,
        })?,
        ButtonStyle::Secondary,
    );
    next.disabled = u64::from(p.page) + 1 >= pages;
    if prev.custom_id == next.custom_id {
        // Only at page u32::MAX; keep custom_ids unique within the message.
        next.custom_id.push('0');
        next.disabled = true;
    }
    Ok(Message::embed(e.fitted()).with_row(Row::Buttons(vec![prev, next])))
}

pub fn order_processed(lang: Lang, p: &OrderProcessed) -> Message {
    let what = match (p.action, p.refunded) {
        (ProcessAction::Redeliver, _) => tr!(lang, "processed-redeliver"),
        (ProcessAction::Refund, Some(amount)) if p.forced => {
            tr!(lang, "processed-refund-forced-amount", amount = amount)
        }
        (ProcessAction::Refund, None) if p.forced => tr!(lang, "processed-refund-forced"),
        (ProcessAction::Refund, Some(amount)) => {
            tr!(lang, "processed-refund-amount", amount = amount)
        }
        (ProcessAction::Refund, None) => tr!(lang, "processed-refund"),
    };
    let mut e = Embed::new(
        what,
        tr!(
            lang,
            "processed-status",
            order = p.order_number.as_str(),
            status = order_status(lang, p.status)
        ),
        if p.forced { COLOR_WARN } else { COLOR_OK },
    );
    if p.forced {
        e = e.field(
            tr!(lang, "field-forced"),
            tr!(lang, "processed-forced"),
            false,
        );
    }
    if let Some(reason) = &p.reason {
        e = e.field(tr!(lang, "field-reason"), reason.clone(), false);
    }
    if p.voided_deliveries > 0 {
        e = e.field(
            tr!(lang, "field-deliveries-cancelled"),
            tr!(lang, "processed-voided", count = p.voided_deliveries),
            false,
        );
    }
    Message::embed(e.fitted())
}

/// What `/admin quarantine` did.
pub fn quarantine_processed(lang: Lang, q: &QuarantineProcessed) -> Message {
    let title = match q.action {
        QuarantineAction::Release => tr!(lang, "quarantine-released-title"),
        QuarantineAction::Discard => tr!(lang, "quarantine-discarded-title"),
    };
    let color = if q.still_quarantined > 0 {
        COLOR_WARN
    } else {
        COLOR_OK
    };
    Message::embed(
        Embed::new(title, "", color)
            .field(
                tr!(lang, "field-back-on-sale"),
                q.released.to_string(),
                true,
            )
            .field(tr!(lang, "field-discarded"), q.discarded.to_string(), true)
            .field(
                tr!(lang, "field-still-quarantined"),
                q.still_quarantined.to_string(),
                true,
            )
            .field(
                tr!(lang, "field-available-now"),
                q.available_after.to_string(),
                true,
            )
            .fitted(),
    )
}

/// What `/admin clearowed` did.
pub fn owed_cleared(lang: Lang, c: &OwedCleared) -> Message {
    let user = format!("<@{}>", c.user_id);
    let description = if c.cleared.is_positive() {
        tr!(lang, "owed-cleared", user = user, amount = c.cleared)
    } else {
        tr!(lang, "owed-nothing", user = user)
    };
    Message::embed(Embed::new(tr!(lang, "owed-cleared-title"), description, COLOR_OK).fitted())
}

/// An order anomaly for the alert channel (e.g. codes delivered after the refund).
pub fn order_anomaly_alert(lang: Lang, a: &OrderAnomaly) -> Message {
    let title = match a.kind {
        AnomalyKind::DeliveredAfterRefund => tr!(lang, "anomaly-delivered-after-refund-title"),
    };
    Message::embed(
        Embed::new(
            title,
            tr!(
                lang,
                "anomaly-delivered-after-refund",
                order = a.order_number.as_str(),
                user = format!("<@{}>", a.user_id)
            ),
            COLOR_ERROR,
        )
        .field(tr!(lang, "field-what-happened"), a.detail.clone(), false)
        .fitted(),
    )
}

pub fn stats(lang: Lang, s: &StatsView) -> Message {
    let period = |p: &shared_proto::PeriodStats| {
        tr!(
            lang,
            "stats-period",
            orders = p.orders,
            codes = p.codes_sold,
            revenue = p.revenue,
            topups = p.topups,
            topup_amount = p.topup_amount
        )
    };
    let mut e = Embed::new(tr!(lang, "stats-title"), "", COLOR_BRAND)
        .field(tr!(lang, "stats-today"), period(&s.today), false)
        .field(tr!(lang, "stats-7-days"), period(&s.last_7_days), false)
        .field(tr!(lang, "stats-30-days"), period(&s.last_30_days), false)
        .field(
            tr!(lang, "stats-stock"),
            tr!(
                lang,
                "stats-stock-line",
                available = s.stock.available,
                reserved = s.stock.reserved,
                sold = s.stock.sold,
                defective = s.stock.defective
            ),
            false,
        )
        .field(
            tr!(lang, "field-failed-deliveries"),
            s.failed_deliveries.to_string(),
            true,
        )
        .field(tr!(lang, "field-users"), s.users.to_string(), true)
        .field(
            tr!(lang, "field-open-reports"),
            s.open_reports.to_string(),
            true,
        );
    if !s.products.is_empty() {
        e = e.field(
            tr!(lang, "field-per-product"),
            product_stock_lines(lang, &s.products, true),
            false,
        );
    }
    if !s.defective_batches.is_empty() {
        let lines = s
            .defective_batches
            .iter()
            .map(|b| {
                tr!(
                    lang,
                    "stats-defective-batch-line",
                    batch = b.batch_id.as_str(),
                    defective = b.defective,
                    added = b.added,
                    rate = defect_rate(lang, b),
                    sold = b.sold
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field(tr!(lang, "field-defective-batches"), lines, false);
    }
    Message::embed(e.fitted())
}

pub fn stock_low_alert(lang: Lang, s: &StockLow) -> Message {
    let text = match s.product_name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(product) => tr!(
            lang,
            "stock-low-product",
            product = product,
            available = s.available,
            threshold = s.threshold
        ),
        None => tr!(
            lang,
            "stock-low",
            available = s.available,
            threshold = s.threshold
        ),
    };
    Message::embed(Embed::new(tr!(lang, "stock-low-title"), text, COLOR_WARN).fitted())
}

pub fn order_failed_alert(lang: Lang, o: &OrderFailed) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "delivery-failed-title"),
            tr!(
                lang,
                "delivery-failed-alert",
                order = o.order_number.as_str(),
                user = format!("<@{}>", o.user_id),
                attempts = o.attempts
            ),
            COLOR_ERROR,
        )
        .field(tr!(lang, "field-reason"), o.reason.clone(), false)
        .fitted(),
    )
}

/// For admins: money of a credited top-up went back to the payer after settlement.
pub fn topup_reversed_alert(lang: Lang, r: &TopupReversed) -> Message {
    let user = format!("<@{}>", r.user_id);
    let mut text = match r.midtrans_status.as_str() {
        "chargeback" | "partial_chargeback" => tr!(
            lang,
            "reversed-chargeback",
            order = r.order_id.as_str(),
            user = user.as_str(),
            status = r.midtrans_status.as_str(),
            returned = r.returned,
            taken = r.taken_from_balance
        ),
        _ => tr!(
            lang,
            "reversed-refund",
            order = r.order_id.as_str(),
            user = user.as_str(),
            status = r.midtrans_status.as_str(),
            returned = r.returned,
            taken = r.taken_from_balance
        ),
    };
    if r.total_owed.is_positive() {
        text.push(' ');
        text.push_str(&tr!(lang, "reversed-owes", amount = r.total_owed));
    }
    Message::embed(
        Embed::new(tr!(lang, "reversed-title"), text, COLOR_ERROR)
            .field(
                tr!(lang, "field-balance-now"),
                r.balance_after.to_string(),
                true,
            )
            .field(tr!(lang, "field-owed-now"), r.total_owed.to_string(), true)
            .fitted(),
    )
}

pub fn order_refunded(lang: Lang, r: &OrderRefunded) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "order-refunded-title"),
            tr!(
                lang,
                "order-refunded",
                order = r.order_number.as_str(),
                amount = r.amount
            ),
            COLOR_OK,
        )
        .field(
            tr!(lang, "field-balance-now"),
            r.balance_after.to_string(),
            true,
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Reports: a buyer reports bad codes of a delivery, admins act on it in a private thread. Codes
// appear only in `revealed_codes`, the ephemeral answer to the admin who asked.

/// The "Report a problem" button under a delivery of `order_number`; `None` when the order
/// number cannot be carried in a custom_id (the delivery then goes without it).
pub fn report_button(lang: Lang, owner: DiscordUserId, order_number: &str) -> Option<Row> {
    let id = id(ComponentAction::ReportStart {
        owner,
        order_number: order_number.to_string(),
    })
    .ok()?;
    Some(Row::Buttons(vec![Button::new(
        tr!(lang, "button-report"),
        id,
        ButtonStyle::Secondary,
    )]))
}

fn reason_label(lang: Lang, reason: ReportReason) -> String {
    match reason {
        ReportReason::AlreadyUsed => tr!(lang, "report-reason-used"),
        ReportReason::Invalid => tr!(lang, "report-reason-invalid"),
        ReportReason::Other => tr!(lang, "report-reason-other"),
    }
}

fn report_status(lang: Lang, status: ReportStatus) -> String {
    match status {
        ReportStatus::Open => tr!(lang, "report-status-open"),
        ReportStatus::Resolved => tr!(lang, "report-status-resolved"),
        ReportStatus::Rejected => tr!(lang, "report-status-rejected"),
    }
}

fn code_state(lang: Lang, outcome: Option<CodeOutcome>) -> String {
    match outcome {
        None => tr!(lang, "report-code-open"),
        Some(CodeOutcome::Replaced) => tr!(lang, "report-code-replaced"),
        Some(CodeOutcome::Refunded) => tr!(lang, "report-code-refunded"),
        Some(CodeOutcome::Rejected) => tr!(lang, "report-code-rejected"),
    }
}

/// The reported positions of a report: `#2, #4`.
fn reported(r: &ReportView) -> String {
    positions_list(&r.codes.iter().map(|c| c.position).collect::<Vec<_>>())
}

/// The positions an action acted on, or (if the service named none) every reported one.
fn acted_on(positions: &[u32], r: &ReportView) -> String {
    if positions.is_empty() {
        reported(r)
    } else {
        positions_list(positions)
    }
}

/// The buyer's first step: what is wrong with the codes of `order_number`?
pub fn report_reasons(
    lang: Lang,
    owner: DiscordUserId,
    order_number: &str,
) -> Result<Message, CustomIdError> {
    let mut buttons = Vec::new();
    for reason in [
        ReportReason::AlreadyUsed,
        ReportReason::Invalid,
        ReportReason::Other,
    ] {
        buttons.push(Button::new(
            reason_label(lang, reason),
            id(ComponentAction::ReportReason {
                owner,
                order_number: order_number.to_string(),
                reason,
            })?,
            ButtonStyle::Secondary,
        ));
    }
    Ok(Message::embed(
        Embed::new(
            tr!(lang, "report-reasons-title", order = order_number),
            tr!(lang, "report-reasons", order = order_number),
            COLOR_WARN,
        )
        .fitted(),
    )
    .with_row(Row::Buttons(buttons)))
}

/// Which codes, and a note (required for "Other").
pub fn report_modal(
    lang: Lang,
    owner: DiscordUserId,
    order_number: &str,
    reason: ReportReason,
) -> Result<Modal, CustomIdError> {
    let custom_id = id(ComponentAction::ReportModal {
        owner,
        order_number: order_number.to_string(),
        reason,
    })?;
    let note_required = reason == ReportReason::Other;
    let note_hint = if note_required {
        tr!(lang, "report-note-placeholder-required")
    } else {
        tr!(lang, "report-note-placeholder")
    };
    Ok(Modal::new(
        custom_id,
        &tr!(lang, "report-modal-title", order = order_number),
        vec![
            TextInput::new(
                POSITIONS_INPUT,
                tr!(lang, "report-positions-label"),
                MAX_POSITIONS_CHARS as u16,
            )
            .placeholder(tr!(lang, "report-positions-placeholder")),
            TextInput::new(
                NOTE_INPUT,
                tr!(lang, "report-note-label"),
                MAX_NOTE_CHARS as u16,
            )
            .paragraph()
            .placeholder(note_hint)
            .optional(!note_required),
        ],
    ))
}

/// Name of a report's support thread (Discord allows 100 characters).
pub fn report_thread_name(lang: Lang, order_number: &str) -> String {
    super::message::truncate(&tr!(lang, "report-thread-name", order = order_number), 100)
}

/// The report as admins see it in its thread: the order, the reason and note, the reported
/// positions with their outcomes — never a code — and the admin buttons. The buttons that
/// change the report are disabled once it is closed; Reveal stays.
pub fn report_post(lang: Lang, r: &ReportView) -> Result<Message, CustomIdError> {
    let codes = r
        .codes
        .iter()
        .map(|c| {
            tr!(
                lang,
                "report-code-line",
                position = c.position,
                state = code_state(lang, c.outcome)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut e = Embed::new(
        tr!(
            lang,
            "report-title",
            id = r.report_id,
            order = r.order_number.as_str()
        ),
        tr!(lang, "report-description"),
        if r.status == ReportStatus::Open {
            COLOR_WARN
        } else {
            COLOR_OK
        },
    )
    .field(
        tr!(lang, "field-order"),
        format!("`{}`", r.order_number),
        true,
    )
    .field(tr!(lang, "field-package"), pkg(lang, r.package), true)
    .field(tr!(lang, "field-paid"), r.total_price.to_string(), true)
    .field(tr!(lang, "field-ordered"), when(lang, r.ordered_at), true)
    .field(
        tr!(lang, "field-reason"),
        reason_label(lang, r.reason),
        true,
    )
    .field(
        tr!(lang, "field-status"),
        report_status(lang, r.status),
        true,
    );
    if let Some(note) = &r.note {
        e = e.field(tr!(lang, "field-note"), note.clone(), false);
    }
    e = e.field(tr!(lang, "field-codes-reported"), codes, false);
    if r.refunded.is_positive() {
        e = e.field(
            tr!(lang, "field-refunded-so-far"),
            r.refunded.to_string(),
            true,
        );
    }
    if let Some(rejection) = &r.rejection {
        e = e.field(tr!(lang, "field-rejection"), rejection.clone(), false);
    }
    e = e.footer(tr!(
        lang,
        "report-footer",
        id = r.report_id,
        at = when(lang, r.created_at)
    ));
    let closed = r.status != ReportStatus::Open;
    let mut buttons = Vec::new();
    for (action, label, style) in [
        (
            ReportAction::Reveal,
            tr!(lang, "button-reveal"),
            ButtonStyle::Secondary,
        ),
        (
            ReportAction::Replace,
            tr!(lang, "button-replace"),
            ButtonStyle::Success,
        ),
        (
            ReportAction::Refund,
            tr!(lang, "button-refund"),
            ButtonStyle::Primary,
        ),
        (
            ReportAction::Reject,
            tr!(lang, "button-reject"),
            ButtonStyle::Danger,
        ),
    ] {
        let mut b = Button::new(
            label,
            id(ComponentAction::ReportAdmin {
                report_id: r.report_id,
                action,
            })?,
            style,
        );
        b.disabled = closed && action != ReportAction::Reveal;
        buttons.push(b);
    }
    Ok(Message::embed(e.fitted()).with_row(Row::Buttons(buttons)))
}

/// The first line of a support thread: mentions the buyer (added to the thread) and the admin
/// role, so Discord shows the thread to them.
pub fn report_greeting(
    lang: Lang,
    buyer: DiscordUserId,
    admin_role: Option<u64>,
    order_number: &str,
) -> String {
    let text = tr!(
        lang,
        "report-thread-greeting",
        admins = admin_role.map(|r| format!("<@&{r}>")).unwrap_or_default(),
        user = format!("<@{buyer}>"),
        order = order_number
    );
    super::message::truncate(text.trim(), super::message::limits::CONTENT)
}

/// The buyer's answer after submitting: the report is open (and where), or recorded without a
/// thread.
pub fn report_opened(lang: Lang, r: &ReportView, thread: Option<u64>) -> Message {
    let order = r.order_number.as_str();
    let text = match thread {
        Some(t) => tr!(
            lang,
            "report-sent",
            id = r.report_id,
            order = order,
            thread = format!("<#{t}>")
        ),
        None => tr!(
            lang,
            "report-sent-no-thread",
            id = r.report_id,
            order = order
        ),
    };
    Message::embed(
        Embed::new(tr!(lang, "report-sent-title"), text, COLOR_OK)
            .field(tr!(lang, "field-codes-reported"), reported(r), false)
            .fitted(),
    )
}

/// Replace or Refund: which of the reported codes (empty: every one still open).
pub fn report_positions_modal(
    lang: Lang,
    report_id: i64,
    action: ReportAction,
) -> Result<Modal, CustomIdError> {
    let title = match action {
        ReportAction::Refund => tr!(lang, "report-refund-modal-title", id = report_id),
        _ => tr!(lang, "report-replace-modal-title", id = report_id),
    };
    Ok(Modal::new(
        id(ComponentAction::ReportAdminModal { report_id, action })?,
        &title,
        vec![TextInput::new(
            POSITIONS_INPUT,
            tr!(lang, "report-admin-positions-label"),
            MAX_POSITIONS_CHARS as u16,
        )
        .placeholder(tr!(lang, "report-admin-positions-placeholder"))
        .optional(true)],
    ))
}

/// Reject: the reason, which the buyer reads.
pub fn report_reject_modal(lang: Lang, report_id: i64) -> Result<Modal, CustomIdError> {
    Ok(Modal::new(
        id(ComponentAction::ReportAdminModal {
            report_id,
            action: ReportAction::Reject,
        })?,
        &tr!(lang, "report-reject-modal-title", id = report_id),
        vec![TextInput::new(
            REASON_INPUT,
            tr!(lang, "report-reject-reason-label"),
            MAX_REJECTION_CHARS as u16,
        )
        .paragraph()
        .placeholder(tr!(lang, "report-reject-reason-placeholder"))],
    ))
}

/// The reported codes, for the admin who asked only (an ephemeral answer).
pub fn revealed_codes(lang: Lang, report_id: i64, codes: &[RevealedCode]) -> Message {
    let text = if codes.is_empty() {
        tr!(lang, "report-revealed-none")
    } else {
        codes
            .iter()
            .map(|c| format!("#{} `{}`", c.position, c.code))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Message::embed(
        Embed::new(
            tr!(lang, "report-revealed-title", id = report_id),
            text,
            COLOR_BRAND,
        )
        .footer(tr!(lang, "report-revealed"))
        .fitted(),
    )
}

/// What an admin's action did, for the thread: positions and money, no code.
pub fn report_action_done(lang: Lang, d: &ReportActionDone) -> Message {
    let r = &d.report;
    let (id, order) = (r.report_id, r.order_number.as_str());
    let positions = acted_on(&d.positions, r);
    let (title, text, color) = match d.action {
        ReportAction::Replace => (
            tr!(lang, "report-replaced-title"),
            tr!(
                lang,
                "report-replaced",
                id = id,
                order = order,
                positions = positions
            ),
            COLOR_OK,
        ),
        ReportAction::Refund => (
            tr!(lang, "report-refunded-title"),
            tr!(
                lang,
                "report-refunded",
                id = id,
                order = order,
                positions = positions,
                amount = d.refunded
            ),
            COLOR_OK,
        ),
        ReportAction::Reject => (
            tr!(lang, "report-rejected-title"),
            tr!(
                lang,
                "report-rejected",
                id = id,
                order = order,
                positions = positions
            ),
            COLOR_WARN,
        ),
        ReportAction::Reveal => (
            tr!(lang, "report-revealed-title", id = id),
            tr!(lang, "report-revealed"),
            COLOR_BRAND,
        ),
    };
    let mut e = Embed::new(title, text, color).field(
        tr!(lang, "field-status"),
        report_status(lang, r.status),
        true,
    );
    if d.action == ReportAction::Refund {
        e = e.field(
            tr!(lang, "field-refunded-so-far"),
            r.refunded.to_string(),
            true,
        );
    }
    if let (ReportAction::Reject, Some(reason)) = (d.action, &r.rejection) {
        e = e.field(tr!(lang, "field-rejection"), reason.clone(), false);
    }
    Message::embed(e.fitted())
}

/// The buyer's DM about their report's outcome; `None` for an action the buyer is not told
/// about (Reveal).
pub fn report_updated(lang: Lang, u: &ReportUpdated) -> Option<Message> {
    let order = u.report.order_number.as_str();
    let positions = acted_on(&u.positions, &u.report);
    let e = match u.action {
        ReportAction::Replace => Embed::new(
            tr!(lang, "report-updated-replaced-title"),
            tr!(
                lang,
                "report-updated-replaced",
                positions = positions,
                order = order
            ),
            COLOR_OK,
        ),
        ReportAction::Refund => {
            let e = Embed::new(
                tr!(lang, "report-updated-refunded-title"),
                tr!(
                    lang,
                    "report-updated-refunded",
                    amount = u.refunded,
                    positions = positions,
                    order = order
                ),
                COLOR_OK,
            );
            match u.balance_after {
                Some(balance) => e.field(tr!(lang, "field-balance-now"), balance.to_string(), true),
                None => e,
            }
        }
        ReportAction::Reject => {
            let e = Embed::new(
                tr!(lang, "report-updated-rejected-title"),
                tr!(
                    lang,
                    "report-updated-rejected",
                    positions = positions,
                    order = order
                ),
                COLOR_WARN,
            );
            match &u.report.rejection {
                Some(reason) => e.field(tr!(lang, "field-reason"), reason.clone(), false),
                None => e,
            }
        }
        ReportAction::Reveal => return None,
    };
    Some(Message::embed(e.fitted()))
}

/// What `/admin defectbatch` did.
pub fn batch_defective(lang: Lang, b: &BatchDefective) -> Message {
    Message::embed(
        Embed::new(
            tr!(lang, "batch-defective-title"),
            tr!(lang, "batch-defective", batch = b.batch_id.as_str()),
            COLOR_WARN,
        )
        .field(tr!(lang, "field-withdrawn"), b.withdrawn.to_string(), true)
        .field(tr!(lang, "field-defective"), b.defective.to_string(), true)
        .field(
            tr!(lang, "field-available-now"),
            b.available_after.to_string(),
            true,
        )
        .fitted(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Lang = Lang::En;
    use chrono::Utc;
    use shared_proto::{
        CatalogEntry, CatalogReply, OrderCodes, OrderSummary, PeriodStats, ProductInfo,
        ProductStock, ProductsView, ReportedCode, StockCounts,
    };

    fn uid() -> DiscordUserId {
        DiscordUserId::new(i64::MAX as u64).unwrap()
    }

    fn catalog() -> CatalogReply {
        CatalogReply {
            packages: PackageSize::ALL
                .iter()
                .map(|p| CatalogEntry {
                    package: *p,
                    price: Idr::new(15_000 * i64::from(p.codes())),
                    in_stock: p.codes() <= 10,
                })
                .collect(),
            available_codes: 12,
            products: vec![],
        }
    }

    fn offer(id: i64, name: &str) -> ProductOffer {
        ProductOffer {
            product_id: ProductId(id),
            name: name.into(),
            description: "d".repeat(300),
            available_codes: 12,
            packages: catalog().packages,
        }
    }

    fn purchase(name: Option<&str>, package: PackageSize) -> Purchase<'_> {
        Purchase {
            product: ProductId(2),
            product_name: name,
            package,
        }
    }

    fn created(sandbox: bool) -> TopupCreated {
        TopupCreated {
            order_id: "ORDER-1-1795602600".into(),
            amount: Idr::new(50_000),
            qr_string: "00020101021226620014COM.GO-JEK.WWW".into(),
            expires_at: Utc::now(),
            sandbox,
        }
    }

    /// Everything a buyer reads on a message.
    fn shown(m: &Message) -> String {
        let mut out = m.content.clone().unwrap_or_default();
        for e in &m.embeds {
            out.push_str(&format!("\n{}\n{}", e.title, e.description));
            for f in &e.fields {
                out.push_str(&format!("\n{}: {}", f.name, f.value));
            }
        }
        out
    }

    #[test]
    fn an_explained_refusal_is_worded_in_each_language_and_an_unexplained_one_too() {
        let open = ServiceError::InvalidInput {
            message: "Order RF-1 already has an open report; an admin is on it.".into(),
            refusal: Some(Refusal::ReportAlreadyOpen {
                order_number: "RF-1".into(),
            }),
        };
        let id = service_error(Lang::Id, &open);
        assert!(
            id.contains("sudah punya laporan") && id.contains("RF-1"),
            "{id}"
        );
        let en = service_error(Lang::En, &open);
        assert!(en.contains("already has an open report"), "{en}");
        let owed = ServiceError::Forbidden {
            message: "Rp 30.000 … is still owed.".into(),
            refusal: Some(Refusal::BalanceOwed {
                owed: Idr::new(30_000),
            }),
        };
        assert!(service_error(Lang::Id, &owed).contains("Rp 30.000"));
        // Unknown or absent meaning: the catalogue's sentence for the kind of refusal in
        // Indonesian, the service's own sentence in English.
        let unknown = ServiceError::Forbidden {
            message: "Something new.".into(),
            refusal: Some(Refusal::Unknown),
        };
        assert_eq!(service_error(Lang::En, &unknown), "Something new.");
        assert_eq!(
            service_error(Lang::Id, &unknown),
            tr!(Lang::Id, "err-forbidden")
        );
    }

    #[test]
    fn a_sandbox_qr_says_test_payment_and_a_production_qr_does_not() {
        let sandbox = topup_created(L, uid(), &created(true), vec![1]).unwrap();
        sandbox.check().unwrap();
        let shown_sandbox = shown(&sandbox);
        assert!(shown_sandbox.contains("TEST PAYMENT"), "{shown_sandbox}");
        assert!(shown_sandbox.contains("sandbox"), "{shown_sandbox}");
        let real = shown(&topup_created(L, uid(), &created(false), vec![1]).unwrap());
        assert!(!real.to_lowercase().contains("test payment"), "{real}");
        assert!(!real.contains("sandbox"), "{real}");
    }

    #[test]
    fn every_screen_fits_discord_limits_in_both_languages() {
        for lang in Lang::ALL {
            let owner = uid();
            let mut screens = vec![
                main_menu(lang),
                help(lang),
                foreign_click(lang),
                stale_click(lang),
            ];
            let long = "N".repeat(80);
            screens.push(package_picker(lang, owner, &offer(1, ""), false).unwrap());
            screens.push(package_picker(lang, owner, &offer(i64::MAX, &long), true).unwrap());
            let many: Vec<ProductOffer> = (1..=30).map(|i| offer(i, &long)).collect();
            screens.push(product_picker(lang, owner, &many).unwrap());
            screens.push(stock_panel(lang, &many));
            screens.push(stock_panel(lang, &[]));
            screens.push(buy_log(lang, Some(&long), PackageSize::Fifty));
            for e in &catalog().packages {
                let p = purchase(Some(&long), e.package);
                screens
                    .push(confirm_order(lang, owner, p, e, Idr::new(100_000), u64::MAX).unwrap());
                screens.push(
                    order_processing(
                        lang,
                        owner,
                        ProductId(i64::MAX),
                        e.package,
                        Some(Idr::new(i64::MAX)),
                        u64::MAX,
                    )
                    .unwrap(),
                );
                screens.push(
                    price_changed(lang, owner, p, e.price, Idr::new(i64::MAX), u64::MAX).unwrap(),
                );
            }
            let info = ProductInfo {
                product_id: ProductId(i64::MAX),
                name: long.clone(),
                description: "d".repeat(300),
                active: false,
                display_order: i32::MIN,
                low_stock_threshold: Some(u64::MAX),
                prices: catalog()
                    .packages
                    .iter()
                    .map(|e| shared_proto::PackagePrice {
                        package: e.package,
                        price: Idr::new(i64::MAX),
                    })
                    .collect(),
                counts: StockCounts::default(),
            };
            screens.push(products_view(
                lang,
                &ProductsView {
                    changed: Some(ProductId(i64::MAX)),
                    products: vec![info; 40],
                },
            ));
            let revealed: Vec<RevealedCode> = (1..=50)
                .map(|position| RevealedCode {
                    position,
                    code: "RDFN-XXXX-XXXX-XXXX-XXXX-XXXX".into(),
                })
                .collect();
            let codes = OrderCodes {
                order_number: "R".repeat(60),
                product_id: ProductId(2),
                product_name: long.clone(),
                package: PackageSize::Fifty,
                completed_at: None,
                codes: revealed,
                to_dm: false,
            };
            screens.push(order_codes(lang, owner, &codes, true).unwrap());
            screens.push(order_codes(lang, owner, &codes, false).unwrap());
            let presets: Vec<Idr> = (1..=12).map(|i| Idr::new(i * 10_000)).collect();
            screens.push(
                topup_picker(lang, owner, &presets, Idr::new(10_000), Idr::new(1_000_000)).unwrap(),
            );
            let order = OrderSummary {
                order_number: "ORD-1".into(),
                user_id: owner,
                product_id: ProductId(2),
                product_name: Some(long.clone()),
                package: PackageSize::Fifty,
                total_price: Idr::new(550_000),
                status: OrderStatus::Completed,
                created_at: Utc::now(),
                completed_at: None,
                refunded: Idr::ZERO,
            };
            let page = OrdersPage {
                orders: vec![order.clone(); 200],
                page: 3,
                page_size: 10,
                total: 2000,
            };
            screens.push(
                orders_page(
                    lang,
                    owner,
                    &page,
                    Some(OrderStatus::Failed),
                    Some(owner),
                    Some(ProductId(i64::MAX)),
                )
                .unwrap(),
            );
            let last = OrdersPage {
                orders: vec![],
                page: u32::MAX,
                page_size: 10,
                total: 0,
            };
            screens.push(orders_page(lang, owner, &last, None, None, None).unwrap());
            screens.push(history(
                lang,
                &HistoryReply {
                    user_id: owner,
                    orders: vec![order; 100],
                    topups: vec![],
                },
            ));
            screens.push(stock_view(
                lang,
                &StockView {
                    counts: StockCounts::default(),
                    low_stock_threshold: 10,
                    recent_batches: vec![],
                    products: vec![
                        ProductStock {
                            product_id: ProductId(i64::MAX),
                            name: long.clone(),
                            active: false,
                            counts: StockCounts::default(),
                            low_stock_threshold: u64::MAX,
                            last_30_days: PeriodStats::default(),
                        };
                        25
                    ],
                },
            ));
            let r = report(ReportStatus::Open);
            screens.push(report_reasons(lang, owner, &r.order_number).unwrap());
            screens.push(report_post(lang, &report(ReportStatus::Rejected)).unwrap());
            screens.push(report_post(lang, &big_report()).unwrap());
            screens.push(report_opened(lang, &r, Some(u64::MAX)));
            screens.push(report_opened(lang, &big_report(), None));
            let revealed: Vec<RevealedCode> = (1..=50)
                .map(|position| RevealedCode {
                    position,
                    code: "RDFN-XXXX-XXXX-XXXX".into(),
                })
                .collect();
            screens.push(revealed_codes(lang, i64::MAX, &revealed));
            screens.push(revealed_codes(lang, 1, &[]));
            for action in [
                ReportAction::Reveal,
                ReportAction::Replace,
                ReportAction::Refund,
                ReportAction::Reject,
            ] {
                screens.push(report_action_done(lang, &done(action, big_report())));
                screens.extend(report_updated(lang, &updated(action)));
            }
            screens.push(batch_defective(
                lang,
                &BatchDefective {
                    batch_id: "b".repeat(100),
                    withdrawn: 7,
                    defective: 9,
                    available_after: 0,
                },
            ));
            screens.push(stats(lang, &stats_view(12)));
            for s in &screens {
                s.check().unwrap_or_else(|e| panic!("{e}: {s:?}"));
            }
            let mut modals = vec![
                report_positions_modal(lang, i64::MAX, ReportAction::Replace).unwrap(),
                report_positions_modal(lang, i64::MAX, ReportAction::Refund).unwrap(),
                report_reject_modal(lang, i64::MAX).unwrap(),
                topup_modal(lang, owner, Idr::new(10_000), Idr::new(10_000_000)),
            ];
            for reason in [
                ReportReason::AlreadyUsed,
                ReportReason::Invalid,
                ReportReason::Other,
            ] {
                modals.push(report_modal(lang, owner, &"R".repeat(60), reason).unwrap());
            }
            for m in &modals {
                m.check().unwrap_or_else(|e| panic!("{e}: {m:?}"));
            }
        }
    }

    #[test]
    fn confirm_step_shows_balance_after_or_the_shortfall() {
        let owner = uid();
        let entry = &catalog().packages[1]; // 5 codes, 75.000
        let ok = confirm_order(
            L,
            owner,
            purchase(None, entry.package),
            entry,
            Idr::new(100_000),
            9,
        )
        .unwrap();
        let fields = &ok.embeds[0].fields;
        assert!(fields
            .iter()
            .any(|f| f.name == "Balance after" && f.value == "Rp 25.000"));
        let short = confirm_order(
            L,
            owner,
            purchase(None, entry.package),
            entry,
            Idr::new(50_000),
            9,
        )
        .unwrap();
        assert!(short.embeds[0]
            .fields
            .iter()
            .any(|f| f.name == "Short by" && f.value == "Rp 25.000"));
        let Row::Buttons(b) = &short.rows[0] else {
            panic!("no buttons")
        };
        assert_eq!(
            ComponentAction::decode(&b[0].custom_id).unwrap(),
            ComponentAction::Menu(MenuItem::Topup)
        );
    }

    #[test]
    fn the_panel_buttons_belong_to_nobody() {
        let Row::Buttons(buttons) = &main_menu(L).rows[0] else {
            panic!("no buttons")
        };
        assert_eq!(buttons.len(), 5);
        for b in buttons {
            assert_eq!(ComponentAction::decode(&b.custom_id).unwrap().owner(), None);
        }
    }

    fn field<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
        m.embeds[0]
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    #[test]
    fn a_forced_refund_shows_the_force_the_reason_and_the_cancelled_deliveries() {
        let forced = order_processed(
            L,
            &OrderProcessed {
                order_number: "RF-20261202-ABC234".into(),
                action: ProcessAction::Refund,
                status: OrderStatus::Refunded,
                refunded: Some(Idr::new(70_000)),
                forced: true,
                reason: Some("codes reported as used".into()),
                voided_deliveries: 2,
            },
        );
        forced.check().unwrap();
        assert!(forced.embeds[0].title.contains("forced"));
        assert_eq!(field(&forced, "Reason"), Some("codes reported as used"));
        assert!(field(&forced, "Forced").is_some());
        assert!(field(&forced, "Deliveries cancelled").is_some_and(|v| v.contains('2')));
        let plain = order_processed(
            L,
            &OrderProcessed {
                order_number: "RF-20261202-ABC234".into(),
                action: ProcessAction::Refund,
                status: OrderStatus::Refunded,
                refunded: Some(Idr::new(70_000)),
                forced: false,
                reason: None,
                voided_deliveries: 0,
            },
        );
        assert!(!plain.embeds[0].title.contains("forced"));
        assert!(plain.embeds[0].fields.is_empty());
    }

    #[test]
    fn owed_cleared_names_the_amount_or_says_nothing_was_owed() {
        let cleared = owed_cleared(
            L,
            &OwedCleared {
                user_id: uid(),
                cleared: Idr::new(30_000),
            },
        );
        cleared.check().unwrap();
        assert!(cleared.embeds[0].description.contains("Rp 30.000"));
        assert!(cleared.embeds[0].description.contains("order again"));
        let nothing = owed_cleared(
            L,
            &OwedCleared {
                user_id: uid(),
                cleared: Idr::new(0),
            },
        );
        assert!(nothing.embeds[0].description.contains("owed nothing"));
    }

    #[test]
    fn stock_view_shows_quarantined_codes_only_when_there_are_some() {
        let mut v = StockView {
            counts: StockCounts {
                available: 5,
                reserved: 3,
                sold: 9,
                quarantined: 2,
                defective: 0,
            },
            low_stock_threshold: 10,
            recent_batches: vec![],
            products: vec![],
        };
        let shown = stock_view(L, &v);
        assert!(field(&shown, "Quarantined").is_some_and(|t| t.contains("**2**")));
        v.counts.quarantined = 0;
        assert_eq!(field(&stock_view(L, &v), "Quarantined"), None);
        let done = quarantine_processed(
            L,
            &QuarantineProcessed {
                action: QuarantineAction::Release,
                released: 2,
                discarded: 0,
                still_quarantined: 1,
                available_after: 7,
            },
        );
        done.check().unwrap();
        assert_eq!(field(&done, "Back on sale"), Some("2"));
        assert_eq!(field(&done, "Still quarantined"), Some("1"));
        let alert = order_anomaly_alert(
            L,
            &OrderAnomaly {
                order_number: "RF-20261202-ABC234".into(),
                user_id: uid(),
                kind: AnomalyKind::DeliveredAfterRefund,
                detail: "delivery confirmed after the refund".into(),
            },
        );
        alert.check().unwrap();
        assert!(alert.embeds[0].description.contains("RF-20261202-ABC234"));
    }

    fn report(status: ReportStatus) -> ReportView {
        ReportView {
            report_id: 12,
            order_number: "RF-20261202-ABC234".into(),
            user_id: uid(),
            package: PackageSize::Five,
            total_price: Idr::new(70_000),
            ordered_at: Utc::now(),
            reason: ReportReason::AlreadyUsed,
            note: Some("redfinger says: code already redeemed".into()),
            status,
            codes: vec![
                ReportedCode {
                    position: 2,
                    outcome: None,
                },
                ReportedCode {
                    position: 4,
                    outcome: Some(CodeOutcome::Refunded),
                },
            ],
            refunded: Idr::new(14_000),
            rejection: (status == ReportStatus::Rejected).then(|| "used on your account".into()),
            created_at: Utc::now(),
        }
    }

    /// Every field at its largest.
    fn big_report() -> ReportView {
        let mut r = report(ReportStatus::Rejected);
        r.report_id = i64::MAX;
        r.order_number = "R".repeat(60);
        r.note = Some("n".repeat(500));
        r.rejection = Some("j".repeat(500));
        r.codes = (1..=50)
            .map(|position| ReportedCode {
                position,
                outcome: Some(CodeOutcome::Rejected),
            })
            .collect();
        r
    }

    fn done(action: ReportAction, report: ReportView) -> ReportActionDone {
        ReportActionDone {
            action,
            report,
            revealed: vec![],
            positions: vec![2],
            refunded: Idr::new(14_000),
        }
    }

    fn updated(action: ReportAction) -> ReportUpdated {
        ReportUpdated {
            report: report(ReportStatus::Rejected),
            action,
            positions: vec![2, 4],
            refunded: Idr::new(28_000),
            balance_after: Some(Idr::new(53_000)),
            locale: None,
        }
    }

    fn batch(id: &str, added: u32, sold: u64, defective: u64) -> StockBatchSummary {
        StockBatchSummary {
            product_id: ProductId::DEFAULT,
            batch_id: id.into(),
            added,
            duplicates: 0,
            rejected: 0,
            added_by: None,
            created_at: Utc::now(),
            sold,
            defective,
        }
    }

    fn stats_view(defective_batches: usize) -> StatsView {
        StatsView {
            products: vec![],
            today: PeriodStats::default(),
            last_7_days: PeriodStats::default(),
            last_30_days: PeriodStats::default(),
            stock: StockCounts {
                defective: 9,
                ..Default::default()
            },
            failed_deliveries: 0,
            users: 3,
            defective_batches: (0..defective_batches)
                .map(|i| batch(&format!("batch-{i}"), 40, 30, 1))
                .collect(),
            open_reports: 4,
        }
    }

    #[test]
    fn the_report_post_shows_the_order_and_positions_and_locks_when_closed() {
        let open = report_post(L, &report(ReportStatus::Open)).unwrap();
        let text = shown(&open);
        for expected in [
            "RF-20261202-ABC234",
            "#2: open",
            "#4: refunded",
            "Already used",
        ] {
            assert!(text.contains(expected), "{expected} missing: {text}");
        }
        assert_eq!(
            field(&open, "Buyer's note"),
            Some("redfinger says: code already redeemed")
        );
        let Row::Buttons(buttons) = &open.rows[0] else {
            panic!("no buttons")
        };
        let actions: Vec<ComponentAction> = buttons
            .iter()
            .map(|b| ComponentAction::decode(&b.custom_id).unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                ReportAction::Reveal,
                ReportAction::Replace,
                ReportAction::Refund,
                ReportAction::Reject
            ]
            .map(|action| ComponentAction::ReportAdmin {
                report_id: 12,
                action
            })
        );
        assert!(buttons.iter().all(|b| !b.disabled));
        let closed = report_post(L, &report(ReportStatus::Resolved)).unwrap();
        let Row::Buttons(buttons) = &closed.rows[0] else {
            panic!("no buttons")
        };
        let enabled: Vec<&str> = buttons
            .iter()
            .filter(|b| !b.disabled)
            .map(|b| b.label.as_str())
            .collect();
        assert_eq!(
            enabled,
            ["Reveal codes"],
            "only Reveal once the report is closed"
        );
    }

    #[test]
    fn the_buyer_learns_each_outcome_in_their_language() {
        let refund = report_updated(Lang::Id, &updated(ReportAction::Refund)).unwrap();
        let text = shown(&refund);
        assert!(
            text.contains("Rp 28.000") && text.contains("#2, #4"),
            "{text}"
        );
        assert_eq!(field(&refund, "Saldo sekarang"), Some("Rp 53.000"));
        let rejected = report_updated(L, &updated(ReportAction::Reject)).unwrap();
        assert_eq!(field(&rejected, "Reason"), Some("used on your account"));
        let replaced = shown(&report_updated(L, &updated(ReportAction::Replace)).unwrap());
        assert!(replaced.contains("replaced") && replaced.contains("RF-20261202-ABC234"));
        assert!(report_updated(L, &updated(ReportAction::Reveal)).is_none());
    }

    #[test]
    fn outcomes_in_the_thread_name_positions_and_money_only() {
        let mut d = done(ReportAction::Refund, report(ReportStatus::Open));
        d.revealed = vec![RevealedCode {
            position: 2,
            code: "SECRET-CODE".into(),
        }];
        let text = shown(&report_action_done(L, &d));
        assert!(text.contains("#2") && text.contains("Rp 14.000"), "{text}");
        assert!(!text.contains("SECRET-CODE"), "{text}");
        // An action that names no positions speaks of every reported one.
        d.positions.clear();
        assert!(shown(&report_action_done(L, &d)).contains("#2, #4"));
        let revealed = revealed_codes(L, 12, &d.revealed);
        assert!(revealed.embeds[0].description.contains("#2 `SECRET-CODE`"));
    }

    #[test]
    fn stock_and_stats_show_defects_and_the_defect_rate() {
        let v = StockView {
            counts: StockCounts {
                defective: 3,
                ..Default::default()
            },
            low_stock_threshold: 10,
            recent_batches: vec![batch("b-1", 40, 30, 1), batch("b-2", 3, 0, 2)],
            products: vec![],
        };
        let en = stock_view(L, &v);
        assert_eq!(field(&en, "Defective"), Some("3"));
        let batches = field(&en, "Recent batches").unwrap();
        assert!(
            batches.contains("30 sold · 1 defective (2.5%)"),
            "{batches}"
        );
        assert!(batches.contains("(66.7%)"), "{batches}");
        let id = stock_view(Lang::Id, &v);
        assert!(field(&id, "Batch terbaru")
            .unwrap()
            .contains("1 rusak (2,5%)"));
        let s = stats(L, &stats_view(2));
        assert_eq!(field(&s, "Open reports"), Some("4"));
        let worst = field(&s, "Most defective batches").unwrap();
        assert!(
            worst.contains("`batch-1`: 1 of 40 defective (2.5%)"),
            "{worst}"
        );
        assert!(field(&stats(L, &stats_view(0)), "Most defective batches").is_none());
    }

    fn product_stock(id: i64, name: &str, available: u64, active: bool) -> ProductStock {
        ProductStock {
            product_id: ProductId(id),
            name: name.into(),
            active,
            counts: StockCounts {
                available,
                sold: 7,
                ..Default::default()
            },
            low_stock_threshold: 5,
            last_30_days: PeriodStats {
                orders: 3,
                codes_sold: 7,
                revenue: Idr::new(63_000),
                ..Default::default()
            },
        }
    }

    #[test]
    fn stock_stats_and_alerts_name_each_product() {
        let products = vec![
            product_stock(1, "VIP 30 days", 40, true),
            product_stock(2, "KVIP 7 days", 2, false),
        ];
        let mut kvip_batch = batch("b-9", 10, 0, 0);
        kvip_batch.product_id = ProductId(2);
        let v = StockView {
            counts: StockCounts::default(),
            low_stock_threshold: 10,
            recent_batches: vec![kvip_batch],
            products: products.clone(),
        };
        let shown = stock_view(L, &v);
        let lines = field(&shown, "Per product").unwrap();
        assert!(
            lines.contains("**VIP 30 days** (#1): 40 available")
                && lines.contains("**KVIP 7 days** (#2, off sale): 2 available"),
            "{lines}"
        );
        assert!(field(&shown, "Recent batches")
            .unwrap()
            .starts_with("KVIP 7 days · "));
        let mut s = stats_view(0);
        s.products = products;
        let lines = field(&stats(Lang::Id, &s), "Per produk")
            .unwrap()
            .to_string();
        assert!(
            lines.contains("30 hari: 3 pesanan, 7 kode, Rp 63.000"),
            "{lines}"
        );
        let alert = stock_low_alert(
            L,
            &StockLow {
                product_id: ProductId(2),
                product_name: Some("KVIP 7 days".into()),
                available: 2,
                threshold: 5,
                notify_user_ids: vec![],
            },
        );
        assert!(alert.embeds[0].description.contains("**KVIP 7 days**"));
    }
}
