//! Signs per second on one thread: RSA-2048 PKCS#1 v1.5 SHA-256 and Ed25519, with the `openssl`
//! crate (system OpenSSL) and with aws-lc-rs, over a DKIM-sized input (the signed header block).

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as AwsRsa, KeySize};
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

fn rate(name: &str, mut sign: impl FnMut()) {
    for _ in 0..50 {
        sign();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < 3.0 {
        sign();
        n += 1;
    }
    println!(
        "{name:<28} {:>10.0} signs/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
}

fn main() {
    let data = vec![b'h'; 1200];
    let rng = SystemRandom::new();

    let aws_rsa = AwsRsa::generate(KeySize::Rsa2048).expect("RSA key");
    let rsa_der = aws_rsa.as_der().expect("PKCS#8");
    let ossl_rsa = PKey::private_key_from_pkcs8(rsa_der.as_ref()).expect("openssl RSA key");
    rate("openssl crate RSA-2048", || {
        let mut s = Signer::new(MessageDigest::sha256(), &ossl_rsa).expect("signer");
        s.update(&data).expect("update");
        black_box(s.sign_to_vec().expect("sign"));
    });
    rate("aws-lc-rs RSA-2048", || {
        let mut sig = vec![0; aws_rsa.public_modulus_len()];
        aws_rsa
            .sign(&RSA_PKCS1_SHA256, &rng, &data, &mut sig)
            .expect("sign");
        black_box(sig);
    });

    // OpenSSL 3.0 cannot read AWS-LC's PKCS#8 v2, so both sides share the raw seed.
    let ossl_ed = PKey::generate_ed25519().expect("Ed25519 key");
    let seed = ossl_ed.raw_private_key().expect("seed");
    let aws_ed = Ed25519KeyPair::from_seed_unchecked(&seed).expect("Ed25519 key");
    let digest = &data[..32];
    rate("openssl crate Ed25519", || {
        let mut s = Signer::new_without_digest(&ossl_ed).expect("signer");
        black_box(s.sign_oneshot_to_vec(digest).expect("sign"));
    });
    rate("aws-lc-rs Ed25519", || {
        black_box(aws_ed.sign(digest));
    });
}
