//! The catalogue: products, the packages each sells and their prices (integer rupiah).
//!
//! Prices live in the database, so a change made by an admin holds for the next order on every
//! replica at once: an order reads its price in its own transaction ([`order_terms`]). The default
//! product ([`ProductId::DEFAULT`], made by the catalogue migration) takes its first prices from
//! `PRICE_1_CODE` … `PRICE_50_CODES` when the service starts and finds it without any price row
//! ([`seed_default_prices`]); after that those settings are ignored.

use std::collections::BTreeMap;

use anyhow::Context;
use sea_orm::{ConnectionTrait, QueryResult};
use shared_proto::{
    CatalogEntry, Idr, PackagePrice, PackageSize, ProductId, ProductInfo, ProductOffer,
    ProductStock, Refusal, ServiceError, StockCounts,
};

use crate::config::Prices;
use crate::persistence::stmt;
use crate::stock_vault::store;

/// Longest product name (it goes into select menus: Discord allows 100 characters a label).
pub const MAX_NAME_CHARS: usize = 80;
/// Longest description (a select option's description holds 100; the panel shows more).
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// A product row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub display_order: i32,
    pub low_stock_threshold: Option<u64>,
}

const PRODUCT_COLUMNS: &str = "id, name, description, active, display_order, low_stock_threshold";

/// A BOOLEAN column, NULL (a LEFT JOIN that found nothing) read as false. SQLite keeps
/// booleans as integers; read either.
fn flag(row: &QueryResult, column: &str) -> Result<bool, sea_orm::DbErr> {
    match row.try_get::<Option<bool>>("", column) {
        Ok(b) => Ok(b.unwrap_or(false)),
        Err(_) => Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0) != 0),
    }
}

impl Product {
    fn from_row(row: &QueryResult) -> Result<Self, sea_orm::DbErr> {
        let threshold: Option<i64> = row.try_get("", "low_stock_threshold")?;
        Ok(Product {
            id: ProductId(row.try_get("", "id")?),
            name: row.try_get("", "name")?,
            description: row.try_get("", "description")?,
            active: flag(row, "active")?,
            display_order: row.try_get("", "display_order")?,
            low_stock_threshold: threshold.and_then(|t| u64::try_from(t).ok()),
        })
    }

    /// The product's low-stock threshold, or the service's.
    pub fn threshold(&self, service_default: u64) -> u64 {
        self.low_stock_threshold.unwrap_or(service_default)
    }
}

/// Every product, in display order (then id).
pub async fn products(db: &impl ConnectionTrait) -> anyhow::Result<Vec<Product>> {
    let rows = db
        .query_all(stmt(
            db,
            &format!("SELECT {PRODUCT_COLUMNS} FROM products ORDER BY display_order, id"),
            [],
        ))
        .await
        .context("reading the products")?;
    rows.iter()
        .map(|r| Product::from_row(r).map_err(Into::into))
        .collect()
}

pub async fn product(db: &impl ConnectionTrait, id: ProductId) -> anyhow::Result<Option<Product>> {
    let row = db
        .query_one(stmt(
            db,
            &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"),
            [id.get().into()],
        ))
        .await
        .context("reading a product")?;
    Ok(row.as_ref().map(Product::from_row).transpose()?)
}

/// Prices of packages on sale, by product, smallest package first.
pub async fn prices(db: &impl ConnectionTrait) -> anyhow::Result<BTreeMap<i64, Vec<PackagePrice>>> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT product_id, codes, price FROM product_prices WHERE on_sale \
             ORDER BY product_id, codes",
            [],
        ))
        .await
        .context("reading the prices")?;
    let mut out: BTreeMap<i64, Vec<PackagePrice>> = BTreeMap::new();
    for row in rows {
        let product: i64 = row.try_get("", "product_id")?;
        let codes: i32 = row.try_get("", "codes")?;
        let Ok(package) = PackageSize::try_from(u32::try_from(codes).unwrap_or(0)) else {
            continue;
        };
        out.entry(product).or_default().push(PackagePrice {
            package,
            price: Idr::new(row.try_get("", "price")?),
        });
    }
    Ok(out)
}

/// Writes the default product's prices from the settings if it has no price row at all (the
/// first start after the upgrade). Several replicas starting together write them once.
pub async fn seed_default_prices(
    db: &impl ConnectionTrait,
    settings: &Prices,
) -> anyhow::Result<bool> {
    let existing = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM product_prices WHERE product_id = $1",
            [ProductId::DEFAULT.get().into()],
        ))
        .await
        .context("looking for the default product's prices")?;
    let n: i64 = match existing {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    if n > 0 {
        return Ok(false);
    }
    let mut written = false;
    for package in PackageSize::ALL {
        let r = db
            .execute(stmt(
                db,
                "INSERT INTO product_prices (product_id, codes, price) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM products WHERE id = $1) \
                 ON CONFLICT (product_id, codes) DO NOTHING",
                [
                    ProductId::DEFAULT.get().into(),
                    (package.codes() as i32).into(),
                    settings.price_of(package).rupiah().into(),
                ],
            ))
            .await
            .context("writing the default product's prices")?;
        written |= r.rows_affected() > 0;
    }
    if written {
        tracing::info!("the default product's prices were set from PRICE_1_CODE … PRICE_50_CODES");
    }
    Ok(written)
}

/// What an order may be sold at: the product's name and the package's current price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub product: String,
    pub price: Idr,
    pub low_stock_threshold: Option<u64>,
}

/// What an order of `package` of `product` by `user_id` starts from, read in one round trip:
/// what the user owes (money returned after a top-up, which blocks orders) and the package's
/// current price or why it is not on sale.
pub struct OrderTerms {
    pub owed: i64,
    pub priced: Result<Priced, ServiceError>,
}

/// Reads [`OrderTerms`] inside the order's transaction: the price charged is the one in the
/// database at that moment, and the owed amount is read after the user's row was locked.
pub async fn order_terms(
    db: &impl ConnectionTrait,
    user_id: i64,
    product: ProductId,
    package: PackageSize,
) -> anyhow::Result<OrderTerms> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT (SELECT amount FROM balance_owed WHERE user_id = $3) AS owed, \
             p.name, p.active, p.low_stock_threshold, pp.price, pp.on_sale \
             FROM (SELECT 1 AS one) AS o LEFT JOIN products p ON p.id = $1 \
             LEFT JOIN product_prices pp ON pp.product_id = p.id AND pp.codes = $2",
            [
                product.get().into(),
                (package.codes() as i32).into(),
                user_id.into(),
            ],
        ))
        .await
        .context("reading the price")?
        .context("the order terms statement gave no row")?;
    let owed: Option<i64> = row.try_get("", "owed")?;
    let owed = owed.unwrap_or(0);
    let name: Option<String> = row.try_get("", "name")?;
    let Some(name) = name else {
        return Ok(OrderTerms {
            owed,
            priced: Err(ServiceError::NotFound {
                message: format!("There is no product {product}."),
                refusal: Some(Refusal::ProductNotFound {
                    product_id: product,
                }),
            }),
        });
    };
    if !flag(&row, "active")? {
        return Ok(OrderTerms {
            owed,
            priced: Err(ServiceError::Forbidden {
                message: format!("{name} is not on sale right now."),
                refusal: Some(Refusal::ProductInactive { product: name }),
            }),
        });
    }
    let price: Option<i64> = row.try_get("", "price")?;
    let threshold: Option<i64> = row.try_get("", "low_stock_threshold")?;
    let priced = match price {
        Some(price) if flag(&row, "on_sale")? => Ok(Priced {
            product: name,
            price: Idr::new(price),
            low_stock_threshold: threshold.and_then(|t| u64::try_from(t).ok()),
        }),
        _ => Err(ServiceError::InvalidInput {
            message: format!(
                "{name} has no package of {} codes on sale.",
                package.codes()
            ),
            refusal: Some(Refusal::PackageNotOnSale {
                product: name,
                package,
            }),
        }),
    };
    Ok(OrderTerms { owed, priced })
}

/// The active products as buyers see them, in display order.
pub async fn offers(
    db: &impl ConnectionTrait,
    max_codes_per_order: u32,
) -> anyhow::Result<Vec<ProductOffer>> {
    let products = products(db).await?;
    let mut prices = prices(db).await?;
    let available = available_by_product(db).await?;
    Ok(products
        .into_iter()
        .filter(|p| p.active)
        .map(|p| {
            let available_codes = available.get(&p.id.get()).copied().unwrap_or(0);
            let packages = prices
                .remove(&p.id.get())
                .unwrap_or_default()
                .into_iter()
                .filter(|pp| pp.package.codes() <= max_codes_per_order)
                .map(|pp| CatalogEntry {
                    package: pp.package,
                    price: pp.price,
                    in_stock: available_codes >= u64::from(pp.package.codes()),
                })
                .collect();
            ProductOffer {
                product_id: p.id,
                name: p.name,
                description: p.description,
                available_codes,
                packages,
            }
        })
        .collect())
}

/// Available codes by product.
pub async fn available_by_product(db: &impl ConnectionTrait) -> anyhow::Result<BTreeMap<i64, u64>> {
    let rows = db
        .query_all(stmt(
            db,
            "SELECT product_id, COUNT(*) AS n FROM stock WHERE status = 'available' \
             GROUP BY product_id",
            [],
        ))
        .await
        .context("counting available stock")?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(
            row.try_get::<i64>("", "product_id")?,
            u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
        );
    }
    Ok(out)
}

/// Every product with its prices and stock counts, for admins.
pub async fn infos(db: &impl ConnectionTrait) -> anyhow::Result<Vec<ProductInfo>> {
    let products = products(db).await?;
    let mut prices = prices(db).await?;
    let mut counts = store::counts_by_product(db).await?;
    Ok(products
        .into_iter()
        .map(|p| ProductInfo {
            prices: prices.remove(&p.id.get()).unwrap_or_default(),
            counts: counts.remove(&p.id.get()).unwrap_or_default(),
            product_id: p.id,
            name: p.name,
            description: p.description,
            active: p.active,
            display_order: p.display_order,
            low_stock_threshold: p.low_stock_threshold,
        })
        .collect())
}

/// Every product's stock, for the stock view and the stats, from the counts the caller read
/// ([`store::counts_by_product`]).
pub async fn stock_by_product(
    db: &impl ConnectionTrait,
    service_threshold: u64,
    mut counts: BTreeMap<i64, StockCounts>,
) -> anyhow::Result<Vec<ProductStock>> {
    let products = products(db).await?;
    Ok(products
        .into_iter()
        .map(|p| ProductStock {
            counts: counts.remove(&p.id.get()).unwrap_or_default(),
            low_stock_threshold: p.threshold(service_threshold),
            product_id: p.id,
            name: p.name,
            active: p.active,
            last_30_days: Default::default(),
        })
        .collect())
}

/// A name or description an admin typed, checked: trimmed, not empty, not too long, no control
/// characters (it goes into Discord messages and select menus).
pub fn clean_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(invalid_name());
    }
    Ok(name.to_owned())
}

pub fn clean_description(text: &str) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(invalid_name());
    }
    Ok(text.to_owned())
}

fn invalid_name() -> ServiceError {
    ServiceError::InvalidInput {
        message: format!(
            "A product name needs 1 to {MAX_NAME_CHARS} characters and a description at most {MAX_DESCRIPTION_CHARS}, without control characters."
        ),
        refusal: Some(Refusal::ProductNameInvalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  VIP 30 hari ").unwrap(), "VIP 30 hari");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(clean_name("a\u{0}b").is_err());
        assert!(clean_description(&"y".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert!(clean_description(&"y".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert_eq!(clean_description("").unwrap(), "");
    }
}
