//! Consumes the notification events: tells users about settled or expired top-ups, refunds and
//! the outcome of their reports, and admins about low stock, failed orders and order anomalies.
//! Best effort: a user with closed DMs is not an error; the message is acknowledged once every
//! recipient was tried.

use std::collections::BTreeSet;
use std::sync::Arc;

use broker::{Handler, HandlerOutcome, IncomingMessage};
use chrono::Utc;
use serenity::all::{ChannelId, UserId};
use shared_proto::{DiscordUserId, Envelope, Event, InteractionRef};

use crate::discord::outbound::{self, with_retry};
use crate::domain::delivery::token_alive;
use crate::domain::i18n::Lang;
use crate::domain::message::Message;
use crate::domain::retry::RetryPolicy;
use crate::domain::views;
use crate::state::AppState;

pub struct NotificationConsumer {
    state: Arc<AppState>,
}

impl NotificationConsumer {
    pub fn new(state: Arc<AppState>) -> Self {
        NotificationConsumer { state }
    }

    /// A user's language: the one remembered with the event, else `DEFAULT_LOCALE`.
    fn lang_of(&self, locale: Option<&str>) -> Lang {
        Lang::from_remembered(locale, self.state.settings.default_lang)
    }

    /// Alerts go to the admins' channel in the shop's language, `DEFAULT_LOCALE`.
    fn admin_lang(&self) -> Lang {
        self.state.settings.default_lang
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.state.settings.delivery_retry_attempts)
    }

    async fn dm(&self, user: DiscordUserId, message: &Message) {
        let rest = self.state.rest();
        let result = with_retry(self.policy(), &self.state.metrics, || {
            outbound::send_dm(rest, UserId::new(user.get()), message)
        })
        .await;
        if let Err(error) = result {
            tracing::info!(%error, user_id = %user, "could not DM the user");
        }
    }

    /// Updates the message the user started from, while its interaction token lives.
    async fn edit_origin(&self, interaction: Option<&InteractionRef>, message: &Message) {
        let Some(i) = interaction.filter(|i| token_alive(i.created_at, Utc::now())) else {
            return;
        };
        let http = self.state.http.as_ref();
        let result = with_retry(self.policy(), &self.state.metrics, || {
            outbound::edit_original(http, &i.token, message)
        })
        .await;
        if let Err(error) = result {
            tracing::info!(%error, "could not update the original top-up message");
        }
    }

    async fn alert(&self, message: &Message) {
        let Some(channel) = self.state.settings.alert_channel_id else {
            tracing::warn!("ALERT_CHANNEL_ID is not set; admin alert only logged");
            return;
        };
        let rest = self.state.rest();
        let result = with_retry(self.policy(), &self.state.metrics, || {
            outbound::post(rest, ChannelId::new(channel), message)
        })
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not post to the alert channel");
        }
    }
}

#[async_trait::async_trait]
impl Handler for NotificationConsumer {
    async fn handle(&self, message: IncomingMessage) -> HandlerOutcome {
        let envelope = match Envelope::<Event>::from_bytes(&message.body) {
            Ok(e) => e,
            Err(error) => {
                tracing::error!(%error, message_id = ?message.message_id, "undecodable notification, dead-lettering");
                return HandlerOutcome::Reject;
            }
        };
        tracing::debug!(message_type = %envelope.message_type, correlation_id = %envelope.correlation_id, "notification");
        match envelope.payload {
            Event::TopupSettled(t) => {
                let lang = self.lang_of(t.locale.as_deref());
                let view = views::topup_settled(lang, &t.order_id, t.amount, t.balance_after);
                self.edit_origin(t.interaction.as_ref(), &view).await;
                self.dm(t.user_id, &view).await;
            }
            Event::TopupExpired(t) => {
                let lang = self.lang_of(t.locale.as_deref());
                let view = views::topup_expired(lang, &t.order_id, t.amount, &t.midtrans_status);
                self.edit_origin(t.interaction.as_ref(), &view).await;
                self.dm(t.user_id, &view).await;
            }
            Event::StockLow(s) => {
                let view = views::stock_low_alert(self.admin_lang(), &s);
                self.alert(&view).await;
                let recipients: BTreeSet<DiscordUserId> = s
                    .notify_user_ids
                    .iter()
                    .chain(self.state.settings.stock_admin_user_ids.iter())
                    .copied()
                    .collect();
                for user in recipients {
                    self.dm(user, &view).await;
                }
            }
            Event::OrderFailed(o) => {
                self.alert(&views::order_failed_alert(self.admin_lang(), &o))
                    .await;
            }
            Event::OrderRefunded(r) => {
                let lang = self.lang_of(r.locale.as_deref());
                self.dm(r.user_id, &views::order_refunded(lang, &r)).await;
            }
            Event::OrderAnomaly(a) => {
                tracing::warn!(order_number = %a.order_number, kind = ?a.kind, "order anomaly");
                self.alert(&views::order_anomaly_alert(self.admin_lang(), &a))
                    .await;
            }
            Event::TopupReversed(r) => {
                self.alert(&views::topup_reversed_alert(self.admin_lang(), &r))
                    .await;
            }
            Event::ReportUpdated(u) => {
                let lang = self.lang_of(u.locale.as_deref());
                match views::report_updated(lang, &u) {
                    Some(view) => self.dm(u.report.user_id, &view).await,
                    None => {
                        tracing::debug!(action = ?u.action, report_id = u.report.report_id, "report update not for the buyer")
                    }
                }
            }
            other => {
                tracing::error!(
                    message_type = shared_proto::MessageFamily::message_type(&other),
                    "unexpected event on the notifications queue, dead-lettering"
                );
                return HandlerOutcome::Reject;
            }
        }
        HandlerOutcome::Ack
    }
}
