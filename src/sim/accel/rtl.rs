//! The Verilated RTL (rtl/, built by build.rs) behind the [`Accelerator`] trait: the ground truth for
//! cycles.
//!
//! The model is driven through the C ABI shim in sim/verilator/gf_shim.{h,cpp}. Two models are linked in:
//! the untraced one for normal runs and an FST-traced one for [`RtlAccel::new_traced`], so that tracing
//! costs untraced runs nothing. The accelerator's memory port is served by [`DmaPort`].
//!
//! Cycle protocol (docs/accelerator.md section 5): outputs are read after a rising edge, the next cycle's
//! inputs are chosen from them, and [`Accelerator::tick`] applies the next edge. A transfer happens on an
//! edge where valid and ready are both high; since every output is registered, the driver knows before
//! the edge whether the accelerator's side of a handshake is ready.

use super::variant;
use super::{AccelError, Accelerator, ErrorKind, RoccResp};
use crate::sim::config::HwConfig;
use crate::sim::isa::{self, RoccCmd};
use crate::sim::mem::{DmaPort, MemError, Memory};
use anyhow::{anyhow, bail, Context};
use std::collections::{BTreeMap, VecDeque};
use std::ffi::{c_char, CStr, CString};
use std::io::IsTerminal;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;

#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unreachable_pub,
    clippy::all,
    clippy::pedantic
)]
mod ffi {
    include!(concat!(env!("OUT_DIR"), "/gf_shim_bindings.rs"));
}

/// What build.rs built into this binary.
pub mod build_info {
    include!(concat!(env!("OUT_DIR"), "/gf_build_info.rs"));
}

/// Cycles of reset after construction (the RTL's reset is synchronous; a few cycles leave margin).
const RESET_CYCLES: u32 = 4;

/// Id of the first external counter value in `gf_event` (ids 1-44 are the incrementing events).
pub const EXTERNAL_EVENT_BASE: u32 = 44;

/// The external counter values (spec 6) by their external id, as `events()` names them.
pub const EXTERNAL_EVENTS: &[(u8, &str)] = &[
    (isa::event::EXT_RS_LD_COUNT, "rs_ld_count"),
    (isa::event::EXT_RS_ST_COUNT, "rs_st_count"),
    (isa::event::EXT_RS_EX_COUNT, "rs_ex_count"),
    (isa::event::EXT_RDMA_BYTES_REC, "rdma_bytes_rec"),
    (isa::event::EXT_WDMA_BYTES_SENT, "wdma_bytes_sent"),
    (isa::event::EXT_RDMA_TOTAL_LATENCY, "rdma_total_latency"),
    (isa::event::EXT_WDMA_TOTAL_LATENCY, "wdma_total_latency"),
];

/// The shim's functions for one model: the linked untraced or traced one, or a loaded variant.
pub(crate) struct Api {
    new: unsafe extern "C" fn(*mut c_char, usize) -> *mut ffi::gf_model,
    free: unsafe extern "C" fn(*mut ffi::gf_model),
    max_bytes: unsafe extern "C" fn(*const ffi::gf_model) -> u32,
    scope_name: unsafe extern "C" fn(*const ffi::gf_model) -> *const c_char,
    reset: unsafe extern "C" fn(*mut ffi::gf_model, u32, *mut ffi::gf_outputs),
    step: unsafe extern "C" fn(*mut ffi::gf_model, *const ffi::gf_inputs, *mut ffi::gf_outputs),
    sp_word: unsafe extern "C" fn(*mut ffi::gf_model, u32, u32) -> u32,
    acc_word: unsafe extern "C" fn(*mut ffi::gf_model, u32, u32) -> u32,
    event: unsafe extern "C" fn(*mut ffi::gf_model, u32) -> u64,
}

static PLAIN: Api = Api {
    new: ffi::gf_new,
    free: ffi::gf_free,
    max_bytes: ffi::gf_max_bytes,
    scope_name: ffi::gf_scope_name,
    reset: ffi::gf_reset,
    step: ffi::gf_step,
    sp_word: ffi::gf_bd_sp_word,
    acc_word: ffi::gf_bd_acc_word,
    event: ffi::gf_bd_event,
};

static TRACED: Api = Api {
    new: ffi::gf_new_tr,
    free: ffi::gf_free_tr,
    max_bytes: ffi::gf_max_bytes_tr,
    scope_name: ffi::gf_scope_name_tr,
    reset: ffi::gf_reset_tr,
    step: ffi::gf_step_tr,
    sp_word: ffi::gf_bd_sp_word_tr,
    acc_word: ffi::gf_bd_acc_word_tr,
    event: ffi::gf_bd_event_tr,
};

/// Owns one Verilated model; frees it on drop.
struct Model {
    api: &'static Api,
    ptr: NonNull<ffi::gf_model>,
    traced: bool,
}

// SAFETY: the model is plain heap state reached only through `&mut` methods of its single owner, so it is
// never used from two threads at once. Verilator's only thread affinity is its thread-local "current
// context" and DPI scope, and every shim entry point re-binds both to this model's own, so the model may
// move to another thread between calls. (Not Sync: nothing here may be called through a shared reference.)
unsafe impl Send for Model {}

impl Model {
    fn new(api: &'static Api, traced: bool) -> anyhow::Result<Model> {
        let mut err = [0 as c_char; 512];
        // SAFETY: err is a writable buffer of the length passed; the shim NUL-terminates what it writes.
        let p = unsafe { (api.new)(err.as_mut_ptr(), err.len()) };
        match NonNull::new(p) {
            Some(ptr) => Ok(Model { api, ptr, traced }),
            None => bail!("{}", c_message(&err)),
        }
    }
    fn raw(&mut self) -> *mut ffi::gf_model {
        self.ptr.as_ptr()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from this api's `new` and is freed exactly once, here.
        unsafe { (self.api.free)(self.ptr.as_ptr()) }
    }
}

/// The NUL-terminated message in an error buffer the shim filled.
fn c_message(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    if bytes.is_empty() {
        "the RTL model could not be created (no message)".into()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The Verilated accelerator, with its memory port served by a [`DmaPort`].
pub struct RtlAccel {
    model: Model,
    dim: u32,
    /// Scratchpad elements are binary32 words (else int8 bytes).
    fp32: bool,
    max_bytes: usize,
    inp: Box<ffi::gf_inputs>,
    out: Box<ffi::gf_outputs>,
    dma: DmaPort,
    /// The command accepted by `offer`, transferred on the next edge.
    pending: Option<(RoccCmd, u8)>,
    responses: VecDeque<RoccResp>,
    error: Option<AccelError>,
    cycles: u64,
    /// Scratch buffers for one memory beat (request and response), sized to the model's MAX_BYTES.
    req_buf: Vec<u8>,
    resp_buf: Vec<u8>,
    /// How often each counter event (by id) has happened.
    event_totals: [u64; 64],
}

impl RtlAccel {
    /// The RTL model for `cfg`, reset and ready for commands.
    ///
    /// The configuration build.rs Verilated (rtl/configs/default.toml, differing at most in memory and CPU
    /// timing) uses the linked model; any other is built on first use (see [`super::variant`]), which
    /// takes about a minute, and is loaded from the cache afterwards.
    pub fn new(cfg: &HwConfig) -> anyhow::Result<RtlAccel> {
        RtlAccel::build(cfg, None)
    }

    /// Like [`RtlAccel::new`], using the traced model and recording an FST waveform of every cycle after
    /// the reset to `path` (closed when the accelerator is dropped or [`RtlAccel::close_trace`]). Waveform
    /// time is the run's clock: cycle n starts at n ns, idle cycles ([`Accelerator::skip_idle`]) included.
    pub fn new_traced(cfg: &HwConfig, path: &Path) -> anyhow::Result<RtlAccel> {
        RtlAccel::build(cfg, Some(path))
    }

    fn build(cfg: &HwConfig, trace: Option<&Path>) -> anyhow::Result<RtlAccel> {
        let (api, traced) = match (source_for(cfg)?, trace) {
            (Source::Linked, Some(_)) => (&TRACED, true),
            (Source::Linked, None) => (&PLAIN, false),
            (Source::Variant(_), Some(_)) => bail!(
                "waveform tracing (--trace) is available only for the built-in configuration `{}`; \
                 configuration `{}` runs as an on-demand variant, which is built without tracing",
                build_info::BUILT_CONFIG_NAME,
                cfg.name
            ),
            (Source::Variant(api), None) => (api, false),
        };
        let mut model = Model::new(api, traced).context("creating the Verilated accelerator")?;
        // SAFETY: the handle is live; max_bytes only reads a constant.
        let max_bytes = unsafe { (api.max_bytes)(model.raw()) } as usize;
        if max_bytes != cfg.dma.max_bytes as usize {
            bail!(
                "the linked RTL model has a {max_bytes}-byte memory port but configuration `{}` has \
                 dma.max_bytes = {} (build.rs and the configuration disagree)",
                cfg.name,
                cfg.dma.max_bytes
            );
        }
        let mut out: Box<ffi::gf_outputs> = Box::default();
        // SAFETY: live handle, valid output struct.
        unsafe { (api.reset)(model.raw(), RESET_CYCLES, &mut *out) };
        // After the reset: the waveform's time 0 is the run's cycle 0.
        if let Some(path) = trace {
            let cpath = CString::new(path.as_os_str().as_encoded_bytes())
                .with_context(|| format!("trace path {} contains a NUL byte", path.display()))?;
            let mut err = [0 as c_char; 512];
            // SAFETY: traced model handle; cpath and err outlive the call; err's length is passed.
            let rc = unsafe {
                ffi::gf_trace_open_tr(model.raw(), cpath.as_ptr(), err.as_mut_ptr(), err.len())
            };
            if rc != 0 {
                bail!("opening waveform {}: {}", path.display(), c_message(&err));
            }
        }
        Ok(RtlAccel {
            model,
            dim: cfg.dim(),
            fp32: cfg.is_fp32(),
            max_bytes,
            inp: Box::default(),
            out,
            dma: DmaPort::new(&cfg.memory),
            pending: None,
            responses: VecDeque::new(),
            error: None,
            cycles: 0,
            req_buf: vec![0; max_bytes],
            resp_buf: vec![0; max_bytes],
            event_totals: [0; 64],
        })
    }

    /// Whether this is the traced model.
    pub fn is_traced(&self) -> bool {
        self.model.traced
    }

    /// Flush and close the waveform (no-op for the untraced model). Later cycles are not recorded.
    pub fn close_trace(&mut self) {
        if self.model.traced {
            // SAFETY: traced model handle.
            unsafe { ffi::gf_trace_close_tr(self.model.raw()) }
        }
    }

    /// The DPI scope the back doors use (diagnostics).
    pub fn dpi_scope(&mut self) -> String {
        // SAFETY: live handle; the shim returns a NUL-terminated string owned by the model.
        let p = unsafe { (self.model.api.scope_name)(self.model.raw()) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: non-null, NUL-terminated, alive while the model is.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// Width of the memory data ports in bytes (MAX_BYTES).
    /// The raw `dbg_state_o` word of the last cycle (docs/accelerator.md section 5).
    pub fn dbg_state(&self) -> u64 {
        self.out.dbg_state
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The memory port's model (statistics, outstanding requests).
    pub fn dma(&self) -> &DmaPort {
        &self.dma
    }

    fn event(&mut self, id: u32) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.model.api.event)(self.model.raw(), id) }
    }

    fn fail(&mut self, e: AccelError) -> AccelError {
        self.error = Some(e.clone());
        e
    }

    /// Errors found during a tick name the cycle count at its end (`self.cycles + 1`), which is the run's
    /// count when the run stops on them (src/sim/soc.rs), as `rtl_error` does after the tick.
    fn mem_fault(&self, what: &str, id: u8, e: &MemError) -> AccelError {
        AccelError {
            kind: ErrorKind::MemoryFault,
            cmd: None,
            detail: format!("DMA {what} (id {id}) at cycle {}: {e}", self.cycles + 1),
        }
    }

    /// Take the request the accelerator presents this cycle (the handshake completes on the next edge).
    fn accept_request(&mut self, mem: &mut Memory) -> Result<(), AccelError> {
        let o = &*self.out;
        let (write, addr, id, lg) = (
            o.mem_req_write != 0,
            o.mem_req_addr,
            o.mem_req_id,
            o.mem_req_lgsize,
        );
        let what = if write { "write" } else { "read" };
        let size = 1usize << lg.min(16);
        if size > self.max_bytes || addr % size as u64 != 0 {
            // The RTL broke its own port contract: report it as the fault it would be on a real bus.
            return Err(AccelError {
                kind: ErrorKind::MemoryFault,
                cmd: None,
                detail: format!(
                    "malformed DMA {what} (id {id}) at cycle {}: address 0x{addr:x}, lgsize {lg} \
                     (requests are naturally aligned and at most {} bytes; an RTL bug)",
                    self.cycles + 1,
                    self.max_bytes
                ),
            });
        }
        let now = self.cycles;
        let r = if write {
            words_to_bytes(&o.mem_req_data, &mut self.req_buf[..size]);
            self.dma
                .accept_write(mem, now, id, addr, &self.req_buf[..size], &o.mem_req_mask)
        } else {
            self.dma.accept_read(mem, now, id, addr, size)
        };
        r.map_err(|e| self.mem_fault(what, id, &e))
    }

    /// The sticky error the RTL reports after the last edge, if any.
    fn rtl_error(&self) -> Option<AccelError> {
        let o = &*self.out;
        if o.finished != 0 {
            return Some(AccelError {
                kind: ErrorKind::Watchdog,
                cmd: None,
                detail: format!(
                    "the RTL executed $finish/$stop/$fatal at cycle {}; the simulation cannot continue",
                    self.cycles
                ),
            });
        }
        if o.err_code == 0 {
            return None;
        }
        let cmd = RoccCmd {
            funct: o.err_funct,
            rs1: o.err_rs1,
            rs2: o.err_rs2,
        };
        Some(match ErrorKind::from_code(o.err_code) {
            Some(kind) => AccelError {
                kind,
                cmd: Some(cmd),
                detail: format!("raised by the RTL, seen at cycle {}", self.cycles),
            },
            None => AccelError {
                kind: ErrorKind::Unsupported,
                cmd: Some(cmd),
                detail: format!(
                    "the RTL raised unknown error code {} at cycle {} (rtl/gemmini_pkg.sv and \
                     src/sim/accel/mod.rs disagree)",
                    o.err_code, self.cycles
                ),
            },
        })
    }
}

/// Little-endian bytes of port words (byte i is byte i % 4 of word i / 4).
fn words_to_bytes(words: &[u32], out: &mut [u8]) {
    for (chunk, w) in out.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]);
    }
}

/// Port words from little-endian bytes; words past the data are zeroed.
fn bytes_to_words(bytes: &[u8], words: &mut [u32]) {
    let mut chunks = bytes.chunks(4);
    for w in words.iter_mut() {
        *w = match chunks.next() {
            Some(c) => {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(b)
            }
            None => 0,
        };
    }
}

/// Where the model of a configuration comes from.
enum Source {
    /// The default configuration, linked into this binary.
    Linked,
    /// Another configuration: a shared library built on demand (accel::variant).
    Variant(&'static Api),
}

/// Variants loaded by this process, by RTL fingerprint. A library stays loaded for the life of the
/// process (its functions are used through plain pointers), which also makes loading it again free.
static LOADED: Mutex<BTreeMap<String, &'static Api>> = Mutex::new(BTreeMap::new());

/// The model for `cfg`: the linked one when the RTL parameters match it, else its variant, built (once
/// per cache) and loaded (once per process).
fn source_for(cfg: &HwConfig) -> anyhow::Result<Source> {
    let fp = cfg.rtl_fingerprint();
    if fp == build_info::BUILT_RTL_FINGERPRINT {
        return Ok(Source::Linked);
    }
    // Held while building, so that threads of one process needing the same variant build it once.
    let mut loaded = LOADED
        .lock()
        .map_err(|_| anyhow!("a thread panicked while loading an RTL variant"))?;
    if let Some(api) = loaded.get(&fp) {
        return Ok(Source::Variant(api));
    }
    let progress = std::io::stderr().is_terminal();
    let (lib, _) = variant::ensure_built(cfg, &variant::cache_root(), progress)?;
    let api = load_variant(&lib)?;
    loaded.insert(fp, api);
    Ok(Source::Variant(api))
}

/// Make the model of `cfg` ready: nothing for the linked configuration, else build its variant (once per
/// cache, showing progress on a terminal) and load it (once per process).
pub fn prepare_model(cfg: &HwConfig) -> anyhow::Result<()> {
    source_for(cfg).map(|_| ())
}

/// Load a variant's shared library and look up the shim's functions (the untraced set, no suffix).
pub(crate) fn load_variant(path: &Path) -> anyhow::Result<&'static Api> {
    // SAFETY: the library is one this crate built from its own shim; its initializers only set up
    // Verilator's runtime, which is private to the library (linked with -Bsymbolic, loaded RTLD_LOCAL).
    let lib = unsafe { libloading::Library::new(path) }
        .with_context(|| format!("loading RTL variant {}", path.display()))?;
    // The library is never unloaded: the returned table points into it for the rest of the process.
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the symbol is the shim function of that name, whose C signature gf_shim.h declares
            // and bindgen turned into exactly the field type it is stored in.
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }.with_context(|| {
                format!("RTL variant {} has no function {}", path.display(), $name)
            })?
        };
    }
    let api = Api {
        new: sym!("gf_new"),
        free: sym!("gf_free"),
        max_bytes: sym!("gf_max_bytes"),
        scope_name: sym!("gf_scope_name"),
        reset: sym!("gf_reset"),
        step: sym!("gf_step"),
        sp_word: sym!("gf_bd_sp_word"),
        acc_word: sym!("gf_bd_acc_word"),
        event: sym!("gf_bd_event"),
    };
    Ok(Box::leak(Box::new(api)))
}

impl Accelerator for RtlAccel {
    fn engine(&self) -> &'static str {
        "rtl"
    }

    /// Does not advance the clock: the command is latched and presented on the next `tick`, whose rising
    /// edge transfers it. `cmd_ready_o` is a registered output, so when it was high after the last edge
    /// the transfer on the next edge is certain and `Ok(true)` is exact. At most one command per cycle:
    /// a second offer before the next tick returns `Ok(false)`. After a sticky error every offer returns
    /// that error.
    fn offer(&mut self, cmd: RoccCmd, rd: u8, _mem: &mut Memory) -> Result<bool, AccelError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.pending.is_some() || self.out.cmd_ready == 0 {
            return Ok(false);
        }
        self.pending = Some((cmd, rd));
        Ok(true)
    }

    /// One rising edge: delivers at most one memory response, takes the memory request on offer if the
    /// memory system has room (writes reach `mem` here), presents a command latched by `offer`, then reads
    /// the outputs (RoCC response, sticky error).
    fn tick(&mut self, mem: &mut Memory) -> Result<(), AccelError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let now = self.cycles;
        let inp = &mut *self.inp;
        inp.rst_n = 1;
        match self.dma.pop_response(now, &mut self.resp_buf) {
            Some(r) => {
                inp.mem_resp_valid = 1;
                inp.mem_resp_id = r.id;
                if !r.write {
                    let words = self.max_bytes.div_ceil(4);
                    bytes_to_words(&self.resp_buf[..r.len], &mut inp.mem_resp_data[..words]);
                }
            }
            None => inp.mem_resp_valid = 0,
        }
        let ready = self.dma.can_accept();
        self.inp.mem_req_ready = u8::from(ready);
        if ready && self.out.mem_req_valid != 0 {
            if let Err(e) = self.accept_request(mem) {
                return Err(self.fail(e));
            }
        }
        let inp = &mut *self.inp;
        match self.pending.take() {
            Some((cmd, rd)) => {
                inp.cmd_valid = 1;
                inp.cmd_funct = cmd.funct;
                inp.cmd_rd = rd;
                inp.cmd_rs1 = cmd.rs1;
                inp.cmd_rs2 = cmd.rs2;
            }
            None => inp.cmd_valid = 0,
        }
        // SAFETY: live handle; inp and out are valid, distinct structs.
        unsafe { (self.model.api.step)(self.model.ptr.as_ptr(), &*self.inp, &mut *self.out) };
        self.cycles += 1;
        // Totals of the counter events (the model reports the previous cycle's events as a bit mask).
        let mut ev = self.out.events;
        while ev != 0 {
            self.event_totals[ev.trailing_zeros() as usize] += 1;
            ev &= ev - 1;
        }
        if self.out.resp_valid != 0 {
            self.responses.push_back(RoccResp {
                rd: self.out.resp_rd,
                data: self.out.resp_data,
            });
        }
        if self.out.err_code != 0 || self.out.finished != 0 {
            if let Some(e) = self.rtl_error() {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    fn busy(&self) -> bool {
        self.pending.is_some() || self.out.busy != 0 || !self.dma.is_idle()
    }

    fn take_response(&mut self) -> Option<RoccResp> {
        self.responses.pop_front()
    }

    fn error(&self) -> Option<AccelError> {
        self.error.clone()
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Idle cycles are not evaluated: the clock (and the waveform's time) moves on. The memory port's
    /// model is idle too, so the later timing is the same as if every cycle had been ticked.
    fn skip_idle(&mut self, cycles: u64) {
        self.cycles += cycles;
        if self.model.traced {
            // SAFETY: traced model handle.
            unsafe { ffi::gf_trace_skip_tr(self.model.raw(), cycles) }
        }
    }

    fn read_sp_row(&mut self, row: u32) -> Vec<i32> {
        let mut v = Vec::with_capacity(self.dim as usize);
        if self.fp32 {
            for w in 0..self.dim {
                // SAFETY: live handle.
                v.push(unsafe { (self.model.api.sp_word)(self.model.raw(), row, w) } as i32);
            }
        } else {
            for w in 0..self.dim.div_ceil(4) {
                // SAFETY: live handle.
                let word = unsafe { (self.model.api.sp_word)(self.model.raw(), row, w) };
                v.extend(word.to_le_bytes().map(|b| b as i8 as i32));
            }
            v.truncate(self.dim as usize);
        }
        v
    }

    fn read_acc_row(&mut self, row: u32) -> Vec<i32> {
        (0..self.dim)
            // SAFETY: live handle.
            .map(|j| unsafe { (self.model.api.acc_word)(self.model.raw(), row, j) } as i32)
            .collect()
    }

    fn events(&mut self) -> Vec<(&'static str, u64)> {
        let mut v = Vec::with_capacity(isa::event::NAMES.len() + EXTERNAL_EVENTS.len());
        for &(id, name) in isa::event::NAMES {
            v.push((name, self.event_totals[usize::from(id) & 63]));
        }
        for &(ext, name) in EXTERNAL_EVENTS {
            v.push((name, self.event(EXTERNAL_EVENT_BASE + u32::from(ext))));
        }
        v
    }

    /// Decodes `dbg_state_o` (docs/accelerator.md section 5). Depends only on state, never on the cycle
    /// count, so that an unchanged text means no progress.
    fn debug_state(&mut self) -> String {
        let s = self.out.dbg_state;
        let f = |lo: u32, bits: u32| (s >> lo) & ((1u64 << bits) - 1);
        let mut t = format!(
            "load FSM {}, execute FSM {}, store FSM {}; reservation station ld {} ex {} st {}; \
             DMA reads in flight {}, writes in flight {}; LOOP_WS unit {:04b}; cmd_ready {}, busy {}; \
             memory port {} outstanding (dbg_state 0x{s:016x})",
            f(0, 4),
            f(4, 4),
            f(8, 4),
            f(12, 8),
            f(20, 8),
            f(28, 8),
            f(36, 8),
            f(44, 8),
            f(52, 4),
            self.out.cmd_ready,
            self.out.busy,
            self.dma.outstanding(),
        );
        if let Some(e) = &self.error {
            t.push_str(&format!("; error: {e}"));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::mem::DEFAULT_BASE;

    fn mem() -> Memory {
        Memory::new(DEFAULT_BASE, 1 << 20)
    }

    #[test]
    fn rtl_accel_is_send() {
        fn send<T: Send>() {}
        send::<RtlAccel>();
    }

    #[test]
    fn port_word_conversions() {
        let mut words = [0xffff_ffffu32; 4];
        bytes_to_words(&[1, 2, 3, 4, 5, 6], &mut words);
        assert_eq!(words, [0x0403_0201, 0x0000_0605, 0, 0]);
        let mut bytes = [0u8; 6];
        words_to_bytes(&words, &mut bytes);
        assert_eq!(bytes, [1, 2, 3, 4, 5, 6]);
    }

    /// Create, reset, tick, back doors, and the one-command-per-edge handshake.
    #[test]
    fn smoke_create_reset_step_backdoors() {
        let cfg = HwConfig::default_config();
        let mut a = RtlAccel::new(&cfg).expect("model");
        assert_eq!(a.dpi_scope(), "TOP.gemmini_top");
        assert_eq!(a.max_bytes(), cfg.dma.max_bytes as usize);
        assert!(!a.is_traced());
        let mut m = mem();
        for _ in 0..10 {
            a.tick(&mut m).expect("tick");
        }
        assert_eq!(a.cycles(), 10);
        assert!(a.error().is_none());
        let _ = a.debug_state();
        let ev = a.events();
        assert_eq!(ev.len(), isa::event::NAMES.len() + EXTERNAL_EVENTS.len());
        assert!(
            ev.iter().all(|&(_, n)| n == 0),
            "an idle accelerator counts nothing: {ev:?}"
        );
        // Command handshake: one command per cycle, transferred by the tick.
        let cmd = RoccCmd {
            funct: 7,
            rs1: 0,
            rs2: 0,
        };
        assert_eq!(a.offer(cmd, 0, &mut m), Ok(true));
        assert!(a.busy(), "a latched command counts as busy");
        assert_eq!(a.offer(cmd, 0, &mut m), Ok(false));
        a.tick(&mut m).expect("tick");
        assert_eq!(a.offer(cmd, 0, &mut m), Ok(true));
        a.tick(&mut m).expect("tick");
        assert_eq!(a.cycles(), 12);
        // A flush is consumed by the front end within a few cycles and answers nothing.
        for _ in 0..4 {
            a.tick(&mut m).expect("tick");
        }
        assert!(!a.busy());
        assert_eq!(a.take_response(), None);
    }

    #[test]
    fn models_on_several_threads() {
        // Each model has its own Verilator context; back doors must reach the model they are called on,
        // from whichever thread owns it now.
        let cfg = HwConfig::default_config();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let cfg = cfg.clone();
                std::thread::spawn(move || {
                    let mut a = RtlAccel::new(&cfg).expect("model");
                    let mut m = mem();
                    for _ in 0..100 {
                        a.tick(&mut m).expect("tick");
                    }
                    let _ = a.read_acc_row(1);
                    a
                })
            })
            .collect();
        for h in handles {
            let mut a = h.join().expect("thread");
            // Moved back to this thread: still usable.
            let mut m = mem();
            a.tick(&mut m).expect("tick");
            assert_eq!(a.cycles(), 101);
            assert_eq!(a.dpi_scope(), "TOP.gemmini_top");
            assert_eq!(a.read_acc_row(2).len(), 16);
        }
    }

    #[test]
    fn traced_model_writes_fst() {
        let cfg = HwConfig::default_config();
        let dir = std::env::temp_dir().join(format!("gemforge-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("smoke.fst");
        {
            let mut a = RtlAccel::new_traced(&cfg, &path).expect("traced model");
            assert!(a.is_traced());
            let mut m = mem();
            for _ in 0..50 {
                a.tick(&mut m).expect("tick");
            }
        }
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 100, "FST file {} has {len} bytes", path.display());
        let bad = RtlAccel::new_traced(&cfg, &dir.join("no/such/dir/x.fst"));
        assert!(bad.is_err_and(|e| format!("{e:#}").contains("no/such/dir")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The memory port end to end: mvin a 16 x 64-byte block (four DIM-wide blocks per row, so full-size
    /// requests) and mvout it elsewhere, on the RTL and on the spec engine; memory and scratchpad agree.
    #[test]
    fn dma_round_trip_matches_spec() {
        use crate::sim::accel::spec::SpecAccel;
        use crate::sim::accel::stream::{run_stream, HarnessOpts};
        use crate::sim::isa::{Command, ConfigLd, ConfigSt, LocalAddr, Operand};
        let cfg = HwConfig::default_config();
        let (src, dst) = (DEFAULT_BASE + 0x1000, DEFAULT_BASE + 0x8000);
        let mut m0 = mem();
        let data: Vec<u8> = (0..16 * 64u32).map(|i| (i * 7 + 3) as u8).collect();
        m0.write(src, &data).expect("write");
        let op = Operand::new(LocalAddr::sp(32), 64, 16);
        let cmds = [
            ConfigLd::new(0, 64, 16).encode(),
            Command::Mvin {
                state: 0,
                dram: src,
                op,
            }
            .encode(),
            ConfigSt::new(64).encode(),
            Command::Mvout { dram: dst, op }.encode(),
        ];
        let mut rtl = RtlAccel::new(&cfg).expect("model");
        let mut m_rtl = m0.clone();
        let r = run_stream(&mut rtl, &mut m_rtl, &cmds, &HarnessOpts::default()).expect("rtl run");
        let mut spec = SpecAccel::new(&cfg);
        let mut m_spec = m0.clone();
        run_stream(&mut spec, &mut m_spec, &cmds, &HarnessOpts::default()).expect("spec run");
        assert_eq!(m_rtl.first_difference(&m_spec), None);
        let mut out = vec![0u8; data.len()];
        m_rtl.read(dst, &mut out).expect("read");
        assert_eq!(out, data);
        for row in [32, 33, 47, 48 + 15, 80 + 15] {
            assert_eq!(
                rtl.read_sp_row(row),
                spec.read_sp_row(row),
                "scratchpad row {row}"
            );
        }
        // 16 rows x 64 bytes each way at 16 bytes per cycle and 40 cycles of latency: a few hundred cycles.
        let st = rtl.dma().stats();
        assert_eq!((st.read_bytes, st.write_bytes), (1024, 1024));
        assert!(r.cycles > 2 * 64 && r.cycles < 2000, "{} cycles", r.cycles);
    }

    /// A WS matmul per iteration: mvin A and B, preload, compute, mvout from the accumulator.
    fn matmul_stream(iterations: usize) -> Vec<RoccCmd> {
        use crate::sim::isa::{Command, ConfigEx, ConfigLd, ConfigSt, LocalAddr, Operand};
        let sp = |row| Operand::new(LocalAddr::sp(row), 16, 16);
        let mut v = vec![
            ConfigEx::default().encode(),
            ConfigLd::new(0, 16, 16).encode(),
            ConfigSt::new(16).encode(),
        ];
        for i in 0..iterations as u64 {
            let (a, b, c) = (
                DEFAULT_BASE + 0x1000,
                DEFAULT_BASE + 0x2000,
                DEFAULT_BASE + 0x10000,
            );
            v.push(
                Command::Mvin {
                    state: 0,
                    dram: a,
                    op: sp(0),
                }
                .encode(),
            );
            v.push(
                Command::Mvin {
                    state: 0,
                    dram: b,
                    op: sp(16),
                }
                .encode(),
            );
            let acc = Operand::new(LocalAddr::acc((i % 4) as u32 * 16), 16, 16);
            v.push(Command::Preload { bd: sp(16), c: acc }.encode());
            v.push(
                Command::Compute {
                    flip: true,
                    a: sp(0),
                    bd: Operand::garbage(16),
                }
                .encode(),
            );
            v.push(
                Command::Mvout {
                    dram: c + 256 * (i % 8),
                    op: acc,
                }
                .encode(),
            );
        }
        v
    }

    /// Simulation speed of the linked RTL, untraced and traced (`cargo test --release -- --ignored
    /// --nocapture speed`): idle cycles (the fixed per-cycle cost of design and driver) and a busy
    /// matmul stream.
    #[test]
    #[ignore]
    fn speed_untraced_vs_traced() {
        use crate::sim::accel::stream::{run_stream, HarnessOpts};
        let cfg = HwConfig::default_config();
        let n = 200_000u64;
        let cmds = matmul_stream(300);
        let mut m0 = mem();
        let data: Vec<u8> = (0..512u32).map(|i| (i * 13 + 5) as u8).collect();
        m0.write(DEFAULT_BASE + 0x1000, &data[..256])
            .expect("write");
        m0.write(DEFAULT_BASE + 0x2000, &data[256..])
            .expect("write");
        let rates = |a: &mut RtlAccel| {
            let mut m = m0.clone();
            let t = std::time::Instant::now();
            for _ in 0..n {
                a.tick(&mut m).expect("tick");
            }
            let idle = n as f64 / t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let r = run_stream(a, &mut m, &cmds, &HarnessOpts::default()).expect("stream");
            let busy = r.cycles as f64 / t.elapsed().as_secs_f64();
            (idle, busy, r.cycles)
        };
        let (idle, busy, cycles) = rates(&mut RtlAccel::new(&cfg).expect("model"));
        println!("untraced model: idle {idle:.0} cycles/s, matmul stream {busy:.0} cycles/s ({cycles} cycles)");
        let path = std::env::temp_dir().join(format!("gemforge-speed-{}.fst", std::process::id()));
        let mut tr = RtlAccel::new_traced(&cfg, &path).expect("traced");
        let t = std::time::Instant::now();
        let mut m = m0.clone();
        let r = run_stream(&mut tr, &mut m, &matmul_stream(20), &HarnessOpts::default())
            .expect("stream");
        let recording = r.cycles as f64 / t.elapsed().as_secs_f64();
        tr.close_trace();
        let (idle, busy, _) = rates(&mut tr);
        drop(tr);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_file(&path);
        println!(
            "traced model, trace closed: idle {idle:.0} cycles/s, matmul stream {busy:.0} cycles/s; \
             recording the matmul stream: {recording:.0} cycles/s ({size} bytes of FST for {} cycles)",
            r.cycles
        );
    }

    #[test]
    fn timing_and_name_use_the_linked_model() {
        let mut cfg = HwConfig::default_config();
        cfg.memory.latency = 7; // timing is the memory model's, not the RTL's
        assert!(RtlAccel::new(&cfg).is_ok());
        cfg.cpu.mul = 9;
        cfg.name = "renamed".into();
        assert!(matches!(source_for(&cfg), Ok(Source::Linked)));
    }
}
