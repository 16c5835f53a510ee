//! `/admin …`: stock (its quarantine and defective batches), orders, re-delivery/refund,
//! statistics, the shop panel; the catalogue (`/admin product …`) is in `product.rs`.
//! Registered in the shop guild(s) only and hidden by `default_member_permissions`, but that is
//! only what members see: the guild and the admin role are checked when each subcommand runs,
//! and every request carries an admin claim bound to the guild, the operation and its
//! parameters.

use chrono::Utc;
use serenity::all::{Attachment, User};
use shared_proto::{
    AdminBatchDefective, AdminOrderProcess, AdminOrdersList, AdminOwedClear, AdminStats,
    AdminStockAdd, AdminStockQuarantine, AdminStockView, DiscordUserId, OrderFilter, OrderStatus,
    ProcessAction, ProductId, QuarantineAction,
};

use super::super::admin_check::admin_grant;
use super::super::attachment_download::{download, DownloadError};
use super::super::interaction::{defer_ephemeral, menu_failed, show, Origin};
use super::super::outbound;
use super::{origin, Context, Error};
use crate::domain::admin::{sign_claim, AdminGrant};
use crate::domain::i18n::Lang;
use crate::domain::views;
use crate::tr;

/// Largest stock upload accepted (a code a line; 1 MiB is far above any real batch).
const MAX_STOCK_FILE: u32 = 1024 * 1024;
const PAGE_SIZE: u32 = 10;

/// Shop administration (admin role required).
///
/// `default_member_permissions` hides the command from members without Manage Server (a server
/// owner can show it to the admin role under Server Settings → Integrations); the admin role in
/// the shop guild is what actually grants it.
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands(
        "addstock",
        "viewstock",
        "vieworders",
        "processorder",
        "quarantine",
        "defectbatch",
        "clearowed",
        "botstats",
        "postpanel",
        "super::product::product"
    )
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Defers, checks the guild and the role, and returns the origin and the admin grant (each
/// command signs its own claim with it once its parameters are known); on refusal tells the
/// user and returns None (nothing is published).
pub(super) async fn authorize(ctx: Context<'_>) -> Result<Option<(Origin, AdminGrant)>, Error> {
    let o = origin(ctx)?;
    defer_ephemeral(ctx.data(), &o).await?;
    match admin_grant(ctx.data(), &o) {
        Ok(grant) => Ok(Some((o, grant))),
        Err(refusal) => {
            tracing::info!(user_id = %o.user, guild_id = ?o.guild_id.map(|g| g.get()), reason = %refusal, "admin command refused");
            show(
                &ctx.data().http,
                &o,
                &views::error(o.lang, refusal.message(o.lang)),
            )
            .await;
            Ok(None)
        }
    }
}

/// Add codes to the stock: paste them (one a line) or attach a .txt file.
#[poise::command(slash_command)]
pub async fn addstock(
    ctx: Context<'_>,
    #[description = "Codes, one a line (or separated by spaces)"] text: Option<String>,
    #[description = "A .txt file with one code a line"] file: Option<Attachment>,
    #[autocomplete = "super::product::autocomplete_product"] product: Option<i64>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    // Without the option: the default product (the one-product shop's).
    let product_id = match product.map(super::product::product_id) {
        None => ProductId::DEFAULT,
        Some(Some(id)) => id,
        Some(None) => {
            show(
                &state.http,
                &o,
                &views::error(o.lang, tr!(o.lang, "product-option-invalid")),
            )
            .await;
            return Ok(());
        }
    };
    let (body, source_name) = match (text, file) {
        (_, Some(f)) => {
            if f.size > MAX_STOCK_FILE {
                show(
                    &state.http,
                    &o,
                    &views::error(o.lang, tr!(o.lang, "stock-file-too-large")),
                )
                .await;
                return Ok(());
            }
            let bytes = match download(&f.url, u64::from(MAX_STOCK_FILE)).await {
                Ok(b) => b,
                Err(error) => {
                    tracing::warn!(%error, "downloading the stock file failed; nothing added");
                    show(
                        &state.http,
                        &o,
                        &views::error(o.lang, download_refusal(o.lang, &error)),
                    )
                    .await;
                    return Ok(());
                }
            };
            match String::from_utf8(bytes) {
                Ok(text) => (text, Some(f.filename.clone())),
                Err(_) => {
                    show(
                        &state.http,
                        &o,
                        &views::error(o.lang, tr!(o.lang, "stock-file-not-text")),
                    )
                    .await;
                    return Ok(());
                }
            }
        }
        // A slash-command option is one line, so spaces separate codes there.
        (Some(t), None) => (t.split_whitespace().collect::<Vec<_>>().join("\n"), None),
        (None, None) => {
            show(
                &state.http,
                &o,
                &views::error(o.lang, tr!(o.lang, "stock-no-codes")),
            )
            .await;
            return Ok(());
        }
    };
    let view = match state
        .payments
        .add_stock(sign_claim(
            &state.settings.admin_claim_secret,
            AdminStockAdd {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                product_id,
                text: body,
                source_name,
            },
        ))
        .await
    {
        Ok(added) => views::stock_added(o.lang, &added),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

/// What the admin is told when the stock file could not be fetched: nothing was added.
fn download_refusal(lang: Lang, error: &DownloadError) -> String {
    match error {
        DownloadError::Status(status) => {
            tr!(lang, "stock-download-status", status = *status)
        }
        DownloadError::TooLarge { .. } => tr!(lang, "stock-download-too-large"),
        DownloadError::Network { .. } => tr!(lang, "stock-download-failed"),
    }
}

/// Show stock counts and recent batches.
#[poise::command(slash_command)]
pub async fn viewstock(ctx: Context<'_>) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let view = match state
        .payments
        .view_stock(sign_claim(
            &state.settings.admin_claim_secret,
            AdminStockView {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
            },
        ))
        .await
    {
        Ok(v) => views::stock_view(o.lang, &v),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum StatusChoice {
    Pending,
    Delivering,
    Completed,
    Failed,
    Refunded,
}

impl From<StatusChoice> for OrderStatus {
    fn from(s: StatusChoice) -> Self {
        match s {
            StatusChoice::Pending => OrderStatus::Pending,
            StatusChoice::Delivering => OrderStatus::Delivering,
            StatusChoice::Completed => OrderStatus::Completed,
            StatusChoice::Failed => OrderStatus::Failed,
            StatusChoice::Refunded => OrderStatus::Refunded,
        }
    }
}

/// List orders, newest first, with filters.
#[poise::command(slash_command)]
pub async fn vieworders(
    ctx: Context<'_>,
    #[description = "Only this user's orders"] user: Option<User>,
    #[description = "Only orders in this state"] status: Option<StatusChoice>,
    #[description = "Page (1 = newest)"]
    #[min = 1]
    page: Option<u32>,
    #[autocomplete = "super::product::autocomplete_product"] product: Option<i64>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let user = user.and_then(|u| DiscordUserId::new(u.id.get()).ok());
    let status = status.map(OrderStatus::from);
    let page = page.unwrap_or(1).saturating_sub(1);
    let product = match product.map(super::product::product_id) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => {
            let refusal = views::error(o.lang, tr!(o.lang, "product-option-invalid"));
            show(&ctx.data().http, &o, &refusal).await;
            return Ok(());
        }
    };
    let view = orders_page(ctx.data(), &o, &grant, page, status, user, product).await;
    show(&ctx.data().http, &o, &view).await;
    Ok(())
}

/// One page of orders (also used by the paging buttons).
#[allow(clippy::too_many_arguments)]
pub async fn orders_page(
    state: &crate::state::AppState,
    o: &Origin,
    grant: &AdminGrant,
    page: u32,
    status: Option<OrderStatus>,
    user: Option<DiscordUserId>,
    product: Option<ProductId>,
) -> crate::domain::message::Message {
    let request = sign_claim(
        &state.settings.admin_claim_secret,
        AdminOrdersList {
            request_id: o.interaction_id.to_string(),
            claim: grant.claim(Utc::now()),
            filter: OrderFilter {
                user_id: user,
                status,
                product_id: product,
                ..Default::default()
            },
            page,
            page_size: PAGE_SIZE,
        },
    );
    match state.payments.list_orders(request).await {
        Ok(p) => views::orders_page(o.lang, o.user, &p, status, user, product)
            .unwrap_or_else(|_| menu_failed(o.lang)),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    }
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ActionChoice {
    #[name = "redeliver"]
    Redeliver,
    #[name = "refund"]
    Refund,
}

// Refunding a completed or delivering order needs `force` and a `reason`: its buyer may hold
// the codes already (the payment-service refuses it otherwise).
/// Re-deliver or refund an order.
#[poise::command(slash_command)]
pub async fn processorder(
    ctx: Context<'_>,
    #[description = "Order number, e.g. RF-20260101-ABC234"] order_number: String,
    #[description = "What to do"] action: ActionChoice,
    #[description = "Refund even a completed or delivering order (needs a reason)"] force: Option<
        bool,
    >,
    #[description = "Why (kept in the audit log; required with force)"]
    #[max_length = 300]
    reason: Option<String>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let action = match action {
        ActionChoice::Redeliver => ProcessAction::Redeliver,
        ActionChoice::Refund => ProcessAction::Refund,
    };
    let view = match state
        .payments
        .process_order(sign_claim(
            &state.settings.admin_claim_secret,
            AdminOrderProcess {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                order_number: order_number.trim().to_string(),
                action,
                force: force.unwrap_or(false),
                reason: reason
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
            },
        ))
        .await
    {
        Ok(p) => views::order_processed(o.lang, &p),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum QuarantineChoice {
    #[name = "release"]
    Release,
    #[name = "discard"]
    Discard,
}

// Quarantined codes failed decryption (their key is missing or wrong on some replica):
// `release` puts back those that decrypt again, `discard` deletes them all.
/// Release or discard codes that could not be decrypted.
#[poise::command(slash_command)]
pub async fn quarantine(
    ctx: Context<'_>,
    #[description = "release: back on sale when they decrypt again; discard: delete them"]
    action: QuarantineChoice,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let action = match action {
        QuarantineChoice::Release => QuarantineAction::Release,
        QuarantineChoice::Discard => QuarantineAction::Discard,
    };
    let view = match state
        .payments
        .quarantine_stock(sign_claim(
            &state.settings.admin_claim_secret,
            AdminStockQuarantine {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                action,
            },
        ))
        .await
    {
        Ok(q) => views::quarantine_processed(o.lang, &q),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

// The supplier's batch is bad: every code of it counts as defective (the defect rate of
// `/admin viewstock`), and its unsold codes leave sale at once. Audited with the note.
/// Declare a stock batch defective: its unsold codes leave sale, sold ones count as defects.
#[poise::command(slash_command)]
pub async fn defectbatch(
    ctx: Context<'_>,
    #[description = "Batch id, as /admin viewstock shows it"]
    #[max_length = 100]
    batch: String,
    #[description = "Why (kept in the audit log)"]
    #[max_length = 300]
    note: Option<String>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let view = match state
        .payments
        .batch_defective(sign_claim(
            &state.settings.admin_claim_secret,
            AdminBatchDefective {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                batch_id: batch.trim().to_string(),
                note: note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            },
        ))
        .await
    {
        Ok(b) => views::batch_defective(o.lang, &b),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

// A refund or chargeback of a credited top-up that the balance could not cover leaves an
// amount owed that blocks the buyer's orders until an admin clears it (settled some other way,
// or written off). The clearing is audited with the note.
/// Clear what a buyer owes after a top-up was refunded or charged back.
#[poise::command(slash_command)]
pub async fn clearowed(
    ctx: Context<'_>,
    #[description = "The buyer"] user: User,
    #[description = "How it was settled (kept in the audit log)"]
    #[max_length = 300]
    note: Option<String>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let Ok(user_id) = DiscordUserId::new(user.id.get()) else {
        show(
            &state.http,
            &o,
            &views::error(o.lang, tr!(o.lang, "unknown-user")),
        )
        .await;
        return Ok(());
    };
    let view = match state
        .payments
        .clear_owed(sign_claim(
            &state.settings.admin_claim_secret,
            AdminOwedClear {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                user_id,
                note: note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            },
        ))
        .await
    {
        Ok(c) => views::owed_cleared(o.lang, &c),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

/// Sales, top-ups and stock statistics.
#[poise::command(slash_command)]
pub async fn botstats(ctx: Context<'_>) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let view = match state
        .payments
        .stats(sign_claim(
            &state.settings.admin_claim_secret,
            AdminStats {
                request_id: o.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
            },
        ))
        .await
    {
        Ok(s) => views::stats(o.lang, &s),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, &o, &view).await;
    Ok(())
}

/// Post the shop panel in this channel; its buttons keep working after restarts.
#[poise::command(slash_command)]
pub async fn postpanel(ctx: Context<'_>) -> Result<(), Error> {
    let Some((o, _grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    // The panel is for everyone: in the shop's language, `DEFAULT_LOCALE`.
    let panel = views::main_menu(state.settings.default_lang);
    let view = match outbound::post(state.rest(), o.channel_id, &panel).await {
        Ok(_) => views::notice(
            tr!(o.lang, "panel-posted-title"),
            tr!(o.lang, "panel-posted"),
        ),
        Err(error) => {
            tracing::warn!(error = %outbound::loggable(&error), "posting the panel failed");
            views::error(o.lang, tr!(o.lang, "panel-failed"))
        }
    };
    show(&state.http, &o, &view).await;
    Ok(())
}
