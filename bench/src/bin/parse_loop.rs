//! Parses one reply `n` times with one of the three parsers, for
//! instruction counts under callgrind (bench/callgrind.sh runs it with two
//! values of `n` and divides the difference, so start-up cancels out).
//!
//! `parse_loop ours|stalwart|stalwart-ehlo|lettre ehlo|ok|go N`, or
//! `parse_loop encode-ours|encode-swar|encode-memchr2 1k N`: the body
//! encoder (DATA mode) on a 1 KiB message, today's and the proposal's
//! (src/proposal.rs); or `parse_loop encode-stream mib N`: one encoder
//! (DATA mode) fed N MiB of the same text in 64 KiB chunks (the text is
//! built once, 1 MiB of whole lines, so (Ir(2N) - Ir(N)) / (N MiB) is the
//! encoder's cost per input byte).
use our_smtp_proto::{ReplyLimits, ReplyParser};
use std::hint::black_box;
use std::str::FromStr;

const EHLO: &[u8] = b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250-coremail abcdefg\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n";
const OK: &[u8] = b"250 2.1.0 Ok\r\n";
const GO: &[u8] = b"354 End data with <CR><LF>.<CR><LF>\r\n";

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let message = message_1k();
    let text = text_1mib();
    let input = match a[2].as_str() {
        "ehlo" => EHLO,
        "ok" => OK,
        "go" => GO,
        "1k" => &message[..],
        "mib" => &text[..],
        other => panic!("unknown case {other}"),
    };
    let n: usize = a[3].parse().unwrap();
    match a[1].as_str() {
        "ours" => {
            let mut p = ReplyParser::new(ReplyLimits::default());
            for _ in 0..n {
                black_box(p.parse(black_box(input)).unwrap().1.unwrap());
            }
        }
        "stalwart" => {
            for _ in 0..n {
                let mut r = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
                black_box(r.parse(&mut black_box(input).iter()).unwrap());
            }
        }
        "stalwart-ehlo" => {
            for _ in 0..n {
                black_box(
                    stalwart_smtp_proto::EhloResponse::<String>::parse(&mut black_box(input).iter())
                        .unwrap(),
                );
            }
        }
        "lettre" => {
            let s = std::str::from_utf8(input).unwrap();
            for _ in 0..n {
                black_box(lettre::transport::smtp::response::Response::from_str(black_box(s)).unwrap());
            }
        }
        "encode-ours" => {
            let mut out = Vec::with_capacity(4096);
            for _ in 0..n {
                out.clear();
                let mut e = our_smtp_proto::BodyEncoder::new(our_smtp_proto::BodyMode::Data);
                e.encode(black_box(input), &mut out).unwrap();
                e.finish(&mut out);
                black_box(&out);
            }
        }
        "encode-iter" => {
            let mut out = Vec::with_capacity(4096);
            for _ in 0..n {
                out.clear();
                let mut e = smtp_bench::proposal::RunEncoder::new(true);
                e.encode_iter(black_box(input), &mut out).unwrap();
                e.finish(&mut out);
                black_box(&out);
            }
        }
        "encode-swar-inlined" | "encode-swar-outlined" => {
            let mut out = Vec::with_capacity(4096);
            for _ in 0..n {
                out.clear();
                let mut e = smtp_bench::proposal::RunEncoder::new(true);
                if a[1] == "encode-swar-inlined" {
                    smtp_bench::proposal::encode_swar_inlined(&mut e, black_box(input), &mut out).unwrap();
                } else {
                    e.encode_with(black_box(input), &mut out, smtp_bench::proposal::find_swar_outlined).unwrap();
                }
                e.finish(&mut out);
                black_box(&out);
            }
        }
        "encode-swar" | "encode-memchr2" => {
            let find: smtp_bench::proposal::Find = if a[1] == "encode-swar" {
                smtp_bench::proposal::find_swar
            } else {
                smtp_bench::proposal::find_memchr2
            };
            let mut out = Vec::with_capacity(4096);
            for _ in 0..n {
                out.clear();
                let mut e = smtp_bench::proposal::RunEncoder::new(true);
                e.encode(black_box(input), &mut out, find).unwrap();
                e.finish(&mut out);
                black_box(&out);
            }
        }
        "encode-stream" => {
            let mut out = Vec::with_capacity(input.len() + input.len() / 8);
            let mut e = our_smtp_proto::BodyEncoder::new(our_smtp_proto::BodyMode::Data);
            for _ in 0..n {
                out.clear();
                for chunk in black_box(input).chunks(64 * 1024) {
                    e.encode(chunk, &mut out).unwrap();
                }
                black_box(&out);
            }
            e.finish(&mut out);
            black_box(&out);
        }
        other => panic!("unknown parser {other}"),
    }
}

/// A 1 KiB message: headers, then 76-character CRLF lines, one in ten
/// starting with a dot (as bench/run.py writes them).
fn message_1k() -> Vec<u8> {
    let mut m = b"From: Bench <bench@example.org>\r\nTo: r0@example.net\r\nSubject: benchmark message\r\n\r\n".to_vec();
    let text = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen ";
    let twice = [&text[..], &text[..]].concat();
    let mut i = 0;
    while m.len() + 78 <= 1024 {
        let mut line = twice[i % 40..i % 40 + 76].to_vec();
        if i % 10 == 3 {
            line[0] = b'.';
        }
        m.extend_from_slice(&line);
        m.extend_from_slice(b"\r\n");
        i += 1;
    }
    m
}

/// 1 MiB (1,048,576 bytes; the last line cut short so it ends with CRLF)
/// of the lines of [`message_1k`]'s body: 76 characters and CRLF, one line
/// in ten starting with a dot.
pub fn text_1mib() -> Vec<u8> {
    let text = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen ";
    let twice = [&text[..], &text[..]].concat();
    let mut m = Vec::with_capacity(1 << 20);
    let mut i = 0;
    while m.len() < 1 << 20 {
        let mut line = twice[i % 40..i % 40 + 76].to_vec();
        if i % 10 == 3 {
            line[0] = b'.';
        }
        line.extend_from_slice(b"\r\n");
        let room = (1 << 20) - m.len();
        if line.len() > room {
            line.truncate(room.saturating_sub(2));
            line.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(&line);
        i += 1;
    }
    assert_eq!(m.len(), 1 << 20);
    m
}
