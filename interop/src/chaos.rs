//! A chaos proxy for the soak (issue 15): it sits on 127.0.0.1 between the
//! client and a real server and, on a share of the connections chosen with
//! a seeded RNG, breaks the dialogue at one point:
//!
//! - closes the connection during the greeting, mid-reply, right after
//!   RCPT's reply, mid-body, right after the end of data (before the 250,
//!   which the server may still send and store the message), or right
//!   after the 250;
//! - delays a reply past the client's deadline;
//! - replies 421 instead of passing a command (or the greeting) on, and
//!   closes;
//! - stalls reading the client's bytes for a while.
//!
//! It never changes a byte it passes on, and it never says 250 itself: a
//! reply the client sees is the server's, or the 421 given *instead of*
//! passing the command on (so the server never saw it). It parses just
//! enough to know where each connection is: the server's replies (the
//! greeting, then one per command: the server must not offer PIPELINING,
//! as aiosmtpd does not), and the client's command lines and message data
//! (from the 354 to the line `.`).
//!
//! Bounded: sockets are read with short timeouts, every connection ends
//! within [`ChaosConfig::max_connection`], the proxy accepts for at most
//! [`ChaosConfig::lifetime`], and dropping it closes every connection and
//! joins every thread.

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a blocked read looks at the clock and the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// The longest line the proxy buffers before giving up on a connection.
const MAX_LINE: usize = 1 << 20;

/// A small seeded RNG (xorshift64*, seeded through splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// An RNG for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A duration between `min` and `max`.
    pub fn between(&mut self, min: Duration, max: Duration) -> Duration {
        let span = max.saturating_sub(min).as_millis() as u64;
        min + Duration::from_millis(self.below(span + 1))
    }
}

/// How the proxy behaves.
#[derive(Debug, Clone, Copy)]
pub struct ChaosConfig {
    /// The seed of every connection's RNG (connection `n` uses `seed + n`).
    pub seed: u64,
    /// How many connections in a thousand get a fault at their start (in
    /// the greeting or EHLO).
    pub connection_per_mille: u32,
    /// How many transactions in a thousand get a fault (somewhere from
    /// MAIL to the reply to the end of data).
    pub transaction_per_mille: u32,
    /// The client's deadline for a reply: a delayed reply comes this much
    /// plus half a second late; a stall lasts up to this plus a second.
    pub deadline: Duration,
    /// The longest the proxy accepts connections.
    pub lifetime: Duration,
    /// The longest one connection lasts.
    pub max_connection: Duration,
}

/// One fault. Replies are numbered from 0 (the greeting), client commands
/// from 1 (EHLO), the end of data counting as one: command `n`'s reply is
/// reply `n`, as no command is pipelined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Passes half of reply `reply` on, then closes.
    CutReply {
        /// Which reply.
        reply: u32,
    },
    /// Closes right after passing reply `reply` on.
    CloseAfterReply {
        /// Which reply.
        reply: u32,
    },
    /// Closes before passing on data line `line` (from 1) of the message.
    CloseMidBody {
        /// Which data line.
        line: u32,
    },
    /// Passes command `command` on, then closes the client's side at once;
    /// the server's when its reply came (`wait`: the server may store a
    /// message the client never hears about) or at once.
    CloseAfterCommand {
        /// Which command.
        command: u32,
        /// Wait for the server's reply before closing its side.
        wait: bool,
    },
    /// Holds reply `reply` past the client's deadline, then passes it on
    /// (to a client that has given up by then).
    DelayReply {
        /// Which reply.
        reply: u32,
    },
    /// Replies `421` instead of passing command `at` on (0: instead of
    /// the greeting), and closes.
    Reply421 {
        /// Which command (0: the greeting).
        at: u32,
    },
    /// Stops reading the client's bytes for `pause` before passing command
    /// `at` on.
    StallReads {
        /// Which command.
        at: u32,
        /// For how long.
        pause: Duration,
    },
}

/// A fault and its name in the statistics.
#[derive(Debug, Clone, Copy)]
struct Planned {
    fault: Fault,
    name: &'static str,
}

fn stall(rng: &mut Rng, config: &ChaosConfig, at: u32) -> Fault {
    let pause = rng.between(Duration::from_millis(200), config.deadline + TICK * 10);
    Fault::StallReads { at, pause }
}

/// The fault of a connection at its start, if it gets one.
fn pick_at_start(rng: &mut Rng, config: &ChaosConfig) -> Option<Planned> {
    if rng.below(1000) >= u64::from(config.connection_per_mille) {
        return None;
    }
    let (fault, name) = match rng.below(7) {
        0 => (Fault::CutReply { reply: 0 }, "close-in-greeting"),
        1 => (Fault::DelayReply { reply: 0 }, "delay-greeting"),
        2 => (Fault::Reply421 { at: 0 }, "421-greeting"),
        3 => (Fault::CutReply { reply: 1 }, "close-mid-ehlo-reply"),
        4 => (Fault::DelayReply { reply: 1 }, "delay-ehlo-reply"),
        5 => (Fault::Reply421 { at: 1 }, "421-ehlo"),
        _ => (stall(rng, config, 1), "stall-ehlo"),
    };
    Some(Planned { fault, name })
}

/// The fault of a transaction whose MAIL is command `mail`, if it gets one.
fn pick_in_transaction(rng: &mut Rng, config: &ChaosConfig, mail: u32) -> Option<Planned> {
    if rng.below(1000) >= u64::from(config.transaction_per_mille) {
        return None;
    }
    // MAIL, RCPT (one recipient), DATA, the end of data.
    let (rcpt, eod) = (mail + 1, mail + 3);
    let any = mail + rng.below(4) as u32;
    let (fault, name) = match rng.below(8) {
        0 => (Fault::CutReply { reply: any }, "close-mid-reply"),
        1 => (Fault::CloseAfterReply { reply: rcpt }, "close-after-rcpt"),
        2 => (
            Fault::CloseMidBody {
                line: 1 + rng.below(12) as u32,
            },
            "close-mid-body",
        ),
        3 => (
            Fault::CloseAfterCommand {
                command: eod,
                wait: rng.below(2) == 0,
            },
            "close-after-end-of-data",
        ),
        4 => (Fault::CloseAfterReply { reply: eod }, "close-after-250"),
        5 => (Fault::DelayReply { reply: any }, "delay-reply"),
        6 => (Fault::Reply421 { at: any }, "421-reply"),
        _ => (stall(rng, config, any), "stall-reads"),
    };
    Some(Planned { fault, name })
}

/// What the proxy did.
#[derive(Debug, Clone, Default)]
pub struct ChaosStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections closed at once because the server did not accept.
    pub server_down: u64,
    /// Faults that fired, by name.
    pub fired: BTreeMap<&'static str, u64>,
}

/// A running proxy; dropping it stops it.
pub struct Chaos {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<ChaosStats>>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Chaos {
    /// Starts a proxy on 127.0.0.1 to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, config: ChaosConfig) -> std::io::Result<Chaos> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(ChaosStats::default()));
        let acceptor = {
            let (stop, stats) = (stop.clone(), stats.clone());
            let upstream = SocketAddr::from(([127, 0, 0, 1], upstream));
            std::thread::spawn(move || accept(listener, upstream, config, &stop, &stats))
        };
        Ok(Chaos {
            port,
            stop,
            stats,
            acceptor: Some(acceptor),
        })
    }

    /// What it did so far.
    pub fn stats(&self) -> ChaosStats {
        lock(&self.stats).clone()
    }

    /// Closes every connection and stops.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for Chaos {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    config: ChaosConfig,
    stop: &Arc<AtomicBool>,
    stats: &Arc<Mutex<ChaosStats>>,
) {
    let until = Instant::now() + config.lifetime;
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut n: u64 = 0;
    let polling = listener.set_nonblocking(true);
    // Bounded by the lifetime and the stop flag, looked at every millisecond.
    while polling.is_ok() && !stop.load(Ordering::Acquire) && Instant::now() < until {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            // None waiting (or out of descriptors): look again soon.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
        };
        if client.set_nonblocking(false).is_err() {
            continue;
        }
        n += 1;
        lock(stats).connections += 1;
        let mut rng = Rng::new(config.seed.wrapping_add(n));
        let fault = pick_at_start(&mut rng, &config);
        let (stop, stats) = (stop.clone(), stats.clone());
        threads.retain(|t| !t.is_finished());
        threads.push(std::thread::spawn(move || {
            let Ok(server) = TcpStream::connect_timeout(&upstream, TICK * 5) else {
                lock(&stats).server_down += 1;
                return;
            };
            let deadline = (Instant::now() + config.max_connection).min(until);
            let conn = Arc::new(Conn {
                client,
                server,
                config,
                deadline,
                stop,
                stats,
                shared: Mutex::new(Shared {
                    fault,
                    rng,
                    pending: VecDeque::new(),
                    in_data: false,
                    closing: false,
                }),
                closed: AtomicBool::new(false),
            });
            let up = {
                let conn = conn.clone();
                std::thread::spawn(move || conn.client_to_server())
            };
            conn.server_to_client();
            let _ = up.join();
        }));
    }
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
}

/// What a command is, for the replies' sake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Mail,
    Data,
    EndOfData,
    Other,
}

struct Shared {
    /// The fault to come, if any.
    fault: Option<Planned>,
    /// The connection's RNG.
    rng: Rng,
    /// Commands passed on, awaiting their reply, oldest first.
    pending: VecDeque<Cmd>,
    /// The client is sending message data (a 354 was passed on).
    in_data: bool,
    /// The client's side is closed: close the server's at its next reply.
    closing: bool,
}

impl Shared {
    /// The planned fault, if `is` says it fires now; a fault that does not
    /// end the connection is then forgotten, making room for another.
    fn fires(&mut self, is: impl Fn(Fault) -> bool) -> Option<Planned> {
        let planned = self.fault.filter(|p| is(p.fault))?;
        if matches!(
            planned.fault,
            Fault::DelayReply { .. } | Fault::StallReads { .. }
        ) {
            self.fault = None;
        }
        Some(planned)
    }
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    config: ChaosConfig,
    deadline: Instant,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<ChaosStats>>,
    shared: Mutex<Shared>,
    closed: AtomicBool,
}

/// Reads lines from `from` until it ends, the connection is closed or its
/// time is up; `line` gets each (with its line end) and returns false to
/// stop.
fn lines(conn: &Conn, mut from: &TcpStream, mut line: impl FnMut(&[u8]) -> bool) {
    let _ = from.set_read_timeout(Some(TICK));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while conn.alive() {
        let n = match from.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(end) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + end + 1;
            if !line(&buf[start..end]) {
                return;
            }
            start = end;
        }
        buf.drain(..start);
        if buf.len() > MAX_LINE {
            return;
        }
    }
}

const REPLY_421: &[u8] = b"421 4.3.2 chaos: closing\r\n";

impl Conn {
    fn alive(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
            && !self.stop.load(Ordering::Acquire)
            && Instant::now() < self.deadline
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// The planned fault if `is` says it fires now, counted.
    fn fires(&self, is: impl Fn(Fault) -> bool) -> Option<Fault> {
        let planned = self.shared().fires(is)?;
        *lock(&self.stats).fired.entry(planned.name).or_default() += 1;
        Some(planned.fault)
    }

    /// Sleeps `pause`, cut short when the connection ends.
    fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while self.alive() && Instant::now() < until {
            std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
        }
    }

    /// The client's commands and data, passed to the server.
    fn client_to_server(&self) {
        let mut command: u32 = 0;
        let mut data_line: u32 = 0;
        let (mut server, mut client) = (&self.server, &self.client);
        lines(self, &self.client, |line| {
            let mut shared = self.shared();
            if shared.in_data && line != b".\r\n" {
                drop(shared);
                data_line += 1;
                let cut = |f| f == Fault::CloseMidBody { line: data_line };
                return self.fires(cut).is_none() && server.write_all(line).is_ok();
            }
            command += 1;
            let cmd = match shared.in_data {
                true => Cmd::EndOfData,
                false => verb(line),
            };
            shared.in_data = false;
            shared.pending.push_back(cmd);
            if cmd == Cmd::Mail && shared.fault.is_none() {
                let Shared { rng, fault, .. } = &mut *shared;
                *fault = pick_in_transaction(rng, &self.config, command);
            }
            drop(shared);
            let now = |f| match f {
                Fault::Reply421 { at } | Fault::StallReads { at, .. } => at == command,
                _ => false,
            };
            match self.fires(now) {
                Some(Fault::Reply421 { .. }) => {
                    let _ = client.write_all(REPLY_421);
                    return false;
                }
                Some(Fault::StallReads { pause, .. }) => self.pause(pause),
                _ => {}
            }
            if server.write_all(line).is_err() {
                return false;
            }
            if cmd == Cmd::EndOfData {
                data_line = 0;
            }
            let after =
                |f| matches!(f, Fault::CloseAfterCommand { command: c, .. } if c == command);
            match self.fires(after) {
                Some(Fault::CloseAfterCommand { wait: true, .. }) => {
                    let _ = self.client.shutdown(Shutdown::Both);
                    // The server's side closes at its reply.
                    self.shared().closing = true;
                    false
                }
                Some(_) => false,
                None => true,
            }
        });
        if !self.shared().closing {
            self.close();
        }
    }

    /// The server's replies, passed to the client.
    fn server_to_client(&self) {
        let mut reply: u32 = 0;
        let mut client = &self.client;
        let mut buf: Vec<u8> = Vec::new();
        lines(self, &self.server, |line| {
            buf.extend_from_slice(line);
            // A reply's last line has no '-' after its code.
            if line.get(3) == Some(&b'-') {
                return true;
            }
            let whole = std::mem::take(&mut buf);
            let n = reply;
            reply += 1;
            let mut shared = self.shared();
            if shared.closing {
                return false;
            }
            let cmd = match n {
                0 => Cmd::Other,
                _ => shared.pending.pop_front().unwrap_or(Cmd::Other),
            };
            if cmd == Cmd::Data && whole.starts_with(b"354") {
                shared.in_data = true;
            }
            drop(shared);
            let now = |f| match f {
                Fault::CutReply { reply } | Fault::DelayReply { reply } => reply == n,
                Fault::Reply421 { at } => at == 0 && n == 0,
                _ => false,
            };
            match self.fires(now) {
                Some(Fault::CutReply { .. }) => {
                    let _ = client.write_all(&whole[..whole.len() / 2]);
                    return false;
                }
                Some(Fault::Reply421 { .. }) => {
                    let _ = client.write_all(REPLY_421);
                    return false;
                }
                Some(Fault::DelayReply { .. }) => self.pause(self.config.deadline + TICK * 5),
                _ => {}
            }
            let after = |f| f == Fault::CloseAfterReply { reply: n };
            client.write_all(&whole).is_ok() && self.fires(after).is_none()
        });
        self.close();
    }
}

/// What a command line is.
fn verb(line: &[u8]) -> Cmd {
    let word = |w: &[u8]| line.len() >= w.len() && line[..w.len()].eq_ignore_ascii_case(w);
    if word(b"MAIL ") {
        Cmd::Mail
    } else if word(b"DATA\r\n") {
        Cmd::Data
    } else {
        Cmd::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rng_is_seeded() {
        let run = |seed| {
            let mut r = Rng::new(seed);
            (0..4).map(|_| r.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn commands_are_told_apart() {
        assert_eq!(verb(b"mail FROM:<a@b>\r\n"), Cmd::Mail);
        assert_eq!(verb(b"DATA\r\n"), Cmd::Data);
        assert_eq!(verb(b"RCPT TO:<a@b>\r\n"), Cmd::Other);
    }
}
