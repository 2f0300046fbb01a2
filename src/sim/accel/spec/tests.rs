//! Unit tests of the functional model: each command's semantics against the documented formulas, every
//! error kind, and random tiles against a reference matmul.

use super::*;
use crate::sim::accel::arith;
use crate::sim::isa::{Funct, ACT_NONE};
use crate::sim::mem::DEFAULT_BASE;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HALF: u32 = 0x3f00_0000;
const TWO: u32 = 0x4000_0000;
const G: LocalAddr = LocalAddr::GARBAGE;

/// One accelerator and its main memory.
struct Bench {
    acc: SpecAccel,
    mem: Memory,
    dim: usize,
}

impl Bench {
    fn new() -> Bench {
        Bench::with(&HwConfig::default_config())
    }
    fn with(cfg: &HwConfig) -> Bench {
        Bench {
            acc: SpecAccel::new(cfg),
            mem: Memory::new(DEFAULT_BASE, 1 << 22),
            dim: cfg.dim() as usize,
        }
    }
    fn d16(&self) -> u16 {
        self.dim as u16
    }
    fn ok(&mut self, c: Command) {
        let r = self.acc.offer(c.encode(), 3, &mut self.mem);
        assert_eq!(r, Ok(true), "{c:?}");
    }
    fn err(&mut self, c: Command) -> AccelError {
        match self.acc.offer(c.encode(), 3, &mut self.mem) {
            Err(e) => e,
            Ok(x) => panic!("{c:?} was not refused (returned {x})"),
        }
    }
    fn config_ld(&mut self, state: u8, stride: u64, f: impl FnOnce(&mut ConfigLd)) {
        let mut ld = ConfigLd::new(state, stride, self.d16());
        f(&mut ld);
        self.ok(Command::ConfigLd(ld));
    }
    fn config_st(&mut self, stride: u32, f: impl FnOnce(&mut ConfigSt)) {
        let mut st = ConfigSt::new(stride);
        f(&mut st);
        self.ok(Command::ConfigSt(st));
    }
    fn config_ex(&mut self, f: impl FnOnce(&mut ConfigEx)) {
        let mut ex = ConfigEx::default();
        f(&mut ex);
        self.ok(Command::ConfigEx(ex));
    }
    fn mvin(&mut self, state: u8, dram: u64, addr: LocalAddr, cols: u16, rows: u16) {
        self.ok(Command::Mvin {
            state,
            dram,
            op: Operand::new(addr, cols, rows),
        });
    }
    fn mvout(&mut self, dram: u64, addr: LocalAddr, cols: u16, rows: u16) {
        self.ok(Command::Mvout {
            dram,
            op: Operand::new(addr, cols, rows),
        });
    }
    fn preload(&mut self, bd: Operand, c: Operand) {
        self.ok(Command::Preload { bd, c });
    }
    fn compute(&mut self, flip: bool, a: Operand, bd: Operand) {
        self.ok(Command::Compute { flip, a, bd });
    }
    fn write_i8(&mut self, addr: u64, v: &[i8]) {
        let b: Vec<u8> = v.iter().map(|&x| x as u8).collect();
        self.mem.write(addr, &b).unwrap();
    }
    fn read_bytes(&self, addr: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.mem.read(addr, &mut b).unwrap();
        b
    }
    fn read_i8(&self, addr: u64, n: usize) -> Vec<i8> {
        self.read_bytes(addr, n)
            .into_iter()
            .map(|b| b as i8)
            .collect()
    }
    fn read_i32(&self, addr: u64, n: usize) -> Vec<i32> {
        self.read_bytes(addr, 4 * n)
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
    /// Puts a rows x cols int8 matrix (row-major) into the scratchpad at `row` through DRAM, one
    /// local row per matrix row (cols <= DIM).
    fn put_sp(&mut self, row: u32, m: &[Vec<i8>]) {
        let cols = m[0].len();
        let dram = DEFAULT_BASE + 0x30_0000;
        for (r, v) in m.iter().enumerate() {
            self.write_i8(dram + (r * cols) as u64, v);
        }
        self.config_ld(0, cols as u64, |_| {});
        for (i, chunk) in (0..m.len())
            .collect::<Vec<_>>()
            .chunks(self.dim)
            .enumerate()
        {
            let r0 = i * self.dim;
            self.mvin(
                0,
                dram + (r0 * cols) as u64,
                LocalAddr::sp(row + r0 as u32),
                cols as u16,
                chunk.len() as u16,
            );
        }
    }
    fn acc_row(&mut self, row: u32) -> Vec<i32> {
        self.acc.read_acc_row(row)
    }
    fn sp_row(&mut self, row: u32) -> Vec<i8> {
        self.acc.read_sp_row(row).iter().map(|&v| v as i8).collect()
    }
}

fn random_mat(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<Vec<i8>> {
    (0..rows)
        .map(|_| (0..cols).map(|_| rng.gen::<i8>()).collect())
        .collect()
}

/// Embeds a rows x cols block into a DIM x DIM i64 matrix (zeros elsewhere).
fn full(m: &[Vec<i8>], dim: usize) -> Vec<Vec<i64>> {
    let mut f = vec![vec![0i64; dim]; dim];
    for (i, row) in m.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            f[i][j] = v as i64;
        }
    }
    f
}

fn transpose(m: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let n = m.len();
    (0..n).map(|i| (0..n).map(|j| m[j][i]).collect()).collect()
}

/// Naive reference: A*B + D in i64.
fn ref_mm(a: &[Vec<i64>], b: &[Vec<i64>], d: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let n = a.len();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| d[i][j] + (0..n).map(|k| a[i][k] * b[k][j]).sum::<i64>())
                .collect()
        })
        .collect()
}

fn zeros(dim: usize) -> Vec<Vec<i64>> {
    vec![vec![0; dim]; dim]
}

/// An operand's logical matrix straight from the definition of docs section 3, embedded in DIM x
/// DIM: `stored[i]` is stored row i (local row `row + i*step`, already resolved by the caller
/// through `step`), and for r < rows, c < cols, `M[r][c]` is element c of stored row r, or element
/// r of stored row c when transposed.
fn doc_operand(
    stored: &[Vec<i8>],
    step: usize,
    rows: usize,
    cols: usize,
    transposed: bool,
    dim: usize,
) -> Vec<Vec<i64>> {
    let mut m = zeros(dim);
    for r in 0..rows {
        for c in 0..cols {
            m[r][c] = if transposed {
                stored[c * step][r]
            } else {
                stored[r * step][c]
            } as i64;
        }
    }
    m
}

fn op(addr: LocalAddr, cols: u16, rows: u16) -> Operand {
    Operand::new(addr, cols, rows)
}

// ----- data movement -------------------------------------------------------------------------

#[test]
fn mvin_blocks_land_block_stride_apart_and_mask_columns() {
    let mut t = Bench::new();
    let dram = DEFAULT_BASE + 0x1000;
    let stride = 100u64;
    // Row r, element e = (r * 64 + e) mod 256 as int8.
    for r in 0..4u64 {
        let row: Vec<i8> = (0..64).map(|e| ((r * 64 + e) % 256) as u8 as i8).collect();
        t.write_i8(dram + r * stride, &row);
    }
    // A marker in the rows the mvin touches, to see which columns are left alone.
    t.config_ld(1, 0, |_| {});
    t.write_i8(DEFAULT_BASE, &[77; 16]);
    for row in 0..200 {
        t.mvin(1, DEFAULT_BASE, LocalAddr::sp(row), 16, 1);
    }
    t.config_ld(0, stride, |ld| ld.block_stride = 20);
    t.mvin(0, dram, LocalAddr::sp(10), 40, 4); // blocks of 16, 16, 8 columns
    for r in 0..4usize {
        for b in 0..3usize {
            let got = t.sp_row((10 + r + b * 20) as u32);
            let n = if b == 2 { 8 } else { 16 };
            for c in 0..16 {
                let want = if c < n {
                    ((r * 64 + b * 16 + c) % 256) as u8 as i8
                } else {
                    77
                };
                assert_eq!(got[c], want, "r={r} b={b} c={c}");
            }
        }
    }
    assert_eq!(t.sp_row(14), vec![77; 16]);
}

#[test]
fn mvin_mvout_round_trip_with_strides_and_blocks() {
    let mut t = Bench::new();
    let src = DEFAULT_BASE + 0x2000;
    let dst = DEFAULT_BASE + 0x8000;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let m = random_mat(&mut rng, 16, 64);
    for (r, row) in m.iter().enumerate() {
        t.write_i8(src + r as u64 * 72, row);
    }
    // block_stride DIM matches mvout's fixed block stride, so the round trip is the identity.
    t.config_ld(0, 72, |_| {});
    t.mvin(0, src, LocalAddr::sp(100), 64, 16);
    t.config_st(80, |_| {});
    t.mvout(dst, LocalAddr::sp(100), 64, 16);
    for (r, row) in m.iter().enumerate() {
        assert_eq!(t.read_i8(dst + r as u64 * 80, 64), *row, "row {r}");
        // Bytes between DRAM rows are untouched.
        assert_eq!(t.read_i8(dst + r as u64 * 80 + 64, 16), vec![0; 16]);
    }
    // A partial mvout: 5 rows of 20 columns (blocks of 16 and 4).
    let dst2 = DEFAULT_BASE + 0xa000;
    t.config_st(32, |_| {});
    t.mvout(dst2, LocalAddr::sp(100), 20, 5);
    for (r, row) in m.iter().take(5).enumerate() {
        assert_eq!(t.read_i8(dst2 + r as u64 * 32, 20), row[..20].to_vec());
        assert_eq!(t.read_i8(dst2 + r as u64 * 32 + 20, 12), vec![0; 12]);
    }
}

#[test]
fn mvin_zeros_and_stride_zero_replicates() {
    let mut t = Bench::new();
    let dram = DEFAULT_BASE + 0x100;
    let row: Vec<i8> = (1..=32).collect();
    t.write_i8(dram, &row);
    t.write_i8(dram + 32, &[-1; 32]); // must never be read with stride 0
    t.config_ld(2, 0, |_| {});
    t.mvin(2, dram, LocalAddr::sp(0), 32, 6);
    for r in 0..6 {
        assert_eq!(t.sp_row(r), row[..16].to_vec());
        assert_eq!(t.sp_row(16 + r), row[16..].to_vec());
    }
    assert_eq!(t.sp_row(6), vec![0; 16]);
    // dram == 0 writes zeros over 3 rows x 20 columns; the rest of each row is kept.
    t.mvin(2, 0, LocalAddr::sp(0), 20, 3);
    for r in 0..3 {
        assert_eq!(t.sp_row(r), vec![0; 16]);
        let mut want = row[16..].to_vec();
        want[..4].fill(0);
        assert_eq!(t.sp_row(16 + r), want);
    }
    assert_eq!(t.sp_row(3), row[..16].to_vec());
    // Zeros into the accumulator with the accumulate bit add nothing; without it they overwrite.
    t.mvin(1, dram, LocalAddr::acc(0), 16, 1); // state 1: int32 data (4 words from 16 bytes x 4)
    let before = t.acc_row(0);
    assert_ne!(before, vec![0; 16]);
    t.mvin(1, 0, LocalAddr::acc_accumulate(0), 16, 1);
    assert_eq!(t.acc_row(0), before);
    t.mvin(1, 0, LocalAddr::acc(0), 16, 1);
    assert_eq!(t.acc_row(0), vec![0; 16]);
}

#[test]
fn mvin_scale_rounds_half_to_even_and_saturates() {
    let mut t = Bench::new();
    let dram = DEFAULT_BASE + 0x100;
    let x: Vec<i8> = vec![5, 7, -5, -7, 127, -128, 1, 3, -1, -3, 0, 2, 4, 6, 9, 11];
    t.write_i8(dram, &x);
    t.config_ld(0, 16, |ld| ld.scale = HALF);
    t.mvin(0, dram, LocalAddr::sp(0), 16, 1);
    // x/2: 2.5 3.5 -2.5 -3.5 63.5 -64 0.5 1.5 -0.5 -1.5 0 1 2 3 4.5 5.5
    assert_eq!(
        t.sp_row(0),
        vec![2, 4, -2, -4, 64, -64, 0, 2, 0, -2, 0, 1, 2, 3, 4, 6]
    );
    t.config_ld(0, 16, |ld| ld.scale = TWO);
    t.mvin(0, dram, LocalAddr::sp(1), 16, 1);
    assert_eq!(
        t.sp_row(1),
        vec![10, 14, -10, -14, 127, -128, 2, 6, -2, -6, 0, 4, 8, 12, 18, 22]
    );
    t.config_ld(0, 16, |ld| ld.scale = 0x7fc0_0000); // NaN
    t.mvin(0, dram, LocalAddr::sp(2), 16, 1);
    assert_eq!(t.sp_row(2), vec![0; 16]);
}

#[test]
fn shrink_into_acc_with_accumulate_and_int32_wrapping() {
    let mut t = Bench::new();
    let dram = DEFAULT_BASE + 0x100;
    let x: Vec<i8> = (0..16).map(|i| (i as i8 - 8) * 9).collect();
    t.write_i8(dram, &x);
    t.config_ld(2, 16, |ld| {
        ld.shrink = true;
        ld.scale = TWO;
    });
    // Shrunk int8 data may be up to DIM*MBL columns wide: 32 columns = 2 blocks, block stride DIM.
    t.write_i8(dram + 16, &x);
    t.mvin(2, dram, LocalAddr::acc(5), 32, 1);
    let want: Vec<i32> = x
        .iter()
        .map(|&v| arith::sat_i8(v as i32 * 2) as i32)
        .collect();
    assert_eq!(t.acc_row(5), want);
    assert_eq!(t.acc_row(21), want);
    t.mvin(2, dram, LocalAddr::acc_accumulate(5), 16, 1);
    let twice: Vec<i32> = want.iter().map(|v| v * 2).collect();
    assert_eq!(t.acc_row(5), twice);
    assert!(
        t.acc_row(5).iter().any(|&v| v < 0),
        "sign extension exercised"
    );
    // int32 data (shrink = 0): 4-byte elements, not scaled, wrapping accumulation.
    let words: Vec<i32> = (0..16)
        .map(|i| if i == 0 { i32::MAX } else { -1000 * i })
        .collect();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    t.mem.write(dram + 0x100, &bytes).unwrap();
    t.config_ld(1, 64, |ld| ld.scale = HALF); // scale must not apply to int32 data
    t.mvin(1, dram + 0x100, LocalAddr::acc(7), 16, 1);
    assert_eq!(t.acc_row(7), words);
    t.write_i8(dram + 0x200, &[0; 64]);
    t.mem.write(dram + 0x200, &1i32.to_le_bytes()).unwrap();
    t.mvin(1, dram + 0x200, LocalAddr::acc_accumulate(7), 1, 1);
    let mut want7 = words.clone();
    want7[0] = i32::MIN;
    assert_eq!(t.acc_row(7), want7);
}

#[test]
fn acc_mvout_relu_scale_and_read_full() {
    let mut t = Bench::new();
    let words: Vec<i32> = vec![
        -300,
        -1,
        0,
        1,
        5,
        7,
        -5,
        -7,
        300,
        254,
        255,
        256,
        1 << 30,
        i32::MIN,
        3,
        9,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let dram = DEFAULT_BASE + 0x100;
    t.mem.write(dram, &bytes).unwrap();
    t.config_ld(0, 64, |_| {});
    t.mvin(0, dram, LocalAddr::acc(3), 16, 1);
    let out = DEFAULT_BASE + 0x1000;
    t.config_st(16, |st| {
        st.act = ACT_RELU;
        st.acc_scale = HALF;
    });
    t.mvout(out, LocalAddr::acc(3), 16, 1);
    // relu then x/2 rounded half to even, clipped to int8.
    assert_eq!(
        t.read_i8(out, 16),
        vec![0, 0, 0, 0, 2, 4, 0, 0, 127, 127, 127, 127, 127, 0, 2, 4]
    );
    // acc_scale 0xFFFFFFFF keeps 0.5; act 0 keeps negative values.
    t.config_st(16, |st| st.acc_scale = ConfigSt::SCALE_UNCHANGED);
    t.mvout(out, LocalAddr::acc(3), 16, 1);
    assert_eq!(
        t.read_i8(out, 16),
        vec![-128, 0, 0, 0, 2, 4, -2, -4, 127, 127, 127, 127, 127, -128, 2, 4]
    );
    // read_full: raw int32, no activation or scale.
    t.config_st(64, |st| st.act = ACT_RELU);
    t.mvout(out, LocalAddr::acc_full(3), 16, 1);
    assert_eq!(t.read_i32(out, 16), words);
    t.mvout(out + 0x100, LocalAddr::acc_full(3), 5, 1);
    assert_eq!(t.read_i32(out + 0x100, 6), vec![-300, -1, 0, 1, 5, 0]);
}

#[test]
fn max_pooling_4x4_with_padding() {
    // A 4x4 image, one pixel (2 channels) per scratchpad row; 3x3 windows, stride 2, padding 1
    // up and left: a 2x2 output.
    let mut t = Bench::new();
    let img: Vec<Vec<i8>> = (0..16)
        .map(|p| {
            let v = (p as i8 - 10) * 3;
            vec![v, -v - 1]
        })
        .collect();
    t.put_sp(40, &img);
    let out = DEFAULT_BASE + 0x1000;
    let stride = 8u32;
    let mut st = ConfigSt::new(stride);
    st.pool_stride = 2;
    st.pool_size = 3;
    st.upad = 1;
    st.lpad = 1;
    st.pool_out_dim = 2;
    st.porows = 2;
    st.pocols = 2;
    st.orows = 4;
    st.ocols = 4;
    t.ok(Command::ConfigSt(st));
    // rows is not used with pooling (0 is legal).
    t.mvout(out, LocalAddr::sp(40), 2, 0);
    // Reference: explicit window walk, padding contributes zeros.
    let mut want = Vec::new();
    for pr in 0..2i64 {
        for pc in 0..2i64 {
            let mut m = [i8::MIN; 2];
            for wr in 0..3 {
                for wc in 0..3 {
                    let (orow, ocol) = (pr * 2 + wr - 1, pc * 2 + wc - 1);
                    for ch in 0..2 {
                        let v = if (0..4).contains(&orow) && (0..4).contains(&ocol) {
                            img[(orow * 4 + ocol) as usize][ch]
                        } else {
                            0
                        };
                        m[ch] = m[ch].max(v);
                    }
                }
            }
            want.push(m);
        }
    }
    // Hand check of two pixels: (0,0) covers pixels 0,1,4,5 plus padding: channel 0 values
    // -30,-27,-18,-15 and padding 0 -> 0; channel 1 29,26,17,14 -> 29.
    assert_eq!(want[0], [0, 29]);
    // (1,1) covers rows 1-3, cols 1-3: channel 0 max at pixel 15 = 15; channel 1 max at pixel 5 = 14.
    assert_eq!(want[3], [15, 14]);
    for (i, w) in want.iter().enumerate() {
        let (pr, pc) = (i as u64 / 2, i as u64 % 2);
        assert_eq!(
            t.read_i8(out + (pr * 2 + pc) * stride as u64, 2),
            w.to_vec(),
            "pixel {i}"
        );
    }
    // Bytes beyond cols are not written.
    assert_eq!(t.read_i8(out + 2, 6), vec![0; 6]);

    // From the accumulator: rows converted (ReLU, scale) before pooling.
    let mut t2 = Bench::new();
    let words: Vec<i32> = (0..16).map(|p| (p - 8) * 100).collect();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    t2.mem.write(DEFAULT_BASE, &bytes).unwrap();
    t2.config_ld(0, 4, |_| {});
    t2.mvin(0, DEFAULT_BASE, LocalAddr::acc(0), 1, 16);
    let mut st2 = st;
    st2.upad = 0;
    st2.lpad = 0;
    st2.pool_size = 2;
    st2.act = ACT_RELU;
    st2.acc_scale = 0x3dcc_cccd; // 0.1
    t2.ok(Command::ConfigSt(st2));
    t2.mvout(out, LocalAddr::acc(0), 1, 1);
    // Windows: {0,1,4,5} max -300 -> relu 0; {2,3,6,7} -> 0; {8,9,12,13} max 500 -> 50;
    // {10,11,14,15} max 700 -> 70.
    let got: Vec<i8> = (0..4)
        .map(|i| t2.read_i8(out + i * stride as u64, 1)[0])
        .collect();
    assert_eq!(got, vec![0, 0, 50, 70]);
}

// ----- execute ---------------------------------------------------------------------------------

#[test]
fn ws_matmul_matches_reference() {
    let mut t = Bench::new();
    let dim = t.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = random_mat(&mut rng, 16, 16);
    let b = random_mat(&mut rng, 16, 16);
    let d = random_mat(&mut rng, 16, 16);
    let a2 = random_mat(&mut rng, 16, 16);
    t.put_sp(0, &a);
    t.put_sp(16, &b);
    t.put_sp(32, &d);
    t.put_sp(48, &a2);
    let (fa, fb, fd, fa2) = (full(&a, dim), full(&b, dim), full(&d, dim), full(&a2, dim));
    let o = ref_mm(&fa, &fb, &fd);

    // C into the accumulator (overwrite), with D bias.
    t.preload(op(LocalAddr::sp(16), 16, 16), op(LocalAddr::acc(0), 16, 16));
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(32), 16, 16),
    );
    for i in 0..16 {
        let want: Vec<i32> = o[i].iter().map(|&v| v as i32).collect();
        assert_eq!(t.acc_row(i as u32), want, "row {i}");
    }
    // Accumulate into the same rows: 2 * O.
    t.preload(
        op(LocalAddr::sp(16), 16, 16),
        op(LocalAddr::acc_accumulate(0), 16, 16),
    );
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(32), 16, 16),
    );
    for i in 0..16 {
        let want: Vec<i32> = o[i].iter().map(|&v| 2 * v as i32).collect();
        assert_eq!(t.acc_row(i as u32), want, "row {i}");
    }
    // Weight reuse: preload garbage (Wp = 0) then compute_accumulated keeps W = B; D garbage.
    t.preload(op(G, 16, 16), op(LocalAddr::acc(100), 16, 16));
    t.compute(false, op(LocalAddr::sp(48), 16, 16), op(G, 16, 16));
    let o2 = ref_mm(&fa2, &fb, &zeros(dim));
    for i in 0..16 {
        let want: Vec<i32> = o2[i].iter().map(|&v| v as i32).collect();
        assert_eq!(t.acc_row(100 + i as u32), want, "row {i}");
    }
    // ... and a following compute_preloaded flips in the garbage preload's zeros: O = D only.
    t.preload(op(G, 16, 16), op(LocalAddr::acc(200), 16, 16));
    t.compute(
        true,
        op(LocalAddr::sp(48), 16, 16),
        op(LocalAddr::sp(32), 16, 16),
    );
    for i in 0..16 {
        let want: Vec<i32> = d[i].iter().map(|&v| v as i32).collect();
        assert_eq!(t.acc_row(200 + i as u32), want, "row {i}");
    }
    // C to the scratchpad: saturated to int8, then ReLU (act = 1).
    t.config_ex(|ex| ex.act = ACT_RELU);
    t.preload(
        op(LocalAddr::sp(16), 16, 16),
        op(LocalAddr::sp(1000), 16, 16),
    );
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(32), 16, 16),
    );
    for i in 0..16 {
        let want: Vec<i8> = o[i]
            .iter()
            .map(|&v| v.clamp(-128, 127).max(0) as i8)
            .collect();
        assert_eq!(t.sp_row(1000 + i as u32), want, "row {i}");
    }
    assert!(o.iter().flatten().any(|&v| v > 127) && o.iter().flatten().any(|&v| v < -128));
    // Without ReLU negative values saturate to -128.
    t.config_ex(|ex| ex.act = ACT_NONE);
    t.preload(
        op(LocalAddr::sp(16), 16, 16),
        op(LocalAddr::sp(1100), 16, 16),
    );
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(32), 16, 16),
    );
    for i in 0..16 {
        let want: Vec<i8> = o[i].iter().map(|&v| v.clamp(-128, 127) as i8).collect();
        assert_eq!(t.sp_row(1100 + i as u32), want, "row {i}");
    }
}

#[test]
fn ws_partial_operands_strides_and_masking() {
    let mut t = Bench::new();
    let dim = t.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // A is 5 x 7, stored every 3rd row; B is 7 x 9; D is 5 x 16 but only 4 rows given.
    let a_rows = random_mat(&mut rng, 13, 16);
    let b = random_mat(&mut rng, 16, 16);
    let d = random_mat(&mut rng, 16, 16);
    t.put_sp(0, &a_rows);
    t.put_sp(32, &b);
    t.put_sp(64, &d);
    t.config_ex(|ex| {
        ex.a_stride = 3;
        ex.c_stride = 2;
    });
    // Pre-fill the C area to see which accumulator entries are written.
    for r in 0..12 {
        t.mvin(0, 0, LocalAddr::acc(r), 16, 1);
    }
    let fill: Vec<i8> = vec![9; 16];
    t.write_i8(DEFAULT_BASE + 0x200, &fill);
    t.config_ld(2, 0, |ld| ld.shrink = true);
    t.mvin(2, DEFAULT_BASE + 0x200, LocalAddr::acc(0), 16, 12);
    t.preload(op(LocalAddr::sp(32), 9, 7), op(LocalAddr::acc(0), 6, 4));
    t.compute(
        true,
        op(LocalAddr::sp(0), 7, 5),
        op(LocalAddr::sp(64), 16, 4),
    );
    let mut fa = zeros(dim);
    for i in 0..5 {
        for k in 0..7 {
            fa[i][k] = a_rows[i * 3][k] as i64;
        }
    }
    let mut fb = zeros(dim);
    for k in 0..7 {
        for j in 0..9 {
            fb[k][j] = b[k][j] as i64;
        }
    }
    let mut fd = zeros(dim);
    for i in 0..4 {
        for j in 0..16 {
            fd[i][j] = d[i][j] as i64;
        }
    }
    let o = ref_mm(&fa, &fb, &fd);
    for r in 0..12u32 {
        let got = t.acc_row(r);
        for j in 0..16 {
            let want = if r % 2 == 0 && r / 2 < 4 && j < 6 {
                o[r as usize / 2][j] as i32
            } else {
                9
            };
            assert_eq!(got[j], want, "acc row {r} col {j}");
        }
    }
    // Rows 4.. of O = D rows (zero) + A rows: row 4 of A is real, so O[4] must not be written.
    assert_ne!(o[4][0], 9);
}

#[test]
fn os_matmul_with_in_shift_rounding_and_chains() {
    let mut t = Bench::new();
    let dim = t.dim;
    // Ties: D = 2, 6, 10, -2, -6, -10 with in_shift 2 -> 0.5, 1.5, 2.5, ... -> 0, 2, 2, 0, -2, -2.
    let d: Vec<Vec<i8>> = vec![vec![
        2, 6, 10, -2, -6, -10, 7, -7, 9, 11, 0, 1, 3, 5, 13, 127,
    ]];
    t.put_sp(0, &d);
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.in_shift = 2;
    });
    t.preload(op(LocalAddr::sp(0), 16, 1), op(LocalAddr::acc(0), 16, 1));
    t.compute(true, op(G, 16, 16), op(G, 16, 16));
    assert_eq!(
        t.acc_row(0),
        vec![0, 2, 2, 0, -2, -2, 2, -2, 2, 3, 0, 0, 1, 1, 3, 32],
        "7/4=1.75->2, 9/4=2.25->2, 11/4=2.75->3, 1/4->0, 3/4->1, 5/4=1.25->1, 13/4->3, 127/4->32"
    );

    // A chain: D + A1*B1 + A2*B2 + A3*B3, only the last preload names C.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mats: Vec<Vec<Vec<i8>>> = (0..7).map(|_| random_mat(&mut rng, 16, 16)).collect();
    for (i, m) in mats.iter().enumerate() {
        t.put_sp(16 * (i as u32 + 1), m);
    }
    let sp = |i: u32| op(LocalAddr::sp(16 * (i + 1)), 16, 16);
    let shift = 5;
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.in_shift = shift;
    });
    t.preload(sp(0), op(G, 16, 16));
    t.compute(true, sp(1), sp(2));
    t.preload(op(G, 16, 16), op(G, 16, 16));
    t.compute(false, sp(3), sp(4));
    t.preload(op(G, 16, 16), op(LocalAddr::acc(32), 16, 16));
    t.compute(false, sp(5), sp(6));
    let f: Vec<_> = mats.iter().map(|m| full(m, dim)).collect();
    let acc = ref_mm(
        &f[5],
        &f[6],
        &ref_mm(&f[3], &f[4], &ref_mm(&f[1], &f[2], &f[0])),
    );
    for i in 0..16 {
        let want: Vec<i32> = acc[i]
            .iter()
            .map(|&v| {
                // Exact rounding of v / 2^shift, half to even, then the 20-bit clip.
                let q = v.div_euclid(1 << shift);
                let r = v.rem_euclid(1 << shift);
                let h = 1 << (shift - 1);
                let q = if r > h || (r == h && q & 1 == 1) {
                    q + 1
                } else {
                    q
                };
                q.clamp(-(1 << 19), (1 << 19) - 1) as i32
            })
            .collect();
        assert_eq!(t.acc_row(32 + i as u32), want, "row {i}");
    }

    // Clip to 20 bits: 127*127*16 = 258064 per compute; three accumulate to 774192 > 2^19 - 1.
    let all: Vec<Vec<i8>> = vec![vec![127; 16]; 16];
    let neg: Vec<Vec<i8>> = vec![vec![-128; 16]; 16];
    t.put_sp(500, &all);
    t.put_sp(516, &neg);
    t.config_ex(|ex| ex.dataflow = DATAFLOW_OS);
    let s = op(LocalAddr::sp(500), 16, 16);
    let n = op(LocalAddr::sp(516), 16, 16);
    t.preload(op(G, 16, 16), op(G, 16, 16));
    t.compute(true, s, s);
    t.preload(op(G, 16, 16), op(G, 16, 16));
    t.compute(false, s, s);
    t.preload(op(G, 16, 16), op(LocalAddr::acc(64), 16, 16));
    t.compute(false, s, s);
    assert_eq!(t.acc_row(64), vec![(1 << 19) - 1; 16]);
    // The deterministic rule: a real C on a preload writes after its compute, even mid-chain.
    t.preload(op(G, 16, 16), op(LocalAddr::acc(65), 16, 1));
    t.compute(true, s, n);
    assert_eq!(t.acc_row(65), vec![16 * 127 * -128; 16]); // -260096, inside 20 bits
    t.preload(op(G, 16, 16), op(G, 16, 16));
    t.compute(false, s, n);
    // Three steps, -780288, saturate to the negative end of the 20-bit range.
    t.preload(op(G, 16, 16), op(LocalAddr::acc(66), 16, 1));
    t.compute(false, s, n);
    assert_eq!(t.acc_row(66), vec![-(1 << 19); 16]);
    // C to the scratchpad: saturate then ReLU.
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.act = ACT_RELU;
    });
    t.preload(op(G, 16, 16), op(LocalAddr::sp(2000), 16, 1));
    t.compute(true, s, n);
    assert_eq!(t.sp_row(2000), vec![0; 16]);
    t.preload(op(G, 16, 16), op(LocalAddr::sp(2001), 16, 1));
    t.compute(true, s, s);
    assert_eq!(t.sp_row(2001), vec![127; 16]);
}

#[test]
fn transposes_in_both_dataflows() {
    let mut t = Bench::new();
    let dim = t.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let s1 = random_mat(&mut rng, 16, 16);
    let s2 = random_mat(&mut rng, 16, 16);
    t.put_sp(0, &s1);
    t.put_sp(16, &s2);
    let (f1, f2) = (full(&s1, dim), full(&s2, dim));
    let to_i32 = |v: &[i64]| v.iter().map(|&x| x as i32).collect::<Vec<i32>>();
    let check = |t: &mut Bench, base: u32, o: &[Vec<i64>]| {
        for i in 0..16 {
            assert_eq!(t.acc_row(base + i as u32), to_i32(&o[i]), "row {i}");
        }
    };
    // WS, B transposed: W = S2^T.
    t.config_ex(|ex| ex.b_transpose = true);
    t.preload(op(LocalAddr::sp(16), 16, 16), op(LocalAddr::acc(0), 16, 16));
    t.compute(true, op(LocalAddr::sp(0), 16, 16), op(G, 16, 16));
    check(&mut t, 0, &ref_mm(&f1, &transpose(&f2), &zeros(dim)));
    // WS, A transposed: A = S1^T.
    t.config_ex(|ex| ex.a_transpose = true);
    t.preload(
        op(LocalAddr::sp(16), 16, 16),
        op(LocalAddr::acc(16), 16, 16),
    );
    t.compute(true, op(LocalAddr::sp(0), 16, 16), op(G, 16, 16));
    check(&mut t, 16, &ref_mm(&transpose(&f1), &f2, &zeros(dim)));
    // OS, A transposed only, and both transposed.
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.a_transpose = true;
    });
    t.preload(op(G, 16, 16), op(LocalAddr::acc(32), 16, 16));
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(16), 16, 16),
    );
    check(&mut t, 32, &ref_mm(&transpose(&f1), &f2, &zeros(dim)));
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.a_transpose = true;
        ex.b_transpose = true;
    });
    t.preload(op(G, 16, 16), op(LocalAddr::acc(48), 16, 16));
    t.compute(
        true,
        op(LocalAddr::sp(0), 16, 16),
        op(LocalAddr::sp(16), 16, 16),
    );
    check(
        &mut t,
        48,
        &ref_mm(&transpose(&f1), &transpose(&f2), &zeros(dim)),
    );

    // Non-square operands pin down the layout. A transposed with rows 3, cols 5: its stored block
    // is 5 rows x 3 columns (a_stride apart) and A[i][k] = stored[k][i].
    t.config_ex(|ex| {
        ex.a_transpose = true;
        ex.a_stride = 2;
    });
    t.preload(
        op(LocalAddr::sp(16), 16, 16),
        op(LocalAddr::acc(64), 16, 16),
    );
    t.compute(true, op(LocalAddr::sp(0), 5, 3), op(G, 16, 16));
    let mut fa = zeros(dim);
    for i in 0..3 {
        for k in 0..5 {
            fa[i][k] = s1[2 * k][i] as i64;
        }
    }
    check(&mut t, 64, &ref_mm(&fa, &f2, &zeros(dim)));
    // WS B transposed with rows 4, cols 6: B is the logical 4 x 6 matrix, read from 6 stored
    // rows, B[r][c] = element r of stored row c; W = B (rows 4.. of W are zero).
    t.config_ex(|ex| ex.b_transpose = true);
    t.preload(op(LocalAddr::sp(16), 6, 4), op(LocalAddr::acc(80), 16, 16));
    t.compute(true, op(LocalAddr::sp(0), 16, 16), op(G, 16, 16));
    let mut fw = zeros(dim);
    for r in 0..4 {
        for c in 0..6 {
            fw[r][c] = s2[c][r] as i64;
        }
    }
    assert_eq!(fw, doc_operand(&s2, 1, 4, 6, true, dim));
    check(&mut t, 80, &ref_mm(&f1, &fw, &zeros(dim)));
    // The same with rows 6, cols 4: 4 stored rows, W[r][c] = element r of stored row c.
    t.preload(op(LocalAddr::sp(16), 4, 6), op(LocalAddr::acc(96), 16, 16));
    t.compute(true, op(LocalAddr::sp(0), 16, 16), op(G, 16, 16));
    let fw = doc_operand(&s2, 1, 6, 4, true, dim);
    assert_eq!(fw[5][3], s2[3][5] as i64);
    assert_eq!(fw[3][5], 0);
    check(&mut t, 96, &ref_mm(&f1, &fw, &zeros(dim)));
    // OS with both transposed, non-square: A rows 5, cols 3 (3 stored rows, a_stride 2); B rows
    // 3, cols 7 (7 stored rows), B[r][c] = element r of stored row c.
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_OS;
        ex.a_transpose = true;
        ex.b_transpose = true;
        ex.a_stride = 2;
    });
    t.preload(op(G, 16, 16), op(LocalAddr::acc(112), 16, 16));
    t.compute(
        true,
        op(LocalAddr::sp(0), 3, 5),
        op(LocalAddr::sp(16), 7, 3),
    );
    let fa = doc_operand(&s1, 2, 5, 3, true, dim);
    let fb = doc_operand(&s2, 1, 3, 7, true, dim);
    assert_eq!(fb[2][6], s2[6][2] as i64);
    assert_eq!(fb[6][2], 0);
    check(&mut t, 112, &ref_mm(&fa, &fb, &zeros(dim)));
}

#[test]
fn random_transposed_non_square_operands_match_the_doc_definition() {
    // Every legal transpose setting of both dataflows, random logical shapes and a_stride, against
    // a reference built from the definition of docs section 3.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut t = Bench::new();
    let dim = t.dim;
    // A's stored rows at sp 0..48 (up to 16 rows, a_stride <= 3), B's at 48..64, D's at 64..80.
    let sa = random_mat(&mut rng, 48, 16);
    let sb = random_mat(&mut rng, 16, 16);
    let sd = random_mat(&mut rng, 16, 16);
    t.put_sp(0, &sa);
    t.put_sp(48, &sb);
    t.put_sp(64, &sd);
    let settings = [
        (DATAFLOW_WS, false, false),
        (DATAFLOW_WS, true, false),
        (DATAFLOW_WS, false, true),
        (DATAFLOW_OS, false, false),
        (DATAFLOW_OS, true, false),
        (DATAFLOW_OS, true, true),
    ];
    let mut dims = || (rng.gen_range(1..=16usize), rng.gen_range(1..=16usize));
    for trial in 0..60 {
        let (df, at, bt) = settings[trial % settings.len()];
        let stride = 1 + trial % 3;
        let ((ar, ac), (br, bc), (dr, dc), (cr, cc)) = (dims(), dims(), dims(), dims());
        t.config_ex(|ex| {
            ex.dataflow = df;
            ex.a_transpose = at;
            ex.b_transpose = bt;
            ex.a_stride = stride as u16;
        });
        for r in 0..16 {
            t.mvin(0, 0, LocalAddr::acc(r), 16, 1);
        }
        let oa = op(LocalAddr::sp(0), ac as u16, ar as u16);
        let ob = op(LocalAddr::sp(48), bc as u16, br as u16);
        let od = op(LocalAddr::sp(64), dc as u16, dr as u16);
        let c = op(LocalAddr::acc(0), cc as u16, cr as u16);
        if df == DATAFLOW_OS {
            t.preload(od, c);
            t.compute(true, oa, ob);
        } else {
            t.preload(ob, c);
            t.compute(true, oa, od);
        }
        let fa = doc_operand(&sa, stride, ar, ac, at, dim);
        let fb = doc_operand(&sb, 1, br, bc, bt, dim);
        let fd = doc_operand(&sd, 1, dr, dc, false, dim);
        let o = ref_mm(&fa, &fb, &fd);
        for i in 0..16 {
            let got = t.acc_row(i as u32);
            for j in 0..16 {
                let want = if i < cr && j < cc { o[i][j] as i32 } else { 0 };
                assert_eq!(
                    got[j], want,
                    "trial {trial} df={df} at={at} bt={bt} A {ar}x{ac} B {br}x{bc} [{i}][{j}]"
                );
            }
        }
    }
}

#[test]
fn ws_only_config_refuses_os_and_small_dim_works() {
    let text = crate::sim::config::DEFAULT_CONFIG_TOML
        .replace("dim = 16", "dim = 4")
        .replace("dataflows = \"both\"", "dataflows = \"ws\"");
    let cfg = HwConfig::from_toml_str(&text, "dim4.toml").unwrap();
    let mut refused = Bench::with(&cfg);
    let os = ConfigEx {
        dataflow: DATAFLOW_OS,
        ..ConfigEx::default()
    };
    let e = refused.err(Command::ConfigEx(os));
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let mut t = Bench::with(&cfg);
    assert_eq!(t.dim, 4);
    // WS with B transposed (legal in WS).
    t.config_ex(|ex| {
        ex.dataflow = DATAFLOW_WS;
        ex.b_transpose = true;
    });
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let a = random_mat(&mut rng, 4, 4);
    let b = random_mat(&mut rng, 4, 4);
    t.put_sp(0, &a);
    t.put_sp(4, &b);
    t.preload(op(LocalAddr::sp(4), 4, 4), op(LocalAddr::acc(0), 4, 4));
    t.compute(true, op(LocalAddr::sp(0), 4, 4), op(G, 4, 4));
    let o = ref_mm(&full(&a, 4), &transpose(&full(&b, 4)), &zeros(4));
    for i in 0..4 {
        let want: Vec<i32> = o[i].iter().map(|&v| v as i32).collect();
        assert_eq!(t.acc_row(i as u32), want);
    }
    // MBL = 64 / 4 = 16 blocks of 4 columns: 64-column mvins are legal, 65 are not.
    t.config_ld(0, 0, |_| {});
    t.mvin(0, 0, LocalAddr::sp(100), 64, 4);
    let e = t.err(Command::Mvin {
        state: 0,
        dram: 0,
        op: op(LocalAddr::sp(100), 65, 4),
    });
    assert_eq!(e.kind, ErrorKind::BadRowsCols);
}

#[test]
fn random_ws_and_os_tiles_match_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut t = Bench::new();
    let dim = t.dim;
    for trial in 0..40 {
        let os = trial % 2 == 1;
        let (ar, ac, bc) = (
            rng.gen_range(1..=16),
            rng.gen_range(1..=16),
            rng.gen_range(1..=16),
        );
        let a = random_mat(&mut rng, ar, ac);
        let b = random_mat(&mut rng, ac, bc);
        let d = random_mat(&mut rng, ar, bc);
        t.put_sp(0, &a);
        t.put_sp(16, &b);
        t.put_sp(32, &d);
        let (fa, fb, fd) = (full(&a, dim), full(&b, dim), full(&d, dim));
        let c = op(LocalAddr::acc(0), bc as u16, ar as u16);
        let oa = op(LocalAddr::sp(0), ac as u16, ar as u16);
        let ob = op(LocalAddr::sp(16), bc as u16, ac as u16);
        let od = op(LocalAddr::sp(32), bc as u16, ar as u16);
        t.config_ex(|ex| ex.dataflow = if os { DATAFLOW_OS } else { DATAFLOW_WS });
        for r in 0..16 {
            t.mvin(0, 0, LocalAddr::acc(r), 16, 1);
        }
        if os {
            t.preload(od, c);
            t.compute(true, oa, ob);
        } else {
            t.preload(ob, c);
            t.compute(true, oa, od);
        }
        let o = ref_mm(&fa, &fb, &fd);
        for i in 0..16 {
            let got = t.acc_row(i as u32);
            for j in 0..16 {
                let want = if i < ar && j < bc { o[i][j] as i32 } else { 0 };
                assert_eq!(
                    got[j], want,
                    "trial {trial} os={os} ({ar}x{ac}x{bc}) [{i}][{j}]"
                );
            }
        }
    }
}

// ----- errors and the rest of the trait -------------------------------------------------------

fn raw(funct: u8, rs1: u64, rs2: u64) -> RoccCmd {
    RoccCmd { funct, rs1, rs2 }
}

fn refused(t: &mut Bench, c: RoccCmd) -> AccelError {
    match t.acc.offer(c, 0, &mut t.mem) {
        Err(e) => {
            assert_eq!(e.cmd, Some(c));
            assert!(!e.detail.is_empty());
            e
        }
        Ok(x) => panic!("{c} was not refused (returned {x})"),
    }
}

fn kind_of(c: RoccCmd) -> ErrorKind {
    refused(&mut Bench::new(), c).kind
}

#[test]
fn each_error_kind() {
    let d = 16u16;
    assert_eq!(kind_of(raw(50, 0, 0)), ErrorKind::IllegalFunct);
    assert_eq!(kind_of(raw(22, 0, 0)), ErrorKind::IllegalFunct);
    assert_eq!(kind_of(raw(Funct::LoopWs as u8, 0, 0)), ErrorKind::BadLoop);
    assert_eq!(
        kind_of(raw(Funct::LoopConvWs as u8, 0, 0)),
        ErrorKind::BadLoop
    );
    let mut ld = ConfigLd::new(0, 0, d);
    ld.pixel_repeats = 2;
    assert_eq!(
        kind_of(Command::ConfigLd(ld).encode()),
        ErrorKind::Unsupported
    );
    let ld3 = ConfigLd::new(3, 0, d);
    let e = refused(&mut Bench::new(), Command::ConfigLd(ld3).encode());
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.detail.contains("state id 3"), "{}", e.detail);
    let mvin = |addr: LocalAddr, cols: u16, rows: u16| {
        Command::Mvin {
            state: 0,
            dram: 0,
            op: op(addr, cols, rows),
        }
        .encode()
    };
    assert_eq!(
        kind_of(mvin(LocalAddr::sp(0), 16, 17)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::sp(0), 16, 0)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::sp(0), 65, 16)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::acc(0), 17, 16)),
        ErrorKind::BadRowsCols
    ); // int32: DIM*MBLA
    assert_eq!(
        kind_of(mvin(LocalAddr::sp(16380), 16, 16)),
        ErrorKind::SpRange
    );
    // 64 columns at row 16384 - 64 = 16320 span rows up to 16320 + 3*16 + 16 = 16384: legal.
    let mut t = Bench::new();
    t.ok(Command::decode(mvin(LocalAddr::sp(16320), 64, 16)));
    assert_eq!(
        kind_of(mvin(LocalAddr::sp(16321), 64, 16)),
        ErrorKind::SpRange
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::acc(1024), 16, 1)),
        ErrorKind::AccRange
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::acc(1020), 16, 5)),
        ErrorKind::AccRange
    );
    assert_eq!(
        kind_of(mvin(LocalAddr::GARBAGE, 16, 16)),
        ErrorKind::BadAddress
    );
    let mvout = |addr: LocalAddr, cols: u16, rows: u16| {
        Command::Mvout {
            dram: DEFAULT_BASE,
            op: op(addr, cols, rows),
        }
        .encode()
    };
    assert_eq!(
        kind_of(mvout(LocalAddr::GARBAGE, 16, 16)),
        ErrorKind::BadAddress
    );
    assert_eq!(
        kind_of(mvout(LocalAddr::acc_full(0), 17, 1)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(mvout(LocalAddr::acc(0), 64, 17)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(mvout(LocalAddr::acc(1000), 64, 16)),
        ErrorKind::AccRange
    );
    // Transposes.
    let mut ex = ConfigEx {
        dataflow: DATAFLOW_OS,
        b_transpose: true,
        ..ConfigEx::default()
    };
    assert_eq!(kind_of(ex.encode()), ErrorKind::BadTranspose);
    ex.dataflow = DATAFLOW_WS;
    ex.a_transpose = true;
    assert_eq!(kind_of(ex.encode()), ErrorKind::BadTranspose);
    ex.set_only_strides = true; // changes only strides: nothing to refuse
    Bench::new().ok(Command::ConfigEx(ex));
    // Pairing.
    let g = Operand::garbage(d);
    let compute = Command::Compute {
        flip: true,
        a: g,
        bd: g,
    }
    .encode();
    let preload = Command::Preload { bd: g, c: g }.encode();
    assert_eq!(kind_of(compute), ErrorKind::Pairing);
    let mut t = Bench::new();
    t.ok(Command::decode(preload));
    assert_eq!(refused(&mut t, preload).kind, ErrorKind::Pairing);
    let mut t = Bench::new();
    t.ok(Command::decode(preload));
    assert_eq!(
        refused(&mut t, ConfigEx::default().encode()).kind,
        ErrorKind::Pairing
    );
    // Loads, stores and counters between a preload and its compute are fine.
    let mut t = Bench::new();
    t.ok(Command::decode(preload));
    t.ok(Command::decode(mvin(LocalAddr::sp(0), 16, 16)));
    t.ok(Command::Counter(CounterOp::read(0)));
    t.ok(Command::decode(compute));
    // Execute operands: accumulator A/B/D are unsupported; C may be the accumulator.
    let p = |bd: Operand, c: Operand| Command::Preload { bd, c }.encode();
    assert_eq!(
        kind_of(p(op(LocalAddr::acc(0), 16, 16), g)),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind_of(p(op(LocalAddr::sp(0), 16, 17), g)),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(p(g, op(LocalAddr::acc(0), 0, 16))),
        ErrorKind::BadRowsCols
    );
    assert_eq!(
        kind_of(p(op(LocalAddr::sp(16370), 16, 16), g)),
        ErrorKind::SpRange
    );
    assert_eq!(
        kind_of(p(g, op(LocalAddr::acc(1010), 16, 16))),
        ErrorKind::AccRange
    );
    let mut t = Bench::new();
    t.ok(Command::decode(p(g, op(LocalAddr::acc(1008), 16, 16))));
    let mut t = Bench::new();
    t.config_ex(|ex| ex.c_stride = 2);
    // C rows 8 with c_stride 2 spans 15 rows: 1009 + 15 = 1024 is legal, 1010 is not.
    t.ok(Command::decode(p(g, op(LocalAddr::acc(1009), 16, 8))));
    t.ok(Command::decode(compute));
    assert_eq!(
        refused(&mut t, p(g, op(LocalAddr::acc(1010), 16, 8))).kind,
        ErrorKind::AccRange
    );
    let mut t = Bench::new();
    t.config_ex(|ex| ex.a_stride = 4);
    t.ok(Command::decode(preload));
    // A rows 16 with a_stride 4 spans 61 rows.
    let c = |a: Operand| {
        Command::Compute {
            flip: true,
            a,
            bd: g,
        }
        .encode()
    };
    assert_eq!(
        refused(&mut t, c(op(LocalAddr::sp(16384 - 60), 16, 16))).kind,
        ErrorKind::SpRange
    );
    let mut t = Bench::new();
    t.config_ex(|ex| ex.a_stride = 4);
    t.ok(Command::decode(preload));
    t.ok(Command::decode(c(op(LocalAddr::sp(16384 - 61), 16, 16))));
    let mut t = Bench::new();
    t.ok(Command::decode(preload));
    assert_eq!(
        refused(&mut t, c(op(LocalAddr::acc(0), 16, 16))).kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn pooled_mvout_needs_a_non_empty_pooling_geometry() {
    let good = {
        let mut st = ConfigSt::new(16);
        st.pool_stride = 1;
        st.pool_size = 1;
        st.pool_out_dim = 1;
        st.porows = 1;
        st.pocols = 1;
        st.orows = 1;
        st.ocols = 1;
        st
    };
    let mvout = |addr: LocalAddr, cols: u16| Command::Mvout {
        dram: DEFAULT_BASE,
        op: op(addr, cols, 0),
    };
    // The minimal geometry is legal, from either memory and with read_full set (ignored).
    for addr in [LocalAddr::sp(0), LocalAddr::acc(0), LocalAddr::acc_full(0)] {
        let mut t = Bench::new();
        t.ok(Command::ConfigSt(good));
        t.ok(mvout(addr, 16));
    }
    type Field = fn(&mut ConfigSt);
    let zeroed: [(&str, Field); 5] = [
        ("pool_size", |st| st.pool_size = 0),
        ("porows", |st| st.porows = 0),
        ("pocols", |st| st.pocols = 0),
        ("orows", |st| st.orows = 0),
        ("ocols", |st| st.ocols = 0),
    ];
    for (name, zero) in zeroed {
        let mut st = good;
        zero(&mut st);
        let mut t = Bench::new();
        // config_st itself is accepted; the mvout that uses the geometry is refused.
        t.ok(Command::ConfigSt(st));
        let e = refused(&mut t, mvout(LocalAddr::sp(0), 16).encode());
        assert_eq!(e.kind, ErrorKind::BadRowsCols, "{name}");
        assert!(e.detail.contains(name), "{name}: {}", e.detail);
        // A garbage source is reported first (bad address before rows/cols).
        let mut t = Bench::new();
        t.ok(Command::ConfigSt(st));
        let e = refused(&mut t, mvout(LocalAddr::GARBAGE, 16).encode());
        assert_eq!(e.kind, ErrorKind::BadAddress, "{name}");
        // Without pooling the fields are not used.
        let mut t = Bench::new();
        t.ok(Command::ConfigSt(ConfigSt {
            pool_stride: 0,
            ..st
        }));
        t.ok(Command::Mvout {
            dram: DEFAULT_BASE,
            op: op(LocalAddr::sp(0), 16, 1),
        });
    }
    // The range of a pooled mvout is [row, row + orows*ocols).
    let mut st = good;
    st.orows = 4;
    st.ocols = 5;
    let mut t = Bench::new();
    t.ok(Command::ConfigSt(st));
    t.ok(mvout(LocalAddr::acc(1024 - 20), 16));
    let mut t = Bench::new();
    t.ok(Command::ConfigSt(st));
    let e = refused(&mut t, mvout(LocalAddr::acc(1024 - 19), 16).encode());
    assert_eq!(e.kind, ErrorKind::AccRange);
}

#[test]
fn transposed_operand_ranges_count_cols_stored_rows() {
    let last = 16384u32;
    let g = Operand::garbage(16);
    // WS preload B with b_transpose, rows 2, cols 10: reads 10 stored rows.
    let ws_bt = |t: &mut Bench| t.config_ex(|ex| ex.b_transpose = true);
    let mut t = Bench::new();
    ws_bt(&mut t);
    t.preload(op(LocalAddr::sp(last - 10), 10, 2), g);
    let mut t = Bench::new();
    ws_bt(&mut t);
    let e = refused(
        &mut t,
        Command::Preload {
            bd: op(LocalAddr::sp(last - 9), 10, 2),
            c: g,
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::SpRange);
    // ... and rows 10, cols 2 reads only 2.
    let mut t = Bench::new();
    ws_bt(&mut t);
    t.preload(op(LocalAddr::sp(last - 2), 2, 10), g);
    // Without b_transpose the same operand reads rows stored rows.
    let mut t = Bench::new();
    let e = refused(
        &mut t,
        Command::Preload {
            bd: op(LocalAddr::sp(last - 2), 2, 10),
            c: g,
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::SpRange);
    // OS preload D is never transposed: rows stored rows even with b_transpose.
    let os_bt = |t: &mut Bench| {
        t.config_ex(|ex| {
            ex.dataflow = DATAFLOW_OS;
            ex.a_transpose = true;
            ex.b_transpose = true;
        })
    };
    let mut t = Bench::new();
    os_bt(&mut t);
    t.preload(op(LocalAddr::sp(last - 2), 10, 2), g);
    // OS compute B with b_transpose, rows 3, cols 12: 12 stored rows.
    t.compute(true, g, op(LocalAddr::sp(last - 12), 12, 3));
    t.preload(g, g);
    let e = refused(
        &mut t,
        Command::Compute {
            flip: true,
            a: g,
            bd: op(LocalAddr::sp(last - 11), 12, 3),
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::SpRange);
    // A with a_transpose (and a_stride 3), rows 2, cols 5: stored rows 0, 3, .., 12, so 13 rows.
    let mut t = Bench::new();
    t.config_ex(|ex| {
        ex.a_transpose = true;
        ex.a_stride = 3;
    });
    t.preload(g, g);
    t.compute(true, op(LocalAddr::sp(last - 13), 5, 2), g);
    t.preload(g, g);
    let e = refused(
        &mut t,
        Command::Compute {
            flip: true,
            a: op(LocalAddr::sp(last - 12), 5, 2),
            bd: g,
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::SpRange);
}

#[test]
fn config_ld_state_id_3_is_unsupported_and_changes_nothing() {
    let mut t = Bench::new();
    t.config_ld(1, 16, |ld| ld.block_stride = 5);
    let before = t.acc.ld;
    let e = refused(&mut t, ConfigLd::new(3, 32, 16).encode());
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(t.acc.ld, before);
    // pixel_repeats > 1 and state id 3 are both unsupported: pixel_repeats is named first.
    let mut ld = ConfigLd::new(3, 0, 16);
    ld.pixel_repeats = 2;
    let e = refused(&mut Bench::new(), ld.encode());
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.detail.contains("pixel_repeats"), "{}", e.detail);
    // States 0-2 are accepted.
    let mut t = Bench::new();
    for s in 0..3 {
        t.config_ld(s, 8, |_| {});
    }
}

#[test]
fn errors_are_sticky_and_change_nothing() {
    let mut t = Bench::new();
    t.write_i8(DEFAULT_BASE, &[5; 16]);
    t.config_ld(0, 16, |_| {});
    let bad = raw(50, 1, 2);
    let e = refused(&mut t, bad);
    assert_eq!(e.kind, ErrorKind::IllegalFunct);
    assert!(e.detail.contains("50"), "{}", e.detail);
    assert_eq!(t.acc.error(), Some(e.clone()));
    // Later commands are not executed, and report the first error.
    let again = t.acc.offer(
        Command::Mvin {
            state: 0,
            dram: DEFAULT_BASE,
            op: op(LocalAddr::sp(0), 16, 1),
        }
        .encode(),
        0,
        &mut t.mem,
    );
    assert_eq!(again, Err(e));
    assert_eq!(t.sp_row(0), vec![0; 16]);
}

#[test]
fn dma_outside_memory_is_a_memory_fault_naming_the_address() {
    let mut t = Bench::new();
    t.config_ld(0, 0x10_0000, |_| {});
    // Row 4 of this mvin is past the 4 MiB of memory; rows 0-3 must not be written either.
    t.write_i8(DEFAULT_BASE, &[1; 16]);
    let e = refused(
        &mut t,
        Command::Mvin {
            state: 0,
            dram: DEFAULT_BASE,
            op: op(LocalAddr::sp(0), 16, 5),
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::MemoryFault);
    assert!(e.detail.contains("0x80400000"), "{}", e.detail);
    assert_eq!(t.sp_row(0), vec![0; 16]);
    let mut t = Bench::new();
    let e = refused(
        &mut t,
        Command::Mvout {
            dram: 0x1000,
            op: op(LocalAddr::sp(0), 16, 1),
        }
        .encode(),
    );
    assert_eq!(e.kind, ErrorKind::MemoryFault);
    assert!(e.detail.contains("0x1000"), "{}", e.detail);
}

#[test]
fn counters_flush_norm_and_trait_basics() {
    let mut t = Bench::new();
    assert_eq!(t.acc.engine(), "spec");
    t.ok(Command::Flush { skip: false });
    t.ok(Command::ConfigNorm { rs1: 0, rs2: 0 });
    let cfg = CounterOp::configure_code(2, 49);
    assert_eq!(t.acc.offer(cfg.encode(), 7, &mut t.mem), Ok(true));
    assert_eq!(t.acc.take_response(), Some(RoccResp { rd: 7, data: 0 }));
    assert_eq!(t.acc.take_response(), None);
    let snap = CounterOp {
        snapshot_take: true,
        index: 2,
        ..Default::default()
    };
    assert_eq!(t.acc.offer(snap.encode(), 9, &mut t.mem), Ok(true));
    assert_eq!(t.acc.take_response(), Some(RoccResp { rd: 9, data: 0 }));
    assert!(!t.acc.busy());
    let mut mem = Memory::new(DEFAULT_BASE, 4096);
    for _ in 0..5 {
        t.acc.tick(&mut mem).unwrap();
    }
    assert_eq!(t.acc.cycles(), 5);
    let ev = t.acc.events();
    assert_eq!(ev.len(), isa::event::NAMES.len());
    assert!(ev.iter().all(|&(_, v)| v == 0));
    let s = t.acc.debug_state();
    assert!(s.contains("spec") && s.contains("error: none"), "{s}");
    assert_eq!(t.acc.read_sp_row(1 << 20), vec![0; 16]);
    assert_eq!(t.acc.read_acc_row(1024), vec![0; 16]);
    assert_eq!(t.acc.error(), None);
}

// ----- the normalizer (docs/accelerator.md section 2.2) ------------------------------------------

/// One accumulator row of 20 int32 values (DIM 16: two blocks) through LayerNorm's mvout sequence on the
/// model: the statistics mvouts write nothing, the RESET mvout writes `(x - mean) * inv_stddev`.
#[test]
fn layernorm_mvouts_write_only_on_reset() {
    let mut t = Bench::new();
    let d16 = t.d16();
    let row: Vec<i32> = (0..20).map(|i| i * i * 7 - 300).collect();
    let src = DEFAULT_BASE + 0x1000;
    let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.mem.write(src, &bytes).unwrap();
    t.config_ld(2, 0, |_| {});
    // the row's two blocks land on accumulator rows 0 and 16 (block stride DIM)
    t.mvin(2, src, LocalAddr::acc(0), 16, 1);
    t.mvin(2, src + 64, LocalAddr::acc(16), 4, 1);
    t.config_st(20, |st| st.act = isa::ACT_LAYERNORM);
    let out = DEFAULT_BASE + 0x8000;
    let poison = vec![0x5au8; 20];
    t.mem.write(out, &poison).unwrap();
    let with = |cmd: u32| LocalAddr(LocalAddr::acc(0).0 | cmd << 26);
    for cmd in [isa::norm_cmd::MEAN, isa::norm_cmd::INV_STDDEV] {
        t.mvout(out, with(cmd), 20, 1);
        assert_eq!(t.read_bytes(out, 20), poison, "command {cmd} wrote memory");
    }
    t.mvout(out, with(isa::norm_cmd::RESET), 20, 1);
    let mean = row.iter().sum::<i32>() / 20;
    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<i32>() / 20;
    let sd = norm::isqrt(var as u32).max(1);
    let inv = (1.0f32 / sd as f32).to_bits();
    let want: Vec<i8> = row
        .iter()
        .map(|&x| arith::acc_scale_to_i8(x - mean, false, inv))
        .collect();
    assert_eq!(t.read_i8(out, 20), want);
    assert!(want.iter().any(|&v| v != 0) && d16 == 16);
}

/// A pooled accumulator mvout may only write (RESET); without a normalizer the command bits are ignored
/// and config_norm changes nothing (Gemmini's default configuration).
#[test]
fn normalizer_refusals_and_absence() {
    let mut t = Bench::new();
    t.config_st(16, |st| {
        st.pool_stride = 1;
        st.pool_size = 1;
        st.porows = 1;
        st.pocols = 1;
        st.orows = 1;
        st.ocols = 1;
        st.pool_out_dim = 1;
    });
    let e = t.err(Command::Mvout {
        dram: DEFAULT_BASE,
        op: Operand::new(LocalAddr(LocalAddr::acc(0).0 | 5 << 26), 16, 1),
    });
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.detail.contains("pooling"), "{}", e.detail);

    let mut cfg = HwConfig::default_config();
    cfg.array.has_normalizations = false;
    let mut t = Bench::with(&cfg);
    t.mem.write(DEFAULT_BASE + 0x1000, &[0xffu8; 64]).unwrap(); // -1 everywhere
    t.config_ld(2, 0, |_| {});
    t.mvin(2, DEFAULT_BASE + 0x1000, LocalAddr::acc(0), 16, 1);
    // config_norm's act_msb would make this Softmax; without a normalizer it is ignored, and so are the
    // command bits: the mvout writes the plain read-out of -1
    t.ok(Command::ConfigNorm {
        rs1: isa::ConfigNorm {
            act_msb: true,
            ..isa::ConfigNorm::default()
        }
        .encode()
        .rs1,
        rs2: 0,
    });
    t.config_st(16, |_| {});
    t.mvout(
        DEFAULT_BASE + 0x8000,
        LocalAddr(LocalAddr::acc(0).0 | 5 << 26),
        16,
        1,
    );
    assert_eq!(t.read_i8(DEFAULT_BASE + 0x8000, 16), vec![-1i8; 16]);
}
