//! `rustydb backup` and `rustydb restore`: consistent copies of a data
//! directory.
//!
//! A copy is consistent only if nothing writes while it is taken, so for now
//! both commands require the server to be stopped and prove it by taking the
//! data directory's lock (the engine's `LOCK` file, an advisory `flock`) for
//! the whole copy: a running server makes them fail at once instead of
//! producing a torn backup. Restore never overwrites: the target must be
//! new or empty. Progress is shown in bytes for long copies.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use super::CliError;

/// The engine's data directory lock file.
const LOCK_FILE: &str = "LOCK";

/// The data directory's lock file, locked: the lock lasts as long as the
/// returned file is open.
fn lock_dir(dir: &Path) -> Result<File, CliError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(CliError::io(format!("opening {}", path.display())))?;
    file.try_lock().map_err(|_| CliError::Io {
        what: format!("locking {}", dir.display()),
        source: std::io::Error::other("the data directory is in use; stop the server first"),
    })?;
    Ok(file)
}

/// Every file under `dir` but the lock, with its size.
fn files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, CliError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = fs::read_dir(&current)
            .map_err(CliError::io(format!("listing {}", current.display())))?;
        for entry in entries {
            let entry = entry.map_err(CliError::io(format!("listing {}", current.display())))?;
            let path = entry.path();
            let meta = entry
                .metadata()
                .map_err(CliError::io(format!("reading {}", path.display())))?;
            if meta.is_dir() {
                pending.push(path);
            } else if path != dir.join(LOCK_FILE) {
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                out.push((relative, meta.len()));
            }
        }
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> Result<u64, CliError> {
    let files = files(from)?;
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta}") {
        bar.set_style(style);
    }
    for (relative, size) in &files {
        let source = from.join(relative);
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(CliError::io(format!("creating {}", parent.display())))?;
        }
        fs::copy(&source, &target)
            .map_err(CliError::io(format!("copying {}", source.display())))?;
        File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(CliError::io(format!("syncing {}", target.display())))?;
        bar.inc(*size);
    }
    bar.finish_and_clear();
    Ok(total)
}

/// `rustydb backup --data-dir DIR OUT`.
pub fn backup(data_dir: &Path, out: &Path) -> Result<(), CliError> {
    if !data_dir.is_dir() {
        return Err(CliError::Client(format!(
            "{} is not a data directory",
            data_dir.display()
        )));
    }
    if out.exists() {
        return Err(CliError::Client(format!(
            "{} already exists",
            out.display()
        )));
    }
    let _lock = lock_dir(data_dir)?;
    fs::create_dir_all(out).map_err(CliError::io(format!("creating {}", out.display())))?;
    let bytes = copy_tree(data_dir, out)?;
    println!(
        "backed up {} ({bytes} bytes) to {}",
        data_dir.display(),
        out.display()
    );
    Ok(())
}

/// `rustydb restore BACKUP --data-dir DIR`.
pub fn restore(backup: &Path, data_dir: &Path) -> Result<(), CliError> {
    if !backup.is_dir() {
        return Err(CliError::Client(format!(
            "{} is not a backup directory",
            backup.display()
        )));
    }
    if data_dir.exists() {
        let mut entries = fs::read_dir(data_dir)
            .map_err(CliError::io(format!("listing {}", data_dir.display())))?;
        if entries.next().is_some() {
            return Err(CliError::Client(format!(
                "{} is not empty; restore only into a new data directory",
                data_dir.display()
            )));
        }
    }
    fs::create_dir_all(data_dir)
        .map_err(CliError::io(format!("creating {}", data_dir.display())))?;
    let _lock = lock_dir(data_dir)?;
    let bytes = copy_tree(backup, data_dir)?;
    println!(
        "restored {} ({bytes} bytes) into {}",
        backup.display(),
        data_dir.display()
    );
    Ok(())
}
