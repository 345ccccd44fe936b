//! What `send` prints: the transcript stage by stage, one-line errors with
//! their exit status, per-recipient reports, and the progress bar of
//! `--count`. Every line goes through a [`Redactor`] first, a second line of
//! defence behind the core's own redaction of credentials.

use smtp_blocking::Error;
use smtp_proto::{
    Direction, ErrorKind, Event, Outcome, RecipientResult, ReplyClass, Stage, TransactionError,
};
use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// Exit statuses (sysexits.h).
pub mod exit {
    /// Everything was sent.
    pub const OK: u8 = 0;
    /// The command line is wrong.
    pub const USAGE: u8 = 64;
    /// The message cannot be composed, or an input is unfit.
    pub const DATAERR: u8 = 65;
    /// An input file cannot be read.
    pub const NOINPUT: u8 = 66;
    /// A permanent failure.
    pub const UNAVAILABLE: u8 = 69;
    /// An internal error.
    pub const SOFTWARE: u8 = 70;
    /// The outbox cannot be written.
    pub const CANTCREAT: u8 = 73;
    /// A transient failure: try again later.
    pub const TEMPFAIL: u8 = 75;
    /// The server broke the protocol.
    pub const PROTOCOL: u8 = 76;
    /// Authentication failed, or was refused in plaintext.
    pub const NOPERM: u8 = 77;
    /// Unusable TLS options.
    pub const CONFIG: u8 = 78;
}

/// Replaces every form a secret could take on the wire (itself, its
/// base64, the base64 of an AUTH PLAIN or XOAUTH2 response) with
/// `<redacted>`.
#[derive(Debug, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for these credentials (none: it changes nothing).
    pub fn new(user: Option<&str>, secret: Option<&str>) -> Self {
        let mut needles = Vec::new();
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            let user = user.unwrap_or_default();
            needles.push(secret.to_owned());
            for form in [
                secret.to_owned(),
                format!("\0{user}\0{secret}"),
                format!("{user}\0{user}\0{secret}"),
                format!("user={user}\x01auth=Bearer {secret}\x01\x01"),
            ] {
                needles.push(b64(form.as_bytes()));
            }
        }
        // Longest first, so that no shorter needle breaks a longer one.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Redactor { needles }
    }

    /// The text with every secret replaced.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), "<redacted>"));
            }
        }
        out
    }
}

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    smtp_proto::base64::encode_into(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Where lines go: stdout for results, stderr for errors, both scrubbed.
#[derive(Debug)]
pub struct Printer {
    redactor: Redactor,
    quiet: bool,
    last_stage: Option<Stage>,
}

impl Printer {
    /// A printer; `quiet` keeps everything but errors and warnings off.
    pub fn new(redactor: Redactor, quiet: bool) -> Self {
        Printer {
            redactor,
            quiet,
            last_stage: None,
        }
    }

    /// A result line on stdout (unless quiet).
    pub fn info(&self, line: &str) {
        if !self.quiet {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{}", self.redactor.scrub(line));
        }
    }

    /// An error or warning line on stderr, as `send: ...`.
    pub fn error(&self, line: &str) {
        let _ = writeln!(io::stderr().lock(), "send: {}", self.redactor.scrub(line));
    }

    /// Prints the transcript lines among `events`: a `Stage: Name (n)` line
    /// whenever the stage changes, then the `C:` and `S:` lines.
    pub fn transcript(&mut self, events: impl Iterator<Item = Event>) {
        let mut out = io::stdout().lock();
        for event in events {
            let Event::Transcript(line) = event else {
                continue;
            };
            if self.quiet {
                continue;
            }
            if self.last_stage != Some(line.stage) {
                self.last_stage = Some(line.stage);
                let _ = writeln!(out, "Stage: {}", stage_label(line.stage));
            }
            let who = match line.direction {
                Direction::Client => "C",
                Direction::Server => "S",
            };
            let text = escape(&line.text);
            let _ = writeln!(out, "  {who}: {}", self.redactor.scrub(&text));
        }
    }
}

impl Printer {
    /// After a clean QUIT, when a transcript is being printed: the stage
    /// the session ended at (`Finish`), which has no dialogue line of its
    /// own.
    pub fn finished(&mut self, stage: Stage) {
        if self.quiet || self.last_stage.is_none() || self.last_stage == Some(stage) {
            return;
        }
        let _ = writeln!(io::stdout().lock(), "Stage: {}", stage_label(stage));
        self.last_stage = Some(stage);
    }
}

/// `SetFrom (5)` for the reference walkthrough's stages, the name alone
/// for the others.
pub fn stage_label(stage: Stage) -> String {
    match stage.reference_number() {
        Some(n) => format!("{stage} ({n})"),
        None => stage.to_string(),
    }
}

/// Bytes as text: invalid UTF-8 as `\xNN`, control characters escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

fn class(transient: bool) -> &'static str {
    if transient { "transient" } else { "permanent" }
}

/// A session error as one line, and its exit status.
pub fn session_error(e: &Error) -> (u8, String) {
    match e {
        Error::Smtp { error, cause, .. } => {
            let (code, line) = smtp_error(error);
            match cause {
                Some(cause) => (code, format!("{line}: {cause}")),
                None => (code, line),
            }
        }
        Error::Connect { host, port, source } => (
            exit::TEMPFAIL,
            format!("cannot connect to {host} port {port}: {source} (transient)"),
        ),
        Error::Config(why) => (exit::CONFIG, format!("unusable TLS options: {why}")),
        Error::Rejected(outcome) => {
            let (code, line) = outcome_failure(outcome);
            (code, line)
        }
        other => (exit::SOFTWARE, other.to_string()),
    }
}

/// A session error of the core as one line, and its exit status.
pub fn smtp_error(e: &smtp_proto::Error) -> (u8, String) {
    let transient = e.is_transient();
    let (code, what) = match e.kind() {
        ErrorKind::Rejected(r) => (
            if transient {
                exit::TEMPFAIL
            } else {
                exit::UNAVAILABLE
            },
            format!("the server replied {r}"),
        ),
        ErrorKind::Protocol(p) => (exit::PROTOCOL, format!("protocol error: {p}")),
        ErrorKind::Timeout => (
            exit::TEMPFAIL,
            "no reply from the server before the deadline".to_owned(),
        ),
        ErrorKind::ConnectionClosed => (
            exit::TEMPFAIL,
            "the server closed the connection".to_owned(),
        ),
        ErrorKind::TransportFailed => (exit::TEMPFAIL, "the connection failed".to_owned()),
        ErrorKind::TlsFailed => (exit::UNAVAILABLE, "the TLS handshake failed".to_owned()),
        ErrorKind::TlsUnavailable => (
            exit::UNAVAILABLE,
            "TLS is required but the server does not offer STARTTLS (see --tls)".to_owned(),
        ),
        ErrorKind::AuthRequiresTls => (
            exit::NOPERM,
            "refusing to send credentials over an unencrypted connection \
             (use TLS; --allow-plaintext-auth is for loopback testing only)"
                .to_owned(),
        ),
        ErrorKind::AuthFailed(r) => (
            if r.class() == ReplyClass::Transient {
                exit::TEMPFAIL
            } else {
                exit::NOPERM
            },
            format!("authentication failed: {r}"),
        ),
        ErrorKind::AuthUnavailable => (
            exit::UNAVAILABLE,
            "the server offers no usable AUTH mechanism (see --auth)".to_owned(),
        ),
        ErrorKind::Body(b) => (exit::DATAERR, format!("the message cannot be sent: {b}")),
        ErrorKind::BodySourceFailed => (
            exit::NOINPUT,
            "the message body could not be read".to_owned(),
        ),
        other => (exit::SOFTWARE, format!("{other:?}")),
    };
    let transient = transient || code == exit::TEMPFAIL;
    (
        code,
        format!(
            "{} failure at stage {}: {what}",
            class(transient),
            stage_label(e.stage())
        ),
    )
}

/// True when a refused recipient may be accepted later.
fn recipient_transient(r: &RecipientResult) -> bool {
    r.reply()
        .is_none_or(|reply| reply.class() == ReplyClass::Transient)
}

/// One line per refused recipient, naming it and the server's reply.
pub fn refused_lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .refused()
        .map(|r| {
            let transient = recipient_transient(r);
            match (&r.rcpt_reply, r.reply()) {
                (Some(rcpt), Some(reply)) if rcpt.is_success() => format!(
                    "recipient {} not delivered: {reply} ({})",
                    r.address,
                    class(transient)
                ),
                (_, Some(reply)) => format!(
                    "recipient {} refused: {reply} ({})",
                    r.address,
                    class(transient)
                ),
                (_, None) => format!("recipient {} not tried", r.address),
            }
        })
        .collect()
}

/// The exit status for an outcome: `OK` when every recipient got the
/// message, else by whether the failures may pass.
pub fn outcome_code(outcome: &Outcome) -> u8 {
    match &outcome.result {
        Ok(_) if outcome.refused().next().is_none() => exit::OK,
        Ok(_) => match outcome.refused().all(recipient_transient) {
            true => exit::TEMPFAIL,
            false => exit::UNAVAILABLE,
        },
        Err(e) => outcome_failure_code(e),
    }
}

fn outcome_failure_code(e: &TransactionError) -> u8 {
    let transient = match e {
        TransactionError::NotSent(e) => return smtp_error(e).0,
        other => other.is_transient(),
    };
    if transient {
        exit::TEMPFAIL
    } else {
        exit::UNAVAILABLE
    }
}

/// A message that was not delivered, as one line with its exit status.
pub fn outcome_failure(outcome: &Outcome) -> (u8, String) {
    match &outcome.result {
        Ok(_) => {
            let code = outcome_code(outcome);
            let refused = outcome.refused().count();
            let total = outcome.recipients.len();
            (
                code,
                format!(
                    "message delivered to {} of {total} recipients ({refused} refused, {})",
                    total - refused,
                    class(code == exit::TEMPFAIL)
                ),
            )
        }
        Err(e) => {
            let code = outcome_failure_code(e);
            (
                code,
                format!(
                    "message not delivered: {e} ({})",
                    class(code == exit::TEMPFAIL)
                ),
            )
        }
    }
}

/// The `--count` progress bar on stderr, drawn only on a terminal.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    started: Instant,
    enabled: bool,
    drawn: bool,
}

impl Progress {
    /// A bar for `total` messages, if stderr is a terminal and `wanted`.
    pub fn new(total: u64, wanted: bool) -> Self {
        Progress {
            total,
            started: Instant::now(),
            enabled: wanted && total > 1 && io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Shows `done` of the total.
    pub fn update(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        const WIDTH: u64 = 30;
        let filled = (done.min(self.total) * WIDTH / self.total.max(1)) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled)
        );
        let rate = rate(done, self.started.elapsed());
        let _ = write!(
            io::stderr().lock(),
            "\r[{bar}] {done}/{} {rate:.0} messages/s ",
            self.total
        );
        self.drawn = true;
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(io::stderr().lock());
            self.drawn = false;
        }
    }
}

/// Messages per second (0 when no time has passed).
pub fn rate(messages: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        messages as f64 / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::{Address, Reply, ReplyCode, TransactionId};

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), [text.as_bytes()])
    }

    #[test]
    fn redacts_every_form_of_the_secret() {
        let r = Redactor::new(Some("tester"), Some("s3cret-Pa55word"));
        let plain = b64(b"\0tester\0s3cret-Pa55word");
        let login = b64(b"s3cret-Pa55word");
        for text in [
            "pw s3cret-Pa55word here".to_owned(),
            format!("C: AUTH PLAIN {plain}"),
            format!("C: {login}"),
        ] {
            let out = r.scrub(&text);
            assert!(!out.contains("s3cret") && !out.contains(&plain) && !out.contains(&login));
            assert!(out.contains("<redacted>"), "{out}");
        }
        assert_eq!(
            r.scrub("C: MAIL FROM:<tester@x>"),
            "C: MAIL FROM:<tester@x>"
        );
        assert_eq!(Redactor::new(None, None).scrub("anything"), "anything");
        assert_eq!(Redactor::new(Some("u"), Some("")).scrub("u"), "u");
    }

    #[test]
    fn labels_and_escapes() {
        assert_eq!(stage_label(Stage::SetFrom), "SetFrom (5)");
        assert_eq!(stage_label(Stage::StartTls), "StartTls");
        assert_eq!(escape(b"a\tb\x1b\xff"), "a\\tb\\u{1b}\\xff");
    }

    #[test]
    fn outcomes_to_exit_codes() {
        let rcpt = |addr: &str, r: Reply| RecipientResult {
            address: Address::new(addr).unwrap(),
            rcpt_reply: Some(r),
            delivery_reply: None,
            fate_unknown: false,
        };
        let ok = rcpt("a@x", reply(250, "ok"));
        let gone = rcpt("b@x", reply(550, "5.1.1 no such user"));
        let busy = rcpt("c@x", reply(450, "4.2.1 try later"));
        let outcome = |recipients: Vec<RecipientResult>, result| Outcome {
            id: TransactionId(1),
            recipients,
            result,
            end_of_data_sent: false,
        };
        let accepted = Ok(reply(250, "queued"));
        assert_eq!(
            outcome_code(&outcome(vec![ok.clone()], accepted.clone())),
            0
        );
        let partial = outcome(vec![ok.clone(), gone.clone()], accepted.clone());
        assert_eq!(outcome_code(&partial), exit::UNAVAILABLE);
        let lines = refused_lines(&partial);
        assert_eq!(
            lines,
            ["recipient <b@x> refused: 550 5.1.1 no such user (permanent)"]
        );
        assert!(outcome_failure(&partial).1.contains("1 of 2 recipients"));
        let later = outcome(vec![ok, busy.clone()], accepted);
        assert_eq!(outcome_code(&later), exit::TEMPFAIL);
        let none = outcome(
            vec![busy],
            Err(TransactionError::NoRecipientAccepted { transient: true }),
        );
        assert_eq!(outcome_code(&none), exit::TEMPFAIL);
        let none = outcome(
            vec![gone],
            Err(TransactionError::NoRecipientAccepted { transient: false }),
        );
        let (code, line) = outcome_failure(&none);
        assert_eq!(code, exit::UNAVAILABLE);
        assert_eq!(
            line,
            "message not delivered: no recipient was accepted (permanent)"
        );
    }

    #[test]
    fn rates() {
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(10, Duration::from_secs(2)), 5.0);
    }
}
