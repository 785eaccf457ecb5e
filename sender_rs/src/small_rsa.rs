//! RSA keys of 1024–2047 bits, which aws-lc-rs refuses (`TooSmall`) but DKIM still accepts
//! (RFC 8301 allows 1024). Signed through AWS-LC's C API directly; 2048+ bits use aws-lc-rs.

use std::ptr;

use aws_lc_sys as ffi;

pub struct SmallRsa {
    rsa: ptr::NonNull<ffi::RSA>,
}

// SAFETY: AWS-LC's RSA objects are safe to use from several threads for signing (RSA_sign takes
// the blinding lock internally); the pointer is owned and freed once in Drop.
unsafe impl Send for SmallRsa {}
unsafe impl Sync for SmallRsa {}

impl SmallRsa {
    /// Parses a PKCS#8 or PKCS#1 DER RSA private key.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let mut p = der.as_ptr();
        // SAFETY: p points to `der.len()` readable bytes; the returned objects are owned here.
        unsafe {
            let pkey = ffi::d2i_AutoPrivateKey(ptr::null_mut(), &mut p, der.len() as _);
            if pkey.is_null() {
                return None;
            }
            let rsa = ffi::EVP_PKEY_get1_RSA(pkey);
            ffi::EVP_PKEY_free(pkey);
            ptr::NonNull::new(rsa).map(|rsa| SmallRsa { rsa })
        }
    }

    pub fn bits(&self) -> usize {
        // SAFETY: self.rsa is a valid RSA object.
        unsafe { ffi::RSA_size(self.rsa.as_ptr()) as usize * 8 }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
    pub fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        let mut sig = vec![0u8; self.bits() / 8];
        let mut len: std::os::raw::c_uint = 0;
        // SAFETY: sig has RSA_size bytes as RSA_sign requires; digest is 32 bytes.
        let ok = unsafe {
            ffi::RSA_sign(
                ffi::NID_sha256,
                digest.as_ref().as_ptr(),
                digest.as_ref().len(),
                sig.as_mut_ptr(),
                &mut len,
                self.rsa.as_ptr(),
            )
        };
        (ok == 1).then(|| {
            sig.truncate(len as usize);
            sig
        })
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub fn public_spki_der(&self) -> Option<Vec<u8>> {
        let mut out: *mut u8 = ptr::null_mut();
        // SAFETY: i2d allocates `out` (freed with OPENSSL_free after copying).
        unsafe {
            let n = ffi::i2d_RSA_PUBKEY(self.rsa.as_ptr(), &mut out);
            if n <= 0 || out.is_null() {
                return None;
            }
            let v = std::slice::from_raw_parts(out, n as usize).to_vec();
            ffi::OPENSSL_free(out.cast());
            Some(v)
        }
    }
}

impl Drop for SmallRsa {
    fn drop(&mut self) {
        // SAFETY: owned pointer, freed exactly once.
        unsafe { ffi::RSA_free(self.rsa.as_ptr()) }
    }
}
