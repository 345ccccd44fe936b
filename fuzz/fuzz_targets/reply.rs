//! `reply`: arbitrary bytes into `ReplyParser`, with small limits as well as
//! the defaults. Never panics; memory stays bounded by the limits (every
//! reply respects them, and a counting allocator bounds what the parser
//! holds); a parsed reply written back with `Reply::write_to` parses to the
//! same reply; the input split at a chosen point, or fed byte by byte, gives
//! the same replies and error.
//!
//! Input: `[limits][max_reply_bytes][split] stream...`; `limits` bit 0 picks
//! small limits, bits 1-3 `max_line_len`, bits 4-6 `max_lines`; `split` is
//! the split point as a fraction (/255) of the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::{Reply, ReplyClass, ReplyCode, ReplyError, ReplyLimits, ReplyParser};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts the bytes allocated through Rust's allocator (libFuzzer's own
/// allocations do not go through it).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                // old and new block may both exist for a moment
                grew(new);
                LIVE.fetch_sub(l.size(), Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const LINE_LENS: [usize; 8] = [0, 3, 4, 5, 9, 16, 64, 512];
const LINE_COUNTS: [usize; 8] = [0, 1, 2, 3, 5, 8, 64, 256];
const REPLY_BYTES: [usize; 8] = [0, 4, 6, 10, 32, 100, 1000, 65536];

fn limits(a: u8, b: u8) -> ReplyLimits {
    if a & 1 == 0 {
        return ReplyLimits::default();
    }
    ReplyLimits::new(
        LINE_LENS[usize::from(a >> 1 & 7)],
        LINE_COUNTS[usize::from(a >> 4 & 7)],
        REPLY_BYTES[usize::from(b & 7)],
    )
}

#[derive(Debug, PartialEq)]
struct Run {
    replies: Vec<Reply>,
    error: Option<ReplyError>,
    mid_reply: bool,
}

/// Feeds `pieces` in order, each to the end, stopping at the first error.
fn run(limits: ReplyLimits, pieces: &[&[u8]]) -> Run {
    let mut p = ReplyParser::new(limits);
    let mut replies = Vec::new();
    for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() {
            match p.parse(rest) {
                Ok((n, r)) => {
                    assert!(n <= rest.len(), "consumed more than given");
                    assert!(n > 0 || r.is_some(), "no progress");
                    rest = &rest[n..];
                    replies.extend(r);
                }
                Err(e) => {
                    return Run {
                        replies,
                        error: Some(e),
                        mid_reply: true,
                    };
                }
            }
        }
    }
    Run {
        replies,
        error: None,
        mid_reply: p.is_mid_reply(),
    }
}

/// Parses `stream` keeping nothing, and checks that what the parser holds
/// (its buffers, plus the reply it just returned) stays within the limits.
fn check_memory(limits: ReplyLimits, stream: &[u8]) {
    // A Vec grown to n bytes has capacity < 2n (+ a small minimum); a
    // reallocation briefly holds old and new blocks.
    let bound = 3 * (limits.max_line_len + 2)
        + 3 * limits.max_reply_bytes
        + 3 * 8 * (limits.max_lines + 1)
        + 4096;
    let base = LIVE.load(Relaxed);
    let mut p = ReplyParser::new(limits);
    let mut rest = stream;
    while !rest.is_empty() {
        PEAK.store(LIVE.load(Relaxed), Relaxed);
        let r = p.parse(rest);
        let peak = PEAK.load(Relaxed).saturating_sub(base);
        assert!(
            peak <= bound,
            "the parser holds {peak} bytes, more than the limits allow ({bound}) for {limits:?}"
        );
        match r {
            Ok((n, _reply)) => rest = &rest[n..],
            Err(_) => break,
        }
    }
}

fn check_reply(r: &Reply, limits: ReplyLimits) {
    let code = r.code().value();
    assert_eq!(ReplyCode::new(code), Some(r.code()), "invalid code {code}");
    let n = r.line_count();
    assert!(n >= 1 && n == r.lines().count());
    assert!(n <= limits.max_lines, "{n} lines > max_lines {limits:?}");
    let mut wire_min = 0;
    for line in r.lines() {
        assert!(!line.contains(&b'\n'), "LF inside a line");
        // "ddd" + separator + text; the separator may be missing only when
        // the text is empty
        let min_len = if line.is_empty() { 3 } else { 4 + line.len() };
        assert!(
            min_len <= limits.max_line_len,
            "a line of {min_len} bytes > max_line_len {limits:?}"
        );
        wire_min += min_len + 1;
    }
    assert!(
        wire_min <= limits.max_reply_bytes,
        "a reply of at least {wire_min} bytes > max_reply_bytes {limits:?}"
    );
    if let Some(e) = r.enhanced() {
        assert_eq!(
            u16::from(e.class),
            code / 100,
            "enhanced code class mismatch"
        );
        assert!(e.subject <= 999 && e.detail <= 999);
    }
    let first = r.lines().next().unwrap();
    assert!(
        first.ends_with(r.message()),
        "message() is not the end of the first line"
    );
    let class_ok = match r.class() {
        ReplyClass::Preliminary => code / 100 == 1,
        ReplyClass::Completion => code / 100 == 2,
        ReplyClass::Intermediate => code / 100 == 3,
        ReplyClass::Transient => code / 100 == 4,
        ReplyClass::Permanent => code / 100 == 5,
    };
    assert!(class_ok);
    assert_eq!(r.is_success(), code / 100 == 2);
    let _ = r.to_string();
    let _ = format!("{r:?}");
    // Reply::new from its own lines is the same reply
    assert_eq!(
        &Reply::new(r.code(), r.lines()),
        r,
        "Reply::new disagrees with the parser"
    );
    // written back and parsed again: the same reply, all bytes used
    let mut wire = Vec::new();
    r.write_to(&mut wire);
    let big = ReplyLimits::new(1 << 20, 1 << 16, 1 << 24);
    let mut p = ReplyParser::new(big);
    let (used, again) = p.parse(&wire).expect("a written reply does not parse");
    assert_eq!(used, wire.len(), "a written reply parses short");
    assert_eq!(
        again.as_ref(),
        Some(r),
        "a written reply parses to another reply"
    );
    assert!(!p.is_mid_reply());
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let limits = limits(data[0], data[1]);
    let stream = &data[3..];
    let split = stream.len() * usize::from(data[2]) / 255;

    check_memory(limits, stream);

    let whole = run(limits, &[stream]);
    for r in &whole.replies {
        check_reply(r, limits);
    }
    if let Some(e) = whole.error {
        let _ = e.to_string();
    }

    let (a, b) = stream.split_at(split);
    let halves = run(limits, &[a, b]);
    assert_eq!(whole, halves, "split at {split} differs");

    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let one_by_one = run(limits, &bytes);
    assert_eq!(whole, one_by_one, "byte by byte differs");
});
