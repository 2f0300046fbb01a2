//! `rtl/gemmini_fp32_pkg.sv` against Rust's IEEE binary32 arithmetic, bit for bit.
//!
//! The package's `fp32_fma` must equal `f32::mul_add` (a correctly rounded fused multiply-add: libm `fmaf`),
//! `fp32_add` / `fp32_mul` must equal `+` / `*`, `fp32_relu` must equal `if x > 0 { x } else { +0 }` and
//! `fp32_gt` must equal `>`, with every NaN result mapped to the canonical `0x7fc00000`. The vectors are every
//! combination of a corner set, random bit patterns, and structured cases aimed at the hard parts of a fused
//! multiply-add: cancellation, near-equal exponents, subnormal products and results, exact ties, overflow.
//! They go through `tests/rtl/fp32_fma_tb.sv`, built here with the machine's Verilator.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const QNAN: u32 = 0x7fc0_0000;
const SNAN: u32 = 0x7f80_0001;
const RANDOM: usize = 400_000;
const STRUCTURED: usize = 100_000; // per structured generator (eight of them)

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Fma = 0,
    Add = 1,
    Mul = 2,
    Relu = 3,
    Gt = 4,
}

#[derive(Clone, Copy)]
struct Vector {
    op: Op,
    a: u32,
    b: u32,
    c: u32,
}

fn fma(a: u32, b: u32, c: u32) -> Vector {
    Vector {
        op: Op::Fma,
        a,
        b,
        c,
    }
}

fn bin(op: Op, a: u32, b: u32) -> Vector {
    Vector { op, a, b, c: 0 }
}

fn canon(x: f32) -> u32 {
    if x.is_nan() {
        QNAN
    } else {
        x.to_bits()
    }
}

/// The expected output of the testbench for `v`.
fn reference(v: &Vector) -> u32 {
    let (a, b, c) = (
        f32::from_bits(v.a),
        f32::from_bits(v.b),
        f32::from_bits(v.c),
    );
    match v.op {
        Op::Fma => canon(a.mul_add(b, c)),
        Op::Add => canon(a + b),
        Op::Mul => canon(a * b),
        Op::Relu => canon(if a > 0.0 { a } else { 0.0 }),
        Op::Gt => u32::from(a > b),
    }
}

/// sign, biased exponent, fraction -> bits.
fn pack(sign: bool, exp: i32, frac: u32) -> u32 {
    (u32::from(sign) << 31) | ((exp.clamp(0, 255) as u32) << 23) | (frac & 0x7f_ffff)
}

fn exp_of(x: u32) -> i32 {
    ((x >> 23) & 0xff) as i32
}

/// A finite value with a random sign and fraction and a biased exponent drawn from `exp`, clamped to [0, 254].
fn finite(rng: &mut ChaCha8Rng, exp: RangeInclusive<i32>) -> u32 {
    let e = rng.gen_range(exp).clamp(0, 254);
    pack(rng.gen(), e, rng.gen())
}

/// A random sign bit in place.
fn sign_bit(rng: &mut ChaCha8Rng) -> u32 {
    u32::from(rng.gen::<bool>()) << 31
}

/// m * 2^k as an f32, where the caller guarantees it is exactly representable.
fn scaled(m: u64, k: i32) -> u32 {
    let x = (m as f64) * 2f64.powi(k);
    let f = x as f32;
    assert_eq!(f as f64, x, "{m} * 2^{k} is not a binary32 value");
    f.to_bits()
}

/// Moves `x` by `k` units in the last place of its encoding, staying finite and on its side of zero.
fn ulps(x: u32, k: i32) -> u32 {
    let sign = x & 0x8000_0000;
    let mag = ((x & 0x7fff_ffff) as i64 + k as i64).clamp(0, 0x7f7f_ffff) as u32;
    sign | mag
}

fn corners() -> Vec<u32> {
    let mut v = Vec::new();
    for m in [
        0x0000_0000, // 0
        0x0000_0001, // min subnormal
        0x0000_0002,
        0x0040_0000, // half of min normal
        0x007f_ffff, // max subnormal
        0x0080_0000, // min normal
        0x0080_0001,
        0x3f80_0000, // 1
        0x3f80_0001,
        0x3f7f_ffff,
        0x3fc0_0000, // 1.5
        0x7f7f_ffff, // max finite
        0x7f00_0000,
        0x7f80_0000, // inf
        0x5f80_0000, // 2^64
        0x5f80_0001,
        0x5f7f_ffff,
        0x1f80_0000, // 2^-64
        0x1f80_0001,
        0x1f7f_ffff,
        0x3400_0000, // 2^-23
        0x3380_0000, // 2^-24
    ] {
        v.push(m);
        v.push(m | 0x8000_0000);
    }
    v.extend([QNAN, SNAN, 0xffc0_0000, 0x7fff_ffff]);
    v
}

fn corner_vectors(out: &mut Vec<Vector>) {
    let cs = corners();
    for &a in &cs {
        for &b in &cs {
            for &c in &cs {
                out.push(fma(a, b, c));
            }
            for op in [Op::Add, Op::Mul, Op::Gt] {
                out.push(bin(op, a, b));
            }
        }
        out.push(bin(Op::Relu, a, 0));
    }
}

fn random_vectors(rng: &mut ChaCha8Rng, out: &mut Vec<Vector>) {
    for _ in 0..RANDOM {
        out.push(fma(rng.gen(), rng.gen(), rng.gen()));
    }
    for _ in 0..RANDOM / 8 {
        for op in [Op::Add, Op::Mul, Op::Gt] {
            out.push(bin(op, rng.gen(), rng.gen()));
        }
        out.push(bin(Op::Relu, rng.gen(), 0));
        // Add and compare on values of similar magnitude.
        let a: u32 = rng.gen();
        let b = pack(rng.gen(), exp_of(a) + rng.gen_range(-3..=3), rng.gen());
        out.push(bin(Op::Add, a, b));
        out.push(bin(Op::Gt, a, b));
    }
}

/// A product a * b of random operands whose biased exponents sum to a value drawn from `sum` (so the product
/// is near 2^(sum - 254)), with a's exponent spread over the whole range.
fn product_near(rng: &mut ChaCha8Rng, sum: RangeInclusive<i32>) -> (u32, u32) {
    let sum = rng.gen_range(sum);
    let lo = (sum - 254).max(0);
    let hi = sum.min(254);
    let ea = if lo <= hi {
        rng.gen_range(lo..=hi)
    } else {
        127
    };
    (finite(rng, ea..=ea), finite(rng, sum - ea..=sum - ea))
}

fn structured_vectors(rng: &mut ChaCha8Rng, out: &mut Vec<Vector>) {
    // 1. Cancellation: c = -(a * b rounded) moved by a few ulps; the exact result is the product's rounding
    //    error plus a few ulps, often many binades below the operands.
    for _ in 0..STRUCTURED {
        let (a, b) = product_near(rng, 40..=330);
        let p = f32::from_bits(a) * f32::from_bits(b);
        if !p.is_finite() {
            continue;
        }
        let c = ulps((-p).to_bits(), rng.gen_range(-3..=3));
        out.push(fma(a, b, c));
    }
    // 2. Exponents of a * b and c within 70 binades of each other, random signs: partial cancellation,
    //    carries, and every alignment shift up to and past the 64-bit frame of the RTL.
    for _ in 0..STRUCTURED {
        let sum = rng.gen_range(0..=380);
        let (a, b) = product_near(rng, sum..=sum);
        let c = finite(rng, sum - 197..=sum - 57);
        out.push(fma(a, b, c));
    }
    // 3. Products in and around the subnormal range, with c zero, subnormal, tiny or cancelling.
    for _ in 0..STRUCTURED {
        let (a, b) = product_near(rng, 60..=132);
        let p = f32::from_bits(a) * f32::from_bits(b);
        let c = match rng.gen_range(0..5) {
            0 => sign_bit(rng),
            1 => pack(rng.gen(), 0, rng.gen_range(0..64)),
            2 => pack(rng.gen(), 0, rng.gen()),
            3 => pack(rng.gen(), rng.gen_range(1..4), rng.gen()),
            _ => ulps((-p).to_bits(), rng.gen_range(-3..=3)),
        };
        out.push(fma(a, b, c));
    }
    // 4. Exact ties of the product alone: odd 12-bit times odd 13-bit significands give a 24- or 25-bit odd
    //    product, a tie when it has 25 bits. The product's LSB weight 2^w ranges from the subnormal halfway
    //    point 2^-150 up, so ties round in the subnormal range too. c is a signed zero or a tie breaker.
    for _ in 0..STRUCTURED {
        let m1 = rng.gen_range(1u64 << 11..1 << 12) | 1;
        let m2 = rng.gen_range(1u64 << 12..1 << 13) | 1;
        let w = if rng.gen_bool(0.5) {
            rng.gen_range(-160..=-140)
        } else {
            rng.gen_range(-160..=90)
        };
        let ka = rng.gen_range((w - 90).max(-149)..=(w + 149).min(90));
        let (a, b) = (scaled(m1, ka) | sign_bit(rng), scaled(m2, w - ka));
        let c = match rng.gen_range(0..4) {
            0 | 1 => sign_bit(rng),
            // far below the tie point: decides the tie without changing anything else
            2 if w - 12 >= -149 => scaled(1, w - 12) | sign_bit(rng),
            _ => pack(rng.gen(), 0, 1),
        };
        out.push(fma(a, b, c));
    }
    // 5. Ties and near ties of the sum: c = X (random, normal or subnormal), a * b = +-2^ka * m * 2^kb with
    //    m odd, placed so that its LSB lands on X's half-ulp (an exact tie while the sum stays in X's binade)
    //    or a few bits above or below it.
    for _ in 0..STRUCTURED {
        let x = finite(rng, 0..=254);
        let x_ulp = exp_of(x).max(1) - 150; // weight of X's ulp
        let bits = rng.gen_range(1..=24);
        let m = (rng.gen::<u64>() & ((1 << bits) - 1)) | 1 | (1 << (bits - 1));
        let lsb = x_ulp - 1 + rng.gen_range(-6..=2);
        // 2^ka and m * 2^kb representable: ka, kb >= -149, ka <= 127, kb + bits - 1 <= 127
        let (lo, hi) = ((lsb - 127).max(-149), (lsb + 149).min(128 - bits));
        if lo > hi {
            continue;
        }
        let kb = rng.gen_range(lo..=hi);
        let a = scaled(1, lsb - kb) | sign_bit(rng);
        out.push(fma(a, scaled(m, kb), x));
    }
    // 6. Overflow and the top binade: products near the largest finite value with c near it, zero or
    //    cancelling; and max +- 2^103 * (1 + tiny), at and just past the half-ulp of the largest value
    //    (max + half-ulp rounds to infinity, max's significand being odd).
    for _ in 0..STRUCTURED {
        let (a, b) = product_near(rng, 370..=385);
        let p = f32::from_bits(a) * f32::from_bits(b);
        let c = match rng.gen_range(0..4) {
            0 => pack(rng.gen(), 254, 0x7f_ffff),
            1 => finite(rng, 250..=254),
            2 => sign_bit(rng),
            _ if p.is_finite() => ulps((-p).to_bits(), rng.gen_range(-3..=3)),
            _ => 0xff7f_ffff ^ (p.to_bits() & 0x8000_0000), // max with the opposite sign of inf
        };
        out.push(fma(a, b, c));
        let max = 0x7f7f_ffff | sign_bit(rng);
        let half = pack(rng.gen(), 230, rng.gen_range(0..4));
        out.push(fma(half, 0x3f80_0000, max));
        let split = rng.gen_range(-20..=20);
        let a = pack(rng.gen(), 127 + 51 + split, rng.gen_range(0..4) << 10);
        out.push(fma(a, pack(false, 127 + 52 - split, 0), max));
    }
    // 7. Random operands with a narrow exponent band (dense, mostly normal arithmetic) and signs mixed.
    for _ in 0..STRUCTURED {
        let a = finite(rng, 100..=154);
        let b = finite(rng, 100..=154);
        let c = finite(rng, 90..=164);
        out.push(fma(a, b, c));
    }
    // 8. Add, multiply and compare near their hard cases: b = -a +- ulps (cancellation to tiny or zero
    //    results), subnormal products, b = a +- ulps and signed zeros for the comparison and ReLU.
    for _ in 0..STRUCTURED / 4 {
        let a = finite(rng, 0..=254);
        out.push(bin(
            Op::Add,
            a,
            ulps(a ^ 0x8000_0000, rng.gen_range(-3..=3)),
        ));
        let (x, y) = product_near(rng, 90..=140);
        out.push(bin(Op::Mul, x, y));
        out.push(bin(Op::Gt, a, ulps(a, rng.gen_range(-1..=1))));
        out.push(bin(
            Op::Gt,
            a & 0x8000_0000,
            (rng.gen::<u32>() & 0x8000_0000) | 1,
        ));
        out.push(bin(Op::Relu, pack(rng.gen(), 0, rng.gen_range(0..3)), 0));
    }
}

/// Builds the testbench with the machine's Verilator; returns the executable.
fn build_tb(root: &Path, dir: &Path) -> PathBuf {
    match Command::new("verilator").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "`verilator` (>= 5.006) is not on PATH; scripts/setup.sh installs it. \
             This test needs it to build tests/rtl/fp32_fma_tb.sv."
        ),
    }
    let mdir = dir.join("obj");
    let out = Command::new("verilator")
        .args([
            "--binary",
            "-Wall",
            "--top-module",
            "fp32_fma_tb",
            "-j",
            "2",
        ])
        .args(["-O3", "-CFLAGS", "-O1"])
        .arg("-Mdir")
        .arg(&mdir)
        .arg(root.join("rtl/gemmini_fp32_pkg.sv"))
        .arg(root.join("tests/rtl/fp32_fma_tb.sv"))
        .output()
        .expect("running verilator");
    assert!(
        out.status.success(),
        "verilator failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    mdir.join("Vfp32_fma_tb")
}

#[test]
fn fp32_package_matches_ieee_reference() {
    let t0 = Instant::now();
    // The reference must be the fused operation: (1 + 2^-23)^2 - (1 + 2^-22) is 2^-46, 0 if rounded twice.
    let x = f32::from_bits(0x3f80_0001);
    assert_eq!(x.mul_add(x, -f32::from_bits(0x3f80_0002)), 2f32.powi(-46));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::Builder::new()
        .prefix("gemforge-fp32-fma-")
        .tempdir()
        .expect("temp dir");

    let mut rng = ChaCha8Rng::seed_from_u64(0x0066_7033_3266_6d61);
    let mut vectors = Vec::new();
    corner_vectors(&mut vectors);
    random_vectors(&mut rng, &mut vectors);
    structured_vectors(&mut rng, &mut vectors);

    let mut text = String::with_capacity(vectors.len() * 30);
    for v in &vectors {
        writeln!(text, "{} {:08x} {:08x} {:08x}", v.op as u8, v.a, v.b, v.c).unwrap();
    }
    let in_path = tmp.path().join("vectors.hex");
    let out_path = tmp.path().join("results.hex");
    std::fs::write(&in_path, text).unwrap();

    let exe = build_tb(&root, tmp.path());
    let t_built = t0.elapsed();
    let run = Command::new(&exe)
        .arg(format!("+in={}", in_path.display()))
        .arg(format!("+out={}", out_path.display()))
        .output()
        .expect("running the testbench");
    assert!(
        run.status.success(),
        "testbench failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let results = std::fs::read_to_string(&out_path).unwrap();
    let got: Vec<u32> = results
        .lines()
        .map(|l| u32::from_str_radix(l.trim(), 16).unwrap_or_else(|_| panic!("bad line {l:?}")))
        .collect();
    assert_eq!(got.len(), vectors.len(), "testbench result count");

    let mut failures = Vec::new();
    let mut count = [0usize; 5];
    for (v, &g) in vectors.iter().zip(&got) {
        count[v.op as usize] += 1;
        let want = reference(v);
        if g != want {
            failures.push((v, want, g));
        }
    }
    for (v, want, g) in failures.iter().take(20) {
        eprintln!(
            "{:?} a={:08x} b={:08x} c={:08x}: expected {want:08x} got {g:08x}",
            v.op, v.a, v.b, v.c
        );
    }
    eprintln!(
        "fp32: {} vectors (fma {}, add {}, mul {}, relu {}, gt {}), {} mismatches; \
         build {:.1} s, total {:.1} s",
        vectors.len(),
        count[0],
        count[1],
        count[2],
        count[3],
        count[4],
        failures.len(),
        t_built.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ from the reference",
        failures.len(),
        vectors.len()
    );
}
