//! `portnote registry update`: download a registry, check that it loads, and keep it in the
//! user's data directory, where later runs find it ([`saved_registry`]).
//!
//! The data directory is `$PORTNOTE_DATA_DIR`, else `$XDG_DATA_HOME/portnote`, else
//! `~/.local/share/portnote`. The saved copy is replaced atomically (written beside it, then
//! renamed), and only after the download has loaded cleanly: a bad download leaves the old
//! copy in place.

use super::{parse, Registry, RegistryError, Source};
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the saved registry inside the data directory; its format is detected on load.
pub const SAVED_NAME: &str = "registry";

/// Longest a download may take, connection included.
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Largest download accepted (IANA's XML is about 4 MB).
const MAX_DOWNLOAD: u64 = 64 * 1024 * 1024;

/// The data directory, or None when neither variable nor a home directory is known.
pub fn data_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("PORTNOTE_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    // The XDG base directory spec says to ignore relative paths.
    if let Some(dir) = non_empty("XDG_DATA_HOME").map(PathBuf::from) {
        if dir.is_absolute() {
            return Some(dir.join("portnote"));
        }
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".local/share/portnote"))
}

/// The registry saved by an earlier update, if there is one.
pub fn saved_registry() -> Result<Option<PathBuf>, RegistryError> {
    let Some(dir) = data_dir() else {
        return Ok(None);
    };
    let path = dir.join(SAVED_NAME);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Some(path)),
        Ok(_) => Err(RegistryError::DataDir(format!(
            "{} exists but is not a file",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // A data directory this user may not search (another user's HOME under sudo, say) holds
        // no registry of theirs: say so and use the embedded one rather than refuse to run.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "portnote: warning: cannot look for a saved registry at {} ({e}); using the embedded one",
                path.display()
            );
            Ok(None)
        }
        Err(source) => Err(RegistryError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Download `url` (http or https) as text.
pub fn download(url: &str) -> Result<String, RegistryError> {
    let failed = |message: String| RegistryError::Download {
        url: url.to_string(),
        message,
    };
    // A stalled server must not hang the command forever.
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .build(),
    );
    let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_string()
        .map_err(|e| failed(e.to_string()))
}

/// Validate `text` by loading it, then save it atomically as the registry for later runs.
/// Returns where it was saved and the loaded registry.
pub fn install(text: &str, origin: &str) -> Result<(PathBuf, Registry), RegistryError> {
    let parsed = parse(text, origin, None)?;
    let dir = data_dir().ok_or_else(|| {
        RegistryError::DataDir(
            "no data directory: set PORTNOTE_DATA_DIR, XDG_DATA_HOME or HOME".to_string(),
        )
    })?;
    let path = dir.join(SAVED_NAME);
    write_atomically(&dir, &path, text.as_bytes())?;
    let mut registry = Registry::build(parsed.entries, Source::Updated(path.clone()), parsed.date);
    registry.add_skipped(parsed.skipped);
    Ok((path, registry))
}

/// Download (or read a `file://` URL), validate, save.
pub fn update(url: &str) -> Result<(PathBuf, Registry), RegistryError> {
    if let Some(path) = url.strip_prefix("file://") {
        // file:///srv/iana.csv and file://localhost/srv/iana.csv (RFC 8089); no other host.
        let path = path.strip_prefix("localhost").unwrap_or(path);
        if !path.starts_with('/') {
            return Err(RegistryError::Download {
                url: url.to_string(),
                message: "a file:// URL needs an absolute path (file:///path/to/registry.csv)"
                    .to_string(),
            });
        }
        return update_from(Path::new(path));
    }
    let text = download(url)?;
    install(&text, url)
}

/// Read a registry file (an offline machine's copy of IANA's CSV or XML), validate, save.
pub fn update_from(path: &Path) -> Result<(PathBuf, Registry), RegistryError> {
    let text = super::read_file(path)?;
    install(&text, &path.display().to_string())
}

/// Remove the saved copy, so that later runs use the embedded snapshot. Returns its path and
/// whether there was one to remove.
pub fn reset() -> Result<(PathBuf, bool), RegistryError> {
    let dir = data_dir().ok_or_else(|| {
        RegistryError::DataDir(
            "no data directory: set PORTNOTE_DATA_DIR, XDG_DATA_HOME or HOME".to_string(),
        )
    })?;
    let path = dir.join(SAVED_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok((path, true)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((path, false)),
        Err(source) => Err(RegistryError::Save {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let save_error = |source| RegistryError::Save {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(save_error)?;
    let temp = dir.join(format!(".{SAVED_NAME}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = renamed {
        // Best effort: the temp file is ours and useless now; the original error is what matters.
        if let Err(cleanup) = std::fs::remove_file(&temp) {
            if cleanup.kind() != std::io::ErrorKind::NotFound {
                eprintln!("portnote: could not remove {}: {cleanup}", temp.display());
            }
        }
        return Err(save_error(e));
    }
    Ok(())
}
