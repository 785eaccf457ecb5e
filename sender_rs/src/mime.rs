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

/// Quoted-printable with `\n` or `\r\n` as hard line breaks (written as CRLF). A dot or a space
/// that would start or end an encoded line is encoded, so SMTP dot-stuffing and trailing-space
/// stripping cannot change the content.
pub fn encode_qp(input: &[u8], out: &mut Vec<u8>) {
    let mut line_len = 0;
    let mut i = 0;
    let n = input.len();
    while i < n {
        let b = input[i];
        if b == b'\n' || (b == b'\r' && input.get(i + 1) == Some(&b'\n')) {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        if QP_LITERAL[b as usize] && !(b == b'.' && line_len == 0) {
            if line_len >= QP_MAX - 1 {
                out.extend_from_slice(b"=\r\n");
                line_len = 0;
                continue;
            }
            // Copy the run of literal bytes that fits on this line in one go.
            let room = QP_MAX - 1 - line_len;
            let mut j = i + 1;
            let limit = n.min(i + room);
            while j < limit && QP_LITERAL[input[j] as usize] {
                j += 1;
            }
            out.extend_from_slice(&input[i..j]);
            line_len += j - i;
            i = j;
        } else {
            let at_line_end = matches!(input.get(i + 1), None | Some(b'\n' | b'\r'));
            let literal_ws = (b == b' ' || b == b'\t') && !at_line_end;
            let width = if literal_ws { 1 } else { 3 };
            if line_len + width > QP_MAX - 1 {
                out.extend_from_slice(b"=\r\n");
                line_len = 0;
            }
            if literal_ws {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            }
            line_len += width;
            i += 1;
        }
    }
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
        ];
        for input in inputs {
            let enc = qp(input);
            for line in enc.split("\r\n") {
                assert!(line.len() <= 76, "{line:?}");
                assert!(!line.starts_with('.'), "{line:?}");
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            }
            let expected = input.replace("\r\n", "\n");
            assert_eq!(String::from_utf8(decode_qp(&enc)).unwrap(), expected);
        }
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
