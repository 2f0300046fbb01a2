//! Answers stored by a hash of everything that determines them, so a resumed run never pays twice.

use super::{ChatRequest, LlmError, Usage};
use std::path::{Path, PathBuf};

/// One stored exchange: the prompt and the answer, with what produced them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredResponse {
    pub model: String,
    pub phase: String,
    pub seed: Option<u64>,
    pub system: Option<String>,
    pub prompt: String,
    pub text: String,
    pub usage: Usage,
    /// The model stopped at the token limit.
    #[serde(default)]
    pub truncated: bool,
}

/// A directory of `<sha256>.json` files.
#[derive(Debug, Clone)]
pub struct ResponseStore {
    dir: PathBuf,
}

impl ResponseStore {
    pub fn open(dir: &Path) -> Result<ResponseStore, LlmError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            LlmError::Store(format!("creating response store {}: {e}", dir.display()))
        })?;
        Ok(ResponseStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a request to a model (`provider:name`): the hash of model, system text, prompt,
    /// seed, token limit and temperature.
    pub fn key(model_id: &str, req: &ChatRequest) -> String {
        let identity = serde_json::json!([model_id, req]);
        crate::store::sha256_hex(identity.to_string().as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The stored answer, if any. A file that does not parse (not written by us: our writes are atomic)
    /// counts as absent and is replaced by the next `put`.
    pub fn get(&self, key: &str) -> Result<Option<StoredResponse>, LlmError> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LlmError::Store(format!("reading {}: {e}", path.display()))),
        }
    }

    /// Store atomically: a temporary file in the same directory, renamed over the final name.
    pub fn put(&self, key: &str, r: &StoredResponse) -> Result<(), LlmError> {
        let path = self.path(key);
        let fail =
            |e: &dyn std::fmt::Display| LlmError::Store(format!("writing {}: {e}", path.display()));
        let bytes = serde_json::to_vec_pretty(r).map_err(|e| fail(&e))?;
        crate::store::write_atomic(&path, &bytes).map_err(|e| LlmError::Store(e.to_string()))
    }
}
