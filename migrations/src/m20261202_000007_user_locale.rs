//! The language a buyer last used with the shop, so messages not tied to an interaction (the
//! DM after a payment, the codes, a refund) speak it.
//!
//! * `users.locale` (TEXT NULL): Discord's locale of the user's last order or top-up (`id`,
//!   `en-US`, …). Nullable and without a default, so the sibling redeem bot's inserts, which name
//!   only their own columns, keep working and its reads never see it. `NULL` means "not known":
//!   the bot falls back to its `DEFAULT_LOCALE`.
//!
//! `down` keeps the column: a shared table is never rewritten.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        if d.column_exists(manager, "users", "locale").await? {
            return Ok(());
        }
        d.run(manager, &["ALTER TABLE users ADD COLUMN locale TEXT"])
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
