//! The security suite (issue 7, items 2–4): bad input, security and transport security, against
//! the real PostgreSQL and RabbitMQ. One test binary, so the services link once.
//! Run: `cargo test -p security-tests` (see /work/notes/README_SECURITY.md for what each shows).

mod admin;
mod decoders;
mod full_run;
mod ledger;
mod support;
mod transport;
mod webhook;
