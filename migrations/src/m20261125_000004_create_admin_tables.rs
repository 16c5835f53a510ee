//! `admin_audit` (who did what, for stock loads, refunds, re-deliveries, adjustments) and
//! `app_state` (small key/value flags such as the low-stock crossing).
//!
//! Only this project uses them, so `down` drops them.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS admin_audit (
        id {ID},
        admin_user_id BIGINT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT,
        created_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
    "CREATE INDEX IF NOT EXISTS admin_audit_created_at_idx ON admin_audit (created_at)",
    "CREATE TABLE IF NOT EXISTS app_state (
        \"key\" TEXT PRIMARY KEY,
        \"value\" TEXT NOT NULL,
        updated_at {TSTZ} NOT NULL DEFAULT {NOW}
    )",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        d.run(manager, UP).await?;
        for sql in d.touch_trigger("app_state", "\"key\"", d.now()) {
            d.run(manager, &[&sql]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Dialect::of(manager)?
            .run(
                manager,
                &[
                    "DROP TABLE IF EXISTS app_state",
                    "DROP TABLE IF EXISTS admin_audit",
                ],
            )
            .await
    }
}
