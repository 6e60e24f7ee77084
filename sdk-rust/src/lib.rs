//! `rustydb-sdk`: the guest-side SDK for writing RustyDB procedures,
//! functions, aggregates, triggers and models in Rust (issue 5). It contains
//! nothing yet: it is generated from the WIT contract in `wit/`, which comes
//! first.
