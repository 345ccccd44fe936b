//! The transcript harness: scenario files written as the dialogue, run
//! against the client three ways (each server turn whole, byte by byte, and
//! split at seeded random points), all of which must agree.
//!
//! A scenario file holds, one per line (`#` starts a comment):
//!
//! - `config KEY[=VALUE] ...`: `credentials=USER:PASS`, `oauth=USER:TOKEN`,
//!   `mechanism=PLAIN|LOGIN|XOAUTH2`, `tls=required|opportunistic|off`,
//!   `implicit-tls`, `allow-plaintext-auth`, `pipelining=off`, `chunking=off`,
//!   `lmtp`, `all-or-nothing`, `timeout=SECS`, `max-line=N`, `max-lines=N`,
//!   `max-reply=N`, `name=HOST`, `no-quit` (QUIT is otherwise asked for
//!   right after the messages are queued), `entropy` (the caller gives the
//!   18 bytes 1, 2, ..., 18: SCRAM may be used), `tls-exporter` (the
//!   connection's exporter is 32 bytes of 7: SCRAM-SHA-256-PLUS may be
//!   used); `mechanism=` also takes `OAUTHBEARER`, `SCRAM-SHA-256` and
//!   `SCRAM-SHA-256-PLUS`.
//! - `message KEY=VALUE ...`: queues a message: `from=ADDR` (`<>` for the null
//!   path), `to=A,B,C`, `size=N`, `body-type=8bit|binary`, `require-tls`,
//!   `ret=full|hdrs`, `envid=ID`, `notify=success,failure,delay|never`,
//!   `orcpt=ADDR`, `require-dsn`, `chunks=N,N,...` (the body is given in
//!   chunks of these sizes whatever the mode), `body-error` (the caller's
//!   body reader fails instead), `later` (queued only at a `queue` step).
//! - `body: TEXT`: a line of the last message's body (CRLF added);
//!   `body-raw: ESCAPED`: bytes as they are (`\r`, `\n`, `\t`, `\0`, `\\`,
//!   `\xNN`).
//! - `S: TEXT` / `S-raw: ESCAPED`: what the server sends (CRLF added to `S:`).
//! - `C: TEXT` / `C-raw: ESCAPED`: what the client must have sent by the next
//!   server turn or the end.
//! - `eof`, `tick SECS`, `tls` (the handshake succeeded), `noop`, `rset`:
//!   events; `queue`: the next `later` message is queued now;
//!   `check-open`: the session has not ended yet;
//!   `transport-error`, `tls-failed`: the caller reports a failed connection
//!   or handshake.
//! - `expect stages: STAGE ...`: the stages of every reply, in order (each
//!   repeated stage once), then the final stage.
//! - `expect closed: ok` or `expect closed: error KIND [CODE] at STAGE`.
//! - `expect outcome N: delivered [CODE]` or `expect outcome N: failed KIND
//!   [CODE]`.
//! - `expect rcpt N: CODE|- ...` (RCPT replies per recipient) and
//!   `expect delivery N: CODE|- ...` (LMTP).
//! - `expect open`: the session has not ended.
//! - `expect fate-unknown N: yes|no`: whether message N may have been
//!   accepted although its outcome says not sent.
//! - `expect transcript: LINE`: the transcript has this line (as displayed,
//!   e.g. `[SetFrom] C: MAIL FROM:<a@b>`).
//! - `expect transient N: yes|no`: whether message N's failure is transient.
//! - `expect unknown N: yes|no ...`: per recipient, whether its fate is
//!   unknown.

#![allow(dead_code)]

use smtp_proto::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// How the server's turns and the bodies are cut into pieces.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Whole,
    ByteByByte,
    Random(u64),
}

#[derive(Debug, Clone)]
struct MessageSpec {
    envelope: Envelope,
    body: Vec<u8>,
    chunks: Option<Vec<usize>>,
    /// The caller's body reader fails instead of giving the body.
    body_error: bool,
    /// Queued at a `queue` step, not up front.
    later: bool,
}

#[derive(Debug, Clone)]
enum Step {
    Server(Vec<u8>, usize),
    Client(Vec<u8>),
    Eof,
    Tick(u64),
    Tls(usize),
    Noop,
    Rset,
    Queue,
    CheckOpen(usize),
    TransportError,
    TlsFailed,
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    config: Config,
    no_quit: bool,
    entropy: bool,
    tls_exporter: bool,
    messages: Vec<MessageSpec>,
    steps: Vec<Step>,
    expect_stages: Option<Vec<String>>,
    expect_closed: Option<String>,
    expect_open: bool,
    expect_outcomes: BTreeMap<usize, String>,
    expect_rcpt: BTreeMap<usize, Vec<String>>,
    expect_delivery: BTreeMap<usize, Vec<String>>,
    expect_transcript: Vec<String>,
    expect_fate_unknown: BTreeMap<usize, bool>,
    expect_transient: BTreeMap<usize, bool>,
    expect_unknown: BTreeMap<usize, Vec<String>>,
    secrets: Vec<String>,
}

/// What one run produced.
#[derive(Debug, PartialEq)]
pub struct RunResult {
    pub stages: Vec<String>,
    pub fate_unknown: BTreeMap<usize, bool>,
    pub transient: BTreeMap<usize, bool>,
    pub unknown: BTreeMap<usize, Vec<String>>,
    pub closed_event: Option<String>,
    pub closed: Option<String>,
    pub outcomes: BTreeMap<usize, String>,
    pub rcpt: BTreeMap<usize, Vec<String>>,
    pub delivery: BTreeMap<usize, Vec<String>>,
    pub transcript: Vec<String>,
    pub wire: Vec<u8>,
}

pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n\n"),
            0x20..=0x7e => s.push(b as char),
            _ => write!(s, "\\x{b:02x}").unwrap(),
        }
    }
    s
}

fn address(s: &str) -> Address {
    if s == "<>" {
        Address::null()
    } else {
        Address::new(s).unwrap_or_else(|e| panic!("bad address {s}: {e}"))
    }
}

impl Scenario {
    pub fn parse(name: &str, text: &str) -> Scenario {
        let mut sc = Scenario {
            name: name.to_string(),
            config: {
                let mut built = Config::default();
                built.transcript = true;
                built
            },
            no_quit: false,
            entropy: false,
            tls_exporter: false,
            messages: vec![],
            steps: vec![],
            expect_stages: None,
            expect_closed: None,
            expect_open: false,
            expect_outcomes: BTreeMap::new(),
            expect_rcpt: BTreeMap::new(),
            expect_delivery: BTreeMap::new(),
            expect_transcript: vec![],
            expect_fate_unknown: BTreeMap::new(),
            expect_transient: BTreeMap::new(),
            expect_unknown: BTreeMap::new(),
            secrets: vec![],
        };
        for (n, raw) in text.lines().enumerate() {
            let lineno = n + 1;
            let line = raw.trim_end();
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
            match head {
                "S:" => sc
                    .steps
                    .push(Step::Server(format!("{rest}\r\n").into_bytes(), lineno)),
                "S-raw:" => sc.steps.push(Step::Server(unescape(rest), lineno)),
                "C:" => sc
                    .steps
                    .push(Step::Client(format!("{rest}\r\n").into_bytes())),
                "C-raw:" => sc.steps.push(Step::Client(unescape(rest))),
                "eof" => sc.steps.push(Step::Eof),
                "tick" => sc.steps.push(Step::Tick(rest.parse().unwrap())),
                "tls" => sc.steps.push(Step::Tls(lineno)),
                "noop" => sc.steps.push(Step::Noop),
                "rset" => sc.steps.push(Step::Rset),
                "queue" => sc.steps.push(Step::Queue),
                "check-open" => sc.steps.push(Step::CheckOpen(lineno)),
                "transport-error" => sc.steps.push(Step::TransportError),
                "tls-failed" => sc.steps.push(Step::TlsFailed),
                "body:" => {
                    let m = sc.messages.last_mut().expect("body before message");
                    m.body.extend_from_slice(rest.as_bytes());
                    m.body.extend_from_slice(b"\r\n");
                }
                "body-raw:" => sc
                    .messages
                    .last_mut()
                    .expect("body before message")
                    .body
                    .extend(unescape(rest)),
                "config" => sc.parse_config(rest),
                "message" => sc.parse_message(rest),
                "expect" => sc.parse_expect(rest),
                _ => panic!("{name}:{lineno}: cannot read {line:?}"),
            }
        }
        sc
    }

    fn parse_config(&mut self, rest: &str) {
        let c = &mut self.config;
        for item in rest.split_whitespace() {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            match k {
                "credentials" | "oauth" => {
                    let (u, p) = v.split_once(':').unwrap();
                    c.credentials = Some(if k == "oauth" {
                        Credentials::oauth2(u, p).unwrap()
                    } else {
                        Credentials::password(u, p).unwrap()
                    });
                    self.secrets.push(p.to_string());
                    for blob in [p.to_string(), format!("\0{u}\0{p}")] {
                        let mut b = Vec::new();
                        base64::encode_into(blob.as_bytes(), &mut b);
                        self.secrets.push(String::from_utf8(b).unwrap());
                    }
                }
                "mechanism" => {
                    c.mechanism = Some(match v {
                        "PLAIN" => Mechanism::Plain,
                        "LOGIN" => Mechanism::Login,
                        "XOAUTH2" => Mechanism::XOAuth2,
                        "OAUTHBEARER" => Mechanism::OAuthBearer,
                        "SCRAM-SHA-256" => Mechanism::ScramSha256,
                        "SCRAM-SHA-256-PLUS" => Mechanism::ScramSha256Plus,
                        _ => panic!("mechanism {v}"),
                    })
                }
                "tls" => {
                    c.tls = Some(match v {
                        "required" => TlsPolicy::Required,
                        "opportunistic" => TlsPolicy::Opportunistic,
                        "off" => TlsPolicy::Off,
                        _ => panic!("tls {v}"),
                    })
                }
                "implicit-tls" => c.implicit_tls = true,
                "allow-plaintext-auth" => c.allow_plaintext_auth = true,
                "pipelining" => c.pipelining = v != "off",
                "chunking" => c.chunking = v != "off",
                "lmtp" => c.protocol = Protocol::Lmtp,
                "all-or-nothing" => c.recipient_policy = RecipientPolicy::AllOrNothing,
                "timeout" => {
                    c.timeouts = Timeouts::uniform(Duration::from_secs(v.parse().unwrap()))
                }
                "max-line" => c.reply_limits.max_line_len = v.parse().unwrap(),
                "max-lines" => c.reply_limits.max_lines = v.parse().unwrap(),
                "max-reply" => c.reply_limits.max_reply_bytes = v.parse().unwrap(),
                "name" => c.client_name = ClientName::new(v).unwrap(),
                "no-quit" => self.no_quit = true,
                "entropy" => self.entropy = true,
                "tls-exporter" => self.tls_exporter = true,
                _ => panic!("config {k}"),
            }
        }
    }

    fn parse_message(&mut self, rest: &str) {
        let mut env = Envelope::new(Address::null(), []);
        let mut chunks = None;
        let mut body_error = false;
        let mut later = false;
        let mut notify = None;
        let mut orcpt = None;
        for item in rest.split_whitespace() {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            match k {
                "from" => env.from = address(v),
                "to" => {
                    env.recipients = v.split(',').map(|a| Recipient::from(address(a))).collect()
                }
                "size" => env.size = Some(v.parse().unwrap()),
                "body-type" => {
                    env.body_type = match v {
                        "8bit" => BodyType::EightBitMime,
                        "binary" => BodyType::BinaryMime,
                        _ => BodyType::SevenBit,
                    }
                }
                "require-tls" => env.require_tls = true,
                "ret" => {
                    env.dsn_return = Some(if v == "full" {
                        DsnReturn::Full
                    } else {
                        DsnReturn::Headers
                    })
                }
                "envid" => env.dsn_envid = Some(XText::encode(v.as_bytes()).unwrap()),
                "notify" => {
                    let mut n = Notify::NEVER;
                    for w in v.split(',') {
                        match w {
                            "success" => n.success = true,
                            "failure" => n.failure = true,
                            "delay" => n.delay = true,
                            _ => {}
                        }
                    }
                    notify = Some(n);
                }
                "orcpt" => orcpt = Some(XText::encode(v.as_bytes()).unwrap()),
                "require-dsn" => env.require_dsn = true,
                "chunks" => chunks = Some(v.split(',').map(|n| n.parse().unwrap()).collect()),
                "body-error" => body_error = true,
                "later" => later = true,
                _ => panic!("message {k}"),
            }
        }
        for r in &mut env.recipients {
            r.notify = notify;
            r.orcpt = orcpt.clone();
        }
        self.messages.push(MessageSpec {
            envelope: env,
            body: vec![],
            chunks,
            body_error,
            later,
        });
    }

    fn parse_expect(&mut self, rest: &str) {
        let (what, value) = rest.split_once(':').unwrap_or((rest, ""));
        let value = value.trim().to_string();
        let mut words = what.split_whitespace();
        let key = words.next().unwrap();
        let n = || {
            what.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        };
        match key {
            "stages" => {
                self.expect_stages = Some(value.split_whitespace().map(String::from).collect())
            }
            "closed" => self.expect_closed = Some(value),
            "open" => self.expect_open = true,
            "outcome" => {
                self.expect_outcomes.insert(n(), value);
            }
            "rcpt" => {
                self.expect_rcpt
                    .insert(n(), value.split_whitespace().map(String::from).collect());
            }
            "transcript" => self.expect_transcript.push(value),
            "fate-unknown" => {
                self.expect_fate_unknown.insert(n(), value == "yes");
            }
            "transient" => {
                self.expect_transient.insert(n(), value == "yes");
            }
            "unknown" => {
                self.expect_unknown
                    .insert(n(), value.split_whitespace().map(String::from).collect());
            }
            "delivery" => {
                self.expect_delivery
                    .insert(n(), value.split_whitespace().map(String::from).collect());
            }
            _ => panic!("expect {key}"),
        }
    }

    /// Runs the scenario once, checking the client's bytes at every server
    /// turn and the expectations at the end; returns what it saw.
    pub fn run(&self, split: Split) -> RunResult {
        let ctx = format!("{} ({split:?})", self.name);
        let rng = std::cell::Cell::new(match split {
            Split::Random(seed) => seed | 1,
            _ => 1,
        });
        let next_rand = |bound: usize| {
            let mut x = rng.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rng.set(x);
            (x % bound as u64) as usize
        };
        let mut now = Instant::ZERO;
        let mut client = Client::new(self.config.clone(), now);
        if self.entropy {
            client.set_entropy(core::array::from_fn(|i| i as u8 + 1));
        }
        if self.tls_exporter {
            client.set_tls_exporter([7; 32]);
        }
        // Shared with the body callback, and grown at `queue` steps.
        let ids = std::cell::RefCell::new(BTreeMap::new());
        for (i, m) in self.messages.iter().enumerate().filter(|(_, m)| !m.later) {
            let id = client.send(m.envelope.clone(), now).expect("send");
            ids.borrow_mut().insert(id, i);
        }
        let mut later = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.later)
            .map(|(i, _)| i);
        if !self.no_quit {
            // Asked up front, so QUIT may share a write with the last end of data.
            client.quit(now);
        }
        let mut d = Driver {
            sent: vec![],
            wire: vec![],
            events: vec![],
            quit: self.no_quit,
            last: Last::Other,
            cursor: BTreeMap::new(),
            plans: BTreeMap::new(),
        };
        let mut expected: Vec<u8> = vec![];
        let check = |d: &mut Driver, expected: &mut Vec<u8>, at: &str| {
            assert!(
                d.sent == *expected,
                "{ctx}: before {at} the client sent\n{}\nbut the scenario expects\n{}",
                escape(&d.sent),
                escape(expected)
            );
            d.sent.clear();
            expected.clear();
        };
        let body_split = |len: usize, spec: &Option<Vec<usize>>, bdat: bool| -> Vec<usize> {
            if let Some(sizes) = spec {
                return sizes.clone();
            }
            if bdat {
                return vec![len];
            }
            match split {
                Split::Whole => vec![len],
                Split::ByteByByte => vec![1; len],
                Split::Random(_) => {
                    let mut v = vec![];
                    let mut left = len;
                    while left > 0 {
                        let n = 1 + next_rand(left.min(64));
                        v.push(n);
                        left -= n;
                    }
                    v
                }
            }
        };
        let drive = |client: &mut Client, d: &mut Driver, now: Instant| {
            d.drain(client, now, &mut |id, bdat| {
                let m = &self.messages[ids.borrow()[&id]];
                if m.body_error {
                    return None;
                }
                Some((m.body.clone(), body_split(m.body.len(), &m.chunks, bdat)))
            })
        };
        drive(&mut client, &mut d, now);
        for step in &self.steps {
            match step {
                Step::Client(bytes) => expected.extend_from_slice(bytes),
                Step::Server(bytes, lineno) => {
                    drive(&mut client, &mut d, now);
                    check(&mut d, &mut expected, &format!("line {lineno}"));
                    let mut pieces = vec![];
                    match split {
                        Split::Whole => pieces.push(bytes.len()),
                        Split::ByteByByte => pieces.extend(std::iter::repeat_n(1, bytes.len())),
                        Split::Random(_) => {
                            let mut left = bytes.len();
                            while left > 0 {
                                let n = 1 + next_rand(left);
                                pieces.push(n);
                                left -= n;
                            }
                        }
                    }
                    let mut at = 0;
                    for n in pieces {
                        client.handle_input(&bytes[at..at + n], now);
                        at += n;
                        drive(&mut client, &mut d, now);
                    }
                }
                Step::Eof => {
                    drive(&mut client, &mut d, now);
                    check(&mut d, &mut expected, "eof");
                    client.handle_eof(now);
                    drive(&mut client, &mut d, now);
                }
                Step::Tick(secs) => {
                    drive(&mut client, &mut d, now);
                    check(&mut d, &mut expected, "tick");
                    now = now + Duration::from_secs(*secs);
                    client.handle_timeout(now);
                    drive(&mut client, &mut d, now);
                }
                Step::Tls(lineno) => {
                    drive(&mut client, &mut d, now);
                    check(&mut d, &mut expected, &format!("tls at line {lineno}"));
                    assert_eq!(
                        d.last,
                        Last::StartTls,
                        "{ctx}: line {lineno}: the client did not ask for TLS"
                    );
                    client.handle_tls_established(now).expect("tls");
                    drive(&mut client, &mut d, now);
                }
                Step::Noop => {
                    drive(&mut client, &mut d, now);
                    client.noop(now).expect("noop");
                    drive(&mut client, &mut d, now);
                }
                Step::TransportError | Step::TlsFailed => {
                    drive(&mut client, &mut d, now);
                    check(&mut d, &mut expected, "a transport failure");
                    if matches!(step, Step::TlsFailed) {
                        client.handle_tls_failed(now).expect("a handshake was due");
                    } else {
                        client.handle_transport_error(now);
                    }
                    drive(&mut client, &mut d, now);
                }
                Step::CheckOpen(lineno) => {
                    assert!(
                        !client.is_closed(),
                        "{ctx}: line {lineno}: the session ended early: {:?}",
                        client.error()
                    );
                }
                Step::Rset => {
                    drive(&mut client, &mut d, now);
                    client.rset(now).expect("rset");
                    drive(&mut client, &mut d, now);
                }
                Step::Queue => {
                    drive(&mut client, &mut d, now);
                    let i = later.next().expect("a `later` message to queue");
                    let id = client
                        .send(self.messages[i].envelope.clone(), now)
                        .expect("send");
                    ids.borrow_mut().insert(id, i);
                    drive(&mut client, &mut d, now);
                }
            }
        }
        drive(&mut client, &mut d, now);
        check(&mut d, &mut expected, "the end");
        self.collect(&ctx, &client, d, &ids.borrow())
    }

    fn collect(
        &self,
        ctx: &str,
        client: &Client,
        d: Driver,
        ids: &BTreeMap<TransactionId, usize>,
    ) -> RunResult {
        let mut r = RunResult {
            stages: vec![],
            fate_unknown: BTreeMap::new(),
            transient: BTreeMap::new(),
            unknown: BTreeMap::new(),
            closed_event: None,
            closed: None,
            outcomes: BTreeMap::new(),
            rcpt: BTreeMap::new(),
            delivery: BTreeMap::new(),
            transcript: vec![],
            wire: d.wire,
        };
        let code = |rep: &Option<Reply>| {
            rep.as_ref()
                .map_or("-".to_string(), |r| r.code().to_string())
        };
        for ev in d.events {
            match ev {
                Event::Transcript(t) => {
                    if t.direction == Direction::Server {
                        let name = t.stage.name().to_string();
                        if r.stages.last() != Some(&name) {
                            r.stages.push(name);
                        }
                    }
                    r.transcript.push(t.to_string());
                }
                Event::Outcome(o) => {
                    let n = ids[&o.id] + 1;
                    assert!(
                        !r.outcomes.contains_key(&n),
                        "{ctx}: two outcomes for message {n}"
                    );
                    let text = match &o.result {
                        Ok(reply) if o.is_delivered() => format!("delivered {}", reply.code()),
                        Ok(reply) => format!("failed-with-ok {}", reply.code()),
                        Err(e) => format!("failed {}", tx_error_name(e)),
                    };
                    r.rcpt.insert(
                        n,
                        o.recipients.iter().map(|x| code(&x.rcpt_reply)).collect(),
                    );
                    r.delivery.insert(
                        n,
                        o.recipients
                            .iter()
                            .map(|x| code(&x.delivery_reply))
                            .collect(),
                    );
                    r.outcomes.insert(n, text);
                    r.fate_unknown.insert(n, o.fate_unknown());
                    if let Err(e) = &o.result {
                        r.transient.insert(n, e.is_transient());
                    }
                    r.unknown.insert(
                        n,
                        o.recipients
                            .iter()
                            .map(|x| if x.fate_unknown { "yes" } else { "no" }.to_string())
                            .collect(),
                    );
                    assert!(
                        r.closed_event.is_none(),
                        "{ctx}: an outcome after the Closed event"
                    );
                }
                Event::Closed(result) => {
                    assert!(r.closed_event.is_none(), "{ctx}: two Closed events");
                    r.closed_event = Some(match result {
                        Ok(()) => "ok".to_string(),
                        Err(e) => format!("error {} at {}", error_name(&e), e.stage()),
                    });
                }
                _ => {}
            }
        }
        let final_stage = client.stage().name().to_string();
        if r.stages.last() != Some(&final_stage) {
            r.stages.push(final_stage);
        }
        r.closed = client.is_closed().then(|| match client.error() {
            None => "ok".to_string(),
            Some(e) => format!("error {} at {}", error_name(e), e.stage()),
        });
        // Expectations.
        if let Some(stages) = &self.expect_stages {
            assert_eq!(&r.stages, stages, "{ctx}: stages");
        }
        if let Some(c) = &self.expect_closed {
            assert_eq!(
                r.closed.as_deref(),
                Some(c.as_str()),
                "{ctx}: how the session ended"
            );
        }
        if self.expect_open {
            assert_eq!(r.closed, None, "{ctx}: the session should still be open");
        }
        for (n, want) in &self.expect_outcomes {
            let got = r
                .outcomes
                .get(n)
                .map(String::as_str)
                .unwrap_or("(no outcome)");
            assert!(
                got == want || got.starts_with(&format!("{want} ")),
                "{ctx}: outcome {n}: got {got:?}, want {want:?}"
            );
        }
        for (n, want) in &self.expect_rcpt {
            assert_eq!(
                r.rcpt.get(n),
                Some(want),
                "{ctx}: RCPT replies of message {n}"
            );
        }
        for (n, want) in &self.expect_delivery {
            assert_eq!(
                r.delivery.get(n),
                Some(want),
                "{ctx}: LMTP replies of message {n}"
            );
        }
        // The Closed event says what Output::Closed says, and comes last.
        assert_eq!(r.closed_event, r.closed, "{ctx}: the Closed event");
        for (n, want) in &self.expect_fate_unknown {
            assert_eq!(
                r.fate_unknown.get(n),
                Some(want),
                "{ctx}: fate of message {n}"
            );
        }
        for (n, want) in &self.expect_transient {
            assert_eq!(
                r.transient.get(n),
                Some(want),
                "{ctx}: is message {n}'s failure transient"
            );
        }
        for (n, want) in &self.expect_unknown {
            assert_eq!(
                r.unknown.get(n),
                Some(want),
                "{ctx}: recipients of message {n} whose fate is unknown"
            );
        }
        for line in &self.expect_transcript {
            assert!(
                r.transcript.contains(line),
                "{ctx}: no transcript line {line:?} in {:#?}",
                r.transcript
            );
        }
        // Every queued message is accounted for exactly once by the end of a session.
        if r.closed.is_some() {
            assert_eq!(
                r.outcomes.len(),
                self.messages.len(),
                "{ctx}: every message gets an outcome"
            );
        }
        // Secrets never reach the transcript.
        for line in r.transcript.iter().filter(|l| l.contains("] C: ")) {
            for s in &self.secrets {
                assert!(
                    !line.contains(s.as_str()),
                    "{ctx}: secret in transcript line {line:?}"
                );
            }
        }
        r
    }
}

fn client_uses_bdat(client: &Client) -> bool {
    client.config().chunking && client.capabilities().is_some_and(|c| c.chunking)
}

pub fn tx_error_name(e: &TransactionError) -> String {
    match e {
        TransactionError::MailRejected(r) => format!("MailRejected {}", r.code()),
        TransactionError::NoRecipientAccepted { .. } => "NoRecipientAccepted".into(),
        TransactionError::RecipientsRejected { .. } => "RecipientsRejected".into(),
        TransactionError::DataRejected(r) => format!("DataRejected {}", r.code()),
        TransactionError::MessageRejected(r) => format!("MessageRejected {}", r.code()),
        TransactionError::TooLarge { .. } => "TooLarge".into(),
        TransactionError::ExtensionUnavailable(x) => format!("ExtensionUnavailable {x}"),
        TransactionError::NotEncrypted => "NotEncrypted".into(),
        TransactionError::NotSent(e) => format!("NotSent {}", error_name(e)),
        other => format!("{other:?}"),
    }
}

pub fn error_name(e: &Error) -> String {
    match e.kind() {
        ErrorKind::Rejected(r) => format!("Rejected {}", r.code()),
        ErrorKind::Protocol(p) => match p {
            ProtocolError::Reply(r) => format!("Protocol {r:?}"),
            ProtocolError::UnexpectedBytes => "Protocol UnexpectedBytes".into(),
            ProtocolError::StartTlsInjection => "Protocol StartTlsInjection".into(),
            ProtocolError::UnexpectedReply(r) => format!("Protocol UnexpectedReply {}", r.code()),
            other => format!("Protocol {other:?}"),
        },
        ErrorKind::Timeout => "Timeout".into(),
        ErrorKind::ConnectionClosed => "ConnectionClosed".into(),
        ErrorKind::TransportFailed => "TransportFailed".into(),
        ErrorKind::TlsFailed => "TlsFailed".into(),
        ErrorKind::BodySourceFailed => "BodySourceFailed".into(),
        ErrorKind::TlsUnavailable => "TlsUnavailable".into(),
        ErrorKind::AuthRequiresTls => "AuthRequiresTls".into(),
        ErrorKind::AuthFailed(r) => format!("AuthFailed {}", r.code()),
        ErrorKind::OAuthRejected { reply, status } => {
            format!(
                "OAuthRejected {} {}",
                reply.code(),
                status.as_deref().unwrap_or("-")
            )
        }
        ErrorKind::ServerSignatureMismatch => "ServerSignatureMismatch".into(),
        ErrorKind::AuthUnavailable => "AuthUnavailable".into(),
        ErrorKind::Body(b) => format!("Body {b:?}"),
        other => format!("{other:?}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Last {
    StartTls,
    Other,
}

struct Driver {
    sent: Vec<u8>,
    wire: Vec<u8>,
    events: Vec<Event>,
    quit: bool,
    last: Last,
    /// How many chunks of each body were given.
    cursor: BTreeMap<TransactionId, usize>,
    plans: BTreeMap<TransactionId, Vec<usize>>,
}

impl Driver {
    /// Drains the client until it waits; bounded so a livelock fails the test.
    fn drain(
        &mut self,
        client: &mut Client,
        now: Instant,
        body: &mut dyn FnMut(TransactionId, bool) -> Option<(Vec<u8>, Vec<usize>)>,
    ) {
        for _ in 0..1_000_000 {
            let out = client.poll_output();
            self.last = if out == Output::StartTls {
                Last::StartTls
            } else {
                Last::Other
            };
            match out {
                Output::Transmit(bytes) => {
                    assert!(!bytes.is_empty(), "empty transmit");
                    self.sent.extend_from_slice(bytes);
                    self.wire.extend_from_slice(bytes);
                }
                Output::NeedBody(id) => {
                    // One chunk per request, as a streaming caller would.
                    let Some((bytes, fresh)) = body(id, client_uses_bdat(client)) else {
                        client.handle_body_error(now).expect("a body was due");
                        continue;
                    };
                    // The cut is chosen once per message.
                    let sizes = self.plans.entry(id).or_insert(fresh).clone();
                    assert_eq!(
                        sizes.iter().sum::<usize>(),
                        bytes.len(),
                        "chunk sizes must add up to the body"
                    );
                    let cursor = self.cursor.entry(id).or_insert(0);
                    let (at, i) = (sizes[..*cursor].iter().sum::<usize>(), *cursor);
                    let last = i + 1 >= sizes.len();
                    let size = sizes.get(i).copied().unwrap_or(0);
                    *cursor += 1;
                    client
                        .send_body(&bytes[at..at + size], last, now)
                        .expect("send_body");
                }
                Output::Ready if !self.quit => {
                    self.quit = true;
                    client.quit(now);
                }
                Output::Ready | Output::Wait(_) | Output::StartTls | Output::Closed(_) => {
                    self.events
                        .extend(std::iter::from_fn(|| client.poll_event()));
                    return;
                }
            }
            self.events
                .extend(std::iter::from_fn(|| client.poll_event()));
        }
        panic!("poll_output did not settle");
    }
}

/// Runs a scenario whole, byte by byte and at several seeded random splits;
/// all must agree.
pub fn run_all_ways(sc: &Scenario) -> RunResult {
    let whole = sc.run(Split::Whole);
    let bytes = sc.run(Split::ByteByByte);
    assert_eq!(
        whole, bytes,
        "{}: byte-by-byte run differs from whole run",
        sc.name
    );
    for seed in [0x9e37_79b9_7f4a_7c15, 42, 7, 1_000_003, 0xdead_beef] {
        let r = sc.run(Split::Random(seed));
        assert_eq!(
            whole, r,
            "{}: random split (seed {seed}) differs from whole run",
            sc.name
        );
    }
    whole
}
