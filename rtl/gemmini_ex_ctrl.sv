// Execute controller (spec 3, 4.5): config_ex, and preload/compute pairs. A pair moves through
//   preload read (B in WS, D in OS, into the array's shadow rows) ->
//   compute read (A and the compute's B/D rows into one of two operand slots) ->
//   feed (WS: one A row per cycle into the array; OS: one fire of the whole product) ->
//   write (result rows to the scratchpad or accumulator as they leave the array).
// The next pair's reads overlap the current pair's feed, so back-to-back WS matmuls run one DIMxDIMxDIM block
// every DIM cycles. A reader waits while an older pair still has to write rows it would read (RAW inside the
// execute queue); hazards with the other queues are the reservation station's job. The preload command
// completes when its operand is read; the compute, which owns C (the front end gives it the preload's C range),
// completes when its last row is written. (A preload that held C until written could deadlock: a load between
// the preload and its compute may wait for the preload's read while the compute waits for the load.)
module gemmini_ex_ctrl
  import gemmini_pkg::*;
(
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    cmd_valid_i,
  output logic                    cmd_ready_o,
  input  cmd_t                    cmd_i,
  output logic                    done0_valid_o,  // preloads (operand read)
  output logic [ROB_W-1:0]        done0_rob_o,
  output logic                    done1_valid_o,  // computes (C written) and config_ex
  output logic [ROB_W-1:0]        done1_rob_o,
  // scratchpad reads: 0 = A, 1 = preload operand, 2 = compute B/D
  output logic [2:0]              rd_valid_o,
  input  logic [2:0]              rd_grant_i,
  output logic [SP_ROW_BITS-1:0]  rd_row_o [3],
  input  logic [SP_W-1:0]         rd_data_i [3],
  // result writes
  output logic                    spw_valid_o,
  output logic [SP_ROW_BITS-1:0]  spw_row_o,
  output logic [SP_W-1:0]         spw_data_o,
  output logic [DIM-1:0]          spw_mask_o,
  output logic                    accw_valid_o,
  output logic [ACC_ROW_BITS-1:0] accw_row_o,
  output logic [ACC_W-1:0]        accw_data_o,
  output logic [DIM-1:0]          accw_mask_o,
  output logic                    accw_acc_o,
  // status
  output logic                    busy_o,
  output logic [3:0]              state_o,
  output logic [10:0]             ev_o  // active, flush, q_block, pre_haz, ovl_haz, a_wait, b_wait, d_wait,
                                        // a_garbage, b_garbage, d_garbage
);
  localparam int unsigned P = 4;  // pairs in flight
  localparam int unsigned PW = 2;

  // An operand: row, logical size, garbage, transposed; `n` = stored rows read.
  typedef struct packed {
    logic [ROW_BITS-1:0] row;
    logic [7:0]          rows;
    logic [7:0]          cols;
    logic                garbage;
    logic                t;
  } opnd_t;

  typedef struct packed {
    opnd_t            pre;     // preloaded operand (B in WS, D in OS)
    opnd_t            a;
    opnd_t            bd;      // compute's second operand (D in WS, B in OS)
    logic [ROW_BITS-1:0] c_row;
    logic [7:0]       c_rows, c_cols;
    logic             c_valid, c_acc, c_accum;
    logic             flip;
    logic [7:0]       n_feed;
    logic [ROB_W-1:0] pre_rob, comp_rob;
    logic             slot;
  } pair_t;

  // ---- config_ex state ----
  logic        os_q, relu_q, at_q, bt_q;
  logic [15:0] a_stride_q, c_stride_q;
  logic [4:0]  shift_q;

  // ---- pairs ----
  pair_t        pair_q [P];
  logic [P-1:0] has_comp_q, pre_done_q;
  logic [PW-1:0] ph_q, pt_q, pp_q, pr_q, pf_q;  // head, tail, preload reader, compute reader, feeder
  logic [PW:0]   pcount_q;
  // ---- operand slots ----
  logic [SP_W-1:0] a_buf_q [2][DIM];
  logic [SP_W-1:0] bd_buf_q [2][DIM];
  logic [DIM-1:0]  a_vld_q [2];
  logic [DIM-1:0]  bd_vld_q [2];
  logic            slot_tail_q;
  logic [1:0]      slot_count_q;
  // ---- readers ----
  logic [7:0] p_i_q, a_i_q, b_i_q;  // next stored row to request
  logic       arr_p_q, arr_a_q, arr_b_q;
  // verilator lint_off UNUSEDSIGNAL
  logic [7:0] arr_p_row_q, arr_a_row_q, arr_b_row_q;
  // verilator lint_on UNUSEDSIGNAL
  logic       arr_a_slot_q, arr_b_slot_q;
  logic       arr_p_last_q;
  // ---- feeder ----
  logic [7:0] f_q;       // next row to feed
  logic       fstart_q;  // the feeder's pair has started (flip done)

  // ---- operand helpers ----
  function automatic logic garbage(input logic [63:0] w);
    return w[31:29] == 3'b111 && w[ROW_BITS] && w[ROW_BITS-1:0] == '1;
  endfunction
  function automatic opnd_t opnd(input logic [63:0] w, input logic t);
    opnd_t o;
    o.row = w[ROW_BITS-1:0];
    o.rows = w[55:48];
    o.cols = w[39:32];
    o.garbage = garbage(w);
    o.t = t;
    return o;
  endfunction
  // verilator lint_off UNUSEDSIGNAL
  function automatic logic [7:0] stored_rows(input opnd_t o);
  // verilator lint_on UNUSEDSIGNAL
    if (o.garbage) return 8'd0;
    return o.t ? o.cols : o.rows;
  endfunction
  function automatic logic [SP_W-1:0] col_mask(input logic [7:0] cols);
    if (cols >= 8'(DIM)) return '1;
    return SP_W'(((SP_W+1)'(1) << (32'(cols) * EW)) - (SP_W+1)'(1));
  endfunction
  // Do [s0, s0+n0*st0 ...) style ranges overlap? Ranges are [lo, hi) in scratchpad rows.
  function automatic logic overlap(input int unsigned lo0, input int unsigned hi0, input int unsigned lo1,
                                   input int unsigned hi1);
    return lo0 < hi1 && lo1 < hi0;
  endfunction

  // ---- incoming commands ----
  logic in_cfg, in_pre, in_comp, idle;
  always_comb begin
    in_cfg = cmd_i.funct == F_CONFIG;
    in_pre = cmd_i.funct == F_PRELOAD;
    in_comp = cmd_i.funct == F_COMPUTE_PRELOADED || cmd_i.funct == F_COMPUTE_ACCUMULATED;
    idle = pcount_q == '0 && !mesh_busy && !arr_p_q && !arr_a_q && !arr_b_q;
    cmd_ready_o = (in_cfg && idle) || (in_pre && pcount_q != (PW+1)'(P)) || (in_comp && slot_count_q != 2'd2);
  end
  logic cfg_fire, pre_fire, comp_fire;
  assign cfg_fire = cmd_valid_i && in_cfg && cmd_ready_o;
  assign pre_fire = cmd_valid_i && in_pre && cmd_ready_o;
  assign comp_fire = cmd_valid_i && in_comp && cmd_ready_o;
  logic [PW-1:0] pc;  // the pair a compute joins: the newest
  assign pc = pt_q - 1'b1;

  // ---- hazard: does [lo, hi) of the scratchpad overlap C of a pair older than `k`? ----
  // (reads pair_q and ph_q directly: an array argument would be copied on every call, every cycle)
  function automatic logic raw_hazard(input logic [PW-1:0] k, input int unsigned lo, input int unsigned hi);
    logic h;
    h = 1'b0;
    for (int i = 0; i < P; i++) begin
      logic [PW-1:0] idx;
      idx = ph_q + PW'(i);
      if (PW'(i) < PW'(k - ph_q) && pair_q[idx].c_valid && !pair_q[idx].c_acc) begin
        if (overlap(lo, hi, int'(pair_q[idx].c_row),
                    int'(pair_q[idx].c_row) + (int'(pair_q[idx].c_rows) - 1) * int'(c_stride_q) + 1)) h = 1'b1;
      end
    end
    return h;
  endfunction

  // ---- preload reader ----
  // verilator lint_off UNUSEDSIGNAL
  pair_t pp_pair;
  // verilator lint_on UNUSEDSIGNAL
  logic  p_active, p_haz, p_req, p_last;
  logic [7:0] p_n;
  always_comb begin
    pp_pair = pair_q[pp_q];
    p_n = stored_rows(pp_pair.pre);
    // the shadow is free once every older pair has started feeding
    // (in WS the feeder's pair has flipped once it started; its shadow rows are no longer needed. A read
    // granted in the cycle of the first feed lands a cycle later, after the flip has copied the shadow.)
    // (one row per cycle; only the cycle after the last row's grant waits, for pre_done to be set)
    p_active = pp_q != pt_q && !pre_done_q[pp_q] && !(arr_p_q && arr_p_last_q)
               && (pp_q == pf_q || (pp_q == pf_q + 1'b1 && (fstart_q || f_feed) && !os_q));
    // (hazard loops only when there is a pair to read: every combinational block runs every cycle)
    p_haz = (pp_q != pt_q)
            && raw_hazard(pp_q, int'(pp_pair.pre.row), int'(pp_pair.pre.row) + int'(p_n));
    p_req = p_active && !p_haz && p_i_q < p_n;
    p_last = p_i_q + 8'd1 == p_n;
    rd_valid_o[1] = p_req;
    rd_row_o[1] = SP_ROW_BITS'(pp_pair.pre.row + ROW_BITS'(p_i_q));
  end

  // ---- compute reader ----
  // verilator lint_off UNUSEDSIGNAL
  pair_t pr_pair;
  // verilator lint_on UNUSEDSIGNAL
  logic  c_active, c_haz, a_req, b_req, c_all;
  logic [7:0] a_n, b_n;
  always_comb begin
    int unsigned alo, ahi;
    pr_pair = pair_q[pr_q];
    a_n = stored_rows(pr_pair.a);
    b_n = stored_rows(pr_pair.bd);
    c_active = pr_q != pt_q && has_comp_q[pr_q];
    alo = int'(pr_pair.a.row);
    ahi = (a_n == 8'd0) ? alo : alo + (int'(a_n) - 1) * int'(a_stride_q) + 1;
    c_haz = c_active && (raw_hazard(pr_q, alo, ahi)
            || raw_hazard(pr_q, int'(pr_pair.bd.row), int'(pr_pair.bd.row) + int'(b_n)));
    a_req = c_active && !c_haz && a_i_q < a_n;
    b_req = c_active && !c_haz && b_i_q < b_n;
    rd_valid_o[0] = a_req;
    rd_row_o[0] = SP_ROW_BITS'(pr_pair.a.row + ROW_BITS'(32'(a_i_q) * 32'(a_stride_q)));
    rd_valid_o[2] = b_req;
    rd_row_o[2] = SP_ROW_BITS'(pr_pair.bd.row + ROW_BITS'(b_i_q));
  end

  // all operand rows requested once this cycle's grants land
  assign c_all = c_active && !c_haz && (a_i_q >= a_n || (a_req && rd_grant_i[0] && a_i_q + 8'd1 == a_n))
                 && (b_i_q >= b_n || (b_req && rd_grant_i[2] && b_i_q + 8'd1 == b_n));

  // ---- feeder ----
  // verilator lint_off UNUSEDSIGNAL
  pair_t pf_pair;
  // verilator lint_on UNUSEDSIGNAL
  logic  f_ok, f_rows_ok, f_feed, f_flip, f_last, f_fire_os, os_ready, mesh_busy;
  logic [SP_W-1:0] f_a, f_d;
  logic [7:0] fa_n, fb_n;
  always_comb begin
    logic sl, self_haz, need_a, need_b;
    int unsigned clo, chi, alo, ahi;
    need_a = 1'b0;
    need_b = 1'b0;
    pf_pair = pair_q[pf_q];
    sl = pf_pair.slot;
    fa_n = stored_rows(pf_pair.a);
    fb_n = stored_rows(pf_pair.bd);
    // A pair whose scratchpad C overlaps its own operand rows starts only when all of them have been read
    // (the compute reader has moved on): its first result rows must not overwrite operand rows still unread.
    clo = int'(pf_pair.c_row);
    chi = clo + (int'(pf_pair.c_rows) - 1) * int'(c_stride_q) + 1;
    alo = int'(pf_pair.a.row);
    ahi = (fa_n == 8'd0) ? alo : alo + (int'(fa_n) - 1) * int'(a_stride_q) + 1;
    self_haz = pf_pair.c_valid && !pf_pair.c_acc && pr_q == pf_q
               && (overlap(clo, chi, alo, ahi)
                   || overlap(clo, chi, int'(pf_pair.bd.row), int'(pf_pair.bd.row) + int'(fb_n)));
    // (in WS the flip may take the last shadow row as it arrives: the mesh forwards it)
    f_ok = pf_q != pt_q && has_comp_q[pf_q] && !self_haz
           && (pre_done_q[pf_q] || (!os_q && arr_p_q && arr_p_last_q && pp_q == pf_q));
    f_rows_ok = 1'b1;
    // rows this feed step needs: all rows for OS and for a transposed A, else row f
    if (pf_q != pt_q) for (int r = 0; r < DIM; r++) begin
      need_a = r < int'(fa_n) && (os_q || pf_pair.a.t || r == int'(f_q));
      need_b = r < int'(fb_n) && (os_q || r == int'(f_q));
      if ((need_a && !a_vld_q[sl][r]) || (need_b && !bd_vld_q[sl][r])) f_rows_ok = 1'b0;
    end
    // WS row f
    f_a = '0;
    if (f_q < pf_pair.a.rows && !pf_pair.a.garbage) begin
      if (!pf_pair.a.t) begin
        f_a = a_buf_q[sl][f_q[DIM_BITS-1:0]] & col_mask(pf_pair.a.cols);
      end else begin
        for (int k = 0; k < DIM; k++) begin
          if (k < int'(pf_pair.a.cols)) f_a[k*EW +: EW] = a_buf_q[sl][k][32'(f_q) * EW +: EW];
        end
      end
    end
    f_d = '0;
    if (f_q < pf_pair.bd.rows && !pf_pair.bd.garbage) begin
      f_d = bd_buf_q[sl][f_q[DIM_BITS-1:0]] & col_mask(pf_pair.bd.cols);
    end
    f_feed = !os_q && f_ok && f_rows_ok;
    f_flip = f_feed && !fstart_q && pf_pair.flip;
    f_last = f_q + 8'd1 >= pf_pair.n_feed;
    f_fire_os = os_q && f_ok && f_rows_ok && os_ready;
  end

  // ---- the array ----
  logic            m_out_valid;
  logic [ACC_W-1:0] m_out_data;
  logic [PW-1:0]   m_out_tag;
  logic [7:0]      m_out_row;
  gemmini_mesh #(.TagW(PW)) u_mesh (
    .clk_i,
    .rst_ni,
    .sh_we_i        (arr_p_q),
    .sh_row_i       (arr_p_row_q[DIM_BITS-1:0]),
    .sh_data_i      (rd_data_i[1]),
    .sh_rows_i      (pf_pair.pre.garbage ? 8'd0 : pf_pair.pre.rows),
    .sh_cols_i      (pf_pair.pre.garbage ? 8'd0 : pf_pair.pre.cols),
    .sh_t_i         (pf_pair.pre.t),
    .flip_i         (f_flip),
    .feed_i         (f_feed),
    .feed_a_i       (f_a),
    .feed_d_i       (f_d),
    .feed_tag_i     (pf_q),
    .feed_row_i     (f_q),
    .os_fire_i      (f_fire_os),
    .os_flip_i      (pf_pair.flip),
    .os_drain_i     (pf_pair.c_valid),
    .os_drain_rows_i(pf_pair.c_rows),
    .os_tag_i       (pf_q),
    .os_shift_i     (shift_q),
    .os_a_i         (a_buf_q[pf_pair.slot]),
    .os_a_rows_i    (pf_pair.a.garbage ? 8'd0 : pf_pair.a.rows),
    .os_a_cols_i    (pf_pair.a.cols),
    .os_a_t_i       (pf_pair.a.t),
    .os_b_i         (bd_buf_q[pf_pair.slot]),
    .os_b_rows_i    (pf_pair.bd.garbage ? 8'd0 : pf_pair.bd.rows),
    .os_b_cols_i    (pf_pair.bd.cols),
    .os_b_t_i       (pf_pair.bd.t),
    .os_ready_o     (os_ready),
    .out_valid_o    (m_out_valid),
    .out_data_o     (m_out_data),
    .out_tag_o      (m_out_tag),
    .out_row_o      (m_out_row),
    .busy_o         (mesh_busy)
  );

  // ---- result writes ----
  // verilator lint_off UNUSEDSIGNAL
  pair_t ow;
  // verilator lint_on UNUSEDSIGNAL
  logic  o_write, o_last;
  logic [ROW_BITS-1:0] o_row;
  always_comb begin
    ow = pair_q[m_out_tag];
    o_write = m_out_valid && ow.c_valid && m_out_row < ow.c_rows;
    o_last = m_out_valid && (os_q ? m_out_row + 8'd1 == ow.c_rows : m_out_row + 8'd1 == ow.n_feed);
    o_row = ow.c_row + ROW_BITS'(32'(m_out_row) * 32'(c_stride_q));
    for (int j = 0; j < DIM; j++) begin
      spw_data_o[j*EW +: EW] = e_sp_result(m_out_data[j*32 +: 32], relu_q);
      spw_mask_o[j] = j < int'(ow.c_cols);
    end
    accw_mask_o = spw_mask_o;
  end
  assign spw_valid_o = o_write && !ow.c_acc;
  assign spw_row_o = SP_ROW_BITS'(o_row);
  assign accw_valid_o = o_write && ow.c_acc;
  assign accw_row_o = ACC_ROW_BITS'(o_row);
  assign accw_data_o = m_out_data;
  assign accw_acc_o = ow.c_accum;

  // An OS pair whose result is not wanted is finished when it fires.
  logic os_nowrite_done;
  assign os_nowrite_done = f_fire_os && !pf_pair.c_valid;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      os_q <= 1'b0;
      relu_q <= 1'b0;
      at_q <= 1'b0;
      bt_q <= 1'b0;
      a_stride_q <= 16'd1;
      c_stride_q <= 16'd1;
      shift_q <= '0;
      has_comp_q <= '0;
      pre_done_q <= '0;
      ph_q <= '0;
      pt_q <= '0;
      pp_q <= '0;
      pr_q <= '0;
      pf_q <= '0;
      pcount_q <= '0;
      slot_tail_q <= 1'b0;
      slot_count_q <= '0;
      p_i_q <= '0;
      a_i_q <= '0;
      b_i_q <= '0;
      arr_p_q <= 1'b0;
      arr_a_q <= 1'b0;
      arr_b_q <= 1'b0;
      f_q <= '0;
      fstart_q <= 1'b0;
      done0_valid_o <= 1'b0;
      done1_valid_o <= 1'b0;
    end else begin
      done0_valid_o <= 1'b0;
      done1_valid_o <= 1'b0;
      // config_ex (only when everything has drained)
      if (cfg_fire) begin
        if (!cmd_i.rs1[7]) begin
          os_q <= HAS_OS && !cmd_i.rs1[2];
          relu_q <= cmd_i.rs1[4:3] == 2'd1;
          at_q <= cmd_i.rs1[8];
          bt_q <= cmd_i.rs1[9];
          shift_q <= cmd_i.rs2[4:0];
        end
        a_stride_q <= cmd_i.rs1[31:16];
        c_stride_q <= cmd_i.rs2[63:48];
        done1_valid_o <= 1'b1;
        done1_rob_o <= cmd_i.rob;
      end
      // a preload opens a pair
      if (pre_fire) begin
        pair_t np;
        np = '0;
        // In WS the preloaded B may be transposed; in OS the preloaded D never is.
        np.pre = opnd(cmd_i.rs1, !os_q && bt_q);
        np.c_row = cmd_i.rs2[ROW_BITS-1:0];
        np.c_rows = cmd_i.rs2[55:48];
        np.c_cols = cmd_i.rs2[39:32];
        np.c_valid = !garbage(cmd_i.rs2);
        np.c_acc = cmd_i.rs2[31];
        np.c_accum = cmd_i.rs2[30];
        np.pre_rob = cmd_i.rob;
        pair_q[pt_q] <= np;
        has_comp_q[pt_q] <= 1'b0;
        pre_done_q[pt_q] <= 1'b0;
        pt_q <= pt_q + 1'b1;
      end
      // the compute completes it
      if (comp_fire) begin
        pair_t np;
        logic [7:0] n;
        np = pair_q[pc];
        np.a = opnd(cmd_i.rs1, at_q);
        np.bd = opnd(cmd_i.rs2, os_q && bt_q);
        np.flip = cmd_i.funct == F_COMPUTE_PRELOADED;
        np.comp_rob = cmd_i.rob;
        np.slot = slot_tail_q;
        n = np.c_valid ? np.c_rows : 8'd1;
        if (!np.a.garbage && np.a.rows > n) n = np.a.rows;
        if (!np.bd.garbage && np.bd.rows > n) n = np.bd.rows;
        np.n_feed = n;
        pair_q[pc] <= np;
        has_comp_q[pc] <= 1'b1;
        a_vld_q[slot_tail_q] <= '0;
        bd_vld_q[slot_tail_q] <= '0;
        slot_tail_q <= !slot_tail_q;
      end
      // preload reader
      arr_p_q <= 1'b0;
      if (p_active && !p_haz) begin
        if (p_n == 8'd0) begin
          pre_done_q[pp_q] <= 1'b1;
          pp_q <= pp_q + 1'b1;
          done0_valid_o <= 1'b1;
          done0_rob_o <= pp_pair.pre_rob;
        end else if (rd_grant_i[1]) begin
          arr_p_q <= 1'b1;
          arr_p_row_q <= p_i_q;
          arr_p_last_q <= p_last;
          p_i_q <= p_last ? 8'd0 : p_i_q + 8'd1;
        end
      end
      if (arr_p_q && arr_p_last_q) begin
        pre_done_q[pp_q] <= 1'b1;
        pp_q <= pp_q + 1'b1;
        done0_valid_o <= 1'b1;
        done0_rob_o <= pp_pair.pre_rob;
      end
      // compute reader
      arr_a_q <= a_req && rd_grant_i[0];
      arr_a_row_q <= a_i_q;
      arr_a_slot_q <= pr_pair.slot;
      arr_b_q <= b_req && rd_grant_i[2];
      arr_b_row_q <= b_i_q;
      arr_b_slot_q <= pr_pair.slot;
      if (a_req && rd_grant_i[0]) a_i_q <= a_i_q + 8'd1;
      if (b_req && rd_grant_i[2]) b_i_q <= b_i_q + 8'd1;
      if (c_all) begin
        a_i_q <= '0;
        b_i_q <= '0;
        pr_q <= pr_q + 1'b1;
      end
      if (arr_a_q) begin
        a_buf_q[arr_a_slot_q][arr_a_row_q[DIM_BITS-1:0]] <= rd_data_i[0];
        a_vld_q[arr_a_slot_q][arr_a_row_q[DIM_BITS-1:0]] <= 1'b1;
      end
      if (arr_b_q) begin
        bd_buf_q[arr_b_slot_q][arr_b_row_q[DIM_BITS-1:0]] <= rd_data_i[2];
        bd_vld_q[arr_b_slot_q][arr_b_row_q[DIM_BITS-1:0]] <= 1'b1;
      end
      // feeder
      if (f_feed) begin
        fstart_q <= !f_last;
        f_q <= f_last ? 8'd0 : f_q + 8'd1;
        if (f_last) pf_q <= pf_q + 1'b1;
      end
      if (f_fire_os) pf_q <= pf_q + 1'b1;
      // results leave the array: the last row finishes the pair
      if (o_last || os_nowrite_done) begin
        done1_valid_o <= 1'b1;
        done1_rob_o <= o_last ? ow.comp_rob : pf_pair.comp_rob;
        ph_q <= ph_q + 1'b1;
      end
      pcount_q <= pcount_q + (PW+1)'(pre_fire) - (PW+1)'(o_last || os_nowrite_done);
      slot_count_q <= slot_count_q + 2'(comp_fire) - 2'((f_feed && f_last) || f_fire_os);
    end
  end

  assign busy_o = !idle;
  assign state_o = {os_q, f_ok, c_active, p_active};
  assign ev_o = {
    pf_pair.bd.garbage && os_q && (f_feed || f_fire_os) || pf_pair.pre.garbage && !os_q && f_flip,  // d/b garbage
    (os_q ? pf_pair.bd.garbage : pf_pair.pre.garbage) && (f_feed || f_fire_os),
    pf_pair.a.garbage && (f_feed || f_fire_os),
    os_q ? (rd_valid_o[1] && !rd_grant_i[1]) : (rd_valid_o[2] && !rd_grant_i[2]),  // d wait
    os_q ? (rd_valid_o[2] && !rd_grant_i[2]) : (rd_valid_o[1] && !rd_grant_i[1]),  // b wait
    rd_valid_o[0] && !rd_grant_i[0],
    c_active && c_haz,
    p_active && p_haz,
    cmd_valid_i && !cmd_ready_o,
    cmd_valid_i && in_cfg && !idle,
    !idle
  };
endmodule
