use super::*;

fn ctx_with<'a>(custom: &'a BTreeMap<String, Value>) -> Context<'a> {
    Context {
        first_name: "Ada",
        last_name: "",
        email: "ada@example.com",
        custom,
        unsubscribe_url: "https://u",
        preferences_url: "https://p",
    }
}

fn render(src: &str, custom: &BTreeMap<String, Value>, esc: bool) -> String {
    let tags = parse_tags("html", src).unwrap();
    let t = assemble(src, tags, vec![]);
    let mut out = String::new();
    let ctx = ctx_with(custom);
    for s in &t.segs {
        match s {
            Seg::Lit(r) => out.push_str(&t.lits[r.clone()]),
            Seg::Var(slot) => {
                let w = if esc { write_escaped } else { write_raw };
                write_slot(slot, &ctx, &mut out, w).unwrap()
            }
            _ => unreachable!(),
        }
    }
    out
}

#[test]
fn renders_variables_defaults_and_nested_custom_fields() {
    let mut addr = BTreeMap::new();
    addr.insert("city".to_string(), Value::Str("Brisbane".into()));
    let mut custom = BTreeMap::new();
    custom.insert("address".to_string(), Value::Map(addr));
    custom.insert("n".to_string(), Value::Int(3));
    let src = "Hi {{first_name}} {{ last_name | default: \"there\" }}, {{custom.address.city}} {{custom.n}}{{custom.none|default:'-'}}";
    assert_eq!(render(src, &custom, false), "Hi Ada there, Brisbane 3-");
}

#[test]
fn escapes_in_html() {
    let custom = BTreeMap::new();
    let mut ctx = ctx_with(&custom);
    ctx.first_name = "<script>alert(1)</script>";
    let mut out = String::new();
    let slot = Slot {
        var: Var::FirstName,
        default: None,
        url: false,
    };
    write_slot(&slot, &ctx, &mut out, write_escaped).unwrap();
    assert_eq!(out, "&lt;script&gt;alert(1)&lt;/script&gt;");
}

#[test]
fn unknown_variable_reports_line_and_column() {
    let err = parse_tags("html", "line one\n  ab {{ nope }}").unwrap_err();
    assert_eq!((err.line, err.column), (2, 9));
    assert!(err.message.contains("unknown variable"));
}

#[test]
fn malformed_tags_are_rejected() {
    for src in [
        "{{ first_name",
        "{{}}",
        "{{ first_name | upper }}",
        "{{ email | default: x }}",
        "{{ custom. }}",
        "{{ a b }}",
    ] {
        assert!(parse_tags("subject", src).is_err(), "{src}");
    }
    let err = parse_tags("subject", "x {{ first_name").unwrap_err();
    assert_eq!((err.line, err.column), (1, 3));
}

#[test]
fn default_may_contain_braces() {
    let tags = parse_tags("html", "{{ first_name | default: \"}}\" }}").unwrap();
    assert_eq!(tags[0].slot.default.as_deref(), Some("}}"));
}

#[test]
fn slots_starting_an_href_only_take_web_mail_or_tel_urls() {
    let mut custom = BTreeMap::new();
    custom.insert("u".to_string(), Value::Str(" JavaScript:alert(1)".into()));
    custom.insert("ok".to_string(), Value::Str("HTTPS://x.example".into()));
    let ctx = ctx_with(&custom);
    let slot = |name: &str| Slot {
        var: Var::Custom(vec![name.into()]),
        default: None,
        url: true,
    };
    assert!(write_slot(&slot("u"), &ctx, &mut String::new(), write_escaped).is_err());
    assert!(write_slot(&slot("ok"), &ctx, &mut String::new(), write_escaped).is_ok());
}

#[test]
fn object_custom_value_is_a_render_error() {
    let mut custom = BTreeMap::new();
    custom.insert("a".to_string(), Value::Map(BTreeMap::new()));
    let ctx = ctx_with(&custom);
    let slot = Slot {
        var: Var::Custom(vec!["a".into()]),
        default: None,
        url: false,
    };
    assert!(write_slot(&slot, &ctx, &mut String::new(), write_raw).is_err());
}
