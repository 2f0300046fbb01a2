//! Directed tests, one or more per rule of docs/accelerator.md, on the RTL engine and (where the rule is
//! not about timing or counters) on the functional model too, against values computed here from the
//! document's formulas. The timing properties at the end are asserted structurally from cycle counts.

use gemforge::sim::accel::rtl::RtlAccel;
use gemforge::sim::accel::spec::SpecAccel;
use gemforge::sim::accel::stream::ws_matmul_stream;
use gemforge::sim::accel::stream::{run_stream, HarnessOpts, StreamReport};
use gemforge::sim::accel::{Accelerator, ErrorKind};
use gemforge::sim::config::HwConfig;
use gemforge::sim::isa::{
    event, Command, ConfigEx, ConfigLd, ConfigSt, CounterOp, LocalAddr, LoopWs, LoopWsDesc,
    Operand, RoccCmd, ACT_RELU, DATAFLOW_OS, DATAFLOW_WS,
};
use gemforge::sim::mem::{Memory, DEFAULT_BASE};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Scratchpad rows as int8 (the default configuration's element type).
trait SpI8 {
    fn sp_i8(&mut self, row: u32) -> Vec<i8>;
}

impl<T: Accelerator + ?Sized> SpI8 for T {
    fn sp_i8(&mut self, row: u32) -> Vec<i8> {
        self.read_sp_row(row).into_iter().map(|v| v as i8).collect()
    }
}

const IN: u64 = DEFAULT_BASE + 0x1_0000;
const IN2: u64 = DEFAULT_BASE + 0x2_0000;
const OUT: u64 = DEFAULT_BASE + 0x8_0000;

fn cfg() -> HwConfig {
    HwConfig::default_config()
}

fn dim() -> usize {
    cfg().dim() as usize
}

fn d16() -> u16 {
    cfg().dim() as u16
}

fn new_mem() -> Memory {
    Memory::new(DEFAULT_BASE, 1 << 22)
}

fn spec() -> Box<dyn Accelerator> {
    Box::new(SpecAccel::new(&cfg()))
}

fn rtl() -> Box<dyn Accelerator> {
    Box::new(RtlAccel::new(&cfg()).expect("RTL model"))
}

/// Both engines, spec first.
fn engines() -> Vec<Box<dyn Accelerator>> {
    vec![spec(), rtl()]
}

fn enc(cmds: &[Command]) -> Vec<RoccCmd> {
    cmds.iter().map(|c| c.encode()).collect()
}

fn run(acc: &mut dyn Accelerator, mem: &mut Memory, cmds: &[Command]) -> StreamReport {
    match run_stream(acc, mem, &enc(cmds), &HarnessOpts::default()) {
        Ok(r) => r,
        Err(e) => panic!("{} engine: {e}", acc.engine()),
    }
}

fn rand_bytes(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill(&mut v[..]);
    v
}

fn read(mem: &Memory, addr: u64, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    mem.read(addr, &mut v).expect("in memory");
    v
}

fn mvin(state: u8, dram: u64, addr: LocalAddr, cols: u16, rows: u16) -> Command {
    Command::Mvin {
        state,
        dram,
        op: Operand::new(addr, cols, rows),
    }
}

fn mvout(dram: u64, addr: LocalAddr, cols: u16, rows: u16) -> Command {
    Command::Mvout {
        dram,
        op: Operand::new(addr, cols, rows),
    }
}

fn ld(state: u8, stride: u64) -> ConfigLd {
    ConfigLd::new(state, stride, d16())
}

fn op(addr: LocalAddr, cols: u16, rows: u16) -> Operand {
    Operand::new(addr, cols, rows)
}

fn full(addr: LocalAddr) -> Operand {
    Operand::new(addr, d16(), d16())
}

fn rne_scale_i8(x: i8, s: f32) -> i8 {
    let y = (x as f32 * s).round_ties_even();
    if y.is_nan() {
        0
    } else {
        y.clamp(-128.0, 127.0) as i8
    }
}

fn acc_readout(x: i32, relu: bool, s: f32) -> i8 {
    let v = if relu { x.max(0) } else { x };
    let y = (v as f32 * s).round_ties_even();
    // saturate to int32, then clip to int8
    let y = if y.is_nan() {
        0
    } else {
        y.clamp(i32::MIN as f32, i32::MAX as f32) as i64
    };
    y.clamp(-128, 127) as i8
}

// =============================================================================================
// Data movement (docs section 2)
// =============================================================================================

#[test]
fn mvin_mvout_round_trip_with_strides() {
    let n = dim();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let data = rand_bytes(&mut rng, 40 * n);
    for mut acc in engines() {
        let mut mem = new_mem();
        mem.write(IN + 3, &data).unwrap();
        // DRAM rows 40 bytes apart at an unaligned base; stored 16 wide; written out 24 apart.
        let cmds = [
            Command::ConfigLd(ld(0, 40)),
            mvin(0, IN + 3, LocalAddr::sp(100), d16(), d16()),
            Command::ConfigSt(ConfigSt::new(24)),
            mvout(OUT + 5, LocalAddr::sp(100), d16(), d16()),
        ];
        run(acc.as_mut(), &mut mem, &cmds);
        for r in 0..n {
            let want: Vec<i8> = data[r * 40..r * 40 + n].iter().map(|&b| b as i8).collect();
            assert_eq!(
                acc.sp_i8(100 + r as u32),
                want,
                "{} sp row {r}",
                acc.engine()
            );
            assert_eq!(
                read(&mem, OUT + 5 + 24 * r as u64, n),
                data[r * 40..r * 40 + n],
                "{} DRAM row {r}",
                acc.engine()
            );
            // the gap between output rows is untouched
            assert_eq!(
                read(&mem, OUT + 5 + 24 * r as u64 + n as u64, 8),
                vec![0; 8]
            );
        }
    }
}

#[test]
fn mvin_blocks_with_block_stride_and_partial_cols() {
    let n = dim();
    let cols = 4 * n - 5; // 4 blocks, the last one partial
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let data = rand_bytes(&mut rng, 200 * n);
    for bs in [n as u16, 20, 3] {
        for mut acc in engines() {
            let mut mem = new_mem();
            mem.write(IN, &data).unwrap();
            let mut c = ld(1, 200);
            c.block_stride = bs;
            let base = 500u32;
            let rows = 6u16;
            let cmds = [
                Command::ConfigLd(c),
                mvin(1, IN, LocalAddr::sp(base), cols as u16, rows),
            ];
            run(acc.as_mut(), &mut mem, &cmds);
            // expected: rows in order, blocks in order within a row; later writes win
            let mut want = vec![vec![0i8; n]; 4 * 20 + 16];
            let mut touched = vec![false; want.len()];
            for r in 0..rows as usize {
                for e in 0..cols {
                    let lrow = r + (e / n) * bs as usize;
                    want[lrow][e % n] = data[r * 200 + e] as i8;
                    touched[lrow] = true;
                }
            }
            for (i, w) in want.iter().enumerate() {
                if touched[i] {
                    assert_eq!(
                        &acc.sp_i8(base + i as u32),
                        w,
                        "{} block_stride {bs} local row {i}",
                        acc.engine()
                    );
                }
            }
        }
    }
}

#[test]
fn mvin_of_dram_zero_reads_zeros_and_stride_zero_replicates() {
    let n = dim();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let data = rand_bytes(&mut rng, 64 * n);
    for mut acc in engines() {
        let mut mem = new_mem();
        mem.write(IN, &data).unwrap();
        let cmds = [
            Command::ConfigLd(ld(0, 64)),
            mvin(0, IN, LocalAddr::sp(0), d16(), d16()),
            mvin(0, IN, LocalAddr::acc(0), d16(), d16()),
            // zeros over the first 5 rows (partially: 9 columns) and accumulator rows
            mvin(0, 0, LocalAddr::sp(0), 9, 5),
            mvin(0, 0, LocalAddr::acc(2), d16(), 3),
            // stride 0: DRAM row 0 replicated over 7 rows
            Command::ConfigLd(ld(2, 0)),
            mvin(2, IN + 7, LocalAddr::sp(200), d16(), 7),
        ];
        run(acc.as_mut(), &mut mem, &cmds);
        for r in 0..n {
            let mut want: Vec<i8> = data[r * 64..r * 64 + n].iter().map(|&b| b as i8).collect();
            if r < 5 {
                want[..9].fill(0);
            }
            assert_eq!(acc.sp_i8(r as u32), want, "{} sp row {r}", acc.engine());
        }
        for r in 2..5 {
            assert_eq!(
                acc.read_acc_row(r),
                vec![0; n],
                "{} acc row {r}",
                acc.engine()
            );
        }
        let row0: Vec<i8> = data[7..7 + n].iter().map(|&b| b as i8).collect();
        for r in 0..7 {
            assert_eq!(
                acc.sp_i8(200 + r),
                row0,
                "{} replicated row {r}",
                acc.engine()
            );
        }
        assert_eq!(acc.sp_i8(207), vec![0; n]);
    }
}

#[test]
fn mvin_scale_rounds_half_to_even_and_saturates() {
    let n = dim();
    let vals: Vec<i8> = (0..n as i32 * 4).map(|i| (i * 37 - 128) as i8).collect();
    let special: Vec<i8> = vec![1, 3, 5, -1, -3, -5, 127, -128, 0, 2, -2, 7, -7, 9, 11, 13];
    for (scale_bits, scale) in [
        (0x3f00_0000u32, 0.5f32),
        (0x4020_0000, 2.5),
        (0xbfc0_0000, -1.5),
        (0x3e80_0000, 0.25),
    ] {
        for mut acc in engines() {
            let mut mem = new_mem();
            let bytes: Vec<u8> = special.iter().chain(&vals).map(|&v| v as u8).collect();
            mem.write(IN, &bytes).unwrap();
            let mut c = ld(0, n as u64);
            c.scale = scale_bits;
            let mut c_shrunk = ld(1, n as u64);
            c_shrunk.scale = scale_bits;
            c_shrunk.shrink = true;
            let cmds = [
                Command::ConfigLd(c),
                Command::ConfigLd(c_shrunk),
                mvin(0, IN, LocalAddr::sp(0), d16(), 5),
                mvin(1, IN, LocalAddr::acc(0), d16(), 5),
            ];
            run(acc.as_mut(), &mut mem, &cmds);
            for r in 0..5 {
                let want: Vec<i8> = bytes[r * n..(r + 1) * n]
                    .iter()
                    .map(|&b| rne_scale_i8(b as i8, scale))
                    .collect();
                assert_eq!(
                    acc.sp_i8(r as u32),
                    want,
                    "{} scale {scale} row {r}",
                    acc.engine()
                );
                let want32: Vec<i32> = want.iter().map(|&v| v as i32).collect();
                assert_eq!(
                    acc.read_acc_row(r as u32),
                    want32,
                    "{} shrunk row {r}",
                    acc.engine()
                );
            }
        }
    }
}

#[test]
fn accumulator_int32_mvin_accumulate_and_read_full() {
    let n = dim();
    let a: Vec<i32> = (0..n * 4)
        .map(|i| match i % 5 {
            0 => i32::MAX,
            1 => i32::MIN,
            2 => -(i as i32) * 1000,
            3 => 7,
            _ => (i as i32) << 20,
        })
        .collect();
    let b: Vec<i32> = (0..n * 4).map(|i| (i as i32) * 3 - 1).collect();
    let to_bytes = |v: &[i32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    for mut acc in engines() {
        let mut mem = new_mem();
        mem.write(IN, &to_bytes(&a)).unwrap();
        mem.write(IN2, &to_bytes(&b)).unwrap();
        let row_bytes = 4 * n as u64;
        let cmds = [
            Command::ConfigLd(ld(0, row_bytes)),
            mvin(0, IN, LocalAddr::acc(40), d16(), 4),
            mvin(0, IN2, LocalAddr::acc_accumulate(40), d16(), 4),
            Command::ConfigSt(ConfigSt::new(row_bytes as u32)),
            mvout(OUT, LocalAddr::acc_full(40), d16(), 4),
        ];
        run(acc.as_mut(), &mut mem, &cmds);
        let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
        for r in 0..4 {
            assert_eq!(
                acc.read_acc_row(40 + r as u32),
                want[r * n..(r + 1) * n],
                "{}",
                acc.engine()
            );
        }
        assert_eq!(
            read(&mem, OUT, 4 * n * 4),
            to_bytes(&want),
            "{} read_full",
            acc.engine()
        );
    }
}

#[test]
fn accumulator_scaled_read_out_with_relu() {
    let n = dim();
    let vals: Vec<i32> = (0..n * 2)
        .map(|i| match i % 6 {
            0 => -(i as i32) * 5,
            1 => 2 * i as i32 + 1, // odd: ties at scale 0.5
            2 => 1_000_000,
            3 => -3,
            4 => 6,
            _ => i32::MAX,
        })
        .collect();
    let bytes: Vec<u8> = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
    for (scale_bits, scale, act) in [
        (0x3f00_0000u32, 0.5f32, ACT_RELU),
        (0x3e80_0000, 0.25, 0),
        (0x3f80_0000, 1.0, ACT_RELU),
    ] {
        for mut acc in engines() {
            let mut mem = new_mem();
            mem.write(IN, &bytes).unwrap();
            let mut st = ConfigSt::new(n as u32);
            st.act = act;
            st.acc_scale = scale_bits;
            // 0xFFFFFFFF leaves the scale unchanged
            let mut st2 = st;
            st2.acc_scale = ConfigSt::SCALE_UNCHANGED;
            let cmds = [
                Command::ConfigLd(ld(0, 4 * n as u64)),
                mvin(0, IN, LocalAddr::acc(7), d16(), 2),
                Command::ConfigSt(st),
                Command::ConfigSt(st2),
                mvout(OUT, LocalAddr::acc(7), d16(), 2),
            ];
            run(acc.as_mut(), &mut mem, &cmds);
            let want: Vec<u8> = vals
                .iter()
                .map(|&x| acc_readout(x, act == ACT_RELU, scale) as u8)
                .collect();
            assert_eq!(
                read(&mem, OUT, 2 * n),
                want,
                "{} scale {scale} act {act}",
                acc.engine()
            );
        }
    }
}

#[test]
fn max_pooling_from_scratchpad_and_accumulator() {
    let n = dim();
    let (orows, ocols) = (5usize, 4usize);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let data = rand_bytes(&mut rng, orows * ocols * n);
    for (pool_size, pool_stride, upad, lpad) in [(2u8, 2u8, 0u8, 0u8), (3, 1, 1, 1), (2, 1, 1, 0)] {
        for from_acc in [false, true] {
            for mut acc in engines() {
                let mut mem = new_mem();
                mem.write(IN, &data).unwrap();
                let porows = ((orows + 2 * upad as usize - pool_size as usize)
                    / pool_stride as usize
                    + 1) as u8;
                let pocols = ((ocols + 2 * lpad as usize - pool_size as usize)
                    / pool_stride as usize
                    + 1) as u8;
                let mut st = ConfigSt::new(n as u32);
                st.pool_stride = pool_stride;
                st.pool_size = pool_size;
                st.upad = upad;
                st.lpad = lpad;
                st.porows = porows;
                st.pocols = pocols;
                st.orows = orows as u8;
                st.ocols = ocols as u8;
                st.pool_out_dim = pocols + 1;
                st.acc_scale = 0x3f80_0000;
                let src = if from_acc {
                    LocalAddr::acc(30)
                } else {
                    LocalAddr::sp(30)
                };
                let mut c = ld(0, n as u64);
                c.shrink = true;
                let mut cmds = vec![Command::ConfigLd(c)];
                for i in 0..(orows * ocols).div_ceil(n) {
                    let rows = (orows * ocols - i * n).min(n) as u16;
                    cmds.push(mvin(
                        0,
                        IN + (i * n * n) as u64,
                        src.add_rows((i * n) as u32, 14),
                        d16(),
                        rows,
                    ));
                }
                cmds.push(Command::ConfigSt(st));
                cmds.push(mvout(OUT, src, 12, 0));
                run(acc.as_mut(), &mut mem, &cmds);
                for pr in 0..porows as i64 {
                    for pc in 0..pocols as i64 {
                        let mut want = vec![i8::MIN; 12];
                        for wr in 0..pool_size as i64 {
                            for wc in 0..pool_size as i64 {
                                let orow = pr * pool_stride as i64 + wr - upad as i64;
                                let ocol = pc * pool_stride as i64 + wc - lpad as i64;
                                for (j, w) in want.iter_mut().enumerate() {
                                    let v = if orow < 0
                                        || ocol < 0
                                        || orow >= orows as i64
                                        || ocol >= ocols as i64
                                    {
                                        0
                                    } else {
                                        data[(orow as usize * ocols + ocol as usize) * n + j] as i8
                                    };
                                    *w = (*w).max(v);
                                }
                            }
                        }
                        let addr = OUT + ((pr * (pocols as i64 + 1) + pc) * n as i64) as u64;
                        let got: Vec<i8> =
                            read(&mem, addr, 12).into_iter().map(|b| b as i8).collect();
                        assert_eq!(
                            got, want,
                            "{} pool {pool_size}/{pool_stride} pad {upad},{lpad} acc {from_acc} pixel ({pr},{pc})",
                            acc.engine()
                        );
                    }
                }
            }
        }
    }
}

// =============================================================================================
// Execute (docs section 3) against a naive reference
// =============================================================================================

type Mat = Vec<Vec<i64>>;

fn rand_mat(rng: &mut ChaCha8Rng) -> Mat {
    let n = dim();
    (0..n)
        .map(|_| (0..n).map(|_| rng.gen::<i8>() as i64).collect())
        .collect()
}

fn matmul(a: &Mat, b: &Mat, d: &Mat) -> Mat {
    let n = a.len();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| d[i][j] + (0..n).map(|k| a[i][k] * b[k][j]).sum::<i64>())
                .collect()
        })
        .collect()
}

fn transpose(m: &Mat) -> Mat {
    let n = m.len();
    (0..n).map(|i| (0..n).map(|j| m[j][i]).collect()).collect()
}

fn mat_bytes(m: &Mat) -> Vec<u8> {
    m.iter()
        .flat_map(|r| r.iter().map(|&v| v as i8 as u8))
        .collect()
}

/// Puts matrices at IN + i * DIM*DIM and returns the mvins to load matrix i to scratchpad row `rows[i]`.
fn load_mats(mem: &mut Memory, mats: &[(&Mat, u32)]) -> Vec<Command> {
    let n = dim();
    let mut cmds = vec![Command::ConfigLd(ld(0, n as u64))];
    for (i, (m, row)) in mats.iter().enumerate() {
        let addr = IN + (i * n * n) as u64;
        mem.write(addr, &mat_bytes(m)).unwrap();
        cmds.push(mvin(0, addr, LocalAddr::sp(*row), d16(), d16()));
    }
    cmds
}

fn rshift_rne(x: i64, s: u32) -> i64 {
    if s == 0 {
        return x;
    }
    let q = x >> s;
    let r = (x >> (s - 1)) & 1;
    let low = x & ((1i64 << (s - 1)) - 1) != 0;
    let odd = q & 1;
    q + (r & ((low as i64) | odd))
}

#[test]
fn ws_matmul_matches_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = dim();
    let (a, b, d) = (rand_mat(&mut rng), rand_mat(&mut rng), rand_mat(&mut rng));
    let want = matmul(&a, &b, &d);
    // (a_transpose, b_transpose) legal in WS: none, A, B
    for (at, bt) in [(false, false), (true, false), (false, true)] {
        for mut acc in engines() {
            let mut mem = new_mem();
            let a_st = if at { transpose(&a) } else { a.clone() };
            let b_st = if bt { transpose(&b) } else { b.clone() };
            let mut cmds = load_mats(&mut mem, &[(&a_st, 0), (&b_st, 64), (&d, 128)]);
            cmds.push(Command::ConfigEx(ConfigEx {
                dataflow: DATAFLOW_WS,
                a_transpose: at,
                b_transpose: bt,
                act: ACT_RELU,
                ..ConfigEx::default()
            }));
            // C to the accumulator (exact), then again to the scratchpad (saturated, ReLU)
            cmds.push(Command::Preload {
                bd: full(LocalAddr::sp(64)),
                c: full(LocalAddr::acc(0)),
            });
            cmds.push(Command::Compute {
                flip: true,
                a: full(LocalAddr::sp(0)),
                bd: full(LocalAddr::sp(128)),
            });
            cmds.push(Command::Preload {
                bd: Operand::garbage(d16()),
                c: full(LocalAddr::sp(300)),
            });
            cmds.push(Command::Compute {
                flip: false,
                a: full(LocalAddr::sp(0)),
                bd: full(LocalAddr::sp(128)),
            });
            // accumulate into C: acc += A*B (D garbage)
            cmds.push(Command::Preload {
                bd: Operand::garbage(d16()),
                c: full(LocalAddr::acc_accumulate(0)),
            });
            cmds.push(Command::Compute {
                flip: false,
                a: full(LocalAddr::sp(0)),
                bd: Operand::garbage(d16()),
            });
            run(acc.as_mut(), &mut mem, &cmds);
            let ab = matmul(&a, &b, &vec![vec![0; n]; n]);
            for i in 0..n {
                let acc_want: Vec<i32> = (0..n).map(|j| (want[i][j] + ab[i][j]) as i32).collect();
                assert_eq!(
                    acc.read_acc_row(i as u32),
                    acc_want,
                    "{} WS at={at} bt={bt} acc row {i}",
                    acc.engine()
                );
                let sp_want: Vec<i8> = want[i].iter().map(|&v| v.clamp(0, 127) as i8).collect();
                assert_eq!(
                    acc.sp_i8(300 + i as u32),
                    sp_want,
                    "{} WS sp row {i}",
                    acc.engine()
                );
            }
        }
    }
}

#[test]
fn ws_partial_operands_and_strides() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let n = dim();
    let (a, b, d) = (rand_mat(&mut rng), rand_mat(&mut rng), rand_mat(&mut rng));
    // A: 5 x 7 stored 2 rows apart; B: 7 x 9; D: 5 x 9; C 5 x 6 with c_stride 3
    let (ar, ac, bc, cc) = (5usize, 7usize, 9usize, 6usize);
    let cut = |m: &Mat, r: usize, c: usize| -> Mat {
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| if i < r && j < c { m[i][j] } else { 0 })
                    .collect()
            })
            .collect()
    };
    let want = matmul(&cut(&a, ar, ac), &cut(&b, ac, bc), &cut(&d, ar, bc));
    for mut acc in engines() {
        let mut mem = new_mem();
        // stored A rows are 2 apart: put row i of A at local row 2i
        let mut a_spread = vec![vec![0i64; n]; n];
        for i in 0..n / 2 {
            a_spread[2 * i] = a[i].clone();
        }
        let mut cmds = load_mats(&mut mem, &[(&a_spread, 0), (&b, 64), (&d, 128)]);
        cmds.push(Command::ConfigEx(ConfigEx {
            dataflow: DATAFLOW_WS,
            a_stride: 2,
            c_stride: 3,
            ..ConfigEx::default()
        }));
        cmds.push(Command::Preload {
            bd: op(LocalAddr::sp(64), bc as u16, ac as u16),
            c: op(LocalAddr::acc(100), cc as u16, ar as u16),
        });
        cmds.push(Command::Compute {
            flip: true,
            a: op(LocalAddr::sp(0), ac as u16, ar as u16),
            bd: op(LocalAddr::sp(128), bc as u16, ar as u16),
        });
        run(acc.as_mut(), &mut mem, &cmds);
        for (i, want_i) in want.iter().enumerate().take(ar) {
            let row = acc.read_acc_row(100 + 3 * i as u32);
            let w: Vec<i32> = (0..n)
                .map(|j| if j < cc { want_i[j] as i32 } else { 0 })
                .collect();
            assert_eq!(row, w, "{} C row {i}", acc.engine());
        }
        assert_eq!(
            acc.read_acc_row(101),
            vec![0; n],
            "rows between strided C rows are untouched"
        );
    }
}

#[test]
fn os_matmul_matches_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let n = dim();
    let (a, b, d) = (rand_mat(&mut rng), rand_mat(&mut rng), rand_mat(&mut rng));
    let psum = cfg().array.spatial_output_bits;
    let clip = |x: i64| x.clamp(-(1i64 << (psum - 1)), (1i64 << (psum - 1)) - 1);
    // legal in OS: none, A, both
    for (at, bt, shift) in [(false, false, 0u32), (true, false, 3), (true, true, 9)] {
        for mut acc in engines() {
            let mut mem = new_mem();
            let a_st = if at { transpose(&a) } else { a.clone() };
            let b_st = if bt { transpose(&b) } else { b.clone() };
            let mut cmds = load_mats(&mut mem, &[(&a_st, 0), (&b_st, 64), (&d, 128)]);
            cmds.push(Command::ConfigEx(ConfigEx {
                dataflow: DATAFLOW_OS,
                a_transpose: at,
                b_transpose: bt,
                in_shift: shift,
                ..ConfigEx::default()
            }));
            // Acc = D + A*B, written to the accumulator; then Acc += A*B again, written to the scratchpad
            cmds.push(Command::Preload {
                bd: full(LocalAddr::sp(128)),
                c: full(LocalAddr::acc(0)),
            });
            cmds.push(Command::Compute {
                flip: true,
                a: full(LocalAddr::sp(0)),
                bd: full(LocalAddr::sp(64)),
            });
            cmds.push(Command::Preload {
                bd: Operand::garbage(d16()),
                c: full(LocalAddr::sp(300)),
            });
            cmds.push(Command::Compute {
                flip: false,
                a: full(LocalAddr::sp(0)),
                bd: full(LocalAddr::sp(64)),
            });
            run(acc.as_mut(), &mut mem, &cmds);
            let once = matmul(&a, &b, &d);
            let twice = matmul(&a, &b, &once);
            for i in 0..n {
                let w1: Vec<i32> = once[i]
                    .iter()
                    .map(|&v| clip(rshift_rne(v, shift)) as i32)
                    .collect();
                assert_eq!(
                    acc.read_acc_row(i as u32),
                    w1,
                    "{} OS at={at} bt={bt} shift {shift} row {i}",
                    acc.engine()
                );
                let w2: Vec<i8> = twice[i]
                    .iter()
                    .map(|&v| clip(rshift_rne(v, shift)).clamp(-128, 127) as i8)
                    .collect();
                assert_eq!(
                    acc.sp_i8(300 + i as u32),
                    w2,
                    "{} OS accumulated row {i}",
                    acc.engine()
                );
            }
        }
    }
}

// =============================================================================================
// Errors (docs section 1): kind and offending command, on both engines
// =============================================================================================

fn expect_error(setup: &[Command], bad: RoccCmd, kind: ErrorKind) {
    expect_error_raw(&enc(setup), bad, kind);
}

fn expect_error_raw(setup: &[RoccCmd], bad: RoccCmd, kind: ErrorKind) {
    for mut acc in engines() {
        let mut mem = new_mem();
        let mut cmds = setup.to_vec();
        cmds.push(bad);
        // a command after the bad one is never executed
        cmds.push(mvin(0, 0, LocalAddr::sp(0), 1, 1).encode());
        let e = match run_stream(acc.as_mut(), &mut mem, &cmds, &HarnessOpts::default()) {
            Ok(_) => panic!("{}: {bad} was accepted", acc.engine()),
            Err(e) => e,
        };
        assert_eq!(e.kind, kind, "{}: {bad}: {e}", acc.engine());
        assert_eq!(e.cmd, Some(bad), "{}: offending command: {e}", acc.engine());
        // sticky
        assert_eq!(acc.error().map(|x| x.kind), Some(kind));
        assert!(acc
            .offer(mvin(0, 0, LocalAddr::sp(0), 1, 1).encode(), 0, &mut mem)
            .is_err());
    }
}

#[test]
fn error_illegal_funct() {
    expect_error(
        &[],
        RoccCmd {
            funct: 50,
            rs1: 1,
            rs2: 2,
        },
        ErrorKind::IllegalFunct,
    );
    expect_error(
        &[],
        RoccCmd {
            funct: 23,
            rs1: 0,
            rs2: 0,
        },
        ErrorKind::IllegalFunct,
    );
}

#[test]
fn error_unsupported_and_bad_loops() {
    // LOOP_CONV_WS with the reset descriptor (no_pool = 0: pooling is refused)
    expect_error(
        &[],
        RoccCmd {
            funct: 15,
            rs1: 5,
            rs2: 6,
        },
        ErrorKind::BadLoop,
    );
    // LOOP_WS with Gemmini's 2025-only rs2 bits
    let ext = LoopWs {
        ext: 1,
        ..LoopWs::default()
    };
    expect_error(&[], ext.encode(), ErrorKind::Unsupported);
    // LOOP_WS with zero bounds (the reset descriptor), and a C tile larger than half the accumulator
    expect_error(&[], LoopWs::default().encode(), ErrorKind::BadLoop);
    let big = LoopWsDesc {
        i: 8,
        j: 8,
        k: 1,
        a: IN,
        b: IN,
        ..Default::default()
    }
    .encode(&LoopWs::default());
    expect_error_raw(&big[..5], big[5], ErrorKind::BadLoop);
    let mut c = ld(0, 16);
    c.pixel_repeats = 2;
    expect_error(&[], c.encode(), ErrorKind::Unsupported);
    // an accumulator operand for the execute unit
    expect_error(
        &[],
        Command::Preload {
            bd: full(LocalAddr::acc(0)),
            c: Operand::garbage(d16()),
        }
        .encode(),
        ErrorKind::Unsupported,
    );
}

#[test]
fn error_rows_17() {
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::sp(0), d16(), d16() + 1).encode(),
        ErrorKind::BadRowsCols,
    );
    // int32 to the accumulator: at most DIM*MBLA columns
    let cols = (cfg().dim() * cfg().max_block_len_acc()) as u16 + 1;
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::acc(0), cols, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    expect_error(
        &[],
        mvout(OUT, LocalAddr::acc_full(0), d16() + 1, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    // pooling with orows = 0
    let mut st = ConfigSt::new(16);
    st.pool_stride = 1;
    st.pool_size = 2;
    st.porows = 1;
    st.pocols = 1;
    st.ocols = 2;
    expect_error(
        &[Command::ConfigSt(st)],
        mvout(OUT, LocalAddr::sp(0), 4, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    // pooling: cols at most DIM
    st.orows = 2;
    expect_error(
        &[Command::ConfigSt(st)],
        mvout(OUT, LocalAddr::sp(0), d16() + 1, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    // int8 mvout: at most DIM*MBL columns; preload/compute operands at most DIM x DIM
    let mbl = (cfg().dim() * cfg().max_block_len()) as u16;
    expect_error(
        &[],
        mvout(OUT, LocalAddr::sp(0), mbl + 1, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    expect_error(
        &[],
        Command::Preload {
            bd: op(LocalAddr::sp(0), d16() + 1, 1),
            c: Operand::garbage(d16()),
        }
        .encode(),
        ErrorKind::BadRowsCols,
    );
    expect_error(
        &[],
        Command::Preload {
            bd: Operand::garbage(d16()),
            c: op(LocalAddr::acc(0), 1, 0),
        }
        .encode(),
        ErrorKind::BadRowsCols,
    );
}

#[test]
fn garbage_operands_and_set_only_strides_are_not_checked() {
    // rows/cols of garbage operands are not checked; set_only_strides ignores the transpose bits
    let g = op(LocalAddr::GARBAGE, 999, 0);
    let bad_t = ConfigEx {
        dataflow: DATAFLOW_WS,
        a_transpose: true,
        b_transpose: true,
        set_only_strides: true,
        ..ConfigEx::default()
    };
    for mut acc in engines() {
        let mut mem = new_mem();
        run(
            acc.as_mut(),
            &mut mem,
            &[
                Command::ConfigEx(bad_t),
                Command::Preload { bd: g, c: g },
                Command::Compute {
                    flip: true,
                    a: g,
                    bd: g,
                },
                Command::Flush { skip: true },
                Command::ConfigNorm {
                    rs1: 0xdead_0000,
                    rs2: 7,
                },
            ],
        );
    }
}

#[test]
fn error_scratchpad_range_overflow() {
    let last = cfg().sp_rows() - 4;
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::sp(last), d16(), 5).encode(),
        ErrorKind::SpRange,
    );
    // blocks count: 2 blocks with block stride DIM from sp_rows - DIM - 1
    let r = cfg().sp_rows() - d16() as u32 - 1;
    expect_error(
        &[],
        mvout(OUT, LocalAddr::sp(r), 2 * d16(), 2).encode(),
        ErrorKind::SpRange,
    );
}

#[test]
fn error_accumulator_row_1024() {
    let n = cfg().acc_rows();
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::acc(n), d16(), 1).encode(),
        ErrorKind::AccRange,
    );
    expect_error(
        &[],
        mvout(OUT, LocalAddr::acc(n - 2), d16(), 3).encode(),
        ErrorKind::AccRange,
    );
}

#[test]
fn error_bad_transpose() {
    let ws = ConfigEx {
        dataflow: DATAFLOW_WS,
        a_transpose: true,
        b_transpose: true,
        ..ConfigEx::default()
    };
    expect_error(&[], ws.encode(), ErrorKind::BadTranspose);
    let os = ConfigEx {
        dataflow: DATAFLOW_OS,
        a_transpose: false,
        b_transpose: true,
        ..ConfigEx::default()
    };
    expect_error(&[], os.encode(), ErrorKind::BadTranspose);
}

#[test]
fn error_pairing() {
    let comp = Command::Compute {
        flip: true,
        a: full(LocalAddr::sp(0)),
        bd: Operand::garbage(d16()),
    };
    expect_error(&[], comp.encode(), ErrorKind::Pairing);
    let pre = Command::Preload {
        bd: full(LocalAddr::sp(0)),
        c: full(LocalAddr::acc(0)),
    };
    expect_error(&[pre], pre.encode(), ErrorKind::Pairing);
    expect_error(&[pre], ConfigEx::default().encode(), ErrorKind::Pairing);
    // non-execute commands may sit between a preload and its compute
    for mut acc in engines() {
        let mut mem = new_mem();
        run(
            acc.as_mut(),
            &mut mem,
            &[
                pre,
                mvin(0, 0, LocalAddr::sp(500), 4, 4),
                Command::Flush { skip: false },
                comp,
            ],
        );
    }
}

#[test]
fn error_mvin_to_garbage() {
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::GARBAGE, d16(), d16()).encode(),
        ErrorKind::BadAddress,
    );
    expect_error(
        &[],
        mvout(OUT, LocalAddr::GARBAGE, d16(), d16()).encode(),
        ErrorKind::BadAddress,
    );
}

#[test]
fn error_priority_order() {
    // garbage address beats rows/cols; rows/cols beats range
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::GARBAGE, 0, 99).encode(),
        ErrorKind::BadAddress,
    );
    expect_error(
        &[],
        mvin(0, IN, LocalAddr::acc(5000), 0, 1).encode(),
        ErrorKind::BadRowsCols,
    );
    // accumulator operand (unsupported) beats pairing
    let comp = Command::Compute {
        flip: true,
        a: full(LocalAddr::acc(0)),
        bd: Operand::garbage(d16()),
    };
    expect_error(&[], comp.encode(), ErrorKind::Unsupported);
}

// =============================================================================================
// Counters (docs section 4)
// =============================================================================================

fn counter(acc: &mut dyn Accelerator, mem: &mut Memory, op: CounterOp) -> u64 {
    let r = run(acc, mem, &[Command::Counter(op)]);
    assert_eq!(r.responses.len(), 1, "one response per counter op");
    r.responses[0].data
}

#[test]
fn counter_ops() {
    let mut acc = rtl();
    let mut mem = new_mem();
    let n = d16();
    let cfg_op = CounterOp::configure_code(0, event::LOAD_ACTIVE_CYCLE);
    assert_eq!(
        counter(acc.as_mut(), &mut mem, cfg_op),
        0,
        "configure resets the counter"
    );
    run(
        acc.as_mut(),
        &mut mem,
        &[
            Command::ConfigLd(ld(0, 64)),
            mvin(0, IN, LocalAddr::sp(0), 4 * n, n),
        ],
    );
    let v1 = counter(acc.as_mut(), &mut mem, CounterOp::read(0));
    assert!(v1 > 0, "LOAD_ACTIVE_CYCLE counted during the mvin");
    // idle: unchanged
    assert_eq!(counter(acc.as_mut(), &mut mem, CounterOp::read(0)), v1);
    // snapshot: reads return the copy while the live counter keeps counting
    let take = CounterOp {
        snapshot_take: true,
        ..CounterOp::read(0)
    };
    assert_eq!(counter(acc.as_mut(), &mut mem, take), v1);
    run(
        acc.as_mut(),
        &mut mem,
        &[mvin(0, IN, LocalAddr::sp(0), 4 * n, n)],
    );
    assert_eq!(
        counter(acc.as_mut(), &mut mem, CounterOp::read(0)),
        v1,
        "snapshot value"
    );
    let live = CounterOp {
        snapshot_reset: true,
        ..CounterOp::read(0)
    };
    let v2 = counter(acc.as_mut(), &mut mem, live);
    assert!(v2 > v1, "live value after snapshot reset ({v2} vs {v1})");
    // reset: everything to 0 (the read in the same op sees the reset)
    let reset = CounterOp {
        reset: true,
        ..CounterOp::read(0)
    };
    assert_eq!(counter(acc.as_mut(), &mut mem, reset), 0);
    assert_eq!(counter(acc.as_mut(), &mut mem, CounterOp::read(0)), 0);
    // an external value: bytes received (reset clears it)
    let ext = CounterOp::configure_code(1, 44 + event::EXT_RDMA_BYTES_REC);
    counter(acc.as_mut(), &mut mem, ext);
    run(
        acc.as_mut(),
        &mut mem,
        &[mvin(0, IN, LocalAddr::sp(0), n, n)],
    );
    let bytes = counter(acc.as_mut(), &mut mem, CounterOp::read(1));
    assert!(bytes >= (n as u64) * (n as u64), "rdma bytes {bytes}");
    // the spec engine answers every counter op with 0
    let mut s = spec();
    let mut m2 = new_mem();
    assert_eq!(counter(s.as_mut(), &mut m2, cfg_op), 0);
    run(s.as_mut(), &mut m2, &[mvin(0, IN, LocalAddr::sp(0), n, n)]);
    assert_eq!(counter(s.as_mut(), &mut m2, CounterOp::read(0)), 0);
}

// =============================================================================================
// Timing properties (RTL), asserted structurally from cycle counts
// =============================================================================================

/// A tile of A at scratchpad row 0 (bank 0) and B at the first row of bank 1, so the A reads of a compute
/// and the B reads of the next preload can proceed in parallel.
fn resident_setup(mem: &mut Memory) -> (Vec<Command>, LocalAddr, LocalAddr) {
    let c = cfg();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (a, b) = (rand_mat(&mut rng), rand_mat(&mut rng));
    let b_row = c.sp_bank_rows();
    let mut cmds = load_mats(mem, &[(&a, 0), (&b, b_row)]);
    cmds.push(Command::ConfigEx(ConfigEx {
        dataflow: DATAFLOW_WS,
        ..ConfigEx::default()
    }));
    (cmds, LocalAddr::sp(0), LocalAddr::sp(b_row))
}

fn ws_pairs(n: usize, a: LocalAddr, b: LocalAddr) -> Vec<Command> {
    let tiles = (cfg().acc_rows() / cfg().dim()) as usize;
    let mut v = Vec::new();
    for i in 0..n {
        let c = LocalAddr::acc(((i % tiles) * dim()) as u32);
        v.push(Command::Preload {
            bd: full(b),
            c: full(c),
        });
        v.push(Command::Compute {
            flip: true,
            a: full(a),
            bd: Operand::garbage(d16()),
        });
    }
    v
}

/// Cycles of `measured` on a fresh RTL after `setup` has run to completion.
fn cycles_after(setup: &[Command], measured: &[Command], mem: &Memory) -> u64 {
    let mut acc = rtl();
    let mut mem = mem.clone();
    run(acc.as_mut(), &mut mem, setup);
    run(acc.as_mut(), &mut mem, measured).cycles
}

#[test]
fn timing_ws_steady_state_throughput() {
    let mut mem = new_mem();
    let (setup, a, b) = resident_setup(&mut mem);
    let c32 = cycles_after(&setup, &ws_pairs(32, a, b), &mem);
    let c64 = cycles_after(&setup, &ws_pairs(64, a, b), &mem);
    let per = (c64 - c32) as f64 / 32.0;
    println!("WS back-to-back 16x16x16: 32 -> {c32} cycles, 64 -> {c64} cycles, {per:.2} cycles per matmul");
    assert!(
        (c64 - c32) as f64 <= 32.0 * dim() as f64 * 1.1,
        "32 more matmuls took {} cycles (> 1.1 * 32 * DIM)",
        c64 - c32
    );
}

#[test]
fn timing_independent_mvin_overlaps_compute() {
    let mut mem = new_mem();
    let (setup, a, b) = resident_setup(&mut mem);
    let n = d16();
    // an mvin that touches nothing the computes use (scratchpad bank 2)
    let far = LocalAddr::sp(2 * cfg().sp_bank_rows());
    let load = vec![
        Command::ConfigLd(ld(1, 4 * n as u64)),
        mvin(1, IN2, far, 4 * n, n),
    ];
    let compute = ws_pairs(48, a, b);
    let mut both = compute[..8].to_vec();
    both.extend(load.iter().copied());
    both.extend(compute[8..].iter().copied());
    let t_compute = cycles_after(&setup, &compute, &mem);
    let t_load = cycles_after(&setup, &load, &mem);
    let t_both = cycles_after(&setup, &both, &mem);
    println!("compute {t_compute}, mvin {t_load}, together {t_both}");
    assert!(
        t_both < t_compute + t_load,
        "no overlap: {t_both} >= {t_compute} + {t_load}"
    );
    // most of the load hides under the compute
    assert!(
        t_both <= t_compute + t_load / 4,
        "little overlap: {t_both} vs {t_compute} + {t_load}"
    );
}

#[test]
fn timing_dependent_mvin_waits_war_and_raw() {
    let n = dim();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let (a_old, a_new, b) = (rand_mat(&mut rng), rand_mat(&mut rng), rand_mat(&mut rng));
    let zero = vec![vec![0i64; n]; n];
    let want_old = matmul(&a_old, &b, &zero);
    let want_new = matmul(&a_new, &b, &zero);
    for mut acc in engines() {
        let mut mem = new_mem();
        let (mut setup, a_busy, b_busy) = resident_setup(&mut mem);
        // A_old at row 200, B at row 300; A_new waits in DRAM
        setup.extend(load_mats_at(
            &mut mem,
            &[(&a_old, 200, IN2), (&b, 300, IN2 + 0x1000)],
        ));
        run(acc.as_mut(), &mut mem, &setup);
        mem.write(IN2 + 0x2000, &mat_bytes(&a_new)).unwrap();
        // keep the execute unit busy so the pair below is queued when the mvin arrives
        let mut cmds = ws_pairs(12, a_busy, b_busy);
        // WAR: the compute reads A at row 200; the mvin right after it overwrites row 200
        cmds.push(Command::Preload {
            bd: full(LocalAddr::sp(300)),
            c: full(LocalAddr::acc(512)),
        });
        cmds.push(Command::Compute {
            flip: true,
            a: full(LocalAddr::sp(200)),
            bd: Operand::garbage(d16()),
        });
        cmds.push(Command::ConfigLd(ld(2, n as u64)));
        cmds.push(mvin(2, IN2 + 0x2000, LocalAddr::sp(200), d16(), d16()));
        // RAW: this compute must see the new A
        cmds.push(Command::Preload {
            bd: full(LocalAddr::sp(300)),
            c: full(LocalAddr::acc(528)),
        });
        cmds.push(Command::Compute {
            flip: true,
            a: full(LocalAddr::sp(200)),
            bd: Operand::garbage(d16()),
        });
        run(acc.as_mut(), &mut mem, &cmds);
        for i in 0..n {
            let old: Vec<i32> = want_old[i].iter().map(|&v| v as i32).collect();
            let new: Vec<i32> = want_new[i].iter().map(|&v| v as i32).collect();
            assert_eq!(
                acc.read_acc_row(512 + i as u32),
                old,
                "{} WAR: row {i} must use the old A",
                acc.engine()
            );
            assert_eq!(
                acc.read_acc_row(528 + i as u32),
                new,
                "{} RAW: row {i} must use the new A",
                acc.engine()
            );
        }
    }
}

fn load_mats_at(mem: &mut Memory, mats: &[(&Mat, u32, u64)]) -> Vec<Command> {
    let n = dim();
    let mut cmds = vec![Command::ConfigLd(ld(0, n as u64))];
    for (m, row, addr) in mats {
        mem.write(*addr, &mat_bytes(m)).unwrap();
        cmds.push(mvin(0, *addr, LocalAddr::sp(*row), d16(), d16()));
    }
    cmds
}

/// `busy_o` as the RTL drives it (decoded from the debug text, which reports the port).
fn rtl_busy_o(acc: &mut RtlAccel) -> bool {
    let s = acc.debug_state();
    let i = s.find(", busy ").expect("debug state reports busy");
    s[i + 7..].starts_with('1')
}

#[test]
fn timing_busy_until_writes_acknowledged() {
    let mut c = cfg();
    c.memory.latency = 300; // acknowledgements arrive long after the last write is sent
    let mut acc = RtlAccel::new(&c).expect("RTL model");
    let mut mem = new_mem();
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let data = rand_bytes(&mut rng, 16 * 64);
    mem.write(IN, &data).unwrap();
    let n = d16();
    let cmds = enc(&[
        Command::ConfigLd(ld(0, 64)),
        mvin(0, IN, LocalAddr::sp(0), 4 * n, n),
        Command::ConfigSt(ConfigSt::new(64)),
        mvout(OUT, LocalAddr::sp(0), 4 * n, n),
    ]);
    let mut next = 0;
    let mut cycles = 0u64;
    let mut saw_outstanding_write_while_busy = false;
    loop {
        if next < cmds.len() && acc.offer(cmds[next], 0, &mut mem).expect("offer") {
            next += 1;
        }
        acc.tick(&mut mem).expect("tick");
        cycles += 1;
        assert!(cycles < 100_000, "never idle");
        let busy_o = rtl_busy_o(&mut acc);
        if acc.dma().outstanding() > 0 {
            // every accepted request (writes included) is still unacknowledged: busy_o must be high
            assert!(
                busy_o,
                "busy_o low at cycle {cycles} with {} requests unacknowledged",
                acc.dma().outstanding()
            );
            saw_outstanding_write_while_busy |= acc.dma().stats().writes > 0;
        }
        if next == cmds.len() && !busy_o {
            break;
        }
    }
    assert!(saw_outstanding_write_while_busy);
    assert!(acc.dma().is_idle(), "idle only after every acknowledgement");
    assert_eq!(
        read(&mem, OUT, 16 * 64),
        data,
        "memory holds the data once the accelerator is idle"
    );
    assert!(!acc.busy());
}

#[test]
fn timing_benchmark_stream_runs_at_full_rate_and_matches_spec() {
    let c = cfg();
    let short = ws_matmul_stream(&c, 64);
    let long = ws_matmul_stream(&c, 320);
    let cycles = |case: &gemforge::sim::accel::stream::StreamCase| -> (u64, Memory, Vec<Vec<i32>>) {
        let mut acc = rtl();
        let mut mem = case.mem.clone();
        let r =
            run_stream(acc.as_mut(), &mut mem, &case.cmds, &HarnessOpts::default()).expect("rtl");
        let rows = (0..64).map(|i| acc.read_acc_row(i)).collect();
        (r.cycles, mem, rows)
    };
    let (c_short, _, _) = cycles(&short);
    let (c_long, mem_rtl, acc_rtl) = cycles(&long);
    let per = (c_long - c_short) as f64 / 256.0;
    println!("ws_matmul_stream: 64 -> {c_short} cycles, 320 -> {c_long} cycles, {per:.2} cycles per matmul");
    assert!(per <= dim() as f64 * 1.1, "{per} cycles per matmul");
    let mut s = spec();
    let mut mem = long.mem.clone();
    run_stream(s.as_mut(), &mut mem, &long.cmds, &HarnessOpts::default()).expect("spec");
    assert_eq!(mem.first_difference(&mem_rtl), None);
    for (i, row) in acc_rtl.iter().enumerate() {
        assert_eq!(&s.read_acc_row(i as u32), row, "acc row {i}");
    }
}

// =============================================================================================
// LOOP_WS (docs section 6)
// =============================================================================================

/// A GEMM `C = sat8(A*B + D)` (A: m x k, B: k x n int8; D: m x n int32 or none) issued like the software
/// library's `tiled_matmul` in WS mode: configs, then one LOOP_WS per (i0, j0, k0) tile of
/// `ti x tj x tk` DIM blocks, D only with k0 = 0, C only with the last k0.
struct Gemm {
    mem: Memory,
    cmds: Vec<RoccCmd>,
    expected: Vec<i8>,
    c_addr: u64,
    m: usize,
    n: usize,
    k: usize,
}

fn gemm(m: usize, n: usize, k: usize, bias: bool, tiles: (usize, usize, usize), seed: u64) -> Gemm {
    let dd = dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a: Vec<i8> = (0..m * k).map(|_| rng.gen()).collect();
    let b: Vec<i8> = (0..k * n).map(|_| rng.gen()).collect();
    let d: Vec<i32> = (0..m * n).map(|_| rng.gen_range(-5000..5000)).collect();
    let a_addr = DEFAULT_BASE + 0x10_0000;
    let b_addr = a_addr + (m * k) as u64;
    let d_addr = b_addr + (k * n) as u64;
    let c_addr = d_addr + (m * n * 4) as u64;
    let mut mem = Memory::new(DEFAULT_BASE, 1 << 23);
    let as_u8 = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
    mem.write(a_addr, &as_u8(&a)).expect("A");
    mem.write(b_addr, &as_u8(&b)).expect("B");
    let dbytes: Vec<u8> = d.iter().flat_map(|x| x.to_le_bytes()).collect();
    mem.write(d_addr, &dbytes).expect("D");
    let mut expected = vec![0i8; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc: i64 = if bias { d[i * n + j] as i64 } else { 0 };
            for x in 0..k {
                acc += a[i * k + x] as i64 * b[x * n + j] as i64;
            }
            expected[i * n + j] = acc.clamp(-128, 127) as i8;
        }
    }
    let mut cmds = vec![
        Command::ConfigEx(ConfigEx {
            dataflow: DATAFLOW_WS,
            ..ConfigEx::default()
        })
        .encode(),
        Command::ConfigSt(ConfigSt::new(n as u32)).encode(),
        Command::ConfigLd(ld(0, k as u64)).encode(),
        Command::ConfigLd(ld(1, n as u64)).encode(),
        Command::ConfigLd(ld(2, 4 * n as u64)).encode(),
    ];
    let blocks = |x: usize| x.div_ceil(dd);
    let (bi, bj, bk) = (blocks(m), blocks(n), blocks(k));
    let (ti, tj, tk) = tiles;
    for i0 in (0..bi).step_by(ti) {
        for j0 in (0..bj).step_by(tj) {
            for k0 in (0..bk).step_by(tk) {
                let (ni, nj, nk) = (ti.min(bi - i0), tj.min(bj - j0), tk.min(bk - k0));
                let pad = |blk: usize, nblk: usize, total: usize| {
                    if blk + nblk == total.div_ceil(dd) {
                        (total.div_ceil(dd) * dd - total) as u16
                    } else {
                        0
                    }
                };
                let first_k = k0 == 0;
                let last_k = k0 + nk == bk;
                let desc = LoopWsDesc {
                    i: ni as u16,
                    j: nj as u16,
                    k: nk as u16,
                    pad_i: pad(i0, ni, m),
                    pad_j: pad(j0, nj, n),
                    pad_k: pad(k0, nk, k),
                    a: a_addr + (i0 * dd * k + k0 * dd) as u64,
                    b: b_addr + (k0 * dd * n + j0 * dd) as u64,
                    d: if bias && first_k {
                        d_addr + 4 * (i0 * dd * n + j0 * dd) as u64
                    } else {
                        0
                    },
                    c: if last_k {
                        c_addr + (i0 * dd * n + j0 * dd) as u64
                    } else {
                        0
                    },
                    a_stride: k as u64,
                    b_stride: n as u64,
                    d_stride: n as u64,
                    c_stride: n as u64,
                };
                let mode = LoopWs {
                    ex_accumulate: !first_k || bias,
                    ..LoopWs::default()
                };
                cmds.extend(desc.encode(&mode));
            }
        }
    }
    Gemm {
        mem,
        cmds,
        expected,
        c_addr,
        m,
        n,
        k,
    }
}

/// Runs the GEMM on an engine; returns C and the stream report.
fn run_gemm(acc: &mut dyn Accelerator, g: &Gemm, extra: &[RoccCmd]) -> (Vec<i8>, StreamReport) {
    let mut mem = g.mem.clone();
    let mut cmds = g.cmds.clone();
    cmds.extend_from_slice(extra);
    let opts = HarnessOpts {
        max_cycles: 50_000_000,
        ..HarnessOpts::default()
    };
    let r =
        run_stream(acc, &mut mem, &cmds, &opts).unwrap_or_else(|e| panic!("{}: {e}", acc.engine()));
    let mut c = vec![0u8; g.m * g.n];
    mem.read(g.c_addr, &mut c).expect("C");
    (c.into_iter().map(|x| x as i8).collect(), r)
}

/// Useful MACs per cycle over the array's DIM*DIM.
fn utilization(g: &Gemm, cycles: u64) -> f64 {
    (g.m * g.n * g.k) as f64 / (dim() * dim()) as f64 / cycles as f64
}

fn event_total(r: &StreamReport, name: &str) -> u64 {
    r.events
        .iter()
        .find(|(n, _)| *n == name)
        .map(|x| x.1)
        .unwrap_or(0)
}

/// The row of docs/rtl.md's LOOP_WS table whose first cell is `gemm` ("64 x 64 x 64, int32 bias", ...):
/// its cycles and its utilization in tenths of a percent.
fn documented_loop_ws(gemm: &str) -> (u64, u64) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rtl.md"))
        .expect("docs/rtl.md");
    let row = doc
        .lines()
        .find(|l| l.starts_with(&format!("| {gemm} |")))
        .unwrap_or_else(|| panic!("docs/rtl.md has no LOOP_WS row `{gemm}`"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | gemm | tiles | loops | cycles | utilization ... |
    let cycles: u64 = cells[4]
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("cycles cell of {row}"));
    let pct = cells[5].split('%').next().unwrap_or("");
    let (whole, tenth) = pct.split_once('.').unwrap_or((pct, "0"));
    let tenths = whole.parse::<u64>().ok().zip(tenth.parse::<u64>().ok());
    let (w, t) = tenths.unwrap_or_else(|| panic!("utilization cell of {row}"));
    (cycles, w * 10 + t)
}

/// The measured cycles equal the documented ones within 0.1%, and the utilization rounds to the
/// documented figure: the table in docs/rtl.md is what the RTL does.
fn assert_documented(gemm: &str, g: &Gemm, cycles: u64) {
    let (doc_cycles, doc_tenths) = documented_loop_ws(gemm);
    let tenths = (1000.0 * utilization(g, cycles)).round() as u64;
    println!(
        "LOOP_WS {gemm}: {cycles} cycles, utilization {:.1}% (docs/rtl.md: {doc_cycles}, {}.{}%)",
        100.0 * utilization(g, cycles),
        doc_tenths / 10,
        doc_tenths % 10
    );
    assert!(
        cycles.abs_diff(doc_cycles) * 1000 <= doc_cycles && tenths == doc_tenths,
        "LOOP_WS {gemm}: measured {cycles} cycles ({tenths} tenths of a percent), docs/rtl.md says \
         {doc_cycles} ({doc_tenths}): update the table or find the regression"
    );
}

#[test]
fn loop_ws_64_cubed_matches_reference() {
    let g = gemm(64, 64, 64, true, (4, 4, 4), 11);
    for mut acc in engines() {
        let (c, r) = run_gemm(acc.as_mut(), &g, &[]);
        assert_eq!(c, g.expected, "{}: C", acc.engine());
        if acc.engine() == "rtl" {
            // A single loop cannot hide its loads (24 KiB at 16 B/cycle: 1536 cycles, against 1024 cycles of
            // compute) nor its stores; docs/rtl.md documents the number.
            assert_documented("64 x 64 x 64, int32 bias", &g, r.cycles);
            // the FSM throttles itself: the reservation station never refuses a command
            assert_eq!(event_total(&r, "reservation_station_full_cycles"), 0);
        }
    }
}

#[test]
fn loop_ws_256_cubed_reaches_high_utilization() {
    // the tiles tiled_matmul_auto picks for 256^3 (5 x 6 x 16 blocks): 24 loops, double-buffered
    let g = gemm(256, 256, 256, false, (5, 6, 16), 16);
    let mut acc = rtl();
    let (c, r) = run_gemm(acc.as_mut(), &g, &[]);
    assert_eq!(c, g.expected);
    assert_documented("256 x 256 x 256", &g, r.cycles);
    assert_eq!(event_total(&r, "reservation_station_full_cycles"), 0);
}

#[test]
fn loop_ws_edges_and_k_tiles_match_reference() {
    // odd sizes (edge tiles in every dimension) and several K tiles (C = NULL until the last one)
    let g = gemm(50, 37, 90, true, (2, 2, 2), 12);
    for mut acc in engines() {
        let (c, r) = run_gemm(acc.as_mut(), &g, &[]);
        assert_eq!(c, g.expected, "{}: C", acc.engine());
        if acc.engine() == "rtl" {
            assert_eq!(event_total(&r, "reservation_station_full_cycles"), 0);
        }
    }
}

#[test]
fn loop_ws_back_to_back_loops_overlap() {
    // 128 x 64 x 64 as two loops (two row tiles): the second loop's loads run under the first's execute
    let one = gemm(64, 64, 64, false, (4, 4, 4), 13);
    let two = gemm(128, 64, 64, false, (4, 4, 4), 13);
    let mut rtl_acc = rtl();
    let (c1, r1) = run_gemm(rtl_acc.as_mut(), &one, &[]);
    assert_eq!(c1, one.expected);
    let mut rtl_acc = rtl();
    let (c2, r2) = run_gemm(rtl_acc.as_mut(), &two, &[]);
    assert_eq!(c2, two.expected);
    println!(
        "one loop {} cycles, two loops {} cycles",
        r1.cycles, r2.cycles
    );
    assert!(
        (r2.cycles as f64) < 1.7 * r1.cycles as f64,
        "two loops {} vs one {}: no overlap",
        r2.cycles,
        r1.cycles
    );
}

#[test]
fn loop_ws_ordinary_commands_after_a_loop_wait_for_it() {
    // Right after LOOP_WS: overwrite A's and B's scratchpad rows with zeros and the accumulator with
    // zeros. Held back until the loop has issued every command, they cannot change its result.
    let g = gemm(64, 64, 64, true, (4, 4, 4), 14);
    let mut extra = Vec::new();
    for t in 0..16u32 {
        extra.push(mvin(0, 0, LocalAddr::sp(t * 16), d16() * 4, d16()).encode());
        extra.push(mvin(1, 0, LocalAddr::sp(8192 - 256 + t * 16), d16(), d16()).encode());
        extra.push(mvin(2, 0, LocalAddr::acc(t * 16), d16(), d16()).encode());
    }
    for mut acc in engines() {
        let (c, _) = run_gemm(acc.as_mut(), &g, &extra);
        assert_eq!(c, g.expected, "{}: C", acc.engine());
        assert_eq!(acc.sp_i8(0), vec![0; dim()]);
        assert_eq!(acc.read_acc_row(0), vec![0; dim()]);
    }
}

#[test]
fn loop_ws_fills_but_never_exceeds_the_reservation_station_queues() {
    // Sample the reservation-station occupancy every cycle while two loops run (dbg_state_o, docs section 5).
    let c = cfg();
    let g = gemm(128, 64, 128, true, (4, 4, 8), 17);
    let mut acc = RtlAccel::new(&c).expect("RTL model");
    let mut mem = g.mem.clone();
    let (mut next, mut max) = (0usize, [0u64; 3]);
    for _ in 0..200_000 {
        if next < g.cmds.len() {
            if acc.offer(g.cmds[next], 0, &mut mem).expect("accepted") {
                next += 1;
            }
        } else if !acc.busy() {
            break;
        }
        acc.tick(&mut mem).expect("tick");
        let s = acc.dbg_state();
        for (q, m) in max.iter_mut().enumerate() {
            *m = (*m).max((s >> (12 + 8 * q)) & 0xff);
        }
    }
    assert!(next == g.cmds.len() && !acc.busy(), "the loops finished");
    let rs = &c.reservation_station;
    println!(
        "largest ld/ex/st occupancy {max:?} of {}/{}/{}",
        rs.ld, rs.ex, rs.st
    );
    // the loads and the execute commands run ahead up to the queue sizes, never past them
    assert_eq!((max[0], max[1]), (rs.ld as u64, rs.ex as u64));
    assert!((1..=rs.st as u64).contains(&max[2]));
    let mut out = vec![0u8; g.m * g.n];
    mem.read(g.c_addr, &mut out).expect("C");
    assert_eq!(
        out.into_iter().map(|x| x as i8).collect::<Vec<_>>(),
        g.expected
    );
}

/// The utilization on a large GEMM, 512^3 in the tiles `tiled_matmul_auto` picks for the default
/// configuration (5 x 6 x 32 blocks), asserted against docs/rtl.md like the others (half a million
/// simulated cycles: about a second).
#[test]
fn loop_ws_512_cubed_utilization() {
    let g = gemm(512, 512, 512, false, (5, 6, 32), 15);
    let mut acc = rtl();
    let (c, r) = run_gemm(acc.as_mut(), &g, &[]);
    assert_eq!(c, g.expected);
    assert_documented("512 x 512 x 512", &g, r.cycles);
    println!(
        "LOOP_WS 512^3 (tiles 5x6x32): {} cycles, utilization {:.1}%, events {:?}",
        r.cycles,
        100.0 * utilization(&g, r.cycles),
        r.events.iter().filter(|e| e.1 != 0).collect::<Vec<_>>()
    );
}

#[test]
fn loop_conv_throttles_itself_and_matches_spec() {
    // The first loop of a random legal LOOP_CONV_WS stream (config_ex, config_st, funct 16-21, 15), issued
    // three times back to back (both slots, both accumulator halves): equal results, and the unit never offers
    // the reservation station a command it has no room for. (Between loops of a generated stream, the CPU's
    // own config commands may find a queue full: that is not the unit's doing.)
    for seed in 0..12 {
        let cfg = HwConfig::default_config();
        let case = crate::gen::loop_conv_stream(&cfg, 77_000 + seed);
        assert_eq!(
            case.cmds[8].funct, 15,
            "seed {seed}: the first loop's layout"
        );
        let mut cmds = case.cmds[..9].to_vec();
        for _ in 0..2 {
            cmds.extend_from_slice(&case.cmds[2..9]);
        }
        let mut outs = Vec::new();
        for mut acc in engines() {
            let mut mem = case.mem.clone();
            let r = run_stream(acc.as_mut(), &mut mem, &cmds, &HarnessOpts::default())
                .unwrap_or_else(|e| panic!("seed {seed} {}: {e}", acc.engine()));
            if acc.engine() == "rtl" {
                assert_eq!(
                    event_total(&r, "reservation_station_full_cycles"),
                    0,
                    "seed {seed}"
                );
            }
            let mut out = vec![0u8; case.out_region.1 as usize];
            mem.read(case.out_region.0, &mut out)
                .expect("output region");
            outs.push(out);
        }
        assert!(outs.windows(2).all(|w| w[0] == w[1]), "seed {seed}");
    }
}
