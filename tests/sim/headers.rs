//! The target headers against the Rust ISA module and arithmetic.
//!
//! - Encodings: `sim/target/tests/all_macros.c` calls every macro and function of `gemmini.h` (both the
//!   Gemmini macro API and the short-form API). Compiled for the host with `-DGEMMINI_HOST_CAPTURE`, each
//!   instruction is recorded as (xd, funct, rs1, rs2) and must equal the encoding built with `gemforge::sim::isa`
//!   (the loop-FSM words, which `isa` does not model field by field, are built here from the spec tables).
//!   Compiled for the hart, the custom-3 words of `all_macros` must carry the same funct7 sequence, with
//!   funct3 = 3 / rd = x0 for commands and funct3 = 7 / rd != x0 for the counter command.
//! - Arithmetic: `MVIN_SCALE`, `ACC_SCALE` and `ROUNDING_RIGHT_SHIFT` of the generated `gemmini_params.h`
//!   agree with `gemforge::sim::accel::arith` on extremes, NaN/infinite scales and every shift.

use gemforge::sim::accel::arith;
use gemforge::sim::config::HwConfig;
use gemforge::sim::isa::{
    Command, ConfigEx, ConfigLd, ConfigSt, CounterOp, Funct, LocalAddr, Operand, RoccCmd, SCALE_ONE,
};
use gemforge::sim::toolchain::Toolchain;
use std::fs;
use std::path::PathBuf;
use std::process::Command as Proc;

const DRAM: u64 = 0x8000_1000;
const N: u64 = 3;
/// The host capture's marker for a fence.
const FENCE: u32 = 0xfff;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("gemforge-hdr-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Compiles C for the host with the bundled include dir and the generated params; returns stdout.
fn host_run(dir: &TempDir, sources: &[PathBuf], defines: &[&str]) -> String {
    let params = dir.write(
        "gen/gemmini_params.h",
        &HwConfig::default_config().gemmini_params_h(),
    );
    let exe = dir.0.join("a.out");
    let out = Proc::new("cc")
        .args(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror"])
        .args(defines)
        .arg("-I")
        .arg(params.parent().unwrap())
        .arg("-I")
        .arg(repo().join("sim/target/include"))
        .args(sources)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("host C compiler `cc`");
    assert!(
        out.status.success(),
        "host compile failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Proc::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout).unwrap()
}

fn op(addr: u32, cols: u16, rows: u16) -> Operand {
    Operand::new(LocalAddr(addr), cols, rows)
}
fn raw(funct: u8, rs1: u64, rs2: u64) -> RoccCmd {
    RoccCmd { funct, rs1, rs2 }
}
fn f(x: f32) -> u32 {
    x.to_bits()
}

/// One instruction all_macros() issues.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Exp {
    /// A RoCC command; `xd` = it returns a value (the counter command).
    Cmd {
        xd: bool,
        cmd: RoccCmd,
    },
    Fence,
}

impl Exp {
    fn funct(&self) -> u32 {
        match self {
            Exp::Cmd { cmd, .. } => cmd.funct as u32,
            Exp::Fence => FENCE,
        }
    }
}

/// The instructions all_macros() must issue, in order.
fn expected() -> Vec<Exp> {
    const G: u32 = 0xffff_ffff;
    let d = DRAM;
    let mut v: Vec<Exp> = Vec::new();
    let mut c = |cmd: Command| {
        v.push(Exp::Cmd {
            xd: matches!(cmd, Command::Counter(_)),
            cmd: cmd.encode(),
        })
    };
    let mvin = |state: u8, dram: u64, o: Operand| Command::Mvin { state, dram, op: o };
    let ex = |dataflow,
              act,
              set_only_strides,
              a_transpose,
              b_transpose,
              a_stride,
              acc_scale,
              in_shift,
              c_stride| {
        Command::ConfigEx(ConfigEx {
            dataflow,
            act,
            set_only_strides,
            a_transpose,
            b_transpose,
            a_stride,
            acc_scale,
            in_shift,
            c_stride,
        })
    };
    let ld = |shrink, state_id, pixel_repeats, block_stride, scale, stride| {
        Command::ConfigLd(ConfigLd {
            shrink,
            state_id,
            pixel_repeats,
            block_stride,
            scale,
            stride,
        })
    };
    // data movement
    c(mvin(0, d, op(0x123, 48, 13)));
    c(mvin(1, d + 64, op(0x8000_0040, 16, 7)));
    c(mvin(2, d + 128, op(0xC000_0011, 8, 3)));
    c(mvin(0, d + 256, op(0x200, 16, 16)));
    c(mvin(0, d + 512, op(0x300, 48, 16)));
    c(Command::Mvout {
        dram: d + 1024,
        op: op(0xA000_0005, 16, 9),
    });
    c(Command::Mvout {
        dram: d + 2048,
        op: op(0x8000_0100, 16, 16),
    });
    c(mvin(0, 0, op(0x3ff0, 64, 16)));
    // execute
    c(Command::Preload {
        bd: op(0x400, 15, 14),
        c: op(0x8000_0020, 13, 12),
    });
    c(Command::Preload {
        bd: op(0x410, 16, 16),
        c: op(0xC000_0030, 16, 16),
    });
    c(Command::Preload {
        bd: op(G, 16, 16),
        c: op(0x8000_0050, 16, 16),
    });
    c(Command::Compute {
        flip: true,
        a: op(0x500, 11, 10),
        bd: op(0x600, 9, 8),
    });
    c(Command::Compute {
        flip: false,
        a: op(0x510, 7, 6),
        bd: op(G, 5, 4),
    });
    c(Command::Compute {
        flip: true,
        a: op(0x520, 16, 16),
        bd: op(0x620, 16, 16),
    });
    c(Command::Compute {
        flip: false,
        a: op(0x530, 16, 16),
        bd: op(G, 16, 16),
    });
    // config_ex
    c(ex(0, 1, false, true, false, 2, f(0.5), 7, 3));
    c(ex(1, 0, true, false, true, 9, f(1.0), 0, 5));
    c(ex(1, 1, false, true, false, 4, SCALE_ONE, 3, 1));
    c(ex(0, 0, false, false, true, 1, SCALE_ONE, 12, 1));
    c(ex(1, 1, false, false, false, 1, SCALE_ONE, 5, 1));
    // config_ld
    c(ld(true, 2, 3, 40, f(0.25), 1234));
    c(ld(false, 1, 1, 20, f(2.0), 256));
    c(ld(true, 2, 1, 16, f(1.5), 128));
    c(ld(true, 0, 1, 16, f(0.75), 64));
    c(ld(false, 0, 1, 16, f(3.0), 32));
    c(ld(false, 0, 1, 16, SCALE_ONE, 16));
    // config_st, config_norm, flush
    c(Command::ConfigSt(ConfigSt {
        act: 1,
        pool_stride: 2,
        pool_size: 3,
        upad: 1,
        lpad: 1,
        pool_out_dim: 7,
        porows: 3,
        pocols: 4,
        orows: 8,
        ocols: 9,
        stride: 400,
        acc_scale: f(0.125),
    }));
    c(Command::ConfigSt(ConfigSt {
        act: 1,
        acc_scale: f(0.5),
        ..ConfigSt::new(200)
    }));
    c(Command::ConfigSt(ConfigSt::new(100)));
    c(Command::ConfigNorm {
        rs1: 3 | (0x5a << 8) | (1 << 16) | (1 << 17) | (1 << 18) | (0x1234_5678 << 32),
        rs2: 0x9abc_def0 | (0x0fed_cba9 << 32),
    });
    c(Command::Flush { skip: true });
    c(Command::Flush { skip: false });
    // counters
    c(Command::Counter(CounterOp::read(5)));
    c(Command::Counter(CounterOp::configure_code(3, 49)));
    c(Command::Counter(CounterOp::configure_code(6, 18)));
    c(Command::Counter(CounterOp {
        snapshot_take: true,
        ..Default::default()
    }));
    c(Command::Counter(CounterOp {
        snapshot_reset: true,
        ..Default::default()
    }));
    c(Command::Counter(CounterOp {
        reset: true,
        ..Default::default()
    }));
    c(Command::Counter(CounterOp {
        index: 7,
        snapshot_take: true,
        ..Default::default()
    }));
    // loop FSMs: spec 1.4 tables (isa.rs carries these only as funct codes)
    let loops = [
        raw(9, 1 | (2 << 16) | (3 << 32), 5 | (6 << 16) | (7 << 32)),
        raw(10, d + 0x100, d + 0x200),
        raw(11, d + 0x300, d + 0x400),
        raw(12, 64, 96),
        raw(13, 128, 160),
        raw(
            8,
            1 | (1 << 1) | (1 << 8) | (1 << 16) | (2 << 18),
            1 | (1 << 2),
        ),
        raw(
            16,
            2 | (17 << 16) | (18 << 32) | (21 << 48),
            9 | (5 << 16) | (10 << 32) | (2 << 48) | (1 << 56),
        ),
        raw(
            17,
            1 | (2 << 8) | (3 << 16) | (6 << 32) | (3 << 48),
            16 | (5 << 16) | (4 << 32) | (2 << 48),
        ),
        raw(
            18,
            1 | (18 << 16) | (3 << 32) | (3 << 48),
            19 | (5 << 16) | (4 << 24) | (3 << 32) | (2 << 48),
        ),
        raw(
            19,
            1 | (8 << 10) | (7 << 21) | (6 << 32) | (11 << 48),
            12 | (22 << 16) | (21 << 32) | (18 << 48),
        ),
        raw(20, d + 0x1000, d + 0x2000),
        raw(21, d + 0x3000, d + 0x4000),
        raw(
            15,
            1 | (1 << 1) | (1 << 2) | (1 << 4) | (1 << 6) | (13 << 8) | (2 << 16) | (1 << 18),
            (1 << 1) | (1 << 2) | (1 << 3),
        ),
    ];
    for l in loops {
        assert!(
            matches!(Command::decode(l), Command::Loop(f) if f as u8 == l.funct),
            "{l}"
        );
        v.push(Exp::Cmd { xd: false, cmd: l });
    }
    let mut c = |cmd: Command| {
        v.push(Exp::Cmd {
            xd: false,
            cmd: cmd.encode(),
        })
    };
    // the short-form API
    c(ex(1, 1, false, false, true, 3, SCALE_ONE, 0, 1));
    c(ld(false, 1, 1, 24, f(0.5), 512));
    c(Command::ConfigSt(ConfigSt::new(300)));
    c(mvin(0, d + 8, op(0x10, 40, 5)));
    c(mvin(1, d + 16, op(0x8000_0010, 16, 4)));
    c(mvin(2, d + 24, op(0x20, 8, 2)));
    c(Command::Preload {
        bd: op(0x30, 16, 15),
        c: op(0x8000_0040, 14, 13),
    });
    c(Command::Compute {
        flip: true,
        a: op(0x40, 12, 11),
        bd: op(G, 10, 9),
    });
    c(Command::Compute {
        flip: false,
        a: op(0x50, 8, 7),
        bd: op(0x60, 6, 5),
    });
    c(Command::Mvout {
        dram: d + 32,
        op: op(0x8000_0070, 16, 3),
    });
    v.push(Exp::Fence); // fence()
    v.push(Exp::Fence); // gemmini_fence()
                        // run-time arguments
    let n = N as u32;
    let mut c = |cmd: Command| {
        v.push(Exp::Cmd {
            xd: false,
            cmd: cmd.encode(),
        })
    };
    c(mvin(0, d, op(n, n as u16, n as u16 + 1)));
    c(ld(false, 3, 1, n as u16, SCALE_ONE, N * 16));
    v
}

const CAPTURE_MAIN: &str = r#"
#include <stdio.h>
#include <stdint.h>
uint64_t gemmini_host_capture(int xd, unsigned funct, uint64_t rs1, uint64_t rs2) {
    printf("%d %u %llx %llx\n", xd, funct, (unsigned long long)rs1, (unsigned long long)rs2);
    return 0x5eed0000u + funct;
}
uint64_t read_cycles(void) { return 0; }
void all_macros(uint64_t dram, int n);
int main(void) { all_macros(0x80001000u, 3); return 0; }
"#;

/// (xd, funct, rs1, rs2) as the host build of all_macros() issued them.
fn captured() -> Vec<(bool, u32, u64, u64)> {
    let dir = TempDir::new("capture");
    let main = dir.write("main.c", CAPTURE_MAIN);
    let text = host_run(
        &dir,
        &[repo().join("sim/target/tests/all_macros.c"), main],
        &["-DGEMMINI_HOST_CAPTURE"],
    );
    text.lines()
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (
                p[0] == "1",
                p[1].parse().unwrap(),
                u64::from_str_radix(p[2], 16).unwrap(),
                u64::from_str_radix(p[3], 16).unwrap(),
            )
        })
        .collect()
}

#[test]
fn header_encodings_match_isa() {
    let got = captured();
    let want = expected();
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        match w {
            Exp::Fence => assert_eq!(g.1, FENCE, "instruction {i}: expected a fence, got {g:x?}"),
            Exp::Cmd { xd, cmd } => {
                let gc = RoccCmd {
                    funct: g.1 as u8,
                    rs1: g.2,
                    rs2: g.3,
                };
                assert_eq!(
                    (g.0, g.1, g.2, g.3),
                    (*xd, cmd.funct as u32, cmd.rs1, cmd.rs2),
                    "instruction {i}: header issued {gc}, isa encodes {cmd}"
                );
                // The decoder agrees: decoding and re-encoding gives the same words (for the non-loop
                // commands, whose fields isa.rs models).
                if !matches!(Command::decode(*cmd), Command::Loop(_)) {
                    assert_eq!(Command::decode(*cmd).encode(), *cmd, "instruction {i}");
                }
            }
        }
    }
    assert_eq!(got.len(), want.len(), "number of instructions");
    assert_eq!(
        want.iter().filter(|w| matches!(w, Exp::Cmd { .. })).count() + 2,
        want.len()
    );
    assert!(Funct::from_u8(126).is_some());
}

#[test]
fn target_build_issues_the_same_instruction_sequence() {
    let dir = TempDir::new("target");
    let main = dir.write(
        "main.c",
        "#include \"gemmini.h\"\n\
         void all_macros(uint64_t dram, int n);\n\
         int main(void) { uint64_t t0 = read_cycles(); all_macros(0x80001000u, 3);\n\
         return (int)(read_cycles() - t0); }\n",
    );
    let tc = Toolchain::new()
        .expect("riscv64-unknown-elf-gcc (scripts/setup.sh)")
        .with_cache_dir(dir.0.join("cache"))
        .with_extra_args(["-Wall", "-Wextra", "-Werror"]);
    let elf = tc
        .compile(
            &[repo().join("sim/target/tests/all_macros.c"), main],
            &[],
            &[],
            &HwConfig::default_config(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let words = |name: &str| -> Vec<u32> {
        let s = elf.symbols.iter().find(|s| s.name == name).unwrap();
        let seg = elf
            .segments
            .iter()
            .find(|g| g.vaddr <= s.addr && s.addr + s.size <= g.vaddr + g.data.len() as u64)
            .unwrap();
        let off = (s.addr - seg.vaddr) as usize;
        // The 32-bit instructions, walking by instruction length (the default rv64gc build mixes in
        // 16-bit compressed ones, whose low two bits are not 11).
        let code = &seg.data[off..off + s.size as usize];
        let mut out = Vec::new();
        let mut i = 0;
        while i + 2 <= code.len() {
            if code[i] & 3 != 3 {
                i += 2;
                continue;
            }
            let w = &code[i..i + 4];
            out.push(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            i += 4;
        }
        out
    };
    // (funct7 or FENCE) of each custom-3 instruction and fence, in program order.
    let mut seq = Vec::new();
    for w in words("all_macros") {
        let opcode = w & 0x7f;
        if opcode == 0x7b {
            let funct3 = (w >> 12) & 7;
            let rd = (w >> 7) & 0x1f;
            let funct7 = w >> 25;
            if funct7 == 126 {
                assert_eq!(funct3, 7, "counter command without xd: 0x{w:08x}");
                assert_ne!(rd, 0, "counter command with rd = x0: 0x{w:08x}");
            } else {
                assert_eq!(funct3, 3, "command with funct3 {funct3}: 0x{w:08x}");
                assert_eq!(rd, 0, "command with rd != x0: 0x{w:08x}");
            }
            seq.push(funct7);
        } else if opcode == 0x0f && (w >> 12) & 7 == 0 {
            assert_eq!(w, 0x0ff0_000f, "fence iorw,iorw expected");
            seq.push(FENCE);
        }
    }
    let want: Vec<u32> = expected().iter().map(Exp::funct).collect();
    assert_eq!(seq, want);
    // read_cycles() is `rdcycle` = csrrs rd, cycle (0xc00), x0.
    let rdcycles = words("main")
        .into_iter()
        .filter(|w| w & 0xffff_f07f == 0xc000_2073 && (w >> 7) & 0x1f != 0)
        .count();
    assert_eq!(rdcycles, 2);
}

#[test]
fn short_api_can_be_disabled() {
    let dir = TempDir::new("noshort");
    let src = dir.write(
        "p.c",
        "#include \"gemmini.h\"\n\
         static int mvin(int x) { return x; }\n\
         static void fence(void) {}\n\
         int main(void) { fence(); gemmini_fence(); return mvin(0) + DIM - 16; }\n\
         uint64_t gemmini_host_capture(int xd, unsigned funct, uint64_t rs1, uint64_t rs2) {\n\
         (void)xd; (void)funct; (void)rs1; (void)rs2; return 0; }\n",
    );
    host_run(
        &dir,
        &[src],
        &["-DGEMMINI_HOST_CAPTURE", "-DGEMMINI_NO_SHORT_API"],
    );
}

/// Deterministic pseudo-random values.
fn lcg(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 11
        })
        .collect()
}

#[test]
fn params_arithmetic_matches_the_accelerator() {
    let scales: Vec<u32> = [
        1.0f32,
        0.5,
        1.5,
        2.5,
        0.1,
        3.7,
        1e-3,
        200.0,
        -2.5,
        -0.75,
        0.0,
        -0.0,
        1e10,
        1.0 / 3.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
    ]
    .iter()
    .map(|x| x.to_bits())
    .chain([0x0000_0001, 0x7fc0_1234, 0x3f00_0001])
    .collect();
    let mut acc_xs: Vec<i32> = vec![
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        127,
        128,
        -128,
        -129,
        255,
        256,
        1 << 24,
        (1 << 24) + 1,
        (1 << 24) + 3,
        -(1 << 24) - 1,
        i32::MAX,
        i32::MIN,
        i32::MAX - 1,
        i32::MIN + 1,
        0x1234_5678,
        -0x1234_5678,
    ];
    acc_xs.extend(lcg(200, 7).into_iter().map(|v| v as u32 as i32));
    acc_xs.extend(lcg(100, 9).into_iter().map(|v| (v as i32) >> 20));
    let list = |v: Vec<String>| v.join(", ");
    let src = format!(
        r#"#include <stdio.h>
#include "gemmini_params.h"
static const uint32_t scales[] = {{ {scales} }};
static const int32_t accs[] = {{ {accs} }};
int main(void) {{
    for (unsigned s = 0; s < sizeof scales / sizeof scales[0]; s++) {{
        float sc = scale_t_bits_to_scale_t(scales[s]);
        for (int x = -128; x <= 127; x++) printf("m %d\n", (int)MVIN_SCALE((elem_t)x, sc));
        for (unsigned i = 0; i < sizeof accs / sizeof accs[0]; i++)
            printf("a %d\n", (int)ACC_SCALE(accs[i], acc_scale_t_bits_to_acc_scale_t(scales[s])));
    }}
    for (unsigned i = 0; i < sizeof accs / sizeof accs[0]; i++)
        for (int sh = 0; sh < 32; sh++) printf("r %d\n", (int)ROUNDING_RIGHT_SHIFT(accs[i], sh));
    return 0;
}}
"#,
        scales = list(scales.iter().map(|s| format!("0x{s:08x}u")).collect()),
        accs = list(
            acc_xs
                .iter()
                .map(|a| format!("(int32_t){}", *a as i64))
                .collect()
        ),
    );
    let dir = TempDir::new("arith");
    let p = dir.write("arith.c", &src);
    let out = host_run(&dir, &[p], &[]);
    let mut want = Vec::new();
    for &s in &scales {
        for x in -128..=127i32 {
            want.push(format!("m {}", arith::mvin_scale_i8(x as i8, s)));
        }
        for &a in &acc_xs {
            want.push(format!("a {}", arith::acc_scale_to_i8(a, false, s)));
        }
    }
    for &a in &acc_xs {
        for sh in 0..32 {
            want.push(format!("r {}", arith::rshift_rne(a, sh)));
        }
    }
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(g, w, "line {i}");
    }
}

#[test]
fn params_header_compiles_for_every_shipped_config() {
    // Every configuration in rtl/configs/ yields a params header that compiles with gemmini.h.
    for entry in fs::read_dir(repo().join("rtl/configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let cfg = HwConfig::from_file(&path).unwrap();
        let dir = TempDir::new("cfgs");
        let gen = dir.write("gen/gemmini_params.h", &cfg.gemmini_params_h());
        let src = dir.write(
            "p.c",
            "#include \"gemmini.h\"\n\
             _Static_assert(DIM * 4 <= MAX_BYTES * 4, \"dims\");\n\
             int main(void) { return BANK_NUM * BANK_ROWS == GEMMINI_SP_ROWS ? 0 : 1; }\n",
        );
        let out = Proc::new("cc")
            .args(["-std=gnu11", "-Wall", "-Werror", "-fsyntax-only"])
            .arg("-I")
            .arg(gen.parent().unwrap())
            .arg("-I")
            .arg(repo().join("sim/target/include"))
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---- the software library's command streams (host capture) ----------------------------------------

/// Captured commands of a host program, plus the addresses it printed as `P name hex`.
struct Capture {
    cmds: Vec<RoccCmd>,
    /// Index into `cmds` where each fence was issued.
    fences: Vec<usize>,
    ptrs: std::collections::HashMap<String, u64>,
}

/// Compiles `body` (the statements of main, with the library's arrays declared before it) for the host
/// with the capture hook and runs it.
fn capture_lib(tag: &str, decls: &str, body: &str) -> Capture {
    let src = format!(
        r#"#include <stdio.h>
#include "gemmini.h"
uint64_t gemmini_host_capture(int xd, unsigned funct, uint64_t rs1, uint64_t rs2) {{
    printf("%d %u %llx %llx\n", xd, funct, (unsigned long long)rs1, (unsigned long long)rs2);
    return 0;
}}
uint64_t read_cycles(void) {{ return 0; }}
#define P(name) printf("P %s %llx\n", #name, (unsigned long long)(uintptr_t)(name))
{decls}
int main(void) {{
{body}
    return 0;
}}
"#
    );
    let dir = TempDir::new(tag);
    let p = dir.write("lib.c", &src);
    let out = host_run(&dir, &[p], &["-DGEMMINI_HOST_CAPTURE"]);
    let mut c = Capture {
        cmds: Vec::new(),
        fences: Vec::new(),
        ptrs: Default::default(),
    };
    for l in out.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        if f[0] == "P" {
            c.ptrs
                .insert(f[1].to_string(), u64::from_str_radix(f[2], 16).unwrap());
            continue;
        }
        let funct: u32 = f[1].parse().unwrap();
        if funct == FENCE {
            c.fences.push(c.cmds.len());
            continue;
        }
        c.cmds.push(RoccCmd {
            funct: funct as u8,
            rs1: u64::from_str_radix(f[2], 16).unwrap(),
            rs2: u64::from_str_radix(f[3], 16).unwrap(),
        });
    }
    c
}

fn bits(x: u64, lo: u32, width: u32) -> u64 {
    (x >> lo) & ((1u64 << width) - 1)
}

/// One LOOP_WS descriptor as spec 1.4 lays out funct 9-13 then 8.
#[derive(Debug, PartialEq)]
struct LoopWs {
    ijk: (u64, u64, u64),
    pads: (u64, u64, u64),
    a: u64,
    b: u64,
    d: u64,
    c: u64,
    strides: (u64, u64, u64, u64),
    ex_accumulate: bool,
    full_c: bool,
    low_d: bool,
    act: u64,
    b_spad_id: u64,
    a_spad_id: u64,
    a_t: bool,
    b_t: bool,
    is_resadd: bool,
}

fn loop_ws(six: &[RoccCmd]) -> LoopWs {
    let functs: Vec<u8> = six.iter().map(|c| c.funct).collect();
    assert_eq!(functs, [9, 10, 11, 12, 13, 8]);
    let (b, l) = (six[0], six[5]);
    LoopWs {
        ijk: (bits(b.rs2, 0, 16), bits(b.rs2, 16, 16), bits(b.rs2, 32, 16)),
        pads: (bits(b.rs1, 0, 16), bits(b.rs1, 16, 16), bits(b.rs1, 32, 16)),
        a: six[1].rs1,
        b: six[1].rs2,
        d: six[2].rs1,
        c: six[2].rs2,
        strides: (six[3].rs1, six[3].rs2, six[4].rs1, six[4].rs2),
        ex_accumulate: bits(l.rs1, 0, 1) == 1,
        full_c: bits(l.rs1, 1, 1) == 1,
        low_d: bits(l.rs1, 2, 1) == 1,
        act: bits(l.rs1, 8, 3),
        b_spad_id: bits(l.rs1, 16, 2),
        a_spad_id: bits(l.rs1, 18, 2),
        a_t: bits(l.rs2, 0, 1) == 1,
        b_t: bits(l.rs2, 1, 1) == 1,
        is_resadd: bits(l.rs2, 2, 1) == 1,
    }
}

#[test]
fn tiled_matmul_auto_ws_issues_one_loop_ws_per_outer_tile() {
    // 100x90x900 with a bias per row and ReLU: tiles 5x5x51 blocks (the heuristic of spec 5.2), so
    // 2x2x2 outer tiles; the last tiles carry the pads (100 = 7 blocks - 12, 90 = 6 - 6, 900 = 57 - 12).
    let cap = capture_lib(
        "lws",
        "static elem_t A[100][900], B[900][90], C[100][90]; static acc_t D[100][90];",
        "P(A); P(B); P(C); P(D);\n\
         int rc = tiled_matmul_auto(100, 90, 900, &A[0][0], &B[0][0], &D[0][0], &C[0][0], 900, 90, 90, 90,\n\
             1.0f, 1.0f, 1.0f, RELU, 0.25f, 0, false, false, false, false, false, 0, WS);\n\
         if (rc) return 1;",
    );
    let p = |n: &str| cap.ptrs[n];
    // config_ex (WS, no transposes), config_st (C stride 90 bytes, ReLU, scale), A/B/D config_ld.
    let cfg: Vec<Command> = cap.cmds[..5].iter().map(|c| Command::decode(*c)).collect();
    match &cfg[0] {
        Command::ConfigEx(e) => {
            assert!(e.dataflow == 1 && !e.a_transpose && !e.b_transpose && e.a_stride == 1)
        }
        other => panic!("{other:?}"),
    }
    match &cfg[1] {
        Command::ConfigSt(s) => assert!(s.stride == 90 && s.act == 1 && s.acc_scale == f(0.25)),
        other => panic!("{other:?}"),
    }
    for (i, (id, stride)) in [(0u8, 900u64), (1, 90), (2, 360)].into_iter().enumerate() {
        match &cfg[2 + i] {
            Command::ConfigLd(l) => {
                assert_eq!((l.state_id, l.stride, l.shrink), (id, stride, false))
            }
            other => panic!("{other:?}"),
        }
    }
    let loops: Vec<LoopWs> = cap.cmds[5..].chunks(6).map(loop_ws).collect();
    assert_eq!(loops.len(), 8);
    assert_eq!(cap.fences, vec![cap.cmds.len()], "one fence, at the end");
    let mut n = 0;
    for i0 in 0..2u64 {
        for j0 in 0..2u64 {
            for k0 in 0..2u64 {
                let l = &loops[n];
                n += 1;
                let (gi, gj, gk) = (i0 * 80, j0 * 80, k0 * 816);
                let want = LoopWs {
                    ijk: (
                        if i0 == 1 { 2 } else { 5 },
                        if j0 == 1 { 1 } else { 5 },
                        if k0 == 1 { 6 } else { 51 },
                    ),
                    pads: (
                        if i0 == 1 { 12 } else { 0 },
                        if j0 == 1 { 6 } else { 0 },
                        if k0 == 1 { 12 } else { 0 },
                    ),
                    a: p("A") + gi * 900 + gk,
                    b: p("B") + gk * 90 + gj,
                    d: if k0 == 0 {
                        p("D") + (gi * 90 + gj) * 4
                    } else {
                        0
                    },
                    c: if k0 == 1 { p("C") + gi * 90 + gj } else { 0 },
                    strides: (900, 90, 90, 90),
                    ex_accumulate: true,
                    full_c: false,
                    low_d: false,
                    act: 1,
                    b_spad_id: 0,
                    a_spad_id: 0,
                    a_t: false,
                    b_t: false,
                    is_resadd: false,
                };
                assert_eq!(*l, want, "tile ({i0}, {j0}, {k0})");
            }
        }
    }
}

#[test]
fn tiled_matmul_auto_ws_reuses_operands_through_spad_ids() {
    // 200x40x64, no bias: tiles 10x3x4 (tile_I grows until the accumulator half is full), so two row
    // tiles share the one B tile: b_spad_id 1 both times, B = NULL (no reload) the second time, and
    // no bias means the first product overwrites (ex_accumulate 0). Transposed A, int32 C.
    let cap = capture_lib(
        "reuse",
        "static elem_t A[64][200], B[64][40]; static acc_t C[200][40];",
        "P(A); P(B); P(C);\n\
         int rc = tiled_matmul_auto(200, 40, 64, &A[0][0], &B[0][0], NULL, &C[0][0], 200, 40, 0, 40,\n\
             1.0f, 1.0f, 1.0f, NO_ACTIVATION, 1.0f, 0, false, true, false, true, false, 0, WS);\n\
         if (rc) return 1;",
    );
    let p = |n: &str| cap.ptrs[n];
    let loops: Vec<LoopWs> = cap.cmds[5..].chunks(6).map(loop_ws).collect();
    assert_eq!(loops.len(), 2);
    for (i0, l) in loops.iter().enumerate() {
        let i0 = i0 as u64;
        assert_eq!(l.ijk, (if i0 == 0 { 10 } else { 3 }, 3, 4));
        assert_eq!(l.pads, (if i0 == 0 { 0 } else { 8 }, 8, 0));
        assert_eq!(
            l.a,
            p("A") + i0 * 160,
            "A transposed: tile i0 starts at column 160 i0"
        );
        assert_eq!(l.b, if i0 == 0 { p("B") } else { 0 });
        assert_eq!((l.d, l.c), (0, p("C") + i0 * 160 * 40 * 4));
        assert_eq!((l.b_spad_id, l.a_spad_id), (1, 0));
        assert!(!l.ex_accumulate && l.full_c && l.a_t && !l.b_t && !l.is_resadd);
    }
}

#[test]
fn ws_cpu_issued_schedule_reuses_weights_and_uses_block_moves() {
    // 64x64x64 in one 4x4x4 tile: A in 4 block mvins of 64 columns, B in one block mvin per k row, each
    // B block preloaded once and reused down the 4 i blocks, the bias in 16 mvin3s, C in 4 block mvouts.
    let cap = capture_lib(
        "cpuiss",
        "static elem_t A[64][64], B[64][64], C[64][64]; static acc_t D[64][64];",
        "int rc = tiled_matmul_auto(64, 64, 64, &A[0][0], &B[0][0], &D[0][0], &C[0][0], 64, 64, 64, 64,\n\
             1.0f, 1.0f, 1.0f, NO_ACTIVATION, 1.0f, 0, false, false, false, false, false, 0, WS_CPU_ISSUED);\n\
         if (rc) return 1;",
    );
    let cmds: Vec<Command> = cap.cmds.iter().map(|c| Command::decode(*c)).collect();
    let count = |pred: &dyn Fn(&Command) -> bool| cmds.iter().filter(|c| pred(c)).count();
    assert_eq!(
        count(&|c| matches!(c, Command::Loop(_) | Command::Illegal(_))),
        0
    );
    assert_eq!(
        count(
            &|c| matches!(c, Command::Mvin { state: 0, op, .. } if op.cols == 64 && op.rows == 16)
        ),
        4
    );
    assert_eq!(
        count(
            &|c| matches!(c, Command::Mvin { state: 1, op, .. } if op.cols == 64 && op.rows == 16)
        ),
        4
    );
    assert_eq!(
        count(&|c| matches!(c, Command::Mvin { state: 2, op, .. } if op.addr.is_acc())),
        16
    );
    assert_eq!(
        count(&|c| matches!(c, Command::Preload { bd, .. } if bd.addr != LocalAddr::GARBAGE)),
        16,
        "one weight preload per (k, j)"
    );
    assert_eq!(
        count(&|c| matches!(c, Command::Compute { flip: true, .. })),
        16
    );
    assert_eq!(
        count(&|c| matches!(c, Command::Compute { flip: false, .. })),
        48
    );
    assert_eq!(
        count(
            &|c| matches!(c, Command::Mvout { op, .. } if op.cols == 64 && op.addr.is_acc() && !op.addr.read_full())
        ),
        4
    );
    // Every product accumulates onto the bias in the accumulator.
    assert!(cmds.iter().all(|c| match c {
        Command::Preload { c, .. } => c.addr.is_acc() && c.addr.accumulate(),
        _ => true,
    }));
}

#[test]
fn tiled_conv_auto_ws_issues_loop_conv_ws_per_tile() {
    // The conv_56x64 workload's shape: batch 4, input 58x58 already padded (padding 0), 64 -> 64
    // channels, 3x3. Tiles: batch 4, 8 output rows, 16 output cols, 16 output channels, whole kernel
    // and 64 input channels: 7 x 4 x 4 = 112 tiles, one LOOP_CONV_WS (funct 16-21 then 15) each.
    let cap = capture_lib(
        "conv",
        "static elem_t in[4][58][58][64], w[9 * 64][64], out[4][56][56][64]; static acc_t bias[64];",
        "P(in); P(w); P(out); P(bias);\n\
         int rc = tiled_conv_auto(4, 58, 58, 64, 64, 56, 56, 1, 1, 1, 0, 3, false, false, false, false, false,\n\
             &in[0][0][0][0], &w[0][0], bias, &out[0][0][0][0], NO_ACTIVATION, 1.0f, 0, 0, 0, WS);\n\
         if (rc) return 1;",
    );
    let p = |n: &str| cap.ptrs[n];
    let first: Vec<Command> = cap.cmds[..2].iter().map(|c| Command::decode(*c)).collect();
    match &first[0] {
        Command::ConfigSt(s) => assert_eq!(s.stride, 64),
        other => panic!("{other:?}"),
    }
    match &first[1] {
        Command::ConfigEx(e) => assert!(e.dataflow == 1 && e.a_stride == 1 && e.c_stride == 1),
        other => panic!("{other:?}"),
    }
    let loops: Vec<&[RoccCmd]> = cap.cmds[2..].chunks(7).collect();
    assert_eq!(loops.len(), 112);
    for (n, l) in loops.iter().enumerate() {
        let functs: Vec<u8> = l.iter().map(|c| c.funct).collect();
        assert_eq!(functs, [16, 17, 18, 19, 20, 21, 15]);
        let (orow0, ocol0, och0) = (
            (n / 16) as u64 * 8,
            ((n / 4) % 4) as u64 * 16,
            (n % 4) as u64 * 16,
        );
        let ocols = if ocol0 == 48 { 8 } else { 16 };
        // CFG_1: batch, in_row_dim, in_channels, out_channels | out_row_dim, pool_out_row_dim, out_col_dim,
        // stride, padding.
        assert_eq!(l[0].rs1, 4 | (58 << 16) | (64 << 32) | (64 << 48));
        assert_eq!(l[0].rs2, 56 | (56 << 16) | (56 << 32) | (1 << 48));
        // CFG_2: no pooling (size 1, stride 1), pool_out_col_dim, kernel_dim | pochs, pocols, porows, batches.
        assert_eq!(l[1].rs1, (1 << 8) | (1 << 16) | (56 << 32) | (3 << 48));
        assert_eq!(
            l[1].rs2,
            16 | (ocols << 16) | (8 << 32) | (4 << 48),
            "tile {n}"
        );
        // CFG_3: lpad 0, kchs, kcols, krows | in_col_dim, no padding.
        assert_eq!(l[2].rs1, (64 << 16) | (3 << 32) | (3 << 48));
        assert_eq!(l[2].rs2, 58);
        // CFG_4: kernel_dilation 1, orows | ocols, out/weight/in strides.
        assert_eq!(l[3].rs1, 1 | (8 << 48));
        assert_eq!(l[3].rs2, ocols | (64 << 16) | (64 << 32) | (64 << 48));
        // CFG_5/6: weights, output | bias, input at the tile's origin.
        assert_eq!(l[4].rs1, p("w") + och0);
        assert_eq!(l[4].rs2, p("out") + (orow0 * 56 + ocol0) * 64 + och0);
        assert_eq!(l[5].rs1, p("bias") + och0 * 4);
        assert_eq!(l[5].rs2, p("in") + (orow0 * 58 + ocol0) * 64);
        // LOOP_CONV_WS: bias present, 1 pixel per row | no pooling, no activation.
        assert_eq!(l[6].rs1, 1 << 8);
        assert_eq!(l[6].rs2, 1);
    }
}

/// Gemmini's other convolution entry points issue LOOP_CONV_WS with their mode bits as Gemmini's software
/// sets them: max-pooling (no_pool = 0, the pooling fields, the pooled tile), depthwise (dw, one channel per
/// tile, weight stride 1), downsampling (a 1x1 stride-2 layer: downsample, config_ex A stride 1), the
/// transposes and rot180 (rs1 bits, config_ex transposes).
#[test]
fn conv_entry_points_set_gemmini_mode_bits() {
    use gemforge::sim::isa::{LoopConv, LoopConvDesc};
    let loops = |cap: &Capture| -> Vec<(LoopConvDesc, LoopConv)> {
        let mut d = LoopConvDesc::default();
        let mut out = Vec::new();
        for c in &cap.cmds {
            if d.apply(*c) {
                continue;
            }
            if c.funct == 15 {
                out.push((d, LoopConv::decode(c.rs1, c.rs2)));
            }
        }
        out
    };
    // 3x3 max-pooling with stride 2 and padding 1 after a 3x3 conv (ResNet-50's stem, small)
    let cap = capture_lib(
        "conv_pool",
        "static elem_t in[2][12][12][3], w[9 * 3][8], out[2][6][6][8]; static acc_t bias[8];",
        "int rc = tiled_conv_auto(2, 12, 12, 3, 8, 12, 12, 1, 1, 1, 1, 3, false, false, false, false, false,\n\
             &in[0][0][0][0], &w[0][0], bias, &out[0][0][0][0], RELU, 1.0f, 3, 2, 1, WS);\n\
         if (rc) return 1;",
    );
    let l = loops(&cap);
    assert!(!l.is_empty());
    for (d, m) in &l {
        assert!(!m.no_pool && m.activation == 1);
        assert_eq!((d.pool_size, d.pool_stride, d.pool_padding), (3, 2, 1));
        assert_eq!((d.pool_out_row_dim, d.pool_out_col_dim), (6, 6));
    }
    assert_eq!(l[0].0.pupad, 1);
    assert_eq!(l[0].0.plpad, 1);
    // depthwise: one channel per tile, weight stride 1
    let cap = capture_lib(
        "conv_dw",
        "static elem_t in[1][8][8][5], w[5][3][3], out[1][8][8][5];",
        "int rc = tiled_conv_dw_auto(1, 8, 8, 5, 8, 8, 1, 1, 3, &in[0][0][0][0], &w[0][0][0], NULL,\n\
             &out[0][0][0][0], NO_ACTIVATION, 1.0f, 0, 0, 0, WS);\n\
         if (rc) return 1;",
    );
    let l = loops(&cap);
    assert_eq!(l.len(), 5);
    for (d, m) in &l {
        assert!(m.dw && m.no_bias && m.no_pool);
        assert_eq!((d.pochs, d.kchs, d.weight_stride), (1, 1, 1));
    }
    // downsampling, as Gemmini's tiled_conv_downsample: one LOOP_WS per output row (a 4-pixel x 32-channel
    // x 16-channel matmul: one block of I and K, two of J, I padded by 12), A = every other pixel of every
    // other input row (A stride 2 x in_stride), the bias one repeated row (D stride 0), no LOOP_CONV_WS
    let cap = capture_lib(
        "conv_ds",
        "static elem_t in[1][8][8][16], w[16][32], out[1][4][4][32]; static acc_t bias[32];",
        "P(in); P(w); P(out); P(bias);\n\
         int rc = tiled_conv_downsample(1, 8, 8, 16, 32, 4, 4, 16, 32, 32, &in[0][0][0][0], &w[0][0], bias,\n\
             &out[0][0][0][0], RELU, 0.5f, WS);\n\
         if (rc) return 1;",
    );
    let p = |n: &str| cap.ptrs[n];
    assert!(loops(&cap).is_empty(), "no LOOP_CONV_WS");
    let ws: Vec<RoccCmd> = cap
        .cmds
        .iter()
        .copied()
        .filter(|c| (8..=13).contains(&c.funct))
        .collect();
    let l: Vec<LoopWs> = ws.chunks(6).map(loop_ws).collect();
    assert_eq!(l.len(), 4, "one LOOP_WS per output row");
    for (r, l) in l.iter().enumerate() {
        let r = r as u64;
        assert_eq!((l.ijk, l.pads), ((1, 2, 1), (12, 0, 0)));
        assert_eq!(l.a, p("in") + 2 * r * 8 * 16);
        assert_eq!((l.b, l.d), (p("w"), p("bias")));
        assert_eq!(l.c, p("out") + r * 4 * 32);
        assert_eq!(l.strides, (32, 32, 0, 32));
        assert!(l.act == 1 && !l.a_t && !l.b_t && !l.full_c && !l.is_resadd);
    }
    // transposes and rot180 reach the mode bits and config_ex
    let cap = capture_lib(
        "conv_trans",
        "static elem_t in[2][6][6][4], w[9 * 4][6], out[2][6][6][6];",
        "int rc = tiled_conv_auto(2, 6, 6, 4, 6, 6, 6, 1, 1, 1, 1, 3, true, true, true, true, false,\n\
             &in[0][0][0][0], &w[0][0], NULL, &out[0][0][0][0], NO_ACTIVATION, 1.0f, 0, 0, 0, WS);\n\
         if (rc) return 1;",
    );
    let ex = cap.cmds.iter().find_map(|c| match Command::decode(*c) {
        Command::ConfigEx(e) => Some(e),
        _ => None,
    });
    assert!(ex.is_some_and(|e| e.a_transpose && !e.b_transpose));
    let l = loops(&cap);
    assert!(!l.is_empty());
    for (_, m) in &l {
        assert!(m.wrot180 && m.trans_output_1203 && m.trans_input_3120 && m.trans_weight_1203);
        assert!(!m.trans_weight_0132);
    }
}
