//! Prompt templates (`prompts/`): the ISA description, the rules, the plan and implement prompts and the
//! optimization menus. The bundled files are compiled in; a user directory may override any of them.
//!
//! Templates hold `{{NAME}}` placeholders. Each template has a fixed set of names it may use; an unknown name
//! is an error naming the file and line, found when the templates are loaded, not halfway through a search.
//! Values are inserted verbatim and never scanned again, so code containing `{{` is safe.

use crate::bench::workload::{Kind, Workload, MPC_NU, MPC_NX};
use crate::opt::propose::{
    AncestorStep, Feedback, ImplRequest, MenuItem, PlanRequest, RepairRequest,
};
use crate::sim::config::{Dataflows, HwConfig};
use anyhow::{bail, Context as _};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which optimization menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuKind {
    /// GEMM and convolution (`menu_gemm.txt`).
    GemmConv,
    /// Fine-grained linear algebra (`menu_linalg.txt`).
    Linalg,
}

impl MenuKind {
    pub fn file_name(self) -> &'static str {
        match self {
            MenuKind::GemmConv => "menu_gemm.txt",
            MenuKind::Linalg => "menu_linalg.txt",
        }
    }

    /// The menu that fits a workload.
    pub fn for_workload(w: &Workload) -> MenuKind {
        match w.kind {
            Kind::Gemm { .. } | Kind::Conv { .. } | Kind::StridedConv(_) => MenuKind::GemmConv,
            Kind::MpcForward { .. } | Kind::MpcBackward { .. } | Kind::AutocompAdmm { .. } => {
                MenuKind::Linalg
            }
        }
    }
}

/// The bundled menu of `kind`.
pub fn menu(kind: MenuKind) -> anyhow::Result<Vec<MenuItem>> {
    Templates::builtin().menu(kind)
}

/// The environment variable naming a directory of prompt files that override the bundled ones.
pub const PROMPTS_DIR_VAR: &str = "GEMFORGE_PROMPTS_DIR";

/// The menu for a workload, from `$GEMFORGE_PROMPTS_DIR` when set, else the bundled one.
pub fn menu_for(w: &Workload) -> anyhow::Result<Vec<MenuItem>> {
    Templates::from_env()?.menu(MenuKind::for_workload(w))
}

/// Parse a menu file: one `id | text` per line; blank lines and `#` comments are skipped. Ids are
/// lowercase slugs (`a-z`, `0-9`, `_`) and unique. Errors name `origin` and the line.
pub fn parse_menu(text: &str, origin: &str) -> anyhow::Result<Vec<MenuItem>> {
    let mut items: Vec<MenuItem> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let Some((id, text)) = line.split_once('|') else {
            bail!("{at}: expected `id | text`, found {line:?}");
        };
        let (id, text) = (id.trim(), text.trim());
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            bail!("{at}: menu id {id:?} must be a non-empty slug of a-z, 0-9 and _");
        }
        if text.is_empty() {
            bail!("{at}: menu option `{id}` has no text");
        }
        if items.iter().any(|m| m.id == id) {
            bail!("{at}: menu id `{id}` appears twice");
        }
        items.push(MenuItem {
            id: id.to_string(),
            text: text.to_string(),
        });
    }
    if items.is_empty() {
        bail!("{origin}: the menu has no options");
    }
    Ok(items)
}

/// Every `{{NAME}}` of a template with its 1-based line; a `{{` that does not open a well-formed
/// placeholder is an error.
fn placeholders(text: &str, origin: &str) -> anyhow::Result<Vec<(usize, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .with_context(|| format!("{origin}:{}: `{{{{` without a closing `}}}}`", i + 1))?;
            let name = &after[..end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                bail!(
                    "{origin}:{}: malformed placeholder `{{{{{name}}}}}` (names are A-Z, 0-9 and _)",
                    i + 1
                );
            }
            out.push((i + 1, name.to_string()));
            rest = &after[end + 2..];
        }
    }
    Ok(out)
}

/// Fill a template. Every placeholder must have a value; a line that holds nothing but one placeholder
/// whose value is empty is dropped, so optional blocks leave no blank line.
pub fn render(text: &str, origin: &str, vars: &BTreeMap<&str, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim();
        if let Some(name) = bare
            .strip_prefix("{{")
            .and_then(|s| s.strip_suffix("}}"))
            .filter(|n| !n.contains("{{"))
        {
            if vars.get(name).is_some_and(String::is_empty) {
                continue;
            }
        }
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .with_context(|| format!("{origin}:{}: `{{{{` without a closing `}}}}`", i + 1))?;
            let name = &after[..end];
            let value = vars.get(name).with_context(|| {
                format!(
                    "{origin}:{}: unknown placeholder `{{{{{name}}}}}` (known here: {})",
                    i + 1,
                    vars.keys().copied().collect::<Vec<_>>().join(", ")
                )
            })?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

const HW_VARS: &[&str] = &[
    "DIM",
    "INPUT_TYPE",
    "ACC_TYPE",
    "DATAFLOWS",
    "SP_KIB",
    "SP_ROWS",
    "SP_LAST_ROW",
    "SP_ROW_BYTES",
    "SP_BANKS",
    "SP_BANK_ROWS",
    "ACC_KIB",
    "ACC_ROWS",
    "ACC_LAST_ROW",
    "ACC_ROW_BYTES",
    "ACC_BANKS",
    "ACC_BANK_ROWS",
    "ROW_BITS",
    "MVIN_MAX_COLS",
    "MVIN_ACC_MAX_COLS",
    "MVOUT_MAX_COLS",
    "RS_LD",
    "RS_EX",
    "RS_ST",
    "SP_HALF_ROWS",
    "ACC_HALF_ROWS",
    "INPUT_SIZE",
    "ACC_READOUT",
    "OS_RESULT",
];
const WORKLOAD_VARS: &[&str] = &["WORKLOAD", "SIGNATURE", "EXACTNESS"];
const PROGRAM_VARS: &[&str] = &["ISA", "RULES", "PARENT_CODE"];
const PLAN_VARS: &[&str] = &[
    "CYCLES",
    "IDEAL_CYCLES",
    "UTILIZATION_PCT",
    "SP_ROWS_USED",
    "SP_KIB_USED",
    "ACC_ROWS_USED",
    "ACC_ROWS_COMPUTED",
    "ACC_KIB_USED",
    "UTILIZATION_HINT",
    "BOTTLENECK",
    "MENU",
    "ITERATION",
    "ITERATIONS",
    "ANCESTRY",
];
const IMPL_VARS: &[&str] = &["PLAN"];
/// How the model must give its code: `answer_program.md` or `answer_edits.md` (`--edits`), rendered.
const ANSWER_VARS: &[&str] = &["ANSWER_FORMAT"];
const REPAIR_VARS: &[&str] = &["PLAN", "ERROR", "FAILED_CODE"];

/// The template files and the placeholder groups each may use.
const ISA_VARS: &[&str] = &["LOOP_FSM"];
const TEMPLATE_FILES: &[(&str, &[&[&str]])] = &[
    ("isa.md", &[HW_VARS, ISA_VARS]),
    ("isa_loop_fsm.md", &[HW_VARS]),
    ("isa_no_loop_fsm.md", &[HW_VARS]),
    ("rules.md", &[HW_VARS, WORKLOAD_VARS]),
    (
        "plan.md",
        &[HW_VARS, WORKLOAD_VARS, PROGRAM_VARS, PLAN_VARS],
    ),
    (
        "implement.md",
        &[HW_VARS, WORKLOAD_VARS, PROGRAM_VARS, IMPL_VARS, ANSWER_VARS],
    ),
    (
        "direct.md",
        &[HW_VARS, WORKLOAD_VARS, PROGRAM_VARS, PLAN_VARS, ANSWER_VARS],
    ),
    (
        "repair.md",
        &[
            HW_VARS,
            WORKLOAD_VARS,
            PROGRAM_VARS,
            REPAIR_VARS,
            ANSWER_VARS,
        ],
    ),
    ("answer_program.md", &[]),
    ("answer_edits.md", &[]),
];

fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "isa.md" => include_str!("../../prompts/isa.md"),
        "isa_loop_fsm.md" => include_str!("../../prompts/isa_loop_fsm.md"),
        "isa_no_loop_fsm.md" => include_str!("../../prompts/isa_no_loop_fsm.md"),
        "rules.md" => include_str!("../../prompts/rules.md"),
        "plan.md" => include_str!("../../prompts/plan.md"),
        "implement.md" => include_str!("../../prompts/implement.md"),
        "direct.md" => include_str!("../../prompts/direct.md"),
        "repair.md" => include_str!("../../prompts/repair.md"),
        "answer_program.md" => include_str!("../../prompts/answer_program.md"),
        "answer_edits.md" => include_str!("../../prompts/answer_edits.md"),
        "menu_gemm.txt" => include_str!("../../prompts/menu_gemm.txt"),
        "menu_linalg.txt" => include_str!("../../prompts/menu_linalg.txt"),
        "prices.toml" => include_str!("../../prompts/prices.toml"),
        _ => return None,
    })
}

/// One loaded file: its text and where it came from (for errors).
#[derive(Debug, Clone)]
struct Source {
    text: String,
    origin: String,
}

/// The prompt templates, menus and price table in use.
#[derive(Debug, Clone)]
pub struct Templates {
    files: BTreeMap<&'static str, Source>,
    /// Document the matmul loop instruction (`isa_loop_fsm.md`) instead of forbidding the loop
    /// instructions (`isa_no_loop_fsm.md`).
    loop_fsm: bool,
    /// Ask for search/replace edits on the parent (`answer_edits.md`) instead of a whole program.
    edits: bool,
}

const ALL_FILES: &[&str] = &[
    "isa.md",
    "isa_loop_fsm.md",
    "isa_no_loop_fsm.md",
    "rules.md",
    "plan.md",
    "implement.md",
    "direct.md",
    "repair.md",
    "answer_program.md",
    "answer_edits.md",
    "menu_gemm.txt",
    "menu_linalg.txt",
    "prices.toml",
];

impl Templates {
    /// The bundled files.
    pub fn builtin() -> Templates {
        let files = ALL_FILES
            .iter()
            .filter_map(|&name| {
                builtin_text(name).map(|text| {
                    (
                        name,
                        Source {
                            text: text.to_string(),
                            origin: format!("prompts/{name} (built in)"),
                        },
                    )
                })
            })
            .collect();
        Templates {
            files,
            loop_fsm: false,
            edits: false,
        }
    }

    /// Whether code answers are search/replace edits on the parent (`--edits`) instead of whole programs.
    pub fn with_edits(mut self, on: bool) -> Templates {
        self.edits = on;
        self
    }

    /// Whether code answers are edits (see [`Templates::with_edits`]).
    pub fn edits(&self) -> bool {
        self.edits
    }

    /// With edits on, every code prompt must say how to answer (`{{ANSWER_FORMAT}}`): a user template
    /// written for whole programs would ask for them while the answers are parsed as edits, and every
    /// answer would fail. The error names the file.
    pub fn check_answer_format(&self) -> anyhow::Result<()> {
        if !self.edits {
            return Ok(());
        }
        for name in ["implement.md", "direct.md", "repair.md"] {
            let src = self.source(name)?;
            if !placeholders(&src.text, &src.origin)?
                .iter()
                .any(|(_, p)| p == "ANSWER_FORMAT")
            {
                bail!(
                    "{}: has no {{{{ANSWER_FORMAT}}}} line, so with --edits it would not ask for edits; \
                     add a line holding only {{{{ANSWER_FORMAT}}}} to its rules",
                    src.origin
                );
            }
        }
        Ok(())
    }

    /// Whether the ISA description documents the matmul loop instruction (off by default: the method's
    /// prompts leave the hardware loops out, so the LLM writes the schedule itself).
    pub fn with_loop_fsm(mut self, on: bool) -> Templates {
        self.loop_fsm = on;
        self
    }

    /// The bundled files, each replaced by the file of the same name in `dir` when there is one. Every
    /// template's placeholders and both menus are checked here.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut t = Templates::builtin();
        if let Some(dir) = dir {
            if !dir.is_dir() {
                bail!("prompt directory {} does not exist", dir.display());
            }
            for &name in ALL_FILES {
                let path: PathBuf = dir.join(name);
                if path.exists() {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    t.files.insert(
                        name,
                        Source {
                            text,
                            origin: path.display().to_string(),
                        },
                    );
                }
            }
        }
        t.check()?;
        Ok(t)
    }

    /// [`Templates::load`] from `$GEMFORGE_PROMPTS_DIR` when it is set (and not empty).
    pub fn from_env() -> anyhow::Result<Templates> {
        match std::env::var_os(PROMPTS_DIR_VAR).filter(|v| !v.is_empty()) {
            Some(dir) => Templates::load(Some(Path::new(&dir)))
                .with_context(|| format!("loading the prompts of ${PROMPTS_DIR_VAR}")),
            None => Templates::load(None),
        }
    }

    fn source(&self, name: &str) -> anyhow::Result<&Source> {
        self.files
            .get(name)
            .with_context(|| format!("no prompt file {name}"))
    }

    fn check(&self) -> anyhow::Result<()> {
        for (name, groups) in TEMPLATE_FILES {
            let src = self.source(name)?;
            for (line, ph) in placeholders(&src.text, &src.origin)? {
                if !groups.iter().any(|g| g.contains(&ph.as_str())) {
                    let known: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
                    bail!(
                        "{}:{line}: unknown placeholder `{{{{{ph}}}}}` (known in {name}: {})",
                        src.origin,
                        known.join(", ")
                    );
                }
            }
        }
        self.menu(MenuKind::GemmConv)?;
        self.menu(MenuKind::Linalg)?;
        self.prices()?;
        Ok(())
    }

    pub fn menu(&self, kind: MenuKind) -> anyhow::Result<Vec<MenuItem>> {
        let src = self.source(kind.file_name())?;
        parse_menu(&src.text, &src.origin)
    }

    /// The price table (`prices.toml`).
    pub fn prices(&self) -> anyhow::Result<crate::opt::llm::Prices> {
        let src = self.source("prices.toml")?;
        crate::opt::llm::Prices::from_toml_str(&src.text, &src.origin)
    }

    fn render_file(&self, name: &str, vars: &BTreeMap<&str, String>) -> anyhow::Result<String> {
        let src = self.source(name)?;
        render(&src.text, &src.origin, vars)
    }

    /// The ISA description for a hardware configuration.
    pub fn isa(&self, hw: &HwConfig) -> anyhow::Result<String> {
        let mut v = hw_vars(hw);
        let loops = if self.loop_fsm {
            "isa_loop_fsm.md"
        } else {
            "isa_no_loop_fsm.md"
        };
        let text = self.render_file(loops, &v)?;
        v.insert("LOOP_FSM", text.trim_end().to_string());
        self.render_file("isa.md", &v)
    }

    /// The rules for a workload on a hardware configuration.
    pub fn rules(&self, hw: &HwConfig, w: &Workload) -> anyhow::Result<String> {
        let mut v = hw_vars(hw);
        workload_vars(&mut v, w);
        self.render_file("rules.md", &v)
    }

    fn program_vars(
        &self,
        hw: &HwConfig,
        w: &Workload,
        parent: &str,
    ) -> anyhow::Result<BTreeMap<&'static str, String>> {
        let mut v = hw_vars(hw);
        workload_vars(&mut v, w);
        v.insert("ISA", self.isa(hw)?.trim_end().to_string());
        v.insert("RULES", self.rules(hw, w)?.trim_end().to_string());
        v.insert("PARENT_CODE", parent.trim_end().to_string());
        Ok(v)
    }

    fn plan_vars(&self, req: &PlanRequest<'_>) -> anyhow::Result<BTreeMap<&'static str, String>> {
        let mut v = self.program_vars(req.hw, req.workload, req.parent_code)?;
        feedback_vars(&mut v, req.hw, req.feedback);
        let menu: Vec<String> = req
            .menu
            .iter()
            .map(|m| format!("- `{}`: {}", m.id, m.text))
            .collect();
        v.insert("MENU", menu.join("\n"));
        v.insert("ITERATION", req.iteration.to_string());
        v.insert("ITERATIONS", req.iterations.to_string());
        v.insert("ANCESTRY", ancestry_text(req.ancestry, req.feedback.cycles));
        Ok(v)
    }

    /// How code must be answered, rendered (the rules' last item).
    fn answer_format(&self) -> anyhow::Result<String> {
        let name = if self.edits {
            "answer_edits.md"
        } else {
            "answer_program.md"
        };
        Ok(self
            .render_file(name, &BTreeMap::new())?
            .trim_end()
            .to_string())
    }

    /// The planning prompt.
    pub fn plan_prompt(&self, req: &PlanRequest<'_>) -> anyhow::Result<String> {
        let v = self.plan_vars(req)?;
        self.render_file("plan.md", &v)
    }

    /// The one-call prompt of `--skip-planning`: the planning prompt's contents, asking for the plan and
    /// the code in one answer.
    pub fn direct_prompt(&self, req: &PlanRequest<'_>) -> anyhow::Result<String> {
        let mut v = self.plan_vars(req)?;
        v.insert("ANSWER_FORMAT", self.answer_format()?);
        self.render_file("direct.md", &v)
    }

    /// The implementation prompt.
    pub fn implement_prompt(&self, req: &ImplRequest<'_>) -> anyhow::Result<String> {
        let mut v = self.program_vars(req.hw, req.workload, req.parent_code)?;
        v.insert("PLAN", req.plan.text.trim().to_string());
        v.insert("ANSWER_FORMAT", self.answer_format()?);
        self.render_file("implement.md", &v)
    }

    /// The repair prompt of `--repair`: parent, plan, the error and the program that failed.
    pub fn repair_prompt(&self, req: &RepairRequest<'_>) -> anyhow::Result<String> {
        let mut v = self.program_vars(req.hw, req.workload, req.parent_code)?;
        v.insert(
            "PLAN",
            match req.plan {
                Some(p) => p.text.trim().to_string(),
                None => {
                    "(the answer that failed gave no usable plan: choose one optimization that \
                         makes the original code faster)"
                        .to_string()
                }
            },
        );
        v.insert("ERROR", req.error.trim().to_string());
        v.insert(
            "FAILED_CODE",
            match req.failed_code {
                Some(code) => format!(
                    "\nThe program it produced:\n\n```c\n{}\n```",
                    code.trim_end()
                ),
                None => String::new(),
            },
        );
        v.insert("ANSWER_FORMAT", self.answer_format()?);
        self.render_file("repair.md", &v)
    }
}

/// What `gemforge prompt` renders.
#[derive(Debug, Clone)]
pub struct PromptPreview<'a> {
    pub workload: &'a str,
    /// The parent program file.
    pub parent: &'a Path,
    /// Some(plan text) renders the implementation prompt; None the planning prompt.
    pub plan: Option<String>,
    /// A prompt directory overriding the bundled files.
    pub prompts_dir: Option<&'a Path>,
    /// Document the matmul loop instruction in the ISA description.
    pub loop_fsm: bool,
}

/// Render the prompt a model would receive for a workload and a parent program, with the whole menu (no
/// dropout) and iteration 1 of 1. For the planning prompt the parent is evaluated first (compile, check,
/// RTL run) for its cycles and memory use; an incorrect parent is an error. Nothing is sent anywhere.
pub fn preview(hw: &HwConfig, p: &PromptPreview<'_>) -> anyhow::Result<String> {
    let t = Templates::load(p.prompts_dir)?.with_loop_fsm(p.loop_fsm);
    let w = crate::bench::workload::by_name(p.workload).with_context(|| {
        format!(
            "unknown workload `{}` (see `gemforge workloads`)",
            p.workload
        )
    })?;
    let parent = std::fs::read_to_string(p.parent)
        .with_context(|| format!("reading {}", p.parent.display()))?;
    if let Some(text) = &p.plan {
        let plan = crate::opt::propose::Plan {
            text: text.clone(),
            menu_id: None,
            meta: serde_json::Value::Null,
        };
        return t.implement_prompt(&ImplRequest {
            workload: &w,
            hw,
            parent_code: &parent,
            plan: &plan,
            model: None,
            seed: 0,
        });
    }
    let v =
        crate::bench::eval::evaluate(hw, &w, p.parent, &crate::bench::eval::EvalOpts::default());
    let (Some(_), true) = (v.cycles, v.correct) else {
        bail!(
            "the parent program {} is not a correct solution of {}: {} {}",
            p.parent.display(),
            w.name,
            v.failure.map_or("", |f| f.name()),
            v.detail
        );
    };
    // The same feedback the search gives its planners, bottleneck summary included.
    let fb = crate::opt::search::feedback::feedback(hw, &v);
    let menu = t.menu(MenuKind::for_workload(&w))?;
    t.plan_prompt(&PlanRequest {
        workload: &w,
        hw,
        parent_code: &parent,
        feedback: &fb,
        menu: &menu,
        iteration: 1,
        iterations: 1,
        model: None,
        seed: 0,
        ancestry: &[],
        pending: &[],
        measured: &[],
    })
}

fn hw_vars(hw: &HwConfig) -> BTreeMap<&'static str, String> {
    let dim = hw.dim();
    let eb = hw.elem_bytes();
    let (readout, os_result) = if hw.is_fp32() {
        (
            "as fp32 through config_st's activation and scale (a scale of 1.0 leaves them unchanged)",
            "results are written as computed (divided by 2^shift; the short-form config_ex uses shift 0)",
        )
    } else {
        (
            "converted to int8 (scaled, rounded, saturated to -128..127)",
            "results are rounded and clipped before being written",
        )
    };
    let vals: [(&'static str, String); 28] = [
        ("DIM", dim.to_string()),
        ("INPUT_TYPE", hw.array.input_type.clone()),
        ("ACC_TYPE", hw.array.acc_type.clone()),
        (
            "DATAFLOWS",
            match hw.array.dataflows {
                Dataflows::Ws => "weight-stationary only (the dataflow argument is ignored)".into(),
                Dataflows::Both => "weight-stationary and output-stationary".into(),
            },
        ),
        ("SP_KIB", hw.scratchpad.capacity_kib.to_string()),
        ("SP_ROWS", hw.sp_rows().to_string()),
        ("SP_LAST_ROW", (hw.sp_rows() - 1).to_string()),
        ("SP_ROW_BYTES", (dim * eb).to_string()),
        ("SP_BANKS", hw.scratchpad.banks.to_string()),
        ("SP_BANK_ROWS", hw.sp_bank_rows().to_string()),
        ("ACC_KIB", hw.accumulator.capacity_kib.to_string()),
        ("ACC_ROWS", hw.acc_rows().to_string()),
        ("ACC_LAST_ROW", (hw.acc_rows() - 1).to_string()),
        ("ACC_ROW_BYTES", (dim * 4).to_string()),
        ("ACC_BANKS", hw.accumulator.banks.to_string()),
        ("ACC_BANK_ROWS", hw.acc_bank_rows().to_string()),
        ("ROW_BITS", hw.local_addr_row_bits().to_string()),
        ("MVIN_MAX_COLS", (dim * hw.max_block_len()).to_string()),
        (
            "MVIN_ACC_MAX_COLS",
            (dim * hw.max_block_len_acc()).to_string(),
        ),
        ("MVOUT_MAX_COLS", (dim * hw.max_block_len()).to_string()),
        ("RS_LD", hw.reservation_station.ld.to_string()),
        ("RS_EX", hw.reservation_station.ex.to_string()),
        ("RS_ST", hw.reservation_station.st.to_string()),
        ("SP_HALF_ROWS", (hw.sp_rows() / 2).to_string()),
        ("ACC_HALF_ROWS", (hw.acc_rows() / 2).to_string()),
        (
            "INPUT_SIZE",
            if eb == 1 {
                "1 byte".into()
            } else {
                format!("{eb} bytes")
            },
        ),
        ("ACC_READOUT", readout.to_string()),
        ("OS_RESULT", os_result.to_string()),
    ];
    vals.into_iter().collect()
}

fn workload_vars(v: &mut BTreeMap<&'static str, String>, w: &Workload) {
    let what = match w.kind {
        Kind::Gemm { m, n, k } => format!(
            "Workload `{}`: matrix multiplication C = A * B with A {m}x{k}, B {k}x{n} and C {m}x{n}, all int8 \
             in row-major order. Products are summed in int32 and each sum is saturated to -128..127 when \
             stored in C (no bias, no scaling).",
            w.name
        ),
        Kind::Conv { batch, p, q, c, k } => format!(
            "Workload `{}`: 3x3 convolution, stride 1, NHWC layout: for batch b < {batch}, output pixel \
             (y, x) with y < {p}, x < {q} and output channel o < {k}: output[b][y][x][o] = saturate to \
             -128..127 of (bias[0][o] + sum over r < 3, s < 3, input channel i < {c} of \
             inp[b][y + r][x + s][i] * weights[r][s][i][o]), summed in int32. The input is already padded by \
             one zero pixel on every side ({}x{} pixels); bias is int32.",
            w.name,
            p + 2,
            q + 2
        ),
        Kind::MpcForward { horizon } => format!(
            "Workload `{}`: the forward rollout of TinyMPC (a model-predictive controller; ADMM primal \
             update) for a quadrotor with {nx} states and {nu} inputs over a horizon of {horizon} steps, all \
             fp32 (binary32) in row-major order. Inputs: the dynamics A ({nx}x{nx}) and B ({nx}x{nu}), the \
             feedback gain K ({nu}x{nx}), the feedforward terms d ({horizon}x{nu}, row t = d_t) and the \
             initial state x0 ({nx}). Starting from x_0 = x0, for t = 0 .. {last}: u_t = -K x_t - d_t and \
             x_(t+1) = A x_t + B u_t. Output xu ({horizon}x{w}): row t = (u_t[0..{nu}), x_(t+1)[0..{nx})). \
             Each step depends on the previous one.",
            w.name,
            nx = MPC_NX,
            nu = MPC_NU,
            last = horizon.saturating_sub(1),
            w = MPC_NX + MPC_NU,
        ),
        Kind::MpcBackward { horizon } => format!(
            "Workload `{}`: the backward pass of TinyMPC (a model-predictive controller; ADMM primal \
             update, Riccati recursion with cached matrices) for a quadrotor with {nx} states and {nu} \
             inputs, horizon N = {horizon}, all fp32 (binary32) in row-major order. Inputs: Bt ({nu}x{nx}, \
             B transposed), C1 ({nu}x{nu}, the inverse of Quu), C2 ({nx}x{nx}, (A - B Kinf) transposed), \
             KinfT ({nx}x{nu}, Kinf transposed), q ({horizon}x{nx}, row k = q_k), r ({horizon}x{nu}, row k \
             = r_k) and pN ({nx}, = p_{last}). For k = {first} down to 0: d_k = C1 (Bt p_(k+1) + r_k) and \
             p_k = q_k + C2 p_(k+1) - KinfT r_k. Output dp ({rows}x{w}): row k = (d_k[0..{nu}), \
             p_k[0..{nx})). Each step depends on the previous one.",
            w.name,
            nx = MPC_NX,
            nu = MPC_NU,
            last = horizon.saturating_sub(1),
            first = horizon.saturating_sub(2),
            rows = horizon.saturating_sub(1),
            w = MPC_NX + MPC_NU,
        ),
        Kind::AutocompAdmm { prob } => crate::bench::workload::autocomp::describe(prob, &w.name),
        Kind::StridedConv(s) => {
            let (o, f) = (s.out_dim(), s.final_dim());
            let pool = if s.pooled() {
                format!(
                    " Then max-pooling: output[b][y][x][o] = the maximum over wy, wx < {ps} of conv[b][y*{pst} \
                     + wy - {pp}][x*{pst} + wx - {pp}][o], where a position outside the {o}x{o} convolution \
                     output counts as 0; the output is {f}x{f}.",
                    ps = s.pool_size,
                    pst = s.pool_stride,
                    pp = s.pool_padding
                )
            } else {
                " The output is the convolution's.".to_string()
            };
            format!(
                "Workload `{}`: {kd}x{kd} convolution, stride {st}, zero padding {pad}, NHWC layout, batch \
                 {batch}: inp is {d}x{d} pixels of {c} channels (not padded), weights[r][s][i][o], bias \
                 int32. conv[b][y][x][o] for y, x < {o} = int8 of round-half-even(f32({relu}(bias[0][o] + sum \
                 over r, s < {kd}, i < {c} of inp[b][y*{st} + r - {pad}][x*{st} + s - {pad}][i] * \
                 weights[r][s][i][o])) * 2^-{e}) saturated to -128..127 (int32 sums; pixels outside the \
                 input are 0).{pool}",
                w.name,
                kd = s.kernel,
                st = s.stride,
                pad = s.padding,
                batch = s.batch,
                d = s.in_dim,
                c = s.c,
                relu = if s.relu { "relu" } else { "" },
                e = s.scale_exp(),
            )
        }
    };
    let core = if w.input_type() == "fp32" {
        "\nThe core (RV64GC) has an FPU: float arithmetic written in C runs one operation at a time, a fused \
         multiply-add taking about 4 cycles, while the array does DIM x DIM fused multiply-adds per cycle on \
         fp32 operands."
    } else {
        ""
    };
    v.insert(
        "WORKLOAD",
        format!("{what}{core}\nThe function to write: `{}`.", w.signature()),
    );
    v.insert("SIGNATURE", w.signature());
    v.insert(
        "EXACTNESS",
        if w.input_type() == "fp32" {
            format!(
                "the same output as the original for every input up to floating-point rounding: each output \
                 element must be within {} * max(1, |exact value|) of the exact result (another order of \
                 additions is fine; skipping or approximating work is not)",
                crate::bench::workload::FP32_REL_TOL
            )
        } else {
            "exactly the same output as the original for every input, bit for bit (same rounding and \
             saturation)"
                .to_string()
        },
    );
}

/// The parent's ancestry for the planning prompt (`--ancestors N`): each earlier program, oldest first,
/// with its cycles and the plan that led from it to the next generation. Empty without ancestors (the
/// template line is then dropped).
fn ancestry_text(ancestry: &[AncestorStep], parent_cycles: u64) -> String {
    if ancestry.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "\n## How the original code came about\n\nThe original code descends from these earlier programs, \
         oldest first; each was changed by the plan shown below it.\n",
    );
    let n = ancestry.len();
    for (i, a) in ancestry.iter().enumerate() {
        let back = n - i;
        t.push_str(&format!(
            "\n### {back} generation{} back: {} cycles\n\n```c\n{}\n```\n",
            if back == 1 { "" } else { "s" },
            a.cycles,
            a.code.trim_end()
        ));
        let plan = a.plan.as_deref().unwrap_or("(no plan recorded)").trim();
        t.push_str(&format!(
            "\nThe plan applied to it{}:\n\n{plan}\n",
            a.menu_id
                .as_ref()
                .map(|id| format!(" (option `{id}`)"))
                .unwrap_or_default()
        ));
    }
    t.push_str(&format!(
        "\nThat gave the original code above ({parent_cycles} cycles).\n"
    ));
    t
}

fn kib(rows: u32, row_bytes: u32) -> String {
    let k = f64::from(rows) * f64::from(row_bytes) / 1024.0;
    format!("{k:.1}")
}

fn feedback_vars(v: &mut BTreeMap<&'static str, String>, hw: &HwConfig, f: &Feedback) {
    let dim = hw.dim();
    v.insert("CYCLES", f.cycles.to_string());
    v.insert("IDEAL_CYCLES", f.ideal_cycles.to_string());
    v.insert("UTILIZATION_PCT", format!("{:.1}", f.utilization * 100.0));
    v.insert("SP_ROWS_USED", f.sp_rows_used.to_string());
    v.insert("SP_KIB_USED", kib(f.sp_rows_used, dim * hw.elem_bytes()));
    v.insert("ACC_ROWS_USED", f.acc_rows_used.to_string());
    v.insert("ACC_ROWS_COMPUTED", f.acc_rows_computed.to_string());
    v.insert("ACC_KIB_USED", kib(f.acc_rows_used, dim * 4));
    // The nudge of the method: point at a memory the program leaves mostly empty.
    let mut hints = Vec::new();
    for (name, used, total) in [
        ("scratchpad", f.sp_rows_used, hw.sp_rows()),
        // At least the larger of the two: rows moved in and rows computed into may overlap.
        (
            "accumulator",
            f.acc_rows_used.max(f.acc_rows_computed),
            hw.acc_rows(),
        ),
    ] {
        if u64::from(used) * 2 < u64::from(total) {
            hints.push(format!(
                "- The {name} is less than half used: larger tiles or more reuse could use the rest."
            ));
        }
    }
    v.insert("UTILIZATION_HINT", hints.join("\n"));
    let lines: Vec<String> = f
        .bottleneck
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("  {}", l.trim_end()))
        .collect();
    v.insert(
        "BOTTLENECK",
        if lines.is_empty() {
            "  (no performance counters were available)".to_string()
        } else {
            lines.join("\n")
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_are_consistent() {
        Templates::load(None).unwrap();
        assert_eq!(menu(MenuKind::GemmConv).unwrap().len(), 17);
        assert_eq!(menu(MenuKind::Linalg).unwrap().len(), 14);
    }

    #[test]
    fn fp32_workloads_get_the_linalg_menu_and_their_own_wording() {
        let fp32 = HwConfig::from_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/fp32_4x4.toml"),
        )
        .unwrap();
        let t = Templates::builtin();
        for name in ["tinympc_forward", "tinympc_backward"] {
            let w = crate::bench::workload::by_name(name).unwrap();
            assert_eq!(MenuKind::for_workload(&w), MenuKind::Linalg);
            let rules = t.rules(&fp32, &w).unwrap();
            assert!(rules.contains("fp32 (4 bytes each)"), "{rules}");
            assert!(
                rules.contains("within 0.0001 * max(1, |exact value|)"),
                "{rules}"
            );
            assert!(!rules.contains("bit for bit"), "{rules}");
            let mut v = BTreeMap::new();
            workload_vars(&mut v, &w);
            assert!(v["WORKLOAD"].contains(&w.signature()) && v["WORKLOAD"].contains("has an FPU"));
        }
        let isa = t.isa(&fp32).unwrap();
        assert!(
            isa.contains("(16 bytes)") && !isa.contains("-128..127"),
            "{isa}"
        );
        let int8 = HwConfig::default_config();
        let g = crate::bench::workload::by_name("gemm_16x16x16").unwrap();
        assert_eq!(MenuKind::for_workload(&g), MenuKind::GemmConv);
        let rules = t.rules(&int8, &g).unwrap();
        assert!(
            rules.contains("int8 (1 byte each)") && rules.contains("bit for bit"),
            "{rules}"
        );
        assert!(t.isa(&int8).unwrap().contains("saturated to -128..127"));
    }

    #[test]
    fn render_drops_empty_placeholder_lines() {
        let mut v = BTreeMap::new();
        v.insert("A", String::new());
        v.insert("B", "x{{A}}y".to_string());
        let out = render("1\n  {{A}}\n{{B}} {{A}}.\n", "t", &v).unwrap();
        assert_eq!(out, "1\nx{{A}}y .\n");
        let e = render("ok\n{{C}}\n", "t.md", &v).unwrap_err().to_string();
        assert!(e.contains("t.md:2") && e.contains("{{C}}"), "{e}");
        let e = render("{{A", "t.md", &v).unwrap_err().to_string();
        assert!(e.contains("t.md:1"), "{e}");
    }
}
