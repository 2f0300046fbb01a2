//! A tiny indented C writer and helpers that fold constant expressions, so generated programs stay
//! readable and cheap for the hart (constants where the shape allows, runtime clamps only at edges).

pub(crate) struct Code {
    text: String,
    indent: usize,
}

impl Code {
    pub(crate) fn new() -> Code {
        Code {
            text: String::new(),
            indent: 0,
        }
    }

    pub(crate) fn line(&mut self, s: impl AsRef<str>) {
        for _ in 0..self.indent {
            self.text.push_str("  ");
        }
        self.text.push_str(s.as_ref());
        self.text.push('\n');
    }

    /// A line ending in `{`, indenting what follows.
    pub(crate) fn open(&mut self, s: impl AsRef<str>) {
        if s.as_ref().is_empty() {
            self.line("{");
        } else {
            self.line(format!("{} {{", s.as_ref()));
        }
        self.indent += 1;
    }

    /// `for (int v = 0; v < count; v += step)`, or nothing when the loop runs once (count <= step,
    /// known): returns the index expression (the variable, or 0) and whether a loop was opened.
    pub(crate) fn for_upto(&mut self, v: &str, count: &Expr, step: i64) -> (Expr, bool) {
        if count.as_const().is_some_and(|n| n <= step) {
            return (Expr::Const(0), false);
        }
        let inc = if step == 1 {
            format!("{v}++")
        } else {
            format!("{v} += {step}")
        };
        self.open(format!("for (int {v} = 0; {v} < {}; {inc})", count.c()));
        (Expr::var(v), true)
    }

    /// `for (int var = 0; var < tiles; var++)` over the tiles of `t` blocks that cover `total` blocks.
    /// Returns the current tile's extent in blocks (a constant when it is known, else `n`, a `const int`
    /// declared in the loop from [`tile_extent`]) and the tile's origin, `var * scale` (0 for one tile).
    pub(crate) fn open_tile_loop(
        &mut self,
        var: &str,
        n: &str,
        t: u64,
        total: u64,
        scale: i64,
    ) -> (Expr, Expr) {
        let tiles = total.div_ceil(t);
        self.open(format!("for (int {var} = 0; {var} < {tiles}; {var}++)"));
        let extent = match tile_extent(var, t, total) {
            Expr::Var(e) => {
                self.line(format!("const int {n} = {e};"));
                Expr::var(n)
            }
            c => c,
        };
        let origin = if tiles == 1 {
            Expr::Const(0)
        } else {
            Expr::var(var).muli(scale)
        };
        (extent, origin)
    }

    /// Closes a loop opened by [`Code::for_upto`].
    pub(crate) fn end(&mut self, opened: bool) {
        if opened {
            self.close();
        }
    }

    pub(crate) fn close(&mut self) {
        self.indent = self.indent.saturating_sub(1);
        self.line("}");
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// A C integer expression that may be a known constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Const(i64),
    Var(String),
}

impl Expr {
    pub(crate) fn var(s: impl Into<String>) -> Expr {
        Expr::Var(s.into())
    }

    pub(crate) fn c(&self) -> String {
        match self {
            Expr::Const(v) => v.to_string(),
            Expr::Var(s) => s.clone(),
        }
    }

    pub(crate) fn as_const(&self) -> Option<i64> {
        match self {
            Expr::Const(v) => Some(*v),
            Expr::Var(_) => None,
        }
    }

    pub(crate) fn add(&self, o: &Expr) -> Expr {
        match (self, o) {
            (Expr::Const(a), Expr::Const(b)) => Expr::Const(a + b),
            (Expr::Const(0), x) | (x, Expr::Const(0)) => x.clone(),
            (a, b) => Expr::Var(format!("({} + {})", a.c(), b.c())),
        }
    }

    pub(crate) fn sub(&self, o: &Expr) -> Expr {
        match (self, o) {
            (Expr::Const(a), Expr::Const(b)) => Expr::Const(a - b),
            (x, Expr::Const(0)) => x.clone(),
            (a, b) => Expr::Var(format!("({} - {})", a.c(), b.c())),
        }
    }

    pub(crate) fn mul(&self, o: &Expr) -> Expr {
        match (self, o) {
            (Expr::Const(a), Expr::Const(b)) => Expr::Const(a * b),
            (Expr::Const(0), _) | (_, Expr::Const(0)) => Expr::Const(0),
            (Expr::Const(1), x) | (x, Expr::Const(1)) => x.clone(),
            (a, b) => Expr::Var(format!("({} * {})", a.c(), b.c())),
        }
    }

    pub(crate) fn muli(&self, k: i64) -> Expr {
        self.mul(&Expr::Const(k))
    }

    pub(crate) fn addi(&self, k: i64) -> Expr {
        self.add(&Expr::Const(k))
    }

    /// min(self, o); `known_le` says the caller knows self <= o already.
    pub(crate) fn min(&self, o: &Expr) -> Expr {
        match (self, o) {
            (Expr::Const(a), Expr::Const(b)) => Expr::Const(*a.min(b)),
            (a, b) if a == b => a.clone(),
            (a, b) => Expr::Var(format!("gf_min({}, {})", a.c(), b.c())),
        }
    }
}

/// The helper every generated file defines (static: the candidate is its own translation unit).
pub(crate) const MIN_HELPER: &str =
    "static inline int gf_min(int a, int b) { return a < b ? a : b; }\n";

/// The extent of the current tile along one dimension: `t` blocks, except the last tile, which holds the
/// remainder of `total` blocks. `var` is the tile loop variable.
pub(crate) fn tile_extent(var: &str, t: u64, total: u64) -> Expr {
    let tiles = total.div_ceil(t);
    let last = total - (tiles - 1) * t;
    if last == t {
        Expr::Const(t as i64)
    } else if tiles == 1 {
        Expr::Const(last as i64)
    } else {
        Expr::var(format!("({var} == {} ? {last} : {t})", tiles - 1))
    }
}

/// Elements in block `g` (a block index expression) of a dimension of `size` elements cut in blocks of
/// `dim`, clamped to `blocks` blocks starting there (`blocks` known >= 1): min(blocks*dim, size - g*dim).
pub(crate) fn span(g: &Expr, blocks: &Expr, dim: u64, size: u64) -> Expr {
    let want = blocks.muli(dim as i64);
    if size % dim == 0 {
        // Whole blocks only: the caller never asks past the end.
        return want;
    }
    let left = Expr::Const(size as i64).sub(&g.muli(dim as i64));
    match (want.as_const(), left.as_const()) {
        (Some(a), Some(b)) => Expr::Const(a.min(b)),
        _ => want.min(&left),
    }
}
