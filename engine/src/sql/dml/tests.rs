//! DML, prepared and run over the in-memory store: parameters typed by the
//! columns they meet, point reads by primary key, RETURNING, ON CONFLICT,
//! and sequences that ignore rollbacks.

use std::sync::Arc;

use crate::catalog::memkv::MemKv;
use crate::catalog::{Catalog, KvStore, MvccKv, TxnConfig, prefix_end, table_prefix};
use crate::mvcc::{Mvcc, MvccOptions};
use crate::sql::{Database, Session, StatementResult};
use crate::storage::io::SimVfs;
use crate::storage::{Store, StoreOptions};
use crate::types::{DataType, Value, decode_key, encode_key, encode_row};

fn session() -> Session {
    Database::with_store(Arc::new(MemKv::default())).session()
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match s
        .execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .pop()
    {
        Some(StatementResult::Rows { rows, .. }) => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn prepared_dml_types_its_parameters_from_columns() {
    let mut s = session();
    s.execute("CREATE TABLE acct (id bigint PRIMARY KEY, balance int, note text)")
        .unwrap();
    let upd = s
        .prepare("UPDATE acct SET balance = balance + $1 WHERE id = $2 RETURNING balance")
        .unwrap();
    assert_eq!(upd.param_types, [DataType::Int4, DataType::Int8]);
    assert_eq!(upd.columns.len(), 1);
    let ins = s.prepare("INSERT INTO acct VALUES ($1, $2, $3)").unwrap();
    assert_eq!(
        ins.param_types,
        [DataType::Int8, DataType::Int4, DataType::Text]
    );
    let sel = s.prepare("SELECT balance FROM acct WHERE id = $1").unwrap();
    assert_eq!(sel.param_types, [DataType::Int8]);

    s.execute_prepared(&ins, &[Value::Int8(7), Value::Int4(10), Value::Null])
        .unwrap();
    let out = s
        .execute_prepared(&upd, &[Value::Int4(5), Value::Int8(7)])
        .unwrap();
    let StatementResult::Rows { rows, tag, .. } = out else {
        panic!("UPDATE ... RETURNING returns rows");
    };
    assert_eq!(tag, "UPDATE 1");
    assert_eq!(rows, [[Value::Int4(15)]]);
}

#[test]
fn point_reads_and_index_maintenance_agree_with_scans() {
    let mut s = session();
    s.execute(
        "CREATE TABLE t (a int, b int, c text, PRIMARY KEY (a, b));
         CREATE INDEX t_c ON t (c);
         INSERT INTO t SELECT g % 10, g, 'v' || (g % 3) FROM generate_series(1, 100) g;
         UPDATE t SET c = 'moved' WHERE a = 3 AND b = 13;
         DELETE FROM t WHERE c = 'v0' AND a = 0",
    )
    .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT c FROM t WHERE a = 3 AND b = 13"),
        [[Value::Text("moved".into())]]
    );
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM t WHERE c = 'moved'"),
        [[Value::Int8(1)]]
    );
    // The index and a scan that cannot use it count the same rows.
    let by_index = rows(&mut s, "SELECT count(*) FROM t WHERE c = 'v1'");
    let by_scan = rows(&mut s, "SELECT count(*) FROM t WHERE c || '' = 'v1'");
    assert_eq!(by_index, by_scan);
    assert_eq!(
        rows(
            &mut s,
            "SELECT b FROM t WHERE a = 5 ORDER BY b DESC LIMIT 2"
        ),
        [[Value::Int4(95)], [Value::Int4(85)]]
    );
}

#[test]
fn on_conflict_updates_the_existing_row_and_sequences_ignore_rollback() {
    let mut s = session();
    s.execute(
        "CREATE TABLE kv (k serial PRIMARY KEY, name text UNIQUE, n int);
         INSERT INTO kv (name, n) VALUES ('a', 1)",
    )
    .unwrap();
    let out = rows(
        &mut s,
        "INSERT INTO kv (name, n) VALUES ('a', 5) ON CONFLICT (name) DO UPDATE SET n = kv.n + excluded.n RETURNING k, n",
    );
    assert_eq!(out, [[Value::Int4(1), Value::Int4(6)]]);
    s.execute("BEGIN; INSERT INTO kv (name) VALUES ('b'); ROLLBACK")
        .unwrap();
    // The conflicting insert and the rolled-back one each took a value.
    assert_eq!(
        rows(&mut s, "INSERT INTO kv (name) VALUES ('c') RETURNING k"),
        [[Value::Int4(4)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT currval('kv_k_seq')"),
        [[Value::Int8(4)]]
    );
}

/// Runs `sql` (one DML statement) through `cache` as a routine's SQL is.
fn run_cached(
    s: &mut Session,
    sql: &str,
    params: &[Value],
    cache: &mut super::BoundCache,
) -> crate::sql::SqlResult<StatementResult> {
    let parsed = crate::sql::parser::parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let [crate::sql::parser::Statement::Standard(stmt)] = parsed.as_slice() else {
        panic!("{sql}: not one standard statement");
    };
    let types: Vec<Option<DataType>> = params.iter().map(Value::data_type).collect();
    s.in_statement(|s| crate::sql::hooks::execute_dml_cached(s, stmt, params, &types, cache))
}

#[test]
fn a_cached_dml_statement_is_bound_again_after_ddl() {
    let mut s = session();
    s.execute("CREATE TABLE log (id int PRIMARY KEY, note text)")
        .unwrap();
    let mut cache = super::BoundCache::default();
    let insert = "INSERT INTO log (id, note) VALUES ($1, $2)";
    let b = Value::Text("b".into());
    run_cached(&mut s, insert, &[Value::Int4(1), Value::Null], &mut cache).unwrap();
    run_cached(&mut s, insert, &[Value::Int4(2), b.clone()], &mut cache).unwrap();
    // A column added since is filled with its default by the same
    // statement text, and a CHECK added since is checked.
    s.execute(
        "ALTER TABLE log ADD COLUMN seen int; ALTER TABLE log ALTER COLUMN seen SET DEFAULT 7",
    )
    .unwrap();
    run_cached(&mut s, insert, &[Value::Int4(3), Value::Null], &mut cache).unwrap();
    s.execute("ALTER TABLE log ADD CONSTRAINT small CHECK (id < 4)")
        .unwrap();
    let e = run_cached(&mut s, insert, &[Value::Int4(4), Value::Null], &mut cache).unwrap_err();
    assert_eq!(e.sqlstate().code(), "23514");
    assert_eq!(
        rows(&mut s, "SELECT id, note, seen FROM log ORDER BY id"),
        [
            vec![Value::Int4(1), Value::Null, Value::Null],
            vec![Value::Int4(2), b, Value::Null],
            vec![Value::Int4(3), Value::Null, Value::Int4(7)],
        ]
    );
}

#[test]
fn a_writing_cte_is_described_without_running_and_runs_once_per_execution() {
    let mut s = session();
    s.execute("CREATE TABLE q (id int, done bool)").unwrap();
    s.execute("INSERT INTO q VALUES (1, false), (2, false), (3, true)")
        .unwrap();
    let take = s
        .prepare(
            "WITH taken AS (DELETE FROM q WHERE id <= $1 RETURNING id) \
             SELECT count(*), max(id) FROM taken",
        )
        .unwrap();
    assert_eq!(take.param_types, [DataType::Int4]);
    assert_eq!(take.columns.len(), 2);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM q"), [[Value::Int8(3)]]);
    let StatementResult::Rows { rows: taken, .. } =
        s.execute_prepared(&take, &[Value::Int4(2)]).unwrap()
    else {
        panic!("the WITH query returns rows");
    };
    assert_eq!(taken, [[Value::Int8(2), Value::Int4(2)]]);
    assert_eq!(rows(&mut s, "SELECT id FROM q"), [[Value::Int4(3)]]);
}

/// A database over a real (simulated-disk) MVCC store, and the store.
fn mvcc_database() -> (Database, Arc<MvccKv>) {
    let sim = SimVfs::new();
    let store = Store::open(
        std::path::Path::new("/db"),
        StoreOptions {
            vfs: Arc::new(sim),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mvcc = Mvcc::open_with(
        Arc::new(store),
        MvccOptions {
            vacuum_interval: None,
        },
    )
    .unwrap();
    let kv = Arc::new(MvccKv::new(mvcc));
    (Database::with_store(kv.clone()), kv)
}

/// The stored row keys of table `name` and their hidden row ids.
fn row_ids(kv: &MvccKv, name: &str) -> (Vec<u8>, Vec<i64>) {
    let mut txn = kv.begin(TxnConfig::default());
    txn.begin_statement();
    let catalog = Catalog::load(txn.as_mut()).unwrap();
    let table = catalog.tables().find(|t| t.name == name).unwrap();
    let prefix = table_prefix(table.id);
    let rows = txn
        .scan_chunk(
            std::ops::Bound::Included(prefix.clone()),
            prefix_end(&prefix),
            false,
            usize::MAX,
        )
        .unwrap();
    let ids = rows
        .iter()
        .map(
            |(k, _)| match decode_key(&k[prefix.len()..], &[DataType::Int8], &[]).unwrap()[..] {
                [Value::Int8(id)] => id,
                ref other => panic!("not a row id: {other:?}"),
            },
        )
        .collect();
    (prefix, ids)
}

#[test]
fn hidden_row_ids_start_above_the_stored_ones_whatever_the_clock_did() {
    let (db, kv) = mvcc_database();
    let mut s = db.session();
    s.execute("CREATE TABLE log (line text)").unwrap();
    // Rows a process whose clock ran ahead left behind: ids the counter
    // would hand out next and beyond, which a blind insert would overwrite.
    let (prefix, _) = row_ids(&kv, "log");
    let ahead = i64::try_from(super::row_id::peek_next()).unwrap() + 1_000_000;
    let mut txn = kv.begin(TxnConfig::default());
    txn.begin_statement();
    for id in [ahead - 1_000_000, ahead] {
        let mut key = prefix.clone();
        encode_key(&[Value::Int8(id)], &[], &mut key);
        let mut row = Vec::new();
        encode_row(&[Value::Text(format!("old {id}"))], &mut row);
        txn.put(&key, &row).unwrap();
    }
    txn.commit().unwrap();

    s.execute("INSERT INTO log VALUES ('a'), ('b'), ('c')")
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM log WHERE line LIKE 'old %'"),
        [[Value::Int8(2)]],
        "no stored row was overwritten"
    );
    let (_, ids) = row_ids(&kv, "log");
    assert_eq!(ids.len(), 5);
    assert!(ids[2..].iter().all(|&id| id > ahead), "{ids:?}");
}

#[test]
fn hidden_row_ids_survive_rollbacks_and_deletes_without_reuse() {
    let (db, kv) = mvcc_database();
    let mut s = db.session();
    s.execute("CREATE TABLE log (line text)").unwrap();
    s.execute("INSERT INTO log VALUES ('kept')").unwrap();
    s.execute("BEGIN").unwrap();
    s.execute("INSERT INTO log VALUES ('undone')").unwrap();
    s.execute("ROLLBACK").unwrap();
    s.execute("INSERT INTO log VALUES ('deleted')").unwrap();
    s.execute("DELETE FROM log WHERE line = 'deleted'").unwrap();
    s.execute("INSERT INTO log VALUES ('last')").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT line FROM log"),
        [[Value::Text("kept".into())], [Value::Text("last".into())]]
    );
    let (_, ids) = row_ids(&kv, "log");
    assert!(ids[0] < ids[1], "{ids:?}");
}
