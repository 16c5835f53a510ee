//! Every screen the bot shows, as plain [`Message`] data: the main menu, the order and top-up
//! steps, balance/history, admin views and notifications. No Discord I/O here.

use chrono::{DateTime, Utc};
use shared_proto::{
    AnomalyKind, BalanceReply, CatalogEntry, CatalogReply, DiscordUserId, HistoryReply, Idr,
    OrderAccepted, OrderAnomaly, OrderFailed, OrderProcessed, OrderRefunded, OrderStatus,
    OrderSummary, OrdersPage, OwedCleared, PackageSize, ProcessAction, QuarantineAction,
    QuarantineProcessed, ServiceError, StatsView, StockAdded, StockLow, StockView, TopupCreated,
    TopupInfo, TopupReversed, TopupState,
};

use super::custom_id::{ComponentAction, CustomIdError, MenuItem};
use super::message::{
    button_rows, Attachment, Button, ButtonStyle, Embed, Message, Row, Select, SelectOption,
    COLOR_BRAND, COLOR_ERROR, COLOR_OK, COLOR_WARN,
};

fn id(action: ComponentAction) -> Result<String, CustomIdError> {
    action.encode()
}

fn ts(t: DateTime<Utc>) -> String {
    format!("<t:{}:f>", t.timestamp())
}

/// The main menu (also the persistent panel): its buttons belong to nobody, so anyone can use
/// them and they keep working after restarts.
pub fn main_menu() -> Message {
    let b = |item, label: &str, style| {
        Button::new(label, ComponentAction::Menu(item).to_string(), style)
    };
    Message::embed(
        Embed::new(
            "Redfinger Shop",
            "Buy Redfinger redeem codes with your balance. Top up with QRIS, then order a package — \
             the codes arrive in your DMs within seconds.",
            COLOR_BRAND,
        )
        .footer("Use the buttons below; only you see the answers."),
    )
    .with_row(Row::Buttons(vec![
        b(MenuItem::Order, "Order codes", ButtonStyle::Primary),
        b(MenuItem::Topup, "Top up", ButtonStyle::Success),
        b(MenuItem::Balance, "Balance", ButtonStyle::Secondary),
        b(MenuItem::History, "History", ButtonStyle::Secondary),
        b(MenuItem::Help, "Help", ButtonStyle::Secondary),
    ]))
}

pub fn help() -> Message {
    Message::embed(
        Embed::new("How it works", "", COLOR_BRAND)
            .field("1. Top up", "Pick an amount, scan the QRIS code with any e-wallet or bank app. Your balance is credited as soon as the payment settles.", false)
            .field("2. Order", "Choose a package, check the price and confirm. The price is taken from your balance.", false)
            .field("3. Receive", "Codes arrive by DM (a .txt file above 10 codes). If your DMs are closed you get them privately here instead.", false)
            .field("Commands", "`/shop` `/balance` `/topup` `/history`", false),
    )
}

/// A clear refusal or failure, shown to the user only.
pub fn error(text: impl Into<String>) -> Message {
    Message::embed(Embed::new("Sorry", text, COLOR_ERROR))
}

pub fn notice(title: impl Into<String>, text: impl Into<String>) -> Message {
    Message::embed(Embed::new(title, text, COLOR_WARN))
}

pub fn foreign_click() -> Message {
    error("These buttons belong to someone else. Use `/shop` to open your own menu.")
}

pub fn stale_click() -> Message {
    error("This menu is from an older version of the bot and no longer works. Use `/shop` to open a new one.")
}

/// The package select menu with prices and availability.
pub fn package_picker(
    owner: DiscordUserId,
    catalog: &CatalogReply,
) -> Result<Message, CustomIdError> {
    let options: Vec<SelectOption> = catalog
        .packages
        .iter()
        .map(|e| SelectOption {
            label: format!("{} — {}", e.package, e.price),
            value: e.package.codes().to_string(),
            description: Some(if e.in_stock {
                "In stock".into()
            } else {
                "Out of stock".into()
            }),
        })
        .collect();
    if options.is_empty() {
        return Ok(notice(
            "Nothing on sale",
            "No packages are on sale right now. Please try again later.",
        ));
    }
    Ok(Message::embed(Embed::new(
        "Order codes",
        format!(
            "Choose a package. {} codes are available right now.",
            catalog.available_codes
        ),
        COLOR_BRAND,
    ))
    .with_row(Row::Select(Select {
        custom_id: id(ComponentAction::PickPackage { owner })?,
        placeholder: "Choose a package".into(),
        options,
        disabled: false,
    })))
}

/// The confirm step: price, balance and the balance after. Not enough balance → shortfall and a
/// Top up button instead of Confirm.
pub fn confirm_order(
    owner: DiscordUserId,
    entry: &CatalogEntry,
    balance: Idr,
    nonce: u64,
) -> Result<Message, CustomIdError> {
    if !entry.in_stock {
        return Ok(notice(
            "Out of stock",
            format!("There are not enough codes for {} right now. Admins have been told; please try a smaller package or come back later.", entry.package),
        ));
    }
    let after = balance.checked_sub(entry.price).unwrap_or(Idr::ZERO);
    if balance < entry.price {
        let shortfall = entry.price.checked_sub(balance).unwrap_or(Idr::ZERO);
        return insufficient_balance(owner, balance, entry.price, shortfall);
    }
    Ok(Message::embed(
        Embed::new(
            "Confirm your order",
            format!("**{}**", entry.package),
            COLOR_BRAND,
        )
        .field("Price", entry.price.to_string(), true)
        .field("Your balance", balance.to_string(), true)
        .field("Balance after", after.to_string(), true),
    )
    .with_row(confirm_buttons(owner, entry.package, nonce, false)?))
}

fn confirm_buttons(
    owner: DiscordUserId,
    package: PackageSize,
    nonce: u64,
    disabled: bool,
) -> Result<Row, CustomIdError> {
    let mut confirm = Button::new(
        "Confirm",
        id(ComponentAction::ConfirmOrder {
            owner,
            package,
            nonce,
        })?,
        ButtonStyle::Success,
    );
    let mut cancel = Button::new(
        "Cancel",
        id(ComponentAction::CancelOrder { owner })?,
        ButtonStyle::Secondary,
    );
    confirm.disabled = disabled;
    cancel.disabled = disabled;
    Ok(Row::Buttons(vec![confirm, cancel]))
}

pub fn insufficient_balance(
    owner: DiscordUserId,
    balance: Idr,
    price: Idr,
    shortfall: Idr,
) -> Result<Message, CustomIdError> {
    let _ = owner;
    Ok(Message::embed(
        Embed::new(
            "Not enough balance",
            format!("Top up at least **{shortfall}** to buy this package."),
            COLOR_WARN,
        )
        .field("Price", price.to_string(), true)
        .field("Your balance", balance.to_string(), true)
        .field("Short by", shortfall.to_string(), true),
    )
    .with_row(Row::Buttons(vec![Button::new(
        "Top up",
        id(ComponentAction::Menu(MenuItem::Topup))?,
        ButtonStyle::Success,
    )])))
}

/// Shown while the order is placed: the buttons stay visible but disabled, so nobody clicks twice.
pub fn order_processing(
    owner: DiscordUserId,
    package: PackageSize,
    nonce: u64,
) -> Result<Message, CustomIdError> {
    Ok(Message::embed(Embed::new(
        "Placing your order…",
        format!("{package}: one moment."),
        COLOR_BRAND,
    ))
    .with_row(confirm_buttons(owner, package, nonce, true)?))
}

pub fn order_cancelled() -> Message {
    notice("Order cancelled", "Nothing was charged.")
}

/// The outcome of `order.create`, shown in place of the confirm step.
pub fn order_outcome(
    owner: DiscordUserId,
    outcome: &Result<OrderAccepted, ServiceError>,
) -> Result<Message, CustomIdError> {
    match outcome {
        Ok(a) => Ok(Message::embed(
            Embed::new(
                "Order placed",
                format!(
                    "Order **{}**: {}. Your codes are on their way to your DMs.",
                    a.order_number, a.package
                ),
                COLOR_OK,
            )
            .field("Paid", a.total_price.to_string(), true)
            .field("Balance now", a.balance_after.to_string(), true),
        )),
        Err(ServiceError::InsufficientBalance {
            balance,
            price,
            shortfall,
        }) => insufficient_balance(owner, *balance, *price, *shortfall),
        Err(ServiceError::OutOfStock { .. }) => Ok(notice(
            "Out of stock",
            format!(
                "{} Nothing was charged; admins have been told.",
                outcome
                    .as_ref()
                    .err()
                    .map(|e| e.describe())
                    .unwrap_or_default()
            ),
        )),
        Err(e) => Ok(error(e.describe())),
    }
}

/// The top-up amount picker: preset buttons plus "Other amount" (a modal).
pub fn topup_picker(
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
        "Other amount",
        id(ComponentAction::TopupCustom { owner })?,
        ButtonStyle::Secondary,
    ));
    let mut m = Message::embed(Embed::new(
        "Top up",
        format!("Choose an amount (from {min} to {max}). You pay with QRIS from any e-wallet or bank app."),
        COLOR_BRAND,
    ));
    m.rows = button_rows(buttons);
    Ok(m)
}

pub const QR_FILE_NAME: &str = "qris.png";

/// How a sandbox top-up is labelled for buyers.
pub const SANDBOX_LABEL: &str = "TEST PAYMENT (sandbox)";

/// The QR to pay, with amount, expiry and Check status / Cancel buttons.
pub fn topup_created(
    owner: DiscordUserId,
    t: &TopupCreated,
    qr_png: Vec<u8>,
) -> Result<Message, CustomIdError> {
    let mut embed = if t.sandbox {
        // Said on every QR so no buyer mistakes a sandbox shop for a real one.
        Embed::new(
            format!("{SANDBOX_LABEL}: scan to pay"),
            "This shop runs in Midtrans **sandbox** mode: this QR is a test payment. No real money is taken, and real e-wallet or bank apps cannot pay it.",
            COLOR_WARN,
        )
        .field("Mode", SANDBOX_LABEL, false)
    } else {
        Embed::new(
            "Scan to pay",
            "Scan this QRIS code with any e-wallet or bank app. Your balance is credited automatically; you will get a DM.",
            COLOR_BRAND,
        )
    }
    .field("Amount", t.amount.to_string(), true)
    .field("Expires", ts(t.expires_at), true)
    .footer(format!("Top-up {}", t.order_id));
    embed.image_attachment = Some(format!("attachment://{QR_FILE_NAME}"));
    let mut m = Message::embed(embed).with_row(Row::Buttons(vec![
        Button::new(
            "Check status",
            id(ComponentAction::TopupCheck {
                owner,
                order_id: t.order_id.clone(),
            })?,
            ButtonStyle::Primary,
        ),
        Button::new(
            "Cancel",
            id(ComponentAction::TopupCancel {
                owner,
                order_id: t.order_id.clone(),
            })?,
            ButtonStyle::Danger,
        ),
    ]));
    m.attachments.push(Attachment {
        file_name: QR_FILE_NAME.into(),
        bytes: qr_png,
    });
    Ok(m)
}

pub fn topup_status(info: &TopupInfo) -> Message {
    match info.state {
        TopupState::Success => Message::embed(
            Embed::new(
                "Top-up paid",
                format!("{} was added to your balance.", info.amount),
                COLOR_OK,
            )
            .footer(format!("Top-up {}", info.order_id)),
        ),
        TopupState::Failed => Message::embed(
            Embed::new(
                "Top-up not paid",
                format!(
                    "This top-up of {} is {}. Nothing was charged; start a new one with `/topup`.",
                    info.amount,
                    match info.midtrans_status.as_deref() {
                        Some("expire") => "expired",
                        Some("cancel") => "cancelled",
                        _ => "closed",
                    }
                ),
                COLOR_WARN,
            )
            .footer(format!("Top-up {}", info.order_id)),
        ),
        TopupState::Pending => Message::embed(
            Embed::new(
                "Waiting for payment",
                format!(
                    "{} has not been paid yet.{}",
                    info.amount,
                    info.expires_at
                        .map(|e| format!(" The QR code expires {}.", ts(e)))
                        .unwrap_or_default()
                ),
                COLOR_BRAND,
            )
            .footer(format!("Top-up {}", info.order_id)),
        ),
    }
}

pub fn topup_settled(order_id: &str, amount: Idr, balance_after: Idr) -> Message {
    Message::embed(
        Embed::new(
            "Top-up received",
            format!("{amount} was added to your balance."),
            COLOR_OK,
        )
        .field("Balance now", balance_after.to_string(), true)
        .footer(format!("Top-up {order_id}")),
    )
}

pub fn topup_expired(order_id: &str, amount: Idr, midtrans_status: &str) -> Message {
    let word = match midtrans_status {
        "expire" => "expired",
        "cancel" => "was cancelled",
        "deny" => "was declined",
        _ => "failed",
    };
    Message::embed(
        Embed::new(
            "Top-up not completed",
            format!("Your top-up of {amount} {word}. Nothing was charged."),
            COLOR_WARN,
        )
        .footer(format!("Top-up {order_id}")),
    )
}

pub fn balance(b: &BalanceReply) -> Message {
    Message::embed(
        Embed::new("Your balance", format!("**{}**", b.balance), COLOR_BRAND)
            .field("Topped up in total", b.total_topup.to_string(), true)
            .field("Spent in total", b.total_spent.to_string(), true),
    )
}

fn order_line(o: &OrderSummary) -> String {
    format!(
        "`{}` {} · {} · {} · {}",
        o.order_number,
        o.package,
        o.total_price,
        o.status.as_str(),
        ts(o.created_at)
    )
}

pub fn history(h: &HistoryReply) -> Message {
    let orders = if h.orders.is_empty() {
        "No orders yet.".to_string()
    } else {
        h.orders
            .iter()
            .map(order_line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let topups = if h.topups.is_empty() {
        "No top-ups yet.".to_string()
    } else {
        h.topups
            .iter()
            .map(|t| {
                let state = match t.state {
                    TopupState::Pending => "pending",
                    TopupState::Success => "paid",
                    TopupState::Failed => "not paid",
                };
                format!("{} · {} · {}", t.amount, state, ts(t.created_at))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Message::embed(
        Embed::new("Your history", "", COLOR_BRAND)
            .field("Orders", orders, false)
            .field("Top-ups", topups, false)
            .fitted(),
    )
}

pub fn stock_added(s: &StockAdded) -> Message {
    let mut e = Embed::new("Stock added", format!("Batch `{}`", s.batch_id), COLOR_OK)
        .field("Added", s.added.to_string(), true)
        .field("Duplicates", s.duplicates.to_string(), true)
        .field("Available now", s.available_after.to_string(), true);
    if !s.rejected.is_empty() {
        let lines = s
            .rejected
            .iter()
            .take(20)
            .map(|r| format!("line {}: {}", r.line, r.reason))
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field(format!("Rejected ({})", s.rejected.len()), lines, false);
    }
    Message::embed(e.fitted())
}

pub fn stock_view(v: &StockView) -> Message {
    let color = if v.counts.available <= v.low_stock_threshold {
        COLOR_WARN
    } else {
        COLOR_BRAND
    };
    let mut e = Embed::new("Stock", "", color)
        .field("Available", v.counts.available.to_string(), true)
        .field("Reserved", v.counts.reserved.to_string(), true)
        .field("Sold", v.counts.sold.to_string(), true)
        .field(
            "Low-stock alert at",
            v.low_stock_threshold.to_string(),
            true,
        );
    if v.counts.quarantined > 0 {
        e = e.field(
            "Quarantined",
            format!(
                "**{}** of the reserved codes could not be decrypted and are off sale. Put the \
                 missing key back and run `/admin quarantine release`, or drop them with \
                 `/admin quarantine discard`.",
                v.counts.quarantined
            ),
            false,
        );
    }
    if !v.recent_batches.is_empty() {
        let lines = v
            .recent_batches
            .iter()
            .map(|b| {
                format!(
                    "`{}` +{} ({} dup, {} rejected) {}",
                    b.batch_id,
                    b.added,
                    b.duplicates,
                    b.rejected,
                    ts(b.created_at)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field("Recent batches", lines, false);
    }
    Message::embed(e.fitted())
}

/// One page of orders with Previous/Next buttons that carry the filter.
pub fn orders_page(
    owner: DiscordUserId,
    p: &OrdersPage,
    status: Option<OrderStatus>,
    user: Option<DiscordUserId>,
) -> Result<Message, CustomIdError> {
    let pages = p.total.div_ceil(u64::from(p.page_size.max(1))).max(1);
    let body = if p.orders.is_empty() {
        "No orders match.".to_string()
    } else {
        p.orders
            .iter()
            .map(|o| format!("{} · <@{}>", order_line(o), o.user_id))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut filter = Vec::new();
    if let Some(s) = status {
        filter.push(format!("status {}", s.as_str()));
    }
    if let Some(u) = user {
        filter.push(format!("user <@{u}>"));
    }
    let mut e = Embed::new("Orders", body, COLOR_BRAND).footer(format!(
        "Page {} of {} · {} orders",
        u64::from(p.page) + 1,
        pages,
        p.total
    ));
    if !filter.is_empty() {
        e = e.field("Filter", filter.join(", "), false);
    }
    let mut prev = Button::new(
        "Previous",
        id(ComponentAction::OrdersPage {
            owner,
            page: p.page.saturating_sub(1),
            status,
            user,
        })?,
        ButtonStyle::Secondary,
    );
    prev.disabled = p.page == 0;
    let mut next = Button::new(
        "Next",
        id(ComponentAction::OrdersPage {
            owner,
            page: p.page.saturating_add(1),
            status,
            user,
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

pub fn order_processed(p: &OrderProcessed) -> Message {
    let what = match p.action {
        ProcessAction::Redeliver => "Re-delivery requested".to_string(),
        ProcessAction::Refund if p.forced => format!(
            "Refunded (forced){}",
            p.refunded.map(|r| format!(" {r}")).unwrap_or_default()
        ),
        ProcessAction::Refund => format!(
            "Refunded{}",
            p.refunded.map(|r| format!(" {r}")).unwrap_or_default()
        ),
    };
    let mut e = Embed::new(
        what,
        format!("Order `{}` is now {}.", p.order_number, p.status.as_str()),
        if p.forced { COLOR_WARN } else { COLOR_OK },
    );
    if p.forced {
        e = e.field(
            "Forced",
            "Yes: the order was completed or being delivered; the buyer may hold the codes.",
            false,
        );
    }
    if let Some(reason) = &p.reason {
        e = e.field("Reason", reason.clone(), false);
    }
    if p.voided_deliveries > 0 {
        e = e.field(
            "Deliveries cancelled",
            format!(
                "{} queued delivery(ies) will not be sent.",
                p.voided_deliveries
            ),
            false,
        );
    }
    Message::embed(e.fitted())
}

/// What `/admin quarantine` did.
pub fn quarantine_processed(q: &QuarantineProcessed) -> Message {
    let title = match q.action {
        QuarantineAction::Release => "Quarantined codes released",
        QuarantineAction::Discard => "Quarantined codes discarded",
    };
    let color = if q.still_quarantined > 0 {
        COLOR_WARN
    } else {
        COLOR_OK
    };
    Message::embed(
        Embed::new(title, "", color)
            .field("Back on sale", q.released.to_string(), true)
            .field("Discarded", q.discarded.to_string(), true)
            .field("Still quarantined", q.still_quarantined.to_string(), true)
            .field("Available now", q.available_after.to_string(), true)
            .fitted(),
    )
}

/// What `/admin clearowed` did.
pub fn owed_cleared(c: &OwedCleared) -> Message {
    let description = if c.cleared.is_positive() {
        format!(
            "<@{}> owed {}; that is cleared and they can order again.",
            c.user_id, c.cleared
        )
    } else {
        format!("<@{}> owed nothing.", c.user_id)
    };
    Message::embed(Embed::new("Amount owed cleared", description, COLOR_OK).fitted())
}

/// An order anomaly for the alert channel (e.g. codes delivered after the refund).
pub fn order_anomaly_alert(a: &OrderAnomaly) -> Message {
    let title = match a.kind {
        AnomalyKind::DeliveredAfterRefund => "Delivered after refund",
    };
    Message::embed(
        Embed::new(
            title,
            format!(
                "Order `{}` of <@{}> stays refunded, but the buyer received its codes. Decide \
                 whether to contact the buyer or adjust the balance.",
                a.order_number, a.user_id
            ),
            COLOR_ERROR,
        )
        .field("What happened", a.detail.clone(), false)
        .fitted(),
    )
}

pub fn stats(s: &StatsView) -> Message {
    let period = |p: &shared_proto::PeriodStats| {
        format!(
            "{} orders · {} codes · {}\n{} top-ups · {}",
            p.orders, p.codes_sold, p.revenue, p.topups, p.topup_amount
        )
    };
    Message::embed(
        Embed::new("Shop statistics", "", COLOR_BRAND)
            .field("Today", period(&s.today), false)
            .field("Last 7 days", period(&s.last_7_days), false)
            .field("Last 30 days", period(&s.last_30_days), false)
            .field(
                "Stock",
                format!(
                    "{} available · {} reserved · {} sold",
                    s.stock.available, s.stock.reserved, s.stock.sold
                ),
                false,
            )
            .field("Failed deliveries", s.failed_deliveries.to_string(), true)
            .field("Users", s.users.to_string(), true)
            .fitted(),
    )
}

pub fn stock_low_alert(s: &StockLow) -> Message {
    Message::embed(Embed::new(
        "Low stock",
        format!(
            "Only **{}** codes left (alert threshold {}). Add stock with `/admin addstock`.",
            s.available, s.threshold
        ),
        COLOR_WARN,
    ))
}

pub fn order_failed_alert(o: &OrderFailed) -> Message {
    Message::embed(
        Embed::new(
            "Delivery failed",
            format!(
                "Order `{}` for <@{}> could not be delivered after {} attempts. Use `/admin processorder {} redeliver` or `refund`.",
                o.order_number, o.user_id, o.attempts, o.order_number
            ),
            COLOR_ERROR,
        )
        .field("Reason", o.reason.clone(), false)
        .fitted(),
    )
}

/// For admins: money of a credited top-up went back to the payer after settlement.
pub fn topup_reversed_alert(r: &TopupReversed) -> Message {
    let what = match r.midtrans_status.as_str() {
        "chargeback" | "partial_chargeback" => "charged back by the payer's bank",
        _ => "refunded",
    };
    let mut text = format!(
        "Top-up `{}` of <@{}> was {what} after it was credited ({}): {} returned, {} taken back from the balance.",
        r.order_id, r.user_id, r.midtrans_status, r.returned, r.taken_from_balance
    );
    if r.total_owed.is_positive() {
        text.push_str(&format!(
            " The user owes {} and cannot order until an admin clears it.",
            r.total_owed
        ));
    }
    Message::embed(
        Embed::new("Top-up money returned", text, COLOR_ERROR)
            .field("Balance now", r.balance_after.to_string(), true)
            .field("Owed now", r.total_owed.to_string(), true)
            .fitted(),
    )
}

pub fn order_refunded(r: &OrderRefunded) -> Message {
    Message::embed(
        Embed::new(
            "Order refunded",
            format!(
                "Order `{}` was refunded: {} is back in your balance.",
                r.order_number, r.amount
            ),
            COLOR_OK,
        )
        .field("Balance now", r.balance_after.to_string(), true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use shared_proto::{CatalogEntry, OrderSummary, StockCounts};

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
    fn a_sandbox_qr_says_test_payment_and_a_production_qr_does_not() {
        let sandbox = topup_created(uid(), &created(true), vec![1]).unwrap();
        sandbox.check().unwrap();
        let shown_sandbox = shown(&sandbox);
        assert!(shown_sandbox.contains("TEST PAYMENT"), "{shown_sandbox}");
        assert!(shown_sandbox.contains("sandbox"), "{shown_sandbox}");
        let real = shown(&topup_created(uid(), &created(false), vec![1]).unwrap());
        assert!(!real.to_lowercase().contains("test payment"), "{real}");
        assert!(!real.contains("sandbox"), "{real}");
    }

    #[test]
    fn every_screen_fits_discord_limits() {
        let owner = uid();
        let mut screens = vec![main_menu(), help(), foreign_click(), stale_click()];
        screens.push(package_picker(owner, &catalog()).unwrap());
        for e in &catalog().packages {
            screens.push(confirm_order(owner, e, Idr::new(100_000), u64::MAX).unwrap());
            screens.push(order_processing(owner, e.package, u64::MAX).unwrap());
        }
        let presets: Vec<Idr> = (1..=12).map(|i| Idr::new(i * 10_000)).collect();
        screens.push(topup_picker(owner, &presets, Idr::new(10_000), Idr::new(1_000_000)).unwrap());
        let order = OrderSummary {
            order_number: "ORD-1".into(),
            user_id: owner,
            package: PackageSize::Fifty,
            total_price: Idr::new(550_000),
            status: OrderStatus::Completed,
            created_at: Utc::now(),
            completed_at: None,
        };
        let page = OrdersPage {
            orders: vec![order.clone(); 200],
            page: 3,
            page_size: 10,
            total: 2000,
        };
        screens.push(orders_page(owner, &page, Some(OrderStatus::Failed), Some(owner)).unwrap());
        let last = OrdersPage {
            orders: vec![],
            page: u32::MAX,
            page_size: 10,
            total: 0,
        };
        screens.push(orders_page(owner, &last, None, None).unwrap());
        screens.push(history(&HistoryReply {
            user_id: owner,
            orders: vec![order; 100],
            topups: vec![],
        }));
        screens.push(stock_view(&StockView {
            counts: StockCounts::default(),
            low_stock_threshold: 10,
            recent_batches: vec![],
        }));
        for s in &screens {
            s.check().unwrap_or_else(|e| panic!("{e}: {s:?}"));
        }
    }

    #[test]
    fn confirm_step_shows_balance_after_or_the_shortfall() {
        let owner = uid();
        let entry = &catalog().packages[1]; // 5 codes, 75.000
        let ok = confirm_order(owner, entry, Idr::new(100_000), 9).unwrap();
        let fields = &ok.embeds[0].fields;
        assert!(fields
            .iter()
            .any(|f| f.name == "Balance after" && f.value == "Rp 25.000"));
        let short = confirm_order(owner, entry, Idr::new(50_000), 9).unwrap();
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
        let Row::Buttons(buttons) = &main_menu().rows[0] else {
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
        let forced = order_processed(&OrderProcessed {
            order_number: "RF-20261202-ABC234".into(),
            action: ProcessAction::Refund,
            status: OrderStatus::Refunded,
            refunded: Some(Idr::new(70_000)),
            forced: true,
            reason: Some("codes reported as used".into()),
            voided_deliveries: 2,
        });
        forced.check().unwrap();
        assert!(forced.embeds[0].title.contains("forced"));
        assert_eq!(field(&forced, "Reason"), Some("codes reported as used"));
        assert!(field(&forced, "Forced").is_some());
        assert!(field(&forced, "Deliveries cancelled").is_some_and(|v| v.contains('2')));
        let plain = order_processed(&OrderProcessed {
            order_number: "RF-20261202-ABC234".into(),
            action: ProcessAction::Refund,
            status: OrderStatus::Refunded,
            refunded: Some(Idr::new(70_000)),
            forced: false,
            reason: None,
            voided_deliveries: 0,
        });
        assert!(!plain.embeds[0].title.contains("forced"));
        assert!(plain.embeds[0].fields.is_empty());
    }

    #[test]
    fn owed_cleared_names_the_amount_or_says_nothing_was_owed() {
        let cleared = owed_cleared(&OwedCleared {
            user_id: uid(),
            cleared: Idr::new(30_000),
        });
        cleared.check().unwrap();
        assert!(cleared.embeds[0].description.contains("Rp 30.000"));
        assert!(cleared.embeds[0].description.contains("order again"));
        let nothing = owed_cleared(&OwedCleared {
            user_id: uid(),
            cleared: Idr::new(0),
        });
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
            },
            low_stock_threshold: 10,
            recent_batches: vec![],
        };
        let shown = stock_view(&v);
        assert!(field(&shown, "Quarantined").is_some_and(|t| t.contains("**2**")));
        v.counts.quarantined = 0;
        assert_eq!(field(&stock_view(&v), "Quarantined"), None);
        let done = quarantine_processed(&QuarantineProcessed {
            action: QuarantineAction::Release,
            released: 2,
            discarded: 0,
            still_quarantined: 1,
            available_after: 7,
        });
        done.check().unwrap();
        assert_eq!(field(&done, "Back on sale"), Some("2"));
        assert_eq!(field(&done, "Still quarantined"), Some("1"));
        let alert = order_anomaly_alert(&OrderAnomaly {
            order_number: "RF-20261202-ABC234".into(),
            user_id: uid(),
            kind: AnomalyKind::DeliveredAfterRefund,
            detail: "delivery confirmed after the refund".into(),
        });
        alert.check().unwrap();
        assert!(alert.embeds[0].description.contains("RF-20261202-ABC234"));
    }
}
