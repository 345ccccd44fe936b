//! The failure suite: one adapter against `faulty_server.py`, one fault
//! per test. Each run must end in the expected typed error or per-recipient
//! result within its deadline, and the server's log must show that the
//! password never crossed a plaintext wire, that no data was sent without a
//! 354, that DATA was not sent (without pipelining) when no recipient was
//! accepted, and that nothing was reported delivered without the server's
//! 250 to its end of data. Every fault runs over 127.0.0.1 and again over
//! ::1 ([`Ip`]; skipped where the machine has no IPv6 loopback), the
//! server's log showing each connection came from that address.

use crate::adapters::Adapter;
use crate::checks::{Checks, Connect, password_forms};
use crate::matrix::{describe, test_name};
use crate::messages::TestMessage;
use crate::peers::{Faulty, FaultyLog, FaultyOptions, LineKind, starts_with_ci};
use crate::process::Ip;
use crate::require;
use smtp_blocking::{Error, Outcome, TlsPolicy};
use smtp_proto::{ErrorKind, Mechanism, ProtocolError, Stage, TransactionError};
use std::time::{Duration, Instant};

/// Every deadline of the client in this suite.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a whole run may take (connect, a few deadlines, quit).
pub const MAX_RUN: Duration = Duration::from_secs(10);

/// What happened in one run against the faulty server.
#[derive(Debug)]
pub struct Run {
    /// The connect result (session opened or not).
    pub connect: Result<(), Error>,
    /// The result of sending the one message, if connected.
    pub send: Option<Result<Outcome, Error>>,
    /// How long the run took.
    pub elapsed: Duration,
    /// Whether the session was encrypted.
    pub encrypted: bool,
}

impl Run {
    /// True when the client reported the message delivered.
    pub fn delivered(&self) -> bool {
        matches!(&self.send, Some(Ok(o)) if o.is_delivered())
    }

    /// The session error, from connect or send.
    pub fn error(&self) -> Option<&Error> {
        match (&self.connect, &self.send) {
            (Err(e), _) | (_, Some(Err(e))) => Some(e),
            _ => None,
        }
    }

    /// The outcome of the message, if one came.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.send {
            Some(Ok(o)) => Some(o),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let c = match &self.connect {
            Ok(()) => "connected".to_owned(),
            Err(e) => format!("connect failed: {e} ({e:?})"),
        };
        let s = match &self.send {
            Some(r) => describe(r),
            None => "nothing sent".into(),
        };
        format!("{c}; {s}; in {:?}", self.elapsed)
    }
}

/// Connects over `ip`, sends one message to three recipients, quits.
pub fn run_once((adapter, ip): (&dyn Adapter, Ip), port: u16, connect: &Connect, tag: &str) -> Run {
    let certs = crate::certs::get().ok();
    let options = connect.options(certs);
    let started = Instant::now();
    let mut run = Run {
        connect: Ok(()),
        send: None,
        elapsed: Duration::ZERO,
        encrypted: false,
    };
    match adapter.connect(ip.host(), port, &options) {
        Err(e) => run.connect = Err(e),
        Ok(mut session) => {
            run.encrypted = session.is_encrypted();
            let to = ["r1@example.org", "r2@example.org", "r3@example.org"];
            let m = if tag.ends_with("stall-after-354") {
                // More than the TCP buffers on both sides hold.
                TestMessage::sized(tag, &to, 20 << 20)
            } else if tag.ends_with("bdat-refuse-middle") {
                // 128 chunks of 64 KiB, streamed: far more than the 32 the
                // client keeps in flight.
                TestMessage::sized(tag, &to, 128 << 16)
            } else {
                TestMessage::simple(tag, 1, &to)
            };
            let result = match tag.ends_with("bdat-refuse-middle") {
                true => session.send_streamed(&m.envelope(), &m.body),
                false => session.send(&m.envelope(), &m.body),
            };
            let alive = result.is_ok();
            run.send = Some(result);
            if alive {
                // The session's fate after the message is not under test.
                let _ = session.quit();
            }
        }
    }
    run.elapsed = started.elapsed();
    run
}

/// The session error's core kind, if the error is an SMTP one.
fn smtp_kind(e: &Error) -> Option<&ErrorKind> {
    match e {
        Error::Smtp { error, .. } => Some(error.kind()),
        _ => None,
    }
}

fn reply_code(e: &Error) -> Option<u16> {
    match e {
        Error::Smtp { error, .. } => error.reply().map(|r| r.code().value()),
        _ => None,
    }
}

fn is_protocol(e: &Error) -> bool {
    matches!(smtp_kind(e), Some(ErrorKind::Protocol(_)))
}

fn is_closed(e: &Error) -> bool {
    matches!(smtp_kind(e), Some(ErrorKind::ConnectionClosed))
        || e.kind() == Some(&ErrorKind::TransportFailed)
}

fn stage_of(e: &Error) -> Option<Stage> {
    e.stage()
}

/// The checks every run over `ip` must pass, whatever the fault.
fn invariants(
    checks: &mut Checks,
    (what, ip): (&str, Ip),
    run: &Run,
    log: &FaultyLog,
    pipelining: bool,
) {
    checks.check(run.elapsed <= MAX_RUN, || {
        format!("{what}: took {:?} (deadline {TIMEOUT:?})", run.elapsed)
    });
    let peers = log.peers();
    checks.check(
        !peers.is_empty() && peers.iter().all(|p| *p == Some(ip.addr())),
        || format!("{what}: connections from {peers:?}, want {}", ip.host()),
    );
    for form in password_forms() {
        for l in log.plaintext_client_lines() {
            checks.check(!l.text.contains(&form), || {
                format!(
                    "{what}: the password crossed a plaintext wire: {:?}",
                    l.text
                )
            });
        }
    }
    let conns: Vec<u32> = {
        let mut c: Vec<u32> = log.lines.iter().map(|l| l.conn).collect();
        c.dedup();
        c
    };
    for conn in conns {
        let lines: Vec<_> = log.connection(conn).collect();
        let mut saw_354 = false;
        let mut rcpt_accepted = false;
        let mut last_was_data_end = false;
        let mut acked_after_end = false;
        for (i, l) in lines.iter().enumerate() {
            match l.kind {
                LineKind::Reply if l.text.starts_with("354") => saw_354 = true,
                LineKind::Reply if l.text.starts_with("250 2.1.5") => rcpt_accepted = true,
                LineKind::Reply
                    if last_was_data_end && l.text.starts_with("250 2.0.0 OK queued") =>
                {
                    acked_after_end = true;
                }
                LineKind::Data => {
                    checks.check(saw_354, || {
                        format!("{what}: conn {conn}: data line {i} sent without a 354")
                    });
                    last_was_data_end = l.text == ".";
                }
                LineKind::Command if starts_with_ci(&l.text, "DATA") && !pipelining => {
                    checks.check(rcpt_accepted, || {
                        format!("{what}: conn {conn}: DATA sent though no recipient was accepted")
                    });
                }
                LineKind::Command if starts_with_ci(&l.text, "MAIL") => {
                    rcpt_accepted = false;
                    saw_354 = false;
                }
                _ => {}
            }
        }
        if run.delivered() && conn == 1 {
            checks.check(acked_after_end, || {
                format!("{what}: reported delivered without a 250 to the end of data")
            });
        }
    }
}

/// How a mode is run.
fn connect_for(mode: &str, pipelining: bool) -> Connect {
    let auth = match mode {
        // HELO fallback: no STARTTLS, so no credentials either.
        "ehlo-500" => None,
        m if m.ends_with("-auth") => Some(Mechanism::Login),
        _ => Some(Mechanism::Plain),
    };
    Connect {
        tls: if auth.is_some() {
            TlsPolicy::Required
        } else {
            TlsPolicy::Opportunistic
        },
        auth,
        timeout: TIMEOUT,
        pipelining,
        ..Connect::default()
    }
}

/// Runs one fault (see `faulty_server.py --list`) against `adapter` over
/// `ip`; for the modes about recipients and MAIL, once with PIPELINING and
/// once without.
pub fn run(adapter: &dyn Adapter, ip: Ip, mode: &str) {
    let test = test_name(adapter, ip, &format!("faulty::{mode}"));
    if !crate::skip::over(&test, ip) {
        return;
    }
    let mut checks = Checks::new(&test);
    let both = mode.ends_with("-rcpt") || mode.ends_with("-mail") || mode == "rcpt2-reject";
    let variants: &[bool] = if both { &[true, false] } else { &[true] };
    for &pipelining in variants {
        let server = require!(
            test,
            Faulty::start(
                mode,
                FaultyOptions {
                    tls: true,
                    pipelining,
                }
            )
        );
        let what = format!("{test} (pipelining {pipelining})");
        let connect = connect_for(mode, pipelining);
        let tag = format!("{}-{mode}", adapter.name());
        let run = run_once((adapter, ip), server.port, &connect, &tag);
        let second =
            (mode == "greylist").then(|| run_once((adapter, ip), server.port, &connect, &tag));
        let log = server.settled_log(Duration::from_secs(5));
        invariants(&mut checks, (&what, ip), &run, &log, pipelining);
        expect(&mut checks, &what, mode, (&run, second.as_ref()), &log);
        if checks.failed() > 0 {
            checks.fail(format!("{what}: the server's log:\n{}", log.dump()));
        }
    }
    checks.finish();
}

/// The expected result of each mode.
fn expect(
    checks: &mut Checks,
    what: &str,
    mode: &str,
    (run, second): (&Run, Option<&Run>),
    log: &FaultyLog,
) {
    let d = run.describe();
    let err = run.error();
    let outcome = run.outcome();
    let connect_err = run.connect.as_ref().err();
    let mut ok = |cond: bool, want: &str| {
        checks.check(cond, || format!("{what}: expected {want}, got: {d}"));
    };
    match mode {
        "ok" | "bare-lf" => {
            ok(
                run.delivered() && outcome.is_some_and(|o| o.refused().count() == 0),
                "delivered to all",
            );
            ok(run.encrypted, "an encrypted session");
        }
        "ehlo-500" => {
            ok(run.delivered(), "delivered after falling back to HELO");
            ok(log.sent_command("HELO"), "HELO after the 500 to EHLO");
        }
        "garbage-greeting" | "code-2x0" | "code-99" | "code-600" => {
            ok(
                connect_err.is_some_and(|e| is_protocol(e) && stage_of(e) == Some(Stage::Init)),
                "a protocol error at Init",
            );
        }
        "mixed-codes" => {
            ok(
                connect_err.is_some_and(|e| is_protocol(e) && stage_of(e) == Some(Stage::Helo)),
                "a protocol error at Helo",
            );
        }
        "long-line" | "million-line-ehlo" => {
            ok(
                connect_err.is_some_and(|e| {
                    matches!(
                        smtp_kind(e),
                        Some(ErrorKind::Protocol(ProtocolError::Reply(_)))
                    )
                }),
                "a reply-limit protocol error",
            );
            ok(
                run.elapsed < Duration::from_secs(5),
                "a quick end (no reading of the whole flood)",
            );
        }
        "trickle-greeting" => {
            // The greeting's deadline covers the whole reply: one octet
            // every 0.4 s does not keep the session alive.
            ok(
                connect_err.is_some_and(|e| e.is_timeout() && stage_of(e) == Some(Stage::Init)),
                "a timeout at Init",
            );
            ok(
                run.elapsed < TIMEOUT * 2,
                "the end at the greeting's deadline, not after the trickle",
            );
        }
        "stall-after-354" => {
            // The write is bounded by the data-block deadline, and the error
            // names the stage.
            ok(
                err.is_some_and(|e| e.is_timeout() && stage_of(e) == Some(Stage::SendData))
                    || outcome.is_some_and(|o| {
                        matches!(&o.result, Err(TransactionError::NotSent(e))
                            if e.stage() == Stage::SendData)
                    }),
                "a timeout at SendData",
            );
            ok(!run.delivered(), "not delivered");
        }
        "double-reply" | "early-reply" => {
            // A reply to a command the server was not sent yet is an extra
            // reply: a protocol error, never the next command's answer. (If
            // TCP splits the server's one write and STARTTLS went out in
            // between, the extra 250 is STARTTLS's reply: refused too.)
            ok(
                connect_err.is_some_and(|e| {
                    matches!(
                        smtp_kind(e),
                        Some(ErrorKind::Protocol(ProtocolError::UnexpectedBytes))
                    ) || (mode == "double-reply"
                        && reply_code(e) == Some(250)
                        && stage_of(e) == Some(Stage::StartTls))
                }),
                "a protocol error (UnexpectedBytes)",
            );
            ok(!log.sent_command("MAIL"), "no MAIL");
            ok(!log.sent_command("AUTH"), "no AUTH");
        }
        "bdat-refuse-first" | "bdat-552" => {
            let code = if mode == "bdat-552" { 552 } else { 554 };
            ok(
                outcome.is_some_and(|o| {
                    matches!(&o.result, Err(TransactionError::MessageRejected(r)) if r.code().value() == code)
                        && !o.fate_unknown()
                }),
                &format!("MessageRejected({code}), fate known"),
            );
            ok(log.sent_command("BDAT"), "BDAT used");
            ok(!log.sent_command("DATA"), "no DATA");
        }
        "bdat-refuse-middle" => {
            // RFC 3030 section 2: a refused chunk fails the message, and
            // once the refusal is received no more chunks go out. The
            // client keeps at most 32 chunks in flight, so it reads the
            // refusal of the second long before the body's end: the server
            // never sees the rest, nor a LAST.
            ok(
                outcome.is_some_and(|o| {
                    matches!(&o.result, Err(TransactionError::DataRejected(r)) if r.code().value() == 554)
                        && !o.fate_unknown()
                        && !o.is_delivered()
                }),
                "DataRejected(554), fate known",
            );
            let bdats: Vec<_> = log.events().filter(|e| e.starts_with("BDAT")).collect();
            let last = bdats.iter().any(|b| b.ends_with("LAST"));
            ok(
                (2..=40).contains(&bdats.len()) && !last,
                &format!("2 to 40 chunks of 129, none LAST: {}", bdats.len()),
            );
        }
        "bdat-close-after-chunk" => {
            ok(!run.delivered(), "not delivered");
            ok(
                outcome.is_some_and(|o| o.fate_unknown()) || err.is_some_and(is_closed),
                "not sent, fate unknown (the last chunk went out)",
            );
        }
        "no-greeting" => {
            ok(connect_err.is_some_and(|e| e.is_timeout()), "a timeout");
            ok(
                run.elapsed >= TIMEOUT.mul_f32(0.9),
                "the full greeting deadline to pass",
            );
        }
        "cut-reply" => {
            ok(connect_err.is_some_and(is_closed), "connection closed");
        }
        "no-starttls" => {
            ok(
                connect_err
                    .is_some_and(|e| matches!(smtp_kind(e), Some(ErrorKind::TlsUnavailable))),
                "TlsUnavailable",
            );
            ok(!log.sent_command("AUTH"), "no AUTH");
        }
        "starttls-454" => {
            ok(
                connect_err.is_some_and(|e| reply_code(e) == Some(454)),
                "the 454 as a typed rejection",
            );
            ok(!log.sent_command("AUTH"), "no AUTH");
        }
        "starttls-inject" => {
            ok(
                connect_err.is_some_and(|e| {
                    matches!(
                        smtp_kind(e),
                        Some(ErrorKind::Protocol(ProtocolError::StartTlsInjection))
                    )
                }),
                "StartTlsInjection",
            );
            let after: Vec<_> = log
                .commands()
                .into_iter()
                .skip_while(|l| !starts_with_ci(&l.text, "STARTTLS"))
                .skip(1)
                .map(|l| l.text.clone())
                .collect();
            ok(
                after.is_empty() || after.iter().all(|t| starts_with_ci(t, "QUIT")),
                "nothing but QUIT after the injection",
            );
        }
        "greylist" => {
            ok(
                outcome.is_some_and(|o| {
                    matches!(o.result, Err(TransactionError::NoRecipientAccepted { .. }))
                        && o.recipients
                            .iter()
                            .all(|r| r.reply().is_some_and(|x| x.code().value() == 450))
                        && o.result.as_ref().err().is_some_and(|_| {
                            o.recipients.iter().all(|r| {
                                r.reply()
                                    .is_some_and(|x| x.class() == smtp_proto::ReplyClass::Transient)
                            })
                        })
                }),
                "every recipient greylisted (450)",
            );
            let second_ok = second.is_some_and(|s| {
                s.delivered() && s.outcome().is_some_and(|o| o.refused().count() == 0)
            });
            checks.check(second_ok, || {
                format!(
                    "{what}: expected delivery on the retry, got: {}",
                    second.map(Run::describe).unwrap_or_default()
                )
            });
        }
        "rcpt2-reject" => {
            ok(
                outcome.is_some_and(|o| {
                    o.is_delivered()
                        && o.recipients.len() == 3
                        && o.recipients[0].accepted()
                        && !o.recipients[1].accepted()
                        && o.recipients[1]
                            .reply()
                            .is_some_and(|r| r.code().value() == 550)
                        && o.recipients[2].accepted()
                }),
                "delivered to the 1st and 3rd, the 2nd refused with 550",
            );
        }
        "close-after-body" => {
            ok(!run.delivered(), "not delivered");
            ok(
                err.is_some_and(is_closed)
                    || outcome
                        .is_some_and(|o| matches!(o.result, Err(TransactionError::NotSent(_)))),
                "connection closed / not sent",
            );
        }
        m if m.starts_with("reject-") => {
            let (code, stage) = m["reject-".len()..]
                .split_once('-')
                .expect("reject-CODE-STAGE");
            let code: u16 = code.parse().expect("numeric code");
            ok(!run.delivered(), "not delivered");
            match stage {
                "greeting" | "ehlo" | "auth" => {
                    ok(connect_err.is_some_and(|e| reply_code(e) == Some(code)), &format!("the session refused with {code}"));
                    let want = match stage {
                        "greeting" => Stage::Init,
                        "ehlo" => Stage::Helo,
                        _ => Stage::Auth,
                    };
                    let at = connect_err.and_then(stage_of);
                    let stage_ok = at == Some(want) || (stage == "auth" && matches!(at, Some(Stage::AuthLogin | Stage::AuthLoginUsername | Stage::AuthLoginPassword)));
                    ok(stage_ok, &format!("the error at stage {want:?}"));
                    let transient = connect_err.is_some_and(Error::is_transient);
                    ok(transient == (code != 550), "transient for 4yz, permanent for 5yz");
                }
                "eod" if code == 421 => {
                    // A 421 answering the end of data is a 4yz reply to it
                    // (RFC 5321 section 4.2.5: the server must not deliver):
                    // a definite, transient refusal, not "fate unknown".
                    ok(
                        outcome.is_some_and(|o| {
                            matches!(&o.result, Err(TransactionError::MessageRejected(r)) if r.code().value() == 421)
                                && !o.fate_unknown()
                                && o.result.as_ref().is_err_and(TransactionError::is_transient)
                        }),
                        "MessageRejected(421), transient, fate known",
                    );
                }
                _ if code == 421 => {
                    // The server closed the session: a session error, or the
                    // message reported not sent.
                    ok(
                        err.is_some_and(|e| reply_code(e) == Some(421) || is_closed(e))
                            || outcome.is_some_and(|o| matches!(o.result, Err(TransactionError::NotSent(_)))),
                        "the 421 ending the session",
                    );
                }
                "mail" => ok(
                    outcome.is_some_and(|o| matches!(&o.result, Err(TransactionError::MailRejected(r)) if r.code().value() == code)),
                    &format!("MailRejected({code})"),
                ),
                "rcpt" => ok(
                    outcome.is_some_and(|o| {
                        matches!(o.result, Err(TransactionError::NoRecipientAccepted { .. }))
                            && o.recipients.iter().all(|r| r.reply().is_some_and(|x| x.code().value() == code))
                    }),
                    &format!("NoRecipientAccepted, each recipient {code}"),
                ),
                "data" => ok(
                    outcome.is_some_and(|o| matches!(&o.result, Err(TransactionError::DataRejected(r)) if r.code().value() == code)),
                    &format!("DataRejected({code})"),
                ),
                "eod" => ok(
                    outcome.is_some_and(|o| matches!(&o.result, Err(TransactionError::MessageRejected(r)) if r.code().value() == code)),
                    &format!("MessageRejected({code})"),
                ),
                other => panic!("unknown stage {other}"),
            }
            if matches!(stage, "greeting" | "ehlo") || (stage == "auth") {
                ok(
                    !log.sent_command("MAIL"),
                    "no MAIL after a failed session start",
                );
            }
            if stage == "data" {
                ok(
                    !log.lines.iter().any(|l| l.kind == LineKind::Data),
                    "no body after DATA was refused",
                );
            }
        }
        other => panic!("no expectation written for mode {other}"),
    }
}

/// Proves that the log checks bite: a session that really sends the
/// password in plaintext (opted into, against a server without TLS) must
/// be caught by the same checks every fault runs through.
pub fn self_check(adapter: &dyn Adapter, ip: Ip) {
    let test = test_name(adapter, ip, "faulty::self-check");
    if !crate::skip::over(&test, ip) {
        return;
    }
    let server = require!(
        test,
        Faulty::start(
            "ok",
            FaultyOptions {
                tls: false,
                pipelining: true,
            }
        )
    );
    let connect = Connect {
        tls: TlsPolicy::Off,
        auth: Some(Mechanism::Plain),
        allow_plaintext_auth: true,
        timeout: TIMEOUT,
        ..Connect::default()
    };
    let run = run_once((adapter, ip), server.port, &connect, "self-check");
    let log = server.settled_log(Duration::from_secs(5));
    assert!(run.delivered(), "{test}: {}", run.describe());
    assert_eq!(log.peers(), [Some(ip.addr())], "{test}: the connection");
    let mut probe = Checks::new(&test);
    invariants(&mut probe, (&test, ip), &run, &log, true);
    assert!(
        probe.failed() > 0,
        "{test}: the password went out in plaintext, yet no check saw it:\n{}",
        log.dump()
    );
}

/// Every mode of `faulty_server.py`, for a test that all are covered.
pub const MODES: &[&str] = &[
    "ok",
    "garbage-greeting",
    "no-greeting",
    "cut-reply",
    "long-line",
    "million-line-ehlo",
    "bare-lf",
    "code-2x0",
    "code-99",
    "code-600",
    "mixed-codes",
    "greylist",
    "no-starttls",
    "starttls-454",
    "starttls-inject",
    "ehlo-500",
    "rcpt2-reject",
    "close-after-body",
    "trickle-greeting",
    "stall-after-354",
    "double-reply",
    "early-reply",
    "bdat-refuse-first",
    "bdat-552",
    "bdat-refuse-middle",
    "bdat-close-after-chunk",
    "reject-421-greeting",
    "reject-421-ehlo",
    "reject-421-auth",
    "reject-421-mail",
    "reject-421-rcpt",
    "reject-421-data",
    "reject-421-eod",
    "reject-450-greeting",
    "reject-450-ehlo",
    "reject-450-auth",
    "reject-450-mail",
    "reject-450-rcpt",
    "reject-450-data",
    "reject-450-eod",
    "reject-550-greeting",
    "reject-550-ehlo",
    "reject-550-auth",
    "reject-550-mail",
    "reject-550-rcpt",
    "reject-550-data",
    "reject-550-eod",
];
