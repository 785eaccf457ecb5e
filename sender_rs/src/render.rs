//! Template language: `{{ name }}`, `{{ custom.a.b }}`, `{{ name | default: "x" }}`.
//!
//! Templates are parsed once per campaign into literal segments and slots; rendering a recipient
//! is then a walk over the segments that copies literals and writes slot values.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

mod fill;
pub use fill::{write_escaped, write_raw, write_slot, Context, RenderError};

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

#[cfg(test)]
mod tests;
