use super::*;

const RFC8463_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const RFC8463_HEADERS: [&str; 5] = [
    "From: Joe SixPack <joe@football.example.com>\r\n",
    "To: Suzie Q <suzie@shopping.example.net>\r\n",
    "Subject: Is dinner ready?\r\n",
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
];
// The RFC's h= list: every header once, From, Subject and Date over-signed.
const RFC8463_SIGNED: [&str; 8] = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "from",
    "subject",
    "date",
];

fn rfc8463_fields() -> Vec<(&'static str, &'static [u8])> {
    ["From", "To", "Subject", "Date", "Message-ID"]
        .into_iter()
        .zip(RFC8463_HEADERS)
        .map(|(name, field)| (name, field.as_bytes()))
        .collect()
}

const RFC8463_BODY: &str = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

#[test]
fn rfc8463_appendix_a_body_hash_and_ed25519_signature() {
    assert_eq!(
        STANDARD.encode(body_hash(RFC8463_BODY.as_bytes())),
        "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
    );
    let key = SigningKey::ed25519_from_seed(
        "football.example.com",
        "brisbane",
        &STANDARD.decode(RFC8463_SEED).unwrap(),
    )
    .unwrap();
    assert_eq!(
        key.dns_txt().unwrap(),
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    );
    let fields = rfc8463_fields();
    let sig_field = concat!(
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
        " d=football.example.com; i=@football.example.com;\r\n",
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
        " subject : date : message-id : from : subject : date;\r\n",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
        " b="
    );
    // Ed25519 is deterministic: same key, header set and timestamp give the RFC's b= exactly.
    assert_eq!(
        sign_field(&key, &fields, &RFC8463_SIGNED, sig_field).unwrap(),
        "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
    );
}

#[test]
fn rfc8463_appendix_a_rsa_signature_with_the_1024_bit_key() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\nY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\nKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\nAoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\nzHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\nuSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\nWvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\nWFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\nlicIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\no7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\nuEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n-----END RSA PRIVATE KEY-----\n";
    let key = SigningKey::from_pem("football.example.com", "test", pem).unwrap();
    let fields = rfc8463_fields();
    let sig_field = concat!(
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n",
        " d=football.example.com; i=@football.example.com;\r\n",
        " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n",
        " date : message-id : from : subject : date;\r\n",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
        " b="
    );
    assert_eq!(
        sign_field(&key, &fields, &RFC8463_SIGNED, sig_field).unwrap(),
        concat!(
            "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3",
            "DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz",
            "dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="
        )
    );
}

#[test]
fn relaxed_canonicalisation() {
    let mut out = Vec::new();
    canon_header(b"SubJect :  Hello \t\r\n  world  \r\n", &mut out);
    assert_eq!(out, b"subject:Hello world");
    assert_eq!(body_hash(b"a  b \r\n\r\n\r\n"), body_hash(b"a b\r\n"));
    assert_eq!(body_hash(b""), body_hash(b"\r\n\r\n"));
}

#[test]
fn rejects_bad_keys_and_names() {
    assert!(SigningKey::from_pem("example.com", "s1", "not a key").is_err());
    assert!(SigningKey::from_pem("exa mple.com", "s1", "").is_err());
    for pem in [
        "-----BEGIN -----END -----",
        "-----BEGIN X-----END X-----",
        "-----BEGIN -----",
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
    ] {
        assert!(
            SigningKey::from_pem("example.com", "s1", pem).is_err(),
            "{pem}"
        );
    }
}
