//! Turns the bot's plain [`Message`] data into serenity builders, for each way of sending.

use serenity::all::{
    ButtonStyle as SButtonStyle, CreateActionRow, CreateAttachment, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateInputText, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, EditInteractionResponse, EditMessage,
    InputTextStyle,
};

use crate::domain::message::{ButtonStyle, Embed, Message, Modal, Row};

pub fn embed(e: &Embed) -> CreateEmbed {
    let mut out = CreateEmbed::new().colour(e.color);
    if !e.title.is_empty() {
        out = out.title(&e.title);
    }
    if !e.description.is_empty() {
        out = out.description(&e.description);
    }
    for f in &e.fields {
        out = out.field(&f.name, &f.value, f.inline);
    }
    if let Some(footer) = &e.footer {
        out = out.footer(CreateEmbedFooter::new(footer));
    }
    if let Some(image) = &e.image_attachment {
        out = out.image(image);
    }
    out
}

pub fn rows(rows: &[Row]) -> Vec<CreateActionRow> {
    rows.iter()
        .map(|row| match row {
            Row::Buttons(buttons) => CreateActionRow::Buttons(
                buttons
                    .iter()
                    .map(|b| {
                        CreateButton::new(&b.custom_id)
                            .label(&b.label)
                            .style(match b.style {
                                ButtonStyle::Primary => SButtonStyle::Primary,
                                ButtonStyle::Secondary => SButtonStyle::Secondary,
                                ButtonStyle::Success => SButtonStyle::Success,
                                ButtonStyle::Danger => SButtonStyle::Danger,
                            })
                            .disabled(b.disabled)
                    })
                    .collect(),
            ),
            Row::Select(s) => CreateActionRow::SelectMenu(
                CreateSelectMenu::new(
                    &s.custom_id,
                    CreateSelectMenuKind::String {
                        options: s
                            .options
                            .iter()
                            .map(|o| {
                                let opt = CreateSelectMenuOption::new(&o.label, &o.value);
                                match &o.description {
                                    Some(d) => opt.description(d),
                                    None => opt,
                                }
                            })
                            .collect(),
                    },
                )
                .placeholder(&s.placeholder)
                .disabled(s.disabled),
            ),
        })
        .collect()
}

fn embeds(m: &Message) -> Vec<CreateEmbed> {
    m.embeds.iter().map(embed).collect()
}

fn attachments(m: &Message) -> Vec<CreateAttachment> {
    m.attachments
        .iter()
        .map(|a| CreateAttachment::bytes(a.bytes.clone(), a.file_name.clone()))
        .collect()
}

pub fn create_message(m: &Message) -> CreateMessage {
    let mut b = CreateMessage::new()
        .embeds(embeds(m))
        .components(rows(&m.rows))
        .files(attachments(m));
    if let Some(c) = &m.content {
        b = b.content(c);
    }
    b
}

pub fn followup(m: &Message, ephemeral: bool) -> CreateInteractionResponseFollowup {
    let mut b = CreateInteractionResponseFollowup::new()
        .ephemeral(ephemeral)
        .embeds(embeds(m))
        .components(rows(&m.rows))
        .files(attachments(m));
    if let Some(c) = &m.content {
        b = b.content(c);
    }
    b
}

pub fn response_message(m: &Message, ephemeral: bool) -> CreateInteractionResponseMessage {
    let mut b = CreateInteractionResponseMessage::new()
        .ephemeral(ephemeral)
        .embeds(embeds(m))
        .components(rows(&m.rows))
        .files(attachments(m));
    if let Some(c) = &m.content {
        b = b.content(c);
    }
    b
}

/// An edit that replaces everything: content, embeds, components and attachments.
pub fn edit(m: &Message) -> EditInteractionResponse {
    let mut b = EditInteractionResponse::new()
        .content(m.content.clone().unwrap_or_default())
        .embeds(embeds(m))
        .components(rows(&m.rows))
        .clear_attachments();
    for a in attachments(m) {
        b = b.new_attachment(a);
    }
    b
}

/// An edit of a message the bot posted in a channel: embeds and components replaced (its
/// content and attachments stay).
pub fn edit_message(m: &Message) -> EditMessage {
    EditMessage::new()
        .embeds(embeds(m))
        .components(rows(&m.rows))
}

pub fn modal(m: &Modal) -> CreateModal {
    CreateModal::new(&m.custom_id, &m.title).components(
        m.inputs
            .iter()
            .map(|i| {
                let style = if i.paragraph {
                    InputTextStyle::Paragraph
                } else {
                    InputTextStyle::Short
                };
                let mut input = CreateInputText::new(style, &i.label, &i.custom_id)
                    .max_length(i.max_length)
                    .required(i.required);
                if let Some(p) = &i.placeholder {
                    input = input.placeholder(p);
                }
                CreateActionRow::InputText(input)
            })
            .collect(),
    )
}
