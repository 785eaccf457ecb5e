//! OpenMailer's send core. The pure-Rust modules do not use PyO3 (they build without the `python`
//! feature); `py_api` and `py_errors` are the binding layer. The one exception is
//! `campaign::CampaignSpec`, which derives `FromPyObject` under `python`, so that its fields are
//! written once on the Rust side.

pub mod batch;
pub mod campaign;
pub mod dkim;
pub mod headers;
pub mod links;
pub mod mime;
pub mod render;
pub mod small_rsa;
pub mod smtp;
pub mod text;
pub mod unwind;

#[cfg(feature = "python")]
mod py_api;
#[cfg(feature = "python")]
mod py_errors;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
