//! The PyO3 binding layer: the only module that touches Python. Inputs are converted to Rust
//! values, then the whole batch runs with the GIL released.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use crate::batch::{self, BatchOptions, Output, Profile, Recipient as RustRecipient, Rendered};
use crate::campaign::{compile, CampaignSpec, CompileError, Compiled};
use crate::dkim::SigningKey as RustKey;
use crate::links::{
    verify_click_token as verify_click, verify_open_token as verify_open, TokenKey,
};
use crate::render::Value;

fn error(py: Python<'_>, class: &str, args: String) -> PyErr {
    let built = py
        .import("sender_rs.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call1((args,)));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn compile_error(py: Python<'_>, e: CompileError) -> PyErr {
    match e {
        CompileError::Template(t) => {
            let built = py
                .import("sender_rs.errors")
                .and_then(|m| m.getattr("TemplateError"))
                .and_then(|cls| cls.call1((t.message.clone(), t.part, t.line, t.column)));
            match built {
                Ok(exc) => PyErr::from_value(exc),
                Err(err) => err,
            }
        }
        CompileError::Header(h) => error(py, "HeaderError", h.0),
    }
}

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

#[pyfunction]
#[pyo3(signature = (
    *, campaign_id, subject, html, from_email, list_id, base_url, tracking_secret,
    text=None, preview_text=None, from_name=None, reply_to=None, list_name=None,
    track_opens=true, track_clicks=true, unsubscribe_mailto=None, extra_headers=Vec::new()
))]
#[allow(clippy::too_many_arguments)]
fn compile_template(
    py: Python<'_>,
    campaign_id: String,
    subject: String,
    html: String,
    from_email: String,
    list_id: String,
    base_url: String,
    tracking_secret: Vec<u8>,
    text: Option<String>,
    preview_text: Option<String>,
    from_name: Option<String>,
    reply_to: Option<String>,
    list_name: Option<String>,
    track_opens: bool,
    track_clicks: bool,
    unsubscribe_mailto: Option<String>,
    extra_headers: Vec<(String, String)>,
) -> PyResult<CompiledTemplate> {
    let spec = CampaignSpec {
        campaign_id,
        subject,
        html,
        text,
        preview_text,
        from_email,
        from_name,
        reply_to,
        list_id,
        list_name,
        base_url,
        tracking_secret,
        track_opens,
        track_clicks,
        unsubscribe_mailto,
        extra_headers,
    };
    let compiled = py
        .detach(|| compile(spec))
        .map_err(|e| compile_error(py, e))?;
    Ok(CompiledTemplate {
        inner: Arc::new(compiled),
    })
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct SigningKey {
    inner: Arc<RustKey>,
}

#[pymethods]
impl SigningKey {
    #[staticmethod]
    fn from_pem(py: Python<'_>, domain: &str, selector: &str, pem: &str) -> PyResult<Self> {
        RustKey::from_pem(domain, selector, pem)
            .map(|k| SigningKey { inner: Arc::new(k) })
            .map_err(|e| error(py, "SigningKeyError", e.0))
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

    fn dns_txt(&self, py: Python<'_>) -> PyResult<String> {
        self.inner
            .dns_txt()
            .map_err(|e| error(py, "SigningKeyError", e.0))
    }
}

#[pyclass(frozen, module = "sender_rs._sender_rs")]
pub struct Recipient {
    inner: Arc<RustRecipient>,
}

fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > 16 {
        return Err(PyValueError::new_err(
            "custom fields nest deeper than 16 levels",
        ));
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        Ok(Value::Bool(obj.extract()?))
    } else if obj.is_instance_of::<PyInt>() {
        Ok(Value::Int(obj.extract()?))
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
    let outcomes =
        py.detach(|| batch::render_batch(&compiled, &rust_recipients, &rust_keys, &opts, threads));
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
}

#[pyfunction]
fn verify_click_token(secret: &[u8], token: &str) -> Option<(String, u32)> {
    verify_click(&TokenKey::new(secret), token)
}

#[pyfunction]
fn verify_open_token(secret: &[u8], token: &str) -> Option<String> {
    verify_open(&TokenKey::new(secret), token)
}

#[pymodule]
fn _sender_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    m.add_class::<TrackedLink>()?;
    m.add_class::<CompiledTemplate>()?;
    m.add_class::<SigningKey>()?;
    m.add_class::<Recipient>()?;
    m.add_class::<RenderedMessage>()?;
    m.add_class::<RenderedParts>()?;
    m.add_class::<RenderFailure>()?;
    m.add_function(wrap_pyfunction!(compile_template, m)?)?;
    m.add_function(wrap_pyfunction!(render_batch, m)?)?;
    m.add_function(wrap_pyfunction!(verify_click_token, m)?)?;
    m.add_function(wrap_pyfunction!(verify_open_token, m)?)?;
    Ok(())
}
