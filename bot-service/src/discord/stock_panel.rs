//! The live stock panel in `STOCK_CHANNEL_ID`: one message showing every product on sale with
//! its available codes and prices, in `DEFAULT_LOCALE`. Every `STOCK_PANEL_INTERVAL_SECS` the
//! catalogue is read; the message is edited (PATCH) only when what it shows changed, posted
//! again if someone deleted it, and found again after a restart among the channel's recent
//! messages (the bot's own, with the panel's footer marker) instead of posted twice.
//!
//! Only one replica keeps it: the one whose gateway holds shard 0 (see `lib.rs`).

use std::sync::Arc;

use serenity::all::{ChannelId, GetMessages, MessageId};
use serenity::http::HttpError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::outbound::{self, Rest};
use crate::domain::message::Message;
use crate::domain::stock_panel::{find_panel, ChannelMessage, PanelMemory, PanelStep};
use crate::domain::views;
use crate::state::AppState;

/// How many recent messages are searched for an earlier panel (Discord's default page).
const SEARCH_RECENT: u8 = 50;
/// Discord's "Unknown Message".
const UNKNOWN_MESSAGE: isize = 10008;

pub fn spawn(state: Arc<AppState>, channel: u64, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move { keep(state, ChannelId::new(channel), stop).await })
}

#[tracing::instrument(skip_all, fields(channel_id = %channel))]
async fn keep(state: Arc<AppState>, channel: ChannelId, stop: CancellationToken) {
    let rest = state.rest();
    let mut ticker = tokio::time::interval(state.settings.stock_panel_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut memory: Option<PanelMemory> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        // Which message is ours is settled once, before the first post.
        let memory = match &mut memory {
            Some(m) => m,
            None => match find_existing(rest, channel).await {
                Ok(found) => {
                    tracing::info!(found = ?found, "stock panel starting");
                    memory.insert(PanelMemory::found(found))
                }
                Err(error) => {
                    tracing::warn!(error = %outbound::loggable(&error), "could not look for an earlier stock panel; trying again");
                    continue;
                }
            },
        };
        let catalog = match state.payments.catalog().await {
            Ok(c) => c,
            Err(error) => {
                tracing::debug!(%error, "stock panel: the catalogue did not answer");
                continue;
            }
        };
        let rendered = views::stock_panel(state.settings.default_lang, &views::offers(&catalog));
        tick(rest, channel, memory, rendered).await;
    }
}

async fn tick(rest: Rest<'_>, channel: ChannelId, memory: &mut PanelMemory, rendered: Message) {
    match memory.next(&rendered) {
        PanelStep::Nothing => {}
        PanelStep::Post => post(rest, channel, memory, rendered).await,
        PanelStep::Edit(id) => {
            match outbound::edit_channel_message(rest, channel, MessageId::new(id), &rendered).await
            {
                Ok(()) => memory.showing(id, rendered),
                Err(e) if is_unknown_message(&e) => {
                    tracing::info!("the stock panel was deleted; posting it again");
                    memory.gone();
                    post(rest, channel, memory, rendered).await;
                }
                Err(e) => {
                    tracing::warn!(error = %outbound::loggable(&e), "editing the stock panel failed")
                }
            }
        }
        PanelStep::Check(id) => {
            rest.budget.acquire(1).await;
            match channel.message(rest.http, MessageId::new(id)).await {
                Err(e) if is_unknown_message(&e) => {
                    tracing::info!("the stock panel was deleted; posting it again");
                    memory.gone();
                    post(rest, channel, memory, rendered).await;
                }
                _ => {}
            }
        }
    }
}

async fn post(rest: Rest<'_>, channel: ChannelId, memory: &mut PanelMemory, rendered: Message) {
    match outbound::post(rest, channel, &rendered).await {
        Ok(id) => memory.showing(id.get(), rendered),
        Err(e) => tracing::warn!(error = %outbound::loggable(&e), "posting the stock panel failed"),
    }
}

/// The panel this bot posted earlier, among the channel's recent messages.
async fn find_existing(rest: Rest<'_>, channel: ChannelId) -> Result<Option<u64>, serenity::Error> {
    rest.budget.acquire(2).await;
    let me = rest.http.get_current_user().await?.id.get();
    let recent = channel
        .messages(rest.http, GetMessages::new().limit(SEARCH_RECENT))
        .await?;
    let recent: Vec<ChannelMessage> = recent
        .iter()
        .map(|m| ChannelMessage {
            id: m.id.get(),
            author_id: m.author.id.get(),
            footers: m
                .embeds
                .iter()
                .filter_map(|e| e.footer.as_ref().map(|f| f.text.clone()))
                .collect(),
        })
        .collect();
    Ok(find_panel(&recent, me))
}

fn is_unknown_message(error: &serenity::Error) -> bool {
    matches!(error, serenity::Error::Http(HttpError::UnsuccessfulRequest(r))
        if r.error.code == UNKNOWN_MESSAGE || r.status_code.as_u16() == 404)
}
