//! The test messages, and how to compare what a server stored with what
//! was sent.

use smtp_proto::{Address, BodyType, Envelope};

/// One message to send: envelope parts, the body, and a tag (in its
/// `Subject:` and `Message-ID:`) that finds it again in a server's spool.
#[derive(Debug, Clone)]
pub struct TestMessage {
    /// What the message tests (`dots`, `long-line`, ...).
    pub name: &'static str,
    /// A unique tag inside the message.
    pub tag: String,
    /// MAIL FROM.
    pub from: String,
    /// RCPT TO, in order.
    pub to: Vec<String>,
    /// The whole message: headers and body, CRLF line ends, ending in CRLF.
    pub body: Vec<u8>,
}

impl TestMessage {
    fn new(name: &'static str, run: &str, from: &str, to: &[&str], text: &[u8]) -> TestMessage {
        TestMessage::tagged(name, format!("{run}-{name}"), from, to, text)
    }

    fn tagged(
        name: &'static str,
        tag: String,
        from: &str,
        to: &[&str],
        text: &[u8],
    ) -> TestMessage {
        let mut body = Vec::new();
        body.extend_from_slice(format!("From: <{from}>\r\n").as_bytes());
        body.extend_from_slice(format!("To: <{}>\r\n", to.join(">, <")).as_bytes());
        body.extend_from_slice(format!("Subject: interop {tag}\r\n").as_bytes());
        body.extend_from_slice(format!("Message-ID: <{tag}@interop.test>\r\n").as_bytes());
        body.extend_from_slice(b"MIME-Version: 1.0\r\n");
        body.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
        if !text.is_ascii() {
            body.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(text);
        TestMessage {
            name,
            tag,
            from: from.to_owned(),
            to: to.iter().map(|s| s.to_string()).collect(),
            body,
        }
    }

    /// Lines starting with `.`: a lone dot, two dots, dot-text, a dot at the
    /// very end.
    pub fn dots(run: &str) -> TestMessage {
        let text =
            b".\r\n..\r\n.leading dot\r\n...three\r\nmiddle . dot\r\n. \r\nlast line\r\n.\r\n";
        TestMessage::new(
            "dots",
            run,
            "sender@example.org",
            &["rcpt1@example.org"],
            text,
        )
    }

    /// A body line of exactly 998 octets (the RFC 5322 maximum), and one
    /// starting with a dot at that length minus one.
    pub fn long_line(run: &str) -> TestMessage {
        let mut text = Vec::new();
        text.extend_from_slice(&[b'x'; 998]);
        text.extend_from_slice(b"\r\n.");
        text.extend_from_slice(&[b'y'; 997]);
        text.extend_from_slice(b"\r\nend\r\n");
        TestMessage::new(
            "long-line",
            run,
            "sender@example.org",
            &["rcpt1@example.org"],
            &text,
        )
    }

    /// UTF-8 in the body (8BITMIME).
    pub fn utf8_body(run: &str) -> TestMessage {
        let text = "Grüße aus Köln, ☃ and 日本語 too.\r\nΑυτό είναι ελληνικό.\r\n".as_bytes();
        TestMessage::new(
            "utf8-body",
            run,
            "sender@example.org",
            &["rcpt1@example.org"],
            text,
        )
    }

    /// UTF-8 in the sender and a recipient address (SMTPUTF8).
    pub fn utf8_address(run: &str) -> TestMessage {
        let text = "An address with ü in it.\r\n".as_bytes();
        TestMessage::new(
            "utf8-address",
            run,
            "jürgen@exämple.org",
            &["тест@example.org"],
            text,
        )
    }

    /// Three recipients.
    pub fn three_recipients(run: &str) -> TestMessage {
        let text = b"To three people.\r\n";
        let to = [
            "rcpt1@example.org",
            "rcpt2@example.org",
            "rcpt3@example.org",
        ];
        TestMessage::new("three-rcpts", run, "sender@example.org", &to, text)
    }

    /// A body of 10 MiB (lines of 76 characters and CRLF), with a few lines
    /// starting with a dot.
    pub fn big(run: &str) -> TestMessage {
        const SIZE: usize = 10 * 1024 * 1024;
        let mut text = Vec::with_capacity(SIZE + 100);
        let mut i = 0u64;
        while text.len() < SIZE {
            let line = if i % 1000 == 0 {
                format!(".{i:075}\r\n")
            } else {
                format!("{i:076}\r\n")
            };
            text.extend_from_slice(line.as_bytes());
            i += 1;
        }
        TestMessage::new(
            "big-10MiB",
            run,
            "sender@example.org",
            &["rcpt1@example.org"],
            &text,
        )
    }

    /// A body of about `size` octets (lines of 76 characters) to `to`.
    pub fn sized(run: &str, to: &[&str], size: usize) -> TestMessage {
        TestMessage::new(
            "sized",
            run,
            "sender@example.org",
            to,
            &numbered_lines(size),
        )
    }

    /// A body of `size` octets to a recipient the interop Postfix refuses
    /// at RCPT (`refused@interop.test`).
    pub fn to_refused(run: &str, size: usize) -> TestMessage {
        TestMessage::new(
            "to-refused",
            run,
            "sender@example.org",
            &["refused@interop.test"],
            &numbered_lines(size),
        )
    }

    /// A small message with the given recipients (for the sink and the
    /// faulty server).
    pub fn simple(run: &str, n: usize, to: &[&str]) -> TestMessage {
        let text = format!("Message number {n}.\r\n.dot line\r\n");
        let tag = format!("{run}-simple-{n}");
        TestMessage::tagged("simple", tag, "sender@example.org", to, text.as_bytes())
    }

    /// The standard set for the matrix: dots, 998-octet line, UTF-8 body,
    /// UTF-8 address (when `smtputf8`), three recipients, and (when `big`)
    /// 10 MiB.
    pub fn matrix(run: &str, smtputf8: bool, big: bool) -> Vec<TestMessage> {
        let mut v = vec![
            TestMessage::dots(run),
            TestMessage::long_line(run),
            TestMessage::utf8_body(run),
            TestMessage::three_recipients(run),
        ];
        if smtputf8 {
            v.push(TestMessage::utf8_address(run));
        }
        if big {
            v.push(TestMessage::big(run));
        }
        v
    }

    /// The envelope, with the body type detected and the size declared.
    pub fn envelope(&self) -> Envelope {
        let from = Address::new(&self.from).expect("valid test sender");
        let to = self
            .to
            .iter()
            .map(|t| Address::new(t).expect("valid test recipient"));
        let mut env = Envelope::new(from, to);
        env.body_type = BodyType::detect(&self.body);
        env.size = Some(self.body.len() as u64);
        env
    }
}

/// About `size` octets of numbered 76-character lines with CRLF.
fn numbered_lines(size: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(size + 80);
    let mut i = 0u64;
    while text.len() < size {
        text.extend_from_slice(format!("{i:076}\r\n").as_bytes());
        i += 1;
    }
    text
}

/// Dovecot stores with LF line ends and a `Return-Path:` on top (our
/// instance adds no `Received:` nor `Delivered-To:`): drops it and turns LF
/// into CRLF (with [`normalise_postfix`], which would also drop a
/// `Received:`).
pub fn normalise_dovecot(stored: &[u8]) -> Vec<u8> {
    let rest = match stored.strip_prefix(b"Return-Path:") {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&rest[rest.len()..], |i| &rest[i + 1..]),
        None => stored,
    };
    normalise_postfix(rest)
}

/// Postfix (and smtp-sink) store with LF line ends and add a `Received:`
/// header (folded over several lines) on top: drops every header line
/// before the first line that is not `Received:` or its continuation, and
/// turns LF into CRLF, so the result compares with what was sent.
pub fn normalise_postfix(stored: &[u8]) -> Vec<u8> {
    let mut rest = stored;
    let mut in_received = false;
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if line.starts_with(b"Received:") {
            in_received = true;
        } else if !(in_received && continuation) {
            break;
        }
        rest = &rest[end..];
    }
    let mut out = Vec::with_capacity(rest.len() + rest.len() / 40);
    for &b in rest {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Drops smtp-sink's own `X-...` lines (client address, HELO, MAIL and RCPT
/// arguments) at the top of a dump and the empty line it appends, then
/// normalises like Postfix.
pub fn normalise_sink(dump: &[u8]) -> Vec<u8> {
    let mut rest = dump.strip_suffix(b"\n").unwrap_or(dump);
    while rest.starts_with(b"X-") {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        rest = &rest[end..];
    }
    normalise_postfix(rest)
}

/// A short description of where two byte strings first differ.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let ctx = |s: &[u8]| {
        let lo = i.saturating_sub(20);
        let hi = (i + 40).min(s.len());
        String::from_utf8_lossy(&s[lo..hi])
            .escape_debug()
            .to_string()
    };
    format!(
        "lengths {} and {}, first difference at octet {i}: {:?} vs {:?}",
        a.len(),
        b.len(),
        ctx(a),
        ctx(b)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfix_normalisation_drops_received_and_restores_crlf() {
        let stored = b"Received: from x\n\tby y;\n\tdate\nSubject: s\n\nbody\n.dot\n";
        assert_eq!(
            normalise_postfix(stored),
            b"Subject: s\r\n\r\nbody\r\n.dot\r\n"
        );
        let dump = b"X-Client-Addr: 1\nX-Rcpt-Args: <a>\nReceived: from x\n\tby y\nA: b\n\nc\n\n";
        assert_eq!(normalise_sink(dump), b"A: b\r\n\r\nc\r\n");
    }

    #[test]
    fn messages_are_crlf_and_end_in_crlf() {
        for m in TestMessage::matrix("t", true, false) {
            assert!(m.body.ends_with(b"\r\n"), "{}", m.name);
            let bare_lf = m.body.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r');
            assert!(!bare_lf, "{}", m.name);
            let _ = m.envelope();
        }
        let long = TestMessage::long_line("t");
        assert!(
            long.body.split(|&b| b == b'\n').any(|l| l.len() == 999),
            "998 + CR"
        );
        assert!(TestMessage::big("t").body.len() >= 10 * 1024 * 1024);
    }
}
