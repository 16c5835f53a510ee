//! `outbox` (transactional outbox: events written in the same transaction as the change they
//! announce, published later by a relay) and `processed_messages` (idempotent consumers).
//!
//! Only this project uses them, so `down` drops them.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS outbox (
        id {ID},
        message_id TEXT NOT NULL UNIQUE,
        exchange TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        message_type TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at {TSTZ} NOT NULL DEFAULT {NOW},
        published_at {TSTZ},
        attempts INTEGER NOT NULL DEFAULT 0,
        locked_until {TSTZ},
        last_error TEXT
    )",
    // The relay's scan: `WHERE published_at IS NULL ORDER BY id`.
    "CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL",
    "CREATE TABLE IF NOT EXISTS processed_messages (
        consumer TEXT NOT NULL,
        message_id TEXT NOT NULL,
        processed_at {TSTZ} NOT NULL DEFAULT {NOW},
        PRIMARY KEY (consumer, message_id)
    )",
    // For pruning old rows.
    "CREATE INDEX IF NOT EXISTS processed_messages_processed_at_idx \
        ON processed_messages (processed_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Dialect::of(manager)?.run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Dialect::of(manager)?
            .run(
                manager,
                &[
                    "DROP TABLE IF EXISTS processed_messages",
                    "DROP TABLE IF EXISTS outbox",
                ],
            )
            .await
    }
}
