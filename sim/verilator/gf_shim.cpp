// gf_shim.cpp: the C ABI around the Verilated gemmini_top (see gf_shim.h).
//
// build.rs compiles this file once per Verilated model, selecting it with macros:
//   GF_MODEL         the model class (Vgemmini, VgemminiTr)
//   GF_MODEL_HEADER  its header, as a string ("Vgemmini.h")
//   GF_SFX           suffix of every exported function (empty, _tr)
//   GF_TRACED        1 for the --trace-fst model
// Everything that is not an exported C function has internal linkage, so the two compilations can be
// linked into one program without violating the one-definition rule.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "verilated.h"
#include "verilated_syms.h"  // VerilatedScopeNameMap, for the scope-lookup fallback
#include "svdpi.h"

#include GF_MODEL_HEADER
#if GF_TRACED
#include "verilated_fst_c.h"
#endif

#include "gf_shim.h"

#define GF_CAT2(a, b) a##b
#define GF_CAT(a, b) GF_CAT2(a, b)
#define GF_FN(name) GF_CAT(name, GF_SFX)

namespace {

// The name given to the model instance. Each model has its own VerilatedContext, and scope names are
// per context, so every instance can use the same name without clashing.
constexpr const char* kModelName = "TOP";
// Where the DPI exports live: the top module's scope, "<model name>.<top module>".
constexpr const char* kScopeName = "TOP.gemmini_top";
constexpr const char* kScopeSuffix = ".gemmini_top";

struct Impl {
    // Declaration order is destruction order reversed: the trace closes before the model is destroyed, and
    // the model is destroyed before its context.
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<GF_MODEL> top;
    svScope scope = nullptr;
    std::string scope_name;
    // Half a cycle in the model's time unit (half_cycle(), computed once the model has set its precision).
    uint64_t half = 1;
#if GF_TRACED
    std::unique_ptr<VerilatedFstC> tfp;
    bool trace_used = false;
    // The time of the last dump (Verilator ignores a second dump at the same time, with a warning on stdout).
    bool dumped = false;
    uint64_t last_dump = 0;
#endif
};

inline Impl* impl(gf_model* m) { return reinterpret_cast<Impl*>(m); }
inline const Impl* impl(const gf_model* m) { return reinterpret_cast<const Impl*>(m); }

// Verilator keeps the current context in a thread-local; the handle may have moved to another thread
// since the last call, so every entry point re-binds it. Writing only on a change keeps the common path
// to one thread-local read.
inline void bind(Impl* m) {
    if (Verilated::threadContextp() != m->ctx.get()) Verilated::threadContextp(m->ctx.get());
}

void set_err(char* err, size_t len, const std::string& msg) {
    if (!err || len == 0) return;
    const size_t n = msg.size() < len - 1 ? msg.size() : len - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

// ---- wide ports: the port types depend on MAX_BYTES (QData for 8 bytes, VlWide<N> above) ----

template <typename T>
struct PortBytes;
template <>
struct PortBytes<QData> {
    static constexpr size_t value = 8;
};
template <std::size_t N>
struct PortBytes<VlWide<N>> {
    static constexpr size_t value = N * 4;
};

using DataPort = std::remove_reference_t<decltype(std::declval<GF_MODEL&>().mem_resp_data_i)>;
constexpr size_t kMaxBytes = PortBytes<DataPort>::value;
static_assert(kMaxBytes <= GF_MAX_PORT_BYTES, "memory port wider than the C ABI carries (gf_shim.h)");

template <std::size_t N>
inline void put_wide(VlWide<N>& d, const uint32_t* s) {
    for (std::size_t i = 0; i < N; ++i) d[i] = s[i];
}
inline void put_wide(QData& d, const uint32_t* s) {
    d = static_cast<QData>(s[0]) | (static_cast<QData>(s[1]) << 32);
}
template <std::size_t N>
inline void get_wide(const VlWide<N>& s, uint32_t* d) {
    for (std::size_t i = 0; i < N; ++i) d[i] = s[i];
}
inline void get_wide(QData s, uint32_t* d) {
    d[0] = static_cast<uint32_t>(s);
    d[1] = static_cast<uint32_t>(s >> 32);
}
// The mask is MAX_BYTES bits: CData .. QData for up to 64 bytes, VlWide<N> beyond.
template <typename T, typename = std::enable_if_t<std::is_integral<T>::value>>
inline void get_mask(T s, uint64_t* d) {
    d[0] = static_cast<uint64_t>(s);
}
template <std::size_t N>
inline void get_mask(const VlWide<N>& s, uint64_t* d) {
    for (std::size_t w = 0; w < (N + 1) / 2; ++w) {
        const uint64_t lo = s[2 * w];
        const uint64_t hi = (2 * w + 1 < N) ? static_cast<uint64_t>(s[2 * w + 1]) : 0;
        d[w] = lo | (hi << 32);
    }
}

// Simulated time runs at the hart's clock, 1 GHz: one cycle is 1 ns, so a waveform's time in ns is the run's
// cycle count (docs/accelerator.md section 5). The model's time precision is Verilator's default, 1 ps;
// half_cycle() is half a nanosecond in that unit (at least 1 for a coarser precision).
uint64_t half_cycle(const Impl* m) {
    uint64_t per_ns = 1;
    for (int e = m->ctx->timeprecision(); e < -9; ++e) per_ns *= 10;
    return per_ns / 2 ? per_ns / 2 : 1;
}

#if GF_TRACED
// Record the values at the current time, once per time.
void dump_now(Impl* m) {
    const uint64_t t = m->ctx->time();
    if (!m->tfp || (m->dumped && t <= m->last_dump)) return;
    m->tfp->dump(t);
    m->dumped = true;
    m->last_dump = t;
}

// Record the values once more at the current time (so the waveform ends at the run's last cycle), then close.
void finish_trace(Impl* m) {
    if (!m->tfp) return;
    dump_now(m);
    m->tfp->close();
    m->tfp.reset();
}
#endif

// One half cycle of simulated time; the trace records the values at its start.
inline void advance(Impl* m) {
#if GF_TRACED
    dump_now(m);
#endif
    m->ctx->timeInc(m->half);
}

void step(Impl* m, const gf_inputs* in, gf_outputs* out) {
    GF_MODEL* t = m->top.get();
    // Clock low: apply this cycle's inputs. Verilator requires bits above a port's width to be zero.
    t->clk_i = 0;
    t->rst_ni = in->rst_n != 0;
    t->cmd_valid_i = in->cmd_valid != 0;
    if (in->cmd_valid) {
        t->cmd_funct_i = in->cmd_funct & 0x7f;
        t->cmd_rd_i = in->cmd_rd & 0x1f;
        t->cmd_rs1_i = in->cmd_rs1;
        t->cmd_rs2_i = in->cmd_rs2;
    }
    t->mem_req_ready_i = in->mem_req_ready != 0;
    t->mem_resp_valid_i = in->mem_resp_valid != 0;
    if (in->mem_resp_valid) {
        // The wide copy is the expensive part of a cycle; skip it when the data is not looked at.
        t->mem_resp_id_i = in->mem_resp_id;
        put_wide(t->mem_resp_data_i, in->mem_resp_data);
    }
    t->eval();
    advance(m);
    // Rising edge.
    t->clk_i = 1;
    t->eval();
    advance(m);

    out->cmd_ready = t->cmd_ready_o;
    out->resp_valid = t->resp_valid_o;
    out->resp_rd = t->resp_rd_o;
    out->resp_data = t->resp_data_o;
    out->busy = t->busy_o;
    out->mem_req_valid = t->mem_req_valid_o;
    out->mem_req_write = t->mem_req_write_o;
    out->mem_req_addr = t->mem_req_addr_o;
    out->mem_req_lgsize = t->mem_req_lgsize_o;
    out->mem_req_id = t->mem_req_id_o;
    if (t->mem_req_valid_o && t->mem_req_write_o) {
        get_wide(t->mem_req_data_o, out->mem_req_data);
        get_mask(t->mem_req_mask_o, out->mem_req_mask);
    }
    out->err_code = t->err_code_o;
    if (t->err_code_o) {
        out->err_funct = t->err_funct_o;
        out->err_rs1 = t->err_rs1_o;
        out->err_rs2 = t->err_rs2_o;
    }
    out->dbg_state = t->dbg_state_o;
    out->events = t->events_o;
}

svScope find_scope(Impl* m) {
    svScope s = svGetScopeFromName(kScopeName);
    if (s) return s;
    // Fallback for Verilator versions that name scopes differently: the one scope ending in the top
    // module's name.
    const VerilatedScopeNameMap* names = m->ctx->scopeNameMap();
    if (!names) return nullptr;
    const size_t sl = std::strlen(kScopeSuffix);
    for (const auto& kv : *names) {
        const size_t n = std::strlen(kv.first);
        if (n >= sl && std::strcmp(kv.first + n - sl, kScopeSuffix) == 0) {
            return reinterpret_cast<svScope>(const_cast<VerilatedScope*>(kv.second));
        }
    }
    return nullptr;
}

inline void enter_scope(Impl* m) {
    bind(m);
    // The DPI scope is thread-local too, and another model may have set it since.
    svSetScope(m->scope);
}

}  // namespace

extern "C" {

gf_model* GF_FN(gf_new)(char* err, size_t err_len) {
    try {
        std::unique_ptr<Impl> m{new Impl};
        // Constructing a context also makes it this thread's current context.
        m->ctx.reset(new VerilatedContext);
        // An RTL $stop/$fatal must not abort the host process (a search runs many candidates in it); the
        // driver sees it through gotFinish and reports an error.
        m->ctx->fatalOnError(false);
#if GF_TRACED
        // Must precede the model's construction, or the model is built without trace support.
        m->ctx->traceEverOn(true);
#endif
        m->top.reset(new GF_MODEL{m->ctx.get(), kModelName});
        m->half = half_cycle(m.get());
        m->scope = find_scope(m.get());
        if (!m->scope) {
            set_err(err, err_len,
                    std::string("no DPI scope ") + kScopeName +
                        " in the Verilated model (gemmini_top must export gf_sp_word, gf_acc_word, gf_event)");
            return nullptr;
        }
        m->scope_name = svGetNameFromScope(m->scope);
        // Settle the initial state with the clock low and reset asserted.
        GF_MODEL* t = m->top.get();
        t->clk_i = 0;
        t->rst_ni = 0;
        t->cmd_valid_i = 0;
        t->mem_req_ready_i = 0;
        t->mem_resp_valid_i = 0;
        t->eval();
        return reinterpret_cast<gf_model*>(m.release());
    } catch (const std::exception& e) {
        set_err(err, err_len, std::string("creating the Verilated model failed: ") + e.what());
        return nullptr;
    }
}

void GF_FN(gf_free)(gf_model* h) {
    if (!h) return;
    Impl* m = impl(h);
    bind(m);
#if GF_TRACED
    finish_trace(m);
#endif
    m->top->final();
    delete m;
}

uint32_t GF_FN(gf_max_bytes)(const gf_model*) { return static_cast<uint32_t>(kMaxBytes); }

const char* GF_FN(gf_scope_name)(const gf_model* h) { return impl(h)->scope_name.c_str(); }

void GF_FN(gf_reset)(gf_model* h, uint32_t cycles, gf_outputs* out) {
    Impl* m = impl(h);
    bind(m);
    gf_inputs in;
    std::memset(&in, 0, sizeof in);
    in.rst_n = 0;
    if (cycles == 0) cycles = 1;
    for (uint32_t i = 0; i < cycles; ++i) step(m, &in, out);
    out->finished = m->ctx->gotFinish();
}

void GF_FN(gf_step)(gf_model* h, const gf_inputs* in, gf_outputs* out) {
    Impl* m = impl(h);
    bind(m);
    step(m, in, out);
    out->finished = m->ctx->gotFinish();
}

uint32_t GF_FN(gf_bd_sp_word)(gf_model* h, uint32_t row, uint32_t word) {
    Impl* m = impl(h);
    enter_scope(m);
    return GF_MODEL::gf_sp_word(row, word);
}

uint32_t GF_FN(gf_bd_acc_word)(gf_model* h, uint32_t row, uint32_t j) {
    Impl* m = impl(h);
    enter_scope(m);
    return GF_MODEL::gf_acc_word(row, j);
}

uint64_t GF_FN(gf_bd_event)(gf_model* h, uint32_t id) {
    Impl* m = impl(h);
    enter_scope(m);
    return GF_MODEL::gf_event(id);
}

#if GF_TRACED
int gf_trace_open_tr(gf_model* h, const char* path, char* err, size_t err_len) {
    Impl* m = impl(h);
    bind(m);
    if (m->trace_used) {
        set_err(err, err_len, "a model records at most one trace");
        return -1;
    }
    // fstWriterCreate does not report an unwritable path; find out first.
    FILE* f = std::fopen(path, "wb");
    if (!f) {
        set_err(err, err_len, std::string("cannot create trace file ") + path + ": " + std::strerror(errno));
        return -1;
    }
    std::fclose(f);
    // The waveform starts at the run's cycle 0: the reset cycles before it are not recorded, and time
    // restarts (nothing has been dumped yet, so it cannot go backwards in the file).
    m->ctx->time(0);
    try {
        m->tfp.reset(new VerilatedFstC);
        m->top->trace(m->tfp.get(), 99);
        m->tfp->open(path);
    } catch (const std::exception& e) {
        m->tfp.reset();
        set_err(err, err_len, std::string("opening trace failed: ") + e.what());
        return -1;
    }
    if (!m->tfp->isOpen()) {
        m->tfp.reset();
        set_err(err, err_len, std::string("cannot open trace file ") + path);
        return -1;
    }
    // The state after reset at time 0, so that a run whose accelerator idles first still shows it from 0.
    dump_now(m);
    m->trace_used = true;
    return 0;
}

void gf_trace_close_tr(gf_model* h) {
    Impl* m = impl(h);
    bind(m);
    finish_trace(m);
}

void gf_trace_skip_tr(gf_model* h, uint64_t cycles) {
    Impl* m = impl(h);
    bind(m);
    m->ctx->timeInc(2 * cycles * m->half);
}
#endif

}  // extern "C"
