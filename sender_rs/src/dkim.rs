//! DKIM signing (RFC 6376) with `rsa-sha256` and `ed25519-sha256` (RFC 8463), relaxed/relaxed.
//!
//! Canonicalisation is done here; aws-lc-rs provides SHA-256 and the signatures. Keys are parsed
//! from PEM once per campaign. No `l=` tag is ever written.

use aws_lc_rs::digest::{self, Context as DigestContext, SHA256};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::headers::valid_domain;
use crate::small_rsa::SmallRsa;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

pub enum KeyMaterial {
    Rsa(RsaKeyPair),
    SmallRsa(SmallRsa),
    Ed25519(Ed25519KeyPair),
}

pub struct SigningKey {
    pub domain: String,
    pub selector: String,
    pub material: KeyMaterial,
}

impl SigningKey {
    /// Accepts `PRIVATE KEY` (PKCS#8, RSA or Ed25519) and `RSA PRIVATE KEY` (PKCS#1) PEM.
    pub fn from_pem(domain: &str, selector: &str, pem: &str) -> Result<Self, KeyError> {
        if !valid_domain(domain) {
            return Err(KeyError(format!("invalid DKIM domain {domain:?}")));
        }
        if !valid_domain(selector) {
            return Err(KeyError(format!("invalid DKIM selector {selector:?}")));
        }
        let (label, der) = pem_decode(pem)?;
        let small = || SmallRsa::from_der(&der).filter(|k| k.bits() < 2048);
        let material = match label.as_str() {
            "RSA PRIVATE KEY" => match RsaKeyPair::from_der(&der) {
                Ok(k) => KeyMaterial::Rsa(k),
                Err(e) => KeyMaterial::SmallRsa(
                    small().ok_or_else(|| KeyError(format!("bad RSA key: {e}")))?,
                ),
            },
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(k) => KeyMaterial::Rsa(k),
                Err(_) if small().is_some() => KeyMaterial::SmallRsa(small().expect("checked")),
                Err(_) => KeyMaterial::Ed25519(
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                        .map_err(|e| KeyError(format!("not an RSA or Ed25519 key: {e}")))?,
                ),
            },
            other => return Err(KeyError(format!("unsupported PEM block {other:?}"))),
        };
        let bits = match &material {
            KeyMaterial::Rsa(k) => Some(k.public_modulus_len() * 8),
            KeyMaterial::SmallRsa(k) => Some(k.bits()),
            KeyMaterial::Ed25519(_) => None,
        };
        if let Some(bits) = bits {
            if !(1024..=4096).contains(&bits) {
                return Err(KeyError(format!(
                    "RSA key of {bits} bits (1024–4096 accepted)"
                )));
            }
        }
        Ok(SigningKey {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            material,
        })
    }

    /// An Ed25519 key from its raw 32-byte seed (RFC 8463 publishes keys this way).
    pub fn ed25519_from_seed(domain: &str, selector: &str, seed: &[u8]) -> Result<Self, KeyError> {
        let kp = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| KeyError(format!("bad Ed25519 seed: {e}")))?;
        Ok(SigningKey {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            material: KeyMaterial::Ed25519(kp),
        })
    }

    pub fn algorithm(&self) -> &'static str {
        match self.material {
            KeyMaterial::Rsa(_) | KeyMaterial::SmallRsa(_) => "rsa-sha256",
            KeyMaterial::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The DNS TXT record to publish at `{selector}._domainkey.{domain}`.
    pub fn dns_txt(&self) -> Result<String, KeyError> {
        Ok(match &self.material {
            KeyMaterial::Rsa(k) => {
                let der = k
                    .public_key()
                    .as_der()
                    .map_err(|e| KeyError(format!("cannot encode public key: {e}")))?;
                format!("v=DKIM1; k=rsa; p={}", STANDARD.encode(der.as_ref()))
            }
            KeyMaterial::SmallRsa(k) => {
                let der = k
                    .public_spki_der()
                    .ok_or_else(|| KeyError("cannot encode public key".into()))?;
                format!("v=DKIM1; k=rsa; p={}", STANDARD.encode(der))
            }
            KeyMaterial::Ed25519(k) => {
                format!(
                    "v=DKIM1; k=ed25519; p={}",
                    STANDARD.encode(k.public_key().as_ref())
                )
            }
        })
    }

    /// The signature (base64) over `data`: the canonicalised signed headers.
    pub fn sign(&self, data: &[u8]) -> Result<String, KeyError> {
        match &self.material {
            KeyMaterial::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
                    .map_err(|_| KeyError("RSA signing failed".into()))?;
                Ok(STANDARD.encode(sig))
            }
            KeyMaterial::SmallRsa(k) => {
                let sig = k
                    .sign(data)
                    .ok_or_else(|| KeyError("RSA signing failed".into()))?;
                Ok(STANDARD.encode(sig))
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA over the digest).
            KeyMaterial::Ed25519(k) => {
                let hash = digest::digest(&SHA256, data);
                Ok(STANDARD.encode(k.sign(hash.as_ref())))
            }
        }
    }
}

fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    let begin = pem
        .find("-----BEGIN ")
        .ok_or_else(|| KeyError("no PEM block".into()))?;
    let rest = &pem[begin + 11..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| KeyError("bad PEM header".into()))?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    // Searched after the header: `-----BEGIN -----END -----` would find its END before the body.
    let end = rest[body_start..]
        .find(&end_marker)
        .map(|e| body_start + e)
        .ok_or_else(|| KeyError("unterminated PEM block".into()))?;
    let b64: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|e| KeyError(format!("bad PEM base64: {e}")))?;
    Ok((label, der))
}

/// Relaxed header canonicalisation (RFC 6376 §3.4.2) of a raw field `Name: value\r\n`, appended
/// to `out` without the trailing CRLF.
pub fn canon_header(field: &[u8], out: &mut Vec<u8>) {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    let name = field[..colon].trim_ascii_end();
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = field.get(colon + 1..).unwrap_or_default();
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                started = true;
                out.push(b);
            }
        }
    }
}

/// Relaxed body hash (RFC 6376 §3.4.4): runs of WSP become one space, WSP at line end and empty
/// lines at the end are dropped. Lines without WSP runs are hashed as they are.
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    let mut ctx = DigestContext::new(&SHA256);
    let mut pending_blank = 0usize;
    let mut scratch = Vec::new();
    for line in split_lines(body) {
        let line = line.trim_ascii_end();
        if line.is_empty() {
            pending_blank += 1;
            continue;
        }
        for _ in 0..pending_blank {
            ctx.update(b"\r\n");
        }
        pending_blank = 0;
        if needs_wsp_collapse(line) {
            scratch.clear();
            let mut in_ws = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    if !in_ws {
                        scratch.push(b' ');
                    }
                    in_ws = true;
                } else {
                    scratch.push(b);
                    in_ws = false;
                }
            }
            ctx.update(&scratch);
        } else {
            ctx.update(line);
        }
        ctx.update(b"\r\n");
    }
    let d = ctx.finish();
    let mut out = [0; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of a body that is already in relaxed canonical form (what `mime` produces).
pub fn canonical_body_hash(body: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&SHA256, body).as_ref());
    debug_assert_eq!(
        out,
        body_hash(body),
        "generated body is not in relaxed canonical form"
    );
    out
}

fn needs_wsp_collapse(line: &[u8]) -> bool {
    line.contains(&b'\t') || line.windows(2).any(|w| w == b"  ")
}

/// Lines split on CRLF (a body that does not end in CRLF gets its last line too).
fn split_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => {
                let line = &rest[..p];
                rest = &rest[p + 2..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

/// Appends the canonical form of the fields named in `h` (bottom-up instance selection; a name
/// listed more often than it occurs contributes nothing, which is what makes over-signing work).
pub fn canon_signed_headers(fields: &[(&str, &[u8])], h: &[&str], out: &mut Vec<u8>) {
    let mut used = vec![false; fields.len()];
    for name in h {
        let pick = (0..fields.len())
            .rev()
            .find(|&i| !used[i] && fields[i].0.eq_ignore_ascii_case(name));
        if let Some(i) = pick {
            used[i] = true;
            canon_header(fields[i].1, out);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Builds a `DKIM-Signature` field (folded, with CRLF). `fields` are the message's header fields
/// as `(name, raw field bytes)`, `h` the names to sign.
pub fn signature_field(
    key: &SigningKey,
    fields: &[(&str, &[u8])],
    h: &[&str],
    body_hash: &[u8; 32],
    timestamp: i64,
) -> Result<String, KeyError> {
    let mut field = String::with_capacity(700);
    field.push_str("DKIM-Signature: v=1; a=");
    field.push_str(key.algorithm());
    field.push_str("; c=relaxed/relaxed;\r\n d=");
    field.push_str(&key.domain);
    field.push_str("; s=");
    field.push_str(&key.selector);
    field.push_str("; t=");
    field.push_str(&timestamp.to_string());
    field.push_str(";\r\n h=");
    let mut line = 3;
    for (i, name) in h.iter().enumerate() {
        if i > 0 {
            field.push(':');
            line += 1;
        }
        if line + name.len() > 76 {
            field.push_str("\r\n ");
            line = 1;
        }
        field.push_str(name);
        line += name.len();
    }
    field.push_str(";\r\n bh=");
    STANDARD.encode_string(body_hash, &mut field);
    field.push_str(";\r\n b=");
    let b = sign_field(key, fields, h, &field)?;
    // Fold b= into lines of at most 76 characters; folding whitespace inside b= is ignored.
    let mut rest = b.as_str();
    let mut first = 78 - 3;
    while !rest.is_empty() {
        let take = rest.len().min(first);
        field.push_str(&rest[..take]);
        rest = &rest[take..];
        if !rest.is_empty() {
            field.push_str("\r\n ");
        }
        first = 76;
    }
    field.push_str("\r\n");
    Ok(field)
}

/// Signs the given header fields plus `sig_field_without_b` (the DKIM-Signature field as it will
/// appear, ending in `b=`); returns the base64 signature.
pub fn sign_field(
    key: &SigningKey,
    fields: &[(&str, &[u8])],
    h: &[&str],
    sig_field_without_b: &str,
) -> Result<String, KeyError> {
    let mut data = Vec::with_capacity(1024);
    canon_signed_headers(fields, h, &mut data);
    canon_header(sig_field_without_b.as_bytes(), &mut data);
    key.sign(&data)
}

#[cfg(test)]
mod tests;
