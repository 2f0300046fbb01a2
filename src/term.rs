//! What `-v/--verbose` prints, and how it shares stderr with the progress bars. The library says what it
//! is doing through the `log` crate's macros (`log::info!`, `log::debug!`, target `gemforge::...`); with
//! no logger installed, as in the library's own users and tests, those calls cost a level check and print
//! nothing. The command line installs [`StderrLogger`] with the level `-v` asks for.
//!
//! A progress bar on stderr is redrawn in place, so a line printed under it would be torn by the next
//! redraw. Every part that shows a bar registers it with [`attach`]; the logger hides the registered bars
//! while it prints a line (indicatif's `suspend`), so the line lands above them.
//!
//! This file sits below the three parts (sim, bench, opt may all use it) and uses nothing of the crate.

use indicatif::{ProgressBar, WeakProgressBar};
use std::sync::Mutex;

/// The bars on screen now (weak: a bar dropped by its owner leaves the list by itself).
static BARS: Mutex<Vec<WeakProgressBar>> = Mutex::new(Vec::new());

/// Register a progress bar so that log lines print above it until it is finished or dropped.
pub fn attach(bar: &ProgressBar) {
    if bar.is_hidden() {
        return;
    }
    if let Ok(mut bars) = BARS.lock() {
        bars.retain(|b| b.upgrade().is_some_and(|b| !b.is_finished()));
        bars.push(bar.downgrade());
    }
}

/// Print one line on stderr above every registered bar that is still drawn.
pub fn println_above_bars(line: &str) {
    let live: Vec<ProgressBar> = match BARS.lock() {
        Ok(mut bars) => {
            bars.retain(|b| b.upgrade().is_some_and(|b| !b.is_finished()));
            bars.iter().filter_map(WeakProgressBar::upgrade).collect()
        }
        Err(_) => Vec::new(),
    };
    suspend_all(&live, line);
}

/// Hide each bar in turn (nested, so all are hidden together), print, redraw.
fn suspend_all(bars: &[ProgressBar], line: &str) {
    match bars.split_first() {
        Some((first, rest)) => first.suspend(|| suspend_all(rest, line)),
        None => eprintln!("{line}"),
    }
}

/// The `-v` logger: `gemforge: MESSAGE` on stderr for records of this crate up to `level`. Other crates'
/// records (the HTTP client's, say) are left out: they describe their internals, not gemforge's work.
pub struct StderrLogger {
    level: log::LevelFilter,
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level && m.target().starts_with("gemforge")
    }

    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            println_above_bars(&format!("gemforge: {}", r.args()));
        }
    }

    fn flush(&self) {}
}

/// Install the stderr logger at `level` (Off installs nothing). Called once, by the command line; a
/// second call (a logger is already set) keeps the first.
pub fn init_logger(level: log::LevelFilter) {
    if level == log::LevelFilter::Off {
        return;
    }
    // Leaked once per process: the logger lives as long as the program, as `log` requires.
    if log::set_logger(Box::leak(Box::new(StderrLogger { level }))).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log;

    /// Only this crate's records pass, and only up to the level asked for.
    #[test]
    fn the_logger_filters_by_crate_and_level() {
        let l = StderrLogger {
            level: log::LevelFilter::Info,
        };
        let meta = |level, target| log::Metadata::builder().level(level).target(target).build();
        assert!(l.enabled(&meta(log::Level::Info, "gemforge::bench::eval")));
        assert!(!l.enabled(&meta(log::Level::Debug, "gemforge::bench::eval")));
        assert!(!l.enabled(&meta(log::Level::Info, "reqwest::connect")));
    }

    /// A finished bar is no longer suspended around log lines; a live one is.
    #[test]
    fn finished_bars_leave_the_list() {
        let bar = ProgressBar::hidden();
        // attach() skips hidden bars (nothing to print around); register this one directly.
        BARS.lock().expect("lock").push(bar.downgrade());
        println_above_bars("a line with a live bar");
        bar.finish_and_clear();
        println_above_bars("a line after it finished");
        let held = BARS
            .lock()
            .expect("lock")
            .iter()
            .filter_map(WeakProgressBar::upgrade)
            .count();
        assert_eq!(held, 0);
    }
}
