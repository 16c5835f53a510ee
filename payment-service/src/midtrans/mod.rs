//! The Midtrans adapter: Core API client, notification signatures and notification parsing.
//! Nothing here touches the database or decides what a payment means for a balance.

pub mod client;
pub mod notification;
pub mod signature;

pub use client::{MidtransClient, MidtransError, QrisCharge, RetryPolicy};
pub use notification::{parse_notification, Notification, ParseError, TransactionView};
