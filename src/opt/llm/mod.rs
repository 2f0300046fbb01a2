//! LLM providers: OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp's server, ...) and the
//! Anthropic messages API, behind one blocking client with bounded concurrency, retries, a token and cost
//! ledger per (phase, model) and a response store keyed by content.
//!
//! A model is named `PROVIDER:NAME[@BASE_URL]`, e.g. `openai:gpt-4o`, `anthropic:claude-sonnet-4-20250514`,
//! `openai:qwen2.5-coder@http://127.0.0.1:8000/v1`. Keys come from `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`.
//! A failed call is an [`LlmError`], never text: callers cannot mistake a failure for an answer.

mod client;
pub mod edits;
mod ledger;
mod settings;
mod store;

pub use client::{server_message, ChatRequest, ChatResponse, ClientOptions, LlmClient, Usage};
pub use ledger::{Ledger, LedgerEntry, Price, Prices};
pub use settings::{LlmOverrides, LlmSettings};
pub use store::{ResponseStore, StoredResponse};

use std::time::Duration;

/// Which wire protocol a model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// `POST {base}/chat/completions`, `Authorization: Bearer KEY`.
    OpenAi,
    /// `POST {base}/messages`, `x-api-key: KEY`, `anthropic-version`.
    Anthropic,
}

impl Provider {
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
    /// The environment variable holding this provider's key.
    pub fn key_var(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com/v1",
        }
    }
}

/// A parsed model name: provider, model, endpoint and key.
#[derive(Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub provider: Provider,
    /// The model name sent to the provider (`gpt-4o`).
    pub name: String,
    /// Base URL without a trailing slash (`https://api.openai.com/v1`).
    pub base_url: String,
    /// Whether the base URL was given explicitly (a self-hosted server).
    pub custom_base: bool,
    pub api_key: Option<String>,
}

// The key must never reach logs or error messages.
impl std::fmt::Debug for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSpec")
            .field("provider", &self.provider)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl ModelSpec {
    /// Parse a model name, reading keys from the process environment.
    pub fn parse(spec: &str) -> Result<ModelSpec, LlmError> {
        ModelSpec::parse_with_env(spec, |var| std::env::var(var).ok())
    }

    /// Parse a model name with keys from `env` (tests pass their own lookup instead of mutating the
    /// process environment). The provider's official endpoint needs its key; an explicit base URL
    /// (a self-hosted server) uses the key when the variable is set and runs keyless otherwise.
    pub fn parse_with_env(
        spec: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ModelSpec, LlmError> {
        let bad = |reason: &str| LlmError::BadSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (prefix, rest) = spec.split_once(':').ok_or_else(|| {
            bad("expected PROVIDER:MODEL[@BASE_URL] with PROVIDER openai or anthropic")
        })?;
        let provider = match prefix.trim() {
            "openai" => Provider::OpenAi,
            "anthropic" => Provider::Anthropic,
            other => {
                return Err(bad(&format!(
                    "unknown provider `{other}` (expected openai or anthropic)"
                )))
            }
        };
        // Split at the `@` that starts a URL, so model names may themselves contain `@`.
        let (name, base) = match rest.find("@http://").or_else(|| rest.find("@https://")) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("the model name is empty"));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(bad("the model name contains whitespace"));
        }
        let base_url = match base {
            Some(b) => {
                let url = reqwest::Url::parse(b)
                    .map_err(|e| bad(&format!("base URL `{b}` is not a valid URL: {e}")))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(bad(&format!("base URL `{b}` has no host")));
                }
                b.trim_end_matches('/').to_string()
            }
            None => provider.default_base_url().to_string(),
        };
        let api_key = env(provider.key_var()).filter(|k| !k.trim().is_empty());
        if base.is_none() && api_key.is_none() {
            return Err(LlmError::MissingKey {
                var: provider.key_var(),
                model: spec.to_string(),
            });
        }
        Ok(ModelSpec {
            provider,
            name: name.to_string(),
            base_url,
            custom_base: base.is_some(),
            api_key,
        })
    }

    /// `provider:name`: the model's identity for the ledger, the price table and the response store
    /// (independent of the endpoint, so a self-hosted server may move without losing stored answers).
    pub fn id(&self) -> String {
        format!("{}:{}", self.provider.prefix(), self.name)
    }
}

/// Why a call produced no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("model `{spec}`: {reason}")]
    BadSpec { spec: String, reason: String },
    #[error("model `{model}` needs an API key: set the environment variable {var}")]
    MissingKey { var: &'static str, model: String },
    /// A non-success HTTP status: not retryable (4xx other than 429), or the last of the retries.
    #[error("{model}: HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        model: String,
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error("{model}: no response within {timeout:?} after {attempts} attempt(s)")]
    Timeout {
        model: String,
        attempts: u32,
        timeout: Duration,
    },
    /// Connection refused, reset, DNS, TLS...
    #[error("{model}: transport error after {attempts} attempt(s): {message}")]
    Transport {
        model: String,
        attempts: u32,
        message: String,
    },
    /// A 2xx response whose body is not what the protocol promises.
    #[error("{model}: malformed response: {what}")]
    Malformed { model: String, what: String },
    #[error("budget of ${budget_usd:.4} reached (spent ${spent_usd:.4})")]
    Budget { spent_usd: f64, budget_usd: f64 },
    #[error("response store: {0}")]
    Store(String),
}
