//! Hardware feedback for the planning prompt: latency, utilization, scratchpad/accumulator rows, and a
//! bottleneck summary derived from the accelerator's performance counters (which controller is busy or
//! waiting, for what share of the cycles).

use crate::bench::eval::Verdict;
use crate::opt::propose::Feedback;
use crate::sim::config::HwConfig;
use std::collections::BTreeMap;

/// The planning feedback of a correct verdict.
pub fn feedback(hw: &HwConfig, v: &Verdict) -> Feedback {
    let cycles = v.cycles.unwrap_or(0);
    Feedback {
        cycles,
        ideal_cycles: v.ideal_cycles,
        utilization: v.utilization.unwrap_or(0.0),
        sp_rows_used: v.sp_rows_used.unwrap_or(0),
        sp_rows_total: hw.sp_rows(),
        acc_rows_used: v.acc_rows_used.unwrap_or(0),
        acc_rows_computed: v.acc_rows_computed.unwrap_or(0),
        acc_rows_total: hw.acc_rows(),
        bottleneck: bottleneck(&v.counters, cycles),
    }
}

/// A few lines on where the cycles go, from the counter totals of the RTL run (`cycles`: the measured
/// cycles of the solution; the counters cover the whole program, so shares are capped at 100%). Empty
/// when there are no counters.
pub fn bottleneck(counters: &BTreeMap<String, u64>, cycles: u64) -> String {
    if counters.is_empty() || cycles == 0 {
        return String::new();
    }
    let get = |k: &str| counters.get(k).copied().unwrap_or(0);
    let pct = |n: u64| ((n as f64 / cycles as f64) * 100.0).min(100.0);
    // The main_* events are exclusive: exactly which controllers are busy in a cycle.
    let (ld, st, ex) = (
        get("main_ld_cycles"),
        get("main_st_cycles"),
        get("main_ex_cycles"),
    );
    let (ld_st, ld_ex, st_ex, all) = (
        get("main_ld_st_cycles"),
        get("main_ld_ex_cycles"),
        get("main_st_ex_cycles"),
        get("main_ld_st_ex_cycles"),
    );
    let load = ld + ld_st + ld_ex + all;
    let exec = ex + ld_ex + st_ex + all;
    let store = st + ld_st + st_ex + all;
    let any = ld + st + ex + ld_st + ld_ex + st_ex + all;
    let idle = cycles.saturating_sub(any);
    let mut lines = Vec::new();
    lines.push(format!(
        "load controller busy {:.0}% of the cycles (waiting for DMA {:.0}%), execute busy {:.0}% \
         (array computing {:.0}%), store busy {:.0}% (waiting for DMA {:.0}%)",
        pct(load),
        pct(get("load_dma_wait_cycle")),
        pct(exec),
        pct(get("exe_active_cycle")),
        pct(store),
        pct(get("store_dma_wait_cycle")),
    ));
    lines.push(format!(
        "accelerator idle {:.0}% of the cycles (the hart is computing addresses or issuing commands); \
         loads overlap compute {:.0}%",
        pct(idle),
        pct(ld_ex + all),
    ));
    let haz = get("exe_preload_haz_cycle") + get("exe_overlap_haz_cycle");
    let rs_full = get("reservation_station_full_cycles");
    if haz > 0 || rs_full > 0 {
        lines.push(format!(
            "execute stalled on hazards {:.0}% of the cycles; command queue full {:.0}%",
            pct(haz),
            pct(rs_full)
        ));
    }
    // The single most telling fact.
    let verdict = if pct(idle) >= 40.0 {
        "the hart is the bottleneck: too much CPU work between accelerator commands"
    } else if load >= exec && load >= store {
        if pct(get("load_dma_wait_cycle")) > 25.0 {
            "data movement (loads waiting for main memory) is the bottleneck"
        } else {
            "loads are the bottleneck: move data less often or reuse it from the scratchpad"
        }
    } else if store > exec {
        "stores are the bottleneck"
    } else if pct(ld_ex + all) < pct(exec) * 0.5 {
        "compute is serialized with data movement: overlap loads with compute"
    } else {
        "compute-bound: the array is the busiest unit"
    };
    lines.push(format!("bottleneck: {verdict}"));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_from_counters() {
        let c: BTreeMap<String, u64> = [
            ("main_ld_cycles", 500u64),
            ("main_ex_cycles", 100),
            ("main_ld_ex_cycles", 100),
            ("load_dma_wait_cycle", 400),
            ("exe_active_cycle", 150),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let s = bottleneck(&c, 1000);
        assert!(s.contains("load controller busy 60%"), "{s}");
        assert!(s.contains("execute busy 20%"), "{s}");
        assert!(s.contains("accelerator idle 30%"), "{s}");
        assert!(s.contains("data movement"), "{s}");
        assert_eq!(bottleneck(&BTreeMap::new(), 1000), "");
    }
}
