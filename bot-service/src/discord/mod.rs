//! The Discord adapter: poise slash commands (one group per file), component and modal routing,
//! outbound REST calls, and rendering of the bot's messages into serenity builders.

pub mod admin_check;
pub mod attachment_download;
pub mod budget;
pub mod channel_check;
pub mod commands;
pub mod components;
pub mod interaction;
pub mod outbound;
pub mod purchases;
pub mod render;
pub mod reports;
pub mod stock_panel;

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use serenity::all::{FullEvent, GuildId, Interaction};

use crate::state::AppState;

/// poise's user data: the shared state.
pub type Data = Arc<AppState>;
pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Builds the poise framework. `state` is filled in before the gateway starts; the setup hook
/// (run on READY) registers the commands and hands the state to poise.
pub fn framework(state: Arc<OnceLock<Data>>) -> poise::Framework<Data, Error> {
    poise::Framework::builder()
        .initialize_owners(false)
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |fctx, event| Box::pin(event_handler(fctx.serenity_context, event, fctx.user_data)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let data = state
                    .get()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("bot state missing at READY"))?;
                data.gateway_connected.store(true, Ordering::Relaxed);
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "gateway ready");
                // A failure here must not stop the bot: poise would hold every event forever.
                let commands = &framework.options().commands;
                // Registered in the shop's guild(s) only: elsewhere the commands do not exist,
                // and `/admin` is hidden from members without its default permission.
                // Commands an earlier version registered globally (without DISCORD_GUILD_ID)
                // would stay usable in every server the bot is in: remove them.
                if let Err(error) =
                    serenity::all::Command::set_global_commands(&ctx.http, Vec::new()).await
                {
                    tracing::warn!(error = %outbound::loggable(&error), "removing globally registered commands failed");
                }
                for &guild_id in &data.settings.guild_ids {
                    let registered =
                        poise::builtins::register_in_guild(ctx, commands, GuildId::new(guild_id))
                            .await;
                    if let Err(error) = registered {
                        tracing::error!(error = %outbound::loggable(&error), guild_id, "registering slash commands failed");
                    }
                }
                Ok(data)
            })
        })
        .build()
}

async fn event_handler(
    ctx: &serenity::all::Context,
    event: &FullEvent,
    data: &Data,
) -> Result<(), Error> {
    match event {
        FullEvent::InteractionCreate { interaction } => match interaction {
            Interaction::Component(c) => components::on_component(ctx, data, c).await,
            Interaction::Modal(m) => components::on_modal(ctx, data, m).await,
            _ => {}
        },
        FullEvent::Ready { .. } | FullEvent::Resume { .. } => {
            data.gateway_connected.store(true, Ordering::Relaxed);
        }
        FullEvent::ShardStageUpdate { event } => {
            let connected = matches!(event.new, serenity::gateway::ConnectionStage::Connected);
            data.gateway_connected.store(connected, Ordering::Relaxed);
        }
        _ => {}
    }
    Ok(())
}

/// Answers the user whatever went wrong, without internals, and logs the full chain.
async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, error = %outbound::loggable(&error), "command failed");
            let lang = match ctx {
                poise::Context::Application(a) => {
                    crate::domain::i18n::Lang::from_discord(&a.interaction.locale)
                }
                poise::Context::Prefix(_) => ctx.data().settings.default_lang,
            };
            let msg = crate::domain::views::error(lang, crate::tr!(lang, "err-command-failed"));
            if let poise::Context::Application(a) = ctx {
                let http = &ctx.serenity_context().http;
                let _ = outbound::followup(http, &a.interaction.token, &msg, true).await;
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %outbound::loggable(&e), "error while handling an error");
            }
        }
    }
}
