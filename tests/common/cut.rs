//! A storage cut, as a power cut leaves it: a small ext4 file system in an image file on a loop
//! device, a process on it frozen (SIGSTOP, until every thread has stopped), the file system
//! aborted (`mount -o remount,abort`: nothing more reaches the image, and what was not made
//! durable is gone), then unmounted, detached and set up again from what reached the image.
//!
//! Why freeze first: ext4 aborts its journal before it marks the file system read-only, and in
//! between an `fsync` of an inode whose transaction was just dropped returns 0 (seen here with
//! a plain write + fdatasync loop: 1 trial in 20 lost its last "synced" write). A process that
//! is frozen has no system call in flight, so the cut falls between two instructions, as a
//! power cut does, and no success can come from an abort that raced with it.
//!
//! This needs root, a loop device and `mkfs.ext4` (CI has them). Without them a test says on
//! stderr which check it cannot make and fails, unless `CHITRA_STORAGE_CUT=skip` says that the
//! skip is intended.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The environment variable that makes a missing loop mount a deliberate skip.
const SKIP_VAR: &str = "CHITRA_STORAGE_CUT";
/// The environment variable naming a directory where a failed round's image is kept, as the
/// cut left it (before anything opened it again), for a post-mortem.
const KEEP_VAR: &str = "CHITRA_STORAGE_CUT_KEEP";
/// The name of the last cut's image in that directory.
const CUT_IMAGE: &str = "last-cut.img";
/// How long a frozen process's threads may take to stop (one may be finishing an fsync).
const FREEZE_WAIT_MS_MAX: u64 = 10_000;

/// A loop mount of `image_bytes` in `tmp`, or None when this machine cannot make one and
/// `CHITRA_STORAGE_CUT=skip` says that skipping is intended (`what` names the check skipped).
/// Panics otherwise: a check that silently does not run is a promise nobody keeps.
pub fn mount_or_skip(tmp: &Path, image_bytes: u64, what: &str) -> Option<LoopMount> {
    let why = match LoopMount::create(tmp, image_bytes) {
        Ok(m) => return Some(m),
        Err(why) => why,
    };
    // Straight to stderr, past the test harness's capture, so a skip is seen too.
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "storage cut: CANNOT CHECK that {what}: {why}");
    if std::env::var(SKIP_VAR).as_deref() == Ok("skip") {
        let _ = writeln!(stderr, "storage cut: skipped, as {SKIP_VAR}=skip asks");
        return None;
    }
    panic!(
        "storage cut: cannot set up a loop-mounted ext4 file system ({why}); run as root with \
         loop devices and mkfs.ext4, or set {SKIP_VAR}=skip to skip on purpose"
    );
}

/// The directory `CHITRA_STORAGE_CUT_KEEP` names, if any.
pub fn keep_dir() -> Option<PathBuf> {
    std::env::var_os(KEEP_VAR).map(PathBuf::from)
}

/// Keeps the image of the last cut as `round-N.img` in `keep` and says where.
pub fn keep_failed(keep: &Path, round: usize) {
    let kept = keep.join(format!("round-{round}.img"));
    let _ = std::fs::rename(keep.join(CUT_IMAGE), &kept);
    eprintln!(
        "storage cut: the image as the cut left it is {}",
        kept.display()
    );
}

/// SIGSTOP to `pid`, then waits until every thread of it is stopped.
pub fn freeze(pid: u32) {
    assert_eq!(
        unsafe { libc::kill(pid as i32, libc::SIGSTOP) },
        0,
        "SIGSTOP"
    );
    let started = Instant::now();
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    loop {
        let running = std::fs::read_dir(&tasks)
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
            // The state follows the command name in parentheses: T when stopped.
            .filter(|stat| {
                let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
                !matches!(state, Some(Some('T' | 't')))
            })
            .count();
        if running == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_millis(FREEZE_WAIT_MS_MAX),
            "{running} threads did not stop"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A small ext4 file system in an image file, on a loop device, mounted in `dir`. Dropping it
/// unmounts and detaches, also when the test panics.
pub struct LoopMount {
    pub image: PathBuf,
    /// Where the file system is mounted.
    pub dir: PathBuf,
    device: Option<String>,
    mounted: bool,
}

impl LoopMount {
    /// Creates, formats and mounts the file system; Err says what is missing.
    pub fn create(tmp: &Path, image_bytes: u64) -> Result<LoopMount, String> {
        if unsafe { libc::geteuid() } != 0 {
            return Err("not running as root (mounting needs it)".into());
        }
        if !Path::new("/dev/loop-control").exists() {
            return Err("no loop devices (/dev/loop-control is missing)".into());
        }
        let image = tmp.join("fs.img");
        let dir = tmp.join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(image_bytes))
            .map_err(|e| format!("cannot make the image file: {e}"))?;
        run("mkfs.ext4", &["-q".as_ref(), image.as_os_str()])?;
        let mut m = LoopMount {
            image,
            dir,
            device: None,
            mounted: false,
        };
        m.attach()?;
        Ok(m)
    }

    fn attach(&mut self) -> Result<(), String> {
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&self.image)
            .output()
            .map_err(|e| format!("cannot run losetup: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "losetup failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let device = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        self.device = Some(device.clone());
        run(
            "mount",
            &[
                "-t".as_ref(),
                "ext4".as_ref(),
                device.as_ref(),
                self.dir.as_os_str(),
            ],
        )?;
        self.mounted = true;
        Ok(())
    }

    /// The storage stops: nothing written from now on reaches the image.
    pub fn abort(&self) {
        run(
            "mount",
            &[
                "-o".as_ref(),
                "remount,abort".as_ref(),
                self.dir.as_os_str(),
            ],
        )
        .expect("remount,abort");
    }

    /// After the cut: unmount, detach, and set up again from what reached the image; with
    /// `keep`, a copy of the image as the cut left it goes there first.
    pub fn remount(&mut self, keep: Option<&Path>) {
        self.detach();
        if let Some(keep) = keep {
            std::fs::create_dir_all(keep).expect("the directory to keep images in");
            std::fs::copy(&self.image, keep.join(CUT_IMAGE)).expect("keep the cut image");
        }
        self.attach().expect("mount the image again");
    }

    fn detach(&mut self) {
        if self.mounted {
            // A killed process's files may take a moment to close.
            let mut tries = 0;
            while run("umount", &[self.dir.as_os_str()]).is_err() && tries < 50 {
                std::thread::sleep(Duration::from_millis(100));
                tries += 1;
            }
            if tries == 50 {
                let _ = run("umount", &["-l".as_ref(), self.dir.as_os_str()]);
            }
            self.mounted = false;
        }
        if let Some(device) = self.device.take() {
            let _ = run("losetup", &["-d".as_ref(), device.as_ref()]);
        }
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Runs a system command; Err names it and says why it failed.
fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {} failed: {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
