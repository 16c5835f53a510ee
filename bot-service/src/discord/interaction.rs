//! The parts of an interaction the flows need, whichever kind it is (slash command, button,
//! select, modal), and the flows shared by commands and buttons: balance, history, package
//! picker, top-up creation. They run after the interaction was deferred and answer by editing
//! the original response through the token.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serenity::all::{
    ChannelId, CommandInteraction, ComponentInteraction, CreateInteractionResponse,
    CreateInteractionResponseMessage, Http, InteractionId, Member, ModalInteraction, User,
};
use shared_proto::{DiscordUserId, InteractionRef, TopupCreate, UserRef};

use serenity::all::Builder;

use super::outbound;
use super::render;
use crate::domain::amount::TopupAmount;
use crate::domain::message::Message;
use crate::domain::{qr, views};
use crate::state::AppState;

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
    }

    pub fn user_ref(&self) -> UserRef {
        UserRef {
            user_id: self.user,
            username: Some(self.username.clone()),
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

/// Replaces the deferred response (or the clicked message) with `message`.
pub async fn show(http: &Http, origin: &Origin, message: &Message) {
    if let Err(error) = outbound::edit_original(http, &origin.token, message).await {
        tracing::warn!(error = %outbound::loggable(&error), "could not edit the interaction response");
    }
}

pub async fn show_balance(state: &AppState, origin: &Origin) {
    let view = match state.payments.balance(origin.user).await {
        Ok(b) => views::balance(&b),
        Err(e) => views::error(e.user_message()),
    };
    show(&state.http, origin, &view).await;
}

pub async fn show_history(state: &AppState, origin: &Origin) {
    let view = match state.payments.history(origin.user, 10).await {
        Ok(h) => views::history(&h),
        Err(e) => views::error(e.user_message()),
    };
    show(&state.http, origin, &view).await;
}

pub async fn show_package_picker(state: &AppState, origin: &Origin) {
    let view = match state.payments.catalog().await {
        Ok(c) => views::package_picker(origin.user, &c)
            .unwrap_or_else(|_| views::error("This menu could not be built.")),
        Err(e) => views::error(e.user_message()),
    };
    show(&state.http, origin, &view).await;
}

pub fn topup_picker(state: &AppState, origin: &Origin) -> Message {
    let b = state.settings.topup_bounds;
    views::topup_picker(origin.user, &state.settings.topup_presets, b.min, b.max)
        .unwrap_or_else(|_| views::error("This menu could not be built."))
}

/// Creates a top-up and shows its QR in the original response.
#[tracing::instrument(skip_all, fields(user_id = %origin.user, amount = %amount.idr()))]
pub async fn create_topup(state: &AppState, origin: &Origin, amount: TopupAmount) {
    show(
        &state.http,
        origin,
        &views::notice(
            "Creating your QR code…",
            format!("Top-up of {}.", amount.idr()),
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
        Ok(created) => match qr::render_png(&created.qr_string, 400) {
            Ok(png) => views::topup_created(origin.user, &created, png)
                .unwrap_or_else(|_| views::error("The top-up was created but its buttons could not be built; use /history to follow it.")),
            Err(error) => {
                tracing::error!(%error, "QR rendering failed");
                views::error("The payment QR code could not be drawn. Please try again.")
            }
        },
        Err(e) => views::error(e.user_message()),
    };
    show(&state.http, origin, &view).await;
}
