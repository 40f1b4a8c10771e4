//! Micro-benchmarks of the hashing engine: whole files, shards, and the
//! one-read whole-and-shards pass that init uses. Run with `cargo bench`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modelseal::hashing::{HashRequest, NoProgress, Want, hash_files};
use modelseal::stamp::FileStamp;
use std::path::Path;

const SIZE: usize = 64 << 20;
const SHARD: u64 = 16 << 20;

fn request(dir: &Path, name: &str, want: Want) -> HashRequest {
    let meta = std::fs::symlink_metadata(dir.join(name)).expect("bench file");
    HashRequest {
        path: name.into(),
        stamp: FileStamp::from_metadata(&meta),
        shard_size: SHARD,
        want,
        source: None,
    }
}

fn engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data: Vec<u8> = (0..SIZE)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    for i in 0..4 {
        std::fs::write(dir.path().join(format!("f{i}")), &data).expect("write");
    }
    let mut group = c.benchmark_group("hash_files");
    group.sample_size(10);
    for (label, want) in [
        ("whole", Want::Whole),
        ("shards", Want::Shards),
        ("whole_and_shards", Want::WholeAndShards),
    ] {
        for jobs in [1, 2] {
            let requests: Vec<_> = (0..4)
                .map(|i| request(dir.path(), &format!("f{i}"), want))
                .collect();
            group.throughput(Throughput::Bytes((SIZE * 4) as u64));
            group.bench_with_input(BenchmarkId::new(label, jobs), &jobs, |b, &jobs| {
                b.iter(|| hash_files(dir.path(), &requests, jobs, &NoProgress));
            });
        }
    }
    group.finish();

    // Many small files: the per-file cost (open, stat, read, close).
    let small = tempfile::tempdir().expect("temp dir");
    let requests: Vec<_> = (0..2000)
        .map(|i| {
            let name = format!("s{i}");
            std::fs::write(small.path().join(&name), &data[..4096]).expect("write");
            request(small.path(), &name, Want::Whole)
        })
        .collect();
    let mut group = c.benchmark_group("hash_small_files");
    group.sample_size(20);
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("2000x4KiB", |b| {
        b.iter(|| hash_files(small.path(), &requests, 2, &NoProgress));
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
