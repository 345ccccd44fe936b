//! The interop matrix: one adapter against each real server in every mode
//! the server supports, checking what the server stored. Each suite runs
//! over one loopback family ([`Ip`]): over 127.0.0.1, and again over ::1
//! (skipped where the machine has no IPv6 loopback), each time checking
//! that the server saw the client come from that address.

use crate::adapters::{Adapter, Session};
use crate::checks::{Checks, Connect};
use crate::messages::{
    TestMessage, first_difference, normalise_dovecot, normalise_postfix, normalise_sink,
};
use crate::peers::{
    Aiosmtpd, AiosmtpdMessage, Dovecot, Postfix, PostfixDelivery, SmtpSink, sink_client,
};
use crate::process::Ip;
use crate::require;
use smtp_blocking::{Envelope, Error, Outcome, TlsPolicy};
use smtp_proto::{ErrorKind, Mechanism, TransactionError};
use std::time::{Duration, Instant};

/// How long Postfix may take to deliver what it accepted.
const DELIVERY_WAIT: Duration = Duration::from_secs(60);

fn run_id(adapter: &dyn Adapter, ip: Ip, peer: &str, mode: &str) -> String {
    match ip {
        Ip::V4 => format!("{}-{peer}-{mode}", adapter.name()),
        Ip::V6 => format!("{}-ipv6-{peer}-{mode}", adapter.name()),
    }
}

/// The name of `suite` run with `adapter` over `ip`, as the test reports
/// it: `blocking::aiosmtpd`, `blocking::ipv6::aiosmtpd`.
pub fn test_name(adapter: &dyn Adapter, ip: Ip, suite: &str) -> String {
    format!("{}::{}{suite}", adapter.name(), ip.test_prefix())
}

/// Checks that every address the server recorded for its clients is `ip`'s
/// loopback address, and that it recorded at least `min`.
fn check_clients(
    checks: &mut Checks,
    test: &str,
    what: &str,
    ip: Ip,
    clients: &[Option<std::net::IpAddr>],
    min: usize,
) {
    checks.check(
        clients.len() >= min && clients.iter().all(|c| *c == Some(ip.addr())),
        || {
            format!(
                "{test}: {what} from {clients:?}, want at least {min}, all from {}",
                ip.host()
            )
        },
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn message_id_of(tag: &str) -> Vec<u8> {
    format!("Message-ID: <{tag}@interop.test>").into_bytes()
}

/// Finds the stored copy carrying `tag` in its first 4 KiB (the headers).
fn has_tag(content: &[u8], tag: &str) -> bool {
    let head = &content[..content.len().min(4096)];
    contains(head, &message_id_of(tag))
}

/// Sends each message on one session; records failures; returns which
/// messages the client reported delivered to every recipient.
fn send_all(
    checks: &mut Checks,
    run: &str,
    session: &mut Box<dyn Session>,
    messages: &[TestMessage],
) -> Vec<bool> {
    messages
        .iter()
        .map(|m| {
            let started = Instant::now();
            let result = session.send(&m.envelope(), &m.body);
            let ok = matches!(&result, Ok(o) if o.is_delivered() && o.refused().count() == 0);
            checks.check(ok, || {
                format!(
                    "{run}: {} not delivered to all: {}",
                    m.name,
                    describe(&result)
                )
            });
            if m.body.len() > 1 << 20 {
                let took = started.elapsed();
                checks.check(took < Duration::from_secs(60), || {
                    format!("{run}: {} took {took:?}", m.name)
                });
            }
            ok
        })
        .collect()
}

/// A one-line description of a send result.
pub fn describe(result: &Result<Outcome, Error>) -> String {
    match result {
        Ok(o) => {
            let rcpts: Vec<String> = o
                .recipients
                .iter()
                .map(|r| match r.reply() {
                    Some(reply) => format!("{}={}", r.address.as_str(), reply.code()),
                    None => format!("{}=none", r.address.as_str()),
                })
                .collect();
            format!("outcome {:?} [{}]", o.result, rcpts.join(", "))
        }
        Err(e) => format!("error {e} ({e:?})"),
    }
}

fn connect_or_fail(
    checks: &mut Checks,
    run: &str,
    (adapter, ip): (&dyn Adapter, Ip),
    port: u16,
    connect: &Connect,
    certs: &crate::certs::Certs,
) -> Option<Box<dyn Session>> {
    match adapter.connect(ip.host(), port, &connect.options(Some(certs))) {
        Ok(s) => Some(s),
        Err(e) => {
            checks.fail(format!("{run}: connect failed: {e} ({e:?})"));
            None
        }
    }
}

fn quit(checks: &mut Checks, run: &str, session: Box<dyn Session>) {
    if let Err(e) = session.quit() {
        checks.fail(format!("{run}: QUIT failed: {e}"));
    }
}

// --- aiosmtpd -----------------------------------------------------------

struct AioMode {
    name: &'static str,
    listener: &'static str,
    connect: Connect,
    encrypted: bool,
}

/// The aiosmtpd matrix: STARTTLS, implicit TLS and plaintext (with
/// plaintext AUTH opted into), each with AUTH PLAIN and LOGIN; every test
/// message (dots, 998-octet line, UTF-8 body and address, three recipients,
/// 10 MiB) compared byte for byte with what aiosmtpd stored, with its
/// envelope. Then a wrong password, and AUTH refused on plaintext without
/// the opt-in.
pub fn aiosmtpd(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "aiosmtpd");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let server = require!(test, Aiosmtpd::start());
    let mut checks = Checks::new(&test);
    let mut modes = Vec::new();
    for mech in [Mechanism::Plain, Mechanism::Login] {
        let base = Connect {
            auth: Some(mech),
            ..Connect::default()
        };
        let plain = matches!(mech, Mechanism::Plain);
        modes.push(AioMode {
            name: if plain {
                "starttls-plain"
            } else {
                "starttls-login"
            },
            listener: "starttls",
            connect: Connect {
                tls: TlsPolicy::Required,
                ..base
            },
            encrypted: true,
        });
        modes.push(AioMode {
            name: if plain {
                "implicit-plain"
            } else {
                "implicit-login"
            },
            listener: "implicit-tls",
            connect: Connect {
                implicit_tls: true,
                ..base
            },
            encrypted: true,
        });
        modes.push(AioMode {
            name: if plain {
                "cleartext-plain"
            } else {
                "cleartext-login"
            },
            listener: "plain",
            connect: Connect {
                tls: TlsPolicy::Off,
                allow_plaintext_auth: true,
                ..base
            },
            encrypted: false,
        });
    }
    for mode in &modes {
        let run = run_id(adapter, ip, "aiosmtpd", mode.name);
        let port = match mode.listener {
            "starttls" => server.starttls_port,
            "implicit-tls" => server.tls_port,
            _ => server.plain_port,
        };
        let messages = TestMessage::matrix(&run, true, true);
        let Some(mut session) = connect_or_fail(
            &mut checks,
            &run,
            (adapter, ip),
            port,
            &mode.connect,
            server.certs,
        ) else {
            continue;
        };
        checks.check(session.is_encrypted() == mode.encrypted, || {
            format!("{run}: encrypted is {}", session.is_encrypted())
        });
        let delivered = send_all(&mut checks, &run, &mut session, &messages);
        quit(&mut checks, &run, session);
        let stored = server.messages();
        for (m, ok) in messages.iter().zip(delivered) {
            let copies: Vec<&AiosmtpdMessage> = stored
                .iter()
                .filter(|s| has_tag(&s.content, &m.tag))
                .collect();
            if !ok {
                checks.check(copies.is_empty(), || {
                    format!("{run}: {} reported not delivered, yet stored", m.name)
                });
                continue;
            }
            if !checks.check(copies.len() == 1, || {
                format!("{run}: {} stored {} times", m.name, copies.len())
            }) {
                continue;
            }
            let s = copies[0];
            checks.check(s.content == m.body, || {
                format!(
                    "{run}: {} differs: {}",
                    m.name,
                    first_difference(&s.content, &m.body)
                )
            });
            checks.check(s.mail_from() == m.from, || {
                format!("{run}: {} MAIL FROM {:?}", m.name, s.mail_from())
            });
            checks.check(s.rcpt_tos() == m.to, || {
                format!("{run}: {} RCPT TO {:?}", m.name, s.rcpt_tos())
            });
            checks.check(
                s.listener() == mode.listener && s.tls() == mode.encrypted,
                || {
                    format!(
                        "{run}: {} came in on {} tls={}",
                        m.name,
                        s.listener(),
                        s.tls()
                    )
                },
            );
            checks.check(s.peer() == Some(ip.addr()), || {
                format!("{run}: {} came from {:?}", m.name, s.peer())
            });
            checks.check(s.auth_user() == crate::TEST_USER, || {
                format!("{run}: {} authenticated as {:?}", m.name, s.auth_user())
            });
            let needs = m.envelope().needs_smtputf8();
            checks.check(s.smtp_utf8() == needs, || {
                format!(
                    "{run}: {} SMTPUTF8 {} (needed: {needs})",
                    m.name,
                    s.smtp_utf8()
                )
            });
        }
    }

    // A wrong password is a typed AuthFailed.
    let run = run_id(adapter, ip, "aiosmtpd", "wrong-password");
    let mut options = Connect {
        implicit_tls: true,
        auth: Some(Mechanism::Plain),
        ..Connect::default()
    }
    .options(Some(server.certs));
    options.config.credentials =
        Some(smtp_proto::Credentials::password(crate::TEST_USER, "wrong").unwrap());
    match adapter.connect(ip.host(), server.tls_port, &options) {
        Err(Error::Smtp { error: e, .. }) if matches!(e.kind(), ErrorKind::AuthFailed(r) if r.code().value() == 535) =>
            {}
        Err(e) => checks.fail(format!("{run}: expected AuthFailed(535), got {e} ({e:?})")),
        Ok(_) => checks.fail(format!("{run}: a wrong password was accepted")),
    }

    // Credentials on the plaintext listener without the opt-in: refused
    // before anything secret is sent.
    let run = run_id(adapter, ip, "aiosmtpd", "no-plaintext-auth");
    let connect = Connect {
        tls: TlsPolicy::Opportunistic,
        auth: Some(Mechanism::Plain),
        ..Connect::default()
    };
    match adapter.connect(
        ip.host(),
        server.plain_port,
        &connect.options(Some(server.certs)),
    ) {
        Err(Error::Smtp { error: e, .. }) if matches!(e.kind(), ErrorKind::AuthRequiresTls) => {}
        Err(e) => checks.fail(format!("{run}: expected AuthRequiresTls, got {e} ({e:?})")),
        Ok(_) => checks.fail(format!("{run}: AUTH went ahead in plaintext")),
    }
    if checks.failed() > 0 {
        checks.fail(format!("aiosmtpd stderr:\n{}", server.stderr()));
    }
    checks.finish();
}

// --- Postfix ------------------------------------------------------------

/// The Postfix matrix: plain SMTP (with and without CHUNKING), STARTTLS on
/// port 25 style, submission with STARTTLS and AUTH PLAIN / LOGIN, and
/// wrapper-mode smtps with AUTH PLAIN / LOGIN; each delivered copy compared
/// with what was sent after line-end normalisation, with its envelope.
pub fn postfix(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "postfix");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let server = require!(test, Postfix::start());
    let mut checks = Checks::new(&test);
    let plain = Connect {
        tls: TlsPolicy::Off,
        ..Connect::default()
    };
    let modes: Vec<(&str, u16, Connect, bool, bool)> = vec![
        // name, port, how, encrypted, with the 10 MiB message
        ("smtp-cleartext", server.smtp_port, plain, false, false),
        (
            "smtp-cleartext-nochunking",
            server.smtp_port,
            Connect {
                chunking: false,
                ..plain
            },
            false,
            false,
        ),
        (
            "smtp-starttls",
            server.smtp_port,
            Connect {
                tls: TlsPolicy::Required,
                ..plain
            },
            true,
            true,
        ),
        (
            "submission-plain",
            server.submission_port,
            Connect {
                tls: TlsPolicy::Required,
                auth: Some(Mechanism::Plain),
                ..plain
            },
            true,
            false,
        ),
        (
            "submission-login",
            server.submission_port,
            Connect {
                tls: TlsPolicy::Required,
                auth: Some(Mechanism::Login),
                ..plain
            },
            true,
            false,
        ),
        (
            "smtps-plain",
            server.smtps_port,
            Connect {
                implicit_tls: true,
                auth: Some(Mechanism::Plain),
                ..plain
            },
            true,
            true,
        ),
        (
            "smtps-login",
            server.smtps_port,
            Connect {
                implicit_tls: true,
                auth: Some(Mechanism::Login),
                ..plain
            },
            true,
            false,
        ),
        // Cyrus offers SCRAM-SHA-256 (its mech_list has it, its sasldb the
        // password): named, and chosen by preference over PLAIN.
        (
            "submission-scram",
            server.submission_port,
            Connect {
                tls: TlsPolicy::Required,
                auth: Some(Mechanism::ScramSha256),
                ..plain
            },
            true,
            false,
        ),
        (
            "smtps-preferred",
            server.smtps_port,
            Connect {
                implicit_tls: true,
                auth_by_preference: true,
                ..plain
            },
            true,
            false,
        ),
    ];
    let mut expected: Vec<(String, TestMessage)> = Vec::new();
    for (name, port, connect, encrypted, big) in &modes {
        let run = run_id(adapter, ip, "postfix", name);
        let messages = TestMessage::matrix(&run, true, *big);
        let Some(mut session) = connect_or_fail(
            &mut checks,
            &run,
            (adapter, ip),
            *port,
            connect,
            server.certs,
        ) else {
            continue;
        };
        checks.check(session.is_encrypted() == *encrypted, || {
            format!("{run}: encrypted is {}", session.is_encrypted())
        });
        let delivered = send_all(&mut checks, &run, &mut session, &messages);
        quit(&mut checks, &run, session);
        for (m, ok) in messages.into_iter().zip(delivered) {
            if ok {
                expected.push((run.clone(), m));
            }
        }
    }
    // Both SCRAM modes authenticated with SCRAM, as Postfix logs it (the
    // preferred one did not fall back to PLAIN).
    let scram_logins = server.log().matches("sasl_method=SCRAM-SHA-256").count();
    checks.check(scram_logins >= 2, || {
        format!(
            "{test}: {scram_logins} SCRAM-SHA-256 logins in Postfix's log, want 2; its log:\n{}",
            server.log_tail()
        )
    });
    // Issue 11, bug 1: with PIPELINING and CHUNKING, message 1's only
    // recipient is refused while its 2.5 MiB body is on its way (streamed
    // in chunks by the blocking adapter, one BDAT by the others), and
    // message 2 is queued behind it. Without an RSET before message 2's
    // MAIL, Postfix answers "503 5.5.1 Error: nested MAIL command".
    let run = run_id(adapter, ip, "postfix", "refused-then-next");
    let refused = TestMessage::to_refused(&run, 2_500_000);
    let next = TestMessage::simple(&run, 2, &["rcpt1@example.org"]);
    if let Some(mut session) = connect_or_fail(
        &mut checks,
        &run,
        (adapter, ip),
        server.smtp_port,
        &plain,
        server.certs,
    ) {
        let batch = [
            (refused.envelope(), refused.body.clone()),
            (next.envelope(), next.body.clone()),
        ];
        match session.send_many(&batch) {
            Ok(outcomes) => {
                checks.check(
                    matches!(
                        &outcomes[0].result,
                        Err(TransactionError::NoRecipientAccepted { transient: false })
                    ) && outcomes[0].recipients[0]
                        .reply()
                        .is_some_and(|r| r.code().value() == 554),
                    || {
                        format!(
                            "{run}: message 1 should be refused at RCPT: {:?}",
                            outcomes[0]
                        )
                    },
                );
                let ok = outcomes[1].is_delivered();
                checks.check(ok, || {
                    format!("{run}: message 2 not delivered: {:?}", outcomes[1])
                });
                if ok {
                    expected.push((run.clone(), next));
                }
            }
            Err(e) => checks.fail(format!("{run}: the batch failed: {e}")),
        }
        quit(&mut checks, &run, session);
    }
    let copies: usize = expected.iter().map(|(_, m)| m.to.len()).sum();
    let deliveries = server.wait_deliveries(copies, DELIVERY_WAIT);
    checks.check(deliveries.len() == copies, || {
        format!(
            "expected {copies} deliveries, Postfix made {}; its log:\n{}",
            deliveries.len(),
            server.log_tail()
        )
    });
    // Every message smtpd queued came over `ip`, as Postfix logs it
    // (`client=unknown[::1]`).
    check_clients(
        &mut checks,
        &test,
        "Postfix queued messages",
        ip,
        &server.clients(),
        modes.len(),
    );
    for (run, m) in &expected {
        for rcpt in &m.to {
            let found: Vec<&PostfixDelivery> = deliveries
                .iter()
                .filter(|d| &d.recipient == rcpt && has_tag(&d.content, &m.tag))
                .collect();
            if !checks.check(found.len() == 1, || {
                format!("{run}: {} for {rcpt}: {} copies", m.name, found.len())
            }) {
                continue;
            }
            let d = found[0];
            let body = normalise_postfix(&d.content);
            checks.check(body == m.body, || {
                format!(
                    "{run}: {} for {rcpt} differs: {}",
                    m.name,
                    first_difference(&body, &m.body)
                )
            });
            checks.check(d.sender == m.from, || {
                format!("{run}: {} sender {:?}", m.name, d.sender)
            });
        }
    }
    checks.finish();
}

// --- Dovecot (LMTP) -----------------------------------------------------

/// A real LMTP server: Dovecot, with BDAT over LMTP (CHUNKING used) and with
/// DATA. Three messages on one session, pipelined; the first has a
/// recipient Dovecot does not know. Each recipient's delivery reply is
/// checked, and so is what Dovecot stored in each mailbox (byte for byte
/// after its added headers and LF line ends).
pub fn dovecot(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "dovecot");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let server = require!(test, Dovecot::start());
    let mut checks = Checks::new(&test);
    let mut expected: Vec<(&str, TestMessage)> = Vec::new();
    for (name, chunking) in [("lmtp-bdat", true), ("lmtp-data", false)] {
        let run = run_id(adapter, ip, "dovecot", name);
        let connect = Connect {
            tls: TlsPolicy::Off,
            lmtp: true,
            chunking,
            ..Connect::default()
        };
        let three = TestMessage::simple(
            &run,
            1,
            &["alice@example.org", "nobody@example.org", "bob@example.org"],
        );
        let to_bob = TestMessage::simple(&run, 2, &["bob@example.org"]);
        let dots = TestMessage::simple(&run, 3, &["alice@example.org"]);
        // The dialogue, to see that BDAT (or DATA) was what went out.
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = lines.clone();
        let mut options = connect.options(None).on_event(move |event| {
            if let smtp_proto::Event::Transcript(line) = event {
                seen.lock().unwrap().push(line.to_string());
            }
        });
        options.config.transcript = true;
        let mut session = match adapter.connect(ip.host(), server.port, &options) {
            Ok(s) => s,
            Err(e) => {
                checks.fail(format!("{run}: connect failed: {e}"));
                continue;
            }
        };
        let batch: Vec<(Envelope, Vec<u8>)> = [&three, &to_bob, &dots]
            .iter()
            .map(|m| (m.envelope(), m.body.clone()))
            .collect();
        match session.send_many(&batch) {
            Ok(outcomes) => {
                let codes = |o: &Outcome, delivery: bool| -> Vec<u16> {
                    o.recipients
                        .iter()
                        .map(|r| {
                            let reply = if delivery {
                                &r.delivery_reply
                            } else {
                                &r.rcpt_reply
                            };
                            reply.as_ref().map_or(0, |r| r.code().value())
                        })
                        .collect()
                };
                let first = &outcomes[0];
                checks.check(
                    first.is_delivered()
                        && codes(first, false) == [250, 550, 250]
                        && codes(first, true) == [250, 0, 250]
                        && first.recipients[0].accepted()
                        && !first.recipients[1].accepted()
                        && first.recipients[2].accepted(),
                    || format!("{run}: message 1 per recipient: {first:?}"),
                );
                for o in &outcomes[1..] {
                    checks.check(o.is_delivered() && codes(o, true) == [250], || {
                        format!("{run}: not delivered: {o:?}")
                    });
                }
            }
            Err(e) => checks.fail(format!("{run}: the batch failed: {e}")),
        }
        quit(&mut checks, &run, session);
        let lines = lines.lock().unwrap();
        let bdat = lines
            .iter()
            .any(|l| l.contains("] C: BDAT ") && l.ends_with(" LAST"));
        let data = lines.iter().any(|l| l.ends_with("] C: DATA"));
        checks.check(bdat == chunking && data != chunking, || {
            format!("{run}: BDAT used {bdat}, DATA used {data}: {lines:#?}")
        });
        expected.extend([
            ("alice", three.clone()),
            ("bob", three),
            ("bob", to_bob),
            ("alice", dots),
        ]);
    }
    // Both sessions came over `ip`, as Dovecot logs them (`Disconnect from
    // ::1: Logged out`).
    let sessions = server.logged_out(2, Duration::from_secs(5));
    check_clients(&mut checks, &test, "LMTP sessions", ip, &sessions, 2);
    for user in ["alice", "bob"] {
        let stored = server.mailbox(user);
        let mine: Vec<&TestMessage> = expected
            .iter()
            .filter(|(u, _)| *u == user)
            .map(|(_, m)| m)
            .collect();
        checks.check(stored.len() == mine.len(), || {
            format!(
                "{test}: {user} has {} messages, want {}; Dovecot's log:\n{}",
                stored.len(),
                mine.len(),
                server.log()
            )
        });
        for m in mine {
            let found: Vec<&Vec<u8>> = stored.iter().filter(|s| has_tag(s, &m.tag)).collect();
            if !checks.check(found.len() == 1, || {
                format!("{test}: {} copies of {} for {user}", found.len(), m.tag)
            }) {
                continue;
            }
            let body = normalise_dovecot(found[0]);
            checks.check(body == m.body, || {
                format!(
                    "{test}: {} for {user} differs: {}",
                    m.tag,
                    first_difference(&body, &m.body)
                )
            });
        }
    }
    checks.finish();
}

// --- smtp-sink ----------------------------------------------------------

fn sink_connect(pipelining: bool) -> Connect {
    Connect {
        tls: TlsPolicy::Off,
        pipelining,
        ..Connect::default()
    }
}

/// Many messages on one session to smtp-sink: with PIPELINING used, with it
/// turned off in the client, and with a server that does not offer it; each
/// dump compared with what was sent.
pub fn sink_many(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "sink_many");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let mut checks = Checks::new(&test);
    for (name, server_args, client_pipelining) in [
        ("pipelined", &[][..], true),
        ("client-no-pipelining", &[][..], false),
        ("server-no-pipelining", &["-p"][..], true),
    ] {
        let sink = require!(test, SmtpSink::start(server_args));
        let run = run_id(adapter, ip, "sink", name);
        let Ok(mut session) = adapter
            .connect(
                ip.host(),
                sink.port,
                &sink_connect(client_pipelining).options(None),
            )
            .inspect_err(|e| checks.fail(format!("{run}: connect failed: {e}")))
        else {
            continue;
        };
        // 40 messages queued at once (pipelined across messages), then 20
        // one by one.
        let batch: Vec<TestMessage> = (0..40)
            .map(|i| TestMessage::simple(&run, i, &["a@example.org", "b@example.org"]))
            .collect();
        let pairs: Vec<(Envelope, Vec<u8>)> = batch
            .iter()
            .map(|m| (m.envelope(), m.body.clone()))
            .collect();
        let mut sent = Vec::new();
        match session.send_many(&pairs) {
            Ok(outcomes) => {
                checks.check(outcomes.len() == batch.len(), || {
                    format!(
                        "{run}: {} outcomes for {} messages",
                        outcomes.len(),
                        batch.len()
                    )
                });
                for (m, o) in batch.iter().zip(&outcomes) {
                    checks.check(o.is_delivered() && o.refused().count() == 0, || {
                        format!("{run}: batch {}: {}", m.tag, describe(&Ok(o.clone())))
                    });
                }
                sent.extend(batch.iter().cloned());
            }
            Err(e) => checks.fail(format!("{run}: send_many: {e} ({e:?})")),
        }
        for i in 40..60 {
            let m = TestMessage::simple(&run, i, &["c@example.org"]);
            let r = session.send(&m.envelope(), &m.body);
            if checks.check(matches!(&r, Ok(o) if o.is_delivered()), || {
                format!("{run}: message {i}: {}", describe(&r))
            }) {
                sent.push(m);
            }
        }
        quit(&mut checks, &run, session);
        let dumps = sink.wait_dumps(sent.len(), Duration::from_secs(10));
        checks.check(dumps.len() == sent.len(), || {
            format!("{run}: {} dumps for {} messages", dumps.len(), sent.len())
        });
        // Every one came over `ip`, as smtp-sink wrote (`X-Client-Addr:
        // ipv6:::1`).
        let clients: Vec<_> = dumps.iter().map(|d| sink_client(d)).collect();
        check_clients(&mut checks, &run, "dumps", ip, &clients, sent.len());
        for m in &sent {
            let found: Vec<Vec<u8>> = dumps
                .iter()
                .map(|d| normalise_sink(d))
                .filter(|d| has_tag(d, &m.tag))
                .collect();
            if checks.check(found.len() == 1, || {
                format!("{run}: {} dumped {} times", m.tag, found.len())
            }) {
                checks.check(found[0] == m.body, || {
                    format!(
                        "{run}: {} differs: {}",
                        m.tag,
                        first_difference(&found[0], &m.body)
                    )
                });
            }
        }
    }
    checks.finish();
}

/// Rejections by smtp-sink reported per recipient and per message, with the
/// session going on after each: every RCPT refused (5xx and 4xx), DATA
/// refused, the end of data refused; AUTH answered 250 is no success; a
/// UTF-8 address to a server without SMTPUTF8 is refused before sending.
pub fn sink_rejections(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "sink_rejections");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let mut checks = Checks::new(&test);
    type Expect = fn(&TransactionError) -> bool;
    let cases: [(&str, &[&str], Expect, Option<u16>); 5] = [
        (
            "rcpt-5xx",
            &["-f", "RCPT"],
            |e| matches!(e, TransactionError::NoRecipientAccepted { .. }),
            Some(500),
        ),
        (
            "rcpt-4xx",
            &["-r", "RCPT"],
            |e| matches!(e, TransactionError::NoRecipientAccepted { .. }),
            Some(450),
        ),
        (
            "data-5xx",
            &["-f", "DATA"],
            |e| matches!(e, TransactionError::DataRejected(r) if r.code().value() == 500),
            None,
        ),
        (
            "eod-5xx",
            &["-f", "."],
            |e| matches!(e, TransactionError::MessageRejected(r) if r.code().value() == 500),
            None,
        ),
        (
            "eod-4xx",
            &["-r", "."],
            |e| matches!(e, TransactionError::MessageRejected(r) if r.code().value() == 450),
            None,
        ),
    ];
    for (name, args, expect, rcpt_code) in cases {
        let sink = require!(test, SmtpSink::start(args));
        let run = run_id(adapter, ip, "sink", name);
        let Ok(mut session) = adapter
            .connect(ip.host(), sink.port, &sink_connect(true).options(None))
            .inspect_err(|e| checks.fail(format!("{run}: connect failed: {e}")))
        else {
            continue;
        };
        for i in 0..3 {
            let m = TestMessage::simple(&run, i, &["a@example.org", "b@example.org"]);
            let r = session.send(&m.envelope(), &m.body);
            let ok = match &r {
                Ok(o) => {
                    let per_rcpt = match rcpt_code {
                        Some(code) => o.recipients.iter().all(|rr| {
                            rr.rcpt_reply
                                .as_ref()
                                .is_some_and(|x| x.code().value() == code)
                        }),
                        None => o.recipients.iter().all(|rr| rr.accepted()),
                    };
                    !o.is_delivered() && o.result.as_ref().err().is_some_and(expect) && per_rcpt
                }
                Err(_) => false,
            };
            checks.check(ok, || format!("{run}: message {i}: {}", describe(&r)));
        }
        quit(&mut checks, &run, session);
        // (smtp-sink dumps a message even when it refuses its end of data.)
        if !name.starts_with("eod") {
            checks.check(sink.dumps().is_empty(), || {
                format!("{run}: smtp-sink kept {} messages", sink.dumps().len())
            });
        }
    }

    // smtp-sink answers AUTH with 250: not a success.
    let sink = require!(test, SmtpSink::start(&[]));
    let run = run_id(adapter, ip, "sink", "auth-250");
    let connect = Connect {
        tls: TlsPolicy::Off,
        auth: Some(Mechanism::Plain),
        allow_plaintext_auth: true,
        ..Connect::default()
    };
    match adapter.connect(ip.host(), sink.port, &connect.options(None)) {
        Err(Error::Smtp { error: e, .. }) if matches!(e.kind(), ErrorKind::AuthFailed(_)) => {}
        Err(e) => checks.fail(format!("{run}: expected AuthFailed, got {e} ({e:?})")),
        Ok(_) => checks.fail(format!("{run}: a 250 to AUTH counted as authenticated")),
    }

    // No SMTPUTF8 offered: a UTF-8 address is refused before MAIL.
    let run = run_id(adapter, ip, "sink", "no-smtputf8");
    match adapter.connect(ip.host(), sink.port, &sink_connect(true).options(None)) {
        Ok(mut session) => {
            let m = TestMessage::utf8_address(&run);
            let r = session.send(&m.envelope(), &m.body);
            checks.check(
                matches!(&r, Ok(o) if matches!(o.result, Err(TransactionError::ExtensionUnavailable(_)))),
                || format!("{run}: {}", describe(&r)),
            );
            let ok = TestMessage::simple(&run, 1, &["a@example.org"]);
            let r = session.send(&ok.envelope(), &ok.body);
            checks.check(matches!(&r, Ok(o) if o.is_delivered()), || {
                format!("{run}: the session did not go on: {}", describe(&r))
            });
            quit(&mut checks, &run, session);
        }
        Err(e) => checks.fail(format!("{run}: connect failed: {e}")),
    }
    checks.finish();
}
