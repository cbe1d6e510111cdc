//! The few `bpf(2)` commands the kernel fast path needs, on raw file descriptors: create a
//! hash map, read, write and delete its elements, load a program, and attach it to a
//! network interface's TCX ingress hook with a link (Linux 6.6+). No libbpf: the program
//! is assembled in Rust ([`super::program`]), so there is no ELF object to relocate.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_MAP_DELETE_ELEM: i64 = 3;
const BPF_PROG_LOAD: i64 = 5;
const BPF_LINK_CREATE: i64 = 28;

const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
/// `BPF_TCX_INGRESS` (Linux 6.6; newer than Debian 12's headers).
const BPF_TCX_INGRESS: u32 = 46;

/// `BPF_ANY`: create or replace.
pub(crate) const ANY: u64 = 0;

/// `union bpf_attr`, zeroed, written by byte offset (the layout is the kernel ABI).
#[repr(C, align(8))]
struct Attr([u8; 144]);

impl Attr {
    fn new() -> Self {
        Attr([0; 144])
    }
    fn u32(mut self, at: usize, v: u32) -> Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(mut self, at: usize, v: u64) -> Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn name(mut self, at: usize, name: &str) -> Self {
        let n = name.len().min(15);
        self.0[at..at + n].copy_from_slice(&name.as_bytes()[..n]);
        self
    }
}

fn bpf(cmd: i64, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: `attr` is a valid, writable `union bpf_attr` of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.0.as_mut_ptr(), attr.0.len()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

fn fd(r: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

/// A `BPF_MAP_TYPE_HASH` of fixed-size keys and values.
pub(crate) struct HashMap {
    fd: OwnedFd,
    key: usize,
    value: usize,
}

impl HashMap {
    pub(crate) fn create(name: &str, key: usize, value: usize, entries: u32) -> io::Result<Self> {
        let mut a = Attr::new()
            .u32(0, BPF_MAP_TYPE_HASH)
            .u32(4, key as u32)
            .u32(8, value as u32)
            .u32(12, entries)
            .name(28, name);
        let fd = fd(bpf(BPF_MAP_CREATE, &mut a)?);
        Ok(HashMap { fd, key, value })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn elem(&self, key: &[u8], value: u64, flags: u64) -> Attr {
        assert_eq!(key.len(), self.key, "map key size");
        Attr::new()
            .u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value)
            .u64(24, flags)
    }

    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
        assert_eq!(value.len(), self.value, "map value size");
        bpf(
            BPF_MAP_UPDATE_ELEM,
            &mut self.elem(key, value.as_ptr() as u64, flags),
        )
        .map(drop)
    }

    /// `Ok(false)`: no such key.
    pub(crate) fn lookup(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        assert_eq!(value.len(), self.value, "map value size");
        match bpf(
            BPF_MAP_LOOKUP_ELEM,
            &mut self.elem(key, value.as_mut_ptr() as u64, 0),
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deleting a key that is not there is not an error.
    pub(crate) fn delete(&self, key: &[u8]) -> io::Result<()> {
        match bpf(BPF_MAP_DELETE_ELEM, &mut self.elem(key, 0, 0)) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
            _ => Ok(()),
        }
    }
}

/// Loads a `SCHED_CLS` program for TCX ingress. The verifier's log comes back in the error.
pub(crate) fn load_tcx_program(name: &str, insns: &[u64]) -> io::Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; 1 << 16];
    let mut a = Attr::new()
        .u32(0, BPF_PROG_TYPE_SCHED_CLS)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, 1)
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64)
        .name(48, name)
        .u32(68, BPF_TCX_INGRESS);
    match bpf(BPF_PROG_LOAD, &mut a) {
        Ok(r) => Ok(fd(r)),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let tail = String::from_utf8_lossy(&log[end.saturating_sub(2000)..end]);
            Err(io::Error::new(e.kind(), format!("{e}; verifier: {tail}")))
        }
    }
}

/// Attaches `prog` to `ifindex`'s TCX ingress, after the programs already there. The
/// program stays attached while the returned link is open (it is not pinned: a crashed
/// switch leaves nothing behind).
pub(crate) fn attach_tcx_ingress(prog: &OwnedFd, ifindex: u32) -> io::Result<OwnedFd> {
    let mut a = Attr::new()
        .u32(0, prog.as_raw_fd() as u32)
        .u32(4, ifindex)
        .u32(8, BPF_TCX_INGRESS);
    bpf(BPF_LINK_CREATE, &mut a).map(fd)
}
