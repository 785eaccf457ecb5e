use pyo3::prelude::*;

#[pymodule]
fn _sender_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    Ok(())
}
