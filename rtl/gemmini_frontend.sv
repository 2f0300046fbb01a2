// Command front end: a two-entry command queue, decode, the legality checks of docs/accelerator.md section 1
// (in program order, against a shadow of the configuration the earlier commands set), the local-address ranges
// the reservation station tracks, and routing: flush is done here, the counter op goes to the counter file,
// everything else to the reservation station. An illegal command raises a sticky error and stops the queue.
module gemmini_frontend
  import gemmini_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        cmd_valid_i,
  output logic        cmd_ready_o,
  input  logic [6:0]  cmd_funct_i,
  input  logic [4:0]  cmd_rd_i,
  input  logic [63:0] cmd_rs1_i,
  input  logic [63:0] cmd_rs2_i,
  // to the reservation station
  output logic        rs_valid_o,
  input  logic        rs_ready_i,
  output logic [1:0]  rs_q_o,        // 0 load, 1 execute, 2 store
  output logic [6:0]  rs_funct_o,
  output logic [63:0] rs_rs1_o,
  output logic [63:0] rs_rs2_o,
  output range_t      rs_src0_o,
  output range_t      rs_src1_o,
  output range_t      rs_dst_o,
  // the LOOP_WS unit: its generated commands take the head before the queue's; the queue's LOOP_WS
  // configuration commands go to it; ordinary commands wait while a loop is active
  input  logic        gen_valid_i,
  output logic        gen_ready_o,
  input  logic [6:0]  gen_funct_i,
  input  logic [63:0] gen_rs1_i,
  input  logic [63:0] gen_rs2_i,
  input  logic        loop_active_i,
  output logic        loop_chk_o,
  output logic        loop_valid_o,
  input  logic        loop_ready_i,
  input  logic [7:0]  loop_err_i,
  output loop_view_t  loop_view_o,
  // the LOOP_CONV_WS unit, likewise for funct 15-21 (its generated commands arrive on gen_*); a loop command of
  // one unit waits while the other unit is active, so the two never interleave
  input  logic        conv_active_i,
  output logic        conv_chk_o,
  output logic        conv_valid_o,
  input  logic        conv_ready_i,
  input  logic [7:0]  conv_err_i,
  // to the counter file
  output logic        ctr_valid_o,
  output logic [63:0] ctr_rs1_o,
  output logic [4:0]  ctr_rd_o,
  // status
  output logic        busy_o,
  output logic [7:0]  err_code_o,
  output logic [6:0]  err_funct_o,
  output logic [63:0] err_rs1_o,
  output logic [63:0] err_rs2_o
);
  localparam int unsigned MBLA = (MAX_BYTES / (4 * DIM)) > 0 ? MAX_BYTES / (4 * DIM) : 1;

  // ---- queue ----
  logic [6:0]  q_funct_q [2];
  logic [4:0]  q_rd_q [2];
  logic [63:0] q_rs1_q [2], q_rs2_q [2];
  logic        q_head_q, q_tail_q;
  logic [1:0]  q_count_q;
  logic [7:0]  err_q;
  assign cmd_ready_o = q_count_q != 2'd2 && err_q == E_NONE;

  // ---- shadow configuration ----
  logic        os_q, at_q, bt_q, expect_comp_q;
  range_t      pend_c_q;  // C of the pending preload: the compute owns it in the reservation station
  logic [15:0] a_stride_q, c_stride_q;
  logic [15:0] ld_bstride_q [3];
  logic        ld_shrink_q [3];
  logic        pool_q;
  logic [1:0]  psize_q;
  logic [7:0]  porows_q, pocols_q, orows_q, ocols_q;
  logic [31:0] st_stride_q;
  logic [2:0]  st_act_q;  // config_st's two bits and config_norm's act_msb

  logic [6:0]  f;
  logic [63:0] r1, r2;
  logic        from_gen, is_loop_cmd, is_conv_cmd, head_valid;
  assign from_gen = gen_valid_i;
  assign f = from_gen ? gen_funct_i : q_funct_q[q_head_q];
  assign r1 = from_gen ? gen_rs1_i : q_rs1_q[q_head_q];
  assign r2 = from_gen ? gen_rs2_i : q_rs2_q[q_head_q];
  // The command words read by field (gemmini_isa_pkg, generated from src/sim/isa.rs); each command uses
  // the views of its own words.
  // verilator lint_off UNUSEDSIGNAL
  operand_t       op1, op2;
  config_ex_rs1_t ex1;
  config_ex_rs2_t ex2;
  config_ld_rs1_t ld1;
  config_st_rs1_t st1;
  config_st_rs2_t st2;
  config_norm_rs1_t nm1;
  // verilator lint_on UNUSEDSIGNAL
  assign op1 = operand_t'(r1);
  assign op2 = operand_t'(r2);
  assign ex1 = config_ex_rs1_t'(r1);
  assign ex2 = config_ex_rs2_t'(r2);
  assign nm1 = config_norm_rs1_t'(r1);
  assign ld1 = config_ld_rs1_t'(r1);
  assign st1 = config_st_rs1_t'(r1);
  assign st2 = config_st_rs2_t'(r2);
  assign is_loop_cmd = f >= F_LOOP_WS && f <= F_LOOP_WS_CONFIG_STRIDES_DC;
  assign is_conv_cmd = f >= F_LOOP_CONV_WS && f <= F_LOOP_CONV_WS_CONFIG_6;
  // A queued command waits while a loop is active, unless it configures or starts the next loop of the same unit.
  assign head_valid = err_q == E_NONE && (from_gen || (q_count_q != 2'd0 &&
                      (is_loop_cmd ? !conv_active_i : is_conv_cmd ? !loop_active_i : !(loop_active_i || conv_active_i))));

  function automatic logic is_garbage(input logic [31:0] a);
    return a[31:29] == 3'b111 && a[ROW_BITS] && a[ROW_BITS-1:0] == '1;
  endfunction

  // Range [row, row + extent) of an operand in its memory, and its error if out of range.
  // verilator lint_off UNUSEDSIGNAL
  function automatic range_t mk_range(input logic [31:0] a, input int unsigned extent);
  // verilator lint_on UNUSEDSIGNAL
    range_t r;
    r.valid = 1'b1;
    r.acc = a[31];
    r.lo = (ROW_BITS + 2)'(a[ROW_BITS-1:0]);
    r.hi = (ROW_BITS + 2)'(32'(a[ROW_BITS-1:0]) + extent);
    return r;
  endfunction
  // verilator lint_off UNUSEDSIGNAL
  function automatic logic [7:0] range_err(input range_t r);
  // verilator lint_on UNUSEDSIGNAL
    if (r.acc) return (32'(r.lo) >= ACC_ROWS || 32'(r.hi) > ACC_ROWS) ? E_ACC_RANGE : E_NONE;
    return (32'(r.hi) > SP_ROWS) ? E_SP_RANGE : E_NONE;
  endfunction
  // verilator lint_off UNUSEDSIGNAL
  function automatic logic dims_bad(input operand_t w, input int unsigned max_rows, input int unsigned max_cols);
  // verilator lint_on UNUSEDSIGNAL
    return w.rows == 16'd0 || 32'(w.rows) > max_rows || w.cols == 16'd0 || 32'(w.cols) > max_cols;
  endfunction
  // verilator lint_off UNUSEDSIGNAL
  function automatic int unsigned blocks(input operand_t w);
  // verilator lint_on UNUSEDSIGNAL
    return (32'(w.cols) + DIM - 1) / DIM;
  endfunction

  // ---- decode and check the head command ----
  logic [7:0] err;
  logic [1:0] q;
  logic       to_rs, to_ctr, is_flush, to_loop, to_conv;
  range_t     s0, s1, d;
  always_comb begin
    logic os_new, g1, g2;
    int unsigned n, lim;
    logic [1:0] st;
    err = E_NONE;
    q = 2'd0;
    to_rs = 1'b0;
    to_ctr = 1'b0;
    is_flush = 1'b0;
    to_loop = 1'b0;
    to_conv = 1'b0;
    s0 = '0;
    s1 = '0;
    d = '0;
    g1 = is_garbage(op1.addr);
    g2 = is_garbage(op2.addr);
    os_new = 1'b0;
    n = 0;
    lim = 0;
    st = '0;
    // (decoded only when a command waits: every combinational block runs every simulated cycle)
    if (head_valid) case (f)
      F_CONFIG: begin
        to_rs = 1'b1;
        case (ex1.cmd)
          CONFIG_EX: begin
            q = 2'd1;
            os_new = HAS_OS && !ex1.dataflow;
            if (expect_comp_q) err = E_PAIRING;
            // OS on a WS-only array
            else if (!HAS_OS && !ex1.set_only_strides && !ex1.dataflow) err = E_UNSUPPORTED;
            else if (!ex1.set_only_strides && ex1.b_transpose && (os_new ? !ex1.a_transpose : ex1.a_transpose))
              err = E_BAD_TRANSPOSE;
          end
          CONFIG_LD: begin
            q = 2'd0;
            if (ld1.pixel_repeats > 8'd1 || ld1.state_id == 2'd3) err = E_UNSUPPORTED;
          end
          default: q = 2'd2;  // config_st, config_norm
        endcase
      end
      F_MVIN, F_MVIN2, F_MVIN3: begin
        to_rs = 1'b1;
        q = 2'd0;
        st = (f == F_MVIN) ? 2'd0 : (f == F_MVIN2) ? 2'd1 : 2'd2;
        lim = (op2.addr.is_acc && !ld_shrink_q[st]) ? DIM * MBLA : DIM * MAX_BLOCK_LEN;
        d = mk_range(op2.addr, (blocks(op2) - 1) * 32'(ld_bstride_q[st]) + 32'(op2.rows));
        if (g2) err = E_BAD_ADDRESS;
        else if (dims_bad(op2, DIM, lim)) err = E_BAD_ROWS_COLS;
        else err = range_err(d);
      end
      F_MVOUT: begin
        to_rs = 1'b1;
        q = 2'd2;
        if (pool_q) begin
          s0 = mk_range(op2.addr, 32'(orows_q) * 32'(ocols_q));
          lim = DIM;
        end else begin
          s0 = mk_range(op2.addr, (blocks(op2) - 1) * DIM + 32'(op2.rows));
          lim = (op2.addr.is_acc && op2.addr.read_full) ? DIM : DIM * MAX_BLOCK_LEN;
        end
        if (g2) err = E_BAD_ADDRESS;
        // a pooled accumulator mvout can only write (normalizer command RESET)
        else if (HAS_NORM && pool_q && op2.addr.is_acc && op2.addr.norm_cmd != 3'd0) err = E_UNSUPPORTED;
        else if (pool_q && (op2.cols == 16'd0 || 32'(op2.cols) > DIM || psize_q == 2'd0 || porows_q == 8'd0
                            || pocols_q == 8'd0 || orows_q == 8'd0 || ocols_q == 8'd0)) err = E_BAD_ROWS_COLS;
        else if (!pool_q && dims_bad(op2, DIM, lim)) err = E_BAD_ROWS_COLS;
        else err = range_err(s0);
      end
      F_PRELOAD: begin
        to_rs = 1'b1;
        q = 2'd1;
        n = (!os_q && bt_q) ? 32'(op1.cols) : 32'(op1.rows);
        if (!g1) s0 = mk_range(op1.addr, n);
        if (!g2) d = mk_range(op2.addr, (32'(op2.rows) - 1) * 32'(c_stride_q) + 1);
        if (!g1 && op1.addr.is_acc) err = E_UNSUPPORTED;
        else if (expect_comp_q) err = E_PAIRING;
        else if (!g1 && dims_bad(op1, DIM, DIM)) err = E_BAD_ROWS_COLS;
        else if (!g2 && dims_bad(op2, DIM, DIM)) err = E_BAD_ROWS_COLS;
        else if (!g1 && range_err(s0) != E_NONE) err = range_err(s0);
        else if (!g2) err = range_err(d);
      end
      F_COMPUTE_PRELOADED, F_COMPUTE_ACCUMULATED: begin
        to_rs = 1'b1;
        q = 2'd1;
        n = at_q ? 32'(op1.cols) : 32'(op1.rows);
        if (!g1) s0 = mk_range(op1.addr, (n - 1) * 32'(a_stride_q) + 1);
        n = (os_q && bt_q) ? 32'(op2.cols) : 32'(op2.rows);
        if (!g2) s1 = mk_range(op2.addr, n);
        if ((!g1 && op1.addr.is_acc) || (!g2 && op2.addr.is_acc)) err = E_UNSUPPORTED;
        else if (!expect_comp_q) err = E_PAIRING;
        else if (!g1 && dims_bad(op1, DIM, DIM)) err = E_BAD_ROWS_COLS;
        else if (!g2 && dims_bad(op2, DIM, DIM)) err = E_BAD_ROWS_COLS;
        else if (!g1 && range_err(s0) != E_NONE) err = range_err(s0);
        else if (!g2) err = range_err(s1);
      end
      F_FLUSH: is_flush = 1'b1;
      F_COUNTER: to_ctr = 1'b1;
      F_LOOP_WS: begin
        to_loop = 1'b1;
        err = loop_err_i;
      end
      F_LOOP_CONV_WS: begin
        to_conv = 1'b1;
        err = conv_err_i;
      end
      default: begin
        // LOOP_WS and LOOP_CONV_WS configuration; the rest is not an instruction
        if (is_loop_cmd) to_loop = 1'b1;
        else if (is_conv_cmd) to_conv = 1'b1;
        else err = E_ILLEGAL_FUNCT;
      end
    endcase
  end

  logic pop, pop_q;
  assign rs_valid_o = head_valid && err == E_NONE && to_rs;
  assign rs_q_o = q;
  assign rs_funct_o = f;
  assign rs_rs1_o = r1;
  assign rs_rs2_o = r2;
  assign rs_src0_o = s0;
  assign rs_src1_o = s1;
  // The preload's C range goes with its compute, which writes it (see gemmini_ex_ctrl).
  assign rs_dst_o = (f == F_PRELOAD) ? '0 : (f == F_COMPUTE_PRELOADED || f == F_COMPUTE_ACCUMULATED) ? pend_c_q : d;
  assign ctr_valid_o = head_valid && to_ctr;
  assign ctr_rs1_o = r1;
  assign ctr_rd_o = q_rd_q[q_head_q];  // counter ops come only from the queue
  assign pop = head_valid && err == E_NONE && ((to_rs && rs_ready_i) || to_ctr || is_flush
                                               || (to_loop && loop_ready_i) || (to_conv && conv_ready_i));
  assign pop_q = pop && !from_gen;
  assign gen_ready_o = pop && from_gen;
  assign loop_chk_o = head_valid && !from_gen && f == F_LOOP_WS;
  assign loop_valid_o = head_valid && !from_gen && to_loop && err == E_NONE;
  assign conv_chk_o = head_valid && !from_gen && f == F_LOOP_CONV_WS;
  assign conv_valid_o = head_valid && !from_gen && to_conv && err == E_NONE;
  always_comb begin
    loop_view_o = '0;
    if (loop_chk_o || conv_chk_o) begin
      loop_view_o.ws = !os_q;
      loop_view_o.at = at_q;
      loop_view_o.bt = bt_q;
      loop_view_o.strides_one = a_stride_q == 16'd1 && c_stride_q == 16'd1;
      loop_view_o.bstride_dim = {ld_bstride_q[2] == 16'(DIM), ld_bstride_q[1] == 16'(DIM), ld_bstride_q[0] == 16'(DIM)};
      loop_view_o.shrink = {ld_shrink_q[2], ld_shrink_q[1], ld_shrink_q[0]};
      loop_view_o.pool = pool_q;
      loop_view_o.pend = expect_comp_q;
      loop_view_o.a_stride = a_stride_q;
      loop_view_o.c_stride = c_stride_q;
      loop_view_o.st_stride = st_stride_q;
      loop_view_o.st_act = st_act_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      q_head_q <= 1'b0;
      q_tail_q <= 1'b0;
      q_count_q <= '0;
      err_q <= E_NONE;
      os_q <= 1'b0;
      at_q <= 1'b0;
      bt_q <= 1'b0;
      expect_comp_q <= 1'b0;
      pend_c_q <= '0;
      a_stride_q <= 16'd1;
      c_stride_q <= 16'd1;
      ld_bstride_q[0] <= 16'(DIM);
      ld_bstride_q[1] <= 16'(DIM);
      ld_bstride_q[2] <= 16'(DIM);
      ld_shrink_q[0] <= 1'b0;
      ld_shrink_q[1] <= 1'b0;
      ld_shrink_q[2] <= 1'b0;
      pool_q <= 1'b0;
      psize_q <= '0;
      porows_q <= '0;
      pocols_q <= '0;
      orows_q <= '0;
      ocols_q <= '0;
      st_stride_q <= '0;
      st_act_q <= '0;
    end else begin
      if (cmd_valid_i && cmd_ready_o) begin
        q_funct_q[q_tail_q] <= cmd_funct_i;
        q_rd_q[q_tail_q] <= cmd_rd_i;
        q_rs1_q[q_tail_q] <= cmd_rs1_i;
        q_rs2_q[q_tail_q] <= cmd_rs2_i;
        q_tail_q <= !q_tail_q;
      end
      q_count_q <= q_count_q + 2'(cmd_valid_i && cmd_ready_o) - 2'(pop_q);
      if (pop_q) q_head_q <= !q_head_q;
      if (head_valid && err != E_NONE) begin
        err_q <= err;
        err_funct_o <= f;
        err_rs1_o <= r1;
        err_rs2_o <= r2;
      end
      if (pop) begin
        if (f == F_CONFIG && ex1.cmd == CONFIG_EX) begin
          if (!ex1.set_only_strides) begin
            os_q <= HAS_OS && !ex1.dataflow;
            at_q <= ex1.a_transpose;
            bt_q <= ex1.b_transpose;
          end
          a_stride_q <= ex1.a_stride;
          c_stride_q <= ex2.c_stride;
        end
        if (f == F_CONFIG && ld1.cmd == CONFIG_LD) begin
          ld_bstride_q[ld1.state_id] <= ld1.block_stride;
          ld_shrink_q[ld1.state_id] <= ld1.shrink;
        end
        if (f == F_CONFIG && st1.cmd == CONFIG_ST) begin
          pool_q <= st1.pool_stride != 2'd0;
          psize_q <= st1.pool_size;
          porows_q <= st1.porows;
          pocols_q <= st1.pocols;
          orows_q <= st1.orows;
          ocols_q <= st1.ocols;
          st_stride_q <= st2.stride;
          st_act_q <= {1'b0, st1.act};
        end
        if (HAS_NORM && f == F_CONFIG && nm1.cmd == CONFIG_NORM && !nm1.set_stats_id_only)
          st_act_q[2] <= nm1.act_msb;
        if (f == F_PRELOAD) begin
          expect_comp_q <= 1'b1;
          pend_c_q <= d;
        end
        if (f == F_COMPUTE_PRELOADED || f == F_COMPUTE_ACCUMULATED) expect_comp_q <= 1'b0;
      end
    end
  end
  assign busy_o = q_count_q != 2'd0 && err_q == E_NONE;
  assign err_code_o = err_q;
endmodule
