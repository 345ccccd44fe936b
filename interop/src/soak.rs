//! The soak (issue 15): many messages through one adapter's pool, with 16
//! concurrent senders, to a real aiosmtpd that is killed and restarted
//! every few seconds, through the [`chaos`](crate::chaos) proxy. Each
//! message has a unique Message-ID, which the server appends to a file
//! before its 250; at the end every message is accounted for:
//!
//! - reported accepted implies stored, exactly once (lost = 0);
//! - stored implies reported accepted or reported with its fate unknown
//!   (refused, or failed with the message known not to be accepted, implies
//!   not stored);
//! - stored at most once (delivered twice = 0): the pool's own retry never
//!   resends a message whose end of data went out, and the senders here
//!   resend a message only when it failed unsent (never one whose fate is
//!   unknown), so a failure wrongly reported unsent shows as a duplicate.
//!
//! `SOAK_MESSAGES` (default [`SHORT`]) sets the count per adapter,
//! `SOAK_SEED` the proxy's seed. The figures are written to stderr (past
//! the test harness's capture) in one `SOAK` line per adapter.

use crate::chaos::{Chaos, ChaosConfig, ChaosStats, Rng};
use crate::peers::AiosmtpdIds;
use crate::require;
use smtp_blocking::{Address, Config, Envelope, Error, Options, Outcome, PoolConfig, PoolStats};
use smtp_proto::{Timeouts, TlsPolicy};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Messages per adapter in the short soak (`cargo test`).
pub const SHORT: usize = 2_000;
/// Concurrent senders.
pub const SENDERS: usize = 16;
/// Sessions in the pool.
pub const MAX_SESSIONS: usize = 8;
/// Every deadline of the client (short, so that a delayed reply is quick).
pub const DEADLINE: Duration = Duration::from_secs(2);
/// Connections in a thousand the proxy breaks at their start.
pub const CONNECTION_PER_MILLE: u32 = 100;
/// Transactions in a thousand the proxy breaks.
pub const TRANSACTION_PER_MILLE: u32 = 30;
/// How many times a sender tries a message that failed unsent (known not
/// accepted: never one whose fate is unknown).
pub const ATTEMPTS: u32 = 5;
/// The pause before trying such a message again.
pub const PAUSE: Duration = Duration::from_millis(200);
/// How often, on average, the server is killed and restarted.
pub const RESTART_EVERY: Duration = Duration::from_secs(3);
/// A single send taking longer than this is a hang: the soak aborts.
pub const HANG: Duration = Duration::from_secs(60);
/// The longest a soak may take, whatever its count.
pub const MAX_SOAK: Duration = Duration::from_secs(3600);

/// Which pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `smtp_tokio::Pool` on a current-thread runtime.
    Tokio,
    /// `smtp_asyncstd::Pool` on smol.
    Smol,
    /// `smtp_blocking::Pool`, one thread per sender.
    Blocking,
}

impl Runtime {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tokio => "tokio",
            Runtime::Smol => "smol",
            Runtime::Blocking => "blocking",
        }
    }
}

/// What the client said about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// `Ok` and delivered.
    Accepted,
    /// `Ok`, not delivered: the server refused it.
    Refused,
    /// `Err` with [`Error::is_fate_unknown`]: it may have been stored.
    Unknown,
    /// `Err` otherwise: not accepted as far as the client knows.
    Failed,
}

fn fate(result: &Result<Outcome, Error>) -> Fate {
    match result {
        Ok(o) if o.is_delivered() => Fate::Accepted,
        Ok(_) => Fate::Refused,
        Err(e) if e.is_fate_unknown() => Fate::Unknown,
        Err(_) => Fate::Failed,
    }
}

/// What one soak did.
#[derive(Debug)]
pub struct Report {
    /// Which pool.
    pub runtime: Runtime,
    /// The proxy's seed.
    pub seed: u64,
    /// Each message's fate, by number (`None`: never sent, a bug).
    pub fates: Vec<Option<Fate>>,
    /// Each stored Message-ID's number of copies.
    pub stored: HashMap<String, u32>,
    /// Messages the senders sent again after they failed unsent.
    pub retries: u64,
    /// The pool's statistics at the end.
    pub pool: PoolStats,
    /// What the proxy did.
    pub chaos: ChaosStats,
    /// How many times the server was started.
    pub server_starts: u32,
    /// How long the sending took.
    pub elapsed: Duration,
    /// The test process's peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// Errors by stage and kind, for the report.
    pub errors: BTreeMap<String, u64>,
}

/// The Message-ID of message `n`.
pub fn message_id(n: usize, seed: u64, runtime: Runtime) -> String {
    format!("<{n}.{seed}.{}@soak.test>", runtime.name())
}

/// Message `n`: its envelope and body (CRLF line ends, a line starting with
/// a dot, enough lines for the proxy to cut it anywhere).
pub fn message(n: usize, seed: u64, runtime: Runtime) -> (Envelope, Vec<u8>) {
    let from = Address::new("sender@soak.test").expect("a valid address");
    let to = Address::new("rcpt@soak.test").expect("a valid address");
    let mut body = format!(
        "Message-ID: {}\r\nFrom: <sender@soak.test>\r\nTo: <rcpt@soak.test>\r\nSubject: soak {n}\r\n\r\n",
        message_id(n, seed, runtime)
    );
    for line in 0..8 {
        body.push_str(&format!("line {line} of message {n}\r\n"));
    }
    body.push_str(".a line that starts with a dot\r\n");
    (Envelope::new(from, [to]), body.into_bytes())
}

impl Report {
    fn count(&self, f: Fate) -> usize {
        self.fates.iter().filter(|x| **x == Some(f)).count()
    }

    fn copies(&self, n: usize) -> u32 {
        let id = message_id(n, self.seed, self.runtime);
        self.stored.get(&id).copied().unwrap_or(0)
    }

    /// Messages reported accepted and not stored.
    pub fn lost(&self) -> usize {
        (0..self.fates.len())
            .filter(|&n| self.fates[n] == Some(Fate::Accepted) && self.copies(n) == 0)
            .count()
    }

    /// Messages stored more than once.
    pub fn duplicates(&self) -> usize {
        self.stored.values().filter(|&&c| c > 1).count()
    }

    /// Every broken promise, described (empty: the soak passed).
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (n, f) in self.fates.iter().enumerate() {
            let copies = self.copies(n);
            let bad = match f {
                None => true,
                Some(Fate::Accepted) => copies != 1,
                Some(Fate::Unknown) => copies > 1,
                Some(Fate::Refused | Fate::Failed) => copies != 0,
            };
            if bad {
                v.push(format!(
                    "message {n}: reported {f:?}, stored {copies} time(s)"
                ));
            }
        }
        let known: std::collections::HashSet<String> = (0..self.fates.len())
            .map(|n| message_id(n, self.seed, self.runtime))
            .collect();
        for id in self.stored.keys().filter(|id| !known.contains(*id)) {
            v.push(format!("stored {id:?}, which was never sent"));
        }
        v
    }

    /// The figures, on one line.
    pub fn line(&self) -> String {
        let n = self.fates.len();
        let secs = self.elapsed.as_secs_f64();
        let unknown_stored = (0..n)
            .filter(|&i| self.fates[i] == Some(Fate::Unknown) && self.copies(i) > 0)
            .count();
        let faults: Vec<String> = self
            .chaos
            .fired
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(
            "SOAK {rt} seed={seed}: {n} messages in {secs:.1} s ({rate:.0} msg/s); \
             accepted {acc}, refused {refused}, fate unknown {unk} ({unknown_stored} of them stored), \
             failed {failed}; retried by the pool {retried}, by the senders (failed unsent) {retries}; stored {stored} ({copies} copies), \
             duplicates {dup}, lost {lost}; peak RSS {rss} KiB; \
             pool: connected {conn}, reused {reused}, replaced {replaced}; \
             server started {starts} times; proxy: {pc} connections, {down} with the server down, \
             faults: {faults}",
            rt = self.runtime.name(),
            seed = self.seed,
            rate = n as f64 / secs.max(1e-9),
            acc = self.count(Fate::Accepted),
            refused = self.count(Fate::Refused),
            unk = self.count(Fate::Unknown),
            failed = self.count(Fate::Failed),
            retried = self.pool.retried,
            retries = self.retries,
            stored = self.stored.len(),
            copies = self.stored.values().sum::<u32>(),
            dup = self.duplicates(),
            lost = self.lost(),
            rss = self.peak_rss_kib,
            conn = self.pool.connected,
            reused = self.pool.reused,
            replaced = self.pool.replaced,
            starts = self.server_starts,
            pc = self.chaos.connections,
            down = self.chaos.server_down,
            faults = faults.join(", "),
        )
    }
}

/// The peak resident set of this process (VmHWM), KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The messages to send, what became of each, and the hang watchdog's
/// view of each sender.
struct Work {
    total: usize,
    seed: u64,
    runtime: Runtime,
    next: AtomicUsize,
    retries: AtomicU64,
    fates: Mutex<Vec<Option<Fate>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Per sender: when its current send started (ms since `origin`, plus
    /// one; 0: none), and which message.
    busy: Vec<(AtomicU64, AtomicUsize)>,
    origin: Instant,
}

impl Work {
    fn record(&self, n: usize, result: &Result<Outcome, Error>) -> Fate {
        let f = fate(result);
        self.fates.lock().unwrap_or_else(|e| e.into_inner())[n] = Some(f);
        if let Err(e) = result {
            let key = format!(
                "{f:?} at {:?}{}",
                e.stage(),
                if e.is_timeout() { " (timeout)" } else { "" }
            );
            *self
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default() += 1;
        }
        f
    }
}

/// One sender: takes the next message until none is left, sends it, and
/// sends it again (after [`PAUSE`], up to [`ATTEMPTS`] times) only while it
/// failed unsent: never after an outcome, never when its fate is unknown.
/// Records its last fate.
async fn sender<F, Fut, P, PFut>(work: Arc<Work>, me: usize, send: F, pause: P)
where
    F: Fn(Envelope, Vec<u8>) -> Fut,
    Fut: Future<Output = Result<Outcome, Error>>,
    P: Fn(Duration) -> PFut,
    PFut: Future<Output = ()>,
{
    // Bounded by the count: each turn takes one message.
    loop {
        let n = work.next.fetch_add(1, Ordering::Relaxed);
        if n >= work.total {
            return;
        }
        // Bounded by ATTEMPTS.
        for attempt in 1..=ATTEMPTS {
            let (envelope, body) = message(n, work.seed, work.runtime);
            let started = work.origin.elapsed().as_millis() as u64 + 1;
            work.busy[me].1.store(n, Ordering::Relaxed);
            work.busy[me].0.store(started, Ordering::Release);
            let result = send(envelope, body).await;
            work.busy[me].0.store(0, Ordering::Release);
            let fate = work.record(n, &result);
            if fate != Fate::Failed || attempt == ATTEMPTS {
                break;
            }
            work.retries.fetch_add(1, Ordering::Relaxed);
            pause(PAUSE).await;
        }
    }
}

/// Aborts the process when a send takes longer than [`HANG`] or the whole
/// soak longer than [`MAX_SOAK`]: a hang is a bug, and must not hold the
/// test suite. Ends when `done` is set.
fn watchdog(work: Arc<Work>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !done.load(Ordering::Acquire) {
            let now = work.origin.elapsed();
            for (since, n) in &work.busy {
                let since = since.load(Ordering::Acquire);
                let hung =
                    since != 0 && now.as_millis() as u64 + 1 - since > HANG.as_millis() as u64;
                if hung || now > MAX_SOAK {
                    let n = n.load(Ordering::Relaxed);
                    let msg = format!(
                        "SOAK {}: HANG: message {n} ({}) has been sending for over {HANG:?} \
                         (or the soak over {MAX_SOAK:?}); aborting\n",
                        work.runtime.name(),
                        message_id(n, work.seed, work.runtime)
                    );
                    let _ = std::io::stderr().write_all(msg.as_bytes());
                    std::process::abort();
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

/// The client's options: plaintext to the proxy, every deadline short.
pub fn options() -> Options {
    let config = {
        let mut built = Config::default();
        built.timeouts = Timeouts::uniform(DEADLINE);
        built.tls = Some(TlsPolicy::Off);
        built
    };
    Options::new(config).connect_timeout(DEADLINE)
}

fn pool_config() -> PoolConfig {
    {
        let mut built = PoolConfig::default();
        built.max_sessions = MAX_SESSIONS;
        built
    }
}

/// The senders' futures on one async pool, each pausing with `pause`.
fn senders<C, P, PFut>(
    pool: &smtp_adapter_common::Pool<C>,
    work: &Arc<Work>,
    pause: P,
) -> Vec<impl Future<Output = ()> + use<C, P, PFut>>
where
    C: smtp_adapter_common::Dial,
    P: Fn(Duration) -> PFut + Clone,
    PFut: Future<Output = ()>,
{
    (0..SENDERS)
        .map(|me| {
            let pool = pool.clone();
            let send = move |e: Envelope, b: Vec<u8>| {
                let pool = pool.clone();
                async move { pool.send(&e, &b).await }
            };
            sender(work.clone(), me, send, pause.clone())
        })
        .collect()
}

/// Sends every message through `runtime`'s pool to `127.0.0.1:port`;
/// returns the pool's statistics.
fn send_all(runtime: Runtime, port: u16, work: &Arc<Work>) -> PoolStats {
    let host = "127.0.0.1";
    match runtime {
        Runtime::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async {
                let pool = smtp_tokio::Pool::new(host, port, options(), pool_config());
                tokio::task::spawn_local(pool.reaper());
                let senders = senders(&pool, work, tokio::time::sleep);
                let tasks: Vec<_> = senders.into_iter().map(tokio::task::spawn_local).collect();
                for t in tasks {
                    t.await.expect("a sender panicked");
                }
                let stats = pool.stats();
                pool.close().await;
                stats
            })
        }
        Runtime::Smol => {
            let ex = smol::LocalExecutor::new();
            smol::block_on(ex.run(async {
                let pool = smtp_asyncstd::Pool::new(host, port, options(), pool_config());
                ex.spawn(pool.reaper()).detach();
                let pause = |d| async move {
                    smol::Timer::after(d).await;
                };
                let senders = senders(&pool, work, pause);
                let tasks: Vec<_> = senders.into_iter().map(|f| ex.spawn(f)).collect();
                for t in tasks {
                    t.await;
                }
                let stats = pool.stats();
                pool.close().await;
                stats
            }))
        }
        Runtime::Blocking => {
            let pool = smtp_blocking::Pool::new(host, port, options(), pool_config());
            // Not joined: it sleeps up to the idle timeout before it sees
            // the pool closed.
            let _reaper = pool.spawn_reaper();
            let threads: Vec<_> = (0..SENDERS)
                .map(|me| {
                    let (pool, work) = (pool.clone(), work.clone());
                    std::thread::spawn(move || {
                        // The blocking pool's send is done when called.
                        let send = |e: Envelope, b: Vec<u8>| {
                            let result = pool.send(&e, &b);
                            async move { result }
                        };
                        let pause = |d| {
                            std::thread::sleep(d);
                            std::future::ready(())
                        };
                        smol::block_on(sender(work, me, send, pause))
                    })
                })
                .collect();
            for t in threads {
                t.join().expect("a sender panicked");
            }
            let stats = pool.stats();
            pool.close();
            stats
        }
    }
}

/// Kills and restarts the server every [`RESTART_EVERY`] or so until
/// `done` is set; hands the server back.
fn supervise(
    mut server: AiosmtpdIds,
    seed: u64,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<AiosmtpdIds> {
    std::thread::spawn(move || {
        let mut rng = Rng::new(seed ^ 0x5eed);
        let started = Instant::now();
        // Bounded: by `done`, and by MAX_SOAK.
        while !done.load(Ordering::Acquire) && started.elapsed() < MAX_SOAK {
            let wait = rng.between(RESTART_EVERY / 2, RESTART_EVERY * 3 / 2);
            let until = Instant::now() + wait;
            while !done.load(Ordering::Acquire) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if done.load(Ordering::Acquire) {
                break;
            }
            if let Err(e) = server.restart() {
                panic!("the server did not come back: {e}");
            }
        }
        server
    })
}

/// Reads `SOAK_MESSAGES` and `SOAK_SEED`.
fn from_env() -> (usize, u64) {
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let count = var("SOAK_MESSAGES").map_or(SHORT, |v| v as usize);
    (count, var("SOAK_SEED").unwrap_or(15))
}

/// Soaks one pool: `count` messages through the proxy to `server` while
/// it is killed and restarted; returns the report.
pub fn soak(runtime: Runtime, count: usize, seed: u64, server: AiosmtpdIds) -> Report {
    let config = ChaosConfig {
        seed,
        connection_per_mille: CONNECTION_PER_MILLE,
        transaction_per_mille: TRANSACTION_PER_MILLE,
        deadline: DEADLINE,
        lifetime: MAX_SOAK,
        max_connection: Duration::from_secs(60),
    };
    let mut chaos = Chaos::start(server.port, config).expect("the proxy starts");
    let done = Arc::new(AtomicBool::new(false));
    let supervisor = supervise(server, seed, done.clone());
    let work = Arc::new(Work {
        total: count,
        seed,
        runtime,
        next: AtomicUsize::new(0),
        retries: AtomicU64::new(0),
        fates: Mutex::new(vec![None; count]),
        errors: Mutex::new(BTreeMap::new()),
        busy: (0..SENDERS)
            .map(|_| (AtomicU64::new(0), AtomicUsize::new(0)))
            .collect(),
        origin: Instant::now(),
    });
    let watched = Arc::new(AtomicBool::new(false));
    let dog = watchdog(work.clone(), watched.clone());
    let started = Instant::now();
    let pool = send_all(runtime, chaos.port, &work);
    let elapsed = started.elapsed();
    watched.store(true, Ordering::Release);
    let _ = dog.join();
    // Every connection closed, then the server killed: what it stored is
    // final.
    chaos.stop();
    done.store(true, Ordering::Release);
    let mut server = supervisor.join().expect("the supervisor ran");
    server.kill();
    let mut stored: HashMap<String, u32> = HashMap::new();
    for id in server.ids() {
        *stored.entry(id).or_default() += 1;
    }
    let work = Arc::try_unwrap(work).unwrap_or_else(|_| panic!("a sender outlived the soak"));
    Report {
        runtime,
        seed,
        fates: work.fates.into_inner().unwrap_or_else(|e| e.into_inner()),
        stored,
        pool,
        retries: work.retries.into_inner(),
        chaos: chaos.stats(),
        server_starts: server.starts,
        elapsed,
        peak_rss_kib: peak_rss_kib(),
        errors: work.errors.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

/// The soak as a test: runs [`soak`] for `runtime` (count and seed from
/// the environment), prints its line, and fails on any violation.
pub fn run(runtime: Runtime) {
    // One soak at a time in a process: they share the machine and the
    // peak RSS figure.
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let (count, seed) = from_env();
    let test = format!("soak_{}", runtime.name());
    let server = require!(test, AiosmtpdIds::start());
    let report = soak(runtime, count, seed, server);
    let mut out = report.line();
    out.push('\n');
    for (k, v) in &report.errors {
        out.push_str(&format!("  SOAK {} errors: {k}: {v}\n", runtime.name()));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
    let violations = report.violations();
    assert!(
        violations.is_empty(),
        "{test}: {} message(s) not accounted for (seed {seed}):\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert!(
        report.count(Fate::Accepted) > 0,
        "{test}: nothing was delivered"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(fates: &[Fate], copies: &[u32]) -> Report {
        let mut stored = HashMap::new();
        for (n, &c) in copies.iter().enumerate().filter(|(_, c)| **c > 0) {
            stored.insert(message_id(n, 1, Runtime::Tokio), c);
        }
        Report {
            runtime: Runtime::Tokio,
            seed: 1,
            fates: fates.iter().copied().map(Some).collect(),
            stored,
            retries: 0,
            pool: PoolStats::default(),
            chaos: ChaosStats::default(),
            server_starts: 1,
            elapsed: Duration::from_secs(1),
            peak_rss_kib: 0,
            errors: BTreeMap::new(),
        }
    }

    #[test]
    fn every_broken_promise_is_a_violation() {
        use Fate::*;
        let ok = report(
            &[Accepted, Unknown, Unknown, Failed, Refused],
            &[1, 1, 0, 0, 0],
        );
        assert!(ok.violations().is_empty(), "{:?}", ok.violations());
        let lost = report(&[Accepted], &[0]);
        assert_eq!((lost.lost(), lost.violations().len()), (1, 1));
        let twice = report(&[Accepted, Unknown], &[2, 2]);
        assert_eq!((twice.duplicates(), twice.violations().len()), (2, 2));
        let stored = report(&[Failed, Refused], &[1, 1]);
        assert_eq!(stored.violations().len(), 2);
        let mut stranger = report(&[Accepted], &[1]);
        stranger.stored.insert("<x@y>".into(), 1);
        assert_eq!(stranger.violations().len(), 1);
    }
}
