//! Proposers: who writes the plans and the programs of the search (the `Proposer` trait).
//!
//! Two implementations: the built-in offline proposer (schedule space of the `schedule` module, seeded and
//! deterministic, the default) and the LLM proposer (the `llm` module's providers, prompts from `prompts/`).
//! The search (`search`) owns the policy: which parent, which menu options survive dropout, which model gets
//! which sample, selection. A proposer only answers one request at a time; it is called from several worker
//! threads at once, so it must be `Send + Sync` and do its own bounded concurrency if it has any.

pub mod builtin;
pub mod llm;
pub mod model;

use crate::bench::workload::Workload;
use crate::sim::config::HwConfig;

/// One option of an optimization menu (`prompts/menu_*.txt`). `id` is a stable slug (e.g. `tiling`,
/// `double_buffering`) that the built-in proposer and schedule reuse key on; `text` is what a prompt shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MenuItem {
    pub id: String,
    pub text: String,
}

/// What the hardware said about the parent program: shown in the planning prompt.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Feedback {
    pub cycles: u64,
    pub ideal_cycles: u64,
    /// ideal_cycles / cycles.
    pub utilization: f64,
    pub sp_rows_used: u32,
    pub sp_rows_total: u32,
    /// Accumulator rows written by mvin.
    pub acc_rows_used: u32,
    /// Accumulator rows computes wrote results to.
    #[serde(default)]
    pub acc_rows_computed: u32,
    pub acc_rows_total: u32,
    /// A few lines derived from the performance counters: which unit is busy or waiting, for what share of
    /// the cycles. Empty when no counters were available.
    pub bottleneck: String,
}

/// A correct program the search has measured on the RTL in this run, with its cycles. The built-in
/// proposer refits its cost model on these.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub program: String,
    pub cycles: u64,
}

/// A request for one plan for one parent program.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    pub workload: &'a Workload,
    pub hw: &'a HwConfig,
    /// The parent program (a whole candidate C file).
    pub parent_code: &'a str,
    pub feedback: &'a Feedback,
    /// The menu after dropout, freshly sampled for this request (never empty).
    pub menu: &'a [MenuItem],
    /// 1-based iteration and the total number of iterations ("this is phase i out of T").
    pub iteration: u32,
    pub iterations: u32,
    /// The model that must answer (one of [`Proposer::models`]); None for a proposer without models.
    pub model: Option<&'a str>,
    /// A seed unique to this request; deterministic proposers derive all their randomness from it.
    pub seed: u64,
    /// Every correct candidate the run has measured before this iteration (not the baselines), in a
    /// fixed order (by program hash), so a resumed run sees the same list.
    pub measured: &'a [Measured],
    /// The parent's line of descent, oldest first, at most `--ancestors` generations (empty by default):
    /// each earlier program with the plan that led from it to the next one.
    pub ancestry: &'a [AncestorStep],
    /// Plans other requests of this iteration already drew (in slot order). Empty on the first draw; the
    /// search fills it when it asks a proposer that [`Proposer::redraws_duplicates`] again for a slot whose
    /// plan duplicated an earlier one. The proposer should draw none of them again.
    pub pending: &'a [Plan],
}

/// One generation of a parent's ancestry, for the planning prompt (`--ancestors N`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AncestorStep {
    /// The ancestor's program.
    pub code: String,
    pub cycles: u64,
    /// The plan applied to this ancestor to get the next generation, and its menu option.
    pub plan: Option<String>,
    pub menu_id: Option<String>,
}

/// A request to fix a candidate that failed (`--repair`): the parent, the plan the candidate was to
/// implement, and what went wrong.
#[derive(Debug, Clone)]
pub struct RepairRequest<'a> {
    pub workload: &'a Workload,
    pub hw: &'a HwConfig,
    pub parent_code: &'a str,
    /// None when the answer that failed carried no usable plan (a one-call answer whose edits failed).
    pub plan: Option<&'a Plan>,
    /// The program that failed, when there was one (None when its edits could not be applied).
    pub failed_code: Option<&'a str>,
    /// The failure: its class and message (compiler errors, the first wrong element, which edit block
    /// did not match and why).
    pub error: &'a str,
    pub model: Option<&'a str>,
    pub seed: u64,
}

/// A plan: prose for prompts and reports, plus the menu option it applies if known.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub text: String,
    /// The menu option's id, when the proposer knows which option the plan applies.
    pub menu_id: Option<String>,
    /// Proposer-private data that `implement` needs (the built-in proposer puts the changed schedule here).
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// A request for one implementation of a plan.
#[derive(Debug, Clone)]
pub struct ImplRequest<'a> {
    pub workload: &'a Workload,
    pub hw: &'a HwConfig,
    pub parent_code: &'a str,
    pub plan: &'a Plan,
    pub model: Option<&'a str>,
    pub seed: u64,
}

/// Why a proposer produced nothing. The search records it and moves on; it never becomes a plan or a program.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProposeError {
    /// The provider failed after all retries (HTTP status, timeout, connection), or the answer was malformed.
    #[error("LLM call failed: {0}")]
    Llm(String),
    /// The answer arrived but holds no usable plan or program (e.g. no fenced C block).
    #[error("unusable answer: {0}")]
    Unusable(String),
    /// The proposer cannot work on this parent or plan (e.g. the built-in proposer on a program it did not
    /// write, or no menu option applies).
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The cost budget is spent: the search stops cleanly.
    #[error("budget exhausted: {0}")]
    Budget(String),
    /// An answer of search/replace edits (`--edits`) that cannot be applied to the parent: malformed
    /// blocks, or a search text that matches nowhere or more than once. Names the block and why.
    #[error("edits do not apply: {0}")]
    Edit(String),
}

/// Something that writes plans and programs.
pub trait Proposer: Send + Sync {
    /// A short name for journals and reports ("builtin", "llm").
    fn name(&self) -> String;
    /// The models an ensemble spreads samples over (empty for a proposer without models).
    fn models(&self) -> Vec<String> {
        Vec::new()
    }
    fn plan(&self, req: &PlanRequest<'_>) -> Result<Plan, ProposeError>;
    /// Whether plan requests should carry the run's measured programs ([`PlanRequest::measured`]).
    fn wants_measured(&self) -> bool {
        false
    }
    /// Whether the search should ask again, with [`PlanRequest::pending`] filled, for a plan that
    /// duplicates one drawn earlier in the same iteration. Worth it for a cheap proposer whose plans
    /// determine the program (the duplicate would be the same candidate, one evaluation of the budget
    /// spent on nothing); not for LLMs, whose calls cost money and whose programs differ anyway.
    fn redraws_duplicates(&self) -> bool {
        false
    }
    fn implement(&self, req: &ImplRequest<'_>) -> Result<String, ProposeError>;
    /// Plan and implement in one call (`--skip-planning`): the plan the answer states and the program.
    /// Proposers that cannot do this say so.
    fn direct(&self, req: &PlanRequest<'_>) -> Result<(Plan, String), ProposeError> {
        let _ = req;
        Err(ProposeError::NotApplicable(format!(
            "the {} proposer cannot plan and implement in one call (--skip-planning)",
            self.name()
        )))
    }
    /// Fix a candidate that failed, given its error (`--repair`). Proposers that cannot do this say so.
    fn repair(&self, req: &RepairRequest<'_>) -> Result<String, ProposeError> {
        let _ = req;
        Err(ProposeError::NotApplicable(format!(
            "the {} proposer cannot repair programs (--repair)",
            self.name()
        )))
    }
    /// Money spent so far, in US dollars (0 for offline proposers).
    fn spent_usd(&self) -> f64 {
        0.0
    }
    /// Token and cost ledger per phase and model, for the report (JSON; `null` when there is none).
    fn ledger_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
