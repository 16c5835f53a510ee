//! The live stock panel's memory and decisions: which message is the panel, and on each tick
//! whether to post it, edit it, look whether it still exists, or do nothing. Pure: the adapter
//! (`discord::stock_panel`) does the REST calls and reports back.

use super::message::Message;

/// Unchanged content is not re-sent; every this many ticks the adapter checks the message
/// still exists (someone may have deleted it while nothing changed).
pub const CHECK_EVERY_TICKS: u32 = 12;

/// What to do on a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PanelStep {
    /// No panel known: post one.
    Post,
    /// The content changed: edit the panel (PATCH).
    Edit(u64),
    /// Unchanged for a while: look whether the message is still there.
    Check(u64),
    Nothing,
}

/// What the adapter knows about the panel between ticks.
#[derive(Debug, Default)]
pub struct PanelMemory {
    message_id: Option<u64>,
    shown: Option<Message>,
    quiet_ticks: u32,
}

impl PanelMemory {
    /// Starts from the panel found in the channel (after a restart), if any. Its content is
    /// unknown, so the first tick edits it once.
    pub fn found(message_id: Option<u64>) -> Self {
        PanelMemory {
            message_id,
            ..Default::default()
        }
    }

    pub fn message_id(&self) -> Option<u64> {
        self.message_id
    }

    pub fn next(&mut self, rendered: &Message) -> PanelStep {
        let Some(id) = self.message_id else {
            return PanelStep::Post;
        };
        if self.shown.as_ref() != Some(rendered) {
            return PanelStep::Edit(id);
        }
        self.quiet_ticks += 1;
        if self.quiet_ticks >= CHECK_EVERY_TICKS {
            self.quiet_ticks = 0;
            return PanelStep::Check(id);
        }
        PanelStep::Nothing
    }

    /// The panel was posted or edited to show `shown`.
    pub fn showing(&mut self, message_id: u64, shown: Message) {
        self.message_id = Some(message_id);
        self.shown = Some(shown);
        self.quiet_ticks = 0;
    }

    /// The panel message is gone (Unknown Message): the next tick posts a new one.
    pub fn gone(&mut self) {
        *self = PanelMemory::default();
    }
}

/// A message of the channel as far as finding the panel goes.
#[derive(Debug, Clone)]
pub struct ChannelMessage {
    pub id: u64,
    pub author_id: u64,
    pub footers: Vec<String>,
}

/// The bot's own panel among a channel's recent messages (newest first): by the bot, with the
/// panel's footer marker. The newest wins if there are several.
pub fn find_panel(messages: &[ChannelMessage], bot_user_id: u64) -> Option<u64> {
    messages
        .iter()
        .filter(|m| m.author_id == bot_user_id)
        .filter(|m| {
            m.footers
                .iter()
                .any(|f| super::views::is_stock_panel_footer(f))
        })
        .max_by_key(|m| m.id)
        .map(|m| m.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::text(text)
    }

    #[test]
    fn posts_once_edits_on_change_and_is_quiet_otherwise() {
        let mut m = PanelMemory::default();
        assert_eq!(m.next(&msg("a")), PanelStep::Post);
        m.showing(5, msg("a"));
        assert_eq!(m.next(&msg("a")), PanelStep::Nothing);
        assert_eq!(m.next(&msg("b")), PanelStep::Edit(5));
        m.showing(5, msg("b"));
        for _ in 1..CHECK_EVERY_TICKS {
            assert_eq!(m.next(&msg("b")), PanelStep::Nothing);
        }
        assert_eq!(m.next(&msg("b")), PanelStep::Check(5));
        m.gone();
        assert_eq!(m.next(&msg("b")), PanelStep::Post);
    }

    #[test]
    fn a_panel_found_after_a_restart_is_edited_not_posted_again() {
        let mut m = PanelMemory::found(Some(9));
        assert_eq!(m.next(&msg("a")), PanelStep::Edit(9));
    }

    #[test]
    fn only_the_bots_own_panel_is_found() {
        let footer = format!("Live stock · {}", super::super::views::STOCK_PANEL_MARKER);
        let messages = vec![
            ChannelMessage {
                id: 30,
                author_id: 2,
                footers: vec![footer.clone()],
            },
            ChannelMessage {
                id: 20,
                author_id: 1,
                footers: vec!["something else".into()],
            },
            ChannelMessage {
                id: 10,
                author_id: 1,
                footers: vec![footer.clone()],
            },
        ];
        assert_eq!(find_panel(&messages, 1), Some(10));
        assert_eq!(find_panel(&messages, 3), None);
    }
}
