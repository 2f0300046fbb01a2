// Gemmini's normalizer (docs/accelerator.md section 2.2; src/sim/accel/spec/norm.rs is the reference): the
// running statistics of LayerNorm and Softmax, one set per stat id. The store controller feeds it every
// accumulator block an mvout reads (with the block's normalizer command) and reads the kept results
// (mean, max, the scaled reciprocals) for its RESET rows' read-out. A block's update, including the finishing
// division, square root and reciprocal of MEAN, INV_STDDEV and INV_SUM_EXP, completes in the cycle it
// arrives, so the next block already sees it; the arithmetic is evaluated only on an update.
module gemmini_normalizer
  import gemmini_pkg::*;
(
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              upd_i,     // a block passes the normalizer
  input  logic [2:0]        cmd_i,     // its normalizer command
  input  logic              id_i,      // stat id
  input  logic [7:0]        len_i,     // elements of the block that count (the first len_i)
  input  logic [ACC_W-1:0]  data_i,    // the accumulator row
  input  logic [31:0]       scale_i,   // config_st's scale (folded into the reciprocals)
  input  norm_k_t           k_i,
  input  logic              clear_i,   // restart stat id_i (a pooled accumulator mvout)
  output norm_stat_t [NORM_IDS-1:0] stat_o
);
  localparam logic signed [31:0] MinI = 32'sh8000_0000;
  localparam logic signed [31:0] MaxI = 32'sh7fff_ffff;

  // (the stats registers are the output port itself: nothing to copy while idle)

  // sum / count truncated toward zero; a zero count gives the float converter's i32::MAX (sum >= 0) or
  // i32::MIN.
  function automatic logic signed [31:0] div_trunc(input logic signed [31:0] sum, input logic [15:0] count);
    // verilator lint_off UNUSEDSIGNAL
    logic signed [32:0] a, b, q;  // (the quotient of a 33-bit dividend by a positive count fits 32 bits)
    // verilator lint_on UNUSEDSIGNAL
    if (count == 16'd0) return (sum < 32'sd0) ? MinI : MaxI;
    a = {sum[31], sum};
    b = {17'd0, count};
    q = a / b;
    return q[31:0];
  endfunction

  // floor(sqrt(x)), two bits of x per result bit (Gemmini's IntSqrt).
  function automatic logic [15:0] isqrt(input logic [31:0] x);
    logic [33:0] rem, trial;
    logic [15:0] root;
    rem = '0;
    root = '0;
    for (int i = 15; i >= 0; i--) begin
      rem = {rem[31:0], x[2*i+1 -: 2]};
      trial = {16'd0, root, 2'b01};
      root = {root[14:0], 1'b0};
      if (rem >= trial) begin
        rem = rem - trial;
        root[0] = 1'b1;
      end
    end
    return root;
  endfunction

  // binary32 of an int32, round to nearest even.
  function automatic logic [31:0] i2f(input logic signed [31:0] x);
    logic [63:0] m;
    int e, n;
    if (x == 32'sd0) return 32'd0;
    m = x[31] ? 64'(-{{32{x[31]}}, x}) : {32'd0, x};
    e = 0;
    round_sig24(m, e);
    n = 0;
    for (int i = 0; i < 25; i++) if (m[i]) n = i + 1;
    m = m << (24 - n);
    e = e - (24 - n);
    return {x[31], 8'(e + 150), m[22:0]};
  endfunction

  // num / d in binary32, round to nearest even, for a small positive integer num and d the binary32 of an
  // int32 (zero or normal); num / 0 is +inf.
  function automatic logic [31:0] div_int_f32(input logic [7:0] num, input logic [31:0] d);
    // verilator lint_off UNUSEDSIGNAL
    logic [63:0] md, n, q, r, m;  // (q < 2^34; m keeps 24 bits after rounding)
    // verilator lint_on UNUSEDSIGNAL
    int e;
    if (d[30:0] == 31'd0) return {d[31], 8'hff, 23'd0};
    md = {40'd0, 1'b1, d[22:0]};
    n = 64'(num) << 50;
    q = n / md;
    r = n % md;
    // the quotient has at least 27 bits; one sticky bit below it keeps the rounding exact
    m = {q[62:0], r != 64'd0};
    e = -51 - (int'(d[30:23]) - 150);
    round_sig24(m, e);
    return {d[31], 8'(e + 150), m[22:0]};
  endfunction

  // One block through stat s.
  function automatic norm_stat_t step(input norm_stat_t s, input logic [2:0] cmd, input logic [7:0] len,
                                      input logic [ACC_W-1:0] data, input logic [31:0] scale, input norm_k_t k);
    norm_stat_t n;
    logic signed [31:0] acc, m, d, e, v;
    logic [15:0] sd;
    n = s;
    n.count = s.count + 16'(len);
    acc = '0;
    m = MinI;
    for (int j = 0; j < DIM; j++) begin
      if (8'(j) < len) begin
        d = data[j*32 +: 32];
        case (cmd)
          NC_SUM, NC_MEAN: acc = acc + d;
          NC_VARIANCE, NC_INV_STDDEV: begin
            e = d - s.mean;
            acc = acc + e * e;
          end
          NC_MAX: m = (d > m) ? d : m;
          NC_SUM_EXP, NC_INV_SUM_EXP: acc = acc + iexp(d - s.max, k.qln2, k.qln2_inv, k.qb, k.qc);
          default: ;
        endcase
      end
    end
    n.sum = s.sum + acc;
    case (cmd)
      NC_MEAN, NC_INV_STDDEV: begin
        v = div_trunc(n.sum, n.count);
        n.sum = '0;
        n.count = '0;
        n.rmax = MinI;
        if (cmd == NC_MEAN) begin
          n.mean = v;
        end else begin
          sd = isqrt(v);
          if (sd == 16'd0) sd = 16'd1;
          n.inv_stddev = gemmini_fp32_pkg::fp32_mul(div_int_f32(8'd1, i2f({16'd0, sd})), scale);
        end
      end
      NC_MAX: begin
        n.rmax = (m > s.rmax) ? m : s.rmax;
        n.max = n.rmax;
      end
      NC_INV_SUM_EXP: n.inv_sum_exp = gemmini_fp32_pkg::fp32_mul(div_int_f32(8'd127, i2f(n.sum)), scale);
      NC_RESET: begin
        n.sum = '0;
        n.count = '0;
        n.rmax = MinI;
      end
      default: ;  // SUM, VARIANCE, SUM_EXP accumulate only
    endcase
    return n;
  endfunction

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      for (int i = 0; i < NORM_IDS; i++) begin
        stat_o[i] <= '{sum: '0, count: '0, rmax: MinI, max: MinI, mean: '0, inv_stddev: '0, inv_sum_exp: '0};
      end
    end else if (upd_i) begin
      stat_o[id_i] <= step(stat_o[id_i], cmd_i, len_i, data_i, scale_i, k_i);
    end else if (clear_i) begin
      stat_o[id_i].sum <= '0;
      stat_o[id_i].count <= '0;
      stat_o[id_i].rmax <= MinI;
    end
  end
endmodule
