//! Containing panics. A panic is a bug in this crate, but one triggered by some input: contained,
//! it fails that input (one recipient, one call) instead of the batch or the calling process.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; a panic becomes `Err` with the panic message.
///
/// `AssertUnwindSafe`: the callers' closures only read shared data (templates, keys, recipients)
/// or own what they build, so nothing half-updated is observed after a panic. The one lock on
/// the way (batch.rs's pool registry) is taken with `try_lock`, which copes with poisoning.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| message(payload.as_ref()))
}

fn message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("internal error in sender_rs (a bug, please report it): {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_with_their_message() {
        assert_eq!(catch(|| 7), Ok(7));
        let err = catch(|| -> u8 { panic!("boom {}", 1) }).unwrap_err();
        assert!(err.ends_with("boom 1"), "{err}");
        let v: Vec<u8> = Vec::new();
        let err = catch(|| v[3]).unwrap_err();
        assert!(err.contains("index out of bounds"), "{err}");
    }
}
