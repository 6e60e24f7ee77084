//! The storage engine side by side with SQLite, in one process and one run.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, so both engines fsync
//! every commit; both get the same page cache budget and the same keys and
//! values. Each workload reports throughput for both and the ratio
//! RustyDB / SQLite (above 1 means RustyDB is faster). Absolute numbers vary
//! with the machine; the ratios are the result.
//!
//! `cargo bench -p rustydb-engine` runs it; `BENCH_KEYS` changes the number
//! of keys (default 1,000,000).

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustydb_engine::storage::{Direction, Store, StoreOptions, TreeId, WriteBatch};

const VALUE_LEN: usize = 100;
const CACHE_BYTES: usize = 256 << 20;
const BULK_BATCH: usize = 10_000;
const LOOKUPS: usize = 200_000;
const SHORT_RANGES: usize = 20_000;
const SHORT_RANGE_LEN: usize = 50;
const COMMITS_PER_WRITER_1: usize = 2_000;
const COMMITS_PER_WRITER_4: usize = 1_000;

/// A key of 8 bytes whose order is unrelated to `i`, so inserts land all
/// over the tree as they would with real data.
fn key(i: u64) -> [u8; 8] {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)).to_be_bytes()
}

fn value(i: u64) -> Vec<u8> {
    (0..VALUE_LEN).map(|j| (i as usize + j) as u8).collect()
}

/// Lookup order: a fixed pseudo-random walk over the loaded ids.
fn probe(n: u64, i: u64) -> u64 {
    (i.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 7) % n
}

struct Row {
    name: String,
    ops: u64,
    ours: Duration,
    sqlite: Duration,
}

impl Row {
    fn rate(ops: u64, d: Duration) -> f64 {
        ops as f64 / d.as_secs_f64()
    }
}

fn main() {
    let n: u64 = std::env::var("BENCH_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let base = tempfile::tempdir().expect("temp dir");
    let ours_dir = base.path().join("rustydb");
    let lite_path = base.path().join("sqlite.db");
    println!(
        "storage benchmark: {n} keys, {VALUE_LEN}-byte values, {} MiB cache each\n",
        CACHE_BYTES >> 20
    );

    let store = Store::open(
        &ours_dir,
        StoreOptions {
            buffer_pool_bytes: CACHE_BYTES,
            ..StoreOptions::default()
        },
    )
    .expect("open store");
    let tree = store.create_tree("kv").expect("create tree");
    let lite = sqlite_open(&lite_path);
    lite.execute_batch("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        .expect("create table");

    let mut rows = Vec::new();
    rows.push(Row {
        name: format!("bulk insert ({BULK_BATCH} rows per commit)"),
        ops: n,
        ours: time(|| bulk_ours(&store, tree, n)),
        sqlite: time(|| bulk_sqlite(&lite, n)),
    });
    rows.push(Row {
        name: "random point lookups".into(),
        ops: LOOKUPS as u64,
        ours: time(|| lookups_ours(&store, tree, n)),
        sqlite: time(|| lookups_sqlite(&lite, n)),
    });
    rows.push(Row {
        name: "full scan (rows)".into(),
        ops: n,
        ours: time(|| scan_ours(&store, tree, n)),
        sqlite: time(|| scan_sqlite(&lite, n)),
    });
    rows.push(Row {
        name: format!("short range scans ({SHORT_RANGE_LEN} rows)"),
        ops: SHORT_RANGES as u64,
        ours: time(|| ranges_ours(&store, tree, n)),
        sqlite: time(|| ranges_sqlite(&lite, n)),
    });
    drop(lite);
    let store = Arc::new(store);
    for (writers, per) in [(1usize, COMMITS_PER_WRITER_1), (4, COMMITS_PER_WRITER_4)] {
        rows.push(Row {
            name: format!("durable 1-row commits, {writers} writer(s)"),
            ops: (writers * per) as u64,
            ours: time(|| commits_ours(&store, tree, n, writers, per)),
            sqlite: time(|| commits_sqlite(&lite_path, n, writers, per)),
        });
    }
    let stats = store.stats();

    println!("| workload | RustyDB ops/s | SQLite ops/s | RustyDB / SQLite |");
    println!("|---|---:|---:|---:|");
    for r in &rows {
        let (a, b) = (Row::rate(r.ops, r.ours), Row::rate(r.ops, r.sqlite));
        println!("| {} | {:.0} | {:.0} | {:.2} |", r.name, a, b, a / b);
    }
    println!(
        "\nRustyDB buffer pool: hit rate {:.3}, {} evictions; {} commits in {} WAL flushes; {} checkpoints",
        stats.pool.hit_rate(),
        stats.pool.evictions,
        stats.commits,
        stats.wal_flushes,
        stats.checkpoints
    );
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn bulk_ours(store: &Store, tree: TreeId, n: u64) {
    let mut i = 0;
    while i < n {
        let mut b = WriteBatch::new();
        for j in i..(i + BULK_BATCH as u64).min(n) {
            b.put(tree, key(j).to_vec(), value(j));
        }
        store.commit(b).expect("commit");
        i += BULK_BATCH as u64;
    }
}

fn lookups_ours(store: &Store, tree: TreeId, n: u64) {
    for i in 0..LOOKUPS as u64 {
        let j = probe(n, i);
        let v = store.get(tree, &key(j)).expect("get").expect("present");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

fn scan_ours(store: &Store, tree: TreeId, n: u64) {
    let mut scan = store.scan(tree, Bound::Unbounded, Bound::Unbounded, Direction::Forward);
    let (mut count, mut bytes) = (0u64, 0usize);
    while let Some((_, v)) = scan.next_entry().expect("scan") {
        count += 1;
        bytes += v.len();
    }
    assert_eq!(count, n);
    assert_eq!(bytes, n as usize * VALUE_LEN);
}

fn ranges_ours(store: &Store, tree: TreeId, n: u64) {
    for i in 0..SHORT_RANGES as u64 {
        let start = key(probe(n, i)).to_vec();
        let mut scan = store.scan(
            tree,
            Bound::Included(start),
            Bound::Unbounded,
            Direction::Forward,
        );
        let mut got = 0;
        while got < SHORT_RANGE_LEN && scan.next_entry().expect("scan").is_some() {
            got += 1;
        }
    }
}

fn commits_ours(store: &Arc<Store>, tree: TreeId, n: u64, writers: usize, per: usize) {
    std::thread::scope(|s| {
        for w in 0..writers {
            s.spawn(move || {
                for c in 0..per {
                    let id = n + 1_000_000 * (writers as u64) + (w * per + c) as u64;
                    let mut b = WriteBatch::new();
                    b.put(tree, key(id).to_vec(), value(id));
                    store.commit(b).expect("commit");
                }
            });
        }
    });
}

fn sqlite_open(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open sqlite");
    c.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-{};",
        CACHE_BYTES >> 10
    ))
    .expect("pragmas");
    c.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    c
}

fn bulk_sqlite(c: &rusqlite::Connection, n: u64) {
    let mut i = 0;
    while i < n {
        c.execute_batch("BEGIN").expect("begin");
        {
            let mut st = c
                .prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")
                .expect("prepare");
            for j in i..(i + BULK_BATCH as u64).min(n) {
                st.execute((&key(j)[..], value(j))).expect("insert");
            }
        }
        c.execute_batch("COMMIT").expect("commit");
        i += BULK_BATCH as u64;
    }
}

fn lookups_sqlite(c: &rusqlite::Connection, n: u64) {
    let mut st = c
        .prepare_cached("SELECT v FROM kv WHERE k = ?1")
        .expect("prepare");
    for i in 0..LOOKUPS as u64 {
        let j = probe(n, i);
        let v: Vec<u8> = st.query_row([&key(j)[..]], |r| r.get(0)).expect("lookup");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

fn scan_sqlite(c: &rusqlite::Connection, n: u64) {
    let mut st = c
        .prepare_cached("SELECT k, v FROM kv ORDER BY k")
        .expect("prepare");
    let mut rows = st.query([]).expect("query");
    let (mut count, mut bytes) = (0u64, 0usize);
    while let Some(r) = rows.next().expect("row") {
        let v = r.get_ref(1).expect("v").as_blob().expect("blob");
        bytes += v.len();
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(bytes, n as usize * VALUE_LEN);
}

fn ranges_sqlite(c: &rusqlite::Connection, n: u64) {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT {SHORT_RANGE_LEN}"
        ))
        .expect("prepare");
    for i in 0..SHORT_RANGES as u64 {
        let start = key(probe(n, i));
        let mut rows = st.query([&start[..]]).expect("query");
        while rows.next().expect("row").is_some() {}
    }
}

fn commits_sqlite(path: &Path, n: u64, writers: usize, per: usize) {
    std::thread::scope(|s| {
        for w in 0..writers {
            s.spawn(move || {
                let c = sqlite_open(path);
                let mut st = c
                    .prepare("INSERT INTO kv (k, v) VALUES (?1, ?2)")
                    .expect("prepare");
                for i in 0..per {
                    let id = n + 1_000_000 * (writers as u64) + (w * per + i) as u64;
                    // Autocommit: one durable transaction per row.
                    st.execute((&key(id)[..], value(id))).expect("insert");
                }
            });
        }
    });
}
