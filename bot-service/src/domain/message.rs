//! Messages as plain data — embeds, buttons, select menus — and Discord's limits on them.
//! serenity's builders check only a few limits, so everything the bot sends is built here,
//! fitted to the limits, and converted to builders in `discord::render`.

/// Discord's limits (see shared/discord/FACTS.md).
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const EMBEDS_TOTAL: usize = 6000;
    pub const ROWS: usize = 5;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const SELECT_OPTIONS: usize = 25;
    pub const BUTTON_LABEL: usize = 80;
    pub const OPTION_LABEL: usize = 100;
    pub const OPTION_DESCRIPTION: usize = 100;
    pub const CUSTOM_ID: usize = 100;
    pub const MODAL_TITLE: usize = 45;
    pub const MODAL_INPUTS: usize = 5;
    pub const INPUT_LABEL: usize = 45;
    pub const INPUT_PLACEHOLDER: usize = 100;
    pub const INPUT_LENGTH: u16 = 4000;
}

pub const COLOR_BRAND: u32 = 0xE53935;
pub const COLOR_OK: u32 = 0x43A047;
pub const COLOR_WARN: u32 = 0xFB8C00;
pub const COLOR_ERROR: u32 = 0xC62828;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Embed {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub color: u32,
    pub footer: Option<String>,
    /// `attachment://name.png` image shown in the embed.
    pub image_attachment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary,
    Secondary,
    Success,
    Danger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub custom_id: String,
    pub style: ButtonStyle,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    pub label: String,
    pub value: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub custom_id: String,
    pub placeholder: String,
    pub options: Vec<SelectOption>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Buttons(Vec<Button>),
    Select(Select),
}

/// A text input of a modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextInput {
    pub custom_id: String,
    pub label: String,
    pub placeholder: Option<String>,
    /// Several lines (Discord's "paragraph" style) rather than one.
    pub paragraph: bool,
    pub required: bool,
    pub max_length: u16,
}

impl TextInput {
    /// A required one-line input.
    pub fn new(custom_id: &str, label: impl Into<String>, max_length: u16) -> Self {
        TextInput {
            custom_id: custom_id.to_string(),
            label: label.into(),
            placeholder: None,
            paragraph: false,
            required: true,
            max_length,
        }
    }

    pub fn placeholder(mut self, placeholder: impl Into<String>) -> Self {
        self.placeholder = Some(placeholder.into());
        self
    }

    pub fn paragraph(mut self) -> Self {
        self.paragraph = true;
        self
    }

    pub fn optional(mut self, optional: bool) -> Self {
        self.required = !optional;
        self
    }
}

/// A modal: a form of text inputs Discord shows over the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modal {
    pub custom_id: String,
    pub title: String,
    pub inputs: Vec<TextInput>,
}

impl Modal {
    /// A modal whose title is cut to Discord's 45 characters (titles may name an order).
    pub fn new(custom_id: String, title: &str, inputs: Vec<TextInput>) -> Self {
        Modal {
            custom_id,
            title: truncate(title, limits::MODAL_TITLE),
            inputs,
        }
    }

    /// Every limit Discord enforces on a modal.
    pub fn check(&self) -> Result<(), LimitError> {
        at_most("custom_id", &self.custom_id, limits::CUSTOM_ID)?;
        at_most("modal title", &self.title, limits::MODAL_TITLE)?;
        if self.title.is_empty() {
            return Err(LimitError::Empty("modal title"));
        }
        count_at_most("modal inputs", self.inputs.len(), limits::MODAL_INPUTS)?;
        if self.inputs.is_empty() {
            return Err(LimitError::Empty("modal inputs"));
        }
        for input in &self.inputs {
            at_most("input label", &input.label, limits::INPUT_LABEL)?;
            if input.label.is_empty() {
                return Err(LimitError::Empty("input label"));
            }
            if let Some(p) = &input.placeholder {
                at_most("input placeholder", p, limits::INPUT_PLACEHOLDER)?;
            }
            if input.max_length == 0 || input.max_length > limits::INPUT_LENGTH {
                return Err(LimitError::TooLong {
                    what: "input max_length",
                    len: usize::from(input.max_length),
                    max: usize::from(limits::INPUT_LENGTH),
                });
            }
        }
        Ok(())
    }
}

/// A file attached to a message.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    // The bytes may be codes: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub content: Option<String>,
    pub embeds: Vec<Embed>,
    pub rows: Vec<Row>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{what} has {len} characters, Discord allows {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what}: {count} items, Discord allows {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("custom_id {0:?} appears twice in one message")]
    DuplicateCustomId(String),
}

/// Cuts `text` to at most `max` characters, ending with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn at_most(what: &'static str, s: &str, max: usize) -> Result<(), LimitError> {
    let l = len(s);
    if l > max {
        return Err(LimitError::TooLong { what, len: l, max });
    }
    Ok(())
}

fn count_at_most(what: &'static str, count: usize, max: usize) -> Result<(), LimitError> {
    if count > max {
        return Err(LimitError::TooMany { what, count, max });
    }
    Ok(())
}

impl Embed {
    pub fn new(title: impl Into<String>, description: impl Into<String>, color: u32) -> Self {
        Embed {
            title: title.into(),
            description: description.into(),
            color,
            ..Default::default()
        }
    }

    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }

    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Characters that count toward the 6000 total.
    pub fn total_len(&self) -> usize {
        len(&self.title)
            + len(&self.description)
            + self.footer.as_deref().map(len).unwrap_or(0)
            + self
                .fields
                .iter()
                .map(|f| len(&f.name) + len(&f.value))
                .sum::<usize>()
    }

    /// Cuts every part to its limit (used for texts that come from elsewhere, like order lists).
    pub fn fitted(mut self) -> Self {
        self.title = truncate(&self.title, limits::TITLE);
        self.description = truncate(&self.description, limits::DESCRIPTION);
        self.fields.truncate(limits::FIELDS);
        for f in &mut self.fields {
            f.name = truncate(&f.name, limits::FIELD_NAME);
            f.value = truncate(&f.value, limits::FIELD_VALUE);
            if f.name.is_empty() {
                f.name = "\u{200b}".into();
            }
            if f.value.is_empty() {
                f.value = "\u{200b}".into();
            }
        }
        self.footer = self.footer.map(|f| truncate(&f, limits::FOOTER));
        while self.total_len() > limits::EMBEDS_TOTAL && !self.fields.is_empty() {
            self.fields.pop();
        }
        if self.total_len() > limits::EMBEDS_TOTAL {
            let room =
                limits::EMBEDS_TOTAL.saturating_sub(self.total_len() - len(&self.description));
            self.description = truncate(&self.description, room);
        }
        self
    }

    pub fn check(&self) -> Result<(), LimitError> {
        at_most("embed title", &self.title, limits::TITLE)?;
        at_most("embed description", &self.description, limits::DESCRIPTION)?;
        count_at_most("embed fields", self.fields.len(), limits::FIELDS)?;
        for f in &self.fields {
            at_most("field name", &f.name, limits::FIELD_NAME)?;
            at_most("field value", &f.value, limits::FIELD_VALUE)?;
            if f.name.is_empty() {
                return Err(LimitError::Empty("field name"));
            }
            if f.value.is_empty() {
                return Err(LimitError::Empty("field value"));
            }
        }
        if let Some(footer) = &self.footer {
            at_most("embed footer", footer, limits::FOOTER)?;
        }
        Ok(())
    }
}

impl Button {
    pub fn new(label: impl Into<String>, custom_id: String, style: ButtonStyle) -> Self {
        Button {
            label: label.into(),
            custom_id,
            style,
            disabled: false,
        }
    }
}

impl Message {
    pub fn embed(embed: Embed) -> Self {
        Message {
            embeds: vec![embed],
            ..Default::default()
        }
    }

    pub fn text(content: impl Into<String>) -> Self {
        Message {
            content: Some(content.into()),
            ..Default::default()
        }
    }

    pub fn with_row(mut self, row: Row) -> Self {
        self.rows.push(row);
        self
    }

    /// The same message with every component disabled (after a click, so nobody clicks twice).
    pub fn disabled(mut self) -> Self {
        for row in &mut self.rows {
            match row {
                Row::Buttons(buttons) => buttons.iter_mut().for_each(|b| b.disabled = true),
                Row::Select(s) => s.disabled = true,
            }
        }
        self
    }

    /// Every limit Discord enforces on a message the bot sends.
    pub fn check(&self) -> Result<(), LimitError> {
        if let Some(c) = &self.content {
            at_most("message content", c, limits::CONTENT)?;
        }
        count_at_most("embeds", self.embeds.len(), limits::EMBEDS)?;
        let mut total = 0;
        for e in &self.embeds {
            e.check()?;
            total += e.total_len();
        }
        if total > limits::EMBEDS_TOTAL {
            return Err(LimitError::TooLong {
                what: "all embeds together",
                len: total,
                max: limits::EMBEDS_TOTAL,
            });
        }
        count_at_most("action rows", self.rows.len(), limits::ROWS)?;
        let mut ids = std::collections::HashSet::new();
        let mut seen = |id: &str| -> Result<(), LimitError> {
            if id.is_empty() {
                return Err(LimitError::Empty("custom_id"));
            }
            at_most("custom_id", id, limits::CUSTOM_ID)?;
            if !ids.insert(id.to_string()) {
                return Err(LimitError::DuplicateCustomId(id.to_string()));
            }
            Ok(())
        };
        for row in &self.rows {
            match row {
                Row::Buttons(buttons) => {
                    count_at_most("buttons in a row", buttons.len(), limits::BUTTONS_PER_ROW)?;
                    if buttons.is_empty() {
                        return Err(LimitError::Empty("action row"));
                    }
                    for b in buttons {
                        at_most("button label", &b.label, limits::BUTTON_LABEL)?;
                        seen(&b.custom_id)?;
                    }
                }
                Row::Select(s) => {
                    count_at_most("select options", s.options.len(), limits::SELECT_OPTIONS)?;
                    if s.options.is_empty() {
                        return Err(LimitError::Empty("select options"));
                    }
                    seen(&s.custom_id)?;
                    for o in &s.options {
                        at_most("option label", &o.label, limits::OPTION_LABEL)?;
                        if let Some(d) = &o.description {
                            at_most("option description", d, limits::OPTION_DESCRIPTION)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Splits buttons into rows of at most five.
pub fn button_rows(buttons: Vec<Button>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut current = Vec::new();
    for b in buttons {
        current.push(b);
        if current.len() == limits::BUTTONS_PER_ROW {
            rows.push(Row::Buttons(std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        rows.push(Row::Buttons(current));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_embeds_respect_every_limit() {
        let mut e = Embed::new("t".repeat(300), "d".repeat(5000), 0).footer("f".repeat(3000));
        for i in 0..40 {
            e = e.field(format!("{i}{}", "n".repeat(300)), "v".repeat(2000), false);
        }
        let e = e.fitted();
        e.check().unwrap();
        assert!(e.total_len() <= limits::EMBEDS_TOTAL);
        Message::embed(e).check().unwrap();
    }

    #[test]
    fn message_checks_catch_discord_limits() {
        let b = |id: &str| Button::new("x", id.to_string(), ButtonStyle::Primary);
        let six = Message::default()
            .with_row(Row::Buttons((0..6).map(|i| b(&format!("id{i}"))).collect()));
        assert!(matches!(six.check(), Err(LimitError::TooMany { .. })));
        let dup = Message::default().with_row(Row::Buttons(vec![b("a"), b("a")]));
        assert!(matches!(dup.check(), Err(LimitError::DuplicateCustomId(_))));
        let long_id = Message::default().with_row(Row::Buttons(vec![b(&"x".repeat(101))]));
        assert!(long_id.check().is_err());
        assert!(Message::text("x".repeat(2001)).check().is_err());
        let mut many = Message::default();
        for i in 0..6 {
            many = many.with_row(Row::Buttons(vec![b(&format!("r{i}"))]));
        }
        assert!(many.check().is_err());
        let opts = (0..26)
            .map(|i| SelectOption {
                label: i.to_string(),
                value: i.to_string(),
                description: None,
            })
            .collect();
        let select = Message::default().with_row(Row::Select(Select {
            custom_id: "s".into(),
            placeholder: String::new(),
            options: opts,
            disabled: false,
        }));
        assert!(select.check().is_err());
        let two_big = Message {
            embeds: vec![Embed::new("", "d".repeat(4000), 0); 2],
            ..Default::default()
        };
        assert!(two_big.check().is_err());
    }

    #[test]
    fn buttons_wrap_into_rows_of_five() {
        let buttons: Vec<Button> = (0..7)
            .map(|i| Button::new("x", format!("b{i}"), ButtonStyle::Secondary))
            .collect();
        let rows = button_rows(buttons);
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[0], Row::Buttons(b) if b.len() == 5));
    }
}
