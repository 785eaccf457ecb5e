//! MIME body construction: per part the shorter of quoted-printable and base64 (RFC 2045), lines
//! of at most 76 characters, CRLF line ends, 7-bit output.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const QP_MAX: usize = 76;

/// Bytes that quoted-printable copies through unchanged (space and tab are handled apart).
const fn qp_literal_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 33;
    while b <= 126 {
        t[b] = b != b'=' as usize;
        b += 1;
    }
    t
}
static QP_LITERAL: [bool; 256] = qp_literal_table();
const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    QuotedPrintable,
    Base64,
}

impl TransferEncoding {
    pub fn header_value(self) -> &'static str {
        match self {
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
        }
    }
}

/// Quoted-printable with `\n` or `\r\n` as hard line breaks (written as CRLF).
///
/// Besides RFC 2045's rules, the output is already in DKIM relaxed body form (RFC 6376 §3.4.4):
/// tabs and the second space of a run are encoded, so there are no whitespace runs and no
/// whitespace at line ends, and the body hash needs no canonicalisation pass. A dot that would
/// start a line is encoded too, so SMTP dot-stuffing cannot matter.
pub fn encode_qp(input: &[u8], out: &mut Vec<u8>) {
    let n = input.len();
    let mut line_len = 0;
    let mut prev_space = false;
    let mut i = 0;
    while i < n {
        let b = input[i];
        if b == b'\n' || (b == b'\r' && input.get(i + 1) == Some(&b'\n')) {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
            prev_space = false;
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        if line_len >= QP_MAX - 1 {
            out.extend_from_slice(b"=\r\n");
            line_len = 0;
            prev_space = false;
        }
        let literal = QP_LITERAL[b as usize] && !(b == b'.' && line_len == 0);
        if literal || (b == b' ' && !prev_space && space_may_stay(input, i)) {
            // A run of bytes written as they are: eight at a time where possible.
            let limit = n.min(i + (QP_MAX - 1 - line_len));
            let mut j = i + 1;
            let mut last_space = b == b' ';
            loop {
                if j + 8 <= limit {
                    let word = u64::from_le_bytes(input[j..j + 8].try_into().unwrap_or([0; 8]));
                    if word_stays(word, last_space, input.get(j + 8).copied()) {
                        last_space = word >> 56 == u64::from(b' ');
                        j += 8;
                        continue;
                    }
                }
                if j >= limit {
                    break;
                }
                let c = input[j];
                if QP_LITERAL[c as usize] {
                    last_space = false;
                } else if c == b' ' && !last_space && space_may_stay(input, j) {
                    last_space = true;
                } else {
                    break;
                }
                j += 1;
            }
            out.extend_from_slice(&input[i..j]);
            line_len += j - i;
            prev_space = last_space;
            i = j;
            continue;
        }
        let at_line_end = matches!(input.get(i + 1), None | Some(b'\n' | b'\r'));
        if b == b' ' && !prev_space && !at_line_end {
            out.push(b' ');
            line_len += 1;
            prev_space = true;
        } else {
            if line_len + 3 > QP_MAX - 1 {
                out.extend_from_slice(b"=\r\n");
                line_len = 0;
            }
            out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            line_len += 3;
            prev_space = false;
        }
        i += 1;
    }
}

/// A single space may be written as is unless it would end a line.
#[inline]
fn space_may_stay(input: &[u8], i: usize) -> bool {
    matches!(input.get(i + 1), Some(&c) if c != b'\r' && c != b'\n')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// True when eight bytes can be copied as they are (SWAR): all in 32..=126, no `=`, no two
/// spaces in a row (also across the word's edges), no space before a line end.
#[inline]
fn word_stays(x: u64, prev_space: bool, next: Option<u8>) -> bool {
    let below_32 = x.wrapping_sub(ONES * 32) & !x & HIGH;
    let above_126 = (x.wrapping_add(ONES) | x) & HIGH;
    let eq = x ^ (ONES * u64::from(b'='));
    let has_eq = eq.wrapping_sub(ONES) & !eq & HIGH;
    if below_32 | above_126 | has_eq != 0 {
        return false;
    }
    let sp = x ^ (ONES * u64::from(b' '));
    // Exact per byte: the high bit is set where the byte is a space.
    let spaces = !(((sp & LOW7) + LOW7) | sp | LOW7);
    if spaces == 0 {
        return true;
    }
    let first_is_space = spaces & 0x80 != 0;
    let last_is_space = spaces >> 63 != 0;
    spaces & (spaces << 8) == 0
        && !(prev_space && first_is_space)
        && (!last_is_space || matches!(next, Some(c) if c != b'\r' && c != b'\n' && c != b' '))
}

/// Base64 in lines of 76 characters.
pub fn encode_base64(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + base64_len(input.len()), 0);
    let mut w = start;
    for chunk in input.chunks(57) {
        let written = STANDARD
            .encode_slice(chunk, &mut out[w..])
            .expect("buffer sized by base64_len");
        w += written;
        out[w..w + 2].copy_from_slice(b"\r\n");
        w += 2;
    }
    out.truncate(w.saturating_sub(2).max(start));
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4 + n.div_ceil(57) * 2
}

/// Appends the part body in the shorter encoding and returns which one it is.
pub fn encode_body(input: &[u8], out: &mut Vec<u8>) -> TransferEncoding {
    let start = out.len();
    encode_qp(input, out);
    if out.len() - start <= base64_len(input.len()) {
        return TransferEncoding::QuotedPrintable;
    }
    out.truncate(start);
    encode_base64(input, out);
    TransferEncoding::Base64
}

/// Writes a multipart/alternative body (text, then HTML) for `boundary`.
pub fn write_alternative(out: &mut Vec<u8>, boundary: &str, text: &[u8], html: &[u8]) {
    for (subtype, content) in [("plain", text), ("html", html)] {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: text/");
        out.extend_from_slice(subtype.as_bytes());
        out.extend_from_slice(b"; charset=utf-8\r\nContent-Transfer-Encoding: ");
        let cte_at = out.len();
        // Placeholder long enough for either name; the chosen one is written after encoding.
        out.extend_from_slice(b"quoted-printable\r\n\r\n");
        let body_at = out.len();
        let enc = encode_body(content, out);
        if enc == TransferEncoding::Base64 {
            let body = out.split_off(body_at);
            out.truncate(cte_at);
            out.extend_from_slice(b"base64\r\n\r\n");
            out.extend_from_slice(&body);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(s: &str) -> String {
        let mut v = Vec::new();
        encode_qp(s.as_bytes(), &mut v);
        String::from_utf8(v).unwrap()
    }

    fn decode_qp(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let lines: Vec<&str> = s.split("\r\n").collect();
        for (k, line) in lines.iter().enumerate() {
            let (content, soft) = match line.strip_suffix('=') {
                Some(c) => (c, true),
                None => (*line, false),
            };
            let b = content.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'=' {
                    out.push(u8::from_str_radix(&content[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            if !soft && k + 1 < lines.len() {
                out.extend_from_slice(b"\n");
            }
        }
        out
    }

    #[test]
    fn qp_round_trips_and_keeps_lines_short() {
        let inputs = [
            "plain",
            "trailing space \nand tab\t\n",
            ".\n.leading dot\n",
            &"x".repeat(300),
            &"é=ü ".repeat(80),
            "a\r\nb\rc",
            &format!("{} \n", "y".repeat(74)),
            "    indented\tand  spaced   out \n\t\n",
            &"<p class=\"a\">x=1</p>\n".repeat(20),
        ];
        for input in inputs {
            let enc = qp(input);
            for line in enc.split("\r\n") {
                assert!(line.len() <= 76, "{line:?}");
                assert!(!line.contains("  ") && !line.contains('\t'), "{line:?}");
                assert!(!line.starts_with('.'), "{line:?}");
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            }
            let expected = input.replace("\r\n", "\n");
            assert_eq!(String::from_utf8(decode_qp(&enc)).unwrap(), expected);
        }
    }

    #[test]
    fn swar_word_check_matches_the_byte_rules() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            let expected = QP_LITERAL[b as usize] || b == b' ';
            assert_eq!(word_stays(word, false, Some(b'x')), expected, "{b}");
        }
        let w = |s: &[u8; 8]| u64::from_le_bytes(*s);
        assert!(!word_stays(w(b"ab  cdef"), false, Some(b'x')));
        assert!(!word_stays(w(b" abcdefg"), true, Some(b'x')));
        assert!(word_stays(w(b" abcdefg"), false, Some(b'x')));
        assert!(!word_stays(w(b"abcdefg "), false, Some(b'\n')));
        assert!(!word_stays(w(b"abcdefg "), false, None));
        assert!(word_stays(w(b"abcdefg "), false, Some(b'h')));
    }

    #[test]
    fn base64_wins_for_non_latin_text() {
        let mut out = Vec::new();
        let enc = encode_body("Привет, мир! ".repeat(50).as_bytes(), &mut out);
        assert_eq!(enc, TransferEncoding::Base64);
        assert!(out.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        let joined: Vec<u8> = out
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        assert_eq!(
            STANDARD.decode(joined).unwrap(),
            "Привет, мир! ".repeat(50).as_bytes()
        );
    }

    #[test]
    fn qp_wins_for_ascii_html() {
        let mut out = Vec::new();
        assert_eq!(
            encode_body(b"<p>Hello</p>", &mut out),
            TransferEncoding::QuotedPrintable
        );
    }
}
