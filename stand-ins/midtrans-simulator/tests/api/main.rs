//! Black-box tests of the simulator over HTTP, one test binary.

mod charge;
mod faults;
mod helpers;
mod notifications;
mod refunds;
mod signatures;
mod status;
