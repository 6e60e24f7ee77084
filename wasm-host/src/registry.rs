//! Deployed modules: validation, compilation, the artifact cache, and
//! atomic replacement.
//!
//! Deploying a module checks it against the contract before anything runs:
//! every import must be `rustydb:extension/*@0.1.x` or `wasi:*@0.2.x`, the
//! component must export `describe`, and each routine interface it exports
//! must have the functions of `wit/`. Then one instance runs `describe`
//! (under the normal limits, with no database access) and the described
//! routines must match the exported interfaces.
//!
//! Compiling with Cranelift is the expensive step, so the compiled artifact
//! is cached on disk under the SHA-256 of the component bytes and a hash of
//! the engine's configuration: after a restart the catalog redeploys the
//! same bytes and the registry loads the artifact instead of compiling. The
//! artifact carries its own SHA-256 trailer, written through a temporary
//! file and a rename, so a torn or rotten file is detected and recompiled
//! rather than mapped as code.
//!
//! A module is an immutable `Arc<Module>`. A call clones the `Arc` and runs
//! on that version to the end; `CREATE OR REPLACE MODULE` swaps the map
//! entry, so new calls see the new version while calls in flight finish on
//! the old one, which is freed when the last of them returns.

use std::collections::HashMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;
use rustydb_engine::extension::{CallLimits, RoutineDescription, RoutineKind};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use crate::bindings::{
    aggregate, describe, model, procedure, scalar, scalar_columnar, table_function, trigger,
    trigger_rows,
};
use crate::call;
use crate::convert;
use crate::error::DeployError;
use crate::host_api::CallState;
use crate::limits::Limits;
use crate::pool::Warm;
use crate::runtime::Runtime;

const PACKAGE: &str = "rustydb:extension";

/// The export lookups of a module, resolved once at deploy; `None` for a
/// routine interface the module does not export.
pub(crate) struct Exports {
    pub(crate) describe: describe::GuestIndices,
    pub(crate) procedure: Option<procedure::GuestIndices>,
    pub(crate) scalar: Option<scalar::GuestIndices>,
    /// Scalar functions over columns; used instead of `scalar` when present.
    pub(crate) scalar_columnar: Option<scalar_columnar::GuestIndices>,
    pub(crate) aggregate: Option<aggregate::GuestIndices>,
    pub(crate) table: Option<table_function::GuestIndices>,
    pub(crate) trigger: Option<trigger::GuestIndices>,
    /// A statement's queued AFTER ROW events in batches, beside `trigger`.
    pub(crate) trigger_rows: Option<trigger_rows::GuestIndices>,
    pub(crate) model: Option<model::GuestIndices>,
}

/// One deployed version of a module.
pub struct Module {
    name: String,
    sha256: [u8; 32],
    version: u64,
    routines: Vec<RoutineDescription>,
    pub(crate) exports: Exports,
    /// Fresh instances of this version made ahead of its calls, and the
    /// `InstancePre` that makes them.
    pub(crate) warm: Arc<Warm>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("sha256", &self.sha256_hex())
            .field("routines", &self.routines)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SHA-256 of the component bytes, in hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// Increases with every deploy in this process: tells versions apart.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The routines the module described at deploy.
    pub fn routines(&self) -> &[RoutineDescription] {
        &self.routines
    }

    /// Whether its scalar functions are called through `scalar-columnar`
    /// (one typed list per argument) rather than `scalar` (a list of rows).
    pub fn calls_columns(&self) -> bool {
        self.exports.scalar_columnar.is_some()
    }

    /// The routine of that kind and name, if the module has it.
    pub fn routine(&self, kind: RoutineKind, name: &str) -> Option<&RoutineDescription> {
        self.routines
            .iter()
            .find(|r| r.kind == kind && r.name == name)
    }
}

/// The deployed modules of a host, and the engine they run on.
pub struct ModuleRegistry {
    pub(crate) runtime: Runtime,
    cache_dir: PathBuf,
    modules: RwLock<HashMap<String, Arc<Module>>>,
    compilations: AtomicU64,
    versions: AtomicU64,
}

impl ModuleRegistry {
    /// A registry with no modules, caching artifacts in `cache_dir`
    /// (created if missing).
    ///
    /// # Errors
    /// [`DeployError::Engine`] when the limits are impossible for wasmtime,
    /// [`DeployError::Cache`] when the directory cannot be created.
    pub fn open(
        limits: Limits,
        cache_dir: impl Into<PathBuf>,
    ) -> Result<ModuleRegistry, DeployError> {
        let cache_dir = cache_dir.into();
        fs::create_dir_all(&cache_dir).map_err(|source| DeployError::Cache {
            path: cache_dir.clone(),
            source,
        })?;
        Ok(ModuleRegistry {
            runtime: Runtime::new(limits)?,
            cache_dir,
            modules: RwLock::new(HashMap::new()),
            compilations: AtomicU64::new(0),
            versions: AtomicU64::new(0),
        })
    }

    /// The host's limits.
    pub fn limits(&self) -> &Limits {
        &self.runtime.limits
    }

    /// Validates, compiles (or loads from the cache) and registers a module
    /// as `name`, replacing an existing one only when `replace` is set.
    ///
    /// # Errors
    /// 42P17 for a module that breaks the contract (see the module docs),
    /// 42710 for a taken name, the module's own error if `describe` fails,
    /// 58030 when the cache cannot be written.
    pub fn deploy(
        &self,
        name: &str,
        bytes: &[u8],
        replace: bool,
    ) -> Result<Arc<Module>, DeployError> {
        let invalid = |reason: String| DeployError::Invalid {
            module: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("a module needs a name".to_owned()));
        }
        if !replace && self.modules.read().contains_key(name) {
            return Err(DeployError::Exists(name.to_owned()));
        }
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let (component, cached) = self.load_or_compile(name, bytes, &sha256)?;
        self.check_imports(name, &component)?;
        let pre = self
            .runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let exports = Exports::resolve(&pre).map_err(invalid)?;
        let warm = self.runtime.pool.warm_for(&pre);
        let mut module = Module {
            name: name.to_owned(),
            sha256,
            version: self.versions.fetch_add(1, Ordering::Relaxed) + 1,
            routines: Vec::new(),
            exports,
            warm,
        };
        module.routines = self.describe(&module)?;
        check_routines(&module).map_err(invalid)?;
        if !cached {
            self.store_artifact(&component, &sha256)?;
        }

        let module = Arc::new(module);
        let mut modules = self.modules.write();
        if !replace && modules.contains_key(name) {
            return Err(DeployError::Exists(name.to_owned()));
        }
        modules.insert(name.to_owned(), Arc::clone(&module));
        Ok(module)
    }

    /// Removes a module. Calls in flight finish on it.
    ///
    /// # Errors
    /// 42883 when there is no such module.
    pub fn drop_module(&self, name: &str) -> Result<(), DeployError> {
        self.modules
            .write()
            .remove(name)
            .map(drop)
            .ok_or_else(|| DeployError::NotFound(name.to_owned()))
    }

    /// The current version of a module.
    pub fn get(&self, name: &str) -> Option<Arc<Module>> {
        self.modules.read().get(name).cloned()
    }

    /// Every module, sorted by name: the rows of `rustydb_modules`.
    pub fn modules(&self) -> Vec<Arc<Module>> {
        let mut all: Vec<_> = self.modules.read().values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Fresh instances made ahead of calls and not yet taken, across all
    /// modules (see [`Limits::warm_instances`]).
    pub fn ready_instances(&self) -> u32 {
        self.runtime.pool.ready_total()
    }

    /// How many components this registry compiled rather than loaded from
    /// the cache.
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    fn describe(&self, module: &Module) -> Result<Vec<RoutineDescription>, DeployError> {
        let outcome = call::run(
            &self.runtime,
            module,
            None,
            &CallLimits::default(),
            Arc::new(AtomicBool::new(false)),
            |store, instance, exports| {
                let guest = exports.describe.load(&mut *store, instance)?;
                let routines = guest.call_routines(&mut *store)?;
                Ok(Ok(routines
                    .into_iter()
                    .map(convert::description_from_wit)
                    .collect()))
            },
        );
        outcome.result.map_err(|source| DeployError::Describe {
            module: module.name.clone(),
            source,
        })
    }

    fn check_imports(&self, name: &str, component: &Component) -> Result<(), DeployError> {
        let ty = component.component_type();
        for (import, _) in ty.imports(&self.runtime.engine) {
            if !import_allowed(import) {
                return Err(DeployError::ForbiddenImport {
                    module: name.to_owned(),
                    import: import.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn artifact_path(&self, sha256: &[u8; 32]) -> PathBuf {
        let mut h = DefaultHasher::new();
        self.runtime
            .engine
            .precompile_compatibility_hash()
            .hash(&mut h);
        self.cache_dir
            .join(format!("{}-{:016x}.cwasm", hex(sha256), h.finish()))
    }

    /// The component from the cache when a sound artifact is there,
    /// otherwise compiled; and whether it came from the cache.
    fn load_or_compile(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
    ) -> Result<(Component, bool), DeployError> {
        if let Some(component) = self.load_artifact(sha256) {
            return Ok((component, true));
        }
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let component =
            Component::new(&self.runtime.engine, bytes).map_err(|e| DeployError::Invalid {
                module: name.to_owned(),
                reason: format!("not a valid WebAssembly component: {e:#}"),
            })?;
        Ok((component, false))
    }

    fn load_artifact(&self, sha256: &[u8; 32]) -> Option<Component> {
        let path = self.artifact_path(sha256);
        let file = fs::read(&path).ok()?;
        let (artifact, trailer) = file.split_at_checked(file.len().checked_sub(32)?)?;
        if Sha256::digest(artifact).as_slice() != trailer {
            tracing::warn!(path = %path.display(), "damaged Wasm artifact; recompiling");
            return None;
        }
        deserialize(&self.runtime, artifact, &path)
    }

    fn store_artifact(&self, component: &Component, sha256: &[u8; 32]) -> Result<(), DeployError> {
        let path = self.artifact_path(sha256);
        let cache_err = |source| DeployError::Cache {
            path: path.clone(),
            source,
        };
        let artifact = component
            .serialize()
            .map_err(|e| cache_err(std::io::Error::other(format!("{e:#}"))))?;
        // Unique per writer, so two deploys of the same bytes never share a
        // temporary file; the rename makes whichever finishes last win whole.
        static WRITERS: AtomicU64 = AtomicU64::new(0);
        let writer = WRITERS.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{writer}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&artifact)?;
            f.write_all(&Sha256::digest(&artifact))?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            cache_err(e)
        })
    }
}

/// Maps a cached artifact as executable code.
#[allow(unsafe_code)]
fn deserialize(runtime: &Runtime, artifact: &[u8], path: &Path) -> Option<Component> {
    // SAFETY: wasmtime requires the bytes to come from `serialize` of a
    // compatible engine. They do: the file lives in the host's own cache
    // directory (trusted like the data files), its name carries the
    // engine's compatibility hash, it was written whole through a rename,
    // and its SHA-256 trailer was just verified, so it is byte for byte
    // what `store_artifact` wrote. wasmtime re-checks version and config.
    match unsafe { Component::deserialize(&runtime.engine, artifact) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), "unusable Wasm artifact ({e:#}); recompiling");
            None
        }
    }
}

/// `rustydb:extension/*@0.1.x` and `wasi:*@0.2.x`, nothing else.
fn import_allowed(name: &str) -> bool {
    let Some((path, version)) = name.split_once('@') else {
        return false;
    };
    if let Some(iface) = path.strip_prefix("rustydb:extension/") {
        return !iface.is_empty() && version.starts_with("0.1.");
    }
    path.starts_with("wasi:") && path.contains('/') && version.starts_with("0.2.")
}

impl Exports {
    fn resolve(pre: &InstancePre<CallState>) -> Result<Exports, String> {
        let component = pre.component();
        let exported = |iface: &str| {
            component
                .get_export_index(None, format!("{PACKAGE}/{iface}@0.1.0"))
                .is_some()
        };
        let err = |e: wasmtime::Error| format!("{e:#}");
        if !exported("describe") {
            return Err(format!("the component does not export {PACKAGE}/describe"));
        }
        Ok(Exports {
            describe: describe::GuestIndices::new(pre).map_err(err)?,
            procedure: exported("procedure")
                .then(|| procedure::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            scalar: exported("scalar")
                .then(|| scalar::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            scalar_columnar: exported("scalar-columnar")
                .then(|| scalar_columnar::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            aggregate: exported("aggregate")
                .then(|| aggregate::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            table: exported("table-function")
                .then(|| table_function::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            trigger: exported("trigger")
                .then(|| trigger::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            trigger_rows: exported("trigger-rows")
                .then(|| trigger_rows::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
            model: exported("model")
                .then(|| model::GuestIndices::new(pre))
                .transpose()
                .map_err(err)?,
        })
    }

    fn has(&self, kind: RoutineKind) -> bool {
        match kind {
            RoutineKind::Procedure => self.procedure.is_some(),
            RoutineKind::Scalar => self.scalar.is_some() || self.scalar_columnar.is_some(),
            RoutineKind::Aggregate => self.aggregate.is_some(),
            RoutineKind::Table => self.table.is_some(),
            RoutineKind::Trigger => self.trigger.is_some(),
            RoutineKind::Model => self.model.is_some(),
        }
    }
}

/// Each described routine must be callable: its interface exported, its
/// name unique within its kind, a single result where one is expected.
fn check_routines(module: &Module) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for r in &module.routines {
        if r.name.is_empty() {
            return Err("a routine has an empty name".to_owned());
        }
        if !seen.insert((r.kind, r.name.as_str())) {
            return Err(format!("routine {:?} is described twice", r.name));
        }
        if !module.exports.has(r.kind) {
            return Err(format!(
                "routine {:?} is a {:?} but the component does not export that interface",
                r.name, r.kind
            ));
        }
        let single = matches!(
            r.kind,
            RoutineKind::Scalar | RoutineKind::Aggregate | RoutineKind::Model
        );
        if single && r.returns.len() != 1 {
            return Err(format!(
                "routine {:?} must return exactly one column",
                r.name
            ));
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_contract_may_be_imported() {
        for ok in [
            "rustydb:extension/host@0.1.0",
            "rustydb:extension/types@0.1.3",
            "wasi:cli/environment@0.2.6",
            "wasi:io/streams@0.2.0",
        ] {
            assert!(import_allowed(ok), "{ok}");
        }
        for bad in [
            "acme:net/raw@1.0.0",
            "wasi:cli/environment@0.3.0",
            "wasi:cli/environment",
            "rustydb:extension/host@0.2.0",
            "rustydb:extension/@0.1.0",
            "wasi:@0.2.0",
            "host",
        ] {
            assert!(!import_allowed(bad), "{bad}");
        }
    }
}
