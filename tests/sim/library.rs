//! The software library of `gemmini.h` (tiled_matmul, tiled_matmul_auto, tiled_conv_auto,
//! tiled_resadd_auto) end to end: the programs in tests/programs/lib_*.c call it on shapes chosen with
//! `-D` defines (non-multiples of DIM, strides, bias kinds, ReLU, scales, int32 output, transposes, explicit
//! small tiles that force several outer tiles and operand reuse, convolutions with and without padding),
//! compare every element with the library's CPU path inside the program, and print a checksum that the
//! host recomputes here for some of them. The CPU-issued paths (WS_CPU_ISSUED, OS) run on both engines
//! with identical results; the loop-FSM paths (WS) are ignored until the FSMs exist.

use gemforge::bench::eval::{evaluate, EvalOpts};
use gemforge::bench::workload;
use gemforge::sim::accel::arith;
use gemforge::sim::config::{HwConfig, DEFAULT_CONFIG_TOML};
use gemforge::sim::soc::{run_files, Engine, RunInputs, RunReport, SocOpts};
use std::path::PathBuf;

fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

/// Runs `name` compiled with `defines` ("NAME=VALUE") on `engine`; the run must pass.
fn run(name: &str, defines: &[&str], engine: Engine) -> RunReport {
    run_on(&HwConfig::default_config(), name, defines, engine)
}

/// [`run`] on the hardware configuration `cfg`.
fn run_on(cfg: &HwConfig, name: &str, defines: &[&str], engine: Engine) -> RunReport {
    let inputs = RunInputs {
        programs: vec![program(name)],
        defines: defines
            .iter()
            .map(|d| match d.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (d.to_string(), None),
            })
            .collect(),
        ..RunInputs::default()
    };
    let opts = SocOpts {
        engine,
        max_cycles: 400_000_000,
        ..SocOpts::default()
    };
    let r = run_files(cfg, &inputs, &opts)
        .unwrap_or_else(|e| panic!("{name} {defines:?} on {}: {e:#}", engine.name()));
    assert_eq!(
        r.error,
        None,
        "{name} {defines:?} on {}: {}",
        engine.name(),
        r.stdout
    );
    assert_eq!(
        r.exit_code,
        Some(0),
        "{name} {defines:?} on {}: {}",
        engine.name(),
        r.stdout
    );
    assert!(
        r.stdout.contains("PASS"),
        "{name} {defines:?}: {}",
        r.stdout
    );
    r
}

fn checksum(r: &RunReport) -> String {
    r.stdout
        .lines()
        .find(|l| l.starts_with("C checksum"))
        .unwrap_or_else(|| panic!("no checksum in {:?}", r.stdout))
        .to_string()
}

/// Runs on both engines; they must agree on the result. Returns the checksum line.
fn run_both(name: &str, defines: &[&str]) -> String {
    let spec = run(name, defines, Engine::Spec);
    let rtl = run(name, defines, Engine::Rtl);
    assert_eq!(
        checksum(&spec),
        checksum(&rtl),
        "{name} {defines:?}: engines disagree"
    );
    checksum(&rtl)
}

/// The test programs' data generator (tests/programs/common.h).
struct Lcg(u32);
impl Lcg {
    fn new() -> Lcg {
        Lcg(777)
    }
    fn rand8(&mut self) -> i8 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 24) as i8
    }
}

fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}

/// One lib_matmul.c problem, for the host's own reference.
#[derive(Clone, Copy)]
struct Mm {
    i: usize,
    j: usize,
    k: usize,
    ta: bool,
    tb: bool,
    /// 0 none, 1 int32 per row, 2 repeating int32 row, 3 int8 per row.
    bias: u8,
    relu: bool,
    scale: f32,
    full_c: bool,
}

impl Mm {
    /// The checksum lib_matmul.c prints, computed from the same data on the host.
    fn checksum(&self) -> String {
        let mut g = Lcg::new();
        let (a_rows, a_stride) = if self.ta {
            (self.k, self.i + 3)
        } else {
            (self.i, self.k + 3)
        };
        let (b_rows, b_stride) = if self.tb {
            (self.j, self.k + 5)
        } else {
            (self.k, self.j + 5)
        };
        let d_rows = if self.bias == 2 { 1 } else { self.i };
        let d_stride = self.j + 1;
        let a: Vec<i8> = (0..a_rows * a_stride).map(|_| g.rand8()).collect();
        let b: Vec<i8> = (0..b_rows * b_stride).map(|_| g.rand8()).collect();
        let d: Vec<i32> = (0..d_rows * d_stride)
            .map(|_| {
                let v = i32::from(g.rand8());
                if self.bias == 3 {
                    v
                } else {
                    v * 300
                }
            })
            .collect();
        let mut out = Vec::new();
        for i in 0..self.i {
            for j in 0..self.j {
                let mut s: i32 = match self.bias {
                    0 => 0,
                    2 => d[j],
                    _ => d[i * d_stride + j],
                };
                for k in 0..self.k {
                    let av = if self.ta {
                        a[k * a_stride + i]
                    } else {
                        a[i * a_stride + k]
                    };
                    let bv = if self.tb {
                        b[j * b_stride + k]
                    } else {
                        b[k * b_stride + j]
                    };
                    s = s.wrapping_add(i32::from(av) * i32::from(bv));
                }
                if self.full_c {
                    out.extend(s.to_le_bytes());
                } else {
                    out.push(arith::acc_scale_to_i8(s, self.relu, self.scale.to_bits()) as u8);
                }
            }
        }
        format!("C checksum {:08x}", fnv(&out))
    }
}

fn dims(i: usize, j: usize, k: usize) -> Vec<String> {
    vec![format!("MI={i}"), format!("MJ={j}"), format!("MK={k}")]
}

fn with(mut base: Vec<String>, more: &[&str]) -> Vec<String> {
    base.extend(more.iter().map(|s| s.to_string()));
    base
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn cpu_issued_ws_matmul_matches_on_both_engines_and_the_host() {
    // Bias per row, ReLU, a scale: one auto tile.
    let d = with(
        dims(40, 30, 50),
        &["TYPE=WS_CPU_ISSUED", "BIAS=1", "ACT=RELU", "SCALE=0.0625f"],
    );
    let got = run_both("lib_matmul.c", &strs(&d));
    let want = Mm {
        i: 40,
        j: 30,
        k: 50,
        ta: false,
        tb: false,
        bias: 1,
        relu: true,
        scale: 0.0625,
        full_c: false,
    };
    assert_eq!(got, want.checksum());

    // A transposed, repeating bias; B transposed, int32 C, int8 bias (low_D).
    let d = with(
        dims(20, 36, 24),
        &["TYPE=WS_CPU_ISSUED", "TA=1", "BIAS=2", "SCALE=0.03f"],
    );
    let got = run_both("lib_matmul.c", &strs(&d));
    let want = Mm {
        i: 20,
        j: 36,
        k: 24,
        ta: true,
        bias: 2,
        relu: false,
        scale: 0.03,
        ..want
    };
    assert_eq!(got, want.checksum());
    let d = with(
        dims(33, 17, 70),
        &["TYPE=WS_CPU_ISSUED", "TB=1", "BIAS=3", "FULLC=1"],
    );
    let got = run_both("lib_matmul.c", &strs(&d));
    let want = Mm {
        i: 33,
        j: 17,
        k: 70,
        ta: false,
        tb: true,
        bias: 3,
        full_c: true,
        ..want
    };
    assert_eq!(got, want.checksum());
}

#[test]
fn cpu_issued_ws_matmul_with_many_outer_tiles() {
    // Explicit small tiles: several i0/j0/k0 tiles (accumulation across k0, alternating halves), and the
    // two reuse cases (one k tile: A reused across j0; one j and one k tile: B reused across i0).
    for (shape, tiles) in [
        ((50, 40, 60), ["TI=1", "TJ=1", "TK=1"]),
        ((50, 40, 30), ["TI=2", "TJ=1", "TK=2"]),
        ((40, 50, 20), ["TI=1", "TJ=2", "TK=2"]),
        ((50, 20, 20), ["TI=1", "TJ=2", "TK=2"]),
    ] {
        let d = with(
            dims(shape.0, shape.1, shape.2),
            &["TYPE=WS_CPU_ISSUED", "BIAS=1", "SCALE=0.05f"],
        );
        let d = with(d, &tiles);
        run_both("lib_matmul.c", &strs(&d));
    }
    // mvin scales and transposes with tiles, on the functional model only (cheap).
    for more in [
        &["TA=1", "TI=1", "TJ=2", "TK=1", "ASCALE=0.5f", "BSCALE=1.5f"][..],
        &["TB=1", "TI=2", "TJ=1", "TK=1", "ACT=RELU", "BIAS=2"][..],
        &["FULLC=1", "TI=1", "TJ=1", "TK=2"][..],
    ] {
        let d = with(dims(45, 35, 55), &["TYPE=WS_CPU_ISSUED", "SCALE=0.04f"]);
        let d = with(d, more);
        run("lib_matmul.c", &strs(&d), Engine::Spec);
    }
    // A larger problem with auto tiles (K > 51 blocks: two k tiles).
    let d = with(dims(100, 90, 900), &["TYPE=WS_CPU_ISSUED", "SCALE=0.01f"]);
    run("lib_matmul.c", &strs(&d), Engine::Spec);
}

#[test]
fn os_matmul_matches_on_both_engines() {
    let d = with(
        dims(40, 30, 50),
        &["TYPE=OS", "BIAS=1", "ACT=RELU", "SCALE=0.0625f"],
    );
    run_both("lib_matmul.c", &strs(&d));
    let d = with(dims(24, 20, 36), &["TYPE=OS", "TA=1", "TB=1", "FULLC=1"]);
    let got = run_both("lib_matmul.c", &strs(&d));
    let want = Mm {
        i: 24,
        j: 20,
        k: 36,
        ta: true,
        tb: true,
        bias: 0,
        relu: false,
        scale: 1.0,
        full_c: true,
    };
    assert_eq!(got, want.checksum());
    let d = with(
        dims(50, 40, 60),
        &["TYPE=OS", "TA=1", "BIAS=2", "TI=1", "TJ=2", "TK=1"],
    );
    run("lib_matmul.c", &strs(&d), Engine::Spec);
}

/// The convolution workloads' layout: input already padded (padding 0), 3x3, stride 1, int32 bias.
fn prepadded_conv_checksum(batch: usize, pq: usize, c: usize, k: usize) -> String {
    let mut g = Lcg::new();
    let n = pq + 2;
    let inp: Vec<i8> = (0..batch * n * n * c).map(|_| g.rand8()).collect();
    let w: Vec<i8> = (0..9 * c * k).map(|_| g.rand8()).collect();
    let bias: Vec<i32> = (0..k).map(|_| i32::from(g.rand8()) * 300).collect();
    let mut out = Vec::new();
    for b in 0..batch {
        for y in 0..pq {
            for x in 0..pq {
                for o in 0..k {
                    let mut s = bias[o];
                    for r in 0..3 {
                        for q in 0..3 {
                            for ch in 0..c {
                                let iv = inp[((b * n + y + r) * n + x + q) * c + ch];
                                let wv = w[((r * 3 + q) * c + ch) * k + o];
                                s += i32::from(iv) * i32::from(wv);
                            }
                        }
                    }
                    out.push(arith::acc_scale_to_i8(s, false, 0.02f32.to_bits()) as u8);
                }
            }
        }
    }
    format!("C checksum {:08x}", fnv(&out))
}

#[test]
fn cpu_issued_conv_matches_on_both_engines_and_the_host() {
    // The workloads' form: pre-padded input, padding 0.
    let got = run_both(
        "lib_conv.c",
        &[
            "TYPE=WS_CPU_ISSUED",
            "BATCH=2",
            "IN=10",
            "CIN=16",
            "COUT=16",
            "KDIM=3",
            "STRIDE=1",
            "PAD=0",
            "SCALE=0.02f",
        ],
    );
    assert_eq!(got, prepadded_conv_checksum(2, 8, 16, 16));
    // Several tiles (output channels split: double-buffered halves, the next tile's loads between the
    // current tile's products), and kernel-channel tiles accumulating across tiles, with padding.
    for d in [
        &["BATCH=2", "IN=10", "CIN=16", "COUT=48", "PAD=1", "STRIDE=1"][..],
        &["BATCH=2", "IN=8", "CIN=512", "COUT=16", "PAD=1", "STRIDE=1"][..],
        // stride 2: the A stride of config_ex
        &["BATCH=1", "IN=11", "CIN=24", "COUT=20", "PAD=1", "STRIDE=2"][..],
    ] {
        let mut v = vec!["TYPE=WS_CPU_ISSUED", "KDIM=3", "SCALE=0.01f"];
        v.extend_from_slice(d);
        run_both("lib_conv.c", &v);
    }
    // Padding 1, channel counts that are not multiples of DIM, ReLU.
    run_both(
        "lib_conv.c",
        &[
            "TYPE=WS_CPU_ISSUED",
            "BATCH=2",
            "IN=6",
            "CIN=20",
            "COUT=18",
            "KDIM=3",
            "STRIDE=1",
            "PAD=1",
            "ACT=RELU",
            "SCALE=0.02f",
        ],
    );
}

#[test]
fn cpu_issued_conv_variants_on_the_functional_model() {
    for d in [
        // stride 2 with padding, no bias
        &[
            "BATCH=2", "IN=9", "CIN=8", "COUT=24", "KDIM=3", "STRIDE=2", "PAD=1", "NOBIAS=1",
        ][..],
        // 1x1 kernel
        &[
            "BATCH=1", "IN=7", "CIN=40", "COUT=20", "KDIM=1", "STRIDE=1", "PAD=0",
        ][..],
        // large enough to need several tiles (accumulator budget), with padding
        &[
            "BATCH=2", "IN=14", "CIN=24", "COUT=40", "KDIM=3", "STRIDE=1", "PAD=1",
        ][..],
        // many input channels: kernel-channel tiles accumulate across tiles
        &[
            "BATCH=1", "IN=12", "CIN=300", "COUT=16", "KDIM=3", "STRIDE=1", "PAD=1",
        ][..],
    ] {
        let mut v = vec!["TYPE=WS_CPU_ISSUED", "SCALE=0.01f"];
        v.extend_from_slice(d);
        run("lib_conv.c", &v, Engine::Spec);
    }
}

#[test]
fn cpu_issued_resadd_matches_on_both_engines() {
    let d = [
        "MI=40",
        "MJ=50",
        "TYPE=WS_CPU_ISSUED",
        "RELU_ON=1",
        "ASCALE=0.5f",
        "BSCALE=2.0f",
        "CSCALE=0.75f",
    ];
    run_both("lib_resadd.c", &d);
    let d = [
        "MI=70",
        "MJ=600",
        "TYPE=WS_CPU_ISSUED",
        "ASCALE=1.0f",
        "BSCALE=1.0f",
        "CSCALE=1.0f",
    ];
    run("lib_resadd.c", &d, Engine::Spec);
}

#[test]
fn cpu_issued_paths_work_for_other_array_sizes() {
    // DIM 8 and 32 change the block sizes, MAX_BLOCK_LEN and the budgets; the functional model follows
    // the configuration (the RTL is built for the default one).
    for (dim, bits) in [(8, 20), (32, 21)] {
        let text = DEFAULT_CONFIG_TOML
            .replace("dim = 16", &format!("dim = {dim}"))
            .replace(
                "spatial_output_bits = 20",
                &format!("spatial_output_bits = {bits}"),
            );
        let cfg = HwConfig::from_toml_str(&text, "dim.toml").expect("config");
        assert_eq!(cfg.dim(), dim, "the default configuration's text changed");
        for d in [
            &[
                "TYPE=WS_CPU_ISSUED",
                "MI=40",
                "MJ=30",
                "MK=50",
                "BIAS=1",
                "ACT=RELU",
                "SCALE=0.0625f",
            ][..],
            &[
                "TYPE=OS", "MI=40", "MJ=30", "MK=50", "TA=1", "TB=1", "FULLC=1",
            ][..],
            &[
                "TYPE=WS_CPU_ISSUED",
                "MI=100",
                "MJ=90",
                "MK=300",
                "TB=1",
                "BIAS=3",
            ][..],
        ] {
            run_on(&cfg, "lib_matmul.c", d, Engine::Spec);
        }
        let conv = [
            "TYPE=WS_CPU_ISSUED",
            "BATCH=2",
            "IN=10",
            "CIN=20",
            "COUT=40",
            "KDIM=3",
            "STRIDE=1",
            "PAD=1",
        ];
        run_on(&cfg, "lib_conv.c", &conv, Engine::Spec);
        let resadd = [
            "TYPE=WS_CPU_ISSUED",
            "MI=40",
            "MJ=50",
            "ASCALE=0.5f",
            "BSCALE=2.0f",
            "CSCALE=0.75f",
            "RELU_ON=1",
        ];
        run_on(&cfg, "lib_resadd.c", &resadd, Engine::Spec);
    }
}

#[test]
fn unsupported_calls_are_refused() {
    let r = run("lib_errors.c", &[], Engine::Spec);
    for what in [
        "WS cannot transpose both",
        "pooling",
        "OS cannot transpose B",
        "stride is shorter",
        "does not fit the",
        "more than the",
        "not supported",
        "rectangular convolutions (input 8x6, output 4x3)",
        "in_stride 8 for 16 input channels",
        "output 5x5 does not fit",
    ] {
        assert!(r.stdout.contains(what), "{what}: {}", r.stdout);
    }
}

#[test]
fn library_candidates_pass_the_workload_protocol() {
    // The library called from a candidate: compiled with the force-included header, linked with the
    // harness (which includes it too), screened on fresh inputs on the spec engine, run on the RTL.
    for (w, file) in [
        ("gemm_64x48x80", "lib_candidate_gemm.c"),
        ("conv_b1_8x16", "lib_candidate_conv.c"),
    ] {
        let wl = workload::by_name(w).expect("workload exists");
        let opts = EvalOpts {
            screen_runs: 2,
            ..EvalOpts::default()
        };
        let v = evaluate(&HwConfig::default_config(), &wl, &program(file), &opts);
        assert!(v.correct, "{w}: {v:#?}");
        assert!(
            v.cycles.expect("rtl cycles") > v.ideal_cycles,
            "{w}: {v:#?}"
        );
    }
}

#[test]
fn loop_ws_matmul_matches_on_both_engines() {
    let d = with(
        dims(40, 30, 50),
        &["TYPE=WS", "BIAS=1", "ACT=RELU", "SCALE=0.0625f"],
    );
    run_both("lib_matmul.c", &strs(&d));
    for more in [
        &["TA=1", "BIAS=2"][..],
        &["TB=1", "BIAS=3", "FULLC=1"][..],
        &["TI=1", "TJ=1", "TK=1", "BIAS=1"][..],
        &["TI=2", "TJ=1", "TK=2"][..],
        &["TI=1", "TJ=2", "TK=4"][..],
    ] {
        let d = with(dims(50, 40, 60), &["TYPE=WS", "SCALE=0.05f"]);
        run_both("lib_matmul.c", &strs(&with(d, more)));
    }
}

#[test]
fn loop_conv_ws_matches_on_both_engines() {
    for d in [
        &[
            "BATCH=2", "IN=10", "CIN=16", "COUT=16", "KDIM=3", "STRIDE=1", "PAD=0",
        ][..],
        &[
            "BATCH=2", "IN=6", "CIN=20", "COUT=18", "KDIM=3", "STRIDE=1", "PAD=1", "ACT=RELU",
        ][..],
        &[
            "BATCH=2", "IN=9", "CIN=8", "COUT=24", "KDIM=3", "STRIDE=2", "PAD=1", "NOBIAS=1",
        ][..],
    ] {
        let mut v = vec!["TYPE=WS", "SCALE=0.02f"];
        v.extend_from_slice(d);
        run_both("lib_conv.c", &v);
    }
}

#[test]
fn loop_ws_resadd_matches_on_both_engines() {
    let d = [
        "MI=40",
        "MJ=50",
        "TYPE=WS",
        "RELU_ON=1",
        "ASCALE=0.5f",
        "BSCALE=2.0f",
        "CSCALE=0.75f",
    ];
    run_both("lib_resadd.c", &d);
}

/// The Gemmini entry points over the whole LOOP_CONV_WS feature space (tests/programs/lib_conv_x.c): each
/// call equals its CPU reference inside the program (Gemmini's conv_cpu semantics), and both engines agree.
#[test]
fn loop_conv_ws_feature_space_matches_on_both_engines() {
    let base = [
        "BATCH=2", "IN=9", "CIN=20", "COUT=18", "KDIM=3", "STRIDE=1", "PAD=1",
    ];
    let cases: &[&[&str]] = &[
        // max-pooling (stride 2, padding 1), then with stride-2 convolution
        &["PSIZE=3", "PSTRIDE=2", "PPAD=1"],
        &["STRIDE=2", "PSIZE=2", "PSTRIDE=2", "PPAD=0"],
        &["KDIL=2", "PAD=2"],
        &["IDIL=2", "ROT=1"],
        &["ROT=1", "TOUT=1"],
        &["TIN=1", "TW1203=1"],
        &["TW0132=1", "STRIDE=3"],
        &["MODE=1", "STRIDE=2"],
        &["MODE=1", "PSIZE=3", "PSTRIDE=2", "PPAD=1"],
        &["MODE=2", "IN=8"],
        // an odd input with a cropped output, no activation, channels that pad the blocks
        &["MODE=2", "IN=9", "ACT=NO_ACTIVATION", "CIN=40", "COUT=70"],
        &["MODE=3", "IN=4"],
    ];
    for more in cases {
        let mut d: Vec<&str> = base.to_vec();
        for m in more.iter() {
            let key = m.split('=').next().unwrap_or_default();
            d.retain(|x| !x.starts_with(&format!("{key}=")));
            d.push(m);
        }
        run_both("lib_conv_x.c", &d);
    }
}

/// Gemmini's normalizer end to end (tests/programs/norm_matmul.c): one LOOP_WS with LayerNorm, iGELU or
/// Softmax, checked inside the program against Gemmini's integer arithmetic, on both engines, which must
/// also agree on the result. Shapes with padded rows and columns, several row pairs and DMA rows per row.
#[test]
fn normalizer_loop_ws_end_to_end() {
    for (act, shape) in [
        ("2", ["MI=20", "MJ=70", "MK=40"]),
        ("4", ["MI=31", "MJ=66", "MK=30"]),
        ("3", ["MI=17", "MJ=33", "MK=18"]),
        ("2", ["MI=3", "MJ=16", "MK=16"]),
    ] {
        let act_def = format!("ACT={act}");
        let mut defines: Vec<&str> = shape.to_vec();
        defines.push(&act_def);
        run_both("norm_matmul.c", &defines);
    }
    // a read-out scale folds into the reciprocals
    run_both(
        "norm_matmul.c",
        &["MI=9", "MJ=40", "MK=20", "ACT=2", "CSCALE=8.0f"],
    );
    run_both(
        "norm_matmul.c",
        &["MI=9", "MJ=40", "MK=20", "ACT=4", "CSCALE=0.5f"],
    );
}

/// tiled_norm_auto (tests/programs/norm_rows.c): LayerNorm and Softmax of int32 rows on the normalizer against
/// the library's CPU reference, on both engines: rows of 1 to 3 DMA rows, with padding, several row tiles.
#[test]
fn tiled_norm_auto_matches_cpu_reference() {
    for defines in [
        ["NI=35", "NJ=70", "ACT=2", "CSCALE=1.0f"],
        ["NI=35", "NJ=70", "ACT=4", "CSCALE=1.0f"],
        ["NI=5", "NJ=200", "ACT=2", "CSCALE=4.0f"],
        ["NI=17", "NJ=16", "ACT=4", "CSCALE=0.5f"],
    ] {
        run_both("norm_rows.c", &defines);
    }
}
