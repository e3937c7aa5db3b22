//! A FUSE filesystem whose power can be cut: [`PowerCutFs`] serves a
//! [`model::Disk`], where everything written is visible at once but only what
//! was fsynced survives [`PowerCutFs::cut_power`].
//!
//! Nothing here knows about the relay: any program whose files live under
//! [`PowerCutFs::path`] can be tested for durability against power loss.
//!
//! The kernel must not keep what the model would lose, so every file is opened
//! with direct I/O (no page cache to serve stale bytes after a cut) and entries
//! and attributes are never cached. It mounts with fuser's own mount code (no
//! libfuse), which needs root and `/dev/fuse`.

pub mod model;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use rand::Rng;

use model::{Attributes, Disk, Kind};
pub use model::{CutReport, CutStyle};

/// Attributes and entries are never cached: a cut changes them behind the
/// kernel's back.
const NO_CACHE: Duration = Duration::ZERO;

/// The file type bits of a mode, and their value for a regular file.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// A mounted filesystem with a power switch. Dropping it unmounts.
pub struct PowerCutFs {
    state: Arc<Mutex<State>>,
    mountpoint: PathBuf,
    session: Option<fuser::BackgroundSession>,
}

/// Whether this machine can mount a FUSE filesystem at all.
pub fn available() -> bool {
    Path::new("/dev/fuse").exists()
}

struct State {
    disk: Disk,
    /// While false, every operation that would change the disk fails: the
    /// machine is going down and nothing more reaches the disk.
    powered: bool,
}

impl PowerCutFs {
    /// Mounts an empty filesystem at `mountpoint` (an empty directory), keeping
    /// its file images in `backing` (another one, not under the mount).
    pub fn mount(backing: &Path, mountpoint: &Path) -> std::io::Result<PowerCutFs> {
        let state = Arc::new(Mutex::new(State {
            disk: Disk::new(backing).map_err(std::io::Error::other)?,
            powered: true,
        }));
        let (uid, gid) = owner(backing)?;
        let served = Served {
            state: Arc::clone(&state),
            uid,
            gid,
        };
        let mut config = fuser::Config::default();
        config.mount_options = vec![fuser::MountOption::FSName("power-cut".into())];
        config.n_threads = Some(2);
        let session = fuser::spawn_mount(served, mountpoint, &config)?;
        Ok(PowerCutFs {
            state,
            mountpoint: mountpoint.to_path_buf(),
            session: Some(session),
        })
    }

    /// Where the filesystem is mounted.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    /// Cuts the power: from this instant no operation reaches the disk;
    /// `stop_programs` then kills whatever runs on it (and must wait until it
    /// is gone); then everything that was not synced is discarded per `style`,
    /// and the power comes back on.
    pub fn cut_power(
        &self,
        style: CutStyle,
        rng: &mut impl Rng,
        stop_programs: impl FnOnce(),
    ) -> CutReport {
        lock(&self.state).powered = false;
        stop_programs();
        let mut state = lock(&self.state);
        let report = state.disk.cut(style, rng).unwrap();
        state.powered = true;
        report
    }

    /// Makes everything written so far durable, as the kernel's own writeback
    /// would within half a minute.
    pub fn write_back(&self) {
        lock(&self.state).disk.sync_everything().unwrap();
    }
}

impl Drop for PowerCutFs {
    fn drop(&mut self) {
        if let Some(session) = self.session.take()
            && session.umount_and_join().is_err()
        {
            // Busy (a program still has files open): detach it anyway, so no
            // mount outlives the test.
            let _ = std::process::Command::new("umount")
                .arg("--lazy")
                .arg(&self.mountpoint)
                .status();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic in another operation leaves the model as it was between two
    // operations; the test reports that panic, not this one.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The owner of `path`, reported as every file's owner.
fn owner(path: &Path) -> std::io::Result<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.uid(), metadata.gid()))
}

/// The FUSE side: each request is one model operation under the lock.
struct Served {
    state: Arc<Mutex<State>>,
    uid: u32,
    gid: u32,
}

impl Served {
    /// Runs an operation that changes the disk, unless the power is off.
    fn change<T>(&self, operation: impl FnOnce(&mut Disk) -> Result<T, Errno>) -> Result<T, Errno> {
        let mut state = lock(&self.state);
        if !state.powered {
            return Err(Errno::EIO);
        }
        operation(&mut state.disk)
    }

    fn look<T>(&self, operation: impl FnOnce(&Disk) -> Result<T, Errno>) -> Result<T, Errno> {
        operation(&lock(&self.state).disk)
    }

    fn attr(&self, attributes: Attributes) -> FileAttr {
        let time = SystemTime::UNIX_EPOCH;
        FileAttr {
            ino: INodeNo(attributes.ino),
            size: attributes.size,
            blocks: attributes.size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind: match attributes.kind {
                Kind::File => FileType::RegularFile,
                Kind::Dir => FileType::Directory,
            },
            perm: attributes.mode,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn entry(&self, result: Result<Attributes, Errno>, reply: ReplyEntry) {
        match result {
            Ok(attributes) => reply.entry(&NO_CACHE, &self.attr(attributes), Generation(0)),
            Err(errno) => reply.error(errno),
        }
    }
}

/// Permission bits of a requested mode after the caller's umask.
fn permissions(mode: u32, umask: u32) -> u16 {
    u16::try_from(mode & !umask & 0o7777).unwrap_or(0o600)
}

fn empty(result: Result<(), Errno>, reply: ReplyEmpty) {
    match result {
        Ok(()) => reply.ok(),
        Err(errno) => reply.error(errno),
    }
}

impl Filesystem for Served {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.entry(self.look(|disk| disk.lookup(parent.0, name)), reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.look(|disk| disk.attributes(ino.0)) {
            Ok(attributes) => reply.attr(&NO_CACHE, &self.attr(attributes)),
            Err(errno) => reply.error(errno),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let result = self.change(|disk| {
            if let Some(len) = size {
                disk.truncate(ino.0, len)?;
            }
            if let Some(mode) = mode {
                disk.set_mode(ino.0, permissions(mode, 0))?;
            }
            disk.attributes(ino.0)
        });
        match result {
            Ok(attributes) => reply.attr(&NO_CACHE, &self.attr(attributes)),
            Err(errno) => reply.error(errno),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        // Regular files only: the model has no devices, pipes or sockets.
        if mode & S_IFMT != S_IFREG {
            reply.error(Errno::EPERM);
            return;
        }
        let permissions = permissions(mode, umask);
        let result = self.change(|disk| disk.create(parent.0, name, Kind::File, permissions));
        self.entry(result, reply);
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let permissions = permissions(mode, umask);
        let result = self.change(|disk| disk.create(parent.0, name, Kind::Dir, permissions));
        self.entry(result, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(
            self.change(|disk| disk.remove(parent.0, name, Kind::File)),
            reply,
        );
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(
            self.change(|disk| disk.remove(parent.0, name, Kind::Dir)),
            reply,
        );
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            reply.error(Errno::EINVAL);
            return;
        }
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        empty(
            self.change(|disk| disk.rename(parent.0, name, newparent.0, newname, no_replace)),
            reply,
        );
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.look(|disk| disk.attributes(ino.0)) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO),
            Err(errno) => reply.error(errno),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.look(|disk| disk.read(ino.0, offset, size)) {
            Ok(bytes) => reply.data(&bytes),
            Err(errno) => reply.error(errno),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.change(|disk| disk.write(ino.0, offset, data)) {
            Ok(()) => reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX)),
            Err(errno) => reply.error(errno),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() makes nothing durable.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        empty(self.change(|disk| disk.sync_file(ino.0)), reply);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let entries = match self.look(|disk| disk.list(ino.0)) {
            Ok(entries) => entries,
            Err(errno) => return reply.error(errno),
        };
        let dots = [
            (OsStr::new(".").to_owned(), ino.0, FileType::Directory),
            (OsStr::new("..").to_owned(), ino.0, FileType::Directory),
        ];
        let listed = entries.into_iter().map(|(name, attributes)| {
            let kind = match attributes.kind {
                Kind::File => FileType::RegularFile,
                Kind::Dir => FileType::Directory,
            };
            (name, attributes.ino, kind)
        });
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (index, (name, entry, kind)) in dots.into_iter().chain(listed).enumerate().skip(skip) {
            if reply.add(INodeNo(entry), index as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        empty(self.change(|disk| disk.sync_dir(ino.0)), reply);
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let permissions = permissions(mode, umask);
        match self.change(|disk| disk.create(parent.0, name, Kind::File, permissions)) {
            Ok(attributes) => reply.created(
                &NO_CACHE,
                &self.attr(attributes),
                Generation(0),
                FileHandle(0),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(errno) => reply.error(errno),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EOPNOTSUPP);
    }
}
