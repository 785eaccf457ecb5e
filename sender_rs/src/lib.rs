//! OpenMailer's send core. Pure-Rust modules are free of PyO3; `py_api` is the only binding layer.

pub mod batch;
pub mod campaign;
pub mod dkim;
pub mod headers;
pub mod links;
pub mod mime;
pub mod render;
pub mod small_rsa;
pub mod text;

mod py_api;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
