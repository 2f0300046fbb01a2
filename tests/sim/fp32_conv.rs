//! LOOP_CONV_WS on the fp32 4x4 configuration (`rtl/configs/fp32_4x4.toml`) with Gemmini's stride
//! convention: in_stride, weight_stride and out_stride count elements and the loop FSM multiplies every DRAM
//! offset by the element size (4 bytes), as Gemmini's LoopConv does with `input_w/8`. Each stride is larger
//! than the channels it holds, so the gaps between pixels hold poison that a wrong input or weight address
//! would read, and sentinels that a wrong output address would overwrite.
//!
//! `loop_conv_fp32_engines_agree_with_a_reference` drives both engines with the same command stream and
//! compares their memories with each other and with a host convolution; the values are small integers, so
//! every binary32 operation is exact and the reference needs no tolerance and no order of summation.
//! `fp32_conv_program_runs_on_both_engines` runs `tests/programs/fp32_conv.c`, which calls gemmini.h's
//! `gemmini_loop_conv_ws` with element strides and checks its own result.

use gemforge::sim::accel::rtl::RtlAccel;
use gemforge::sim::accel::spec::SpecAccel;
use gemforge::sim::accel::stream::{run_stream, HarnessOpts, IN_BASE, MEM_SIZE, OUT_BASE};
use gemforge::sim::accel::Accelerator;
use gemforge::sim::config::HwConfig;
use gemforge::sim::isa::{ConfigEx, ConfigSt, LoopConv, LoopConvDesc, ACT_RELU, DATAFLOW_WS};
use gemforge::sim::mem::{Memory, DEFAULT_BASE};
use std::path::Path;

const POISON: f32 = 1.0e6;
const SENTINEL: f32 = -7777.0;

fn fp32_cfg() -> HwConfig {
    HwConfig::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/fp32_4x4.toml"))
        .expect("the example configuration is valid")
}

/// One convolution layer, run as a single LOOP_CONV_WS tile.
#[derive(Clone, Copy, Debug)]
struct Layer {
    batch: u16,
    in_rows: u16,
    in_cols: u16,
    ich: u16,
    och: u16,
    kdim: u16,
    stride: u16,
    pad: u16,
    in_stride: u16,
    w_stride: u16,
    out_stride: u16,
    /// Max-pooling window and stride (no pool padding; 0 for none).
    pool: u16,
}

impl Layer {
    fn out_rows(&self) -> u16 {
        (self.in_rows + 2 * self.pad - self.kdim) / self.stride + 1
    }
    fn out_cols(&self) -> u16 {
        (self.in_cols + 2 * self.pad - self.kdim) / self.stride + 1
    }
    /// The stored image (pooled when pooling).
    fn stored_dims(&self) -> (u16, u16) {
        match self.pool {
            0 => (self.out_rows(), self.out_cols()),
            p => ((self.out_rows() - p) / p + 1, (self.out_cols() - p) / p + 1),
        }
    }
}

/// A deterministic small integer in [-range, range].
fn small(state: &mut u64, range: i64) -> i64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 33) % (2 * range as u64 + 1)) as i64 - range
}

fn put_f32s(mem: &mut Memory, at: u64, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    mem.write(at, &bytes)
        .expect("the test's data lies in memory");
}

fn get_f32s(mem: &Memory, at: u64, n: usize) -> Vec<f32> {
    let mut bytes = vec![0u8; n * 4];
    mem.read(at, &mut bytes)
        .expect("the test's output lies in memory");
    bytes
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// Runs the layer on one engine; returns the output region (with its gaps) as binary32 values.
fn run_layer(acc: &mut dyn Accelerator, l: &Layer, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let (b, ir, ic) = (l.batch as usize, l.in_rows as usize, l.in_cols as usize);
    let (ich, och, kd) = (l.ich as usize, l.och as usize, l.kdim as usize);
    let (is, ws, os) = (
        l.in_stride as usize,
        l.w_stride as usize,
        l.out_stride as usize,
    );
    let (orows, ocols) = (l.out_rows() as usize, l.out_cols() as usize);
    let mut st = seed;
    let input: Vec<f32> = (0..b * ir * ic * is)
        .map(|i| {
            if i % is < ich {
                small(&mut st, 4) as f32
            } else {
                POISON
            }
        })
        .collect();
    let weights: Vec<f32> = (0..kd * kd * ich * ws)
        .map(|i| {
            if i % ws < och {
                small(&mut st, 3) as f32
            } else {
                POISON
            }
        })
        .collect();
    let bias: Vec<f32> = (0..och).map(|_| small(&mut st, 20) as f32).collect();
    let (prd, pcd) = l.stored_dims();
    let (prd, pcd) = (prd as usize, pcd as usize);
    let out_len = b * prd * pcd * os;
    let mut mem = Memory::new(DEFAULT_BASE, MEM_SIZE);
    let in_at = IN_BASE;
    let w_at = in_at + (input.len() as u64 * 4).next_multiple_of(64);
    let bias_at = w_at + (weights.len() as u64 * 4).next_multiple_of(64);
    put_f32s(&mut mem, in_at, &input);
    put_f32s(&mut mem, w_at, &weights);
    put_f32s(&mut mem, bias_at, &bias);
    put_f32s(&mut mem, OUT_BASE, &vec![SENTINEL; out_len]);

    // the whole layer is one tile: a padded window of orows*stride + kdim - 1 rows, whose dpad/rpad are
    // what the image lacks of it
    let irows = orows as u16 * l.stride + l.kdim - 1;
    let icols = ocols as u16 * l.stride + l.kdim - 1;
    let desc = LoopConvDesc {
        batch_size: l.batch,
        in_row_dim: l.in_rows,
        in_col_dim: l.in_cols,
        in_channels: l.ich,
        out_channels: l.och,
        out_row_dim: orows as u16,
        out_col_dim: ocols as u16,
        pool_out_row_dim: prd as u16,
        pool_out_col_dim: pcd as u16,
        stride: l.stride,
        padding: l.pad,
        kernel_dim: l.kdim,
        kernel_dilation: 1,
        pool_size: l.pool.max(1),
        pool_stride: l.pool.max(1),
        batches: l.batch,
        porows: prd as u16,
        pocols: pcd as u16,
        // (what the pooled tile's last window lacks of the output: Gemmini's software passes it; the
        // loop itself reads orows and ocols)
        pdpad: if l.pool > 0 {
            (prd as u16 + 1) * l.pool - 1 - orows as u16
        } else {
            0
        },
        prpad: if l.pool > 0 {
            (pcd as u16 + 1) * l.pool - 1 - ocols as u16
        } else {
            0
        },
        pochs: l.och,
        krows: l.kdim,
        kcols: l.kdim,
        kchs: l.ich,
        lpad: l.pad,
        upad: l.pad,
        rpad: icols - l.pad - l.in_cols,
        dpad: irows - l.pad - l.in_rows,
        orows: orows as u16,
        ocols: ocols as u16,
        in_stride: l.in_stride,
        weight_stride: l.w_stride,
        out_stride: l.out_stride,
        input: in_at,
        weights: w_at,
        bias: bias_at,
        output: OUT_BASE,
        ..LoopConvDesc::default()
    };
    let mode = LoopConv {
        no_pool: l.pool == 0,
        activation: ACT_RELU,
        ..LoopConv::default()
    };
    let mut cmds = vec![ConfigEx {
        dataflow: DATAFLOW_WS,
        a_stride: l.stride,
        c_stride: 1,
        ..ConfigEx::default()
    }
    .encode()];
    // config_st's stride stays in bytes
    let mut cst = ConfigSt::new(l.out_stride as u32 * 4);
    cst.act = ACT_RELU;
    cst.acc_scale = 0.5f32.to_bits();
    cmds.push(cst.encode());
    cmds.extend(desc.encode(&mode));
    let opts = HarnessOpts {
        watchdog_cycles: 50_000,
        max_cycles: 20_000_000,
    };
    let r = run_stream(acc, &mut mem, &cmds, &opts);
    assert!(r.is_ok(), "{l:?}: the stream fails: {:?}", r.err());
    let got = get_f32s(&mem, OUT_BASE, out_len);

    // host reference: ReLU(bias + sum) * 0.5 in the channels (then max-pooled), sentinels in the gaps
    let mut conv = vec![0f32; b * orows * ocols * och];
    for bi in 0..b {
        for orow in 0..orows {
            for ocol in 0..ocols {
                for o in 0..och {
                    let mut s = bias[o] as i64;
                    for kr in 0..kd {
                        for kc in 0..kd {
                            let r = (orow * l.stride as usize + kr) as i64 - l.pad as i64;
                            let c = (ocol * l.stride as usize + kc) as i64 - l.pad as i64;
                            if r < 0 || c < 0 || r >= ir as i64 || c >= ic as i64 {
                                continue;
                            }
                            let px = ((bi * ir + r as usize) * ic + c as usize) * is;
                            for k in 0..ich {
                                s += input[px + k] as i64
                                    * weights[((kr * kd + kc) * ich + k) * ws + o] as i64;
                            }
                        }
                    }
                    conv[((bi * orows + orow) * ocols + ocol) * och + o] =
                        if s > 0 { s as f32 * 0.5 } else { 0.0 };
                }
            }
        }
    }
    let p = l.pool.max(1) as usize;
    let mut want = vec![SENTINEL; out_len];
    for bi in 0..b {
        for pr in 0..prd {
            for pc in 0..pcd {
                for o in 0..och {
                    let mut m = f32::NEG_INFINITY;
                    for r in pr * p..pr * p + p {
                        for c in pc * p..pc * p + p {
                            m = m.max(conv[((bi * orows + r) * ocols + c) * och + o]);
                        }
                    }
                    want[((bi * prd + pr) * pcd + pc) * os + o] = m;
                }
            }
        }
    }
    (got, want)
}

#[test]
fn loop_conv_fp32_engines_agree_with_a_reference() {
    let cfg = fp32_cfg();
    let layers = [
        // stride 1, padding 1: two channel blocks in and out (DIM 4), strides with gaps of 3, 2 and 4
        Layer {
            batch: 2,
            in_rows: 5,
            in_cols: 6,
            ich: 6,
            och: 7,
            kdim: 3,
            stride: 1,
            pad: 1,
            in_stride: 9,
            w_stride: 9,
            out_stride: 11,
            pool: 0,
        },
        // stride 2 (the window's extra row and column are padding), more than MBL*DIM input channels
        Layer {
            batch: 1,
            in_rows: 7,
            in_cols: 5,
            ich: 19,
            och: 5,
            kdim: 3,
            stride: 2,
            pad: 1,
            in_stride: 21,
            w_stride: 6,
            out_stride: 8,
            pool: 0,
        },
        // max-pooled 2x2 / 2 in the store unit: config_st and each image's pooled mvout use out_stride
        Layer {
            batch: 2,
            in_rows: 6,
            in_cols: 6,
            ich: 5,
            och: 6,
            kdim: 3,
            stride: 1,
            pad: 1,
            in_stride: 7,
            w_stride: 9,
            out_stride: 10,
            pool: 2,
        },
    ];
    for (n, l) in layers.iter().enumerate() {
        let (spec, want) = run_layer(&mut SpecAccel::new(&cfg), l, 7 + n as u64);
        let mut rtl = RtlAccel::new(&cfg).expect("the fp32 RTL variant builds");
        let (rtl_out, _) = run_layer(&mut rtl, l, 7 + n as u64);
        for (i, ((s, r), w)) in spec.iter().zip(&rtl_out).zip(&want).enumerate() {
            assert_eq!(
                s.to_bits(),
                r.to_bits(),
                "layer {n}: element {i}: spec {s} rtl {r}"
            );
            assert_eq!(s, w, "layer {n}: element {i}: engines {s}, reference {w}");
        }
        // the data is not degenerate: some outputs are positive, some clipped by ReLU
        assert!(want.iter().any(|&x| x > 0.0) && want.contains(&0.0));
    }
}

#[test]
fn fp32_conv_program_runs_on_both_engines() {
    use gemforge::sim::soc::{run_files, Engine, RunInputs, SocOpts};
    let cfg = fp32_cfg();
    let inputs = RunInputs {
        programs: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/fp32_conv.c")],
        ..RunInputs::default()
    };
    let mut outs = Vec::new();
    for engine in [Engine::Spec, Engine::Rtl] {
        let opts = SocOpts {
            engine,
            max_cycles: 50_000_000,
            ..SocOpts::default()
        };
        let r = run_files(&cfg, &inputs, &opts).expect("the program runs");
        assert!(
            r.error.is_none() && r.exit_code == Some(0),
            "{engine:?}: {}\n{r:?}",
            r.stdout
        );
        assert!(
            r.stdout.contains("fp32 conv ok"),
            "{engine:?}: {}",
            r.stdout
        );
        outs.push(r.stdout);
    }
    assert_eq!(outs[0], outs[1], "the engines' outputs differ");
}
