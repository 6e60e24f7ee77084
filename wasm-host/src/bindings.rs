//! The host side of the WIT contract, generated from `wit/`.
//!
//! One generation for the whole package: the `extension-columnar` world
//! imports `host` and exports every routine interface, so this gives the `Host`
//! traits to implement and, per exported interface, `GuestIndices` that the
//! registry resolves only for the interfaces a module really exports. The
//! generated names stay inside the crate; the public API speaks the engine's
//! types.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "rustydb:extension/extension-columnar",
    imports: { default: trappable },
    with: {
        "rustydb:extension/host.cursor": crate::host_api::CursorState,
    },
});

pub(crate) use exports::rustydb::extension::{
    aggregate, describe, model, procedure, scalar, scalar_columnar, table_function, trigger,
    trigger_rows,
};
pub(crate) use rustydb::extension::{host, types};
