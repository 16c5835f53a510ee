//! `order.create`: one transaction that upserts the user, enforces the daily limit and the
//! cooldown, charges the balance conditionally, reserves N codes, creates the order and writes
//! the ledger and outbox rows. Idempotent by request id.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait, Value};
use shared_proto::{
    DeliveryRequested, Envelope, Event, Idr, OrderAccepted, OrderCreate, OrderCreateReply,
    OrderStatus, ProductId, ServiceError, StockLow,
};
use uuid::Uuid;

use super::domain::OrderNumber;
use super::{
    decrypt_rows, is_unique_violation, CorruptCodes, OrderRow, OrderService, ORDER_COLUMNS,
};
use crate::catalogue;
use crate::messaging::outbox_relay;
use crate::persistence::ledger::{self, LedgerReason};
use crate::persistence::{outbox, stmt};
use crate::stock_vault::store;

/// How often one request is re-run after a lost race (request id or order number clash, or a
/// quarantined code).
const MAX_TRIES: usize = 4;

/// What [`OrderService::check_limits`] found.
enum Limits {
    /// An order with this request id exists: answer with it.
    Seen,
    Refused(ServiceError),
    Clear,
}

enum Try {
    Done(OrderCreateReply),
    Corrupt(CorruptCodes),
}

impl OrderService {
    /// Handles `order.create`. `Err` means an unexpected failure (database down, …): nothing was
    /// committed and the caller may retry the message.
    #[tracing::instrument(skip_all, fields(request_id = %cmd.request_id, user_id = %cmd.user.user_id))]
    pub async fn create(
        &self,
        cmd: &OrderCreate,
        correlation_id: Uuid,
    ) -> anyhow::Result<OrderCreateReply> {
        let refuse = |error: ServiceError| OrderCreateReply {
            request_id: cmd.request_id.clone(),
            outcome: Err(error),
        };
        if cmd.package.codes() > self.config.max_codes_per_order {
            self.metrics.orders.with_label_values(&["invalid"]).inc();
            return Ok(refuse(ServiceError::InvalidInput {
                message: format!(
                    "Packages above {} codes are not on sale right now.",
                    self.config.max_codes_per_order
                ),
                refusal: None,
            }));
        }
        for _ in 0..MAX_TRIES {
            match self.try_create(cmd, correlation_id).await {
                Ok(Try::Done(reply)) => {
                    let outcome = match &reply.outcome {
                        Ok(_) => "accepted",
                        Err(ServiceError::InsufficientBalance { .. }) => "insufficient_balance",
                        Err(ServiceError::OutOfStock { .. }) => "out_of_stock",
                        Err(ServiceError::DailyOrderLimit { .. }) => "daily_limit",
                        Err(ServiceError::Cooldown { .. }) => "cooldown",
                        Err(ServiceError::Forbidden { .. }) => "owed",
                        Err(_) => "refused",
                    };
                    self.metrics.orders.with_label_values(&[outcome]).inc();
                    if matches!(reply.outcome, Err(ServiceError::OutOfStock { .. })) {
                        self.alert_if_low(cmd.product_id, correlation_id).await?;
                    }
                    return Ok(reply);
                }
                Ok(Try::Corrupt(CorruptCodes(ids))) => {
                    self.metrics
                        .orders
                        .with_label_values(&["stock_corrupt"])
                        .inc();
                    self.quarantine(&ids).await?;
                }
                Err(error) if is_unique_violation(&error) => {
                    if let Some(reply) = self.replay(&self.db, cmd).await? {
                        return Ok(reply);
                    }
                    tracing::info!("order number clash, retrying with a new one");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(refuse(ServiceError::Internal {
            message: "The order could not be placed; please try again.".into(),
        }))
    }

    async fn try_create(&self, cmd: &OrderCreate, correlation_id: Uuid) -> anyhow::Result<Try> {
        let refuse = |error: ServiceError| {
            Try::Done(OrderCreateReply {
                request_id: cmd.request_id.clone(),
                outcome: Err(error),
            })
        };
        let user_id = cmd.user.user_id.as_i64();
        let txn = self
            .db
            .begin()
            .await
            .context("starting the order transaction")?;
        // First statement is a write: on PostgreSQL it locks this user's row, so the limit checks
        // below see every earlier order of the user; on SQLite it takes the write lock at once.
        ledger::ensure_user(
            &txn,
            user_id,
            cmd.user.username.as_deref(),
            cmd.user.locale.as_deref(),
        )
        .await
        .context("upserting the user")?;
        // Money returned on a credited top-up that the balance could not cover blocks orders
        // until an admin clears it (DESIGN invariant 5). The user row is locked above, so a
        // reversal cannot slip in between. A request accepted before is still answered.
        // What the user owes and the package's price, in one round trip.
        let terms = catalogue::order_terms(&txn, user_id, cmd.product_id, cmd.package).await?;
        let owed = terms.owed;
        if owed > 0 {
            if let Some(reply) = self.replay(&txn, cmd).await? {
                txn.commit().await?;
                return Ok(Try::Done(reply));
            }
            return Ok(refuse(ServiceError::Forbidden {
                message: format!(
                    "{} of a top-up was refunded or charged back after it was credited and is still owed. An admin must clear it before you can order.",
                    Idr::new(owed)
                ),
                refusal: Some(shared_proto::Refusal::BalanceOwed {
                    owed: Idr::new(owed),
                }),
            }));
        }
        let now = Utc::now();
        // On PostgreSQL the order statement itself checks the limits (see `open_order`).
        let limits = if txn.get_database_backend() == DbBackend::Postgres {
            Limits::Clear
        } else {
            self.check_limits(&txn, user_id, &cmd.request_id, now)
                .await?
        };
        match limits {
            Limits::Seen => {
                if let Some(reply) = self.replay(&txn, cmd).await? {
                    if reply.outcome.is_ok() {
                        txn.commit().await?;
                    }
                    return Ok(Try::Done(reply));
                }
            }
            Limits::Refused(error) => return Ok(refuse(error)),
            Limits::Clear => {}
        }
        let priced = match terms.priced {
            Ok(priced) => match cmd.confirmed_price {
                Some(confirmed) if confirmed != priced.price => Err(ServiceError::InvalidInput {
                    message: format!(
                        "The price of {} codes of {} is now {} (you confirmed {confirmed}); nothing was charged.",
                        cmd.package.codes(),
                        priced.product,
                        priced.price
                    ),
                    refusal: Some(shared_proto::Refusal::PriceChanged {
                        product: priced.product.clone(),
                        package: cmd.package,
                        confirmed,
                        price: priced.price,
                    }),
                }),
                _ => Ok(priced),
            },
            Err(refused) => Err(refused),
        };
        let priced = match priced {
            Ok(priced) => priced,
            Err(refused) => {
                // A repeated request answers its first outcome, whatever the price is now.
                if let Some(reply) = self.replay(&txn, cmd).await? {
                    if reply.outcome.is_ok() {
                        txn.commit().await?;
                    }
                    return Ok(Try::Done(reply));
                }
                self.metrics.orders.with_label_values(&["invalid"]).inc();
                return Ok(refuse(refused));
            }
        };
        let price = priced.price;
        let deliver_now = self.config.features.auto_delivery_enabled
            && !self.config.features.manual_approval_required;
        let status = if deliver_now {
            OrderStatus::Delivering
        } else {
            OrderStatus::Pending
        };
        let order_number = OrderNumber::generate(now, &mut rand::thread_rng());
        let interaction = cmd.interaction.as_ref();
        let opened = open_order(
            &txn,
            NewOrder {
                order_number: order_number.as_str(),
                request_id: &cmd.request_id,
                user_id,
                codes: cmd.package.codes(),
                price,
                status,
                deliver_now,
                interaction_token: interaction.map(|i| i.token.clone()),
                interaction_application_id: interaction.map(|i| i.application_id.clone()),
                now,
                product: cmd.product_id,
                guard: self.limit_guard(now),
            },
        )
        .await?;
        let Opened {
            order_id,
            balance_after,
            mut reserved,
        } = match opened {
            OpenOutcome::Opened(opened) => opened,
            OpenOutcome::NotOpened { limits: Some(row) } => match self.judge_limits(&row, now)? {
                Limits::Seen => {
                    drop(txn);
                    return match self.replay(&self.db, cmd).await? {
                        Some(reply) => Ok(Try::Done(reply)),
                        None => anyhow::bail!("request seen but its order is gone"),
                    };
                }
                Limits::Refused(error) => return Ok(refuse(error)),
                Limits::Clear => return self.short_balance(&txn, user_id, price, refuse).await,
            },
            OpenOutcome::NotOpened { limits: None } => {
                return self.short_balance(&txn, user_id, price, refuse).await
            }
        };

        let wanted = cmd.package.codes();
        // SKIP LOCKED passes over codes other orders hold right now; some of those orders roll
        // back (out of stock, insufficient codes). While the codes others hold would cover what is
        // missing, wait briefly for them instead of refusing a sale that can be served.
        for pause_ms in [5u64, 20, 50] {
            let missing = wanted as usize - reserved.len().min(wanted as usize);
            if missing == 0 || store::available(&txn, cmd.product_id).await? < missing as u64 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
            reserved.extend(reserve(&txn, order_id, cmd.product_id, missing as u32, now).await?);
        }
        if reserved.len() < wanted as usize {
            // What others left plus what this order had taken before it came up short.
            let available = store::available(&txn, cmd.product_id).await? + reserved.len() as u64;
            drop(txn);
            return Ok(refuse(ServiceError::OutOfStock {
                requested: wanted,
                available: u32::try_from(available).unwrap_or(u32::MAX),
            }));
        }
        let codes = match decrypt_rows(&self.vault, reserved)? {
            Ok(codes) => codes,
            Err(corrupt) => return Ok(Try::Corrupt(corrupt)),
        };
        if deliver_now {
            let event = Event::DeliveryRequested(DeliveryRequested {
                order_number: order_number.to_string(),
                user_id: cmd.user.user_id,
                product_id: cmd.product_id,
                product_name: Some(priced.product.clone()),
                package: cmd.package,
                total_price: price,
                codes,
                attempt: 1,
                interaction: cmd.interaction.clone(),
                locale: match &cmd.user.locale {
                    Some(locale) => Some(locale.clone()),
                    // An older bot: the remembered one.
                    None => ledger::user_locale(&txn, cmd.user.user_id.as_i64()).await?,
                },
                replacing: Vec::new(),
            });
            let threshold = priced
                .low_stock_threshold
                .unwrap_or(self.config.low_stock_threshold);
            let level = if txn.get_database_backend() == DbBackend::Postgres {
                // One round trip for the outbox row and the stock level.
                let envelope = Envelope::with_correlation(event, correlation_id);
                let row = outbox::enqueue_and_select(
                    &txn,
                    &self.events_exchange,
                    &envelope,
                    &store::stock_level_columns(7),
                    store::stock_level_values(cmd.product_id, threshold),
                )
                .await
                .context("queueing the delivery request")?;
                store::stock_level_of(&row)?
            } else {
                self.enqueue(&txn, event, correlation_id, None).await?;
                store::stock_level(&txn, cmd.product_id, threshold).await?
            };
            let product = (cmd.product_id, priced.product.as_str(), threshold);
            self.after_stock_level(&txn, product, level, correlation_id)
                .await?;
        } else {
            self.note_stock_level(&txn, cmd.product_id, correlation_id)
                .await?;
        }
        txn.commit().await.context("committing the order")?;
        outbox_relay::wake();
        tracing::info!(order_number = %order_number, "order accepted");
        Ok(Try::Done(OrderCreateReply {
            request_id: cmd.request_id.clone(),
            outcome: Ok(OrderAccepted {
                order_number: order_number.to_string(),
                product_id: cmd.product_id,
                product_name: Some(priced.product),
                package: cmd.package,
                total_price: price,
                balance_after,
                status,
            }),
        }))
    }

    /// The first outcome of an accepted request, if there is one. A request id that belongs to
    /// another user's order is refused without a word about that order (its number, price,
    /// state or the other user's balance): request ids are Discord interaction ids, which other
    /// members can see.
    async fn replay(
        &self,
        db: &impl ConnectionTrait,
        cmd: &OrderCreate,
    ) -> anyhow::Result<Option<OrderCreateReply>> {
        let request_id = cmd.request_id.as_str();
        let Some(row) = db
            .query_one(stmt(
                db,
                &format!(
                    "SELECT {ORDER_COLUMNS}, \
                     (SELECT balance_after FROM balance_ledger l WHERE l.reason = 'order' \
                      AND l.reference = orders.order_number) AS balance_after \
                     FROM orders WHERE request_id = $1"
                ),
                [request_id.into()],
            ))
            .await
            .context("looking up the request id")?
        else {
            return Ok(None);
        };
        let order = OrderRow::from_row(&row)?;
        if order.user_id != cmd.user.user_id.as_i64() {
            tracing::warn!("order.create reused another user's request id; refused");
            self.metrics
                .orders
                .with_label_values(&["request_id_conflict"])
                .inc();
            return Ok(Some(OrderCreateReply {
                request_id: request_id.to_string(),
                outcome: Err(ServiceError::InvalidInput {
                    message: "This request was already used; nothing was ordered.".into(),
                    refusal: None,
                }),
            }));
        }
        self.metrics.orders.with_label_values(&["replayed"]).inc();
        let balance_after: Option<i64> = row.try_get("", "balance_after")?;
        Ok(Some(OrderCreateReply {
            request_id: request_id.to_string(),
            outcome: Ok(OrderAccepted {
                order_number: order.order_number,
                product_id: order.product_id,
                product_name: order.product_name,
                package: order.package,
                total_price: order.total_price,
                balance_after: Idr::new(balance_after.unwrap_or(0)),
                status: order.status,
            }),
        }))
    }

    /// The refusal of an order the balance does not cover.
    async fn short_balance(
        &self,
        txn: &DatabaseTransaction,
        user_id: i64,
        price: Idr,
        refuse: impl Fn(ServiceError) -> Try,
    ) -> anyhow::Result<Try> {
        let balance = balance_of(txn, user_id).await?;
        Ok(refuse(ServiceError::InsufficientBalance {
            balance,
            price,
            shortfall: Idr::new(price.rupiah() - balance.rupiah()),
        }))
    }

    /// Whether this request was already accepted, else whether the daily limit or the
    /// cooldown refuses it: one statement for the three questions every order asks.
    async fn check_limits(
        &self,
        txn: &DatabaseTransaction,
        user_id: i64,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Limits> {
        let row = txn
            .query_one(stmt(
                txn,
                &format!("SELECT {}", limit_columns(1, 2, 3)),
                [user_id.into(), day_start(now).into(), request_id.into()],
            ))
            .await
            .context("checking the request id and the order limits")?
            .context("the limits query gave no row")?;
        self.judge_limits(&row, now)
    }

    /// [`Limits`] from a row holding [`limit_columns`].
    fn judge_limits(
        &self,
        row: &sea_orm::QueryResult,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Limits> {
        if row.try_get::<i64>("", "seen")? > 0 {
            return Ok(Limits::Seen);
        }
        let today: i64 = row.try_get("", "today")?;
        let limit = self.config.max_orders_per_user_per_day;
        if limit > 0 && today >= i64::from(limit) {
            return Ok(Limits::Refused(ServiceError::DailyOrderLimit { limit }));
        }
        let cooldown = self.config.order_cooldown_seconds;
        let last: Option<DateTime<Utc>> = row.try_get("", "last_at")?;
        if let (true, Some(last)) = (cooldown > 0, last) {
            let elapsed = (now - last).num_milliseconds().max(0) as u64;
            let cooldown_ms = cooldown.saturating_mul(1000);
            if elapsed < cooldown_ms {
                return Ok(Limits::Refused(ServiceError::Cooldown {
                    retry_after_secs: (cooldown_ms - elapsed).div_ceil(1000),
                }));
            }
        }
        Ok(Limits::Clear)
    }

    /// The same rules as [`Self::judge_limits`], as values for the order statement's guard.
    fn limit_guard(&self, now: DateTime<Utc>) -> LimitGuard {
        let cooldown = self.config.order_cooldown_seconds;
        LimitGuard {
            day_start: day_start(now),
            daily_limit: i64::from(self.config.max_orders_per_user_per_day),
            // An order after this instant is inside the cooldown (`elapsed < cooldown`).
            cooldown_cut: (cooldown > 0).then(|| {
                now - chrono::Duration::milliseconds(
                    i64::try_from(cooldown.saturating_mul(1000)).unwrap_or(i64::MAX),
                )
            }),
        }
    }

    /// Counts available codes, keeps the gauge current and, once per crossing below the
    /// threshold, queues `stock.low`.
    pub(crate) async fn note_stock_level(
        &self,
        txn: &impl ConnectionTrait,
        product: ProductId,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        let Some(p) = catalogue::product(txn, product).await? else {
            return Ok(());
        };
        let threshold = p.threshold(self.config.low_stock_threshold);
        // Counting every available code on each order would grow with the stock; below the
        // threshold the bounded count is exact, at or above it the exact number does not matter.
        let level = store::stock_level(txn, product, threshold).await?;
        self.after_stock_level(txn, (product, &p.name, threshold), level, correlation_id)
            .await
    }

    /// [`Self::note_stock_level`] for every product (after a change that may touch several).
    pub(crate) async fn note_every_stock_level(
        &self,
        txn: &impl ConnectionTrait,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        for p in catalogue::products(txn).await? {
            self.note_stock_level(txn, p.id, correlation_id).await?;
        }
        Ok(())
    }

    /// Keeps the gauge current and, once per crossing below the product's threshold, queues
    /// `stock.low`.
    async fn after_stock_level(
        &self,
        txn: &impl ConnectionTrait,
        (product, name, threshold): (ProductId, &str, u64),
        level: store::StockLevel,
        correlation_id: Uuid,
    ) -> anyhow::Result<()> {
        let available = level.available;
        if available < threshold && product.is_default() {
            self.metrics
                .stock_available
                .set(i64::try_from(available).unwrap_or(i64::MAX));
        }
        if store::note_available(txn, product, level, threshold).await?
            && self.config.features.stock_alert_enabled
        {
            let event = Event::StockLow(StockLow {
                product_id: product,
                product_name: Some(name.to_owned()),
                available,
                threshold,
                notify_user_ids: self.config.stock_admin_user_ids.clone(),
            });
            self.enqueue(txn, event, correlation_id, None).await?;
        }
        Ok(())
    }

    async fn alert_if_low(&self, product: ProductId, correlation_id: Uuid) -> anyhow::Result<()> {
        let txn = self.db.begin().await?;
        self.note_stock_level(&txn, product, correlation_id).await?;
        txn.commit().await?;
        outbox_relay::wake();
        Ok(())
    }

    /// Takes codes that fail decryption out of sale: `reserved` without an order, with
    /// `quarantined_at` set. Admins see their count (`/admin viewstock`) and release them once
    /// the key is back, or discard them (`admin.stock.quarantine`); they are never delivered.
    async fn quarantine(&self, ids: &[i64]) -> anyhow::Result<()> {
        tracing::error!(stock_ids = ?ids, "quarantining stock codes that fail authentication");
        let placeholders = (2..ids.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut values: Vec<Value> = vec![Utc::now().into()];
        values.extend(ids.iter().map(|id| Value::from(*id)));
        self.db
            .execute(stmt(
                &self.db,
                &format!(
                    "UPDATE stock SET status = 'reserved', order_id = NULL, reserved_at = $1, \
                     quarantined_at = $1 WHERE status = 'available' AND id IN ({placeholders})"
                ),
                values,
            ))
            .await
            .context("quarantining stock codes")?;
        Ok(())
    }
}

/// The first day of `now` (UTC), from which the daily limit counts.
fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now)
}

/// The select-list answering the three questions of every order (`seen`, `today`, `last_at`),
/// with the placeholders of the user id, the day's start and the request id.
fn limit_columns(user: usize, day_start: usize, request_id: usize) -> String {
    format!(
        "(SELECT COUNT(*) FROM orders WHERE request_id = ${request_id}) AS seen, \
         (SELECT COUNT(*) FROM orders WHERE user_id = ${user} AND created_at >= ${day_start}) AS today, \
         (SELECT created_at FROM orders WHERE user_id = ${user} \
          ORDER BY created_at DESC LIMIT 1) AS last_at"
    )
}

/// The limit rules as values for the PostgreSQL order statement.
struct LimitGuard {
    day_start: DateTime<Utc>,
    /// 0: no daily limit.
    daily_limit: i64,
    /// `None`: no cooldown.
    cooldown_cut: Option<DateTime<Utc>>,
}

/// The order row [`open_order`] writes.
struct NewOrder<'a> {
    order_number: &'a str,
    request_id: &'a str,
    user_id: i64,
    codes: u32,
    price: Idr,
    status: OrderStatus,
    deliver_now: bool,
    interaction_token: Option<String>,
    interaction_application_id: Option<String>,
    now: DateTime<Utc>,
    product: ProductId,
    /// Checked by the PostgreSQL statement (elsewhere the caller checked the limits before).
    guard: LimitGuard,
}

const INSERT_ORDER_COLUMNS: &str = "order_number, request_id, user_id, package_size, \
    code_quantity, total_price, status, delivery_attempts, interaction_token, \
    interaction_application_id, created_at, updated_at, product_id";

/// What [`open_order`] did.
enum OpenOutcome {
    Opened(Opened),
    /// Nothing written: the balance is short, or (PostgreSQL) a limit or an earlier order with
    /// this request id stopped it — `limits` holds the row to judge by.
    NotOpened {
        limits: Option<sea_orm::QueryResult>,
    },
}

/// An order row with its charge, ledger row and reserved codes.
struct Opened {
    order_id: i64,
    balance_after: Idr,
    /// The stock rows reserved for the order (`id, ciphertext, nonce, key_id`); fewer than
    /// ordered when others hold or have taken the rest.
    reserved: Vec<sea_orm::QueryResult>,
}

/// Charges the price if the balance covers it (a conditional UPDATE, never read-modify-write),
/// creates the order row, books the ledger row and reserves the codes. `None` (nothing written)
/// when the balance is short.
///
/// On PostgreSQL the four writes are one statement (data-modifying CTEs) that also checks the
/// request id, the daily limit and the cooldown (its snapshot is taken after the caller locked
/// the user's row, so it sees every earlier order of the user); an order costs four round trips
/// less. Elsewhere the writes run one after the other in the same transaction.
async fn open_order(txn: &DatabaseTransaction, order: NewOrder<'_>) -> anyhow::Result<OpenOutcome> {
    // The row's values from `$first`; `now` twice (created_at, updated_at), then the product
    // from `$product`.
    let order_values = |first: usize, product: usize| -> (String, Vec<Value>) {
        let placeholders = (first..first + 11)
            .map(|i| format!("${i}"))
            .chain([format!("${}", first + 10), format!("${product}")])
            .collect::<Vec<_>>()
            .join(", ");
        let values = vec![
            order.order_number.into(),
            order.request_id.into(),
            order.user_id.into(),
            (order.codes as i32).into(),
            (order.codes as i32).into(),
            order.price.rupiah().into(),
            order.status.as_str().into(),
            i32::from(order.deliver_now).into(),
            order.interaction_token.clone().into(),
            order.interaction_application_id.clone().into(),
            order.now.into(),
        ];
        (placeholders, values)
    };
    if txn.get_database_backend() == DbBackend::Postgres {
        // $1 price, $2 user, $3 −price, $4…$14 the order row ($4 its number, $14 now), $15 codes.
        let (placeholders, mut values) = order_values(4, 19);
        let mut all: Vec<Value> = vec![
            order.price.rupiah().into(),
            order.user_id.into(),
            (-order.price.rupiah()).into(),
        ];
        all.append(&mut values);
        all.push(i64::from(order.codes).into());
        // $16 the day's start, $17 the daily limit, $18 the cooldown cut.
        all.push(order.guard.day_start.into());
        all.push(order.guard.daily_limit.into());
        all.push(order.guard.cooldown_cut.into());
        // $19 the product.
        all.push(order.product.get().into());
        let limits = limit_columns(2, 16, 5);
        let rows = txn
            .query_all(stmt(
                txn,
                &format!(
                    "WITH lim AS (SELECT {limits}), \
                     charged AS (UPDATE users SET balance = balance - $1, \
                     total_spent = total_spent + $1 WHERE user_id = $2 AND balance >= $1 \
                     AND (SELECT seen FROM lim) = 0 \
                     AND ($17 = 0 OR (SELECT today FROM lim) < $17) \
                     AND ($18::timestamptz IS NULL OR (SELECT last_at FROM lim) IS NULL \
                          OR (SELECT last_at FROM lim) <= $18) \
                     RETURNING balance), \
                     placed AS (INSERT INTO orders ({INSERT_ORDER_COLUMNS}) \
                     SELECT {placeholders} FROM charged RETURNING id), \
                     booked AS (INSERT INTO balance_ledger (user_id, delta, reason, reference, balance_after) \
                     SELECT $2, $3, 'order', $4, balance FROM charged RETURNING balance_after), \
                     reserved AS (UPDATE stock SET status = 'reserved', \
                     order_id = (SELECT id FROM placed), reserved_at = $14 \
                     WHERE EXISTS (SELECT 1 FROM placed) AND id IN (SELECT id FROM stock \
                     WHERE status = 'available' AND product_id = $19 \
                     ORDER BY id LIMIT $15 FOR UPDATE SKIP LOCKED) \
                     RETURNING id, ciphertext, nonce, key_id) \
                     SELECT (SELECT id FROM placed) AS order_id, \
                     (SELECT balance_after FROM booked) AS balance_after, \
                     lim.seen, lim.today, lim.last_at, \
                     r.id, r.ciphertext, r.nonce, r.key_id \
                     FROM lim LEFT JOIN reserved AS r ON true"
                ),
                all,
            ))
            .await
            .context("charging the balance, creating the order and reserving codes")?;
        let mut rows = rows.into_iter().peekable();
        let Some(first) = rows.peek() else {
            anyhow::bail!("the order statement gave no row");
        };
        let order_id: Option<i64> = first.try_get("", "order_id")?;
        let balance: Option<i64> = first.try_get("", "balance_after")?;
        let (Some(order_id), Some(balance)) = (order_id, balance) else {
            return Ok(OpenOutcome::NotOpened {
                limits: rows.next(),
            });
        };
        let mut reserved = Vec::new();
        for row in rows {
            if row.try_get::<Option<i64>>("", "id")?.is_some() {
                reserved.push(row);
            }
        }
        return Ok(OpenOutcome::Opened(Opened {
            order_id,
            balance_after: Idr::new(balance),
            reserved,
        }));
    }
    let Some(balance_after) = charge(txn, order.user_id, order.price).await? else {
        return Ok(OpenOutcome::NotOpened { limits: None });
    };
    let (placeholders, mut values) = order_values(1, 12);
    values.push(order.product.get().into());
    let row = txn
        .query_one(stmt(
            txn,
            &format!(
                "INSERT INTO orders ({INSERT_ORDER_COLUMNS}) VALUES ({placeholders}) RETURNING id"
            ),
            values,
        ))
        .await
        .context("creating the order")?
        .context("INSERT … RETURNING gave no row")?;
    let order_id: i64 = row.try_get("", "id")?;
    ledger::record(
        txn,
        order.user_id,
        -order.price.rupiah(),
        LedgerReason::Order,
        order.order_number,
        balance_after.rupiah(),
    )
    .await
    .context("writing the ledger row")?;
    let reserved = reserve(txn, order_id, order.product, order.codes, order.now).await?;
    Ok(OpenOutcome::Opened(Opened {
        order_id,
        balance_after,
        reserved,
    }))
}

/// Deducts `price` if the balance covers it; the new balance, or `None` when it does not.
async fn charge(
    txn: &DatabaseTransaction,
    user_id: i64,
    price: Idr,
) -> anyhow::Result<Option<Idr>> {
    let row = txn
        .query_one(stmt(
            txn,
            "UPDATE users SET balance = balance - $1, total_spent = total_spent + $1 \
             WHERE user_id = $2 AND balance >= $1 RETURNING balance",
            [price.rupiah().into(), user_id.into()],
        ))
        .await
        .context("charging the balance")?;
    Ok(match row {
        Some(r) => Some(Idr::new(r.try_get("", "balance")?)),
        None => None,
    })
}

pub(crate) async fn balance_of(db: &impl ConnectionTrait, user_id: i64) -> anyhow::Result<Idr> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT balance FROM users WHERE user_id = $1",
            [user_id.into()],
        ))
        .await
        .context("reading the balance")?;
    Ok(Idr::new(match row {
        Some(r) => r.try_get("", "balance")?,
        None => 0,
    }))
}

/// Binds `wanted` available codes to the order; returns the rows it got (fewer when stock ran
/// out). PostgreSQL skips rows other orders are reserving right now instead of waiting for
/// them; SQLite has a single writer, so the plain subquery is already exclusive.
async fn reserve(
    txn: &DatabaseTransaction,
    order_id: i64,
    product: ProductId,
    wanted: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    take_available(txn, order_id, product, wanted, now, TakeAs::Reserved).await
}

/// What codes taken from stock become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeAs {
    /// Bound to an order until its delivery is confirmed.
    Reserved,
    /// Sold at once: they leave the database in a `delivery.requested` of the same
    /// transaction (a report's replacement codes).
    Sold,
}

/// Takes up to `wanted` available codes of `product`, oldest first, for the order (see
/// [`reserve`]).
pub(crate) async fn take_available(
    txn: &DatabaseTransaction,
    order_id: i64,
    product: ProductId,
    wanted: u32,
    now: DateTime<Utc>,
    take_as: TakeAs,
) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    let lock = match txn.get_database_backend() {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let set = match take_as {
        TakeAs::Reserved => "status = 'reserved', order_id = $1, reserved_at = $2",
        TakeAs::Sold => "status = 'sold', order_id = $1, reserved_at = $2, sold_at = $2",
    };
    let rows = txn
        .query_all(stmt(
            txn,
            &format!(
                "UPDATE stock SET {set} \
                 WHERE id IN (SELECT id FROM stock WHERE status = 'available' AND product_id = $4 \
                 ORDER BY id LIMIT $3{lock}) \
                 RETURNING id, ciphertext, nonce, key_id"
            ),
            [
                order_id.into(),
                now.into(),
                i64::from(wanted).into(),
                product.get().into(),
            ],
        ))
        .await
        .context("taking codes from stock")?;
    Ok(rows)
}
