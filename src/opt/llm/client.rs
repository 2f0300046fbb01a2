//! The HTTP side: request bodies and headers of both protocols, response parsing, retries with backoff,
//! bounded concurrency, and the blocking facade the search's worker threads call.

use super::{Ledger, LlmError, ModelSpec, Provider};
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;

/// The Anthropic API version this client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How the client behaves; the defaults suit hosted providers.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests in flight at once, over all models.
    pub concurrency: usize,
    /// Limit for one attempt, from sending the request to the last byte of the body.
    pub timeout: Duration,
    /// Retries after the first attempt (on 429, 5xx, timeouts and transport errors).
    pub max_retries: u32,
    /// First backoff; doubled per retry, capped at `backoff_max`, with jitter (half to all of it).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A Retry-After longer than this is cut to it, so a hostile or confused server cannot park us forever.
    pub retry_after_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            concurrency: 8,
            timeout: Duration::from_secs(600),
            max_retries: 5,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            retry_after_max: Duration::from_secs(300),
        }
    }
}

/// One prompt to one model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChatRequest {
    pub system: Option<String>,
    /// The user message.
    pub prompt: String,
    pub max_tokens: u32,
    /// None leaves the provider's default (some reasoning models accept no other).
    pub temperature: Option<f64>,
    /// Sent to OpenAI-compatible servers that take a sampling seed; also part of the response store's key.
    pub seed: Option<u64>,
}

/// Tokens of one call. `estimated` when the server sent no usage and we counted ~4 characters per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: Usage,
    /// HTTP attempts this answer took (1 = no retry).
    pub attempts: u32,
    /// The model stopped at the token limit.
    pub truncated: bool,
}

/// A blocking LLM client: owns a tokio runtime, a connection pool and the ledger.
pub struct LlmClient {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    sem: Arc<Semaphore>,
    opts: ClientOptions,
    ledger: Mutex<Ledger>,
    attempts: AtomicU64,
    retries: AtomicU64,
}

impl LlmClient {
    pub fn new(opts: ClientOptions, ledger: Ledger) -> anyhow::Result<LlmClient> {
        use anyhow::Context as _;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gemforge-llm")
            .enable_all()
            .build()
            .context("starting the LLM client's tokio runtime")?;
        let http = reqwest::Client::builder()
            .connect_timeout(opts.timeout.min(Duration::from_secs(30)))
            .build()
            .context("building the HTTP client")?;
        Ok(LlmClient {
            rt,
            http,
            sem: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            opts,
            ledger: Mutex::new(ledger),
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    /// The ledger (tokens, cost, budget). A panic elsewhere while it was held leaves it usable.
    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// HTTP attempts made so far, and how many of them were retries.
    pub fn attempt_counts(&self) -> (u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
        )
    }

    /// One call, blocking the calling thread (not a tokio thread). Refused once the budget is spent;
    /// the answer's tokens and cost go to the ledger under `phase`.
    pub fn chat(
        &self,
        phase: &str,
        model: &ModelSpec,
        req: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        self.ledger().check_budget()?;
        let out = self.rt.block_on(self.chat_async(model, req));
        let mut ledger = self.ledger();
        match &out {
            Ok(r) => {
                ledger.record(phase, &model.id(), &r.usage);
            }
            Err(_) => ledger.record_failure(phase, &model.id()),
        }
        out
    }

    /// One call with retries; does not touch the ledger.
    pub async fn chat_async(
        &self,
        model: &ModelSpec,
        req: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        let (url, body) = request_body(model, req);
        let mid = model.id();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.attempts.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            let outcome = {
                // The permit covers only the HTTP exchange, not the backoff sleep.
                let _permit = self.sem.acquire().await.map_err(|e| LlmError::Transport {
                    model: mid.clone(),
                    attempts: attempt,
                    message: e.to_string(),
                })?;
                tokio::time::timeout(self.opts.timeout, self.send_once(model, &url, &body)).await
            };
            let (err, retry_after) = match outcome {
                Err(_) => (
                    LlmError::Timeout {
                        model: mid.clone(),
                        attempts: attempt,
                        timeout: self.opts.timeout,
                    },
                    None,
                ),
                Ok(Err(e)) => (
                    LlmError::Transport {
                        model: mid.clone(),
                        attempts: attempt,
                        message: error_chain(&e),
                    },
                    None,
                ),
                Ok(Ok((status, retry_after, bytes))) => {
                    if (200..300).contains(&status) {
                        let mut r = parse_response(model, req, &bytes)?;
                        r.attempts = attempt;
                        return Ok(r);
                    }
                    let err = LlmError::Status {
                        model: mid.clone(),
                        status,
                        attempts: attempt,
                        body: server_message(&bytes),
                    };
                    if status != 429 && status < 500 {
                        return Err(err);
                    }
                    (err, retry_after)
                }
            };
            if attempt > self.opts.max_retries {
                return Err(err);
            }
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
        }
    }

    async fn send_once(
        &self,
        model: &ModelSpec,
        url: &str,
        body: &Value,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), reqwest::Error> {
        let mut rb = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        match model.provider {
            Provider::OpenAi => {
                if let Some(k) = &model.api_key {
                    rb = rb.bearer_auth(k);
                }
            }
            Provider::Anthropic => {
                rb = rb.header("anthropic-version", ANTHROPIC_VERSION);
                if let Some(k) = &model.api_key {
                    rb = rb.header("x-api-key", k);
                }
            }
        }
        let resp = rb.send().await?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let bytes = resp.bytes().await?;
        Ok((status, retry_after, bytes.to_vec()))
    }

    /// Wait before retry number `attempt` (1-based): exponential with jitter, but never less than the
    /// server's Retry-After (itself capped).
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .opts
            .backoff_base
            .saturating_mul(1u32 << (attempt - 1).min(20))
            .min(self.opts.backoff_max);
        let jittered = exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
        match retry_after {
            Some(ra) => jittered.max(ra.min(self.opts.retry_after_max)),
            None => jittered,
        }
    }
}

/// Retry-After is either delay-seconds or an HTTP date (RFC 9110 10.2.3).
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn excerpt(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// What an error response says, for people: the `message` of the JSON error shapes that OpenAI, Anthropic,
/// vLLM, llama.cpp's server and FastAPI-based servers send (`{"error": {"message": ...}}`,
/// `{"message": ...}`, `{"error": "..."}`, `{"detail": ...}`), else an excerpt of the raw body.
pub fn server_message(bytes: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        for ptr in ["/error/message", "/message", "/error", "/detail"] {
            match v.pointer(ptr) {
                Some(Value::String(s)) if !s.trim().is_empty() => return excerpt(s.as_bytes()),
                Some(d @ (Value::Array(_) | Value::Object(_))) if ptr == "/detail" => {
                    return excerpt(d.to_string().as_bytes())
                }
                _ => {}
            }
        }
    }
    let e = excerpt(bytes);
    if e.is_empty() {
        "(empty body)".to_string()
    } else {
        e
    }
}

/// The endpoint and JSON body of a request.
fn request_body(model: &ModelSpec, req: &ChatRequest) -> (String, Value) {
    match model.provider {
        Provider::OpenAi => {
            let mut messages = Vec::new();
            if let Some(s) = &req.system {
                messages.push(json!({"role": "system", "content": s}));
            }
            messages.push(json!({"role": "user", "content": req.prompt}));
            let mut body = json!({"model": model.name, "messages": messages});
            // OpenAI's own endpoint wants max_completion_tokens (its reasoning models refuse max_tokens);
            // self-hosted servers know max_tokens.
            let limit_key = if model.custom_base {
                "max_tokens"
            } else {
                "max_completion_tokens"
            };
            body[limit_key] = json!(req.max_tokens);
            if let Some(t) = req.temperature {
                body["temperature"] = json!(t);
            }
            if let Some(seed) = req.seed {
                // Servers take a signed 64-bit seed.
                body["seed"] = json!(seed & (i64::MAX as u64));
            }
            (format!("{}/chat/completions", model.base_url), body)
        }
        Provider::Anthropic => {
            let mut body = json!({
                "model": model.name,
                "max_tokens": req.max_tokens,
                "messages": [{"role": "user", "content": req.prompt}],
            });
            if let Some(s) = &req.system {
                body["system"] = json!(s);
            }
            if let Some(t) = req.temperature {
                body["temperature"] = json!(t);
            }
            (format!("{}/messages", model.base_url), body)
        }
    }
}

fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// Text, usage and truncation of a 2xx body; anything missing is a [`LlmError::Malformed`] naming it.
fn parse_response(
    model: &ModelSpec,
    req: &ChatRequest,
    bytes: &[u8],
) -> Result<ChatResponse, LlmError> {
    let bad = |what: String| LlmError::Malformed {
        model: model.id(),
        what,
    };
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("body is not JSON ({e}): {}", excerpt(bytes))))?;
    let (text, truncated, usage_in, usage_out) = match model.provider {
        Provider::OpenAi => {
            let choice = v
                .get("choices")
                .and_then(|c| c.get(0))
                .ok_or_else(|| bad("no `choices[0]`".into()))?;
            let text = choice
                .pointer("/message/content")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad("`choices[0].message.content` is missing or not a string".into())
                })?
                .to_string();
            let truncated = choice.get("finish_reason").and_then(Value::as_str) == Some("length");
            (
                text,
                truncated,
                v.pointer("/usage/prompt_tokens").and_then(Value::as_u64),
                v.pointer("/usage/completion_tokens")
                    .and_then(Value::as_u64),
            )
        }
        Provider::Anthropic => {
            let blocks = v
                .get("content")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("`content` is missing or not an array".into()))?;
            let texts: Vec<&str> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            if texts.is_empty() {
                return Err(bad("`content` holds no text block".into()));
            }
            let truncated = v.get("stop_reason").and_then(Value::as_str) == Some("max_tokens");
            (
                texts.concat(),
                truncated,
                v.pointer("/usage/input_tokens").and_then(Value::as_u64),
                v.pointer("/usage/output_tokens").and_then(Value::as_u64),
            )
        }
    };
    let usage = match (usage_in, usage_out) {
        (Some(i), Some(o)) => Usage {
            input_tokens: i,
            output_tokens: o,
            estimated: false,
        },
        _ => Usage {
            input_tokens: estimate_tokens(
                req.prompt.len() + req.system.as_ref().map_or(0, String::len),
            ),
            output_tokens: estimate_tokens(text.len()),
            estimated: true,
        },
    };
    Ok(ChatResponse {
        text,
        usage,
        attempts: 0,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let opts = ClientOptions {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            retry_after_max: Duration::from_secs(2),
            ..ClientOptions::default()
        };
        let c = LlmClient::new(opts, Ledger::new(super::super::Prices::default(), None)).unwrap();
        for _ in 0..20 {
            let b1 = c.backoff(1, None);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = c.backoff(3, None);
            assert!(b3 >= Duration::from_millis(175) && b3 <= Duration::from_millis(350));
            assert_eq!(
                c.backoff(1, Some(Duration::from_secs(1))),
                Duration::from_secs(1)
            );
            assert_eq!(
                c.backoff(1, Some(Duration::from_secs(100))),
                Duration::from_secs(2)
            );
        }
    }

    #[test]
    fn server_messages_are_extracted_from_every_error_shape() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"error":{"message":"max_tokens is too large","type":"invalid"}}"#, "max_tokens is too large"),
            (br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, "Overloaded"),
            (br#"{"object":"error","message":"This model's maximum context length is 4096","code":400}"#, "This model's maximum context length is 4096"),
            (br#"{"error":"model not loaded"}"#, "model not loaded"),
            (br#"{"detail":[{"loc":["body","messages"],"msg":"field required"}]}"#, "field required"),
            (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        ];
        for (body, want) in cases {
            let got = server_message(body);
            assert!(got.contains(want), "{got} lacks {want}");
        }
        assert_eq!(server_message(b""), "(empty body)");
    }

    #[test]
    fn request_shapes() {
        let req = ChatRequest {
            system: Some("sys".into()),
            prompt: "p".into(),
            max_tokens: 77,
            temperature: None,
            seed: Some(u64::MAX),
        };
        let key = |_: &str| Some("k".to_string());
        let official = ModelSpec::parse_with_env("openai:gpt-4o", key).unwrap();
        let (url, b) = request_body(&official, &req);
        assert_eq!(url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(b["max_completion_tokens"], 77);
        assert!(b.get("max_tokens").is_none() && b.get("temperature").is_none());
        assert_eq!(b["seed"], i64::MAX);
        assert_eq!(b["messages"][0]["content"], "sys");
        let claude = ModelSpec::parse_with_env("anthropic:claude-sonnet-4", key).unwrap();
        let (url, b) = request_body(&claude, &req);
        assert_eq!(url, "https://api.anthropic.com/v1/messages");
        assert_eq!(b["max_tokens"], 77);
        assert_eq!(b["system"], "sys");
        assert_eq!(b["messages"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        let m = ModelSpec::parse_with_env("openai:m@http://127.0.0.1:1/v1", |_| None).unwrap();
        let req = ChatRequest {
            system: None,
            prompt: "abcdefgh".into(),
            max_tokens: 10,
            temperature: None,
            seed: None,
        };
        let e = parse_response(&m, &req, b"{not json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not JSON"), "{e}");
        let e = parse_response(&m, &req, br#"{"choices":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("choices[0]"), "{e}");
        let e = parse_response(&m, &req, br#"{"choices":[{"message":{"content":null}}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("message.content"), "{e}");
        // No usage: estimated from the characters.
        let r =
            parse_response(&m, &req, br#"{"choices":[{"message":{"content":"abcd"}}]}"#).unwrap();
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 2,
                output_tokens: 1,
                estimated: true
            }
        );
    }
}
