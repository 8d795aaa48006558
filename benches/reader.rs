//! Reader and formatting throughput over the committed test WAL (pg15-basic).

use std::io::Read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pglcr::dump::{self, Options, RangeRequest, StatsMode};
use pglcr::wal::lsn::Lsn;
use pglcr::wal::reader::Reader;
use pglcr::wal::segment::WalDir;

fn unpack() -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pg15-basic/wal");
    let mut total = 0;
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(plain) = name.strip_suffix(".zst") {
            let mut bytes = Vec::new();
            zstd::stream::read::Decoder::new(std::fs::File::open(&p).unwrap())
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            if plain.len() == 24 {
                total += bytes.len() as u64;
            }
            std::fs::write(dir.path().join(plain), bytes).unwrap();
        }
    }
    (dir, total)
}

fn first_segment(dir: &std::path::Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24)
        .collect();
    names.sort();
    names[0].clone()
}

fn bench(c: &mut Criterion) {
    let (dir, bytes) = unpack();
    let start_seg = first_segment(dir.path());
    let mut request = RangeRequest {
        path: Some(dir.path().to_path_buf()),
        start: None,
        ..Default::default()
    };
    request.start_seg = Some(start_seg);
    let mut range = dump::locate::resolve(&request).unwrap();
    range.end = None;

    let mut group = c.benchmark_group("pg15-basic");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("read records", |b| {
        b.iter(|| {
            let mut reader = Reader::with_info(
                WalDir::new(&range.dir),
                range.tli,
                range.info,
                range.seg_size,
            );
            let first = reader.find_first_record(Lsn(range.start.0)).unwrap();
            reader.begin_read(first);
            let mut n = 0u64;
            while let Some(rec) = reader.next_record().unwrap() {
                n += rec.blocks.len() as u64 + 1;
            }
            n
        })
    });
    group.bench_function("text output", |b| {
        b.iter(|| {
            let mut sink = std::io::sink();
            dump::run(&range, &Options::default(), &mut sink).unwrap()
        })
    });
    group.bench_function("stats=record", |b| {
        let opts = Options {
            stats: Some(StatsMode::Record),
            ..Default::default()
        };
        b.iter(|| {
            let mut sink = std::io::sink();
            dump::run(&range, &opts, &mut sink).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
