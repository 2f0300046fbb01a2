//! LLM call settings of a search: token limits per phase, temperature, per-call timeout, retries and
//! concurrency. They come from built-in defaults, then an optional TOML file (`--llm-config`), then
//! command-line options, and are kept in the run's `config.json` so a resumed run samples the same way.
//! The file format is documented in docs/llm.md; unknown keys are errors (a misspelt `max_token` must not
//! silently leave the default in force).

use anyhow::{bail, Context as _};
use std::path::Path;
use std::time::Duration;

/// The settings in force for a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LlmSettings {
    /// Token limit of a planning answer.
    pub plan_max_tokens: u32,
    /// Token limit of an implementation answer (servers with a small context, e.g. vLLM with a short
    /// max_model_len, reject a limit above what fits).
    pub implement_max_tokens: u32,
    /// None: the provider's default (some reasoning models accept no other).
    pub temperature: Option<f64>,
    /// Limit for one HTTP attempt, from sending the request to the last byte of the answer.
    pub timeout_secs: f64,
    /// Retries after the first attempt (on 429, 5xx, timeouts and transport errors).
    pub retries: u32,
    /// Requests in flight at once, over all models.
    pub concurrency: usize,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            plan_max_tokens: 4096,
            implement_max_tokens: 16384,
            temperature: None,
            timeout_secs: 600.0,
            retries: 5,
            concurrency: 8,
        }
    }
}

/// Settings given explicitly (a file's `[llm]` table or command-line options); None leaves the value below.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmOverrides {
    /// Both phases' token limit (the per-phase keys win over it).
    pub max_tokens: Option<u32>,
    pub plan_max_tokens: Option<u32>,
    pub implement_max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub retries: Option<u32>,
    pub concurrency: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    llm: LlmOverrides,
}

impl LlmOverrides {
    /// The `[llm]` table of a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<LlmOverrides> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the LLM settings file {}", path.display()))?;
        LlmOverrides::from_toml_str(&text, &path.display().to_string())
    }

    /// Parse a settings file's text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> anyhow::Result<LlmOverrides> {
        let f: SettingsFile = toml::from_str(text).with_context(|| {
            format!(
                "{origin}: not a valid LLM settings file (expected an [llm] table with max_tokens, \
                 plan_max_tokens, implement_max_tokens, temperature, timeout_secs, retries, concurrency)"
            )
        })?;
        Ok(f.llm)
    }

    /// `self` over `lower`: each value given here replaces the one there.
    pub fn over(&self, lower: &LlmOverrides) -> LlmOverrides {
        LlmOverrides {
            max_tokens: self.max_tokens.or(lower.max_tokens),
            plan_max_tokens: self.plan_max_tokens.or(lower.plan_max_tokens),
            implement_max_tokens: self.implement_max_tokens.or(lower.implement_max_tokens),
            temperature: self.temperature.or(lower.temperature),
            timeout_secs: self.timeout_secs.or(lower.timeout_secs),
            retries: self.retries.or(lower.retries),
            concurrency: self.concurrency.or(lower.concurrency),
        }
    }

    /// Whether any value is given.
    pub fn is_empty(&self) -> bool {
        *self == LlmOverrides::default()
    }
}

impl LlmSettings {
    /// `base` with the given values applied, checked.
    pub fn with(&self, o: &LlmOverrides) -> anyhow::Result<LlmSettings> {
        let s = LlmSettings {
            plan_max_tokens: o
                .plan_max_tokens
                .or(o.max_tokens)
                .unwrap_or(self.plan_max_tokens),
            implement_max_tokens: o
                .implement_max_tokens
                .or(o.max_tokens)
                .unwrap_or(self.implement_max_tokens),
            temperature: o.temperature.or(self.temperature),
            timeout_secs: o.timeout_secs.unwrap_or(self.timeout_secs),
            retries: o.retries.unwrap_or(self.retries),
            concurrency: o.concurrency.unwrap_or(self.concurrency),
        };
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("plan_max_tokens", self.plan_max_tokens),
            ("implement_max_tokens", self.implement_max_tokens),
        ] {
            if !(1..=1_000_000).contains(&v) {
                bail!("LLM setting {name} = {v}: must be between 1 and 1000000 tokens");
            }
        }
        if let Some(t) = self.temperature {
            if !(t.is_finite() && (0.0..=2.0).contains(&t)) {
                bail!("LLM setting temperature = {t}: must be between 0 and 2");
            }
        }
        if !(self.timeout_secs.is_finite()
            && self.timeout_secs > 0.0
            && self.timeout_secs <= 86_400.0)
        {
            bail!(
                "LLM setting timeout_secs = {}: must be more than 0 and at most 86400 (a day)",
                self.timeout_secs
            );
        }
        if self.retries > 100 {
            bail!("LLM setting retries = {}: at most 100", self.retries);
        }
        if !(1..=256).contains(&self.concurrency) {
            bail!(
                "LLM setting concurrency = {}: must be between 1 and 256",
                self.concurrency
            );
        }
        Ok(())
    }

    /// What differs between two runs' sampling settings (token limits, temperature): the settings that
    /// decide what a model answers, so a resumed run may not change them. Empty when none differs.
    pub fn sampling_differences(&self, other: &LlmSettings) -> Vec<String> {
        let mut d = Vec::new();
        if self.plan_max_tokens != other.plan_max_tokens {
            d.push(format!(
                "plan_max_tokens {} (the run has {})",
                other.plan_max_tokens, self.plan_max_tokens
            ));
        }
        if self.implement_max_tokens != other.implement_max_tokens {
            d.push(format!(
                "implement_max_tokens {} (the run has {})",
                other.implement_max_tokens, self.implement_max_tokens
            ));
        }
        if self.temperature != other.temperature {
            let show =
                |t: Option<f64>| t.map_or("the provider's default".to_string(), |t| t.to_string());
            d.push(format!(
                "temperature {} (the run has {})",
                show(other.temperature),
                show(self.temperature)
            ));
        }
        d
    }

    /// The HTTP client's options (backoff as in [`super::ClientOptions::default`]).
    pub fn client_options(&self) -> super::ClientOptions {
        super::ClientOptions {
            concurrency: self.concurrency,
            timeout: Duration::from_secs_f64(self.timeout_secs),
            max_retries: self.retries,
            ..super::ClientOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_command_line_over_defaults() {
        let file = LlmOverrides::from_toml_str(
            "[llm]\nmax_tokens = 2048\nimplement_max_tokens = 3000\ntemperature = 0.2\nretries = 1\n",
            "t.toml",
        )
        .unwrap();
        let cli = LlmOverrides {
            retries: Some(0),
            concurrency: Some(2),
            ..LlmOverrides::default()
        };
        let s = LlmSettings::default().with(&cli.over(&file)).unwrap();
        assert_eq!(s.plan_max_tokens, 2048);
        assert_eq!(s.implement_max_tokens, 3000);
        assert_eq!(s.temperature, Some(0.2));
        assert_eq!((s.retries, s.concurrency), (0, 2));
        assert_eq!(s.timeout_secs, 600.0);
        let c = s.client_options();
        assert_eq!((c.concurrency, c.max_retries), (2, 0));
    }

    #[test]
    fn bad_files_and_values_name_the_problem() {
        let e = format!(
            "{:#}",
            LlmOverrides::from_toml_str("[llm]\nmax_token = 5\n", "x.toml").unwrap_err()
        );
        assert!(e.contains("x.toml") && e.contains("max_token"), "{e}");
        let e = format!(
            "{:#}",
            LlmOverrides::from_toml_str("[llmm]\n", "y.toml").unwrap_err()
        );
        assert!(e.contains("y.toml"), "{e}");
        for (o, want) in [
            (
                LlmOverrides {
                    max_tokens: Some(0),
                    ..Default::default()
                },
                "plan_max_tokens = 0",
            ),
            (
                LlmOverrides {
                    temperature: Some(f64::NAN),
                    ..Default::default()
                },
                "temperature",
            ),
            (
                LlmOverrides {
                    timeout_secs: Some(0.0),
                    ..Default::default()
                },
                "timeout_secs",
            ),
            (
                LlmOverrides {
                    concurrency: Some(0),
                    ..Default::default()
                },
                "concurrency = 0",
            ),
        ] {
            let e = LlmSettings::default().with(&o).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn sampling_differences_name_each_setting() {
        let a = LlmSettings::default();
        let b = a
            .with(&LlmOverrides {
                implement_max_tokens: Some(100),
                temperature: Some(1.0),
                retries: Some(0),
                ..Default::default()
            })
            .unwrap();
        let d = a.sampling_differences(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("implement_max_tokens 100 (the run has 16384)"));
        assert!(d[1].contains("temperature 1"));
        assert!(a.sampling_differences(&a).is_empty());
    }
}
