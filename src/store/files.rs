//! Payment files written into the store as they are built: each goes to a temporary file in
//! `<data dir>/payment-files/`, hashed on the way, and takes its digest as its name once it is
//! synced (`FileWriter::keep`). A national batch's files (about a gigabyte at a million people)
//! are then never in memory, only the chunk being written.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{io_error, Store, StoreError};

/// Names the temporary files of this process apart (several are written at once).
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);
/// How a file being written is named until it is kept: never a digest's name.
const UNFINISHED_PREFIX: &str = ".writing-";

/// Removes the files a process stopped while writing (a crash in the middle of a release):
/// no record names them, and a release that writes them again makes them whole.
pub(super) fn remove_unfinished(files_dir: &Path) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(files_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(files_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(files_dir, e))?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(UNFINISHED_PREFIX)
        {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        }
    }
    Ok(())
}

/// A payment file being written. Dropped without `keep`, it removes what it wrote.
pub struct FileWriter {
    file: Option<File>,
    temporary: PathBuf,
    dir: PathBuf,
    hasher: blake3::Hasher,
    bytes: u64,
}

/// A payment file kept: its digest (its name in the store) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptFile {
    pub digest: [u8; 32],
    pub bytes: u64,
}

impl Store {
    /// Starts a payment file. `sync_files` makes the names of those kept durable.
    pub fn new_file(&self) -> Result<FileWriter, StoreError> {
        self.create_files_dir()?;
        let n = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
        // Not a digest's name, so no reader ever takes it for a kept file.
        let temporary = self
            .files_dir
            .join(format!("{UNFINISHED_PREFIX}{}-{n}", std::process::id()));
        let file = File::create(&temporary).map_err(|e| io_error(&temporary, e))?;
        Ok(FileWriter {
            file: Some(file),
            temporary,
            dir: self.files_dir.clone(),
            hasher: blake3::Hasher::new(),
            bytes: 0,
        })
    }

    /// Syncs the payment files' directory: the files kept so far keep their names after a
    /// crash of the machine.
    pub fn sync_files(&self) -> Result<(), StoreError> {
        File::open(&self.files_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.files_dir, e))
    }
}

impl FileWriter {
    /// Where the file is being written, for an error that names it.
    pub fn path(&self) -> &Path {
        &self.temporary
    }

    /// Syncs the file and names it by its digest (a file of the same digest already kept is
    /// the same bytes, and stays).
    pub fn keep(mut self) -> Result<KeptFile, StoreError> {
        let file = self.file.take().expect("a writer not yet kept");
        let digest = *self.hasher.finalize().as_bytes();
        let path = self.dir.join(crate::chain::hex(&digest));
        let keep = || -> std::io::Result<()> {
            file.sync_all()?;
            drop(file);
            match path.exists() {
                true => std::fs::remove_file(&self.temporary),
                false => std::fs::rename(&self.temporary, &path),
            }
        };
        keep().map_err(|e| io_error(&path, e))?;
        Ok(KeptFile {
            digest,
            bytes: self.bytes,
        })
    }
}

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = self.file.as_mut().expect("a writer not yet kept");
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(store: &Store) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&store.files_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_kept_is_named_by_its_digest_and_one_let_go_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut first = store.new_file().unwrap();
        first.write_all(b"<Document>one</Document>").unwrap();
        let mut again = store.new_file().unwrap();
        again.write_all(b"<Document>one</Document>").unwrap();
        let mut dropped = store.new_file().unwrap();
        dropped.write_all(b"half a file").unwrap();
        assert_eq!(names(&store).len(), 3, "three files being written");

        let kept = first.keep().unwrap();
        assert_eq!(
            kept.digest,
            *blake3::hash(b"<Document>one</Document>").as_bytes()
        );
        assert_eq!(kept.bytes, 24);
        assert_eq!(again.keep().unwrap(), kept, "the same bytes, the same file");
        drop(dropped);
        store.sync_files().unwrap();

        assert_eq!(names(&store), vec![crate::chain::hex(&kept.digest)]);
        let bytes = store.get_file(&kept.digest).unwrap().unwrap();
        assert_eq!(bytes, b"<Document>one</Document>");
    }

    #[test]
    fn opening_removes_a_file_left_half_written_and_keeps_the_kept_ones() {
        let dir = tempfile::tempdir().unwrap();
        let kept = {
            let store = Store::open(dir.path()).unwrap();
            let mut kept = store.new_file().unwrap();
            kept.write_all(b"whole").unwrap();
            let kept = kept.keep().unwrap();
            let mut cut = store.new_file().unwrap();
            cut.write_all(b"half").unwrap();
            // A process stopped here: nothing removes what it was writing.
            std::mem::forget(cut);
            assert_eq!(names(&store).len(), 2);
            kept
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(names(&store), vec![crate::chain::hex(&kept.digest)]);
    }
}
