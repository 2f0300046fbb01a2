// The LOOP_CONV_WS unit (spec 4.10; docs/accelerator.md section 6; src/accel/loops.rs unroll_conv is the
// reference). Two double-buffered descriptor slots, as in the LOOP_WS unit: funct 16-21 fill the configuring
// slot, LOOP_CONV_WS (checked here against the front end's configuration shadow) marks it pending and fixes its
// placement. One generator issues the pending loops oldest first, each in exactly the unroller's order (bias,
// input, weights, execute, output), one command per cycle into an output register that the front end checks
// like any command. The reservation station overlaps their execution (its dependency tracking orders them as
// issued); the output register holds while the station has no room, which throttles the generator.
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
  localparam logic [2:0] P_BIAS = 3'd0, P_IN = 3'd1, P_W = 3'd2, P_EX = 3'd3, P_ST = 3'd4;

  conv_desc_t dsc_q [2];
  logic [1:0] pend_q;
  logic       cfg_slot_q, head_q, acc_half_q;
  logic       cs;
  assign cs = cfg_slot_q;

  function automatic logic [63:0] cdiv(input logic [63:0] n);
    return (n + 64'(DIM) - 64'd1) / 64'(DIM);
  endfunction
  function automatic logic [31:0] min32(input logic [31:0] a, input logic [31:0] b);
    return a < b ? a : b;
  endfunction

  // ---- the LOOP_CONV_WS check (order and rules of src/accel/loops.rs check_conv) ----
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
      end
    endcase
    return n;
  endfunction

  assign cfg_ready_o = !pend_q[cs];
  logic accept;
  assign accept = cfg_valid_i && cfg_ready_o && cfg_funct_i == 7'd15;

  // ---- generator: the loop at head_q, phase by phase ----
  logic [2:0]  ph_q;
  logic        cfgd_q;   // this phase's config_ld has been issued
  logic        ep_q;     // Ex: the compute of the issued preload is next
  logic [31:0] b_q, r_q, q_q, och_q, kr_q, kc_q, ch_q;
  logic        gen_v_q, load_out, step;
  assign load_out = !gen_v_q || gen_ready_i;
  assign step = load_out && pend_q[head_q];

  logic        work, emit, last;
  logic [6:0]  g_funct;
  logic [63:0] g_rs1, g_rs2;
  logic [31:0] n_b, n_r, n_q, n_och, n_kr, n_kc, n_ch;
  always_comb begin
    // (kdil is read by the check only; operand sizes use their low 16 bits)
    // verilator lint_off UNUSEDSIGNAL
    conv_desc_t g;
    logic [31:0] i, j, k, n, left, row;
    // verilator lint_on UNUSEDSIGNAL
    logic wq, wr, wb, wo, wkr, wkc, wch, zero;
    g = '0;
    work = 1'b0;
    emit = 1'b0;
    last = 1'b0;
    g_funct = F_CONFIG;
    g_rs1 = '0;
    g_rs2 = '0;
    n_b = b_q;
    n_r = r_q;
    n_q = q_q;
    n_och = och_q;
    n_kr = kr_q;
    n_kc = kc_q;
    n_ch = ch_q;
    i = '0;
    j = '0;
    k = '0;
    n = '0;
    left = '0;
    row = '0;
    wq = 1'b0;
    wr = 1'b0;
    wb = 1'b0;
    wo = 1'b0;
    wkr = 1'b0;
    wkc = 1'b0;
    wch = 1'b0;
    zero = 1'b0;
    // (evaluated only while a loop is pending: every combinational block runs every simulated cycle)
    if (pend_q[head_q]) begin
      g = dsc_q[head_q];
      case (ph_q)
        P_BIAS: begin
          // one int32 bias row per output-channel block, repeated over the pixels; zeros when no_bias
          work = g.bias_addr != '0 || g.no_bias;
          if (work && !cfgd_q) begin
            emit = 1'b1;
            g_rs1 = {FP32_ONE, 16'(g.out_blk), 8'd1, 3'd0, 2'd2, 1'b0, 2'd1};
            g_rs2 = '0;
          end else if (work) begin
            emit = 1'b1;
            j = min32(STEP_BIAS, 32'(g.pochs) - och_q);
            i = min32(D, 32'(g.ocols) - q_q);
            wq = q_q + D >= 32'(g.ocols);
            wr = r_q + 32'd1 >= 32'(g.orows);
            wb = b_q + 32'd1 >= 32'(g.batches);
            wo = och_q + STEP_BIAS >= 32'(g.pochs);
            n_q = wq ? '0 : q_q + D;
            n_r = wq ? (wr ? '0 : r_q + 32'd1) : r_q;
            n_b = (wq && wr) ? (wb ? '0 : b_q + 32'd1) : b_q;
            n_och = (wq && wr && wb) ? och_q + STEP_BIAS : och_q;
            last = wq && wr && wb && wo;
            row = g.c_row + (och_q / D) * g.out_blk + (b_q * 32'(g.orows) + r_q) * 32'(g.ocols) + q_q;
            g_funct = F_MVIN3;
            g_rs1 = g.no_bias ? 64'd0 : g.bias_addr + 64'(och_q) * 64'd4;
            g_rs2 = {i[15:0], j[15:0], ACC_BIT | row};
          end
        end
        P_IN: begin
          // one pixel per row (r, q count the padded window), the padding border as zeros
          work = g.in_addr != '0;
          if (work && !cfgd_q) begin
            emit = 1'b1;
            g_rs1 = {FP32_ONE, 16'(g.in_blk), 8'd1, 3'd0, 2'd0, 1'b0, 2'd1};
            g_rs2 = 64'(g.in_stride);
          end else if (work) begin
            emit = 1'b1;
            if (q_q < 32'(g.lpad)) left = 32'(g.lpad) - q_q;
            else if (q_q < g.icols - 32'(g.rpad)) left = g.icols - 32'(g.rpad) - q_q;
            else left = g.icols - q_q;
            n = min32(D, left);
            k = min32(STEP_WIDE, 32'(g.kchs) - ch_q);
            zero = r_q < 32'(g.upad) || r_q >= g.irows - 32'(g.dpad) || q_q < 32'(g.lpad)
                   || q_q >= g.icols - 32'(g.rpad);
            wch = ch_q + STEP_WIDE >= 32'(g.kchs);
            wq = q_q + n >= g.icols;
            wr = r_q + 32'd1 >= g.irows;
            wb = b_q + 32'd1 >= 32'(g.batches);
            n_ch = wch ? '0 : ch_q + STEP_WIDE;
            n_q = wch ? (wq ? '0 : q_q + n) : q_q;
            n_r = (wch && wq) ? (wr ? '0 : r_q + 32'd1) : r_q;
            n_b = (wch && wq && wr) ? b_q + 32'd1 : b_q;
            last = wch && wq && wr && wb;
            row = g.a_row + (ch_q / D) * g.in_blk + (b_q * g.irows + r_q) * g.icols + q_q;
            g_funct = F_MVIN;
            g_rs1 = zero ? 64'd0
                         : g.in_addr + ((64'(b_q) * 64'(g.in_row_dim) + 64'(r_q) - 64'(g.upad)) * 64'(g.in_col_dim)
                                      + 64'(q_q) - 64'(g.lpad)) * 64'(g.in_stride) + 64'(ch_q);
            g_rs2 = {n[15:0], k[15:0], row};
          end
        end
        P_W: begin
          work = g.w_addr != '0;
          if (work && !cfgd_q) begin
            emit = 1'b1;
            g_rs1 = {FP32_ONE, 16'(g.w_blk), 8'd1, 3'd0, 2'd1, 1'b0, 2'd1};
            g_rs2 = 64'(g.weight_stride);
          end else if (work) begin
            emit = 1'b1;
            j = min32(STEP_WIDE, 32'(g.pochs) - och_q);
            k = min32(D, 32'(g.kchs) - ch_q);
            wch = ch_q + D >= 32'(g.kchs);
            wkc = kc_q + 32'd1 >= 32'(g.kcols);
            wkr = kr_q + 32'd1 >= 32'(g.krows);
            wo = och_q + STEP_WIDE >= 32'(g.pochs);
            n_ch = wch ? '0 : ch_q + D;
            n_kc = wch ? (wkc ? '0 : kc_q + 32'd1) : kc_q;
            n_kr = (wch && wkc) ? (wkr ? '0 : kr_q + 32'd1) : kr_q;
            n_och = (wch && wkc && wkr) ? och_q + STEP_WIDE : och_q;
            last = wch && wkc && wkr && wo;
            row = g.b_row + (och_q / D) * g.w_blk + (kr_q * 32'(g.kcols) + kc_q) * 32'(g.kchs) + ch_q;
            g_funct = F_MVIN2;
            g_rs1 = g.w_addr + ((64'(kr_q) * 64'(g.kernel_dim) + 64'(kc_q)) * 64'(g.in_channels) + 64'(ch_q))
                                * 64'(g.weight_stride) + 64'(och_q);
            g_rs2 = {k[15:0], j[15:0], row};
          end
        end
        P_EX: begin
          // och -> krow -> kcol -> kch -> b -> orow -> ocol; weights preloaded with the first pixels
          work = 1'b1;
          emit = 1'b1;
          j = min32(D, 32'(g.pochs) - och_q);
          k = min32(D, 32'(g.kchs) - ch_q);
          i = min32(D, 32'(g.ocols) - q_q);
          wq = q_q + D >= 32'(g.ocols);
          wr = r_q + 32'd1 >= 32'(g.orows);
          wb = b_q + 32'd1 >= 32'(g.batches);
          wch = ch_q + D >= 32'(g.kchs);
          wkc = kc_q + 32'd1 >= 32'(g.kcols);
          wkr = kr_q + 32'd1 >= 32'(g.krows);
          wo = och_q + D >= 32'(g.pochs);
          if (ep_q) begin
            n_q = wq ? '0 : q_q + D;
            n_r = wq ? (wr ? '0 : r_q + 32'd1) : r_q;
            n_b = (wq && wr) ? (wb ? '0 : b_q + 32'd1) : b_q;
            n_ch = (wq && wr && wb) ? (wch ? '0 : ch_q + D) : ch_q;
            n_kc = (wq && wr && wb && wch) ? (wkc ? '0 : kc_q + 32'd1) : kc_q;
            n_kr = (wq && wr && wb && wch && wkc) ? (wkr ? '0 : kr_q + 32'd1) : kr_q;
            n_och = (wq && wr && wb && wch && wkc && wkr) ? och_q + D : och_q;
            last = wq && wr && wb && wch && wkc && wkr && wo;
            row = g.a_row + (ch_q / D) * g.in_blk + (b_q * g.irows + r_q * 32'(g.stride) + kr_q) * g.icols
                  + q_q * 32'(g.stride) + kc_q;
            g_funct = (b_q == '0 && r_q == '0 && q_q == '0) ? F_COMPUTE_PRELOADED : F_COMPUTE_ACCUMULATED;
            g_rs1 = {i[15:0], k[15:0], row};
            g_rs2 = GARBAGE_OP;
          end else begin
            row = g.b_row + (och_q / D) * g.w_blk + (kr_q * 32'(g.kcols) + kc_q) * 32'(g.kchs) + ch_q;
            g_funct = F_PRELOAD;
            g_rs1 = (b_q == '0 && r_q == '0 && q_q == '0) ? {k[15:0], j[15:0], row} : GARBAGE_OP;
            row = g.c_row + (och_q / D) * g.out_blk + (b_q * 32'(g.orows) + r_q) * 32'(g.ocols) + q_q;
            g_rs2 = {i[15:0], j[15:0], ACC_BIT | ACCUM_BIT | row};
          end
        end
        default: begin  // P_ST: b -> orow -> ocol -> och
          work = g.out_addr != '0;
          if (work) begin
            emit = 1'b1;
            j = min32(D, 32'(g.pochs) - och_q);
            i = min32(D, 32'(g.ocols) - q_q);
            wo = och_q + D >= 32'(g.pochs);
            wq = q_q + D >= 32'(g.ocols);
            wr = r_q + 32'd1 >= 32'(g.orows);
            wb = b_q + 32'd1 >= 32'(g.batches);
            n_och = wo ? '0 : och_q + D;
            n_q = wo ? (wq ? '0 : q_q + D) : q_q;
            n_r = (wo && wq) ? (wr ? '0 : r_q + 32'd1) : r_q;
            n_b = (wo && wq && wr) ? b_q + 32'd1 : b_q;
            last = wo && wq && wr && wb;
            row = g.c_row + (och_q / D) * g.out_blk + (b_q * 32'(g.orows) + r_q) * 32'(g.ocols) + q_q;
            g_funct = F_MVOUT;
            g_rs1 = g.out_addr + ((64'(b_q) * 64'(g.out_row_dim) + 64'(r_q)) * 64'(g.out_col_dim) + 64'(q_q))
                               * 64'(g.out_stride) + 64'(och_q);
            g_rs2 = {i[15:0], j[15:0], ACC_BIT | row};
          end
        end
      endcase
    end
  end

  // the phase ends with its last command, or at once when it has no work; the loop ends with its last phase
  logic ph_end, rel;
  assign ph_end = step && (!work || (emit && last && (ph_q == P_BIAS || ph_q == P_IN || ph_q == P_W ? cfgd_q : 1'b1)));
  assign rel = ph_end && ph_q == P_ST;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dsc_q[0] <= '0;
      dsc_q[1] <= '0;
      pend_q <= '0;
      cfg_slot_q <= 1'b0;
      head_q <= 1'b0;
      acc_half_q <= 1'b0;
      ph_q <= P_BIAS;
      cfgd_q <= 1'b0;
      ep_q <= 1'b0;
      b_q <= '0;
      r_q <= '0;
      q_q <= '0;
      och_q <= '0;
      kr_q <= '0;
      kc_q <= '0;
      ch_q <= '0;
      gen_v_q <= 1'b0;
      gen_funct_o <= '0;
      gen_rs1_o <= '0;
      gen_rs2_o <= '0;
    end else begin
      if (cfg_valid_i && cfg_ready_o) dsc_q[cs] <= desc_update(dsc_q[cs], cfg_funct_i, cfg_rs1_i, cfg_rs2_i, cs, acc_half_q);
      if (load_out && (gen_v_q || pend_q[head_q])) begin
        gen_v_q <= step && emit;
        if (step && emit) begin
          gen_funct_o <= g_funct;
          gen_rs1_o <= g_rs1;
          gen_rs2_o <= g_rs2;
        end
      end
      if (step) begin
        if (ph_end) begin
          ph_q <= (ph_q == P_ST) ? P_BIAS : ph_q + 3'd1;
          cfgd_q <= 1'b0;
          ep_q <= 1'b0;
          b_q <= '0;
          r_q <= '0;
          q_q <= '0;
          och_q <= '0;
          kr_q <= '0;
          kc_q <= '0;
          ch_q <= '0;
        end else if ((ph_q == P_BIAS || ph_q == P_IN || ph_q == P_W) && !cfgd_q) begin
          cfgd_q <= 1'b1;
        end else begin
          if (ph_q == P_EX) ep_q <= !ep_q;
          if (ph_q != P_EX || ep_q) begin
            b_q <= n_b;
            r_q <= n_r;
            q_q <= n_q;
            och_q <= n_och;
            kr_q <= n_kr;
            kc_q <= n_kc;
            ch_q <= n_ch;
          end
        end
      end
      // acceptance and release
      if (rel || accept) begin
        logic [1:0] pend_n;
        pend_n = pend_q;
        if (rel) pend_n[head_q] = 1'b0;
        if (pend_n == 2'b00) head_q <= cs;
        else if (rel) head_q <= !head_q;
        if (accept) begin
          pend_n[cs] = 1'b1;
          cfg_slot_q <= !cs;
          if (dsc_q[cs].out_addr != '0) acc_half_q <= !acc_half_q;
        end
        pend_q <= pend_n;
      end
    end
  end

  assign gen_valid_o = gen_v_q;
  assign active_o = pend_q != 2'b00 || gen_v_q;
endmodule
