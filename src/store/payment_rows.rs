//! The payment rows file (`<data dir>/state-snapshots/payment-rows`): the fixed-width bytes of
//! every payment line up to the newest snapshot, which the state maps instead of holding in
//! memory (`domain::state::PaymentTable`). Rows are only ever written at or beyond the rows a
//! process has mapped, so a map never sees its bytes change under it; which rows a snapshot
//! trusts, and their digest, is `ledger::snapshot`'s business. Like the snapshots, it is a
//! shortcut derived from the chain, never the only copy of anything.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::snapshots::SNAPSHOTS_DIR;
use super::{io_error, Store, StoreError};

const PAYMENT_ROWS_FILE: &str = "payment-rows";

impl Store {
    fn payment_rows_path(&self) -> PathBuf {
        self.dir.join(SNAPSHOTS_DIR).join(PAYMENT_ROWS_FILE)
    }

    /// The bytes in the payment rows file (0 when there is none).
    pub fn payment_rows_len(&self) -> u64 {
        std::fs::metadata(self.payment_rows_path()).map_or(0, |m| m.len())
    }

    /// Writes bytes at `offset` of the payment rows file with `write`, durably, creating the
    /// file (owner-only, like the snapshots) if need be. `offset` is at most the file's length:
    /// a gap would be rows of zeros.
    pub fn write_payment_rows(
        &self,
        offset: u64,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.payment_rows_path();
        let dir = self.dir.join(SNAPSHOTS_DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            self.durability.created_dir()?;
        }
        let created = !path.exists();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| io_error(&path, e))?;
        let len = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if offset > len {
            return Err(StoreError::Corrupt(format!(
                "payment rows written at byte {offset} of a file of {len}"
            )));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, &mut file);
        write(&mut out).map_err(|e| io_error(&path, e))?;
        out.flush().map_err(|e| io_error(&path, e))?;
        drop(out);
        file.sync_data().map_err(|e| io_error(&path, e))?;
        if created {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(&dir, e))?;
        }
        Ok(())
    }

    /// The blake3 of the first `len` bytes of the payment rows file, read rather than mapped
    /// so that hashing them does not make them resident in this process. `None` when the file
    /// is shorter.
    pub fn payment_rows_digest(&self, len: u64) -> Result<Option<blake3::Hash>, StoreError> {
        let path = self.payment_rows_path();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let mut hasher = blake3::Hasher::new();
        let mut input = file.take(len);
        let mut buf = vec![0u8; 1 << 20];
        let mut read = 0u64;
        loop {
            let n = input.read(&mut buf).map_err(|e| io_error(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            read += n as u64;
        }
        Ok((read == len).then(|| hasher.finalize()))
    }

    /// Maps the first `len` bytes (more than zero) of the payment rows file, read-only.
    pub fn map_payment_rows(&self, len: u64) -> Result<memmap2::Mmap, StoreError> {
        let path = self.payment_rows_path();
        let file = File::open(&path).map_err(|e| io_error(&path, e))?;
        let have = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if have < len || len == 0 {
            return Err(StoreError::Corrupt(format!(
                "the payment rows file holds {have} bytes, not the {len} mapped"
            )));
        }
        let len = usize::try_from(len).map_err(|_| StoreError::Corrupt("rows too long".into()))?;
        // SAFETY: chitra writes this file only at or beyond the rows any of its processes has
        // mapped (`write_payment_rows` is called from the rows a state already holds frozen),
        // and never truncates it, so the mapped bytes neither change nor vanish while mapped.
        // A person editing the file by hand could change them, as with sled's own files; the
        // digest check before mapping and `chitra verify`'s replay find that.
        unsafe { memmap2::MmapOptions::new().len(len).map(&file) }.map_err(|e| io_error(&path, e))
    }
}
