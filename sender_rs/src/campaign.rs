//! Compiling a campaign once: the subject, HTML, text and preheader templates, the tracked links
//! and the header fields that are the same for every recipient.

use std::collections::HashMap;

use crate::headers::{
    check_address, check_field_name, check_line, write_list_id, write_mailbox, write_phrase,
    write_unstructured, HeaderError,
};
use crate::links::{find_anchors, find_text_urls, html_unescape, is_http_url, masked, TokenKey};
use crate::render::{assemble, parse_tags, write_escaped, Seg, Template, TemplateError};
use crate::text::html_to_text;

/// A campaign's content. Under the `python` feature it is read, field by field, from the
/// attributes of a Python object (the port's `CampaignContent` dataclass in
/// `openmailer.core.ports.rendering`, which is the other place a field is declared).
#[cfg_attr(feature = "python", derive(pyo3::FromPyObject))]
pub struct CampaignSpec {
    pub campaign_id: String,
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
    pub preview_text: Option<String>,
    pub from_email: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub list_id: String,
    pub list_name: Option<String>,
    pub base_url: String,
    pub tracking_secret: Vec<u8>,
    pub track_opens: bool,
    pub track_clicks: bool,
    pub unsubscribe_mailto: Option<String>,
    pub extra_headers: Vec<(String, String)>,
    /// False for mail that belongs to no list (transactional): no List-Unsubscribe,
    /// List-Unsubscribe-Post or List-Id is written, and the signatures still oversign the first
    /// two so that nobody can add them on the way.
    pub list_headers: bool,
}

#[derive(Debug)]
pub enum CompileError {
    Template(TemplateError),
    Header(HeaderError),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Template(e) => e.fmt(f),
            CompileError::Header(e) => e.fmt(f),
        }
    }
}

impl From<TemplateError> for CompileError {
    fn from(e: TemplateError) -> Self {
        CompileError::Template(e)
    }
}

impl From<HeaderError> for CompileError {
    fn from(e: HeaderError) -> Self {
        CompileError::Header(e)
    }
}

/// Header fields generated per recipient; extra headers may not replace them.
const RESERVED: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "dkim-signature",
    "sender",
    "return-path",
];

pub struct Compiled {
    pub campaign_id: String,
    pub subject: Template,
    pub html: Template,
    pub text: Template,
    /// Tracked link URLs; the position is the link index.
    pub links: Vec<String>,
    pub token_key: TokenKey,
    pub base_url: String,
    pub sender_domain: String,
    pub from_email: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub list_id: String,
    pub list_name: Option<String>,
    pub unsubscribe_mailto: Option<String>,
    pub extra_headers: Vec<(String, String)>,
    pub list_headers: bool,
    /// Pre-encoded fields: From, Reply-To, List-Id, extra headers (each ending in CRLF).
    pub from_field: String,
    pub reply_to_field: Option<String>,
    pub list_id_field: String,
    pub extra_fields: Vec<(String, String)>,
}

pub fn valid_id(id: &str) -> bool {
    crate::links::valid_tracking_id(id)
}

pub fn compile(spec: CampaignSpec) -> Result<Compiled, CompileError> {
    let bad = |m: String| CompileError::Header(HeaderError(m));
    if !valid_id(&spec.campaign_id) {
        return Err(bad(format!(
            "campaign_id must be 1-64 of [A-Za-z0-9_-]: {:?}",
            spec.campaign_id
        )));
    }
    if spec.tracking_secret.len() < 16 {
        return Err(bad("tracking_secret must be at least 16 bytes".into()));
    }
    let base_url = spec.base_url.trim_end_matches('/').to_owned();
    let url_ok = is_http_url(&base_url)
        && base_url.len() <= 200
        && base_url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"'`{}|\\^".contains(&b));
    if !url_ok {
        return Err(bad(format!(
            "base_url must be an http(s) URL: {:?}",
            spec.base_url
        )));
    }
    check_address("from_email", &spec.from_email)?;
    if let Some(r) = &spec.reply_to {
        check_address("reply_to", r)?;
    }
    if let Some(m) = &spec.unsubscribe_mailto {
        check_address("unsubscribe_mailto", m)?;
    }
    for (what, v) in [
        ("from_name", &spec.from_name),
        ("list_name", &spec.list_name),
    ] {
        if let Some(v) = v {
            check_line(what, v)?;
        }
    }
    if !crate::headers::valid_domain(&spec.list_id) {
        return Err(bad(format!(
            "list_id must be a dot-atom like news.example.com: {:?}",
            spec.list_id
        )));
    }
    check_line("subject", &spec.subject)?;
    let sender_domain = spec
        .from_email
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();

    let subject_tags = parse_tags("subject", &spec.subject)?;
    let subject = assemble(&spec.subject, subject_tags, vec![]);

    let preview = match &spec.preview_text {
        Some(p) if !p.is_empty() => Some(compile_preview(p)?),
        _ => None,
    };

    let mut links = LinkTable::default();
    let mut html_tags = parse_tags("html", &spec.html)?;
    let tag_ranges: Vec<_> = html_tags.iter().map(|t| t.range.clone()).collect();
    let html_masked = masked(&spec.html, &tag_ranges);
    let mut replacements = Vec::new();
    let mut opted_out = Vec::new();
    for a in find_anchors(&html_masked) {
        let raw_href = &spec.html[a.href.clone()];
        let has_tag = html_masked[a.href.clone()].contains(&crate::links::MASK);
        let url = html_unescape(raw_href.trim());
        let value_start = a.href.start + (raw_href.len() - raw_href.trim_start().len());
        if let Some(tag) = html_tags.iter_mut().find(|t| t.range.start == value_start) {
            tag.slot.url = true;
        }
        if let Some(r) = a.data_track.clone() {
            replacements.push((r, Template::default()));
        }
        if a.opted_out {
            opted_out.push(url);
            continue;
        }
        if spec.track_clicks && !has_tag && is_http_url(&url) {
            replacements.push((a.href.clone(), Template::of(Seg::Click(links.index(url)))));
        }
    }
    if let Some(p) = &preview {
        let at = body_open_end(&html_masked).unwrap_or(0);
        let mut segs = Template::default();
        segs.push_lit("<div style=\"display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;\">");
        segs.extend(p);
        segs.push_lit("</div>");
        replacements.push((at..at, segs));
    }
    if spec.track_opens {
        let at = body_close_start(&html_masked).unwrap_or(spec.html.len());
        replacements.push((at..at, Template::of(Seg::Pixel)));
    }
    let html = assemble(&spec.html, html_tags, replacements);

    let text_src = match &spec.text {
        Some(t) => t.replace("\r\n", "\n"),
        None => html_to_text(&spec.html, &html_masked, &tag_ranges),
    };
    let text_tags = parse_tags("text", &text_src)?;
    let text_ranges: Vec<_> = text_tags.iter().map(|t| t.range.clone()).collect();
    let mut text_repl = Vec::new();
    if spec.track_clicks {
        for r in find_text_urls(&masked(&text_src, &text_ranges)) {
            let url = text_src[r.clone()].to_owned();
            if !opted_out.contains(&url) {
                text_repl.push((r, Template::of(Seg::Click(links.index(url)))));
            }
        }
    }
    let text = assemble(&text_src, text_tags, text_repl);

    let mut from_field = String::from("From: ");
    write_mailbox(
        &mut from_field,
        spec.from_name.as_deref(),
        &spec.from_email,
        write_phrase,
    );
    from_field.push_str("\r\n");
    let reply_to_field = spec.reply_to.as_ref().map(|r| format!("Reply-To: {r}\r\n"));
    let mut list_id_field = String::from("List-Id: ");
    write_list_id(
        &mut list_id_field,
        spec.list_name.as_deref(),
        &spec.list_id,
        write_phrase,
    );
    list_id_field.push_str("\r\n");

    let mut extra_fields = Vec::new();
    for (name, value) in &spec.extra_headers {
        check_field_name(name)?;
        check_line(name, value)?;
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "extra header {name:?} is generated by the sender"
            )));
        }
        let mut f = String::new();
        write_unstructured(&mut f, name, value);
        extra_fields.push((name.clone(), f));
    }

    Ok(Compiled {
        campaign_id: spec.campaign_id,
        subject,
        html,
        text,
        links: links.urls,
        token_key: TokenKey::new(&spec.tracking_secret),
        base_url,
        sender_domain,
        from_email: spec.from_email,
        from_name: spec.from_name,
        reply_to: spec.reply_to,
        list_id: spec.list_id,
        list_name: spec.list_name,
        unsubscribe_mailto: spec.unsubscribe_mailto,
        extra_headers: spec.extra_headers,
        list_headers: spec.list_headers,
        from_field,
        reply_to_field,
        list_id_field,
        extra_fields,
    })
}

#[derive(Default)]
struct LinkTable {
    urls: Vec<String>,
    by_url: HashMap<String, u32>,
}

impl LinkTable {
    fn index(&mut self, url: String) -> u32 {
        if let Some(&i) = self.by_url.get(&url) {
            return i;
        }
        let i = self.urls.len() as u32;
        self.by_url.insert(url.clone(), i);
        self.urls.push(url);
        i
    }
}

/// The preheader is plain text: its literals are HTML-escaped once here.
fn compile_preview(src: &str) -> Result<Template, TemplateError> {
    let tags = parse_tags("preview_text", src)?;
    let raw = assemble(src, tags, vec![]);
    let mut t = Template::default();
    for seg in &raw.segs {
        match seg {
            Seg::Lit(r) => {
                let mut esc = String::new();
                write_escaped(&mut esc, &raw.lits[r.clone()]);
                t.push_lit(&esc);
            }
            s => t.push(s.clone()),
        }
    }
    Ok(t)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Offset just after the `<body ...>` start tag.
fn body_open_end(html: &[u8]) -> Option<usize> {
    let start = find_ci(html, b"<body")?;
    let end = html[start..].iter().position(|&b| b == b'>')?;
    Some(start + end + 1)
}

/// Offset of the last `</body>`.
fn body_close_start(html: &[u8]) -> Option<usize> {
    html.windows(b"</body".len())
        .rposition(|w| w.eq_ignore_ascii_case(b"</body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(html: &str) -> CampaignSpec {
        CampaignSpec {
            campaign_id: "c1".into(),
            subject: "Hi".into(),
            html: html.into(),
            text: None,
            preview_text: Some("Preheader".into()),
            from_email: "news@acme.example".into(),
            from_name: None,
            reply_to: None,
            list_id: "news.acme.example".into(),
            list_name: None,
            base_url: "https://mail.acme.example".into(),
            tracking_secret: vec![7; 32],
            track_opens: true,
            track_clicks: true,
            unsubscribe_mailto: None,
            extra_headers: vec![],
            list_headers: true,
        }
    }

    #[test]
    fn html_shorter_than_a_body_tag_compiles() {
        // Every length up to and past `</body` (six bytes), which used to be sliced out of range.
        for html in [
            "",
            "h",
            "hi",
            "<p>",
            "</bod",
            "</body",
            "</BODY>",
            "é",
            "{{email}}",
        ] {
            let c = compile(spec(html)).unwrap_or_else(|e| panic!("{html:?}: {e}"));
            assert!(c.html.segs.contains(&Seg::Pixel), "{html:?}");
        }
    }

    #[test]
    fn pixel_goes_before_the_last_closing_body_tag() {
        let html = "<body>a</body>b</Body>";
        assert_eq!(body_close_start(html.as_bytes()), Some(15));
        assert_eq!(body_open_end(html.as_bytes()), Some(6));
        assert_eq!(body_close_start(b"</bod"), None);
        assert_eq!(body_open_end(b"<body"), None);
    }
}
