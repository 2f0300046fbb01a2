// Load controller: config_ld and mvin/mvin2/mvin3 (spec 2.4, 4.3). Each DRAM row is fetched with naturally
// aligned requests into a row slot; slots are written to the scratchpad or accumulator in row order, one
// DIM-wide block per cycle, through the mvin scaler. Rows of several commands may be in flight at once; a
// command completes when its last row has been written.
module gemmini_load_ctrl
  import gemmini_pkg::*;
(
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    cmd_valid_i,
  output logic                    cmd_ready_o,
  input  cmd_t                    cmd_i,
  output logic                    done_valid_o,
  output logic [ROB_W-1:0]        done_rob_o,
  // memory reads
  output logic                    rd_valid_o,
  input  logic                    rd_ready_i,
  output logic [63:0]             rd_addr_o,
  output logic [2:0]              rd_lgsize_o,
  output logic [7:0]              rd_id_o,
  input  logic                    resp_valid_i,
  // verilator lint_off UNUSEDSIGNAL
  input  logic [7:0]              resp_id_i,
  // verilator lint_on UNUSEDSIGNAL
  input  logic [MEM_W-1:0]        resp_data_i,
  // local writes
  output logic                    spw_valid_o,
  input  logic                    spw_grant_i,
  output logic [SP_ROW_BITS-1:0]  spw_row_o,
  output logic [SP_W-1:0]         spw_data_o,
  output logic [DIM-1:0]          spw_mask_o,
  output logic                    accw_valid_o,
  input  logic                    accw_grant_i,
  output logic [ACC_ROW_BITS-1:0] accw_row_o,
  output logic [ACC_W-1:0]        accw_data_o,
  output logic [DIM-1:0]          accw_mask_o,
  output logic                    accw_acc_o,
  // status
  output logic                    busy_o,
  output logic [3:0]              state_o,
  output logic [7:0]              reads_in_flight_o,
  output logic                    ev_active_o,
  output logic                    ev_dma_wait_o,
  output logic                    ev_sp_wait_o
);
  localparam int unsigned NS = MAX_READS;  // row slots
  localparam int unsigned SW = $clog2(NS) > 0 ? $clog2(NS) : 1;
  localparam int unsigned RB = ROW_BUF_BYTES;
  localparam int unsigned IdW = $clog2(MAX_READS) > 0 ? $clog2(MAX_READS) : 1;
  localparam int unsigned RBW = RB * 8;
  localparam int unsigned WW = RB * 8 + MEM_W;
  // Byte positions inside a row buffer: 0..RB inclusive (at least 8 bits; 9 for 256-byte rows at DIM 64).
  localparam int unsigned UW = ($clog2(RB + 1) > 8) ? $clog2(RB + 1) : 8;

  typedef struct packed {
    logic [ROW_BITS-1:0] row;
    logic                is_acc;
    logic                accumulate;
    logic                wide;        // int32 elements (accumulator, not shrunk)
    logic                zero;        // dram address 0: no data to wait for
    logic [7:0]          cols;
    logic [15:0]         block_stride;
    logic [31:0]         scale;
    logic [7:0]          rep;         // local rows this DRAM row is written to (stride 0 replicates)
    logic                last;        // last slot of its command
    logic [ROB_W-1:0]    rob;
  } slot_t;

  // ---- configuration states (mvin, mvin2, mvin3) ----
  logic [63:0] cfg_stride_q [3];
  logic [31:0] cfg_scale_q [3];
  logic        cfg_shrink_q [3];
  logic [15:0] cfg_bstride_q [3];

  // ---- the command being issued ----
  logic                 iss_q, row_open_q;
  logic [1:0]           st_q;
  logic [63:0]          dram_q, row_addr_q, cur_q, row_start_q;
  // verilator lint_off UNUSEDSIGNAL
  logic [31:0]          laddr_q;
  // verilator lint_on UNUSEDSIGNAL
  logic [7:0]           cols_q, rows_q, r_q;
  logic [ROB_W-1:0]     rob_q;

  // ---- slots ----
  slot_t            meta_q [NS];
  logic [RB*8-1:0]  buf_q [NS];
  logic [2:0]       pend_q [NS];
  logic             issued_q [NS];
  logic [SW-1:0]    head_q, tail_q, open_slot_q;
  logic [SW:0]      count_q;
  // ---- read ids ----
  logic [MAX_READS-1:0] id_busy_q;
  logic [SW-1:0]        id_slot_q [MAX_READS];
  logic [UW:0]          id_off_q [MAX_READS];  // signed: request base minus row start
  logic [UW-1:0]        id_u0_q [MAX_READS], id_u1_q [MAX_READS];  // useful bytes of the row
  // ---- writer ----
  logic [7:0] blk_q, rep_q;

  // Decoded incoming command.
  logic        in_cfg;
  logic [1:0]  in_state;
  always_comb begin
    in_cfg = cmd_i.funct == F_CONFIG;
    in_state = in_cfg ? cmd_i.rs1[4:3] : (cmd_i.funct == F_MVIN) ? 2'd0 : (cmd_i.funct == F_MVIN2) ? 2'd1 : 2'd2;
  end
  assign cmd_ready_o = !iss_q;

  // ---- issue ----
  logic        cur_wide, cur_zero, slot_free, id_free, row_fire, fire, row_last;
  logic [63:0] cur, stop, chunk_base, chunk_next, row_bytes;
  logic [2:0]  lg;
  logic [IdW-1:0] free_id;
  always_comb begin
    cur_wide = laddr_q[31] && !cfg_shrink_q[st_q];
    cur_zero = dram_q == 64'd0;
    row_bytes = cur_wide ? 64'(cols_q) * 64'd4 : 64'(cols_q) * 64'(EB);
    cur = row_open_q ? cur_q : row_addr_q;
    stop = (row_open_q ? row_start_q : row_addr_q) + row_bytes;
    // (the request sizing loops only while a command is being issued: idle units should cost nothing)
    lg = iss_q ? dma_chunk_lgsize(cur, stop) : 3'(LG_BEAT);
    chunk_base = cur & ~((64'd1 << lg) - 64'd1);
    chunk_next = chunk_base + (64'd1 << lg);
    if (chunk_next > stop) chunk_next = stop;
    slot_free = count_q != (SW+1)'(NS);
    free_id = '0;
    id_free = 1'b0;
    if (iss_q) begin
      for (int i = MAX_READS - 1; i >= 0; i--) begin
        if (!id_busy_q[i]) begin
          free_id = IdW'(i);
          id_free = 1'b1;
        end
      end
    end
    // Zero rows need only a slot; data rows need a slot for their first request and a read id for each.
    row_fire = iss_q && cur_zero && slot_free;
    rd_valid_o = iss_q && !cur_zero && (row_open_q || slot_free) && id_free;
    // stride 0 replicates one DRAM row (one slot written rows times)
    row_last = (cfg_stride_q[st_q] == 64'd0 && !cur_zero) || (r_q + 8'd1 == rows_q);
  end
  assign fire = rd_valid_o && rd_ready_i;
  assign w_fire = (spw_valid_o && spw_grant_i) || (accw_valid_o && accw_grant_i);
  assign rd_addr_o = chunk_base;
  assign rd_lgsize_o = lg;
  assign rd_id_o = 8'(free_id);

  slot_t new_meta;
  logic [SW-1:0] islot;  // slot of the request being issued
  assign islot = row_open_q ? open_slot_q : tail_q;
  always_comb begin
    new_meta.row = laddr_q[ROW_BITS-1:0] + ROW_BITS'(r_q);
    new_meta.is_acc = laddr_q[31];
    new_meta.accumulate = laddr_q[30];
    new_meta.wide = cur_wide;
    new_meta.zero = cur_zero;
    new_meta.cols = cols_q;
    new_meta.block_stride = cfg_bstride_q[st_q];
    new_meta.scale = cfg_scale_q[st_q];
    new_meta.rep = (cfg_stride_q[st_q] == 64'd0 && !cur_zero) ? rows_q : 8'd1;
    new_meta.last = row_last;
    new_meta.rob = rob_q;
  end

  // ---- responses ----
  logic             resp_ld;
  logic [IdW-1:0]   rid;
  logic [SW-1:0]    rslot;
  logic [RB*8-1:0]  rdata;
  always_comb begin
    logic [WW-1:0] wide_data, wide_mask;
    logic signed [UW:0] off;
    wide_data = '0;
    wide_mask = '0;
    resp_ld = resp_valid_i && !resp_id_i[7];
    rid = IdW'(resp_id_i);
    rslot = id_slot_q[rid];
    off = id_off_q[rid];
    rdata = '0;
    if (resp_ld) begin
      wide_data = '0;
      wide_data[MEM_W-1:0] = resp_data_i;
      if (off >= 0) wide_data = wide_data << (32'(off) * 8);
      else wide_data = wide_data >> ((-int'(off)) * 8);
      wide_mask = (WW'(1) << (32'(id_u1_q[rid]) * 8)) - WW'(1);
      wide_mask = wide_mask & ~((WW'(1) << (32'(id_u0_q[rid]) * 8)) - WW'(1));
      rdata = RBW'(wide_data & wide_mask);
    end
  end

  // ---- writer ----
  // verilator lint_off UNUSEDSIGNAL
  slot_t            hm;
  // verilator lint_on UNUSEDSIGNAL
  logic             head_ready, w_fire, w_last_blk, w_last_rep;
  logic [7:0]       nblk;
  logic [SP_W-1:0]  blk8;
  logic [ACC_W-1:0] blk32;
  logic [DIM-1:0]   wmask;
  logic [ROW_BITS-1:0] wrow;
  always_comb begin
    logic [RB*8-1:0] b8, b32;
    logic [EW-1:0] e;
    b8 = '0;
    b32 = '0;
    e = '0;
    hm = meta_q[head_q];
    head_ready = count_q != '0 && issued_q[head_q] && pend_q[head_q] == 3'd0;
    nblk = (hm.cols + 8'(DIM) - 8'd1) >> DIM_BITS;
    blk8 = '0;
    blk32 = '0;
    wmask = '0;
    if (head_ready) begin
      b8 = buf_q[head_q] >> (32'(blk_q) * SP_W);
      b32 = buf_q[head_q] >> (32'(blk_q) * ACC_W);
      for (int j = 0; j < DIM; j++) begin
        e = e_mvin_scale(b8[j*EW +: EW], hm.scale);
        blk8[j*EW +: EW] = e;
        // Full-width accumulator rows: binary32 ones pass the scaler (Gemmini's FP32 configuration
        // scales accumulator mvins), int32 ones do not.
        blk32[j*32 +: 32] = !hm.wide ? e_widen(e)
                          : IS_FP ? 32'(e_mvin_scale(EW'(b32[j*32 +: 32]), hm.scale)) : b32[j*32 +: 32];
        wmask[j] = (32'(blk_q) * DIM + 32'(j)) < 32'(hm.cols);
      end
    end
    wrow = hm.row + ROW_BITS'(rep_q) + ROW_BITS'(32'(blk_q) * 32'(hm.block_stride));
    spw_valid_o = head_ready && !hm.is_acc;
    accw_valid_o = head_ready && hm.is_acc;
    w_last_blk = blk_q + 8'd1 >= nblk;
    w_last_rep = rep_q + 8'd1 >= hm.rep;
  end
  assign spw_row_o = SP_ROW_BITS'(wrow);
  assign spw_data_o = blk8;
  assign spw_mask_o = wmask;
  assign accw_row_o = ACC_ROW_BITS'(wrow);
  assign accw_data_o = blk32;
  assign accw_mask_o = wmask;
  assign accw_acc_o = hm.accumulate;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      iss_q <= 1'b0;
      row_open_q <= 1'b0;
      head_q <= '0;
      tail_q <= '0;
      count_q <= '0;
      id_busy_q <= '0;
      blk_q <= '0;
      rep_q <= '0;
      done_valid_o <= 1'b0;
      // (unrolled: Verilator 5.006 rejects non-blocking array writes inside procedural loops)
      cfg_stride_q[0] <= '0;
      cfg_stride_q[1] <= '0;
      cfg_stride_q[2] <= '0;
      cfg_scale_q[0] <= FP32_ONE;
      cfg_scale_q[1] <= FP32_ONE;
      cfg_scale_q[2] <= FP32_ONE;
      cfg_shrink_q[0] <= 1'b0;
      cfg_shrink_q[1] <= 1'b0;
      cfg_shrink_q[2] <= 1'b0;
      cfg_bstride_q[0] <= 16'(DIM);
      cfg_bstride_q[1] <= 16'(DIM);
      cfg_bstride_q[2] <= 16'(DIM);
    end else begin
      done_valid_o <= 1'b0;
      // accept a command
      if (cmd_valid_i && !iss_q) begin
        if (in_cfg) begin
          cfg_stride_q[in_state] <= cmd_i.rs2;
          cfg_scale_q[in_state] <= cmd_i.rs1[63:32];
          cfg_shrink_q[in_state] <= cmd_i.rs1[2];
          cfg_bstride_q[in_state] <= cmd_i.rs1[31:16];
        end else begin
          iss_q <= 1'b1;
          st_q <= in_state;
          dram_q <= cmd_i.rs1;
          row_addr_q <= cmd_i.rs1;
          laddr_q <= cmd_i.rs2[31:0];
          cols_q <= cmd_i.rs2[39:32];
          rows_q <= cmd_i.rs2[55:48];
          r_q <= '0;
          rob_q <= cmd_i.rob;
          row_open_q <= 1'b0;
        end
      end
      // issue: allocate the row's slot with its first request (or at once for a zero row)
      if (row_fire || (fire && !row_open_q)) begin
        meta_q[tail_q] <= new_meta;
        buf_q[tail_q] <= '0;
        issued_q[tail_q] <= row_fire || chunk_next == stop;
        open_slot_q <= tail_q;
        tail_q <= tail_q + 1'b1;
      end
      if (fire) begin
        id_busy_q[free_id] <= 1'b1;
        id_slot_q[free_id] <= row_open_q ? open_slot_q : tail_q;
        id_off_q[free_id] <= (UW+1)'(chunk_base - (row_open_q ? row_start_q : row_addr_q));
        id_u0_q[free_id] <= UW'(cur - (row_open_q ? row_start_q : row_addr_q));
        id_u1_q[free_id] <= UW'(chunk_next - (row_open_q ? row_start_q : row_addr_q));
        if (row_open_q && chunk_next == stop) issued_q[open_slot_q] <= 1'b1;
        if (!row_open_q) row_start_q <= row_addr_q;
        cur_q <= chunk_next;
        row_open_q <= chunk_next != stop;
      end
      if (row_fire || (fire && chunk_next == stop)) begin
        r_q <= r_q + 8'd1;
        row_addr_q <= row_addr_q + cfg_stride_q[st_q];
        if (row_last) iss_q <= 1'b0;
      end
      // pending request count per slot: +1 on issue, -1 on response
      begin
        if (fire && resp_ld && islot == rslot) begin
          pend_q[islot] <= pend_q[islot];
        end else begin
          if (fire) pend_q[islot] <= (row_open_q ? pend_q[islot] : 3'd0) + 3'd1;
          if (resp_ld) pend_q[rslot] <= pend_q[rslot] - 3'd1;
        end
        if (row_fire) pend_q[tail_q] <= 3'd0;
      end
      if (resp_ld) begin
        id_busy_q[rid] <= 1'b0;
        buf_q[rslot] <= buf_q[rslot] | rdata;
      end
      // writer
      if (w_fire) begin
        if (!w_last_blk) begin
          blk_q <= blk_q + 8'd1;
        end else begin
          blk_q <= '0;
          if (!w_last_rep) begin
            rep_q <= rep_q + 8'd1;
          end else begin
            rep_q <= '0;
            head_q <= head_q + 1'b1;
            if (hm.last) begin
              done_valid_o <= 1'b1;
              done_rob_o <= hm.rob;
            end
          end
        end
      end
      count_q <= count_q + (SW+1)'(row_fire || (fire && !row_open_q))
                 - (SW+1)'(w_fire && w_last_blk && w_last_rep);
    end
  end

  assign reads_in_flight_o = 8'($countones(id_busy_q));
  assign busy_o = iss_q || count_q != '0;
  assign state_o = {2'd0, count_q != '0, iss_q};
  assign ev_active_o = busy_o;
  assign ev_dma_wait_o = iss_q && !cur_zero && !fire;
  assign ev_sp_wait_o = (spw_valid_o && !spw_grant_i) || (accw_valid_o && !accw_grant_i);
endmodule
