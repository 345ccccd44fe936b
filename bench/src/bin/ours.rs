//! Our blocking client (smtp-blocking) as a benchmark process. See the
//! crate docs for the arguments.
use smtp_bench::{Args, die, report};
use smtp_blocking::{Address, Config, Envelope, Options, Session, TlsPolicy};
use std::time::Instant;

fn main() {
    let args = Args::parse();
    let mut config = Config::default();
    if std::env::var_os("BENCH_TLS_OFF").is_some() {
        config.tls = Some(TlsPolicy::Off);
    }
    if std::env::var_os("BENCH_NO_CHUNKING").is_some() {
        config.chunking = false;
    }
    let options = Options::new(config);
    let from = Address::new(args.from()).unwrap();
    let to: Vec<Address> = args.recipients().iter().map(|r| Address::new(r).unwrap()).collect();
    let envelope = Envelope::new(from, to);
    let deadline = args.deadline();
    let connect = || {
        Session::connect("127.0.0.1", args.port, &options)
            .unwrap_or_else(|e| die(&format!("connect: {e}")))
    };
    let check = |o: &smtp_blocking::Outcome| {
        if !o.is_delivered() {
            die(&format!("not delivered: {:?}", o.result));
        }
    };
    let started = Instant::now();
    let mut sent = 0;
    if args.stream {
        let mut s = connect();
        let file = std::fs::File::open(&args.body_path).unwrap_or_else(|e| die(&e.to_string()));
        check(&s.send_from(&envelope, file).unwrap_or_else(|e| die(&e.to_string())));
        sent = 1;
        s.quit().unwrap_or_else(|e| die(&e.to_string()));
        return report(sent, started);
    }
    let body = args.body();
    if args.reconnect {
        while sent < args.count && !deadline.passed() {
            let mut s = connect();
            check(&s.send(&envelope, &body).unwrap_or_else(|e| die(&e.to_string())));
            s.quit().unwrap_or_else(|e| die(&e.to_string()));
            sent += 1;
        }
        return report(sent, started);
    }
    let mut s = connect();
    while sent < args.count && !deadline.passed() {
        if args.mode == "one" {
            check(&s.send(&envelope, &body).unwrap_or_else(|e| die(&e.to_string())));
            sent += 1;
            continue;
        }
        let n = args.batch.min(args.count - sent);
        let outcomes = s
            .send_many((0..n).map(|_| (&envelope, &body[..])))
            .unwrap_or_else(|e| die(&e.to_string()));
        outcomes.iter().for_each(check);
        sent += outcomes.len();
    }
    s.quit().unwrap_or_else(|e| die(&e.to_string()));
    report(sent, started);
}
