//! Black-box tests of the bot-service: the real bot (in-process `bot_service::run`) against the
//! fake Discord and a real RabbitMQ with a unique namespace per test.

mod catalog;
mod delivery;
mod discord_errors;
mod fallback_channel;
mod gateway;
mod language;
mod notifications;
mod purchases;
mod rate_limits;
mod reports;
mod stock_panel;
mod support;
