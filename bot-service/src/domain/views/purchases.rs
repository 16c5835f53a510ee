//! "My purchases": from `/history` a buyer picks one of their completed orders and sees its
//! codes again, only to them (an ephemeral answer) or by DM. Codes appear only in
//! [`order_codes`], which is shown ephemerally or sent as a DM, never anywhere else.

use shared_proto::{DiscordUserId, OrderCodes, OrderStatus, OrderSummary, ServiceError};

use super::{error, id, purchase_title, service_error, Purchase};
use crate::domain::custom_id::{ComponentAction, CustomIdError};
use crate::domain::delivery::{file_name, MAX_CODES_IN_EMBED};
use crate::domain::i18n::Lang;
use crate::domain::message::{
    limits, truncate, Attachment, Button, ButtonStyle, Embed, Message, Row, Select, SelectOption,
    COLOR_OK,
};
use crate::tr;

/// The select menu under `/history`: the completed orders listed (at most 25), or `None` when
/// there is none.
pub fn reveal_picker(lang: Lang, owner: DiscordUserId, orders: &[OrderSummary]) -> Option<Row> {
    let options: Vec<SelectOption> = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Completed)
        // Only order numbers a custom_id can carry back (the "Send to my DMs" button).
        .filter(|o| {
            ComponentAction::RevealToDm {
                owner,
                order_number: o.order_number.clone(),
            }
            .encode()
            .is_ok()
        })
        .take(limits::SELECT_OPTIONS)
        .map(|o| SelectOption {
            label: truncate(&o.order_number, limits::OPTION_LABEL),
            value: o.order_number.clone(),
            description: Some(truncate(
                &purchase_title(
                    lang,
                    &Purchase {
                        product: o.product_id,
                        product_name: o.product_name.as_deref(),
                        package: o.package,
                    },
                ),
                limits::OPTION_DESCRIPTION,
            )),
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    Some(Row::Select(Select {
        custom_id: id(ComponentAction::RevealPick { owner }).ok()?,
        placeholder: tr!(lang, "reveal-placeholder"),
        options,
        disabled: false,
    }))
}

/// The codes of one of the buyer's orders. With `dm_button`, a "Send to my DMs" button (the
/// ephemeral answer); without (the DM itself).
pub fn order_codes(
    lang: Lang,
    owner: DiscordUserId,
    c: &OrderCodes,
    dm_button: bool,
) -> Result<Message, CustomIdError> {
    let purchase = purchase_title(
        lang,
        &Purchase {
            product: c.product_id,
            product_name: Some(&c.product_name),
            package: c.package,
        },
    );
    let codes = if c.codes.is_empty() {
        tr!(lang, "reveal-no-codes")
    } else {
        c.codes
            .iter()
            .map(|code| format!("#{} `{}`", code.position, code.code))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = format!(
        "{}\n\n{codes}",
        tr!(
            lang,
            "reveal-summary",
            order = c.order_number.as_str(),
            purchase = purchase
        )
    );
    let e = Embed::new(
        tr!(lang, "reveal-title", order = c.order_number.as_str()),
        text,
        COLOR_OK,
    )
    .footer(tr!(lang, "reveal-footer"));
    // Codes are never cut off: when they do not fit an embed they come as a .txt file, like a
    // delivery of many codes.
    let mut m = if e.check().is_ok() && c.codes.len() <= MAX_CODES_IN_EMBED {
        Message::embed(e)
    } else {
        let mut file = c
            .codes
            .iter()
            .map(|code| code.code.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        file.push('\n');
        let mut m = Message::embed(
            Embed::new(
                tr!(lang, "reveal-title", order = c.order_number.as_str()),
                tr!(lang, "reveal-in-file", count = c.codes.len()),
                COLOR_OK,
            )
            .footer(tr!(lang, "reveal-footer"))
            .fitted(),
        );
        m.attachments.push(Attachment {
            file_name: file_name(&c.order_number),
            bytes: file.into_bytes(),
        });
        m
    };
    if dm_button {
        m = m.with_row(Row::Buttons(vec![Button::new(
            tr!(lang, "button-send-to-dms"),
            id(ComponentAction::RevealToDm {
                owner,
                order_number: c.order_number.clone(),
            })?,
            ButtonStyle::Secondary,
        )]));
    }
    Ok(m)
}

pub fn reveal_sent_to_dms(lang: Lang, order_number: &str) -> Message {
    Message::embed(Embed::new(
        tr!(lang, "reveal-sent-title"),
        tr!(lang, "reveal-sent", order = order_number),
        COLOR_OK,
    ))
}

pub fn reveal_dms_closed(lang: Lang) -> Message {
    error(lang, tr!(lang, "reveal-dms-closed"))
}

/// A refused reveal in the buyer's words: too many asks is about reveals, not about ordering.
pub fn reveal_refused(lang: Lang, e: &ServiceError) -> Message {
    match e {
        ServiceError::Cooldown { retry_after_secs } => error(
            lang,
            tr!(
                lang,
                "reveal-cooldown",
                minutes = retry_after_secs.div_ceil(60).max(1)
            ),
        ),
        other => error(lang, service_error(lang, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_proto::{PackageSize, ProductId, RevealedCode};

    fn order(n: u32) -> OrderCodes {
        OrderCodes {
            order_number: "RF-20261202-MINE01".into(),
            product_id: ProductId(2),
            product_name: "KVIP 7 days".into(),
            package: PackageSize::Fifty,
            completed_at: None,
            codes: (1..=n)
                .map(|position| RevealedCode {
                    position,
                    code: format!("CODE-{position:04}"),
                })
                .collect(),
            to_dm: false,
        }
    }

    #[test]
    fn few_codes_are_shown_inline_many_come_as_a_file_none_is_cut_off() {
        let owner = DiscordUserId::new(7).unwrap();
        let few = order_codes(Lang::Id, owner, &order(5), true).unwrap();
        assert!(few.embeds[0].description.contains("#5 `CODE-0005`"));
        assert!(few.attachments.is_empty());
        assert_eq!(few.rows.len(), 1, "Send to my DMs");
        let many = order_codes(Lang::En, owner, &order(50), false).unwrap();
        let file = String::from_utf8(many.attachments[0].bytes.clone()).unwrap();
        assert_eq!(file.lines().count(), 50);
        assert!(file.contains("CODE-0050"));
        assert!(!many.embeds[0].description.contains("CODE-"));
        assert!(many.rows.is_empty(), "no button in the DM");
        many.check().unwrap();
    }

    #[test]
    fn only_completed_orders_are_offered_again() {
        let owner = DiscordUserId::new(7).unwrap();
        let summary = |n: &str, status| OrderSummary {
            order_number: n.into(),
            user_id: owner,
            product_id: ProductId(2),
            product_name: Some("KVIP 7 days".into()),
            package: PackageSize::Five,
            total_price: shared_proto::Idr::new(42_000),
            status,
            created_at: chrono::Utc::now(),
            completed_at: None,
            refunded: shared_proto::Idr::ZERO,
        };
        let orders = vec![
            summary("RF-1", OrderStatus::Completed),
            summary("RF-2", OrderStatus::Refunded),
            summary("RF 3", OrderStatus::Completed),
        ];
        let Some(Row::Select(s)) = reveal_picker(Lang::En, owner, &orders) else {
            panic!("a select")
        };
        let values: Vec<_> = s.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, vec!["RF-1"]);
        assert!(reveal_picker(Lang::En, owner, &orders[1..2]).is_none());
    }

    #[test]
    fn refused_reveals_are_worded_for_the_buyer() {
        let window = ServiceError::Forbidden {
            message: "The codes of order RF-1 can be shown again within 30 days.".into(),
            refusal: Some(shared_proto::Refusal::RevealWindowPassed {
                order_number: "RF-1".into(),
                days: 30,
            }),
        };
        let id = reveal_refused(Lang::Id, &window).embeds[0]
            .description
            .clone();
        assert!(id.contains("RF-1") && id.contains("30 hari"), "{id}");
        let cooldown = ServiceError::Cooldown {
            retry_after_secs: 61,
        };
        let id = reveal_refused(Lang::Id, &cooldown).embeds[0]
            .description
            .clone();
        assert!(id.contains("2 menit") && !id.contains("memesan"), "{id}");
        let missing = ServiceError::NotFound {
            message: "No such order.".into(),
            refusal: Some(shared_proto::Refusal::OrderNotFound {
                order_number: "RF-9".into(),
            }),
        };
        let id = reveal_refused(Lang::Id, &missing).embeds[0]
            .description
            .clone();
        assert!(id.contains("RF-9"), "{id}");
    }
}
