//! The disk that [`super::PowerCutFs`] serves: what a program sees now (the
//! volatile image, a page cache that is never written back by itself) and what
//! would still be there after a power cut (the durable image).
//!
//! The model follows what POSIX lets a power cut do, at its most pessimistic:
//! - A file's bytes and size become durable only by `fsync`/`fdatasync` of that
//!   file. Until then a cut may keep or drop each changed 4 KiB page on its own
//!   (so a torn commit is possible), and growth beyond the durable size may come
//!   back as garbage (the size reached the journal, the data did not).
//! - A directory entry (create, mkdir, rename, unlink) becomes durable only by
//!   `fsync` of its directory. A cut reverts every directory to its last synced
//!   entries; a file or directory no synced entry reaches is gone.
//!
//! Each file's two images are two files in the backing directory, named by inode
//! number; `fsync` copies the pages changed since the last one. Directories and
//! metadata live in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use fuser::Errno;
use rand::Rng;

/// The granularity at which a cut keeps or drops unsynced writes.
pub const PAGE: u64 = 4096;

/// The root directory's inode number (FUSE's).
pub const ROOT: u64 = 1;

/// What a cut does to writes that were never synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutStyle {
    /// Every unsynced write is lost: each file is exactly its last synced image.
    LoseUnsynced,
    /// Each unsynced page is independently kept or lost; a file's size is its
    /// synced or its current size; pages past the synced size that were lost
    /// read as garbage.
    Torn,
}

/// What a cut threw away, for the test's report.
#[derive(Clone, Copy, Debug, Default)]
pub struct CutReport {
    /// Changed pages that reverted to their synced bytes or became garbage.
    pub pages_lost: u64,
    /// Changed pages that happened to reach the disk (torn cuts only).
    pub pages_kept: u64,
    /// Files and directories that vanished with an unsynced directory entry.
    pub nodes_lost: u64,
}

/// What kind of node an inode is, as the model needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// Attributes the FUSE layer reports.
#[derive(Clone, Copy, Debug)]
pub struct Attributes {
    pub ino: u64,
    pub kind: Kind,
    pub size: u64,
    pub mode: u16,
}

/// The whole disk.
pub struct Disk {
    backing: PathBuf,
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
}

struct Inode {
    /// Permission bits as created (or set by chmod); kept across cuts, which is
    /// as durable as the entry that names the inode.
    mode: u16,
    body: Body,
}

enum Body {
    File(Images),
    Dir(Entries),
}

/// A file's two images.
struct Images {
    live: File,
    durable: File,
    /// The size as of the last fsync.
    durable_len: u64,
    /// Pages whose live bytes may differ from the durable ones.
    dirty: BTreeSet<u64>,
}

/// A directory's entries, now and as of its last fsync.
struct Entries {
    live: BTreeMap<OsString, u64>,
    durable: BTreeMap<OsString, u64>,
}

impl Disk {
    /// An empty disk whose file images live in `backing` (an empty directory).
    pub fn new(backing: &Path) -> io::Result<Disk> {
        std::fs::create_dir_all(backing.join("live"))?;
        std::fs::create_dir_all(backing.join("durable"))?;
        let root = Inode {
            mode: 0o755,
            body: Body::Dir(Entries {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            }),
        };
        Ok(Disk {
            backing: backing.to_path_buf(),
            inodes: HashMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
        })
    }

    pub fn attributes(&self, ino: u64) -> Result<Attributes, Errno> {
        let inode = self.inodes.get(&ino).ok_or(Errno::ENOENT)?;
        let (kind, size) = match &inode.body {
            Body::File(images) => (Kind::File, images.live.metadata()?.len()),
            Body::Dir(_) => (Kind::Dir, 0),
        };
        Ok(Attributes {
            ino,
            kind,
            size,
            mode: inode.mode,
        })
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> Result<Attributes, Errno> {
        let ino = *self.entries(parent)?.live.get(name).ok_or(Errno::ENOENT)?;
        self.attributes(ino)
    }

    /// The live entries of a directory, in name order.
    pub fn list(&self, dir: u64) -> Result<Vec<(OsString, Attributes)>, Errno> {
        self.entries(dir)?
            .live
            .iter()
            .map(|(name, ino)| Ok((name.clone(), self.attributes(*ino)?)))
            .collect()
    }

    /// Creates an empty file or directory; only its parent's fsync makes the
    /// entry durable.
    pub fn create(
        &mut self,
        parent: u64,
        name: &OsStr,
        kind: Kind,
        mode: u16,
    ) -> Result<Attributes, Errno> {
        if self.entries(parent)?.live.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let body = match kind {
            Kind::File => Body::File(Images {
                live: self.image_file("live", ino)?,
                durable: self.image_file("durable", ino)?,
                durable_len: 0,
                dirty: BTreeSet::new(),
            }),
            Kind::Dir => Body::Dir(Entries {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            }),
        };
        self.inodes.insert(ino, Inode { mode, body });
        self.entries_mut(parent)?.live.insert(name.to_owned(), ino);
        self.attributes(ino)
    }

    /// Removes an entry (unlink or rmdir). The inode stays until a cut shows
    /// that no durable entry names it either.
    pub fn remove(&mut self, parent: u64, name: &OsStr, kind: Kind) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.live.get(name).ok_or(Errno::ENOENT)?;
        match (kind, &self.inodes.get(&ino).ok_or(Errno::ENOENT)?.body) {
            (Kind::File, Body::Dir(_)) => return Err(Errno::EISDIR),
            (Kind::Dir, Body::File(_)) => return Err(Errno::ENOTDIR),
            (Kind::Dir, Body::Dir(entries)) if !entries.live.is_empty() => {
                return Err(Errno::ENOTEMPTY);
            }
            _ => {}
        }
        self.entries_mut(parent)?.live.remove(name);
        Ok(())
    }

    /// Moves an entry, replacing whatever the target name held.
    pub fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
        no_replace: bool,
    ) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.live.get(name).ok_or(Errno::ENOENT)?;
        if no_replace && self.entries(new_parent)?.live.contains_key(new_name) {
            return Err(Errno::EEXIST);
        }
        self.entries_mut(new_parent)?;
        self.entries_mut(parent)?.live.remove(name);
        self.entries_mut(new_parent)?
            .live
            .insert(new_name.to_owned(), ino);
        Ok(())
    }

    pub fn set_mode(&mut self, ino: u64, mode: u16) -> Result<(), Errno> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)?.mode = mode;
        Ok(())
    }

    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let images = self.images(ino)?;
        let len = images.live.metadata()?.len();
        let end = len.min(offset.saturating_add(u64::from(size)));
        let mut bytes = vec![0; usize::try_from(end.saturating_sub(offset)).unwrap_or(0)];
        images.live.read_exact_at(&mut bytes, offset)?;
        Ok(bytes)
    }

    pub fn write(&mut self, ino: u64, offset: u64, bytes: &[u8]) -> Result<(), Errno> {
        let images = self.images_mut(ino)?;
        images.live.write_all_at(bytes, offset)?;
        let end = offset + bytes.len() as u64;
        images.dirty.extend(offset / PAGE..end.div_ceil(PAGE));
        Ok(())
    }

    pub fn truncate(&mut self, ino: u64, len: u64) -> Result<(), Errno> {
        let images = self.images_mut(ino)?;
        let old = images.live.metadata()?.len();
        images.live.set_len(len)?;
        // Pages between the two sizes changed (cut off, or now zeros).
        images
            .dirty
            .extend(old.min(len) / PAGE..old.max(len).div_ceil(PAGE));
        Ok(())
    }

    /// fsync of a file: its bytes and size become durable.
    pub fn sync_file(&mut self, ino: u64) -> Result<(), Errno> {
        let images = self.images_mut(ino)?;
        let len = images.live.metadata()?.len();
        images.durable.set_len(len)?;
        for page in std::mem::take(&mut images.dirty) {
            let start = page * PAGE;
            if start >= len {
                break;
            }
            let mut bytes = vec![0; usize::try_from(PAGE.min(len - start)).unwrap_or(0)];
            images.live.read_exact_at(&mut bytes, start)?;
            images.durable.write_all_at(&bytes, start)?;
        }
        images.durable_len = len;
        Ok(())
    }

    /// fsync of a directory: its entries become durable.
    pub fn sync_dir(&mut self, ino: u64) -> Result<(), Errno> {
        let entries = self.entries_mut(ino)?;
        entries.durable = entries.live.clone();
        Ok(())
    }

    /// Makes everything durable, as a kernel's periodic writeback would given
    /// time.
    pub fn sync_everything(&mut self) -> Result<(), Errno> {
        let inodes: Vec<u64> = self.inodes.keys().copied().collect();
        for ino in inodes {
            match self.inodes.get(&ino).map(|inode| &inode.body) {
                Some(Body::File(_)) => self.sync_file(ino)?,
                Some(Body::Dir(_)) => self.sync_dir(ino)?,
                None => {}
            }
        }
        Ok(())
    }

    /// The power cut: the live image becomes what the disk held, per `style`.
    pub fn cut(&mut self, style: CutStyle, rng: &mut impl Rng) -> Result<CutReport, Errno> {
        let mut report = CutReport::default();
        for inode in self.inodes.values_mut() {
            match &mut inode.body {
                Body::Dir(entries) => entries.live = entries.durable.clone(),
                Body::File(images) => images.revert(style, rng, &mut report)?,
            }
        }
        // Whatever no durable entry reaches from the root is gone.
        let mut reachable = BTreeSet::from([ROOT]);
        let mut pending = vec![ROOT];
        while let Some(dir) = pending.pop() {
            if let Some(Body::Dir(entries)) = self.inodes.get(&dir).map(|inode| &inode.body) {
                for child in entries.live.values() {
                    if reachable.insert(*child) {
                        pending.push(*child);
                    }
                }
            }
        }
        let lost: Vec<u64> = self
            .inodes
            .keys()
            .copied()
            .filter(|ino| !reachable.contains(ino))
            .collect();
        for ino in lost {
            if let Some(Inode {
                body: Body::File(_),
                ..
            }) = self.inodes.remove(&ino)
            {
                std::fs::remove_file(self.image_path("live", ino))?;
                std::fs::remove_file(self.image_path("durable", ino))?;
            }
            report.nodes_lost += 1;
        }
        Ok(report)
    }

    fn image_path(&self, image: &str, ino: u64) -> PathBuf {
        self.backing.join(image).join(ino.to_string())
    }

    fn image_file(&self, image: &str, ino: u64) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.image_path(image, ino))
    }

    fn entries(&self, ino: u64) -> Result<&Entries, Errno> {
        match &self.inodes.get(&ino).ok_or(Errno::ENOENT)?.body {
            Body::Dir(entries) => Ok(entries),
            Body::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, ino: u64) -> Result<&mut Entries, Errno> {
        match &mut self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)?.body {
            Body::Dir(entries) => Ok(entries),
            Body::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn images(&self, ino: u64) -> Result<&Images, Errno> {
        match &self.inodes.get(&ino).ok_or(Errno::ENOENT)?.body {
            Body::File(images) => Ok(images),
            Body::Dir(_) => Err(Errno::EISDIR),
        }
    }

    fn images_mut(&mut self, ino: u64) -> Result<&mut Images, Errno> {
        match &mut self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)?.body {
            Body::File(images) => Ok(images),
            Body::Dir(_) => Err(Errno::EISDIR),
        }
    }
}

impl Images {
    /// Settles the file on what a cut leaves on the disk: afterwards both
    /// images hold it.
    fn revert(
        &mut self,
        style: CutStyle,
        rng: &mut impl Rng,
        report: &mut CutReport,
    ) -> Result<(), Errno> {
        let live_len = self.live.metadata()?.len();
        let len = match style {
            CutStyle::Torn if rng.gen_bool(0.5) => live_len,
            _ => self.durable_len,
        };
        for page in std::mem::take(&mut self.dirty) {
            let start = page * PAGE;
            if start >= len {
                break;
            }
            let mut bytes = vec![0; usize::try_from(PAGE.min(len - start)).unwrap_or(0)];
            if style == CutStyle::Torn && start < live_len && rng.gen_bool(0.5) {
                // This page reached the disk before the power went.
                let written = usize::try_from(live_len - start).unwrap_or(usize::MAX);
                let written = written.min(bytes.len());
                self.live.read_exact_at(&mut bytes[..written], start)?;
                report.pages_kept += 1;
            } else {
                // It did not: the synced bytes, and past them whatever the
                // blocks held (zeros, or garbage on a torn cut).
                let synced = usize::try_from(self.durable_len.saturating_sub(start))
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.durable.read_exact_at(&mut bytes[..synced], start)?;
                if style == CutStyle::Torn {
                    rng.fill(&mut bytes[synced..]);
                }
                report.pages_lost += 1;
            }
            self.live.write_all_at(&bytes, start)?;
            self.durable.write_all_at(&bytes, start)?;
        }
        self.live.set_len(len)?;
        self.durable.set_len(len)?;
        self.durable_len = len;
        Ok(())
    }
}
