//! `/balance`.

use super::super::interaction::{defer_ephemeral, show_balance};
use super::{origin, Context, Error};

/// Show your balance.
#[poise::command(slash_command)]
pub async fn balance(ctx: Context<'_>) -> Result<(), Error> {
    let o = origin(ctx)?;
    defer_ephemeral(ctx.data(), &o).await?;
    show_balance(ctx.data(), &o).await;
    Ok(())
}
