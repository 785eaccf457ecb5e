//! The exception classes, made here (not looked up in a Python module by name) and re-exported
//! by `sender_rs.errors`, and the guards that keep a Rust panic from reaching Python as PyO3's
//! `PanicException`: a `BaseException`, which `except Exception` handlers do not catch.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::campaign::CompileError;
use crate::render::TemplateError as RustTemplateError;
use crate::unwind;

// `sender_rs.errors` is where users import them from, so that is their `__module__`.
create_exception!(
    sender_rs.errors,
    SenderError,
    PyValueError,
    "Base class of sender_rs errors; a ValueError: they report input that cannot be used."
);
create_exception!(
    sender_rs.errors,
    TemplateError,
    SenderError,
    "A template tag is malformed or names an unknown variable (`part`, `line`, `column`)."
);
create_exception!(
    sender_rs.errors,
    HeaderError,
    SenderError,
    "A header input is invalid (CR, LF or NUL, a bad address, a reserved extra header...)."
);
create_exception!(
    sender_rs.errors,
    SigningKeyError,
    SenderError,
    "A DKIM key cannot be parsed or is not an accepted type or size."
);
create_exception!(
    sender_rs.errors,
    RecipientError,
    SenderError,
    "A recipient's custom fields cannot be used (nested deeper than 16 levels)."
);
create_exception!(
    sender_rs.errors,
    InternalError,
    SenderError,
    "A bug in sender_rs: a Rust panic that some input triggered (its message is the panic's)."
);

pub fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SenderError", py.get_type::<SenderError>())?;
    m.add("TemplateError", py.get_type::<TemplateError>())?;
    m.add("HeaderError", py.get_type::<HeaderError>())?;
    m.add("SigningKeyError", py.get_type::<SigningKeyError>())?;
    m.add("RecipientError", py.get_type::<RecipientError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

fn template_error(py: Python<'_>, t: RustTemplateError) -> PyErr {
    let err = TemplateError::new_err(t.to_string());
    let value = err.value(py);
    let attrs = [
        value.setattr("message", t.message),
        value.setattr("part", t.part),
        value.setattr("line", t.line),
        value.setattr("column", t.column),
    ];
    match attrs.into_iter().find_map(Result::err) {
        Some(failed) => failed,
        None => err,
    }
}

pub fn compile_error(py: Python<'_>, e: CompileError) -> PyErr {
    match e {
        CompileError::Template(t) => template_error(py, t),
        CompileError::Header(h) => HeaderError::new_err(h.0),
    }
}

/// Runs an entry point's body (with the GIL held); a panic becomes `InternalError`.
pub fn guarded<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    unwind::catch(f).unwrap_or_else(|m| Err(InternalError::new_err(m)))
}

/// `py.detach(f)`, with a panic caught before it unwinds out of the GIL-released section.
pub fn detached<T: Send>(py: Python<'_>, f: impl Send + FnOnce() -> T) -> PyResult<T> {
    py.detach(|| unwind::catch(f))
        .map_err(InternalError::new_err)
}
