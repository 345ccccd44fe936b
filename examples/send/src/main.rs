//! `send`: compose a message and send it over SMTP, in the manner of swaks
//! and msmtp, with the smtp-blocking client driving the sans-IO
//! `smtp-proto` core.
//!
//! ```text
//! cargo run --release --bin send                      # the demo: see below
//! cargo run --release --bin send -- --server smtps://mail.example.org \
//!     --user me --from me@example.org --to you@example.org \
//!     --subject Hi --body 'Hello!' --attach report.pdf  # SMTP_PASSWORD in the environment
//! ```
//!
//! With no `--server`, a capture server ([`capture`]) starts on 127.0.0.1
//! inside this process; the message goes to it through the real client
//! over a real socket, and it stores what it received under `./outbox/`.
//! The dialogue is printed stage by stage, with the reference
//! walkthrough's stage names and numbers (`Stage: SetFrom (5)`).
//!
//! `send --help` lists the options and the exit statuses.

mod capture;
mod cli;
mod compose;
mod dkim;
mod report;

use crate::cli::{Args, Command, Scheme, Secret};
use crate::compose::{Body, Prepared};
use crate::report::{Printer, Progress, Redactor, exit};
use smtp_blocking::{Config, Credentials, Options, Session, Timeouts, TlsPolicy};
use smtp_proto::{Mechanism, Outcome, Protocol, TransactionError};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long to wait for the TCP connection when `--timeout` is not given.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the capture server waits for the client (and for each read)
/// when `--timeout` is not given.
const CAPTURE_PATIENCE: Duration = Duration::from_secs(60);
/// How many copies `--count` queues at once: the core pipelines them; the
/// batches bound memory.
const BATCH: u64 = 64;

fn main() -> ExitCode {
    match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            // A closed stdout is not worth a panic.
            let _ = io::stdout().write_all(cli::USAGE.as_bytes());
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            let version = format!("send (smtp-send) {}\n", env!("CARGO_PKG_VERSION"));
            let _ = io::stdout().write_all(version.as_bytes());
            ExitCode::SUCCESS
        }
        Ok(Command::Send(args)) => ExitCode::from(run(&args)),
        Err(e) => {
            eprintln!("send: {e}\nsend: try 'send --help'");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// A failure to report as one line, with its exit status.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// Sends as `args` say and returns the exit status.
fn run(args: &Args) -> u8 {
    let password = match password(args) {
        Ok(p) => p,
        Err(f) => {
            eprintln!("send: {}", f.message);
            return f.code;
        }
    };
    let redactor = Redactor::new(args.user.as_deref(), password.as_ref().map(Secret::expose));
    let mut printer = Printer::new(redactor, args.quiet);
    match send(args, password, &mut printer) {
        Ok(code) => code,
        Err(f) => {
            printer.error(&f.message);
            f.code
        }
    }
}

/// `--password`, else `SMTP_PASSWORD` when `--user` is given.
fn password(args: &Args) -> Result<Option<Secret>, Failure> {
    if args.user.is_none() {
        return Ok(None);
    }
    if let Some(p) = &args.password {
        return Ok(Some(p.clone()));
    }
    match std::env::var_os("SMTP_PASSWORD") {
        Some(v) if !v.is_empty() => v
            .into_string()
            .map(|s| Some(Secret::new(s)))
            .map_err(|_| Failure::new(exit::USAGE, "SMTP_PASSWORD is not valid UTF-8")),
        _ => Err(Failure::new(
            exit::USAGE,
            "--user needs a password: set SMTP_PASSWORD (or give --password)",
        )),
    }
}

/// Where the session goes: a server from `--server`, or the capture server.
enum Target {
    Remote(cli::Server),
    Capture(capture::CaptureServer),
}

fn send(args: &Args, password: Option<Secret>, printer: &mut Printer) -> Result<u8, Failure> {
    let capture = args.server.is_none();
    let input_failure = |e: compose::InputError| Failure::new(e.exit_code(), e.to_string());
    let signer = dkim::signer(args).map_err(input_failure)?;
    let mut prepared = compose::prepare(args, capture).map_err(input_failure)?;
    if let Some(signer) = &signer {
        prepared = dkim::sign(prepared, signer).map_err(input_failure)?;
        printer.info(&format!(
            "DKIM-signed as d={} s={} ({})",
            signer.domain(),
            signer.selector(),
            signer.key_type()
        ));
    }
    let options = options(args, password, capture)?;

    let target = match &args.server {
        Some(server) => Target::Remote(server.clone()),
        None => {
            let outbox = args
                .outbox
                .clone()
                .unwrap_or_else(|| PathBuf::from("outbox"));
            let server = capture::CaptureServer::start(capture::Settings {
                outbox: outbox.clone(),
                chunking: args.capture_chunking,
                auth: args.user.is_some(),
                // Never less patient than the client.
                patience: args
                    .timeout
                    .map_or(CAPTURE_PATIENCE, |t| t.max(CAPTURE_PATIENCE)),
            })
            .map_err(|e| {
                Failure::new(
                    exit::SOFTWARE,
                    format!("cannot start the capture server: {e}"),
                )
            })?;
            printer.info(&format!(
                "Capture server listening on {}; messages go to {}/",
                server.addr(),
                outbox.display()
            ));
            Target::Capture(server)
        }
    };
    let (host, port) = match &target {
        Target::Remote(s) => (s.host.clone(), s.port),
        Target::Capture(c) => (c.addr().ip().to_string(), c.addr().port()),
    };

    let result = session(&host, port, &options, &prepared, args, printer);
    let mut code = match result {
        Ok(code) => code,
        Err(f) => {
            if let Target::Capture(server) = target {
                let _ = server.finish();
            }
            return Err(f);
        }
    };
    if let Target::Capture(server) = target {
        let capture_code = captured(server.finish(), printer);
        if capture_code != exit::OK {
            code = capture_code;
        }
    }
    Ok(code)
}

/// The client's options from the command line.
fn options(args: &Args, password: Option<Secret>, capture: bool) -> Result<Options, Failure> {
    let mut config = Config::default();
    if let Some(name) = &args.ehlo {
        config.client_name = name.clone();
    }
    config.pipelining = !args.no_pipelining;
    config.chunking = !args.no_chunking;
    config.transcript = args.transcript || (capture && args.count == 1);
    if let Some(t) = args.timeout {
        config.timeouts = Timeouts::uniform(t);
    }
    if let (Some(user), Some(secret)) = (&args.user, password) {
        let credentials = match args.auth {
            Some(Mechanism::XOAuth2 | Mechanism::OAuthBearer) => {
                Credentials::oauth2(user.as_str(), secret.expose())
            }
            _ => Credentials::password(user.as_str(), secret.expose()),
        };
        // A NUL (or XOAUTH2's ^A) would change what the server reads.
        let credentials = credentials
            .map_err(|e| Failure::new(exit::USAGE, format!("--user or SMTP_PASSWORD: {e}")))?;
        config.credentials = Some(credentials);
        config.mechanism = args.auth;
    }
    let scheme = args.server.as_ref().map(|s| s.scheme);
    if scheme == Some(Scheme::Lmtp) {
        config.protocol = Protocol::Lmtp;
    }
    // The capture server is in this process, on loopback, and has no TLS.
    config.allow_plaintext_auth = args.allow_plaintext_auth || capture;
    config.tls = match (args.tls, capture) {
        (Some(policy), _) => Some(policy),
        (None, true) => Some(TlsPolicy::Off),
        // An explicit opt-in to plaintext credentials on loopback: use TLS
        // only if it is offered.
        (None, false) if args.allow_plaintext_auth => Some(TlsPolicy::Opportunistic),
        (None, false) => None,
    };
    let mut options = Options::new(config)
        .connect_timeout(args.timeout.unwrap_or(CONNECT_TIMEOUT))
        .implicit_tls(scheme == Some(Scheme::Smtps));
    if let Some(ca) = &args.ca_file {
        options = options.ca_file(ca).map_err(|e| {
            let (code, line) = report::session_error(&e);
            Failure::new(code, line)
        })?;
    }
    Ok(options)
}

/// Opens the session, sends, quits; returns the exit status.
fn session(
    host: &str,
    port: u16,
    options: &Options,
    prepared: &Prepared,
    args: &Args,
    printer: &mut Printer,
) -> Result<u8, Failure> {
    let mut session = Session::connect(host, port, options).map_err(|e| {
        let (code, line) = report::session_error(&e);
        Failure::new(code, line)
    })?;
    printer.transcript(session.events());
    let sent = if args.count == 1 {
        send_one(&mut session, prepared, printer)?
    } else {
        send_copies(&mut session, prepared, args.count, printer)?
    };
    printer.transcript(session.events());
    // `close` keeps the session, so QUIT and the server's 221 are printed
    // from its events.
    let closed = session.close();
    printer.transcript(session.events());
    match closed {
        Ok(()) if !sent.broken => {
            printer.finished(session.client().stage());
            Ok(sent.code)
        }
        Ok(()) => Err(Failure::new(
            exit::TEMPFAIL,
            "the session ended before every message was sent (transient)",
        )),
        Err(e) => {
            let (quit_code, line) = report::session_error(&e);
            if sent.code == exit::OK || sent.broken {
                // Why the session broke (kept by the session until now),
                // or a failed QUIT after everything else went well.
                return Err(Failure::new(quit_code, line));
            }
            printer.error(&line);
            Ok(sent.code)
        }
    }
}

/// What sending did.
struct Sent {
    /// The exit status for the messages' outcomes.
    code: u8,
    /// The session failed midway; `quit` returns why.
    broken: bool,
}

fn send_one(
    session: &mut Session,
    prepared: &Prepared,
    printer: &mut Printer,
) -> Result<Sent, Failure> {
    let envelope = &prepared.envelope;
    let result = match &prepared.body {
        Body::Memory(bytes) => session.send(envelope, bytes),
        Body::File(path) => {
            let file = open(path)?;
            session.send_from(envelope, file)
        }
    };
    printer.transcript(session.events());
    let outcome = result.map_err(|e| {
        let (code, line) = report::session_error(&e);
        Failure::new(code, line)
    })?;
    Ok(Sent {
        code: report_outcome(&outcome, prepared, printer),
        broken: false,
    })
}

/// Reports one message's outcome; returns its exit status.
fn report_outcome(outcome: &Outcome, prepared: &Prepared, printer: &Printer) -> u8 {
    for line in report::refused_lines(outcome) {
        printer.error(&line);
    }
    if let Ok(reply) = &outcome.result {
        let id = prepared
            .message_id
            .as_ref()
            .map(|id| format!(" (Message-ID <{id}>)"))
            .unwrap_or_default();
        printer.info(&format!("Message accepted: {reply}{id}"));
    }
    let code = report::outcome_code(outcome);
    if code != exit::OK {
        printer.error(&report::outcome_failure(outcome).1);
    }
    code
}

/// `--count N`: N copies on this session, queued in batches that the core
/// pipelines; prints the rate.
fn send_copies(
    session: &mut Session,
    prepared: &Prepared,
    count: u64,
    printer: &mut Printer,
) -> Result<Sent, Failure> {
    let envelope = &prepared.envelope;
    // A file is read once, and every copy sent from memory.
    let file = match &prepared.body {
        Body::File(path) => read(path)?,
        Body::Memory(_) => Vec::new(),
    };
    let mut progress = Progress::new(count, true);
    let started = Instant::now();
    let (mut done, mut delivered) = (0u64, 0u64);
    let mut first_problem: Option<Outcome> = None;
    let mut problems = 0u64;
    let mut broken = false;
    while done < count && !broken {
        let n = BATCH.min(count - done);
        let batch = usize::try_from(n).unwrap_or(1);
        // The bar moves with each message's outcome, as soon as it is known.
        let mut finished = done;
        let each = |_: &Outcome| {
            finished += 1;
            progress.update(finished);
        };
        let sent = match &prepared.body {
            Body::Memory(bytes) => {
                session.send_many_with(std::iter::repeat_n((envelope, &bytes[..]), batch), each)
            }
            Body::File(_) => {
                session.send_many_with(std::iter::repeat_n((envelope, &file[..]), batch), each)
            }
        };
        printer.transcript(session.events());
        let outcomes = match sent {
            Ok(o) => o,
            Err(e) => {
                progress.finish();
                let (code, line) = report::session_error(&e);
                return Err(Failure::new(code, line));
            }
        };
        for outcome in outcomes {
            if matches!(outcome.result, Err(TransactionError::NotSent(_))) {
                broken = true;
                continue;
            }
            if outcome.is_delivered() {
                delivered += 1;
            }
            if report::outcome_code(&outcome) != exit::OK {
                problems += 1;
                first_problem.get_or_insert(outcome);
            }
        }
        done += n;
        progress.update(done);
    }
    progress.finish();
    let elapsed = started.elapsed();
    printer.info(&format!(
        "{delivered} of {count} messages accepted in {:.3} s on one session: {:.1} messages/s",
        elapsed.as_secs_f64(),
        report::rate(delivered, elapsed)
    ));
    let mut code = exit::OK;
    if let Some(outcome) = &first_problem {
        code = report_outcome(outcome, prepared, printer);
        if problems > 1 {
            printer.error(&format!(
                "{} more messages had the same or other problems",
                problems - 1
            ));
        }
    }
    if broken {
        printer.error(&format!(
            "the session failed with {} of {count} messages not sent",
            count - delivered - problems
        ));
    }
    Ok(Sent { code, broken })
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            exit::NOINPUT,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

fn open(path: &std::path::Path) -> Result<File, Failure> {
    File::open(path).map_err(|e| {
        Failure::new(
            exit::NOINPUT,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// Prints where the capture server stored what it received; returns an
/// exit status for its problems.
fn captured(report: capture::Report, printer: &Printer) -> u8 {
    let mut code = exit::OK;
    if let Some(e) = &report.error {
        printer.error(&format!("capture server: {e}"));
    }
    match &report.captured[..] {
        [] => {}
        [one] => printer.info(&format!(
            "Stored {} ({} octets, from <{}> to {})",
            one.path.display(),
            one.octets,
            one.from,
            one.to
                .iter()
                .map(|t| format!("<{t}>"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        [first, rest @ ..] => printer.info(&format!(
            "Stored {} and {} more in {}",
            first.path.display(),
            rest.len(),
            first
                .path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )),
    }
    if let Some(e) = &report.store_failed {
        printer.error(&format!("capture server: {e}"));
        code = exit::CANTCREAT;
    }
    code
}
