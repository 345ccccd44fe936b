//! lettre 0.11's blocking `SmtpTransport` as a benchmark process:
//! `send_raw` on a pooled transport; with `reconnect=1` a new
//! `SmtpConnection` per message; with `stream=1` its own streaming path
//! (`SmtpConnection::message_iter` over 64 KiB chunks of the file).
//! `nodelay=1` turns TCP_NODELAY on once the connection is open (lettre
//! has no option for it).
use lettre::Transport;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{PoolConfig, SmtpTransport};
use smtp_bench::{Args, die, nodelay_on_all_sockets, report};
use std::io::Read;
use std::time::{Duration, Instant};

fn main() {
    let args = Args::parse();
    let from: Address = args.from().parse().unwrap();
    let to: Vec<Address> = args.recipients().iter().map(|r| r.parse().unwrap()).collect();
    let envelope = Envelope::new(Some(from.clone()), to.clone()).unwrap();
    let deadline = args.deadline();
    let timeout = Some(Duration::from_secs(60));
    let hello = ClientId::Domain("localhost".into());
    let connect = || {
        let c = SmtpConnection::connect(("127.0.0.1", args.port), timeout, &hello, None, None)
            .unwrap_or_else(|e| die(&format!("connect: {e}")));
        if args.nodelay {
            nodelay_on_all_sockets();
        }
        c
    };
    let started = Instant::now();
    let mut sent = 0;
    if args.stream {
        let mut c = connect();
        c.command(Mail::new(Some(from), vec![])).unwrap_or_else(|e| die(&e.to_string()));
        for t in to {
            c.command(Rcpt::new(t, vec![])).unwrap_or_else(|e| die(&e.to_string()));
        }
        c.command(Data).unwrap_or_else(|e| die(&e.to_string()));
        let mut file = std::fs::File::open(&args.body_path).unwrap_or_else(|e| die(&e.to_string()));
        let mut buf = vec![0u8; 64 * 1024];
        let chunks = std::iter::from_fn(move || match file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => Some(buf[..n].to_vec()),
            Err(e) => die(&e.to_string()),
        });
        c.message_iter(chunks).unwrap_or_else(|e| die(&e.to_string()));
        c.quit().unwrap_or_else(|e| die(&e.to_string()));
        return report(1, started);
    }
    let body = args.body();
    if args.reconnect {
        while sent < args.count && !deadline.passed() {
            let mut c = connect();
            c.send(&envelope, &body).unwrap_or_else(|e| die(&e.to_string()));
            c.quit().unwrap_or_else(|e| die(&e.to_string()));
            sent += 1;
        }
        return report(sent, started);
    }
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(args.port)
        .timeout(timeout)
        .hello_name(hello.clone())
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    // Opens the pooled connection (a NOOP), so TCP_NODELAY can be set on it.
    transport.test_connection().unwrap_or_else(|e| die(&e.to_string()));
    if args.nodelay {
        nodelay_on_all_sockets();
    }
    while sent < args.count && !deadline.passed() {
        transport.send_raw(&envelope, &body).unwrap_or_else(|e| die(&e.to_string()));
        sent += 1;
    }
    report(sent, started);
    transport.shutdown();
}
