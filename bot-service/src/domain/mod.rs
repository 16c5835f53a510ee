//! Pure rules of the bot: what a click means, what to show, how to deliver, when to retry.
//! Nothing here talks to Discord or the broker (no serenity, lapin or actix imports).

pub mod admin;
pub mod amount;
pub mod catalog;
pub mod custom_id;
pub mod delivery;
pub mod i18n;
pub mod message;
pub mod permissions;
pub mod qr;
pub mod report;
pub mod retry;
pub mod stock_panel;
pub mod views;
