// The LOOP_CONV_WS unit (spec 4.10; docs/accelerator.md section 6.1; src/sim/accel/loops.rs unroll_conv is the
// reference). Two double-buffered descriptor slots, as in the LOOP_WS unit: funct 16-21 fill the configuring
// slot, LOOP_CONV_WS (checked here against the front end's configuration shadow) marks it pending and fixes its
// placement. Gemmini's LoopConv semantics: padding, strides, kernel and input dilation, downsampling, rot180
// weights, the four transposes, depthwise weights and max-pooling through config_st. Two generators issue the
// unroller's commands: L the loads (input, weights, bias) and E the execute pairs (after a config_ex with
// trans_input_3120) then the stores (between two config_st with pooling), each in the unroller's order within
// its parts, E on the oldest loop once L has issued all of that loop's loads; L may run ahead into the younger
// loop, whose scratchpad writes wait for the older loop's execute commands when they share a half, and whose
// bias waits for the older loop to finish when they share an accumulator half. A LOOP_CONV_WS that follows a
// loop issuing configuration commands waits, unchecked, until that loop is done (so it is checked against the
// configuration the older loop leaves, as the spec model checks it). The reservation station orders the rest.
// An arbiter (E's compute > E > L) moves one command per cycle into an output register that the front end
// checks like any command; a generator issues only when its reservation-station queue has room (counting that
// register).
module gemmini_loop_conv
  import gemmini_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  // configuration commands (funct 15-21) from the front end's head
  input  logic        chk_i,          // the head is a LOOP_CONV_WS: compute chk_err_o
  input  logic        cfg_valid_i,    // the head is a legal funct 15-21 (accept it when ready)
  output logic        cfg_ready_o,
  input  logic [6:0]  cfg_funct_i,
  input  logic [63:0] cfg_rs1_i,
  input  logic [63:0] cfg_rs2_i,
  // (the LOOP_WS-only fields are not read)
  // verilator lint_off UNUSEDSIGNAL
  input  loop_view_t  view_i,
  // verilator lint_on UNUSEDSIGNAL
  output logic [7:0]  chk_err_o,      // the error of a LOOP_CONV_WS at the head (E_NONE if legal)
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
  output logic        active_o        // a loop is pending (ordinary commands wait)
);
  localparam int unsigned MBLA = (MAX_BYTES / (4 * DIM)) > 0 ? MAX_BYTES / (4 * DIM) : 1;
  localparam int unsigned SP_HALF = SP_ROWS / 2;
  localparam int unsigned ACC_HALF = ACC_ROWS / 2;
  localparam logic [31:0] ACC_BIT = 32'h8000_0000;
  localparam logic [31:0] ACCUM_BIT = 32'h4000_0000;
  localparam logic [63:0] GARBAGE_OP = {16'(DIM), 16'(DIM), 32'hffff_ffff};
  localparam logic [31:0] D = 32'(DIM);
  localparam logic [31:0] STEP_BIAS = 32'(DIM * MBLA);   // output channels per bias mvin
  localparam logic [31:0] STEP_WIDE = 32'(DIM * MAX_BLOCK_LEN);  // channels per input / weight mvin
  localparam logic [63:0] EB64 = 64'(EB);
  // L phases (input, weights, bias: they write different memories through different config_ld states, so
  // this order is equivalent to the unroller's bias, input, weights) and E phases
  localparam logic [1:0] P_IN = 2'd0, P_W = 2'd1, P_BIAS = 2'd2;
  localparam logic [2:0] E_CFG = 3'd0, E_EX = 3'd1, E_PRE = 3'd2, E_ST = 3'd3, E_POST = 3'd4;

  conv_desc_t dsc_q [2];
  logic [1:0] pend_q, dl_q, de_q;  // pending; L has issued all its loads; E has issued all its execute pairs
  logic       cfg_slot_q, head_q, acc_half_q;
  logic       cs;
  assign cs = cfg_slot_q;

  function automatic logic [63:0] cdiv(input logic [63:0] n);
    return (n + 64'(DIM) - 64'd1) / 64'(DIM);
  endfunction
  function automatic logic [31:0] min32(input logic [31:0] a, input logic [31:0] b);
    return a < b ? a : b;
  endfunction
  function automatic logic [63:0] undil(input logic [63:0] x, input logic id);
    return id ? (x + 64'd1) >> 1 : x;
  endfunction

  // Derived sizes of a descriptor with the LOOP_CONV_WS mode bits rs1/rs2 (loops.rs ConvShape).
  typedef struct packed {
    logic [63:0] irows_wd;   // the padded window before input dilation
    logic [63:0] icols_wd;
    logic [63:0] irows;
    logic [63:0] icols;
    logic [63:0] irows_unp;
    logic [63:0] icols_unp;
    logic [63:0] lrows;
    logic [63:0] lcols;
    logic [63:0] in_blk;
    logic [63:0] w_blk;
    logic [63:0] out_blk;
    logic [63:0] in_rows;
    logic [63:0] w_rows;
    logic [63:0] acc_rows;
  } shape_t;
  // verilator lint_off UNUSEDSIGNAL
  function automatic shape_t shape(input conv_desc_t g, input logic [63:0] rs1, input logic [63:0] rs2);
  // verilator lint_on UNUSEDSIGNAL
    shape_t s;
    logic id, ds, t_in, t_w0132;
    logic [63:0] kdm1;
    id = rs2[2];
    ds = rs2[1];
    t_in = rs1[5];
    t_w0132 = rs1[4];
    kdm1 = (g.kdil == '0) ? 64'd0 : 64'(g.kdil) - 64'd1;
    s.irows_wd = 64'(g.orows) * 64'(g.stride) + (64'(g.krows) - 64'd1) * kdm1 + 64'(g.krows) - 64'd1;
    s.icols_wd = 64'(g.ocols) * 64'(g.stride) + (64'(g.kcols) - 64'd1) * kdm1 + 64'(g.kcols) - 64'd1;
    // (a zero-sized kernel makes the window 0: it is refused before the window is used)
    if (g.krows == '0) s.irows_wd = '0;
    if (g.kcols == '0) s.icols_wd = '0;
    s.irows_unp = undil((s.irows_wd > 64'(g.upad) + 64'(g.dpad)) ? s.irows_wd - 64'(g.upad) - 64'(g.dpad) : 64'd0, id);
    s.icols_unp = undil((s.icols_wd > 64'(g.lpad) + 64'(g.rpad)) ? s.icols_wd - 64'(g.lpad) - 64'(g.rpad) : 64'd0, id);
    s.irows = id ? s.irows_unp + undil(64'(g.upad), id) + undil(64'(g.dpad), id) : s.irows_wd;
    s.icols = id ? s.icols_unp + undil(64'(g.lpad), id) + undil(64'(g.rpad), id) : s.icols_wd;
    s.lrows = ds ? s.irows >> 1 : s.irows;
    s.lcols = ds ? s.icols >> 1 : s.icols;
    s.in_blk = (t_in ? 64'(g.kchs) : 64'(g.batches)) * s.lrows * s.lcols;
    s.in_rows = cdiv(t_in ? 64'(g.batches) : 64'(g.kchs)) * s.in_blk;
    s.w_blk = 64'(g.krows) * 64'(g.kcols) * (t_w0132 ? 64'(g.pochs) : 64'(g.kchs));
    s.w_rows = cdiv(t_w0132 ? 64'(g.kchs) : 64'(g.pochs)) * s.w_blk;
    s.out_blk = 64'(g.batches) * 64'(g.orows) * 64'(g.ocols);
    s.acc_rows = cdiv(64'(g.pochs)) * s.out_blk;
    return s;
  endfunction

  logic        gen_v_q, load_out;  // the generated-command output register holds a command
  logic [1:0]  gen_cls_q;  // 0 ld, 1 ex, 2 st

  // ---- the LOOP_CONV_WS check (order and rules of src/sim/accel/loops.rs check_conv) ----
  // (the blocks below read the descriptor slots in place, never copying one: idle cycles cost nothing)
  logic hold;  // the previous loop issues configuration commands: wait until it is done, unchecked
  assign hold = (pend_q[!cs] && dsc_q[!cs].setcfg) || (gen_v_q && gen_funct_o == F_CONFIG);
  always_comb begin
    // verilator lint_off UNUSEDSIGNAL
    shape_t sh;
    // verilator lint_on UNUSEDSIGNAL
    logic a_h, b_h, pool, unit_k, no_pads, id, ds, t_in, t_w0132, t_w1203, t_out, dw;
    logic [1:0] a_id, b_id, act;
    logic [15:0] want_a, want_c;
    logic [63:0] want_st;
    chk_err_o = E_NONE;
    sh = '0;
    {a_h, b_h, pool, unit_k, no_pads, id, ds, t_in, t_w0132, t_w1203, t_out, dw} = '0;
    {a_id, b_id, act} = '0;
    {want_a, want_c} = '0;
    want_st = '0;
    if (chk_i && !hold) begin
      sh = shape(dsc_q[cs], cfg_rs1_i, cfg_rs2_i);
      a_id = cfg_rs1_i[19:18];
      b_id = cfg_rs1_i[17:16];
      a_h = (a_id == 2'd0) ? cs : a_id[1];
      b_h = (b_id == 2'd0) ? cs : b_id[1];
      pool = !cfg_rs2_i[0];
      ds = cfg_rs2_i[1];
      id = cfg_rs2_i[2];
      act = cfg_rs2_i[4:3];
      t_out = cfg_rs1_i[2];
      t_w1203 = cfg_rs1_i[3];
      t_w0132 = cfg_rs1_i[4];
      t_in = cfg_rs1_i[5];
      dw = cfg_rs1_i[6];
      unit_k = dsc_q[cs].krows == 16'd1 && dsc_q[cs].kcols == 16'd1;
      no_pads = dsc_q[cs].lpad == '0 && dsc_q[cs].rpad == '0 && dsc_q[cs].upad == '0 && dsc_q[cs].dpad == '0;
      want_a = 16'(dsc_q[cs].stride) >> ds;
      want_c = id ? 16'd2 : 16'd1;
      want_st = (t_out ? 64'(dsc_q[cs].batch_size) * 64'(dsc_q[cs].out_channels) : 64'(dsc_q[cs].out_stride)) * EB64;
      if (act > 2'd1 || dsc_q[cs].kdil == '0 || (t_w1203 && t_w0132) || (t_in && t_w0132) || (dw && (t_w1203 || t_w0132))
          || (t_out && pool) || (id && (dsc_q[cs].stride != 8'd1 || dsc_q[cs].kdil != 10'd1))
          || (ds && !(dsc_q[cs].stride == 8'd2 && unit_k && no_pads && !id && !t_in && !pool))
          || (pool && (dsc_q[cs].pool_size == '0 || dsc_q[cs].pool_size > 16'd3 || dsc_q[cs].pool_stride == '0 || dsc_q[cs].pool_stride > 8'd3))
          || (pool && (dsc_q[cs].plpad > 8'd3 || dsc_q[cs].pupad > 11'd3))
          || (pool && (dsc_q[cs].porows == '0 || dsc_q[cs].pocols == '0 || dsc_q[cs].pool_out_col_dim == '0))
          || (pool && (dsc_q[cs].orows > 16'd255 || dsc_q[cs].ocols > 16'd255 || dsc_q[cs].porows > 16'd255 || dsc_q[cs].pocols > 16'd255
                       || dsc_q[cs].pool_out_col_dim > 16'd255)))
        chk_err_o = E_BAD_LOOP;
      else if (view_i.pend) chk_err_o = E_PAIRING;
      else if (dsc_q[cs].batches == '0 || dsc_q[cs].orows == '0 || dsc_q[cs].ocols == '0 || dsc_q[cs].pochs == '0 || dsc_q[cs].krows == '0
               || dsc_q[cs].kcols == '0 || dsc_q[cs].kchs == '0 || dsc_q[cs].stride == '0)
        chk_err_o = E_BAD_LOOP;
      else if (a_id == 2'd3 || b_id == 2'd3) chk_err_o = E_BAD_LOOP;
      else if (sh.irows_wd > 64'(SP_HALF) || sh.icols_wd > 64'(SP_HALF)) chk_err_o = E_BAD_LOOP;
      else if (64'(dsc_q[cs].lpad) + 64'(dsc_q[cs].rpad) > sh.icols_wd || 64'(dsc_q[cs].upad) + 64'(dsc_q[cs].dpad) > sh.irows_wd)
        chk_err_o = E_BAD_LOOP;
      else if (sh.acc_rows > 64'(ACC_HALF)) chk_err_o = E_BAD_LOOP;
      else if (a_h == b_h ? sh.in_rows + sh.w_rows > 64'(SP_HALF)
                          : (sh.in_rows > 64'(SP_HALF) || sh.w_rows > 64'(SP_HALF)))
        chk_err_o = E_BAD_LOOP;
      else if (!view_i.ws || view_i.at != t_in || view_i.bt != t_w0132) chk_err_o = E_BAD_LOOP;
      else if (!t_in && (view_i.a_stride != want_a || view_i.c_stride != want_c)) chk_err_o = E_BAD_LOOP;
      else if (dsc_q[cs].out_addr != '0 && !pool && (view_i.pool || 64'(view_i.st_stride) != want_st
                                            || view_i.st_act != {1'b0, act})) chk_err_o = E_BAD_LOOP;
    end
  end

  // The configuring slot after a configuration command or LOOP_CONV_WS.
  function automatic conv_desc_t desc_update(input conv_desc_t cur, input logic [6:0] funct, input logic [63:0] rs1,
                                             input logic [63:0] rs2, input logic slot, input logic acc_half);
    conv_desc_t n;
    // verilator lint_off UNUSEDSIGNAL
    shape_t s;
    // verilator lint_on UNUSEDSIGNAL
    logic a_h, b_h;
    n = cur;
    s = '0;
    a_h = 1'b0;
    b_h = 1'b0;
    case (funct)
      F_LOOP_CONV_WS_CONFIG_1: begin
        n.batch_size = rs1[15:0];
        n.in_row_dim = rs1[31:16];
        n.in_channels = rs1[47:32];
        n.out_channels = rs1[63:48];
        n.out_row_dim = rs2[15:0];
        n.pool_out_row_dim = rs2[31:16];
        n.out_col_dim = rs2[47:32];
        n.stride = rs2[55:48];
      end
      F_LOOP_CONV_WS_CONFIG_2: begin
        n.pool_stride = rs1[15:8];
        n.pool_size = rs1[31:16];
        n.pool_out_col_dim = rs1[47:32];
        n.kernel_dim = rs1[63:48];
        n.pochs = rs2[15:0];
        n.pocols = rs2[31:16];
        n.porows = rs2[47:32];
        n.batches = rs2[63:48];
      end
      F_LOOP_CONV_WS_CONFIG_3: begin
        n.lpad = rs1[15:0];
        n.kchs = rs1[31:16];
        n.kcols = rs1[47:32];
        n.krows = rs1[63:48];
        n.in_col_dim = rs2[15:0];
        n.plpad = rs2[23:16];
        n.dpad = rs2[31:24];
        n.upad = rs2[47:32];
        n.rpad = rs2[63:48];
      end
      F_LOOP_CONV_WS_CONFIG_4: begin
        n.kdil = rs1[9:0];
        n.pupad = rs1[31:21];
        n.orows = rs1[63:48];
        n.ocols = rs2[15:0];
        n.out_stride = rs2[31:16];
        n.weight_stride = rs2[47:32];
        n.in_stride = rs2[63:48];
      end
      F_LOOP_CONV_WS_CONFIG_5: begin
        n.w_addr = rs1;
        n.out_addr = rs2;
      end
      F_LOOP_CONV_WS_CONFIG_6: begin
        n.bias_addr = rs1;
        n.in_addr = rs2;
      end
      default: begin  // LOOP_CONV_WS (checked legal): mode bits, placement and derived sizes (loops.rs ConvShape)
        s = shape(cur, rs1, rs2);
        a_h = (rs1[19:18] == 2'd0) ? slot : rs1[19];
        b_h = (rs1[17:16] == 2'd0) ? slot : rs1[17];
        n.no_bias = rs1[0];
        n.wrot180 = rs1[1];
        n.t_out = rs1[2];
        n.t_w1203 = rs1[3];
        n.t_w0132 = rs1[4];
        n.t_in = rs1[5];
        n.dw = rs1[6];
        n.no_pool = rs2[0];
        n.ds = rs2[1];
        n.idil = rs2[2];
        n.act = rs2[4:3];
        n.irows = 32'(s.irows);
        n.icols = 32'(s.icols);
        n.irows_unp = 32'(s.irows_unp);
        n.icols_unp = 32'(s.icols_unp);
        n.upad_u = 32'(undil(64'(cur.upad), rs2[2]));
        n.lpad_u = 32'(undil(64'(cur.lpad), rs2[2]));
        n.lrows = 32'(s.lrows);
        n.lcols = 32'(s.lcols);
        n.in_blk = 32'(s.in_blk);
        n.w_blk = 32'(s.w_blk);
        n.out_blk = 32'(s.out_blk);
        n.a_row = a_h ? 32'(SP_HALF) : 32'd0;
        n.b_row = (b_h ? 32'(SP_ROWS) : 32'(SP_HALF)) - 32'(s.w_rows);
        n.c_row = acc_half ? 32'(ACC_HALF) : 32'd0;
        n.c_half = acc_half;
        n.sp_use = (2'b01 << a_h) | (2'b01 << b_h);
        n.setcfg = !rs2[0] || rs1[5];
      end
    endcase
    return n;
  endfunction

  assign cfg_ready_o = !pend_q[cs] && !(cfg_funct_i == F_LOOP_CONV_WS && hold);
  logic accept;
  assign accept = cfg_valid_i && cfg_ready_o && cfg_funct_i == F_LOOP_CONV_WS;

  // ---- generators ----
  assign load_out = !gen_v_q || gen_ready_i;

  // L: input, weights, bias of the oldest loop whose loads are not all issued
  logic [1:0]  l_ph_q;
  logic        l_cfgd_q;  // this phase's config_ld has been issued
  logic [31:0] lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q;
  logic        sl, l_run, l_work, l_last, take_l;
  logic [6:0]  l_funct;
  logic [63:0] l_rs1, l_rs2;
  logic [31:0] nlb, nlr, nlq, nlo, nlkr, nlkc, nlch;
  always_comb begin
    // (operand sizes use their low 16 bits)
    // verilator lint_off UNUSEDSIGNAL
    logic [31:0] j, k, n, row, maxc, b_it, c_it, o_it, k_it, rstep, rin_end, cin_end, ir, ic;
    logic [63:0] off, rstride;
    // verilator lint_on UNUSEDSIGNAL
    logic younger, ok_sp, ok_acc, wq, wr, wb, wo, wkr, wkc, wch, zero;
    sl = 1'b0;
    l_run = 1'b0;
    l_work = 1'b0;
    l_last = 1'b0;
    l_funct = F_CONFIG;
    l_rs1 = '0;
    l_rs2 = '0;
    {nlb, nlr, nlq, nlo, nlkr, nlkc, nlch} = {lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q};
    {j, k, n, row, maxc, b_it, c_it, o_it, k_it, rstep, rin_end, cin_end, ir, ic} = '0;
    {off, rstride} = '0;
    {younger, ok_sp, ok_acc, wq, wr, wb, wo, wkr, wkc, wch, zero} = '0;
    // (evaluated only while a loop is pending: every combinational block runs every simulated cycle)
    if (pend_q != 2'b00) begin
      sl = (pend_q[head_q] && !dl_q[head_q]) ? head_q : !head_q;
      younger = pend_q[!sl] && head_q == !sl;
      ok_sp = !younger || de_q[!sl] || (dsc_q[sl].sp_use & dsc_q[!sl].sp_use) == 2'b00;
      ok_acc = !younger || dsc_q[sl].c_half != dsc_q[!sl].c_half;
      case (l_ph_q)
        P_IN: begin
          // runs of pixels all padding or all inside (lr, lq count the padded window; every other pixel
          // when downsampling), one pixel per row, channel (batch) groups of up to DIM*MBL
          l_work = dsc_q[sl].in_addr != '0;
          l_run = pend_q[sl] && !dl_q[sl] && ok_sp;
          maxc = dsc_q[sl].t_in ? min32(32'(dsc_q[sl].batches), STEP_WIDE) : min32(32'(dsc_q[sl].kchs), STEP_WIDE);
          rstride = (dsc_q[sl].t_in ? 64'(dsc_q[sl].batch_size) : 64'(dsc_q[sl].in_stride)) * EB64;
          if (!l_cfgd_q) begin
            l_rs1 = {FP32_ONE, 16'(dsc_q[sl].in_blk), 8'd1, 3'd0, 2'd0, 1'b0, 2'd1};
            l_rs2 = dsc_q[sl].ds ? rstride << 1 : rstride;
          end else begin
            rin_end = dsc_q[sl].upad_u + dsc_q[sl].irows_unp;
            cin_end = dsc_q[sl].lpad_u + dsc_q[sl].icols_unp;
            if (lq_q < dsc_q[sl].lpad_u) n = min32(D, dsc_q[sl].lpad_u - lq_q);
            else if (lq_q < cin_end) n = min32(dsc_q[sl].ds ? D << 1 : D, cin_end - lq_q);
            else n = min32(D, dsc_q[sl].icols - lq_q);
            b_it = dsc_q[sl].t_in ? maxc : 32'd1;
            c_it = dsc_q[sl].t_in ? 32'd1 : maxc;
            rstep = dsc_q[sl].ds ? 32'd2 : 32'd1;
            k = dsc_q[sl].t_in ? min32(maxc, 32'(dsc_q[sl].batches) - lb_q) : min32(maxc, 32'(dsc_q[sl].kchs) - lch_q);
            zero = lr_q < dsc_q[sl].upad_u || lr_q >= rin_end || lq_q < dsc_q[sl].lpad_u || lq_q >= cin_end;
            wch = lch_q + c_it >= 32'(dsc_q[sl].kchs);
            wq = lq_q + n >= dsc_q[sl].icols;
            wr = lr_q + rstep >= dsc_q[sl].irows;
            wb = lb_q + b_it >= 32'(dsc_q[sl].batches);
            nlch = wch ? '0 : lch_q + c_it;
            nlq = wch ? (wq ? '0 : lq_q + n) : lq_q;
            nlr = (wch && wq) ? (wr ? '0 : lr_q + rstep) : lr_q;
            nlb = (wch && wq && wr) ? lb_q + b_it : lb_q;
            l_last = wch && wq && wr && wb;
            if (dsc_q[sl].t_in)
              row = dsc_q[sl].a_row + (lb_q / D) * dsc_q[sl].in_blk + lch_q * dsc_q[sl].lrows * dsc_q[sl].lcols;
            else
              row = dsc_q[sl].a_row + (lch_q / D) * dsc_q[sl].in_blk + lb_q * dsc_q[sl].lrows * dsc_q[sl].lcols;
            row = row + (dsc_q[sl].ds ? lr_q >> 1 : lr_q) * dsc_q[sl].lcols + (dsc_q[sl].ds ? lq_q >> 1 : lq_q);
            // (image row and column; used only when not padding, so not negative)
            ir = lr_q - dsc_q[sl].upad_u;
            ic = lq_q - dsc_q[sl].lpad_u;
            if (dsc_q[sl].t_in)
              off = ((64'(lch_q) * 64'(dsc_q[sl].in_col_dim) * 64'(dsc_q[sl].in_row_dim) + 64'(ir) * 64'(dsc_q[sl].in_col_dim)
                      + 64'(ic)) * 64'(dsc_q[sl].batches) + 64'(lb_q)) * EB64;
            else
              off = (((64'(lb_q) * 64'(dsc_q[sl].in_row_dim) + 64'(ir)) * 64'(dsc_q[sl].in_col_dim) + 64'(ic)) * 64'(dsc_q[sl].in_stride)
                     + 64'(lch_q)) * EB64;
            l_funct = F_MVIN;
            l_rs1 = zero ? 64'd0 : dsc_q[sl].in_addr + off;
            l_rs2 = {16'(dsc_q[sl].ds ? n >> 1 : n), k[15:0], row};
          end
        end
        P_W: begin
          l_work = dsc_q[sl].w_addr != '0;
          l_run = pend_q[sl] && !dl_q[sl] && ok_sp;
          maxc = dsc_q[sl].t_w0132 ? min32(32'(dsc_q[sl].kchs), STEP_WIDE) : min32(32'(dsc_q[sl].pochs), STEP_WIDE);
          if (!l_cfgd_q) begin
            if (dsc_q[sl].dw) rstride = EB64;
            else if (dsc_q[sl].t_w1203) rstride = 64'(dsc_q[sl].kernel_dim) * 64'(dsc_q[sl].kernel_dim) * 64'(dsc_q[sl].out_channels) * EB64;
            else if (dsc_q[sl].t_w0132) rstride = 64'(dsc_q[sl].in_channels) * EB64;
            else rstride = 64'(dsc_q[sl].weight_stride) * EB64;
            l_rs1 = {FP32_ONE, 16'(dsc_q[sl].w_blk), 8'd1, 3'd0, 2'd1, 1'b0, 2'd1};
            l_rs2 = rstride;
          end else begin
            o_it = dsc_q[sl].t_w0132 ? D : maxc;
            k_it = dsc_q[sl].t_w0132 ? maxc : D;
            j = dsc_q[sl].t_w0132 ? min32(maxc, 32'(dsc_q[sl].kchs) - lch_q) : min32(maxc, 32'(dsc_q[sl].pochs) - lo_q);
            k = dsc_q[sl].t_w0132 ? min32(D, 32'(dsc_q[sl].pochs) - lo_q) : min32(D, 32'(dsc_q[sl].kchs) - lch_q);
            wch = lch_q + k_it >= 32'(dsc_q[sl].kchs);
            wkc = lkc_q + 32'd1 >= 32'(dsc_q[sl].kcols);
            wkr = lkr_q + 32'd1 >= 32'(dsc_q[sl].krows);
            wo = lo_q + o_it >= 32'(dsc_q[sl].pochs);
            nlch = wch ? '0 : lch_q + k_it;
            nlkc = wch ? (wkc ? '0 : lkc_q + 32'd1) : lkc_q;
            nlkr = (wch && wkc) ? (wkr ? '0 : lkr_q + 32'd1) : lkr_q;
            nlo = (wch && wkc && wkr) ? lo_q + o_it : lo_q;
            l_last = wch && wkc && wkr && wo;
            if (dsc_q[sl].t_w0132)
              row = dsc_q[sl].b_row + (lch_q / D) * dsc_q[sl].w_blk + (lkr_q * 32'(dsc_q[sl].kcols) + lkc_q) * 32'(dsc_q[sl].pochs) + lo_q;
            else
              row = dsc_q[sl].b_row + (lo_q / D) * dsc_q[sl].w_blk + (lkr_q * 32'(dsc_q[sl].kcols) + lkc_q) * 32'(dsc_q[sl].kchs) + lch_q;
            if (dsc_q[sl].dw)
              off = (64'(lkr_q) * 64'(dsc_q[sl].kernel_dim) + 64'(lkc_q)) * EB64;
            else if (dsc_q[sl].t_w1203)
              off = (((64'(lch_q) * 64'(dsc_q[sl].kernel_dim) + 64'(lkr_q)) * 64'(dsc_q[sl].kernel_dim) + 64'(lkc_q))
                     * 64'(dsc_q[sl].out_channels) + 64'(lo_q)) * EB64;
            else if (dsc_q[sl].t_w0132)
              off = (((64'(lkr_q) * 64'(dsc_q[sl].kernel_dim) + 64'(lkc_q)) * 64'(dsc_q[sl].out_channels) + 64'(lo_q))
                     * 64'(dsc_q[sl].in_channels) + 64'(lch_q)) * EB64;
            else
              off = (((64'(lkr_q) * 64'(dsc_q[sl].kernel_dim) + 64'(lkc_q)) * 64'(dsc_q[sl].in_channels) + 64'(lch_q))
                     * 64'(dsc_q[sl].weight_stride) + 64'(lo_q)) * EB64;
            l_funct = F_MVIN2;
            l_rs1 = dsc_q[sl].w_addr + off;
            l_rs2 = {k[15:0], j[15:0], row};
          end
        end
        default: begin  // P_BIAS: one int32 bias row per output-channel block, repeated over the pixels
          l_work = dsc_q[sl].bias_addr != '0;
          l_run = pend_q[sl] && !dl_q[sl] && ok_acc;
          if (!l_cfgd_q) begin
            l_rs1 = {FP32_ONE, 16'(dsc_q[sl].out_blk), 8'd1, 3'd0, 2'd2, 1'b0, 2'd1};
            l_rs2 = '0;
          end else begin
            j = min32(STEP_BIAS, 32'(dsc_q[sl].pochs) - lo_q);
            n = min32(D, 32'(dsc_q[sl].ocols) - lq_q);
            wq = lq_q + D >= 32'(dsc_q[sl].ocols);
            wr = lr_q + 32'd1 >= 32'(dsc_q[sl].orows);
            wb = lb_q + 32'd1 >= 32'(dsc_q[sl].batches);
            wo = lo_q + STEP_BIAS >= 32'(dsc_q[sl].pochs);
            nlq = wq ? '0 : lq_q + D;
            nlr = wq ? (wr ? '0 : lr_q + 32'd1) : lr_q;
            nlb = (wq && wr) ? (wb ? '0 : lb_q + 32'd1) : lb_q;
            nlo = (wq && wr && wb) ? lo_q + STEP_BIAS : lo_q;
            l_last = wq && wr && wb && wo;
            row = dsc_q[sl].c_row + (lo_q / D) * dsc_q[sl].out_blk + (lb_q * 32'(dsc_q[sl].orows) + lr_q) * 32'(dsc_q[sl].ocols) + lq_q;
            l_funct = F_MVIN3;
            l_rs1 = dsc_q[sl].no_bias ? 64'd0 : dsc_q[sl].bias_addr + 64'(lo_q) * 64'd4;
            l_rs2 = {n[15:0], j[15:0], ACC_BIT | row};
          end
        end
      endcase
    end
  end

  // E: (config_ex,) execute pairs, then (config_st,) mvouts (, config_st) of the oldest loop, once L has
  // issued its loads
  logic [2:0]  e_ph_q;
  logic        e_pre_q;  // the compute of the issued preload is next
  logic        e_nw_q;   // new weights: no compute issued yet in this (och, krow, kcol, kch) group
  logic [31:0] eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q;
  logic        e_run, e_work, e_skip, e_last, e_wrap, take_e;
  logic [6:0]  e_funct;
  logic [63:0] e_rs1, e_rs2;
  logic [31:0] neb, ner, neq, neo, nekr, nekc, nech;
  // config_st's DRAM stride in bytes: out_stride counts elements, as in Gemmini (out_stride * input_w/8)
  logic [31:0] out_stride_b;
  assign out_stride_b = 32'(dsc_q[head_q].out_stride) * 32'(EB);
  always_comb begin
    // verilator lint_off UNUSEDSIGNAL
    logic [31:0] i, j, k, row, krot, kcrot, q_it, b_it, irow, icol, span;
    logic [63:0] off;
    // verilator lint_on UNUSEDSIGNAL
    logic wq, wr, wb, wo, wkr, wkc, wch;
    e_run = 1'b0;
    e_work = 1'b0;
    e_skip = 1'b0;
    e_last = 1'b0;
    e_wrap = 1'b0;
    e_funct = F_PRELOAD;
    e_rs1 = '0;
    e_rs2 = '0;
    {neb, ner, neq, neo, nekr, nekc, nech} = {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q};
    {i, j, k, row, krot, kcrot, q_it, b_it, irow, icol, span} = '0;
    off = '0;
    {wq, wr, wb, wo, wkr, wkc, wch} = '0;
    if (pend_q[head_q] && dl_q[head_q]) begin
      e_run = 1'b1;
      j = min32(D, 32'(dsc_q[head_q].pochs) - eo_q);
      k = min32(D, 32'(dsc_q[head_q].kchs) - ech_q);
      wo = eo_q + D >= 32'(dsc_q[head_q].pochs);
      wq = eq_q + D >= 32'(dsc_q[head_q].ocols);
      wr = er_q + 32'd1 >= 32'(dsc_q[head_q].orows);
      wb = eb_q + 32'd1 >= 32'(dsc_q[head_q].batches);
      case (e_ph_q)
        E_CFG: begin
          // trans_input_3120: A is read transposed, its channels a window apart, C's batches an image apart
          e_work = dsc_q[head_q].t_in;
          e_funct = F_CONFIG;
          e_rs1 = {32'(FP32_ONE), 16'(dsc_q[head_q].irows * dsc_q[head_q].icols), 8'd0, 1'b1, 2'd0, 2'd0, 1'b1, 2'd0};
          e_rs2 = {16'(32'(dsc_q[head_q].orows) * 32'(dsc_q[head_q].ocols)), 48'd0};
          e_last = 1'b1;
        end
        E_EX: begin
          // och -> krow -> kcol -> kch -> b -> orow -> ocol; weights preloaded with the first issued pair of
          // a group; input-dilation holes issue nothing
          e_work = 1'b1;
          e_skip = !e_pre_q && dsc_q[head_q].idil && (((ekr_q * 32'(dsc_q[head_q].kdil) + er_q - 32'(dsc_q[head_q].upad)) & 32'd1) != '0
                                          || ((ekc_q * 32'(dsc_q[head_q].kdil) + eq_q - 32'(dsc_q[head_q].lpad)) & 32'd1) != '0);
          q_it = (e_skip || dsc_q[head_q].t_in) ? 32'd1 : (dsc_q[head_q].idil ? D << 1 : D);
          b_it = dsc_q[head_q].t_in ? D : 32'd1;
          wq = eq_q + q_it >= 32'(dsc_q[head_q].ocols);
          wb = eb_q + b_it >= 32'(dsc_q[head_q].batches);
          wch = ech_q + D >= 32'(dsc_q[head_q].kchs);
          wkc = ekc_q + 32'd1 >= 32'(dsc_q[head_q].kcols);
          wkr = ekr_q + 32'd1 >= 32'(dsc_q[head_q].krows);
          neq = wq ? '0 : eq_q + q_it;
          ner = wq ? (wr ? '0 : er_q + 32'd1) : er_q;
          neb = (wq && wr) ? (wb ? '0 : eb_q + b_it) : eb_q;
          nech = (wq && wr && wb) ? (wch ? '0 : ech_q + D) : ech_q;
          nekc = (wq && wr && wb && wch) ? (wkc ? '0 : ekc_q + 32'd1) : ekc_q;
          nekr = (wq && wr && wb && wch && wkc) ? (wkr ? '0 : ekr_q + 32'd1) : ekr_q;
          neo = (wq && wr && wb && wch && wkc && wkr) ? eo_q + D : eo_q;
          e_wrap = wq && wr && wb;
          e_last = wq && wr && wb && wch && wkc && wkr && wo;
          span = dsc_q[head_q].idil ? D << 1 : D;
          i = dsc_q[head_q].t_in ? min32(D, 32'(dsc_q[head_q].batches) - eb_q)
                     : 32'(undil(64'(min32(span, 32'(dsc_q[head_q].ocols) - eq_q)), dsc_q[head_q].idil));
          irow = 32'(undil(64'(er_q) * 64'(dsc_q[head_q].stride) + 64'(ekr_q) * 64'(dsc_q[head_q].kdil), dsc_q[head_q].idil));
          icol = 32'(undil(64'(eq_q) * 64'(dsc_q[head_q].stride) + 64'(ekc_q) * 64'(dsc_q[head_q].kdil), dsc_q[head_q].idil));
          krot = dsc_q[head_q].wrot180 ? 32'(dsc_q[head_q].krows) - 32'd1 - ekr_q : ekr_q;
          kcrot = dsc_q[head_q].wrot180 ? 32'(dsc_q[head_q].kcols) - 32'd1 - ekc_q : ekc_q;
          if (e_pre_q) begin
            if (dsc_q[head_q].t_in) row = dsc_q[head_q].a_row + (eb_q / D) * dsc_q[head_q].in_blk + ech_q * dsc_q[head_q].lrows * dsc_q[head_q].lcols;
            else row = dsc_q[head_q].a_row + (ech_q / D) * dsc_q[head_q].in_blk + eb_q * dsc_q[head_q].lrows * dsc_q[head_q].lcols;
            row = row + (dsc_q[head_q].ds ? irow >> 1 : irow) * dsc_q[head_q].lcols + (dsc_q[head_q].ds ? icol >> 1 : icol);
            e_funct = e_nw_q ? F_COMPUTE_PRELOADED : F_COMPUTE_ACCUMULATED;
            e_rs1 = {i[15:0], k[15:0], row};
            e_rs2 = GARBAGE_OP;
          end else begin
            if (dsc_q[head_q].t_w0132)
              row = dsc_q[head_q].b_row + (ech_q / D) * dsc_q[head_q].w_blk + (krot * 32'(dsc_q[head_q].kcols) + kcrot) * 32'(dsc_q[head_q].pochs) + eo_q;
            else
              row = dsc_q[head_q].b_row + (eo_q / D) * dsc_q[head_q].w_blk + (krot * 32'(dsc_q[head_q].kcols) + kcrot) * 32'(dsc_q[head_q].kchs) + ech_q;
            e_funct = F_PRELOAD;
            e_rs1 = e_nw_q ? {k[15:0], j[15:0], row} : GARBAGE_OP;
            row = dsc_q[head_q].c_row + (eo_q / D) * dsc_q[head_q].out_blk + (eb_q * 32'(dsc_q[head_q].orows) + er_q) * 32'(dsc_q[head_q].ocols) + eq_q;
            e_rs2 = {i[15:0], j[15:0], ACC_BIT | ACCUM_BIT | row};
          end
        end
        E_PRE: begin
          // pooling: config_st with the tile's pooling geometry, scale unchanged
          e_work = dsc_q[head_q].out_addr != '0 && !dsc_q[head_q].no_pool;
          e_funct = F_CONFIG;
          e_rs1 = {dsc_q[head_q].ocols[7:0], dsc_q[head_q].orows[7:0], dsc_q[head_q].pocols[7:0], dsc_q[head_q].porows[7:0], dsc_q[head_q].pool_out_col_dim[7:0], 12'd0,
                   dsc_q[head_q].plpad[1:0], dsc_q[head_q].pupad[1:0], dsc_q[head_q].pool_size[1:0], dsc_q[head_q].pool_stride[1:0], dsc_q[head_q].act, 2'd2};
          e_rs2 = {32'hffff_ffff, out_stride_b};
          e_last = 1'b1;
        end
        E_ST: begin
          e_work = dsc_q[head_q].out_addr != '0;
          e_funct = F_MVOUT;
          if (dsc_q[head_q].no_pool) begin
            // b -> orow -> ocol -> och
            i = min32(D, 32'(dsc_q[head_q].ocols) - eq_q);
            neo = wo ? '0 : eo_q + D;
            neq = wo ? (wq ? '0 : eq_q + D) : eq_q;
            ner = (wo && wq) ? (wr ? '0 : er_q + 32'd1) : er_q;
            neb = (wo && wq && wr) ? eb_q + 32'd1 : eb_q;
            e_last = wo && wq && wr && wb;
            row = dsc_q[head_q].c_row + (eo_q / D) * dsc_q[head_q].out_blk + (eb_q * 32'(dsc_q[head_q].orows) + er_q) * 32'(dsc_q[head_q].ocols) + eq_q;
            if (dsc_q[head_q].t_out)
              off = ((64'(er_q) * 64'(dsc_q[head_q].out_col_dim) + 64'(eq_q)) * 64'(dsc_q[head_q].batch_size) + 64'(eb_q))
                    * 64'(dsc_q[head_q].out_channels) * EB64 + 64'(eo_q) * EB64;
            else
              off = ((64'(eb_q) * 64'(dsc_q[head_q].out_row_dim) + 64'(er_q)) * 64'(dsc_q[head_q].out_col_dim) + 64'(eq_q))
                    * 64'(dsc_q[head_q].out_stride) * EB64 + 64'(eo_q) * EB64;
            e_rs1 = dsc_q[head_q].out_addr + off;
            e_rs2 = {i[15:0], j[15:0], ACC_BIT | row};
          end else begin
            // pooled: b -> och, one mvout per image and channel block
            neo = wo ? '0 : eo_q + D;
            neb = wo ? eb_q + 32'd1 : eb_q;
            e_last = wo && wb;
            row = dsc_q[head_q].c_row + (eo_q / D) * dsc_q[head_q].out_blk + eb_q * 32'(dsc_q[head_q].orows) * 32'(dsc_q[head_q].ocols);
            off = (64'(eb_q) * 64'(dsc_q[head_q].pool_out_row_dim) * 64'(dsc_q[head_q].pool_out_col_dim) * 64'(dsc_q[head_q].out_stride)
                   + 64'(eo_q)) * EB64;
            e_rs1 = dsc_q[head_q].out_addr + off;
            e_rs2 = {16'd1, j[15:0], ACC_BIT | row};
          end
        end
        default: begin  // E_POST: pooling off again
          e_work = dsc_q[head_q].out_addr != '0 && !dsc_q[head_q].no_pool;
          e_funct = F_CONFIG;
          e_rs1 = {60'd0, dsc_q[head_q].act, 2'd2};
          e_rs2 = {32'hffff_ffff, out_stride_b};
          e_last = 1'b1;
        end
      endcase
    end
  end

  // ---- arbiter: E's compute, then E (room in its queue), then L ----
  logic room_ld, room_ex, room_st, l_adv, e_adv, l_end, e_end, e_is_ex;
  assign e_is_ex = e_ph_q == E_CFG || e_ph_q == E_EX;
  always_comb begin
    room_ld = 1'b0;
    room_ex = 1'b0;
    room_st = 1'b0;
    take_e = 1'b0;
    take_l = 1'b0;
    if (pend_q != 2'b00) begin
      room_ld = 32'(rs_ld_i) + ((gen_v_q && gen_cls_q == 2'd0) ? 32'd1 : 32'd0) < RS_LD;
      room_ex = 32'(rs_ex_i) + ((gen_v_q && gen_cls_q == 2'd1) ? 32'd1 : 32'd0) + 32'd2 <= RS_EX;
      room_st = 32'(rs_st_i) + ((gen_v_q && gen_cls_q == 2'd2) ? 32'd1 : 32'd0) < RS_ST;
      if (load_out) begin
        if (e_run && e_work && !e_skip && (e_is_ex ? (e_pre_q || room_ex) : room_st)) take_e = 1'b1;
        else if (l_run && l_work && room_ld) take_l = 1'b1;
      end
    end
  end
  // a generator moves on when its command is taken, at once through a phase without work, or over a hole
  assign l_adv = l_run && (!l_work || take_l);
  assign e_adv = e_run && (!e_work || e_skip || take_e);
  assign l_end = l_adv && (!l_work || (l_cfgd_q && l_last));
  assign e_end = e_adv && (!e_work || (e_last && (e_ph_q != E_EX || e_pre_q || e_skip)));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dsc_q[0] <= '0;
      dsc_q[1] <= '0;
      pend_q <= '0;
      dl_q <= '0;
      de_q <= '0;
      cfg_slot_q <= 1'b0;
      head_q <= 1'b0;
      acc_half_q <= 1'b0;
      l_ph_q <= P_IN;
      l_cfgd_q <= 1'b0;
      {lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q} <= '0;
      e_ph_q <= E_CFG;
      e_pre_q <= 1'b0;
      e_nw_q <= 1'b1;
      {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= '0;
      gen_v_q <= 1'b0;
      gen_cls_q <= '0;
      gen_funct_o <= '0;
      gen_rs1_o <= '0;
      gen_rs2_o <= '0;
    end else begin
      if (cfg_valid_i && cfg_ready_o) dsc_q[cs] <= desc_update(dsc_q[cs], cfg_funct_i, cfg_rs1_i, cfg_rs2_i, cs, acc_half_q);
      // generated-command register
      if (load_out && (gen_v_q || pend_q != 2'b00)) begin
        gen_v_q <= take_e || take_l;
        if (take_e) begin
          gen_cls_q <= e_is_ex ? 2'd1 : 2'd2;
          gen_funct_o <= e_funct;
          gen_rs1_o <= e_rs1;
          gen_rs2_o <= e_rs2;
        end else if (take_l) begin
          gen_cls_q <= 2'd0;
          gen_funct_o <= l_funct;
          gen_rs1_o <= l_rs1;
          gen_rs2_o <= l_rs2;
        end
      end
      // L
      if (l_adv) begin
        if (l_end) begin
          l_ph_q <= (l_ph_q == P_BIAS) ? P_IN : l_ph_q + 2'd1;
          l_cfgd_q <= 1'b0;
          {lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q} <= '0;
        end else if (!l_cfgd_q) begin
          l_cfgd_q <= 1'b1;
        end else begin
          {lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q} <= {nlb, nlr, nlq, nlo, nlkr, nlkc, nlch};
        end
      end
      // E
      if (e_adv) begin
        if (e_end) begin
          e_ph_q <= (e_ph_q == E_POST) ? E_CFG : e_ph_q + 3'd1;
          e_pre_q <= 1'b0;
          e_nw_q <= 1'b1;
          {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= '0;
        end else if (e_ph_q == E_EX) begin
          if (!e_skip) e_pre_q <= !e_pre_q;
          if (e_pre_q || e_skip) begin
            {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= {neb, ner, neq, neo, nekr, nekc, nech};
            // Gemmini's new_weights: cleared by an issued compute, set again when a group starts
            if (e_wrap) e_nw_q <= 1'b1;
            else if (e_pre_q) e_nw_q <= 1'b0;
          end
        end else if (e_ph_q == E_ST) begin
          {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= {neb, ner, neq, neo, nekr, nekc, nech};
        end
      end
      // done flags, acceptance and release (a loop leaves when E has issued its last store command)
      if (l_end || e_end || accept) begin
        logic [1:0] pend_n, dl_n, de_n, rel;
        pend_n = pend_q;
        dl_n = dl_q;
        de_n = de_q;
        rel = '0;
        if (l_end && l_ph_q == P_BIAS) dl_n[sl] = 1'b1;
        if (e_end && e_ph_q == E_EX) de_n[head_q] = 1'b1;
        if (e_end && e_ph_q == E_POST) rel[head_q] = 1'b1;
        pend_n = pend_n & ~rel;
        dl_n = dl_n & ~rel;
        de_n = de_n & ~rel;
        if (pend_n == 2'b00) head_q <= cs;
        else if (rel != 2'b00) head_q <= !head_q;
        if (accept) begin
          pend_n[cs] = 1'b1;
          cfg_slot_q <= !cs;
          if (dsc_q[cs].out_addr != '0) acc_half_q <= !acc_half_q;
        end
        pend_q <= pend_n;
        dl_q <= dl_n;
        de_q <= de_n;
      end
    end
  end

  assign gen_valid_o = gen_v_q;
  assign active_o = pend_q != 2'b00 || gen_v_q;
endmodule
