//! Command streams as data, and their driver: a [`StreamCase`] (a RoCC command stream and the main memory
//! it starts from), the compute-bound WS matmul stream that `gemforge perf` times ([`ws_matmul_stream`]),
//! and [`run_stream`], which drives an [`Accelerator`] with a stream as a hart that does nothing but issue
//! the commands would: in order, each as soon as it is accepted, then wait until the accelerator is idle.
//! The random stream generators of the differential tests build on these (tests/support/gen.rs).
//!
//! Each cycle is at most one `offer` followed by exactly one `tick` (an offer never advances the clock, for
//! either engine), so the reported cycle count is the number of rising edges the stream took.
//!
//! Main memory of a case has two disjoint regions: the input region, the only place mvins read, and the
//! output region, the only place mvouts write.

use super::{AccelError, Accelerator, ErrorKind, RoccResp};
use crate::sim::config::HwConfig;
use crate::sim::isa::{
    Command, ConfigEx, ConfigLd, ConfigSt, LocalAddr, Operand, RoccCmd, DATAFLOW_WS,
};
use crate::sim::mem::{Memory, DEFAULT_BASE};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Size of the main memory of a stream case.
pub const MEM_SIZE: u64 = 1 << 20;
/// The input region (read by mvins only).
pub const IN_BASE: u64 = DEFAULT_BASE + 0x1_0000;
pub const IN_SIZE: u64 = 0x1_0000;
/// The output region (written by mvouts only).
pub const OUT_BASE: u64 = DEFAULT_BASE + 0x4_0000;
pub const OUT_SIZE: u64 = 0x2_0000;

/// A command stream with the main memory it starts from.
#[derive(Debug, Clone)]
pub struct StreamCase {
    pub seed: u64,
    pub mem: Memory,
    pub cmds: Vec<RoccCmd>,
    /// Input region `[base, base + size)` (random bytes; read by mvins).
    pub in_region: (u64, u64),
    /// Output region `[base, base + size)` (random bytes; written by mvouts).
    pub out_region: (u64, u64),
}

impl StreamCase {
    /// The command list, one per line: index, raw encoding and decoded form.
    pub fn listing(&self) -> String {
        listing(&self.cmds)
    }
}

/// One line per command: index, raw encoding, decoded form.
pub fn listing(cmds: &[RoccCmd]) -> String {
    let mut s = String::new();
    for (i, c) in cmds.iter().enumerate() {
        s.push_str(&format!("{i:4}: {c}\n      {:?}\n", Command::decode(*c)));
    }
    s
}

/// A compute-bound WS stream: mvin 4 A tiles and 4 B tiles (DIM x DIM int8, resident; A in scratchpad
/// bank 0, B in bank 1 when there are several banks, so preload and compute reads do not contend), then
/// `n_tiles` matmuls. Each B tile is preloaded once and reused: `preload(B, C)` + `compute_preloaded(A)` starts a
/// group, and the rest of the group is `preload(garbage, C)` + `compute_accumulated(A)`. C goes to the
/// accumulator (accumulating after the first pass over it). Ends with mvouts of the C tiles.
pub fn ws_matmul_stream(cfg: &HwConfig, n_tiles: u32) -> StreamCase {
    let dim = cfg.dim();
    let d = dim as u16;
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0001);
    let mut mem = Memory::new(DEFAULT_BASE, MEM_SIZE);
    let mut bytes = vec![0u8; IN_SIZE as usize];
    rng.fill(&mut bytes[..]);
    if cfg.is_fp32() {
        for w in bytes.chunks_exact_mut(4) {
            let x = fp32_word(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            w.copy_from_slice(&x.to_le_bytes());
        }
    }
    // In range for each of memory and scratchpad: 8 tiles of DIM*DIM elements.
    mem.write(IN_BASE, &bytes)
        .expect("input region is in memory");
    let eb = cfg.elem_bytes();
    let tile_bytes = (dim * dim * eb) as u64;
    let mut cmds = vec![
        ConfigEx {
            dataflow: DATAFLOW_WS,
            ..ConfigEx::default()
        }
        .encode(),
        ConfigLd::new(0, (dim * eb) as u64, d).encode(),
        ConfigSt::new(dim * eb).encode(),
    ];
    let b_base = if cfg.scratchpad.banks > 1 && cfg.sp_bank_rows() >= 4 * dim {
        cfg.sp_bank_rows()
    } else {
        4 * dim
    };
    let tile_row = |t: u32| {
        if t < 4 {
            t * dim
        } else {
            b_base + (t - 4) * dim
        }
    };
    for t in 0..8u32 {
        cmds.push(
            Command::Mvin {
                state: 0,
                dram: IN_BASE + t as u64 * tile_bytes,
                op: Operand::new(LocalAddr::sp(tile_row(t)), d, d),
            }
            .encode(),
        );
    }
    let c_tiles = (cfg.acc_rows() / dim).clamp(1, 8);
    let group = 4u32;
    for i in 0..n_tiles {
        let a = LocalAddr::sp((i % 4) * dim);
        let b = LocalAddr::sp(tile_row(4 + (i / group) % 4));
        let ct = i % c_tiles;
        let c = if i < c_tiles {
            LocalAddr::acc(ct * dim)
        } else {
            LocalAddr::acc_accumulate(ct * dim)
        };
        let first = i % group == 0;
        cmds.push(
            Command::Preload {
                bd: if first {
                    Operand::new(b, d, d)
                } else {
                    Operand::garbage(d)
                },
                c: Operand::new(c, d, d),
            }
            .encode(),
        );
        cmds.push(
            Command::Compute {
                flip: first,
                a: Operand::new(a, d, d),
                bd: Operand::garbage(d),
            }
            .encode(),
        );
    }
    for t in 0..c_tiles.min(n_tiles) {
        cmds.push(
            Command::Mvout {
                dram: OUT_BASE + t as u64 * tile_bytes,
                op: Operand::new(LocalAddr::acc(t * dim), d, d),
            }
            .encode(),
        );
    }
    StreamCase {
        seed: 0,
        mem,
        cmds,
        in_region: (IN_BASE, IN_SIZE),
        out_region: (OUT_BASE, OUT_SIZE),
    }
}

/// binary32 test data from 32 random bits: 1/16 special values (zeros, infinities, NaNs, the ends of the
/// subnormal and normal ranges, 1), 1/16 subnormals, and otherwise moderate values in [2^-7, 2^9) of
/// either sign, where sums cancel and round often.
pub fn fp32_word(w: u32) -> u32 {
    const SPECIAL: [u32; 16] = [
        0x0000_0000,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0x7f80_0001,
        0x0000_0001,
        0x8000_0001,
        0x007f_ffff,
        0x0080_0000,
        0x8080_0000,
        0x7f7f_ffff,
        0xff7f_ffff,
        0x3f80_0000,
        0xbf80_0000,
        0x3f80_0001,
    ];
    let sign = w & 0x8000_0000;
    match (w >> 27) & 15 {
        0 => SPECIAL[(w & 15) as usize],
        1 => sign | (w & 0x007f_ffff),
        _ => sign | ((120 + ((w >> 23) & 15)) << 23) | (w & 0x007f_ffff),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessOpts {
    /// Fail with [`ErrorKind::Watchdog`] after this many cycles without progress (see [`run_stream`]).
    pub watchdog_cycles: u64,
    /// Fail with [`ErrorKind::Watchdog`] when the stream has taken this many cycles.
    pub max_cycles: u64,
}

impl Default for HarnessOpts {
    fn default() -> Self {
        HarnessOpts {
            watchdog_cycles: 100_000,
            max_cycles: 1_000_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReport {
    /// Cycles from the first offer until the accelerator was idle.
    pub cycles: u64,
    /// RoCC responses in arrival order. Command i of the stream is issued with rd = i % 32, which a
    /// response echoes, so responses can be matched to counter commands.
    pub responses: Vec<RoccResp>,
    /// How much each event counted during the stream (totals after minus totals before).
    pub events: Vec<(&'static str, u64)>,
}

/// Issue `cmds` in order, one offer per cycle until each is accepted, collect the responses, then tick
/// until the accelerator is no longer busy.
///
/// Progress is: a command accepted, a response, a change of `debug_state()`, or a change of an event that
/// counts bytes moved (name containing `bytes`). Events that count cycles are not progress: they keep
/// counting while a unit waits forever. Without progress for `opts.watchdog_cycles` cycles (sampled every
/// `min(1024, watchdog_cycles / 8)` cycles, so detection may lag by that much) the run fails with
/// [`ErrorKind::Watchdog`] and the controller states in the detail.
pub fn run_stream(
    acc: &mut dyn Accelerator,
    mem: &mut Memory,
    cmds: &[RoccCmd],
    opts: &HarnessOpts,
) -> Result<StreamReport, AccelError> {
    let start = acc.cycles();
    let events_before = acc.events();
    let mut responses = Vec::new();
    let mut watch = Watch::new(acc, opts);
    let mut next = 0usize;
    loop {
        let elapsed = acc.cycles() - start;
        if next < cmds.len() {
            if acc.offer(cmds[next], (next % 32) as u8, mem)? {
                next += 1;
                watch.progress(elapsed);
            }
        } else if !acc.busy() {
            break;
        }
        if elapsed >= opts.max_cycles {
            return Err(AccelError {
                kind: ErrorKind::Watchdog,
                cmd: cmds.get(next).copied(),
                detail: format!(
                    "cycle limit of {} reached with {next} of {} commands issued; state: {}",
                    opts.max_cycles,
                    cmds.len(),
                    acc.debug_state()
                ),
            });
        }
        acc.tick(mem)?;
        while let Some(r) = acc.take_response() {
            responses.push(r);
            watch.progress(elapsed + 1);
        }
        watch.check(acc, elapsed + 1, cmds.get(next).copied(), next, cmds.len())?;
    }
    // A response from the last edge (the spec engine answers at offer time, the RTL a few cycles later).
    while let Some(r) = acc.take_response() {
        responses.push(r);
    }
    let events = acc
        .events()
        .into_iter()
        .map(|(name, after)| {
            let before = events_before
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |e| e.1);
            (name, after.wrapping_sub(before))
        })
        .collect();
    Ok(StreamReport {
        cycles: acc.cycles() - start,
        responses,
        events,
    })
}

/// The watchdog's memory of the last progress.
struct Watch {
    limit: u64,
    period: u64,
    last_progress: u64,
    state: String,
    bytes: Vec<u64>,
}

impl Watch {
    fn new(acc: &mut dyn Accelerator, opts: &HarnessOpts) -> Watch {
        Watch {
            limit: opts.watchdog_cycles.max(1),
            period: (opts.watchdog_cycles / 8).clamp(1, 1024),
            last_progress: 0,
            state: acc.debug_state(),
            bytes: byte_events(acc),
        }
    }

    fn progress(&mut self, at: u64) {
        self.last_progress = at;
    }

    /// Sample the accelerator every `period` cycles; fail once nothing moved for `limit` cycles.
    fn check(
        &mut self,
        acc: &mut dyn Accelerator,
        now: u64,
        waiting: Option<RoccCmd>,
        issued: usize,
        total: usize,
    ) -> Result<(), AccelError> {
        if now % self.period != 0 {
            return Ok(());
        }
        let state = acc.debug_state();
        let bytes = byte_events(acc);
        if state != self.state || bytes != self.bytes {
            self.state = state;
            self.bytes = bytes;
            self.last_progress = now;
            return Ok(());
        }
        let idle_for = now - self.last_progress.min(now);
        if idle_for >= self.limit {
            return Err(AccelError {
                kind: ErrorKind::Watchdog,
                cmd: waiting,
                detail: format!(
                    "no progress for {idle_for} cycles (stream cycle {now}, {issued} of {total} commands \
                     issued, busy {}); state: {state}",
                    acc.busy()
                ),
            });
        }
        Ok(())
    }
}

fn byte_events(acc: &mut dyn Accelerator) -> Vec<u64> {
    acc.events()
        .into_iter()
        .filter(|(name, _)| name.contains("bytes"))
        .map(|(_, v)| v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::mem::DEFAULT_BASE;
    use std::collections::VecDeque;

    /// A queue of `cap` commands executed one at a time, `latency` cycles each; funct 126 answers with the
    /// command's rs1. `hang` stops execution; `moves_bytes` makes a hung unit still report bytes moving
    /// (slow, not dead); a cycle-counting event always counts while busy.
    struct Mock {
        cap: usize,
        latency: u64,
        hang: bool,
        moves_bytes: bool,
        queue: VecDeque<(RoccCmd, u8, u64)>,
        responses: VecDeque<RoccResp>,
        executed: Vec<RoccCmd>,
        cycles: u64,
        busy_cycles: u64,
        bytes: u64,
        fail_on: Option<u8>,
        error: Option<AccelError>,
    }

    impl Mock {
        fn new(cap: usize, latency: u64) -> Mock {
            Mock {
                cap,
                latency,
                hang: false,
                moves_bytes: false,
                queue: VecDeque::new(),
                responses: VecDeque::new(),
                executed: Vec::new(),
                cycles: 0,
                busy_cycles: 0,
                bytes: 0,
                fail_on: None,
                error: None,
            }
        }
    }

    impl Accelerator for Mock {
        fn engine(&self) -> &'static str {
            "mock"
        }
        fn offer(&mut self, cmd: RoccCmd, rd: u8, _mem: &mut Memory) -> Result<bool, AccelError> {
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            if self.queue.len() >= self.cap {
                return Ok(false);
            }
            self.queue.push_back((cmd, rd, self.latency));
            Ok(true)
        }
        fn tick(&mut self, _mem: &mut Memory) -> Result<(), AccelError> {
            self.cycles += 1;
            if self.queue.is_empty() {
                return Ok(());
            }
            self.busy_cycles += 1;
            if self.hang {
                if self.moves_bytes {
                    self.bytes += 16;
                }
                return Ok(());
            }
            let Some(front) = self.queue.front_mut() else {
                return Ok(());
            };
            front.2 -= 1;
            if front.2 > 0 {
                return Ok(());
            }
            let Some((cmd, rd, _)) = self.queue.pop_front() else {
                return Ok(());
            };
            if Some(cmd.funct) == self.fail_on {
                let e = AccelError {
                    kind: ErrorKind::Pairing,
                    cmd: Some(cmd),
                    detail: String::new(),
                };
                self.error = Some(e.clone());
                return Err(e);
            }
            if cmd.funct == 126 {
                self.responses.push_back(RoccResp { rd, data: cmd.rs1 });
            }
            self.bytes += 64;
            self.executed.push(cmd);
            Ok(())
        }
        fn busy(&self) -> bool {
            !self.queue.is_empty()
        }
        fn take_response(&mut self) -> Option<RoccResp> {
            self.responses.pop_front()
        }
        fn error(&self) -> Option<AccelError> {
            self.error.clone()
        }
        fn cycles(&self) -> u64 {
            self.cycles
        }
        fn skip_idle(&mut self, cycles: u64) {
            self.cycles += cycles;
        }
        fn read_sp_row(&mut self, _row: u32) -> Vec<i32> {
            vec![0; 4]
        }
        fn read_acc_row(&mut self, _row: u32) -> Vec<i32> {
            vec![0; 4]
        }
        fn events(&mut self) -> Vec<(&'static str, u64)> {
            vec![
                ("exe_active_cycle", self.busy_cycles),
                ("rdma_bytes_rec", self.bytes),
            ]
        }
        fn debug_state(&mut self) -> String {
            format!("queue {}", self.queue.len())
        }
    }

    fn cmd(funct: u8, rs1: u64) -> RoccCmd {
        RoccCmd { funct, rs1, rs2: 0 }
    }

    fn mem() -> Memory {
        Memory::new(DEFAULT_BASE, 1 << 16)
    }

    #[test]
    fn ws_matmul_stream_is_legal() {
        let cfg = HwConfig::default_config();
        let case = ws_matmul_stream(&cfg, 100);
        let mut acc = crate::sim::accel::spec::SpecAccel::new(&cfg);
        let mut m = case.mem.clone();
        if let Err(e) = run_stream(&mut acc, &mut m, &case.cmds, &HarnessOpts::default()) {
            panic!("{e}\n{}", case.listing());
        }
        let computes = case
            .cmds
            .iter()
            .filter(|c| matches!(Command::decode(**c), Command::Compute { .. }))
            .count();
        assert_eq!(computes, 100);
    }

    #[test]
    fn issues_in_order_and_waits_for_idle() {
        let mut acc = Mock::new(2, 3);
        let cmds: Vec<RoccCmd> = (0..5).map(|i| cmd(2, i)).collect();
        let r = run_stream(&mut acc, &mut mem(), &cmds, &HarnessOpts::default()).unwrap();
        assert_eq!(acc.executed, cmds);
        assert!(!acc.busy());
        // Serial execution bounds the time: 5 commands x 3 cycles, issued back to back.
        assert_eq!(r.cycles, 15);
        assert_eq!(r.cycles, acc.cycles());
        assert_eq!(
            r.events,
            vec![("exe_active_cycle", 15), ("rdma_bytes_rec", 5 * 64)]
        );
    }

    #[test]
    fn cycles_and_events_are_relative_to_the_start() {
        let mut acc = Mock::new(4, 2);
        let mut m = mem();
        run_stream(&mut acc, &mut m, &[cmd(2, 0)], &HarnessOpts::default()).unwrap();
        let r = run_stream(
            &mut acc,
            &mut m,
            &[cmd(2, 0), cmd(2, 1)],
            &HarnessOpts::default(),
        )
        .unwrap();
        assert_eq!(r.cycles, 4);
        assert_eq!(r.events[1], ("rdma_bytes_rec", 128));
    }

    #[test]
    fn empty_stream_takes_no_cycles() {
        let mut acc = Mock::new(1, 1);
        let r = run_stream(&mut acc, &mut mem(), &[], &HarnessOpts::default()).unwrap();
        assert_eq!(r.cycles, 0);
        assert!(r.responses.is_empty());
    }

    #[test]
    fn collects_responses_with_rd_from_the_index() {
        let mut acc = Mock::new(8, 1);
        let cmds = [cmd(126, 11), cmd(2, 0), cmd(126, 22)];
        let r = run_stream(&mut acc, &mut mem(), &cmds, &HarnessOpts::default()).unwrap();
        assert_eq!(
            r.responses,
            vec![RoccResp { rd: 0, data: 11 }, RoccResp { rd: 2, data: 22 }]
        );
    }

    #[test]
    fn watchdog_fires_on_a_hang_despite_cycle_counters() {
        let mut acc = Mock::new(1, 1);
        acc.hang = true;
        let opts = HarnessOpts {
            watchdog_cycles: 1000,
            ..HarnessOpts::default()
        };
        let cmds = [cmd(2, 0), cmd(3, 0)];
        let e = run_stream(&mut acc, &mut mem(), &cmds, &opts).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Watchdog);
        assert_eq!(e.cmd, Some(cmds[1]), "the command waiting to be issued");
        assert!(
            e.detail.contains("queue 1") && e.detail.contains("1 of 2"),
            "{}",
            e.detail
        );
        // Detected within one sampling period of the limit.
        assert!(
            acc.cycles() >= 1000 && acc.cycles() <= 1000 + 125,
            "{}",
            acc.cycles()
        );
    }

    #[test]
    fn moving_bytes_is_progress() {
        // Hung queue but bytes keep moving (a long transfer): not a watchdog, but the cycle limit ends it.
        let mut acc = Mock::new(1, 1);
        acc.hang = true;
        acc.moves_bytes = true;
        let opts = HarnessOpts {
            watchdog_cycles: 100,
            max_cycles: 5000,
        };
        let e = run_stream(&mut acc, &mut mem(), &[cmd(2, 0)], &opts).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Watchdog);
        assert!(e.detail.contains("cycle limit of 5000"), "{}", e.detail);
        assert_eq!(acc.cycles(), 5000);
    }

    #[test]
    fn slow_commands_are_not_a_hang() {
        // Each command takes far longer than the watchdog; the debug state changes when one finishes.
        let mut acc = Mock::new(1, 300);
        let opts = HarnessOpts {
            watchdog_cycles: 400,
            ..HarnessOpts::default()
        };
        let r = run_stream(
            &mut acc,
            &mut mem(),
            &[cmd(2, 0), cmd(2, 1), cmd(2, 2)],
            &opts,
        )
        .unwrap();
        assert_eq!(r.cycles, 900);
    }

    #[test]
    fn accelerator_errors_propagate() {
        let mut acc = Mock::new(4, 1);
        acc.fail_on = Some(4);
        let e = run_stream(
            &mut acc,
            &mut mem(),
            &[cmd(2, 0), cmd(4, 9), cmd(2, 1)],
            &HarnessOpts::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Pairing);
        assert_eq!(e.cmd, Some(cmd(4, 9)));
    }
}
