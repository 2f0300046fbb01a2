/*
 * gf_shim.h: the C ABI around the Verilated gemmini_top (docs/accelerator.md section 5).
 *
 * Plain C so that bindgen can read it. gf_shim.cpp is compiled twice by build.rs: once against the
 * untraced model (functions without suffix) and once against the FST-traced model (suffix _tr), so that
 * untraced runs carry no tracing code at all. Both builds share these struct layouts.
 *
 * One model handle must be used by one thread at a time; it may move between threads (every entry point
 * re-binds Verilator's thread-local context and DPI scope to the handle's own).
 */
#ifndef GF_SHIM_H
#define GF_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Widest memory port the C ABI carries: dma.max_bytes is at most 256 (src/sim/config.rs). */
#define GF_MAX_PORT_BYTES 256
#define GF_PORT_WORDS (GF_MAX_PORT_BYTES / 4)
#define GF_MASK_WORDS (GF_MAX_PORT_BYTES / 64)

/* Opaque model handle. */
typedef struct gf_model gf_model;

/* Inputs for one clock cycle (every top-level input except clk_i, which the shim drives). */
typedef struct gf_inputs {
    uint8_t rst_n; /* rst_ni: 1 in normal operation; gf_reset drives reset itself */
    uint8_t cmd_valid;
    uint8_t cmd_funct; /* 7 bits */
    uint8_t cmd_rd;    /* 5 bits */
    uint64_t cmd_rs1;  /* copied into the model only while cmd_valid is 1 */
    uint64_t cmd_rs2;
    uint8_t mem_req_ready;
    uint8_t mem_resp_valid;
    uint8_t mem_resp_id;
    /* Byte i of the response is byte (i % 4) of word i / 4 (little-endian), as on the port. Only the first
     * max_bytes / 4 words are used, and only while mem_resp_valid is 1. */
    uint32_t mem_resp_data[GF_PORT_WORDS];
} gf_inputs;

/* Outputs after a rising edge (every top-level output). */
typedef struct gf_outputs {
    uint8_t cmd_ready;
    uint8_t resp_valid;
    uint8_t resp_rd;
    uint64_t resp_data;
    uint8_t busy;
    uint8_t mem_req_valid;
    uint8_t mem_req_write;
    uint64_t mem_req_addr;
    uint8_t mem_req_lgsize;
    uint8_t mem_req_id;
    /* Copied only for a valid write request (mem_req_valid && mem_req_write); stale otherwise. Byte i of the
     * request is byte (i % 4) of word i / 4; mask bit i (bit i % 64 of word i / 64) enables byte i. */
    uint32_t mem_req_data[GF_PORT_WORDS];
    uint64_t mem_req_mask[GF_MASK_WORDS];
    uint8_t err_code;
    uint8_t err_funct;
    uint64_t err_rs1;
    uint64_t err_rs2;
    uint64_t dbg_state;
    /* bit i: counter event id i happened in the previous cycle (the driver keeps the totals) */
    uint64_t events;
    /* 1 once the RTL has executed $finish, $stop or $fatal (the model is dead; the driver reports it). */
    uint8_t finished;
} gf_outputs;

/*
 * The function set. `err`/`err_len` receive a NUL-terminated message when a call fails.
 *   new:         construct the model (clock low, reset asserted). NULL on failure.
 *   free:        destroy it (closes an open trace). NULL is ignored.
 *   max_bytes:   the model's MAX_BYTES (width of the memory data ports in bytes).
 *   scope_name:  the DPI scope the back doors use (for diagnostics).
 *   reset:       hold rst_ni low for `cycles` cycles with all valids low, then fill `out`.
 *   step:        one clock cycle: apply `in` with the clock low, evaluate, raise the clock, evaluate, fill `out`.
 *   bd_sp_word, bd_acc_word, bd_event: back doors through the DPI exports gf_sp_word, gf_acc_word and
 *                gf_event of gemmini_top (named differently so that they can never clash with the C symbols
 *                Verilator's __Dpi.cpp would define for those exports).
 */
#define GF_SHIM_DECLARE(sfx)                                                                                \
    gf_model* gf_new##sfx(char* err, size_t err_len);                                                      \
    void gf_free##sfx(gf_model* m);                                                                        \
    uint32_t gf_max_bytes##sfx(const gf_model* m);                                                         \
    const char* gf_scope_name##sfx(const gf_model* m);                                                     \
    void gf_reset##sfx(gf_model* m, uint32_t cycles, gf_outputs* out);                                     \
    void gf_step##sfx(gf_model* m, const gf_inputs* in, gf_outputs* out);                                  \
    uint32_t gf_bd_sp_word##sfx(gf_model* m, uint32_t row, uint32_t word);                                 \
    uint32_t gf_bd_acc_word##sfx(gf_model* m, uint32_t row, uint32_t j);                                   \
    uint64_t gf_bd_event##sfx(gf_model* m, uint32_t id);

GF_SHIM_DECLARE()
GF_SHIM_DECLARE(_tr)

/* Only the traced build has these. open: 0 on success, else -1 and a message in err; it restarts the model's
 * time at 0 (call it after gf_reset_tr: the waveform starts at the run's cycle 0). Tracing records every half
 * cycle from the call on, one cycle being 1 ns of waveform time. close records the values once more at the
 * current time, then flushes and closes the file (also done by gf_free_tr). skip: `cycles` cycles pass
 * without evaluating the model (the driver's idle accelerator): time advances, nothing is recorded. */
int gf_trace_open_tr(gf_model* m, const char* path, char* err, size_t err_len);
void gf_trace_close_tr(gf_model* m);
void gf_trace_skip_tr(gf_model* m, uint64_t cycles);

#ifdef __cplusplus
}
#endif

#endif /* GF_SHIM_H */
