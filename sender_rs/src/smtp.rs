//! A message as the content of SMTP's DATA command (RFC 5321 4.5.2): every line ended by CRLF
//! (a bare LF or a bare CR ends a line too, as aiosmtplib and Postfix read it), a line that
//! starts with `.` sent with one more, a last line without its end ended, and the terminating
//! `.` line. One pass that copies runs between line ends, found eight bytes at a time: the
//! per-byte scans of Python's `bytes` methods cost more than rendering the message did.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is `byte` (exact: the borrow trick only errs on the bits above
/// the first match, never on whether there is one).
fn has_byte(word: u64, byte: u8) -> bool {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

fn next_line_end(data: &[u8], mut at: usize) -> Option<usize> {
    while at + 8 <= data.len() {
        let word = u64::from_le_bytes(data[at..at + 8].try_into().expect("eight bytes"));
        if has_byte(word, b'\n') || has_byte(word, b'\r') {
            break;
        }
        at += 8;
    }
    data[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| at + p)
}

pub fn data_content(raw: &[u8]) -> Vec<u8> {
    if raw.is_empty() {
        return b"\r\n.\r\n".to_vec();
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64 + 8);
    let mut at = 0;
    while at < raw.len() {
        if raw[at] == b'.' {
            out.push(b'.');
        }
        let Some(end) = next_line_end(raw, at) else {
            out.extend_from_slice(&raw[at..]);
            out.extend_from_slice(b"\r\n");
            break;
        };
        out.extend_from_slice(&raw[at..end]);
        out.extend_from_slice(b"\r\n");
        at = if raw[end] == b'\r' && raw.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::data_content;

    #[test]
    fn crlf_lines_pass_and_the_terminator_follows() {
        assert_eq!(data_content(b"a\r\nb\r\n"), b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn leading_dots_are_doubled_on_every_line() {
        assert_eq!(
            data_content(b".a\r\n..b\r\nc.\r\n"),
            b"..a\r\n...b\r\nc.\r\n.\r\n"
        );
    }

    #[test]
    fn bare_line_ends_become_crlf_and_a_last_line_is_ended() {
        assert_eq!(
            data_content(b"a\nb\rc\r\r\n.d"),
            b"a\r\nb\r\nc\r\n\r\n..d\r\n.\r\n"
        );
        assert_eq!(data_content(b"\n\r"), b"\r\n\r\n.\r\n");
    }

    #[test]
    fn long_lines_are_scanned_a_word_at_a_time() {
        let line = "x".repeat(1000);
        let raw = format!("{line}\r\n.{line}\n{line}");
        let want = format!("{line}\r\n..{line}\r\n{line}\r\n.\r\n");
        assert_eq!(data_content(raw.as_bytes()), want.as_bytes());
    }

    #[test]
    fn an_empty_message_is_one_empty_line() {
        assert_eq!(data_content(b""), b"\r\n.\r\n");
    }
}
