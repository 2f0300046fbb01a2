//! GEMM schedules (`C[M][N] = sat8(A[M][K] * B[K][N])`) on the weight-stationary dataflow.
//!
//! Structure of every generated program: three tile loops in `order`; each operand's loads sit at a
//! chosen depth of that nest (its *level*: 0 = before all loops, 3 = inside the innermost), and its
//! scratchpad buffer covers every tile the loops inside that depth visit, so those tiles are loaded once
//! and reused. C accumulates in place in the accumulator from the first to the last K tile and is moved
//! out after the K loop. Inside a tile, one B block is preloaded and then reused for every row block of A
//! (`compute_accumulated` keeps the weights), which is what makes large I tiles pay.

use super::code::{span, tile_extent, Code, Expr, MIN_HELPER};
use crate::sim::config::HwConfig;
use anyhow::{bail, ensure};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A GEMM dimension: I (rows of A and C), J (columns of B and C), K (the reduction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    I,
    J,
    K,
}

impl Dim {
    fn letter(self) -> char {
        match self {
            Dim::I => 'i',
            Dim::J => 'j',
            Dim::K => 'k',
        }
    }
}

/// The order of the three tile loops, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order(pub [Dim; 3]);

impl Order {
    pub const ALL: [Order; 6] = [
        Order([Dim::I, Dim::J, Dim::K]),
        Order([Dim::I, Dim::K, Dim::J]),
        Order([Dim::J, Dim::I, Dim::K]),
        Order([Dim::J, Dim::K, Dim::I]),
        Order([Dim::K, Dim::I, Dim::J]),
        Order([Dim::K, Dim::J, Dim::I]),
    ];

    /// Depth of `d`'s loop (0 = outermost).
    pub fn pos(&self, d: Dim) -> usize {
        self.0.iter().position(|&x| x == d).unwrap_or(0)
    }

    pub fn name(&self) -> String {
        self.0.iter().map(|d| d.letter()).collect()
    }

    pub fn parse(s: &str) -> Option<Order> {
        Order::ALL.into_iter().find(|o| o.name() == s)
    }
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Order, D::Error> {
        let s = String::deserialize(d)?;
        Order::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("loop order `{s}` is not a permutation of ijk"))
        })
    }
}

/// Which operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    A,
    B,
}

impl Operand {
    /// (row dimension, column dimension) of the operand's matrix.
    fn dims(self) -> (Dim, Dim) {
        match self {
            Operand::A => (Dim::I, Dim::K),
            Operand::B => (Dim::K, Dim::J),
        }
    }
    fn indexes(self, d: Dim) -> bool {
        let (r, c) = self.dims();
        r == d || c == d
    }
}

/// One point of the GEMM schedule space. Tile sizes are in DIM blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemmSchedule {
    pub ti: u32,
    pub tj: u32,
    pub tk: u32,
    /// Tile loops, outermost first.
    pub order: Order,
    /// Depth (0..=3) at which A is loaded; its buffer covers all tiles of the loops inside that depth.
    pub a_level: u8,
    /// Depth (0..=3) at which B is loaded.
    pub b_level: u8,
    /// Alternate two buffers (ping-pong halves) for successive loads, so a load never waits for the
    /// computations on the previous buffer.
    pub double_buffer_a: bool,
    pub double_buffer_b: bool,
    /// Alternate two accumulator regions for successive output tiles, so the next tile's computations do
    /// not wait for the previous tile's mvout.
    pub double_buffer_c: bool,
    /// DIM blocks per mvin of A (along K) and of B (along J), and per mvout of C (along J): 1..=MAX_BLOCK_LEN.
    pub a_width: u32,
    pub b_width: u32,
    pub c_width: u32,
    /// Guard loads with `if` when the loops just outside them do not index the operand (the data is
    /// already in the buffer).
    pub skip_redundant: bool,
    /// Unroll factor of the innermost (row block) loop: 1..=8.
    pub unroll: u32,
    /// Place B in its own scratchpad banks (away from A) when there is room.
    pub spread: bool,
    /// Inner block loops: K blocks outside J blocks (true) or J outside K (false).
    pub inner_k_outer: bool,
    /// Defer the mvouts of a finished output tile and issue them one per block computation of the next
    /// tile, so the (slow) stores overlap compute instead of filling the store queue at once. Needs K as
    /// the innermost tile loop, a double-buffered accumulator and `tj <= c_width` (one mvout per row block).
    #[serde(default)]
    pub interleave_store: bool,
    /// Prefetch A's (B's) panel for the next iteration of the loop just outside its loads into the other
    /// half of its double buffer, one mvin every few block computations of the current iteration, instead
    /// of loading it in a burst at the top of the iteration (a double buffer alone hides only what the
    /// execute queue holds). Needs the operand loaded at depth 1 or deeper, indexed by that loop, and
    /// double-buffered. At depth 1 the stream spans the whole run; deeper, the first panel of each
    /// iteration of the enclosing loop is still loaded in a burst.
    #[serde(default)]
    pub prefetch_a: bool,
    #[serde(default)]
    pub prefetch_b: bool,
    /// Stream the panels that are moved in once before the computations start (an operand loaded at
    /// depth 0, and the first panel of a depth-1 prefetch stream) instead of loading them in a burst:
    /// each weight block first issues the mvins it reads that are still missing, and then a few more
    /// of the panel, in the order the computations consume it, so the execute unit starts after the
    /// first slice instead of after the whole panel. Needs such an operand; deeper panels stay bursts.
    /// Off (and not written into the record) by default, so older records keep their programs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream_first: bool,
    /// Start the second half of each double buffer (A's, B's) at a scratchpad bank boundary instead of
    /// right after the first half. The banks are single-ported and a load's row write wins over the
    /// execute unit's read of the same bank (as in Gemmini's Scratchpad), so with both halves in one
    /// bank every row moved into the next panel stalls a row read of the current one (gemm_12544x256x64,
    /// 7 x 4 x 2 tiles, A prefetched: 50,110 denied A reads, one per A row moved in). Costs the rows up to
    /// the boundary; refused when the layout does not fit. Off (and not written into the record) by
    /// default, so older records keep their programs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bank_halves: bool,
}

/// Sizes the generator and the validator share.
struct Plan {
    dim: u64,
    /// Blocks per dimension.
    mb: u64,
    nb: u64,
    kb: u64,
    /// Scratchpad / accumulator row bases and sizes (one buffer).
    a0: u64,
    a_size: u64,
    b0: u64,
    b_size: u64,
    /// Rows from the first half of a double buffer to the second (the size, or the size rounded up to
    /// a bank with `bank_halves`).
    a_step: u64,
    b_step: u64,
    c_size: u64,
}

impl GemmSchedule {
    /// One DIM x DIM output tile at a time; A and B blocks moved in for every block product.
    pub fn naive() -> GemmSchedule {
        GemmSchedule {
            ti: 1,
            tj: 1,
            tk: 1,
            order: Order([Dim::I, Dim::J, Dim::K]),
            a_level: 3,
            b_level: 3,
            double_buffer_a: false,
            double_buffer_b: false,
            double_buffer_c: false,
            a_width: 1,
            b_width: 1,
            c_width: 1,
            skip_redundant: false,
            unroll: 1,
            spread: false,
            inner_k_outer: false,
            interleave_store: false,
            prefetch_a: false,
            prefetch_b: false,
            stream_first: false,
            bank_halves: false,
        }
    }

    pub fn tile(&self, d: Dim) -> u64 {
        u64::from(match d {
            Dim::I => self.ti,
            Dim::J => self.tj,
            Dim::K => self.tk,
        })
    }

    /// How many times the buffer of an operand moved in at loop level `level` (the operand indexed by
    /// `dims`) is refilled over the GEMM: once per iteration of every loop outside the level, except,
    /// with `skip_redundant`, the loops that do not index it and run inside the innermost loop that
    /// does (their iterations would reload the same blocks). `tiles(d)` is the number of tiles of
    /// dimension d. The analytic costs (the hand family's and the proposer's prior) count loads with it.
    pub fn refills(&self, level: u8, dims: [Dim; 2], tiles: impl Fn(Dim) -> u64) -> u64 {
        let mut times = 1;
        let mut seen_index = false;
        for pos in (0..usize::from(level)).rev() {
            let d = self.order.0[pos];
            let idx = dims.contains(&d);
            seen_index |= idx;
            if idx || !self.skip_redundant || seen_index {
                times *= tiles(d);
            }
        }
        times
    }

    /// Blocks of dimension `d` a buffer moved in at loop level `level` spans: the whole dimension
    /// (`blocks`) when d's loop runs inside that level, else one tile.
    pub fn extent_at(&self, level: u8, d: Dim, blocks: u64) -> u64 {
        if self.order.pos(d) >= usize::from(level) {
            blocks
        } else {
            self.tile(d)
        }
    }

    pub fn level(&self, x: Operand) -> usize {
        usize::from(match x {
            Operand::A => self.a_level,
            Operand::B => self.b_level,
        })
    }

    /// Blocks the buffer of `x` spans along `d`: the whole dimension when `d`'s loop is inside the load.
    fn ext(&self, x: Operand, d: Dim, blocks: u64) -> u64 {
        if self.order.pos(d) >= self.level(x) {
            blocks
        } else {
            self.tile(d)
        }
    }

    /// Whether `stream_first` streams `x`'s first panel: `x` is loaded at depth 0, or at depth 1 with its
    /// prefetch stream (whose first panel is otherwise a burst before the loops).
    fn first_streamable(&self, x: Operand) -> bool {
        let pf = match x {
            Operand::A => self.prefetch_a,
            Operand::B => self.prefetch_b,
        };
        self.level(x) == 0 || (self.level(x) == 1 && pf)
    }

    /// Blocks the accumulator region spans along `d` (I or J): whole when `d`'s loop is inside the K loop.
    fn c_ext(&self, d: Dim, blocks: u64) -> u64 {
        if self.order.pos(d) > self.order.pos(Dim::K) {
            blocks
        } else {
            self.tile(d)
        }
    }

    fn blocks(d: Dim, mb: u64, nb: u64, kb: u64) -> u64 {
        match d {
            Dim::I => mb,
            Dim::J => nb,
            Dim::K => kb,
        }
    }

    fn plan(&self, hw: &HwConfig, m: u64, n: u64, k: u64) -> anyhow::Result<Plan> {
        let dim = u64::from(hw.dim());
        ensure!(m > 0 && n > 0 && k > 0, "empty GEMM {m}x{n}x{k}");
        let (mb, nb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
        for (name, t, total) in [
            ("ti", self.ti, mb),
            ("tj", self.tj, nb),
            ("tk", self.tk, kb),
        ] {
            ensure!(
                t >= 1 && u64::from(t) <= total,
                "{name} = {t} blocks is outside 1..={total} (the dimension has {total} blocks of {dim})"
            );
        }
        ensure!(
            self.a_level <= 3 && self.b_level <= 3,
            "load levels must be 0..=3 (a_level {}, b_level {})",
            self.a_level,
            self.b_level
        );
        let mbl = hw.max_block_len();
        for (name, w) in [
            ("a_width", self.a_width),
            ("b_width", self.b_width),
            ("c_width", self.c_width),
        ] {
            ensure!(
                (1..=mbl).contains(&w),
                "{name} = {w} blocks per move is outside 1..={mbl} (max_bytes / DIM)"
            );
        }
        ensure!(
            (1..=8).contains(&self.unroll),
            "unroll = {} is outside 1..=8",
            self.unroll
        );
        if self.interleave_store {
            ensure!(
                self.order.pos(Dim::K) == 2 && self.double_buffer_c && self.tj <= self.c_width,
                "interleave_store needs K as the innermost tile loop (order {}), a double-buffered \
                 accumulator (double_buffer_c {}) and tj <= c_width ({} > {})",
                self.order.name(),
                self.double_buffer_c,
                self.tj,
                self.c_width
            );
        }
        for (x, on, db, name) in [
            (
                Operand::A,
                self.prefetch_a,
                self.double_buffer_a,
                "prefetch_a",
            ),
            (
                Operand::B,
                self.prefetch_b,
                self.double_buffer_b,
                "prefetch_b",
            ),
        ] {
            if on {
                let lvl = self.level(x);
                ensure!(
                    lvl >= 1 && x.indexes(self.order.0[lvl.clamp(1, 3) - 1]) && db,
                    "{name} needs the operand loaded at depth 1 or deeper (level {}), indexed by the loop \
                     just outside its loads (order {}) and double-buffered ({db})",
                    self.level(x),
                    self.order.name()
                );
            }
        }
        if self.stream_first {
            ensure!(
                [Operand::A, Operand::B]
                    .into_iter()
                    .any(|x| self.first_streamable(x)),
                "stream_first needs an operand loaded once before the loops: at depth 0 (levels A {} B \
                 {}) or at depth 1 with its prefetch stream on (prefetch_a {}, prefetch_b {})",
                self.a_level,
                self.b_level,
                self.prefetch_a,
                self.prefetch_b
            );
        }
        let e = |x, d| self.ext(x, d, Self::blocks(d, mb, nb, kb));
        let a_size = e(Operand::A, Dim::I) * e(Operand::A, Dim::K) * dim;
        let b_size = e(Operand::B, Dim::K) * e(Operand::B, Dim::J) * dim;
        let bank = u64::from(hw.sp_bank_rows()).max(1);
        let step = |size: u64| {
            if self.bank_halves {
                size.next_multiple_of(bank)
            } else {
                size
            }
        };
        let (a_step, b_step) = (step(a_size), step(b_size));
        let a_total = if self.double_buffer_a {
            a_step + a_size
        } else {
            a_size
        };
        let b_total = if self.double_buffer_b {
            b_step + b_size
        } else {
            b_size
        };
        if self.bank_halves {
            ensure!(
                self.double_buffer_a || self.double_buffer_b,
                "bank_halves needs a double buffer (double_buffer_a {}, double_buffer_b {})",
                self.double_buffer_a,
                self.double_buffer_b
            );
        }
        let sp_rows = u64::from(hw.sp_rows());
        if a_total + b_total > sp_rows {
            bail!(
                "scratchpad overfull: A needs {a_total} rows and B {b_total} rows, {} in all, but the \
                 scratchpad has {sp_rows} rows (tiles {}x{}x{}, order {}, levels A {} B {})",
                a_total + b_total,
                self.ti,
                self.tj,
                self.tk,
                self.order.name(),
                self.a_level,
                self.b_level
            );
        }
        // Block strides of the mvin layouts must fit config_ld's 16-bit field.
        ensure!(
            e(Operand::A, Dim::I) * dim <= 0xffff && e(Operand::B, Dim::K) * dim <= 0xffff,
            "scratchpad block stride above 65535 rows"
        );
        let c_size = self.c_ext(Dim::I, mb) * self.c_ext(Dim::J, nb) * dim;
        let c_total = c_size * if self.double_buffer_c { 2 } else { 1 };
        let acc_rows = u64::from(hw.acc_rows());
        if c_total > acc_rows {
            bail!(
                "accumulator overfull: the output region needs {c_total} rows but the accumulator has \
                 {acc_rows} rows (tiles {}x{}, order {}{})",
                self.ti,
                self.tj,
                self.order.name(),
                if self.double_buffer_c {
                    ", double-buffered"
                } else {
                    ""
                }
            );
        }
        let b0 = if self.spread {
            let aligned = a_total.next_multiple_of(bank);
            if aligned + b_total <= sp_rows {
                aligned
            } else {
                sp_rows - b_total
            }
        } else {
            a_total
        };
        Ok(Plan {
            dim,
            mb,
            nb,
            kb,
            a0: 0,
            a_size,
            b0,
            b_size,
            a_step,
            b_step,
            c_size,
        })
    }

    /// Scratchpad rows of the A and B buffers: (first half's base, second half's base, rows per half);
    /// the two bases are equal for a single buffer. None when the schedule does not fit.
    pub fn buffer_rows(
        &self,
        hw: &HwConfig,
        m: u64,
        n: u64,
        k: u64,
    ) -> Option<[(u64, u64, u64); 2]> {
        let p = self.plan(hw, m, n, k).ok()?;
        let second = |db: bool, base: u64, step: u64| if db { base + step } else { base };
        Some([
            (p.a0, second(self.double_buffer_a, p.a0, p.a_step), p.a_size),
            (p.b0, second(self.double_buffer_b, p.b0, p.b_step), p.b_size),
        ])
    }

    /// Checks the schedule against the shape and the hardware's capacities.
    pub fn validate(&self, hw: &HwConfig, m: u64, n: u64, k: u64) -> anyhow::Result<()> {
        self.plan(hw, m, n, k).map(|_| ())
    }

    /// Scratchpad and accumulator rows the schedule occupies (for feedback-driven choices).
    pub fn footprint(&self, hw: &HwConfig, m: u64, n: u64, k: u64) -> Option<(u64, u64)> {
        let p = self.plan(hw, m, n, k).ok()?;
        let a = p.a_size * if self.double_buffer_a { 2 } else { 1 };
        let b = p.b_size * if self.double_buffer_b { 2 } else { 1 };
        // (Rows in use; with bank_halves the gaps up to the bank boundaries are not counted.)
        let c = p.c_size * if self.double_buffer_c { 2 } else { 1 };
        Some((a + b, c))
    }

    /// The C text after the schedule comment (call [`GemmSchedule::validate`] first).
    pub(crate) fn emit(
        &self,
        hw: &HwConfig,
        m: u64,
        n: u64,
        k: u64,
        signature: &str,
    ) -> anyhow::Result<String> {
        let p = self.plan(hw, m, n, k)?;
        let mut c = Code::new();
        let mut head = String::from(MIN_HELPER);
        head.push('\n');
        c.open(signature);
        c.line("config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);");
        let a_bs = self.ext(Operand::A, Dim::I, p.mb) * p.dim;
        let b_bs = self.ext(Operand::B, Dim::K, p.kb) * p.dim;
        c.line(format!("config_ld({k}, MVIN_SCALE_IDENTITY, {a_bs}, 0);"));
        c.line(format!("config_ld({n}, MVIN_SCALE_IDENTITY, {b_bs}, 1);"));
        c.line(format!("config_st({n});"));
        c.line("const uint32_t acc = 1u << 31, accum = 1u << 30;");
        if self.double_buffer_a {
            c.line(format!("uint32_t a_cur = {};", p.a0 + p.a_step));
        }
        if self.double_buffer_b {
            c.line(format!("uint32_t b_cur = {};", p.b0 + p.b_step));
        }
        if self.double_buffer_c {
            c.line(format!("uint32_t c_cur = {};", p.c_size));
        }
        let e = Emitter {
            s: self,
            p: &p,
            m,
            n,
            k,
            ld_entries: u64::from(hw.reservation_station.ld).max(1),
            prologue: std::cell::Cell::new(false),
        };
        let streams: Vec<String> = [Operand::A, Operand::B]
            .into_iter()
            .filter(|&x| e.streamed(x))
            .map(|x| e.sf_helper(x))
            .collect();
        if !streams.is_empty() {
            // The first-panel streams' state: mvins issued, next row and column group, stream tile.
            head.push_str("struct gf_stream { int done, r, g, r0, r1; };\n");
            for h in &streams {
                head.push_str(h);
            }
            head.push('\n');
        }
        for (on, n) in [(self.prefetch_a, "pfa"), (self.prefetch_b, "pfb")] {
            if on {
                // The prefetch stream: the next outer iteration's panel, still to move in.
                c.line(format!(
                    "int {n}_left = 0, {n}_rb = 0, {n}_cb = 0, {n}_n = 0;"
                ));
                c.line(format!("uint32_t {n}_buf = 0;"));
            }
        }
        if self.interleave_store {
            // The store stream: the finished tile's row blocks still to move out.
            c.line("int8_t *st_p = 0;");
            c.line("uint32_t st_a = 0;");
            c.line("int st_left = 0, st_row = 0, st_cols = 0, st_gap = 0;");
        }
        e.level(&mut c, 0);
        if self.interleave_store {
            c.open("while (st_left > 0)");
            e.store_step(&mut c);
            c.close();
        }
        c.line("fence();");
        c.close();
        head.push_str(&c.finish());
        Ok(head)
    }
}

struct Emitter<'a> {
    s: &'a GemmSchedule,
    p: &'a Plan,
    m: u64,
    n: u64,
    k: u64,
    /// Load entries of the reservation station: more mvins per weight block than this would stall the
    /// hart behind a full load queue while the execute queue runs dry.
    ld_entries: u64,
    /// Whether the code being emitted is the outermost loop's first iteration (the only one where
    /// the first-panel streams run).
    prologue: std::cell::Cell<bool>,
}

/// The shape of a first-panel stream (`stream_first`), in panel-local blocks: the mvins are those of
/// the burst it replaces (row block `r` by column group `g` of `w` blocks), issued tile by tile of the
/// row dimension (`t` rows per stream tile) and, inside one, group by group, row by row. The stream
/// tile is the row dimension's tile when that dimension's loop runs inside the column dimension's
/// loop within the panel (then the computations finish one row tile before the next), else the whole
/// panel (column group by column group).
struct SfGeom {
    /// Row blocks and column groups of the panel.
    nr: u64,
    ng: u64,
    /// Column blocks of the panel.
    nc: u64,
    /// Rows per stream tile.
    t: u64,
    /// The stream runs row tile by row tile (the row dimension's tile loop index).
    by_row_tile: bool,
    w: u64,
}

fn sf_name(x: Operand) -> &'static str {
    match x {
        Operand::A => "sfa",
        Operand::B => "sfb",
    }
}

fn var(d: Dim) -> &'static str {
    match d {
        Dim::I => "i0",
        Dim::J => "j0",
        Dim::K => "k0",
    }
}

fn op_name(x: Operand) -> &'static str {
    match x {
        Operand::A => "a",
        Operand::B => "b",
    }
}

fn pf_name(x: Operand) -> &'static str {
    match x {
        Operand::A => "pfa",
        Operand::B => "pfb",
    }
}

fn count_var(d: Dim) -> &'static str {
    match d {
        Dim::I => "ni",
        Dim::J => "nj",
        Dim::K => "nk",
    }
}

impl Emitter<'_> {
    fn blocks(&self, d: Dim) -> u64 {
        GemmSchedule::blocks(d, self.p.mb, self.p.nb, self.p.kb)
    }

    fn size(&self, d: Dim) -> u64 {
        match d {
            Dim::I => self.m,
            Dim::J => self.n,
            Dim::K => self.k,
        }
    }

    fn tiles(&self, d: Dim) -> u64 {
        self.blocks(d).div_ceil(self.s.tile(d))
    }

    /// Blocks in the current tile along `d` (valid inside `d`'s loop).
    fn count(&self, d: Dim) -> Expr {
        match tile_extent(var(d), self.s.tile(d), self.blocks(d)) {
            Expr::Const(v) => Expr::Const(v),
            Expr::Var(_) => Expr::var(count_var(d)),
        }
    }

    /// First block of the current tile along `d`.
    fn start(&self, d: Dim) -> Expr {
        if self.tiles(d) == 1 {
            Expr::Const(0)
        } else {
            Expr::var(var(d)).muli(self.s.tile(d) as i64)
        }
    }

    fn level(&self, c: &mut Code, lvl: usize) {
        let kpos = self.s.order.pos(Dim::K);
        for x in [Operand::A, Operand::B] {
            if self.s.level(x) == lvl && !self.prefetched(x) {
                if self.streamed(x) {
                    self.sf_setup(c, x);
                } else {
                    self.loads(c, x, lvl);
                }
            }
        }
        for x in [Operand::A, Operand::B] {
            if self.prefetched(x) && self.s.level(x) == lvl + 1 {
                if self.streamed(x) {
                    self.sf_setup(c, x);
                } else {
                    self.first_panel(c, x);
                }
            }
        }
        if lvl == 3 {
            self.compute(c);
            return;
        }
        let d = self.s.order.0[lvl];
        if lvl == kpos && self.s.double_buffer_c {
            c.line(format!("c_cur = c_cur == 0 ? {} : 0;", self.p.c_size));
        }
        let streams = [Operand::A, Operand::B]
            .into_iter()
            .any(|x| self.streamed(x));
        if lvl == 0 && streams && self.tiles(d) > 1 {
            // The first iteration, where the first panels stream in, is emitted apart from the rest,
            // whose computations then carry no trace of the streams (see `compute`).
            self.prologue.set(true);
            self.tile_loop(c, lvl, 0, 1);
            self.prologue.set(false);
            self.tile_loop(c, lvl, 1, self.tiles(d));
        } else {
            if lvl == 0 {
                self.prologue.set(streams);
            }
            self.tile_loop(c, lvl, 0, self.tiles(d));
        }
        if lvl == kpos {
            if self.s.interleave_store {
                self.hand_over(c);
            } else {
                self.mvout(c);
            }
        }
    }

    /// Iterations `lo..hi` of the tile loop at depth `lvl`, with everything inside.
    fn tile_loop(&self, c: &mut Code, lvl: usize, lo: u64, hi: u64) {
        let d = self.s.order.0[lvl];
        c.open(format!(
            "for (int {v} = {lo}; {v} < {hi}; {v}++)",
            v = var(d)
        ));
        if let Expr::Var(ext) = tile_extent(var(d), self.s.tile(d), self.blocks(d)) {
            c.line(format!("const int {} = {ext};", count_var(d)));
        }
        for x in [Operand::A, Operand::B] {
            if self.prefetched(x) && self.s.level(x) == lvl + 1 {
                self.prefetch_setup(c, x);
            }
        }
        self.level(c, lvl + 1);
        if lvl == 0 && self.prologue.get() {
            // Every block of the first panels was read in this iteration, so the streams are done;
            // this makes sure of it before the later iterations (without demand checks) and the
            // prefetch stream reuse the buffers.
            for x in [Operand::A, Operand::B] {
                if self.streamed(x) {
                    self.sf_drain(c, x);
                }
            }
        }
        for x in [Operand::A, Operand::B] {
            if self.prefetched(x) && self.s.level(x) == lvl + 1 {
                let n = pf_name(x);
                c.open(format!("while ({n}_left > 0)"));
                self.prefetch_step(c, x);
                c.close();
                c.line(format!("{}_cur = {n}_buf;", op_name(x)));
            }
        }
        c.close();
    }

    /// Row base of the current buffer of `x`.
    fn base(&self, x: Operand) -> Expr {
        match x {
            Operand::A if self.s.double_buffer_a => Expr::var("a_cur"),
            Operand::B if self.s.double_buffer_b => Expr::var("b_cur"),
            Operand::A => Expr::Const(self.p.a0 as i64),
            Operand::B => Expr::Const(self.p.b0 as i64),
        }
    }

    /// (first block, block count) of `x`'s buffer along `d` at its load point.
    fn range(&self, x: Operand, d: Dim) -> (Expr, Expr) {
        if self.s.order.pos(d) >= self.s.level(x) {
            (Expr::Const(0), Expr::Const(self.blocks(d) as i64))
        } else {
            (self.start(d), self.count(d))
        }
    }

    fn loads(&self, c: &mut Code, x: Operand, lvl: usize) {
        // Loops just outside the load point that do not index x revisit data already in the buffer.
        let mut guard = Vec::new();
        if self.s.skip_redundant {
            for pos in (0..lvl).rev() {
                let d = self.s.order.0[pos];
                if x.indexes(d) {
                    break;
                }
                if self.tiles(d) > 1 {
                    guard.push(format!("{} == 0", var(d)));
                }
            }
        }
        let (rd, cd) = x.dims();
        let name = op_name(x);
        let what = match x {
            Operand::A => "A",
            Operand::B => "B",
        };
        c.line(format!(
            "/* move in the {what} blocks used inside this loop level */"
        ));
        if !guard.is_empty() {
            c.open(format!("if ({})", guard.join(" && ")));
        }
        let (size, b0) = match x {
            Operand::A => (self.p.a_step, self.p.a0),
            Operand::B => (self.p.b_step, self.p.b0),
        };
        let dbuf = match x {
            Operand::A => self.s.double_buffer_a,
            Operand::B => self.s.double_buffer_b,
        };
        if dbuf {
            c.line(format!(
                "{name}_cur = {name}_cur == {b0} ? {} : {b0};",
                b0 + size
            ));
        }
        let (r0, rn) = self.range(x, rd);
        let (c0, cn) = self.range(x, cd);
        self.panel(c, x, (&r0, &rn), (&c0, &cn), &self.base(x));
        c.end(!guard.is_empty());
    }

    /// The mvins of one buffer-full of `x`: row blocks `r0..r0+rn`, column blocks `c0..c0+cn`, into the
    /// buffer at `base`.
    fn panel(
        &self,
        c: &mut Code,
        x: Operand,
        rows_r: (&Expr, &Expr),
        cols_r: (&Expr, &Expr),
        base: &Expr,
    ) {
        let (rd, cd) = x.dims();
        let (r0, rn) = rows_r;
        let (c0, cn) = cols_r;
        let (mvin, width, ext_r, dram) = self.mvin_of(x);
        let dim = self.p.dim as i64;
        let (rb, o_r) = c.for_upto("rb", rn, 1);
        let (cb, o_c) = c.for_upto("cb", cn, i64::from(width));
        let rg = r0.add(&rb);
        let cg = c0.add(&cb);
        let rows = span(&rg, &Expr::Const(1), self.p.dim, self.size(rd));
        let nblk = if cn.as_const().is_some_and(|v| v % i64::from(width) == 0) {
            Expr::Const(i64::from(width))
        } else {
            Expr::Const(i64::from(width)).min(&cn.sub(&cb))
        };
        let cols = span(&cg, &nblk, self.p.dim, self.size(cd));
        // Layout: column blocks are `ext_r` row blocks apart (the config_ld block stride).
        let addr = base.add(&cb.muli(ext_r as i64).add(&rb).muli(dim));
        c.line(mvin_line(
            mvin,
            dram,
            (&rg.muli(dim), &cg.muli(dim)),
            &addr,
            &cols,
            &rows,
        ));
        c.end(o_c);
        c.end(o_r);
    }

    fn prefetched(&self, x: Operand) -> bool {
        match x {
            Operand::A => self.s.prefetch_a,
            Operand::B => self.s.prefetch_b,
        }
    }

    /// (mvin macro, blocks per mvin, row blocks between column blocks in the buffer, DRAM array).
    fn mvin_of(&self, x: Operand) -> (&'static str, u32, u64, &'static str) {
        match x {
            Operand::A => (
                "mvin",
                self.s.a_width,
                self.s.ext(x, Dim::I, self.p.mb),
                "A",
            ),
            Operand::B => (
                "mvin2",
                self.s.b_width,
                self.s.ext(x, Dim::K, self.p.kb),
                "B",
            ),
        }
    }

    /// Buffer halves of `x`: (first, second).
    fn halves(&self, x: Operand) -> (u64, u64) {
        match x {
            Operand::A => (self.p.a0, self.p.a0 + self.p.a_step),
            Operand::B => (self.p.b0, self.p.b0 + self.p.b_step),
        }
    }

    /// The loop whose iterations the prefetch stream of `x` runs across: the one just outside its load
    /// depth (validation makes that depth at least 1 and the loop index `x`).
    fn pf_loop(&self, x: Operand) -> Dim {
        self.s.order.0[self.s.level(x).clamp(1, 3) - 1]
    }

    /// (start, count) of a prefetched panel of `x` along `d`: the prefetch loop's dimension takes
    /// `outer`, loops further out their current tile, loops inside the whole dimension.
    fn pf_range(&self, x: Operand, d: Dim, outer: (Expr, Expr)) -> (Expr, Expr) {
        let depth = self.s.level(x).clamp(1, 3) - 1;
        if d == self.pf_loop(x) {
            outer
        } else if self.s.order.pos(d) < depth {
            (self.start(d), self.count(d))
        } else {
            (Expr::Const(0), Expr::Const(self.blocks(d) as i64))
        }
    }

    /// Before the prefetch loop: the first iteration's panel, in a burst. At depth 1 (once per run) it
    /// goes into the first half; deeper it goes into the half not in use, since computations on the
    /// other half may still be queued from the enclosing loop's previous iteration.
    fn first_panel(&self, c: &mut Code, x: Operand) {
        let d0 = self.pf_loop(x);
        let (h0, h1) = self.halves(x);
        let n0 = Expr::Const(self.s.tile(d0).min(self.blocks(d0)) as i64);
        let (rd, cd) = x.dims();
        let (r0, rn) = self.pf_range(x, rd, (Expr::Const(0), n0.clone()));
        let (c0, cn) = self.pf_range(x, cd, (Expr::Const(0), n0));
        c.line(format!(
            "/* move in the first {} panel; later ones are prefetched during computation */",
            match x {
                Operand::A => "A",
                Operand::B => "B",
            }
        ));
        if self.s.level(x) == 1 {
            c.line(format!("{}_cur = {h0};", op_name(x)));
            self.panel(c, x, (&r0, &rn), (&c0, &cn), &Expr::Const(h0 as i64));
        } else {
            let (o, n) = (op_name(x), pf_name(x));
            c.line(format!("{o}_cur = {o}_cur == {h0} ? {h1} : {h0};"));
            // The stream's target follows, so the swap after this loop's last iteration keeps it.
            c.line(format!("{n}_buf = {o}_cur;"));
            self.panel(c, x, (&r0, &rn), (&c0, &cn), &Expr::var(format!("{o}_cur")));
        }
    }

    /// At the top of an outer iteration: queue the next iteration's panel into the other half.
    fn prefetch_setup(&self, c: &mut Code, x: Operand) {
        let d0 = self.pf_loop(x);
        let n = pf_name(x);
        let (h0, h1) = self.halves(x);
        let tiles = self.tiles(d0);
        let next = format!("({} + 1)", var(d0));
        let next_n = tile_extent(&next, self.s.tile(d0), self.blocks(d0));
        let (_, width, _, _) = self.mvin_of(x);
        let (rd, cd) = x.dims();
        let next_count = (Expr::Const(0), Expr::var(format!("{n}_n")));
        let (_, cn) = self.pf_range(x, cd, next_count.clone());
        let (_, rn) = self.pf_range(x, rd, next_count);
        c.open(format!("if ({} + 1 < {tiles})", var(d0)));
        c.line(format!("{n}_n = {};", next_n.c()));
        c.line(format!(
            "{n}_left = {} * (({} + {}) / {width});",
            rn.c(),
            cn.c(),
            width - 1
        ));
        c.line(format!("{n}_rb = 0; {n}_cb = 0;"));
        c.line(format!(
            "{n}_buf = {o}_cur == {h0} ? {h1} : {h0};",
            o = op_name(x)
        ));
        c.close();
    }

    /// One mvin of the prefetch stream of `x`.
    fn prefetch_step(&self, c: &mut Code, x: Operand) {
        let d0 = self.pf_loop(x);
        let n = pf_name(x);
        let (mvin, width, ext_r, dram) = self.mvin_of(x);
        let dim = self.p.dim as i64;
        let start = Expr::var(format!("({} + 1)", var(d0))).muli(self.s.tile(d0) as i64);
        let outer = (start, Expr::var(format!("{n}_n")));
        let (rd, cd) = x.dims();
        let (r0, _) = self.pf_range(x, rd, outer.clone());
        let (c0, cn) = self.pf_range(x, cd, outer);
        let rb = Expr::var(format!("{n}_rb"));
        let cb = Expr::var(format!("{n}_cb"));
        let rg = r0.add(&rb);
        let cg = c0.add(&cb);
        let rows = span(&rg, &Expr::Const(1), self.p.dim, self.size(rd));
        let nblk = if cn.as_const().is_some_and(|v| v % i64::from(width) == 0) {
            Expr::Const(i64::from(width))
        } else {
            Expr::Const(i64::from(width)).min(&cn.sub(&cb))
        };
        let cols = span(&cg, &nblk, self.p.dim, self.size(cd));
        let addr = Expr::var(format!("{n}_buf")).add(&cb.muli(ext_r as i64).add(&rb).muli(dim));
        c.line(mvin_line(
            mvin,
            dram,
            (&rg.muli(dim), &cg.muli(dim)),
            &addr,
            &cols,
            &rows,
        ));
        c.line(format!(
            "{n}_cb += {width}; if ({n}_cb >= {}) {{ {n}_cb = 0; {n}_rb++; }} {n}_left--;",
            cn.c()
        ));
    }

    /// Prefetch mvins per weight block: the panel finishes in about half an iteration of the prefetch
    /// loop.
    fn prefetch_per_group(&self, x: Operand) -> u64 {
        let depth = self.s.level(x).clamp(1, 3) - 1;
        // Weight blocks (groups of row-block computations) per iteration of the prefetch loop.
        let groups: u64 = [Dim::I, Dim::J, Dim::K]
            .iter()
            .map(|&d| {
                let e = if self.s.order.pos(d) <= depth {
                    self.s.tile(d)
                } else {
                    self.blocks(d)
                };
                if d == Dim::I {
                    e.div_ceil(self.s.tile(Dim::I))
                } else {
                    e
                }
            })
            .product();
        let (_, width, _, _) = self.mvin_of(x);
        let (rd, cd) = x.dims();
        let ext = |d: Dim| {
            if self.s.order.pos(d) <= depth {
                self.s.tile(d)
            } else {
                self.blocks(d)
            }
        };
        let mvins = ext(rd) * ext(cd).div_ceil(u64::from(width));
        (2 * mvins).div_ceil(groups.max(1)).max(1)
    }

    /// Whether `x`'s first panel is streamed (`stream_first`) rather than moved in by a burst.
    fn streamed(&self, x: Operand) -> bool {
        self.s.stream_first && self.s.first_streamable(x)
    }

    fn sf_geom(&self, x: Operand) -> SfGeom {
        let (rd, cd) = x.dims();
        // The panel's extent: the whole dimension for loops inside the load depth, the (full) first
        // tile for the depth-1 stream's own loop.
        let ext = |d: Dim| {
            if self.s.order.pos(d) >= self.s.level(x) {
                self.blocks(d)
            } else {
                self.s.tile(d).min(self.blocks(d))
            }
        };
        let (nr, nc) = (ext(rd), ext(cd));
        let (_, width, _, _) = self.mvin_of(x);
        let w = u64::from(width);
        let by_row_tile = self.s.order.pos(rd) >= self.s.level(x)
            && self.tiles(rd) > 1
            && self.s.order.pos(rd) < self.s.order.pos(cd);
        SfGeom {
            nr,
            ng: nc.div_ceil(w),
            nc,
            t: if by_row_tile { self.s.tile(rd) } else { nr },
            by_row_tile,
            w,
        }
    }

    fn sf_total(&self, x: Operand) -> u64 {
        let g = self.sf_geom(x);
        g.nr * g.ng
    }

    /// The helper that advances `x`'s first-panel stream up to a position (a static function placed
    /// before `solution`). The stream's state lives in a struct the helper updates through a pointer,
    /// so it stays in memory: kept in registers it would crowd the hot loop's (once the panel is in,
    /// the computations run as fast as without the stream).
    fn sf_helper(&self, x: Operand) -> String {
        let g = self.sf_geom(x);
        let n = sf_name(x);
        let (rd, cd) = x.dims();
        let (mvin, _, ext_r, dram) = self.mvin_of(x);
        let dim = self.p.dim as i64;
        let (h0, _) = self.halves(x);
        let w = g.w as i64;
        let r = Expr::var("s->r");
        let cb = Expr::var("s->g").muli(w);
        let rows = span(&r, &Expr::Const(1), self.p.dim, self.size(rd));
        let nblk = if g.nc % g.w == 0 {
            Expr::Const(w)
        } else {
            Expr::Const(w).min(&Expr::Const(g.nc as i64).sub(&cb))
        };
        let cols = span(&cb, &nblk, self.p.dim, self.size(cd));
        let addr = Expr::Const(h0 as i64).add(&cb.muli(ext_r as i64).add(&r).muli(dim));
        let total = self.sf_total(x);
        let mut c = Code::new();
        c.open(format!(
            "static void __attribute__((noinline)) gf_{n}_upto(struct gf_stream *s, int8_t {dram}[][{}], int need, int ahead)",
            self.size(cd)
        ));
        c.line("if (need < s->done + ahead) need = s->done + ahead;");
        c.line(format!("if (need > {total}) need = {total};"));
        c.open("while (s->done < need)");
        c.line(mvin_line(
            mvin,
            dram,
            (&r.muli(dim), &cb.muli(dim)),
            &addr,
            &cols,
            &rows,
        ));
        // Rows of the stream tile, then column groups, then the next stream tile.
        c.line(format!(
            "s->done++; if (++s->r == s->r1) {{ s->r = s->r0; if (++s->g == {}) {{ s->g = 0; \
             s->r0 = s->r1; s->r1 = gf_min(s->r1 + {}, {}); s->r = s->r0; }} }}",
            g.ng, g.t, g.nr
        ));
        c.close();
        c.close();
        c.finish()
    }

    /// Where the burst was: the stream's state (nothing moved in yet; the weight blocks pull it in).
    /// The panel lives in the buffer's first half, where the burst would have put it.
    fn sf_setup(&self, c: &mut Code, x: Operand) {
        let g = self.sf_geom(x);
        let n = sf_name(x);
        let (h0, _) = self.halves(x);
        c.line(format!(
            "/* the {} panel streams in during the first computations, in the order they read it */",
            match x {
                Operand::A => "A",
                Operand::B => "B",
            }
        ));
        let dbuf = match x {
            Operand::A => self.s.double_buffer_a,
            Operand::B => self.s.double_buffer_b,
        };
        if dbuf {
            c.line(format!("{}_cur = {h0};", op_name(x)));
        }
        c.line(format!("struct gf_stream {n} = {{0, 0, 0, 0, {}}};", g.t));
    }

    /// `gf_sfX_upto(...)`: the stream up to `need` and `ahead` mvins further.
    fn sf_call(&self, c: &mut Code, x: Operand, need: &str, ahead: u64) {
        let (_, _, _, dram) = self.mvin_of(x);
        let n = sf_name(x);
        c.line(format!("gf_{n}_upto(&{n}, {dram}, {need}, {ahead});"));
    }

    /// Before a weight block: move in whatever of the panel it reads that the stream has not issued
    /// yet. The stream position just past the mvins it reads is `need` (every earlier row tile is
    /// full, so the count is linear in the tile index, the group and the row).
    fn sf_demand(&self, c: &mut Code, x: Operand, kb: &Expr, jb: &Expr) {
        let g = self.sf_geom(x);
        let n = sf_name(x);
        let (rd, cd) = x.dims();
        let local_c = match x {
            Operand::A => kb,
            Operand::B => jb,
        };
        let col = self.off(x, cd, local_c);
        let grp = match col.as_const() {
            Some(v) => Expr::Const(v / g.w as i64),
            None if g.w == 1 => col,
            None => Expr::var(format!("({} / {})", col.c(), g.w)),
        };
        let need = if g.by_row_tile {
            let n_r = self.count(rd);
            let r_hi = match x {
                Operand::A => n_r.clone(),
                Operand::B => kb.addi(1),
            };
            Expr::var(var(rd))
                .muli((g.t * g.ng) as i64)
                .add(&grp.mul(&n_r))
                .add(&r_hi)
        } else {
            let r_hi = match x {
                Operand::A => self
                    .off(x, Dim::I, &Expr::Const(0))
                    .add(&self.count(Dim::I)),
                Operand::B => self.off(x, Dim::K, kb).addi(1),
            };
            grp.muli(g.nr as i64).add(&r_hi)
        };
        c.open(format!("if ({n}.done < {})", need.c()));
        self.sf_call(c, x, &need.c(), 0);
        c.close();
    }

    /// Mvins of the first-panel stream ahead of demand per weight block: twice the rate at which the
    /// first computations read the panel (A: a stream tile's rows per `w` K blocks; B: at most one
    /// block per weight block), within the load queue.
    fn sf_per_group(&self, x: Operand) -> u64 {
        let g = self.sf_geom(x);
        let rate = match x {
            Operand::A => (2 * g.t).div_ceil(g.w),
            Operand::B => 2,
        };
        rate.clamp(1, self.ld_entries)
    }

    /// Issue whatever is left of the first-panel stream.
    fn sf_drain(&self, c: &mut Code, x: Operand) {
        self.sf_call(c, x, &self.sf_total(x).to_string(), 0);
    }

    /// Offset of block `local` (within the current tile) inside `x`'s buffer along `d`.
    fn off(&self, x: Operand, d: Dim, local: &Expr) -> Expr {
        if self.s.order.pos(d) >= self.s.level(x) {
            self.start(d).add(local)
        } else {
            local.clone()
        }
    }

    fn c_off(&self, d: Dim, local: &Expr) -> Expr {
        if self.s.order.pos(d) > self.s.order.pos(Dim::K) {
            self.start(d).add(local)
        } else {
            local.clone()
        }
    }

    fn c_base(&self) -> Expr {
        if self.s.double_buffer_c {
            Expr::var("c_cur")
        } else {
            Expr::Const(0)
        }
    }

    fn compute(&self, c: &mut Code) {
        let live: Vec<String> = [Operand::A, Operand::B]
            .into_iter()
            .filter(|&x| self.streamed(x))
            .map(|x| format!("{}.done < {}", sf_name(x), self.sf_total(x)))
            .collect();
        if live.is_empty() || !self.prologue.get() {
            self.compute_blocks(c, false);
        } else {
            // In the outermost loop's first iteration, two copies of the tile's computations: with
            // the first-panel streams while one is still running, and without once the panels are
            // in, so their bookkeeping costs the hart (whose time per weight block is the scarce
            // resource) nothing then. Later iterations have the plain copy only: extra code in the
            // hot loop nest costs it registers, measurably.
            c.open(format!("if ({})", live.join(" || ")));
            self.compute_blocks(c, true);
            c.close();
            c.open("else");
            self.compute_blocks(c, false);
            c.close();
        }
    }

    /// The tile's weight blocks; `streaming` adds the first-panel streams' demand and ahead steps.
    fn compute_blocks(&self, c: &mut Code, streaming: bool) {
        let dim = self.p.dim as i64;
        let (ni, nj, nk) = (self.count(Dim::I), self.count(Dim::J), self.count(Dim::K));
        let (outer, inner) = if self.s.inner_k_outer {
            (("kb", &nk), ("jb", &nj))
        } else {
            (("jb", &nj), ("kb", &nk))
        };
        let (ov, o_o) = c.for_upto(outer.0, outer.1, 1);
        let (iv, o_i) = c.for_upto(inner.0, inner.1, 1);
        let (jb, kb) = if self.s.inner_k_outer {
            (iv, ov)
        } else {
            (ov, iv)
        };
        for x in [Operand::A, Operand::B] {
            if streaming && self.streamed(x) {
                self.sf_demand(c, x, &kb, &jb);
            }
        }
        let jg = self.start(Dim::J).add(&jb);
        let kg = self.start(Dim::K).add(&kb);
        let ext_bk = self.s.ext(Operand::B, Dim::K, self.p.kb) as i64;
        let b_addr = self.base(Operand::B).add(
            &self
                .off(Operand::B, Dim::J, &jb)
                .muli(ext_bk)
                .add(&self.off(Operand::B, Dim::K, &kb))
                .muli(dim),
        );
        let kcnt = span(&kg, &Expr::Const(1), self.p.dim, self.k);
        let ncols = span(&jg, &Expr::Const(1), self.p.dim, self.n);
        c.line(format!("const uint32_t b_sp = {};", b_addr.c()));
        c.line(format!("const int kc = {}, nc = {};", kcnt.c(), ncols.c()));
        let flag = if self.tiles(Dim::K) == 1 && self.s.tk == 1 {
            "0".to_string()
        } else {
            format!("({} == 0 ? 0 : accum)", kg.c())
        };
        c.line(format!("const uint32_t c_flag = acc | {flag};"));
        let ext_ai = self.s.ext(Operand::A, Dim::I, self.p.mb) as i64;
        let a_koff = self.off(Operand::A, Dim::K, &kb).muli(ext_ai);
        c.line(format!(
            "const uint32_t a_col = {};",
            self.base(Operand::A).add(&a_koff.muli(dim)).c()
        ));
        let ext_cj = self.s.c_ext(Dim::J, self.p.nb) as i64;
        let c_col = self.c_base().add(&self.c_off(Dim::J, &jb).muli(dim));
        c.line(format!("const uint32_t c_col = c_flag | {};", c_col.c()));
        let body = |c: &mut Code, ib: &Expr, first: bool| {
            let ig = self.start(Dim::I).add(ib);
            let rows = span(&ig, &Expr::Const(1), self.p.dim, self.m);
            let a = Expr::var("a_col").add(&self.off(Operand::A, Dim::I, ib).muli(dim));
            let cc = Expr::var("c_col").add(&self.c_off(Dim::I, ib).muli(ext_cj * dim));
            if self.s.interleave_store {
                // Spread the tile's mvouts over the next tile's computations: a burst would fill the
                // store queue and stall the hart while the execute queue runs dry.
                c.open("if (st_left > 0 && --st_gap <= 0)");
                self.store_step(c);
                c.line(format!("st_gap = {};", self.store_gap()));
                c.close();
            }
            if first {
                c.line(format!(
                    "preload(b_sp, {}, nc, kc, nc, {});",
                    cc.c(),
                    rows.c()
                ));
                c.line(format!(
                    "compute_preloaded({}, GARBAGE_ADDR, kc, {}, {dim}, {dim});",
                    a.c(),
                    rows.c()
                ));
            } else {
                c.line(format!(
                    "preload(GARBAGE_ADDR, {}, {dim}, {dim}, nc, {});",
                    cc.c(),
                    rows.c()
                ));
                c.line(format!(
                    "compute_accumulated({}, GARBAGE_ADDR, kc, {}, {dim}, {dim});",
                    a.c(),
                    rows.c()
                ));
            }
        };
        body(c, &Expr::Const(0), true);
        let u = i64::from(self.s.unroll);
        let single = ni.as_const() == Some(1);
        if let (Some(n), false, true) = (ni.as_const(), single, u > 1) {
            // A constant row-block count: the blocks the unrolled loop leaves are written out after it
            // rather than looped over. The hart's time per weight block sets the pace here, and a
            // remainder loop costs it a compare and a taken branch per block (12544x64x256 at
            // 16 x 2 x 4 tiles: 896,707 cycles with unroll 8 and a 7-block remainder loop).
            let rest = n - 1;
            let (steps, tail) = (rest / u, rest % u);
            if steps > 0 {
                c.line("int ib = 1;");
                c.open(format!("for (; ib + {} < {n}; ib += {u})", u - 1));
                for t in 0..u {
                    body(c, &Expr::var("ib").addi(t), false);
                }
                c.close();
            }
            for t in 0..tail {
                body(c, &Expr::Const(1 + steps * u + t), false);
            }
        } else if !single {
            if u > 1 {
                c.line("int ib = 1;");
                c.open(format!("for (; ib + {} < {}; ib += {u})", u - 1, ni.c()));
                for t in 0..u {
                    body(c, &Expr::var("ib").addi(t), false);
                }
                c.close();
                c.open(format!("for (; ib < {}; ib++)", ni.c()));
            } else {
                c.open(format!("for (int ib = 1; ib < {}; ib++)", ni.c()));
            }
            body(c, &Expr::var("ib"), false);
            c.close();
        }
        // The prefetch streams advance once per weight block (not per computation: the hart's time per
        // block is the scarce resource here).
        for x in [Operand::A, Operand::B] {
            if self.prefetched(x) {
                let n = pf_name(x);
                let r = self.prefetch_per_group(x);
                // While the first panel still streams, the next one waits: both would share the
                // load unit, and the first one is needed sooner.
                let wait = if streaming && self.streamed(x) {
                    format!(" && {}.done >= {}", sf_name(x), self.sf_total(x))
                } else {
                    String::new()
                };
                if r == 1 {
                    c.open(format!("if ({n}_left > 0{wait})"));
                } else {
                    c.open(format!(
                        "for (int t = 0; t < {r} && {n}_left > 0{wait}; t++)"
                    ));
                }
                self.prefetch_step(c, x);
                c.close();
            }
        }
        for x in [Operand::A, Operand::B] {
            if streaming && self.streamed(x) {
                // Ahead of demand, behind this weight block's computations in the queues.
                self.sf_call(c, x, "0", self.sf_per_group(x));
            }
        }
        c.end(o_i);
        c.end(o_o);
    }

    /// Block computations between two mvouts of the store stream: a tile's computations spread evenly
    /// over its row blocks.
    fn store_gap(&self) -> u64 {
        (self.s.tile(Dim::J) * self.s.tile(Dim::K)).max(1)
    }

    /// One mvout of the store stream (one row block of the pending tile).
    fn store_step(&self, c: &mut Code) {
        let dim = self.p.dim as i64;
        let rows = if self.m % self.p.dim == 0 {
            Expr::Const(dim)
        } else {
            Expr::var(format!("gf_min({dim}, {} - st_row)", self.m))
        };
        c.line(format!("mvout(st_p, st_a, st_cols, {});", rows.c()));
        let ext_cj = self.s.c_ext(Dim::J, self.p.nb) as i64;
        c.line(format!(
            "st_p += {}; st_a += {}; st_row += {dim}; st_left--;",
            dim * self.n as i64,
            ext_cj * dim
        ));
    }

    /// After the K loop: finish the previous tile's stores, then queue this tile's.
    fn hand_over(&self, c: &mut Code) {
        let dim = self.p.dim as i64;
        c.open("while (st_left > 0)");
        self.store_step(c);
        c.close();
        let i0 = self.start(Dim::I);
        let j0 = self.start(Dim::J);
        c.line(format!(
            "st_p = &C[{}][{}];",
            i0.muli(dim).c(),
            j0.muli(dim).c()
        ));
        c.line(format!("st_a = acc | {};", self.c_base().c()));
        c.line(format!("st_left = {};", self.count(Dim::I).c()));
        c.line(format!("st_row = {};", i0.muli(dim).c()));
        c.line(format!(
            "st_cols = {};",
            span(&j0, &self.count(Dim::J), self.p.dim, self.n).c()
        ));
    }

    fn mvout(&self, c: &mut Code) {
        let dim = self.p.dim as i64;
        let (i0, icnt) = if self.s.order.pos(Dim::I) > self.s.order.pos(Dim::K) {
            (Expr::Const(0), Expr::Const(self.p.mb as i64))
        } else {
            (self.start(Dim::I), self.count(Dim::I))
        };
        let (j0, jcnt) = if self.s.order.pos(Dim::J) > self.s.order.pos(Dim::K) {
            (Expr::Const(0), Expr::Const(self.p.nb as i64))
        } else {
            (self.start(Dim::J), self.count(Dim::J))
        };
        let ext_cj = self.s.c_ext(Dim::J, self.p.nb) as i64;
        let w = i64::from(self.s.c_width);
        let (rb, o_r) = c.for_upto("rb", &icnt, 1);
        let (cb, o_c) = c.for_upto("cb", &jcnt, w);
        let ig = i0.add(&rb);
        let jg = j0.add(&cb);
        let rows = span(&ig, &Expr::Const(1), self.p.dim, self.m);
        let nblk = if jcnt.as_const().is_some_and(|v| v % w == 0) {
            Expr::Const(w)
        } else {
            Expr::Const(w).min(&jcnt.sub(&cb))
        };
        let cols = span(&jg, &nblk, self.p.dim, self.n);
        let addr = self.c_base().add(&rb.muli(ext_cj).add(&cb).muli(dim));
        c.line(format!(
            "mvout(&C[{}][{}], acc | {}, {}, {});",
            ig.muli(dim).c(),
            jg.muli(dim).c(),
            addr.c(),
            cols.c(),
            rows.c()
        ));
        c.end(o_c);
        c.end(o_r);
    }
}

/// One mvin of `dram`'s element (row, col) into scratchpad row `addr`: `cols` x `rows` elements.
fn mvin_line(
    mvin: &str,
    dram: &str,
    (row, col): (&Expr, &Expr),
    addr: &Expr,
    cols: &Expr,
    rows: &Expr,
) -> String {
    format!(
        "{mvin}(&{dram}[{}][{}], {}, {}, {});",
        row.c(),
        col.c(),
        addr.c(),
        cols.c(),
        rows.c()
    )
}
