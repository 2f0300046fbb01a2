// The LOOP_WS unit (spec 4.9; docs/accelerator.md section 6; src/sim/accel/loops.rs is the reference). Two
// double-buffered descriptors: funct 9-13 fill the configuring slot, LOOP_WS (checked here against the front
// end's configuration shadow) marks it pending. Five sub-FSMs (LdA, LdB, LdD, Ex, StC) each issue the
// commands of their part of the oldest loop they have work in, in the unroller's order; a priority arbiter
// (Ex's compute > StC > Ex > the less advanced of LdA/LdB > LdD) picks one per cycle into an output register
// that the front end checks like any command. A sub-FSM issues only when the reservation station has room
// for it in its queue, and only when no command it could conflict with is still to be issued: Ex waits for
// the A/B tiles of its k and the bias tiles of its j, StC for Ex; a younger loop's loads wait for the older loop's Ex when
// they share a scratchpad half, and its accumulator users wait for the older loop to finish issuing when they
// share an accumulator half.
module gemmini_loop_matmul
  import gemmini_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  // configuration commands (funct 8-13) from the front end's head
  input  logic        chk_i,          // the head is a LOOP_WS: compute chk_err_o
  input  logic        cfg_valid_i,    // the head is a legal funct 8-13 (accept it when ready)
  output logic        cfg_ready_o,
  input  logic [6:0]  cfg_funct_i,
  input  logic [63:0] cfg_rs1_i,
  input  logic [63:0] cfg_rs2_i,
  // (the LOOP_CONV_WS-only fields are not read)
  // verilator lint_off UNUSEDSIGNAL
  input  loop_view_t  view_i,
  // verilator lint_on UNUSEDSIGNAL
  output logic [7:0]  chk_err_o,      // the error of a LOOP_WS at the head (E_NONE if legal)
  // generated commands
  output logic        gen_valid_o,
  input  logic        gen_ready_i,
  output logic [6:0]  gen_funct_o,
  output logic [63:0] gen_rs1_o,
  output logic [63:0] gen_rs2_o,
  // reservation-station occupancy
  input  logic [7:0]  rs_ld_i,
  input  logic [7:0]  rs_ex_i,
  input  logic [7:0]  rs_st_i,
  output logic        active_o,       // a loop is pending (ordinary commands wait)
  output logic [3:0]  state_o
);
  localparam int unsigned MBLA = (MAX_BYTES / (4 * DIM)) > 0 ? MAX_BYTES / (4 * DIM) : 1;
  localparam int unsigned SP_HALF = SP_ROWS / 2;
  localparam int unsigned ACC_HALF = ACC_ROWS / 2;
  localparam logic [31:0] ACC_BIT = 32'h8000_0000;
  localparam logic [31:0] ACCUM_BIT = 32'h4000_0000;
  localparam logic [31:0] FULL_BIT = 32'h2000_0000;
  localparam logic [63:0] GARBAGE_OP = {16'(DIM), 16'(DIM), 32'hffff_ffff};

  // ---- descriptors ----
  // (one packed struct per slot, written in one place: cheap to simulate while idle)
  loop_desc_t  dsc_q [2];
  logic [1:0]  pend_q, da_q, db_q, dd_q, de_q, ds_q;
  logic        cfg_slot_q, head_q, acc_half_q;

  logic cs;
  assign cs = cfg_slot_q;

  // ---- the LOOP_WS check (order and rules of src/sim/accel/loops.rs check_ws) ----
  always_comb begin
    logic resadd, a_t, b_t;
    logic [1:0] a_id, b_id;
    logic a_h, b_h;
    logic [63:0] a_rows, b_rows;
    chk_err_o = E_NONE;
    resadd = cfg_rs2_i[2];
    a_t = cfg_rs2_i[0];
    b_t = cfg_rs2_i[1];
    a_id = cfg_rs1_i[19:18];
    b_id = cfg_rs1_i[17:16];
    a_h = (a_id == 2'd0) ? cs : a_id[1];
    b_h = (b_id == 2'd0) ? cs : b_id[1];
    a_rows = '0;
    b_rows = '0;
    if (chk_i) begin
      a_rows = 64'(dsc_q[cs].n_i) * 64'(dsc_q[cs].n_k) * 64'(DIM);
      b_rows = 64'(dsc_q[cs].n_k) * 64'(dsc_q[cs].n_j) * 64'(DIM);
      if (cfg_rs2_i[63:3] != '0 || (!HAS_NORM && cfg_rs1_i[10:8] > 3'd1) || cfg_rs1_i[10:8] > ACT_SOFTMAX)
        chk_err_o = E_UNSUPPORTED;
      else if (!resadd && view_i.pend) chk_err_o = E_PAIRING;
      else if (dsc_q[cs].n_i == '0 || dsc_q[cs].n_j == '0 || (!resadd && dsc_q[cs].n_k == '0)) chk_err_o = E_BAD_LOOP;
      else if (32'(dsc_q[cs].p_i) >= DIM || 32'(dsc_q[cs].p_j) >= DIM || 32'(dsc_q[cs].p_k) >= DIM) chk_err_o = E_BAD_LOOP;
      else if (a_id == 2'd3 || b_id == 2'd3) chk_err_o = E_BAD_LOOP;
      else if (64'(dsc_q[cs].n_i) * 64'(dsc_q[cs].n_j) * 64'(DIM) > 64'(ACC_HALF)) chk_err_o = E_BAD_LOOP;
      else if (resadd) begin
        if (dsc_q[cs].d != '0) chk_err_o = E_BAD_LOOP;
        else if (dsc_q[cs].a != '0 && !(view_i.shrink[0] && view_i.bstride_dim[0])) chk_err_o = E_BAD_LOOP;
        else if (dsc_q[cs].b != '0 && !(view_i.shrink[1] && view_i.bstride_dim[1])) chk_err_o = E_BAD_LOOP;
      end else begin
        if (a_t && b_t) chk_err_o = E_BAD_LOOP;
        else if (!view_i.ws) chk_err_o = E_BAD_LOOP;
        else if (a_t != view_i.at || b_t != view_i.bt) chk_err_o = E_BAD_LOOP;
        else if (!view_i.strides_one) chk_err_o = E_BAD_LOOP;
        else if (a_h == b_h ? a_rows + b_rows > 64'(SP_HALF) : (a_rows > 64'(SP_HALF) || b_rows > 64'(SP_HALF)))
          chk_err_o = E_BAD_LOOP;
        else if ((dsc_q[cs].a != '0 && !view_i.bstride_dim[0]) || (dsc_q[cs].b != '0 && !view_i.bstride_dim[1])
                 || (dsc_q[cs].d != '0 && !view_i.bstride_dim[2])) chk_err_o = E_BAD_LOOP;
        else if (dsc_q[cs].d != '0 && view_i.shrink[2] != cfg_rs1_i[2]) chk_err_o = E_BAD_LOOP;
      end
      if (chk_err_o == E_NONE && dsc_q[cs].c != '0 && view_i.pool) chk_err_o = E_BAD_LOOP;
      // LayerNorm/Softmax store int8 rows through the normalizer
      if (chk_err_o == E_NONE && dsc_q[cs].c != '0 && (cfg_rs1_i[10:8] == ACT_LAYERNORM || cfg_rs1_i[10:8] == ACT_SOFTMAX)
          && (cfg_rs1_i[1] || resadd)) chk_err_o = E_BAD_LOOP;
    end
  end

  // The configuring slot after a configuration command or LOOP_WS (a function, so that it is computed only
  // when one arrives).
  function automatic loop_desc_t desc_update(input loop_desc_t cur, input logic [6:0] funct, input logic [63:0] rs1,
                                             input logic [63:0] rs2, input logic slot, input logic acc_half);
    loop_desc_t n;
    logic a_h, b_h;
    n = cur;
    a_h = 1'b0;
    b_h = 1'b0;
    case (funct)
      F_LOOP_WS_CONFIG_BOUNDS: begin
        n.p_i = rs1[15:0];
        n.p_j = rs1[31:16];
        n.p_k = rs1[47:32];
        n.n_i = rs2[15:0];
        n.n_j = rs2[31:16];
        n.n_k = rs2[47:32];
      end
      F_LOOP_WS_CONFIG_ADDRS_AB: begin
        n.a = rs1;
        n.b = rs2;
      end
      F_LOOP_WS_CONFIG_ADDRS_DC: begin
        n.d = rs1;
        n.c = rs2;
      end
      F_LOOP_WS_CONFIG_STRIDES_AB: begin
        n.astr = rs1;
        n.bstr = rs2;
      end
      F_LOOP_WS_CONFIG_STRIDES_DC: begin
        n.dstr = rs1;
        n.cstr = rs2;
      end
      default: begin  // LOOP_WS: mode bits and placement (spec 4.9)
        a_h = (rs1[19:18] == 2'd0) ? slot : rs1[19];
        b_h = (rs1[17:16] == 2'd0) ? slot : rs1[17];
        n.exacc = rs1[0];
        n.fullc = rs1[1];
        n.lowd = rs1[2];
        n.at = rs2[0];
        n.bt = rs2[1];
        n.resadd = rs2[2];
        n.act = rs1[10:8];
        n.a_row = a_h ? 32'(SP_HALF) : 32'd0;
        n.a_end = n.a_row + 32'(cur.n_i) * 32'(cur.n_k) * 32'(DIM);
        n.b_end = b_h ? 32'(SP_ROWS) : 32'(SP_HALF);
        n.b_row = n.b_end - 32'(cur.n_k) * 32'(cur.n_j) * 32'(DIM);
        n.c_row = acc_half ? 32'(ACC_HALF) : 32'd0;
        n.c_half = acc_half;
        n.sp_use = rs2[2] ? 2'b00 : ((2'b01 << a_h) | (2'b01 << b_h));
      end
    endcase
    return n;
  endfunction

  assign cfg_ready_o = !pend_q[cs];
  logic accept;
  assign accept = cfg_valid_i && cfg_ready_o && cfg_funct_i == F_LOOP_WS;

  // half-open row ranges [s1, e1) and [s2, e2) intersect
  function automatic logic rows_overlap(input logic [31:0] s1, input logic [31:0] e1, input logic [31:0] s2,
                                        input logic [31:0] e2);
    return s1 < e2 && s2 < e1;
  endfunction

  // a loop is the younger one while the other slot holds an older pending loop
  function automatic logic younger(input logic s, input logic [1:0] pend, input logic head);
    return pend[!s] && head == !s;
  endfunction

  // ---- LayerNorm/Softmax StC state (see its generator below) ----
  logic [15:0] ln_i_q, ln_row_q, ln_j_q;
  logic [1:0]  ln_pass_q;
  logic        ln_sid_q, ln_cfg_q;
  logic        ln_mode, last_ln;
  logic [15:0] ln_rows, ln_ids, ln_mb;  // rows of tile row i, rows of the current pair, tiles per DMA row
  logic [6:0]  ln_funct;
  logic [63:0] ln_rs1, ln_rs2;

  // ---- grant signals (from the arbiter below) ----
  logic take_a, take_b, take_bias, take_e, take_s;

  // ---- LdA / LdB / LdD / StC: tile movers (signals suffixed _a, _b, _bias, _s; _d/_q stay the register
  // convention) ----
  logic        sa, sb, sd, se, sst;  // the slot each sub-FSM works on
  logic        run_a, run_b, run_bias, run_s, acc_ok_e, room_ld, room_ex, room_st;
  loop_grid_t  g_a, g_b, g_bias, g_s;
  logic [63:0] dram_a, dram_b, dram_bias, dram_s, op_a, op_b, op_bias, op_s;
  logic        last_a, last_b, last_bias, last_s;
  logic [15:0] outer_a, outer_b, outer_bias, outer_s_unused;
  logic        gen_v_q;
  logic [1:0]  gen_cls_q;  // 0 ld, 1 ex, 2 st

  always_comb begin
    logic sp_ok_a, sp_ok_b, acc_ok_a, acc_ok_b, acc_ok_bias, acc_ok_s;
    sa = 1'b0;
    sb = 1'b0;
    sd = 1'b0;
    se = 1'b0;
    sst = 1'b0;
    run_a = 1'b0;
    run_b = 1'b0;
    run_bias = 1'b0;
    run_s = 1'b0;
    acc_ok_e = 1'b0;
    room_ld = 1'b0;
    room_ex = 1'b0;
    room_st = 1'b0;
    sp_ok_a = 1'b0;
    sp_ok_b = 1'b0;
    acc_ok_a = 1'b0;
    acc_ok_b = 1'b0;
    acc_ok_bias = 1'b0;
    acc_ok_s = 1'b0;
    g_a = '0;
    g_b = '0;
    g_bias = '0;
    g_s = '0;
    // (evaluated only while a loop is pending: every combinational block runs every simulated cycle)
    if (pend_q != 2'b00) begin
      // each sub-FSM works on the oldest pending loop it has not finished
      sa = (pend_q[head_q] && !da_q[head_q]) ? head_q : !head_q;
      sb = (pend_q[head_q] && !db_q[head_q]) ? head_q : !head_q;
      sd = (pend_q[head_q] && !dd_q[head_q]) ? head_q : !head_q;
      se = (pend_q[head_q] && !de_q[head_q]) ? head_q : !head_q;
      sst = (pend_q[head_q] && !ds_q[head_q]) ? head_q : !head_q;
      // throttle: room in the reservation-station queue, counting the command in the output register
      room_ld = 32'(rs_ld_i) + ((gen_v_q && gen_cls_q == 2'd0) ? 32'd1 : 32'd0) < RS_LD;
      room_ex = 32'(rs_ex_i) + ((gen_v_q && gen_cls_q == 2'd1) ? 32'd1 : 32'd0) + 32'd2 <= RS_EX;
      room_st = 32'(rs_st_i) + ((gen_v_q && gen_cls_q == 2'd2) ? 32'd1 : 32'd0) < RS_ST;
      // cross-loop order: shared scratchpad halves wait for the older loop's Ex, a shared accumulator half
      // for the older loop to finish issuing
      // (by rows, not halves: with B pinned by b_spad_id, the younger A shares a half with the older B but
      // not its rows, and waiting would serialize loading with computing)
      sp_ok_a = !younger(sa, pend_q, head_q) || de_q[!sa] || (dsc_q[sa].sp_use & dsc_q[!sa].sp_use) == 2'b00
                || (!rows_overlap(dsc_q[sa].a_row, dsc_q[sa].a_end, dsc_q[!sa].a_row, dsc_q[!sa].a_end)
                    && !rows_overlap(dsc_q[sa].a_row, dsc_q[sa].a_end, dsc_q[!sa].b_row, dsc_q[!sa].b_end));
      sp_ok_b = !younger(sb, pend_q, head_q) || de_q[!sb] || (dsc_q[sb].sp_use & dsc_q[!sb].sp_use) == 2'b00
                || (!rows_overlap(dsc_q[sb].b_row, dsc_q[sb].b_end, dsc_q[!sb].a_row, dsc_q[!sb].a_end)
                    && !rows_overlap(dsc_q[sb].b_row, dsc_q[sb].b_end, dsc_q[!sb].b_row, dsc_q[!sb].b_end));
      acc_ok_a = !younger(sa, pend_q, head_q) || dsc_q[sa].c_half != dsc_q[!sa].c_half;
      acc_ok_b = !younger(sb, pend_q, head_q) || dsc_q[sb].c_half != dsc_q[!sb].c_half;
      acc_ok_bias = !younger(sd, pend_q, head_q) || dsc_q[sd].c_half != dsc_q[!sd].c_half;
      acc_ok_e = !younger(se, pend_q, head_q) || dsc_q[se].c_half != dsc_q[!se].c_half;
      acc_ok_s = !younger(sst, pend_q, head_q) || dsc_q[sst].c_half != dsc_q[!sst].c_half;
      run_a = pend_q[sa] && !da_q[sa] && (dsc_q[sa].resadd ? acc_ok_a : sp_ok_a);
      run_b = pend_q[sb] && !db_q[sb] && (dsc_q[sb].resadd ? (acc_ok_b && da_q[sb]) : sp_ok_b);
      run_bias = pend_q[sd] && !dd_q[sd] && acc_ok_bias;
      run_s = pend_q[sst] && !ds_q[sst] && da_q[sst] && db_q[sst] && dd_q[sst] && de_q[sst] && acc_ok_s;
      // A is I x K (stored K x I when transposed); in resadd mode A and B are I x J tiles in the accumulator
      if (dsc_q[sa].resadd) begin
        g_a = '{rows: dsc_q[sa].n_i, cols: dsc_q[sa].n_j, pad_r: dsc_q[sa].p_i, pad_c: dsc_q[sa].p_j,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b1, dram: dsc_q[sa].a, stride: dsc_q[sa].astr, wide: 1'b0,
                lrow: dsc_q[sa].c_row, flags: ACC_BIT};
      end else if (dsc_q[sa].at) begin
        g_a = '{rows: dsc_q[sa].n_k, cols: dsc_q[sa].n_i, pad_r: dsc_q[sa].p_k, pad_c: dsc_q[sa].p_i,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b1, dram: dsc_q[sa].a, stride: dsc_q[sa].astr, wide: 1'b0,
                lrow: dsc_q[sa].a_row, flags: 32'd0};
      end else begin
        g_a = '{rows: dsc_q[sa].n_i, cols: dsc_q[sa].n_k, pad_r: dsc_q[sa].p_i, pad_c: dsc_q[sa].p_k,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b0, dram: dsc_q[sa].a, stride: dsc_q[sa].astr, wide: 1'b0,
                lrow: dsc_q[sa].a_row, flags: 32'd0};
      end
      // B is K x J (stored J x K when transposed)
      if (dsc_q[sb].resadd) begin
        g_b = '{rows: dsc_q[sb].n_i, cols: dsc_q[sb].n_j, pad_r: dsc_q[sb].p_i, pad_c: dsc_q[sb].p_j,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b1, dram: dsc_q[sb].b, stride: dsc_q[sb].bstr, wide: 1'b0,
                lrow: dsc_q[sb].c_row, flags: ACC_BIT | ACCUM_BIT};
      end else if (dsc_q[sb].bt) begin
        g_b = '{rows: dsc_q[sb].n_j, cols: dsc_q[sb].n_k, pad_r: dsc_q[sb].p_j, pad_c: dsc_q[sb].p_k,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b0, dram: dsc_q[sb].b, stride: dsc_q[sb].bstr, wide: 1'b0,
                lrow: dsc_q[sb].b_row, flags: 32'd0};
      end else begin
        g_b = '{rows: dsc_q[sb].n_k, cols: dsc_q[sb].n_j, pad_r: dsc_q[sb].p_k, pad_c: dsc_q[sb].p_j,
                max_blocks: 8'(MAX_BLOCK_LEN), row_outer: 1'b1, dram: dsc_q[sb].b, stride: dsc_q[sb].bstr, wide: 1'b0,
                lrow: dsc_q[sb].b_row, flags: 32'd0};
      end
      // D: column blocks (j) outer, the order Ex first needs the bias in
      g_bias = '{rows: dsc_q[sd].n_i, cols: dsc_q[sd].n_j, pad_r: dsc_q[sd].p_i, pad_c: dsc_q[sd].p_j,
              max_blocks: dsc_q[sd].lowd ? 8'(MAX_BLOCK_LEN) : 8'(MBLA), row_outer: 1'b0, dram: dsc_q[sd].d,
              stride: dsc_q[sd].dstr, wide: !dsc_q[sd].lowd, lrow: dsc_q[sd].c_row, flags: ACC_BIT};
      g_s = '{rows: dsc_q[sst].n_i, cols: dsc_q[sst].n_j, pad_r: dsc_q[sst].p_i, pad_c: dsc_q[sst].p_j,
              max_blocks: dsc_q[sst].fullc ? 8'd1 : 8'(MAX_BLOCK_LEN), row_outer: 1'b1, dram: dsc_q[sst].c,
              stride: dsc_q[sst].cstr, wide: dsc_q[sst].fullc, lrow: dsc_q[sst].c_row,
              flags: dsc_q[sst].fullc ? (ACC_BIT | FULL_BIT) : ACC_BIT};
    end
  end

  gemmini_loop_mover u_lda (
    .clk_i, .rst_ni, .run_i (run_a), .take_i (take_a), .g_i (g_a),
    .dram_o (dram_a), .op_o (op_a), .last_o (last_a), .outer_o (outer_a)
  );
  gemmini_loop_mover u_ldb (
    .clk_i, .rst_ni, .run_i (run_b), .take_i (take_b), .g_i (g_b),
    .dram_o (dram_b), .op_o (op_b), .last_o (last_b), .outer_o (outer_b)
  );
  gemmini_loop_mover u_ldd (
    .clk_i, .rst_ni, .run_i (run_bias), .take_i (take_bias), .g_i (g_bias),
    .dram_o (dram_bias), .op_o (op_bias), .last_o (last_bias), .outer_o (outer_bias)
  );
  gemmini_loop_mover u_stc (
    .clk_i, .rst_ni, .run_i (run_s && !ln_mode), .take_i (take_s && !ln_mode), .g_i (g_s),
    .dram_o (dram_s), .op_o (op_s), .last_o (last_s), .outer_o (outer_s_unused)
  );

  // ---- StC of a LayerNorm/Softmax loop (loops.rs norm_stores): for tile row i, pair of rows, pass (3), row
  // of the pair: a config_norm selecting the stat id, then one single-row mvout per DMA row along J ----
  always_comb begin
    logic [15:0] blocks, cols, r;
    logic [2:0] ncmd;
    logic fin;
    logic [63:0] off;
    logic [31:0] row;
    ln_rows = '0;
    ln_ids = '0;
    ln_mb = '0;
    blocks = '0;
    cols = '0;
    r = '0;
    ncmd = '0;
    fin = 1'b0;
    off = '0;
    row = '0;
    ln_funct = F_CONFIG;
    ln_rs1 = '0;
    ln_rs2 = '0;
    last_ln = 1'b0;
    ln_mode = HAS_NORM && (dsc_q[sst].act == ACT_LAYERNORM || dsc_q[sst].act == ACT_SOFTMAX);
    if (ln_mode && run_s) begin
      ln_rows = 16'(DIM) - ((ln_i_q + 16'd1 == dsc_q[sst].n_i) ? dsc_q[sst].p_i : 16'd0);
      ln_ids = (ln_rows - ln_row_q > 16'(NORM_IDS)) ? 16'(NORM_IDS) : ln_rows - ln_row_q;
      ln_mb = (dsc_q[sst].n_j < 16'(MAX_BLOCK_LEN)) ? dsc_q[sst].n_j : 16'(MAX_BLOCK_LEN);
      blocks = (dsc_q[sst].n_j - ln_j_q < ln_mb) ? dsc_q[sst].n_j - ln_j_q : ln_mb;
      fin = ln_j_q + ln_mb >= dsc_q[sst].n_j;
      cols = blocks * 16'(DIM) - ((ln_j_q + blocks >= dsc_q[sst].n_j) ? dsc_q[sst].p_j : 16'd0);
      r = ln_row_q + 16'(ln_sid_q);
      case (ln_pass_q)
        2'd0: ncmd = (dsc_q[sst].act == ACT_LAYERNORM) ? (fin ? NC_MEAN : NC_SUM) : NC_MAX;
        2'd1: ncmd = (dsc_q[sst].act == ACT_LAYERNORM) ? (fin ? NC_INV_STDDEV : NC_VARIANCE)
                                                        : (fin ? NC_INV_SUM_EXP : NC_SUM_EXP);
        default: ncmd = NC_RESET;
      endcase
      off = (64'(ln_i_q) * dsc_q[sst].cstr + 64'(ln_j_q)) * 64'(DIM) + 64'(r) * dsc_q[sst].cstr;
      row = dsc_q[sst].c_row + (32'(ln_i_q) * 32'(dsc_q[sst].n_j) + 32'(ln_j_q)) * 32'(DIM) + 32'(r);
      if (ln_cfg_q) begin
        // set_stats_id_only (bit 17) with the stat id
        ln_funct = F_CONFIG;
        ln_rs1 = 64'(CONFIG_NORM) | (64'(ln_sid_q) << 8) | (64'd1 << 17);
      end else begin
        ln_funct = F_MVOUT;
        ln_rs1 = dsc_q[sst].c + off * 64'(EB);
        ln_rs2 = {16'd1, cols, ACC_BIT | (32'(ncmd) << 26) | row};
        last_ln = fin && 16'(ln_sid_q) + 16'd1 == ln_ids && ln_pass_q == 2'd2
                  && ln_row_q + 16'(NORM_IDS) >= ln_rows && ln_i_q + 16'd1 == dsc_q[sst].n_i;
      end
    end
  end

  // ---- Ex: k outer, j, i inner; a preload then its compute ----
  logic [15:0] ek_q, ej_q, ei_q;
  logic        ephase_q;  // 1: the compute of the issued preload is next
  logic        run_e, last_e;
  logic [6:0]  ex_funct;
  logic [63:0] rs1_e, rs2_e;
  always_comb begin
    logic [31:0] arow, brow, crow;
    logic [15:0] kd, jd, id;
    logic raw_a, raw_b, raw_bias;
    run_e = 1'b0;
    last_e = 1'b0;
    ex_funct = F_PRELOAD;
    rs1_e = '0;
    rs2_e = '0;
    arow = '0;
    brow = '0;
    crow = '0;
    kd = '0;
    jd = '0;
    id = '0;
    raw_a = 1'b0;
    raw_b = 1'b0;
    raw_bias = 1'b0;
    if (pend_q[se] && !de_q[se]) begin
      // the A and B tiles of this k have been issued (the movers count k in their outer loop)
      raw_a = da_q[se] || (sa == se && outer_a > ek_q);
      raw_b = db_q[se] || (sb == se && outer_b > ek_q);
      // and the bias of this j (LdD counts column blocks of j in its outer loop)
      raw_bias = dd_q[se] || (sd == se && outer_bias > ej_q);
      run_e = ephase_q || (acc_ok_e && raw_a && raw_b && raw_bias);
      kd = 16'(DIM) - ((ek_q + 16'd1 == dsc_q[se].n_k) ? dsc_q[se].p_k : 16'd0);
      jd = 16'(DIM) - ((ej_q + 16'd1 == dsc_q[se].n_j) ? dsc_q[se].p_j : 16'd0);
      id = 16'(DIM) - ((ei_q + 16'd1 == dsc_q[se].n_i) ? dsc_q[se].p_i : 16'd0);
      brow = dsc_q[se].b_row + (dsc_q[se].bt ? 32'(ej_q) * 32'(dsc_q[se].n_k) + 32'(ek_q)
                                     : 32'(ek_q) * 32'(dsc_q[se].n_j) + 32'(ej_q)) * 32'(DIM);
      arow = dsc_q[se].a_row + (dsc_q[se].at ? 32'(ek_q) * 32'(dsc_q[se].n_i) + 32'(ei_q)
                                     : 32'(ei_q) * 32'(dsc_q[se].n_k) + 32'(ek_q)) * 32'(DIM);
      crow = dsc_q[se].c_row + (32'(ei_q) * 32'(dsc_q[se].n_j) + 32'(ej_q)) * 32'(DIM);
      last_e = ephase_q && ek_q + 16'd1 == dsc_q[se].n_k && ej_q + 16'd1 == dsc_q[se].n_j && ei_q + 16'd1 == dsc_q[se].n_i;
      if (!ephase_q) begin
        ex_funct = F_PRELOAD;
        rs1_e = (ei_q == '0) ? {kd, jd, brow} : GARBAGE_OP;
        rs2_e = {id, jd, ACC_BIT | ((dsc_q[se].exacc || ek_q != '0) ? ACCUM_BIT : 32'd0) | crow};
      end else begin
        ex_funct = (ei_q == '0) ? F_COMPUTE_PRELOADED : F_COMPUTE_ACCUMULATED;
        rs1_e = {id, kd, arow};
        rs2_e = GARBAGE_OP;
      end
    end
  end

  // ---- arbiter ----
  logic load_out;
  assign load_out = !gen_v_q || gen_ready_i;
  always_comb begin
    logic a_first;
    take_a = 1'b0;
    take_b = 1'b0;
    take_bias = 1'b0;
    take_e = 1'b0;
    take_s = 1'b0;
    a_first = 1'b0;
    if (load_out && pend_q != 2'b00) begin
      a_first = !run_b || (run_a && (sa != sb || outer_a <= outer_b));
      if (run_e && ephase_q) take_e = 1'b1;
      else if (run_s && room_st) take_s = 1'b1;
      else if (run_e && room_ex) take_e = 1'b1;
      else if (run_a && a_first && room_ld) take_a = 1'b1;
      else if (run_b && room_ld) take_b = 1'b1;
      else if (run_bias && room_ld) take_bias = 1'b1;
    end
  end

  // ---- state ----
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dsc_q[0] <= '0;
      dsc_q[1] <= '0;
      pend_q <= '0;
      da_q <= '0;
      db_q <= '0;
      dd_q <= '0;
      de_q <= '0;
      ds_q <= '0;
      cfg_slot_q <= 1'b0;
      head_q <= 1'b0;
      acc_half_q <= 1'b0;
      gen_v_q <= 1'b0;
      gen_cls_q <= '0;
      gen_funct_o <= '0;
      gen_rs1_o <= '0;
      gen_rs2_o <= '0;
      ek_q <= '0;
      ej_q <= '0;
      ei_q <= '0;
      ephase_q <= 1'b0;
      ln_i_q <= '0;
      ln_row_q <= '0;
      ln_j_q <= '0;
      ln_pass_q <= '0;
      ln_sid_q <= 1'b0;
      ln_cfg_q <= 1'b1;
    end else begin
      if (cfg_valid_i && cfg_ready_o) dsc_q[cs] <= desc_update(dsc_q[cs], cfg_funct_i, cfg_rs1_i, cfg_rs2_i, cs, acc_half_q);
      // generated-command register
      if (load_out && (gen_v_q || pend_q != 2'b00)) begin
        gen_v_q <= take_a || take_b || take_bias || take_e || take_s;
        if (take_e) begin
          gen_cls_q <= 2'd1;
          gen_funct_o <= ex_funct;
          gen_rs1_o <= rs1_e;
          gen_rs2_o <= rs2_e;
        end else if (take_s) begin
          gen_cls_q <= 2'd2;
          gen_funct_o <= ln_mode ? ln_funct : F_MVOUT;
          gen_rs1_o <= ln_mode ? ln_rs1 : dram_s;
          gen_rs2_o <= ln_mode ? ln_rs2 : op_s;
        end else if (take_bias) begin
          gen_cls_q <= 2'd0;
          gen_funct_o <= F_MVIN3;
          gen_rs1_o <= dram_bias;
          gen_rs2_o <= op_bias;
        end else if (take_a) begin
          gen_cls_q <= 2'd0;
          gen_funct_o <= F_MVIN;
          gen_rs1_o <= dram_a;
          gen_rs2_o <= op_a;
        end else if (take_b) begin
          gen_cls_q <= 2'd0;
          gen_funct_o <= F_MVIN2;
          gen_rs1_o <= dram_b;
          gen_rs2_o <= op_b;
        end
      end
      // LayerNorm/Softmax StC counters: j, then row of the pair, pass, pair, tile row
      if (take_s && ln_mode) begin
        if (ln_cfg_q) begin
          ln_cfg_q <= 1'b0;
        end else if (last_ln) begin
          ln_i_q <= '0;
          ln_row_q <= '0;
          ln_j_q <= '0;
          ln_pass_q <= '0;
          ln_sid_q <= 1'b0;
          ln_cfg_q <= 1'b1;
        end else if (ln_j_q + ln_mb < dsc_q[sst].n_j) begin
          ln_j_q <= ln_j_q + ln_mb;
        end else begin
          ln_j_q <= '0;
          ln_cfg_q <= 1'b1;
          if (16'(ln_sid_q) + 16'd1 < ln_ids) begin
            ln_sid_q <= 1'b1;
          end else begin
            ln_sid_q <= 1'b0;
            if (ln_pass_q != 2'd2) begin
              ln_pass_q <= ln_pass_q + 2'd1;
            end else begin
              ln_pass_q <= '0;
              if (ln_row_q + 16'(NORM_IDS) < ln_rows) begin
                ln_row_q <= ln_row_q + 16'(NORM_IDS);
              end else begin
                ln_row_q <= '0;
                ln_i_q <= ln_i_q + 16'd1;
              end
            end
          end
        end
      end
      // Ex counters
      if (take_e) begin
        ephase_q <= !ephase_q;
        if (ephase_q) begin
          if (ei_q + 16'd1 != dsc_q[se].n_i) ei_q <= ei_q + 16'd1;
          else begin
            ei_q <= '0;
            if (ej_q + 16'd1 != dsc_q[se].n_j) ej_q <= ej_q + 16'd1;
            else begin
              ej_q <= '0;
              ek_q <= (ek_q + 16'd1 != dsc_q[se].n_k) ? ek_q + 16'd1 : 16'd0;
            end
          end
        end
      end
      // done flags, acceptance and release
      if (pend_q != 2'b00 || accept) begin
        logic [1:0] pend_n, da_n, db_n, dd_n, de_n, ds_n, rel, left;
        da_n = da_q;
        db_n = db_q;
        dd_n = dd_q;
        de_n = de_q;
        ds_n = ds_q;
        if (take_a && last_a) da_n[sa] = 1'b1;
        if (take_b && last_b) db_n[sb] = 1'b1;
        if (take_bias && last_bias) dd_n[sd] = 1'b1;
        if (take_e && last_e) de_n[se] = 1'b1;
        if (take_s && (ln_mode ? last_ln : last_s)) ds_n[sst] = 1'b1;
        rel = pend_q & da_n & db_n & dd_n & de_n & ds_n;
        left = pend_q & ~rel;
        pend_n = left;
        da_n = da_n & ~rel;
        db_n = db_n & ~rel;
        dd_n = dd_n & ~rel;
        de_n = de_n & ~rel;
        ds_n = ds_n & ~rel;
        if (left == 2'b00) head_q <= cs;
        else if (rel[head_q]) head_q <= !head_q;
        if (accept) begin
          // sub-FSMs with nothing to do in this loop start out done
          pend_n[cs] = 1'b1;
          da_n[cs] = dsc_q[cs].a == '0;
          db_n[cs] = dsc_q[cs].b == '0;
          dd_n[cs] = dsc_q[cs].d == '0 || cfg_rs2_i[2];
          de_n[cs] = cfg_rs2_i[2];
          ds_n[cs] = dsc_q[cs].c == '0;
          cfg_slot_q <= !cs;
          if (dsc_q[cs].c != '0) acc_half_q <= !acc_half_q;
        end
        pend_q <= pend_n;
        da_q <= da_n;
        db_q <= db_n;
        dd_q <= dd_n;
        de_q <= de_n;
        ds_q <= ds_n;
      end
    end
  end

  assign gen_valid_o = gen_v_q;
  assign active_o = pend_q != 2'b00 || gen_v_q;
  assign state_o = {pend_q, gen_v_q, ephase_q};
endmodule
