//! Host services for programs on the hart: RISC-V semihosting (the `slli; ebreak; srai` sequence, ARM
//! semihosting operations with 64-bit parameter blocks) and Spike-style HTIF (`tohost` / `fromhost`).
//!
//! Both operate on main memory and a [`Console`] that captures the program's output. There is no host
//! file access: only the console (`:tt`) and the read-only feature list (`:semihosting-features`) can be
//! opened. Time is simulated time: the cycle count at the configured clock, so runs are deterministic.

use crate::sim::mem::{MemError, Memory};
use std::io::Write as _;

pub const SYS_OPEN: u64 = 0x01;
pub const SYS_CLOSE: u64 = 0x02;
pub const SYS_WRITEC: u64 = 0x03;
pub const SYS_WRITE0: u64 = 0x04;
pub const SYS_WRITE: u64 = 0x05;
pub const SYS_READ: u64 = 0x06;
pub const SYS_READC: u64 = 0x07;
pub const SYS_ISERROR: u64 = 0x08;
pub const SYS_ISTTY: u64 = 0x09;
pub const SYS_SEEK: u64 = 0x0a;
pub const SYS_FLEN: u64 = 0x0c;
pub const SYS_TMPNAM: u64 = 0x0d;
pub const SYS_REMOVE: u64 = 0x0e;
pub const SYS_RENAME: u64 = 0x0f;
pub const SYS_CLOCK: u64 = 0x10;
pub const SYS_TIME: u64 = 0x11;
pub const SYS_SYSTEM: u64 = 0x12;
pub const SYS_ERRNO: u64 = 0x13;
pub const SYS_GET_CMDLINE: u64 = 0x15;
pub const SYS_HEAPINFO: u64 = 0x16;
pub const SYS_EXIT: u64 = 0x18;
pub const SYS_EXIT_EXTENDED: u64 = 0x20;
pub const SYS_ELAPSED: u64 = 0x30;
pub const SYS_TICKFREQ: u64 = 0x31;

/// The SYS_EXIT reason of a normal `exit()`.
pub const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Console handles returned by SYS_OPEN of ":tt" (modes r, w, a).
pub const STDIN_HANDLE: u64 = 0;
pub const STDOUT_HANDLE: u64 = 1;
pub const STDERR_HANDLE: u64 = 2;
/// The handle of the read-only pseudo-file ":semihosting-features".
pub const FEATURES_HANDLE: u64 = 3;
/// Its contents: the magic "SHFB" and one feature byte, SH_EXT_EXIT_EXTENDED (bit 0, so picolibc's
/// `exit(n)` reports `n` through SYS_EXIT_EXTENDED) and SH_EXT_STDOUT_STDERR (bit 1: ":tt" opened for
/// append is stderr).
pub const FEATURES: [u8; 5] = [b'S', b'H', b'F', b'B', 0b11];
/// Ticks per second of SYS_ELAPSED / SYS_TICKFREQ: microseconds, because picolibc's `clock()` returns
/// SYS_ELAPSED ticks unscaled and its CLOCKS_PER_SEC is 1 000 000.
pub const TICK_HZ: u64 = 1_000_000;

/// HTIF (proxy kernel numbering) system calls.
pub const HTIF_SYS_CLOSE: u64 = 57;
pub const HTIF_SYS_READ: u64 = 63;
pub const HTIF_SYS_WRITE: u64 = 64;
pub const HTIF_SYS_FSTAT: u64 = 80;
pub const HTIF_SYS_EXIT: u64 = 93;

const EBADF: u64 = 9;
const ENOENT: u64 = 2;
const ESPIPE: u64 = 29;
const ENOSYS: u64 = 38;

/// The program's console: captured stdout and stderr, and the state the services keep.
#[derive(Debug, Clone)]
pub struct Console {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Clock of the simulated hart, for SYS_CLOCK / SYS_TIME / SYS_ELAPSED (default 1 GHz).
    pub clock_hz: u64,
    /// Also copy output to the host's stdout / stderr as it is produced.
    pub echo: bool,
    /// Most bytes captured (stdout and stderr together); more output is dropped and `truncated` set.
    pub limit: usize,
    pub truncated: bool,
    /// Bytes of stdout / stderr dropped at the limit (the echo, if on, still had them).
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    /// The last error a semihosting operation reported (SYS_ERRNO).
    pub errno: u64,
    /// Read position in the ":semihosting-features" pseudo-file.
    pub features_pos: u64,
}

impl Default for Console {
    fn default() -> Self {
        Console::new(1_000_000_000)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

impl Console {
    pub fn new(clock_hz: u64) -> Console {
        Console {
            stdout: Vec::new(),
            stderr: Vec::new(),
            clock_hz: clock_hz.max(1),
            echo: false,
            limit: 64 << 20,
            truncated: false,
            stdout_dropped: 0,
            stderr_dropped: 0,
            errno: 0,
            features_pos: 0,
        }
    }

    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn emit(&mut self, stream: Stream, bytes: &[u8]) {
        if self.echo {
            // Echo is best effort: a closed host pipe must not end the simulation.
            let _ = match stream {
                Stream::Out => std::io::stdout().write_all(bytes),
                Stream::Err => std::io::stderr().write_all(bytes),
            };
        }
        let room = self
            .limit
            .saturating_sub(self.stdout.len() + self.stderr.len());
        if bytes.len() > room {
            self.truncated = true;
            let dropped = (bytes.len() - room) as u64;
            match stream {
                Stream::Out => self.stdout_dropped += dropped,
                Stream::Err => self.stderr_dropped += dropped,
            }
        }
        let take = &bytes[..bytes.len().min(room)];
        match stream {
            Stream::Out => self.stdout.extend_from_slice(take),
            Stream::Err => self.stderr.extend_from_slice(take),
        }
    }

    /// Copy `len` bytes at `addr` to the stream.
    fn emit_mem(
        &mut self,
        stream: Stream,
        mem: &Memory,
        addr: u64,
        len: u64,
    ) -> Result<(), MemError> {
        mem.check(addr, len)?;
        let mut buf = [0u8; 4096];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(buf.len() as u64) as usize;
            mem.read(addr + done, &mut buf[..n])?;
            self.emit(stream, &buf[..n]);
            done += n as u64;
        }
        Ok(())
    }
}

/// What the caller does after a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAction {
    /// Semihosting: pass the value to [`super::Hart::complete_semihost`] (it becomes a0).
    Return(u64),
    /// The program exited with this code.
    Exit(i64),
}

/// What the caller does after an HTIF request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtifAction {
    /// Write 0 to `tohost` and this value to `fromhost` (the program waits for it).
    Reply(u64),
    /// Write 0 to `tohost`; no response (console output).
    Done,
    /// The program exited with this code.
    Exit(i64),
}

/// A request the services cannot serve: the run should end with this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("semihosting operation 0x{op:x} is not supported")]
    UnknownSemihostOp { op: u64 },
    #[error("semihosting {call}: {source}")]
    SemihostMemory {
        call: &'static str,
        source: MemError,
    },
    #[error(
        "HTIF system call {which} is not supported (supported: write, read, close, fstat, exit)"
    )]
    UnknownHtifSyscall { which: u64 },
    #[error("HTIF device {device} command {command} is not supported (tohost = 0x{value:x})")]
    UnknownHtifDevice {
        device: u64,
        command: u64,
        value: u64,
    },
    #[error("HTIF: {source}")]
    HtifMemory { source: MemError },
}

fn read_u64(mem: &Memory, addr: u64) -> Result<u64, MemError> {
    let mut b = [0u8; 8];
    mem.read(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn write_u64(mem: &mut Memory, addr: u64, v: u64) -> Result<(), MemError> {
    mem.write(addr, &v.to_le_bytes())
}

/// A NUL-terminated string at `addr` (without the NUL).
fn read_cstr(mem: &Memory, addr: u64) -> Result<Vec<u8>, MemError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let mut a = addr;
    loop {
        // Never read past the end of memory in one chunk: the string may end just before it.
        let n = mem.end().saturating_sub(a).clamp(1, buf.len() as u64) as usize;
        mem.read(a, &mut buf[..n])?;
        if let Some(z) = buf[..n].iter().position(|&c| c == 0) {
            out.extend_from_slice(&buf[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        a += n as u64;
    }
}

/// Serve semihosting operation `op` with parameter `arg` (a0 and a1 at the `ebreak`), at simulated cycle
/// `now_cycle`. Parameter blocks hold 64-bit fields.
pub fn semihost(
    console: &mut Console,
    mem: &mut Memory,
    op: u64,
    arg: u64,
    now_cycle: u64,
) -> Result<HostAction, HostError> {
    let name = op_name(op);
    let merr = |source: MemError| HostError::SemihostMemory { call: name, source };
    let field = |mem: &Memory, i: u64| read_u64(mem, arg.wrapping_add(8 * i)).map_err(merr);
    let ret = |v: u64| Ok(HostAction::Return(v));
    let fail = |console: &mut Console, errno: u64| {
        console.errno = errno;
        Ok(HostAction::Return(u64::MAX))
    };
    let is_console = |h: u64| h <= STDERR_HANDLE;
    match op {
        SYS_OPEN => {
            let (ptr, mode, len) = (field(mem, 0)?, field(mem, 1)?, field(mem, 2)?);
            mem.check(ptr, len).map_err(merr)?;
            let mut path = vec![0u8; len as usize];
            mem.read(ptr, &mut path).map_err(merr)?;
            if path == b":semihosting-features" && mode <= 1 {
                console.features_pos = 0;
                return ret(FEATURES_HANDLE);
            }
            if path != b":tt" {
                return fail(console, ENOENT);
            }
            match mode {
                0..=3 => ret(STDIN_HANDLE),
                4..=7 => ret(STDOUT_HANDLE),
                8..=11 => ret(STDERR_HANDLE),
                _ => fail(console, ENOENT),
            }
        }
        SYS_CLOSE => {
            let handle = field(mem, 0)?;
            if is_console(handle) || handle == FEATURES_HANDLE {
                ret(0)
            } else {
                fail(console, EBADF)
            }
        }
        SYS_WRITEC => {
            let c = mem.read_u8(arg).map_err(merr)?;
            console.emit(Stream::Out, &[c]);
            ret(0)
        }
        SYS_WRITE0 => {
            let s = read_cstr(mem, arg).map_err(merr)?;
            console.emit(Stream::Out, &s);
            ret(0)
        }
        SYS_WRITE => {
            let (handle, buf, len) = (field(mem, 0)?, field(mem, 1)?, field(mem, 2)?);
            let stream = match handle {
                STDOUT_HANDLE => Stream::Out,
                STDERR_HANDLE => Stream::Err,
                _ => {
                    console.errno = EBADF;
                    // Nothing written: all `len` bytes remain.
                    return ret(len);
                }
            };
            console.emit_mem(stream, mem, buf, len).map_err(merr)?;
            ret(0)
        }
        SYS_READ => {
            let (handle, buf, len) = (field(mem, 0)?, field(mem, 1)?, field(mem, 2)?);
            if handle == FEATURES_HANDLE {
                let pos = console.features_pos.min(FEATURES.len() as u64) as usize;
                let n = (FEATURES.len() - pos).min(len.min(usize::MAX as u64) as usize);
                mem.write(buf, &FEATURES[pos..pos + n]).map_err(merr)?;
                console.features_pos += n as u64;
                // The number of bytes not read.
                ret(len - n as u64)
            } else if handle == STDIN_HANDLE {
                // End of file: no byte read, all `len` remain.
                ret(len)
            } else {
                fail(console, EBADF)
            }
        }
        SYS_READC => ret(u64::MAX),
        SYS_ISERROR => ret(((field(mem, 0)? as i64) < 0) as u64),
        SYS_ISTTY => {
            let handle = field(mem, 0)?;
            if is_console(handle) {
                ret(1)
            } else if handle == FEATURES_HANDLE {
                ret(0)
            } else {
                console.errno = EBADF;
                ret(0)
            }
        }
        SYS_SEEK => {
            if field(mem, 0)? == FEATURES_HANDLE {
                console.features_pos = field(mem, 1)?;
                ret(0)
            } else {
                fail(console, ESPIPE)
            }
        }
        SYS_FLEN => {
            let handle = field(mem, 0)?;
            if handle == FEATURES_HANDLE {
                ret(FEATURES.len() as u64)
            } else if is_console(handle) {
                ret(0)
            } else {
                fail(console, EBADF)
            }
        }
        SYS_TMPNAM | SYS_REMOVE | SYS_RENAME | SYS_SYSTEM => fail(console, ENOSYS),
        SYS_CLOCK => ret(((now_cycle as u128 * 100) / console.clock_hz as u128) as u64),
        SYS_TIME => ret(now_cycle / console.clock_hz),
        SYS_ELAPSED => {
            let ticks = (now_cycle as u128 * TICK_HZ as u128 / console.clock_hz as u128) as u64;
            write_u64(mem, arg, ticks).map_err(merr)?;
            ret(0)
        }
        SYS_TICKFREQ => ret(TICK_HZ),
        SYS_ERRNO => ret(console.errno),
        SYS_GET_CMDLINE => {
            let (buf, len) = (field(mem, 0)?, field(mem, 1)?);
            if len == 0 {
                return fail(console, EBADF);
            }
            mem.write(buf, &[0]).map_err(merr)?;
            write_u64(mem, arg + 8, 0).map_err(merr)?;
            ret(0)
        }
        SYS_HEAPINFO => {
            // ARM: a1 points to a pointer to the four-field block; picolibc passes the (zeroed) block
            // itself. Zeros in every field tell the runtime to use its own heap and stack.
            let first = field(mem, 0)?;
            let block = if first != 0 && mem.check(first, 32).is_ok() {
                first
            } else {
                arg
            };
            mem.write(block, &[0u8; 32]).map_err(merr)?;
            ret(0)
        }
        SYS_EXIT | SYS_EXIT_EXTENDED => {
            // RV64: a1 points to [reason, subcode]. A bare reason (the 32-bit convention) is accepted too.
            let (reason, subcode) = if mem.check(arg, 16).is_ok() {
                (field(mem, 0)?, field(mem, 1)?)
            } else {
                (arg, 0)
            };
            let code = if reason == ADP_STOPPED_APPLICATION_EXIT {
                subcode as i64
            } else {
                1
            };
            Ok(HostAction::Exit(code))
        }
        _ => Err(HostError::UnknownSemihostOp { op }),
    }
}

fn op_name(op: u64) -> &'static str {
    match op {
        SYS_OPEN => "SYS_OPEN",
        SYS_CLOSE => "SYS_CLOSE",
        SYS_WRITEC => "SYS_WRITEC",
        SYS_WRITE0 => "SYS_WRITE0",
        SYS_WRITE => "SYS_WRITE",
        SYS_READ => "SYS_READ",
        SYS_READC => "SYS_READC",
        SYS_ISERROR => "SYS_ISERROR",
        SYS_ISTTY => "SYS_ISTTY",
        SYS_SEEK => "SYS_SEEK",
        SYS_FLEN => "SYS_FLEN",
        SYS_TMPNAM => "SYS_TMPNAM",
        SYS_REMOVE => "SYS_REMOVE",
        SYS_RENAME => "SYS_RENAME",
        SYS_CLOCK => "SYS_CLOCK",
        SYS_TIME => "SYS_TIME",
        SYS_SYSTEM => "SYS_SYSTEM",
        SYS_ERRNO => "SYS_ERRNO",
        SYS_GET_CMDLINE => "SYS_GET_CMDLINE",
        SYS_HEAPINFO => "SYS_HEAPINFO",
        SYS_EXIT => "SYS_EXIT",
        SYS_EXIT_EXTENDED => "SYS_EXIT_EXTENDED",
        SYS_ELAPSED => "SYS_ELAPSED",
        SYS_TICKFREQ => "SYS_TICKFREQ",
        _ => "unknown operation",
    }
}

/// Serve a nonzero value the program stored to `tohost` ([`super::Step::Htif`]):
///
/// - device 1 (console), command 1: write the low byte to stdout ([`HtifAction::Done`]);
/// - LSB 1: exit with code `value >> 1` (arithmetic, so negative codes survive);
/// - otherwise (device 0, command 0) a pointer to a `magic_mem` block `[which, arg0, arg1, arg2, ...]`:
///   `which` 64 (write: fd, buf, len) writes to the console, 63 (read) reads end of file, 57 (close)
///   succeeds, 80 (fstat) fails with ENOSYS, 93 (exit) exits with arg0; the result goes to
///   `magic_mem[0]` and the caller answers with [`HtifAction::Reply`]`(1)` in `fromhost`.
pub fn htif_write(
    console: &mut Console,
    mem: &mut Memory,
    value: u64,
) -> Result<HtifAction, HostError> {
    let device = value >> 56;
    let command = (value >> 48) & 0xff;
    if device == 1 && command == 1 {
        console.emit(Stream::Out, &[value as u8]);
        return Ok(HtifAction::Done);
    }
    if value & 1 == 1 {
        return Ok(HtifAction::Exit((value as i64) >> 1));
    }
    if device != 0 || command != 0 {
        return Err(HostError::UnknownHtifDevice {
            device,
            command,
            value,
        });
    }
    let merr = |source: MemError| HostError::HtifMemory { source };
    let block = value;
    let arg = |i: u64| read_u64(mem, block + 8 * i).map_err(merr);
    let which = arg(0)?;
    let (a0, a1, a2) = (arg(1)?, arg(2)?, arg(3)?);
    let result: u64 = match which {
        HTIF_SYS_WRITE => {
            let stream = match a0 {
                1 => Some(Stream::Out),
                2 => Some(Stream::Err),
                _ => None,
            };
            match stream {
                Some(s) => {
                    console.emit_mem(s, mem, a1, a2).map_err(merr)?;
                    a2
                }
                None => EBADF.wrapping_neg(),
            }
        }
        HTIF_SYS_READ => 0,
        HTIF_SYS_CLOSE => 0,
        HTIF_SYS_FSTAT => ENOSYS.wrapping_neg(),
        HTIF_SYS_EXIT => return Ok(HtifAction::Exit(a0 as i64)),
        _ => return Err(HostError::UnknownHtifSyscall { which }),
    };
    write_u64(mem, block, result).map_err(merr)?;
    Ok(HtifAction::Reply(1))
}
