//! What a delivery of codes looks like, and which way it goes: an embed for a few codes, a .txt
//! file for many, and where to fall back to when the user's DMs are closed. Never logs codes.

use chrono::{DateTime, Duration, Utc};
use shared_proto::{DeliveryMethod, DeliveryRequested};

use super::i18n::Lang;
use super::message::{limits, Attachment, Embed, Message, COLOR_OK};
use super::report::positions_list;
use super::views;
use crate::tr;

/// Most codes shown inline in an embed; above this they go in a .txt file.
pub const MAX_CODES_IN_EMBED: usize = 10;
/// Discord's default upload limit.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Interaction tokens live 15 minutes; stop using one a little before that.
pub const TOKEN_LIFETIME: Duration = Duration::minutes(15);
pub const TOKEN_SAFETY_MARGIN: Duration = Duration::seconds(30);

/// The message carrying the codes and how it will be recorded.
#[derive(Debug, Clone)]
pub struct DeliveryPlan {
    pub message: Message,
    /// `Dm` (embed) or `File` when it goes by DM; the fallback records `Channel`.
    pub dm_method: DeliveryMethod,
}

/// Builds the message for `d`: the codes inline when they are few and fit every embed limit,
/// otherwise as `redfinger-codes-{order}.txt` with a summary embed. An order's own delivery
/// carries the buyer's "Report a problem" button; a replacement after a report does not (its
/// codes are not the positions a report names: a bad replacement goes to the report's thread).
pub fn plan(lang: Lang, d: &DeliveryRequested) -> DeliveryPlan {
    let mut plan = codes_message(lang, d);
    if d.replacing.is_empty() {
        plan.message
            .rows
            .extend(views::report_button(lang, d.user_id, &d.order_number));
    }
    plan
}

fn codes_message(lang: Lang, d: &DeliveryRequested) -> DeliveryPlan {
    let order = d.order_number.as_str();
    let (title, summary, footer) = if d.replacing.is_empty() {
        (
            tr!(lang, "codes-title", order = order),
            tr!(
                lang,
                "codes-summary",
                order = order,
                package = views::purchase_title(
                    lang,
                    &views::Purchase {
                        product: d.product_id,
                        product_name: d.product_name.as_deref(),
                        package: d.package,
                    }
                ),
                price = d.total_price
            ),
            tr!(lang, "codes-footer"),
        )
    } else {
        (
            tr!(lang, "codes-replacement-title", order = order),
            tr!(
                lang,
                "codes-replacement-summary",
                order = order,
                positions = positions_list(&d.replacing)
            ),
            tr!(lang, "codes-replacement-footer"),
        )
    };
    let inline = format!(
        "{summary}\n\n{}",
        d.codes
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let embed = Embed::new(title.clone(), inline, COLOR_OK).footer(footer.clone());
    if d.codes.len() <= MAX_CODES_IN_EMBED && embed.check().is_ok() && !d.codes.is_empty() {
        let message = Message::embed(embed);
        if message.check().is_ok() {
            return DeliveryPlan {
                message,
                dm_method: DeliveryMethod::Dm,
            };
        }
    }
    let mut text = d.codes.join("\n");
    text.push('\n');
    let embed = Embed::new(
        title,
        format!(
            "{summary}\n\n{}",
            tr!(lang, "codes-in-file", count = d.codes.len())
        ),
        COLOR_OK,
    )
    .footer(footer)
    .fitted();
    DeliveryPlan {
        message: Message {
            embeds: vec![embed],
            attachments: vec![Attachment {
                file_name: file_name(&d.order_number),
                bytes: text.into_bytes(),
            }],
            ..Default::default()
        },
        dm_method: DeliveryMethod::File,
    }
}

/// A file name made only of safe characters, whatever the order number holds.
pub fn file_name(order_number: &str) -> String {
    let safe: String = order_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    format!("redfinger-codes-{safe}.txt")
}

/// Where the codes go after the DM was refused (50007, or 50278 for no mutual guild).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// An ephemeral follow-up to the user's own interaction (only they can see it).
    EphemeralFollowup,
    /// A private thread (type 12) in this channel with only the user added.
    PrivateThread { channel_id: u64 },
    /// Nowhere safe to put the codes: fail without retrying, an admin decides.
    None,
}

/// Chooses the fallback: the interaction token while it lives, else a private thread in the
/// public channel (or the channel the user clicked in), never a public message.
pub fn choose_fallback(
    d: &DeliveryRequested,
    public_channel: Option<u64>,
    now: DateTime<Utc>,
) -> Fallback {
    if let Some(i) = &d.interaction {
        if now < i.created_at + TOKEN_LIFETIME - TOKEN_SAFETY_MARGIN && !i.token.is_empty() {
            return Fallback::EphemeralFollowup;
        }
    }
    let clicked_in = d
        .interaction
        .as_ref()
        .and_then(|i| i.channel_id.as_deref())
        .and_then(|c| c.parse::<u64>().ok());
    match public_channel.or(clicked_in) {
        Some(channel_id) if channel_id > 0 => Fallback::PrivateThread { channel_id },
        _ => Fallback::None,
    }
}

/// Where else a private thread can go when `tried` refused it for good (not a text channel, a
/// permission missing): the channel the user clicked in, when that is another one.
pub fn other_thread_channel(d: &DeliveryRequested, tried: u64) -> Option<u64> {
    d.interaction
        .as_ref()
        .and_then(|i| i.channel_id.as_deref())
        .and_then(|c| c.parse::<u64>().ok())
        .filter(|c| *c > 0 && *c != tried)
}

/// Name of the private delivery thread (Discord allows 100 characters).
pub fn thread_name(lang: Lang, order_number: &str) -> String {
    super::message::truncate(&tr!(lang, "codes-thread-name", order = order_number), 100)
}

/// A message content for the thread: mentions the user so Discord shows it to them.
pub fn thread_greeting(lang: Lang, user_id: u64) -> String {
    let text = tr!(
        lang,
        "codes-thread-greeting",
        user = format!("<@{user_id}>")
    );
    super::message::truncate(&text, limits::CONTENT)
}

/// Whether an interaction token created at `created_at` can still be used.
pub fn token_alive(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < created_at + TOKEN_LIFETIME - TOKEN_SAFETY_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::{DiscordUserId, Idr, InteractionRef, PackageSize};

    fn request(n: usize) -> DeliveryRequested {
        DeliveryRequested {
            order_number: "ORD-20260101-0001".into(),
            user_id: DiscordUserId::new(42).unwrap(),
            product_id: shared_proto::ProductId::DEFAULT,
            product_name: None,
            package: PackageSize::try_from(n as u32).unwrap_or(PackageSize::Fifty),
            total_price: Idr::new(70_000),
            codes: (0..n).map(|i| format!("RF-CODE-{i:04}")).collect(),
            attempt: 1,
            interaction: None,
            locale: None,
            replacing: Vec::new(),
        }
    }

    #[test]
    fn up_to_ten_codes_go_in_an_embed() {
        for n in [1, 5, 10] {
            let p = plan(Lang::En, &request(n));
            assert_eq!(p.dm_method, DeliveryMethod::Dm);
            assert!(p.message.attachments.is_empty());
            p.message.check().unwrap();
            for i in 0..n {
                assert!(p.message.embeds[0]
                    .description
                    .contains(&format!("RF-CODE-{i:04}")));
            }
        }
    }

    #[test]
    fn more_than_ten_codes_go_in_a_txt_file_not_in_the_embed() {
        for n in [11, 25, 50] {
            let d = request(n);
            let p = plan(Lang::En, &d);
            assert_eq!(p.dm_method, DeliveryMethod::File);
            p.message.check().unwrap();
            let file = &p.message.attachments[0];
            assert_eq!(file.file_name, "redfinger-codes-ORD-20260101-0001.txt");
            let text = String::from_utf8(file.bytes.clone()).unwrap();
            assert_eq!(text.lines().count(), n);
            assert!(text.lines().zip(&d.codes).all(|(l, c)| l == c));
            assert!(!p.message.embeds[0].description.contains("RF-CODE-"));
            assert!(file.bytes.len() < MAX_FILE_BYTES);
        }
    }

    #[test]
    fn huge_codes_that_break_embed_limits_fall_back_to_a_file() {
        let mut d = request(5);
        d.codes = (0..5).map(|i| format!("{i}{}", "x".repeat(1000))).collect();
        assert_eq!(plan(Lang::En, &d).dm_method, DeliveryMethod::File);
    }

    #[test]
    fn fallback_uses_the_token_while_it_lives_then_a_private_thread() {
        let now = Utc::now();
        let mut d = request(1);
        d.interaction = Some(InteractionRef {
            application_id: "1".into(),
            token: "tok".into(),
            channel_id: Some("555".into()),
            created_at: now - Duration::minutes(5),
        });
        assert_eq!(
            choose_fallback(&d, Some(777), now),
            Fallback::EphemeralFollowup
        );
        if let Some(i) = d.interaction.as_mut() {
            i.created_at = now - Duration::minutes(16);
        }
        assert_eq!(
            choose_fallback(&d, Some(777), now),
            Fallback::PrivateThread { channel_id: 777 }
        );
        assert_eq!(
            choose_fallback(&d, None, now),
            Fallback::PrivateThread { channel_id: 555 }
        );
        d.interaction = None;
        assert_eq!(choose_fallback(&d, None, now), Fallback::None);
    }

    #[test]
    fn a_refused_thread_channel_falls_back_to_the_clicked_channel_only_if_different() {
        let mut d = request(1);
        assert_eq!(other_thread_channel(&d, 777), None);
        d.interaction = Some(InteractionRef {
            application_id: "1".into(),
            token: "tok".into(),
            channel_id: Some("555".into()),
            created_at: Utc::now(),
        });
        assert_eq!(other_thread_channel(&d, 777), Some(555));
        assert_eq!(other_thread_channel(&d, 555), None);
    }

    #[test]
    fn every_delivery_carries_the_buyers_report_button() {
        for n in [1, 25] {
            let d = request(n);
            let p = plan(Lang::Id, &d);
            p.message.check().unwrap();
            let [crate::domain::message::Row::Buttons(buttons)] = p.message.rows.as_slice() else {
                panic!("one row of buttons: {:?}", p.message.rows)
            };
            assert_eq!(buttons[0].label, "Laporkan masalah");
            assert_eq!(
                crate::domain::custom_id::ComponentAction::decode(&buttons[0].custom_id),
                Ok(crate::domain::custom_id::ComponentAction::ReportStart {
                    owner: d.user_id,
                    order_number: d.order_number.clone(),
                })
            );
        }
        // A replacement after a report: said so, and no button (its codes are not the
        // positions a report names).
        let mut d = request(2);
        d.replacing = vec![2, 4];
        let p = plan(Lang::En, &d);
        assert!(p.message.rows.is_empty());
        let embed = &p.message.embeds[0];
        assert!(
            embed.title.starts_with("Replacement codes"),
            "{}",
            embed.title
        );
        assert!(
            embed.description.contains("#2, #4"),
            "{}",
            embed.description
        );
        assert!(embed.description.contains("RF-CODE-0001"));
        // An order number no custom_id can carry: the codes still go, without the button.
        let mut d = request(1);
        d.order_number = "ORD 1".into();
        assert!(plan(Lang::En, &d).message.rows.is_empty());
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(file_name("../etc/passwd"), "redfinger-codes-etcpasswd.txt");
    }
}
