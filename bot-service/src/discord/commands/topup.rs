//! `/topup [amount]`: without an amount, the preset picker; with one, the QR at once.

use super::super::interaction::{create_topup, defer_ephemeral, reply_ephemeral, topup_picker};
use super::{origin, Context, Error};
use crate::domain::amount::TopupAmount;
use crate::domain::views;

/// Top up your balance with QRIS.
#[poise::command(slash_command)]
pub async fn topup(
    ctx: Context<'_>,
    #[description = "Amount in rupiah, e.g. 50000"] amount: Option<String>,
) -> Result<(), Error> {
    let o = origin(ctx)?;
    let state = ctx.data();
    let Some(text) = amount else {
        reply_ephemeral(state, &o, &topup_picker(state, &o)).await?;
        return Ok(());
    };
    match TopupAmount::parse(&text, state.settings.topup_bounds) {
        Ok(amount) => {
            defer_ephemeral(state, &o).await?;
            create_topup(state, &o, amount).await;
        }
        Err(e) => {
            let view = views::error(o.lang, e.message(o.lang));
            reply_ephemeral(state, &o, &view).await?
        }
    }
    Ok(())
}
