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
    // A bytea literal: preparing `PARAMETERS $1` does not count its
    // parameter yet (the prepared statement reports 0 parameters, 08P01).
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
