//! Rendering a batch: per recipient the signed RFC 5322 message or the rendered parts, in
//! parallel on a per-process rayon pool. One bad recipient is one error, never a failed batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::campaign::Compiled;
use crate::dkim::{canonical_body_hash, signature_field, SigningKey};
use crate::headers::{
    check_address, check_line, rfc5322_date, write_list_id, write_mailbox, write_quoted,
    write_unstructured,
};
use crate::links::valid_tracking_id;
use crate::mime::write_alternative;
use crate::render::{write_escaped, write_raw, write_slot, Context, Seg, Template, Value};

pub struct Recipient {
    pub tracking_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub custom: BTreeMap<String, Value>,
    pub unsubscribe_token: String,
    pub preferences_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Default,
    /// Amazon SES rewrites Message-ID and Date, so they are left unsigned.
    Ses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Mime,
    Parts,
}

pub struct BatchOptions {
    pub output: Output,
    pub profile: Profile,
    /// Unix time used for Date and the DKIM `t=` tag.
    pub timestamp: i64,
}

pub struct Parts {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Decoded header values (From, To, Reply-To, Date, Message-ID, List-*, extra headers).
    pub headers: Vec<(String, String)>,
}

/// A message in `data[start..]`: the buffer keeps room in front for the DKIM-Signature fields,
/// which are computed after the body, so the message is never copied to prepend them.
pub struct Mime {
    pub data: Vec<u8>,
    pub start: usize,
    /// The rendered Subject (before its header encoding), so no caller parses it back.
    pub subject: String,
}

impl Mime {
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }
}

pub enum Rendered {
    Mime(Mime),
    Parts(Parts),
}

pub struct RecipientResult {
    pub message_id: String,
    pub rendered: Rendered,
}

pub type Outcome = Result<RecipientResult, String>;

/// Renders every recipient; `threads == 1` renders on the calling thread.
pub fn render_batch<R: std::borrow::Borrow<Recipient> + Sync>(
    compiled: &Compiled,
    recipients: &[R],
    keys: &[Arc<SigningKey>],
    opts: &BatchOptions,
    threads: usize,
) -> Vec<Outcome> {
    let date = rfc5322_date(opts.timestamp);
    // A panic (a bug) fails its recipient only, like any other per-recipient error.
    let one = |r: &R| {
        crate::unwind::catch(|| render_recipient(compiled, r.borrow(), keys, opts, &date))
            .unwrap_or_else(Err)
    };
    if threads <= 1 || recipients.len() <= 1 {
        return recipients.iter().map(one).collect();
    }
    pool(threads).install(|| recipients.par_iter().map(one).collect())
}

/// Pools per thread count, tagged with the pid that built them. A pool inherited through fork()
/// has no threads in the child, so a child builds its own and leaks the parent's (dropping it
/// would signal threads that do not exist).
type PoolsByThreads = HashMap<usize, Arc<ThreadPool>>;
static POOLS: Mutex<Option<(u32, PoolsByThreads)>> = Mutex::new(None);

fn pool(threads: usize) -> Arc<ThreadPool> {
    let build = || {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("sender-rs-{i}"))
                .build()
                .expect("thread pool"),
        )
    };
    let pid = std::process::id();
    // try_lock: if fork() happened while another thread held the lock, it stays locked forever in
    // the child; fall back to a private pool rather than deadlock.
    let Ok(mut guard) = POOLS.try_lock() else {
        return build();
    };
    match guard.as_mut() {
        Some((owner, _)) if *owner != pid => {
            if let Some(stale) = guard.take() {
                std::mem::forget(stale);
            }
        }
        _ => {}
    }
    let (_, pools) = guard.get_or_insert_with(|| (pid, HashMap::new()));
    pools.entry(threads).or_insert_with(build).clone()
}

fn check_token(what: &str, token: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} must be 1-256 URL-safe characters"))
    }
}

pub fn render_recipient(
    c: &Compiled,
    r: &Recipient,
    keys: &[Arc<SigningKey>],
    opts: &BatchOptions,
    date: &str,
) -> Outcome {
    if !valid_tracking_id(&r.tracking_id) {
        return Err("tracking_id must be 1-64 of [A-Za-z0-9_-]".into());
    }
    check_address("email", &r.email).map_err(|e| e.0)?;
    check_token("unsubscribe_token", &r.unsubscribe_token)?;
    let pref_token = r
        .preferences_token
        .as_deref()
        .unwrap_or(&r.unsubscribe_token);
    check_token("preferences_token", pref_token)?;
    let unsubscribe_url = format!("{}/u/{}", c.base_url, r.unsubscribe_token);
    let preferences_url = format!("{}/p/{}", c.base_url, pref_token);
    let ctx = Context {
        first_name: &r.first_name,
        last_name: &r.last_name,
        email: &r.email,
        custom: &r.custom,
        unsubscribe_url: &unsubscribe_url,
        preferences_url: &preferences_url,
    };
    let subject = render(c, &c.subject, &ctx, r, write_raw)?;
    check_line("subject", &subject).map_err(|e| e.0)?;
    let html = render(c, &c.html, &ctx, r, write_escaped)?;
    let text = render(c, &c.text, &ctx, r, write_raw)?;
    let message_id = format!("<{}.{}@{}>", r.tracking_id, c.campaign_id, c.sender_domain);
    let list_unsubscribe = c.list_headers.then(|| {
        let mut value = format!("<{unsubscribe_url}>");
        if let Some(m) = &c.unsubscribe_mailto {
            value.push_str(&format!(
                ",\r\n <mailto:{m}?subject=unsubscribe%20{}>",
                r.unsubscribe_token
            ));
        }
        value
    });

    let rendered = match opts.output {
        Output::Parts => {
            let mut from = String::new();
            write_mailbox(
                &mut from,
                c.from_name.as_deref(),
                &c.from_email,
                write_quoted,
            );
            let mut headers = vec![
                ("From".to_owned(), from),
                ("To".to_owned(), r.email.clone()),
            ];
            if let Some(rt) = &c.reply_to {
                headers.push(("Reply-To".into(), rt.clone()));
            }
            headers.push(("Date".into(), date.to_owned()));
            headers.push(("Message-ID".into(), message_id.clone()));
            if let Some(value) = &list_unsubscribe {
                headers.push(("List-Unsubscribe".into(), value.replace("\r\n", "")));
                headers.push((
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ));
                let mut list_id = String::new();
                write_list_id(
                    &mut list_id,
                    c.list_name.as_deref(),
                    &c.list_id,
                    write_quoted,
                );
                headers.push(("List-Id".into(), list_id));
            }
            headers.extend(c.extra_headers.iter().cloned());
            Rendered::Parts(Parts {
                subject,
                html,
                text,
                headers,
            })
        }
        Output::Mime => Rendered::Mime(build_mime(
            c,
            r,
            keys,
            opts,
            date,
            &message_id,
            list_unsubscribe.as_deref(),
            &subject,
            &html,
            &text,
        )?),
    };
    Ok(RecipientResult {
        message_id,
        rendered,
    })
}

fn render(
    c: &Compiled,
    t: &Template,
    ctx: &Context<'_>,
    r: &Recipient,
    write: fn(&mut String, &str),
) -> Result<String, String> {
    let mut out = String::with_capacity(t.literal_len() + t.segs.len() * 80);
    for seg in &t.segs {
        match seg {
            Seg::Lit(range) => out.push_str(&t.lits[range.clone()]),
            Seg::Var(slot) => write_slot(slot, ctx, &mut out, write).map_err(|e| e.0)?,
            Seg::Click(i) => {
                out.push_str(&c.base_url);
                out.push_str("/t/c/");
                c.token_key.write_click_token(&r.tracking_id, *i, &mut out);
            }
            Seg::Pixel => {
                out.push_str("<img src=\"");
                out.push_str(&c.base_url);
                out.push_str("/t/o/");
                c.token_key.write_open_token(&r.tracking_id, &mut out);
                out.push_str(".gif\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">");
            }
        }
    }
    Ok(out)
}

const OVERSIGNED: [&str; 6] = [
    "from",
    "to",
    "subject",
    "reply-to",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

#[allow(clippy::too_many_arguments)]
fn build_mime(
    c: &Compiled,
    r: &Recipient,
    keys: &[Arc<SigningKey>],
    opts: &BatchOptions,
    date: &str,
    message_id: &str,
    list_unsubscribe: Option<&str>,
    subject: &str,
    html: &str,
    text: &str,
) -> Result<Mime, String> {
    let mut head = String::with_capacity(1024);
    let mut fields: Vec<(&'static str, std::ops::Range<usize>)> = Vec::with_capacity(16);
    let mut field = |head: &mut String, name: &'static str, write: &dyn Fn(&mut String)| {
        let start = head.len();
        write(head);
        fields.push((name, start..head.len()));
    };
    field(&mut head, "from", &|h| h.push_str(&c.from_field));
    field(&mut head, "to", &|h| {
        h.push_str("To: ");
        h.push_str(&r.email);
        h.push_str("\r\n");
    });
    if let Some(f) = &c.reply_to_field {
        field(&mut head, "reply-to", &|h| h.push_str(f));
    }
    field(&mut head, "subject", &|h| {
        write_unstructured(h, "Subject", subject)
    });
    field(&mut head, "date", &|h| {
        h.push_str("Date: ");
        h.push_str(date);
        h.push_str("\r\n");
    });
    field(&mut head, "message-id", &|h| {
        h.push_str("Message-ID: ");
        h.push_str(message_id);
        h.push_str("\r\n");
    });
    field(&mut head, "mime-version", &|h| {
        h.push_str("MIME-Version: 1.0\r\n")
    });
    if let Some(value) = list_unsubscribe {
        field(&mut head, "list-unsubscribe", &|h| {
            h.push_str("List-Unsubscribe: ");
            h.push_str(value);
            h.push_str("\r\n");
        });
        field(&mut head, "list-unsubscribe-post", &|h| {
            h.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        });
        field(&mut head, "list-id", &|h| h.push_str(&c.list_id_field));
    }
    for (_, f) in &c.extra_fields {
        head.push_str(f);
    }
    let boundary = format!("=_om_{:016x}", fnv1a(message_id.as_bytes()));
    field(&mut head, "content-type", &|h| {
        h.push_str("Content-Type: multipart/alternative; boundary=\"");
        h.push_str(&boundary);
        h.push_str("\"\r\n");
    });

    // A DKIM-Signature field is at most ~1.2 KB (a 4096-bit b= is 684 characters); a larger one
    // still works, through one extra copy.
    let reserve = keys.len() * 1280;
    let estimate = reserve + head.len() + 2 + (html.len() + text.len()) * 11 / 10 + 512;
    let mut out = Vec::with_capacity(estimate);
    out.resize(reserve, 0);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"\r\n");
    let body_start = out.len();
    write_alternative(&mut out, &boundary, text.as_bytes(), html.as_bytes());

    let mut signatures = String::new();
    if !keys.is_empty() {
        let bh = canonical_body_hash(&out[body_start..]);
        let present: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        let mut h: Vec<&str> = present
            .iter()
            .copied()
            .filter(|n| opts.profile != Profile::Ses || !matches!(*n, "date" | "message-id"))
            .collect();
        h.extend(OVERSIGNED);
        let raw: Vec<(&str, &[u8])> = fields
            .iter()
            .map(|(n, range)| (*n, head[range.clone()].as_bytes()))
            .collect();
        for key in keys {
            let sig = signature_field(key, &raw, &h, &bh, opts.timestamp).map_err(|e| e.0)?;
            signatures.push_str(&sig);
        }
    }
    if signatures.len() > reserve {
        let mut data = signatures.into_bytes();
        data.extend_from_slice(&out[reserve..]);
        return Ok(Mime {
            data,
            start: 0,
            subject: subject.to_owned(),
        });
    }
    let start = reserve - signatures.len();
    out[start..reserve].copy_from_slice(signatures.as_bytes());
    Ok(Mime {
        data: out,
        start,
        subject: subject.to_owned(),
    })
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
