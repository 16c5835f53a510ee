//! Screens of the catalogue: the product step of a shop with several products, a changed price,
//! the admins' product list, per-product stock figures, the live stock panel and the buy log.

use shared_proto::{
    CatalogReply, DiscordUserId, Idr, PackageSize, ProductId, ProductInfo, ProductOffer,
    ProductStock, ProductsView,
};

use super::{id, notice, pkg, purchase_title, Purchase};
use crate::domain::custom_id::{ComponentAction, CustomIdError, MenuItem};
use crate::domain::i18n::Lang;
use crate::domain::message::{
    limits, truncate, Button, ButtonStyle, Embed, Message, Row, Select, SelectOption, COLOR_BRAND,
    COLOR_OK, COLOR_WARN,
};
use crate::tr;

/// Ends the stock panel's footer: how a restarted bot recognises its own panel among the
/// channel's messages (with the author being the bot). Not a word for people: kept out of the
/// catalogue so a change of `DEFAULT_LOCALE` still finds the old panel.
pub const STOCK_PANEL_MARKER: &str = "rf-stock-panel";

/// The products on sale, in display order. An older payment-service lists none: its packages
/// are the default product's, shown without a name.
pub fn offers(catalog: &CatalogReply) -> Vec<ProductOffer> {
    if !catalog.products.is_empty() {
        return catalog.products.clone();
    }
    if catalog.packages.is_empty() {
        return Vec::new();
    }
    vec![ProductOffer {
        product_id: ProductId::DEFAULT,
        name: String::new(),
        description: String::new(),
        available_codes: catalog.available_codes,
        packages: catalog.packages.clone(),
    }]
}

/// A product's name for people; the default product of an older service has none.
fn product_name(lang: Lang, name: &str) -> String {
    if name.trim().is_empty() {
        tr!(lang, "product-unnamed")
    } else {
        name.to_string()
    }
}

/// The first step of a shop with several products: one option per product with how many
/// codes are available and its lowest price.
pub fn product_picker(
    lang: Lang,
    owner: DiscordUserId,
    offers: &[ProductOffer],
) -> Result<Message, CustomIdError> {
    let options: Vec<SelectOption> = offers
        .iter()
        .take(limits::SELECT_OPTIONS)
        .map(|o| SelectOption {
            label: truncate(&product_name(lang, &o.name), limits::OPTION_LABEL),
            value: o.product_id.to_string(),
            description: Some(truncate(
                &match o.from_price() {
                    Some(price) => tr!(
                        lang,
                        "product-option",
                        available = o.available_codes,
                        price = price
                    ),
                    None => tr!(
                        lang,
                        "product-option-no-price",
                        available = o.available_codes
                    ),
                },
                limits::OPTION_DESCRIPTION,
            )),
        })
        .collect();
    if options.is_empty() {
        return Ok(notice(
            tr!(lang, "nothing-on-sale-title"),
            tr!(lang, "nothing-on-sale"),
        ));
    }
    Ok(Message::embed(Embed::new(
        tr!(lang, "picker-title"),
        tr!(lang, "product-picker-description"),
        COLOR_BRAND,
    ))
    .with_row(Row::Select(Select {
        custom_id: id(ComponentAction::PickProduct { owner })?,
        placeholder: tr!(lang, "product-picker-placeholder"),
        options,
        disabled: false,
    })))
}

/// The price changed between the confirm step and the click: nothing was charged; the new price
/// and a Confirm at that price (a new nonce: a new order request).
pub fn price_changed(
    lang: Lang,
    owner: DiscordUserId,
    purchase: Purchase<'_>,
    confirmed: Idr,
    price: Idr,
    nonce: u64,
) -> Result<Message, CustomIdError> {
    Ok(Message::embed(
        Embed::new(
            tr!(lang, "price-changed-title"),
            tr!(
                lang,
                "price-changed",
                purchase = purchase_title(lang, &purchase),
                confirmed = confirmed,
                price = price
            ),
            COLOR_WARN,
        )
        .field(tr!(lang, "field-new-price"), price.to_string(), true)
        .fitted(),
    )
    .with_row(super::confirm_buttons(
        lang,
        owner,
        purchase.product,
        purchase.package,
        Some(price),
        nonce,
        false,
    )?))
}

/// Per-product lines of `/admin viewstock` (and, with the last 30 days, `/admin botstats`).
pub fn product_stock_lines(lang: Lang, products: &[ProductStock], with_sales: bool) -> String {
    products
        .iter()
        .map(|p| {
            let name = product_name(lang, &p.name);
            let mut line = if p.active {
                tr!(
                    lang,
                    "product-stock-line",
                    product = name,
                    id = p.product_id.get(),
                    available = p.counts.available,
                    reserved = p.counts.reserved,
                    sold = p.counts.sold,
                    threshold = p.low_stock_threshold
                )
            } else {
                tr!(
                    lang,
                    "product-stock-line-disabled",
                    product = name,
                    id = p.product_id.get(),
                    available = p.counts.available,
                    reserved = p.counts.reserved,
                    sold = p.counts.sold,
                    threshold = p.low_stock_threshold
                )
            };
            if with_sales {
                line.push_str(&tr!(
                    lang,
                    "product-sales-30-days",
                    orders = p.last_30_days.orders,
                    codes = p.last_30_days.codes_sold,
                    revenue = p.last_30_days.revenue
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn price_list(lang: Lang, prices: &[shared_proto::PackagePrice]) -> String {
    if prices.is_empty() {
        return tr!(lang, "product-no-prices");
    }
    prices
        .iter()
        .map(|p| {
            tr!(
                lang,
                "package-option",
                package = pkg(lang, p.package),
                price = p.price
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `/admin product …`: the product changed (if any) and the whole catalogue, a field each.
pub fn products_view(lang: Lang, v: &ProductsView) -> Message {
    let changed = v
        .changed
        .and_then(|id| v.products.iter().find(|p| p.product_id == id));
    let description = match changed {
        Some(p) => tr!(
            lang,
            "products-changed",
            product = product_name(lang, &p.name),
            id = p.product_id.get()
        ),
        None if v.products.is_empty() => tr!(lang, "products-none"),
        None => String::new(),
    };
    let mut e = Embed::new(tr!(lang, "products-title"), description, COLOR_BRAND);
    for p in v.products.iter().take(limits::FIELDS) {
        e = e.field(product_heading(lang, p), product_details(lang, p), false);
    }
    Message::embed(e.fitted())
}

fn product_heading(lang: Lang, p: &ProductInfo) -> String {
    let name = product_name(lang, &p.name);
    if p.active {
        tr!(
            lang,
            "product-heading",
            product = name,
            id = p.product_id.get()
        )
    } else {
        tr!(
            lang,
            "product-heading-disabled",
            product = name,
            id = p.product_id.get()
        )
    }
}

fn product_details(lang: Lang, p: &ProductInfo) -> String {
    let threshold = match p.low_stock_threshold {
        Some(t) => t.to_string(),
        None => tr!(lang, "product-threshold-default"),
    };
    let mut text = tr!(
        lang,
        "product-details",
        prices = price_list(lang, &p.prices),
        available = p.counts.available,
        sold = p.counts.sold,
        order = p.display_order,
        threshold = threshold
    );
    if !p.description.trim().is_empty() {
        text = format!("{}\n{text}", p.description.trim());
    }
    truncate(&text, limits::FIELD_VALUE)
}

/// The live stock panel: every product on sale with its available codes and package prices,
/// and an Order button for anyone. Deterministic (no clock in it): the bot edits the message
/// only when this changes.
pub fn stock_panel(lang: Lang, offers: &[ProductOffer]) -> Message {
    let description = if offers.is_empty() {
        tr!(lang, "nothing-on-sale")
    } else {
        tr!(lang, "stock-panel-description")
    };
    let mut e = Embed::new(tr!(lang, "stock-panel-title"), description, COLOR_BRAND);
    for o in offers.iter().take(limits::FIELDS) {
        let prices = o
            .packages
            .iter()
            .map(|p| {
                let line = tr!(
                    lang,
                    "package-option",
                    package = pkg(lang, p.package),
                    price = p.price
                );
                if p.in_stock {
                    line
                } else {
                    tr!(lang, "stock-panel-sold-out", line = line)
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        e = e.field(
            tr!(
                lang,
                "stock-panel-product",
                product = product_name(lang, &o.name),
                available = o.available_codes
            ),
            if prices.is_empty() {
                tr!(lang, "product-no-prices")
            } else {
                prices
            },
            false,
        );
    }
    let footer = format!("{} · {STOCK_PANEL_MARKER}", tr!(lang, "stock-panel-footer"));
    let order = Button::new(
        tr!(lang, "menu-order"),
        ComponentAction::Menu(MenuItem::Order).to_string(),
        ButtonStyle::Primary,
    );
    Message::embed(e.footer(footer).fitted()).with_row(Row::Buttons(vec![order]))
}

/// Whether an embed footer is the stock panel's.
pub fn is_stock_panel_footer(footer: &str) -> bool {
    footer.trim_end().ends_with(STOCK_PANEL_MARKER)
}

/// The buy log line: what was bought, never by whom nor which codes. In an embed: a product
/// name is an admin's free text, and a mention in an embed notifies nobody.
pub fn buy_log(lang: Lang, product_name: Option<&str>, package: PackageSize) -> Message {
    let text = match product_name.filter(|n| !n.trim().is_empty()) {
        Some(product) => tr!(lang, "buy-log", count = package.codes(), product = product),
        None => tr!(lang, "buy-log-unnamed", package = pkg(lang, package)),
    };
    Message::embed(Embed::new(
        "",
        truncate(&text, limits::DESCRIPTION),
        COLOR_OK,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buy_log_says_what_was_bought_in_an_embed_that_pings_nobody() {
        let m = buy_log(Lang::En, Some("@everyone VIP"), PackageSize::Five);
        assert!(m.content.is_none(), "a mention in content would ping");
        assert_eq!(m.embeds[0].description, "A buyer bought 5 × @everyone VIP");
        let m = buy_log(Lang::Id, None, PackageSize::One);
        assert_eq!(m.embeds[0].description, "Seorang pembeli membeli 1 kode");
    }

    #[test]
    fn the_panel_is_recognised_by_its_footer_in_either_language() {
        for lang in Lang::ALL {
            let panel = stock_panel(lang, &[]);
            let footer = panel.embeds[0].footer.clone().unwrap();
            assert!(is_stock_panel_footer(&footer), "{footer}");
        }
        assert!(!is_stock_panel_footer("Updated automatically"));
    }
}
