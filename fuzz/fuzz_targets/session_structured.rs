//! `session_structured`: a session driven by an `Arbitrary` list of server
//! steps (answer the awaited commands well or badly, a reply with a chosen
//! code and lines, an EHLO with chosen extensions, raw bytes, each split at
//! a chosen point; end-of-stream, time passing, stray TLS-established, more
//! messages, NOOP/RSET/QUIT) and a config the fuzzer picks (pipelining,
//! chunking, LMTP, recipient policy, TLS policy, credentials, limits).
//! Reaches deep stages and pipelined multi-message sessions far more often
//! than raw bytes; checks the same invariants as `session`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smtp_fuzz::harness::{Harness, Msg, PASSWORD, Stop, TOKEN, USER};
use smtp_fuzz::model::Exp;
use smtp_fuzz::server;
use smtp_proto::{
    BodyType, ClientName, Config, Credentials, Mechanism, Protocol, RecipientPolicy, ReplyLimits,
    TlsPolicy,
};
use std::time::Duration;

#[derive(Arbitrary, Debug)]
struct Cfg {
    pipelining: bool,
    chunking: bool,
    lmtp: bool,
    all_or_nothing: bool,
    /// 0: default, 1: Required, 2: Opportunistic, 3: Off.
    tls: u8,
    implicit_tls: bool,
    /// 0: none, 1: password, 2: OAuth 2 token.
    creds: u8,
    /// 0: the best offered, 1: PLAIN, 2: LOGIN, 3: XOAUTH2.
    mechanism: u8,
    allow_plaintext_auth: bool,
    small_limits: bool,
    transcript: bool,
    /// What the well-behaved EHLO reply offers (see `server::ehlo`).
    server_caps: u16,
}

#[derive(Arbitrary, Debug)]
enum Body {
    Template(u8),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct MsgSpec {
    rcpts: u8,
    body: Body,
    chunk: u8,
    /// 0, 1: 7bit; 2: 8BITMIME; 3: BINARYMIME.
    body_type: u8,
}

#[derive(Arbitrary, Debug)]
enum Line {
    Text(u8),
    Ext(u8),
    Bytes(Vec<u8>),
    Enhanced(u8, u8),
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Well-behaved answers to the next `n % 8 + 1` awaited commands, sent
    /// together (pipelined) and split at `split`.
    Ok {
        n: u8,
        split: u8,
    },
    /// Like `Ok`, but answer `i` fails where bit `i` of `fail` is set,
    /// transiently where the bit of `transient` is.
    Answer {
        n: u8,
        fail: u8,
        transient: u8,
        split: u8,
    },
    /// A reply with a chosen code and lines.
    Reply {
        code: u16,
        lines: Vec<Line>,
        bare_lf: bool,
        split: u8,
    },
    /// An EHLO-style 250 with chosen extensions.
    Ehlo {
        caps: u16,
        split: u8,
    },
    Raw(Vec<u8>),
    Eof,
    /// Time passes (seconds, modulo 400: mostly within the deadlines, so
    /// that replies can still come after it); the timer is reported.
    Advance(u16),
    Tls,
    Send(MsgSpec),
    Noop,
    Rset,
    Quit,
}

#[derive(Arbitrary, Debug)]
struct Input {
    cfg: Cfg,
    messages: Vec<MsgSpec>,
    quit_at_start: bool,
    steps: Vec<Step>,
}

const TEXTS: [&str; 6] = [
    "mx.example.org",
    "2.0.0 Ok",
    "VXNlcm5hbWU6",
    "",
    "5.7.1 <r0.0@example.org>: Relay access denied",
    "AUTH=LOGIN PLAIN",
];

const CODES: [u16; 24] = [
    220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 454, 500, 501, 502, 503, 530, 534,
    535, 550, 552, 554, 555,
];

fn body_of(spec: &MsgSpec) -> (Vec<u8>, BodyType) {
    let body = match &spec.body {
        Body::Template(t) => match t % 6 {
            0 => b".leading dot\r\n..two\r\n.\r\nSubject: x\r\n\r\nend".to_vec(),
            1 => Vec::new(),
            2 => b"Subject: bare ends\n\nLF\rCR\r\r\n.\n.".to_vec(),
            3 => b"Subject: caf\xe9\r\n\r\n\xe9t\xe9\r\n".to_vec(),
            4 => {
                let mut v = b"Subject: long\r\n\r\n".to_vec();
                v.extend([b'x'; 999]);
                v
            }
            _ => b"\r\n".to_vec(),
        },
        Body::Bytes(b) => {
            let mut v = b"X-Fuzz: ".to_vec();
            v.extend(b.iter().take(1500));
            v
        }
    };
    let body_type = match spec.body_type % 4 {
        2 => BodyType::EightBitMime,
        3 => BodyType::BinaryMime,
        _ => BodyType::SevenBit,
    };
    (body, body_type)
}

fn msg(spec: &MsgSpec) -> Msg {
    let (body, body_type) = body_of(spec);
    Msg {
        body,
        chunk: usize::from(spec.chunk),
        rcpts: usize::from(spec.rcpts % 3) + 1,
        body_type,
    }
}

fn config(c: &Cfg) -> Config {
    let credentials = match c.creds % 3 {
        1 => Some(Credentials::password(USER, PASSWORD).unwrap()),
        2 => Some(Credentials::oauth2(USER, TOKEN).unwrap()),
        _ => None,
    };
    {
        let mut built = Config::default();
        built.client_name = ClientName::new("client.example.org").unwrap();
        built.tls = match c.tls % 4 {
            1 => Some(TlsPolicy::Required),
            2 => Some(TlsPolicy::Opportunistic),
            3 => Some(TlsPolicy::Off),
            _ => None,
        };
        built.implicit_tls = c.implicit_tls;
        built.credentials = credentials;
        built.mechanism = match c.mechanism % 4 {
            1 => Some(Mechanism::Plain),
            2 => Some(Mechanism::Login),
            3 => Some(Mechanism::XOAuth2),
            _ => None,
        };
        built.allow_plaintext_auth = c.allow_plaintext_auth;
        built.reply_limits = if c.small_limits {
            ReplyLimits::new(64, 8, 300)
        } else {
            ReplyLimits::default()
        };
        built.pipelining = c.pipelining;
        built.chunking = c.chunking;
        built.protocol = if c.lmtp {
            Protocol::Lmtp
        } else {
            Protocol::Smtp
        };
        built.recipient_policy = if c.all_or_nothing {
            RecipientPolicy::AllOrNothing
        } else {
            RecipientPolicy::AcceptPartial
        };
        built.transcript = c.transcript;
        built
    }
}

/// Delivers `bytes` in two pieces cut at `split` (/255 of the length).
fn deliver_split(h: &mut Harness, bytes: &[u8], split: u8) -> Stop {
    if bytes.is_empty() {
        return h.drain();
    }
    let at = bytes.len() * usize::from(split) / 255;
    let (a, b) = bytes.split_at(at);
    let mut s = Stop::Closed;
    for piece in [a, b] {
        if !piece.is_empty() {
            s = h.deliver(piece);
        }
    }
    s
}

fn answers(h: &Harness, n: u8, fail: u8, transient: u8, caps: u16) -> Vec<u8> {
    let awaited: Vec<Exp> = h.model.unanswered().take(usize::from(n % 8) + 1).collect();
    let mut out = Vec::new();
    for (i, e) in awaited.into_iter().enumerate() {
        if fail >> i & 1 == 1 {
            out.extend(server::fail(e, transient >> i & 1 == 1));
        } else {
            out.extend(server::ok(e, caps));
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let cfg = config(&input.cfg);
    let caps = input.cfg.server_caps;
    let mut h = Harness::new(cfg);
    let mut stop = Stop::Wait(h.now);
    for spec in input.messages.iter().take(4) {
        stop = h.send(msg(spec));
    }
    if input.quit_at_start {
        stop = h.quit();
    }
    let mut steps = input.steps.iter();
    let mut sent = input.messages.len().min(4);
    loop {
        if stop == Stop::Closed {
            return;
        }
        let Some(step) = steps.next() else {
            // The fuzzer's steps are used up: a server that answers
            // everything well, then closes.
            stop = match stop {
                Stop::Ready => h.quit(),
                _ if h.model.unanswered().next().is_some() => {
                    let bytes = answers(&h, 7, 0, 0, caps);
                    h.deliver(&bytes)
                }
                _ => h.eof(),
            };
            // bounded: each round answers a command or ends the session
            for _ in 0..200 {
                if stop == Stop::Closed {
                    return;
                }
                stop = match stop {
                    Stop::Ready => h.quit(),
                    _ if h.model.unanswered().next().is_some() => {
                        let bytes = answers(&h, 7, 0, 0, caps);
                        h.deliver(&bytes)
                    }
                    _ => h.eof(),
                };
            }
            // a session that will not end after 200 well-answered rounds
            let _ = h.eof();
            return;
        };
        stop = match step {
            Step::Ok { n, split } => {
                let bytes = answers(&h, *n, 0, 0, caps);
                deliver_split(&mut h, &bytes, *split)
            }
            Step::Answer {
                n,
                fail,
                transient,
                split,
            } => {
                let bytes = answers(&h, *n, *fail, *transient, caps);
                deliver_split(&mut h, &bytes, *split)
            }
            Step::Reply {
                code,
                lines,
                bare_lf,
                split,
            } => {
                let code = if *code < 1000 {
                    *code % 600
                } else {
                    CODES[usize::from(*code) % CODES.len()]
                };
                let code = format!("{code:03}");
                let eol: &[u8] = if *bare_lf { b"\n" } else { b"\r\n" };
                let mut bytes = Vec::new();
                let n = lines.len().clamp(1, 12);
                for i in 0..n {
                    bytes.extend(code.as_bytes());
                    bytes.push(if i + 1 == n { b' ' } else { b'-' });
                    match lines.get(i) {
                        Some(Line::Text(t)) => {
                            bytes.extend(TEXTS[usize::from(*t) % TEXTS.len()].as_bytes())
                        }
                        Some(Line::Ext(e)) => bytes.extend(
                            server::CAPABILITIES[usize::from(*e) % server::CAPABILITIES.len()]
                                .as_bytes(),
                        ),
                        Some(Line::Bytes(b)) => bytes.extend(b.iter().take(300)),
                        Some(Line::Enhanced(a, b)) => bytes.extend(
                            format!("{}.{}.{} text", code.as_bytes()[0] - b'0', a % 8, b).bytes(),
                        ),
                        None => {}
                    }
                    bytes.extend(eol);
                }
                deliver_split(&mut h, &bytes, *split)
            }
            Step::Ehlo { caps, split } => deliver_split(&mut h, &server::ehlo(*caps), *split),
            Step::Raw(b) => {
                if b.is_empty() {
                    h.drain()
                } else {
                    h.deliver(b)
                }
            }
            Step::Eof => h.eof(),
            Step::Advance(s) => h.advance(Duration::from_secs(u64::from(*s % 400))),
            Step::Tls => h.spurious_tls(),
            Step::Send(spec) => {
                if sent < 8 {
                    sent += 1;
                    h.send(msg(spec))
                } else {
                    h.drain()
                }
            }
            Step::Noop => h.noop(false),
            Step::Rset => h.noop(true),
            Step::Quit => h.quit(),
        };
    }
});
