//! `admin.product`: admins manage the catalogue. Every change is one transaction with its audit
//! row; prices are read by each order in its own transaction, so a change holds for the next
//! order on every replica, without a restart.

use anyhow::Context;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use shared_proto::{
    AdminProduct, AdminReply, Idr, PackageSize, ProductAction, ProductId, ProductsView, Refusal,
    ServiceError,
};

use super::{audit, audited_request, AdminService, Outcome};
use crate::catalogue::{self, clean_description, clean_name};
use crate::persistence::stmt;

/// The highest price a package may have (a typo guard: Rp 100.000.000).
pub const MAX_PRICE: i64 = 100_000_000;

fn invalid(message: String) -> ServiceError {
    ServiceError::InvalidInput {
        message,
        refusal: None,
    }
}

fn check_price(package: PackageSize, price: Idr) -> Result<(), ServiceError> {
    if price.rupiah() <= 0 || price.rupiah() > MAX_PRICE {
        return Err(invalid(format!(
            "The price of {} codes must be between Rp 1 and {}.",
            package.codes(),
            Idr::new(MAX_PRICE)
        )));
    }
    Ok(())
}

fn not_found(product_id: ProductId) -> ServiceError {
    ServiceError::NotFound {
        message: format!("There is no product {product_id}."),
        refusal: Some(Refusal::ProductNotFound { product_id }),
    }
}

fn name_taken(name: &str) -> ServiceError {
    ServiceError::InvalidInput {
        message: format!("A product named {name:?} exists already."),
        refusal: Some(Refusal::ProductNameTaken {
            name: name.to_owned(),
        }),
    }
}

impl AdminService {
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, admin = %cmd.claim.admin_user_id))]
    pub async fn product(&self, cmd: &AdminProduct) -> Outcome<ProductsView> {
        let reply = |outcome| AdminReply {
            request_id: cmd.request_id.clone(),
            outcome,
        };
        if let Err(e) = self.check(cmd) {
            return Ok(reply(Err(e)));
        }
        let txn = self.orders.db().begin().await?;
        let changed = match self.product_change(&txn, cmd).await? {
            Ok(changed) => changed,
            Err(refused) => return Ok(reply(Err(refused))),
        };
        let products = catalogue::infos(&txn).await?;
        txn.commit()
            .await
            .context("committing a catalogue change")?;
        Ok(reply(Ok(ProductsView { changed, products })))
    }

    async fn product_change(
        &self,
        txn: &DatabaseTransaction,
        cmd: &AdminProduct,
    ) -> anyhow::Result<Result<Option<ProductId>, ServiceError>> {
        let now = Utc::now();
        match &cmd.action {
            ProductAction::List => Ok(Ok(None)),
            ProductAction::Add {
                name,
                description,
                prices,
                display_order,
                low_stock_threshold,
            } => {
                let name = match clean_name(name) {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                let description = match clean_description(description) {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(e)),
                };
                if prices.is_empty() {
                    return Ok(Err(invalid(
                        "A new product needs the price of at least one package.".into(),
                    )));
                }
                let mut seen = Vec::new();
                for p in prices {
                    if let Err(e) = check_price(p.package, p.price) {
                        return Ok(Err(e));
                    }
                    if seen.contains(&p.package) {
                        return Ok(Err(invalid(format!(
                            "The package of {} codes is priced twice.",
                            p.package.codes()
                        ))));
                    }
                    seen.push(p.package);
                }
                if let Some(id) = product_named(txn, &name, None).await? {
                    // The same request again (a redelivery) finds its own product.
                    if added_by_request(txn, &cmd.request_id).await? == Some(id) {
                        return Ok(Ok(Some(id)));
                    }
                    return Ok(Err(name_taken(&name)));
                }
                let order = match display_order {
                    Some(o) => *o,
                    None => next_display_order(txn).await?,
                };
                let row = txn
                    .query_one(stmt(
                        txn,
                        "INSERT INTO products (name, description, display_order, low_stock_threshold, \
                         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                        [
                            name.clone().into(),
                            description.into(),
                            order.into(),
                            low_stock_threshold
                                .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
                                .into(),
                            now.into(),
                        ],
                    ))
                    .await
                    .context("adding a product")?
                    .context("INSERT … RETURNING gave no row")?;
                let id = ProductId(row.try_get("", "id")?);
                for p in prices {
                    set_price(txn, id, p.package, Some(p.price)).await?;
                }
                audit(
                    txn,
                    &cmd.claim,
                    "product.add",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "product_id": id,
                        "name": name,
                        "prices": prices,
                    }),
                )
                .await?;
                tracing::info!(product_id = %id, "product added");
                Ok(Ok(Some(id)))
            }
            ProductAction::Edit {
                product_id,
                name,
                description,
                display_order,
                low_stock_threshold,
                active,
            } => {
                let Some(before) = catalogue::product(txn, *product_id).await? else {
                    return Ok(Err(not_found(*product_id)));
                };
                let name = match name.as_deref().map(clean_name).transpose() {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                let description = match description.as_deref().map(clean_description).transpose() {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(e)),
                };
                if let Some(name) = &name {
                    if product_named(txn, name, Some(*product_id)).await?.is_some() {
                        return Ok(Err(name_taken(name)));
                    }
                }
                txn.execute(stmt(
                    txn,
                    "UPDATE products SET name = COALESCE($1, name), \
                     description = COALESCE($2, description), \
                     display_order = COALESCE($3, display_order), \
                     low_stock_threshold = COALESCE($4, low_stock_threshold), \
                     active = COALESCE($5, active), updated_at = $6 WHERE id = $7",
                    [
                        name.clone().into(),
                        description.clone().into(),
                        (*display_order).into(),
                        low_stock_threshold
                            .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
                            .into(),
                        (*active).into(),
                        now.into(),
                        product_id.get().into(),
                    ],
                ))
                .await
                .context("editing a product")?;
                audit(
                    txn,
                    &cmd.claim,
                    "product.edit",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "product_id": product_id,
                        "before": {
                            "name": before.name,
                            "description": before.description,
                            "display_order": before.display_order,
                            "low_stock_threshold": before.low_stock_threshold,
                            "active": before.active,
                        },
                        "name": name,
                        "description": description,
                        "display_order": display_order,
                        "low_stock_threshold": low_stock_threshold,
                        "active": active,
                    }),
                )
                .await?;
                Ok(Ok(Some(*product_id)))
            }
            ProductAction::Disable { product_id } => {
                let Some(before) = catalogue::product(txn, *product_id).await? else {
                    return Ok(Err(not_found(*product_id)));
                };
                txn.execute(stmt(
                    txn,
                    "UPDATE products SET active = $1, updated_at = $2 WHERE id = $3",
                    [false.into(), now.into(), product_id.get().into()],
                ))
                .await
                .context("disabling a product")?;
                audit(
                    txn,
                    &cmd.claim,
                    "product.disable",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "product_id": product_id,
                        "name": before.name,
                        "was_active": before.active,
                    }),
                )
                .await?;
                tracing::info!(product_id = %product_id, "product disabled");
                Ok(Ok(Some(*product_id)))
            }
            ProductAction::SetPrice {
                product_id,
                package,
                price,
            } => {
                if catalogue::product(txn, *product_id).await?.is_none() {
                    return Ok(Err(not_found(*product_id)));
                }
                if let Some(price) = price {
                    if let Err(e) = check_price(*package, *price) {
                        return Ok(Err(e));
                    }
                }
                let before = current_price(txn, *product_id, *package).await?;
                set_price(txn, *product_id, *package, *price).await?;
                audit(
                    txn,
                    &cmd.claim,
                    "product.price",
                    serde_json::json!({
                        "request_id": cmd.request_id,
                        "product_id": product_id,
                        "package": package,
                        "before": before,
                        "price": price,
                    }),
                )
                .await?;
                tracing::info!(product_id = %product_id, codes = package.codes(), "price changed");
                Ok(Ok(Some(*product_id)))
            }
        }
    }
}

async fn product_named(
    txn: &DatabaseTransaction,
    name: &str,
    except: Option<ProductId>,
) -> anyhow::Result<Option<ProductId>> {
    let row = txn
        .query_one(stmt(
            txn,
            "SELECT id FROM products WHERE LOWER(name) = LOWER($1) AND ($2 IS NULL OR id <> $2)",
            [name.into(), except.map(ProductId::get).into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "id"))
        .transpose()?
        .map(ProductId))
}

/// The product an earlier `product.add` of this request made, from its audit row.
async fn added_by_request(
    txn: &DatabaseTransaction,
    request_id: &str,
) -> anyhow::Result<Option<ProductId>> {
    Ok(audited_request(txn, "product.add", request_id)
        .await?
        .and_then(|detail| detail.get("product_id").and_then(serde_json::Value::as_i64))
        .map(ProductId))
}

async fn next_display_order(txn: &DatabaseTransaction) -> anyhow::Result<i32> {
    let row = txn
        .query_one(stmt(
            txn,
            "SELECT COALESCE(MAX(display_order), 0) + 1 AS n FROM products",
            [],
        ))
        .await?
        .context("no row")?;
    Ok(row.try_get::<i32>("", "n").or_else(|_| {
        row.try_get::<i64>("", "n")
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    })?)
}

async fn current_price(
    txn: &DatabaseTransaction,
    product: ProductId,
    package: PackageSize,
) -> anyhow::Result<Option<Idr>> {
    let row = txn
        .query_one(stmt(
            txn,
            "SELECT price FROM product_prices WHERE product_id = $1 AND codes = $2 AND on_sale",
            [product.get().into(), (package.codes() as i32).into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "price"))
        .transpose()?
        .map(Idr::new))
}

/// Puts `package` on sale at `price`, or (`None`) takes it off sale, keeping the last price.
async fn set_price(
    txn: &DatabaseTransaction,
    product: ProductId,
    package: PackageSize,
    price: Option<Idr>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    match price {
        Some(price) => {
            txn.execute(stmt(
                txn,
                "INSERT INTO product_prices (product_id, codes, price, on_sale, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (product_id, codes) DO UPDATE \
                 SET price = $3, on_sale = $4, updated_at = $5",
                [
                    product.get().into(),
                    (package.codes() as i32).into(),
                    price.rupiah().into(),
                    true.into(),
                    now.into(),
                ],
            ))
            .await
            .context("setting a price")?;
        }
        None => {
            txn.execute(stmt(
                txn,
                "UPDATE product_prices SET on_sale = $1, updated_at = $2 \
                 WHERE product_id = $3 AND codes = $4",
                [
                    false.into(),
                    now.into(),
                    product.get().into(),
                    (package.codes() as i32).into(),
                ],
            ))
            .await
            .context("taking a package off sale")?;
        }
    }
    Ok(())
}
