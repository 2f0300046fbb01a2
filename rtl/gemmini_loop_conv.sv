// The LOOP_CONV_WS unit (spec 4.10; docs/accelerator.md section 6.1; src/sim/accel/loops.rs unroll_conv is the
// reference). Two double-buffered descriptor slots, as in the LOOP_WS unit: funct 16-21 fill the configuring
// slot, LOOP_CONV_WS (checked here against the front end's configuration shadow) marks it pending and fixes its
// placement. Two generators issue the unroller's commands: L the loads (input, weights, bias) and E the
// execute pairs then the mvouts, each in the unroller's order within its parts, E on the oldest loop once L
// has issued all of that loop's loads; L may run ahead into the younger loop, whose scratchpad writes wait for
// the older loop's execute commands when they share a half, and whose bias waits for the older loop to finish
// when they share an accumulator half. The reservation station orders the rest. An arbiter (E's compute > E
// > L) moves one command per cycle into an output register that the front end checks like any command; a
// generator issues only when its reservation-station queue has room (counting that register).
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
  // L phases (input, weights, bias: they write different memories through different config_ld states, so
  // this order is equivalent to the unroller's bias, input, weights) and E phases
  localparam logic [1:0] P_IN = 2'd0, P_W = 2'd1, P_BIAS = 2'd2;
  localparam logic P_EX = 1'b0, P_ST = 1'b1;

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

  // ---- the LOOP_CONV_WS check (order and rules of src/sim/accel/loops.rs check_conv) ----
  always_comb begin
    logic [63:0] irows, icols, in_rows, w_rows, acc_rows;
    logic a_h, b_h;
    logic [1:0] a_id, b_id;
    chk_err_o = E_NONE;
    irows = '0;
    icols = '0;
    in_rows = '0;
    w_rows = '0;
    acc_rows = '0;
    a_id = cfg_rs1_i[19:18];
    b_id = cfg_rs1_i[17:16];
    a_h = (a_id == 2'd0) ? cs : a_id[1];
    b_h = (b_id == 2'd0) ? cs : b_id[1];
    if (chk_i) begin
      irows = (64'(dsc_q[cs].orows) - 64'd1) * 64'(dsc_q[cs].stride) + 64'(dsc_q[cs].krows);
      icols = (64'(dsc_q[cs].ocols) - 64'd1) * 64'(dsc_q[cs].stride) + 64'(dsc_q[cs].kcols);
      in_rows = cdiv(64'(dsc_q[cs].kchs)) * 64'(dsc_q[cs].batches) * irows * icols;
      w_rows = cdiv(64'(dsc_q[cs].pochs)) * 64'(dsc_q[cs].krows) * 64'(dsc_q[cs].kcols) * 64'(dsc_q[cs].kchs);
      acc_rows = cdiv(64'(dsc_q[cs].pochs)) * 64'(dsc_q[cs].batches) * 64'(dsc_q[cs].orows) * 64'(dsc_q[cs].ocols);
      // pooling, downsample, input dilation, wrot180, trans_*, dw, kernel dilation, several pixels per row,
      // activations beyond ReLU
      if (!cfg_rs2_i[0] || cfg_rs2_i[2:1] != 2'd0 || cfg_rs1_i[6:1] != '0 || dsc_q[cs].kdil != 10'd1
          || cfg_rs1_i[15:8] > 8'd1 || cfg_rs2_i[4:3] > 2'd1) chk_err_o = E_BAD_LOOP;
      else if (view_i.pend) chk_err_o = E_PAIRING;
      else if (dsc_q[cs].batches == '0 || dsc_q[cs].orows == '0 || dsc_q[cs].ocols == '0 || dsc_q[cs].pochs == '0
               || dsc_q[cs].krows == '0 || dsc_q[cs].kcols == '0 || dsc_q[cs].kchs == '0 || dsc_q[cs].stride == '0)
        chk_err_o = E_BAD_LOOP;
      else if (a_id == 2'd3 || b_id == 2'd3) chk_err_o = E_BAD_LOOP;
      else if (irows > 64'(SP_HALF) || icols > 64'(SP_HALF)) chk_err_o = E_BAD_LOOP;
      else if (64'(dsc_q[cs].lpad) + 64'(dsc_q[cs].rpad) > icols || 64'(dsc_q[cs].upad) + 64'(dsc_q[cs].dpad) > irows)
        chk_err_o = E_BAD_LOOP;
      else if (acc_rows > 64'(ACC_HALF)) chk_err_o = E_BAD_LOOP;
      else if (a_h == b_h ? in_rows + w_rows > 64'(SP_HALF) : (in_rows > 64'(SP_HALF) || w_rows > 64'(SP_HALF)))
        chk_err_o = E_BAD_LOOP;
      else if (!view_i.ws || view_i.at || view_i.bt) chk_err_o = E_BAD_LOOP;
      else if (view_i.a_stride != 16'(dsc_q[cs].stride) || !view_i.c_stride_one) chk_err_o = E_BAD_LOOP;
      else if (dsc_q[cs].out_addr != '0 && (view_i.pool || view_i.st_stride != 32'(dsc_q[cs].out_stride)
                                          || view_i.st_act != cfg_rs2_i[4:3])) chk_err_o = E_BAD_LOOP;
    end
  end

  // The configuring slot after a configuration command or LOOP_CONV_WS.
  function automatic conv_desc_t desc_update(input conv_desc_t cur, input logic [6:0] funct, input logic [63:0] rs1,
                                             input logic [63:0] rs2, input logic slot, input logic acc_half);
    conv_desc_t n;
    logic a_h, b_h;
    logic [31:0] irows, icols, w_blk;
    n = cur;
    a_h = 1'b0;
    b_h = 1'b0;
    irows = '0;
    icols = '0;
    w_blk = '0;
    case (funct)
      7'd16: begin
        n.in_row_dim = rs1[31:16];
        n.in_channels = rs1[47:32];
        n.out_row_dim = rs2[15:0];
        n.out_col_dim = rs2[47:32];
        n.stride = rs2[55:48];
      end
      7'd17: begin
        n.kernel_dim = rs1[63:48];
        n.pochs = rs2[15:0];
        n.batches = rs2[63:48];
      end
      7'd18: begin
        n.lpad = rs1[15:0];
        n.kchs = rs1[31:16];
        n.kcols = rs1[47:32];
        n.krows = rs1[63:48];
        n.in_col_dim = rs2[15:0];
        n.dpad = rs2[31:24];
        n.upad = rs2[47:32];
        n.rpad = rs2[63:48];
      end
      7'd19: begin
        n.kdil = rs1[9:0];
        n.orows = rs1[63:48];
        n.ocols = rs2[15:0];
        n.out_stride = rs2[31:16];
        n.weight_stride = rs2[47:32];
        n.in_stride = rs2[63:48];
      end
      7'd20: begin
        n.w_addr = rs1;
        n.out_addr = rs2;
      end
      7'd21: begin
        n.bias_addr = rs1;
        n.in_addr = rs2;
      end
      default: begin  // LOOP_CONV_WS (checked legal): placement and derived sizes (loops.rs ConvShape)
        a_h = (rs1[19:18] == 2'd0) ? slot : rs1[19];
        b_h = (rs1[17:16] == 2'd0) ? slot : rs1[17];
        irows = (32'(cur.orows) - 32'd1) * 32'(cur.stride) + 32'(cur.krows);
        icols = (32'(cur.ocols) - 32'd1) * 32'(cur.stride) + 32'(cur.kcols);
        w_blk = 32'(cur.krows) * 32'(cur.kcols) * 32'(cur.kchs);
        n.no_bias = rs1[0];
        n.irows = irows;
        n.icols = icols;
        n.in_blk = 32'(cur.batches) * irows * icols;
        n.w_blk = w_blk;
        n.out_blk = 32'(cur.batches) * 32'(cur.orows) * 32'(cur.ocols);
        n.a_row = a_h ? 32'(SP_HALF) : 32'd0;
        n.b_row = (b_h ? 32'(SP_ROWS) : 32'(SP_HALF)) - 32'(cdiv(64'(cur.pochs))) * w_blk;
        n.c_row = acc_half ? 32'(ACC_HALF) : 32'd0;
        n.c_half = acc_half;
        n.sp_use = (2'b01 << a_h) | (2'b01 << b_h);
      end
    endcase
    return n;
  endfunction

  assign cfg_ready_o = !pend_q[cs];
  logic accept;
  assign accept = cfg_valid_i && cfg_ready_o && cfg_funct_i == 7'd15;

  // ---- generators ----
  logic        gen_v_q, load_out;
  logic [1:0]  gen_cls_q;  // 0 ld, 1 ex, 2 st
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
    // (kdil is read by the check only; operand sizes use their low 16 bits)
    // verilator lint_off UNUSEDSIGNAL
    conv_desc_t g;
    logic [31:0] j, k, n, left, row;
    // verilator lint_on UNUSEDSIGNAL
    logic younger, ok_sp, ok_acc, wq, wr, wb, wo, wkr, wkc, wch, zero;
    g = '0;
    sl = 1'b0;
    l_run = 1'b0;
    l_work = 1'b0;
    l_last = 1'b0;
    l_funct = F_CONFIG;
    l_rs1 = '0;
    l_rs2 = '0;
    {nlb, nlr, nlq, nlo, nlkr, nlkc, nlch} = {lb_q, lr_q, lq_q, lo_q, lkr_q, lkc_q, lch_q};
    {j, k, n, left, row} = '0;
    {younger, ok_sp, ok_acc, wq, wr, wb, wo, wkr, wkc, wch, zero} = '0;
    // (evaluated only while a loop is pending: every combinational block runs every simulated cycle)
    if (pend_q != 2'b00) begin
      sl = (pend_q[head_q] && !dl_q[head_q]) ? head_q : !head_q;
      g = dsc_q[sl];
      younger = pend_q[!sl] && head_q == !sl;
      ok_sp = !younger || de_q[!sl] || (g.sp_use & dsc_q[!sl].sp_use) == 2'b00;
      ok_acc = !younger || g.c_half != dsc_q[!sl].c_half;
      case (l_ph_q)
        P_IN: begin
          // one pixel per row (r, q count the padded window), the padding border as zeros
          l_work = g.in_addr != '0;
          l_run = pend_q[sl] && !dl_q[sl] && ok_sp;
          if (!l_cfgd_q) begin
            l_rs1 = {FP32_ONE, 16'(g.in_blk), 8'd1, 3'd0, 2'd0, 1'b0, 2'd1};
            l_rs2 = 64'(g.in_stride);
          end else begin
            if (lq_q < 32'(g.lpad)) left = 32'(g.lpad) - lq_q;
            else if (lq_q < g.icols - 32'(g.rpad)) left = g.icols - 32'(g.rpad) - lq_q;
            else left = g.icols - lq_q;
            n = min32(D, left);
            k = min32(STEP_WIDE, 32'(g.kchs) - lch_q);
            zero = lr_q < 32'(g.upad) || lr_q >= g.irows - 32'(g.dpad) || lq_q < 32'(g.lpad)
                   || lq_q >= g.icols - 32'(g.rpad);
            wch = lch_q + STEP_WIDE >= 32'(g.kchs);
            wq = lq_q + n >= g.icols;
            wr = lr_q + 32'd1 >= g.irows;
            wb = lb_q + 32'd1 >= 32'(g.batches);
            nlch = wch ? '0 : lch_q + STEP_WIDE;
            nlq = wch ? (wq ? '0 : lq_q + n) : lq_q;
            nlr = (wch && wq) ? (wr ? '0 : lr_q + 32'd1) : lr_q;
            nlb = (wch && wq && wr) ? lb_q + 32'd1 : lb_q;
            l_last = wch && wq && wr && wb;
            row = g.a_row + (lch_q / D) * g.in_blk + (lb_q * g.irows + lr_q) * g.icols + lq_q;
            l_funct = F_MVIN;
            l_rs1 = zero ? 64'd0
                         : g.in_addr + ((64'(lb_q) * 64'(g.in_row_dim) + 64'(lr_q) - 64'(g.upad)) * 64'(g.in_col_dim)
                                        + 64'(lq_q) - 64'(g.lpad)) * 64'(g.in_stride) + 64'(lch_q) * 64'(EB);
            l_rs2 = {n[15:0], k[15:0], row};
          end
        end
        P_W: begin
          l_work = g.w_addr != '0;
          l_run = pend_q[sl] && !dl_q[sl] && ok_sp;
          if (!l_cfgd_q) begin
            l_rs1 = {FP32_ONE, 16'(g.w_blk), 8'd1, 3'd0, 2'd1, 1'b0, 2'd1};
            l_rs2 = 64'(g.weight_stride);
          end else begin
            j = min32(STEP_WIDE, 32'(g.pochs) - lo_q);
            k = min32(D, 32'(g.kchs) - lch_q);
            wch = lch_q + D >= 32'(g.kchs);
            wkc = lkc_q + 32'd1 >= 32'(g.kcols);
            wkr = lkr_q + 32'd1 >= 32'(g.krows);
            wo = lo_q + STEP_WIDE >= 32'(g.pochs);
            nlch = wch ? '0 : lch_q + D;
            nlkc = wch ? (wkc ? '0 : lkc_q + 32'd1) : lkc_q;
            nlkr = (wch && wkc) ? (wkr ? '0 : lkr_q + 32'd1) : lkr_q;
            nlo = (wch && wkc && wkr) ? lo_q + STEP_WIDE : lo_q;
            l_last = wch && wkc && wkr && wo;
            row = g.b_row + (lo_q / D) * g.w_blk + (lkr_q * 32'(g.kcols) + lkc_q) * 32'(g.kchs) + lch_q;
            l_funct = F_MVIN2;
            l_rs1 = g.w_addr + ((64'(lkr_q) * 64'(g.kernel_dim) + 64'(lkc_q)) * 64'(g.in_channels) + 64'(lch_q))
                               * 64'(g.weight_stride) + 64'(lo_q) * 64'(EB);
            l_rs2 = {k[15:0], j[15:0], row};
          end
        end
        default: begin  // P_BIAS: one int32 bias row per output-channel block, repeated over the pixels
          l_work = g.bias_addr != '0 || g.no_bias;
          l_run = pend_q[sl] && !dl_q[sl] && ok_acc;
          if (!l_cfgd_q) begin
            l_rs1 = {FP32_ONE, 16'(g.out_blk), 8'd1, 3'd0, 2'd2, 1'b0, 2'd1};
            l_rs2 = '0;
          end else begin
            j = min32(STEP_BIAS, 32'(g.pochs) - lo_q);
            n = min32(D, 32'(g.ocols) - lq_q);
            wq = lq_q + D >= 32'(g.ocols);
            wr = lr_q + 32'd1 >= 32'(g.orows);
            wb = lb_q + 32'd1 >= 32'(g.batches);
            wo = lo_q + STEP_BIAS >= 32'(g.pochs);
            nlq = wq ? '0 : lq_q + D;
            nlr = wq ? (wr ? '0 : lr_q + 32'd1) : lr_q;
            nlb = (wq && wr) ? (wb ? '0 : lb_q + 32'd1) : lb_q;
            nlo = (wq && wr && wb) ? lo_q + STEP_BIAS : lo_q;
            l_last = wq && wr && wb && wo;
            row = g.c_row + (lo_q / D) * g.out_blk + (lb_q * 32'(g.orows) + lr_q) * 32'(g.ocols) + lq_q;
            l_funct = F_MVIN3;
            l_rs1 = g.no_bias ? 64'd0 : g.bias_addr + 64'(lo_q) * 64'd4;
            l_rs2 = {n[15:0], j[15:0], ACC_BIT | row};
          end
        end
      endcase
    end
  end

  // E: execute pairs then mvouts of the oldest loop, once L has issued its loads
  logic        e_ph_q, e_pre_q;  // e_pre_q: the compute of the issued preload is next
  logic [31:0] eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q;
  logic        e_run, e_work, e_last, take_e;
  logic [6:0]  e_funct;
  logic [63:0] e_rs1, e_rs2;
  logic [31:0] neb, ner, neq, neo, nekr, nekc, nech;
  always_comb begin
    // verilator lint_off UNUSEDSIGNAL
    conv_desc_t g;
    logic [31:0] i, j, k, row;
    // verilator lint_on UNUSEDSIGNAL
    logic wq, wr, wb, wo, wkr, wkc, wch, first;
    g = '0;
    e_run = 1'b0;
    e_work = 1'b0;
    e_last = 1'b0;
    e_funct = F_PRELOAD;
    e_rs1 = '0;
    e_rs2 = '0;
    {neb, ner, neq, neo, nekr, nekc, nech} = {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q};
    {i, j, k, row} = '0;
    {wq, wr, wb, wo, wkr, wkc, wch, first} = '0;
    if (pend_q[head_q] && dl_q[head_q]) begin
      g = dsc_q[head_q];
      e_run = 1'b1;
      i = min32(D, 32'(g.ocols) - eq_q);
      j = min32(D, 32'(g.pochs) - eo_q);
      k = min32(D, 32'(g.kchs) - ech_q);
      wq = eq_q + D >= 32'(g.ocols);
      wr = er_q + 32'd1 >= 32'(g.orows);
      wb = eb_q + 32'd1 >= 32'(g.batches);
      wo = eo_q + D >= 32'(g.pochs);
      wch = ech_q + D >= 32'(g.kchs);
      wkc = ekc_q + 32'd1 >= 32'(g.kcols);
      wkr = ekr_q + 32'd1 >= 32'(g.krows);
      if (e_ph_q == P_EX) begin
        // och -> krow -> kcol -> kch -> b -> orow -> ocol; weights preloaded with the first pixels
        e_work = 1'b1;
        first = eb_q == '0 && er_q == '0 && eq_q == '0;
        if (e_pre_q) begin
          neq = wq ? '0 : eq_q + D;
          ner = wq ? (wr ? '0 : er_q + 32'd1) : er_q;
          neb = (wq && wr) ? (wb ? '0 : eb_q + 32'd1) : eb_q;
          nech = (wq && wr && wb) ? (wch ? '0 : ech_q + D) : ech_q;
          nekc = (wq && wr && wb && wch) ? (wkc ? '0 : ekc_q + 32'd1) : ekc_q;
          nekr = (wq && wr && wb && wch && wkc) ? (wkr ? '0 : ekr_q + 32'd1) : ekr_q;
          neo = (wq && wr && wb && wch && wkc && wkr) ? eo_q + D : eo_q;
          e_last = wq && wr && wb && wch && wkc && wkr && wo;
          row = g.a_row + (ech_q / D) * g.in_blk + (eb_q * g.irows + er_q * 32'(g.stride) + ekr_q) * g.icols
                + eq_q * 32'(g.stride) + ekc_q;
          e_funct = first ? F_COMPUTE_PRELOADED : F_COMPUTE_ACCUMULATED;
          e_rs1 = {i[15:0], k[15:0], row};
          e_rs2 = GARBAGE_OP;
        end else begin
          row = g.b_row + (eo_q / D) * g.w_blk + (ekr_q * 32'(g.kcols) + ekc_q) * 32'(g.kchs) + ech_q;
          e_funct = F_PRELOAD;
          e_rs1 = first ? {k[15:0], j[15:0], row} : GARBAGE_OP;
          row = g.c_row + (eo_q / D) * g.out_blk + (eb_q * 32'(g.orows) + er_q) * 32'(g.ocols) + eq_q;
          e_rs2 = {i[15:0], j[15:0], ACC_BIT | ACCUM_BIT | row};
        end
      end else begin
        // P_ST: b -> orow -> ocol -> och
        e_work = g.out_addr != '0;
        neo = wo ? '0 : eo_q + D;
        neq = wo ? (wq ? '0 : eq_q + D) : eq_q;
        ner = (wo && wq) ? (wr ? '0 : er_q + 32'd1) : er_q;
        neb = (wo && wq && wr) ? eb_q + 32'd1 : eb_q;
        e_last = wo && wq && wr && wb;
        row = g.c_row + (eo_q / D) * g.out_blk + (eb_q * 32'(g.orows) + er_q) * 32'(g.ocols) + eq_q;
        e_funct = F_MVOUT;
        e_rs1 = g.out_addr + ((64'(eb_q) * 64'(g.out_row_dim) + 64'(er_q)) * 64'(g.out_col_dim) + 64'(eq_q))
                             * 64'(g.out_stride) + 64'(eo_q) * 64'(EB);
        e_rs2 = {i[15:0], j[15:0], ACC_BIT | row};
      end
    end
  end

  // ---- arbiter: E's compute, then E (room in its queue), then L ----
  logic room_ld, room_ex, room_st, l_adv, e_adv, l_end, e_end;
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
        if (e_run && e_work && (e_ph_q == P_EX ? (e_pre_q || room_ex) : room_st)) take_e = 1'b1;
        else if (l_run && l_work && room_ld) take_l = 1'b1;
      end
    end
  end
  // a generator moves on when its command is taken, or at once through a phase without work
  assign l_adv = l_run && (!l_work || take_l);
  assign e_adv = e_run && (!e_work || take_e);
  assign l_end = l_adv && (!l_work || (l_cfgd_q && l_last));
  assign e_end = e_adv && (!e_work || e_last);

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
      e_ph_q <= P_EX;
      e_pre_q <= 1'b0;
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
          gen_cls_q <= (e_ph_q == P_EX) ? 2'd1 : 2'd2;
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
          e_ph_q <= (e_ph_q == P_EX) ? P_ST : P_EX;
          e_pre_q <= 1'b0;
          {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= '0;
        end else begin
          if (e_ph_q == P_EX) e_pre_q <= !e_pre_q;
          if (e_ph_q == P_ST || e_pre_q) {eb_q, er_q, eq_q, eo_q, ekr_q, ekc_q, ech_q} <= {neb, ner, neq, neo, nekr, nekc, nech};
        end
      end
      // done flags, acceptance and release (a loop leaves when E has issued its last mvout)
      if (l_end || e_end || accept) begin
        logic [1:0] pend_n, dl_n, de_n, rel;
        pend_n = pend_q;
        dl_n = dl_q;
        de_n = de_q;
        rel = '0;
        if (l_end && l_ph_q == P_BIAS) dl_n[sl] = 1'b1;
        if (e_end && e_ph_q == P_EX) de_n[head_q] = 1'b1;
        if (e_end && e_ph_q == P_ST) rel[head_q] = 1'b1;
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
