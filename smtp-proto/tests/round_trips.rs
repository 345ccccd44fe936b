//! Counts how often the client must wait for the server when sending many
//! messages on one session, against a small in-memory server model.

use smtp_proto::{Address, Client, Config, Envelope, Event, Instant, Output};

/// A minimal SMTP server: answers every command it reads with success.
struct Server {
    extensions: &'static [&'static str],
    input: Vec<u8>,
    in_data: bool,
    bdat_left: usize,
    delivered: usize,
}

impl Server {
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.input.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            if self.bdat_left > 0 {
                let n = self.bdat_left.min(self.input.len());
                self.input.drain(..n);
                self.bdat_left -= n;
                if self.bdat_left > 0 {
                    break;
                }
                continue;
            }
            let Some(nl) = self.input.windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line: Vec<u8> = self.input.drain(..nl + 2).collect();
            let line = &line[..line.len() - 2];
            if self.in_data {
                if line == b"." {
                    self.in_data = false;
                    self.delivered += 1;
                    out.extend_from_slice(b"250 2.0.0 queued\r\n");
                }
                continue;
            }
            let verb = line
                .split(|&b| b == b' ')
                .next()
                .unwrap()
                .to_ascii_uppercase();
            match &verb[..] {
                b"EHLO" => {
                    out.extend_from_slice(b"250-sink\r\n");
                    for e in self.extensions {
                        out.extend_from_slice(format!("250-{e}\r\n").as_bytes());
                    }
                    out.extend_from_slice(b"250 8BITMIME\r\n");
                }
                b"DATA" => {
                    self.in_data = true;
                    out.extend_from_slice(b"354 go\r\n");
                }
                b"BDAT" => {
                    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
                    self.bdat_left = std::str::from_utf8(words[1]).unwrap().parse().unwrap();
                    if words.len() > 2 {
                        self.delivered += 1;
                    }
                    out.extend_from_slice(b"250 2.0.0 ok\r\n");
                }
                b"QUIT" => out.extend_from_slice(b"221 bye\r\n"),
                _ => out.extend_from_slice(b"250 ok\r\n"),
            }
        }
        out
    }
}

/// Sends `n` messages and returns (times the client waited, messages the
/// server took, messages reported delivered).
fn run(n: usize, extensions: &'static [&'static str], pipelining: bool) -> (usize, usize, usize) {
    let now = Instant::ZERO;
    let config = {
        let mut built = Config::default();
        built.pipelining = pipelining;
        built
    };
    let mut client = Client::new(config, now);
    for i in 0..n {
        let from = Address::new("a@example.org").unwrap();
        let to = Address::new(&format!("r{i}@example.org")).unwrap();
        client.send(Envelope::new(from, [to]), now).unwrap();
    }
    client.quit(now);
    let mut server = Server {
        extensions,
        input: vec![],
        in_data: false,
        bdat_left: 0,
        delivered: 0,
    };
    let mut to_client = b"220 sink ESMTP\r\n".to_vec();
    let (mut waits, mut delivered) = (0, 0);
    for _ in 0..100_000 {
        match client.poll_output() {
            Output::Transmit(bytes) => {
                let reply = server.feed(bytes);
                to_client.extend(reply);
            }
            Output::NeedBody(_) => client
                .send_body(b"Subject: x\r\n\r\n.hello\r\n", true, now)
                .unwrap(),
            Output::Wait(_) => {
                // One round trip: everything the server has said so far.
                waits += 1;
                let bytes = std::mem::take(&mut to_client);
                assert!(
                    !bytes.is_empty(),
                    "client waits for a reply the server never owes"
                );
                client.handle_input(&bytes, now);
            }
            Output::Closed(r) => {
                r.unwrap();
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
        while let Some(e) = client.poll_event() {
            if let Event::Outcome(o) = e {
                delivered += usize::from(o.is_delivered());
            }
        }
    }
    (waits, server.delivered, delivered)
}

#[test]
fn pipelining_needs_one_round_trip_per_message() {
    for n in [1, 2, 10, 50] {
        let (waits, taken, reported) = run(n, &["PIPELINING"], true);
        assert_eq!((taken, reported), (n, n));
        assert!(waits <= n + 3, "{n} messages took {waits} round trips");
    }
}

#[test]
fn chunking_needs_fewer_round_trips() {
    let n = 50;
    let (waits, taken, reported) = run(n, &["PIPELINING", "CHUNKING"], true);
    assert_eq!((taken, reported), (n, n));
    let (data_waits, ..) = run(n, &["PIPELINING"], true);
    assert!(
        waits < data_waits,
        "BDAT took {waits} round trips, DATA {data_waits}"
    );
    // greeting, EHLO, then one wait per 32 BDAT chunks in flight.
    assert!(
        waits <= 2 + n.div_ceil(32) + 1,
        "BDAT took {waits} round trips for {n} messages"
    );
}

#[test]
fn without_pipelining_every_command_waits() {
    let n = 5;
    let (waits, taken, reported) = run(n, &["PIPELINING"], false);
    assert_eq!((taken, reported), (n, n));
    // greeting, EHLO, then MAIL, RCPT, DATA, end of data per message, QUIT
    assert_eq!(waits, 2 + 4 * n + 1);
}

#[test]
fn debug_output_never_shows_credentials() {
    use smtp_proto::Credentials;
    let now = Instant::ZERO;
    let config = {
        let mut built = Config::default();
        built.credentials = Some(Credentials::password("me@example.org", "hunter2-pw").unwrap());
        built.implicit_tls = true;
        built
    };
    let mut client = Client::new(config.clone(), now);
    client.handle_input(b"220 x\r\n", now);
    while let Output::Transmit(_) = client.poll_output() {}
    client.handle_input(b"250-x\r\n250 AUTH PLAIN\r\n", now);
    // The AUTH line is now in the client's output buffer.
    let shown_client = format!("{client:?} {config:?}");
    let debug = format!("{shown_client} {:?}", client.poll_output());
    for secret in [
        "hunter2-pw",
        "aHVudGVyMi1wdw",
        "AG1lQGV4YW1wbGUub3JnAGh1bnRlcjItcHc",
    ] {
        assert!(!debug.contains(secret), "secret in Debug output: {debug}");
    }
    assert!(debug.contains("Transmit(<"), "{debug}");
    let mut client = Client::new(config, now);
    client.handle_input(b"220 x\r\n", now);
    while let Output::Transmit(_) = client.poll_output() {}
    client.handle_input(b"250-x\r\n250 AUTH PLAIN\r\n", now);
    match client.poll_output() {
        Output::Transmit(bytes) => {
            assert!(bytes.starts_with(b"AUTH PLAIN AG1lQGV4YW1wbGUub3JnAGh1bnRlcjItcHc"))
        }
        other => panic!("expected the AUTH line, got {other:?}"),
    }
}
