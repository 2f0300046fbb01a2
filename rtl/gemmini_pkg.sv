// Parameters, types and helper functions shared by every gemforge RTL module. The base values come from the
// generated configuration package `gemmini_cfg_pkg` (written by build.rs from the TOML configuration); everything
// here is derived from them.
package gemmini_pkg;
  import gemmini_cfg_pkg::*;
  import gemmini_isa_pkg::*;

  // ---- array and local memories ----
  localparam int unsigned DIM = CFG_DIM;
  localparam int unsigned DIM_BITS = $clog2(DIM);
  localparam int unsigned PSUM_BITS = CFG_PSUM_BITS;
  localparam int unsigned SP_BANKS = CFG_SP_BANKS;
  localparam int unsigned SP_BANK_ROWS = CFG_SP_BANK_ROWS;
  localparam int unsigned SP_ROWS = SP_BANKS * SP_BANK_ROWS;
  localparam int unsigned SP_ROW_BITS = $clog2(SP_ROWS);
  localparam int unsigned SP_BANK_BITS = (SP_BANKS > 1) ? $clog2(SP_BANKS) : 1;
  localparam int unsigned ACC_BANKS = CFG_ACC_BANKS;
  localparam int unsigned ACC_BANK_ROWS = CFG_ACC_BANK_ROWS;
  localparam int unsigned ACC_ROWS = ACC_BANKS * ACC_BANK_ROWS;
  localparam int unsigned ACC_ROW_BITS = $clog2(ACC_ROWS);
  localparam int unsigned ROW_BITS = CFG_ADDR_ROW_BITS;  // row field of a local address
  localparam bit IS_FP = CFG_FP32 != 0;                  // binary32 datapath (else int8/int32)
  localparam int unsigned EW = IS_FP ? 32 : 8;           // bits in an input element
  localparam int unsigned EB = EW / 8;                   // bytes in an input element
  localparam int unsigned SP_W = DIM * EW;               // bits in a scratchpad row
  localparam int unsigned ACC_W = DIM * 32;              // bits in an accumulator row
  localparam bit HAS_OS = CFG_HAS_OS != 0;
  localparam bit HAS_NORM = CFG_HAS_NORM != 0;           // Gemmini's normalizer (has_normalizations)

  // ---- DMA ----
  localparam int unsigned BEAT_BYTES = CFG_BEAT_BYTES;
  localparam int unsigned MAX_BYTES = CFG_MAX_BYTES;
  localparam int unsigned MAX_BLOCK_LEN = CFG_MAX_BLOCK_LEN;  // DIM-wide input-type blocks per DMA row
  localparam int unsigned MAX_READS = CFG_MAX_READS;
  localparam int unsigned MAX_WRITES = CFG_MAX_WRITES;
  localparam int unsigned MEM_W = MAX_BYTES * 8;
  // Largest DRAM row one mvin/mvout moves: DIM*MAX_BLOCK_LEN input elements or DIM 4-byte elements.
  localparam int unsigned ROW_BUF_BYTES = (DIM * MAX_BLOCK_LEN * EB > DIM * 4) ? DIM * MAX_BLOCK_LEN * EB : DIM * 4;

  // ---- reservation station ----
  localparam int unsigned RS_LD = CFG_RS_LD;
  localparam int unsigned RS_EX = CFG_RS_EX;
  localparam int unsigned RS_ST = CFG_RS_ST;
  localparam int unsigned RS_TOTAL = RS_LD + RS_EX + RS_ST;
  localparam int unsigned ROB_W = $clog2(RS_TOTAL);  // entry id: ld entries first, then ex, then st

  // A local-memory row range [lo, hi) tracked by the reservation station.
  typedef struct packed {
    logic                valid;
    logic                acc;
    logic [ROW_BITS+1:0] lo;
    logic [ROW_BITS+1:0] hi;
  } range_t;

  // The configuration a LOOP_WS is checked against (docs/accelerator.md section 6), from the front end's shadow.
  typedef struct packed {
    logic       ws;            // config_ex selects WS
    logic       at;            // config_ex a_transpose
    logic       bt;            // config_ex b_transpose
    logic       strides_one;   // config_ex a_stride == 1 and c_stride == 1
    logic [2:0] bstride_dim;   // config_ld state s has block_stride == DIM
    logic [2:0] shrink;        // config_ld state s has shrink
    logic       pool;          // config_st enables pooling
    logic       pend;          // a preload waits for its compute
    // read by LOOP_CONV_WS only
    logic [15:0] a_stride;     // config_ex a_stride
    logic [15:0] c_stride;     // config_ex c_stride
    logic [31:0] st_stride;    // config_st DRAM row stride (bytes)
    logic [2:0]  st_act;       // the store activation (config_st's two bits and config_norm's msb)
  } loop_view_t;

  // ---- normalizer (docs/accelerator.md section 2.2; src/sim/accel/spec/norm.rs is the reference) ----
  localparam int unsigned NORM_IDS = 2;  // stat ids (Gemmini's NORM_STAT_IDS)
  localparam logic [2:0] ACT_RELU = 3'd1, ACT_LAYERNORM = 3'd2, ACT_IGELU = 3'd3, ACT_SOFTMAX = 3'd4;
  localparam logic [2:0] NC_RESET = 3'd0, NC_SUM = 3'd1, NC_MEAN = 3'd2, NC_VARIANCE = 3'd3,
                         NC_INV_STDDEV = 3'd4, NC_MAX = 3'd5, NC_SUM_EXP = 3'd6, NC_INV_SUM_EXP = 3'd7;

  // config_norm's constants.
  typedef struct packed {
    logic signed [31:0] qb;
    logic signed [31:0] qc;
    logic signed [31:0] qln2;
    logic signed [31:0] qln2_inv;
  } norm_k_t;

  // One stat id's running state.
  typedef struct packed {
    logic signed [31:0] sum;
    logic [15:0]        count;
    logic signed [31:0] rmax;         // running maximum
    logic signed [31:0] max;
    logic signed [31:0] mean;
    logic [31:0]        inv_stddev;   // binary32
    logic [31:0]        inv_sum_exp;  // binary32
  } norm_stat_t;

  // One LOOP_CONV_WS descriptor slot (spec 1.4 field names): what funct 16-21 set, then what LOOP_CONV_WS adds
  // when it accepts it (mode bits, placement and the derived sizes of src/sim/accel/loops.rs ConvShape).
  typedef struct packed {
    logic [15:0] batch_size;
    logic [15:0] in_row_dim;
    logic [15:0] in_channels;
    logic [15:0] out_channels;
    logic [15:0] out_row_dim;
    logic [15:0] pool_out_row_dim;
    logic [15:0] out_col_dim;
    logic [7:0]  stride;
    logic [7:0]  pool_stride;
    logic [15:0] pool_size;
    logic [15:0] pool_out_col_dim;
    logic [15:0] kernel_dim;
    logic [15:0] pochs;
    logic [15:0] pocols;
    logic [15:0] porows;
    logic [15:0] batches;
    logic [15:0] lpad;
    logic [15:0] kchs;
    logic [15:0] kcols;
    logic [15:0] krows;
    logic [15:0] in_col_dim;
    logic [7:0]  plpad;
    logic [7:0]  dpad;
    logic [15:0] upad;
    logic [15:0] rpad;
    logic [9:0]  kdil;
    logic [10:0] pupad;
    logic [15:0] orows;
    logic [15:0] ocols;
    logic [15:0] out_stride;
    logic [15:0] weight_stride;
    logic [15:0] in_stride;
    logic [63:0] w_addr;
    logic [63:0] out_addr;
    logic [63:0] bias_addr;
    logic [63:0] in_addr;
    // mode bits (LOOP_CONV_WS rs1/rs2)
    logic        no_bias;
    logic        wrot180;
    logic        t_out;    // trans_output_1203
    logic        t_w1203;  // trans_weight_1203
    logic        t_w0132;  // trans_weight_0132
    logic        t_in;     // trans_input_3120
    logic        dw;
    logic        no_pool;
    logic        ds;       // downsample
    logic        idil;     // input_dilated
    logic [1:0]  act;
    // placement and derived sizes
    logic [31:0] a_row;
    logic [31:0] b_row;
    logic [31:0] c_row;
    logic [31:0] irows;    // the padded window (undilated pixels)
    logic [31:0] icols;
    logic [31:0] irows_unp;
    logic [31:0] icols_unp;
    logic [31:0] upad_u;   // the padding in undilated pixels
    logic [31:0] lpad_u;
    logic [31:0] lrows;    // local rows and columns of the window (irows >> ds, icols >> ds)
    logic [31:0] lcols;
    logic [31:0] in_blk;
    logic [31:0] w_blk;
    logic [31:0] out_blk;
    logic        c_half;   // the accumulator half of the output
    logic [1:0]  sp_use;   // the scratchpad halves of the input and weights
    logic        setcfg;   // issues configuration commands (pooling, trans_input_3120)
  } conv_desc_t;

  // One LOOP_WS descriptor slot: the configuration commands' fields, then what LOOP_WS adds when it accepts it.
  typedef struct packed {
    logic [15:0] n_i;
    logic [15:0] n_j;
    logic [15:0] n_k;
    logic [15:0] p_i;
    logic [15:0] p_j;
    logic [15:0] p_k;
    logic [63:0] a;
    logic [63:0] b;
    logic [63:0] d;
    logic [63:0] c;
    logic [63:0] astr;
    logic [63:0] bstr;
    logic [63:0] dstr;
    logic [63:0] cstr;
    logic        exacc;
    logic        fullc;
    logic        lowd;
    logic        at;
    logic        bt;
    logic        resadd;
    logic [31:0] a_row;
    logic [31:0] a_end;    // A occupies scratchpad rows [a_row, a_end), B [b_row, b_end)
    logic [31:0] b_row;
    logic [31:0] b_end;
    logic [31:0] c_row;
    logic [1:0]  sp_use;   // scratchpad halves the loop's A and B live in
    logic        c_half;   // accumulator half of C
    logic [2:0]  act;      // LOOP_WS activation: 2 (LayerNorm) and 4 (Softmax) store through the normalizer
  } loop_desc_t;

  // One tile grid a LOOP_WS data-movement sub-FSM walks (gemmini_loop_mover; src/sim/accel/loops.rs Grid).
  typedef struct packed {
    logic [15:0] rows;
    logic [15:0] cols;
    logic [15:0] pad_r;
    logic [15:0] pad_c;
    logic [7:0]  max_blocks;
    logic        row_outer;   // rows outer, column blocks inner (else column blocks outer)
    logic [63:0] dram;
    logic [63:0] stride;      // DRAM row stride in elements
    logic        wide;        // 4-byte elements
    logic [31:0] lrow;        // first local row
    logic [31:0] flags;       // local-address flag bits
  } loop_grid_t;

  // A command as the controllers receive it from the reservation station.
  typedef struct packed {
    logic [6:0]       funct;
    logic [63:0]      rs1;
    logic [63:0]      rs2;
    logic [ROB_W-1:0] rob;
  } cmd_t;

  // ---- ISA (spec 1.2): funct_e, err_e, the config sub-commands and the command-word structs, generated
  // from src/sim/isa.rs into gemmini_isa_pkg; re-exported so every module's `import gemmini_pkg::*` sees them.
  export gemmini_isa_pkg::*;

  localparam logic [31:0] FP32_ONE = gemmini_fp32_pkg::FP32_ONE;
  localparam int unsigned LG_BEAT = $clog2(BEAT_BYTES);
  localparam int unsigned LG_MAX = $clog2(MAX_BYTES);

  // ---- DMA request sizing (docs/accelerator.md section 5) ----
  // log2 of the naturally aligned request size (beat .. max bytes) that moves the most bytes of [cur, stop)
  // starting at cur; ties go to the smaller request.
  function automatic logic [2:0] dma_chunk_lgsize(input logic [63:0] cur, input logic [63:0] stop);
    logic [2:0] best;
    logic [63:0] best_useful, base, lim, useful;
    best = 3'(LG_BEAT);
    best_useful = '0;
    for (int unsigned lg = LG_BEAT; lg <= LG_MAX; lg++) begin
      base = cur & ~((64'd1 << lg) - 64'd1);
      lim = base + (64'd1 << lg);
      if (lim > stop) lim = stop;
      useful = lim - cur;
      if (useful > best_useful) begin
        best = 3'(lg);
        best_useful = useful;
      end
    end
    return best;
  endfunction

  // ---- arithmetic (docs/accelerator.md sections 2-3; src/sim/accel/arith.rs is the reference) ----

  // Round m * 2^e (m != 0) to 24 significant bits, ties to even: binary32 precision.
  function automatic void round_sig24(inout logic [63:0] m, inout int e);
    int n, sh;
    logic [63:0] q, rem, half;
    n = 0;
    for (int i = 0; i < 64; i++) if (m[i]) n = i + 1;
    if (n > 24) begin
      sh = n - 24;
      q = m >> sh;
      rem = m & ((64'd1 << sh) - 64'd1);
      half = 64'd1 << (sh - 1);
      if (rem > half || (rem == half && q[0])) q = q + 64'd1;
      if (q[24]) begin
        q = q >> 1;
        sh = sh + 1;
      end
      m = q;
      e = e + sh;
    end
  endfunction

  // binary32(x) * binary32 s (IEEE multiply, round to nearest even), then rounded half to even to an integer
  // and saturated to int8 (sat8) or int32. NaN gives 0.
  function automatic logic signed [31:0] fp_scale(input logic signed [31:0] x, input logic [31:0] s,
                                                  input logic sat8);
    logic neg;
    logic [63:0] m, ms, v, q, rem, half, lim;
    int e, es, sh;
    if (s[30:23] == 8'hff && s[22:0] != 23'd0) return 32'sd0;
    if (x == 32'sd0) return 32'sd0;
    neg = x[31] ^ s[31];
    m = x[31] ? 64'(-{{32{x[31]}}, x}) : 64'({32'd0, x});
    lim = neg ? (sat8 ? 64'd128 : 64'h8000_0000) : (sat8 ? 64'd127 : 64'h7fff_ffff);
    if (s[30:23] == 8'hff) begin
      v = lim;
    end else begin
      ms = (s[30:23] == 8'd0) ? {41'd0, s[22:0]} : {40'd0, 1'b1, s[22:0]};
      if (ms == 64'd0) return 32'sd0;
      es = (s[30:23] == 8'd0) ? -149 : int'(s[30:23]) - 150;
      e = 0;
      round_sig24(m, e);  // binary32(x)
      m = m * ms;
      e = e + es;
      round_sig24(m, e);  // the multiply's rounding
      if (e > 40) begin
        v = lim;
      end else if (e >= 0) begin
        v = m << e;
      end else begin
        sh = -e;
        if (sh > 40) begin
          v = 64'd0;
        end else begin
          q = m >> sh;
          rem = m & ((64'd1 << sh) - 64'd1);
          half = 64'd1 << (sh - 1);
          if (rem > half || (rem == half && q[0])) q = q + 64'd1;
          v = q;
        end
      end
    end
    if (v > lim) v = lim;
    return neg ? -32'(v) : 32'(v);
  endfunction

  function automatic logic signed [7:0] sat8(input logic signed [31:0] x);
    if (x > 32'sd127) return 8'sd127;
    if (x < -32'sd128) return -8'sd128;
    return x[7:0];
  endfunction

  // mvin scaler for int8 data.
  function automatic logic signed [7:0] mvin_scale(input logic signed [7:0] x, input logic [31:0] s);
    // verilator lint_off UNUSEDSIGNAL
    logic signed [31:0] y;
    // verilator lint_on UNUSEDSIGNAL
    if (s == FP32_ONE) return x;
    y = fp_scale(32'(x), s, 1'b1);
    return y[7:0];
  endfunction

  // Accumulator read-out: optional ReLU, acc_scale, clip to int8.
  function automatic logic signed [7:0] acc_readout(input logic signed [31:0] x, input logic relu,
                                                    input logic [31:0] s);
    // verilator lint_off UNUSEDSIGNAL
    logic signed [31:0] v, y;
    // verilator lint_on UNUSEDSIGNAL
    v = (relu && x < 0) ? 32'sd0 : x;
    if (s == FP32_ONE) return sat8(v);
    y = fp_scale(v, s, 1'b1);
    return y[7:0];
  endfunction

  // Rounding right shift, ties to even on the shifted-out bits (spec 2.6).
  function automatic logic signed [31:0] rshift_rne(input logic signed [31:0] x, input logic [4:0] s);
    logic signed [31:0] q;
    logic r, low, odd;
    if (s == 5'd0) return x;
    q = x >>> s;
    r = x[s-5'd1];
    low = (s > 5'd1) ? ((x & ((32'sd1 <<< (s - 5'd1)) - 32'sd1)) != 32'sd0) : 1'b0;
    odd = x[s];
    return q + ((r && (low || odd)) ? 32'sd1 : 32'sd0);
  endfunction

  // Saturate to the signed in-array width.
  function automatic logic signed [31:0] clip_psum(input logic signed [31:0] x);
    localparam logic signed [31:0] Hi = (32'sd1 <<< (PSUM_BITS - 1)) - 32'sd1;
    localparam logic signed [31:0] Lo = -(32'sd1 <<< (PSUM_BITS - 1));
    if (x > Hi) return Hi;
    if (x < Lo) return Lo;
    return x;
  endfunction

  // ---- element arithmetic of the configured datapath (docs/accelerator.md sections 2, 2.1 and 3) ----
  // int8/int32, or binary32 throughout (gemmini_fp32_pkg). IS_FP is a constant, so each module keeps only
  // one branch.

  // One PE step: s + a * w (int32 wrapping, or one fused multiply-add).
  function automatic logic [31:0] e_mac(input logic [31:0] s, input logic [EW-1:0] a, input logic [EW-1:0] w);
    if (IS_FP) return gemmini_fp32_pkg::fp32_fma(32'(a), 32'(w), s);
    return s + 32'(signed'(a)) * 32'(signed'(w));
  endfunction

  // An input element widened to the accumulator type (int8 sign-extended; binary32 unchanged).
  function automatic logic [31:0] e_widen(input logic [EW-1:0] x);
    if (IS_FP) return 32'(x);
    return 32'(signed'(x));
  endfunction

  // Accumulator addition (int32 wrapping, or binary32 add).
  function automatic logic [31:0] e_acc_add(input logic [31:0] a, input logic [31:0] b);
    if (IS_FP) return gemmini_fp32_pkg::fp32_add(a, b);
    return a + b;
  endfunction

  // The mvin scaler on one input element; a scale of exactly 1.0 passes the element through.
  function automatic logic [EW-1:0] e_mvin_scale(input logic [EW-1:0] x, input logic [31:0] s);
    if (IS_FP) return (s == FP32_ONE) ? x : EW'(gemmini_fp32_pkg::fp32_mul(32'(x), s));
    return EW'(mvin_scale(8'(x), s));
  endfunction

  // Accumulator read-out to the input type: optional ReLU, then acc_scale (int8 clip for integers).
  function automatic logic [EW-1:0] e_acc_readout(input logic [31:0] x, input logic relu, input logic [31:0] s);
    logic [31:0] v;
    if (IS_FP) begin
      v = relu ? gemmini_fp32_pkg::fp32_relu(x) : x;
      return (s == FP32_ONE) ? EW'(v) : EW'(gemmini_fp32_pkg::fp32_mul(v, s));
    end
    return EW'(acc_readout(x, relu, s));
  endfunction

  // An array result written to the scratchpad: int8 saturation then ReLU, or ReLU on binary32.
  function automatic logic [EW-1:0] e_sp_result(input logic [31:0] x, input logic relu);
    logic signed [7:0] v;
    if (IS_FP) return relu ? EW'(gemmini_fp32_pkg::fp32_relu(x)) : EW'(x);
    v = sat8(x);
    if (relu && v < 0) v = 8'sd0;
    return EW'(v);
  endfunction

  // An OS result on its way out: the rounding right shift and in-array clip, or for binary32 a division by
  // 2^shift (a multiply by the exact 2^-shift, rounded to even only when the quotient is subnormal).
  function automatic logic [31:0] e_os_out(input logic [31:0] x, input logic [4:0] shift);
    if (IS_FP) return (shift == 5'd0) ? x : gemmini_fp32_pkg::fp32_mul(x, {1'b0, 8'd127 - 8'(shift), 23'd0});
    return clip_psum(rshift_rne(x, shift));
  endfunction

  // The finishing normalizer commands run on a row's last block only (Gemmini's non_reset_version).
  function automatic logic [2:0] norm_non_reset(input logic [2:0] c);
    case (c)
      NC_MEAN: return NC_SUM;
      NC_INV_STDDEV: return NC_VARIANCE;
      NC_INV_SUM_EXP: return NC_SUM_EXP;
      default: return c;
    endcase
  endfunction

  // iGELU (AccumulatorScale.igelu), every step wrapped to 32 bits.
  function automatic logic signed [31:0] igelu(input logic signed [31:0] q, input logic signed [31:0] qb,
                                               input logic signed [31:0] qc);
    logic signed [31:0] sgn, a, nqb, cl, t, poly, erf;
    sgn = (q < 32'sd0) ? -32'sd1 : 32'sd1;
    a = (q < 32'sd0) ? 32'sd0 - q : q;
    nqb = 32'sd0 - qb;
    cl = (a > nqb) ? nqb : a;
    t = cl + qb;
    poly = qc + t * t;
    erf = sgn * poly;
    return q * (erf + qc);
  endfunction

  // I-BERT's integer exponential (AccumulatorScale.iexp as released): z = bits 47:16 of (-q) * qln2_inv,
  // (qc + (q + z*qln2 + qb)^2) shifted right logically by z, 0 when z >= 32.
  function automatic logic signed [31:0] iexp(input logic signed [31:0] q, input logic signed [31:0] qln2,
                                              input logic signed [31:0] qln2_inv, input logic signed [31:0] qb,
                                              input logic signed [31:0] qc);
    // verilator lint_off UNUSEDSIGNAL
    logic signed [63:0] prod;
    // verilator lint_on UNUSEDSIGNAL
    logic signed [31:0] nq, z, t, poly;
    nq = 32'sd0 - q;
    prod = $signed({{32{nq[31]}}, nq}) * $signed({{32{qln2_inv[31]}}, qln2_inv});
    z = prod[47:16];
    t = q + z * qln2 + qb;
    poly = qc + t * t;
    if (z[31:5] != '0) return 32'sd0;
    return $signed(poly >> z[4:0]);
  endfunction

  // The accumulator read-out with the normalizer: the 3-bit activation (ReLU, x - mean, iGELU,
  // iexp(x - max); others none), then the scaler with config_st's scale or the stat's reciprocal.
  // verilator lint_off UNUSEDSIGNAL
  // (the running sum, count and maximum of st are not read here)
  function automatic logic signed [7:0] norm_readout(input logic signed [31:0] x, input logic [2:0] act,
                                                     input logic [31:0] scale, input norm_stat_t st,
                                                     input norm_k_t k);
  // verilator lint_on UNUSEDSIGNAL
    logic signed [31:0] v;
    logic [31:0] s;
    v = x;
    s = scale;
    case (act)
      ACT_RELU: v = (x < 32'sd0) ? 32'sd0 : x;
      ACT_LAYERNORM: begin
        v = x - st.mean;
        s = st.inv_stddev;
      end
      ACT_IGELU: v = igelu(x, k.qb, k.qc);
      ACT_SOFTMAX: begin
        v = iexp(x - st.max, k.qln2, k.qln2_inv, k.qb, k.qc);
        s = st.inv_sum_exp;
      end
      default: ;
    endcase
    return acc_readout(v, 1'b0, s);
  endfunction

  // Max pooling's comparison: v replaces the running maximum m when v > m (signed int8, or IEEE >).
  function automatic logic e_gt(input logic [EW-1:0] v, input logic [EW-1:0] m);
    if (IS_FP) return gemmini_fp32_pkg::fp32_gt(32'(v), 32'(m));
    return signed'(8'(v)) > signed'(8'(m));
  endfunction
endpackage
