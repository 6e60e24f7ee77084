//! RustyDB's WebAssembly component host.
//!
//! This crate will run user code compiled to Wasm components in wasmtime,
//! under fuel, deadline and memory limits, behind the routine-invoker trait
//! that the engine owns (issue 5). It contains nothing yet: no call reaches
//! it until the engine exposes that trait.
