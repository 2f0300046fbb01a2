//! The run directory: `config.json` (everything the search was started with), `journal.jsonl` (append-only,
//! one JSON event per line, fsync'd after every line) and `store/` (every plan and program by content hash).
//!
//! Reading a journal tolerates a truncated last line (the process was killed mid-write) and reports it; any
//! other malformed line is an error naming the file and the line.

use super::select::Contender;
use crate::store::{sha256_hex, write_atomic};
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const CONFIG_FILE: &str = "config.json";
pub const JOURNAL_FILE: &str = "journal.jsonl";
pub const STORE_DIR: &str = "store";

/// One journal line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The process started (or resumed) the run.
    Start {
        resumed: bool,
        version: String,
    },
    IterationStart {
        step: u32,
        phase: String,
        iteration: u32,
        beam: Vec<String>,
    },
    PlanRequested {
        slot: String,
        parent: String,
        model: Option<String>,
        menu: Vec<String>,
        seed: u64,
    },
    PlanReceived {
        slot: String,
        /// Hash of the plan's JSON in the store.
        plan: String,
        menu_id: Option<String>,
        /// What the proposer had spent in this process after the call (the budget spans resumes).
        #[serde(default)]
        spent_usd: f64,
    },
    PlanFailed {
        slot: String,
        class: String,
        detail: String,
        /// What the proposer had spent in this process after the call (the budget spans resumes).
        #[serde(default)]
        spent_usd: f64,
    },
    ProgramRequested {
        slot: String,
        plan_slot: String,
        model: Option<String>,
        seed: u64,
        /// What was asked: absent for an implementation of a plan, `direct` for one call that plans and
        /// implements (`--skip-planning`), `repair` for a second chance of a failed candidate (`--repair`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// The parent program's hash (absent in journals written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
    },
    ProgramReceived {
        slot: String,
        /// Hash of the program text in the store.
        code: String,
        /// What the proposer had spent in this process after the call (the budget spans resumes).
        #[serde(default)]
        spent_usd: f64,
        /// A one-call answer's plan (hash of its JSON in the store) and menu option (`--skip-planning`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        menu_id: Option<String>,
    },
    ProgramFailed {
        slot: String,
        class: String,
        detail: String,
        /// What the proposer had spent in this process after the call (the budget spans resumes).
        #[serde(default)]
        spent_usd: f64,
    },
    Evaluated {
        code: String,
        /// The verdict (the fields of `gemforge eval --json`).
        verdict: serde_json::Value,
        cached: bool,
    },
    Selection {
        step: u32,
        beam: Vec<Contender>,
        best_cycles: u64,
    },
    BudgetStop {
        spent_usd: f64,
        detail: String,
    },
    Interrupted {
        step: u32,
    },
    EarlyStop {
        step: u32,
        since: u32,
    },
    Recheck {
        code: String,
        verdict: serde_json::Value,
    },
    /// The proposer's token and cost ledger of one process of the run (written when it stops).
    Ledger {
        ledger: serde_json::Value,
    },
    Finish {
        best: Option<String>,
        cycles: Option<u64>,
        reason: String,
        spent_usd: f64,
    },
}

/// A parsed journal.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub events: Vec<Event>,
    /// A truncated last line that was ignored (its 1-based line number).
    pub truncated_line: Option<usize>,
}

/// Read a journal. A last line without its newline that does not parse is a write cut short by a kill:
/// ignored and reported in [`Replay::truncated_line`]. Anything else that does not parse is an error.
pub fn read_journal(path: &Path) -> anyhow::Result<Replay> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Replay::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut out = Replay::default();
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(e) => out.events.push(e),
            Err(_) if i + 1 == lines.len() && !complete => out.truncated_line = Some(i + 1),
            Err(e) => bail!(
                "{}:{}: malformed journal line ({e}); only a truncated last line is tolerated",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// The journal writer (shared by worker threads).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Open for appending. When the file ends in a truncated line, that line is cut off first, so the next
    /// event starts on a line of its own.
    pub fn open(path: &Path, truncated: bool) -> anyhow::Result<Journal> {
        if truncated {
            let text =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            f.set_len(keep as u64)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("cutting the truncated line off {}", path.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // A complete last event whose newline was cut off: end its line before appending.
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if text.last().is_some_and(|&b| b != b'\n') {
            file.write_all(b"\n")
                .and_then(|()| file.sync_data())
                .with_context(|| format!("appending to {}", path.display()))?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Append one event as one line and fsync it.
    pub fn append(&self, e: &Event) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(e).context("encoding a journal event")?;
        line.push('\n');
        let mut f = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal lock is poisoned"))?;
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

/// The content-addressed store of a run directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// Store `text` under its SHA-256 with the given extension ("c", "json", "txt"); returns the hash.
    pub fn put(&self, text: &str, ext: &str) -> anyhow::Result<String> {
        let hash = sha256_hex(text.as_bytes());
        let path = self.dir.join(format!("{hash}.{ext}"));
        if !path.exists() {
            std::fs::create_dir_all(&self.dir)
                .with_context(|| format!("creating {}", self.dir.display()))?;
            write_atomic(&path, text.as_bytes())?;
        }
        Ok(hash)
    }

    /// The text stored under `hash`, checked against its hash.
    pub fn get(&self, hash: &str, ext: &str) -> anyhow::Result<String> {
        let path = self.dir.join(format!("{hash}.{ext}"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} from the run's store", path.display()))?;
        if sha256_hex(text.as_bytes()) != hash {
            bail!(
                "{}: the content does not match its hash (the store is corrupt)",
                path.display()
            );
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_last_line_only() {
        let dir = std::env::temp_dir().join(format!("gf-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("j.jsonl");
        let ok = serde_json::to_string(&Event::Interrupted { step: 3 }).unwrap();
        std::fs::write(&p, format!("{ok}\n{}", &ok[..5])).unwrap();
        let r = read_journal(&p).unwrap();
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.truncated_line, Some(2));
        let j = Journal::open(&p, true).unwrap();
        j.append(&Event::Interrupted { step: 4 }).unwrap();
        let r = read_journal(&p).unwrap();
        assert_eq!(r.events.len(), 2);
        assert_eq!(r.truncated_line, None);
        // A complete event without its newline is kept, and the next event starts a new line.
        std::fs::write(&p, format!("{ok}\n{ok}")).unwrap();
        let r = read_journal(&p).unwrap();
        assert_eq!((r.events.len(), r.truncated_line), (2, None));
        let j = Journal::open(&p, false).unwrap();
        j.append(&Event::Interrupted { step: 4 }).unwrap();
        assert_eq!(read_journal(&p).unwrap().events.len(), 3);
        std::fs::write(&p, format!("{ok}\nnot json\n{ok}\n")).unwrap();
        let e = read_journal(&p).unwrap_err().to_string();
        assert!(e.contains("j.jsonl:2:"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
