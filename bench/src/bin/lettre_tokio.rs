//! lettre 0.11's `AsyncSmtpTransport<Tokio1Executor>` as a benchmark
//! process: `send_raw` on a pooled transport (pool size = `sessions`, one
//! task per session); with `reconnect=1` a new `AsyncSmtpConnection` per
//! message; with `stream=1` `AsyncSmtpConnection::message_iter` over 64 KiB
//! chunks. `nodelay=1` turns TCP_NODELAY on once connections are open.
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};
use smtp_bench::{Args, die, nodelay_on_all_sockets, report, runtime, share};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args = Arc::new(Args::parse());
    let from: Address = args.from().parse().unwrap();
    let to: Vec<Address> = args.recipients().iter().map(|r| r.parse().unwrap()).collect();
    let envelope = Arc::new(Envelope::new(Some(from.clone()), to.clone()).unwrap());
    let body: Arc<Vec<u8>> = Arc::new(if args.stream { Vec::new() } else { args.body() });
    let deadline = args.deadline();
    let timeout = Some(Duration::from_secs(60));
    let hello = ClientId::Domain("localhost".into());
    let rt = runtime(args.sessions);
    let started = Instant::now();
    let sent = rt.block_on(async move {
        let connect = move |args: Arc<Args>, hello: ClientId| async move {
            let c = AsyncSmtpConnection::connect_tokio1(("127.0.0.1", args.port), timeout, &hello, None, None)
                .await
                .unwrap_or_else(|e| die(&format!("connect: {e}")));
            if args.nodelay {
                nodelay_on_all_sockets();
            }
            c
        };
        if args.stream {
            let mut c = connect(args.clone(), hello).await;
            c.command(Mail::new(Some(from), vec![])).await.unwrap_or_else(|e| die(&e.to_string()));
            for t in to {
                c.command(Rcpt::new(t, vec![])).await.unwrap_or_else(|e| die(&e.to_string()));
            }
            c.command(Data).await.unwrap_or_else(|e| die(&e.to_string()));
            let mut file = std::fs::File::open(&args.body_path).unwrap_or_else(|e| die(&e.to_string()));
            let mut buf = vec![0u8; 64 * 1024];
            let chunks = std::iter::from_fn(move || match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => Some(buf[..n].to_vec()),
                Err(e) => die(&e.to_string()),
            });
            c.message_iter(chunks).await.unwrap_or_else(|e| die(&e.to_string()));
            c.quit().await.unwrap_or_else(|e| die(&e.to_string()));
            return 1;
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(args.port)
            .timeout(timeout)
            .hello_name(hello.clone())
            .pool_config(PoolConfig::new().max_size(args.sessions as u32))
            .build();
        if !args.reconnect {
            transport.test_connection().await.unwrap_or_else(|e| die(&e.to_string()));
            if args.nodelay {
                nodelay_on_all_sockets();
            }
        }
        let mut tasks = Vec::new();
        for i in 0..args.sessions {
            let (args, envelope, body, transport, hello) =
                (args.clone(), envelope.clone(), body.clone(), transport.clone(), hello.clone());
            let mine = share(args.count, args.sessions, i);
            tasks.push(tokio::spawn(async move {
                let mut sent = 0;
                while sent < mine && !deadline.passed() {
                    if args.reconnect {
                        let mut c = connect(args.clone(), hello.clone()).await;
                        c.send(&envelope, &body).await.unwrap_or_else(|e| die(&e.to_string()));
                        c.quit().await.unwrap_or_else(|e| die(&e.to_string()));
                    } else {
                        transport.send_raw(&envelope, &body).await.unwrap_or_else(|e| die(&e.to_string()));
                        // lettre hands a connection back to its pool in a
                        // spawned task: without a yield here, a tight loop
                        // finds the pool empty and opens a new connection
                        // for every message.
                        tokio::task::yield_now().await;
                        // The pool opens more connections as tasks need them.
                        if sent == 0 && args.nodelay && args.sessions > 1 {
                            nodelay_on_all_sockets();
                        }
                    }
                    sent += 1;
                }
                sent
            }));
        }
        let mut sent = 0;
        for t in tasks {
            sent += t.await.unwrap_or_else(|e| die(&e.to_string()));
        }
        transport.shutdown().await;
        sent
    });
    report(sent, started);
}
