//! Our tokio client (smtp-tokio) as a benchmark process: `sessions`
//! Sessions on tokio tasks, each with `send_many` (or `send` with
//! `mode=one`); with `mode=pool`, `sessions` tasks sharing one
//! `smtp_tokio::Pool` of at most `sessions` sessions, `Pool::send` per
//! message.
use smtp_bench::{Args, die, report, runtime, share};
use smtp_tokio::{Address, Config, Envelope, Options, Pool, PoolConfig, Session, TlsPolicy};
use std::sync::Arc;
use std::time::Instant;

fn check(o: &smtp_tokio::Outcome) {
    if !o.is_delivered() {
        die(&format!("not delivered: {:?}", o.result));
    }
}

async fn connect(port: u16, options: &Options) -> Session {
    Session::connect("127.0.0.1", port, options)
        .await
        .unwrap_or_else(|e| die(&format!("connect: {e}")))
}

fn main() {
    let args = Arc::new(Args::parse());
    let mut config = Config::default();
    if std::env::var_os("BENCH_TLS_OFF").is_some() {
        config.tls = Some(TlsPolicy::Off);
    }
    let options = Arc::new(Options::new(config));
    let from = Address::new(args.from()).unwrap();
    let to: Vec<Address> = args.recipients().iter().map(|r| Address::new(r).unwrap()).collect();
    let envelope = Arc::new(Envelope::new(from, to));
    let body: Arc<Vec<u8>> = Arc::new(if args.stream { Vec::new() } else { args.body() });
    let deadline = args.deadline();
    let rt = runtime(args.sessions);
    let started = Instant::now();
    if args.mode == "pool" {
        let sent = rt.block_on(pooled(args, options, envelope, body, deadline));
        return report(sent, started);
    }
    let sent = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..args.sessions {
            let (args, options, envelope, body) =
                (args.clone(), options.clone(), envelope.clone(), body.clone());
            let mine = share(args.count, args.sessions, i);
            tasks.push(tokio::spawn(async move {
                let mut sent = 0;
                if args.stream {
                    let mut s = connect(args.port, &options).await;
                    let file = tokio::fs::File::open(&args.body_path).await.unwrap();
                    check(&s.send_from(&envelope, file).await.unwrap_or_else(|e| die(&e.to_string())));
                    s.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                    return 1;
                }
                if args.reconnect {
                    while sent < mine && !deadline.passed() {
                        let mut s = connect(args.port, &options).await;
                        check(&s.send(&envelope, &body).await.unwrap_or_else(|e| die(&e.to_string())));
                        s.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                        sent += 1;
                    }
                    return sent;
                }
                let mut s = connect(args.port, &options).await;
                while sent < mine && !deadline.passed() {
                    if args.mode == "one" {
                        check(&s.send(&envelope, &body).await.unwrap_or_else(|e| die(&e.to_string())));
                        sent += 1;
                        continue;
                    }
                    let n = args.batch.min(mine - sent);
                    let outcomes = s
                        .send_many((0..n).map(|_| (&*envelope, &body[..])))
                        .await
                        .unwrap_or_else(|e| die(&e.to_string()));
                    outcomes.iter().for_each(check);
                    sent += outcomes.len();
                }
                s.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                sent
            }));
        }
        let mut sent = 0;
        for t in tasks {
            sent += t.await.unwrap_or_else(|e| die(&e.to_string()));
        }
        sent
    });
    report(sent, started);
}

/// `sessions` tasks sending through one pool of at most `sessions` sessions.
async fn pooled(
    args: Arc<Args>,
    options: Arc<Options>,
    envelope: Arc<Envelope>,
    body: Arc<Vec<u8>>,
    deadline: smtp_bench::Deadline,
) -> usize {
    let mut config = PoolConfig::default();
    config.max_sessions = args.sessions;
    let pool = Pool::new("127.0.0.1", args.port, (*options).clone(), config);
    let mut tasks = Vec::new();
    for i in 0..args.sessions {
        let (pool, envelope, body) = (pool.clone(), envelope.clone(), body.clone());
        let mine = share(args.count, args.sessions, i);
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            while sent < mine && !deadline.passed() {
                check(&pool.send(&envelope, &body[..]).await.unwrap_or_else(|e| die(&e.to_string())));
                sent += 1;
            }
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap_or_else(|e| die(&e.to_string()));
    }
    pool.close().await;
    sent
}
