//! Consumes `delivery.requested`: DMs the codes (embed or .txt), falls back to an ephemeral
//! follow-up or a private thread when DMs are closed, then publishes `delivery.confirmed` or
//! `delivery.failed` and only then acknowledges. Codes are never logged.

use std::sync::Arc;

use broker::{Handler, HandlerOutcome, IncomingMessage};
use chrono::Utc;
use serenity::all::{ChannelId, UserId};
use shared_proto::{
    DeliveryConfirmed, DeliveryFailed, DeliveryMethod, DeliveryRequested, Envelope, Event,
};

use crate::discord::outbound::{self, with_retry, DiscordFailure};
use crate::domain::delivery::{self, Fallback};
use crate::domain::i18n::Lang;
use crate::domain::retry::{FailureClass, RetryPolicy};
use crate::domain::views;
use crate::state::AppState;
use crate::tr;

pub struct DeliveryConsumer {
    state: Arc<AppState>,
}

impl DeliveryConsumer {
    pub fn new(state: Arc<AppState>) -> Self {
        DeliveryConsumer { state }
    }
}

/// How one delivery ended.
#[derive(Debug)]
pub enum DeliveryOutcome {
    Confirmed(DeliveryConfirmed),
    Failed(DeliveryFailed),
}

#[async_trait::async_trait]
impl Handler for DeliveryConsumer {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let envelope = match Envelope::<Event>::from_bytes(&message.body) {
            Ok(e) => e,
            Err(error) => {
                tracing::error!(%error, message_id = ?message.message_id, "undecodable delivery message, dead-lettering");
                return HandlerOutcome::Reject;
            }
        };
        let Event::DeliveryRequested(request) = envelope.payload else {
            tracing::error!(message_type = %envelope.message_type, "unexpected event on the deliveries queue, dead-lettering");
            return HandlerOutcome::Reject;
        };
        let mut fresh = false;
        let outcome = match self
            .state
            .recent_deliveries
            .get(&request.order_number, request.attempt)
        {
            Some(done) => {
                tracing::info!(order_number = %request.order_number, attempt = request.attempt, "already delivered by this process; confirming again");
                self.state
                    .metrics
                    .deliveries
                    .with_label_values(&[done.method.as_str(), "duplicate"])
                    .inc();
                DeliveryOutcome::Confirmed(done)
            }
            None => {
                fresh = true;
                deliver(&self.state, &request).await
            }
        };
        let event = match &outcome {
            DeliveryOutcome::Confirmed(c) => {
                self.state.recent_deliveries.remember(c.clone());
                Event::DeliveryConfirmed(c.clone())
            }
            DeliveryOutcome::Failed(f) => Event::DeliveryFailed(f.clone()),
        };
        match super::publish_event(self.state.payments.broker(), event, envelope.correlation_id)
            .await
        {
            Ok(()) => {
                if fresh && matches!(outcome, DeliveryOutcome::Confirmed(_)) {
                    post_buy_log(&self.state, &request);
                }
                HandlerOutcome::Ack
            }
            Err(error) => {
                // Requeue: the in-process memory keeps a redelivery here from DMing again.
                tracing::error!(%error, order_number = %request.order_number, "could not publish the delivery outcome; requeueing");
                HandlerOutcome::Retry
            }
        }
    }
}

/// "A buyer bought 5 × VIP 30 days" in `BUYLOG_CHANNEL_ID`, after an order's first delivery
/// only (attempt 1, not a replacement): never a code, never who bought. In the background, so
/// the delivery's acknowledgement does not wait for it. A first delivery that needed a retry
/// (attempt 2 or more) is not logged: the bot cannot tell a retry from an admin's re-delivery.
fn post_buy_log(state: &Arc<AppState>, d: &DeliveryRequested) {
    let Some(channel) = state.settings.buylog_channel_id else {
        return;
    };
    if d.attempt != 1 || !d.replacing.is_empty() {
        return;
    }
    let message = views::buy_log(
        state.settings.default_lang,
        d.product_name.as_deref(),
        d.package,
    );
    let state = state.clone();
    tokio::spawn(async move {
        let rest = state.rest();
        let policy = RetryPolicy::new(state.settings.delivery_retry_attempts);
        let sent = with_retry(policy, &state.metrics, || {
            outbound::post(rest, ChannelId::new(channel), &message)
        })
        .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "could not post to the buy log channel");
        }
    });
}

/// Delivers one order's codes. Never returns an error: every ending is an outcome to publish.
#[tracing::instrument(skip_all, fields(order_number = %d.order_number, attempt = d.attempt, user_id = %d.user_id))]
pub async fn deliver(state: &AppState, d: &DeliveryRequested) -> DeliveryOutcome {
    let http = state.http.as_ref();
    let metrics = &state.metrics;
    let policy = RetryPolicy::new(state.settings.delivery_retry_attempts);
    let lang = Lang::from_remembered(d.locale.as_deref(), state.settings.default_lang);
    let plan = delivery::plan(lang, d);
    let user = UserId::new(d.user_id.get());

    let rest = state.rest();
    let dm = with_retry(policy, metrics, || {
        outbound::send_dm(rest, user, &plan.message)
    })
    .await;
    let failure = match dm {
        Ok(message_id) => return confirmed(state, d, plan.dm_method, Some(message_id.to_string())),
        Err(f) if f.class == FailureClass::DmClosed => f,
        Err(f) => return failed(state, d, plan.dm_method, &f),
    };
    tracing::info!(detail = %failure.detail, "DMs closed; using the private fallback");

    let mut fallback = delivery::choose_fallback(d, state.thread_channel, Utc::now());
    if fallback == Fallback::EphemeralFollowup {
        let token = d
            .interaction
            .as_ref()
            .map(|i| i.token.as_str())
            .unwrap_or_default();
        let mut message = plan.message.clone();
        message.content = Some(tr!(lang, "codes-dms-closed"));
        match with_retry(policy, metrics, || {
            outbound::followup(http, token, &message, true)
        })
        .await
        {
            Ok(id) => return confirmed(state, d, DeliveryMethod::Channel, Some(id.to_string())),
            Err(f) if f.class == FailureClass::TokenExpired => {
                tracing::info!("interaction token no longer valid; trying a private thread");
                let mut without_token = d.clone();
                without_token.interaction = d.interaction.clone().map(|mut i| {
                    i.created_at -= delivery::TOKEN_LIFETIME;
                    i
                });
                fallback =
                    delivery::choose_fallback(&without_token, state.thread_channel, Utc::now());
            }
            Err(f) => return failed(state, d, DeliveryMethod::Channel, &f),
        }
    }
    match fallback {
        Fallback::PrivateThread { channel_id } => {
            let name = delivery::thread_name(lang, &d.order_number);
            let greeting = delivery::thread_greeting(lang, user.get());
            let (name, greeting, message) = (name.as_str(), greeting.as_str(), &plan.message);
            let in_channel = |channel_id: u64| {
                with_retry(policy, metrics, move || {
                    outbound::private_thread(
                        rest,
                        ChannelId::new(channel_id),
                        name,
                        user,
                        greeting,
                        message,
                    )
                })
            };
            let mut sent = in_channel(channel_id).await;
            // A refusal for good (wrong channel type, missing permission) left nothing behind
            // that the buyer sees: try the channel they clicked in.
            if let Err(f) = &sent {
                if !f.class.is_retryable() {
                    if let Some(other) = delivery::other_thread_channel(d, channel_id) {
                        tracing::warn!(error = %f, channel_id, other, "no private thread there; trying the channel the user clicked in");
                        sent = in_channel(other).await;
                    }
                }
            }
            match sent {
                Ok(id) => confirmed(state, d, DeliveryMethod::Channel, Some(id.to_string())),
                Err(f) => failed(state, d, DeliveryMethod::Channel, &f),
            }
        }
        Fallback::EphemeralFollowup | Fallback::None => {
            metrics
                .deliveries
                .with_label_values(&["none", "failed"])
                .inc();
            DeliveryOutcome::Failed(DeliveryFailed {
                order_number: d.order_number.clone(),
                attempt: d.attempt,
                error: "the user's DMs are closed and there is no private fallback (no live interaction, PUBLIC_CHANNEL_ID unset or unusable)".into(),
                retryable: false,
            })
        }
    }
}

fn confirmed(
    state: &AppState,
    d: &DeliveryRequested,
    method: DeliveryMethod,
    message_id: Option<String>,
) -> DeliveryOutcome {
    state
        .metrics
        .deliveries
        .with_label_values(&[method.as_str(), "confirmed"])
        .inc();
    tracing::info!(method = method.as_str(), "codes delivered");
    DeliveryOutcome::Confirmed(DeliveryConfirmed {
        order_number: d.order_number.clone(),
        attempt: d.attempt,
        method,
        message_id,
    })
}

fn failed(
    state: &AppState,
    d: &DeliveryRequested,
    method: DeliveryMethod,
    f: &DiscordFailure,
) -> DeliveryOutcome {
    state
        .metrics
        .deliveries
        .with_label_values(&[method.as_str(), "failed"])
        .inc();
    let retryable = f.class.is_retryable();
    tracing::warn!(error = %f, retryable, "delivery failed");
    DeliveryOutcome::Failed(DeliveryFailed {
        order_number: d.order_number.clone(),
        attempt: d.attempt,
        error: f.detail.clone(),
        retryable,
    })
}
