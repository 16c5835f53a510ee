//! Black-box tests of the payment-service's top-up flow: the real `Application` on port 0, a
//! fresh PostgreSQL database per test, a unique broker namespace and the Midtrans simulator.

mod broker_flow;
mod helpers;
mod locale;
mod midtrans_strictness;
mod money_returned;
mod sweeper;
mod topups;
mod webhook;
