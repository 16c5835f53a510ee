//! After the sale: a buyer reports bad codes of a delivery ("Report a problem" → a reason → a
//! modal → `report.create` → a private support thread with the buyer and the admin role), and
//! admins act on the report from that thread (Reveal codes, Replace, Refund, Reject). Every
//! admin click and submit is role-checked and sends a claim-signed `admin.report.action`.
//! Codes are shown only to the admin who asked, in an ephemeral answer; never in the thread.

use chrono::Utc;
use serenity::all::{ChannelId, ModalInteraction, UserId};
use shared_proto::{
    AdminReportAction, DiscordUserId, ReportAction, ReportActionDone, ReportCreate, ReportReason,
    ReportView, ServiceError,
};

use super::admin_check::admin_grant;
use super::interaction::{
    defer_ephemeral, menu_failed, modal_input, open_modal, reply_ephemeral, show, Origin,
};
use super::outbound::{self, with_retry};
use crate::domain::admin::{sign_claim, AdminGrant};
use crate::domain::message::{Message, Modal};
use crate::domain::report::{buyer_note, parse_admin_positions, parse_positions};
use crate::domain::retry::RetryPolicy;
use crate::domain::views::{self, NOTE_INPUT, POSITIONS_INPUT, REASON_INPUT};
use crate::payment_client::RequestError;
use crate::state::AppState;
use crate::tr;

/// "Report a problem" under a delivery: the buyer picks what is wrong.
pub async fn start(
    state: &AppState,
    origin: &Origin,
    owner: DiscordUserId,
    order_number: &str,
) -> Result<(), serenity::Error> {
    let view = views::report_reasons(origin.lang, owner, order_number)
        .unwrap_or_else(|_| menu_failed(origin.lang));
    reply_ephemeral(state, origin, &view).await
}

/// A reason was picked: the modal asking which codes, and a note.
pub async fn ask_details(
    state: &AppState,
    origin: &Origin,
    owner: DiscordUserId,
    order_number: &str,
    reason: ReportReason,
) -> Result<(), serenity::Error> {
    modal_or_error(
        state,
        origin,
        views::report_modal(origin.lang, owner, order_number, reason),
    )
    .await
}

/// The buyer's modal: checks what they typed (nothing is sent when it is wrong), sends
/// `report.create` (its request id is this submit's interaction id), opens the support thread
/// and tells the buyer where to follow the report.
#[tracing::instrument(skip_all, fields(user_id = %origin.user, order_number = %order_number))]
pub async fn submit(
    state: &AppState,
    origin: &Origin,
    m: &ModalInteraction,
    order_number: String,
    reason: ReportReason,
) -> Result<(), serenity::Error> {
    let lang = origin.lang;
    let positions = match parse_positions(&modal_input(m, POSITIONS_INPUT)) {
        Ok(positions) => positions,
        Err(e) => return refuse(state, origin, e.message(lang)).await,
    };
    let note = match buyer_note(reason, &modal_input(m, NOTE_INPUT)) {
        Ok(note) => note,
        Err(e) => return refuse(state, origin, e.message(lang)).await,
    };
    defer_ephemeral(state, origin).await?;
    let request = ReportCreate {
        request_id: origin.interaction_id.to_string(),
        user: origin.user_ref(),
        order_number,
        positions: positions.into_wire(),
        reason,
        note,
    };
    let view = match state.payments.create_report(request).await {
        Ok(report) => {
            tracing::info!(report_id = report.report_id, "report opened");
            let thread = open_thread(state, &report).await;
            views::report_opened(lang, &report, thread)
        }
        // The service's cooldown speaks of orders: a few reports an hour is its own limit.
        Err(RequestError::Service(ServiceError::Cooldown { retry_after_secs })) => views::error(
            lang,
            tr!(
                lang,
                "report-cooldown",
                minutes = retry_after_secs.div_ceil(60)
            ),
        ),
        Err(e) => views::error(lang, e.user_message(lang)),
    };
    show(&state.http, origin, &view).await;
    Ok(())
}

/// Opens the report's private thread in the support channel with the buyer added, and posts the
/// report there mentioning the buyer and the admin role. In the shop's language
/// (`DEFAULT_LOCALE`): the thread is read by admins and the buyer alike. `None` when there is no
/// usable channel or Discord refused; the report stays recorded either way.
async fn open_thread(state: &AppState, report: &ReportView) -> Option<u64> {
    let Some(channel) = state.support_channel else {
        tracing::error!(
            report_id = report.report_id,
            "no channel for report threads (SUPPORT_CHANNEL_ID / PUBLIC_CHANNEL_ID unset or unusable); the report is recorded without one"
        );
        return None;
    };
    let lang = state.settings.default_lang;
    let post = match views::report_post(lang, report) {
        Ok(post) => post,
        Err(error) => {
            tracing::error!(%error, report_id = report.report_id, "the report's buttons could not be built");
            return None;
        }
    };
    let metrics = &state.metrics;
    let policy = RetryPolicy::new(state.settings.delivery_retry_attempts);
    let name = views::report_thread_name(lang, &report.order_number);
    let buyer = UserId::new(report.user_id.get());
    let opened = with_retry(policy, metrics, || {
        outbound::open_private_thread(state.rest(), ChannelId::new(channel), &name, buyer)
    })
    .await;
    let thread = match opened {
        Ok(thread) => thread,
        Err(error) => {
            tracing::error!(%error, channel_id = channel, report_id = report.report_id, "could not open the report thread");
            return None;
        }
    };
    let greeting = views::report_greeting(
        lang,
        report.user_id,
        state.admin_access.role_in(thread.guild_id.get()),
        &report.order_number,
    );
    let message = outbound::with_greeting(&post, &greeting);
    let posted = with_retry(policy, metrics, || {
        outbound::post(state.rest(), thread.id, &message)
    })
    .await;
    match posted {
        Ok(_) => Some(thread.id.get()),
        Err(error) => {
            tracing::error!(%error, thread_id = %thread.id, report_id = report.report_id, "could not post the report in its thread");
            None
        }
    }
}

/// An admin button under a report. Reveal answers at once (ephemerally); Replace, Refund and
/// Reject ask for details in a modal first. Non-admins are refused and nothing is sent.
pub async fn admin_click(
    state: &AppState,
    origin: &Origin,
    report_id: i64,
    action: ReportAction,
) -> Result<(), serenity::Error> {
    let Some(grant) = admin_or_refuse(state, origin).await? else {
        return Ok(());
    };
    let lang = origin.lang;
    match action {
        ReportAction::Reveal => {
            defer_ephemeral(state, origin).await?;
            let view = match act(state, origin, &grant, report_id, action, Vec::new(), None).await {
                Ok(done) => {
                    tracing::info!(report_id, admin = %grant.admin, "reported codes revealed to an admin");
                    views::revealed_codes(lang, report_id, &done.revealed)
                }
                Err(e) => views::error(lang, e.user_message(lang)),
            };
            show(&state.http, origin, &view).await;
            Ok(())
        }
        ReportAction::Replace | ReportAction::Refund => {
            modal_or_error(
                state,
                origin,
                views::report_positions_modal(lang, report_id, action),
            )
            .await
        }
        ReportAction::Reject => {
            modal_or_error(state, origin, views::report_reject_modal(lang, report_id)).await
        }
    }
}

/// An admin's Replace / Refund / Reject modal: checked again for the role, then sent; the
/// outcome is posted in the thread (positions and money, no code) and the report's post there
/// updated.
pub async fn admin_submit(
    state: &AppState,
    origin: &Origin,
    m: &ModalInteraction,
    report_id: i64,
    action: ReportAction,
) -> Result<(), serenity::Error> {
    let Some(grant) = admin_or_refuse(state, origin).await? else {
        return Ok(());
    };
    let lang = origin.lang;
    let details = match action {
        ReportAction::Replace | ReportAction::Refund => {
            parse_admin_positions(&modal_input(m, POSITIONS_INPUT))
                .map(|p| (p.into_wire(), None))
                .map_err(|e| e.message(lang))
        }
        ReportAction::Reject => match modal_input(m, REASON_INPUT).trim() {
            "" => Err(tr!(lang, "report-rejection-required")),
            reason => Ok((Vec::new(), Some(reason.to_string()))),
        },
        // Reveal has no modal: an id this bot never made.
        ReportAction::Reveal => {
            return reply_ephemeral(state, origin, &views::stale_click(lang)).await
        }
    };
    let (positions, reason) = match details {
        Ok(details) => details,
        Err(refusal) => return refuse(state, origin, refusal).await,
    };
    defer_ephemeral(state, origin).await?;
    let view = match act(state, origin, &grant, report_id, action, positions, reason).await {
        Ok(done) => {
            tracing::info!(report_id, action = ?action, admin = %grant.admin, "report acted on");
            post_outcome(state, origin, m, &done).await
        }
        Err(e) => views::error(lang, e.user_message(lang)),
    };
    show(&state.http, origin, &view).await;
    Ok(())
}

/// Posts what an action did in the report's thread and refreshes the report's own post there
/// (the modal was opened from it). Returns what the acting admin is shown.
async fn post_outcome(
    state: &AppState,
    origin: &Origin,
    m: &ModalInteraction,
    done: &ReportActionDone,
) -> Message {
    let lang = state.settings.default_lang;
    if let (Some(post), Ok(updated)) = (&m.message, views::report_post(lang, &done.report)) {
        if let Err(error) =
            outbound::edit_channel_message(state.rest(), origin.channel_id, post.id, &updated).await
        {
            tracing::warn!(error = %outbound::loggable(&error), "could not update the report's post");
        }
    }
    let outcome = views::report_action_done(lang, done);
    match outbound::post(state.rest(), origin.channel_id, &outcome).await {
        Ok(_) => views::notice(
            tr!(origin.lang, "report-action-done-title"),
            tr!(origin.lang, "report-action-posted"),
        ),
        Err(error) => {
            tracing::warn!(error = %outbound::loggable(&error), "could not post the outcome in the report thread");
            views::report_action_done(origin.lang, done)
        }
    }
}

/// Refuses what was typed in a modal, before anything is sent.
async fn refuse(state: &AppState, origin: &Origin, text: String) -> Result<(), serenity::Error> {
    reply_ephemeral(state, origin, &views::error(origin.lang, text)).await
}

/// The admin's grant, or `None` after telling the member why not (nothing is sent).
async fn admin_or_refuse(
    state: &AppState,
    origin: &Origin,
) -> Result<Option<AdminGrant>, serenity::Error> {
    match admin_grant(state, origin) {
        Ok(grant) => Ok(Some(grant)),
        Err(refusal) => {
            tracing::info!(user_id = %origin.user, reason = %refusal, "report action refused");
            let view = views::error(origin.lang, refusal.message(origin.lang));
            reply_ephemeral(state, origin, &view).await?;
            Ok(None)
        }
    }
}

/// Sends one claim-signed `admin.report.action` (its request id is this interaction's id).
async fn act(
    state: &AppState,
    origin: &Origin,
    grant: &AdminGrant,
    report_id: i64,
    action: ReportAction,
    positions: Vec<u32>,
    reason: Option<String>,
) -> Result<ReportActionDone, RequestError> {
    state
        .payments
        .report_action(sign_claim(
            &state.settings.admin_claim_secret,
            AdminReportAction {
                request_id: origin.interaction_id.to_string(),
                claim: grant.claim(Utc::now()),
                report_id,
                action,
                positions,
                reason,
            },
        ))
        .await
}

/// Opens `modal`, or says the menu could not be built (an id too long for Discord).
async fn modal_or_error(
    state: &AppState,
    origin: &Origin,
    modal: Result<Modal, crate::domain::custom_id::CustomIdError>,
) -> Result<(), serenity::Error> {
    match modal {
        Ok(modal) => open_modal(state, origin, &modal).await,
        Err(_) => reply_ephemeral(state, origin, &menu_failed(origin.lang)).await,
    }
}
