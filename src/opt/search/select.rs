//! Beam selection (autocomp-method.md section 1, step 4): a child must be correct and faster than its parent
//! (with an optional regression allowance in the early iterations), only the best implementation of one
//! (parent, plan) pair survives, the current beam and the surviving children are pooled and sorted by
//! cycles with incumbents winning ties, and the best B are kept. The beam never gets worse because the
//! incumbents are always in the pool.

use std::collections::{HashMap, HashSet};

/// One program that competes for a beam place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Contender {
    /// Content hash of the program.
    pub code: String,
    pub cycles: u64,
    /// The parent's content hash (None for the starting program).
    pub parent: Option<String>,
    /// The plan's slot key: identifies the (parent, plan) pair.
    pub plan_slot: Option<String>,
    /// The plan's content hash in the store and the menu option it applied.
    pub plan: Option<String>,
    pub menu_id: Option<String>,
    /// Global step (1-based) that produced it; 0 for the starting program.
    pub step: u32,
}

/// Selection of one iteration. `beam`: the incumbents; `children`: correct new programs with their
/// parents' cycles, in a deterministic order (earlier wins among equals); `allowance`: the accepted
/// regression over the parent (0.1 = up to 10% slower), 0 for strictly faster.
pub fn select(
    beam: &[Contender],
    children: &[(Contender, u64)],
    width: usize,
    allowance: f64,
) -> Vec<Contender> {
    let accepted = |cycles: u64, parent_cycles: u64| {
        if allowance > 0.0 {
            cycles as f64 <= parent_cycles as f64 * (1.0 + allowance)
        } else {
            cycles < parent_cycles
        }
    };
    // Best implementation per (parent, plan): the first of the lowest cycles.
    let mut best_of_pair: HashMap<(Option<&str>, Option<&str>), usize> = HashMap::new();
    for (i, (c, parent_cycles)) in children.iter().enumerate() {
        if !accepted(c.cycles, *parent_cycles) {
            continue;
        }
        let key = (c.parent.as_deref(), c.plan_slot.as_deref());
        match best_of_pair.get(&key) {
            Some(&j) if children[j].0.cycles <= c.cycles => {}
            _ => {
                best_of_pair.insert(key, i);
            }
        }
    }
    let mut winners: Vec<usize> = best_of_pair.into_values().collect();
    winners.sort_unstable();
    // Pool: incumbents first (they win ties through the stable sort), then children in their order; a
    // program already in the pool (same content) is not added twice.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut pool: Vec<&Contender> = Vec::new();
    for c in beam.iter().chain(winners.iter().map(|&i| &children[i].0)) {
        if seen.insert(c.code.as_str()) {
            pool.push(c);
        }
    }
    pool.sort_by_key(|c| c.cycles);
    pool.into_iter().take(width.max(1)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str, cycles: u64, parent: Option<&str>, plan: Option<&str>) -> Contender {
        Contender {
            code: code.into(),
            cycles,
            parent: parent.map(Into::into),
            plan_slot: plan.map(Into::into),
            plan: None,
            menu_id: None,
            step: 1,
        }
    }

    fn codes(v: &[Contender]) -> Vec<&str> {
        v.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn child_must_beat_its_parent() {
        let beam = vec![c("p", 100, None, None), c("q", 200, None, None)];
        // 150 is slower than its parent p: rejected although it would beat q.
        let kids = vec![(c("a", 150, Some("p"), Some("s1")), 100)];
        assert_eq!(codes(&select(&beam, &kids, 2, 0.0)), ["p", "q"]);
        // Equal to the parent is not faster.
        let kids = vec![(c("a", 100, Some("p"), Some("s1")), 100)];
        assert_eq!(codes(&select(&beam, &kids, 3, 0.0)), ["p", "q"]);
        // With a 10% allowance, 110 is accepted, 111 is not.
        let kids = vec![
            (c("a", 110, Some("p"), Some("s1")), 100),
            (c("b", 111, Some("p"), Some("s2")), 100),
        ];
        assert_eq!(codes(&select(&beam, &kids, 3, 0.1)), ["p", "a", "q"]);
    }

    #[test]
    fn best_per_parent_plan_and_ties() {
        let beam = vec![c("p", 100, None, None)];
        let kids = vec![
            (c("a", 90, Some("p"), Some("s1")), 100),
            (c("b", 80, Some("p"), Some("s1")), 100),
            (c("x", 80, Some("p"), Some("s1")), 100),
            (c("d", 95, Some("p"), Some("s2")), 100),
        ];
        // Only b survives from s1 (first of the lowest), d from s2.
        assert_eq!(codes(&select(&beam, &kids, 4, 0.0)), ["b", "d", "p"]);
        // Incumbents win ties.
        let beam = vec![c("p", 100, None, None), c("q", 90, None, None)];
        let kids = vec![(c("a", 90, Some("p"), Some("s1")), 100)];
        assert_eq!(codes(&select(&beam, &kids, 1, 0.0)), ["q"]);
        // The same program reached twice is one entry.
        let kids = vec![
            (c("a", 80, Some("p"), Some("s1")), 100),
            (c("a", 80, Some("q"), Some("s2")), 90),
        ];
        assert_eq!(codes(&select(&beam, &kids, 3, 0.0)), ["a", "q", "p"]);
    }

    #[test]
    fn beam_never_worse() {
        let beam = vec![c("p", 100, None, None)];
        let kids = vec![(c("a", 105, Some("p"), Some("s1")), 100)];
        let out = select(&beam, &kids, 1, 0.1);
        assert_eq!(codes(&out), ["p"]);
        let out = select(&beam, &kids, 2, 0.1);
        assert_eq!(out[0].cycles, 100);
    }
}
