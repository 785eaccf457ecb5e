//! The PyO3 binding layer (with `py_errors`). Inputs are converted to Rust values, then the
//! whole batch runs with the GIL released. Every entry point runs under `guarded`, and the
//! GIL-released work under `detached`, so a Rust panic is raised as `InternalError`.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use crate::batch::{self, BatchOptions, Output, Profile, Recipient as RustRecipient, Rendered};
use crate::campaign::{compile, CampaignSpec, Compiled};
use crate::dkim::SigningKey as RustKey;
use crate::links::{
    verify_click_token as verify_click, verify_open_token as verify_open, TokenKey,
};
use crate::py_errors::{compile_error, detached, guarded, RecipientError, SigningKeyError};
use crate::render::Value;

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct TrackedLink {
    #[pyo3(get)]
    index: u32,
    #[pyo3(get)]
    url: String,
}

#[pymethods]
impl TrackedLink {
    fn __repr__(&self) -> String {
        format!("TrackedLink(index={}, url={:?})", self.index, self.url)
    }
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct CompiledTemplate {
    inner: Arc<Compiled>,
}

#[pymethods]
impl CompiledTemplate {
    #[getter]
    fn campaign_id(&self) -> &str {
        &self.inner.campaign_id
    }

    #[getter]
    fn links(&self) -> Vec<TrackedLink> {
        self.inner
            .links
            .iter()
            .enumerate()
            .map(|(i, url)| TrackedLink {
                index: i as u32,
                url: url.clone(),
            })
            .collect()
    }
}

/// `content`: any object with `CampaignSpec`'s fields as attributes (the port's
/// `CampaignContent`), so that the fields are not listed here again.
#[pyfunction]
#[pyo3(signature = (content, /))]
fn compile_template(py: Python<'_>, content: CampaignSpec) -> PyResult<CompiledTemplate> {
    guarded(|| {
        let compiled = detached(py, || compile(content))?.map_err(|e| compile_error(py, e))?;
        Ok(CompiledTemplate {
            inner: Arc::new(compiled),
        })
    })
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct SigningKey {
    inner: Arc<RustKey>,
}

#[pymethods]
impl SigningKey {
    #[staticmethod]
    fn from_pem(domain: &str, selector: &str, pem: &str) -> PyResult<Self> {
        guarded(|| {
            RustKey::from_pem(domain, selector, pem)
                .map(|k| SigningKey { inner: Arc::new(k) })
                .map_err(|e| SigningKeyError::new_err(e.0))
        })
    }

    #[getter]
    fn domain(&self) -> &str {
        &self.inner.domain
    }

    #[getter]
    fn selector(&self) -> &str {
        &self.inner.selector
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm()
    }

    fn dns_txt(&self) -> PyResult<String> {
        guarded(|| {
            self.inner
                .dns_txt()
                .map_err(|e| SigningKeyError::new_err(e.0))
        })
    }
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct Recipient {
    inner: Arc<RustRecipient>,
}

fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > 16 {
        return Err(RecipientError::new_err(
            "custom fields nest deeper than 16 levels",
        ));
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        Ok(Value::Bool(obj.extract()?))
    } else if obj.is_instance_of::<PyInt>() {
        // JSON numbers have no size limit: one beyond i64 is rendered from its decimal text.
        match obj.extract() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Ok(Value::Str(obj.str()?.extract()?)),
        }
    } else if obj.is_instance_of::<PyFloat>() {
        Ok(Value::Float(obj.extract()?))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::Str(obj.extract()?))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        to_map(d, depth + 1).map(Value::Map)
    } else {
        Err(PyTypeError::new_err(format!(
            "custom field values must be str, int, float, bool, None or dict, not {}",
            obj.get_type().name()?
        )))
    }
}

fn to_map(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<BTreeMap<String, Value>> {
    let mut m = BTreeMap::new();
    for (k, v) in d.iter() {
        m.insert(k.extract::<String>()?, to_value(&v, depth)?);
    }
    Ok(m)
}

#[pymethods]
impl Recipient {
    #[new]
    #[pyo3(signature = (
        tracking_id, email, *, unsubscribe_token, first_name=None, last_name=None, custom=None,
        preferences_token=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tracking_id: String,
        email: String,
        unsubscribe_token: String,
        first_name: Option<String>,
        last_name: Option<String>,
        custom: Option<&Bound<'_, PyDict>>,
        preferences_token: Option<String>,
    ) -> PyResult<Self> {
        guarded(|| {
            let custom = match custom {
                Some(d) => to_map(d, 0)?,
                None => BTreeMap::new(),
            };
            Ok(Recipient {
                inner: Arc::new(RustRecipient {
                    tracking_id,
                    email,
                    first_name: first_name.unwrap_or_default(),
                    last_name: last_name.unwrap_or_default(),
                    custom,
                    unsubscribe_token,
                    preferences_token,
                }),
            })
        })
    }

    #[getter]
    fn tracking_id(&self) -> &str {
        &self.inner.tracking_id
    }

    #[getter]
    fn email(&self) -> &str {
        &self.inner.email
    }
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct RenderedMessage {
    #[pyo3(get)]
    tracking_id: String,
    #[pyo3(get)]
    message_id: String,
    #[pyo3(get)]
    subject: String,
    #[pyo3(get)]
    data: Py<PyBytes>,
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct RenderedParts {
    #[pyo3(get)]
    tracking_id: String,
    #[pyo3(get)]
    message_id: String,
    #[pyo3(get)]
    subject: String,
    #[pyo3(get)]
    html: String,
    #[pyo3(get)]
    text: String,
    #[pyo3(get)]
    headers: Vec<(String, String)>,
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct RenderFailure {
    #[pyo3(get)]
    tracking_id: String,
    #[pyo3(get)]
    error: String,
}

#[pymethods]
impl RenderFailure {
    fn __repr__(&self) -> String {
        format!(
            "RenderFailure(tracking_id={:?}, error={:?})",
            self.tracking_id, self.error
        )
    }
}

#[pyfunction]
#[pyo3(signature = (
    template, recipients, keys=Vec::new(), *, output="mime", profile="default", timestamp=None,
    threads=None
))]
#[allow(clippy::too_many_arguments)]
fn render_batch(
    py: Python<'_>,
    template: &Bound<'_, CompiledTemplate>,
    recipients: Vec<Bound<'_, Recipient>>,
    keys: Vec<Bound<'_, SigningKey>>,
    output: &str,
    profile: &str,
    timestamp: Option<i64>,
    threads: Option<usize>,
) -> PyResult<Vec<Py<PyAny>>> {
    guarded(|| {
        let output = match output {
            "mime" => Output::Mime,
            "parts" => Output::Parts,
            o => {
                return Err(PyValueError::new_err(format!(
                    "output must be 'mime' or 'parts', not {o:?}"
                )))
            }
        };
        let profile = match profile {
            "default" => Profile::Default,
            "ses" => Profile::Ses,
            p => {
                return Err(PyValueError::new_err(format!(
                    "profile must be 'default' or 'ses', not {p:?}"
                )))
            }
        };
        let timestamp = match timestamp {
            Some(t) => t,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        };
        let threads = match threads {
            Some(0) => return Err(PyValueError::new_err("threads must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let compiled = template.get().inner.clone();
        let rust_recipients: Vec<Arc<RustRecipient>> =
            recipients.iter().map(|r| r.get().inner.clone()).collect();
        let rust_keys: Vec<Arc<RustKey>> = keys.iter().map(|k| k.get().inner.clone()).collect();
        let opts = BatchOptions {
            output,
            profile,
            timestamp,
        };
        let outcomes = detached(py, || {
            batch::render_batch(&compiled, &rust_recipients, &rust_keys, &opts, threads)
        })?;
        let mut out = Vec::with_capacity(outcomes.len());
        for (r, outcome) in rust_recipients.iter().zip(outcomes) {
            let tracking_id = r.tracking_id.clone();
            let obj: Py<PyAny> = match outcome {
                Err(error) => Py::new(py, RenderFailure { tracking_id, error })?.into_any(),
                Ok(res) => match res.rendered {
                    Rendered::Mime(data) => Py::new(
                        py,
                        RenderedMessage {
                            tracking_id,
                            message_id: res.message_id,
                            data: PyBytes::new(py, data.bytes()).unbind(),
                            subject: data.subject,
                        },
                    )?
                    .into_any(),
                    Rendered::Parts(p) => Py::new(
                        py,
                        RenderedParts {
                            tracking_id,
                            message_id: res.message_id,
                            subject: p.subject,
                            html: p.html,
                            text: p.text,
                            headers: p.headers,
                        },
                    )?
                    .into_any(),
                },
            };
            out.push(obj);
        }
        Ok(out)
    })
}

/// The message as SMTP DATA content (`smtp::data_content`). Microseconds: run with the GIL held.
#[pyfunction]
fn smtp_data<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    guarded(|| Ok(PyBytes::new(py, &crate::smtp::data_content(raw))))
}

#[pyfunction]
fn verify_click_token(secret: &[u8], token: &str) -> PyResult<Option<(String, u32)>> {
    guarded(|| Ok(verify_click(&TokenKey::new(secret), token)))
}

#[pyfunction]
fn verify_open_token(secret: &[u8], token: &str) -> PyResult<Option<String>> {
    guarded(|| Ok(verify_open(&TokenKey::new(secret), token)))
}

/// Panics on purpose, with the GIL held or released: the tests check that it comes out as
/// `InternalError`, since no input is known to make sender_rs panic.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, detach: bool) -> PyResult<()> {
    guarded(|| {
        if detach {
            detached(py, || panic!("on purpose, with the GIL released"))
        } else {
            panic!("on purpose, with the GIL held")
        }
    })
}

#[pymodule]
fn _sender_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    crate::py_errors::add_to(m)?;
    m.add_class::<TrackedLink>()?;
    m.add_class::<CompiledTemplate>()?;
    m.add_class::<SigningKey>()?;
    m.add_class::<Recipient>()?;
    m.add_class::<RenderedMessage>()?;
    m.add_class::<RenderedParts>()?;
    m.add_class::<RenderFailure>()?;
    m.add_function(wrap_pyfunction!(compile_template, m)?)?;
    m.add_function(wrap_pyfunction!(render_batch, m)?)?;
    m.add_function(wrap_pyfunction!(smtp_data, m)?)?;
    m.add_function(wrap_pyfunction!(verify_click_token, m)?)?;
    m.add_function(wrap_pyfunction!(verify_open_token, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
