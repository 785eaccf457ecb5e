//! OpenMailer's send core. Pure-Rust modules are free of PyO3; `py_api` is the only binding layer.

mod py_api;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
