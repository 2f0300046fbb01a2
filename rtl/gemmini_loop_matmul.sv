// The LOOP_WS unit (spec 4.9; docs/accelerator.md section 6; src/accel/loops.rs is the reference). Two
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
  input  loop_view_t  view_i,
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
  logic [15:0] n_i_q [2], n_j_q [2], n_k_q [2], p_i_q [2], p_j_q [2], p_k_q [2];
  logic [63:0] a_q [2], b_q [2], d_q [2], c_q [2], astr_q [2], bstr_q [2], dstr_q [2], cstr_q [2];
  // set when LOOP_WS accepts the slot
  logic        exacc_q [2], fullc_q [2], lowd_q [2], at_q [2], bt_q [2], resadd_q [2];
  logic [31:0] a_row_q [2], b_row_q [2], c_row_q [2];
  logic [1:0]  sp_use_q [2];  // scratchpad halves the loop's A and B live in
  logic        c_half_q [2];
  logic [1:0]  pend_q, da_q, db_q, dd_q, de_q, ds_q;
  logic        cfg_slot_q, head_q, acc_half_q;

  logic cs;
  assign cs = cfg_slot_q;

  // ---- the LOOP_WS check (order and rules of src/accel/loops.rs check_ws) ----
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
      a_rows = 64'(n_i_q[cs]) * 64'(n_k_q[cs]) * 64'(DIM);
      b_rows = 64'(n_k_q[cs]) * 64'(n_j_q[cs]) * 64'(DIM);
      if (cfg_rs2_i[63:3] != '0 || cfg_rs1_i[10:8] > 3'd1) chk_err_o = E_UNSUPPORTED;
      else if (!resadd && view_i.pend) chk_err_o = E_PAIRING;
      else if (n_i_q[cs] == '0 || n_j_q[cs] == '0 || (!resadd && n_k_q[cs] == '0)) chk_err_o = E_BAD_LOOP;
      else if (32'(p_i_q[cs]) >= DIM || 32'(p_j_q[cs]) >= DIM || 32'(p_k_q[cs]) >= DIM) chk_err_o = E_BAD_LOOP;
      else if (a_id == 2'd3 || b_id == 2'd3) chk_err_o = E_BAD_LOOP;
      else if (64'(n_i_q[cs]) * 64'(n_j_q[cs]) * 64'(DIM) > 64'(ACC_HALF)) chk_err_o = E_BAD_LOOP;
      else if (resadd) begin
        if (d_q[cs] != '0) chk_err_o = E_BAD_LOOP;
        else if (a_q[cs] != '0 && !(view_i.shrink[0] && view_i.bstride_dim[0])) chk_err_o = E_BAD_LOOP;
        else if (b_q[cs] != '0 && !(view_i.shrink[1] && view_i.bstride_dim[1])) chk_err_o = E_BAD_LOOP;
      end else begin
        if (a_t && b_t) chk_err_o = E_BAD_LOOP;
        else if (!view_i.ws) chk_err_o = E_BAD_LOOP;
        else if (a_t != view_i.at || b_t != view_i.bt) chk_err_o = E_BAD_LOOP;
        else if (!view_i.strides_one) chk_err_o = E_BAD_LOOP;
        else if (a_h == b_h ? a_rows + b_rows > 64'(SP_HALF) : (a_rows > 64'(SP_HALF) || b_rows > 64'(SP_HALF)))
          chk_err_o = E_BAD_LOOP;
        else if ((a_q[cs] != '0 && !view_i.bstride_dim[0]) || (b_q[cs] != '0 && !view_i.bstride_dim[1])
                 || (d_q[cs] != '0 && !view_i.bstride_dim[2])) chk_err_o = E_BAD_LOOP;
        else if (d_q[cs] != '0 && view_i.shrink[2] != cfg_rs1_i[2]) chk_err_o = E_BAD_LOOP;
      end
      if (chk_err_o == E_NONE && c_q[cs] != '0 && view_i.pool) chk_err_o = E_BAD_LOOP;
    end
  end

  assign cfg_ready_o = !pend_q[cs];
  logic accept;
  assign accept = cfg_valid_i && cfg_ready_o && cfg_funct_i == F_LOOP_WS;

  // ---- which slot each sub-FSM works on: the oldest pending one it has not finished ----
  logic sa, sb, sd, se, sst;
  assign sa = (pend_q[head_q] && !da_q[head_q]) ? head_q : !head_q;
  assign sb = (pend_q[head_q] && !db_q[head_q]) ? head_q : !head_q;
  assign sd = (pend_q[head_q] && !dd_q[head_q]) ? head_q : !head_q;
  assign se = (pend_q[head_q] && !de_q[head_q]) ? head_q : !head_q;
  assign sst = (pend_q[head_q] && !ds_q[head_q]) ? head_q : !head_q;

  // a loop is the younger one while the other slot holds an older pending loop
  function automatic logic younger(input logic s, input logic [1:0] pend, input logic head);
    return pend[!s] && head == !s;
  endfunction

  // ---- grant signals (from the arbiter below) ----
  logic take_a, take_b, take_d, take_e, take_s;

  // ---- LdA / LdB / LdD / StC: tile movers ----
  logic run_a, run_b, run_d, run_s;
  logic [63:0] dram_a, dram_b, dram_d, dram_s, op_a, op_b, op_d, op_s;
  logic last_a, last_b, last_d, last_s;
  logic [15:0] outer_a, outer_b, outer_d, outer_s_unused;

  // throttle: room in the reservation-station queue, counting the command in the output register
  logic gen_v_q;
  logic [1:0] gen_cls_q;  // 0 ld, 1 ex, 2 st
  logic room_ld, room_ex, room_st;
  assign room_ld = 32'(rs_ld_i) + ((gen_v_q && gen_cls_q == 2'd0) ? 32'd1 : 32'd0) < RS_LD;
  assign room_ex = 32'(rs_ex_i) + ((gen_v_q && gen_cls_q == 2'd1) ? 32'd1 : 32'd0) + 32'd2 <= RS_EX;
  assign room_st = 32'(rs_st_i) + ((gen_v_q && gen_cls_q == 2'd2) ? 32'd1 : 32'd0) < RS_ST;

  logic sp_ok_a, sp_ok_b, acc_ok_a, acc_ok_b, acc_ok_d, acc_ok_e, acc_ok_s;
  always_comb begin
    sp_ok_a = !younger(sa, pend_q, head_q) || de_q[!sa] || (sp_use_q[sa] & sp_use_q[!sa]) == 2'b00;
    sp_ok_b = !younger(sb, pend_q, head_q) || de_q[!sb] || (sp_use_q[sb] & sp_use_q[!sb]) == 2'b00;
    acc_ok_a = !younger(sa, pend_q, head_q) || c_half_q[sa] != c_half_q[!sa];
    acc_ok_b = !younger(sb, pend_q, head_q) || c_half_q[sb] != c_half_q[!sb];
    acc_ok_d = !younger(sd, pend_q, head_q) || c_half_q[sd] != c_half_q[!sd];
    acc_ok_e = !younger(se, pend_q, head_q) || c_half_q[se] != c_half_q[!se];
    acc_ok_s = !younger(sst, pend_q, head_q) || c_half_q[sst] != c_half_q[!sst];
  end
  assign run_a = pend_q[sa] && !da_q[sa] && (resadd_q[sa] ? acc_ok_a : sp_ok_a);
  assign run_b = pend_q[sb] && !db_q[sb] && (resadd_q[sb] ? (acc_ok_b && da_q[sb]) : sp_ok_b);
  assign run_d = pend_q[sd] && !dd_q[sd] && acc_ok_d;
  assign run_s = pend_q[sst] && !ds_q[sst] && da_q[sst] && db_q[sst] && dd_q[sst] && de_q[sst] && acc_ok_s;

  // A is I x K (stored K x I when transposed); in resadd mode A and B are I x J tiles in the accumulator.
  gemmini_loop_mover u_lda (
    .clk_i, .rst_ni, .run_i (run_a), .take_i (take_a),
    .rows_i       (resadd_q[sa] ? n_i_q[sa] : at_q[sa] ? n_k_q[sa] : n_i_q[sa]),
    .cols_i       (resadd_q[sa] ? n_j_q[sa] : at_q[sa] ? n_i_q[sa] : n_k_q[sa]),
    .pad_r_i      (resadd_q[sa] ? p_i_q[sa] : at_q[sa] ? p_k_q[sa] : p_i_q[sa]),
    .pad_c_i      (resadd_q[sa] ? p_j_q[sa] : at_q[sa] ? p_i_q[sa] : p_k_q[sa]),
    .max_blocks_i (8'(MAX_BLOCK_LEN)),
    .row_outer_i  (resadd_q[sa] || at_q[sa]),
    .dram_i (a_q[sa]), .stride_i (astr_q[sa]), .wide_i (1'b0),
    .local_i      (resadd_q[sa] ? c_row_q[sa] : a_row_q[sa]),
    .flags_i      (resadd_q[sa] ? ACC_BIT : 32'd0),
    .dram_o (dram_a), .op_o (op_a), .last_o (last_a), .outer_o (outer_a)
  );
  // B is K x J (stored J x K when transposed).
  gemmini_loop_mover u_ldb (
    .clk_i, .rst_ni, .run_i (run_b), .take_i (take_b),
    .rows_i       (resadd_q[sb] ? n_i_q[sb] : bt_q[sb] ? n_j_q[sb] : n_k_q[sb]),
    .cols_i       (resadd_q[sb] ? n_j_q[sb] : bt_q[sb] ? n_k_q[sb] : n_j_q[sb]),
    .pad_r_i      (resadd_q[sb] ? p_i_q[sb] : bt_q[sb] ? p_j_q[sb] : p_k_q[sb]),
    .pad_c_i      (resadd_q[sb] ? p_j_q[sb] : bt_q[sb] ? p_k_q[sb] : p_j_q[sb]),
    .max_blocks_i (8'(MAX_BLOCK_LEN)),
    .row_outer_i  (resadd_q[sb] || !bt_q[sb]),
    .dram_i (b_q[sb]), .stride_i (bstr_q[sb]), .wide_i (1'b0),
    .local_i      (resadd_q[sb] ? c_row_q[sb] : b_row_q[sb]),
    .flags_i      (resadd_q[sb] ? (ACC_BIT | ACCUM_BIT) : 32'd0),
    .dram_o (dram_b), .op_o (op_b), .last_o (last_b), .outer_o (outer_b)
  );
  gemmini_loop_mover u_ldd (
    .clk_i, .rst_ni, .run_i (run_d), .take_i (take_d),
    .rows_i (n_i_q[sd]), .cols_i (n_j_q[sd]), .pad_r_i (p_i_q[sd]), .pad_c_i (p_j_q[sd]),
    .max_blocks_i (lowd_q[sd] ? 8'(MAX_BLOCK_LEN) : 8'(MBLA)),
    .row_outer_i (1'b0),  // column blocks (j) outer: the order Ex first needs the bias in
    .dram_i (d_q[sd]), .stride_i (dstr_q[sd]), .wide_i (!lowd_q[sd]),
    .local_i (c_row_q[sd]), .flags_i (ACC_BIT),
    .dram_o (dram_d), .op_o (op_d), .last_o (last_d), .outer_o (outer_d)
  );
  gemmini_loop_mover u_stc (
    .clk_i, .rst_ni, .run_i (run_s), .take_i (take_s),
    .rows_i (n_i_q[sst]), .cols_i (n_j_q[sst]), .pad_r_i (p_i_q[sst]), .pad_c_i (p_j_q[sst]),
    .max_blocks_i (fullc_q[sst] ? 8'd1 : 8'(MAX_BLOCK_LEN)),
    .row_outer_i (1'b1),
    .dram_i (c_q[sst]), .stride_i (cstr_q[sst]), .wide_i (fullc_q[sst]),
    .local_i (c_row_q[sst]), .flags_i (fullc_q[sst] ? (ACC_BIT | FULL_BIT) : ACC_BIT),
    .dram_o (dram_s), .op_o (op_s), .last_o (last_s), .outer_o (outer_s_unused)
  );

  // ---- Ex: k outer, j, i inner; a preload then its compute ----
  logic [15:0] ek_q, ej_q, ei_q;
  logic        ephase_q;  // 1: the compute of the issued preload is next
  logic        run_e, last_e;
  logic [6:0]  funct_e;
  logic [63:0] rs1_e, rs2_e;
  always_comb begin
    logic [31:0] arow, brow, crow;
    logic [15:0] kd, jd, id;
    logic raw_a, raw_b, raw_d;
    run_e = 1'b0;
    last_e = 1'b0;
    funct_e = F_PRELOAD;
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
    raw_d = 1'b0;
    if (pend_q[se] && !de_q[se]) begin
      // the A and B tiles of this k have been issued (the movers count k in their outer loop)
      raw_a = da_q[se] || (sa == se && outer_a > ek_q);
      raw_b = db_q[se] || (sb == se && outer_b > ek_q);
      // and the bias of this j (LdD counts column blocks of j in its outer loop)
      raw_d = dd_q[se] || (sd == se && outer_d > ej_q);
      run_e = ephase_q || (acc_ok_e && raw_a && raw_b && raw_d);
      kd = 16'(DIM) - ((ek_q + 16'd1 == n_k_q[se]) ? p_k_q[se] : 16'd0);
      jd = 16'(DIM) - ((ej_q + 16'd1 == n_j_q[se]) ? p_j_q[se] : 16'd0);
      id = 16'(DIM) - ((ei_q + 16'd1 == n_i_q[se]) ? p_i_q[se] : 16'd0);
      brow = b_row_q[se] + (bt_q[se] ? 32'(ej_q) * 32'(n_k_q[se]) + 32'(ek_q)
                                     : 32'(ek_q) * 32'(n_j_q[se]) + 32'(ej_q)) * 32'(DIM);
      arow = a_row_q[se] + (at_q[se] ? 32'(ek_q) * 32'(n_i_q[se]) + 32'(ei_q)
                                     : 32'(ei_q) * 32'(n_k_q[se]) + 32'(ek_q)) * 32'(DIM);
      crow = c_row_q[se] + (32'(ei_q) * 32'(n_j_q[se]) + 32'(ej_q)) * 32'(DIM);
      last_e = ephase_q && ek_q + 16'd1 == n_k_q[se] && ej_q + 16'd1 == n_j_q[se] && ei_q + 16'd1 == n_i_q[se];
      if (!ephase_q) begin
        funct_e = F_PRELOAD;
        rs1_e = (ei_q == '0) ? {kd, jd, brow} : GARBAGE_OP;
        rs2_e = {id, jd, ACC_BIT | ((exacc_q[se] || ek_q != '0) ? ACCUM_BIT : 32'd0) | crow};
      end else begin
        funct_e = (ei_q == '0) ? F_COMPUTE_PRELOADED : F_COMPUTE_ACCUMULATED;
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
    take_d = 1'b0;
    take_e = 1'b0;
    take_s = 1'b0;
    a_first = !run_b || (run_a && (sa != sb || outer_a <= outer_b));
    if (load_out) begin
      if (run_e && ephase_q) take_e = 1'b1;
      else if (run_s && room_st) take_s = 1'b1;
      else if (run_e && room_ex) take_e = 1'b1;
      else if (run_a && a_first && room_ld) take_a = 1'b1;
      else if (run_b && room_ld) take_b = 1'b1;
      else if (run_d && room_ld) take_d = 1'b1;
    end
  end

  // ---- state ----
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
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
      n_i_q[0] <= '0;
      n_j_q[0] <= '0;
      n_k_q[0] <= '0;
      p_i_q[0] <= '0;
      p_j_q[0] <= '0;
      p_k_q[0] <= '0;
      a_q[0] <= '0;
      b_q[0] <= '0;
      c_q[0] <= '0;
      d_q[0] <= '0;
      astr_q[0] <= '0;
      bstr_q[0] <= '0;
      cstr_q[0] <= '0;
      dstr_q[0] <= '0;
      n_i_q[1] <= '0;
      n_j_q[1] <= '0;
      n_k_q[1] <= '0;
      p_i_q[1] <= '0;
      p_j_q[1] <= '0;
      p_k_q[1] <= '0;
      a_q[1] <= '0;
      b_q[1] <= '0;
      c_q[1] <= '0;
      d_q[1] <= '0;
      astr_q[1] <= '0;
      bstr_q[1] <= '0;
      cstr_q[1] <= '0;
      dstr_q[1] <= '0;
    end else begin
      // configuration
      if (cfg_valid_i && cfg_ready_o) begin
        case (cfg_funct_i)
          7'd9: begin
            p_i_q[cs] <= cfg_rs1_i[15:0];
            p_j_q[cs] <= cfg_rs1_i[31:16];
            p_k_q[cs] <= cfg_rs1_i[47:32];
            n_i_q[cs] <= cfg_rs2_i[15:0];
            n_j_q[cs] <= cfg_rs2_i[31:16];
            n_k_q[cs] <= cfg_rs2_i[47:32];
          end
          7'd10: begin
            a_q[cs] <= cfg_rs1_i;
            b_q[cs] <= cfg_rs2_i;
          end
          7'd11: begin
            d_q[cs] <= cfg_rs1_i;
            c_q[cs] <= cfg_rs2_i;
          end
          7'd12: begin
            astr_q[cs] <= cfg_rs1_i;
            bstr_q[cs] <= cfg_rs2_i;
          end
          7'd13: begin
            dstr_q[cs] <= cfg_rs1_i;
            cstr_q[cs] <= cfg_rs2_i;
          end
          default: ;
        endcase
      end
      // generated-command register
      if (load_out) begin
        gen_v_q <= take_a || take_b || take_d || take_e || take_s;
        if (take_e) begin
          gen_cls_q <= 2'd1;
          gen_funct_o <= funct_e;
          gen_rs1_o <= rs1_e;
          gen_rs2_o <= rs2_e;
        end else if (take_s) begin
          gen_cls_q <= 2'd2;
          gen_funct_o <= F_MVOUT;
          gen_rs1_o <= dram_s;
          gen_rs2_o <= op_s;
        end else if (take_d) begin
          gen_cls_q <= 2'd0;
          gen_funct_o <= F_MVIN3;
          gen_rs1_o <= dram_d;
          gen_rs2_o <= op_d;
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
      // Ex counters
      if (take_e) begin
        ephase_q <= !ephase_q;
        if (ephase_q) begin
          if (ei_q + 16'd1 != n_i_q[se]) ei_q <= ei_q + 16'd1;
          else begin
            ei_q <= '0;
            if (ej_q + 16'd1 != n_j_q[se]) ej_q <= ej_q + 16'd1;
            else begin
              ej_q <= '0;
              ek_q <= (ek_q + 16'd1 != n_k_q[se]) ? ek_q + 16'd1 : 16'd0;
            end
          end
        end
      end
      // done flags, acceptance and release
      begin
        logic [1:0] pend_n, da_n, db_n, dd_n, de_n, ds_n, rel, left;
        da_n = da_q;
        db_n = db_q;
        dd_n = dd_q;
        de_n = de_q;
        ds_n = ds_q;
        if (take_a && last_a) da_n[sa] = 1'b1;
        if (take_b && last_b) db_n[sb] = 1'b1;
        if (take_d && last_d) dd_n[sd] = 1'b1;
        if (take_e && last_e) de_n[se] = 1'b1;
        if (take_s && last_s) ds_n[sst] = 1'b1;
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
          da_n[cs] = a_q[cs] == '0;
          db_n[cs] = b_q[cs] == '0;
          dd_n[cs] = d_q[cs] == '0 || cfg_rs2_i[2];
          de_n[cs] = cfg_rs2_i[2];
          ds_n[cs] = c_q[cs] == '0;
          cfg_slot_q <= !cs;
          if (c_q[cs] != '0) acc_half_q <= !acc_half_q;
        end
        pend_q <= pend_n;
        da_q <= da_n;
        db_q <= db_n;
        dd_q <= dd_n;
        de_q <= de_n;
        ds_q <= ds_n;
      end
      if (accept) begin
        logic a_h, b_h;
        a_h = (cfg_rs1_i[19:18] == 2'd0) ? cs : cfg_rs1_i[19];
        b_h = (cfg_rs1_i[17:16] == 2'd0) ? cs : cfg_rs1_i[17];
        exacc_q[cs] <= cfg_rs1_i[0];
        fullc_q[cs] <= cfg_rs1_i[1];
        lowd_q[cs] <= cfg_rs1_i[2];
        at_q[cs] <= cfg_rs2_i[0];
        bt_q[cs] <= cfg_rs2_i[1];
        resadd_q[cs] <= cfg_rs2_i[2];
        a_row_q[cs] <= a_h ? 32'(SP_HALF) : 32'd0;
        b_row_q[cs] <= (b_h ? 32'(SP_ROWS) : 32'(SP_HALF)) - 32'(n_k_q[cs]) * 32'(n_j_q[cs]) * 32'(DIM);
        c_row_q[cs] <= acc_half_q ? 32'(ACC_HALF) : 32'd0;
        c_half_q[cs] <= acc_half_q;
        sp_use_q[cs] <= cfg_rs2_i[2] ? 2'b00 : ((2'b01 << a_h) | (2'b01 << b_h));
      end
    end
  end

  assign gen_valid_o = gen_v_q;
  assign active_o = pend_q != 2'b00 || gen_v_q;
  assign state_o = {pend_q, gen_v_q, ephase_q};
endmodule
