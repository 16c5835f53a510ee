//! `/shop`: the main menu.

use super::super::interaction::reply_ephemeral;
use super::{origin, Context, Error};
use crate::domain::views;

/// Open the Redfinger shop: order codes, top up, balance, history.
#[poise::command(slash_command)]
pub async fn shop(ctx: Context<'_>) -> Result<(), Error> {
    let o = origin(ctx)?;
    reply_ephemeral(ctx.data(), &o, &views::main_menu(o.lang)).await?;
    Ok(())
}
