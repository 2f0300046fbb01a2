//! Tokens and money per (phase, model), priced from a table (`prompts/prices.toml`), and the budget.

use super::{LlmError, Usage};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::Path;

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

/// The price table: model ids (`openai:gpt-4o`) to prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    map: BTreeMap<String, Price>,
}

/// The bundled table.
pub const DEFAULT_PRICES_TOML: &str = include_str!("../../../prompts/prices.toml");

impl Prices {
    pub fn builtin() -> anyhow::Result<Prices> {
        Prices::from_toml_str(DEFAULT_PRICES_TOML, "prompts/prices.toml (built in)")
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Prices> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading price table {}", path.display()))?;
        Prices::from_toml_str(&text, &path.display().to_string())
    }

    /// Parse `["provider:model"]` tables with `input` and `output` (USD per million tokens).
    pub fn from_toml_str(text: &str, origin: &str) -> anyhow::Result<Prices> {
        let map: BTreeMap<String, Price> =
            toml::from_str(text).with_context(|| format!("parsing price table {origin}"))?;
        for (model, p) in &map {
            for (field, v) in [("input", p.input), ("output", p.output)] {
                if !v.is_finite() || v < 0.0 {
                    anyhow::bail!(
                        "{origin}: [\"{model}\"] {field} = {v}: must be a non-negative number"
                    );
                }
            }
            if !model.contains(':') {
                anyhow::bail!("{origin}: [\"{model}\"]: model ids look like provider:name");
            }
        }
        Ok(Prices { map })
    }

    /// The price of a model id: an exact entry, else the longest entry that is a prefix ending where a
    /// `-` follows (so `openai:gpt-4o-2024-08-06` is priced as `openai:gpt-4o`, and `gpt-4o-mini` keeps
    /// its own entry).
    pub fn lookup(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.map.get(model) {
            return Some(*p);
        }
        self.map
            .iter()
            .filter(|(k, _)| {
                model
                    .strip_prefix(k.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(k, _)| k.len())
            .map(|(_, p)| *p)
    }
}

/// Totals for one (phase, model).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LedgerEntry {
    pub phase: String,
    pub model: String,
    /// Answered calls that went to the provider.
    pub calls: u64,
    /// Calls answered from the response store (no cost).
    pub cached: u64,
    /// What the stored answers cost when they were first bought (not part of `cost_usd`).
    pub saved_usd: f64,
    /// Calls that ended in an error (after their retries).
    pub failed: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Calls whose tokens were estimated because the server reported no usage.
    pub estimated_calls: u64,
    pub cost_usd: f64,
    /// False when the price table has no entry for the model (its cost is counted as 0).
    pub price_known: bool,
}

/// The ledger: one entry per (phase, model), and an optional budget over all of them.
#[derive(Debug, Clone)]
pub struct Ledger {
    prices: Prices,
    budget_usd: Option<f64>,
    entries: BTreeMap<(String, String), LedgerEntry>,
}

impl Ledger {
    pub fn new(prices: Prices, budget_usd: Option<f64>) -> Ledger {
        Ledger {
            prices,
            budget_usd,
            entries: BTreeMap::new(),
        }
    }

    fn entry(&mut self, phase: &str, model: &str) -> &mut LedgerEntry {
        let price_known = self.prices.lookup(model).is_some();
        self.entries
            .entry((phase.to_string(), model.to_string()))
            .or_insert_with(|| LedgerEntry {
                phase: phase.to_string(),
                model: model.to_string(),
                price_known,
                ..LedgerEntry::default()
            })
    }

    /// The cost of `usage` on `model` (0 when the model has no price).
    pub fn cost(&self, model: &str, usage: &Usage) -> f64 {
        self.prices.lookup(model).map_or(0.0, |p| {
            (usage.input_tokens as f64 * p.input + usage.output_tokens as f64 * p.output) / 1e6
        })
    }

    /// Count an answered call; returns its cost.
    pub fn record(&mut self, phase: &str, model: &str, usage: &Usage) -> f64 {
        let cost = self.cost(model, usage);
        let e = self.entry(phase, model);
        e.calls += 1;
        e.input_tokens += usage.input_tokens;
        e.output_tokens += usage.output_tokens;
        e.estimated_calls += usage.estimated as u64;
        e.cost_usd += cost;
        cost
    }

    /// Count a call answered from the response store; `usage` is what the stored answer took.
    pub fn record_cached(&mut self, phase: &str, model: &str, usage: &Usage) {
        let saved = self.cost(model, usage);
        let e = self.entry(phase, model);
        e.cached += 1;
        e.saved_usd += saved;
    }

    pub fn record_failure(&mut self, phase: &str, model: &str) {
        self.entry(phase, model).failed += 1;
    }

    pub fn spent_usd(&self) -> f64 {
        self.entries.values().map(|e| e.cost_usd).sum()
    }

    pub fn budget_usd(&self) -> Option<f64> {
        self.budget_usd
    }

    /// Err once the spending reached the budget. Calls already in flight still finish, so the total may
    /// pass the budget by what they cost.
    pub fn check_budget(&self) -> Result<(), LlmError> {
        match self.budget_usd {
            Some(b) if self.spent_usd() >= b => Err(LlmError::Budget {
                spent_usd: self.spent_usd(),
                budget_usd: b,
            }),
            _ => Ok(()),
        }
    }

    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.entries.values().cloned().collect()
    }

    /// The report's view: entries, totals, budget.
    pub fn to_json(&self) -> serde_json::Value {
        let entries = self.entries();
        serde_json::json!({
            "entries": entries,
            "total": {
                "calls": entries.iter().map(|e| e.calls).sum::<u64>(),
                "cached": entries.iter().map(|e| e.cached).sum::<u64>(),
                "failed": entries.iter().map(|e| e.failed).sum::<u64>(),
                "input_tokens": entries.iter().map(|e| e.input_tokens).sum::<u64>(),
                "output_tokens": entries.iter().map(|e| e.output_tokens).sum::<u64>(),
                "cost_usd": self.spent_usd(),
                "saved_usd": entries.iter().map(|e| e.saved_usd).sum::<f64>(),
            },
            "budget_usd": self.budget_usd,
            "unpriced_models": entries.iter().filter(|e| !e.price_known).map(|e| e.model.clone())
                .collect::<std::collections::BTreeSet<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_prices_parse_and_prefixes_match() {
        let p = Prices::builtin().unwrap();
        let g = p.lookup("openai:gpt-4o").unwrap();
        assert_eq!(p.lookup("openai:gpt-4o-2024-08-06"), Some(g));
        assert_ne!(p.lookup("openai:gpt-4o-mini"), Some(g));
        assert_eq!(p.lookup("openai:gpt-4oz"), None);
        assert_eq!(p.lookup("openai:no-such-model"), None);
    }

    #[test]
    fn bad_price_tables_are_named() {
        let e = Prices::from_toml_str("[\"openai:x\"]\ninput = -1\noutput = 2\n", "p.toml")
            .unwrap_err();
        assert!(format!("{e:#}").contains("p.toml"), "{e:#}");
        let e = Prices::from_toml_str("[\"openai:x\"]\ninput = 1\n", "p.toml").unwrap_err();
        assert!(format!("{e:#}").contains("output"), "{e:#}");
    }
}
