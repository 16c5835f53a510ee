//! Slash commands, one group per file. Each defers (or answers) at once, then works.

pub mod admin;
mod balance;
mod history;
mod shop;
mod topup;

use super::interaction::Origin;
use super::{Context, Data, Error};
pub use admin::orders_page;

pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        shop::shop(),
        balance::balance(),
        topup::topup(),
        history::history(),
        admin::admin(),
    ]
}

/// The interaction behind a slash command (these commands are slash-only).
fn origin(ctx: Context<'_>) -> Result<Origin, Error> {
    match ctx {
        poise::Context::Application(a) => {
            let kind = format!("command:{}", ctx.command().qualified_name);
            ctx.data()
                .metrics
                .interactions
                .with_label_values(&[&kind])
                .inc();
            Origin::from_command(a.interaction)
                .ok_or_else(|| anyhow::anyhow!("interaction from an invalid user id"))
        }
        poise::Context::Prefix(_) => Err(anyhow::anyhow!("prefix commands are not enabled")),
    }
}
