//! Filling a parsed template's slots with one recipient's values.

use std::collections::BTreeMap;
use std::fmt;

use super::{Slot, Value, Var};

/// Per-recipient values the slots resolve against.
pub struct Context<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub custom: &'a BTreeMap<String, Value>,
    pub unsubscribe_url: &'a str,
    pub preferences_url: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes a slot's value with `write` (raw or escaped); falls back to the default when empty.
pub fn write_slot(
    slot: &Slot,
    ctx: &Context<'_>,
    out: &mut String,
    write: fn(&mut String, &str),
) -> Result<(), RenderError> {
    let number;
    let value: &str = match &slot.var {
        Var::FirstName => ctx.first_name,
        Var::LastName => ctx.last_name,
        Var::Email => ctx.email,
        Var::UnsubscribeUrl => ctx.unsubscribe_url,
        Var::PreferencesUrl => ctx.preferences_url,
        Var::Custom(path) => match lookup(ctx.custom, path) {
            None | Some(Value::Null) => "",
            Some(Value::Str(s)) => s,
            Some(Value::Bool(b)) => {
                if *b {
                    "true"
                } else {
                    "false"
                }
            }
            Some(Value::Int(i)) => {
                number = i.to_string();
                &number
            }
            Some(Value::Float(f)) => {
                number = f.to_string();
                &number
            }
            Some(Value::Map(_)) => {
                return Err(RenderError(format!(
                    "custom.{} is an object, not a value",
                    path.join(".")
                )))
            }
        },
    };
    let value = match (&slot.default, value.is_empty()) {
        (Some(d), true) => d.as_str(),
        _ => value,
    };
    if slot.url && !is_safe_link(value) {
        return Err(RenderError(format!(
            "{} is not an http(s), mailto or tel URL",
            slot.var
        )));
    }
    write(out, value);
    Ok(())
}

fn is_safe_link(value: &str) -> bool {
    let v = value.trim_start().as_bytes();
    ["http://", "https://", "mailto:", "tel:"]
        .iter()
        .any(|p| v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::FirstName => f.write_str("first_name"),
            Var::LastName => f.write_str("last_name"),
            Var::Email => f.write_str("email"),
            Var::UnsubscribeUrl => f.write_str("unsubscribe_url"),
            Var::PreferencesUrl => f.write_str("preferences_url"),
            Var::Custom(path) => write!(f, "custom.{}", path.join(".")),
        }
    }
}

fn lookup<'a>(map: &'a BTreeMap<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = map.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Value::Map(m) => lookup(m, rest),
        _ => None,
    }
}

pub fn write_raw(out: &mut String, s: &str) {
    out.push_str(s);
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn write_escaped(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}
