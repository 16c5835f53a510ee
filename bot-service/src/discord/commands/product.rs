//! `/admin product add|edit|disable|list|price`: the catalogue. Like every `/admin` command:
//! the guild and the admin role are checked first, bad input is refused before anything is
//! sent, and each request carries a claim bound to its exact action. Also the product option's
//! autocomplete (admins only), used by `/admin addstock` and `/admin vieworders` too.

use chrono::Utc;
use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};
use shared_proto::{AdminProduct, PackageSize, ProductAction, ProductId};

use super::super::admin_check::admin_grant;
use super::super::interaction::{show, Origin};
use super::admin::authorize;
use super::{origin, Context, Error};
use crate::domain::admin::{sign_claim, AdminGrant};
use crate::domain::catalog::{self, parse_price_list, price_setting};
use crate::domain::views;
use crate::state::AppState;
use crate::tr;

/// Longest product name and description the payment-service accepts.
const MAX_NAME: u32 = 80;
const MAX_DESCRIPTION: u32 = 300;

/// The catalogue: products, their prices and whether they are on sale.
#[poise::command(
    slash_command,
    subcommands(
        "product_add",
        "product_edit",
        "product_disable",
        "product_list",
        "product_price"
    )
)]
pub async fn product(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Sends `action` with a claim bound to it and shows the catalogue the service answers.
async fn send(state: &AppState, o: &Origin, grant: &AdminGrant, action: ProductAction) {
    let request = sign_claim(
        &state.settings.admin_claim_secret,
        AdminProduct {
            request_id: o.interaction_id.to_string(),
            claim: grant.claim(Utc::now()),
            action,
        },
    );
    let view = match state.payments.admin_product(request).await {
        Ok(v) => views::products_view(o.lang, &v),
        Err(e) => views::error(o.lang, e.user_message(o.lang)),
    };
    show(&state.http, o, &view).await;
}

/// A trimmed product name the payment-service accepts by length (it checks the rest).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= MAX_NAME as usize
}

/// Tells the admin why nothing was sent.
async fn refuse(state: &AppState, o: &Origin, text: String) -> Result<(), Error> {
    show(&state.http, o, &views::error(o.lang, text)).await;
    Ok(())
}

/// A product option as given (autocomplete fills in the id); a non-positive id is refused.
pub(super) fn product_id(value: i64) -> Option<ProductId> {
    catalog::product_option(Some(value)).and_then(Result::ok)
}

/// Offers the catalogue's products while an admin types a product option. Only to admins in
/// the shop guild (anyone else gets no choices and nothing is asked of the payment-service).
pub async fn autocomplete_product(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let choices = product_choices(ctx, partial)
        .await
        .into_iter()
        .map(|(name, id)| AutocompleteChoice::new(name, id))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn product_choices(ctx: Context<'_>, partial: &str) -> Vec<(String, i64)> {
    let Ok(o) = origin(ctx) else {
        return Vec::new();
    };
    let state = ctx.data();
    let Ok(grant) = admin_grant(state, &o) else {
        return Vec::new();
    };
    let request = sign_claim(
        &state.settings.admin_claim_secret,
        AdminProduct {
            request_id: o.interaction_id.to_string(),
            claim: grant.claim(Utc::now()),
            action: ProductAction::List,
        },
    );
    match state.payments.admin_product(request).await {
        Ok(v) => catalog::product_choices(o.lang, &v.products, partial),
        Err(error) => {
            tracing::info!(%error, "no product choices: the catalogue did not answer");
            Vec::new()
        }
    }
}

/// Add a product: a name, prices like `1=15000,5=70000`, and optionally more.
#[poise::command(slash_command, rename = "add")]
pub async fn product_add(
    ctx: Context<'_>,
    #[max_length = 80] name: String,
    #[max_length = 300] prices: String,
    #[max_length = 300] description: Option<String>,
    display_order: Option<i32>,
    #[min = 0] low_stock_threshold: Option<u32>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let prices = match parse_price_list(&prices) {
        Ok(p) => p,
        Err(e) => return refuse(state, &o, e.message(o.lang)).await,
    };
    let name = name.trim().to_string();
    if !valid_name(&name) {
        return refuse(state, &o, tr!(o.lang, "refusal-product-name-invalid")).await;
    }
    let action = ProductAction::Add {
        name,
        description: description
            .map(|d| d.trim().to_string())
            .unwrap_or_default(),
        prices,
        display_order,
        low_stock_threshold: low_stock_threshold.map(u64::from),
    };
    send(state, &o, &grant, action).await;
    Ok(())
}

/// Change a product's name, description, order, low-stock threshold, or put it back on sale.
#[poise::command(slash_command, rename = "edit")]
pub async fn product_edit(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_product"] product: i64,
    #[max_length = 80] name: Option<String>,
    #[max_length = 300] description: Option<String>,
    display_order: Option<i32>,
    #[min = 0] low_stock_threshold: Option<u32>,
    active: Option<bool>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let Some(product_id) = product_id(product) else {
        return refuse(state, &o, tr!(o.lang, "product-option-invalid")).await;
    };
    let name = name.map(|n| n.trim().to_string());
    if name.as_deref().is_some_and(|n| !valid_name(n)) {
        return refuse(state, &o, tr!(o.lang, "refusal-product-name-invalid")).await;
    }
    let description = description.map(|d| d.trim().to_string());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION as usize)
    {
        return refuse(state, &o, tr!(o.lang, "refusal-product-name-invalid")).await;
    }
    if name.is_none()
        && description.is_none()
        && display_order.is_none()
        && low_stock_threshold.is_none()
        && active.is_none()
    {
        return refuse(state, &o, tr!(o.lang, "product-edit-nothing")).await;
    }
    let action = ProductAction::Edit {
        product_id,
        name,
        description,
        display_order,
        low_stock_threshold: low_stock_threshold.map(u64::from),
        active,
    };
    send(state, &o, &grant, action).await;
    Ok(())
}

/// Take a product off sale (its stock and orders stay).
#[poise::command(slash_command, rename = "disable")]
pub async fn product_disable(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_product"] product: i64,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let Some(product_id) = product_id(product) else {
        return refuse(state, &o, tr!(o.lang, "product-option-invalid")).await;
    };
    send(state, &o, &grant, ProductAction::Disable { product_id }).await;
    Ok(())
}

/// Every product, on sale or not, with prices and stock.
#[poise::command(slash_command, rename = "list")]
pub async fn product_list(ctx: Context<'_>) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    send(ctx.data(), &o, &grant, ProductAction::List).await;
    Ok(())
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum PackageChoice {
    #[name = "1"]
    One,
    #[name = "5"]
    Five,
    #[name = "10"]
    Ten,
    #[name = "25"]
    TwentyFive,
    #[name = "50"]
    Fifty,
}

impl From<PackageChoice> for PackageSize {
    fn from(p: PackageChoice) -> Self {
        match p {
            PackageChoice::One => PackageSize::One,
            PackageChoice::Five => PackageSize::Five,
            PackageChoice::Ten => PackageSize::Ten,
            PackageChoice::TwentyFive => PackageSize::TwentyFive,
            PackageChoice::Fifty => PackageSize::Fifty,
        }
    }
}

/// Set one package's price, or take it off sale (price empty or 0).
#[poise::command(slash_command, rename = "price")]
pub async fn product_price(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_product"] product: i64,
    package: PackageChoice,
    #[min = 0] price: Option<i64>,
) -> Result<(), Error> {
    let Some((o, grant)) = authorize(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let Some(product_id) = product_id(product) else {
        return refuse(state, &o, tr!(o.lang, "product-option-invalid")).await;
    };
    let price = match price_setting(price) {
        Ok(p) => p,
        Err(e) => return refuse(state, &o, e.message(o.lang)).await,
    };
    let action = ProductAction::SetPrice {
        product_id,
        package: package.into(),
        price,
    };
    send(state, &o, &grant, action).await;
    Ok(())
}
