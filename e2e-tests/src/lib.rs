//! The harness of the end-to-end tests: the real `payment-service` and `bot-service` binaries as
//! child processes, the fake Discord and the Midtrans simulator in-process, a fresh PostgreSQL
//! database and a private RabbitMQ namespace per [`System`]. Tests then act as people do: they
//! use slash commands and click the buttons the bot actually sent, by their labels.
//!
//! Every `System` is independent (own ports, database, broker names), so tests run in parallel.
//! The children are killed when the `System` is dropped (also while a test panics, when their
//! log tails are printed) and, on Linux, when the test thread that started them ends.

mod binaries;
mod process;
mod system;
mod ui;

pub use binaries::{service_binaries, ServiceBinaries};
pub use process::ServiceProcess;
pub use system::{
    System, SystemOptions, ADMIN_ROLE_ID, ALERT_CHANNEL_ID, FOREIGN_ADMIN_ROLE_ID,
    FOREIGN_CHANNEL_ID, FOREIGN_GUILD_ID, PUBLIC_CHANNEL_ID, STOCK_CHANNEL_ID,
};
pub use ui::{button_id, codes_in, fresh_codes, has_button, select_value};

/// How long a step may take before a test gives up on it. Generous for debug builds on 2 cores;
/// a passing run takes a fraction of it.
pub const STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
