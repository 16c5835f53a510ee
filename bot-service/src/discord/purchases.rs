//! "My purchases": a buyer's completed order's codes shown again, ephemerally or by DM. Every
//! reveal is an `order.codes` request (the payment-service checks ownership, the reveal window
//! and the rate, and audits it). The codes go only into the ephemeral answer or the DM: never
//! into a log line, an event or any other message.

use serenity::all::UserId;
use shared_proto::{DiscordUserId, OrderCodesQuery};

use super::interaction::{menu_failed, show, Origin};
use super::outbound::{self, with_retry};
use crate::domain::retry::{FailureClass, RetryPolicy};
use crate::domain::views;
use crate::payment_client::RequestError;
use crate::state::AppState;
use crate::tr;

fn query(origin: &Origin, order_number: &str, to_dm: bool) -> OrderCodesQuery {
    OrderCodesQuery {
        request_id: origin.interaction_id.to_string(),
        user: origin.user_ref(),
        order_number: order_number.to_string(),
        to_dm,
    }
}

fn refused(origin: &Origin, e: &RequestError) -> crate::domain::message::Message {
    match e {
        RequestError::Service(e) => views::reveal_refused(origin.lang, e),
        other => views::error(origin.lang, other.user_message(origin.lang)),
    }
}

/// Shows the codes of `order_number` in the (deferred, ephemeral) answer.
#[tracing::instrument(skip_all, fields(user_id = %owner, order_number = %order_number))]
pub async fn reveal(state: &AppState, origin: &Origin, owner: DiscordUserId, order_number: String) {
    let view = match state
        .payments
        .order_codes(query(origin, &order_number, false))
        .await
    {
        Ok(codes) => views::order_codes(origin.lang, owner, &codes, true)
            .unwrap_or_else(|_| menu_failed(origin.lang)),
        Err(e) => refused(origin, &e),
    };
    show(&state.http, origin, &view).await;
}

/// Asks again with `to_dm` and sends the codes in a new DM; the (ephemeral) answer says
/// whether they went, or that DMs are closed.
#[tracing::instrument(skip_all, fields(user_id = %owner, order_number = %order_number))]
pub async fn reveal_to_dm(
    state: &AppState,
    origin: &Origin,
    owner: DiscordUserId,
    order_number: String,
) {
    let codes = match state
        .payments
        .order_codes(query(origin, &order_number, true))
        .await
    {
        Ok(codes) => codes,
        Err(e) => return show(&state.http, origin, &refused(origin, &e)).await,
    };
    let Ok(dm) = views::order_codes(origin.lang, owner, &codes, false) else {
        return show(&state.http, origin, &menu_failed(origin.lang)).await;
    };
    let rest = state.rest();
    let policy = RetryPolicy::new(state.settings.delivery_retry_attempts);
    let sent = with_retry(policy, &state.metrics, || {
        outbound::send_dm(rest, UserId::new(owner.get()), &dm)
    })
    .await;
    let view = match sent {
        Ok(_) => {
            tracing::info!("codes shown again by DM");
            views::reveal_sent_to_dms(origin.lang, &order_number)
        }
        Err(f) if f.class == FailureClass::DmClosed => views::reveal_dms_closed(origin.lang),
        Err(f) => {
            tracing::warn!(error = %f, "could not DM the codes shown again");
            views::error(origin.lang, tr!(origin.lang, "reveal-dm-failed"))
        }
    };
    show(&state.http, origin, &view).await;
}
