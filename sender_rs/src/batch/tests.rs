use super::*;
use crate::campaign::{compile, CampaignSpec};

pub fn spec() -> CampaignSpec {
    CampaignSpec {
        campaign_id: "c1".into(),
        subject: "Hello {{ first_name | default: \"there\" }}".into(),
        html: "<html><body><p>Hi {{first_name}}</p><a href=\"https://shop.example/a?x=1&amp;y=2\">Shop</a> <a href=\"mailto:x@y.example\">m</a> <a data-track=\"false\" href=\"https://private.example/\">p</a> <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></body></html>".into(),
        text: None,
        preview_text: Some("Our <news> for {{first_name}}".into()),
        from_email: "news@acme.example".into(),
        from_name: Some("Acme Ünited".into()),
        reply_to: None,
        list_id: "news.acme.example".into(),
        list_name: Some("Acme news".into()),
        base_url: "https://mail.acme.example/".into(),
        tracking_secret: b"0123456789abcdef0123456789abcdef".to_vec(),
        track_opens: true,
        track_clicks: true,
        unsubscribe_mailto: Some("unsub@acme.example".into()),
        extra_headers: vec![("X-Campaign".into(), "c1".into())],
        list_headers: true,
    }
}

pub fn recipient(first: &str) -> Recipient {
    Recipient {
        tracking_id: "r1".into(),
        email: "ada@example.com".into(),
        first_name: first.into(),
        last_name: String::new(),
        custom: BTreeMap::new(),
        unsubscribe_token: "tok123".into(),
        preferences_token: None,
    }
}

fn opts(output: Output) -> BatchOptions {
    BatchOptions {
        output,
        profile: Profile::Default,
        timestamp: 1_700_000_000,
    }
}

#[test]
fn tracks_http_links_only_and_strips_opt_out_attribute() {
    let c = compile(spec()).unwrap();
    assert_eq!(c.links, vec!["https://shop.example/a?x=1&y=2".to_string()]);
    let out = render_batch(&c, &[recipient("<b>Ada</b>")], &[], &opts(Output::Parts), 1);
    let Ok(RecipientResult {
        rendered: Rendered::Parts(p),
        ..
    }) = &out[0]
    else {
        panic!()
    };
    assert!(p.html.contains("Hi &lt;b&gt;Ada&lt;/b&gt;"));
    assert!(p
        .html
        .contains("href=\"https://mail.acme.example/t/c/r1.0."));
    assert!(p.html.contains("href=\"mailto:x@y.example\""));
    assert!(p.html.contains("<a href=\"https://private.example/\">"));
    assert!(!p.html.contains("data-track"));
    assert!(p
        .html
        .contains("href=\"https://mail.acme.example/u/tok123\""));
    assert!(p
        .html
        .contains("Our &lt;news&gt; for &lt;b&gt;Ada&lt;/b&gt;</div>"));
    assert!(
        p.html.contains("/t/o/r1.")
            && p.html.find("/t/o/").unwrap() < p.html.find("</body>").unwrap()
    );
    assert!(p.text.contains("Hi <b>Ada</b>"));
    assert!(p.text.contains("Shop <https://mail.acme.example/t/c/r1.0."));
    assert!(p.text.contains("<https://private.example/>"));
    assert_eq!(p.subject, "Hello <b>Ada</b>");
}

#[test]
fn mail_of_no_list_has_no_list_headers_but_oversigns_them() {
    let mut s = spec();
    s.list_headers = false;
    let c = compile(s).unwrap();
    let key = Arc::new(SigningKey::ed25519_from_seed("acme.example", "s", &[7; 32]).unwrap());
    let out = render_batch(&c, &[recipient("Ada")], &[key], &opts(Output::Mime), 1);
    let Ok(RecipientResult {
        rendered: Rendered::Mime(m),
        ..
    }) = &out[0]
    else {
        panic!()
    };
    let text = std::str::from_utf8(m.bytes()).unwrap();
    let head = &text[..text.find("\r\n\r\n").unwrap()];
    assert!(!head.contains("\r\nList-"));
    assert!(head.contains("list-unsubscribe:list-unsubscribe-post"));
    let parts = render_batch(&c, &[recipient("Ada")], &[], &opts(Output::Parts), 1);
    let Ok(RecipientResult {
        rendered: Rendered::Parts(p),
        ..
    }) = &parts[0]
    else {
        panic!()
    };
    assert!(p.headers.iter().all(|(name, _)| !name.starts_with("List-")));
}

#[test]
fn bad_recipient_is_its_own_error() {
    let c = compile(spec()).unwrap();
    let mut bad = recipient("Eve\r\nBcc: x@y");
    bad.tracking_id = "r2".into();
    let out = render_batch(&c, &[recipient("Ada"), bad], &[], &opts(Output::Mime), 2);
    assert!(out[0].is_ok());
    assert!(out[1].as_ref().err().unwrap().contains("subject"));
}

#[test]
fn generated_bodies_are_already_relaxed_canonical() {
    let mut s = spec();
    s.html = "<html><body>\n    <p>Indented  and\tspaced   </p>\n\n\n</body></html>".into();
    let c = compile(s).unwrap();
    let key = Arc::new(SigningKey::ed25519_from_seed("acme.example", "s", &[7; 32]).unwrap());
    // canonical_body_hash debug-asserts the body equals its relaxed canonical form.
    let out = render_batch(&c, &[recipient("A  B")], &[key], &opts(Output::Mime), 1);
    assert!(out[0].is_ok());
}

#[test]
fn mime_lines_are_within_limits() {
    let mut s = spec();
    s.html = format!(
        "<html><body>{}</body></html>",
        "<p>long line é</p>".repeat(500)
    );
    s.subject = "Grüße, {{first_name}}! ".repeat(8);
    let c = compile(s).unwrap();
    let out = render_batch(&c, &[recipient("Zoë")], &[], &opts(Output::Mime), 1);
    let Ok(RecipientResult {
        rendered: Rendered::Mime(m),
        ..
    }) = &out[0]
    else {
        panic!()
    };
    let text = std::str::from_utf8(m.bytes()).unwrap();
    assert!(text.is_ascii());
    for line in text.split("\r\n") {
        assert!(line.len() <= 78, "{line}");
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
}
