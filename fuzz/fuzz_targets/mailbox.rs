//! `mailbox`: arbitrary strings into `Address::new`, `ClientName::new` and
//! `XText::encode`: each is refused, or what it builds is what was given
//! (xtext: decodes back) and the EHLO, MAIL and RCPT lines a full `Client`
//! writes with it (after a scripted greeting and EHLO reply offering DSN and
//! SMTPUTF8) contain no CR, LF or NUL before their CRLF.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smtp_proto::{
    Address, Client, ClientName, Config, DsnReturn, Envelope, Instant, Notify, Output, Recipient,
    TlsPolicy, XText,
};

#[derive(Arbitrary, Debug)]
struct Input {
    from: String,
    to: String,
    name: String,
    orcpt: Vec<u8>,
    envid: Vec<u8>,
    notify: u8,
    pipelining: bool,
}

fn check_address(s: &str) -> Option<Address> {
    let r = Address::new(s);
    assert_eq!(
        r,
        s.parse::<Address>(),
        "FromStr disagrees with Address::new"
    );
    let a = r.ok()?;
    assert_eq!(a.as_str(), s);
    assert!(!a.is_null());
    assert!(
        s.len() <= 254,
        "an address longer than 254 octets was accepted"
    );
    for b in s.bytes() {
        assert!(
            !matches!(b, b'\r' | b'\n' | 0 | b'<' | b'>'),
            "Address accepted {s:?} with byte {b:#04x}"
        );
    }
    assert_eq!(a.needs_smtputf8(), !s.is_ascii());
    let _ = (a.to_string(), format!("{a:?}"));
    Some(a)
}

fn xtext_decode(x: &str) -> Vec<u8> {
    let b = x.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            assert!(
                hex.bytes()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
            );
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn check_xtext(v: &[u8]) -> Option<XText> {
    // ENVID's limit is 100 encoded octets, ORCPT's 500 (RFC 3461 sections
    // 4.4 and 4.2): the two constructors agree on the encoding and differ
    // only in the limit.
    let envid = XText::envid(v);
    let x = XText::encode(v).ok()?;
    let s = x.as_str();
    assert!(s.len() <= XText::MAX_ORCPT, "xtext longer than 500 octets");
    match envid {
        Ok(e) => assert!(
            e == x && s.len() <= XText::MAX_ENVID,
            "ENVID and ORCPT encode apart"
        ),
        Err(_) => assert!(s.len() > XText::MAX_ENVID, "a short ENVID refused"),
    }
    assert!(
        s.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b'='),
        "xtext with a byte outside ! to ~: {s:?}"
    );
    assert_eq!(xtext_decode(s), v, "xtext does not decode back");
    Some(x)
}

fn check_line(line: &[u8]) {
    assert!(
        !line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)),
        "a command line carries CR, LF or NUL: {:?}",
        String::from_utf8_lossy(line)
    );
}

fuzz_target!(|input: Input| {
    let from = check_address(&input.from);
    let to = check_address(&input.to);
    let name = ClientName::new(&input.name).ok();
    if let Some(n) = &name {
        assert_eq!(n.as_str(), input.name);
        assert!(n.as_str().len() <= 255);
        assert!(
            !n.as_str()
                .bytes()
                .any(|b| b.is_ascii_control() || b == b' ')
        );
    }
    let orcpt = check_xtext(&input.orcpt);
    let envid = check_xtext(&input.envid).and_then(|_| XText::envid(&input.envid).ok());

    // A whole client with whatever was accepted (defaults for the rest).
    let now = Instant::ZERO;
    let config = {
        let mut built = Config::default();
        built.client_name = name.clone().unwrap_or_default();
        built.tls = Some(TlsPolicy::Off);
        built
    };
    let from = from.unwrap_or_else(|| Address::new("a@example.org").unwrap());
    let to = to.unwrap_or_else(|| Address::new("b@example.org").unwrap());
    let mut env = Envelope::new(from.clone(), []);
    env.recipients.push(Recipient {
        address: to.clone(),
        notify: match input.notify % 3 {
            0 => None,
            1 => Some(Notify::NEVER),
            _ => Some(Notify {
                success: true,
                failure: input.notify & 8 != 0,
                delay: input.notify & 16 != 0,
            }),
        },
        orcpt: orcpt.clone(),
    });
    env.dsn_envid = envid.clone();
    env.dsn_return = Some(DsnReturn::Headers);
    let mut client = Client::new(config, now);
    client.send(env, now).unwrap();

    let ehlo: &[u8] = if input.pipelining {
        b"250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n"
    } else {
        b"250-mx\r\n250-DSN\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n"
    };
    let mut script = [&b"220 mx\r\n"[..], ehlo, b"250 ok\r\n", b"250 ok\r\n"].into_iter();
    let mut wire = Vec::new();
    for _ in 0..100 {
        match client.poll_output() {
            Output::Transmit(b) => wire.extend_from_slice(b),
            Output::Wait(_) => match script.next() {
                Some(r) => client.handle_input(r, now),
                None => break,
            },
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        wire.ends_with(b"\r\n"),
        "the client's output does not end with CRLF"
    );
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for l in wire.split_inclusive(|&b| b == b'\n') {
        let c = l.strip_suffix(b"\r\n").unwrap_or_else(|| {
            panic!(
                "a line without CRLF in {:?}",
                String::from_utf8_lossy(&wire)
            )
        });
        check_line(c);
        lines.push(c.to_vec());
    }
    let line = |prefix: &[u8]| -> Vec<u8> {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no {:?} line in {:?}",
                    prefix,
                    String::from_utf8_lossy(&wire)
                )
            })
            .clone()
    };
    let ehlo_line = line(b"EHLO ");
    assert_eq!(&ehlo_line[5..], config_name(&name).as_bytes());
    let mail = line(b"MAIL FROM:");
    let want = format!("MAIL FROM:<{}>", from.as_str());
    assert!(
        mail.starts_with(want.as_bytes()),
        "MAIL line {mail:?} is not for {want}"
    );
    let rcpt = line(b"RCPT TO:");
    let want = format!("RCPT TO:<{}>", to.as_str());
    assert!(
        rcpt.starts_with(want.as_bytes()),
        "RCPT line {rcpt:?} is not for {want}"
    );
    if let Some(x) = &envid {
        let want = format!(" ENVID={}", x.as_str());
        assert!(
            smtp_fuzz::contains(&mail, want.as_bytes()),
            "no ENVID in {mail:?}"
        );
    }
    if let Some(x) = &orcpt {
        let want = format!(" ORCPT=rfc822;{}", x.as_str());
        assert!(
            smtp_fuzz::contains(&rcpt, want.as_bytes()),
            "no ORCPT in {rcpt:?}"
        );
    }
});

fn config_name(name: &Option<ClientName>) -> String {
    name.clone().unwrap_or_default().as_str().to_owned()
}
