//! Builds RustyDB guests written in C into components.
//!
//! The steps are the ones the C toolchain documents — `wit-bindgen c`, then
//! `clang --target=wasm32-wasi -mexec-model=reactor`, then `wasm-tools
//! component new --adapt` with WASI's reactor adapter — except that the two
//! WIT tools run here as libraries (the crates the commands are built from),
//! so clang, lld and wasi-libc from Debian are all a machine needs.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::Files;
use wit_bindgen_core::wit_parser::Resolve;
use wit_component::ComponentEncoder;

/// The Debian packages that provide the C compiler for wasm32-wasi.
pub const C_TOOLCHAIN_INSTALL: &str = "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32";

/// Why a guest did not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading the WIT package {path}: {source:#}")]
    Wit {
        path: PathBuf,
        source: anyhow::Error,
    },
    #[error("generating C bindings for world {world}: {source:#}")]
    Bindings {
        world: String,
        source: anyhow::Error,
    },
    #[error("`{program}` is not installed; install it with: {install}")]
    ToolMissing {
        program: String,
        install: &'static str,
    },
    #[error(
        "`{program}` failed (a missing sysroot or builtins library is installed with: {install}):\n{output}"
    )]
    ToolFailed {
        program: String,
        install: &'static str,
        output: String,
    },
    #[error("turning the core module into a component: {0:#}")]
    Componentize(anyhow::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A C guest: its sources and the world of `wit_dir` it implements.
#[derive(Debug, Clone)]
pub struct CGuest {
    /// The directory of the WIT package (the repository's `wit/`).
    pub wit_dir: PathBuf,
    /// The world the guest exports, e.g. `extension`.
    pub world: String,
    /// The guest's own `.c` files; they include the generated `<world>.h`.
    pub sources: Vec<PathBuf>,
}

impl CGuest {
    /// Generates the bindings into `work`, compiles and links the core
    /// module there, and returns the component's bytes.
    ///
    /// # Errors
    /// A WIT package that does not parse, clang missing or failing, or a core
    /// module that does not match the world.
    pub fn build(&self, work: &Path) -> Result<Vec<u8>, BuildError> {
        std::fs::create_dir_all(work).map_err(io(work))?;
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_dir(&self.wit_dir)
            .map_err(|source| BuildError::Wit {
                path: self.wit_dir.clone(),
                source,
            })?;
        let world = resolve
            .select_world(&[package], Some(&self.world))
            .map_err(|source| BuildError::Bindings {
                world: self.world.clone(),
                source,
            })?;
        let mut files = Files::default();
        wit_bindgen_c::Opts::default()
            .build()
            .generate(&mut resolve, world, &mut files)
            .map_err(|source| BuildError::Bindings {
                world: self.world.clone(),
                source,
            })?;
        let mut inputs: Vec<PathBuf> = self.sources.clone();
        for (name, contents) in files.iter() {
            let path = work.join(name);
            std::fs::write(&path, contents).map_err(io(&path))?;
            if name.ends_with(".c") || name.ends_with(".o") {
                inputs.push(path);
            }
        }
        let core = work.join("core.wasm");
        let mut clang = Command::new("clang");
        clang
            .args([
                "--target=wasm32-wasi",
                "--sysroot=/usr",
                "-mexec-model=reactor",
                "-O2",
                "-Wall",
                "-Werror",
                "-I",
            ])
            .arg(work)
            .args(&inputs)
            .arg("-o")
            .arg(&core);
        run(clang, "clang", C_TOOLCHAIN_INSTALL)?;
        let module = std::fs::read(&core).map_err(io(&core))?;
        ComponentEncoder::default()
            .validate(true)
            .module(&module)
            .and_then(|e| {
                e.adapter(
                    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
                )
            })
            .and_then(|mut e| e.encode())
            .map_err(BuildError::Componentize)
    }
}

fn run(mut command: Command, program: &str, install: &'static str) -> Result<(), BuildError> {
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BuildError::ToolMissing {
                program: program.to_owned(),
                install,
            });
        }
        Err(source) => {
            return Err(BuildError::Io {
                path: PathBuf::from(program),
                source,
            });
        }
    };
    if output.status.success() {
        Ok(())
    } else {
        Err(BuildError::ToolFailed {
            program: program.to_owned(),
            install,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}
