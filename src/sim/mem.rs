//! Main memory: a sparse byte-addressed store shared by the hart and the accelerator, and the timing model
//! that serves the accelerator's memory port (latency, bytes per cycle, requests in flight).

const PAGE_BITS: u32 = 12;
const PAGE: u64 = 1 << PAGE_BITS;

/// The default base address of main memory (as on Rocket/Chipyard).
pub const DEFAULT_BASE: u64 = 0x8000_0000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "memory access of {len} bytes at 0x{addr:x} is outside main memory [0x{base:x}, 0x{end:x})"
)]
pub struct MemError {
    pub addr: u64,
    pub len: u64,
    pub base: u64,
    pub end: u64,
}

type Page = Box<[u8; PAGE as usize]>;

/// Sparse main memory: pages are allocated on first write; unwritten bytes read as zero.
///
/// The page table is a flat vector indexed by page number from the base (8 bytes per 4 KiB page: 512 Ki
/// slots for the largest memory a configuration allows, 2047 MiB): every hart load goes through [`Memory::read`], and hashing the
/// page number there took a quarter of the hart's host instructions.
#[derive(Debug, Clone)]
pub struct Memory {
    base: u64,
    size: u64,
    /// Page number of `base`; slot i of `pages` holds page `first_page + i`.
    first_page: u64,
    pages: Vec<Option<Page>>,
}

impl Memory {
    pub fn new(base: u64, size: u64) -> Memory {
        let first_page = base >> PAGE_BITS;
        let slots = match size {
            0 => 0,
            _ => (base.saturating_add(size - 1) >> PAGE_BITS) - first_page + 1,
        };
        Memory {
            base,
            size,
            first_page,
            pages: std::iter::repeat_with(|| None)
                .take(usize::try_from(slots).unwrap_or(usize::MAX))
                .collect(),
        }
    }

    /// The page holding `a`, which [`Memory::check`] has placed inside the memory.
    fn page(&self, a: u64) -> Option<&Page> {
        self.pages[((a >> PAGE_BITS) - self.first_page) as usize].as_ref()
    }
    pub fn base(&self) -> u64 {
        self.base
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn end(&self) -> u64 {
        self.base + self.size
    }

    pub fn check(&self, addr: u64, len: u64) -> Result<(), MemError> {
        if addr < self.base || addr.checked_add(len).is_none_or(|e| e > self.end()) {
            return Err(MemError {
                addr,
                len,
                base: self.base,
                end: self.end(),
            });
        }
        Ok(())
    }

    pub fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), MemError> {
        self.check(addr, out.len() as u64)?;
        let mut done = 0usize;
        while done < out.len() {
            let a = addr + done as u64;
            let off = (a & (PAGE - 1)) as usize;
            let n = (PAGE as usize - off).min(out.len() - done);
            match self.page(a) {
                Some(p) => out[done..done + n].copy_from_slice(&p[off..off + n]),
                None => out[done..done + n].fill(0),
            }
            done += n;
        }
        Ok(())
    }

    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.check(addr, data.len() as u64)?;
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let off = (a & (PAGE - 1)) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            let p = self.pages[((a >> PAGE_BITS) - self.first_page) as usize]
                .get_or_insert_with(|| Box::new([0u8; PAGE as usize]));
            p[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Write the bytes of `data` whose bit in `mask` (bit i for byte i) is set.
    pub fn write_masked(&mut self, addr: u64, data: &[u8], mask: &[bool]) -> Result<(), MemError> {
        self.check(addr, data.len() as u64)?;
        for (i, (&b, &m)) in data.iter().zip(mask).enumerate() {
            if m {
                self.write(addr + i as u64, &[b])?;
            }
        }
        Ok(())
    }

    pub fn read_u8(&self, addr: u64) -> Result<u8, MemError> {
        let mut b = [0u8; 1];
        self.read(addr, &mut b)?;
        Ok(b[0])
    }

    /// Every allocated page as (address, bytes), sorted: for comparing two memories.
    pub fn pages(&self) -> Vec<(u64, &[u8])> {
        self.pages
            .iter()
            .zip(self.first_page..)
            .filter_map(|(p, k)| Some((k << PAGE_BITS, &p.as_ref()?[..])))
            .collect()
    }

    /// The first differing byte between two memories, as (address, self, other).
    pub fn first_difference(&self, other: &Memory) -> Option<(u64, u8, u8)> {
        let mut keys: Vec<u64> = self
            .pages()
            .into_iter()
            .chain(other.pages())
            .map(|(a, _)| a >> PAGE_BITS)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let zero = [0u8; PAGE as usize];
        fn get(m: &Memory, k: u64) -> Option<&Page> {
            let i = usize::try_from(k.checked_sub(m.first_page)?).ok()?;
            m.pages.get(i)?.as_ref()
        }
        for k in keys {
            let a = get(self, k).map(|p| &p[..]).unwrap_or(&zero[..]);
            let b = get(other, k).map(|p| &p[..]).unwrap_or(&zero[..]);
            if let Some(i) = (0..PAGE as usize).find(|&i| a[i] != b[i]) {
                return Some(((k << PAGE_BITS) + i as u64, a[i], b[i]));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_read_write_across_pages() {
        let mut m = Memory::new(DEFAULT_BASE, 1 << 20);
        let data: Vec<u8> = (0..100).collect();
        m.write(DEFAULT_BASE + 4090, &data).unwrap();
        let mut out = vec![0u8; 104];
        m.read(DEFAULT_BASE + 4088, &mut out).unwrap();
        assert_eq!(&out[..2], &[0, 0]);
        assert_eq!(&out[2..102], &data[..]);
        assert!(m.read(DEFAULT_BASE - 1, &mut out).is_err());
        assert!(m.write(DEFAULT_BASE + (1 << 20) - 2, &[1, 2, 3]).is_err());
        let m2 = m.clone();
        assert_eq!(m.first_difference(&m2), None);
        m.write_masked(DEFAULT_BASE, &[9, 9], &[false, true])
            .unwrap();
        assert_eq!(m.first_difference(&m2), Some((DEFAULT_BASE + 1, 9, 0)));
    }

    #[test]
    fn unaligned_base_reaches_both_ends() {
        // The page table starts at the base's page, so a base inside a page must still reach its last byte.
        let base = DEFAULT_BASE + 100;
        let mut m = Memory::new(base, 2 * PAGE);
        m.write(base, &[1]).unwrap();
        m.write(base + 2 * PAGE - 1, &[2]).unwrap();
        assert_eq!(m.read_u8(base).unwrap(), 1);
        assert_eq!(m.read_u8(base + 2 * PAGE - 1).unwrap(), 2);
        assert!(m.write(base + 2 * PAGE, &[3]).is_err());
        assert!(m.read_u8(base - 1).is_err());
        let pages: Vec<u64> = m.pages().iter().map(|(a, _)| *a).collect();
        assert_eq!(pages, vec![DEFAULT_BASE, DEFAULT_BASE + 2 * PAGE]);
        let other = Memory::new(DEFAULT_BASE, 4 * PAGE);
        assert_eq!(m.first_difference(&other), Some((base, 1, 0)));
        assert!(Memory::new(base, 0).read(base, &mut []).is_ok());
    }
}

// ---- The accelerator's memory port: timing model ----

use crate::sim::config::MemoryTiming;
use std::collections::VecDeque;

/// A response the memory port delivers: read data (copied into the caller's buffer) or a write
/// acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaResponse {
    pub id: u8,
    pub write: bool,
    /// Bytes of read data written to the caller's buffer (0 for a write acknowledgement).
    pub len: usize,
}

/// Totals over the port's lifetime, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaStats {
    pub reads: u64,
    pub writes: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

#[derive(Debug)]
struct InFlight {
    id: u8,
    write: bool,
    ready_at: u64,
    /// Read data, captured at acceptance.
    data: Vec<u8>,
}

/// Timing model of the memory system behind the accelerator's memory port (docs/accelerator.md section 5),
/// configured by [`MemoryTiming`]:
///
/// - a request is accepted while fewer than `max_in_flight` requests are outstanding (accepted, response
///   not yet delivered);
/// - memory is accessed at acceptance: writes are applied in acceptance order, reads capture their data;
/// - a shared bandwidth cursor advances by `ceil(size / bytes_per_cycle)` cycles per request (from the
///   acceptance cycle if it has fallen behind), and a response becomes ready at
///   `max(accept_cycle + latency, cursor)`;
/// - at most one response is delivered per cycle, the oldest ready one first.
///
/// Both terms of the ready time grow with acceptance order, so responses become ready in acceptance order
/// and a FIFO is the whole scheduler.
#[derive(Debug)]
pub struct DmaPort {
    latency: u64,
    bytes_per_cycle: u64,
    max_in_flight: usize,
    cursor: u64,
    queue: VecDeque<InFlight>,
    /// Read buffers of delivered responses, reused so the steady state does not allocate.
    spare: Vec<Vec<u8>>,
    stats: DmaStats,
}

impl DmaPort {
    pub fn new(t: &MemoryTiming) -> DmaPort {
        // HwConfig validation rejects zeros; clamp anyway so a hand-built timing cannot divide by zero.
        DmaPort {
            latency: u64::from(t.latency),
            bytes_per_cycle: u64::from(t.bytes_per_cycle.max(1)),
            max_in_flight: t.max_in_flight.max(1) as usize,
            cursor: 0,
            queue: VecDeque::new(),
            spare: Vec::new(),
            stats: DmaStats::default(),
        }
    }

    /// Whether a request presented this cycle would be accepted.
    pub fn can_accept(&self) -> bool {
        self.queue.len() < self.max_in_flight
    }
    /// Requests accepted whose response has not been delivered.
    pub fn outstanding(&self) -> usize {
        self.queue.len()
    }
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }
    /// The cycle at which the next response becomes deliverable.
    pub fn next_ready(&self) -> Option<u64> {
        self.queue.front().map(|r| r.ready_at)
    }
    pub fn stats(&self) -> DmaStats {
        self.stats
    }

    fn schedule(&mut self, now: u64, size: usize) -> u64 {
        let transfer = (size as u64).div_ceil(self.bytes_per_cycle);
        self.cursor = self.cursor.max(now) + transfer;
        let ready = (now + self.latency).max(self.cursor);
        debug_assert!(self.queue.back().is_none_or(|b| b.ready_at <= ready));
        ready
    }

    /// Accept a read of `size` bytes at `addr` in cycle `now`. An address outside `mem` is refused and
    /// nothing is queued.
    pub fn accept_read(
        &mut self,
        mem: &Memory,
        now: u64,
        id: u8,
        addr: u64,
        size: usize,
    ) -> Result<(), MemError> {
        debug_assert!(
            self.can_accept(),
            "request accepted with {} in flight",
            self.queue.len()
        );
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.resize(size, 0);
        if let Err(e) = mem.read(addr, &mut data) {
            self.spare.push(data);
            return Err(e);
        }
        let ready_at = self.schedule(now, size);
        self.stats.reads += 1;
        self.stats.read_bytes += size as u64;
        self.queue.push_back(InFlight {
            id,
            write: false,
            ready_at,
            data,
        });
        Ok(())
    }

    /// Accept a write of `data` at `addr` in cycle `now`; byte i is written only if bit i of `mask` is set
    /// (bit i % 64 of word i / 64). The whole extent must lie in `mem`, or nothing is written or queued.
    pub fn accept_write(
        &mut self,
        mem: &mut Memory,
        now: u64,
        id: u8,
        addr: u64,
        data: &[u8],
        mask: &[u64],
    ) -> Result<(), MemError> {
        debug_assert!(
            self.can_accept(),
            "request accepted with {} in flight",
            self.queue.len()
        );
        mem.check(addr, data.len() as u64)?;
        let bit = |i: usize| mask.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
        // Write maximal runs of enabled bytes: one call for the common full mask.
        let mut i = 0;
        while i < data.len() {
            if !bit(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < data.len() && bit(i) {
                i += 1;
            }
            mem.write(addr + start as u64, &data[start..i])?;
        }
        let ready_at = self.schedule(now, data.len());
        self.stats.writes += 1;
        self.stats.write_bytes += data.len() as u64;
        self.queue.push_back(InFlight {
            id,
            write: true,
            ready_at,
            data: self.spare.pop().unwrap_or_default(),
        });
        Ok(())
    }

    /// The response to deliver in cycle `now`, if one is ready. Read data goes to `out[..len]`; `out` must
    /// hold the largest request.
    pub fn pop_response(&mut self, now: u64, out: &mut [u8]) -> Option<DmaResponse> {
        if self.queue.front()?.ready_at > now {
            return None;
        }
        let r = self.queue.pop_front()?;
        let len = if r.write { 0 } else { r.data.len() };
        if !r.write {
            out[..len].copy_from_slice(&r.data);
        }
        self.spare.push(r.data);
        Some(DmaResponse {
            id: r.id,
            write: r.write,
            len,
        })
    }
}

#[cfg(test)]
mod dma_tests {
    use super::*;

    fn timing(latency: u32, bytes_per_cycle: u32, max_in_flight: u32) -> MemoryTiming {
        MemoryTiming {
            latency,
            bytes_per_cycle,
            max_in_flight,
            ..MemoryTiming::default()
        }
    }

    /// Poll the port every cycle from `from` until it is idle; the cycle and id of each response.
    fn drain(p: &mut DmaPort, from: u64) -> Vec<(u64, u8)> {
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        let mut now = from;
        while !p.is_idle() {
            if let Some(r) = p.pop_response(now, &mut buf) {
                got.push((now, r.id));
            }
            now += 1;
            assert!(now < from + 100_000, "port never drained");
        }
        got
    }

    #[test]
    fn latency_of_a_lone_read() {
        let mut mem = Memory::new(DEFAULT_BASE, 1 << 16);
        let data: Vec<u8> = (0..64).collect();
        mem.write(DEFAULT_BASE + 64, &data).unwrap();
        let mut p = DmaPort::new(&timing(40, 16, 32));
        p.accept_read(&mem, 10, 3, DEFAULT_BASE + 64, 64).unwrap();
        let mut buf = [0u8; 256];
        assert_eq!(p.pop_response(49, &mut buf), None);
        assert_eq!(p.next_ready(), Some(50));
        let r = p.pop_response(50, &mut buf).unwrap();
        assert_eq!(
            r,
            DmaResponse {
                id: 3,
                write: false,
                len: 64
            }
        );
        assert_eq!(&buf[..64], &data[..]);
        assert!(p.is_idle());
    }

    #[test]
    fn bandwidth_cursor_limits_throughput() {
        let mem = Memory::new(DEFAULT_BASE, 1 << 16);
        // 64-byte reads at 16 bytes/cycle take 4 cycles each: back-to-back requests are bandwidth bound.
        let mut p = DmaPort::new(&timing(1, 16, 32));
        for i in 0..10u8 {
            p.accept_read(&mem, u64::from(i), i, DEFAULT_BASE + 64 * u64::from(i), 64)
                .unwrap();
        }
        let got = drain(&mut p, 0);
        let want: Vec<(u64, u8)> = (0..10u8).map(|i| (4 * (u64::from(i) + 1), i)).collect();
        assert_eq!(got, want);
        // An idle port does not bank bandwidth: the cursor restarts from the acceptance cycle.
        p.accept_read(&mem, 1000, 7, DEFAULT_BASE, 16).unwrap();
        assert_eq!(p.next_ready(), Some(1001));
        // Writes use the same cursor (sub-beat sizes round up to a whole cycle).
        let mut mem = mem;
        p.accept_write(&mut mem, 1000, 130, DEFAULT_BASE, &[1; 8], &[u64::MAX])
            .unwrap();
        assert_eq!(
            p.stats(),
            DmaStats {
                reads: 11,
                writes: 1,
                read_bytes: 656,
                write_bytes: 8
            }
        );
        assert_eq!(drain(&mut p, 1000), vec![(1001, 7), (1002, 130)]);
    }

    #[test]
    fn latency_dominates_when_bandwidth_is_spare() {
        let mem = Memory::new(DEFAULT_BASE, 1 << 16);
        let mut p = DmaPort::new(&timing(40, 16, 32));
        for i in 0..4u8 {
            p.accept_read(&mem, 2 * u64::from(i), i, DEFAULT_BASE, 16)
                .unwrap();
        }
        assert_eq!(drain(&mut p, 0), vec![(40, 0), (42, 1), (44, 2), (46, 3)]);
    }

    #[test]
    fn in_flight_limit() {
        let mem = Memory::new(DEFAULT_BASE, 1 << 16);
        let mut p = DmaPort::new(&timing(5, 64, 2));
        assert!(p.can_accept());
        p.accept_read(&mem, 0, 0, DEFAULT_BASE, 64).unwrap();
        p.accept_read(&mem, 0, 1, DEFAULT_BASE, 64).unwrap();
        assert!(!p.can_accept());
        assert_eq!(p.outstanding(), 2);
        let mut buf = [0u8; 64];
        assert_eq!(p.pop_response(4, &mut buf), None);
        assert!(!p.can_accept());
        assert_eq!(p.pop_response(5, &mut buf).map(|r| r.id), Some(0));
        assert!(p.can_accept());
    }

    #[test]
    fn one_response_per_cycle_in_acceptance_order() {
        let mut mem = Memory::new(DEFAULT_BASE, 1 << 16);
        // Plenty of bandwidth: all three are ready at cycle 10, and leave one per cycle, oldest first.
        let mut p = DmaPort::new(&timing(10, 1024, 8));
        p.accept_write(&mut mem, 0, 128, DEFAULT_BASE, &[1; 16], &[u64::MAX])
            .unwrap();
        p.accept_read(&mem, 0, 0, DEFAULT_BASE, 16).unwrap();
        p.accept_write(&mut mem, 0, 129, DEFAULT_BASE, &[2; 16], &[u64::MAX])
            .unwrap();
        p.accept_read(&mem, 0, 1, DEFAULT_BASE, 16).unwrap();
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        for now in 10..14 {
            let r = p.pop_response(now, &mut buf).unwrap();
            got.push((r.id, r.write, buf[0]));
        }
        // Writes are applied at acceptance, in order: each read sees the write accepted before it.
        assert_eq!(
            got,
            vec![(128, true, 0), (0, false, 1), (129, true, 1), (1, false, 2)]
        );
    }

    #[test]
    fn masked_write_and_faults() {
        let mut mem = Memory::new(DEFAULT_BASE, 4096);
        let mut p = DmaPort::new(&timing(1, 16, 4));
        let data: Vec<u8> = (1..=16).collect();
        // Bytes 0-1 and 8 only.
        p.accept_write(&mut mem, 0, 128, DEFAULT_BASE, &data, &[0b1_0000_0011])
            .unwrap();
        let mut out = [0u8; 16];
        mem.read(DEFAULT_BASE, &mut out).unwrap();
        assert_eq!(out, [1, 2, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        // Out of range: refused, nothing written or queued.
        let e = p
            .accept_write(&mut mem, 0, 129, DEFAULT_BASE + 4090, &data, &[u64::MAX])
            .unwrap_err();
        assert_eq!(e.addr, DEFAULT_BASE + 4090);
        let e = p
            .accept_read(&mem, 0, 1, DEFAULT_BASE - 64, 64)
            .unwrap_err();
        assert_eq!(e.addr, DEFAULT_BASE - 64);
        assert_eq!(p.outstanding(), 1);
        assert_eq!(mem.read_u8(DEFAULT_BASE + 4095).unwrap(), 0);
    }
}
