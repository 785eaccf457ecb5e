//! Header field construction: validation (no CR, LF or NUL ever reaches a header), RFC 2047
//! encoded-words, folding and RFC 5322 dates.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError(pub String);

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HeaderError {}

/// Rejects CR, LF and NUL: a header input containing them is an injection attempt, not text.
pub fn check_line(what: &str, value: &str) -> Result<(), HeaderError> {
    match value.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(b) => Err(HeaderError(format!(
            "{what} contains a forbidden character (0x{b:02x})"
        ))),
        None => Ok(()),
    }
}

/// A plain ASCII addr-spec (`local@domain`) that needs no quoting; SMTPUTF8 is not used.
pub fn check_address(what: &str, addr: &str) -> Result<(), HeaderError> {
    check_line(what, addr)?;
    let bad = || HeaderError(format!("{what} is not a valid email address: {addr:?}"));
    let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(atext)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || !valid_domain(domain) {
        return Err(bad());
    }
    Ok(())
}

pub fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Header field names: printable ASCII except colon (RFC 5322 ftext).
pub fn check_field_name(name: &str) -> Result<(), HeaderError> {
    if name.is_empty()
        || name.len() > 76
        || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
    {
        return Err(HeaderError(format!("invalid header field name {name:?}")));
    }
    Ok(())
}

/// Non-ASCII, controls, `=?` (would read as an encoded-word) and whitespace that folding could
/// not preserve (leading, trailing or doubled spaces).
fn needs_encoding(s: &str) -> bool {
    s.bytes().any(|b| !(0x20..0x7f).contains(&b))
        || s.contains("=?")
        || s.contains("  ")
        || s.starts_with(' ')
        || s.ends_with(' ')
}

/// Appends `Name: value` folded at spaces to at most 78 characters per line, encoding the value
/// as RFC 2047 base64 words when it is not plain ASCII (or has a word too long to fold).
pub fn write_unstructured(out: &mut String, name: &str, value: &str) {
    let too_long_word = value
        .split(' ')
        .any(|w| w.len() > 78 - 2 - name.len().min(20));
    if needs_encoding(value) || too_long_word {
        write_encoded_words(out, name, value);
    } else {
        write_folded(out, name, value);
    }
}

fn write_folded(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    let mut line_len = name.len() + 1;
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 && line_len + 1 + word.len() > 78 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_len += 1 + word.len();
    }
    out.push_str("\r\n");
}

/// `=?UTF-8?B?...?=` words of at most 75 characters, split on character boundaries.
fn write_encoded_words(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    let mut first = true;
    for chunk in utf8_chunks(value, 36) {
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        out.push_str(" =?UTF-8?B?");
        STANDARD.encode_string(chunk.as_bytes(), out);
        out.push_str("?=");
    }
    if first {
        out.push(' ');
    }
    out.push_str("\r\n");
}

/// An encoded phrase (display names): quoted-string when ASCII, else encoded-words.
pub fn write_phrase(out: &mut String, phrase: &str) {
    if needs_encoding(phrase) {
        let mut first = true;
        for chunk in utf8_chunks(phrase, 36) {
            if !first {
                out.push_str("\r\n ");
            }
            first = false;
            out.push_str("=?UTF-8?B?");
            STANDARD.encode_string(chunk.as_bytes(), out);
            out.push_str("?=");
        }
    } else {
        write_quoted(out, phrase);
    }
}

/// A phrase as a quoted-string, never encoded: for values handed over decoded (parts output).
pub fn write_quoted(out: &mut String, phrase: &str) {
    out.push('"');
    for c in phrase.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Splits at character boundaries into pieces of at most `max` bytes (36 bytes = 48 base64
/// characters: a 60-character word that fits a line after a field name of up to 16 characters).
fn utf8_chunks(s: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// `Name <addr>` or `addr` as a mailbox; `phrase` writes the name ([`write_phrase`] in a header
/// field, [`write_quoted`] for a decoded value).
pub fn write_mailbox(
    out: &mut String,
    name: Option<&str>,
    addr: &str,
    phrase: fn(&mut String, &str),
) {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => {
            phrase(out, n);
            out.push_str(" <");
            out.push_str(addr);
            out.push('>');
        }
        None => out.push_str(addr),
    }
}

/// The List-Id value (RFC 2919), `Name <id>` or `<id>`; `phrase` as for [`write_mailbox`].
pub fn write_list_id(
    out: &mut String,
    name: Option<&str>,
    id: &str,
    phrase: fn(&mut String, &str),
) {
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        phrase(out, n);
        out.push(' ');
    }
    out.push('<');
    out.push_str(id);
    out.push('>');
}

/// RFC 5322 date-time in UTC from a Unix timestamp.
pub fn rfc5322_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_528_637_909),
            "Sun, 10 Jun 2018 13:38:29 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn rejects_injection() {
        assert!(check_line("subject", "Hi\r\nBcc: x@y").is_err());
        assert!(check_line("subject", "a\0").is_err());
        assert!(check_address("to", "a@b.example\n").is_err());
        assert!(check_address("to", "a b@c.example").is_err());
        assert!(check_address("to", "<a@b.example>").is_err());
        assert!(check_address("to", "a.b+tag@mail.example.com").is_ok());
    }

    #[test]
    fn encodes_non_ascii_subjects_in_short_words() {
        let mut out = String::new();
        write_unstructured(&mut out, "Subject", &"Grüße aus Köln ".repeat(10));
        for line in out.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        assert!(out.starts_with("Subject: =?UTF-8?B?"));
    }

    #[test]
    fn folds_ascii_subjects() {
        let mut out = String::new();
        write_unstructured(&mut out, "Subject", "word ".repeat(30).trim_end());
        assert!(out.split("\r\n").all(|l| l.len() <= 78));
        assert!(!out.contains("=?"));
    }

    #[test]
    fn quotes_display_names() {
        let mut out = String::new();
        write_mailbox(
            &mut out,
            Some("Acme \"News\""),
            "news@acme.example",
            write_phrase,
        );
        assert_eq!(out, "\"Acme \\\"News\\\"\" <news@acme.example>");
        let mut decoded = String::new();
        write_mailbox(
            &mut decoded,
            Some(&"Grüße ".repeat(9)),
            "a@b.example",
            write_quoted,
        );
        assert_eq!(decoded, format!("\"{}\" <a@b.example>", "Grüße ".repeat(9)));
    }
}
