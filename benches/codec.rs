//! Codec micro-benchmarks: decoding a `location` frame (the hot inbound message) and
//! encoding a `nearest` push (the hot outbound one), in JSON and MessagePack.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use heyblue::bench_api::proto::{self as proto_bench_api, Format};

const FORMATS: [(Format, &str); 2] = [(Format::Json, "json"), (Format::MessagePack, "msgpack")];

fn decode_location(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("decode_location");
    for (format, label) in FORMATS {
        let frame = proto_bench_api::location_frame(format);
        assert!(
            proto_bench_api::decode(format, &frame).is_ok(),
            "sample frame decodes"
        );
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function(label, |bencher| {
            bencher.iter(|| proto_bench_api::decode(format, black_box(&frame)))
        });
    }
    group.finish();
}

fn encode_nearest(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("encode_nearest");
    let push = proto_bench_api::nearest_push();
    for (format, label) in FORMATS {
        let frame_len = proto_bench_api::encode(&push, format).len();
        assert!(frame_len > 0, "sample push encodes");
        group.throughput(Throughput::Bytes(frame_len as u64));
        group.bench_function(label, |bencher| {
            bencher.iter(|| proto_bench_api::encode(black_box(&push), format))
        });
    }
    group.finish();
}

criterion_group!(benches, decode_location, encode_nearest);
criterion_main!(benches);
