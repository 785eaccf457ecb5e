//! Deriving a readable text part from the HTML template (once per campaign).
//!
//! Works on the template source, so `{{ }}` tags are carried over verbatim and become slots of the
//! text template. Links become `label <url>`; the text compiler then tracks those URLs.

use std::ops::Range;

use crate::links::{html_unescape, memchr, MASK};

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "table",
    "ul",
    "ol",
    "blockquote",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "center",
];
const SKIPPED: &[&str] = &["head", "style", "script", "title", "noscript"];

/// `html` is the template source, `masked` the same bytes with tags masked, `tags` their ranges.
pub fn html_to_text(html: &str, masked: &[u8], tags: &[Range<usize>]) -> String {
    let mut w = Writer::default();
    let mut tag_iter = tags.iter().peekable();
    let mut i = 0;
    let mut link: Option<(String, usize)> = None; // (href, output length when the <a> opened)
    while i < masked.len() {
        let b = masked[i];
        if b == MASK {
            // A template tag: copy it whole so it becomes a slot of the text template.
            while tag_iter.peek().is_some_and(|r| r.end <= i) {
                tag_iter.next();
            }
            // A NUL of the source itself is one byte of text, not the start of the next tag.
            let r = match tag_iter.peek() {
                Some(&r) if r.start <= i => r.clone(),
                _ => i..i + 1,
            };
            w.word(&html[r.clone()]);
            i = r.end;
            continue;
        }
        if b == b'<' {
            if masked[i..].starts_with(b"<!--") {
                i = find(masked, i + 4, b"-->").map_or(masked.len(), |e| e + 3);
                continue;
            }
            let end = memchr(b'>', &masked[i..]).map_or(masked.len(), |e| i + e + 1);
            let tag = &html[i..end];
            let (name, closing) = tag_name(tag);
            i = end;
            if !closing && SKIPPED.contains(&name.as_str()) {
                let close = format!("</{name}");
                i = find_ci(masked, i, close.as_bytes()).unwrap_or(masked.len());
                continue;
            }
            match (name.as_str(), closing) {
                ("a", false) => {
                    link = attr(tag, "href").map(|h| (html_unescape(h.trim()), w.out.len()));
                }
                ("a", true) => {
                    if let Some((href, at)) = link.take() {
                        let label = w.out[at..].trim().to_owned();
                        let is_web = crate::links::is_http_url(&href) || href.starts_with("{{");
                        if is_web && label != href {
                            w.space = true;
                            w.word(&format!("<{href}>"));
                        }
                    }
                }
                ("li", false) => {
                    w.newline();
                    w.word("- ");
                }
                ("img", false) => {
                    if let Some(alt) = attr(tag, "alt").filter(|a| !a.trim().is_empty()) {
                        w.word(&html_unescape(alt.trim()));
                    }
                }
                (n, _) if BLOCKS.contains(&n) => {
                    if n == "p" || n.starts_with('h') || n == "table" {
                        w.paragraph();
                    } else {
                        w.newline();
                    }
                }
                _ => {}
            }
            continue;
        }
        let next = masked[i..]
            .iter()
            .position(|&c| c == b'<' || c == MASK)
            .map_or(masked.len(), |p| i + p);
        let chunk = html_unescape(&html[i..next]);
        let is_ws = |c: char| c.is_whitespace() && c != '\u{a0}';
        if chunk.starts_with(is_ws) {
            w.space = true;
        }
        for (k, word) in chunk.split(is_ws).filter(|s| !s.is_empty()).enumerate() {
            if k > 0 {
                w.space = true;
            }
            w.word(&word.replace('\u{a0}', " "));
        }
        if chunk.ends_with(is_ws) {
            w.space = true;
        }
        i = next;
    }
    w.finish()
}

#[derive(Default)]
struct Writer {
    out: String,
    space: bool,
    newlines: usize,
}

impl Writer {
    fn word(&mut self, s: &str) {
        if self.space && self.newlines == 0 && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(s);
        self.space = false;
        self.newlines = 0;
    }
    fn newline(&mut self) {
        if !self.out.is_empty() && self.newlines < 1 {
            self.out.push('\n');
            self.newlines = 1;
        }
        self.space = false;
    }
    fn paragraph(&mut self) {
        while !self.out.is_empty() && self.newlines < 2 {
            self.out.push('\n');
            self.newlines += 1;
        }
        self.space = false;
    }
    fn finish(self) -> String {
        let lines: Vec<&str> = self.out.lines().map(str::trim_end).collect();
        let mut s = lines.join("\n").trim().to_owned();
        s.push('\n');
        s
    }
}

fn tag_name(tag: &str) -> (String, bool) {
    let inner = tag.trim_start_matches('<');
    let closing = inner.starts_with('/');
    let name: String = inner
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (name.to_ascii_lowercase(), closing)
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find(name) {
        let at = from + p;
        from = at + name.len();
        let before_ok = lower[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let vstart = tag.len() - rest.len() + 1;
        let v = tag[vstart..].trim_start();
        let off = tag.len() - v.len();
        return Some(match v.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = tag[off + 1..].find(q).map_or(tag.len(), |e| off + 1 + e);
                &tag[off + 1..end]
            }
            _ => {
                let end = v
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(v.len());
                &v[..end]
            }
        });
    }
    None
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::masked;
    use crate::render::parse_tags;

    fn convert(html: &str) -> String {
        let tags: Vec<_> = parse_tags("html", html)
            .unwrap()
            .into_iter()
            .map(|t| t.range)
            .collect();
        html_to_text(html, &masked(html, &tags), &tags)
    }

    #[test]
    fn converts_blocks_links_and_entities() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\n<h1>Hello {{ first_name | default: \"there\" }}</h1>\n<p>Fish &amp; chips,\n   <a href=\"https://shop.example/?a=1&amp;b=2\">order</a> now.</p><ul><li>one</li><li>two</li></ul><p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p></body></html>";
        assert_eq!(
            convert(html),
            "Hello {{ first_name | default: \"there\" }}\n\nFish & chips, order <https://shop.example/?a=1&b=2> now.\n\n- one\n- two\n\nUnsubscribe <{{unsubscribe_url}}>\n"
        );
    }

    #[test]
    fn a_nul_in_the_source_is_text() {
        assert_eq!(
            convert("<p>a\0b more {{email}} c</p>"),
            "a\0b more {{email}} c\n"
        );
    }

    #[test]
    fn link_whose_label_is_its_url_is_written_once() {
        assert_eq!(
            convert("<a href=\"https://x.example\">https://x.example</a>"),
            "https://x.example\n"
        );
    }
}
