//! The SDK examples `geo`, `textkit`, `stats` and `gbt`, built from
//! `sdk-examples/` with the Rust SDK's attributes, called through the Wasm
//! host and checked against the same computation written here in plain
//! Rust (or, for `gbt`, against XGBoost's own predictions).

#![allow(clippy::unwrap_used)]

mod binary_support;
mod languages_support;
mod wasm_examples_sql;
mod wasm_support;

use std::path::Path;

use languages_support::pure_ctx;
use rustydb::engine::extension::{RoutineDescription, RoutineInvoker, RoutineRef, Row};
use rustydb::engine::types::Value;
use wasm_support::{TestDb, limits, open};

/// Loads example `name` into the host and returns its handle and the
/// routines it describes.
fn load(t: &TestDb, name: &str) -> (String, Vec<RoutineDescription>) {
    let loaded = t
        .invoker
        .load_module(name, &wasm_support::component(name))
        .unwrap();
    (loaded.handle, loaded.routines)
}

/// `name(params) -> returns, kind, volatility, strict` as one line.
fn signature(routines: &[RoutineDescription], name: &str) -> String {
    let r = routines.iter().find(|r| r.name == name).unwrap();
    let cols = |c: &[rustydb::engine::extension::ColumnDescription]| {
        c.iter()
            .map(|c| format!("{} {}", c.name, c.data_type.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{:?} {name}({}) -> ({}) {:?} strict={}",
        r.kind,
        cols(&r.params),
        cols(&r.returns),
        r.volatility,
        r.strict
    )
}

/// A deterministic stream of numbers in [0, 1) (a 64-bit LCG), so the
/// inputs are many and varied but every run checks the same ones.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Float8(x) => *x,
        other => panic!("not float8: {other:?}"),
    }
}

// ---------------------------------------------------------------- geo

/// The haversine formula, written independently of the guest's.
fn haversine_reference(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6371.0088;
    let (phi1, phi2) = (
        lat1 * std::f64::consts::PI / 180.0,
        lat2 * std::f64::consts::PI / 180.0,
    );
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1) * std::f64::consts::PI / 180.0;
    let h = (dphi / 2.0).sin() * (dphi / 2.0).sin()
        + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin() * (dlambda / 2.0).sin();
    2.0 * r * h.sqrt().min(1.0).asin()
}

#[test]
fn haversine_equals_the_formula_in_rust_and_is_strict() {
    let t = open(limits());
    let (geo, routines) = load(&t, "geo");
    assert_eq!(
        signature(&routines, "haversine"),
        "Scalar haversine(lat1 double precision, lon1 double precision, lat2 double precision, \
         lon2 double precision) -> (haversine double precision) Immutable strict=true"
    );
    let mut rng = Lcg(7);
    let mut rows: Vec<Row> = (0..2000)
        .map(|_| {
            vec![
                Value::Float8(rng.next() * 180.0 - 90.0),
                Value::Float8(rng.next() * 360.0 - 180.0),
                Value::Float8(rng.next() * 180.0 - 90.0),
                Value::Float8(rng.next() * 360.0 - 180.0),
            ]
        })
        .collect();
    // Known distances: Paris to London, the same point, antipodes.
    rows.push(vec![
        Value::Float8(48.8566),
        Value::Float8(2.3522),
        Value::Float8(51.5074),
        Value::Float8(-0.1278),
    ]);
    rows.push(vec![Value::Float8(10.0); 4]);
    rows.push(vec![
        Value::Float8(0.0),
        Value::Float8(0.0),
        Value::Float8(0.0),
        Value::Float8(180.0),
    ]);
    rows.push(vec![
        Value::Float8(1.0),
        Value::Null,
        Value::Float8(2.0),
        Value::Float8(3.0),
    ]);
    let out = t
        .invoker
        .call_scalar(&pure_ctx(), RoutineRef::new(&geo, "haversine"), &rows)
        .unwrap();
    assert_eq!(out.len(), rows.len());
    for (row, got) in rows.iter().zip(&out).take(rows.len() - 1) {
        let x: Vec<f64> = row.iter().map(float).collect();
        let want = haversine_reference(x[0], x[1], x[2], x[3]);
        assert!(
            (float(got) - want).abs() <= 1e-9,
            "{x:?}: {got:?} vs {want}"
        );
    }
    let n = rows.len();
    assert!((float(&out[n - 4]) - 343.5).abs() < 1.0, "{:?}", out[n - 4]);
    assert_eq!(out[n - 3], Value::Float8(0.0));
    assert!((float(&out[n - 2]) - std::f64::consts::PI * 6371.0088).abs() < 1e-9);
    assert_eq!(out[n - 1], Value::Null, "STRICT: NULL in, NULL out");
}

// ---------------------------------------------------------------- textkit

/// Levenshtein distance by the full Wagner-Fischer matrix over characters.
fn levenshtein_reference(a: &str, b: &str) -> i32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let sub = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    i32::try_from(d[a.len()][b.len()]).unwrap()
}

#[test]
fn levenshtein_counts_characters_as_the_reference_does_and_is_strict() {
    let t = open(limits());
    let (textkit, routines) = load(&t, "textkit");
    assert_eq!(
        signature(&routines, "levenshtein"),
        "Scalar levenshtein(a text, b text) -> (levenshtein integer) Immutable strict=true"
    );
    let words = [
        "",
        "a",
        "kitten",
        "sitting",
        "flaw",
        "lawn",
        "naïve",
        "naive",
        "straße",
        "strasse",
        "日本語",
        "日本",
        "🦀rust🦀",
        "rust",
        "ÅÄÖ",
        "AAO",
        "résumé",
        "resume",
        "Saturday",
        "Sunday",
        "gumbo",
        "gambol",
    ];
    let mut rows: Vec<Row> = Vec::new();
    for a in words {
        for b in words {
            rows.push(vec![Value::Text(a.into()), Value::Text(b.into())]);
        }
    }
    // Longer generated strings over a small alphabet with multi-byte letters.
    let alphabet: Vec<char> = "abcé日🦀".chars().collect();
    let mut rng = Lcg(11);
    let mut word = |len: usize| -> String {
        (0..len)
            .map(|_| alphabet[(rng.next() * alphabet.len() as f64) as usize])
            .collect()
    };
    for len in [5, 17, 40, 64] {
        for _ in 0..25 {
            rows.push(vec![Value::Text(word(len)), Value::Text(word(len / 2 + 3))]);
        }
    }
    let out = t
        .invoker
        .call_scalar(&pure_ctx(), RoutineRef::new(&textkit, "levenshtein"), &rows)
        .unwrap();
    for (row, got) in rows.iter().zip(&out) {
        let (Value::Text(a), Value::Text(b)) = (&row[0], &row[1]) else {
            unreachable!()
        };
        assert_eq!(
            *got,
            Value::Int4(levenshtein_reference(a, b)),
            "{a:?} {b:?}"
        );
    }
    let known = |a: &str, b: &str| vec![Value::Text(a.into()), Value::Text(b.into())];
    let out = t
        .invoker
        .call_scalar(
            &pure_ctx(),
            RoutineRef::new(&textkit, "levenshtein"),
            &[
                known("kitten", "sitting"),
                known("naïve", "naive"),
                known("日本語", ""),
                vec![Value::Null, Value::Text("x".into())],
                vec![Value::Text("x".into()), Value::Null],
            ],
        )
        .unwrap();
    assert_eq!(
        out,
        [
            Value::Int4(3),
            Value::Int4(1),
            Value::Int4(3),
            Value::Null,
            Value::Null
        ]
    );
}

#[test]
fn split_words_returns_each_word_with_its_position() {
    let t = open(limits());
    let (textkit, routines) = load(&t, "textkit");
    assert_eq!(
        signature(&routines, "split_words"),
        "Table split_words(text text) -> (word text, pos integer) Immutable strict=true"
    );
    let split = |v: Value| {
        t.invoker
            .call_table(&pure_ctx(), RoutineRef::new(&textkit, "split_words"), &[v])
            .unwrap()
    };
    let row = |w: &str, p: i32| vec![Value::Text(w.into()), Value::Int4(p)];
    assert_eq!(
        split(Value::Text("  Hello, wörld! 42 times--Ωmega_x ".into())),
        [
            row("Hello", 1),
            row("wörld", 2),
            row("42", 3),
            row("times", 4),
            row("Ωmega", 5),
            row("x", 6)
        ]
    );
    assert_eq!(split(Value::Text(String::new())), Vec::<Row>::new());
    assert_eq!(split(Value::Text(" ,;! ".into())), Vec::<Row>::new());
    assert_eq!(split(Value::Null), Vec::<Row>::new(), "STRICT: no rows");
}

// ---------------------------------------------------------------- stats

/// Runs aggregate `name` with the rows split into `parts`, each part folded
/// in batches of `batch` rows, and the partial states merged left to right.
fn aggregate(
    t: &TestDb,
    handle: &str,
    name: &str,
    rows: &[Row],
    parts: usize,
    batch: usize,
) -> Value {
    let ctx = pure_ctx();
    let agg = RoutineRef::new(handle, name);
    let chunk = rows.len().div_ceil(parts.max(1)).max(1);
    let mut merged: Option<Vec<u8>> = None;
    for part in rows.chunks(chunk).chain(std::iter::once(&[][..])) {
        let mut state = t.invoker.aggregate_init(&ctx, agg).unwrap();
        for b in part.chunks(batch) {
            state = t
                .invoker
                .aggregate_accumulate(&ctx, agg, &state, b)
                .unwrap();
        }
        merged = Some(match merged {
            None => state,
            Some(left) => t.invoker.aggregate_merge(&ctx, agg, &left, &state).unwrap(),
        });
    }
    t.invoker
        .aggregate_finish(&ctx, agg, &merged.unwrap())
        .unwrap()
}

fn median_f64_reference(values: &[f64]) -> Value {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    match v.len() {
        0 => Value::Null,
        n if n % 2 == 1 => Value::Float8(v[n / 2]),
        n => Value::Float8((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

#[test]
fn median_of_doubles_is_exact_for_odd_and_even_counts_across_batches_and_merges() {
    let t = open(limits());
    let (stats, routines) = load(&t, "stats");
    assert_eq!(
        signature(&routines, "median"),
        "Aggregate median(x double precision) -> (median double precision) Immutable strict=true"
    );
    let mut rng = Lcg(3);
    let values: Vec<f64> = (0..5001).map(|_| (rng.next() - 0.5) * 1e6).collect();
    let rows = |xs: &[f64]| -> Vec<Row> { xs.iter().map(|x| vec![Value::Float8(*x)]).collect() };
    for n in [1, 2, 3, 4, 10, 11, 999, 1000, 5000, 5001] {
        let xs = &values[..n];
        for (parts, batch) in [(1, 1024), (3, 7), (7, 100)] {
            assert_eq!(
                aggregate(&t, &stats, "median", &rows(xs), parts, batch),
                median_f64_reference(xs),
                "n={n} parts={parts} batch={batch}"
            );
        }
    }
    let with_nulls: Vec<Row> = [Some(3.5), None, Some(-1.0), Some(10.0), None, Some(2.0)]
        .iter()
        .map(|x| vec![x.map_or(Value::Null, Value::Float8)])
        .collect();
    assert_eq!(
        aggregate(&t, &stats, "median", &with_nulls, 2, 2),
        Value::Float8(2.75),
        "NULLs are ignored: the median of 3.5, -1, 10, 2"
    );
    assert_eq!(aggregate(&t, &stats, "median", &[], 1, 10), Value::Null);
    assert_eq!(
        aggregate(&t, &stats, "median", &[vec![Value::Null]], 1, 10),
        Value::Null
    );
    let huge = rows(&[f64::MAX, f64::MAX]);
    assert_eq!(
        aggregate(&t, &stats, "median", &huge, 2, 1),
        Value::Float8(f64::MAX),
        "the mean of the middle pair does not overflow"
    );
    let corrupt = t
        .invoker
        .aggregate_finish(&pure_ctx(), RoutineRef::new(&stats, "median"), &[1, 2, 3])
        .unwrap_err();
    assert_eq!(corrupt.code.to_string(), "22P03");
}

fn numeric_text(v: &Value) -> String {
    match v {
        Value::Numeric(_) => v.to_pg_text().unwrap(),
        other => panic!("not numeric: {other:?}"),
    }
}

#[test]
fn median_of_bigints_is_exact_numeric_past_the_precision_of_a_double() {
    let t = open(limits());
    let (stats, routines) = load(&t, "stats");
    assert_eq!(
        signature(&routines, "median_int8"),
        "Aggregate median_int8(x bigint) -> (median_int8 numeric) Immutable strict=true"
    );
    let rows = |xs: &[i64]| -> Vec<Row> { xs.iter().map(|x| vec![Value::Int8(*x)]).collect() };
    let cases: [(&[i64], &str); 7] = [
        (&[5], "5"),
        (&[1, 2], "1.5"),
        (&[-1, -2], "-1.5"),
        (&[-1, 0], "-0.5"),
        (&[9, 1, 5, 3], "4"),
        // 2^53 + 1 and 2^53 + 2: no double holds their mean.
        (
            &[9_007_199_254_740_993, 9_007_199_254_740_994],
            "9007199254740993.5",
        ),
        (&[i64::MAX, i64::MAX - 1, i64::MIN], "9223372036854775806"),
    ];
    for (xs, want) in cases {
        for (parts, batch) in [(1, 100), (2, 1), (3, 2)] {
            assert_eq!(
                numeric_text(&aggregate(
                    &t,
                    &stats,
                    "median_int8",
                    &rows(xs),
                    parts,
                    batch
                )),
                want,
                "{xs:?} parts={parts}"
            );
        }
    }
    let mut rng = Lcg(5);
    let mut many: Vec<i64> = (0..2000)
        .map(|_| ((rng.next() - 0.5) * 2e18) as i64)
        .collect();
    let got = numeric_text(&aggregate(&t, &stats, "median_int8", &rows(&many), 4, 64));
    many.sort_unstable();
    let sum = i128::from(many[999]) + i128::from(many[1000]);
    let want = if sum % 2 == 0 {
        (sum / 2).to_string()
    } else {
        format!(
            "{}{}.5",
            if sum < 0 { "-" } else { "" },
            sum.unsigned_abs() / 2
        )
    };
    assert_eq!(got, want);
    assert_eq!(aggregate(&t, &stats, "median_int8", &[], 1, 1), Value::Null);
}

// ---------------------------------------------------------------- gbt

fn gbt_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sdk-examples/gbt/train"
    ))
}

/// `reference.csv`: feature rows (empty = missing) and XGBoost's output.
fn reference() -> (Vec<Row>, Vec<f64>) {
    let text = std::fs::read_to_string(gbt_dir().join("reference.csv")).unwrap();
    let mut rows = Vec::new();
    let mut want = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 5, "{line}");
        rows.push(
            fields[..4]
                .iter()
                .map(|f| {
                    if f.is_empty() {
                        Value::Null
                    } else {
                        Value::Float8(f.parse().unwrap())
                    }
                })
                .collect(),
        );
        want.push(fields[4].parse().unwrap());
    }
    (rows, want)
}

#[test]
fn gbt_scores_equal_xgboosts_own_predictions_to_1e_6() {
    let t = open(limits());
    let (gbt, routines) = load(&t, "gbt");
    assert_eq!(
        signature(&routines, "score"),
        "Model score(f0 double precision, f1 double precision, f2 double precision, \
         f3 double precision) -> (score double precision) Immutable strict=false"
    );
    let model = std::fs::read(gbt_dir().join("model.json")).unwrap();
    let (rows, want) = reference();
    assert!(rows.len() > 300, "{}", rows.len());
    assert!(rows.iter().any(|r| r.iter().all(|v| *v == Value::Null)));
    let got = t
        .invoker
        .score_model(&pure_ctx(), RoutineRef::new(&gbt, "score"), &model, &rows)
        .unwrap();
    assert_eq!(got.len(), want.len());
    let mut worst = 0f64;
    for ((row, got), want) in rows.iter().zip(&got).zip(&want) {
        let diff = (float(got) - want).abs();
        worst = worst.max(diff);
        assert!(diff <= 1e-6, "{row:?}: {got:?} vs XGBoost's {want}");
    }
    // The reference is not degenerate: predictions spread over (0, 1).
    let (lo, hi) = want
        .iter()
        .fold((1f64, 0f64), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
    assert!(lo < 0.05 && hi > 0.5, "{lo} {hi}");
    assert!(worst <= 1e-6);
}

#[test]
fn gbt_refuses_what_is_not_a_model_it_can_score_exactly() {
    let t = open(limits());
    let (gbt, _) = load(&t, "gbt");
    let model = std::fs::read_to_string(gbt_dir().join("model.json")).unwrap();
    let score = |params: &[u8]| {
        t.invoker
            .score_model(
                &pure_ctx(),
                RoutineRef::new(&gbt, "score"),
                params,
                &[vec![Value::Float8(1.0); 4]],
            )
            .map_err(|e| (e.code.to_string(), e.message))
    };
    let cases = [
        ("not json".to_owned(), "not an XGBoost JSON model"),
        ("{}".to_owned(), "not an XGBoost JSON model"),
        (
            model.replace("binary:logistic", "multi:softprob"),
            "objective \"multi:softprob\" is not supported",
        ),
        (
            model.replace("\"split_type\":[0,", "\"split_type\":[1,"),
            "categorical splits are not supported",
        ),
        (
            model.replace("\"left_children\":[1,", "\"left_children\":[99,"),
            "a child index out of range",
        ),
        (
            model.replace("\"split_indices\":[2,", "\"split_indices\":[7,"),
            "a split on feature 7, but the scorer takes 4",
        ),
    ];
    for (params, message) in cases {
        assert_ne!(params, model, "the edit for {message:?} changed nothing");
        let (code, got) = score(params.as_bytes()).unwrap_err();
        assert_eq!(code, "22023", "{got}");
        assert!(got.contains(message), "{got:?} lacks {message:?}");
    }
    assert!(score(model.as_bytes()).is_ok());
}

// ---------------------------------------------------------------- arith

#[test]
fn twice_plus_one_is_x_times_2_plus_1_with_bigint_overflow() {
    let t = open(limits());
    let (arith, _) = load(&t, "arith");
    let call = |xs: &[Value]| {
        let rows: Vec<Row> = xs.iter().map(|x| vec![x.clone()]).collect();
        t.invoker
            .call_scalar(
                &pure_ctx(),
                RoutineRef::new(&arith, "twice_plus_one"),
                &rows,
            )
            .map_err(|e| e.code.to_string())
    };
    let xs: Vec<i64> = (-1000..1000).map(|i| i * 7_919).collect();
    let values: Vec<Value> = xs.iter().map(|x| Value::Int8(*x)).collect();
    let want: Vec<Value> = xs.iter().map(|x| Value::Int8(x * 2 + 1)).collect();
    assert_eq!(call(&values), Ok(want));
    assert_eq!(call(&[Value::Null]), Ok(vec![Value::Null]));
    assert_eq!(
        call(&[Value::Int8(i64::MAX / 2)]),
        Ok(vec![Value::Int8(i64::MAX)])
    );
    assert_eq!(call(&[Value::Int8(i64::MAX / 2 + 1)]), Err("22003".into()));
}

#[test]
fn chars_is_a_derived_row_per_character() {
    let t = open(limits());
    let (textkit, routines) = load(&t, "textkit");
    assert_eq!(
        signature(&routines, "chars"),
        "Table chars(text text) -> (ch text, pos integer, code integer) Immutable strict=true"
    );
    let got = t
        .invoker
        .call_table(
            &pure_ctx(),
            RoutineRef::new(&textkit, "chars"),
            &[Value::Text("aé🦀".into())],
        )
        .unwrap();
    let row =
        |c: &str, p: i32, code: i32| vec![Value::Text(c.into()), Value::Int4(p), Value::Int4(code)];
    assert_eq!(
        got,
        [row("a", 1, 97), row("é", 2, 0xE9), row("🦀", 3, 0x1F980)]
    );
}

// ---------------------------------------------------------------- row and columnar paths

/// `arith` (the SDK: `call-columns`, a typed loop) and `arith_rows` (plain
/// `scalar-functions` world: `call-scalar`) compute the same function; the
/// host must give the same answers through either path, NULLs and errors
/// included.
#[test]
fn the_columnar_path_answers_as_the_row_path_does() {
    let t = open(limits());
    let (columnar, _) = load(&t, "arith");
    let (row_only, _) = load(&t, "arith_rows");
    let registry = t.invoker.registry();
    assert!(registry.get(&columnar).unwrap().calls_columns());
    assert!(!registry.get(&row_only).unwrap().calls_columns());
    let call = |handle: &str, xs: &[Value]| {
        let rows: Vec<Row> = xs.iter().map(|x| vec![x.clone()]).collect();
        t.invoker
            .call_scalar(
                &pure_ctx(),
                RoutineRef::new(handle, "twice_plus_one"),
                &rows,
            )
            .map_err(|e| e.code.to_string())
    };
    let mixed: Vec<Value> = (0..3000_i64)
        .map(|i| {
            if i % 7 == 3 {
                Value::Null
            } else {
                Value::Int8((i - 1500) * 1_000_003)
            }
        })
        .collect();
    let batches: [&[Value]; 5] = [
        &mixed,
        &[],
        &[Value::Null, Value::Null],
        &[Value::Int8(1), Value::Null, Value::Int8(i64::MAX / 2 + 1)],
        &[Value::Null, Value::Int8(i64::MIN / 2 - 1)],
    ];
    for batch in batches {
        assert_eq!(call(&columnar, batch), call(&row_only, batch), "{batch:?}");
    }
    let want: Vec<Value> = mixed
        .iter()
        .map(|x| match x {
            Value::Int8(x) => Value::Int8(x * 2 + 1),
            _ => Value::Null,
        })
        .collect();
    assert_eq!(call(&columnar, &mixed), Ok(want));
    assert_eq!(call(&columnar, batches[3]), Err("22003".into()));
}
