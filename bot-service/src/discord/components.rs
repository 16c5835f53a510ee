//! Routing of button, select-menu and modal interactions. Everything a click needs is in its
//! custom_id, so any replica can handle it, also after a restart. poise does not route these;
//! they come through the event handler.

use std::time::Instant;

use serenity::all::{
    ComponentInteraction, ComponentInteractionDataKind, Context as SerenityContext,
    CreateInteractionResponse, ModalInteraction,
};
use shared_proto::{OrderCreate, PackageSize, ProductId, TopupState};

use super::admin_check::admin_grant;
use super::interaction::{
    create_topup, defer_ephemeral, defer_update, menu_failed, modal_input, open_modal, qr_screen,
    reply_ephemeral, respond, show, show_balance, show_history, show_package_picker, topup_picker,
    Origin,
};
use super::{reports, Data};
use crate::domain::amount::TopupAmount;
use crate::domain::custom_id::{may_click, ComponentAction, CustomIdError, MenuItem};
use crate::domain::views::{self, AMOUNT_INPUT};
use crate::tr;

pub async fn on_component(ctx: &SerenityContext, state: &Data, c: &ComponentInteraction) {
    let started = Instant::now();
    let Some(origin) = Origin::from_component(c) else {
        return;
    };
    let action = match ComponentAction::decode(&c.data.custom_id) {
        Ok(a) => a,
        Err(e) => {
            state
                .metrics
                .interactions
                .with_label_values(&["component:unknown"])
                .inc();
            let view = match e {
                CustomIdError::Foreign => views::stale_click(origin.lang),
                _ => views::error(origin.lang, tr!(origin.lang, "unknown-button")),
            };
            let _ = reply_ephemeral(state, &origin, &view).await;
            return;
        }
    };
    let kind = format!("component:{}", action.kind());
    state.metrics.interactions.with_label_values(&[&kind]).inc();
    if !may_click(&action, origin.user) {
        let _ = reply_ephemeral(state, &origin, &views::foreign_click(origin.lang)).await;
        return;
    }
    if let Err(error) = route(ctx, state, c, &origin, action).await {
        tracing::warn!(error = %super::outbound::loggable(&error), kind, "answering a component interaction failed");
    }
    state
        .metrics
        .handler_seconds
        .with_label_values(&[&kind])
        .observe(started.elapsed().as_secs_f64());
}

async fn route(
    _ctx: &SerenityContext,
    state: &Data,
    c: &ComponentInteraction,
    origin: &Origin,
    action: ComponentAction,
) -> Result<(), serenity::Error> {
    let http = state.http.as_ref();
    match action {
        ComponentAction::Menu(MenuItem::Order) => {
            defer_ephemeral(state, origin).await?;
            show_package_picker(state, origin).await;
        }
        ComponentAction::Menu(MenuItem::Topup) => {
            reply_ephemeral(state, origin, &topup_picker(state, origin)).await?;
        }
        ComponentAction::Menu(MenuItem::Balance) => {
            defer_ephemeral(state, origin).await?;
            show_balance(state, origin).await;
        }
        ComponentAction::Menu(MenuItem::History) => {
            defer_ephemeral(state, origin).await?;
            show_history(state, origin).await;
        }
        ComponentAction::Menu(MenuItem::Help) => {
            reply_ephemeral(state, origin, &views::help(origin.lang)).await?;
        }
        ComponentAction::PickProduct { owner } => {
            let Some(product) = selected(c).and_then(|v| v.parse::<i64>().ok()) else {
                return reply_ephemeral(
                    state,
                    origin,
                    &views::error(origin.lang, tr!(origin.lang, "pick-a-product")),
                )
                .await;
            };
            defer_update(state, origin).await?;
            let view = match state.payments.catalog().await {
                Ok(cat) => match views::offers(&cat)
                    .iter()
                    .find(|o| o.product_id == ProductId(product))
                {
                    Some(offer) => views::package_picker(origin.lang, owner, offer, true)
                        .unwrap_or_else(|_| menu_failed(origin.lang)),
                    None => views::error(origin.lang, tr!(origin.lang, "product-gone")),
                },
                Err(e) => views::error(origin.lang, e.user_message(origin.lang)),
            };
            show(http, origin, &view).await;
        }
        ComponentAction::PickPackage { owner, product } => {
            let chosen = selected(c)
                .and_then(|v| v.parse::<u32>().ok())
                .and_then(|n| PackageSize::try_from(n).ok());
            let Some(package) = chosen else {
                return reply_ephemeral(
                    state,
                    origin,
                    &views::error(origin.lang, tr!(origin.lang, "pick-a-package")),
                )
                .await;
            };
            defer_update(state, origin).await?;
            let (catalog, balance) =
                tokio::join!(state.payments.catalog(), state.payments.balance(owner));
            let view = match (catalog, balance) {
                (Ok(cat), Ok(bal)) => {
                    let offers = views::offers(&cat);
                    let offer = offers.iter().find(|o| o.product_id == product);
                    match offer.and_then(|o| {
                        o.packages
                            .iter()
                            .find(|e| e.package == package)
                            .map(|e| (o, e))
                    }) {
                        Some((offer, entry)) => views::confirm_order(
                            origin.lang,
                            owner,
                            views::Purchase {
                                product,
                                product_name: Some(offer.name.as_str())
                                    .filter(|n| !n.trim().is_empty()),
                                package,
                            },
                            entry,
                            bal.balance,
                            origin.interaction_id.get(),
                        )
                        .unwrap_or_else(|_| menu_failed(origin.lang)),
                        None if offer.is_none() => {
                            views::error(origin.lang, tr!(origin.lang, "product-gone"))
                        }
                        None => views::error(origin.lang, tr!(origin.lang, "package-gone")),
                    }
                }
                (Err(e), _) | (_, Err(e)) => views::error(origin.lang, e.user_message(origin.lang)),
            };
            show(http, origin, &view).await;
        }
        ComponentAction::ConfirmOrder {
            owner,
            product,
            package,
            price,
            nonce,
        } => {
            // Deferred before anything else: Discord allows 3 s and the order takes a round trip.
            defer_update(state, origin).await?;
            if let Ok(processing) =
                views::order_processing(origin.lang, owner, product, package, price, nonce)
            {
                show(http, origin, &processing).await;
            }
            let request = OrderCreate {
                request_id: nonce.to_string(),
                user: origin.user_ref(),
                package,
                interaction: Some(origin.interaction_ref()),
                product_id: product,
                confirmed_price: price,
            };
            let outcome = state.payments.create_order(request).await;
            // A changed price offers a new Confirm: this click's id is its new request id.
            let retry = (product, origin.interaction_id.get());
            let view = match outcome {
                Ok(accepted) => views::order_outcome(origin.lang, owner, &Ok(accepted), retry),
                Err(crate::payment_client::RequestError::Service(e)) => {
                    views::order_outcome(origin.lang, owner, &Err(e), retry)
                }
                Err(e) => Ok(views::error(
                    origin.lang,
                    tr!(
                        origin.lang,
                        "order-outcome-unknown",
                        reason = e.user_message(origin.lang)
                    ),
                )),
            }
            .unwrap_or_else(|_| {
                views::error(origin.lang, tr!(origin.lang, "order-result-unshown"))
            });
            show(http, origin, &view).await;
        }
        ComponentAction::RevealPick { owner } => {
            let Some(order_number) = selected(c).filter(|n| carriable_order_number(owner, n))
            else {
                return reply_ephemeral(
                    state,
                    origin,
                    &views::error(origin.lang, tr!(origin.lang, "pick-an-order")),
                )
                .await;
            };
            defer_ephemeral(state, origin).await?;
            super::purchases::reveal(state, origin, owner, order_number).await;
        }
        ComponentAction::RevealToDm {
            owner,
            order_number,
        } => {
            defer_ephemeral(state, origin).await?;
            super::purchases::reveal_to_dm(state, origin, owner, order_number).await;
        }
        ComponentAction::CancelOrder { .. } => {
            respond(
                state,
                origin,
                CreateInteractionResponse::UpdateMessage(super::render::response_message(
                    &views::order_cancelled(origin.lang),
                    true,
                )),
            )
            .await?;
        }
        ComponentAction::TopupPreset { amount, .. } => {
            match TopupAmount::new(amount, state.settings.topup_bounds) {
                Ok(amount) => {
                    defer_update(state, origin).await?;
                    create_topup(state, origin, amount).await;
                }
                // The presets changed since this button was made.
                Err(e) => {
                    let view = views::error(origin.lang, e.message(origin.lang));
                    reply_ephemeral(state, origin, &view).await?
                }
            }
        }
        ComponentAction::TopupCustom { owner } => {
            let b = state.settings.topup_bounds;
            let modal = views::topup_modal(origin.lang, owner, b.min, b.max);
            open_modal(state, origin, &modal).await?;
        }
        ComponentAction::TopupModal { .. }
        | ComponentAction::ReportModal { .. }
        | ComponentAction::ReportAdminModal { .. } => {
            // A modal id on a component cannot happen with our messages: treat as stale.
            reply_ephemeral(state, origin, &views::stale_click(origin.lang)).await?;
        }
        ComponentAction::ReportStart {
            owner,
            order_number,
        } => reports::start(state, origin, owner, &order_number).await?,
        ComponentAction::ReportReason {
            owner,
            order_number,
            reason,
        } => reports::ask_details(state, origin, owner, &order_number, reason).await?,
        ComponentAction::ReportAdmin { report_id, action } => {
            reports::admin_click(state, origin, report_id, action).await?
        }
        ComponentAction::TopupCheck { owner, order_id } => {
            defer_update(state, origin).await?;
            match state.payments.topup_status(owner, order_id).await {
                Ok(info) if info.state != TopupState::Pending => {
                    show(http, origin, &views::topup_status(origin.lang, &info)).await
                }
                // Pending, and the message clicked shows no QR yet (Midtrans created it after
                // the first answer): draw the QR screen in place.
                Ok(info) if info.qr_string.is_some() && !shows_an_image(c) => {
                    let qr_string = info.qr_string.as_deref().unwrap_or_default();
                    show(
                        http,
                        origin,
                        &qr_screen(origin.lang, owner, &info, qr_string),
                    )
                    .await
                }
                Ok(info) => {
                    let _ = super::outbound::followup(
                        http,
                        &origin.token,
                        &views::topup_status(origin.lang, &info),
                        true,
                    )
                    .await;
                }
                Err(e) => {
                    let _ = super::outbound::followup(
                        http,
                        &origin.token,
                        &views::error(origin.lang, e.user_message(origin.lang)),
                        true,
                    )
                    .await;
                }
            }
        }
        ComponentAction::TopupCancel { owner, order_id } => {
            defer_update(state, origin).await?;
            match state.payments.cancel_topup(owner, order_id).await {
                Ok(info) => show(http, origin, &views::topup_status(origin.lang, &info)).await,
                Err(e) => {
                    let _ = super::outbound::followup(
                        http,
                        &origin.token,
                        &views::error(origin.lang, e.user_message(origin.lang)),
                        true,
                    )
                    .await;
                }
            }
        }
        ComponentAction::OrdersPage {
            page,
            status,
            user,
            product,
            ..
        } => {
            defer_update(state, origin).await?;
            match admin_grant(state, origin) {
                Ok(grant) => {
                    let view = super::commands::orders_page(
                        state, origin, &grant, page, status, user, product,
                    )
                    .await;
                    show(http, origin, &view).await;
                }
                Err(refusal) => {
                    let _ = super::outbound::followup(
                        http,
                        &origin.token,
                        &views::error(origin.lang, refusal.message(origin.lang)),
                        true,
                    )
                    .await;
                }
            }
        }
    }
    Ok(())
}

pub async fn on_modal(_ctx: &SerenityContext, state: &Data, m: &ModalInteraction) {
    let started = Instant::now();
    let Some(origin) = Origin::from_modal(m) else {
        return;
    };
    let Ok(action) = ComponentAction::decode(&m.data.custom_id) else {
        state
            .metrics
            .interactions
            .with_label_values(&["modal:unknown"])
            .inc();
        let _ = reply_ephemeral(state, &origin, &views::stale_click(origin.lang)).await;
        return;
    };
    let kind = format!("modal:{}", action.kind());
    state.metrics.interactions.with_label_values(&[&kind]).inc();
    if !may_click(&action, origin.user) {
        let _ = reply_ephemeral(state, &origin, &views::foreign_click(origin.lang)).await;
        return;
    }
    let answered = match action {
        ComponentAction::TopupModal { .. } => topup_amount(state, &origin, m).await,
        ComponentAction::ReportModal {
            order_number,
            reason,
            ..
        } => reports::submit(state, &origin, m, order_number, reason).await,
        ComponentAction::ReportAdminModal { report_id, action } => {
            reports::admin_submit(state, &origin, m, report_id, action).await
        }
        // A component id on a modal cannot happen with our modals: treat as stale.
        _ => reply_ephemeral(state, &origin, &views::stale_click(origin.lang)).await,
    };
    if let Err(error) = answered {
        tracing::warn!(error = %super::outbound::loggable(&error), kind, "answering a modal failed");
    }
    state
        .metrics
        .handler_seconds
        .with_label_values(&[&kind])
        .observe(started.elapsed().as_secs_f64());
}

/// The custom top-up amount: a top-up when it is within bounds, else why not.
async fn topup_amount(
    state: &Data,
    origin: &Origin,
    m: &ModalInteraction,
) -> Result<(), serenity::Error> {
    match TopupAmount::parse(&modal_input(m, AMOUNT_INPUT), state.settings.topup_bounds) {
        Ok(amount) => {
            defer_update(state, origin).await?;
            create_topup(state, origin, amount).await;
            Ok(())
        }
        Err(e) => {
            let view = views::error(origin.lang, e.message(origin.lang));
            reply_ephemeral(state, origin, &view).await
        }
    }
}

/// The first value picked in a select menu.
fn selected(c: &ComponentInteraction) -> Option<String> {
    match &c.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.first().cloned(),
        _ => None,
    }
}

/// An order number as the bot's own ids carry it (what the `/history` menu offers): anything
/// else in a select value was not offered by the bot.
fn carriable_order_number(owner: shared_proto::DiscordUserId, order_number: &str) -> bool {
    ComponentAction::RevealToDm {
        owner,
        order_number: order_number.to_string(),
    }
    .encode()
    .is_ok()
}

/// Whether the message a button belongs to already shows an image (the QR screen does).
fn shows_an_image(c: &ComponentInteraction) -> bool {
    c.message.embeds.iter().any(|e| e.image.is_some()) || !c.message.attachments.is_empty()
}
