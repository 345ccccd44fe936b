//! The command line: options parsed into [`Args`], with `--server` URLs,
//! TLS policies, timeouts and counts checked here so that every usage
//! mistake is reported before anything is read or sent.

use smtp_proto::message::HeaderField;
use smtp_proto::{ClientName, Mechanism, TlsPolicy};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The help text of `send --help`.
pub const USAGE: &str = "\
send: compose a message and send it over SMTP.

Usage: send [OPTIONS] [RECIPIENT...]

With no --server, a capture server is started inside this process on
127.0.0.1, the message goes to it through the real client and a real socket,
and what it received is stored under ./outbox/ (the dialogue is shown).

Server:
  --server URL            smtps://HOST[:465]  implicit TLS
                          smtp://HOST[:587]   STARTTLS as --tls says
                          lmtp://HOST[:24]    LMTP (RFC 2033)
                          HOST[:PORT]         same as smtp://
  --tls POLICY            required | opportunistic | off (default: required
                          when credentials are given, else opportunistic)
  --ca-file PEM           also trust the CA certificates in this PEM file
  --user NAME             authenticate as NAME
  --password PASS         the password (better: set SMTP_PASSWORD instead, so
                          it does not show in the process list)
  --auth MECH             plain | login | scram-sha-256 | scram-sha-256-plus |
                          xoauth2 | oauthbearer (default: the best offered,
                          SCRAM first; with xoauth2 and oauthbearer the
                          password is the OAuth2 token)
  --allow-plaintext-auth  for loopback and testing only: allow credentials on
                          an unencrypted connection (refused unless the
                          server is 127.0.0.0/8, ::1 or localhost)
  --ehlo NAME             the name sent in EHLO (default: localhost)
  --timeout SECONDS       one deadline for every stage and for connecting
                          (default: RFC 5321's per stage, 30 s to connect)
  --no-pipelining         never pipeline commands
  --no-chunking           never use BDAT

Envelope and message:
  --from ADDRESS          sender (\"Name <addr>\" gives a display name)
  --to ADDRESS            recipient (repeatable; bare arguments count too)
  --cc ADDRESS            copy recipient (repeatable)
  --bcc ADDRESS           blind recipient: envelope only (repeatable)
  --subject TEXT          the subject
  --body TEXT             the plain-text body
  --body-file FILE        the plain-text body from a UTF-8 file (- for stdin)
  --html-file FILE        an HTML alternative from a UTF-8 file
  --attach FILE           attach a file (repeatable; the content type is
                          guessed from its extension)
  --inline FILE           a file (an image, say) shown inside the HTML
                          (repeatable; needs --html-file). Its Content-ID is
                          its file name, so the HTML refers to logo.png as
                          <img src=\"cid:logo.png\">; the name may hold only
                          ASCII letters, digits and -._~+=
  --header 'NAME: VALUE'  add a header field of your own (repeatable), such
                          as 'X-Mailer: send'; the fields this command
                          writes itself (From, Subject, Content-Type, ...)
                          are refused
  --data FILE             send this ready RFC 5322 message as it is (- for
                          stdin); the envelope comes from --from/--to/--cc/--bcc
  --count N               send N copies on one session, pipelined (progress
                          on stderr when it is a terminal, then messages/s)

DKIM signing (give all three, or none):
  --dkim-key PEM          sign with this private key: RSA (2048 to 4096 bits)
                          or Ed25519, PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1
                          (BEGIN RSA PRIVATE KEY)
  --dkim-selector NAME    the selector (s=): the public key is published at
                          NAME._domainkey.DOMAIN
  --dkim-domain DOMAIN    the signing domain (d=)
  The message is signed as it is sent (CRLF line ends), relaxed/relaxed,
  over From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type,
  In-Reply-To and References, those it has.

Output:
  --transcript            print the dialogue, stage by stage (credentials are
                          never shown); on by default with the capture server
  --quiet                 print only errors
  -h, --help              this text
  -V, --version           the version

Capture server (no --server):
  --outbox DIR            where received messages are stored (default: outbox)
  --capture-chunking      also advertise CHUNKING, so the client sends BDAT
  With --user, it offers AUTH and takes any credentials (loopback only).
  Defaults: from you@example.org to friend@example.org, with a subject and
  a short body, unless given.

Exit status:
   0  sent (every recipient accepted)
  64  usage error              65  the message cannot be composed or signed
  66  an input file (or the --dkim-key) cannot be read
  69  permanent failure (5yz reply, TLS failure, a recipient refused)
  70  internal error           73  the outbox cannot be written
  75  transient failure (4yz reply, timeout, connection refused or lost)
  76  the server broke the protocol
  77  authentication failed, or credentials would have crossed in plaintext
  78  unusable TLS options (e.g. --ca-file)
";

/// The most copies `--count` accepts.
pub const MAX_COUNT: u64 = 10_000_000;
/// The longest `--timeout` accepted: one day.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
    /// Send mail.
    Send(Box<Args>),
}

/// Which protocol and TLS mode a `--server` URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `smtp://`: plaintext, upgraded with STARTTLS as `--tls` says.
    Smtp,
    /// `smtps://`: TLS from the first byte.
    Smtps,
    /// `lmtp://`: LMTP, STARTTLS as `--tls` says.
    Lmtp,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Smtp => 587,
            Scheme::Smtps => 465,
            Scheme::Lmtp => 24,
        }
    }
}

/// A server to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The protocol and TLS mode.
    pub scheme: Scheme,
    /// The host name or IP address (without brackets for IPv6).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Server {
    /// True when the host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Smtp => "smtp",
            Scheme::Smtps => "smtps",
            Scheme::Lmtp => "lmtp",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Everything `send` was told.
#[derive(Debug, Default)]
pub struct Args {
    /// `--server`; `None` means the embedded capture server.
    pub server: Option<Server>,
    /// `--user`.
    pub user: Option<String>,
    /// `--password` (never printed; `SMTP_PASSWORD` is read elsewhere).
    pub password: Option<Secret>,
    /// `--auth`.
    pub auth: Option<Mechanism>,
    /// `--from`.
    pub from: Option<String>,
    /// `--to` and bare arguments.
    pub to: Vec<String>,
    /// `--cc`.
    pub cc: Vec<String>,
    /// `--bcc`.
    pub bcc: Vec<String>,
    /// `--subject`.
    pub subject: Option<String>,
    /// `--body`.
    pub body: Option<String>,
    /// `--body-file`.
    pub body_file: Option<PathBuf>,
    /// `--html-file`.
    pub html_file: Option<PathBuf>,
    /// `--attach`, in order.
    pub attach: Vec<PathBuf>,
    /// `--inline`, in order.
    pub inline: Vec<PathBuf>,
    /// `--header`, checked, in order.
    pub headers: Vec<HeaderField>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--tls`.
    pub tls: Option<TlsPolicy>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--count` (1 unless given).
    pub count: u64,
    /// `--ehlo`.
    pub ehlo: Option<ClientName>,
    /// `--no-pipelining`.
    pub no_pipelining: bool,
    /// `--no-chunking`.
    pub no_chunking: bool,
    /// `--transcript`.
    pub transcript: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--allow-plaintext-auth`.
    pub allow_plaintext_auth: bool,
    /// `--outbox`.
    pub outbox: Option<PathBuf>,
    /// `--capture-chunking`.
    pub capture_chunking: bool,
    /// `--dkim-key`.
    pub dkim_key: Option<PathBuf>,
    /// `--dkim-selector`.
    pub dkim_selector: Option<String>,
    /// `--dkim-domain`.
    pub dkim_domain: Option<String>,
}

/// A password that never prints: `Debug` shows `<redacted>`.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    /// The secret itself, for the credentials.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A mistake on the command line (exit status 64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut a = Args {
        count: 1,
        ..Args::default()
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("server") => a.server = Some(parse_server(&text(&mut parser, "--server")?)?),
            Long("user") => a.user = Some(text(&mut parser, "--user")?),
            Long("password") => {
                // Never echo the value, even when it is not UTF-8.
                let value = parser.value()?;
                let password = value
                    .into_string()
                    .map_err(|_| usage("the value of --password is not valid UTF-8"))?;
                a.password = Some(Secret::new(password));
            }
            Long("auth") => a.auth = Some(parse_mechanism(&text(&mut parser, "--auth")?)?),
            Long("from") => a.from = Some(text(&mut parser, "--from")?),
            Long("to") => a.to.push(text(&mut parser, "--to")?),
            Long("cc") => a.cc.push(text(&mut parser, "--cc")?),
            Long("bcc") => a.bcc.push(text(&mut parser, "--bcc")?),
            Long("subject") => a.subject = Some(text(&mut parser, "--subject")?),
            Long("body") => a.body = Some(text(&mut parser, "--body")?),
            Long("body-file") => a.body_file = Some(parser.value()?.into()),
            Long("html-file") => a.html_file = Some(parser.value()?.into()),
            Long("attach") => a.attach.push(parser.value()?.into()),
            Long("inline") => a.inline.push(parser.value()?.into()),
            Long("header") => a
                .headers
                .push(parse_header(&text(&mut parser, "--header")?)?),
            Long("data") => a.data = Some(parser.value()?.into()),
            Long("ca-file") => a.ca_file = Some(parser.value()?.into()),
            Long("tls") => a.tls = Some(parse_tls(&text(&mut parser, "--tls")?)?),
            Long("timeout") => a.timeout = Some(parse_timeout(&text(&mut parser, "--timeout")?)?),
            Long("count") => a.count = parse_count(&text(&mut parser, "--count")?)?,
            Long("ehlo") => {
                let name = text(&mut parser, "--ehlo")?;
                let checked = ClientName::new(&name)
                    .map_err(|e| usage(format!("invalid --ehlo name {name:?}: {e}")))?;
                a.ehlo = Some(checked);
            }
            Long("no-pipelining") => a.no_pipelining = true,
            Long("no-chunking") => a.no_chunking = true,
            Long("transcript") => a.transcript = true,
            Short('q') | Long("quiet") => a.quiet = true,
            Long("allow-plaintext-auth") => a.allow_plaintext_auth = true,
            Long("outbox") => a.outbox = Some(parser.value()?.into()),
            Long("capture-chunking") => a.capture_chunking = true,
            Long("dkim-key") => a.dkim_key = Some(parser.value()?.into()),
            Long("dkim-selector") => a.dkim_selector = Some(text(&mut parser, "--dkim-selector")?),
            Long("dkim-domain") => a.dkim_domain = Some(text(&mut parser, "--dkim-domain")?),
            Value(v) => a.to.push(
                v.into_string()
                    .map_err(|v| usage(format!("recipient {v:?} is not valid UTF-8")))?,
            ),
            _ => return Err(arg.unexpected().into()),
        }
    }
    check(&a)?;
    Ok(Command::Send(Box::new(a)))
}

/// Checks that the options fit together.
fn check(a: &Args) -> Result<(), UsageError> {
    if a.body.is_some() && a.body_file.is_some() {
        return Err(usage("give --body or --body-file, not both"));
    }
    if a.data.is_some() {
        let composed = a.subject.is_some()
            || a.body.is_some()
            || a.body_file.is_some()
            || a.html_file.is_some()
            || !a.attach.is_empty()
            || !a.inline.is_empty()
            || !a.headers.is_empty();
        if composed {
            return Err(usage(
                "--data sends a ready message: it cannot be combined with \
                 --subject, --body, --body-file, --html-file, --attach, --inline or --header",
            ));
        }
    }
    if !a.inline.is_empty() && a.html_file.is_none() {
        return Err(usage(
            "--inline needs --html-file: only HTML can refer to an inline part",
        ));
    }
    let dkim = [
        ("--dkim-key", a.dkim_key.is_some()),
        ("--dkim-selector", a.dkim_selector.is_some()),
        ("--dkim-domain", a.dkim_domain.is_some()),
    ];
    if dkim.iter().any(|(_, given)| *given) {
        let missing: Vec<&str> = dkim.iter().filter(|(_, g)| !g).map(|(o, _)| *o).collect();
        if !missing.is_empty() {
            return Err(usage(format!(
                "DKIM signing needs --dkim-key, --dkim-selector and --dkim-domain together; missing {}",
                missing.join(" and ")
            )));
        }
    }
    if a.password.is_some() && a.user.is_none() {
        return Err(usage("--password needs --user"));
    }
    if a.auth.is_some() && a.user.is_none() {
        return Err(usage("--auth needs --user"));
    }
    match &a.server {
        Some(server) => {
            if a.from.is_none() {
                return Err(usage("--from is needed with --server"));
            }
            if a.to.is_empty() && a.cc.is_empty() && a.bcc.is_empty() {
                return Err(usage(
                    "at least one recipient (--to, --cc or --bcc) is needed with --server",
                ));
            }
            if server.scheme == Scheme::Smtps
                && matches!(a.tls, Some(p) if p != TlsPolicy::Required)
            {
                return Err(usage(
                    "smtps:// is always encrypted: --tls can only be 'required' with it",
                ));
            }
            if a.allow_plaintext_auth && !server.is_loopback() {
                return Err(usage(format!(
                    "--allow-plaintext-auth is for loopback and testing only, and {} is not a loopback address",
                    server.host
                )));
            }
            if a.outbox.is_some() || a.capture_chunking {
                return Err(usage(
                    "--outbox and --capture-chunking are for the capture server (no --server)",
                ));
            }
        }
        None => {
            if a.ca_file.is_some() {
                return Err(usage(
                    "--ca-file needs --server (the capture server speaks no TLS)",
                ));
            }
        }
    }
    Ok(())
}

fn text(parser: &mut lexopt::Parser, option: &str) -> Result<String, UsageError> {
    parser
        .value()?
        .into_string()
        .map_err(|v| usage(format!("the value of {option} is not valid UTF-8: {v:?}")))
}

/// Parses `--server`: `scheme://host[:port][/]` or `host[:port]`.
pub fn parse_server(url: &str) -> Result<Server, UsageError> {
    let bad = |why: &str| usage(format!("invalid --server {url:?}: {why}"));
    let (scheme, rest) = match url.split_once("://") {
        Some((s, rest)) => {
            let scheme = match s.to_ascii_lowercase().as_str() {
                "smtp" => Scheme::Smtp,
                "smtps" => Scheme::Smtps,
                "lmtp" => Scheme::Lmtp,
                _ => return Err(bad("the scheme must be smtp, smtps or lmtp")),
            };
            (scheme, rest)
        }
        None => (Scheme::Smtp, url),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('@') {
        return Err(bad(
            "credentials do not belong in the URL; use --user and SMTP_PASSWORD",
        ));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(bad("a server URL has no path, query or fragment"));
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' around an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("expected ':' and a port after ']'"))?,
            ),
        };
        (host, port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(bad("write an IPv6 address in brackets, as [::1]:25"));
            }
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if host
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'%')
    {
        return Err(bad("the host contains a forbidden character"));
    }
    let port = match port {
        None => scheme.default_port(),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
    };
    Ok(Server {
        scheme,
        host: host.to_owned(),
        port,
    })
}

/// Parses `--header 'Name: value'` into a checked field (the value
/// trimmed).
pub fn parse_header(s: &str) -> Result<HeaderField, UsageError> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| usage(format!("invalid --header {s:?}: write it as 'Name: value'")))?;
    HeaderField::new(name, value.trim()).map_err(|e| usage(format!("invalid --header {s:?}: {e}")))
}

/// Parses `--tls`.
pub fn parse_tls(s: &str) -> Result<TlsPolicy, UsageError> {
    match s.to_ascii_lowercase().as_str() {
        "required" => Ok(TlsPolicy::Required),
        "opportunistic" => Ok(TlsPolicy::Opportunistic),
        "off" => Ok(TlsPolicy::Off),
        _ => Err(usage(format!(
            "invalid --tls {s:?}: use required, opportunistic or off"
        ))),
    }
}

/// Parses `--auth`.
pub fn parse_mechanism(s: &str) -> Result<Mechanism, UsageError> {
    Mechanism::from_name(s.as_bytes()).ok_or_else(|| {
        usage(format!(
            "invalid --auth {s:?}: use plain, login, scram-sha-256, scram-sha-256-plus, \
             xoauth2 or oauthbearer"
        ))
    })
}

/// Parses `--timeout`: seconds, fractions allowed, more than zero and at
/// most a day.
pub fn parse_timeout(s: &str) -> Result<Duration, UsageError> {
    let bad = || {
        usage(format!(
            "invalid --timeout {s:?}: give seconds, more than 0 and at most 86400"
        ))
    };
    let secs: f64 = s.trim().parse().map_err(|_| bad())?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT.as_secs_f64() {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Parses `--count`: 1 to [`MAX_COUNT`].
pub fn parse_count(s: &str) -> Result<u64, UsageError> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(usage(format!(
            "invalid --count {s:?}: give a number from 1 to {MAX_COUNT}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, UsageError> {
        parse(list.iter().map(OsString::from))
    }

    fn send(list: &[&str]) -> Box<Args> {
        match args(list) {
            Ok(Command::Send(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn server_urls() {
        let s = parse_server("smtps://mail.example.org").unwrap();
        assert_eq!(
            (s.scheme, s.host.as_str(), s.port),
            (Scheme::Smtps, "mail.example.org", 465)
        );
        let s = parse_server("smtp://mail.example.org:2525/").unwrap();
        assert_eq!((s.scheme, s.port), (Scheme::Smtp, 2525));
        assert_eq!(parse_server("mail.example.org").unwrap().port, 587);
        assert_eq!(parse_server("127.0.0.1:25").unwrap().port, 25);
        let s = parse_server("lmtp://[::1]:24").unwrap();
        assert_eq!(
            (s.scheme, s.host.as_str(), s.port),
            (Scheme::Lmtp, "::1", 24)
        );
        assert!(s.is_loopback());
        assert_eq!(s.to_string(), "lmtp://[::1]:24");
        assert!(parse_server("smtp://[::1]").unwrap().is_loopback());
        assert!(parse_server("localhost").unwrap().is_loopback());
        assert!(!parse_server("mail.example.org").unwrap().is_loopback());
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x:0",
            "smtp://x:99999",
            "smtp://x:port",
            "smtp://user:pw@x",
            "smtp://x/path",
            "::1",
            "smtp://[::1",
            "smtp://[::1]25",
            "smtp://a b",
            "smtp://a\r\nb",
        ] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
        // The error about credentials in the URL does not repeat them... it
        // cannot avoid showing the URL given, but says where they belong.
        let e = parse_server("smtp://u:pw@x").unwrap_err();
        assert!(e.0.contains("SMTP_PASSWORD"));
    }

    #[test]
    fn options_and_checks() {
        let a = send(&[
            "--server",
            "smtp://127.0.0.1:2525",
            "--from",
            "a@example.org",
            "b@example.org",
            "--to=c@example.org",
            "--count",
            "100",
            "--timeout",
            "2.5",
            "--tls",
            "off",
        ]);
        assert_eq!(a.to, ["b@example.org", "c@example.org"]);
        assert_eq!(a.count, 100);
        assert_eq!(a.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(a.tls, Some(TlsPolicy::Off));
        let a = send(&[
            "--dkim-key",
            "k.pem",
            "--dkim-domain",
            "example.org",
            "--dkim-selector",
            "mail",
        ]);
        assert_eq!(a.dkim_key, Some(PathBuf::from("k.pem")));
        assert_eq!(
            (a.dkim_domain.as_deref(), a.dkim_selector.as_deref()),
            (Some("example.org"), Some("mail"))
        );
        let e = args(&["--dkim-domain", "example.org"]).unwrap_err();
        assert!(
            e.0.contains("missing --dkim-key and --dkim-selector"),
            "{e}"
        );
        assert!(matches!(args(&["--help", "--bogus"]), Ok(Command::Help)));
        assert!(matches!(args(&["-V"]), Ok(Command::Version)));
        assert_eq!(send(&[]).count, 1);
        for bad in [
            &["--bogus"][..],
            &["--count", "0"],
            &["--count", "x"],
            &["--timeout", "0"],
            &["--timeout", "-1"],
            &["--timeout", "NaN"],
            &["--timeout", "1e9"],
            &["--tls", "maybe"],
            &["--auth", "cram-md5", "--user", "u"],
            &["--ehlo", "bad name"],
            &["--password", "x"],
            &["--body", "x", "--body-file", "f"],
            &["--data", "f", "--subject", "s"],
            &["--server", "smtp://x", "--to", "a@b"],
            &["--server", "smtp://x", "--from", "a@b"],
            &[
                "--server",
                "smtps://x",
                "--from",
                "a@b",
                "--to",
                "c@d",
                "--tls",
                "off",
            ],
            &[
                "--server",
                "smtp://mail.example.org",
                "--from",
                "a@b",
                "--to",
                "c@d",
                "--allow-plaintext-auth",
            ],
            &[
                "--server", "smtp://x", "--from", "a@b", "--to", "c@d", "--outbox", "o",
            ],
            &["--ca-file", "ca.pem"],
            &["--no-chunking=yes"],
            &["--dkim-key", "k.pem"],
            &["--dkim-key", "k.pem", "--dkim-selector", "s"],
            &["--dkim-selector", "s", "--dkim-domain", "example.org"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_options() {
        let a = send(&[
            "--header",
            "X-Mailer: send",
            "--header=List-Id:   <list.example.org>  ",
            "--header",
            "X-Empty:",
        ]);
        let fields: Vec<(&str, &str)> = a.headers.iter().map(|f| (f.name(), f.value())).collect();
        assert_eq!(
            fields,
            [
                ("X-Mailer", "send"),
                ("List-Id", "<list.example.org>"),
                ("X-Empty", "")
            ]
        );
        for (bad, why) in [
            ("X-Mailer send", "write it as 'Name: value'"),
            ("X Mailer: send", "invalid header field name \"X Mailer\""),
            (": send", "invalid header field name \"\""),
            (
                "subject: hi",
                "the subject header field is set by the builder",
            ),
            (
                "Content-Type: text/html",
                "the Content-Type header field is set",
            ),
            (
                "X-A: b\r\nBcc: c@d",
                "header field value contains the control character '\\r'",
            ),
        ] {
            let e = args(&["--header", bad]).unwrap_err();
            assert!(e.0.starts_with("invalid --header "), "{e}");
            assert!(e.0.contains(why), "{bad:?}: {e}");
            assert!(!e.0.contains('\n'), "one line: {e:?}");
        }
    }

    #[test]
    fn inline_options() {
        let a = send(&[
            "--html-file",
            "p.html",
            "--inline",
            "a.png",
            "--inline",
            "b.gif",
        ]);
        assert_eq!(a.inline, [PathBuf::from("a.png"), PathBuf::from("b.gif")]);
        let e = args(&["--inline", "a.png"]).unwrap_err();
        assert!(e.0.contains("--inline needs --html-file"), "{e}");
        let e = args(&["--data", "m.eml", "--inline", "a.png", "--html-file", "p"]).unwrap_err();
        assert!(e.0.starts_with("--data sends a ready message"), "{e}");
        let e = args(&["--data", "m.eml", "--header", "X-A: b"]).unwrap_err();
        assert!(e.0.starts_with("--data sends a ready message"), "{e}");
    }

    #[test]
    fn password_never_shows() {
        let a = send(&["--user", "me", "--password", "hunter2-secret"]);
        assert_eq!(a.password.as_ref().unwrap().expose(), "hunter2-secret");
        assert!(!format!("{a:?}").contains("hunter2"));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let bad = OsString::from_vec(b"hunter2\xff".to_vec());
            let e = parse([
                OsString::from("--user"),
                "u".into(),
                "--password".into(),
                bad,
            ])
            .unwrap_err();
            assert!(!e.0.contains("hunter2"), "{e}");
        }
    }
}
