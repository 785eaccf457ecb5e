//! Template language: `{{ name }}`, `{{ custom.a.b }}`, `{{ name | default: "x" }}`.
//!
//! Templates are parsed once per campaign into literal segments and slots; rendering a recipient
//! is then a walk over the segments that copies literals and writes slot values.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// A contact's custom field value (the JSON types the platform stores).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(BTreeMap<String, Value>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    FirstName,
    LastName,
    Email,
    Custom(Vec<String>),
    UnsubscribeUrl,
    PreferencesUrl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub var: Var,
    pub default: Option<String>,
    /// The slot starts an href: its value must be an http(s), mailto or tel URL, so a contact
    /// field cannot turn a link into `javascript:` or `data:`.
    pub url: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// Byte range into the template's literal buffer.
    Lit(Range<usize>),
    Var(Slot),
    /// The click-tracking URL of the tracked link with this index.
    Click(u32),
    /// The open-tracking pixel `<img>` element.
    Pixel,
}

/// A compiled part: segments plus the literal bytes they index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pub lits: String,
    pub segs: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub part: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, line {}, column {}: {}",
            self.part, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for TemplateError {}

/// A variable tag found in a source text: its byte range and the slot it denotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub range: Range<usize>,
    pub slot: Slot,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn error_at(
    part: &'static str,
    src: &str,
    offset: usize,
    message: impl Into<String>,
) -> TemplateError {
    let (line, column) = line_col(src, offset);
    TemplateError {
        part,
        line,
        column,
        message: message.into(),
    }
}

/// Finds every `{{ ... }}` tag in `src`, rejecting unknown variables and malformed tags.
pub fn parse_tags(part: &'static str, src: &str) -> Result<Vec<Tag>, TemplateError> {
    let mut tags = Vec::new();
    let mut pos = 0;
    while let Some(rel) = src[pos..].find("{{") {
        let start = pos + rel;
        let body_start = start + 2;
        let end = find_tag_end(src, body_start)
            .ok_or_else(|| error_at(part, src, start, "unclosed '{{' (expected '}}')"))?;
        let slot = parse_slot(&src[body_start..end])
            .map_err(|(off, msg)| error_at(part, src, body_start + off, msg))?;
        tags.push(Tag {
            range: start..end + 2,
            slot,
        });
        pos = end + 2;
    }
    Ok(tags)
}

/// The offset of the `}}` closing a tag whose body starts at `from`, honouring quoted defaults.
fn find_tag_end(src: &str, from: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' && i + 1 < bytes.len() => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'\n' => return None,
            None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

type SlotError = (usize, String);

fn parse_slot(body: &str) -> Result<Slot, SlotError> {
    let mut p = Cursor { s: body, i: 0 };
    p.skip_ws();
    let name_start = p.i;
    let name = p.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if name.is_empty() {
        return Err((name_start, "expected a variable name".into()));
    }
    let var = resolve_var(name).map_err(|m| (name_start, m))?;
    p.skip_ws();
    let mut default = None;
    if p.eat('|') {
        p.skip_ws();
        let filter_start = p.i;
        let filter = p.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if filter != "default" {
            return Err((
                filter_start,
                format!("unknown filter {filter:?} (only 'default')"),
            ));
        }
        p.skip_ws();
        if !p.eat(':') {
            return Err((p.i, "expected ':' after 'default'".into()));
        }
        p.skip_ws();
        default = Some(p.string_literal()?);
        p.skip_ws();
    }
    if p.i != body.len() {
        return Err((p.i, format!("unexpected {:?} in tag", &body[p.i..])));
    }
    Ok(Slot {
        var,
        default,
        url: false,
    })
}

fn resolve_var(name: &str) -> Result<Var, String> {
    Ok(match name {
        "first_name" => Var::FirstName,
        "last_name" => Var::LastName,
        "email" => Var::Email,
        "unsubscribe_url" => Var::UnsubscribeUrl,
        "preferences_url" => Var::PreferencesUrl,
        _ => match name.strip_prefix("custom.") {
            Some(path) if path.split('.').all(|p| !p.is_empty()) => {
                Var::Custom(path.split('.').map(str::to_owned).collect())
            }
            _ => return Err(format!("unknown variable {name:?}")),
        },
    })
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t');
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.i;
        for c in self.s[start..].chars() {
            if !f(c) {
                break;
            }
            self.i += c.len_utf8();
        }
        &self.s[start..self.i]
    }
    fn eat(&mut self, c: char) -> bool {
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn string_literal(&mut self) -> Result<String, SlotError> {
        let start = self.i;
        let quote = match self.s[self.i..].chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err((start, "expected a quoted string".into())),
        };
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.s[self.i..].char_indices();
        while let Some((off, c)) = chars.next() {
            if c == quote {
                self.i += off + 1;
                return Ok(out);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err((start, "unterminated string".into()))
    }
}

/// Assembles segments from a source, its tags and extra replacements (byte range → segments).
///
/// Replacements never overlap tags: callers find them on a copy of the source with tags masked.
pub fn assemble(
    src: &str,
    tags: Vec<Tag>,
    replacements: Vec<(Range<usize>, Template)>,
) -> Template {
    let mut all: Vec<(Range<usize>, Template)> = tags
        .into_iter()
        .map(|t| (t.range, Template::of(Seg::Var(t.slot))))
        .chain(replacements)
        .collect();
    all.sort_by_key(|(r, _)| (r.start, r.end));
    let mut t = Template::default();
    let mut pos = 0;
    for (range, repl) in all {
        if range.start < pos {
            continue;
        }
        t.push_lit(&src[pos..range.start]);
        t.extend(&repl);
        pos = range.end;
    }
    t.push_lit(&src[pos..]);
    t
}

impl Template {
    /// A template of one non-literal segment (an empty template for `None`).
    pub fn of(seg: Seg) -> Self {
        let mut t = Template::default();
        t.push(seg);
        t
    }

    pub fn push_lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let start = self.lits.len();
        self.lits.push_str(s);
        // Adjacent literals merge so rendering copies fewer, larger slices.
        if let Some(Seg::Lit(r)) = self.segs.last_mut() {
            if r.end == start {
                r.end = self.lits.len();
                return;
            }
        }
        self.segs.push(Seg::Lit(start..self.lits.len()));
    }

    pub fn push(&mut self, seg: Seg) {
        match seg {
            Seg::Lit(_) => unreachable!("literals are pushed with push_lit"),
            other => self.segs.push(other),
        }
    }

    /// Appends another template's segments (used to splice the preheader into the HTML).
    pub fn extend(&mut self, other: &Template) {
        for seg in &other.segs {
            match seg {
                Seg::Lit(r) => self.push_lit(&other.lits[r.clone()]),
                s => self.push(s.clone()),
            }
        }
    }

    pub fn literal_len(&self) -> usize {
        self.lits.len()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with<'a>(custom: &'a BTreeMap<String, Value>) -> Context<'a> {
        Context {
            first_name: "Ada",
            last_name: "",
            email: "ada@example.com",
            custom,
            unsubscribe_url: "https://u",
            preferences_url: "https://p",
        }
    }

    fn render(src: &str, custom: &BTreeMap<String, Value>, esc: bool) -> String {
        let tags = parse_tags("html", src).unwrap();
        let t = assemble(src, tags, vec![]);
        let mut out = String::new();
        let ctx = ctx_with(custom);
        for s in &t.segs {
            match s {
                Seg::Lit(r) => out.push_str(&t.lits[r.clone()]),
                Seg::Var(slot) => {
                    let w = if esc { write_escaped } else { write_raw };
                    write_slot(slot, &ctx, &mut out, w).unwrap()
                }
                _ => unreachable!(),
            }
        }
        out
    }

    #[test]
    fn renders_variables_defaults_and_nested_custom_fields() {
        let mut addr = BTreeMap::new();
        addr.insert("city".to_string(), Value::Str("Brisbane".into()));
        let mut custom = BTreeMap::new();
        custom.insert("address".to_string(), Value::Map(addr));
        custom.insert("n".to_string(), Value::Int(3));
        let src = "Hi {{first_name}} {{ last_name | default: \"there\" }}, {{custom.address.city}} {{custom.n}}{{custom.none|default:'-'}}";
        assert_eq!(render(src, &custom, false), "Hi Ada there, Brisbane 3-");
    }

    #[test]
    fn escapes_in_html() {
        let custom = BTreeMap::new();
        let mut ctx = ctx_with(&custom);
        ctx.first_name = "<script>alert(1)</script>";
        let mut out = String::new();
        let slot = Slot {
            var: Var::FirstName,
            default: None,
            url: false,
        };
        write_slot(&slot, &ctx, &mut out, write_escaped).unwrap();
        assert_eq!(out, "&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    #[test]
    fn unknown_variable_reports_line_and_column() {
        let err = parse_tags("html", "line one\n  ab {{ nope }}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 9));
        assert!(err.message.contains("unknown variable"));
    }

    #[test]
    fn malformed_tags_are_rejected() {
        for src in [
            "{{ first_name",
            "{{}}",
            "{{ first_name | upper }}",
            "{{ email | default: x }}",
            "{{ custom. }}",
            "{{ a b }}",
        ] {
            assert!(parse_tags("subject", src).is_err(), "{src}");
        }
        let err = parse_tags("subject", "x {{ first_name").unwrap_err();
        assert_eq!((err.line, err.column), (1, 3));
    }

    #[test]
    fn default_may_contain_braces() {
        let tags = parse_tags("html", "{{ first_name | default: \"}}\" }}").unwrap();
        assert_eq!(tags[0].slot.default.as_deref(), Some("}}"));
    }

    #[test]
    fn slots_starting_an_href_only_take_web_mail_or_tel_urls() {
        let mut custom = BTreeMap::new();
        custom.insert("u".to_string(), Value::Str(" JavaScript:alert(1)".into()));
        custom.insert("ok".to_string(), Value::Str("HTTPS://x.example".into()));
        let ctx = ctx_with(&custom);
        let slot = |name: &str| Slot {
            var: Var::Custom(vec![name.into()]),
            default: None,
            url: true,
        };
        assert!(write_slot(&slot("u"), &ctx, &mut String::new(), write_escaped).is_err());
        assert!(write_slot(&slot("ok"), &ctx, &mut String::new(), write_escaped).is_ok());
    }

    #[test]
    fn object_custom_value_is_a_render_error() {
        let mut custom = BTreeMap::new();
        custom.insert("a".to_string(), Value::Map(BTreeMap::new()));
        let ctx = ctx_with(&custom);
        let slot = Slot {
            var: Var::Custom(vec!["a".into()]),
            default: None,
            url: false,
        };
        assert!(write_slot(&slot, &ctx, &mut String::new(), write_raw).is_err());
    }
}
