// Temporary debugging scaffold (not part of the deliverable).
use gemforge::accel::gen::{random_stream, GenOpts};
use gemforge::accel::harness::{run_stream, HarnessOpts};
use gemforge::accel::rtl::RtlAccel;
use gemforge::accel::spec::SpecAccel;
use gemforge::accel::Accelerator;
use gemforge::config::HwConfig;
use gemforge::isa::{Command, RoccCmd};
use gemforge::mem::Memory;

fn run(cfg: &HwConfig, mem: &Memory, cmds: &[RoccCmd], rows: &[u32], acc_rows: &[u32]) {
    let mut s = SpecAccel::new(cfg);
    let mut ms = mem.clone();
    run_stream(&mut s, &mut ms, cmds, &HarnessOpts::default()).unwrap();
    let mut r = RtlAccel::new(cfg).unwrap();
    let mut mr = mem.clone();
    let rep = run_stream(&mut r, &mut mr, cmds, &HarnessOpts::default()).unwrap();
    println!("rtl cycles {}", rep.cycles);
    for &row in rows {
        println!("sp {row:5}: spec {:?}\n            rtl  {:?}", s.read_sp_row(row), r.read_sp_row(row));
    }
    for &row in acc_rows {
        println!("acc {row:4}: spec {:?}\n            rtl  {:?}", s.read_acc_row(row), r.read_acc_row(row));
    }
    println!("mem diff {:?}", ms.first_difference(&mr));
}

#[test]
fn scratch() {
    let seed: u64 = std::env::var("S").unwrap().parse().unwrap();
    let fam = std::env::var("F").unwrap_or("ws".into());
    let opts = match fam.as_str() { "ws" => GenOpts::ws_only(), "os" => GenOpts::os_only(), "dm" => GenOpts::data_movement(), _ => GenOpts::mixed() };
    let mut cfg = HwConfig::default_config();
    let keep: Vec<usize> = std::env::var("K").unwrap().split(',').map(|x| x.parse().unwrap()).collect();
    let case = random_stream(&cfg, seed, &opts);
    let lat: u32 = std::env::var("L").ok().map(|x| x.parse().unwrap()).unwrap_or(40);
    cfg.memory.latency = lat;
    cfg.memory.bytes_per_cycle = std::env::var("B").ok().map(|x| x.parse().unwrap()).unwrap_or(16);
    cfg.memory.max_in_flight = std::env::var("M").ok().map(|x| x.parse().unwrap()).unwrap_or(32);
    let cmds: Vec<RoccCmd> = keep.iter().map(|&i| case.cmds[i]).collect();
    for c in &cmds { println!("{:?}", Command::decode(*c)); }
    let rows: Vec<u32> = std::env::var("R").ok().map(|x| x.split(',').map(|x| x.parse().unwrap()).collect()).unwrap_or_default();
    let arows: Vec<u32> = std::env::var("A").ok().map(|x| x.split(',').map(|x| x.parse().unwrap()).collect()).unwrap_or_default();
    run(&cfg, &case.mem, &cmds, &rows, &arows);
}

#[test]
fn watch() {
    let seed: u64 = std::env::var("S").unwrap().parse().unwrap();
    let opts = GenOpts::ws_only();
    let mut cfg = HwConfig::default_config();
    let keep: Vec<usize> = std::env::var("K").unwrap().split(',').map(|x| x.parse().unwrap()).collect();
    let case = random_stream(&cfg, seed, &opts);
    cfg.memory.latency = std::env::var("L").ok().map(|x| x.parse().unwrap()).unwrap_or(40);
    cfg.memory.bytes_per_cycle = std::env::var("B").ok().map(|x| x.parse().unwrap()).unwrap_or(16);
    cfg.memory.max_in_flight = std::env::var("M").ok().map(|x| x.parse().unwrap()).unwrap_or(32);
    let cmds: Vec<RoccCmd> = keep.iter().map(|&i| case.cmds[i]).collect();
    let rows: Vec<u32> = std::env::var("R").unwrap().split(',').map(|x| x.parse().unwrap()).collect();
    let mut r = RtlAccel::new(&cfg).unwrap();
    let mut mem = case.mem.clone();
    let mut next = 0;
    let mut last: Vec<Vec<i8>> = rows.iter().map(|&x| r.read_sp_row(x)).collect();
    for cyc in 0..20000u64 {
        if next < cmds.len() {
            if r.offer(cmds[next], 0, &mut mem).unwrap() {
                println!("cycle {cyc}: offered #{next} {:?}", Command::decode(cmds[next]));
                next += 1;
            }
        } else if !r.busy() { break; }
        r.tick(&mut mem).unwrap();
        for (i, &x) in rows.iter().enumerate() {
            let v = r.read_sp_row(x);
            if v != last[i] { println!("cycle {cyc}: sp {x} <- {v:?}"); last[i] = v; }
        }
        if std::env::var("DBG").is_ok() { println!("cycle {cyc}: {}", r.debug_state()); }
    }
}
