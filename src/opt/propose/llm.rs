//! The LLM proposer: renders the plan and implement prompts, asks the model the request names, and turns
//! the answer into a plan or a program, or into an error that never flows on as one.
//!
//! Every exchange is stored by content hash (model, system text, prompt, seed, token limit, temperature) in
//! the response store the search gives it, and a request already answered there is served from it at no cost,
//! so a resumed search never pays twice.

use super::{ImplRequest, Plan, PlanRequest, ProposeError, Proposer, RepairRequest};
use crate::opt::llm::{
    ChatRequest, ClientOptions, Ledger, LlmClient, LlmError, LlmSettings, ModelSpec, Prices,
    ResponseStore, StoredResponse,
};
use crate::opt::prompts::Templates;
use anyhow::{bail, Context as _};
use std::path::Path;

/// Phase names in the ledger.
pub const PHASE_PLAN: &str = "plan";
pub const PHASE_IMPLEMENT: &str = "implement";
/// One call that plans and implements (`--skip-planning`).
pub const PHASE_DIRECT: &str = "direct";
/// A second chance for a failed candidate (`--repair`).
pub const PHASE_REPAIR: &str = "repair";

/// Settings of the LLM proposer beyond its models, store and prices.
#[derive(Debug, Clone)]
pub struct LlmOptions {
    pub client: ClientOptions,
    /// Stop (ProposeError::Budget) once this many US dollars are spent.
    pub budget_usd: Option<f64>,
    pub templates: Templates,
    pub plan_max_tokens: u32,
    pub implement_max_tokens: u32,
    pub temperature: Option<f64>,
    pub system: Option<String>,
    /// Code answers are search/replace edits on the parent (`--edits`), applied strictly.
    pub edits: bool,
}

impl Default for LlmOptions {
    fn default() -> Self {
        let s = LlmSettings::default();
        LlmOptions {
            client: ClientOptions::default(),
            budget_usd: None,
            templates: Templates::builtin(),
            plan_max_tokens: s.plan_max_tokens,
            implement_max_tokens: s.implement_max_tokens,
            temperature: s.temperature,
            system: Some(
                "You are an expert in optimizing code for tensor accelerators. Follow the rules exactly."
                    .to_string(),
            ),
            edits: false,
        }
    }
}

impl LlmOptions {
    /// The defaults with a run's token limits, temperature, timeout, retries and concurrency.
    pub fn from_settings(s: &LlmSettings) -> LlmOptions {
        LlmOptions {
            client: s.client_options(),
            plan_max_tokens: s.plan_max_tokens,
            implement_max_tokens: s.implement_max_tokens,
            temperature: s.temperature,
            ..LlmOptions::default()
        }
    }
}

/// Plans and programs written by one or more LLMs.
pub struct LlmProposer {
    /// (the name the user gave, its parsed spec), in the given order.
    models: Vec<(String, ModelSpec)>,
    client: LlmClient,
    store: ResponseStore,
    opts: LlmOptions,
}

impl LlmProposer {
    /// `model_specs` like `openai:gpt-4o` or `openai:qwen@http://127.0.0.1:8000/v1` (keys from the
    /// environment); `store_dir` is where prompts and answers are kept; `prices` prices the ledger.
    pub fn new(
        model_specs: &[String],
        store_dir: &Path,
        prices: Prices,
        opts: LlmOptions,
    ) -> anyhow::Result<LlmProposer> {
        let specs = model_specs
            .iter()
            .map(|s| ModelSpec::parse(s).map(|m| (s.clone(), m)))
            .collect::<Result<Vec<_>, _>>()?;
        LlmProposer::with_models(specs, store_dir, prices, opts)
    }

    /// Like [`LlmProposer::new`] with models already parsed (named as given).
    pub fn with_models(
        models: Vec<(String, ModelSpec)>,
        store_dir: &Path,
        prices: Prices,
        opts: LlmOptions,
    ) -> anyhow::Result<LlmProposer> {
        if models.is_empty() {
            bail!("the LLM proposer needs at least one model");
        }
        if let Some(b) = opts.budget_usd {
            if !b.is_finite() || b < 0.0 {
                bail!("budget {b} USD: must be a non-negative number");
            }
        }
        let mut opts = opts;
        // The prompts must ask for the format the answers are parsed in.
        opts.templates = opts.templates.with_edits(opts.edits);
        opts.templates.check_answer_format()?;
        let store = ResponseStore::open(store_dir)?;
        let client = LlmClient::new(opts.client.clone(), Ledger::new(prices, opts.budget_usd))
            .context("starting the LLM client")?;
        Ok(LlmProposer {
            models,
            client,
            store,
            opts,
        })
    }

    /// The proposer of a search run: answers stored under `RUN_DIR/llm`, prompts, menus and prices from
    /// `$GEMFORGE_PROMPTS_DIR` when set (else the bundled ones), no budget of its own (the search checks
    /// [`Proposer::spent_usd`] against its budget, across resumes).
    pub fn for_run_dir(models: &[String], run_dir: &Path) -> anyhow::Result<LlmProposer> {
        let templates = Templates::from_env()?;
        let prices = templates.prices()?;
        LlmProposer::new(
            models,
            &run_dir.join("llm"),
            prices,
            LlmOptions {
                templates,
                ..LlmOptions::default()
            },
        )
    }

    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    fn model(&self, name: Option<&str>) -> Result<&ModelSpec, ProposeError> {
        match name {
            None => Ok(&self.models[0].1),
            Some(n) => self
                .models
                .iter()
                .find(|(given, spec)| given == n || spec.id() == n)
                .map(|(_, spec)| spec)
                .ok_or_else(|| {
                    ProposeError::Llm(format!(
                        "model `{n}` is not one of this proposer's models ({})",
                        self.models().into_iter().collect::<Vec<_>>().join(", ")
                    ))
                }),
        }
    }

    /// The answer to a prompt and whether it was cut at the token limit: from the store if it was
    /// answered before, else from the model (then stored).
    /// Ask for an answer that carries a program (implement, one-call, repair), with the implement step's
    /// token limit; a prompt that failed to render is an error naming the phase.
    fn ask_for_program(
        &self,
        phase: &str,
        model: &ModelSpec,
        prompt: anyhow::Result<String>,
        seed: u64,
    ) -> Result<(String, bool), ProposeError> {
        let prompt = prompt
            .map_err(|e| ProposeError::Llm(format!("rendering the {phase} prompt: {e:#}")))?;
        self.ask(phase, model, prompt, self.opts.implement_max_tokens, seed)
    }

    fn ask(
        &self,
        phase: &str,
        model: &ModelSpec,
        prompt: String,
        max_tokens: u32,
        seed: u64,
    ) -> Result<(String, bool), ProposeError> {
        let req = ChatRequest {
            system: self.opts.system.clone(),
            prompt,
            max_tokens,
            temperature: self.opts.temperature,
            seed: Some(seed),
        };
        let id = model.id();
        let key = ResponseStore::key(&id, &req);
        if let Some(hit) = self.store.get(&key).map_err(llm_err)? {
            self.client.ledger().record_cached(phase, &id, &hit.usage);
            log::info!(
                "llm {phase} {id}: response store hit ({} input + {} output tokens, not sent)",
                hit.usage.input_tokens,
                hit.usage.output_tokens
            );
            return Ok((hit.text, hit.truncated));
        }
        // -v: each call's model, latency and tokens (failures are shown by the search, once each).
        let t = std::time::Instant::now();
        let resp = self.client.chat(phase, model, &req);
        match &resp {
            Ok(r) => log::info!(
                "llm {phase} {id}: answered in {:.2} s ({} attempt{}), {} input + {} output tokens{}{}",
                t.elapsed().as_secs_f64(),
                r.attempts,
                if r.attempts == 1 { "" } else { "s" },
                r.usage.input_tokens,
                r.usage.output_tokens,
                if r.usage.estimated { " (estimated: the server sent no usage)" } else { "" },
                if r.truncated { "; cut at the token limit" } else { "" }
            ),
            Err(e) => log::info!(
                "llm {phase} {id}: failed after {:.2} s: {e}",
                t.elapsed().as_secs_f64()
            ),
        }
        let resp = resp.map_err(llm_err)?;
        self.store
            .put(
                &key,
                &StoredResponse {
                    model: id,
                    phase: phase.to_string(),
                    seed: req.seed,
                    system: req.system,
                    prompt: req.prompt,
                    text: resp.text.clone(),
                    usage: resp.usage,
                    truncated: resp.truncated,
                },
            )
            .map_err(llm_err)?;
        Ok((resp.text, resp.truncated))
    }
}

fn llm_err(e: LlmError) -> ProposeError {
    match e {
        LlmError::Budget { .. } => ProposeError::Budget(e.to_string()),
        other => ProposeError::Llm(other.to_string()),
    }
}

/// The menu option a plan says it applies: the `Option: <id>` line the prompt asks for, else the one menu
/// id the plan names in backticks, if exactly one.
pub fn chosen_option(plan: &str, menu_ids: &[&str]) -> Option<String> {
    let clean = |s: &str| {
        s.trim()
            .trim_matches(|c: char| matches!(c, '`' | '*' | '[' | ']' | '"' | '\'' | '.' | ':'))
            .trim()
            .to_string()
    };
    for line in plan.lines() {
        let l = line.trim().trim_start_matches(['#', '*', '-', ' ']);
        if l.len() >= 7 && l[..6].eq_ignore_ascii_case("option") {
            let rest = l[6..].trim_start_matches(['*', ' ']);
            if let Some(v) = rest.strip_prefix(':') {
                let word = clean(v.split_whitespace().next().unwrap_or(""));
                if let Some(id) = menu_ids.iter().find(|id| **id == word) {
                    return Some(id.to_string());
                }
            }
        }
    }
    let named: Vec<&&str> = menu_ids
        .iter()
        .filter(|id| plan.contains(&format!("`{id}`")))
        .collect();
    match named.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// The program in a code answer: with `edits`, the parent with the answer's search/replace edits applied
/// strictly (a failure is [`ProposeError::Edit`] naming the block); else the answer's one fenced C block.
pub fn program_from_answer(
    answer: &str,
    parent: &str,
    edits: bool,
) -> Result<String, ProposeError> {
    if !edits {
        return extract_program(answer);
    }
    let e = crate::opt::llm::edits::parse(answer).map_err(|e| ProposeError::Edit(e.to_string()))?;
    let code =
        crate::opt::llm::edits::apply(parent, &e).map_err(|e| ProposeError::Edit(e.to_string()))?;
    if !code.contains("solution") {
        return Err(ProposeError::Edit(
            "after the edits the program no longer defines `solution`".into(),
        ));
    }
    Ok(code)
}

/// The plan part of a one-call answer (`--skip-planning`): the text before its first code fence or edit
/// block.
pub fn plan_part(answer: &str) -> String {
    let mut plan = Vec::new();
    for line in answer.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.trim_end() == "<<<<<<< SEARCH" {
            break;
        }
        plan.push(line);
    }
    plan.join("\n").trim().to_string()
}

/// The program in an answer: the one fenced code block tagged C (or untagged). None, several, or an
/// unterminated block make the answer unusable.
pub fn extract_program(answer: &str) -> Result<String, ProposeError> {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<(bool, Vec<&str>)> = None;
    for line in answer.lines() {
        let t = line.trim_start();
        match &mut current {
            None => {
                if let Some(tag) = t.strip_prefix("```") {
                    let tag = tag.trim().to_ascii_lowercase();
                    let is_c = matches!(tag.as_str(), "" | "c" | "cpp" | "c++" | "h");
                    current = Some((is_c, Vec::new()));
                }
            }
            Some((is_c, lines)) => {
                if t.trim_end() == "```" {
                    if *is_c {
                        blocks.push(lines.join("\n"));
                    }
                    current = None;
                } else {
                    lines.push(line);
                }
            }
        }
    }
    if current.is_some() {
        return Err(ProposeError::Unusable(
            "the answer ends inside a code block (cut off at the token limit?)".into(),
        ));
    }
    match blocks.len() {
        0 => Err(ProposeError::Unusable(
            "the answer has no fenced C code block".into(),
        )),
        1 => {
            let code = blocks.remove(0);
            if !code.contains("solution") {
                return Err(ProposeError::Unusable(
                    "the code block does not define `solution`".into(),
                ));
            }
            Ok(format!("{}\n", code.trim_end()))
        }
        n => Err(ProposeError::Unusable(format!(
            "the answer has {n} C code blocks; exactly one is expected"
        ))),
    }
}

impl Proposer for LlmProposer {
    fn name(&self) -> String {
        "llm".to_string()
    }

    fn models(&self) -> Vec<String> {
        self.models.iter().map(|(given, _)| given.clone()).collect()
    }

    fn plan(&self, req: &PlanRequest<'_>) -> Result<Plan, ProposeError> {
        let model = self.model(req.model)?;
        let prompt = self
            .opts
            .templates
            .plan_prompt(req)
            .map_err(|e| ProposeError::Llm(format!("rendering the plan prompt: {e:#}")))?;
        let (text, truncated) = self.ask(
            PHASE_PLAN,
            model,
            prompt,
            self.opts.plan_max_tokens,
            req.seed,
        )?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(ProposeError::Unusable("the plan is empty".into()));
        }
        let ids: Vec<&str> = req.menu.iter().map(|m| m.id.as_str()).collect();
        let menu_id = chosen_option(&text, &ids);
        Ok(Plan {
            text,
            menu_id,
            meta: serde_json::json!({ "model": model.id(), "truncated": truncated }),
        })
    }

    fn implement(&self, req: &ImplRequest<'_>) -> Result<String, ProposeError> {
        let model = self.model(req.model)?;
        let prompt = self.opts.templates.implement_prompt(req);
        let (text, _) = self.ask_for_program(PHASE_IMPLEMENT, model, prompt, req.seed)?;
        program_from_answer(&text, req.parent_code, self.opts.edits)
    }

    fn direct(&self, req: &PlanRequest<'_>) -> Result<(Plan, String), ProposeError> {
        let model = self.model(req.model)?;
        let prompt = self.opts.templates.direct_prompt(req);
        let (text, truncated) = self.ask_for_program(PHASE_DIRECT, model, prompt, req.seed)?;
        let code = program_from_answer(&text, req.parent_code, self.opts.edits)?;
        let plan_text = plan_part(&text);
        if plan_text.is_empty() {
            return Err(ProposeError::Unusable(
                "the answer states no plan before its code".into(),
            ));
        }
        let ids: Vec<&str> = req.menu.iter().map(|m| m.id.as_str()).collect();
        let plan = Plan {
            menu_id: chosen_option(&plan_text, &ids),
            text: plan_text,
            meta: serde_json::json!({ "model": model.id(), "truncated": truncated, "direct": true }),
        };
        Ok((plan, code))
    }

    fn repair(&self, req: &RepairRequest<'_>) -> Result<String, ProposeError> {
        let model = self.model(req.model)?;
        let prompt = self.opts.templates.repair_prompt(req);
        let (text, _) = self.ask_for_program(PHASE_REPAIR, model, prompt, req.seed)?;
        program_from_answer(&text, req.parent_code, self.opts.edits)
    }

    fn spent_usd(&self) -> f64 {
        self.client.ledger().spent_usd()
    }

    fn ledger_json(&self) -> serde_json::Value {
        self.client.ledger().to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_lines() {
        let ids = ["tiling", "unroll", "other"];
        assert_eq!(
            chosen_option("Option: unroll\nUnroll k.", &ids).as_deref(),
            Some("unroll")
        );
        assert_eq!(
            chosen_option("**Option:** `tiling`\n...", &ids).as_deref(),
            Some("tiling")
        );
        assert_eq!(
            chosen_option("I pick `tiling` because", &ids).as_deref(),
            Some("tiling")
        );
        assert_eq!(chosen_option("`tiling` or `unroll`", &ids), None);
        assert_eq!(chosen_option("Option: bogus", &ids), None);
    }

    #[test]
    fn code_blocks() {
        let ok = "Here:\n```c\nvoid solution(void) {}\n```\nDone.";
        assert_eq!(extract_program(ok).unwrap(), "void solution(void) {}\n");
        let with_text = "```text\nnotes\n```\n```\nvoid solution(void) {}\n```";
        assert!(extract_program(with_text).is_ok());
        for bad in [
            "no code",
            "```c\nvoid solution(void) {}\n```\n```c\nint x;\n```",
            "```c\nvoid solution(void) {",
            "```c\nint main(void) { return 0; }\n```",
        ] {
            assert!(
                matches!(extract_program(bad), Err(ProposeError::Unusable(_))),
                "{bad}"
            );
        }
    }
}
