//! `textkit`: edit distance and word splitting, by Unicode characters
//! (not bytes), as PostgreSQL's fuzzystrmatch counts them.

use rustydb::SqlError;

/// The Levenshtein distance between `a` and `b`: the fewest single-character
/// insertions, deletions and substitutions turning one into the other.
#[rustydb::function(immutable, strict)]
pub fn levenshtein(a: String, b: String) -> Result<i32, SqlError> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // One row of the dynamic-programming table at a time, over the
    // shorter string: O(min(m, n)) memory.
    let (long, short) = if a.len() >= b.len() { (&a, &b) } else { (&b, &a) };
    let mut row: Vec<usize> = (0..=short.len()).collect();
    for (i, lc) in long.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, sc) in short.iter().enumerate() {
            let above = row[j + 1];
            let cost = usize::from(lc != sc);
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + cost);
            diagonal = above;
        }
    }
    i32::try_from(row[short.len()])
        .map_err(|_| SqlError::new("22003", "levenshtein distance out of range for integer"))
}

/// The words of `text` with their positions (1, 2, …): maximal runs of
/// alphanumeric characters, everything else separating them.
#[rustydb::table_function(immutable, strict, columns(word, pos))]
pub fn split_words(text: String) -> Vec<(String, i32)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .zip(1..)
        .map(|(w, pos)| (w.to_owned(), pos))
        .collect()
}

/// One row of [`chars`].
#[derive(rustydb::TableRow)]
pub struct Char {
    /// The character, as text.
    pub ch: String,
    /// Its position, counted in characters from 1 (what `levenshtein`
    /// counts in).
    pub pos: i32,
    /// Its Unicode code point.
    pub code: i32,
}

/// The characters of `text`, one row each: how `levenshtein` sees a string.
#[rustydb::table_function(immutable, strict)]
pub fn chars(text: String) -> impl Iterator<Item = Char> {
    // The iterator outlives the argument, so it owns the characters.
    let owned: Vec<char> = text.chars().collect();
    owned.into_iter().zip(1..).map(|(c, pos)| Char {
        ch: c.to_string(),
        pos,
        // A char is at most 0x10FFFF, well inside i32.
        code: i32::try_from(u32::from(c)).unwrap_or(i32::MAX),
    })
}

rustydb::export!(levenshtein, split_words, chars);
