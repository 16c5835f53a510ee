//! The custom_id of every button, select menu and modal the bot sends: a versioned, compact text
//! that carries everything a click needs, so any replica can handle it after a restart.
//!
//! Format: `rf1:<kind>[:<field>…]`. Discord limits a custom_id to 1–100 characters; [`encode`]
//! never produces more and [`decode`] refuses anything it did not produce.
//!
//! Ids written before the catalogue (`rf1:pkg:{owner}`, `rf1:buy:{owner}:{codes}:{nonce}`,
//! `rf1:ord:…` with four fields) still decode: they mean the default product, and a Confirm
//! without a price charges the current one, as it always did.

use std::fmt;

use shared_proto::{
    DiscordUserId, Idr, OrderStatus, PackageSize, ProductId, ReportAction, ReportReason,
};

/// Prefix of every custom_id this build writes. A new incompatible format gets `rf2:`.
pub const PREFIX: &str = "rf1";
/// Discord's limit on a custom_id.
pub const MAX_LEN: usize = 100;
/// Longest top-up order id or order number accepted inside a custom_id (`ORDER-{user}-{unix_ts}`
/// is ~36, `RF-20261202-ABC234` 18): the longest id, `rf1:rpm:{owner}:{order}:invalid`, stays
/// within 100 characters.
const MAX_ORDER_ID_LEN: usize = 60;

/// What a click on one of the bot's components means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentAction {
    /// A button of the main menu (also on the persistent panel: anyone may click it).
    Menu(MenuItem),
    /// The product select menu (a shop with several products); the product id comes in the
    /// values.
    PickProduct { owner: DiscordUserId },
    /// The package select menu of `product` shown to `owner`; the chosen package comes in the
    /// values.
    PickPackage {
        owner: DiscordUserId,
        product: ProductId,
    },
    /// Confirm buying `package` of `product` at `price`, the price the buyer was shown (the
    /// service refuses the order if it changed; `None` only from ids of an older build).
    /// `nonce` is the id of the interaction that showed this confirm step and becomes the
    /// order's request id, so clicking Confirm twice (say after Discord showed "This
    /// interaction failed") can never order twice.
    ConfirmOrder {
        owner: DiscordUserId,
        product: ProductId,
        package: PackageSize,
        price: Option<Idr>,
        nonce: u64,
    },
    /// "My purchases": the select menu of `/history` listing the buyer's completed orders; the
    /// order number comes in the values.
    RevealPick { owner: DiscordUserId },
    /// "Send to my DMs" under codes shown again: asks the service again with `to_dm`.
    RevealToDm {
        owner: DiscordUserId,
        order_number: String,
    },
    /// Abandon the order step.
    CancelOrder { owner: DiscordUserId },
    /// A preset top-up amount.
    TopupPreset { owner: DiscordUserId, amount: Idr },
    /// Opens the custom-amount modal.
    TopupCustom { owner: DiscordUserId },
    /// The custom-amount modal itself (its submit carries this id).
    TopupModal { owner: DiscordUserId },
    /// Ask the payment-service for the state of a top-up.
    TopupCheck {
        owner: DiscordUserId,
        order_id: String,
    },
    /// Cancel a pending top-up.
    TopupCancel {
        owner: DiscordUserId,
        order_id: String,
    },
    /// A page of `/admin vieworders`; the role is checked again on every click.
    OrdersPage {
        owner: DiscordUserId,
        page: u32,
        status: Option<OrderStatus>,
        user: Option<DiscordUserId>,
        product: Option<ProductId>,
    },
    /// "Report a problem" under a delivery of `order_number`: asks the buyer what is wrong.
    ReportStart {
        owner: DiscordUserId,
        order_number: String,
    },
    /// One of the reasons offered after "Report a problem": opens the report modal.
    ReportReason {
        owner: DiscordUserId,
        order_number: String,
        reason: ReportReason,
    },
    /// The report modal itself (its submit carries this id).
    ReportModal {
        owner: DiscordUserId,
        order_number: String,
        reason: ReportReason,
    },
    /// An admin button under a report in its support thread; the role is checked on every click.
    ReportAdmin {
        report_id: i64,
        action: ReportAction,
    },
    /// The modal of an admin action on a report (which codes, or why it is rejected).
    ReportAdminModal {
        report_id: i64,
        action: ReportAction,
    },
}

const REASONS: [(ReportReason, &str); 3] = [
    (ReportReason::AlreadyUsed, "used"),
    (ReportReason::Invalid, "invalid"),
    (ReportReason::Other, "other"),
];

const ACTIONS: [(ReportAction, &str); 4] = [
    (ReportAction::Reveal, "reveal"),
    (ReportAction::Replace, "replace"),
    (ReportAction::Refund, "refund"),
    (ReportAction::Reject, "reject"),
];

/// The short word of `value` in a table of (value, word).
fn tag_of<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, tag)| *tag)
        .unwrap_or_default()
}

fn from_tag<T: Copy>(table: &[(T, &'static str)], tag: &str) -> Result<T, CustomIdError> {
    table
        .iter()
        .find(|(_, t)| *t == tag)
        .map(|(v, _)| *v)
        .ok_or(CustomIdError::Malformed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuItem {
    Order,
    Topup,
    Balance,
    History,
    Help,
}

impl MenuItem {
    pub const ALL: [MenuItem; 5] = [
        MenuItem::Order,
        MenuItem::Topup,
        MenuItem::Balance,
        MenuItem::History,
        MenuItem::Help,
    ];

    fn tag(self) -> &'static str {
        match self {
            MenuItem::Order => "order",
            MenuItem::Topup => "topup",
            MenuItem::Balance => "balance",
            MenuItem::History => "history",
            MenuItem::Help => "help",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        MenuItem::ALL.into_iter().find(|m| m.tag() == tag)
    }
}

/// Why a custom_id was refused. Carries no user input back (it may be anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomIdError {
    #[error("custom_id is empty or longer than 100 characters")]
    Length,
    #[error("custom_id was not made by this bot (or by an older, unsupported version)")]
    Foreign,
    #[error("custom_id is malformed")]
    Malformed,
}

impl ComponentAction {
    /// The user this component belongs to, when it belongs to one.
    pub fn owner(&self) -> Option<DiscordUserId> {
        use ComponentAction::*;
        match self {
            Menu(_) => None,
            PickProduct { owner }
            | PickPackage { owner, .. }
            | RevealPick { owner }
            | RevealToDm { owner, .. }
            | ConfirmOrder { owner, .. }
            | CancelOrder { owner }
            | TopupPreset { owner, .. }
            | TopupCustom { owner }
            | TopupModal { owner }
            | TopupCheck { owner, .. }
            | TopupCancel { owner, .. }
            | OrdersPage { owner, .. }
            | ReportStart { owner, .. }
            | ReportReason { owner, .. }
            | ReportModal { owner, .. } => Some(*owner),
            // Admin buttons in a support thread: the admin role is checked on every click.
            ReportAdmin { .. } | ReportAdminModal { .. } => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        use ComponentAction::*;
        match self {
            Menu(_) => "menu",
            PickProduct { .. } => "pick_product",
            PickPackage { .. } => "pick_package",
            RevealPick { .. } => "reveal_pick",
            RevealToDm { .. } => "reveal_to_dm",
            ConfirmOrder { .. } => "confirm_order",
            CancelOrder { .. } => "cancel_order",
            TopupPreset { .. } => "topup_preset",
            TopupCustom { .. } => "topup_custom",
            TopupModal { .. } => "topup_modal",
            TopupCheck { .. } => "topup_check",
            TopupCancel { .. } => "topup_cancel",
            OrdersPage { .. } => "orders_page",
            ReportStart { .. } => "report_start",
            ReportReason { .. } => "report_reason",
            ReportModal { .. } => "report_modal",
            ReportAdmin { .. } => "report_admin",
            ReportAdminModal { .. } => "report_admin_modal",
        }
    }

    /// The custom_id text. Errors if a field would push it past 100 characters (an unusually
    /// long top-up order id) or holds what [`decode`](Self::decode) refuses (an order number
    /// with a `:` or a space), so the caller never sends an id Discord or this bot refuses.
    pub fn encode(&self) -> Result<String, CustomIdError> {
        let text = self.to_string();
        if text.is_empty() || text.chars().count() > MAX_LEN {
            return Err(CustomIdError::Length);
        }
        if Self::decode(&text).as_ref() != Ok(self) {
            return Err(CustomIdError::Malformed);
        }
        Ok(text)
    }

    pub fn decode(text: &str) -> Result<Self, CustomIdError> {
        if text.is_empty() || text.chars().count() > MAX_LEN {
            return Err(CustomIdError::Length);
        }
        let mut parts = text.split(':');
        if parts.next() != Some(PREFIX) {
            return Err(CustomIdError::Foreign);
        }
        let kind = parts.next().ok_or(CustomIdError::Malformed)?;
        let fields: Vec<&str> = parts.collect();
        let user = |i: usize| -> Result<DiscordUserId, CustomIdError> {
            fields
                .get(i)
                .ok_or(CustomIdError::Malformed)?
                .parse::<DiscordUserId>()
                .map_err(|_| CustomIdError::Malformed)
        };
        let arity = |n: usize| -> Result<(), CustomIdError> {
            if fields.len() == n {
                Ok(())
            } else {
                Err(CustomIdError::Malformed)
            }
        };
        let order_id = |i: usize| -> Result<String, CustomIdError> {
            let id = fields.get(i).ok_or(CustomIdError::Malformed)?;
            if id.is_empty()
                || id.len() > MAX_ORDER_ID_LEN
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(CustomIdError::Malformed);
            }
            Ok((*id).to_string())
        };
        let report_id = |i: usize| -> Result<i64, CustomIdError> {
            fields
                .get(i)
                .and_then(|f| f.parse::<i64>().ok())
                .filter(|id| *id > 0)
                .ok_or(CustomIdError::Malformed)
        };
        let tag = |i: usize| fields.get(i).copied().unwrap_or_default();
        // Whole digits only (no sign, no leading `+`), so every id has one spelling.
        let positive = |i: usize| -> Result<i64, CustomIdError> {
            let f = fields.get(i).ok_or(CustomIdError::Malformed)?;
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CustomIdError::Malformed);
            }
            f.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(CustomIdError::Malformed)
        };
        let product_id = |i: usize| positive(i).map(ProductId);
        let amount = |i: usize| positive(i).map(Idr::new);
        use ComponentAction::*;
        let action = match kind {
            "m" => {
                arity(1)?;
                Menu(MenuItem::from_tag(fields[0]).ok_or(CustomIdError::Malformed)?)
            }
            "prd" => {
                arity(1)?;
                PickProduct { owner: user(0)? }
            }
            "pkg" => {
                // One field: an id of the one-product shop (the default product).
                let product = match fields.len() {
                    1 => ProductId::DEFAULT,
                    2 => product_id(1)?,
                    _ => return Err(CustomIdError::Malformed),
                };
                PickPackage {
                    owner: user(0)?,
                    product,
                }
            }
            "buy" => {
                // Three fields: an id of the one-product shop (default product, no price).
                let (product, price) = match fields.len() {
                    3 => (ProductId::DEFAULT, None),
                    5 => (product_id(3)?, Some(amount(4)?)),
                    _ => return Err(CustomIdError::Malformed),
                };
                let codes: u32 = fields[1].parse().map_err(|_| CustomIdError::Malformed)?;
                let nonce: u64 = fields[2].parse().map_err(|_| CustomIdError::Malformed)?;
                ConfirmOrder {
                    owner: user(0)?,
                    product,
                    package: PackageSize::try_from(codes).map_err(|_| CustomIdError::Malformed)?,
                    price,
                    nonce,
                }
            }
            "mine" => {
                arity(1)?;
                RevealPick { owner: user(0)? }
            }
            "mined" => {
                arity(2)?;
                RevealToDm {
                    owner: user(0)?,
                    order_number: order_id(1)?,
                }
            }
            "nobuy" => {
                arity(1)?;
                CancelOrder { owner: user(0)? }
            }
            "tp" => {
                arity(2)?;
                TopupPreset {
                    owner: user(0)?,
                    amount: amount(1)?,
                }
            }
            "tpc" => {
                arity(1)?;
                TopupCustom { owner: user(0)? }
            }
            "tpm" => {
                arity(1)?;
                TopupModal { owner: user(0)? }
            }
            "tps" => {
                arity(2)?;
                TopupCheck {
                    owner: user(0)?,
                    order_id: order_id(1)?,
                }
            }
            "tpx" => {
                arity(2)?;
                TopupCancel {
                    owner: user(0)?,
                    order_id: order_id(1)?,
                }
            }
            "ord" => {
                let product = match fields.len() {
                    4 => None,
                    5 if fields[4].is_empty() => None,
                    5 => Some(product_id(4)?),
                    _ => return Err(CustomIdError::Malformed),
                };
                let page: u32 = fields[1].parse().map_err(|_| CustomIdError::Malformed)?;
                let status = match fields[2] {
                    "" => None,
                    s => Some(OrderStatus::parse(s).ok_or(CustomIdError::Malformed)?),
                };
                let user_filter = match fields[3] {
                    "" => None,
                    _ => Some(user(3)?),
                };
                OrdersPage {
                    owner: user(0)?,
                    page,
                    status,
                    user: user_filter,
                    product,
                }
            }
            "rp" => {
                arity(2)?;
                ReportStart {
                    owner: user(0)?,
                    order_number: order_id(1)?,
                }
            }
            "rpr" | "rpm" => {
                arity(3)?;
                let (owner, order_number) = (user(0)?, order_id(1)?);
                let reason = from_tag(&REASONS, tag(2))?;
                if kind == "rpr" {
                    ReportReason {
                        owner,
                        order_number,
                        reason,
                    }
                } else {
                    ReportModal {
                        owner,
                        order_number,
                        reason,
                    }
                }
            }
            "ra" | "ram" => {
                arity(2)?;
                let (report_id, action) = (report_id(0)?, from_tag(&ACTIONS, tag(1))?);
                if kind == "ra" {
                    ReportAdmin { report_id, action }
                } else {
                    ReportAdminModal { report_id, action }
                }
            }
            _ => return Err(CustomIdError::Malformed),
        };
        Ok(action)
    }
}

impl fmt::Display for ComponentAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ComponentAction::*;
        match self {
            Menu(item) => write!(f, "{PREFIX}:m:{}", item.tag()),
            PickProduct { owner } => write!(f, "{PREFIX}:prd:{owner}"),
            PickPackage { owner, product } => write!(f, "{PREFIX}:pkg:{owner}:{product}"),
            ConfirmOrder {
                owner,
                product,
                package,
                price: Some(price),
                nonce,
            } => write!(
                f,
                "{PREFIX}:buy:{owner}:{}:{nonce}:{product}:{}",
                package.codes(),
                price.rupiah()
            ),
            // Only an id decoded from an older build has no price; written back the same way.
            ConfirmOrder {
                owner,
                package,
                price: None,
                nonce,
                ..
            } => write!(f, "{PREFIX}:buy:{owner}:{}:{nonce}", package.codes()),
            RevealPick { owner } => write!(f, "{PREFIX}:mine:{owner}"),
            RevealToDm {
                owner,
                order_number,
            } => write!(f, "{PREFIX}:mined:{owner}:{order_number}"),
            CancelOrder { owner } => write!(f, "{PREFIX}:nobuy:{owner}"),
            TopupPreset { owner, amount } => write!(f, "{PREFIX}:tp:{owner}:{}", amount.rupiah()),
            TopupCustom { owner } => write!(f, "{PREFIX}:tpc:{owner}"),
            TopupModal { owner } => write!(f, "{PREFIX}:tpm:{owner}"),
            TopupCheck { owner, order_id } => write!(f, "{PREFIX}:tps:{owner}:{order_id}"),
            TopupCancel { owner, order_id } => write!(f, "{PREFIX}:tpx:{owner}:{order_id}"),
            OrdersPage {
                owner,
                page,
                status,
                user,
                product,
            } => {
                write!(
                    f,
                    "{PREFIX}:ord:{owner}:{page}:{}:{}",
                    status.map(|s| s.as_str()).unwrap_or(""),
                    user.map(|u| u.to_string()).unwrap_or_default()
                )?;
                match product {
                    Some(p) => write!(f, ":{p}"),
                    None => Ok(()),
                }
            }
            ReportStart {
                owner,
                order_number,
            } => write!(f, "{PREFIX}:rp:{owner}:{order_number}"),
            ReportReason {
                owner,
                order_number,
                reason,
            } => write!(
                f,
                "{PREFIX}:rpr:{owner}:{order_number}:{}",
                tag_of(&REASONS, *reason)
            ),
            ReportModal {
                owner,
                order_number,
                reason,
            } => write!(
                f,
                "{PREFIX}:rpm:{owner}:{order_number}:{}",
                tag_of(&REASONS, *reason)
            ),
            ReportAdmin { report_id, action } => {
                write!(f, "{PREFIX}:ra:{report_id}:{}", tag_of(&ACTIONS, *action))
            }
            ReportAdminModal { report_id, action } => {
                write!(f, "{PREFIX}:ram:{report_id}:{}", tag_of(&ACTIONS, *action))
            }
        }
    }
}

/// Whether `clicker` may use a component: panel buttons are for everyone, the rest only for
/// the user they were made for.
pub fn may_click(action: &ComponentAction, clicker: DiscordUserId) -> bool {
    action.owner().is_none_or(|owner| owner == clicker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u64) -> DiscordUserId {
        DiscordUserId::new(n).unwrap()
    }

    fn samples() -> Vec<ComponentAction> {
        let big = uid(i64::MAX as u64);
        let mut v: Vec<ComponentAction> = MenuItem::ALL
            .into_iter()
            .map(ComponentAction::Menu)
            .collect();
        v.extend([
            ComponentAction::PickProduct { owner: big },
            ComponentAction::PickPackage {
                owner: big,
                product: ProductId(i64::MAX),
            },
            ComponentAction::RevealPick { owner: big },
            ComponentAction::RevealToDm {
                owner: big,
                order_number: "R".repeat(MAX_ORDER_ID_LEN),
            },
            ComponentAction::CancelOrder { owner: big },
            ComponentAction::TopupCustom { owner: big },
            ComponentAction::TopupModal { owner: big },
            ComponentAction::TopupPreset {
                owner: big,
                amount: Idr::new(1_000_000_000),
            },
            ComponentAction::TopupCheck {
                owner: big,
                order_id: format!("ORDER-{big}-1767225600"),
            },
            ComponentAction::TopupCancel {
                owner: big,
                order_id: "ORDER-1-2".into(),
            },
            ComponentAction::OrdersPage {
                owner: big,
                page: u32::MAX,
                status: Some(OrderStatus::Delivering),
                user: Some(big),
                product: Some(ProductId(i64::MAX)),
            },
            ComponentAction::OrdersPage {
                owner: uid(5),
                page: 0,
                status: None,
                user: None,
                product: None,
            },
        ]);
        let longest_order = "R".repeat(MAX_ORDER_ID_LEN);
        for (reason, _) in REASONS {
            v.push(ComponentAction::ReportReason {
                owner: big,
                order_number: "RF-20261202-ABC234".into(),
                reason,
            });
            v.push(ComponentAction::ReportModal {
                owner: big,
                order_number: longest_order.clone(),
                reason,
            });
        }
        v.push(ComponentAction::ReportStart {
            owner: big,
            order_number: longest_order,
        });
        for (action, _) in ACTIONS {
            v.push(ComponentAction::ReportAdmin {
                report_id: i64::MAX,
                action,
            });
            v.push(ComponentAction::ReportAdminModal {
                report_id: 1,
                action,
            });
        }
        for p in PackageSize::ALL {
            v.push(ComponentAction::ConfirmOrder {
                owner: big,
                product: ProductId(i64::MAX),
                package: p,
                price: Some(Idr::new(i64::MAX)),
                nonce: u64::MAX,
            });
        }
        v
    }

    #[test]
    fn ids_of_the_one_product_shop_still_work() {
        assert_eq!(
            ComponentAction::decode("rf1:pkg:7").unwrap(),
            ComponentAction::PickPackage {
                owner: uid(7),
                product: ProductId::DEFAULT
            }
        );
        assert_eq!(
            ComponentAction::decode("rf1:buy:7:5:99").unwrap(),
            ComponentAction::ConfirmOrder {
                owner: uid(7),
                product: ProductId::DEFAULT,
                package: PackageSize::Five,
                price: None,
                nonce: 99,
            }
        );
        assert_eq!(
            ComponentAction::decode("rf1:ord:7:2::").unwrap(),
            ComponentAction::OrdersPage {
                owner: uid(7),
                page: 2,
                status: None,
                user: None,
                product: None,
            }
        );
    }

    #[test]
    fn the_confirm_step_carries_the_product_and_the_price_seen() {
        let confirm = ComponentAction::ConfirmOrder {
            owner: uid(7),
            product: ProductId(3),
            package: PackageSize::Five,
            price: Some(Idr::new(70_000)),
            nonce: 99,
        };
        assert_eq!(confirm.encode().unwrap(), "rf1:buy:7:5:99:3:70000");
        // A price without a product of its own cannot be written in the old form.
        let odd = ComponentAction::ConfirmOrder {
            owner: uid(7),
            product: ProductId(3),
            package: PackageSize::Five,
            price: None,
            nonce: 99,
        };
        assert_eq!(odd.encode(), Err(CustomIdError::Malformed));
    }

    #[test]
    fn every_action_round_trips_within_100_chars() {
        for action in samples() {
            let text = action.encode().unwrap();
            assert!(text.len() <= MAX_LEN, "{text} is {} chars", text.len());
            assert!(text.starts_with("rf1:"));
            assert_eq!(ComponentAction::decode(&text).unwrap(), action, "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        let long = "rf1:m:".to_string() + &"x".repeat(200);
        let cases = [
            "",
            "hello",
            "rf2:m:order",
            "rf1",
            "rf1:",
            "rf1:m",
            "rf1:m:shop",
            "rf1:m:order:extra",
            "rf1:buy:123:3:1",
            "rf1:buy:123:5",
            "rf1:buy:123:5:x",
            "rf1:buy:123:5:1:2",
            "rf1:buy:abc:5:1",
            "rf1:buy:0:5:1",
            "rf1:buy:-5:5:1",
            "rf1:buy:1:5:1:0:70000",
            "rf1:buy:1:5:1:2:0",
            "rf1:buy:1:5:1:2:+7",
            "rf1:buy:1:5:1:2",
            "rf1:buy:1:5:1:-2:700",
            "rf1:pkg:1:x",
            "rf1:pkg:1:0",
            "rf1:prd",
            "rf1:mine:1:2",
            "rf1:mined:1:RF 1",
            "rf1:ord:1:0:::x",
            "rf1:tp:1:-10000",
            "rf1:tp:1:0",
            "rf1:tp:1:1e5",
            "rf1:tps:1:",
            "rf1:tps:1:ORDER 1",
            "rf1:ord:1:x::",
            "rf1:ord:1:0:bogus:",
            "rf1:unknown:1",
            "rf1:rp:1:",
            "rf1:rp:1:RF 1",
            "rf1:rp:1:RF:1",
            "rf1:rpr:1:RF-1",
            "rf1:rpr:1:RF-1:broken",
            "rf1:rpm:1:RF-1:used:x",
            "rf1:ra:0:reveal",
            "rf1:ra:-3:reveal",
            "rf1:ra:x:reveal",
            "rf1:ra:5:delete",
            "rf1:ram:5",
            long.as_str(),
        ];
        for case in cases {
            assert!(
                ComponentAction::decode(case).is_err(),
                "{case:?} was accepted"
            );
        }
        assert_eq!(
            ComponentAction::decode("rf2:m:order"),
            Err(CustomIdError::Foreign)
        );
    }

    #[test]
    fn too_long_order_ids_are_not_encoded() {
        let action = ComponentAction::TopupCheck {
            owner: uid(1),
            order_id: "O".repeat(95),
        };
        assert_eq!(action.encode(), Err(CustomIdError::Length));
        for odd in ["RF:1", "RF 1", ""] {
            let report = ComponentAction::ReportStart {
                owner: uid(1),
                order_number: odd.into(),
            };
            assert_eq!(report.encode(), Err(CustomIdError::Malformed), "{odd:?}");
        }
    }

    #[test]
    fn only_the_owner_may_click_personal_components() {
        let mine = ComponentAction::ConfirmOrder {
            owner: uid(7),
            product: ProductId::DEFAULT,
            package: PackageSize::Five,
            price: Some(Idr::new(70_000)),
            nonce: 1,
        };
        assert!(may_click(&mine, uid(7)));
        assert!(!may_click(&mine, uid(8)));
        assert!(may_click(&ComponentAction::Menu(MenuItem::Order), uid(8)));
        let report = ComponentAction::ReportStart {
            owner: uid(7),
            order_number: "RF-20261202-ABC234".into(),
        };
        assert!(may_click(&report, uid(7)));
        assert!(!may_click(&report, uid(8)));
    }

    #[test]
    fn report_ids_read_as_documented() {
        let start = ComponentAction::ReportStart {
            owner: uid(7),
            order_number: "RF-20261202-ABC234".into(),
        };
        assert_eq!(start.encode().unwrap(), "rf1:rp:7:RF-20261202-ABC234");
        let reason = ComponentAction::ReportModal {
            owner: uid(7),
            order_number: "RF-20261202-ABC234".into(),
            reason: ReportReason::AlreadyUsed,
        };
        assert_eq!(
            reason.encode().unwrap(),
            "rf1:rpm:7:RF-20261202-ABC234:used"
        );
        let admin = ComponentAction::ReportAdmin {
            report_id: 12,
            action: ReportAction::Replace,
        };
        assert_eq!(admin.encode().unwrap(), "rf1:ra:12:replace");
        assert_eq!(admin.owner(), None, "admin buttons are checked by role");
    }
}
