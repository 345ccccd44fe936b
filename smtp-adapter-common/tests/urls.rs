//! `Target::from_url`: which URLs say how to reach a server, and which part
//! of the others is wrong.

use smtp_adapter_common::{Target, UrlPart};
use smtp_proto::{Mechanism, Protocol, TlsPolicy};
use std::time::Duration;

/// host, port, implicit TLS, TLS policy, protocol.
type Reached = (&'static str, u16, bool, TlsPolicy, Protocol);

#[test]
fn urls_that_say_how_to_reach_a_server() {
    use Protocol::{Lmtp, Smtp};
    use TlsPolicy::{Off, Opportunistic, Required};
    let cases: [(&str, Reached); 12] = [
        (
            "smtp://mail.example.org",
            ("mail.example.org", 587, false, Opportunistic, Smtp),
        ),
        (
            "smtp://mail.example.org:25",
            ("mail.example.org", 25, false, Opportunistic, Smtp),
        ),
        (
            "smtp://u:p@mail.example.org",
            ("mail.example.org", 587, false, Required, Smtp),
        ),
        (
            "smtp://mail.example.org?tls=off",
            ("mail.example.org", 587, false, Off, Smtp),
        ),
        ("smtp://h?tls=required", ("h", 587, false, Required, Smtp)),
        (
            "smtp://u:p@h?tls=opportunistic",
            ("h", 587, false, Opportunistic, Smtp),
        ),
        (
            "smtps://mail.example.org",
            ("mail.example.org", 465, true, Opportunistic, Smtp),
        ),
        ("smtps://h:2465", ("h", 2465, true, Opportunistic, Smtp)),
        (
            "lmtp://127.0.0.1",
            ("127.0.0.1", 24, false, Opportunistic, Lmtp),
        ),
        (
            "lmtp://[::1]:2424",
            ("::1", 2424, false, Opportunistic, Lmtp),
        ),
        ("smtp://[::1]", ("::1", 587, false, Opportunistic, Smtp)),
        (
            "SMTP://Mail.Example.ORG/",
            ("mail.example.org", 587, false, Opportunistic, Smtp),
        ),
    ];
    for (url, (host, port, implicit, tls, protocol)) in cases {
        let t = Target::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!((t.host.as_str(), t.port), (host, port), "{url}");
        assert_eq!(t.options.is_implicit_tls(t.port), implicit, "{url}");
        assert_eq!(t.options.config.tls_policy(), tls, "{url}");
        assert_eq!(t.options.config.protocol, protocol, "{url}");
    }
}

#[test]
fn credentials_are_percent_decoded_and_never_printed() {
    let t = Target::from_url("smtp://me%40example.org:p%40ss%3Aw%2Frd@h").unwrap();
    let credentials = t.options.config.credentials.clone().expect("credentials");
    let expected = smtp_proto::Credentials::password("me@example.org", "p@ss:w/rd").unwrap();
    assert_eq!(credentials, expected);
    assert!(!format!("{t:?}").contains("p@ss:w/rd"), "{t:?}");
    // A token, with an OAuth mechanism.
    let t = Target::from_url("smtps://me@gmail.com:ya29.tok@smtp.gmail.com?auth=xoauth2").unwrap();
    assert_eq!(t.options.config.mechanism, Some(Mechanism::XOAuth2));
    assert!(t.options.config.credentials.is_some());
}

#[test]
fn parameters_set_the_name_deadlines_and_mechanism() {
    let t =
        Target::from_url("smtp://u:p@h?ehlo=client.example.org&timeout=20s&auth=login").unwrap();
    let c = &t.options.config;
    assert_eq!(c.client_name.as_str(), "client.example.org");
    assert_eq!(c.timeouts.data_block, Duration::from_secs(20));
    assert_eq!(t.options.connect_timeout, Duration::from_secs(20));
    assert_eq!(c.mechanism, Some(Mechanism::Login));
    for (text, limit) in [("500ms", 500), ("2m", 120_000), ("7", 7_000)] {
        let t = Target::from_url(&format!("smtp://h?timeout={text}")).unwrap();
        assert_eq!(
            t.options.config.timeouts.data_block,
            Duration::from_millis(limit)
        );
    }
    let t = Target::from_url("smtp://u:p@h?auth=scram-sha-256").unwrap();
    assert_eq!(t.options.config.mechanism, Some(Mechanism::ScramSha256));
}

#[test]
fn urls_that_do_not_are_refused_naming_the_part() {
    let query = |name: &str| UrlPart::Query(name.into());
    let cases: [(&str, UrlPart); 16] = [
        ("mail.example.org:587", UrlPart::Scheme),
        ("http://mail.example.org", UrlPart::Scheme),
        ("smtp//mail.example.org", UrlPart::Syntax),
        ("smtp://", UrlPart::Host),
        ("smtp://h:99999", UrlPart::Syntax),
        ("smtp://h/inbox", UrlPart::Path),
        ("smtp://user@h", UrlPart::Password),
        ("smtp://:secret@h", UrlPart::User),
        ("smtp://u:p%00w@h", UrlPart::Password),
        ("smtp://u:%ff@h", UrlPart::Password),
        ("smtp://h?tls=sometimes", query("tls")),
        ("smtps://h?tls=off", query("tls")),
        ("smtp://h?timeout=soon", query("timeout")),
        ("smtp://h?ehlo=bad%20name", query("ehlo")),
        ("smtp://u:p@h?auth=cram-md5", query("auth")),
        ("smtp://h?auth=plain", query("auth")),
    ];
    for (url, part) in cases {
        match Target::from_url(url) {
            Ok(t) => panic!("{url} accepted: {t:?}"),
            Err(e) => {
                assert_eq!(e.part, part, "{url}: {e}");
                assert!(e.to_string().starts_with("invalid URL: "), "{e}");
            }
        }
    }
    let twice = Target::from_url("smtp://h?tls=off&tls=required").unwrap_err();
    assert_eq!(twice.part, query("tls"));
    let unknown = Target::from_url("smtp://h?pool=4").unwrap_err();
    assert_eq!(
        (unknown.part, unknown.reason.as_str()),
        (query("pool"), "unknown parameter")
    );
}
