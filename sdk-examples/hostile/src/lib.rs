//! `hostile`: routines that misbehave on purpose, one per sandbox limit,
//! plus two well-behaved ones to show the host recovers.

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use rustydb::{Column, DataType, Rows, SqlError, Value};

/// Never returns: only fuel or the deadline stops it.
#[rustydb::procedure]
pub fn spin() {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Sleeps for an hour: blocked in the host, not in guest code.
#[rustydb::procedure]
pub fn sleepy() {
    std::thread::sleep(std::time::Duration::from_secs(3600));
}

/// Allocates a mebibyte at a time, forever: only the memory cap stops it.
#[rustydb::procedure]
pub fn hog() {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        kept.push(vec![1u8; 1 << 20]);
        black_box(&kept);
    }
}

fn deeper(n: i64) -> i64 {
    let frame = black_box([n as u8; 128]);
    if n == 0 {
        0
    } else {
        i64::from(frame[7]) + black_box(deeper(n - 1))
    }
}

/// Recurses `depth` frames: a large depth overflows the stack.
#[rustydb::procedure]
pub fn recurse(depth: i64) -> Result<(), SqlError> {
    black_box(deeper(depth));
    Ok(())
}

/// Prints `lines` lines to stdout and one to stderr.
#[rustydb::procedure]
pub fn chatty(lines: i64) {
    for i in 0..lines {
        println!("line {i}");
    }
    eprintln!("done");
}

/// Panics: a trap.
#[rustydb::procedure]
pub fn boom() {
    panic!("boom");
}

/// Busy for `iterations` steps, then answers which module served it.
#[rustydb::procedure]
pub fn busy(iterations: i64) -> Rows {
    let mut x: u64 = 1;
    for _ in 0..iterations {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    Rows {
        columns: vec![Column {
            name: "served_by".into(),
            data_type: DataType::Text,
        }],
        rows: vec![vec![Value::Text("hostile".into())]],
    }
}

/// Does nothing, successfully.
#[rustydb::procedure]
pub fn ok() {}

/// Written by every call of `remember` and never reset by the guest.
static CALLS: AtomicI64 = AtomicI64::new(0);
/// Heap memory `remember` leaves behind, also never freed.
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Counts its calls in a static and leaves a note on the heap, then
/// reports both: on an instance of its own, every caller sees 1 and 1. A
/// larger number would be state leaking from an earlier caller.
#[rustydb::procedure]
pub fn remember(note: String) -> Rows {
    let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    let mut notes = NOTES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    notes.push(note);
    Rows {
        columns: vec![
            Column {
                name: "calls".into(),
                data_type: DataType::Int8,
            },
            Column {
                name: "notes".into(),
                data_type: DataType::Text,
            },
        ],
        rows: vec![vec![Value::Int8(calls), Value::Text(notes.join(","))]],
    }
}

rustydb::export!(spin, sleepy, hog, recurse, chatty, boom, busy, ok, remember);
