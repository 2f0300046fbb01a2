// Store controller: config_st, config_norm and mvout (spec 2.5, 4.4). A sequencer walks the command's (row,
// block) items, or with max-pooling its output pixels and their windows, and reads the source rows; read data
// is converted (raw input-type rows, raw accumulator rows, or the activation + acc_scale to the input type)
// into a small queue of DRAM rows, which a chunker writes with naturally aligned masked requests. With the
// normalizer (HAS_NORM) every accumulator block also passes gemmini_normalizer with its normalizer command,
// and blocks whose command is not RESET write nothing (a zero-byte queue entry keeps the completion in
// order). A command completes when its last request has been issued; outstanding writes keep busy_o high
// until acknowledged.
module gemmini_store_ctrl
  import gemmini_pkg::*;
(
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    cmd_valid_i,
  output logic                    cmd_ready_o,
  input  cmd_t                    cmd_i,
  output logic                    done_valid_o,
  output logic [ROB_W-1:0]        done_rob_o,
  // local reads (data one cycle after the grant)
  output logic                    sprd_valid_o,
  input  logic                    sprd_grant_i,
  output logic [SP_ROW_BITS-1:0]  sprd_row_o,
  input  logic [SP_W-1:0]         sprd_data_i,
  output logic                    accrd_valid_o,
  output logic [ACC_ROW_BITS-1:0] accrd_row_o,
  input  logic [ACC_W-1:0]        accrd_data_i,
  // memory writes
  output logic                    wr_valid_o,
  input  logic                    wr_ready_i,
  output logic [63:0]             wr_addr_o,
  output logic [2:0]              wr_lgsize_o,
  output logic [7:0]              wr_id_o,
  output logic [MEM_W-1:0]        wr_data_o,
  output logic [MAX_BYTES-1:0]    wr_mask_o,
  input  logic                    resp_valid_i,
  // verilator lint_off UNUSEDSIGNAL
  input  logic [7:0]              resp_id_i,
  // verilator lint_on UNUSEDSIGNAL
  // status
  output logic                    busy_o,
  output logic [3:0]              state_o,
  output logic [7:0]              writes_in_flight_o,
  output logic                    ev_active_o,
  output logic                    ev_dma_wait_o,
  output logic                    ev_pooling_o,
  output logic                    ev_sp_wait_o
);
  localparam int unsigned RB = ROW_BUF_BYTES;
  localparam int unsigned RBW = RB * 8;
  localparam int unsigned QD = 4;  // converted-row queue depth
  // Byte counts of one DRAM row: 0..RB inclusive (at least 8 bits; 9 for 256-byte rows at DIM 64).
  localparam int unsigned UW = ($clog2(RB + 1) > 8) ? $clog2(RB + 1) : 8;
  localparam int unsigned IdW = $clog2(MAX_WRITES) > 0 ? $clog2(MAX_WRITES) : 1;

  typedef enum logic [1:0] {
    SrcSp = 2'd0,
    SrcAccFull = 2'd1,
    SrcAccScaled = 2'd2
  } src_e;

  // An item on its way from the read to the queue.
  typedef struct packed {
    src_e             src;
    logic             zero;       // pooling padding: no read, value 0
    logic [2:0]       act;        // store activation (1 ReLU; 2-4 with the normalizer)
    logic [31:0]      scale;
    logic [2:0]       ncmd;       // normalizer command of this block
    logic             nupd;       // the block passes the normalizer
    logic             nclr;       // first read of a pooled accumulator mvout: restart the stat
    logic             nid;        // stat id
    logic [7:0]       nlen;       // elements of the block
    logic             pool;
    logic             pool_first; // first element of a pooling window
    logic             emit;       // produces a DRAM row
    logic [63:0]      addr;
    logic [UW-1:0]    nbytes;
    logic             last;       // last DRAM row of its command
    logic [ROB_W-1:0] rob;
  } item_t;

  // ---- configuration ----
  logic [31:0] c_stride_q, c_scale_q;
  logic [2:0]  c_act_q;
  logic [1:0]  c_pstride_q, c_psize_q, c_upad_q, c_lpad_q;
  norm_k_t     c_k_q;
  logic        c_nid_q;
  logic [7:0]  c_pout_q, c_porows_q, c_pocols_q, c_orows_q, c_ocols_q;

  // ---- sequencer (current command) ----
  logic             seq_q;
  src_e             s_src_q;
  logic             s_pool_q, s_nid_q;
  logic [2:0]       s_act_q, s_ncmd_q;
  logic [31:0]      s_scale_q, s_stride_q;
  logic [63:0]      s_dram_q;
  logic [ROW_BITS-1:0] s_row_q;
  logic [7:0]       s_cols_q, s_rows_q, s_nblk_q;
  logic [ROB_W-1:0] s_rob_q;
  logic [1:0]       s_ps_q, s_psz_q, s_upad_q, s_lpad_q;
  logic [7:0]       s_pout_q, s_porows_q, s_pocols_q, s_orows_q, s_ocols_q;
  logic [7:0]       i0_q, i1_q;  // r, b (plain) or pr, pc (pooling)
  logic [1:0]       w0_q, w1_q;  // window row, col (pooling)

  // ---- S2 register, queue, pooling max ----
  logic             s2_valid_q;
  item_t            s2_q;
  logic [SP_W-1:0]  pmax_q;
  logic [RBW-1:0]   q_data_q [QD];
  logic [63:0]      q_addr_q [QD];
  logic [UW-1:0]    q_n_q [QD];
  logic             q_last_q [QD];
  logic [ROB_W-1:0] q_rob_q [QD];
  logic [$clog2(QD)-1:0] q_head_q, q_tail_q;
  logic [$clog2(QD):0]   q_count_q;
  logic [UW-1:0]    q_off_q;  // bytes of the head row already requested
  logic [MAX_WRITES-1:0] id_busy_q;

  // ---- decode of an incoming command ----
  logic in_cfg;
  assign in_cfg = cmd_i.funct == F_CONFIG;
  assign cmd_ready_o = !seq_q;

  // ---- sequencer: the current item ----
  item_t            it;
  logic             it_emit, it_last, it_fire, credit;
  logic [ROW_BITS-1:0] it_row;
  always_comb begin
    logic signed [15:0] orow, ocol;
    logic [7:0] nb;
    orow = '0;
    ocol = '0;
    nb = '0;
    it = '0;
    it.src = s_src_q;
    it.act = s_act_q;
    it.scale = s_scale_q;
    it.nid = s_nid_q;
    it.pool = s_pool_q;
    it.rob = s_rob_q;
    it_row = '0;
    it_emit = 1'b0;
    it_last = 1'b0;
    // (computed only while a command runs: every combinational block runs every simulated cycle)
    if (seq_q && !s_pool_q) begin
      nb = s_cols_q - (i1_q << DIM_BITS);
      if (nb > 8'(DIM)) nb = 8'(DIM);
      it_row = s_row_q + ROW_BITS'(i0_q) + ROW_BITS'(32'(i1_q) * DIM);
      it_emit = 1'b1;
      it_last = (i0_q + 8'd1 == s_rows_q) && (i1_q + 8'd1 == s_nblk_q);
      it.addr = s_dram_q + 64'(i0_q) * 64'(s_stride_q)
                + 64'(i1_q) * 64'(DIM) * ((s_src_q == SrcAccFull) ? 64'd4 : 64'(EB));
      it.nbytes = (s_src_q == SrcAccFull) ? UW'(nb) * UW'(4) : UW'(nb) * UW'(EB);
      if (HAS_NORM && s_src_q != SrcSp) begin
        it.ncmd = (i1_q + 8'd1 == s_nblk_q) ? s_ncmd_q : norm_non_reset(s_ncmd_q);
        it.nupd = 1'b1;
        it.nlen = nb;
        if (it.ncmd != NC_RESET) it.nbytes = '0;  // statistics only: nothing is written
      end
    end else if (seq_q) begin
      orow = 16'(i0_q) * 16'(s_ps_q) + 16'(w0_q) - 16'(s_upad_q);
      ocol = 16'(i1_q) * 16'(s_ps_q) + 16'(w1_q) - 16'(s_lpad_q);
      it.zero = orow < 0 || ocol < 0 || orow >= 16'(s_orows_q) || ocol >= 16'(s_ocols_q);
      it_row = s_row_q + ROW_BITS'(32'(orow) * 32'(s_ocols_q) + 32'(ocol));
      it.pool_first = w0_q == 2'd0 && w1_q == 2'd0;
      it_emit = (w0_q + 2'd1 == s_psz_q) && (w1_q + 2'd1 == s_psz_q);
      it_last = it_emit && (i0_q + 8'd1 == s_porows_q) && (i1_q + 8'd1 == s_pocols_q);
      it.addr = s_dram_q + (64'(i0_q) * 64'(s_pout_q) + 64'(i1_q)) * 64'(s_stride_q);
      it.nbytes = UW'(s_cols_q) * UW'(EB);
      it.nclr = HAS_NORM && s_src_q != SrcSp && i0_q == '0 && i1_q == '0 && w0_q == '0 && w1_q == '0;
    end
    it.emit = it_emit;
    it.last = it_last;
    // A row may be read only if the queue will have room for it when its data arrives.
    credit = 32'(q_count_q) + 32'(s2_valid_q && s2_q.emit) < QD;
    sprd_valid_o = seq_q && credit && !it.zero && s_src_q == SrcSp;
    accrd_valid_o = seq_q && credit && !it.zero && s_src_q != SrcSp;
  end
  assign it_fire = seq_q && credit && (it.zero || accrd_valid_o || sprd_grant_i);
  assign sprd_row_o = SP_ROW_BITS'(it_row);
  assign accrd_row_o = ACC_ROW_BITS'(it_row);

  // ---- the normalizer: every accumulator block of a plain mvout passes it in S2 (in command order) ----
  norm_stat_t [NORM_IDS-1:0] n_stat;
  if (HAS_NORM) begin : g_norm
    gemmini_normalizer u_norm (
      .clk_i,
      .rst_ni,
      .upd_i   (s2_valid_q && s2_q.nupd),
      .cmd_i   (s2_q.ncmd),
      .id_i    (s2_q.nid),
      .len_i   (s2_q.nlen),
      .data_i  (accrd_data_i),
      .scale_i (s2_q.scale),
      .k_i     (c_k_q),
      .clear_i (s2_valid_q && s2_q.nclr),
      .stat_o  (n_stat)
    );
  end else begin : g_no_norm
    // verilator lint_off UNUSEDSIGNAL
    logic unused_norm;  // the normalizer fields of an item are not read without the normalizer
    assign unused_norm = ^{s2_q.ncmd, s2_q.nupd, s2_q.nclr, s2_q.nid, s2_q.nlen};
    // verilator lint_on UNUSEDSIGNAL
    assign n_stat = '0;
  end

  // ---- S2: convert the read data ----
  logic [RBW-1:0]   conv;
  logic [SP_W-1:0]  pool_next;
  always_comb begin
    logic [EW-1:0] v, m;
    conv = '0;
    pool_next = '0;
    v = '0;
    m = '0;
    // (only when data arrives: every combinational block runs every simulated cycle)
    if (s2_valid_q) for (int j = 0; j < DIM; j++) begin
      case (s2_q.src)
        SrcSp: v = sprd_data_i[j*EW +: EW];
        SrcAccScaled: v = HAS_NORM ? EW'(norm_readout(accrd_data_i[j*32 +: 32], s2_q.act, s2_q.scale,
                                                          n_stat[s2_q.nid], c_k_q))
                                   : e_acc_readout(accrd_data_i[j*32 +: 32], s2_q.act == ACT_RELU, s2_q.scale);
        default: v = '0;
      endcase
      if (s2_q.zero) v = '0;
      m = pmax_q[j*EW +: EW];
      pool_next[j*EW +: EW] = (s2_q.pool_first || e_gt(v, m)) ? v : m;
      conv[j*EW +: EW] = s2_q.pool ? pool_next[j*EW +: EW] : v;
    end
    if (s2_valid_q && s2_q.src == SrcAccFull) conv = RBW'(accrd_data_i);
  end

  // ---- chunker: the head DRAM row ----
  logic            c_valid, c_fire, c_done, c_skip, id_free;
  logic [63:0]     c_cur, c_stop, c_base, c_next;
  logic [2:0]      c_lg;
  logic [IdW-1:0]  free_id;
  always_comb begin
    logic [RBW+MEM_W-1:0] wd, wm;
    c_valid = q_count_q != '0 && q_n_q[q_head_q] != '0;
    c_cur = q_addr_q[q_head_q] + 64'(q_off_q);
    c_stop = q_addr_q[q_head_q] + 64'(q_n_q[q_head_q]);
    c_lg = 3'(LG_BEAT);
    c_base = c_cur;
    c_next = c_stop;
    free_id = '0;
    id_free = 1'b0;
    wd = '0;
    wm = '0;
    if (c_valid) begin
      c_lg = dma_chunk_lgsize(c_cur, c_stop);
      c_base = c_cur & ~((64'd1 << c_lg) - 64'd1);
      c_next = c_base + (64'd1 << c_lg);
      if (c_next > c_stop) c_next = c_stop;
      for (int i = MAX_WRITES - 1; i >= 0; i--) begin
        if (!id_busy_q[i]) begin
          free_id = IdW'(i);
          id_free = 1'b1;
        end
      end
      // Request byte i is row byte (base + i - addr); the row sits at offset (addr - base) <= MAX_BYTES.
      wd[RBW-1:0] = q_data_q[q_head_q];
      wd = wd << (32'(c_cur - c_base) * 8);
      wd = wd >> (32'(q_off_q) * 8);
      wm = ((RBW+MEM_W)'(1) << (32'(c_next - c_base) * 8)) - (RBW+MEM_W)'(1);
      wm = wm & ~(((RBW+MEM_W)'(1) << (32'(c_cur - c_base) * 8)) - (RBW+MEM_W)'(1));
    end
    wr_data_o = MEM_W'(wd);
    for (int i = 0; i < MAX_BYTES; i++) wr_mask_o[i] = wm[i*8];
    wr_valid_o = c_valid && id_free;
  end
  assign c_fire = wr_valid_o && wr_ready_i;
  // a zero-byte entry (a statistics-only block) leaves the queue without a write
  assign c_skip = q_count_q != '0 && q_n_q[q_head_q] == '0;
  assign c_done = (c_fire && c_next == c_stop) || c_skip;
  assign wr_addr_o = c_base;
  assign wr_lgsize_o = c_lg;
  assign wr_id_o = 8'h80 | 8'(free_id);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      seq_q <= 1'b0;
      s2_valid_q <= 1'b0;
      q_head_q <= '0;
      q_tail_q <= '0;
      q_count_q <= '0;
      q_off_q <= '0;
      id_busy_q <= '0;
      done_valid_o <= 1'b0;
      c_stride_q <= '0;
      c_scale_q <= FP32_ONE;
      c_act_q <= '0;
      c_k_q <= '0;
      c_nid_q <= 1'b0;
      c_pstride_q <= '0;
      c_psize_q <= '0;
      c_upad_q <= '0;
      c_lpad_q <= '0;
      c_pout_q <= '0;
      c_porows_q <= '0;
      c_pocols_q <= '0;
      c_orows_q <= '0;
      c_ocols_q <= '0;
    end else begin
      done_valid_o <= 1'b0;
      if (cmd_valid_i && !seq_q) begin
        if (in_cfg) begin
          if (HAS_NORM && cmd_i.rs1[1:0] == 2'd3) begin
            // config_norm: constants and act_msb unless set_stats_id_only; the stat id always
            if (!cmd_i.rs1[17]) begin
              c_k_q.qb <= cmd_i.rs2[31:0];
              c_k_q.qc <= cmd_i.rs2[63:32];
              if (cmd_i.rs1[18]) c_k_q.qln2_inv <= cmd_i.rs1[63:32];
              else c_k_q.qln2 <= cmd_i.rs1[63:32];
              c_act_q[2] <= cmd_i.rs1[16];
            end
            c_nid_q <= cmd_i.rs1[8];
          end
          if (cmd_i.rs1[1:0] == 2'd2) begin
            c_act_q <= {1'b0, cmd_i.rs1[3:2]};
            c_pstride_q <= cmd_i.rs1[5:4];
            c_psize_q <= cmd_i.rs1[7:6];
            c_upad_q <= cmd_i.rs1[9:8];
            c_lpad_q <= cmd_i.rs1[11:10];
            c_pout_q <= cmd_i.rs1[31:24];
            c_porows_q <= cmd_i.rs1[39:32];
            c_pocols_q <= cmd_i.rs1[47:40];
            c_orows_q <= cmd_i.rs1[55:48];
            c_ocols_q <= cmd_i.rs1[63:56];
            c_stride_q <= cmd_i.rs2[31:0];
            if (cmd_i.rs2[63:32] != 32'hffff_ffff) c_scale_q <= cmd_i.rs2[63:32];
          end
        end else begin
          seq_q <= 1'b1;
          // with pooling the read_full bit is ignored: accumulator rows always pass the int8 read-out
          s_src_q <= !cmd_i.rs2[31] ? SrcSp : (cmd_i.rs2[29] && c_pstride_q == 2'd0) ? SrcAccFull : SrcAccScaled;
          s_pool_q <= c_pstride_q != 2'd0;
          s_act_q <= c_act_q;
          s_nid_q <= c_nid_q;
          s_ncmd_q <= cmd_i.rs2[28:26];
          s_scale_q <= c_scale_q;
          s_stride_q <= c_stride_q;
          s_dram_q <= cmd_i.rs1;
          s_row_q <= cmd_i.rs2[ROW_BITS-1:0];
          s_cols_q <= cmd_i.rs2[39:32];
          s_rows_q <= cmd_i.rs2[55:48];
          s_nblk_q <= (cmd_i.rs2[39:32] + 8'(DIM) - 8'd1) >> DIM_BITS;
          s_rob_q <= cmd_i.rob;
          s_ps_q <= c_pstride_q;
          s_psz_q <= c_psize_q;
          s_upad_q <= c_upad_q;
          s_lpad_q <= c_lpad_q;
          s_pout_q <= c_pout_q;
          s_porows_q <= c_porows_q;
          s_pocols_q <= c_pocols_q;
          s_orows_q <= c_orows_q;
          s_ocols_q <= c_ocols_q;
          i0_q <= '0;
          i1_q <= '0;
          w0_q <= '0;
          w1_q <= '0;
        end
      end
      // sequencer advance
      s2_valid_q <= it_fire;
      if (it_fire) begin
        s2_q <= it;
        if (!s_pool_q) begin
          if (i1_q + 8'd1 < s_nblk_q) begin
            i1_q <= i1_q + 8'd1;
          end else begin
            i1_q <= '0;
            i0_q <= i0_q + 8'd1;
          end
        end else begin
          if (w1_q + 2'd1 < s_psz_q) begin
            w1_q <= w1_q + 2'd1;
          end else begin
            w1_q <= '0;
            if (w0_q + 2'd1 < s_psz_q) begin
              w0_q <= w0_q + 2'd1;
            end else begin
              w0_q <= '0;
              if (i1_q + 8'd1 < s_pocols_q) begin
                i1_q <= i1_q + 8'd1;
              end else begin
                i1_q <= '0;
                i0_q <= i0_q + 8'd1;
              end
            end
          end
        end
        if (it_last) seq_q <= 1'b0;
      end
      // S2 -> queue
      if (s2_valid_q) begin
        if (s2_q.pool) pmax_q <= pool_next;
        if (s2_q.emit) begin
          q_data_q[q_tail_q] <= conv;
          q_addr_q[q_tail_q] <= s2_q.addr;
          q_n_q[q_tail_q] <= s2_q.nbytes;
          q_last_q[q_tail_q] <= s2_q.last;
          q_rob_q[q_tail_q] <= s2_q.rob;
          q_tail_q <= q_tail_q + 1'b1;
        end
      end
      // chunker
      if (c_fire) begin
        id_busy_q[free_id] <= 1'b1;
        q_off_q <= c_done ? '0 : UW'(c_next - q_addr_q[q_head_q]);
      end
      if (c_done) begin
        q_head_q <= q_head_q + 1'b1;
        if (q_last_q[q_head_q]) begin
          done_valid_o <= 1'b1;
          done_rob_o <= q_rob_q[q_head_q];
        end
      end
      q_count_q <= q_count_q + ($clog2(QD)+1)'(s2_valid_q && s2_q.emit) - ($clog2(QD)+1)'(c_done);
      if (resp_valid_i && resp_id_i[7]) id_busy_q[IdW'(resp_id_i)] <= 1'b0;
    end
  end

  assign writes_in_flight_o = 8'($countones(id_busy_q));
  assign busy_o = seq_q || s2_valid_q || q_count_q != '0 || id_busy_q != '0;
  assign state_o = {1'b0, id_busy_q != '0, q_count_q != '0, seq_q};
  assign ev_active_o = seq_q || s2_valid_q || q_count_q != '0;
  assign ev_dma_wait_o = c_valid && !c_fire;
  assign ev_pooling_o = seq_q && s_pool_q;
  assign ev_sp_wait_o = sprd_valid_o && !sprd_grant_i;
endmodule
