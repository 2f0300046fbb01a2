//! Seeded generators of LEGAL command streams (docs/accelerator.md) with their main-memory images, for the
//! differential and variant tests (spec vs RTL), included into the `sim` test binary. The case type, the
//! memory regions and the WS matmul stream that `gemforge perf` times are in the library
//! (`gemforge::sim::accel::stream`).
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

use gemforge::sim::accel::arith::Datapath;
use gemforge::sim::accel::stream::{
    fp32_word, StreamCase, IN_BASE, IN_SIZE, MEM_SIZE, OUT_BASE, OUT_SIZE,
};
use gemforge::sim::config::HwConfig;
use gemforge::sim::isa::{
    Command, ConfigEx, ConfigLd, ConfigSt, CounterOp, LocalAddr, LoopConv, LoopConvDesc, LoopWs,
    LoopWsDesc, Operand, RoccCmd, ACT_NONE, ACT_RELU, DATAFLOW_OS, DATAFLOW_WS, SCALE_ONE,
};
use gemforge::sim::mem::{Memory, DEFAULT_BASE};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

/// A random legal stream for `cfg` (see the module documentation).
pub fn random_stream(cfg: &HwConfig, seed: u64, opts: &GenOpts) -> StreamCase {
    let mut g = Gen::new(cfg, seed, opts);
    g.run();
    StreamCase {
        seed,
        mem: g.mem,
        cmds: g.cmds,
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

/// A random legal LOOP_WS stream (docs/accelerator.md section 6): 1 to 4 loops with random small bounds, edge
/// tiles (pads), transposes, NULL D or C, int8 or int32 D and C, accumulation, residual adds, operand reuse
/// across loops through a_spad_id/b_spad_id, and ordinary commands between and after the loops (which wait
/// for the loops). A, B and D are read from the input region, C is written to the output region.
pub fn loop_ws_stream(cfg: &HwConfig, seed: u64) -> StreamCase {
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
) -> StreamCase {
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
    StreamCase {
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
pub fn loop_conv_stream(cfg: &HwConfig, seed: u64) -> StreamCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mem = random_regions(&mut rng, Datapath::of(cfg));
    let dim = cfg.dim() as u64;
    // DRAM strides and channels count elements of `eb` bytes (Gemmini's convention); config_st's stride
    // is in bytes.
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
            // Gemmini's window (docs/accelerator.md section 6.1)
            let irows = (orows * stride + krows - 1) as u64;
            let icols = (ocols * stride + kcols - 1) as u64;
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
        let irows = orows * stride + krows - 1;
        let icols = ocols * stride + kcols - 1;
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
        let in_stride = in_channels + rng.gen_range(0..=3);
        let kernel_dim = krows.max(kcols) + rng.gen_range(0..=1);
        let weight_stride = pochs + rng.gen_range(0..=5);
        let out_row_dim = orows + rng.gen_range(0..=1);
        let out_col_dim = ocols + rng.gen_range(0..=2);
        let out_stride = pochs + rng.gen_range(0..=3);
        let in_size =
            batches as u64 * in_row_dim as u64 * in_col_dim as u64 * in_stride as u64 * eb as u64;
        let w_size = (kernel_dim as u64 * kernel_dim as u64 * in_channels as u64)
            * weight_stride as u64
            * eb as u64;
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
            // no_bias loads zeros through a dummy non-zero address, as Gemmini's software passes it
            6..=7 => (1, true),
            _ => (0, false),
        };
        let output = if rng.gen_bool(0.15) {
            0
        } else {
            let at = out_next;
            out_next += batches as u64
                * out_row_dim as u64
                * out_col_dim as u64
                * out_stride as u64
                * eb as u64;
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
        let mut st = ConfigSt::new(out_stride as u32 * eb as u32);
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
    use gemforge::sim::accel::spec::SpecAccel;
    use gemforge::sim::accel::stream::{run_stream, HarnessOpts};

    fn accepted(cfg: &HwConfig, case: &StreamCase) {
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
            include_str!("../../rtl/configs/fp32_4x4.toml"),
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
}

/// A whole convolution layer with the arguments of Gemmini's `tiled_conv` (or `tiled_conv_dw` when `dw`)
/// and its tile sizes, for conformance tests: [`conv_layer_case`] issues the LOOP_CONV_WS tiles exactly as
/// Gemmini's software computes them, and [`ConvLayer::reference`] is the host convolution they must equal
/// (Gemmini's `conv_cpu` / `conv_dw_cpu` semantics). NHWC input (CHWN with trans_input_3120), HWIO weights
/// (WIHO with trans_weight_1203, HWOI with trans_weight_0132, `[ch][krow][kcol]` when depthwise), NHWC
/// output (HWNC with trans_output_1203), int32 bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvLayer {
    pub batch_size: u16,
    pub in_row_dim: u16,
    pub in_col_dim: u16,
    pub in_channels: u16,
    pub out_channels: u16,
    pub kernel_dim: u16,
    pub stride: u16,
    pub padding: u16,
    /// 1, or 2 (a zero between input pixels; then stride must be 1).
    pub input_dilation: u16,
    pub kernel_dilation: u16,
    pub wrot180: bool,
    pub trans_output_1203: bool,
    pub trans_input_3120: bool,
    pub trans_weight_1203: bool,
    pub trans_weight_0132: bool,
    /// Depthwise: out_channels = in_channels, one kernel per channel.
    pub dw: bool,
    /// Max-pooling window, stride and padding (pool_stride 0: no pooling).
    pub pool_size: u16,
    pub pool_stride: u16,
    pub pool_padding: u16,
    pub relu: bool,
    pub bias: bool,
    /// Output scale 2^-scale_shift.
    pub scale_shift: u8,
    /// Tile sizes: batches, porows, pocols, pochs, krows, kcols, kchs (Gemmini's names).
    pub tile: [u16; 7],
}

/// Where a conformance case put its operands, and the expected output bytes at `output`.
#[derive(Debug, Clone)]
pub struct ConvLayerCase {
    pub case: StreamCase,
    pub output: u64,
    pub expected: Vec<u8>,
    /// LOOP_CONV_WS tiles issued.
    pub tiles: usize,
    /// The layer (for diagnostics).
    pub layer: ConvLayer,
}

impl ConvLayer {
    fn dilated(n: u16, d: u16) -> i64 {
        n as i64 + (d as i64 - 1) * (n as i64 - 1)
    }
    /// Output rows and columns before pooling.
    pub fn out_dims(&self) -> (i64, i64) {
        let k = Self::dilated(self.kernel_dim, self.kernel_dilation);
        let f = |n: u16| {
            (Self::dilated(n, self.input_dilation) + 2 * self.padding as i64 - k)
                / self.stride as i64
                + 1
        };
        (f(self.in_row_dim), f(self.in_col_dim))
    }
    /// (pool size, stride, padding) as the hardware runs them: 1, 1, 0 without pooling.
    fn pool(&self) -> (i64, i64, i64) {
        if self.pool_stride == 0 {
            (1, 1, 0)
        } else {
            (
                self.pool_size as i64,
                self.pool_stride as i64,
                self.pool_padding as i64,
            )
        }
    }
    /// Output rows and columns after pooling.
    pub fn pool_dims(&self) -> (i64, i64) {
        let (ps, pst, pp) = self.pool();
        let (r, c) = self.out_dims();
        ((r + 2 * pp - ps) / pst + 1, (c + 2 * pp - ps) / pst + 1)
    }
    fn out_channels_eff(&self) -> u16 {
        if self.dw {
            self.in_channels
        } else {
            self.out_channels
        }
    }
    fn input_len(&self) -> usize {
        self.batch_size as usize
            * self.in_row_dim as usize
            * self.in_col_dim as usize
            * self.in_channels as usize
    }
    fn weights_len(&self) -> usize {
        let k2 = self.kernel_dim as usize * self.kernel_dim as usize;
        if self.dw {
            self.in_channels as usize * k2
        } else {
            k2 * self.in_channels as usize * self.out_channels as usize
        }
    }
    fn output_len(&self) -> usize {
        let (pr, pc) = self.pool_dims();
        self.batch_size as usize * pr as usize * pc as usize * self.out_channels_eff() as usize
    }

    /// The layer on the host, as Gemmini's conv_cpu (conv_dw_cpu) computes it: int32 sums, ReLU, the scale
    /// (round half to even), int8 saturation, then max-pooling with zeros at the padding.
    pub fn reference(&self, input: &[i8], weights: &[i8], bias: &[i32]) -> Vec<u8> {
        let (bs, ird, icd) = (
            self.batch_size as i64,
            self.in_row_dim as i64,
            self.in_col_dim as i64,
        );
        let (ich, och) = (self.in_channels as i64, self.out_channels_eff() as i64);
        let (kd, st, pad) = (
            self.kernel_dim as i64,
            self.stride as i64,
            self.padding as i64,
        );
        let (idl, kdl) = (self.input_dilation as i64, self.kernel_dilation as i64);
        let (ord, ocd) = self.out_dims();
        let in_at = |b: i64, r: i64, c: i64, ch: i64| -> i64 {
            let i = if self.trans_input_3120 {
                ((ch * ird + r) * icd + c) * bs + b
            } else {
                ((b * ird + r) * icd + c) * ich + ch
            };
            input[i as usize] as i64
        };
        let w_at = |kr: i64, kc: i64, kch: i64, o: i64| -> i64 {
            let (kr, kc) = if self.wrot180 {
                (kd - 1 - kr, kd - 1 - kc)
            } else {
                (kr, kc)
            };
            let i = if self.dw {
                (o * kd + kr) * kd + kc
            } else if self.trans_weight_1203 {
                ((kch * kd + kr) * kd + kc) * och + o
            } else if self.trans_weight_0132 {
                ((kr * kd + kc) * och + o) * ich + kch
            } else {
                ((kr * kd + kc) * ich + kch) * och + o
            };
            weights[i as usize] as i64
        };
        // an input coordinate of the (dilated, padded) image, or None on a hole or the padding
        let src = |o: i64, k: i64, dim: i64| -> Option<i64> {
            let v = o * st + k * kdl - pad;
            if v < 0 || v % idl != 0 || v / idl >= dim {
                None
            } else {
                Some(v / idl)
            }
        };
        let conv = |b: i64, r: i64, c: i64, o: i64| -> i8 {
            let mut acc: i64 = if self.bias {
                bias[o as usize] as i64
            } else {
                0
            };
            for kr in 0..kd {
                let Some(ir) = src(r, kr, ird) else { continue };
                for kc in 0..kd {
                    let Some(ic) = src(c, kc, icd) else { continue };
                    if self.dw {
                        acc += in_at(b, ir, ic, o) * w_at(kr, kc, 0, o);
                    } else {
                        for k in 0..ich {
                            acc += in_at(b, ir, ic, k) * w_at(kr, kc, k, o);
                        }
                    }
                }
            }
            let acc = acc as i32 as i64; // the accumulator wraps at 32 bits
            let v = if self.relu { acc.max(0) } else { acc };
            let s = self.scale_shift as u32;
            let q = if s == 0 {
                v
            } else {
                // round half to even of v / 2^s
                let (fl, rem) = (v.div_euclid(1 << s), v.rem_euclid(1 << s));
                let half = 1i64 << (s - 1);
                if rem > half || (rem == half && fl & 1 == 1) {
                    fl + 1
                } else {
                    fl
                }
            };
            q.clamp(-128, 127) as i8
        };
        let (ps, pst, pp) = self.pool();
        let (prd, pcd) = self.pool_dims();
        let mut out = vec![0u8; self.output_len()];
        for b in 0..bs {
            for pr in 0..prd {
                for pc in 0..pcd {
                    for o in 0..och {
                        let mut best: Option<i8> = None;
                        for wr in 0..ps {
                            for wc in 0..ps {
                                let (r, c) = (pr * pst + wr - pp, pc * pst + wc - pp);
                                let v = if r < 0 || r >= ord || c < 0 || c >= ocd {
                                    0
                                } else {
                                    conv(b, r, c, o)
                                };
                                best = Some(best.map_or(v, |m| m.max(v)));
                            }
                        }
                        let i = if self.trans_output_1203 {
                            ((pr * pcd + pc) * bs + b) * och + o
                        } else {
                            ((b * prd + pr) * pcd + pc) * och + o
                        };
                        out[i as usize] = best.unwrap_or(0) as u8;
                    }
                }
            }
        }
        out
    }
}

/// The commands Gemmini's `tiled_conv` (`tiled_conv_dw`) issues for `layer` (config_st, config_ex, then one
/// LOOP_CONV_WS per tile, with its reuse of inputs and weights through a_spad_id / b_spad_id), over small
/// random int8 data, and the host reference of the output. Err when the layer does not fit the case's
/// memory regions, a tile does not fit its scratchpad or accumulator half, or the configuration is not int8.
pub fn conv_layer_case(
    cfg: &HwConfig,
    layer: &ConvLayer,
    seed: u64,
) -> Result<ConvLayerCase, String> {
    use gemforge::sim::accel::loops::{ConvShape, LoopEnv};
    if cfg.elem_bytes() != 1 {
        return Err("conv_layer_case needs an int8 configuration".into());
    }
    let l = layer;
    let dim = cfg.dim() as i64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut mem = random_regions(&mut rng, Datapath::of(cfg));
    let och = l.out_channels_eff() as i64;
    let (in_len, w_len, out_len) = (l.input_len(), l.weights_len(), l.output_len());
    let bias_len = och as usize * 4;
    let (ord, ocd) = l.out_dims();
    if ord < 1 || ocd < 1 || l.pool_dims().0 < 1 || l.pool_dims().1 < 1 {
        return Err(format!("layer {l:?} has no output pixels"));
    }
    if (in_len + w_len + bias_len + 64) as u64 > IN_SIZE || out_len as u64 > OUT_SIZE {
        return Err(format!(
            "layer {l:?} does not fit the case's memory regions"
        ));
    }
    let input: Vec<i8> = (0..in_len).map(|_| rng.gen_range(-20..=20)).collect();
    let weights: Vec<i8> = (0..w_len).map(|_| rng.gen_range(-20..=20)).collect();
    let bias: Vec<i32> = (0..och).map(|_| rng.gen_range(-3000..=3000)).collect();
    let in_addr = IN_BASE;
    let w_addr = (in_addr + in_len as u64 + 15) & !15;
    let b_addr = (w_addr + w_len as u64 + 15) & !15;
    let bytes = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
    mem.write(in_addr, &bytes(&input))
        .map_err(|e| e.to_string())?;
    mem.write(w_addr, &bytes(&weights))
        .map_err(|e| e.to_string())?;
    let bias_bytes: Vec<u8> = bias.iter().flat_map(|v| v.to_le_bytes()).collect();
    mem.write(b_addr, &bias_bytes).map_err(|e| e.to_string())?;
    let out_addr = OUT_BASE;
    let expected = l.reference(&input, &weights, &bias);

    let (bs, ird, icd) = (
        l.batch_size as i64,
        l.in_row_dim as i64,
        l.in_col_dim as i64,
    );
    let (ich, kd, st, pad) = (
        l.in_channels as i64,
        l.kernel_dim as i64,
        l.stride as i64,
        l.padding as i64,
    );
    let (idl, kdl) = (l.input_dilation as i64, l.kernel_dilation as i64);
    let (ps, pst, pp) = l.pool();
    let no_pool = l.pool_stride == 0;
    let (prd, pcd) = l.pool_dims();
    let input_dilated = idl == 2;
    let downsample = !l.dw
        && st == 2
        && kd == 1
        && ird % 2 == 0
        && icd % 2 == 0
        && pad == 0
        && no_pool
        && idl == 1
        && !l.trans_input_3120;
    let dil_ird = ird + (idl - 1) * (ird - 1);
    let dil_icd = icd + (idl - 1) * (icd - 1);
    let (in_stride, w_stride, out_stride) = (ich, if l.dw { 1 } else { och }, och);
    let [tb, tpr, tpc, tpoch, tkr, tkc, tkch] = l.tile.map(|t| t.max(1) as i64);
    let (tpoch, tkch) = if l.dw { (1, 1) } else { (tpoch, tkch) };
    let cdiv = |a: i64, b: i64| (a + b - 1) / b;
    let mut cmds = Vec::new();
    let st_stride = if l.trans_output_1203 {
        bs * och
    } else {
        out_stride
    };
    let mut cst = ConfigSt::new(st_stride as u32);
    cst.act = if l.relu { ACT_RELU } else { ACT_NONE };
    cst.acc_scale = (1.0f32 / (1u32 << l.scale_shift) as f32).to_bits();
    cmds.push(cst.encode());
    cmds.push(
        ConfigEx {
            dataflow: DATAFLOW_WS,
            a_stride: (st >> downsample as i64) as u16,
            c_stride: idl as u16,
            a_transpose: l.trans_input_3120,
            b_transpose: l.trans_weight_0132,
            ..ConfigEx::default()
        }
        .encode(),
    );
    // Gemmini's reuse heuristic (tiled_conv): at most two tiles of an operand are kept in named halves.
    let (n_kch, n_poch) = (cdiv(ich, tkch), cdiv(och, tpoch));
    let (n_b, n_pr, n_pc) = (cdiv(bs, tb), cdiv(prd, tpr), cdiv(pcd, tpc));
    let (n_kr, n_kc) = (cdiv(kd, tkr), cdiv(kd, tkc));
    let b_reuse = !l.dw && n_kch * n_poch * n_kr * n_kc <= 2;
    let a_reuse = !l.dw && n_kch * n_kr * n_kc * n_b * n_pr * n_pc <= 2;
    let env = LoopEnv::new(cfg);
    let mut tiles = 0;
    for b in (0..bs).step_by(tb as usize) {
        for porow in (0..prd).step_by(tpr as usize) {
            let orow = porow * pst - pp;
            for pocol in (0..pcd).step_by(tpc as usize) {
                let ocol = pocol * pst - pp;
                for poch in (0..och).step_by(tpoch as usize) {
                    for krow in (0..kd).step_by(tkr as usize) {
                        let irow = orow.max(0) * st + krow * kdl - pad;
                        for kcol in (0..kd).step_by(tkc as usize) {
                            let icol = ocol.max(0) * st + kcol * kdl - pad;
                            // depthwise: one channel per tile (poch), no input-channel loop
                            let kch_end = if l.dw { 1 } else { ich };
                            for kch in (0..kch_end).step_by(tkch as usize) {
                                let (a_id, b_id) = (
                                    if a_reuse {
                                        if kch + krow + kcol + b + porow + pocol == 0 {
                                            1
                                        } else {
                                            2
                                        }
                                    } else {
                                        0
                                    },
                                    if b_reuse {
                                        if kch + poch + krow + kcol == 0 {
                                            1
                                        } else {
                                            2
                                        }
                                    } else {
                                        0
                                    },
                                );
                                let last_k =
                                    krow + tkr >= kd && kcol + tkc >= kd && kch + tkch >= kch_end;
                                let first_k = krow == 0 && kcol == 0 && kch == 0;
                                let batches = tb.min(bs - b);
                                let porows = tpr.min(prd - porow);
                                let pocols = tpc.min(pcd - pocol);
                                let pochs = tpoch.min(och - poch);
                                let krows = tkr.min(kd - krow);
                                let kcols = tkc.min(kd - kcol);
                                let kchs = tkch.min(ich - kch);
                                let ocols_ = pocols * pst + ps - 1;
                                let orows_ = porows * pst + ps - 1;
                                let plpad = if ocol < 0 { -ocol } else { 0 };
                                let prpad = (ocol + ocols_ - ocd).max(0);
                                let pupad = if orow < 0 { -orow } else { 0 };
                                let pdpad = (orow + orows_ - ord).max(0);
                                let dkr = krows + (kdl - 1) * (krows - 1);
                                let dkc = kcols + (kdl - 1) * (kcols - 1);
                                let icols_ = (ocols_ - plpad - prpad) * st + dkc - 1;
                                let irows_ = (orows_ - pupad - pdpad) * st + dkr - 1;
                                let mut lpad = if icol < 0 { -icol } else { 0 };
                                let mut rpad = (icol + icols_ - dil_icd).max(0);
                                let mut upad = if irow < 0 { -irow } else { 0 };
                                let mut dpad = (irow + irows_ - dil_ird).max(0);
                                if input_dilated {
                                    lpad += (lpad == 0 && icol % 2 != 0) as i64;
                                    rpad += (rpad == 0 && (icol + icols_) % 2 != 1) as i64;
                                    upad += (upad == 0 && irow % 2 != 0) as i64;
                                    dpad += (dpad == 0 && (irow + irows_) % 2 != 1) as i64;
                                }
                                let (krow_, kcol_) = if l.wrot180 {
                                    (kd - krow - krows, kd - kcol - kcols)
                                } else {
                                    (krow, kcol)
                                };
                                let w_off = if l.dw {
                                    (poch * kd + krow) * kd + kcol
                                } else if l.trans_weight_1203 {
                                    (kch * kd * kd + krow_ * kd + kcol_) * och + poch
                                } else if l.trans_weight_0132 {
                                    (krow_ * kd * och + kcol_ * och + poch) * ich + kch
                                } else {
                                    (krow_ * kd * ich + kcol_ * ich + kch) * w_stride + poch
                                };
                                let sh = |x: i64| if input_dilated { x >> 1 } else { x };
                                let in_off = if l.trans_input_3120 {
                                    (kch * ird * icd + sh(irow + upad) * icd + sh(icol + lpad)) * bs
                                        + b
                                } else {
                                    (b * ird * icd + sh(irow + upad) * icd + sh(icol + lpad))
                                        * in_stride
                                        + if l.dw { poch } else { kch }
                                };
                                let mut weights_ptr = w_addr + w_off as u64;
                                let mut in_ptr = in_addr.wrapping_add(in_off as u64);
                                if b_reuse && pocol + porow + b > 0 {
                                    weights_ptr = 0;
                                }
                                if a_reuse && poch > 0 {
                                    in_ptr = 0;
                                }
                                let out_off = if l.trans_output_1203 {
                                    (porow * pcd * bs + pocol * bs + b) * och + poch
                                } else {
                                    (b * prd * pcd + porow * pcd + pocol) * out_stride + poch
                                };
                                let out_ptr = if last_k { out_addr + out_off as u64 } else { 0 };
                                let bias_ptr = if !first_k {
                                    0
                                } else if l.bias {
                                    b_addr + poch as u64 * 4
                                } else {
                                    1
                                };
                                // sp_tiled_conv
                                let orows = porows * pst + ps - 1 - pupad - pdpad;
                                let ocols = pocols * pst + ps - 1 - plpad - prpad;
                                let transposed = l.trans_output_1203
                                    || l.trans_input_3120
                                    || l.trans_weight_1203
                                    || l.trans_weight_0132;
                                let mppr = if transposed
                                    || l.wrot180
                                    || downsample
                                    || input_dilated
                                    || kdl > 1
                                    || kchs > dim
                                {
                                    1
                                } else {
                                    (dim / kchs).min(kcols)
                                };
                                let u = |x: i64| x as u16;
                                let desc = LoopConvDesc {
                                    batch_size: u(bs),
                                    in_row_dim: u(ird),
                                    in_col_dim: u(icd),
                                    in_channels: u(ich),
                                    out_channels: u(och),
                                    out_row_dim: u(ord),
                                    out_col_dim: u(ocd),
                                    pool_out_row_dim: u(prd),
                                    pool_out_col_dim: u(pcd),
                                    stride: u(st),
                                    padding: u(pad),
                                    kernel_dim: u(kd),
                                    kernel_dilation: u(kdl),
                                    pool_size: u(ps),
                                    pool_stride: u(pst),
                                    pool_padding: u(pp),
                                    batches: u(batches),
                                    porows: u(porows),
                                    pocols: u(pocols),
                                    pochs: u(pochs),
                                    krows: u(krows),
                                    kcols: u(kcols),
                                    kchs: u(kchs),
                                    lpad: u(lpad),
                                    rpad: u(rpad),
                                    upad: u(upad),
                                    dpad: u(dpad),
                                    plpad: u(plpad),
                                    prpad: u(prpad),
                                    pupad: u(pupad),
                                    pdpad: u(pdpad),
                                    orows: u(orows),
                                    ocols: u(ocols),
                                    weights: weights_ptr,
                                    output: out_ptr,
                                    bias: bias_ptr,
                                    input: in_ptr,
                                    in_stride: u(in_stride),
                                    weight_stride: u(w_stride),
                                    out_stride: u(out_stride),
                                };
                                let mode = LoopConv {
                                    no_bias: !l.bias,
                                    wrot180: l.wrot180,
                                    trans_output_1203: l.trans_output_1203,
                                    trans_weight_1203: l.trans_weight_1203,
                                    trans_weight_0132: l.trans_weight_0132,
                                    trans_input_3120: l.trans_input_3120,
                                    dw: l.dw,
                                    max_pixels_per_row: mppr as u8,
                                    a_spad_id: a_id,
                                    b_spad_id: b_id,
                                    no_pool,
                                    downsample,
                                    input_dilated,
                                    activation: cst.act,
                                };
                                let shape = ConvShape::new(&env, &desc, &mode);
                                if shape.in_rows + shape.w_rows > env.sp_half() as u64
                                    || shape.acc_rows > env.acc_half() as u64
                                {
                                    return Err(format!(
                                        "a tile of {:?} does not fit its halves ({} + {} scratchpad rows, {} \
                                         accumulator rows)",
                                        l.tile, shape.in_rows, shape.w_rows, shape.acc_rows
                                    ));
                                }
                                cmds.extend(desc.encode(&mode));
                                tiles += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // an ordinary command after the loops waits for them
    cmds.push(ConfigSt::new(cfg.dim() * 4).encode());
    Ok(ConvLayerCase {
        case: StreamCase {
            seed,
            mem,
            cmds,
            in_region: (IN_BASE, IN_SIZE),
            out_region: (OUT_BASE, OUT_SIZE),
        },
        output: out_addr,
        expected,
        tiles,
        layer: *layer,
    })
}

/// A random small convolution layer over Gemmini's whole LOOP_CONV_WS space: batches 1-3, strides 1-3,
/// paddings, kernel and input dilation, rot180 weights, every transpose, depthwise, downsampling, max-pooling,
/// ReLU, scales, channel counts across DIM, and random tile sizes (so edge tiles, partial kernels, bias only
/// on the first kernel tile, and the reuse of inputs and weights through named scratchpad halves).
pub fn random_conv_layer(rng: &mut impl Rng) -> ConvLayer {
    let kernel_dim = *[1u16, 1, 2, 3, 3, 3, 4, 5]
        .get(rng.gen_range(0..8))
        .unwrap_or(&3);
    let mut l = ConvLayer {
        batch_size: rng.gen_range(1..=3),
        in_row_dim: rng.gen_range(kernel_dim.max(2)..=11),
        in_col_dim: rng.gen_range(kernel_dim.max(2)..=11),
        in_channels: if rng.gen_bool(0.2) {
            rng.gen_range(1..=4)
        } else {
            rng.gen_range(1..=40)
        },
        out_channels: rng.gen_range(1..=40),
        kernel_dim,
        stride: rng.gen_range(1..=3),
        // (Gemmini's tiled_conv mis-tiles paddings of 2 or more with partial kernel tiles: a window can start
        // beyond the image; those descriptors are refused, so whole kernel tiles are kept for them below)
        padding: rng.gen_range(0..kernel_dim),
        input_dilation: 1,
        kernel_dilation: 1,
        relu: rng.gen_bool(0.5),
        bias: rng.gen_bool(0.7),
        scale_shift: rng.gen_range(0..=6),
        ..ConvLayer::default()
    };
    match rng.gen_range(0..10) {
        0 => l.dw = true,
        1 => {
            // downsampling: stride 2, 1x1 kernel, even image, no padding
            l.kernel_dim = 1;
            l.stride = 2;
            l.padding = 0;
            l.in_row_dim += l.in_row_dim % 2;
            l.in_col_dim += l.in_col_dim % 2;
        }
        2 => {
            l.input_dilation = 2;
            l.stride = 1;
        }
        3 if kernel_dim > 1 => l.kernel_dilation = rng.gen_range(2..=3),
        _ => {}
    }
    if !l.dw {
        l.wrot180 = rng.gen_bool(0.25);
        match rng.gen_range(0..6) {
            0 => l.trans_weight_1203 = true,
            1 => l.trans_weight_0132 = true,
            _ => {}
        }
        l.trans_input_3120 = !l.trans_weight_0132 && l.kernel_dim > 1 && rng.gen_bool(0.2);
    }
    if rng.gen_bool(0.3) && !(l.kernel_dim == 1 && l.stride == 2) {
        l.pool_size = rng.gen_range(1..=3);
        l.pool_stride = rng.gen_range(1..=3);
        // (at most half the window, as networks use it: a window of padding only is mis-tiled by Gemmini)
        l.pool_padding = rng.gen_range(0..=l.pool_size / 2);
    } else if !l.dw {
        l.trans_output_1203 = rng.gen_bool(0.2);
    }
    let (r, c) = l.out_dims();
    let (pr, pc) = l.pool_dims();
    fn t(rng: &mut impl Rng, n: i64) -> u16 {
        rng.gen_range(1..=n.max(1)) as u16
    }
    l.tile = [
        t(rng, l.batch_size as i64),
        t(rng, pr.max(r)),
        t(rng, pc.max(c)),
        t(rng, l.out_channels as i64),
        t(rng, l.kernel_dim as i64),
        t(rng, l.kernel_dim as i64),
        t(rng, l.in_channels as i64),
    ];
    if whole_kernel_tiles(&l) {
        l.tile[4] = l.kernel_dim;
        l.tile[5] = l.kernel_dim;
    }
    if l.trans_input_3120 {
        l.tile[0] = l.batch_size;
    }
    if l.input_dilation > 1 {
        // a one-pixel window on a hole gets lpad + rpad = 2 from Gemmini's tiled_conv: whole images
        l.tile[1] = pr.max(1) as u16;
        l.tile[2] = pc.max(1) as u16;
    }
    l
}

/// Gemmini's tiled_conv mis-tiles a kernel split into tiles when the padding is 2 or more or either
/// dilation is on (a tile's window can then start beyond the image, or be all padding on both sides):
/// such descriptors are refused, so the generator keeps whole kernels for those layers.
fn whole_kernel_tiles(l: &ConvLayer) -> bool {
    l.padding >= 2 || l.kernel_dilation > 1 || l.input_dilation > 1
}

/// A conformance case from [`random_conv_layer`]: layers or tiles that do not fit are redrawn (tiles
/// shrink first).
pub fn conv_layer_stream(cfg: &HwConfig, seed: u64) -> ConvLayerCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c0de);
    loop {
        let mut l = random_conv_layer(&mut rng);
        for _ in 0..8 {
            if let Ok(c) = conv_layer_case(cfg, &l, seed) {
                return c;
            }
            l.tile = l.tile.map(|t| t.div_ceil(2));
            if whole_kernel_tiles(&l) {
                l.tile[4] = l.kernel_dim;
                l.tile[5] = l.kernel_dim;
            }
            // Gemmini's LoopConv addresses a CHWN input with the tile's batch count: whole batches only
            if l.trans_input_3120 {
                l.tile[0] = l.batch_size;
            }
            if l.input_dilation > 1 {
                let (pr, pc) = l.pool_dims();
                l.tile[1] = pr.max(1) as u16;
                l.tile[2] = pc.max(1) as u16;
            }
        }
    }
}
