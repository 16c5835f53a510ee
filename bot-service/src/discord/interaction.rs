//! The parts of an interaction the flows need, whichever kind it is (slash command, button,
//! select, modal), and the flows shared by commands and buttons: balance, history, package
//! picker, top-up creation. They run after the interaction was deferred and answer by editing
//! the original response through the token.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serenity::all::{
    ActionRowComponent, ChannelId, CommandInteraction, ComponentInteraction,
    CreateInteractionResponse, CreateInteractionResponseMessage, Http, InteractionId, Member,
    ModalInteraction, User,
};
use shared_proto::{DiscordUserId, InteractionRef, ServiceError, TopupCreate, UserRef};

use serenity::all::Builder;

use super::outbound;
use super::render;
use crate::domain::amount::TopupAmount;
use crate::domain::i18n::Lang;
use crate::domain::message::{Message, Modal};
use crate::domain::{qr, views};
use crate::payment_client::RequestError;
use crate::state::AppState;
use crate::tr;

/// The QR screen of a pending top-up, drawn from its QRIS payload.
pub fn qr_screen<'a>(
    lang: Lang,
    owner: DiscordUserId,
    topup: impl Into<views::TopupQr<'a>>,
    qr_string: &str,
) -> Message {
    match qr::render_png(qr_string, 400) {
        Ok(png) => views::topup_created(lang, owner, topup, png)
            .unwrap_or_else(|_| views::error(lang, tr!(lang, "qr-buttons-failed"))),
        Err(error) => {
            tracing::error!(%error, "QR rendering failed");
            views::error(lang, tr!(lang, "qr-draw-failed"))
        }
    }
}

/// A menu whose buttons could not be built (an id too long for Discord): an error, not a
/// broken message.
pub fn menu_failed(lang: Lang) -> Message {
    views::error(lang, tr!(lang, "menu-build-failed"))
}

/// Who clicked where, and the token to answer with.
#[derive(Clone)]
pub struct Origin {
    pub interaction_id: InteractionId,
    pub application_id: String,
    pub token: String,
    pub channel_id: ChannelId,
    pub user: DiscordUserId,
    pub username: String,
    pub member: Option<Member>,
    pub guild_id: Option<serenity::all::GuildId>,
    pub received: Instant,
    pub received_at: DateTime<Utc>,
    /// Discord's locale of the user's client (`id`, `en-US`, …), as sent with the interaction.
    pub locale: String,
    /// The language every answer to this interaction is in: Indonesian for `id`, else English.
    pub lang: Lang,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential for 15 minutes: never printed.
        f.debug_struct("Origin")
            .field("interaction_id", &self.interaction_id)
            .field("user", &self.user)
            .finish()
    }
}

fn user_id(user: &User) -> Option<DiscordUserId> {
    DiscordUserId::new(user.id.get()).ok()
}

impl Origin {
    fn build(
        id: InteractionId,
        application_id: String,
        token: &str,
        channel_id: ChannelId,
        user: &User,
        member: Option<&Member>,
        guild_id: Option<serenity::all::GuildId>,
    ) -> Option<Self> {
        Some(Origin {
            lang: Lang::En,
            locale: String::new(),
            interaction_id: id,
            application_id,
            token: token.to_string(),
            channel_id,
            user: user_id(user)?,
            username: user.name.clone(),
            member: member.cloned(),
            guild_id,
            received: Instant::now(),
            received_at: Utc::now(),
        })
    }

    /// The client's language, from the interaction's `locale`.
    fn with_locale(mut self, locale: &str) -> Self {
        // Discord locales are short codes (`id`, `en-US`, `zh-TW`); anything else is not one.
        if locale.len() <= 16
            && locale
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            self.locale = locale.to_string();
        }
        self.lang = Lang::from_discord(&self.locale);
        self
    }

    pub fn from_command(i: &CommandInteraction) -> Option<Self> {
        Self::build(
            i.id,
            i.application_id.to_string(),
            &i.token,
            i.channel_id,
            &i.user,
            i.member.as_deref(),
            i.guild_id,
        )
        .map(|o| o.with_locale(&i.locale))
    }

    pub fn from_component(i: &ComponentInteraction) -> Option<Self> {
        Self::build(
            i.id,
            i.application_id.to_string(),
            &i.token,
            i.channel_id,
            &i.user,
            i.member.as_ref(),
            i.guild_id,
        )
        .map(|o| o.with_locale(&i.locale))
    }

    pub fn from_modal(i: &ModalInteraction) -> Option<Self> {
        Self::build(
            i.id,
            i.application_id.to_string(),
            &i.token,
            i.channel_id,
            &i.user,
            i.member.as_ref(),
            i.guild_id,
        )
        .map(|o| o.with_locale(&i.locale))
    }

    pub fn user_ref(&self) -> UserRef {
        UserRef {
            user_id: self.user,
            username: Some(self.username.clone()),
            locale: Some(self.locale.clone()).filter(|l| !l.is_empty()),
        }
    }

    /// What the payment-service passes back in events so any replica can update this message.
    pub fn interaction_ref(&self) -> InteractionRef {
        InteractionRef {
            application_id: self.application_id.clone(),
            token: self.token.clone(),
            channel_id: Some(self.channel_id.to_string()),
            created_at: self.received_at,
        }
    }

    /// Member role ids from the interaction (None outside a guild).
    pub fn role_ids(&self) -> Option<Vec<u64>> {
        self.member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
    }
}

/// The first answer to an interaction, recorded in the deferral metric.
pub async fn respond(
    state: &AppState,
    origin: &Origin,
    response: CreateInteractionResponse,
) -> Result<(), serenity::Error> {
    let result = response
        .execute(state.http.as_ref(), (origin.interaction_id, &origin.token))
        .await;
    state
        .metrics
        .deferral_seconds
        .observe(origin.received.elapsed().as_secs_f64());
    result
}

/// Defers with a new ephemeral message ("thinking…") that the flow then edits.
pub async fn defer_ephemeral(state: &AppState, origin: &Origin) -> Result<(), serenity::Error> {
    respond(
        state,
        origin,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await
}

/// Acknowledges a click without a visible change; the flow then edits the clicked message.
pub async fn defer_update(state: &AppState, origin: &Origin) -> Result<(), serenity::Error> {
    respond(state, origin, CreateInteractionResponse::Acknowledge).await
}

/// Answers at once with a new ephemeral message (no broker round trip needed).
pub async fn reply_ephemeral(
    state: &AppState,
    origin: &Origin,
    message: &Message,
) -> Result<(), serenity::Error> {
    respond(
        state,
        origin,
        CreateInteractionResponse::Message(render::response_message(message, true)),
    )
    .await
}

/// Answers with a modal (a form over the client); its submit comes back as a modal interaction.
pub async fn open_modal(
    state: &AppState,
    origin: &Origin,
    modal: &Modal,
) -> Result<(), serenity::Error> {
    respond(
        state,
        origin,
        CreateInteractionResponse::Modal(render::modal(modal)),
    )
    .await
}

/// What the user typed in the input `custom_id` of a submitted modal (empty when absent).
pub fn modal_input(m: &ModalInteraction, custom_id: &str) -> String {
    m.data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == custom_id => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
}

/// Replaces the deferred response (or the clicked message) with `message`.
pub async fn show(http: &Http, origin: &Origin, message: &Message) {
    if let Err(error) = outbound::edit_original(http, &origin.token, message).await {
        tracing::warn!(error = %outbound::loggable(&error), "could not edit the interaction response");
    }
}

pub async fn show_balance(state: &AppState, origin: &Origin) {
    let view = match state.payments.balance(origin.user).await {
        Ok(b) => views::balance(origin.lang, &b),
        Err(e) => views::error(origin.lang, e.user_message(origin.lang)),
    };
    show(&state.http, origin, &view).await;
}

pub async fn show_history(state: &AppState, origin: &Origin) {
    let view = match state.payments.history(origin.user, 10).await {
        Ok(h) => views::history(origin.lang, &h),
        Err(e) => views::error(origin.lang, e.user_message(origin.lang)),
    };
    show(&state.http, origin, &view).await;
}

/// The first step of an order: with one product on sale its packages straight away, with
/// several the products first.
pub async fn show_package_picker(state: &AppState, origin: &Origin) {
    let view = match state.payments.catalog().await {
        Ok(c) => match views::offers(&c).as_slice() {
            [one] => views::package_picker(origin.lang, origin.user, one, false),
            several => views::product_picker(origin.lang, origin.user, several),
        }
        .unwrap_or_else(|_| menu_failed(origin.lang)),
        Err(e) => views::error(origin.lang, e.user_message(origin.lang)),
    };
    show(&state.http, origin, &view).await;
}

pub fn topup_picker(state: &AppState, origin: &Origin) -> Message {
    let b = state.settings.topup_bounds;
    views::topup_picker(
        origin.lang,
        origin.user,
        &state.settings.topup_presets,
        b.min,
        b.max,
    )
    .unwrap_or_else(|_| menu_failed(origin.lang))
}

/// Creates a top-up and shows its QR in the original response.
#[tracing::instrument(skip_all, fields(user_id = %origin.user, amount = %amount.idr()))]
pub async fn create_topup(state: &AppState, origin: &Origin, amount: TopupAmount) {
    show(
        &state.http,
        origin,
        &views::notice(
            tr!(origin.lang, "topup-creating-title"),
            tr!(origin.lang, "topup-creating", amount = amount.idr()),
        ),
    )
    .await;
    let request = TopupCreate {
        request_id: origin.interaction_id.to_string(),
        user: origin.user_ref(),
        amount: amount.idr(),
        interaction: Some(origin.interaction_ref()),
    };
    let view = match state.payments.create_topup(request).await {
        Ok(created) => qr_screen(origin.lang, origin.user, &created, &created.qr_string),
        // Midtrans is still creating the QR: the top-up is pending, shown with its buttons.
        Err(RequestError::Service(ServiceError::ProviderUnavailable {
            pending_order_id: Some(order_id),
            ..
        })) => views::topup_being_created(origin.lang, origin.user, &order_id, amount.idr())
            .unwrap_or_else(|_| views::error(origin.lang, tr!(origin.lang, "qr-buttons-failed"))),
        Err(e) => views::error(origin.lang, e.user_message(origin.lang)),
    };
    show(&state.http, origin, &view).await;
}
