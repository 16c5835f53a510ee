//! Users acting: INTERACTION_CREATE dispatches for slash commands, button clicks, select menus and
//! modal submits, built like Discord's documented payloads and sent to the sessions of the shard
//! that owns the event (shard 0 for DMs).

use std::time::Instant;

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use crate::gateway::shard_for_guild;
use crate::ids;
use crate::model::{FakeUser, InteractionKind, InteractionRecord, MessageRef, SlashOption};
use crate::payloads::{self, Place};
use crate::state::{snowflake_of, Inner, Shared};
use crate::RunningFake;

const EPHEMERAL: u64 = 64;

impl RunningFake {
    /// A member uses `/name` in the guild's main channel. Returns the interaction id.
    pub fn send_slash_command(
        &self,
        user: &FakeUser,
        name: &str,
        options: Vec<SlashOption>,
    ) -> anyhow::Result<u64> {
        self.send_slash_command_in(self.shared.config.channel_id, user, name, options)
    }

    /// A member uses `/name` in a given guild channel.
    pub fn send_slash_command_in(
        &self,
        channel_id: u64,
        user: &FakeUser,
        name: &str,
        options: Vec<SlashOption>,
    ) -> anyhow::Result<u64> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        let place = guild_place(shared, &inner, channel_id, user)?;
        let data = command_data(shared, &inner, name, options, true);
        let id = dispatch(
            shared,
            &mut inner,
            InteractionKind::SlashCommand,
            user,
            place,
            data,
        )?;
        drop(inner);
        self.deliver(id);
        Ok(id)
    }

    /// A member types in the option `focused` of `/name` (in the guild's main channel): an
    /// autocomplete interaction. `options` are those filled so far; the focused one's value is
    /// sent as the text typed, as Discord does. The bot's choices are the type 8 callback in
    /// [`Self::interaction_responses`].
    pub fn send_autocomplete(
        &self,
        user: &FakeUser,
        name: &str,
        options: Vec<SlashOption>,
        focused: &str,
    ) -> anyhow::Result<u64> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        let place = guild_place(shared, &inner, shared.config.channel_id, user)?;
        let mut data = command_data(shared, &inner, name, options, true);
        if !mark_focused(&mut data["options"], focused) {
            anyhow::bail!("/{name} has no option {focused:?} to type in");
        }
        let id = dispatch(
            shared,
            &mut inner,
            InteractionKind::Autocomplete,
            user,
            place,
            data,
        )?;
        drop(inner);
        self.deliver(id);
        Ok(id)
    }

    /// A user uses `/name` in their DM with the bot (no guild, no member).
    pub fn send_dm_slash_command(
        &self,
        user: &FakeUser,
        name: &str,
        options: Vec<SlashOption>,
    ) -> anyhow::Result<u64> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        let place = dm_place(shared, &mut inner, user);
        let data = command_data(shared, &inner, name, options, false);
        let id = dispatch(
            shared,
            &mut inner,
            InteractionKind::SlashCommand,
            user,
            place,
            data,
        )?;
        drop(inner);
        self.deliver(id);
        Ok(id)
    }

    /// A user clicks the button `custom_id` on a message (in the guild or in their DM, wherever
    /// the message is).
    pub fn click_button(
        &self,
        user: &FakeUser,
        message: impl Into<MessageRef>,
        custom_id: &str,
    ) -> anyhow::Result<u64> {
        self.component(user, message.into(), custom_id, None, None)
    }

    /// A user clicks the button `custom_id` on a message, but the click arrives from guild
    /// `guild_id` (its main channel): what a member of another server the bot is in can send.
    pub fn click_button_in_guild(
        &self,
        user: &FakeUser,
        guild_id: u64,
        message: impl Into<MessageRef>,
        custom_id: &str,
    ) -> anyhow::Result<u64> {
        self.component(user, message.into(), custom_id, None, Some(guild_id))
    }

    /// A member uses `/name` in the main channel of guild `guild_id` (the main guild or one
    /// of [`crate::FakeDiscordConfig::extra_guilds`]).
    pub fn send_slash_command_in_guild(
        &self,
        guild_id: u64,
        user: &FakeUser,
        name: &str,
        options: Vec<SlashOption>,
    ) -> anyhow::Result<u64> {
        let channel = self
            .main_channel_of(guild_id)
            .ok_or_else(|| anyhow!("no guild {guild_id}"))?;
        self.send_slash_command_in(channel, user, name, options)
    }

    /// The channel where members of guild `guild_id` use commands.
    pub fn main_channel_of(&self, guild_id: u64) -> Option<u64> {
        let config = &self.shared.config;
        if guild_id == config.guild_id {
            return Some(config.channel_id);
        }
        config
            .extra_guilds
            .iter()
            .find(|g| g.id == guild_id)
            .map(|g| g.channel_id)
    }

    /// A user picks `values` in the select menu `custom_id` on a message.
    pub fn select_menu(
        &self,
        user: &FakeUser,
        message: impl Into<MessageRef>,
        custom_id: &str,
        values: &[&str],
    ) -> anyhow::Result<u64> {
        let values = values.iter().map(|v| v.to_string()).collect();
        self.component(user, message.into(), custom_id, Some(values), None)
    }

    /// A user submits the modal `custom_id` the bot opened for them (interaction response
    /// type 9), filling inputs by their custom ids. Inputs not given are sent empty.
    pub fn submit_modal(
        &self,
        user: &FakeUser,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<u64> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        let (opener, modal) = inner
            .interactions
            .iter()
            .rev()
            .filter(|i| i.user_id == user.id && i.acknowledged_at.is_some())
            .find_map(|i| {
                let modal = i.callbacks.iter().find(|c| {
                    c["type"].as_u64() == Some(9) && c["data"]["custom_id"] == custom_id
                })?;
                Some((i.clone(), modal["data"].clone()))
            })
            .ok_or_else(|| anyhow!("no modal {custom_id:?} was opened for user {}", user.id))?;
        for (field, _) in fields {
            let known = modal_inputs(&modal).any(|input| input["custom_id"] == *field);
            if !known {
                bail!("modal {custom_id:?} has no input {field:?}");
            }
        }
        let mut rows = Vec::new();
        for input in modal_inputs(&modal) {
            let id = input["custom_id"].as_str().unwrap_or_default();
            let value = fields
                .iter()
                .find(|(f, _)| *f == id)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            if value.is_empty() && input["required"].as_bool().unwrap_or(true) {
                bail!("modal input {id:?} is required");
            }
            rows.push(json!({
                "type": 1,
                "components": [{"type": 4, "custom_id": id, "value": value}],
            }));
        }
        let place = Place {
            channel_id: opener.channel_id,
            guild_id: opener.guild_id,
            channel: opener.payload["channel"].clone(),
            guild_locale: opener.guild_id.map(|g| shared.guild_locale(&inner, g)),
        };
        let data = json!({"custom_id": custom_id, "components": rows});
        let id = dispatch(
            shared,
            &mut inner,
            InteractionKind::ModalSubmit,
            user,
            place,
            data,
        )?;
        if opener.kind == InteractionKind::Component {
            // A modal opened from a component carries that component's message.
            if let Some(record) = inner.interactions.iter_mut().find(|i| i.id == id) {
                record.payload["message"] = opener.payload["message"].clone();
            }
        }
        drop(inner);
        self.deliver(id);
        Ok(id)
    }

    fn component(
        &self,
        user: &FakeUser,
        message: MessageRef,
        custom_id: &str,
        values: Option<Vec<String>>,
        from_guild: Option<u64>,
    ) -> anyhow::Result<u64> {
        let from_channel = match from_guild {
            Some(g) => Some(
                self.main_channel_of(g)
                    .ok_or_else(|| anyhow!("no guild {g}"))?,
            ),
            None => None,
        };
        let shared = &self.shared;
        let mut inner = shared.lock();
        let message = match message {
            MessageRef::Id(id) => inner
                .messages
                .iter()
                .find(|m| m.record.id == id && !m.record.deleted)
                .map(|m| m.record.json.clone())
                .ok_or_else(|| anyhow!("no message {id}"))?,
            MessageRef::Json(json) => json,
        };
        let component = message["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|c| c["custom_id"] == custom_id)
            .ok_or_else(|| anyhow!("the message has no component {custom_id:?}"))?;
        if component["disabled"].as_bool() == Some(true) {
            bail!("component {custom_id:?} is disabled");
        }
        let component_type = component["type"].as_u64().unwrap_or(0);
        let data = match (&values, component_type) {
            (None, 2) => json!({"custom_id": custom_id, "component_type": 2}),
            (Some(values), 3 | 5..=8) => {
                if component_type == 3 {
                    let offered: Vec<&Value> = component["options"]
                        .as_array()
                        .map(|o| o.iter().map(|opt| &opt["value"]).collect())
                        .unwrap_or_default();
                    if let Some(bad) = values.iter().find(|v| !offered.iter().any(|o| *o == *v)) {
                        bail!("select {custom_id:?} offers no option {bad:?}");
                    }
                }
                let min = component["min_values"].as_u64().unwrap_or(1) as usize;
                let max = component["max_values"].as_u64().unwrap_or(1) as usize;
                if values.len() < min || values.len() > max {
                    bail!("select {custom_id:?} takes {min}..={max} values");
                }
                json!({"custom_id": custom_id, "component_type": component_type, "values": values})
            }
            (None, _) => bail!("component {custom_id:?} is not a button"),
            (Some(_), _) => bail!("component {custom_id:?} is not a select menu"),
        };
        let flags = message["flags"].as_u64().unwrap_or(0);
        let shown_to = snowflake_of(&message["interaction_metadata"]["user"]["id"]);
        if flags & EPHEMERAL != 0 && shown_to.is_some_and(|u| u != user.id) {
            bail!("the ephemeral message is only visible to user {shown_to:?}");
        }
        let channel_id = snowflake_of(&message["channel_id"])
            .ok_or_else(|| anyhow!("the message has no channel_id"))?;
        let channel_kind = inner
            .channels
            .get(&channel_id)
            .and_then(|c| c["type"].as_u64());
        let place = if let Some(channel) = from_channel {
            guild_place(shared, &inner, channel, user)?
        } else if channel_kind == Some(1) {
            let dm = inner.dm_channels.get(&user.id).copied();
            if dm != Some(channel_id) {
                bail!("user {} cannot see DM channel {channel_id}", user.id);
            }
            dm_place(shared, &mut inner, user)
        } else {
            guild_place(shared, &inner, channel_id, user)?
        };
        let id = dispatch(
            shared,
            &mut inner,
            InteractionKind::Component,
            user,
            place,
            data,
        )?;
        if let Some(record) = inner.interactions.iter_mut().find(|i| i.id == id) {
            record.payload["message"] = message;
        }
        drop(inner);
        self.deliver(id);
        Ok(id)
    }
}

fn modal_inputs(modal: &Value) -> impl Iterator<Item = &Value> {
    modal["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
}

fn guild_place(
    shared: &Shared,
    inner: &Inner,
    channel_id: u64,
    user: &FakeUser,
) -> anyhow::Result<Place> {
    let mut channel = inner
        .channels
        .get(&channel_id)
        .filter(|c| c["type"].as_u64() != Some(1))
        .cloned()
        .ok_or_else(|| anyhow!("no guild channel {channel_id}"))?;
    channel["permissions"] =
        json!(payloads::member_permissions(&shared.config, &user.roles).to_string());
    // The main guild's, or an extra guild's channel.
    let guild_id = snowflake_of(&channel["guild_id"]).unwrap_or(shared.config.guild_id);
    Ok(Place {
        channel_id,
        guild_id: Some(guild_id),
        channel,
        guild_locale: Some(shared.guild_locale(inner, guild_id)),
    })
}

fn dm_place(shared: &Shared, inner: &mut Inner, user: &FakeUser) -> Place {
    inner.members.entry(user.id).or_insert_with(|| user.clone());
    let channel_id = shared.dm_channel_for(inner, user.id);
    let channel = inner
        .channels
        .get(&channel_id)
        .cloned()
        .unwrap_or(Value::Null);
    Place {
        channel_id,
        guild_id: None,
        channel,
        guild_locale: None,
    }
}

fn command_data(
    shared: &Shared,
    inner: &Inner,
    name: &str,
    options: Vec<SlashOption>,
    in_guild: bool,
) -> Value {
    let guild_command = in_guild
        .then(|| inner.guild_commands.get(&shared.config.guild_id))
        .flatten()
        .and_then(|cmds| cmds.iter().find(|c| c["name"] == name));
    let global_command = inner.global_commands.iter().find(|c| c["name"] == name);
    let command_id = guild_command
        .or(global_command)
        .and_then(|c| snowflake_of(&c["id"]))
        .unwrap_or_else(|| {
            tracing::warn!(
                command = name,
                "fake discord: dispatching a command that was never registered"
            );
            ids::snowflake()
        });
    let mut resolved = json!({});
    let options: Vec<Value> = options
        .into_iter()
        .map(|o| option_json(shared, inner, o, &mut resolved))
        .collect();
    let mut data = json!({
        "id": command_id.to_string(),
        "name": name,
        "type": 1,
        "options": options,
    });
    if resolved.as_object().is_some_and(|m| !m.is_empty()) {
        data["resolved"] = resolved;
    }
    if guild_command.is_some() {
        data["guild_id"] = json!(shared.config.guild_id.to_string());
    }
    data
}

/// Marks the option `name` (at any depth) as the one being typed in; its value becomes text.
fn mark_focused(options: &mut Value, name: &str) -> bool {
    let Some(list) = options.as_array_mut() else {
        return false;
    };
    for option in list {
        if matches!(option["type"].as_u64(), Some(1 | 2)) {
            if mark_focused(&mut option["options"], name) {
                return true;
            }
        } else if option["name"] == name {
            let typed = match &option["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            option["value"] = json!(typed);
            option["focused"] = json!(true);
            return true;
        }
    }
    false
}

fn option_json(shared: &Shared, inner: &Inner, option: SlashOption, resolved: &mut Value) -> Value {
    match option {
        SlashOption::String(name, value) => json!({"name": name, "type": 3, "value": value}),
        SlashOption::Integer(name, value) => json!({"name": name, "type": 4, "value": value}),
        SlashOption::Boolean(name, value) => json!({"name": name, "type": 5, "value": value}),
        SlashOption::Number(name, value) => json!({"name": name, "type": 10, "value": value}),
        SlashOption::User(name, id) => {
            resolved["users"][id.to_string()] = shared.user_json(inner, id);
            if let Some(member) = inner.members.get(&id) {
                let mut partial = payloads::member(&shared.config, member, true);
                if let Some(map) = partial.as_object_mut() {
                    map.remove("user");
                }
                resolved["members"][id.to_string()] = partial;
            }
            json!({"name": name, "type": 6, "value": id.to_string()})
        }
        SlashOption::Attachment(name, attachment) => {
            resolved["attachments"][attachment.id.to_string()] = json!({
                "id": attachment.id.to_string(),
                "filename": attachment.filename,
                "size": attachment.size,
                "url": attachment.url,
                "proxy_url": attachment.url,
                "content_type": attachment.content_type,
                "ephemeral": true,
            });
            json!({"name": name, "type": 11, "value": attachment.id.to_string()})
        }
        SlashOption::SubCommand(name, options) => {
            let options: Vec<Value> = options
                .into_iter()
                .map(|o| option_json(shared, inner, o, resolved))
                .collect();
            json!({"name": name, "type": 1, "options": options})
        }
        SlashOption::SubCommandGroup(name, options) => {
            let options: Vec<Value> = options
                .into_iter()
                .map(|o| option_json(shared, inner, o, resolved))
                .collect();
            json!({"name": name, "type": 2, "options": options})
        }
    }
}

/// Records the interaction and writes it to every connected session of the owning shard.
fn dispatch(
    shared: &Shared,
    inner: &mut Inner,
    kind: InteractionKind,
    user: &FakeUser,
    place: Place,
    data: Value,
) -> anyhow::Result<u64> {
    let locale = shared.user_locale(inner, user);
    // `FakeUser::locale` is a public field: it may not have gone through `with_locale`.
    crate::validation::check_locale(&locale)?;
    if place.guild_id.is_some() {
        inner.members.insert(user.id, user.clone());
    }
    let id = ids::snowflake();
    let token = ids::interaction_token();
    let type_number = match kind {
        InteractionKind::SlashCommand => 2,
        InteractionKind::Component => 3,
        InteractionKind::ModalSubmit => 5,
        InteractionKind::Autocomplete => 4,
    };
    let payload = payloads::interaction(
        &shared.config,
        type_number,
        id,
        &token,
        user,
        &locale,
        &place,
        data,
    );
    inner.interactions.push(InteractionRecord {
        id,
        token,
        kind,
        user_id: user.id,
        channel_id: place.channel_id,
        guild_id: place.guild_id,
        payload,
        dispatched_at: Instant::now(),
        acknowledged_at: None,
        callbacks: Vec::new(),
        delivered_to: Vec::new(),
        original_message_id: None,
        failed: false,
    });
    Ok(id)
}

impl RunningFake {
    /// Sends a recorded interaction to the sessions of its shard; split from `dispatch` so the
    /// payload can be completed (e.g. with `message`) before it goes out.
    pub(crate) fn deliver(&self, id: u64) {
        let mut inner = self.shared.lock();
        let Some(index) = inner.interactions.iter().position(|i| i.id == id) else {
            return;
        };
        let guild_id = inner.interactions[index].guild_id;
        let payload = inner.interactions[index].payload.clone();
        let mut delivered = Vec::new();
        let keep = self.shared.config.gateway.replay_buffer;
        // Disconnected but resumable sessions keep the event for their RESUME.
        for session in inner.sessions.iter_mut().filter(|s| s.alive()) {
            let [shard_id, shard_count] = session.info.shard.unwrap_or([0, 1]);
            let owner = match guild_id {
                Some(g) => shard_for_guild(g, shard_count),
                None => 0,
            };
            if owner != shard_id {
                continue;
            }
            if session.dispatch("INTERACTION_CREATE", payload.clone(), keep) {
                delivered.push(session.info.session_id.clone());
            }
        }
        if delivered.is_empty() {
            tracing::warn!(
                interaction = id,
                "fake discord: no connected session for this interaction's shard"
            );
        }
        let record = &mut inner.interactions[index];
        record.delivered_to = delivered;
        record.dispatched_at = Instant::now();
    }
}
