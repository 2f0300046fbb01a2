//! The optimizer: Autocomp's plan-then-implement beam search over candidate programs.
//!
//! - [`search`]: the beam search, its journal, selection, hardware feedback and command line;
//! - [`propose`]: proposers, the built-in offline one and the LLM one;
//! - [`prompts`]: the prompt templates and menus;
//! - [`llm`]: LLM providers, the response store and the token ledger;
//! - [`report`]: the run report (markdown, plot);
//! - [`viewer`]: the run viewer, one self-contained HTML page (`gemforge report --html`).

pub mod llm;
pub mod prompts;
pub mod propose;
pub mod report;
pub mod search;
pub mod viewer;
