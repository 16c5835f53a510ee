//! `/history`.

use super::super::interaction::{defer_ephemeral, show_history};
use super::{origin, Context, Error};

/// Show your recent orders and top-ups.
#[poise::command(slash_command)]
pub async fn history(ctx: Context<'_>) -> Result<(), Error> {
    let o = origin(ctx)?;
    defer_ephemeral(ctx.data(), &o).await?;
    show_history(ctx.data(), &o).await;
    Ok(())
}
