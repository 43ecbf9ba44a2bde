//! The anonymous id (a random UUID v4 kept in the user's configuration directory), the
//! session id (a fresh UUID v4 per process) and the notice marker.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use once_cell::sync::Lazy;
use uuid::Uuid;

/// The file holding the anonymous id, in the zdk configuration directory.
pub(crate) const ID_FILE: &str = "anonymous_id";
/// Created once the notice was shown, next to the id.
pub(crate) const NOTICE_MARKER: &str = "usage_notice_shown";

/// The anonymous id in use, and the file it is kept in (`None`: in memory only, because the
/// directory is unknown or cannot be written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) id: String,
    pub(crate) file: Option<PathBuf>,
}

/// A fresh id for this process, the same for every install in it.
pub(crate) fn session_id() -> &'static str {
    static SESSION: Lazy<String> = Lazy::new(|| Uuid::new_v4().to_string());
    &SESSION
}

/// Reads the id from `dir`, creating it (mode 0600, directory 0700) on first use. Never fails:
/// when the file cannot be read or written, a random id is used for this process only.
pub(crate) fn load_or_create(dir: Option<&Path>) -> Identity {
    let in_memory = || Identity {
        id: Uuid::new_v4().to_string(),
        file: None,
    };
    let Some(dir) = dir else {
        return in_memory();
    };
    let path = dir.join(ID_FILE);
    match read_id(&path) {
        Ok(Some(id)) => {
            return Identity {
                id,
                file: Some(path),
            }
        }
        Ok(None) => {}
        // Unreadable (permissions, not a directory…): do not try to replace what we cannot read.
        Err(_) => return in_memory(),
    }
    let id = Uuid::new_v4().to_string();
    match write_id(dir, &path, &id) {
        Ok(()) => Identity {
            id,
            file: Some(path),
        },
        // Another process created it first: use theirs, so both agree.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read_id(&path) {
            Ok(Some(theirs)) => Identity {
                id: theirs,
                file: Some(path),
            },
            _ => in_memory(),
        },
        Err(_) => in_memory(),
    }
}

/// The id stored in `dir`, read only: unlike [`load_or_create`], nothing is created,
/// replaced or deleted (for `zdk-trace status`). `Ok(None)` when there is no file yet.
pub(crate) fn peek(dir: &Path) -> io::Result<Option<Result<String, String>>> {
    match fs::read_to_string(dir.join(ID_FILE)) {
        Ok(text) => Ok(Some(
            Uuid::try_parse(text.trim())
                .map(|id| id.to_string())
                .map_err(|_| text.trim().to_owned()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `Ok(None)` when there is no file or it holds no valid UUID (it is then replaced).
fn read_id(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => match Uuid::try_parse(text.trim()) {
            Ok(id) => Ok(Some(id.to_string())),
            Err(_) => {
                fs::remove_file(path)?;
                Ok(None)
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_id(dir: &Path, path: &Path, id: &str) -> io::Result<()> {
    create_private_dir(dir)?;
    let mut options = fs::OpenOptions::new();
    // `create_new`: two processes starting together must not both write an id.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the id is never readable by others, even for a moment.
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(id.as_bytes())?;
    file.write_all(b"\n")
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Deletes the id file in `dir`; a new id is created the next time the layer starts. `Ok(false)`
/// when there was none.
pub(crate) fn reset(dir: &Path) -> io::Result<bool> {
    match fs::remove_file(dir.join(ID_FILE)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the notice was already shown to this user (the marker exists).
pub(crate) fn notice_shown(dir: &Path) -> bool {
    dir.join(NOTICE_MARKER).exists()
}

/// Remembers that the notice was shown; `false` if the marker could not be written (the
/// notice is then shown once per process instead).
pub(crate) fn mark_notice_shown(dir: &Path) -> bool {
    create_private_dir(dir)
        .and_then(|()| fs::write(dir.join(NOTICE_MARKER), b""))
        .is_ok()
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zdk-usage-id-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn created_once_then_reused() {
        let dir = temp_dir("reuse").join("zdk");
        let first = load_or_create(Some(&dir));
        assert_eq!(first.file.as_deref(), Some(dir.join(ID_FILE).as_path()));
        assert_eq!(Uuid::try_parse(&first.id).unwrap().get_version_num(), 4);
        assert_eq!(load_or_create(Some(&dir)), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(ID_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(reset(&dir).unwrap());
        assert!(!reset(&dir).unwrap());
        assert_ne!(load_or_create(Some(&dir)).id, first.id);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn garbage_is_replaced() {
        let dir = temp_dir("garbage");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(ID_FILE), "hostname-derived-something").unwrap();
        let identity = load_or_create(Some(&dir));
        assert!(Uuid::try_parse(&identity.id).is_ok());
        assert_eq!(
            fs::read_to_string(dir.join(ID_FILE)).unwrap().trim(),
            identity.id
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_falls_back_to_memory() {
        // A regular file where the directory should be: fails even for root.
        let blocker = temp_dir("blocked");
        fs::write(&blocker, "not a directory").unwrap();
        let identity = load_or_create(Some(&blocker.join("zdk")));
        assert_eq!(identity.file, None);
        assert!(Uuid::try_parse(&identity.id).is_ok());
        assert_eq!(load_or_create(None).file, None);
        fs::remove_file(&blocker).unwrap();
    }

    #[test]
    fn session_id_is_stable_in_a_process() {
        assert_eq!(session_id(), session_id());
        assert!(Uuid::try_parse(session_id()).is_ok());
    }
}
