//! The examples called from SQL: what a user types after `CREATE MODULE`.
//! Each result is compared with the same computation in Rust (the
//! references of `wasm_examples.rs`) or, for `gbt`, XGBoost's predictions.

use rustydb::engine::sql::Session;
use rustydb::engine::types::Value;

use crate::wasm_support::{TestDb, deploy, limits, open, rows, run, sqlstate};
use crate::{float, haversine_reference, levenshtein_reference, reference};

fn session(t: &TestDb, modules: &[&str]) -> Session {
    let mut s = t.db.session();
    for m in modules {
        deploy(&mut s, m, m, false);
    }
    s
}

fn sql_float(v: f64) -> String {
    format!("{v:?}::float8")
}

#[test]
fn haversine_in_select_where_and_order_by_equals_the_rust_formula() {
    let t = open(limits());
    let mut s = session(&t, &["geo"]);
    run(
        &mut s,
        "CREATE TABLE trips (id int PRIMARY KEY, lat1 float8, lon1 float8, lat2 float8, lon2 float8)",
    )
    .unwrap();
    let trips: [(f64, f64, f64, f64); 5] = [
        (48.8566, 2.3522, 51.5074, -0.1278),
        (40.7128, -74.006, 34.0522, -118.2437),
        (-33.8688, 151.2093, 35.6762, 139.6503),
        (0.0, 0.0, 0.0, 180.0),
        (10.0, 10.0, 10.0, 10.0),
    ];
    for (i, (a, b, c, d)) in trips.iter().enumerate() {
        run(
            &mut s,
            &format!(
                "INSERT INTO trips VALUES ({i}, {}, {}, {}, {})",
                sql_float(*a),
                sql_float(*b),
                sql_float(*c),
                sql_float(*d)
            ),
        )
        .unwrap();
    }
    run(&mut s, "INSERT INTO trips VALUES (9, NULL, 1, 2, 3)").unwrap();
    let got = rows(
        &mut s,
        "SELECT id, geo.haversine(lat1, lon1, lat2, lon2) FROM trips ORDER BY id",
    );
    for (row, (a, b, c, d)) in got.iter().zip(&trips) {
        let want = haversine_reference(*a, *b, *c, *d);
        assert!((float(&row[1]) - want).abs() <= 1e-9, "{row:?} vs {want}");
    }
    assert_eq!(got[5], vec![Value::Int4(9), Value::Null], "STRICT");
    let near = rows(
        &mut s,
        "SELECT id FROM trips WHERE geo.haversine(lat1, lon1, lat2, lon2) < 1000 \
         ORDER BY geo.haversine(lat1, lon1, lat2, lon2) DESC",
    );
    assert_eq!(near, [vec![Value::Int4(0)], vec![Value::Int4(4)]]);
}

#[test]
fn levenshtein_and_split_words_from_sql_including_lateral() {
    let t = open(limits());
    let mut s = session(&t, &["textkit"]);
    run(
        &mut s,
        "CREATE TABLE docs (id int PRIMARY KEY, a text, b text);
         INSERT INTO docs VALUES (1, 'kitten', 'sitting'), (2, 'naïve café', 'naive cafe'),
                                 (3, '日本語 テキスト', '日本'), (4, NULL, 'x');",
    )
    .unwrap();
    let got = rows(
        &mut s,
        "SELECT id, a, b, textkit.levenshtein(a, b) FROM docs ORDER BY id",
    );
    for row in &got {
        match (&row[1], &row[2]) {
            (Value::Text(a), Value::Text(b)) => {
                assert_eq!(row[3], Value::Int4(levenshtein_reference(a, b)), "{row:?}")
            }
            _ => assert_eq!(row[3], Value::Null, "STRICT: {row:?}"),
        }
    }
    assert_eq!(got.len(), 4);
    let words = rows(
        &mut s,
        "SELECT word, pos FROM textkit.split_words('to be, or not to be') ORDER BY pos",
    );
    let want: Vec<Vec<Value>> = ["to", "be", "or", "not", "to", "be"]
        .iter()
        .zip(1..)
        .map(|(w, p)| vec![Value::Text((*w).into()), Value::Int4(p)])
        .collect();
    assert_eq!(words, want);
    let lateral = rows(
        &mut s,
        "SELECT d.id, w.word FROM docs d, LATERAL textkit.split_words(d.a) w \
         ORDER BY d.id, w.pos",
    );
    let text = |s: &str| Value::Text(s.into());
    assert_eq!(
        lateral,
        [
            vec![Value::Int4(1), text("kitten")],
            vec![Value::Int4(2), text("naïve")],
            vec![Value::Int4(2), text("café")],
            vec![Value::Int4(3), text("日本語")],
            vec![Value::Int4(3), text("テキスト")],
        ],
        "row 4's NULL gives no rows"
    );
}

#[test]
fn left_join_lateral_keeps_rows_the_table_function_joins_nothing_to() {
    let t = open(limits());
    let mut s = session(&t, &["textkit"]);
    run(
        &mut s,
        "CREATE TABLE docs (id int PRIMARY KEY, body text);
         INSERT INTO docs VALUES (1, 'to be'), (2, ''), (3, NULL), (4, 'a b c');",
    )
    .unwrap();
    let text = |s: &str| Value::Text(s.into());
    let left = rows(
        &mut s,
        "SELECT d.id, w.word, w.pos FROM docs d \
         LEFT JOIN LATERAL textkit.split_words(d.body) w ON true ORDER BY d.id, w.pos",
    );
    assert_eq!(
        left,
        [
            vec![Value::Int4(1), text("to"), Value::Int4(1)],
            vec![Value::Int4(1), text("be"), Value::Int4(2)],
            vec![Value::Int4(2), Value::Null, Value::Null],
            vec![Value::Int4(3), Value::Null, Value::Null],
            vec![Value::Int4(4), text("a"), Value::Int4(1)],
            vec![Value::Int4(4), text("b"), Value::Int4(2)],
            vec![Value::Int4(4), text("c"), Value::Int4(3)],
        ],
        "'' has no words and NULL (STRICT) no rows: both kept with NULLs"
    );
    // ON decides which function rows join; a row none of them meets is
    // still kept once. WHERE runs after the join and may drop it.
    let on = rows(
        &mut s,
        "SELECT d.id, w.word FROM docs d \
         LEFT OUTER JOIN LATERAL textkit.split_words(d.body) w ON w.pos > 2 ORDER BY d.id",
    );
    assert_eq!(
        on,
        [
            vec![Value::Int4(1), Value::Null],
            vec![Value::Int4(2), Value::Null],
            vec![Value::Int4(3), Value::Null],
            vec![Value::Int4(4), text("c")],
        ]
    );
    let filtered = rows(
        &mut s,
        "SELECT d.id FROM docs d \
         LEFT JOIN LATERAL textkit.split_words(d.body) w ON true WHERE w.word IS NULL ORDER BY d.id",
    );
    assert_eq!(filtered, [vec![Value::Int4(2)], vec![Value::Int4(3)]]);
    let counts = rows(
        &mut s,
        "SELECT d.id, count(w.word) FROM docs d \
         LEFT JOIN textkit.split_words(d.body) w ON true GROUP BY d.id ORDER BY d.id",
    );
    assert_eq!(
        counts,
        [
            vec![Value::Int4(1), Value::Int8(2)],
            vec![Value::Int4(2), Value::Int8(0)],
            vec![Value::Int4(3), Value::Int8(0)],
            vec![Value::Int4(4), Value::Int8(3)],
        ],
        "LATERAL is implied for a function in FROM"
    );
    // The inner forms drop the rows with no words, as before.
    for sql in [
        "SELECT d.id, w.word FROM docs d CROSS JOIN LATERAL textkit.split_words(d.body) w ORDER BY d.id, w.pos",
        "SELECT d.id, w.word FROM docs d JOIN LATERAL textkit.split_words(d.body) w ON true ORDER BY d.id, w.pos",
        "SELECT d.id, w.word FROM docs d, LATERAL textkit.split_words(d.body) w ORDER BY d.id, w.pos",
    ] {
        let ids: Vec<Value> = rows(&mut s, sql)
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(ids, [1, 1, 4, 4, 4].map(Value::Int4), "{sql}");
    }
    let plan: Vec<Value> = rows(
        &mut s,
        "EXPLAIN SELECT d.id, w.word FROM docs d \
         LEFT JOIN LATERAL textkit.split_words(d.body) w ON w.pos > 2",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(
        plan,
        [
            text("Nested Loop Left Join"),
            text("  Function Call: textkit.split_words"),
            text("  Join Filter: (w.pos > 2)"),
            text("  ->  Seq Scan on docs d"),
        ]
    );
    assert_eq!(
        sqlstate(
            &mut s,
            "SELECT * FROM docs d RIGHT JOIN LATERAL textkit.split_words(d.body) w ON true"
        ),
        "0A000"
    );
}

#[test]
fn median_with_group_by_is_exact_for_odd_and_even_groups() {
    let t = open(limits());
    let mut s = session(&t, &["stats"]);
    run(
        &mut s,
        "CREATE TABLE m (g int, x float8, n bigint);
         INSERT INTO m SELECT i % 3, (i * 37 % 101)::float8 / 4, i * 9007199254740 FROM generate_series(1, 1000) AS i;
         INSERT INTO m VALUES (3, 1.5, 9007199254740993), (3, NULL, NULL), (3, 2.0, 9007199254740994);",
    )
    .unwrap();
    let got = rows(
        &mut s,
        "SELECT g, stats.median(x), stats.median_int8(n), count(x) FROM m GROUP BY g ORDER BY g",
    );
    let data = rows(&mut s, "SELECT g, x, n FROM m");
    for row in &got {
        let g = row[0].clone();
        let mut xs: Vec<f64> = data
            .iter()
            .filter(|r| r[0] == g && r[1] != Value::Null)
            .map(|r| float(&r[1]))
            .collect();
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let k = xs.len();
        let want = if k % 2 == 1 {
            xs[k / 2]
        } else {
            (xs[k / 2 - 1] + xs[k / 2]) / 2.0
        };
        assert_eq!(row[1], Value::Float8(want), "group {g:?}");
    }
    assert_eq!(got.len(), 4);
    assert_eq!(got[3][2].to_pg_text().unwrap(), "9007199254740993.5");
    assert_eq!(
        rows(&mut s, "SELECT stats.median(x) FROM m WHERE g = 99"),
        [vec![Value::Null]]
    );
}

#[test]
fn a_gbt_model_created_with_parameters_scores_as_xgboost_does() {
    let t = open(limits());
    let mut s = session(&t, &["gbt"]);
    let model = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk-examples/gbt/train/model.json"),
    )
    .unwrap();
    // A bytea literal here; `PARAMETERS $1` over the wire is below.
    let hex: String = model.iter().map(|b| format!("{b:02x}")).collect();
    run(
        &mut s,
        &format!(
            "CREATE MODEL churn(age float8, balance float8, tenure float8, activity float8) \
             RETURNS float8 LANGUAGE wasm AS 'gbt', 'score' PARAMETERS '\\x{hex}'"
        ),
    )
    .unwrap();
    run(
        &mut s,
        "CREATE TABLE customers (id int PRIMARY KEY, age float8, balance float8, tenure float8, activity float8)",
    )
    .unwrap();
    let (features, want) = reference();
    let insert = s
        .prepare("INSERT INTO customers VALUES ($1, $2, $3, $4, $5)")
        .unwrap();
    for (i, f) in features.iter().enumerate() {
        let mut params = vec![Value::Int4(i32::try_from(i).unwrap())];
        params.extend(f.iter().cloned());
        s.execute_prepared(&insert, &params).unwrap();
    }
    let got = rows(
        &mut s,
        "SELECT id, churn(age, balance, tenure, activity) FROM customers ORDER BY id",
    );
    assert_eq!(got.len(), want.len());
    for (row, want) in got.iter().zip(&want) {
        assert!((float(&row[1]) - want).abs() <= 1e-6, "{row:?} vs {want}");
    }
    run(
        &mut s,
        "CREATE MODEL broken(a float8, b float8, c float8, d float8) \
         RETURNS float8 LANGUAGE wasm AS 'gbt', 'score' PARAMETERS '\\x7b7d'",
    )
    .unwrap();
    assert_eq!(
        sqlstate(
            &mut s,
            "SELECT broken(age, balance, tenure, activity) FROM customers"
        ),
        "22023",
        "parameters the scorer cannot load fail the statement"
    );
}

/// What a driver does with a trained model: prepare `CREATE MODEL …
/// PARAMETERS $1`, learn from Describe that `$1` is bytea, bind the bytes.
#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_create_model_takes_its_parameters_as_a_bytea_parameter() {
    use tokio_postgres::types::Type;

    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = crate::binary_support::serve(dir.path());
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=rustydb dbname=rustydb"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
        .execute(
            "CREATE MODULE gbt FROM $1",
            &[&crate::wasm_support::component("gbt")],
        )
        .await
        .unwrap();
    let create = client
        .prepare(
            "CREATE MODEL churn(age float8, balance float8, tenure float8, activity float8) \
             RETURNS float8 LANGUAGE wasm AS 'gbt', 'score' PARAMETERS $1",
        )
        .await
        .unwrap();
    assert_eq!(create.params(), [Type::BYTEA]);
    assert!(create.columns().is_empty());
    let model = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk-examples/gbt/train/model.json"),
    )
    .unwrap();
    client.execute(&create, &[&model]).await.unwrap();

    let score = client
        .prepare("SELECT churn($1::float8, $2::float8, $3::float8, $4::float8)")
        .await
        .unwrap();
    let (features, want) = reference();
    for (row, want) in features.iter().zip(&want).take(20) {
        let args: Vec<Option<f64>> = row
            .iter()
            .map(|v| match v {
                Value::Float8(f) => Some(*f),
                _ => None,
            })
            .collect();
        let got: f64 = client
            .query_one(&score, &[&args[0], &args[1], &args[2], &args[3]])
            .await
            .unwrap()
            .get(0);
        assert!((got - want).abs() <= 1e-6, "{row:?}: {got} vs {want}");
    }
}

#[test]
fn an_index_on_an_immutable_wasm_function_answers_where_and_order_by() {
    let t = open(limits());
    let mut s = session(&t, &["arith"]);
    run(
        &mut s,
        "CREATE TABLE t (id int PRIMARY KEY, x bigint);
         INSERT INTO t SELECT g, (g * 7) % 50 FROM generate_series(1, 200) g;
         CREATE INDEX t_twice ON t (arith.twice_plus_one(x));",
    )
    .unwrap();
    let plan = |s: &mut Session, sql: &str| -> Vec<String> {
        rows(s, &format!("EXPLAIN {sql}"))
            .into_iter()
            .map(|r| match &r[0] {
                Value::Text(line) => line.clone(),
                other => panic!("not a plan line: {other:?}"),
            })
            .collect()
    };
    let point = "SELECT id FROM t WHERE arith.twice_plus_one(x) = 15 ORDER BY id";
    assert_eq!(
        plan(&mut s, point),
        [
            "Sort",
            "  Sort Key: id",
            "  ->  Index Scan using t_twice on t",
            "        Index Cond: (arith.twice_plus_one(x) = 15)",
        ]
    );
    let want: Vec<Vec<Value>> = (1..=200)
        .filter(|g| (g * 7) % 50 == 7)
        .map(|g| vec![Value::Int4(g)])
        .collect();
    assert_eq!(rows(&mut s, point), want, "x = 7: 2x + 1 = 15");
    // The index delivers the order of the function's values: the sort goes.
    let ordered = "SELECT id, x FROM t ORDER BY arith.twice_plus_one(x) LIMIT 3";
    assert_eq!(
        plan(&mut s, ordered),
        ["Limit", "  ->  Index Scan using t_twice on t"]
    );
    let smallest: Vec<i64> = rows(&mut s, ordered)
        .iter()
        .map(|r| match r[1] {
            Value::Int8(x) => x,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(smallest, [0, 0, 0]);
    // Entries follow the rows.
    run(&mut s, "UPDATE t SET x = 1000 WHERE id = 1").unwrap();
    run(&mut s, "DELETE FROM t WHERE id = 2").unwrap();
    run(&mut s, "INSERT INTO t VALUES (201, 7)").unwrap();
    let mut want: Vec<Vec<Value>> = (3..=200)
        .filter(|g| (g * 7) % 50 == 7)
        .map(|g| vec![Value::Int4(g)])
        .collect();
    want.push(vec![Value::Int4(201)]);
    assert_eq!(rows(&mut s, point), want, "id 1 moved away from 7");
    assert_eq!(
        rows(
            &mut s,
            "SELECT id FROM t WHERE arith.twice_plus_one(x) = 2001"
        ),
        [vec![Value::Int4(1)]]
    );
    // A guest error while computing an entry fails the write, and the row
    // is not stored.
    assert_eq!(
        sqlstate(&mut s, "INSERT INTO t VALUES (300, 4611686018427387904)"),
        "22003"
    );
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM t WHERE id = 300"),
        [vec![Value::Int8(0)]]
    );
    // Only IMMUTABLE functions make keys (PostgreSQL's 42P17).
    run(
        &mut s,
        "CREATE FUNCTION twice_volatile(bigint) RETURNS bigint LANGUAGE wasm \
           AS 'arith', 'twice_plus_one' VOLATILE;
         CREATE FUNCTION twice_stable(bigint) RETURNS bigint LANGUAGE wasm \
           AS 'arith', 'twice_plus_one' STABLE;",
    )
    .unwrap();
    for f in ["twice_volatile", "twice_stable"] {
        assert_eq!(
            sqlstate(&mut s, &format!("CREATE INDEX ON t ({f}(x))")),
            "42P17",
            "{f}"
        );
    }
}

#[test]
fn an_error_inside_a_function_aborts_the_statement_with_its_sqlstate() {
    let t = open(limits());
    let mut s = session(&t, &["arith"]);
    run(
        &mut s,
        "CREATE TABLE t (x bigint); CREATE TABLE out (y bigint);
         INSERT INTO t VALUES (1), (2), (4611686018427387904);",
    )
    .unwrap();
    assert_eq!(
        sqlstate(
            &mut s,
            "INSERT INTO out SELECT arith.twice_plus_one(x) FROM t"
        ),
        "22003"
    );
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM out"),
        [vec![Value::Int8(0)]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT sum(arith.twice_plus_one(x)) FROM t WHERE x < 100"
        ),
        [vec![Value::Numeric(8.into())]]
    );
}

#[test]
fn from_sql_the_columnar_and_the_row_path_agree_across_batches_and_nulls() {
    let t = open(limits());
    let mut s = session(&t, &["arith", "arith_rows"]);
    run(
        &mut s,
        "CREATE TABLE t (id int, x bigint);
         INSERT INTO t SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE g::bigint * 1000003 - 2000000 END
           FROM generate_series(1, 3000) AS g;",
    )
    .unwrap();
    let both =
        "SELECT id, arith.twice_plus_one(x), arith_rows.twice_plus_one(x) FROM t ORDER BY id";
    let got = rows(&mut s, both);
    assert_eq!(got.len(), 3000);
    for row in &got {
        assert_eq!(row[1], row[2], "{row:?}");
    }
    assert_eq!(got[4][1], Value::Null, "STRICT: NULL in, NULL out");
    assert_eq!(got[0][1], Value::Int8((1_000_003 - 2_000_000) * 2 + 1));
    run(&mut s, "INSERT INTO t VALUES (3001, 4611686018427387904)").unwrap();
    for f in ["arith.twice_plus_one", "arith_rows.twice_plus_one"] {
        assert_eq!(
            sqlstate(&mut s, &format!("SELECT sum({f}(x)) FROM t")),
            "22003"
        );
    }
}
