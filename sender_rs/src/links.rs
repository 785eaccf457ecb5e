//! Finding links in HTML and text, and the authenticated click and open tokens.
//!
//! Token formats (the tracking endpoints verify them with [`verify_click_token`] and
//! [`verify_open_token`]):
//! - click: `{tracking_id}.{link_index}.{mac}`, served at `{base_url}/t/c/{token}`;
//! - open: `{tracking_id}.{mac}`, served at `{base_url}/t/o/{token}.gif`;
//!
//! where `mac` is base64url (no padding) of the first 16 bytes (128 bits) of
//! HMAC-SHA256(campaign tracking secret, `"c\0" tracking_id "\0" link_index` or `"o\0" tracking_id`).
//! Tracking ids are 1–64 characters of `[A-Za-z0-9_-]`, so the dots are unambiguous.

use std::ops::Range;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const MAC_LEN: usize = 16;

/// Byte that replaces every byte of a `{{ }}` tag in a masked copy of a source.
pub const MASK: u8 = 0;

/// A copy of `src` with each tag's bytes replaced by [`MASK`], so scanners see no tag syntax and
/// byte offsets stay those of `src`.
pub fn masked(src: &str, tags: &[Range<usize>]) -> Vec<u8> {
    let mut m = src.as_bytes().to_vec();
    for r in tags {
        m[r.clone()].fill(MASK);
    }
    m
}

/// An `<a>` element's href found in (masked) HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Byte range of the href value (inside the quotes).
    pub href: Range<usize>,
    /// Byte range of a `data-track` attribute (with its leading whitespace), removed from output.
    pub data_track: Option<Range<usize>>,
    /// `data-track="false"`.
    pub opted_out: bool,
}

/// Finds `<a ...>` start tags and their `href` and `data-track` attributes.
pub fn find_anchors(html: &[u8]) -> Vec<Anchor> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rel) = memchr(b'<', &html[i..]) {
        let start = i + rel;
        i = start + 1;
        let is_a = html
            .get(start + 1)
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
            && html.get(start + 2).is_some_and(|b| b.is_ascii_whitespace());
        if !is_a {
            continue;
        }
        let mut anchor = Anchor {
            href: 0..0,
            data_track: None,
            opted_out: false,
        };
        let mut has_href = false;
        let mut p = start + 2;
        // Attribute loop: name[=value] pairs until '>'.
        loop {
            let ws_start = p;
            while p < html.len() && (html[p].is_ascii_whitespace() || html[p] == b'/') {
                p += 1;
            }
            if p >= html.len() || html[p] == b'>' {
                break;
            }
            let name_start = p;
            while p < html.len() && !html[p].is_ascii_whitespace() && !b"=>/".contains(&html[p]) {
                p += 1;
            }
            let name = &html[name_start..p];
            let mut value = p..p;
            let mut q = p;
            while q < html.len() && html[q].is_ascii_whitespace() {
                q += 1;
            }
            if q < html.len() && html[q] == b'=' {
                q += 1;
                while q < html.len() && html[q].is_ascii_whitespace() {
                    q += 1;
                }
                if q < html.len() && (html[q] == b'"' || html[q] == b'\'') {
                    let quote = html[q];
                    let v_start = q + 1;
                    let v_end = memchr(quote, &html[v_start..]).map_or(html.len(), |e| v_start + e);
                    value = v_start..v_end;
                    p = (v_end + 1).min(html.len());
                } else {
                    let v_start = q;
                    while q < html.len() && !html[q].is_ascii_whitespace() && html[q] != b'>' {
                        q += 1;
                    }
                    value = v_start..q;
                    p = q;
                }
            }
            if name.eq_ignore_ascii_case(b"href") && !has_href {
                has_href = true;
                anchor.href = value.clone();
            } else if name.eq_ignore_ascii_case(b"data-track") {
                anchor.data_track = Some(ws_start..p);
                anchor.opted_out = html[value].eq_ignore_ascii_case(b"false");
            }
            if p == name_start {
                p += 1;
            }
        }
        i = p;
        if has_href {
            out.push(anchor);
        }
    }
    out
}

pub fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

pub fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Decodes the character references that occur in href values (`&amp;` and friends).
pub fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Looked for in bytes: the 12th byte may fall inside a multi-byte character.
        let end = memchr(b';', &rest.as_bytes()[..rest.len().min(12)]);
        let decoded = end.and_then(|e| decode_entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// Finds http(s) URLs in (masked) text; URLs touching a masked tag are skipped (they vary per
/// recipient). Trailing sentence punctuation is not part of a URL.
pub fn find_text_urls(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let scheme = if starts_with_ci(rest, b"https://") {
            8
        } else if starts_with_ci(rest, b"http://") {
            7
        } else {
            i += 1;
            continue;
        };
        let start = i;
        let mut end = i + scheme;
        while end < text.len() && is_url_byte(text[end]) {
            end += 1;
        }
        while end > start + scheme && b".,;:!?)]}'\"".contains(&text[end - 1]) {
            end -= 1;
        }
        let touches_tag = text.get(end) == Some(&MASK) || (start > 0 && text[start - 1] == MASK);
        if end > start + scheme && !touches_tag {
            out.push(start..end);
        }
        i = end.max(start + 1);
    }
    out
}

fn starts_with_ci(hay: &[u8], prefix: &[u8]) -> bool {
    hay.len() >= prefix.len() && hay[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn is_url_byte(b: u8) -> bool {
    b > b' ' && b != MASK && !b"<>\"`{}|\\^".contains(&b) && b != 0x7f
}

pub fn valid_tracking_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The campaign's tracking key; HMAC state is precomputed once.
pub struct TokenKey(hmac::Key);

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        TokenKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn mac(&self, parts: &[&[u8]], out: &mut String) {
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        let tag = ctx.sign();
        URL_SAFE_NO_PAD.encode_string(&tag.as_ref()[..MAC_LEN], out);
    }

    pub fn write_click_token(&self, tracking_id: &str, index: u32, out: &mut String) {
        let digits = index.to_string();
        let idx = digits.as_str();
        out.push_str(tracking_id);
        out.push('.');
        out.push_str(idx);
        out.push('.');
        self.mac(
            &[b"c\0", tracking_id.as_bytes(), b"\0", idx.as_bytes()],
            out,
        );
    }

    pub fn write_open_token(&self, tracking_id: &str, out: &mut String) {
        out.push_str(tracking_id);
        out.push('.');
        self.mac(&[b"o\0", tracking_id.as_bytes()], out);
    }

    fn verify(&self, parts: &[&[u8]], mac: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        if given.len() != MAC_LEN {
            return false;
        }
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        let tag = ctx.sign();
        constant_time_eq(&tag.as_ref()[..MAC_LEN], &given)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `(tracking_id, link_index)` when the click token is authentic.
pub fn verify_click_token(key: &TokenKey, token: &str) -> Option<(String, u32)> {
    let mut it = token.splitn(3, '.');
    let (id, idx, mac) = (it.next()?, it.next()?, it.next()?);
    let index: u32 = idx.parse().ok()?;
    if !valid_tracking_id(id) || index.to_string() != idx {
        return None;
    }
    key.verify(&[b"c\0", id.as_bytes(), b"\0", idx.as_bytes()], mac)
        .then(|| (id.to_owned(), index))
}

/// The tracking id when the open token (without `.gif`) is authentic.
pub fn verify_open_token(key: &TokenKey, token: &str) -> Option<String> {
    let (id, mac) = token.split_once('.')?;
    (valid_tracking_id(id) && key.verify(&[b"o\0", id.as_bytes()], mac)).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_anchor_href_and_opt_out() {
        let html = br#"<p><A class=x HREF="https://a.example/?q=1&amp;r=2">a</A><a data-track="false" href='https://b'>b</a><a name=x>c</a><abbr>"#;
        let a = find_anchors(html);
        assert_eq!(a.len(), 2);
        assert_eq!(&html[a[0].href.clone()], b"https://a.example/?q=1&amp;r=2");
        assert!(!a[0].opted_out && a[0].data_track.is_none());
        assert_eq!(&html[a[1].href.clone()], b"https://b");
        assert!(a[1].opted_out);
        assert_eq!(
            &html[a[1].data_track.clone().unwrap()],
            br#" data-track="false""#
        );
    }

    #[test]
    fn unescapes_entities() {
        assert_eq!(html_unescape("a&amp;b&#39;&#x41;&bogus;"), "a&b'A&bogus;");
        // Twelve bytes after `&` end inside a character: no entity, and no slicing panic.
        assert_eq!(html_unescape("&éééééé;"), "&éééééé;");
        assert_eq!(
            html_unescape("Tom & 日本語テキスト"),
            "Tom & 日本語テキスト"
        );
        assert_eq!(html_unescape("&#xE9;&é"), "é&é");
    }

    #[test]
    fn finds_text_urls_without_trailing_punctuation() {
        let t = b"See https://a.example/x. Or (http://b.example/y), not ftp://c.";
        let urls: Vec<_> = find_text_urls(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(
            urls,
            vec![&b"https://a.example/x"[..], b"http://b.example/y"]
        );
    }

    #[test]
    fn urls_next_to_tags_are_not_tracked() {
        let src = "https://a.example/{{email}} ok";
        let tag = 18..27;
        let m = masked(src, std::slice::from_ref(&tag));
        assert!(find_text_urls(&m).is_empty());
    }

    #[test]
    fn click_tokens_round_trip_and_resist_tampering() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let mut t = String::new();
        key.write_click_token("r-42", 7, &mut t);
        assert_eq!(verify_click_token(&key, &t), Some(("r-42".into(), 7)));
        let forged = t.replace("r-42.7.", "r-42.8.");
        assert_eq!(verify_click_token(&key, &forged), None);
        let other = TokenKey::new(b"another secret of thirty-two b..");
        assert_eq!(verify_click_token(&other, &t), None);
        let mac = t.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(mac).unwrap().len() * 8, 128);

        let mut o = String::new();
        key.write_open_token("r-42", &mut o);
        assert_eq!(verify_open_token(&key, &o).as_deref(), Some("r-42"));
        assert_eq!(verify_open_token(&key, &t), None);
    }
}
