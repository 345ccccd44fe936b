//! The body encoder (`smtp_proto::BodyEncoder`, DATA mode: dot-stuffing and
//! line-end normalisation) on 10 MiB of realistic text, next to a plain copy
//! of the same bytes into the same kind of buffer. Run with
//! `bench/run.sh micro`.
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use our_smtp_proto::{BodyEncoder, BodyMode};

fn main() {
    divan::main();
}

/// 10 MiB of text in 76-character CRLF lines, one line in ten starting with
/// a dot (as quoted-printable and signatures make them).
pub fn text() -> Vec<u8> {
    let words = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen ";
    let mut out = Vec::with_capacity(10 << 20);
    let mut i = 0;
    while out.len() < 10 << 20 {
        let start = i % 40;
        let mut line = [words.as_slice(), words.as_slice()].concat()[start..start + 76].to_vec();
        if i % 10 == 3 {
            line[0] = b'.';
        }
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    out.truncate(10 << 20);
    out
}

/// The whole 10 MiB in one call (the output buffer is reused).
#[divan::bench]
fn encode_data_mode(bencher: Bencher) {
    let input = text();
    let mut out = Vec::with_capacity(input.len() * 2);
    bencher
        .counter(BytesCount::new(input.len()))
        .bench_local(|| {
            out.clear();
            let mut e = BodyEncoder::new(BodyMode::Data);
            e.encode(black_box(&input), &mut out).unwrap();
            e.finish(&mut out);
            black_box(out.len())
        });
}

/// As the adapters feed it: 64 KiB chunks.
#[divan::bench]
fn encode_data_mode_64k_chunks(bencher: Bencher) {
    let input = text();
    let mut out = Vec::with_capacity(input.len() * 2);
    bencher
        .counter(BytesCount::new(input.len()))
        .bench_local(|| {
            out.clear();
            let mut e = BodyEncoder::new(BodyMode::Data);
            for chunk in black_box(&input).chunks(64 * 1024) {
                e.encode(chunk, &mut out).unwrap();
            }
            e.finish(&mut out);
            black_box(out.len())
        });
}

/// The floor: copying the same bytes.
#[divan::bench]
fn memcpy(bencher: Bencher) {
    let input = text();
    let mut out = Vec::with_capacity(input.len() * 2);
    bencher
        .counter(BytesCount::new(input.len()))
        .bench_local(|| {
            out.clear();
            out.extend_from_slice(black_box(&input));
            black_box(out.len())
        });
}

/// The proposal of bench/src/proposal.rs: runs copied whole, the SWAR search.
#[divan::bench]
fn proposed_runs_swar(bencher: Bencher) {
    proposed(bencher, smtp_bench::proposal::find_swar);
}

/// The proposal with memchr2 (SSE2/AVX2) as the search.
#[divan::bench]
fn proposed_runs_memchr2(bencher: Bencher) {
    proposed(bencher, smtp_bench::proposal::find_memchr2);
}

fn proposed(bencher: Bencher, find: smtp_bench::proposal::Find) {
    let input = text();
    let mut out = Vec::with_capacity(input.len() * 2);
    bencher
        .counter(BytesCount::new(input.len()))
        .bench_local(|| {
            out.clear();
            let mut e = smtp_bench::proposal::RunEncoder::new(true);
            e.encode(black_box(&input), &mut out, find).unwrap();
            e.finish(&mut out);
            black_box(out.len())
        });
}

/// The proposal with one memchr2_iter over the chunk.
#[divan::bench]
fn proposed_runs_memchr2_iter(bencher: Bencher) {
    let input = text();
    let mut out = Vec::with_capacity(input.len() * 2);
    bencher
        .counter(BytesCount::new(input.len()))
        .bench_local(|| {
            out.clear();
            let mut e = smtp_bench::proposal::RunEncoder::new(true);
            e.encode_iter(black_box(&input), &mut out).unwrap();
            e.finish(&mut out);
            black_box(out.len())
        });
}
