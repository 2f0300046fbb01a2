//! The Gemmini RoCC instruction set: funct codes, the local-address format, operand words, config fields
//! and counter events. One source of truth: the spec model, the RTL driver, tests, header generation and
//! reports all encode and decode through this module (spec sections 1, 2.1 and 6).

use std::fmt;

/// custom-3 major opcode (spec 1.1).
pub const OPCODE_CUSTOM3: u32 = 0b111_1011;

/// A command as the accelerator receives it: funct7 and the two 64-bit source registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RoccCmd {
    pub funct: u8,
    pub rs1: u64,
    pub rs2: u64,
}

impl fmt::Display for RoccCmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Funct::from_u8(self.funct)
            .map(|x| x.name())
            .unwrap_or("illegal");
        write!(
            f,
            "{name} (funct {}) rs1=0x{:016x} rs2=0x{:016x}",
            self.funct, self.rs1, self.rs2
        )
    }
}

/// funct7 values (spec 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Funct {
    Config = 0,
    Mvin2 = 1,
    Mvin = 2,
    Mvout = 3,
    ComputePreloaded = 4,
    ComputeAccumulated = 5,
    Preload = 6,
    Flush = 7,
    LoopWs = 8,
    LoopWsConfigBounds = 9,
    LoopWsConfigAddrsAb = 10,
    LoopWsConfigAddrsDc = 11,
    LoopWsConfigStridesAb = 12,
    LoopWsConfigStridesDc = 13,
    Mvin3 = 14,
    LoopConvWs = 15,
    LoopConvWsConfig1 = 16,
    LoopConvWsConfig2 = 17,
    LoopConvWsConfig3 = 18,
    LoopConvWsConfig4 = 19,
    LoopConvWsConfig5 = 20,
    LoopConvWsConfig6 = 21,
    Counter = 126,
}

impl Funct {
    pub fn from_u8(v: u8) -> Option<Funct> {
        use Funct::*;
        Some(match v {
            0 => Config,
            1 => Mvin2,
            2 => Mvin,
            3 => Mvout,
            4 => ComputePreloaded,
            5 => ComputeAccumulated,
            6 => Preload,
            7 => Flush,
            8 => LoopWs,
            9 => LoopWsConfigBounds,
            10 => LoopWsConfigAddrsAb,
            11 => LoopWsConfigAddrsDc,
            12 => LoopWsConfigStridesAb,
            13 => LoopWsConfigStridesDc,
            14 => Mvin3,
            15 => LoopConvWs,
            16 => LoopConvWsConfig1,
            17 => LoopConvWsConfig2,
            18 => LoopConvWsConfig3,
            19 => LoopConvWsConfig4,
            20 => LoopConvWsConfig5,
            21 => LoopConvWsConfig6,
            126 => Counter,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use Funct::*;
        match self {
            Config => "config",
            Mvin2 => "mvin2",
            Mvin => "mvin",
            Mvout => "mvout",
            ComputePreloaded => "compute_preloaded",
            ComputeAccumulated => "compute_accumulated",
            Preload => "preload",
            Flush => "flush",
            LoopWs => "loop_ws",
            LoopWsConfigBounds => "loop_ws_config_bounds",
            LoopWsConfigAddrsAb => "loop_ws_config_addrs_ab",
            LoopWsConfigAddrsDc => "loop_ws_config_addrs_dc",
            LoopWsConfigStridesAb => "loop_ws_config_strides_ab",
            LoopWsConfigStridesDc => "loop_ws_config_strides_dc",
            Mvin3 => "mvin3",
            LoopConvWs => "loop_conv_ws",
            LoopConvWsConfig1 => "loop_conv_ws_config_1",
            LoopConvWsConfig2 => "loop_conv_ws_config_2",
            LoopConvWsConfig3 => "loop_conv_ws_config_3",
            LoopConvWsConfig4 => "loop_conv_ws_config_4",
            LoopConvWsConfig5 => "loop_conv_ws_config_5",
            LoopConvWsConfig6 => "loop_conv_ws_config_6",
            Counter => "counter",
        }
    }

    /// The loop-FSM commands (funct 8-13, 15-21): LOOP_WS and LOOP_CONV_WS and their configuration words.
    pub fn is_loop(self) -> bool {
        matches!(self as u8, 8..=13 | 15..=21)
    }
}

/// Sticky error codes shared by both engines (docs/accelerator.md section 1); the RTL's `err_e` is generated from [`ErrorKind::HARDWARE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    IllegalFunct = 1,
    Unsupported = 2,
    BadRowsCols = 3,
    SpRange = 4,
    AccRange = 5,
    BadTranspose = 6,
    Pairing = 7,
    BadAddress = 8,
    /// A LOOP_WS / LOOP_CONV_WS descriptor the loop FSM cannot run (docs/accelerator.md section 6).
    BadLoop = 9,
    /// Not raised by the hardware: a DMA request outside main memory (reported by the memory side).
    MemoryFault = 100,
    /// Not raised by the hardware: no progress for too long (reported by the harness).
    Watchdog = 101,
}

impl ErrorKind {
    pub fn from_code(code: u8) -> Option<ErrorKind> {
        use ErrorKind::*;
        Some(match code {
            1 => IllegalFunct,
            2 => Unsupported,
            3 => BadRowsCols,
            4 => SpRange,
            5 => AccRange,
            6 => BadTranspose,
            7 => Pairing,
            8 => BadAddress,
            9 => BadLoop,
            _ => return None,
        })
    }
    pub fn describe(self) -> &'static str {
        use ErrorKind::*;
        match self {
            IllegalFunct => "illegal funct",
            Unsupported => "command not supported by this accelerator",
            BadRowsCols => "rows or columns out of limits",
            SpRange => "scratchpad row out of range",
            AccRange => "accumulator row out of range",
            BadTranspose => "illegal transpose combination for the dataflow",
            Pairing => "execute commands must alternate preload, compute",
            BadAddress => "garbage address where a real address is needed",
            BadLoop => "illegal loop descriptor",
            MemoryFault => "DMA access outside main memory",
            Watchdog => "no progress",
        }
    }
}

/// config sub-commands in rs1[1:0].
pub const CONFIG_EX: u64 = 0;
pub const CONFIG_LD: u64 = 1;
pub const CONFIG_ST: u64 = 2;
pub const CONFIG_NORM: u64 = 3;

pub const DATAFLOW_OS: u8 = 0;
pub const DATAFLOW_WS: u8 = 1;
pub const ACT_NONE: u8 = 0;
pub const ACT_RELU: u8 = 1;
/// Activations of Gemmini's normalizer (`has_normalizations`): the 3-bit activation of config_st's two bits
/// plus config_norm's `act_msb` (docs/accelerator.md section 2.2).
pub const ACT_LAYERNORM: u8 = 2;
pub const ACT_IGELU: u8 = 3;
pub const ACT_SOFTMAX: u8 = 4;

/// The normalizer command in bits [28:26] of an accumulator mvout address (Gemmini's `NormCmd`).
pub mod norm_cmd {
    /// Write the row out (through the activation) and clear the stat's running sum, count and maximum.
    pub const RESET: u32 = 0;
    pub const SUM: u32 = 1;
    pub const MEAN: u32 = 2;
    pub const VARIANCE: u32 = 3;
    pub const INV_STDDEV: u32 = 4;
    pub const MAX: u32 = 5;
    pub const SUM_EXP: u32 = 6;
    pub const INV_SUM_EXP: u32 = 7;

    /// The command of a block that is not its row's last (Gemmini's `non_reset_version`): the finishing
    /// commands run only once per row, on its last block.
    pub fn non_reset_version(cmd: u32) -> u32 {
        match cmd {
            MEAN => SUM,
            INV_STDDEV => VARIANCE,
            INV_SUM_EXP => SUM_EXP,
            c => c,
        }
    }
}

/// Stat ids the normalizer keeps (Gemmini's `NORM_STAT_IDS`); config_norm's 8-bit id is taken modulo this.
pub const NORM_STAT_IDS: u32 = 2;

/// float32 1.0, the identity scale.
pub const SCALE_ONE: u32 = 0x3f80_0000;

/// A 32-bit local (scratchpad/accumulator) address (spec 2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocalAddr(pub u32);

impl fmt::Debug for LocalAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalAddr(0x{:08x})", self.0)
    }
}

impl LocalAddr {
    /// The canonical garbage address.
    pub const GARBAGE: LocalAddr = LocalAddr(0xffff_ffff);
    pub const ACC_BIT: u32 = 1 << 31;
    pub const ACCUMULATE_BIT: u32 = 1 << 30;
    pub const READ_FULL_BIT: u32 = 1 << 29;

    pub fn sp(row: u32) -> LocalAddr {
        LocalAddr(row)
    }
    pub fn acc(row: u32) -> LocalAddr {
        LocalAddr(Self::ACC_BIT | row)
    }
    pub fn acc_accumulate(row: u32) -> LocalAddr {
        LocalAddr(Self::ACC_BIT | Self::ACCUMULATE_BIT | row)
    }
    pub fn acc_full(row: u32) -> LocalAddr {
        LocalAddr(Self::ACC_BIT | Self::READ_FULL_BIT | row)
    }
    pub fn is_acc(self) -> bool {
        self.0 & Self::ACC_BIT != 0
    }
    pub fn accumulate(self) -> bool {
        self.0 & Self::ACCUMULATE_BIT != 0
    }
    pub fn read_full(self) -> bool {
        self.0 & Self::READ_FULL_BIT != 0
    }
    pub fn norm_cmd(self) -> u32 {
        (self.0 >> 26) & 7
    }
    /// Garbage: acc, accumulate, read_full and the garbage bit set and the row field all ones (spec 2.1).
    /// The bits between the garbage bit and norm_cmd are ignored, as on Gemmini.
    pub fn is_garbage(self, row_bits: u32) -> bool {
        let need = Self::ACC_BIT
            | Self::ACCUMULATE_BIT
            | Self::READ_FULL_BIT
            | (1 << row_bits)
            | ((1 << row_bits) - 1);
        self.0 & need == need
    }
    /// The row field (`row_bits` wide).
    pub fn row(self, row_bits: u32) -> u32 {
        self.0 & ((1 << row_bits) - 1)
    }
    /// Bits between the row field and norm_cmd (the garbage bit and the unused field).
    pub fn unused_bits(self, row_bits: u32) -> u32 {
        (self.0 >> row_bits) & ((1 << (26 - row_bits)) - 1)
    }
    /// Adds to the row field only; metadata bits are kept (spec 2.1).
    pub fn add_rows(self, n: u32, row_bits: u32) -> LocalAddr {
        let mask = (1u32 << row_bits) - 1;
        LocalAddr((self.0 & !mask) | (self.0.wrapping_add(n) & mask))
    }
}

/// The generic operand word of mvin, mvout, preload and compute (spec 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operand {
    pub addr: LocalAddr,
    pub cols: u16,
    pub rows: u16,
}

impl Operand {
    pub fn new(addr: LocalAddr, cols: u16, rows: u16) -> Operand {
        Operand { addr, cols, rows }
    }
    pub fn garbage(dim: u16) -> Operand {
        Operand::new(LocalAddr::GARBAGE, dim, dim)
    }
    pub fn encode(self) -> u64 {
        (self.addr.0 as u64) | ((self.cols as u64) << 32) | ((self.rows as u64) << 48)
    }
    pub fn decode(v: u64) -> Operand {
        Operand {
            addr: LocalAddr(v as u32),
            cols: (v >> 32) as u16,
            rows: (v >> 48) as u16,
        }
    }
}

/// CONFIG_EX fields (spec 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigEx {
    pub dataflow: u8,
    pub act: u8,
    pub set_only_strides: bool,
    pub a_transpose: bool,
    pub b_transpose: bool,
    pub a_stride: u16,
    /// float32 bits; used only when the execute unit reads operands from the accumulator.
    pub acc_scale: u32,
    /// Rounding right shift of OS results (5 LSBs used).
    pub in_shift: u32,
    pub c_stride: u16,
}

impl Default for ConfigEx {
    fn default() -> Self {
        ConfigEx {
            dataflow: DATAFLOW_WS,
            act: ACT_NONE,
            set_only_strides: false,
            a_transpose: false,
            b_transpose: false,
            a_stride: 1,
            acc_scale: SCALE_ONE,
            in_shift: 0,
            c_stride: 1,
        }
    }
}

impl ConfigEx {
    pub fn encode(&self) -> RoccCmd {
        let rs1 = CONFIG_EX
            | ((self.dataflow as u64 & 1) << 2)
            | ((self.act as u64 & 3) << 3)
            | ((self.set_only_strides as u64) << 7)
            | ((self.a_transpose as u64) << 8)
            | ((self.b_transpose as u64) << 9)
            | ((self.a_stride as u64) << 16)
            | ((self.acc_scale as u64) << 32);
        let rs2 = (self.in_shift as u64) | ((self.c_stride as u64) << 48);
        RoccCmd {
            funct: Funct::Config as u8,
            rs1,
            rs2,
        }
    }
    pub fn decode(rs1: u64, rs2: u64) -> ConfigEx {
        ConfigEx {
            dataflow: ((rs1 >> 2) & 1) as u8,
            act: ((rs1 >> 3) & 3) as u8,
            set_only_strides: (rs1 >> 7) & 1 != 0,
            a_transpose: (rs1 >> 8) & 1 != 0,
            b_transpose: (rs1 >> 9) & 1 != 0,
            a_stride: (rs1 >> 16) as u16,
            acc_scale: (rs1 >> 32) as u32,
            in_shift: rs2 as u32,
            c_stride: (rs2 >> 48) as u16,
        }
    }
}

/// CONFIG_LD (config_mvin) fields (spec 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigLd {
    pub shrink: bool,
    /// 0 for mvin, 1 for mvin2, 2 for mvin3.
    pub state_id: u8,
    pub pixel_repeats: u8,
    pub block_stride: u16,
    /// float32 bits.
    pub scale: u32,
    /// DRAM row stride in bytes (0 replicates one row).
    pub stride: u64,
}

impl ConfigLd {
    pub fn new(state_id: u8, stride: u64, dim: u16) -> ConfigLd {
        ConfigLd {
            shrink: false,
            state_id,
            pixel_repeats: 1,
            block_stride: dim,
            scale: SCALE_ONE,
            stride,
        }
    }
    /// The three load-config states after reset (mvin, mvin2, mvin3): stride 0, scale 1.0, block stride DIM.
    pub fn reset_states(dim: u16) -> [ConfigLd; 3] {
        [0, 1, 2].map(|id| ConfigLd::new(id, 0, dim))
    }
    pub fn encode(&self) -> RoccCmd {
        let rs1 = CONFIG_LD
            | ((self.shrink as u64) << 2)
            | ((self.state_id as u64 & 3) << 3)
            | ((self.pixel_repeats as u64) << 8)
            | ((self.block_stride as u64) << 16)
            | ((self.scale as u64) << 32);
        RoccCmd {
            funct: Funct::Config as u8,
            rs1,
            rs2: self.stride,
        }
    }
    pub fn decode(rs1: u64, rs2: u64) -> ConfigLd {
        ConfigLd {
            shrink: (rs1 >> 2) & 1 != 0,
            state_id: ((rs1 >> 3) & 3) as u8,
            pixel_repeats: (rs1 >> 8) as u8,
            block_stride: (rs1 >> 16) as u16,
            scale: (rs1 >> 32) as u32,
            stride: rs2,
        }
    }
}

/// CONFIG_ST (config_mvout) fields (spec 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigSt {
    pub act: u8,
    pub pool_stride: u8,
    pub pool_size: u8,
    pub upad: u8,
    pub lpad: u8,
    pub pool_out_dim: u8,
    pub porows: u8,
    pub pocols: u8,
    pub orows: u8,
    pub ocols: u8,
    /// DRAM row stride in bytes.
    pub stride: u32,
    /// float32 bits; 0xFFFFFFFF leaves the current scale unchanged.
    pub acc_scale: u32,
}

impl ConfigSt {
    pub const SCALE_UNCHANGED: u32 = 0xffff_ffff;

    pub fn new(stride: u32) -> ConfigSt {
        ConfigSt {
            act: ACT_NONE,
            pool_stride: 0,
            pool_size: 0,
            upad: 0,
            lpad: 0,
            pool_out_dim: 0,
            porows: 0,
            pocols: 0,
            orows: 0,
            ocols: 0,
            stride,
            acc_scale: SCALE_ONE,
        }
    }
    pub fn encode(&self) -> RoccCmd {
        let rs1 = CONFIG_ST
            | ((self.act as u64 & 3) << 2)
            | ((self.pool_stride as u64 & 3) << 4)
            | ((self.pool_size as u64 & 3) << 6)
            | ((self.upad as u64 & 3) << 8)
            | ((self.lpad as u64 & 3) << 10)
            | ((self.pool_out_dim as u64) << 24)
            | ((self.porows as u64) << 32)
            | ((self.pocols as u64) << 40)
            | ((self.orows as u64) << 48)
            | ((self.ocols as u64) << 56);
        let rs2 = (self.stride as u64) | ((self.acc_scale as u64) << 32);
        RoccCmd {
            funct: Funct::Config as u8,
            rs1,
            rs2,
        }
    }
    pub fn decode(rs1: u64, rs2: u64) -> ConfigSt {
        ConfigSt {
            act: ((rs1 >> 2) & 3) as u8,
            pool_stride: ((rs1 >> 4) & 3) as u8,
            pool_size: ((rs1 >> 6) & 3) as u8,
            upad: ((rs1 >> 8) & 3) as u8,
            lpad: ((rs1 >> 10) & 3) as u8,
            pool_out_dim: (rs1 >> 24) as u8,
            porows: (rs1 >> 32) as u8,
            pocols: (rs1 >> 40) as u8,
            orows: (rs1 >> 48) as u8,
            ocols: (rs1 >> 56) as u8,
            stride: rs2 as u32,
            acc_scale: (rs2 >> 32) as u32,
        }
    }
}

/// The counter-op control word (funct 126, spec 1.4 and 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CounterOp {
    pub reset: bool,
    pub snapshot_reset: bool,
    pub snapshot_take: bool,
    pub configure: bool,
    pub index: u8,
    /// Event id (1-44), or external id (1-7) when `external`.
    pub event: u8,
    pub external: bool,
}

impl CounterOp {
    pub fn encode(&self) -> RoccCmd {
        let rs1 = (self.reset as u64)
            | ((self.snapshot_reset as u64) << 1)
            | ((self.snapshot_take as u64) << 2)
            | ((self.configure as u64) << 3)
            | ((self.index as u64 & 7) << 4)
            | ((self.event as u64 & 0x3f) << 12)
            | ((self.external as u64) << 31);
        RoccCmd {
            funct: Funct::Counter as u8,
            rs1,
            rs2: 0,
        }
    }
    pub fn decode(rs1: u64) -> CounterOp {
        CounterOp {
            reset: rs1 & 1 != 0,
            snapshot_reset: (rs1 >> 1) & 1 != 0,
            snapshot_take: (rs1 >> 2) & 1 != 0,
            configure: (rs1 >> 3) & 1 != 0,
            index: ((rs1 >> 4) & 7) as u8,
            event: ((rs1 >> 12) & 0x3f) as u8,
            external: (rs1 >> 31) & 1 != 0,
        }
    }
    /// The C helpers' event code: 1-44 internal, 45-51 external (spec 6).
    pub fn configure_code(index: u8, code: u8) -> CounterOp {
        let external = code > 44;
        CounterOp {
            configure: true,
            index,
            event: if external { code - 44 } else { code },
            external,
            ..Default::default()
        }
    }
    pub fn read(index: u8) -> CounterOp {
        CounterOp {
            index,
            ..Default::default()
        }
    }
}

/// The LOOP_WS configuration commands (funct 9-13, spec 1.4): each writes part of the loop descriptor
/// that the next LOOP_WS (funct 8) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopWsConfig {
    /// funct 9: loop bounds in DIM blocks and the padding of the last tile in elements.
    Bounds {
        i: u16,
        j: u16,
        k: u16,
        pad_i: u16,
        pad_j: u16,
        pad_k: u16,
    },
    /// funct 10: DRAM addresses of A and B (0 = do not load).
    AddrsAb { a: u64, b: u64 },
    /// funct 11: DRAM addresses of D and C (0 = no bias / do not store).
    AddrsDc { d: u64, c: u64 },
    /// funct 12: DRAM row strides of A and B, in elements.
    StridesAb { a: u64, b: u64 },
    /// funct 13: DRAM row strides of D and C, in elements.
    StridesDc { d: u64, c: u64 },
}

impl LoopWsConfig {
    /// Decodes funct 9-13; None for any other command.
    pub fn decode(c: RoccCmd) -> Option<LoopWsConfig> {
        let f16 = |v: u64, sh: u32| (v >> sh) as u16;
        Some(match Funct::from_u8(c.funct)? {
            Funct::LoopWsConfigBounds => LoopWsConfig::Bounds {
                pad_i: f16(c.rs1, 0),
                pad_j: f16(c.rs1, 16),
                pad_k: f16(c.rs1, 32),
                i: f16(c.rs2, 0),
                j: f16(c.rs2, 16),
                k: f16(c.rs2, 32),
            },
            Funct::LoopWsConfigAddrsAb => LoopWsConfig::AddrsAb { a: c.rs1, b: c.rs2 },
            Funct::LoopWsConfigAddrsDc => LoopWsConfig::AddrsDc { d: c.rs1, c: c.rs2 },
            Funct::LoopWsConfigStridesAb => LoopWsConfig::StridesAb { a: c.rs1, b: c.rs2 },
            Funct::LoopWsConfigStridesDc => LoopWsConfig::StridesDc { d: c.rs1, c: c.rs2 },
            _ => return None,
        })
    }

    pub fn encode(&self) -> RoccCmd {
        let (f, rs1, rs2) = match *self {
            LoopWsConfig::Bounds {
                i,
                j,
                k,
                pad_i,
                pad_j,
                pad_k,
            } => (
                Funct::LoopWsConfigBounds,
                pad_i as u64 | (pad_j as u64) << 16 | (pad_k as u64) << 32,
                i as u64 | (j as u64) << 16 | (k as u64) << 32,
            ),
            LoopWsConfig::AddrsAb { a, b } => (Funct::LoopWsConfigAddrsAb, a, b),
            LoopWsConfig::AddrsDc { d, c } => (Funct::LoopWsConfigAddrsDc, d, c),
            LoopWsConfig::StridesAb { a, b } => (Funct::LoopWsConfigStridesAb, a, b),
            LoopWsConfig::StridesDc { d, c } => (Funct::LoopWsConfigStridesDc, d, c),
        };
        RoccCmd {
            funct: f as u8,
            rs1,
            rs2,
        }
    }
}

/// CONFIG_NORM (config with rs1[1:0] = 3, Gemmini's `gemmini_config_norm`): the normalizer's constants,
/// the stat id later mvouts use, and the activation's most significant bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConfigNorm {
    /// rs1[63:32]: qln2 (q_const_type 0) or qln2_inv (1), int32.
    pub q_const: u32,
    pub q_const_type: bool,
    /// Only the stat id changes (constants and act_msb are kept).
    pub set_stats_id_only: bool,
    pub act_msb: bool,
    /// rs1[15:8]; the normalizer uses it modulo [`NORM_STAT_IDS`].
    pub stat_id: u8,
    /// rs2[31:0] and rs2[63:32]: the I-BERT polynomial constants of iGELU and iexp, int32.
    pub qb: u32,
    pub qc: u32,
}

impl ConfigNorm {
    pub fn decode(rs1: u64, rs2: u64) -> ConfigNorm {
        ConfigNorm {
            q_const: (rs1 >> 32) as u32,
            q_const_type: (rs1 >> 18) & 1 != 0,
            set_stats_id_only: (rs1 >> 17) & 1 != 0,
            act_msb: (rs1 >> 16) & 1 != 0,
            stat_id: (rs1 >> 8) as u8,
            qb: rs2 as u32,
            qc: (rs2 >> 32) as u32,
        }
    }
    pub fn encode(&self) -> RoccCmd {
        let rs1 = CONFIG_NORM
            | (self.stat_id as u64) << 8
            | (self.act_msb as u64) << 16
            | (self.set_stats_id_only as u64) << 17
            | (self.q_const_type as u64) << 18
            | (self.q_const as u64) << 32;
        let rs2 = self.qb as u64 | (self.qc as u64) << 32;
        RoccCmd {
            funct: Funct::Config as u8,
            rs1,
            rs2,
        }
    }
}

/// The LOOP_WS command itself (funct 8, spec 1.4): mode bits; the bounds, addresses and strides come from
/// the configuration commands before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LoopWs {
    pub ex_accumulate: bool,
    /// C is written as int32 (read-full mvouts).
    pub full_c: bool,
    /// D is given as int8 (shrunk into the accumulator).
    pub low_d: bool,
    /// 3-bit activation (0 none, 1 ReLU, 2 LayerNorm, 3 iGELU, 4 Softmax; 2-4 need the normalizer). The
    /// loop only uses it to choose its store sequence; conversion follows config_st/config_norm.
    pub act: u8,
    /// 0: the slot's own scratchpad half; 1 or 2: half 0 or 1 (operand reuse across loops).
    pub a_spad_id: u8,
    pub b_spad_id: u8,
    pub a_transpose: bool,
    pub b_transpose: bool,
    /// Residual add: C = A + B through the accumulator, no matmul.
    pub is_resadd: bool,
    /// rs2[63:3]: Gemmini's 2025-only extensions (pre-marked sub-FSMs, spad-only output, ...); not built.
    pub ext: u64,
}

impl LoopWs {
    pub fn decode(rs1: u64, rs2: u64) -> LoopWs {
        LoopWs {
            ex_accumulate: rs1 & 1 != 0,
            full_c: (rs1 >> 1) & 1 != 0,
            low_d: (rs1 >> 2) & 1 != 0,
            act: ((rs1 >> 8) & 7) as u8,
            b_spad_id: ((rs1 >> 16) & 3) as u8,
            a_spad_id: ((rs1 >> 18) & 3) as u8,
            a_transpose: rs2 & 1 != 0,
            b_transpose: (rs2 >> 1) & 1 != 0,
            is_resadd: (rs2 >> 2) & 1 != 0,
            ext: rs2 >> 3,
        }
    }

    pub fn encode(&self) -> RoccCmd {
        let rs1 = self.ex_accumulate as u64
            | (self.full_c as u64) << 1
            | (self.low_d as u64) << 2
            | (self.act as u64 & 7) << 8
            | (self.b_spad_id as u64 & 3) << 16
            | (self.a_spad_id as u64 & 3) << 18;
        let rs2 = self.a_transpose as u64
            | (self.b_transpose as u64) << 1
            | (self.is_resadd as u64) << 2
            | self.ext << 3;
        RoccCmd {
            funct: Funct::LoopWs as u8,
            rs1,
            rs2,
        }
    }
}

/// One LOOP_WS descriptor: what the five configuration commands set (spec 4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LoopWsDesc {
    pub i: u16,
    pub j: u16,
    pub k: u16,
    pub pad_i: u16,
    pub pad_j: u16,
    pub pad_k: u16,
    pub a: u64,
    pub b: u64,
    pub d: u64,
    pub c: u64,
    pub a_stride: u64,
    pub b_stride: u64,
    pub d_stride: u64,
    pub c_stride: u64,
}

impl LoopWsDesc {
    /// Applies one configuration command to the descriptor.
    pub fn apply(&mut self, c: LoopWsConfig) {
        match c {
            LoopWsConfig::Bounds {
                i,
                j,
                k,
                pad_i,
                pad_j,
                pad_k,
            } => {
                (self.i, self.j, self.k) = (i, j, k);
                (self.pad_i, self.pad_j, self.pad_k) = (pad_i, pad_j, pad_k);
            }
            LoopWsConfig::AddrsAb { a, b } => (self.a, self.b) = (a, b),
            LoopWsConfig::AddrsDc { d, c } => (self.d, self.c) = (d, c),
            LoopWsConfig::StridesAb { a, b } => (self.a_stride, self.b_stride) = (a, b),
            LoopWsConfig::StridesDc { d, c } => (self.d_stride, self.c_stride) = (d, c),
        }
    }

    /// The six instructions `gemmini_loop_ws` issues (funct 9, 10, 11, 12, 13, then 8).
    pub fn encode(&self, mode: &LoopWs) -> [RoccCmd; 6] {
        [
            LoopWsConfig::Bounds {
                i: self.i,
                j: self.j,
                k: self.k,
                pad_i: self.pad_i,
                pad_j: self.pad_j,
                pad_k: self.pad_k,
            }
            .encode(),
            LoopWsConfig::AddrsAb {
                a: self.a,
                b: self.b,
            }
            .encode(),
            LoopWsConfig::AddrsDc {
                d: self.d,
                c: self.c,
            }
            .encode(),
            LoopWsConfig::StridesAb {
                a: self.a_stride,
                b: self.b_stride,
            }
            .encode(),
            LoopWsConfig::StridesDc {
                d: self.d_stride,
                c: self.c_stride,
            }
            .encode(),
            mode.encode(),
        ]
    }
}

/// All fields of the LOOP_CONV_WS configuration commands (funct 16-21, spec 1.4), named as in the spec table.
/// The fields the convolution loop reads are listed in docs/accelerator.md section 6 (src/sim/accel/loops.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LoopConvDesc {
    pub batch_size: u16,
    pub in_row_dim: u16,
    pub in_channels: u16,
    pub out_channels: u16,
    pub out_row_dim: u16,
    pub pool_out_row_dim: u16,
    pub out_col_dim: u16,
    pub stride: u16,
    pub padding: u16,
    pub pool_padding: u16,
    pub pool_stride: u16,
    pub pool_size: u16,
    pub pool_out_col_dim: u16,
    pub kernel_dim: u16,
    pub pochs: u16,
    pub pocols: u16,
    pub porows: u16,
    pub batches: u16,
    pub lpad: u16,
    pub kchs: u16,
    pub kcols: u16,
    pub krows: u16,
    pub in_col_dim: u16,
    pub plpad: u16,
    pub dpad: u16,
    pub upad: u16,
    pub rpad: u16,
    pub kernel_dilation: u16,
    pub pdpad: u16,
    pub pupad: u16,
    pub prpad: u16,
    pub orows: u16,
    pub ocols: u16,
    /// DRAM strides between output pixels, weight rows and input pixels, in elements (Gemmini's
    /// convention: the loop multiplies every offset by the element size).
    pub out_stride: u16,
    pub weight_stride: u16,
    pub in_stride: u16,
    pub weights: u64,
    pub output: u64,
    pub bias: u64,
    pub input: u64,
}

/// The LOOP_CONV_WS command's mode bits (funct 15, spec 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LoopConv {
    pub no_bias: bool,
    pub wrot180: bool,
    pub trans_output_1203: bool,
    pub trans_weight_1203: bool,
    pub trans_weight_0132: bool,
    pub trans_input_3120: bool,
    pub dw: bool,
    pub max_pixels_per_row: u8,
    pub b_spad_id: u8,
    pub a_spad_id: u8,
    pub no_pool: bool,
    pub downsample: bool,
    pub input_dilated: bool,
    pub activation: u8,
}

fn field(v: u64, lo: u32, width: u32) -> u64 {
    if width == 64 {
        v
    } else {
        (v >> lo) & ((1u64 << width) - 1)
    }
}

fn put(v: u64, lo: u32, width: u32) -> u64 {
    if width == 64 {
        v
    } else {
        (v & ((1u64 << width) - 1)) << lo
    }
}

impl LoopConvDesc {
    /// The six configuration commands `gemmini_loop_conv_ws` issues (funct 16-21), then funct 15.
    pub fn encode(&self, mode: &LoopConv) -> [RoccCmd; 7] {
        let mut regs = [[0u64; 2]; 6];
        regs[0][0] |= put(self.batch_size as u64, 0, 16);
        regs[0][0] |= put(self.in_row_dim as u64, 16, 16);
        regs[0][0] |= put(self.in_channels as u64, 32, 16);
        regs[0][0] |= put(self.out_channels as u64, 48, 16);
        regs[0][1] |= put(self.out_row_dim as u64, 0, 16);
        regs[0][1] |= put(self.pool_out_row_dim as u64, 16, 16);
        regs[0][1] |= put(self.out_col_dim as u64, 32, 16);
        regs[0][1] |= put(self.stride as u64, 48, 8);
        regs[0][1] |= put(self.padding as u64, 56, 8);
        regs[1][0] |= put(self.pool_padding as u64, 0, 8);
        regs[1][0] |= put(self.pool_stride as u64, 8, 8);
        regs[1][0] |= put(self.pool_size as u64, 16, 16);
        regs[1][0] |= put(self.pool_out_col_dim as u64, 32, 16);
        regs[1][0] |= put(self.kernel_dim as u64, 48, 16);
        regs[1][1] |= put(self.pochs as u64, 0, 16);
        regs[1][1] |= put(self.pocols as u64, 16, 16);
        regs[1][1] |= put(self.porows as u64, 32, 16);
        regs[1][1] |= put(self.batches as u64, 48, 16);
        regs[2][0] |= put(self.lpad as u64, 0, 16);
        regs[2][0] |= put(self.kchs as u64, 16, 16);
        regs[2][0] |= put(self.kcols as u64, 32, 16);
        regs[2][0] |= put(self.krows as u64, 48, 16);
        regs[2][1] |= put(self.in_col_dim as u64, 0, 16);
        regs[2][1] |= put(self.plpad as u64, 16, 8);
        regs[2][1] |= put(self.dpad as u64, 24, 8);
        regs[2][1] |= put(self.upad as u64, 32, 16);
        regs[2][1] |= put(self.rpad as u64, 48, 16);
        regs[3][0] |= put(self.kernel_dilation as u64, 0, 10);
        regs[3][0] |= put(self.pdpad as u64, 10, 11);
        regs[3][0] |= put(self.pupad as u64, 21, 11);
        regs[3][0] |= put(self.prpad as u64, 32, 16);
        regs[3][0] |= put(self.orows as u64, 48, 16);
        regs[3][1] |= put(self.ocols as u64, 0, 16);
        regs[3][1] |= put(self.out_stride as u64, 16, 16);
        regs[3][1] |= put(self.weight_stride as u64, 32, 16);
        regs[3][1] |= put(self.in_stride as u64, 48, 16);
        regs[4][0] |= put(self.weights, 0, 64);
        regs[4][1] |= put(self.output, 0, 64);
        regs[5][0] |= put(self.bias, 0, 64);
        regs[5][1] |= put(self.input, 0, 64);
        let mut cmds = [mode.encode(); 7];
        for (i, [rs1, rs2]) in regs.into_iter().enumerate() {
            cmds[i] = RoccCmd {
                funct: Funct::LoopConvWsConfig1 as u8 + i as u8,
                rs1,
                rs2,
            };
        }
        cmds
    }

    /// Applies one configuration command (funct 16-21); false for any other command.
    pub fn apply(&mut self, c: RoccCmd) -> bool {
        if !(16..=21).contains(&c.funct) {
            return false;
        }
        let reg = |r: u32| if r == 1 { c.rs1 } else { c.rs2 };
        if c.funct == 16 {
            self.batch_size = field(reg(1), 0, 16) as u16;
            self.in_row_dim = field(reg(1), 16, 16) as u16;
            self.in_channels = field(reg(1), 32, 16) as u16;
            self.out_channels = field(reg(1), 48, 16) as u16;
            self.out_row_dim = field(reg(2), 0, 16) as u16;
            self.pool_out_row_dim = field(reg(2), 16, 16) as u16;
            self.out_col_dim = field(reg(2), 32, 16) as u16;
            self.stride = field(reg(2), 48, 8) as u16;
            self.padding = field(reg(2), 56, 8) as u16;
        }
        if c.funct == 17 {
            self.pool_padding = field(reg(1), 0, 8) as u16;
            self.pool_stride = field(reg(1), 8, 8) as u16;
            self.pool_size = field(reg(1), 16, 16) as u16;
            self.pool_out_col_dim = field(reg(1), 32, 16) as u16;
            self.kernel_dim = field(reg(1), 48, 16) as u16;
            self.pochs = field(reg(2), 0, 16) as u16;
            self.pocols = field(reg(2), 16, 16) as u16;
            self.porows = field(reg(2), 32, 16) as u16;
            self.batches = field(reg(2), 48, 16) as u16;
        }
        if c.funct == 18 {
            self.lpad = field(reg(1), 0, 16) as u16;
            self.kchs = field(reg(1), 16, 16) as u16;
            self.kcols = field(reg(1), 32, 16) as u16;
            self.krows = field(reg(1), 48, 16) as u16;
            self.in_col_dim = field(reg(2), 0, 16) as u16;
            self.plpad = field(reg(2), 16, 8) as u16;
            self.dpad = field(reg(2), 24, 8) as u16;
            self.upad = field(reg(2), 32, 16) as u16;
            self.rpad = field(reg(2), 48, 16) as u16;
        }
        if c.funct == 19 {
            self.kernel_dilation = field(reg(1), 0, 10) as u16;
            self.pdpad = field(reg(1), 10, 11) as u16;
            self.pupad = field(reg(1), 21, 11) as u16;
            self.prpad = field(reg(1), 32, 16) as u16;
            self.orows = field(reg(1), 48, 16) as u16;
            self.ocols = field(reg(2), 0, 16) as u16;
            self.out_stride = field(reg(2), 16, 16) as u16;
            self.weight_stride = field(reg(2), 32, 16) as u16;
            self.in_stride = field(reg(2), 48, 16) as u16;
        }
        if c.funct == 20 {
            self.weights = field(reg(1), 0, 64);
            self.output = field(reg(2), 0, 64);
        }
        if c.funct == 21 {
            self.bias = field(reg(1), 0, 64);
            self.input = field(reg(2), 0, 64);
        }
        true
    }
}

impl LoopConv {
    pub fn decode(rs1: u64, rs2: u64) -> LoopConv {
        let reg = |r: u32| if r == 1 { rs1 } else { rs2 };
        LoopConv {
            no_bias: field(reg(1), 0, 1) != 0,
            wrot180: field(reg(1), 1, 1) != 0,
            trans_output_1203: field(reg(1), 2, 1) != 0,
            trans_weight_1203: field(reg(1), 3, 1) != 0,
            trans_weight_0132: field(reg(1), 4, 1) != 0,
            trans_input_3120: field(reg(1), 5, 1) != 0,
            dw: field(reg(1), 6, 1) != 0,
            max_pixels_per_row: field(reg(1), 8, 8) as u8,
            b_spad_id: field(reg(1), 16, 2) as u8,
            a_spad_id: field(reg(1), 18, 2) as u8,
            no_pool: field(reg(2), 0, 1) != 0,
            downsample: field(reg(2), 1, 1) != 0,
            input_dilated: field(reg(2), 2, 1) != 0,
            activation: field(reg(2), 3, 2) as u8,
        }
    }

    pub fn encode(&self) -> RoccCmd {
        let (mut rs1, mut rs2) = (0u64, 0u64);
        rs1 |= put(self.no_bias as u64, 0, 1);
        rs1 |= put(self.wrot180 as u64, 1, 1);
        rs1 |= put(self.trans_output_1203 as u64, 2, 1);
        rs1 |= put(self.trans_weight_1203 as u64, 3, 1);
        rs1 |= put(self.trans_weight_0132 as u64, 4, 1);
        rs1 |= put(self.trans_input_3120 as u64, 5, 1);
        rs1 |= put(self.dw as u64, 6, 1);
        rs1 |= put(self.max_pixels_per_row as u64, 8, 8);
        rs1 |= put(self.b_spad_id as u64, 16, 2);
        rs1 |= put(self.a_spad_id as u64, 18, 2);
        rs2 |= put(self.no_pool as u64, 0, 1);
        rs2 |= put(self.downsample as u64, 1, 1);
        rs2 |= put(self.input_dilated as u64, 2, 1);
        rs2 |= put(self.activation as u64, 3, 2);
        RoccCmd {
            funct: Funct::LoopConvWs as u8,
            rs1,
            rs2,
        }
    }
}

/// A decoded command. Decoding never fails: illegal funct values decode to `Illegal`, so the caller
/// decides how to report them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// mvin (state 0), mvin2 (state 1), mvin3 (state 2).
    Mvin {
        state: u8,
        dram: u64,
        op: Operand,
    },
    Mvout {
        dram: u64,
        op: Operand,
    },
    /// WS: `bd` = weights B; OS: `bd` = D. `c` = destination of the next compute.
    Preload {
        bd: Operand,
        c: Operand,
    },
    /// `flip`: compute_preloaded (4); otherwise compute_accumulated (5). WS: `bd` = D; OS: `bd` = B.
    Compute {
        flip: bool,
        a: Operand,
        bd: Operand,
    },
    ConfigEx(ConfigEx),
    ConfigLd(ConfigLd),
    ConfigSt(ConfigSt),
    ConfigNorm {
        rs1: u64,
        rs2: u64,
    },
    Flush {
        skip: bool,
    },
    Counter(CounterOp),
    /// A loop-FSM command (LOOP_WS, LOOP_CONV_WS or one of their configuration words; `accel::loops` reads
    /// their fields).
    Loop(Funct),
    Illegal(u8),
}

impl Command {
    pub fn decode(c: RoccCmd) -> Command {
        let Some(f) = Funct::from_u8(c.funct) else {
            return Command::Illegal(c.funct);
        };
        match f {
            Funct::Config => match c.rs1 & 3 {
                CONFIG_EX => Command::ConfigEx(ConfigEx::decode(c.rs1, c.rs2)),
                CONFIG_LD => Command::ConfigLd(ConfigLd::decode(c.rs1, c.rs2)),
                CONFIG_ST => Command::ConfigSt(ConfigSt::decode(c.rs1, c.rs2)),
                _ => Command::ConfigNorm {
                    rs1: c.rs1,
                    rs2: c.rs2,
                },
            },
            Funct::Mvin | Funct::Mvin2 | Funct::Mvin3 => Command::Mvin {
                state: match f {
                    Funct::Mvin => 0,
                    Funct::Mvin2 => 1,
                    _ => 2,
                },
                dram: c.rs1,
                op: Operand::decode(c.rs2),
            },
            Funct::Mvout => Command::Mvout {
                dram: c.rs1,
                op: Operand::decode(c.rs2),
            },
            Funct::Preload => Command::Preload {
                bd: Operand::decode(c.rs1),
                c: Operand::decode(c.rs2),
            },
            Funct::ComputePreloaded | Funct::ComputeAccumulated => Command::Compute {
                flip: f == Funct::ComputePreloaded,
                a: Operand::decode(c.rs1),
                bd: Operand::decode(c.rs2),
            },
            Funct::Flush => Command::Flush {
                skip: c.rs1 & 1 != 0,
            },
            Funct::Counter => Command::Counter(CounterOp::decode(c.rs1)),
            _ => Command::Loop(f),
        }
    }

    pub fn encode(&self) -> RoccCmd {
        let cmd = |f: Funct, rs1: u64, rs2: u64| RoccCmd {
            funct: f as u8,
            rs1,
            rs2,
        };
        match *self {
            Command::Mvin { state, dram, op } => {
                let f = match state {
                    0 => Funct::Mvin,
                    1 => Funct::Mvin2,
                    _ => Funct::Mvin3,
                };
                cmd(f, dram, op.encode())
            }
            Command::Mvout { dram, op } => cmd(Funct::Mvout, dram, op.encode()),
            Command::Preload { bd, c } => cmd(Funct::Preload, bd.encode(), c.encode()),
            Command::Compute { flip, a, bd } => cmd(
                if flip {
                    Funct::ComputePreloaded
                } else {
                    Funct::ComputeAccumulated
                },
                a.encode(),
                bd.encode(),
            ),
            Command::ConfigEx(c) => c.encode(),
            Command::ConfigLd(c) => c.encode(),
            Command::ConfigSt(c) => c.encode(),
            Command::ConfigNorm { rs1, rs2 } => cmd(Funct::Config, (rs1 & !3) | CONFIG_NORM, rs2),
            Command::Flush { skip } => cmd(Funct::Flush, skip as u64, 0),
            Command::Counter(c) => c.encode(),
            Command::Loop(f) => cmd(f, 0, 0),
            Command::Illegal(f) => RoccCmd {
                funct: f,
                rs1: 0,
                rs2: 0,
            },
        }
    }
}

/// Performance-counter events (spec 6). Ids 1-44 are incrementing events; externals are 1-7 with the
/// external bit. Events that have no source in this design (TLB, im2col, normalizer) read as zero.
pub mod event {
    pub const MAIN_LD_CYCLES: u8 = 1;
    pub const MAIN_ST_CYCLES: u8 = 2;
    pub const MAIN_EX_CYCLES: u8 = 3;
    pub const MAIN_LD_ST_CYCLES: u8 = 4;
    pub const MAIN_LD_EX_CYCLES: u8 = 5;
    pub const MAIN_ST_EX_CYCLES: u8 = 6;
    pub const MAIN_LD_ST_EX_CYCLES: u8 = 7;
    pub const LOAD_DMA_WAIT_CYCLE: u8 = 8;
    pub const LOAD_ACTIVE_CYCLE: u8 = 9;
    pub const LOAD_SCRATCHPAD_WAIT_CYCLE: u8 = 10;
    pub const STORE_DMA_WAIT_CYCLE: u8 = 11;
    pub const STORE_ACTIVE_CYCLE: u8 = 12;
    pub const STORE_POOLING_CYCLE: u8 = 13;
    pub const STORE_SCRATCHPAD_WAIT_CYCLE: u8 = 14;
    pub const RDMA_ACTIVE_CYCLE: u8 = 18;
    pub const RDMA_TL_WAIT_CYCLES: u8 = 20;
    pub const WDMA_ACTIVE_CYCLE: u8 = 21;
    pub const WDMA_TL_WAIT_CYCLES: u8 = 23;
    pub const EXE_ACTIVE_CYCLE: u8 = 24;
    pub const EXE_FLUSH_CYCLE: u8 = 25;
    pub const EXE_CONTROL_Q_BLOCK_CYCLE: u8 = 26;
    pub const EXE_PRELOAD_HAZ_CYCLE: u8 = 27;
    pub const EXE_OVERLAP_HAZ_CYCLE: u8 = 28;
    pub const SCRATCHPAD_A_WAIT_CYCLE: u8 = 29;
    pub const SCRATCHPAD_B_WAIT_CYCLE: u8 = 30;
    pub const SCRATCHPAD_D_WAIT_CYCLE: u8 = 31;
    pub const A_GARBAGE_CYCLES: u8 = 35;
    pub const B_GARBAGE_CYCLES: u8 = 36;
    pub const D_GARBAGE_CYCLES: u8 = 37;
    pub const RESERVATION_STATION_FULL_CYCLES: u8 = 41;
    pub const RESERVATION_STATION_ACTIVE_CYCLES: u8 = 42;

    /// External values (with the external bit).
    pub const EXT_RS_LD_COUNT: u8 = 1;
    pub const EXT_RS_ST_COUNT: u8 = 2;
    pub const EXT_RS_EX_COUNT: u8 = 3;
    pub const EXT_RDMA_BYTES_REC: u8 = 4;
    pub const EXT_WDMA_BYTES_SENT: u8 = 5;
    pub const EXT_RDMA_TOTAL_LATENCY: u8 = 6;
    pub const EXT_WDMA_TOTAL_LATENCY: u8 = 7;

    /// Names of the incrementing events this design produces, by id.
    pub const NAMES: &[(u8, &str)] = &[
        (MAIN_LD_CYCLES, "main_ld_cycles"),
        (MAIN_ST_CYCLES, "main_st_cycles"),
        (MAIN_EX_CYCLES, "main_ex_cycles"),
        (MAIN_LD_ST_CYCLES, "main_ld_st_cycles"),
        (MAIN_LD_EX_CYCLES, "main_ld_ex_cycles"),
        (MAIN_ST_EX_CYCLES, "main_st_ex_cycles"),
        (MAIN_LD_ST_EX_CYCLES, "main_ld_st_ex_cycles"),
        (LOAD_DMA_WAIT_CYCLE, "load_dma_wait_cycle"),
        (LOAD_ACTIVE_CYCLE, "load_active_cycle"),
        (LOAD_SCRATCHPAD_WAIT_CYCLE, "load_scratchpad_wait_cycle"),
        (STORE_DMA_WAIT_CYCLE, "store_dma_wait_cycle"),
        (STORE_ACTIVE_CYCLE, "store_active_cycle"),
        (STORE_POOLING_CYCLE, "store_pooling_cycle"),
        (STORE_SCRATCHPAD_WAIT_CYCLE, "store_scratchpad_wait_cycle"),
        (RDMA_ACTIVE_CYCLE, "rdma_active_cycle"),
        (RDMA_TL_WAIT_CYCLES, "rdma_tl_wait_cycles"),
        (WDMA_ACTIVE_CYCLE, "wdma_active_cycle"),
        (WDMA_TL_WAIT_CYCLES, "wdma_tl_wait_cycles"),
        (EXE_ACTIVE_CYCLE, "exe_active_cycle"),
        (EXE_FLUSH_CYCLE, "exe_flush_cycle"),
        (EXE_CONTROL_Q_BLOCK_CYCLE, "exe_control_q_block_cycle"),
        (EXE_PRELOAD_HAZ_CYCLE, "exe_preload_haz_cycle"),
        (EXE_OVERLAP_HAZ_CYCLE, "exe_overlap_haz_cycle"),
        (SCRATCHPAD_A_WAIT_CYCLE, "scratchpad_a_wait_cycle"),
        (SCRATCHPAD_B_WAIT_CYCLE, "scratchpad_b_wait_cycle"),
        (SCRATCHPAD_D_WAIT_CYCLE, "scratchpad_d_wait_cycle"),
        (A_GARBAGE_CYCLES, "a_garbage_cycles"),
        (B_GARBAGE_CYCLES, "b_garbage_cycles"),
        (D_GARBAGE_CYCLES, "d_garbage_cycles"),
        (
            RESERVATION_STATION_FULL_CYCLES,
            "reservation_station_full_cycles",
        ),
        (
            RESERVATION_STATION_ACTIVE_CYCLES,
            "reservation_station_active_cycles",
        ),
    ];
}

// -------------------------------------------------------------------------------------------------
// The SystemVerilog view of this ISA: build.rs (and the variant builder) write `gemmini_isa_pkg.sv`
// from the definitions below, so the RTL reads funct codes, error codes and command-word fields by name
// from the same source as the Rust side. A unit test checks every layout against encode/decode.
// -------------------------------------------------------------------------------------------------

impl Funct {
    /// Every funct, in code order.
    pub const ALL: [Funct; 23] = [
        Funct::Config,
        Funct::Mvin2,
        Funct::Mvin,
        Funct::Mvout,
        Funct::ComputePreloaded,
        Funct::ComputeAccumulated,
        Funct::Preload,
        Funct::Flush,
        Funct::LoopWs,
        Funct::LoopWsConfigBounds,
        Funct::LoopWsConfigAddrsAb,
        Funct::LoopWsConfigAddrsDc,
        Funct::LoopWsConfigStridesAb,
        Funct::LoopWsConfigStridesDc,
        Funct::Mvin3,
        Funct::LoopConvWs,
        Funct::LoopConvWsConfig1,
        Funct::LoopConvWsConfig2,
        Funct::LoopConvWsConfig3,
        Funct::LoopConvWsConfig4,
        Funct::LoopConvWsConfig5,
        Funct::LoopConvWsConfig6,
        Funct::Counter,
    ];
}

impl ErrorKind {
    /// The codes the hardware raises (the others are reported by the host side).
    pub const HARDWARE: [ErrorKind; 9] = [
        ErrorKind::IllegalFunct,
        ErrorKind::Unsupported,
        ErrorKind::BadRowsCols,
        ErrorKind::SpRange,
        ErrorKind::AccRange,
        ErrorKind::BadTranspose,
        ErrorKind::Pairing,
        ErrorKind::BadAddress,
        ErrorKind::BadLoop,
    ];

    /// The SystemVerilog name of the code (`E_` and the variant in upper snake case).
    pub fn sv_name(self) -> String {
        format!("E_{}", upper_snake(&format!("{self:?}")))
    }
}

/// `BadRowsCols` -> `BAD_ROWS_COLS`.
fn upper_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// One field of a command word: its name in the RTL, its lowest bit and its width.
#[derive(Debug, Clone, Copy)]
pub struct WordField {
    pub name: &'static str,
    pub lsb: u32,
    pub width: u32,
}

const fn wf(name: &'static str, lsb: u32, width: u32) -> WordField {
    WordField { name, lsb, width }
}

/// A command word as the RTL sees it: a packed struct named `name`, `bits` wide. Bits no field names are
/// ignored by the hardware and appear as `unused_<lsb>` fields.
#[derive(Debug, Clone, Copy)]
pub struct WordLayout {
    pub name: &'static str,
    pub doc: &'static str,
    pub bits: u32,
    pub fields: &'static [WordField],
}

/// The command words the RTL decodes field by field (spec 1.3, 1.4, 2.1). `local_addr_t` is nested in
/// `operand_t` as its `addr` field; its low 26 bits are the row field and the garbage bit, whose split
/// depends on the configuration (`ROW_BITS` in gemmini_pkg).
pub const WORD_LAYOUTS: [WordLayout; 9] = [
    WordLayout {
        name: "local_addr_t",
        doc: "a local (scratchpad/accumulator) address",
        bits: 32,
        fields: &[
            wf("is_acc", 31, 1),
            wf("accumulate", 30, 1),
            wf("read_full", 29, 1),
            wf("norm_cmd", 26, 3),
            wf("low", 0, 26),
        ],
    },
    WordLayout {
        name: "operand_t",
        doc: "rs1/rs2 of mvin, mvout, preload and compute",
        bits: 64,
        fields: &[wf("rows", 48, 16), wf("cols", 32, 16), wf("addr", 0, 32)],
    },
    WordLayout {
        name: "config_ex_rs1_t",
        doc: "rs1 of CONFIG_EX",
        bits: 64,
        fields: &[
            wf("acc_scale", 32, 32),
            wf("a_stride", 16, 16),
            wf("b_transpose", 9, 1),
            wf("a_transpose", 8, 1),
            wf("set_only_strides", 7, 1),
            wf("act", 3, 2),
            wf("dataflow", 2, 1),
            wf("cmd", 0, 2),
        ],
    },
    WordLayout {
        name: "config_ex_rs2_t",
        doc: "rs2 of CONFIG_EX",
        bits: 64,
        fields: &[wf("c_stride", 48, 16), wf("in_shift", 0, 32)],
    },
    WordLayout {
        name: "config_ld_rs1_t",
        doc: "rs1 of CONFIG_LD (rs2 is the DRAM stride)",
        bits: 64,
        fields: &[
            wf("scale", 32, 32),
            wf("block_stride", 16, 16),
            wf("pixel_repeats", 8, 8),
            wf("state_id", 3, 2),
            wf("shrink", 2, 1),
            wf("cmd", 0, 2),
        ],
    },
    WordLayout {
        name: "config_st_rs1_t",
        doc: "rs1 of CONFIG_ST",
        bits: 64,
        fields: &[
            wf("ocols", 56, 8),
            wf("orows", 48, 8),
            wf("pocols", 40, 8),
            wf("porows", 32, 8),
            wf("pool_out_dim", 24, 8),
            wf("lpad", 10, 2),
            wf("upad", 8, 2),
            wf("pool_size", 6, 2),
            wf("pool_stride", 4, 2),
            wf("act", 2, 2),
            wf("cmd", 0, 2),
        ],
    },
    WordLayout {
        name: "config_st_rs2_t",
        doc: "rs2 of CONFIG_ST",
        bits: 64,
        fields: &[wf("acc_scale", 32, 32), wf("stride", 0, 32)],
    },
    WordLayout {
        name: "config_norm_rs1_t",
        doc: "rs1 of CONFIG_NORM",
        bits: 64,
        fields: &[
            wf("q_const", 32, 32),
            wf("q_const_type", 18, 1),
            wf("set_stats_id_only", 17, 1),
            wf("act_msb", 16, 1),
            wf("stat_id", 8, 8),
            wf("cmd", 0, 2),
        ],
    },
    WordLayout {
        name: "config_norm_rs2_t",
        doc: "rs2 of CONFIG_NORM",
        bits: 64,
        fields: &[wf("qc", 32, 32), wf("qb", 0, 32)],
    },
];

/// The SystemVerilog package `gemmini_isa_pkg`: funct codes (`funct_e`), error codes (`err_e`), config
/// sub-commands and the command-word structs of [`WORD_LAYOUTS`].
pub fn sv_isa_package() -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated from src/sim/isa.rs by build.rs: the ISA for the RTL. Do not edit.\n\
         // verilator lint_off UNUSEDPARAM\npackage gemmini_isa_pkg;\n"
    );
    let _ = writeln!(s, "  // funct7 of each RoCC command (spec 1.2)");
    let _ = writeln!(s, "  typedef enum logic [6:0] {{");
    for (i, f) in Funct::ALL.iter().enumerate() {
        let sep = if i + 1 == Funct::ALL.len() { "" } else { "," };
        let _ = writeln!(
            s,
            "    F_{} = 7'd{}{sep}",
            f.name().to_ascii_uppercase(),
            *f as u8
        );
    }
    let _ = writeln!(s, "  }} funct_e;\n");
    let _ = writeln!(s, "  // sticky error codes (docs/accelerator.md section 1)");
    let _ = writeln!(s, "  typedef enum logic [7:0] {{\n    E_NONE = 8'd0,");
    for (i, e) in ErrorKind::HARDWARE.iter().enumerate() {
        let sep = if i + 1 == ErrorKind::HARDWARE.len() {
            ""
        } else {
            ","
        };
        let _ = writeln!(s, "    {} = 8'd{}{sep}", e.sv_name(), *e as u8);
    }
    let _ = writeln!(s, "  }} err_e;\n");
    let _ = writeln!(s, "  // config sub-commands (rs1[1:0] of funct 0)");
    for (name, v) in [
        ("CONFIG_EX", CONFIG_EX),
        ("CONFIG_LD", CONFIG_LD),
        ("CONFIG_ST", CONFIG_ST),
        ("CONFIG_NORM", CONFIG_NORM),
    ] {
        let _ = writeln!(s, "  localparam logic [1:0] {name} = 2'd{v};");
    }
    for w in &WORD_LAYOUTS {
        let _ = writeln!(s, "\n  // {}", w.doc);
        let _ = writeln!(s, "  typedef struct packed {{");
        let mut fields: Vec<&WordField> = w.fields.iter().collect();
        fields.sort_by_key(|f| std::cmp::Reverse(f.lsb));
        let mut next = w.bits; // the bit above the next field to write
        for f in fields {
            let top = f.lsb + f.width;
            if top < next {
                let _ = writeln!(s, "    logic [{}:0] unused_{top};", next - top - 1);
            }
            let ty = if f.name == "addr" && w.name == "operand_t" {
                "local_addr_t".to_string()
            } else if f.width == 1 {
                "logic".to_string()
            } else {
                format!("logic [{}:0]", f.width - 1)
            };
            let _ = writeln!(s, "    {ty} {};", f.name);
            next = f.lsb;
        }
        if next > 0 {
            let _ = writeln!(s, "    logic [{}:0] unused_0;", next - 1);
        }
        let _ = writeln!(s, "  }} {};", w.name);
    }
    let _ = writeln!(s, "\nendpackage\n// verilator lint_on UNUSEDPARAM");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field values the Rust decoders give for word `w` of `layout`, by the RTL's field names.
    fn rust_fields(layout: &str, w: u64) -> Vec<(&'static str, u64)> {
        let b = |v: bool| u64::from(v);
        match layout {
            "local_addr_t" => {
                let a = LocalAddr(w as u32);
                vec![
                    ("is_acc", b(a.is_acc())),
                    ("accumulate", b(a.accumulate())),
                    ("read_full", b(a.read_full())),
                    ("norm_cmd", a.norm_cmd().into()),
                    ("low", a.row(26).into()),
                ]
            }
            "operand_t" => {
                let o = Operand::decode(w);
                vec![
                    ("rows", o.rows.into()),
                    ("cols", o.cols.into()),
                    ("addr", o.addr.0.into()),
                ]
            }
            "config_ex_rs1_t" => {
                let c = ConfigEx::decode(w, 0);
                vec![
                    ("acc_scale", c.acc_scale.into()),
                    ("a_stride", c.a_stride.into()),
                    ("b_transpose", b(c.b_transpose)),
                    ("a_transpose", b(c.a_transpose)),
                    ("set_only_strides", b(c.set_only_strides)),
                    ("act", c.act.into()),
                    ("dataflow", c.dataflow.into()),
                    ("cmd", w & 3),
                ]
            }
            "config_ex_rs2_t" => {
                let c = ConfigEx::decode(0, w);
                vec![
                    ("c_stride", c.c_stride.into()),
                    ("in_shift", c.in_shift.into()),
                ]
            }
            "config_ld_rs1_t" => {
                let c = ConfigLd::decode(w, 0);
                vec![
                    ("scale", c.scale.into()),
                    ("block_stride", c.block_stride.into()),
                    ("pixel_repeats", c.pixel_repeats.into()),
                    ("state_id", c.state_id.into()),
                    ("shrink", b(c.shrink)),
                    ("cmd", w & 3),
                ]
            }
            "config_st_rs1_t" => {
                let c = ConfigSt::decode(w, 0);
                vec![
                    ("ocols", c.ocols.into()),
                    ("orows", c.orows.into()),
                    ("pocols", c.pocols.into()),
                    ("porows", c.porows.into()),
                    ("pool_out_dim", c.pool_out_dim.into()),
                    ("lpad", c.lpad.into()),
                    ("upad", c.upad.into()),
                    ("pool_size", c.pool_size.into()),
                    ("pool_stride", c.pool_stride.into()),
                    ("act", c.act.into()),
                    ("cmd", w & 3),
                ]
            }
            "config_st_rs2_t" => {
                let c = ConfigSt::decode(0, w);
                vec![
                    ("acc_scale", c.acc_scale.into()),
                    ("stride", c.stride.into()),
                ]
            }
            "config_norm_rs1_t" => {
                let c = ConfigNorm::decode(w, 0);
                vec![
                    ("q_const", c.q_const.into()),
                    ("q_const_type", b(c.q_const_type)),
                    ("set_stats_id_only", b(c.set_stats_id_only)),
                    ("act_msb", b(c.act_msb)),
                    ("stat_id", c.stat_id.into()),
                    ("cmd", w & 3),
                ]
            }
            "config_norm_rs2_t" => {
                let c = ConfigNorm::decode(0, w);
                vec![("qc", c.qc.into()), ("qb", c.qb.into())]
            }
            other => panic!("no Rust decoder listed for {other}"),
        }
    }

    /// Every field of every RTL word layout is exactly the bits the Rust decoder reads for it, and bits no
    /// field names are ignored by the decoder too.
    #[test]
    fn sv_word_layouts_match_the_decoders() {
        for w in &WORD_LAYOUTS {
            let mut named = 0u64;
            for f in w.fields {
                let ones = if f.width == 64 {
                    u64::MAX
                } else {
                    (1u64 << f.width) - 1
                };
                named |= ones << f.lsb;
                for (name, v) in rust_fields(w.name, ones << f.lsb) {
                    let want = if name == f.name { ones } else { 0 };
                    assert_eq!(v, want, "{}.{} set: decoder field {name}", w.name, f.name);
                }
            }
            assert_eq!(
                rust_fields(w.name, 0).len(),
                w.fields.len(),
                "{}: one decoder field per layout field",
                w.name
            );
            let width_mask = if w.bits == 64 {
                u64::MAX
            } else {
                (1u64 << w.bits) - 1
            };
            let unused = !named & width_mask;
            for (name, v) in rust_fields(w.name, unused) {
                assert_eq!(v, 0, "{}: unused bits {unused:#x} reach {name}", w.name);
            }
        }
    }

    #[test]
    fn sv_package_names_every_funct_and_error() {
        let pkg = sv_isa_package();
        for f in Funct::ALL {
            assert!(
                pkg.contains(&format!(
                    "F_{} = 7'd{},",
                    f.name().to_ascii_uppercase(),
                    f as u8
                )) || pkg.contains(&format!(
                    "F_{} = 7'd{}\n",
                    f.name().to_ascii_uppercase(),
                    f as u8
                ))
            );
        }
        assert!(pkg.contains("E_BAD_ROWS_COLS = 8'd3,") && pkg.contains("E_BAD_LOOP = 8'd9\n"));
        for v in 0..=255u8 {
            assert_eq!(
                Funct::from_u8(v).is_some(),
                Funct::ALL.iter().any(|f| *f as u8 == v)
            );
        }
    }

    #[test]
    fn local_addr_bits() {
        let g = LocalAddr::GARBAGE;
        assert!(g.is_garbage(14) && g.is_acc() && g.accumulate() && g.read_full());
        assert!(!LocalAddr::acc_full(0x3fff).is_garbage(14));
        assert!(LocalAddr(0xE000_7FFF).is_garbage(14));
        assert_eq!(LocalAddr::acc(5).add_rows(3, 14), LocalAddr::acc(8));
        assert_eq!(LocalAddr::sp(0x3fff).add_rows(1, 14), LocalAddr::sp(0));
        assert_eq!(LocalAddr(5 << 29).0, LocalAddr::acc_full(0).0);
    }

    #[test]
    fn operand_and_configs_round_trip() {
        let op = Operand::new(LocalAddr::acc_accumulate(17), 64, 16);
        assert_eq!(Operand::decode(op.encode()), op);
        let ex = ConfigEx {
            dataflow: DATAFLOW_OS,
            act: ACT_RELU,
            set_only_strides: false,
            a_transpose: true,
            b_transpose: false,
            a_stride: 3,
            acc_scale: 0x3f00_0000,
            in_shift: 7,
            c_stride: 2,
        };
        let c = ex.encode();
        assert_eq!(Command::decode(c), Command::ConfigEx(ex));
        let ld = ConfigLd {
            shrink: true,
            state_id: 2,
            pixel_repeats: 1,
            block_stride: 40,
            scale: 0x4000_0000,
            stride: 1234,
        };
        assert_eq!(Command::decode(ld.encode()), Command::ConfigLd(ld));
        let mut st = ConfigSt::new(99);
        st.act = 1;
        st.pool_stride = 2;
        st.pool_size = 3;
        st.upad = 1;
        st.lpad = 1;
        st.pool_out_dim = 7;
        st.porows = 3;
        st.pocols = 4;
        st.orows = 8;
        st.ocols = 9;
        assert_eq!(Command::decode(st.encode()), Command::ConfigSt(st));
        let k = CounterOp::configure_code(3, 49);
        assert!(k.external && k.event == 5);
        assert_eq!(CounterOp::decode(k.encode().rs1), k);
    }

    #[test]
    fn loop_ws_round_trip() {
        let desc = LoopWsDesc {
            i: 5,
            j: 6,
            k: 32,
            pad_i: 3,
            pad_j: 0,
            pad_k: 15,
            a: 0x8000_1000,
            b: 0x8000_2000,
            d: 0,
            c: 0x8000_3000,
            a_stride: 512,
            b_stride: 100,
            d_stride: 7,
            c_stride: 9,
        };
        let mode = LoopWs {
            ex_accumulate: true,
            full_c: false,
            low_d: true,
            act: 1,
            a_spad_id: 2,
            b_spad_id: 1,
            a_transpose: false,
            b_transpose: true,
            is_resadd: false,
            ext: 0,
        };
        let cmds = desc.encode(&mode);
        assert_eq!(
            cmds.iter().map(|c| c.funct).collect::<Vec<_>>(),
            [9, 10, 11, 12, 13, 8]
        );
        // spec 1.4 bit positions
        assert_eq!(cmds[0].rs1, 3 | (15 << 32));
        assert_eq!(cmds[0].rs2, 5 | (6 << 16) | (32 << 32));
        assert_eq!(cmds[5].rs1, 1 | (1 << 2) | (1 << 8) | (1 << 16) | (2 << 18));
        assert_eq!(cmds[5].rs2, 2);
        let mut back = LoopWsDesc::default();
        for c in &cmds[..5] {
            back.apply(LoopWsConfig::decode(*c).expect("a loop config"));
        }
        assert_eq!(back, desc);
        assert_eq!(LoopWs::decode(cmds[5].rs1, cmds[5].rs2), mode);
        assert!(LoopWsConfig::decode(cmds[5]).is_none());
    }

    #[test]
    fn loop_conv_round_trip() {
        let desc = LoopConvDesc {
            batch_size: 2,
            in_row_dim: 9,
            in_channels: 35,
            out_channels: 20,
            out_row_dim: 5,
            stride: 2,
            padding: 1,
            kernel_dim: 3,
            kernel_dilation: 1,
            pdpad: 0x5a5,
            pupad: 0x3ff,
            plpad: 7,
            in_stride: 35,
            weights: 0x8000_1000,
            input: 0x8000_4000,
            ..Default::default()
        };
        let mode = LoopConv {
            no_bias: true,
            dw: true,
            max_pixels_per_row: 13,
            a_spad_id: 1,
            b_spad_id: 2,
            downsample: true,
            activation: 3,
            ..Default::default()
        };
        let cmds = desc.encode(&mode);
        assert_eq!(
            cmds.iter().map(|c| c.funct).collect::<Vec<_>>(),
            [16, 17, 18, 19, 20, 21, 15]
        );
        // spec 1.4 bit positions
        assert_eq!(cmds[0].rs1, 2 | (9 << 16) | (35 << 32) | (20 << 48));
        assert_eq!(cmds[0].rs2, 5 | (2 << 48) | (1 << 56));
        assert_eq!(
            cmds[3].rs1 & ((1 << 32) - 1),
            1 | (0x5a5 << 10) | (0x3ff << 21)
        );
        assert_eq!(
            cmds[6].rs1,
            1 | (1 << 6) | (13 << 8) | (2 << 16) | (1 << 18)
        );
        assert_eq!(cmds[6].rs2, (1 << 1) | (3 << 3));
        let mut back = LoopConvDesc::default();
        for c in &cmds[..6] {
            assert!(back.apply(*c));
        }
        assert!(!back.apply(cmds[6]));
        assert_eq!(back, desc);
        assert_eq!(LoopConv::decode(cmds[6].rs1, cmds[6].rs2), mode);
    }

    #[test]
    fn commands_round_trip() {
        let cmds = [
            Command::Mvin {
                state: 1,
                dram: 0x8000_1000,
                op: Operand::new(LocalAddr::sp(12), 16, 16),
            },
            Command::Mvout {
                dram: 0x8000_2000,
                op: Operand::new(LocalAddr::acc(3), 16, 4),
            },
            Command::Preload {
                bd: Operand::garbage(16),
                c: Operand::new(LocalAddr::acc(0), 16, 16),
            },
            Command::Compute {
                flip: false,
                a: Operand::new(LocalAddr::sp(0), 16, 16),
                bd: Operand::garbage(16),
            },
            Command::Flush { skip: true },
        ];
        for c in cmds {
            assert_eq!(Command::decode(c.encode()), c);
        }
        assert_eq!(
            Command::decode(RoccCmd {
                funct: 50,
                rs1: 0,
                rs2: 0
            }),
            Command::Illegal(50)
        );
        assert_eq!(
            Command::decode(RoccCmd {
                funct: 9,
                rs1: 0,
                rs2: 0
            }),
            Command::Loop(Funct::LoopWsConfigBounds)
        );
    }
}
