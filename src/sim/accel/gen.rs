//! Seeded generators of LEGAL command streams (docs/accelerator.md) with their main-memory images, for the
//! differential tests (spec vs RTL) and the benchmarks.
//!
//! Every stream [`random_stream`] produces is accepted by the functional model without error: the generator
//! tracks the configuration state the commands set (config_ex, the three config_ld states, config_st, the
//! preload/compute pairing) and only emits operands whose rows, columns and ranges are legal under it.
//!
//! Main memory has two disjoint regions filled with random bytes: the input region, the only place mvins
//! read, and the output region, the only place mvouts write. No mvin ever reads a byte an mvout of the same
//! stream writes (the accelerator does not order main-memory accesses between its load and store units).
//! Local addresses are drawn from small windows of the scratchpad and the accumulator so that commands
//! collide often and the hazard logic is exercised.

use super::arith::Datapath;
use crate::sim::config::HwConfig;
use crate::sim::isa::{
    Command, ConfigEx, ConfigLd, ConfigSt, CounterOp, LocalAddr, LoopConv, LoopConvDesc, LoopWs,
    LoopWsDesc, Operand, RoccCmd, ACT_NONE, ACT_RELU, DATAFLOW_OS, DATAFLOW_WS, SCALE_ONE,
};
use crate::sim::mem::{Memory, DEFAULT_BASE};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Size of the main memory the generated cases use.
pub const MEM_SIZE: u64 = 1 << 20;
/// The input region (read by mvins only).
pub const IN_BASE: u64 = DEFAULT_BASE + 0x1_0000;
pub const IN_SIZE: u64 = 0x1_0000;
/// The output region (written by mvouts only).
pub const OUT_BASE: u64 = DEFAULT_BASE + 0x4_0000;
pub const OUT_SIZE: u64 = 0x2_0000;

/// Which command families a random stream draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOpts {
    /// Stream length range (inclusive); a trailing compute or mvout may add a couple more.
    pub min_cmds: usize,
    pub max_cmds: usize,
    /// config_ld / mvin variety (strides, scales, shrink, block strides, zeros). Without it mvins use
    /// plain configurations.
    pub rich_loads: bool,
    /// mvouts and config_st variety (act, scale, strides).
    pub stores: bool,
    /// max-pooling configurations for mvout.
    pub pooling: bool,
    /// WS preload/compute pairs.
    pub ws: bool,
    /// OS preload/compute pairs (ignored on a WS-only configuration).
    pub os: bool,
    /// Counter ops, flush and config_norm.
    pub misc: bool,
    /// Sizes of the scratchpad and accumulator windows local addresses are drawn from (smaller: more
    /// overlap between commands, so more hazards).
    pub sp_window: u32,
    pub acc_window: u32,
}

impl GenOpts {
    /// Everything.
    pub fn mixed() -> GenOpts {
        GenOpts {
            min_cmds: 20,
            max_cmds: 80,
            rich_loads: true,
            stores: true,
            pooling: true,
            ws: true,
            os: true,
            misc: true,
            sp_window: 128,
            acc_window: 64,
        }
    }
    /// Everything, with long streams.
    pub fn long() -> GenOpts {
        GenOpts {
            min_cmds: 200,
            max_cmds: 400,
            ..GenOpts::mixed()
        }
    }
    /// Everything, in tiny local windows: most commands overlap some other command.
    pub fn tight() -> GenOpts {
        GenOpts {
            sp_window: 24,
            acc_window: 16,
            ..GenOpts::mixed()
        }
    }
    /// Data movement only: config_ld, mvin*, config_st, mvout (with pooling).
    pub fn data_movement() -> GenOpts {
        GenOpts {
            ws: false,
            os: false,
            misc: false,
            ..GenOpts::mixed()
        }
    }
    /// WS execute with simple loads and some stores.
    pub fn ws_only() -> GenOpts {
        GenOpts {
            rich_loads: false,
            pooling: false,
            os: false,
            misc: false,
            ..GenOpts::mixed()
        }
    }
    /// OS execute with simple loads and some stores.
    pub fn os_only() -> GenOpts {
        GenOpts {
            rich_loads: false,
            pooling: false,
            ws: false,
            misc: false,
            ..GenOpts::mixed()
        }
    }
}

impl Default for GenOpts {
    fn default() -> Self {
        GenOpts::mixed()
    }
}

/// A generated case: the initial main memory and the command stream.
#[derive(Debug, Clone)]
pub struct GenCase {
    pub seed: u64,
    pub mem: Memory,
    pub cmds: Vec<RoccCmd>,
    /// Input region `[base, base + size)` (random bytes; read by mvins).
    pub in_region: (u64, u64),
    /// Output region `[base, base + size)` (random bytes; written by mvouts).
    pub out_region: (u64, u64),
}

impl GenCase {
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

/// A random legal stream for `cfg` (see the module documentation).
pub fn random_stream(cfg: &HwConfig, seed: u64, opts: &GenOpts) -> GenCase {
    let mut g = Gen::new(cfg, seed, opts);
    g.run();
    GenCase {
        seed,
        mem: g.mem,
        cmds: g.cmds,
        in_region: (IN_BASE, IN_SIZE),
        out_region: (OUT_BASE, OUT_SIZE),
    }
}

/// A compute-bound WS stream: mvin 4 A tiles and 4 B tiles (DIM x DIM int8, resident; A in scratchpad
/// bank 0, B in bank 1 when there are several banks, so preload and compute reads do not contend), then
/// `n_tiles` matmuls. Each B tile is preloaded once and reused: `preload(B, C)` + `compute_preloaded(A)` starts a
/// group, and the rest of the group is `preload(garbage, C)` + `compute_accumulated(A)`. C goes to the
/// accumulator (accumulating after the first pass over it). Ends with mvouts of the C tiles.
pub fn ws_matmul_stream(cfg: &HwConfig, n_tiles: u32) -> GenCase {
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
    GenCase {
        seed: 0,
        mem,
        cmds,
        in_region: (IN_BASE, IN_SIZE),
        out_region: (OUT_BASE, OUT_SIZE),
    }
}

/// Memory with random bytes in the input and the output region (input first, so seeds stay stable). For a
/// binary32 datapath the input words are reshaped by [`fp32_word`].
fn random_regions(rng: &mut impl Rng, dp: Datapath) -> Memory {
    let mut mem = Memory::new(DEFAULT_BASE, MEM_SIZE);
    let mut bytes = vec![0u8; IN_SIZE.max(OUT_SIZE) as usize];
    rng.fill(&mut bytes[..IN_SIZE as usize]);
    if dp == Datapath::Fp32 {
        for w in bytes[..IN_SIZE as usize].chunks_exact_mut(4) {
            let x = fp32_word(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            w.copy_from_slice(&x.to_le_bytes());
        }
    }
    mem.write(IN_BASE, &bytes[..IN_SIZE as usize])
        .expect("input region is in memory");
    rng.fill(&mut bytes[..OUT_SIZE as usize]);
    mem.write(OUT_BASE, &bytes[..OUT_SIZE as usize])
        .expect("output region is in memory");
    mem
}

/// binary32 test data from 32 random bits: 1/16 special values (zeros, infinities, NaNs, the ends of the
/// subnormal and normal ranges, 1), 1/16 subnormals, and otherwise moderate values in [2^-7, 2^9) of
/// either sign, where sums cancel and round often.
fn fp32_word(w: u32) -> u32 {
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

/// A random legal LOOP_WS stream (docs/accelerator.md section 6): 1 to 4 loops with random small bounds, edge
/// tiles (pads), transposes, NULL D or C, int8 or int32 D and C, accumulation, residual adds, operand reuse
/// across loops through a_spad_id/b_spad_id, and ordinary commands between and after the loops (which wait
/// for the loops). A, B and D are read from the input region, C is written to the output region.
pub fn loop_ws_stream(cfg: &HwConfig, seed: u64) -> GenCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mem = random_regions(&mut rng, Datapath::of(cfg));
    let dim = cfg.dim() as u64;
    let eb = cfg.elem_bytes() as u64;
    let d16 = dim as u16;
    let acc_tiles = (cfg.acc_rows() / 2 / cfg.dim()) as u64;
    let mut cmds = Vec::new();
    let mut out_next = OUT_BASE;
    // (a_spad_id, I, K, pad_I, pad_K, A stride) of the last loop that loaded A into a named half.
    let mut reuse_a: Option<(u8, u16, u16, u16, u16)> = None;
    let n_loops = rng.gen_range(1..=4);
    for _ in 0..n_loops {
        let resadd = rng.gen_bool(0.15);
        let bound = |rng: &mut ChaCha8Rng| rng.gen_range(1..=4u16);
        let mut i = bound(&mut rng);
        let j = bound(&mut rng).min((acc_tiles / i as u64).max(1) as u16);
        let mut k = bound(&mut rng);
        let pad = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(1..d16)
            }
        };
        let (mut pad_i, pad_j, mut pad_k) = (pad(&mut rng), pad(&mut rng), pad(&mut rng));
        let mut mode = LoopWs {
            ex_accumulate: rng.gen_bool(0.5),
            full_c: rng.gen_bool(0.3),
            low_d: rng.gen_bool(0.5),
            act: 0,
            ..LoopWs::default()
        };
        // A: sometimes reuse the A a previous loop left in a named half (A = NULL, same layout).
        let mut a_null = false;
        if !resadd {
            match reuse_a {
                Some((id, ri, rk, rpi, rpk)) if rng.gen_bool(0.5) => {
                    (i, k, pad_i, pad_k) = (ri, rk, rpi, rpk);
                    mode.a_spad_id = id;
                    a_null = true;
                }
                _ => {
                    if rng.gen_bool(0.3) {
                        mode.a_spad_id = rng.gen_range(1..=2);
                    }
                }
            }
            if rng.gen_bool(0.3) {
                mode.b_spad_id = rng.gen_range(1..=2);
            }
            // A and B may share a half only if they fit (they always do at these sizes).
            match rng.gen_range(0..4) {
                0 => mode.a_transpose = true,
                1 => mode.b_transpose = true,
                _ => {}
            }
        }
        mode.is_resadd = resadd;
        let (rows_a, cols_a) = if resadd {
            (i as u64 * dim, j as u64 * dim)
        } else if mode.a_transpose {
            (k as u64 * dim, i as u64 * dim)
        } else {
            (i as u64 * dim, k as u64 * dim)
        };
        let (rows_b, cols_b) = if resadd {
            (i as u64 * dim, j as u64 * dim)
        } else if mode.b_transpose {
            (j as u64 * dim, k as u64 * dim)
        } else {
            (k as u64 * dim, j as u64 * dim)
        };
        let d_eb = if mode.low_d { eb } else { 4 };
        let c_eb = if mode.full_c { 4 } else { eb };
        let stride = |rng: &mut ChaCha8Rng, cols: u64| cols + rng.gen_range(0..3u64) * dim;
        let a_stride = if a_null { 0 } else { stride(&mut rng, cols_a) };
        let b_stride = stride(&mut rng, cols_b);
        let d_stride = stride(&mut rng, j as u64 * dim);
        let c_stride = stride(&mut rng, j as u64 * dim);
        // input addresses anywhere in the input region where the matrix fits
        let place_in = |rng: &mut ChaCha8Rng, rows: u64, stride: u64, cols: u64, eb: u64| {
            let size = ((rows - 1) * stride + cols) * eb;
            IN_BASE + rng.gen_range(0..IN_SIZE - size)
        };
        let a = if a_null || (resadd && rng.gen_bool(0.15)) {
            0
        } else {
            place_in(&mut rng, rows_a, a_stride, cols_a, eb)
        };
        let b = if rng.gen_bool(0.1) {
            0
        } else {
            place_in(&mut rng, rows_b, b_stride, cols_b, eb)
        };
        let d = if resadd || rng.gen_bool(0.4) {
            0
        } else {
            place_in(&mut rng, i as u64 * dim, d_stride, j as u64 * dim, d_eb)
        };
        let c = if rng.gen_bool(0.2) {
            0
        } else {
            let at = out_next;
            out_next += ((i as u64 * dim - 1) * c_stride + j as u64 * dim) * c_eb;
            at
        };
        if !a_null && !resadd && mode.a_spad_id != 0 {
            reuse_a = Some((mode.a_spad_id, i, k, pad_i, pad_k));
        } else if !a_null && !resadd {
            reuse_a = None;
        }
        // The configuration the loop needs (ordinary commands: they wait for the loops before them).
        cmds.push(
            ConfigEx {
                dataflow: DATAFLOW_WS,
                a_transpose: mode.a_transpose,
                b_transpose: mode.b_transpose,
                ..ConfigEx::default()
            }
            .encode(),
        );
        let ld = |id: u8, stride: u64, shrink: bool, scale: u32| ConfigLd {
            shrink,
            scale,
            ..ConfigLd::new(id, stride, d16)
        };
        let scale = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(0.7) {
                SCALE_ONE
            } else {
                SPECIAL_SCALES[rng.gen_range(0..6)]
            }
        };
        let sa = scale(&mut rng);
        let sb = scale(&mut rng);
        cmds.push(ld(0, a_stride * eb, resadd, sa).encode());
        cmds.push(ld(1, b_stride * eb, resadd, sb).encode());
        cmds.push(ld(2, d_stride * d_eb, mode.low_d, SCALE_ONE).encode());
        let mut st = ConfigSt::new((c_stride * c_eb) as u32);
        st.act = if rng.gen_bool(0.3) {
            ACT_RELU
        } else {
            ACT_NONE
        };
        if rng.gen_bool(0.3) {
            st.acc_scale = SPECIAL_SCALES[rng.gen_range(0..6)];
        }
        cmds.push(st.encode());
        let desc = LoopWsDesc {
            i,
            j,
            k,
            pad_i,
            pad_j,
            pad_k,
            a,
            b,
            d,
            c,
            a_stride,
            b_stride,
            d_stride,
            c_stride,
        };
        cmds.extend(desc.encode(&mode));
    }
    finish_loop_case(cfg, &mut rng, seed, mem, cmds, out_next)
}

/// The end of a loop stream: an ordinary command after the loops (it must wait for them) reads an
/// accumulator tile back out to `out_next`.
fn finish_loop_case(
    cfg: &HwConfig,
    rng: &mut ChaCha8Rng,
    seed: u64,
    mem: Memory,
    mut cmds: Vec<RoccCmd>,
    out_next: u64,
) -> GenCase {
    let dim = cfg.dim();
    let d16 = dim as u16;
    cmds.push(ConfigSt::new(dim * 4).encode());
    cmds.push(
        Command::Mvout {
            dram: out_next,
            op: Operand::new(
                LocalAddr::acc_full(rng.gen_range(0..cfg.acc_rows() - d16 as u32)),
                d16,
                d16,
            ),
        }
        .encode(),
    );
    GenCase {
        seed,
        mem,
        cmds,
        in_region: (IN_BASE, IN_SIZE),
        out_region: (OUT_BASE, OUT_SIZE),
    }
}

/// A random legal LOOP_CONV_WS stream (docs/accelerator.md section 6): 1 to 3 convolution tiles with random
/// small shapes (output columns and channels across DIM, input channels across several DMA blocks), strides
/// 1-2, padding borders, windows inside larger images and strided DRAM rows, bias / zero bias / accumulate onto
/// the accumulator, NULL input or weights (reusing what a previous loop left), named scratchpad halves, ReLU
/// and scales, and an ordinary mvout after the loops (which waits for them). Input, weights and bias are read
/// from the input region, the output is written to the output region.
pub fn loop_conv_stream(cfg: &HwConfig, seed: u64) -> GenCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mem = random_regions(&mut rng, Datapath::of(cfg));
    let dim = cfg.dim() as u64;
    // DRAM strides are bytes; channels are elements of `eb` bytes.
    let eb = cfg.elem_bytes() as u16;
    let mut cmds = Vec::new();
    let mut out_next = OUT_BASE;
    let place_in = |rng: &mut ChaCha8Rng, size: u64| IN_BASE + rng.gen_range(0..IN_SIZE - size);
    for n in 0..rng.gen_range(1..=3) {
        let batches = rng.gen_range(1..=2u16);
        let mut orows = rng.gen_range(1..=4u16);
        let mut ocols = rng.gen_range(1..=2 * dim as u16 + 4);
        let mut pochs = rng.gen_range(1..=2 * dim as u16 + 8);
        let krows = rng.gen_range(1..=3u16);
        let kcols = rng.gen_range(1..=3u16);
        let mut kchs = if rng.gen_bool(0.15) {
            rng.gen_range(60..=72u16)
        } else {
            rng.gen_range(1..=2 * dim as u16 + 8)
        };
        let stride = rng.gen_range(1..=2u16);
        // shrink the output tile until it fits half the accumulator, and its input with the weights half
        // the scratchpad (whatever halves the spad ids pick); on small memories the channels shrink too
        let blocks = |n: u16| (n as u64).div_ceil(dim);
        loop {
            let irows = ((orows - 1) * stride + krows) as u64;
            let icols = ((ocols - 1) * stride + kcols) as u64;
            let acc = blocks(pochs) * batches as u64 * orows as u64 * ocols as u64;
            let sp = blocks(kchs) * batches as u64 * irows * icols
                + blocks(pochs) * krows as u64 * kcols as u64 * kchs as u64;
            // the DRAM input and weights below (with their extra rows, columns and channels) must also
            // fit the input region
            let in_max = batches as u64 * (irows + 2) * (icols + 2) * (kchs as u64 + 8) * eb as u64;
            let w_max = (krows.max(kcols) as u64 + 1).pow(2)
                * (kchs as u64 + 5)
                * (pochs as u64 + 5)
                * eb as u64;
            if acc <= cfg.acc_rows() as u64 / 2
                && sp <= cfg.sp_rows() as u64 / 2
                && in_max < IN_SIZE
                && w_max < IN_SIZE
            {
                break;
            }
            if ocols > 1 {
                ocols -= 1;
            } else if orows > 1 {
                orows -= 1;
            } else if kchs > 1 {
                kchs -= 1;
            } else {
                pochs -= 1;
            }
        }
        let irows = (orows - 1) * stride + krows;
        let icols = (ocols - 1) * stride + kcols;
        let pad = |rng: &mut ChaCha8Rng, room: u16| {
            if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(0..=room.min(2))
            }
        };
        let lpad = pad(&mut rng, icols - 1);
        let rpad = pad(&mut rng, icols - 1 - lpad);
        let upad = pad(&mut rng, irows - 1);
        let dpad = pad(&mut rng, irows - 1 - upad);
        // the window lies inside a larger image with more channels than the tile reads
        let in_row_dim = irows - upad - dpad + rng.gen_range(0..=2);
        let in_col_dim = icols - lpad - rpad + rng.gen_range(0..=2);
        let in_channels = kchs + rng.gen_range(0..=5);
        let in_stride = (in_channels + rng.gen_range(0..=3)) * eb;
        let kernel_dim = krows.max(kcols) + rng.gen_range(0..=1);
        let weight_stride = (pochs + rng.gen_range(0..=5)) * eb;
        let out_row_dim = orows + rng.gen_range(0..=1);
        let out_col_dim = ocols + rng.gen_range(0..=2);
        let out_stride = (pochs + rng.gen_range(0..=3)) * eb;
        let in_size = batches as u64 * in_row_dim as u64 * in_col_dim as u64 * in_stride as u64;
        let w_size =
            (kernel_dim as u64 * kernel_dim as u64 * in_channels as u64) * weight_stride as u64;
        let reuse = n > 0 && rng.gen_bool(0.15);
        let input = if reuse && rng.gen_bool(0.5) {
            0
        } else {
            place_in(&mut rng, in_size)
        };
        let weights = if reuse && input != 0 {
            0
        } else {
            place_in(&mut rng, w_size)
        };
        let (bias, no_bias) = match rng.gen_range(0..10) {
            0..=5 => (place_in(&mut rng, pochs as u64 * 4), false),
            6..=7 => (0, true),
            _ => (0, false),
        };
        let output = if rng.gen_bool(0.15) {
            0
        } else {
            let at = out_next;
            out_next +=
                batches as u64 * out_row_dim as u64 * out_col_dim as u64 * out_stride as u64;
            at
        };
        let spad_id = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(0.7) {
                0
            } else {
                rng.gen_range(1..=2u8)
            }
        };
        let act = if rng.gen_bool(0.3) {
            ACT_RELU
        } else {
            ACT_NONE
        };
        let mode = LoopConv {
            no_bias,
            max_pixels_per_row: rng.gen_range(0..=1),
            a_spad_id: spad_id(&mut rng),
            b_spad_id: spad_id(&mut rng),
            no_pool: true,
            activation: act,
            ..LoopConv::default()
        };
        let desc = LoopConvDesc {
            batch_size: batches,
            in_row_dim,
            in_channels,
            out_channels: pochs,
            out_row_dim,
            pool_out_row_dim: out_row_dim,
            out_col_dim,
            stride,
            padding: lpad.max(upad),
            pool_stride: 1,
            pool_size: 1,
            pool_out_col_dim: out_col_dim,
            kernel_dim,
            pochs,
            pocols: ocols,
            porows: orows,
            batches,
            lpad,
            kchs,
            kcols,
            krows,
            in_col_dim,
            dpad,
            upad,
            rpad,
            kernel_dilation: 1,
            orows,
            ocols,
            out_stride,
            weight_stride,
            in_stride,
            weights,
            output,
            bias,
            input,
            ..LoopConvDesc::default()
        };
        cmds.push(
            ConfigEx {
                dataflow: DATAFLOW_WS,
                a_stride: stride,
                ..ConfigEx::default()
            }
            .encode(),
        );
        let mut st = ConfigSt::new(out_stride as u32);
        st.act = act;
        if rng.gen_bool(0.5) {
            st.acc_scale = SPECIAL_SCALES[rng.gen_range(0..10)];
        }
        cmds.push(st.encode());
        cmds.extend(desc.encode(&mode));
    }
    finish_loop_case(cfg, &mut rng, seed, mem, cmds, out_next)
}

/// Interesting float32 scales (bit patterns): identity, exact powers of two, values that round, ties,
/// negative, zero, denormal, huge and non-finite ones.
const SPECIAL_SCALES: &[u32] = &[
    SCALE_ONE,
    0x3f00_0000, // 0.5 (ties)
    0x4000_0000, // 2.0
    0x3e80_0000, // 0.25
    0x3fc0_0000, // 1.5
    0xbf80_0000, // -1.0
    0xbf00_0000, // -0.5
    0x0000_0000, // 0.0
    0x8000_0000, // -0.0
    0x3dcc_cccd, // 0.1
    0x406c_cccd, // 3.7
    0x3c23_d70a, // 0.01
    0x4e6e_6b28, // 1e9
    0x0000_0001, // smallest denormal
    0x007f_ffff, // largest denormal
    0x7f7f_ffff, // largest finite
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // NaN
    0x3f7f_ffff, // just below 1
    0x3f80_0001, // just above 1
    0x3aab_cdef, // ~0.0013
];

struct Gen<'a> {
    opts: &'a GenOpts,
    rng: ChaCha8Rng,
    mem: Memory,
    cmds: Vec<RoccCmd>,
    dim: u32,
    mbl: u32,
    mbla: u32,
    /// Bytes of an input element.
    eb: u32,
    sp_rows: u32,
    acc_rows: u32,
    row_bits: u32,
    /// Windows `[base, base + size)` local addresses are drawn from.
    sp_win: (u32, u32),
    acc_win: (u32, u32),
    /// Configuration state as the accelerator will see it.
    ex: ConfigEx,
    ld: [ConfigLd; 3],
    st: ConfigSt,
    preload_pending: bool,
    has_os: bool,
}

impl<'a> Gen<'a> {
    fn new(cfg: &'a HwConfig, seed: u64, opts: &'a GenOpts) -> Gen<'a> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mem = random_regions(&mut rng, Datapath::of(cfg));
        let dim = cfg.dim();
        let d16 = dim as u16;
        let sp_rows = cfg.sp_rows();
        let acc_rows = cfg.acc_rows();
        let sp_win = Self::window(&mut rng, sp_rows, cfg.sp_bank_rows(), opts.sp_window.max(1));
        let acc_win = Self::window(
            &mut rng,
            acc_rows,
            cfg.acc_bank_rows(),
            opts.acc_window.max(1),
        );
        Gen {
            opts,
            rng,
            mem,
            cmds: Vec::new(),
            dim,
            mbl: cfg.max_block_len(),
            mbla: cfg.max_block_len_acc(),
            eb: cfg.elem_bytes(),
            sp_rows,
            acc_rows,
            row_bits: cfg.local_addr_row_bits(),
            sp_win,
            acc_win,
            ex: ConfigEx::default(),
            ld: ConfigLd::reset_states(d16),
            st: ConfigSt::new(0),
            preload_pending: false,
            has_os: cfg.has_os(),
        }
    }

    /// A window of `size` rows: at the bottom, somewhere random, across a bank boundary, or at the top.
    fn window(rng: &mut ChaCha8Rng, rows: u32, bank_rows: u32, size: u32) -> (u32, u32) {
        let size = size.min(rows);
        let base = match rng.gen_range(0..10) {
            0..=3 => 0,
            4..=6 => rng.gen_range(0..=rows - size),
            7..=8 if rows > bank_rows => {
                let banks = rows / bank_rows;
                let b = rng.gen_range(1..banks);
                (b * bank_rows).saturating_sub(size / 2).min(rows - size)
            }
            _ => rows - size,
        };
        (base, size)
    }

    fn push(&mut self, c: Command) {
        self.cmds.push(c.encode());
    }

    fn run(&mut self) {
        let n = self.rng.gen_range(self.opts.min_cmds..=self.opts.max_cmds);
        let exec = self.opts.ws || (self.opts.os && self.has_os);
        // Start with a useful configuration most of the time (the reset state is legal too).
        if self.rng.gen_bool(0.7) {
            self.gen_config_ld();
        }
        if exec && self.rng.gen_bool(0.8) {
            self.gen_config_ex(false);
        }
        while self.cmds.len() < n {
            if self.preload_pending {
                // Non-execute commands may sit between a preload and its compute.
                if self.rng.gen_bool(0.25) {
                    self.gen_non_exec();
                } else {
                    self.gen_compute();
                }
                continue;
            }
            let k = self.rng.gen_range(0..100);
            if exec && k < 45 {
                if self.rng.gen_bool(0.1) {
                    self.gen_config_ex(true);
                } else {
                    self.gen_preload();
                }
            } else {
                self.gen_non_exec();
            }
        }
        if self.preload_pending {
            self.gen_compute();
        }
        // Finish with an mvout now and then, so results also reach main memory.
        if self.opts.stores && self.rng.gen_bool(0.5) {
            self.gen_mvout();
        }
    }

    /// Loads, stores, configs and misc commands (anything but config_ex, preload and compute).
    fn gen_non_exec(&mut self) {
        let k = self.rng.gen_range(0..100);
        match k {
            0..=9 => self.gen_config_ld(),
            10..=54 => self.gen_mvin(),
            55..=64 if self.opts.stores => self.gen_config_st(),
            65..=84 if self.opts.stores => self.gen_mvout(),
            85..=99 if self.opts.misc => self.gen_misc(),
            _ => self.gen_mvin(),
        }
    }

    // ---------------------------------------------------------------------------------------------
    // value helpers
    // ---------------------------------------------------------------------------------------------

    /// 1..=max, biased towards max.
    fn extent(&mut self, max: u32) -> u32 {
        if self.rng.gen_bool(0.5) {
            max
        } else {
            self.rng.gen_range(1..=max)
        }
    }

    /// A scale: often 1.0, else special values or a random float of moderate magnitude.
    fn scale(&mut self, one_prob: f64) -> u32 {
        if self.rng.gen_bool(one_prob) {
            return SCALE_ONE;
        }
        match self.rng.gen_range(0..10) {
            0..=4 => SPECIAL_SCALES[self.rng.gen_range(0..SPECIAL_SCALES.len())],
            5..=8 => {
                // sign, exponent for magnitudes 2^-12 .. 2^8, random mantissa
                let sign = (self.rng.gen_bool(0.2) as u32) << 31;
                let exp = self.rng.gen_range(115u32..=135) << 23;
                sign | exp | self.rng.gen_range(0..(1u32 << 23))
            }
            _ => {
                // any finite float
                let v: u32 = self.rng.gen();
                if (v >> 23) & 0xff == 0xff {
                    v & !(1 << 30)
                } else {
                    v
                }
            }
        }
    }

    /// A row for an operand of `extent` rows in the scratchpad or accumulator window, clamped into the
    /// memory.
    fn pick_row(&mut self, acc: bool, extent: u32) -> u32 {
        let (base, size, rows) = if acc {
            (self.acc_win.0, self.acc_win.1, self.acc_rows)
        } else {
            (self.sp_win.0, self.sp_win.1, self.sp_rows)
        };
        assert!(
            extent <= rows,
            "extent {extent} exceeds memory of {rows} rows"
        );
        let r = base + self.rng.gen_range(0..size);
        r.min(rows - extent)
    }

    /// Sets ignored address bits (between the row field and norm_cmd, excluding the garbage bit) now
    /// and then; they must not change anything.
    fn noise_bits(&mut self, a: LocalAddr) -> LocalAddr {
        if self.row_bits + 1 < 26 && self.rng.gen_bool(0.05) {
            let bit = self.rng.gen_range(self.row_bits + 1..26);
            LocalAddr(a.0 | (1 << bit))
        } else {
            a
        }
    }

    /// A garbage address (canonical, or with ignored bits varied) and random rows/cols fields.
    fn garbage(&mut self) -> Operand {
        let rb = self.row_bits;
        let mut a = LocalAddr::GARBAGE;
        if self.rng.gen_bool(0.3) {
            let need = LocalAddr::ACC_BIT
                | LocalAddr::ACCUMULATE_BIT
                | LocalAddr::READ_FULL_BIT
                | (1 << rb)
                | ((1 << rb) - 1);
            // the bits in between (and norm_cmd) are free
            let free = !need;
            a = LocalAddr(need | (self.rng.gen::<u32>() & free));
        }
        debug_assert!(a.is_garbage(rb));
        let (cols, rows) = match self.rng.gen_range(0..4) {
            0 => (self.dim as u16, self.dim as u16),
            1 => (self.rng.gen(), self.rng.gen()),
            _ => (
                self.rng.gen_range(0..=self.dim as u16 + 4),
                self.rng.gen_range(0..=self.dim as u16 + 4),
            ),
        };
        Operand::new(a, cols, rows)
    }

    // ---------------------------------------------------------------------------------------------
    // configs
    // ---------------------------------------------------------------------------------------------

    fn gen_config_ld(&mut self) {
        let dim = self.dim;
        let state = self.rng.gen_range(0..3u8);
        let rich = self.opts.rich_loads;
        let stride: u64 = if !rich {
            match self.rng.gen_range(0..3) {
                0 => dim as u64,
                1 => (dim * self.mbl) as u64,
                _ => (dim * 4) as u64,
            }
        } else {
            match self.rng.gen_range(0..12) {
                0 => 0,
                1 | 2 => dim as u64,
                3 => (dim * self.mbl) as u64,
                4 => (dim * 4) as u64,
                5..=7 => self.rng.gen_range(1..=200),
                8 | 9 => self.rng.gen_range(1..=64) * 8,
                // Capped so DIM rows still fit the input region on large arrays (DIM 32, 64); the
                // cap is above 3000 for DIM <= 16, so their streams are unchanged.
                _ => self
                    .rng
                    .gen_range(200..=3000)
                    .min((IN_SIZE - 1024) / (dim as u64 - 1).max(1)),
            }
        };
        let block_stride: u16 = if !rich {
            dim as u16
        } else {
            match self.rng.gen_range(0..10) {
                0..=4 => dim as u16,
                5 => 0,
                6 | 7 => self.rng.gen_range(1..=dim as u16),
                _ => self.rng.gen_range(1..=3 * dim as u16),
            }
        };
        let ld = ConfigLd {
            shrink: rich && self.rng.gen_bool(0.3),
            state_id: state,
            pixel_repeats: if self.rng.gen_bool(0.2) { 0 } else { 1 },
            block_stride,
            scale: if rich { self.scale(0.5) } else { SCALE_ONE },
            stride,
        };
        self.ld[state as usize] = ld;
        self.push(Command::ConfigLd(ld));
    }

    fn gen_config_st(&mut self) {
        let dim = self.dim;
        let mut st = ConfigSt::new(match self.rng.gen_range(0..10) {
            0 => 0,
            1 | 2 => dim,
            3 => dim * 4,
            4 => dim * self.mbl,
            5..=7 => self.rng.gen_range(1..=200),
            _ => self.rng.gen_range(200..=2000),
        });
        st.act = match self.rng.gen_range(0..10) {
            0..=4 => ACT_NONE,
            5..=8 => ACT_RELU,
            _ => self.rng.gen_range(2..=3),
        };
        st.acc_scale = match self.rng.gen_range(0..10) {
            0..=2 => SCALE_ONE,
            3..=4 => ConfigSt::SCALE_UNCHANGED,
            _ => self.scale(0.0),
        };
        if self.opts.pooling && self.rng.gen_bool(0.2) {
            st.pool_stride = self.rng.gen_range(1..=3);
            st.pool_size = self.rng.gen_range(1..=3);
            st.upad = self.rng.gen_range(0..=2);
            st.lpad = self.rng.gen_range(0..=2);
            st.porows = self.rng.gen_range(1..=4);
            st.pocols = self.rng.gen_range(1..=4);
            st.orows = self.rng.gen_range(1..=6);
            st.ocols = self.rng.gen_range(1..=6);
            st.pool_out_dim = st.pocols + self.rng.gen_range(0..=4);
            if st.stride == 0 || st.stride > 1000 {
                st.stride = self.rng.gen_range(dim..=2 * dim);
            }
        }
        self.st = ConfigSt {
            acc_scale: if st.acc_scale == ConfigSt::SCALE_UNCHANGED {
                self.st.acc_scale
            } else {
                st.acc_scale
            },
            ..st
        };
        self.push(Command::ConfigSt(st));
    }

    /// `strides_only`: may emit a set_only_strides config (the transposes and dataflow bits then are
    /// ignored, so they are random, illegal combinations included).
    fn gen_config_ex(&mut self, strides_only: bool) {
        let a_stride = match self.rng.gen_range(0..10) {
            0..=5 => 1,
            6 => 0,
            7 | 8 => 2,
            _ => 3,
        };
        let c_stride = match self.rng.gen_range(0..10) {
            0..=5 => 1,
            6 => 0,
            7 | 8 => 2,
            _ => 3,
        };
        if strides_only && self.rng.gen_bool(0.3) {
            let ex = ConfigEx {
                dataflow: self.rng.gen_range(0..2),
                act: self.rng.gen_range(0..4),
                set_only_strides: true,
                a_transpose: self.rng.gen(),
                b_transpose: self.rng.gen(),
                a_stride,
                acc_scale: self.rng.gen(),
                in_shift: self.rng.gen(),
                c_stride,
            };
            self.ex.a_stride = a_stride;
            self.ex.c_stride = c_stride;
            self.push(Command::ConfigEx(ex));
            return;
        }
        let ws_ok = self.opts.ws;
        let os_ok = self.opts.os && self.has_os;
        let os = if ws_ok && os_ok {
            self.rng.gen_bool(0.5)
        } else {
            os_ok
        };
        // Legal transposes: OS (F,F), (T,F), (T,T); WS (F,F), (T,F), (F,T).
        let (a_t, b_t) = match self.rng.gen_range(0..5) {
            0..=1 => (false, false),
            2 | 3 => (true, false),
            _ => {
                if os {
                    (true, true)
                } else {
                    (false, true)
                }
            }
        };
        let dataflow = if os { DATAFLOW_OS } else { DATAFLOW_WS };
        let ex = ConfigEx {
            dataflow,
            act: match self.rng.gen_range(0..10) {
                0..=4 => ACT_NONE,
                5..=8 => ACT_RELU,
                _ => self.rng.gen_range(2..=3),
            },
            set_only_strides: false,
            a_transpose: a_t,
            b_transpose: b_t,
            a_stride,
            acc_scale: self.rng.gen(),
            in_shift: match self.rng.gen_range(0..10) {
                0..=2 => 0,
                3..=8 => self.rng.gen_range(0..=31),
                _ => self.rng.gen(),
            },
            c_stride,
        };
        self.ex = ConfigEx { dataflow, ..ex };
        self.push(Command::ConfigEx(ex));
    }

    fn gen_misc(&mut self) {
        match self.rng.gen_range(0..10) {
            0..=5 => {
                let op = CounterOp {
                    reset: self.rng.gen_bool(0.2),
                    snapshot_reset: self.rng.gen_bool(0.2),
                    snapshot_take: self.rng.gen_bool(0.2),
                    configure: self.rng.gen_bool(0.4),
                    index: self.rng.gen_range(0..8),
                    event: self.rng.gen_range(0..=44),
                    external: self.rng.gen_bool(0.2),
                };
                let op = if op.external {
                    CounterOp {
                        event: self.rng.gen_range(1..=7),
                        ..op
                    }
                } else {
                    op
                };
                self.push(Command::Counter(op));
            }
            6..=8 => {
                let skip = self.rng.gen();
                self.push(Command::Flush { skip });
            }
            _ => {
                let rs1 = self.rng.gen::<u64>() | 3;
                let rs2 = self.rng.gen();
                self.push(Command::ConfigNorm { rs1, rs2 });
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // data movement
    // ---------------------------------------------------------------------------------------------

    fn gen_mvin(&mut self) {
        let dim = self.dim;
        let state = self.rng.gen_range(0..3u8);
        let ld = self.ld[state as usize];
        let to_acc = self.rng.gen_bool(0.35);
        let wide = to_acc && !ld.shrink;
        let max_cols = if wide {
            dim * self.mbla
        } else {
            dim * self.mbl
        };
        let cols = match self.rng.gen_range(0..4) {
            0 => max_cols,
            1 => dim.min(max_cols),
            _ => self.rng.gen_range(1..=max_cols),
        };
        let rows = self.extent(dim);
        let blocks = cols.div_ceil(dim);
        let extent = (blocks - 1) * ld.block_stride as u32 + rows;
        let row = self.pick_row(to_acc, extent);
        let mut addr = if to_acc {
            let mut a = LocalAddr::acc(row);
            if self.rng.gen_bool(0.4) {
                a.0 |= LocalAddr::ACCUMULATE_BIT;
            }
            if self.rng.gen_bool(0.1) {
                a.0 |= LocalAddr::READ_FULL_BIT;
            }
            a
        } else {
            LocalAddr::sp(row)
        };
        addr = self.noise_bits(addr);
        let eb = if wide { 4 } else { self.eb };
        let row_bytes = (cols * eb) as u64;
        let dram = if self.opts.rich_loads && self.rng.gen_bool(0.08) {
            0
        } else {
            let span = (rows as u64 - 1) * ld.stride + row_bytes;
            assert!(
                span <= IN_SIZE,
                "mvin span {span} does not fit the input region"
            );
            let off = self.rng.gen_range(0..=IN_SIZE - span);
            // aligned now and then
            let off = if self.rng.gen_bool(0.3) {
                off & !63
            } else {
                off
            };
            IN_BASE + off
        };
        self.push(Command::Mvin {
            state,
            dram,
            op: Operand::new(addr, cols as u16, rows as u16),
        });
    }

    fn gen_mvout(&mut self) {
        let dim = self.dim;
        let from_acc = self.rng.gen_bool(0.5);
        let st = self.st;
        if st.pool_stride != 0 {
            let cols = self.extent(dim);
            let extent = st.orows as u32 * st.ocols as u32;
            let row = self.pick_row(from_acc, extent);
            let mut addr = if from_acc {
                LocalAddr::acc(row)
            } else {
                LocalAddr::sp(row)
            };
            if from_acc && self.rng.gen_bool(0.3) {
                // ignored with pooling
                addr.0 |= LocalAddr::READ_FULL_BIT;
            }
            let rows: u16 = match self.rng.gen_range(0..3) {
                0 => dim as u16,
                1 => 0,
                _ => self.rng.gen(),
            };
            let last_pixel = (st.porows as u64 - 1) * st.pool_out_dim as u64 + st.pocols as u64 - 1;
            let span = last_pixel * st.stride as u64 + (cols * self.eb) as u64;
            assert!(span <= OUT_SIZE, "pooled mvout span {span} too large");
            let dram = OUT_BASE + self.rng.gen_range(0..=OUT_SIZE - span);
            self.push(Command::Mvout {
                dram,
                op: Operand::new(addr, cols as u16, rows),
            });
            return;
        }
        let full = from_acc && self.rng.gen_bool(0.4);
        let max_cols = if full { dim } else { dim * self.mbl };
        let cols = match self.rng.gen_range(0..4) {
            0 => max_cols,
            1 => dim.min(max_cols),
            _ => self.rng.gen_range(1..=max_cols),
        };
        let rows = self.extent(dim);
        let extent = (cols.div_ceil(dim) - 1) * dim + rows;
        let row = self.pick_row(from_acc, extent);
        let mut addr = if full {
            LocalAddr::acc_full(row)
        } else if from_acc {
            LocalAddr::acc(row)
        } else {
            LocalAddr::sp(row)
        };
        addr = self.noise_bits(addr);
        let eb = if full { 4 } else { self.eb };
        let span = (rows as u64 - 1) * st.stride as u64 + (cols * eb) as u64;
        assert!(span <= OUT_SIZE, "mvout span {span} too large");
        let off = self.rng.gen_range(0..=OUT_SIZE - span);
        let off = if self.rng.gen_bool(0.3) {
            off & !63
        } else {
            off
        };
        self.push(Command::Mvout {
            dram: OUT_BASE + off,
            op: Operand::new(addr, cols as u16, rows as u16),
        });
    }

    // ---------------------------------------------------------------------------------------------
    // execute
    // ---------------------------------------------------------------------------------------------

    /// A scratchpad operand (or garbage with probability `garbage`) whose stored rows are read with
    /// `step` apart (`n` = rows, or cols when `transposed`).
    fn sp_operand(&mut self, garbage: f64, transposed: bool, step: u32) -> Operand {
        if self.rng.gen_bool(garbage) {
            return self.garbage();
        }
        let rows = self.extent(self.dim);
        let cols = self.extent(self.dim);
        let n = if transposed { cols } else { rows };
        let extent = (n - 1) * step + 1;
        let row = self.pick_row(false, extent);
        let addr = self.noise_bits(LocalAddr::sp(row));
        Operand::new(addr, cols as u16, rows as u16)
    }

    fn gen_preload(&mut self) {
        let os = self.ex.dataflow == DATAFLOW_OS;
        // WS: B (transposed with b_transpose); OS: D (never transposed).
        let bd = self.sp_operand(0.15, !os && self.ex.b_transpose, 1);
        let c = if self.rng.gen_bool(0.15) {
            self.garbage()
        } else {
            let to_acc = self.rng.gen_bool(0.6);
            let rows = self.extent(self.dim);
            let cols = self.extent(self.dim);
            let extent = (rows - 1) * self.ex.c_stride as u32 + 1;
            let row = self.pick_row(to_acc, extent);
            let addr = if to_acc {
                if self.rng.gen_bool(0.5) {
                    LocalAddr::acc_accumulate(row)
                } else {
                    LocalAddr::acc(row)
                }
            } else {
                LocalAddr::sp(row)
            };
            let addr = self.noise_bits(addr);
            Operand::new(addr, cols as u16, rows as u16)
        };
        self.preload_pending = true;
        self.push(Command::Preload { bd, c });
    }

    fn gen_compute(&mut self) {
        let os = self.ex.dataflow == DATAFLOW_OS;
        let a = self.sp_operand(0.1, self.ex.a_transpose, self.ex.a_stride as u32);
        // WS: D (garbage often, as in real use); OS: B (transposed with b_transpose).
        let bd = if os {
            self.sp_operand(0.1, self.ex.b_transpose, 1)
        } else {
            self.sp_operand(0.4, false, 1)
        };
        let flip = self.rng.gen_bool(0.7);
        self.preload_pending = false;
        self.push(Command::Compute { flip, a, bd });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::accel::harness::{run_stream, HarnessOpts};
    use crate::sim::accel::spec::SpecAccel;

    fn accepted(cfg: &HwConfig, case: &GenCase) {
        let mut acc = SpecAccel::new(cfg);
        let mut mem = case.mem.clone();
        if let Err(e) = run_stream(&mut acc, &mut mem, &case.cmds, &HarnessOpts::default()) {
            panic!("seed {}: {e}\n{}", case.seed, case.listing());
        }
    }

    #[test]
    fn random_streams_are_legal() {
        let cfg = HwConfig::default_config();
        for (opts, n) in [
            (GenOpts::mixed(), 1500),
            (GenOpts::data_movement(), 500),
            (GenOpts::ws_only(), 500),
            (GenOpts::os_only(), 500),
            (GenOpts::tight(), 500),
            (GenOpts::long(), 100),
        ] {
            for seed in 0..n {
                let case = random_stream(&cfg, seed, &opts);
                assert!(case.cmds.len() >= opts.min_cmds, "seed {seed}");
                accepted(&cfg, &case);
            }
        }
    }

    #[test]
    fn loop_ws_streams_are_legal() {
        let cfg = HwConfig::default_config();
        for seed in 0..300 {
            accepted(&cfg, &loop_ws_stream(&cfg, seed));
        }
    }

    /// The generators on the fp32 example configuration (4-byte elements) stay legal.
    #[test]
    fn fp32_streams_are_legal() {
        let cfg = HwConfig::from_toml_str(
            include_str!("../../../rtl/configs/fp32_4x4.toml"),
            "fp32_4x4.toml",
        )
        .expect("valid");
        for seed in 0..200 {
            accepted(&cfg, &random_stream(&cfg, seed, &GenOpts::mixed()));
            accepted(&cfg, &loop_ws_stream(&cfg, seed));
            accepted(&cfg, &loop_conv_stream(&cfg, seed));
        }
    }

    #[test]
    fn streams_are_deterministic_and_varied() {
        let cfg = HwConfig::default_config();
        let a = random_stream(&cfg, 42, &GenOpts::mixed());
        let b = random_stream(&cfg, 42, &GenOpts::mixed());
        assert_eq!(a.cmds, b.cmds);
        assert_eq!(a.mem.first_difference(&b.mem), None);
        let c = random_stream(&cfg, 43, &GenOpts::mixed());
        assert_ne!(a.cmds, c.cmds);
        // Over many seeds every command kind shows up.
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            for cmd in random_stream(&cfg, seed, &GenOpts::mixed()).cmds {
                let kind = match Command::decode(cmd) {
                    Command::Mvin { state, op, .. } => {
                        format!("mvin{state}{}", op.addr.is_acc())
                    }
                    Command::Mvout { op, .. } => format!("mvout{}", op.addr.is_acc()),
                    Command::Compute { flip, .. } => format!("compute{flip}"),
                    Command::ConfigEx(ex) => format!("ex{}{}", ex.dataflow, ex.set_only_strides),
                    Command::ConfigSt(st) => format!("st{}", st.pool_stride != 0),
                    other => format!("{:?}", std::mem::discriminant(&other)),
                };
                seen.insert(kind);
            }
        }
        for k in [
            "mvin0false",
            "mvin1true",
            "mvin2true",
            "mvouttrue",
            "mvoutfalse",
            "computetrue",
            "computefalse",
            "ex0false",
            "ex1false",
            "ex1true",
            "sttrue",
            "stfalse",
        ] {
            assert!(seen.contains(k), "{k} never generated: {seen:?}");
        }
    }

    #[test]
    fn mvins_never_read_what_mvouts_write() {
        let cfg = HwConfig::default_config();
        for seed in 0..300 {
            let case = random_stream(&cfg, seed, &GenOpts::mixed());
            for c in &case.cmds {
                match Command::decode(*c) {
                    Command::Mvin { dram, .. } => {
                        assert!(dram == 0 || (IN_BASE..IN_BASE + IN_SIZE).contains(&dram))
                    }
                    Command::Mvout { dram, .. } => {
                        assert!((OUT_BASE..OUT_BASE + OUT_SIZE).contains(&dram))
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn ws_matmul_stream_is_legal() {
        let cfg = HwConfig::default_config();
        let case = ws_matmul_stream(&cfg, 100);
        accepted(&cfg, &case);
        let computes = case
            .cmds
            .iter()
            .filter(|c| matches!(Command::decode(**c), Command::Compute { .. }))
            .count();
        assert_eq!(computes, 100);
    }
}
