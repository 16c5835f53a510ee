//! The Discord permissions the bot needs (the invite URL asks for exactly these), Discord's way
//! of computing a member's permissions in a channel, and whether a channel can hold the private
//! delivery threads. Discord-free: the adapter (`discord::channel_check`) feeds it REST answers.

/// One permission the bot asks for, and the call that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub name: &'static str,
    pub bit: u64,
    pub why: &'static str,
}

pub const ADMINISTRATOR: u64 = 1 << 3;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// Everything the bot calls that needs a guild permission. DMs, interaction answers and
/// follow-ups (through the interaction token) need none; the bot never reads message history.
pub const REQUIRED: [Permission; 6] = [
    Permission {
        name: "VIEW_CHANNEL",
        bit: VIEW_CHANNEL,
        why: "see the panel, alert and private-thread channels",
    },
    Permission {
        name: "SEND_MESSAGES",
        bit: SEND_MESSAGES,
        why: "post the /shop panel (/admin postpanel) and admin alerts",
    },
    Permission {
        name: "EMBED_LINKS",
        bit: EMBED_LINKS,
        why: "every screen, alert and delivery is an embed",
    },
    Permission {
        name: "ATTACH_FILES",
        bit: ATTACH_FILES,
        why: "more than 10 codes are delivered as a .txt file",
    },
    Permission {
        name: "CREATE_PRIVATE_THREADS",
        bit: CREATE_PRIVATE_THREADS,
        why: "deliver codes in a private thread when the buyer's DMs are closed",
    },
    Permission {
        name: "SEND_MESSAGES_IN_THREADS",
        bit: SEND_MESSAGES_IN_THREADS,
        why: "add the buyer to that thread and post the codes there",
    },
];

/// The permission integer of the invite URL: the bits of [`REQUIRED`].
pub const REQUIRED_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS;

/// What a channel used for private delivery threads must allow.
pub const PRIVATE_THREAD_CHANNEL: u64 =
    VIEW_CHANNEL | EMBED_LINKS | ATTACH_FILES | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS;

/// Discord's channel type of a guild text channel, the only parent of private threads.
pub const GUILD_TEXT: u8 = 0;

/// The URL that adds the bot to a server with the permissions it needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={REQUIRED_PERMISSIONS}"
    )
}

/// Names of the permissions in `needed` that `granted` lacks, in [`REQUIRED`]'s order.
pub fn missing(granted: u64, needed: u64) -> Vec<&'static str> {
    REQUIRED
        .iter()
        .filter(|p| needed & p.bit != 0 && granted & p.bit == 0)
        .map(|p| p.name)
        .collect()
}

/// A channel permission overwrite, for a role or for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    pub member: bool,
    pub allow: u64,
    pub deny: u64,
}

/// A member's permissions in a channel, as Discord computes them: `@everyone` (whose role id is
/// the guild id) plus the member's roles; ADMINISTRATOR allows everything; then the channel's
/// `@everyone` overwrite, the member's roles' overwrites together, and the member's own.
pub fn channel_permissions(
    guild_id: u64,
    roles: &[(u64, u64)],
    member_id: u64,
    member_roles: &[u64],
    overwrites: &[Overwrite],
) -> u64 {
    let role_bits = |id: u64| roles.iter().find(|r| r.0 == id).map_or(0, |r| r.1);
    let mut perms = member_roles
        .iter()
        .fold(role_bits(guild_id), |acc, r| acc | role_bits(*r));
    if perms & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    if let Some(o) = overwrites.iter().find(|o| !o.member && o.id == guild_id) {
        perms = (perms & !o.deny) | o.allow;
    }
    let (allow, deny) = overwrites
        .iter()
        .filter(|o| !o.member && member_roles.contains(&o.id))
        .fold((0, 0), |(a, d), o| (a | o.allow, d | o.deny));
    perms = (perms & !deny) | allow;
    if let Some(o) = overwrites.iter().find(|o| o.member && o.id == member_id) {
        perms = (perms & !o.deny) | o.allow;
    }
    perms
}

/// Why a channel cannot hold private delivery threads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThreadChannelProblem {
    #[error("it is not a text channel (Discord channel type {0}); private threads need one")]
    NotText(u8),
    #[error("the bot lacks {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("the bot cannot see it or it does not exist ({0})")]
    Unreachable(String),
}

/// Whether a channel of `kind` where the bot has `granted` can hold private delivery threads.
pub fn check_thread_channel(kind: u8, granted: u64) -> Result<(), ThreadChannelProblem> {
    if kind != GUILD_TEXT {
        return Err(ThreadChannelProblem::NotText(kind));
    }
    let lacking = missing(granted, PRIVATE_THREAD_CHANNEL);
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(ThreadChannelProblem::Missing(lacking))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_integer_is_the_sum_of_the_listed_bits() {
        let sum: u64 = REQUIRED.iter().map(|p| p.bit).sum();
        assert_eq!(REQUIRED_PERMISSIONS, sum);
        assert_eq!(REQUIRED_PERMISSIONS, 343_597_435_904);
        let names: Vec<_> = REQUIRED.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "VIEW_CHANNEL",
                "SEND_MESSAGES",
                "EMBED_LINKS",
                "ATTACH_FILES",
                "CREATE_PRIVATE_THREADS",
                "SEND_MESSAGES_IN_THREADS"
            ]
        );
        // Discord's documented bit positions for those names.
        for (p, shift) in REQUIRED.iter().zip([10, 11, 14, 15, 36, 38]) {
            assert_eq!(p.bit, 1 << shift, "{}", p.name);
        }
        assert!(invite_url(42).ends_with("permissions=343597435904"));
    }

    #[test]
    fn readme_lists_the_permissions_and_the_invite_integer() {
        let readme = include_str!("../../../README.md");
        assert!(readme.contains(&format!(
            "scope=bot+applications.commands&permissions={REQUIRED_PERMISSIONS}"
        )));
        for p in REQUIRED {
            assert!(readme.contains(&format!("`{}`", p.name)), "{}", p.name);
        }
    }

    const GUILD: u64 = 100;
    const BOT: u64 = 7;
    const BOT_ROLE: u64 = 200;

    #[test]
    fn overwrites_apply_everyone_then_roles_then_the_member() {
        let roles = [
            (GUILD, VIEW_CHANNEL | SEND_MESSAGES),
            (BOT_ROLE, EMBED_LINKS),
        ];
        let base = channel_permissions(GUILD, &roles, BOT, &[BOT_ROLE], &[]);
        assert_eq!(base, VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS);
        let everyone_denied = Overwrite {
            id: GUILD,
            member: false,
            allow: 0,
            deny: VIEW_CHANNEL,
        };
        let role_allowed = Overwrite {
            id: BOT_ROLE,
            member: false,
            allow: VIEW_CHANNEL | CREATE_PRIVATE_THREADS,
            deny: 0,
        };
        let member_denied = Overwrite {
            id: BOT,
            member: true,
            allow: 0,
            deny: CREATE_PRIVATE_THREADS,
        };
        assert_eq!(
            channel_permissions(GUILD, &roles, BOT, &[BOT_ROLE], &[everyone_denied]),
            SEND_MESSAGES | EMBED_LINKS
        );
        assert_eq!(
            channel_permissions(
                GUILD,
                &roles,
                BOT,
                &[BOT_ROLE],
                &[everyone_denied, role_allowed]
            ),
            base | CREATE_PRIVATE_THREADS
        );
        assert_eq!(
            channel_permissions(
                GUILD,
                &roles,
                BOT,
                &[BOT_ROLE],
                &[everyone_denied, role_allowed, member_denied]
            ),
            base
        );
        // A member overwrite for someone else changes nothing.
        let other = Overwrite {
            id: 8,
            ..member_denied
        };
        assert_eq!(
            channel_permissions(GUILD, &roles, BOT, &[BOT_ROLE], &[other]),
            base
        );
    }

    #[test]
    fn administrator_ignores_overwrites() {
        let roles = [(GUILD, 0), (BOT_ROLE, ADMINISTRATOR)];
        let deny_all = Overwrite {
            id: BOT,
            member: true,
            allow: 0,
            deny: u64::MAX,
        };
        assert_eq!(
            channel_permissions(GUILD, &roles, BOT, &[BOT_ROLE], &[deny_all]),
            u64::MAX
        );
    }

    #[test]
    fn a_thread_channel_must_be_text_and_allow_private_threads() {
        assert_eq!(check_thread_channel(0, REQUIRED_PERMISSIONS), Ok(()));
        assert_eq!(
            check_thread_channel(2, REQUIRED_PERMISSIONS),
            Err(ThreadChannelProblem::NotText(2))
        );
        assert_eq!(
            check_thread_channel(15, REQUIRED_PERMISSIONS),
            Err(ThreadChannelProblem::NotText(15))
        );
        assert_eq!(
            check_thread_channel(0, REQUIRED_PERMISSIONS & !CREATE_PRIVATE_THREADS),
            Err(ThreadChannelProblem::Missing(vec![
                "CREATE_PRIVATE_THREADS"
            ]))
        );
        // SEND_MESSAGES is not needed for a thread channel, only inside threads.
        assert_eq!(
            check_thread_channel(0, REQUIRED_PERMISSIONS & !SEND_MESSAGES),
            Ok(())
        );
    }
}
