//! A verdict cache keyed by content: SHA-256 of the candidate text, the workload (name and shape), the whole
//! hardware configuration, the evaluation settings that change a verdict, and the simulator version (crate
//! version, the RTL fingerprint and the running executable's own hash, so a rebuilt simulator never reuses a
//! verdict of the old one).
//!
//! Entries are JSON files written atomically (temporary file + rename). A corrupt entry is discarded with a
//! warning naming the file and evaluated again: a cache must never produce a silently wrong number.

use crate::bench::eval::{Failure, Verdict};
use crate::bench::workload::Workload;
use crate::sim::config::HwConfig;
use crate::store::{sha256_hex, write_atomic, KeyHasher};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The simulator's version: crate version plus a hash of the running executable (which contains the
/// Verilated RTL and every timing model). Computed once per process.
pub fn simulator_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| sha256_hex(&b))
            .unwrap_or_else(|| "unknown-executable".to_string());
        format!(
            "{} {} verilator {} exe {exe}",
            env!("CARGO_PKG_VERSION"),
            crate::sim::accel::rtl::build_info::BUILT_CONFIG_NAME,
            crate::sim::accel::rtl::build_info::VERILATOR_VERSION
        )
    })
}

/// The stored form of a [`Verdict`] (the verdict itself is only `Serialize`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Entry {
    /// The key the entry was stored under (absent in journal verdicts).
    #[serde(default)]
    key: String,
    workload: String,
    correct: bool,
    cycles: Option<u64>,
    ideal_cycles: u64,
    /// Absent in entries written before the floor existed.
    #[serde(default)]
    memory_floor_cycles: u64,
    utilization: Option<f64>,
    failure: Option<Failure>,
    detail: String,
    sp_rows_used: Option<u32>,
    acc_rows_used: Option<u32>,
    /// Absent in entries written before computed rows were counted.
    #[serde(default)]
    acc_rows_computed: Option<u32>,
    counters: BTreeMap<String, u64>,
}

impl Entry {
    fn from_verdict(key: &str, v: &Verdict) -> Entry {
        Entry {
            key: key.to_string(),
            workload: v.workload.clone(),
            correct: v.correct,
            cycles: v.cycles,
            ideal_cycles: v.ideal_cycles,
            memory_floor_cycles: v.memory_floor_cycles,
            utilization: v.utilization,
            failure: v.failure,
            detail: v.detail.clone(),
            sp_rows_used: v.sp_rows_used,
            acc_rows_used: v.acc_rows_used,
            acc_rows_computed: v.acc_rows_computed,
            counters: v.counters.clone(),
        }
    }

    fn into_verdict(self) -> Verdict {
        Verdict {
            workload: self.workload,
            correct: self.correct,
            cycles: self.cycles,
            ideal_cycles: self.ideal_cycles,
            memory_floor_cycles: self.memory_floor_cycles,
            utilization: self.utilization,
            failure: self.failure,
            detail: self.detail,
            sp_rows_used: self.sp_rows_used,
            acc_rows_used: self.acc_rows_used,
            acc_rows_computed: self.acc_rows_computed,
            counters: self.counters,
        }
    }
}

/// Converts a verdict to JSON and back (the journal stores verdicts the same way as the cache).
pub fn verdict_to_json(v: &Verdict) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The inverse of [`verdict_to_json`].
pub fn verdict_from_json(v: &serde_json::Value) -> anyhow::Result<Verdict> {
    let e: Entry = serde_json::from_value(v.clone()).context("decoding a verdict")?;
    Ok(e.into_verdict())
}

/// A directory of cached verdicts.
#[derive(Debug, Clone)]
pub struct EvalCache {
    dir: PathBuf,
}

impl EvalCache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> EvalCache {
        EvalCache { dir: dir.into() }
    }

    /// The default location: `verdicts/` in the toolchain's cache directory.
    pub fn default_location() -> EvalCache {
        EvalCache::new(crate::store::cache_dir().join("verdicts"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of one evaluation. `settings` names the evaluation settings that change the verdict (screen
    /// runs, RTL or not, cycle limit, forbidden instructions).
    pub fn key(candidate: &str, w: &Workload, hw: &HwConfig, settings: &str) -> String {
        let hw_json = serde_json::to_string(hw).unwrap_or_default();
        let kind = serde_json::to_string(&w.kind).unwrap_or_default();
        // Length-prefixed fields: no two different inputs give the same byte string.
        let mut h = KeyHasher::new();
        for part in [
            candidate,
            &w.name,
            &kind,
            &hw_json,
            &hw.rtl_fingerprint(),
            settings,
            simulator_version(),
        ] {
            h.field(part);
        }
        h.finish()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join(&key[..2.min(key.len())])
            .join(format!("{key}.json"))
    }

    /// The cached verdict for `key`, if any. A corrupt entry (unreadable JSON, or one stored under another
    /// key) is removed with a warning on stderr naming the file, and reported as a miss.
    pub fn get(&self, key: &str) -> Option<Verdict> {
        let path = self.path(key);
        let text = std::fs::read_to_string(&path).ok()?;
        match serde_json::from_str::<Entry>(&text) {
            Ok(e) if e.key == key => Some(e.into_verdict()),
            Ok(_) => {
                eprintln!(
                    "warning: discarding verdict cache entry {}: it was stored under another key",
                    path.display()
                );
                let _ = std::fs::remove_file(&path);
                None
            }
            Err(err) => {
                eprintln!(
                    "warning: discarding corrupt verdict cache entry {}: {err}",
                    path.display()
                );
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a verdict atomically. Host errors and failed cluster jobs are not cached (they say nothing
    /// about the candidate).
    pub fn put(&self, key: &str, v: &Verdict) -> anyhow::Result<()> {
        if matches!(v.failure, Some(Failure::HostError | Failure::JobFailed)) {
            return Ok(());
        }
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the verdict cache {}", dir.display()))?;
        let text = serde_json::to_string(&Entry::from_verdict(key, v))?;
        Ok(write_atomic(&path, text.as_bytes())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> Verdict {
        Verdict {
            workload: "gemm_16x16x16".into(),
            correct: true,
            cycles: Some(123),
            ideal_cycles: 16,
            memory_floor_cycles: 8,
            utilization: Some(16.0 / 123.0),
            failure: None,
            detail: "ok".into(),
            sp_rows_used: Some(32),
            acc_rows_used: Some(16),
            acc_rows_computed: Some(16),
            counters: [("exe_active_cycle".to_string(), 40)].into_iter().collect(),
        }
    }

    #[test]
    fn round_trip_and_corruption() {
        let dir = std::env::temp_dir().join(format!("gf-eval-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = EvalCache::new(&dir);
        let hw = HwConfig::default_config();
        let w = crate::bench::workload::by_name("gemm_16x16x16").expect("workload");
        let k1 = EvalCache::key("int x;", &w, &hw, "s");
        assert_ne!(k1, EvalCache::key("int y;", &w, &hw, "s"));
        assert_ne!(k1, EvalCache::key("int x;", &w, &hw, "t"));
        let mut hw2 = hw.clone();
        hw2.name.push('2');
        assert_ne!(k1, EvalCache::key("int x;", &w, &hw2, "s"));
        assert!(cache.get(&k1).is_none());
        cache.put(&k1, &verdict()).expect("put");
        assert_eq!(cache.get(&k1), Some(verdict()));
        // The journal form is exactly `gemforge eval --json`'s, and it reads back.
        let j = verdict_to_json(&verdict());
        assert_eq!(j, serde_json::to_value(verdict()).unwrap());
        assert_eq!(verdict_from_json(&j).unwrap(), verdict());
        // A corrupt entry is a miss (and is removed), never a wrong verdict.
        std::fs::write(cache.path(&k1), "{\"key\": 12").expect("corrupt");
        assert!(cache.get(&k1).is_none());
        assert!(!cache.path(&k1).exists());
        // An entry under the wrong key too.
        cache.put(&k1, &verdict()).expect("put");
        let k2 = EvalCache::key("int z;", &w, &hw, "s");
        std::fs::create_dir_all(cache.path(&k2).parent().unwrap()).unwrap();
        std::fs::copy(cache.path(&k1), cache.path(&k2)).expect("copy");
        assert!(cache.get(&k2).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
