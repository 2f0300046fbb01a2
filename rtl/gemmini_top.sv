// gemforge's Gemmini-compatible accelerator: front end, reservation station, load / execute / store
// controllers, scratchpad, accumulator, memory-port arbiter and counter file. Ports: docs/accelerator.md
// section 5. Every output comes from state (no combinational path from an input), so the driver can read the
// outputs after one clock edge and choose the inputs for the next.
module gemmini_top
  import gemmini_pkg::*;
(
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 cmd_valid_i,
  output logic                 cmd_ready_o,
  input  logic [6:0]           cmd_funct_i,
  input  logic [4:0]           cmd_rd_i,
  input  logic [63:0]          cmd_rs1_i,
  input  logic [63:0]          cmd_rs2_i,
  output logic                 resp_valid_o,
  output logic [4:0]           resp_rd_o,
  output logic [63:0]          resp_data_o,
  output logic                 busy_o,
  output logic                 mem_req_valid_o,
  input  logic                 mem_req_ready_i,
  output logic                 mem_req_write_o,
  output logic [63:0]          mem_req_addr_o,
  output logic [2:0]           mem_req_lgsize_o,
  output logic [7:0]           mem_req_id_o,
  output logic [MEM_W-1:0]     mem_req_data_o,
  output logic [MAX_BYTES-1:0] mem_req_mask_o,
  input  logic                 mem_resp_valid_i,
  input  logic [7:0]           mem_resp_id_i,
  input  logic [MEM_W-1:0]     mem_resp_data_i,
  output logic [7:0]           err_code_o,
  output logic [6:0]           err_funct_o,
  output logic [63:0]          err_rs1_o,
  output logic [63:0]          err_rs2_o,
  output logic [63:0]          dbg_state_o,
  output logic [63:0]          events_o      // bit i: event id i (spec 6) happened in the previous cycle
);
  // ---- front end ----
  logic        fe_rs_valid, fe_rs_ready, fe_ctr_valid, fe_busy;
  logic [1:0]  fe_q;
  logic [6:0]  fe_funct;
  logic [63:0] fe_rs1, fe_rs2, fe_ctr_rs1;
  logic [4:0]  fe_ctr_rd;
  range_t      fe_src0, fe_src1, fe_dst;
  // LOOP_WS unit <-> front end
  logic        gen_valid, gen_ready, loop_active, loop_chk, loop_valid, loop_ready;
  logic [6:0]  gen_funct;
  logic [63:0] gen_rs1, gen_rs2;
  logic [7:0]  loop_err;
  logic [3:0]  loop_state;
  loop_view_t  loop_view;
  // LOOP_CONV_WS unit <-> front end (the two units' generated commands share gen_*: one is active at a time)
  logic        ws_gen_valid, conv_gen_valid, conv_active, conv_chk, conv_valid, conv_ready;
  logic [6:0]  ws_gen_funct, conv_gen_funct;
  logic [63:0] ws_gen_rs1, ws_gen_rs2, conv_gen_rs1, conv_gen_rs2;
  logic [7:0]  conv_err;
  assign gen_valid = ws_gen_valid || conv_gen_valid;
  assign gen_funct = conv_gen_valid ? conv_gen_funct : ws_gen_funct;
  assign gen_rs1 = conv_gen_valid ? conv_gen_rs1 : ws_gen_rs1;
  assign gen_rs2 = conv_gen_valid ? conv_gen_rs2 : ws_gen_rs2;
  logic [7:0]  rs_ld_n, rs_ex_n, rs_st_n;
  gemmini_frontend u_frontend (
    .clk_i, .rst_ni, .cmd_valid_i, .cmd_ready_o, .cmd_funct_i, .cmd_rd_i, .cmd_rs1_i, .cmd_rs2_i,
    .rs_valid_o (fe_rs_valid),
    .rs_ready_i (fe_rs_ready),
    .rs_q_o     (fe_q),
    .rs_funct_o (fe_funct),
    .rs_rs1_o   (fe_rs1),
    .rs_rs2_o   (fe_rs2),
    .rs_src0_o  (fe_src0),
    .rs_src1_o  (fe_src1),
    .rs_dst_o   (fe_dst),
    .gen_valid_i (gen_valid), .gen_ready_o (gen_ready), .gen_funct_i (gen_funct), .gen_rs1_i (gen_rs1),
    .gen_rs2_i (gen_rs2), .loop_active_i (loop_active), .loop_chk_o (loop_chk), .loop_valid_o (loop_valid),
    .loop_ready_i (loop_ready), .loop_err_i (loop_err), .loop_view_o (loop_view),
    .conv_active_i (conv_active), .conv_chk_o (conv_chk), .conv_valid_o (conv_valid), .conv_ready_i (conv_ready),
    .conv_err_i (conv_err),
    .ctr_valid_o(fe_ctr_valid),
    .ctr_rs1_o  (fe_ctr_rs1),
    .ctr_rd_o   (fe_ctr_rd),
    .busy_o     (fe_busy),
    .err_code_o, .err_funct_o, .err_rs1_o, .err_rs2_o
  );

  gemmini_loop_matmul u_loop_matmul (
    .clk_i, .rst_ni,
    .chk_i (loop_chk), .cfg_valid_i (loop_valid), .cfg_ready_o (loop_ready), .cfg_funct_i (fe_funct),
    .cfg_rs1_i (fe_rs1), .cfg_rs2_i (fe_rs2), .view_i (loop_view), .chk_err_o (loop_err),
    .gen_valid_o (ws_gen_valid), .gen_ready_i (gen_ready && !conv_gen_valid), .gen_funct_o (ws_gen_funct),
    .gen_rs1_o (ws_gen_rs1), .gen_rs2_o (ws_gen_rs2),
    .rs_ld_i (rs_ld_n), .rs_ex_i (rs_ex_n), .rs_st_i (rs_st_n),
    .active_o (loop_active), .state_o (loop_state)
  );

  gemmini_loop_conv u_loop_conv (
    .clk_i, .rst_ni,
    .chk_i (conv_chk), .cfg_valid_i (conv_valid), .cfg_ready_o (conv_ready), .cfg_funct_i (fe_funct),
    .cfg_rs1_i (fe_rs1), .cfg_rs2_i (fe_rs2), .view_i (loop_view), .chk_err_o (conv_err),
    .gen_valid_o (conv_gen_valid), .gen_ready_i (gen_ready), .gen_funct_o (conv_gen_funct),
    .gen_rs1_o (conv_gen_rs1), .gen_rs2_o (conv_gen_rs2),
    .rs_ld_i (rs_ld_n), .rs_ex_i (rs_ex_n), .rs_st_i (rs_st_n),
    .active_o (conv_active)
  );

  // ---- reservation station ----
  logic ld_valid, ld_ready, ex_valid, ex_ready, st_valid, st_ready;
  cmd_t ld_cmd, ex_cmd, st_cmd;
  logic ld_done, ex_done0, ex_done1, st_done;
  logic [ROB_W-1:0] ld_done_rob, ex_done0_rob, ex_done1_rob, st_done_rob;
  logic rs_busy, rs_full;
  gemmini_rs u_rs (
    .clk_i, .rst_ni,
    .alloc_valid_i (fe_rs_valid),
    .alloc_ready_o (fe_rs_ready),
    .alloc_q_i     (fe_q),
    .alloc_funct_i (fe_funct),
    .alloc_rs1_i   (fe_rs1),
    .alloc_rs2_i   (fe_rs2),
    .alloc_src0_i  (fe_src0),
    .alloc_src1_i  (fe_src1),
    .alloc_dst_i   (fe_dst),
    .ld_valid_o (ld_valid), .ld_ready_i (ld_ready), .ld_cmd_o (ld_cmd),
    .ex_valid_o (ex_valid), .ex_ready_i (ex_ready), .ex_cmd_o (ex_cmd),
    .st_valid_o (st_valid), .st_ready_i (st_ready), .st_cmd_o (st_cmd),
    .done_ld_i (ld_done), .done_ld_rob_i (ld_done_rob),
    .done_ex0_i (ex_done0), .done_ex0_rob_i (ex_done0_rob),
    .done_ex1_i (ex_done1), .done_ex1_rob_i (ex_done1_rob),
    .done_st_i (st_done), .done_st_rob_i (st_done_rob),
    .ld_count_o (rs_ld_n), .ex_count_o (rs_ex_n), .st_count_o (rs_st_n),
    .busy_o (rs_busy), .full_o (rs_full)
  );

  // ---- memories ----
  logic                   sp_exw_valid, sp_ldw_valid, sp_ldw_grant;
  logic [SP_ROW_BITS-1:0] sp_exw_row, sp_ldw_row;
  logic [SP_W-1:0]        sp_exw_data, sp_ldw_data;
  logic [DIM-1:0]         sp_exw_mask, sp_ldw_mask;
  logic [3:0]             sp_rd_valid, sp_rd_grant;
  logic [SP_ROW_BITS-1:0] sp_rd_row [4];
  logic [SP_W-1:0]        sp_rd_data [4];
  gemmini_spad u_spad (
    .clk_i,
    .exw_valid_i (sp_exw_valid), .exw_row_i (sp_exw_row), .exw_data_i (sp_exw_data), .exw_mask_i (sp_exw_mask),
    .ldw_valid_i (sp_ldw_valid), .ldw_grant_o (sp_ldw_grant), .ldw_row_i (sp_ldw_row),
    .ldw_data_i (sp_ldw_data), .ldw_mask_i (sp_ldw_mask),
    .rd_valid_i (sp_rd_valid), .rd_grant_o (sp_rd_grant), .rd_row_i (sp_rd_row), .rd_data_o (sp_rd_data)
  );

  logic                    acc_exw_valid, acc_exw_acc, acc_ldw_valid, acc_ldw_grant, acc_ldw_acc, acc_rd_valid;
  logic [ACC_ROW_BITS-1:0] acc_exw_row, acc_ldw_row, acc_rd_row;
  logic [ACC_W-1:0]        acc_exw_data, acc_ldw_data, acc_rd_data;
  logic [DIM-1:0]          acc_exw_mask, acc_ldw_mask;
  gemmini_acc u_acc (
    .clk_i,
    .exw_valid_i (acc_exw_valid), .exw_row_i (acc_exw_row), .exw_data_i (acc_exw_data),
    .exw_mask_i (acc_exw_mask), .exw_acc_i (acc_exw_acc),
    .ldw_valid_i (acc_ldw_valid), .ldw_grant_o (acc_ldw_grant), .ldw_row_i (acc_ldw_row),
    .ldw_data_i (acc_ldw_data), .ldw_mask_i (acc_ldw_mask), .ldw_acc_i (acc_ldw_acc),
    .rd_valid_i (acc_rd_valid), .rd_row_i (acc_rd_row), .rd_data_o (acc_rd_data)
  );

  // ---- memory port ----
  logic        rd_valid, rd_ready, wr_valid, wr_ready, tl_wait_rd, tl_wait_wr;
  logic [63:0] rd_addr, wr_addr;
  logic [2:0]  rd_lg, wr_lg;
  logic [7:0]  rd_id, wr_id;
  logic [MEM_W-1:0] wr_data;
  logic [MAX_BYTES-1:0] wr_mask;
  gemmini_mem_arb u_arb (
    .clk_i, .rst_ni,
    .rd_valid_i (rd_valid), .rd_ready_o (rd_ready), .rd_addr_i (rd_addr), .rd_lgsize_i (rd_lg), .rd_id_i (rd_id),
    .wr_valid_i (wr_valid), .wr_ready_o (wr_ready), .wr_addr_i (wr_addr), .wr_lgsize_i (wr_lg), .wr_id_i (wr_id),
    .wr_data_i (wr_data), .wr_mask_i (wr_mask),
    .req_valid_o (mem_req_valid_o), .req_ready_i (mem_req_ready_i), .req_write_o (mem_req_write_o),
    .req_addr_o (mem_req_addr_o), .req_lgsize_o (mem_req_lgsize_o), .req_id_o (mem_req_id_o),
    .req_data_o (mem_req_data_o), .req_mask_o (mem_req_mask_o),
    .tl_wait_rd_o (tl_wait_rd), .tl_wait_wr_o (tl_wait_wr)
  );

  // ---- controllers ----
  logic       ld_busy, st_busy, ex_busy, ld_ev_active, ld_ev_dma, ld_ev_sp, st_ev_active, st_ev_dma, st_ev_pool,
              st_ev_sp;
  logic [3:0] ld_state, st_state, ex_state;
  logic [7:0] reads_n, writes_n;
  logic [10:0] ex_ev;
  gemmini_load_ctrl u_load (
    .clk_i, .rst_ni,
    .cmd_valid_i (ld_valid), .cmd_ready_o (ld_ready), .cmd_i (ld_cmd),
    .done_valid_o (ld_done), .done_rob_o (ld_done_rob),
    .rd_valid_o (rd_valid), .rd_ready_i (rd_ready), .rd_addr_o (rd_addr), .rd_lgsize_o (rd_lg), .rd_id_o (rd_id),
    .resp_valid_i (mem_resp_valid_i), .resp_id_i (mem_resp_id_i), .resp_data_i (mem_resp_data_i),
    .spw_valid_o (sp_ldw_valid), .spw_grant_i (sp_ldw_grant), .spw_row_o (sp_ldw_row), .spw_data_o (sp_ldw_data),
    .spw_mask_o (sp_ldw_mask),
    .accw_valid_o (acc_ldw_valid), .accw_grant_i (acc_ldw_grant), .accw_row_o (acc_ldw_row),
    .accw_data_o (acc_ldw_data), .accw_mask_o (acc_ldw_mask), .accw_acc_o (acc_ldw_acc),
    .busy_o (ld_busy), .state_o (ld_state), .reads_in_flight_o (reads_n),
    .ev_active_o (ld_ev_active), .ev_dma_wait_o (ld_ev_dma), .ev_sp_wait_o (ld_ev_sp)
  );

  gemmini_store_ctrl u_store (
    .clk_i, .rst_ni,
    .cmd_valid_i (st_valid), .cmd_ready_o (st_ready), .cmd_i (st_cmd),
    .done_valid_o (st_done), .done_rob_o (st_done_rob),
    .sprd_valid_o (sp_rd_valid[3]), .sprd_grant_i (sp_rd_grant[3]), .sprd_row_o (sp_rd_row[3]),
    .sprd_data_i (sp_rd_data[3]),
    .accrd_valid_o (acc_rd_valid), .accrd_row_o (acc_rd_row), .accrd_data_i (acc_rd_data),
    .wr_valid_o (wr_valid), .wr_ready_i (wr_ready), .wr_addr_o (wr_addr), .wr_lgsize_o (wr_lg), .wr_id_o (wr_id),
    .wr_data_o (wr_data), .wr_mask_o (wr_mask),
    .resp_valid_i (mem_resp_valid_i), .resp_id_i (mem_resp_id_i),
    .busy_o (st_busy), .state_o (st_state), .writes_in_flight_o (writes_n),
    .ev_active_o (st_ev_active), .ev_dma_wait_o (st_ev_dma), .ev_pooling_o (st_ev_pool), .ev_sp_wait_o (st_ev_sp)
  );

  logic [SP_ROW_BITS-1:0] ex_rd_row [3];
  logic [SP_W-1:0]        ex_rd_data [3];
  assign sp_rd_row[0] = ex_rd_row[0];
  assign sp_rd_row[1] = ex_rd_row[1];
  assign sp_rd_row[2] = ex_rd_row[2];
  assign ex_rd_data[0] = sp_rd_data[0];
  assign ex_rd_data[1] = sp_rd_data[1];
  assign ex_rd_data[2] = sp_rd_data[2];
  gemmini_ex_ctrl u_ex (
    .clk_i, .rst_ni,
    .cmd_valid_i (ex_valid), .cmd_ready_o (ex_ready), .cmd_i (ex_cmd),
    .done0_valid_o (ex_done0), .done0_rob_o (ex_done0_rob),
    .done1_valid_o (ex_done1), .done1_rob_o (ex_done1_rob),
    .rd_valid_o (sp_rd_valid[2:0]), .rd_grant_i (sp_rd_grant[2:0]), .rd_row_o (ex_rd_row), .rd_data_i (ex_rd_data),
    .spw_valid_o (sp_exw_valid), .spw_row_o (sp_exw_row), .spw_data_o (sp_exw_data), .spw_mask_o (sp_exw_mask),
    .accw_valid_o (acc_exw_valid), .accw_row_o (acc_exw_row), .accw_data_o (acc_exw_data),
    .accw_mask_o (acc_exw_mask), .accw_acc_o (acc_exw_acc),
    .busy_o (ex_busy), .state_o (ex_state), .ev_o (ex_ev)
  );

  // ---- counters ----
  logic [63:0] events;
  logic [7:0]  rd_bytes, wr_bytes;
  always_comb begin
    events = '0;
    events[1] = ld_busy && !st_busy && !ex_busy;
    events[2] = !ld_busy && st_busy && !ex_busy;
    events[3] = !ld_busy && !st_busy && ex_busy;
    events[4] = ld_busy && st_busy && !ex_busy;
    events[5] = ld_busy && !st_busy && ex_busy;
    events[6] = !ld_busy && st_busy && ex_busy;
    events[7] = ld_busy && st_busy && ex_busy;
    events[8] = ld_ev_dma;
    events[9] = ld_ev_active;
    events[10] = ld_ev_sp;
    events[11] = st_ev_dma;
    events[12] = st_ev_active;
    events[13] = st_ev_pool;
    events[14] = st_ev_sp;
    events[18] = reads_n != 8'd0;
    events[20] = tl_wait_rd;
    events[21] = writes_n != 8'd0;
    events[23] = tl_wait_wr;
    events[28:24] = ex_ev[4:0];
    events[31:29] = ex_ev[7:5];
    events[37:35] = ex_ev[10:8];
    events[41] = rs_full;
    events[42] = rs_busy;
    // bytes are counted when the memory accepts a request
    rd_bytes = (mem_req_valid_o && mem_req_ready_i && !mem_req_write_o) ? 8'(1 << mem_req_lgsize_o) : 8'd0;
    wr_bytes = (mem_req_valid_o && mem_req_ready_i && mem_req_write_o) ? 8'(1 << mem_req_lgsize_o) : 8'd0;
  end
  gemmini_counters u_counters (
    .clk_i, .rst_ni,
    .op_valid_i (fe_ctr_valid), .op_rs1_i (fe_ctr_rs1), .op_rd_i (fe_ctr_rd),
    .resp_valid_o, .resp_rd_o, .resp_data_o,
    .events_i (events),
    .rs_ld_i (rs_ld_n), .rs_st_i (rs_st_n), .rs_ex_i (rs_ex_n),
    .rd_bytes_i (rd_bytes), .wr_bytes_i (wr_bytes), .rd_inflight_i (reads_n), .wr_inflight_i (writes_n)
  );

  // The simulator totals events on the host side from this registered copy: cheaper than 44 64-bit counters
  // updated in the model every cycle.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) events_o <= '0;
    else events_o <= events;
  end

  assign busy_o = fe_busy || loop_active || conv_active || rs_busy || ld_busy || st_busy || ex_busy || mem_req_valid_o;
  assign dbg_state_o = {8'd0, loop_state, writes_n, reads_n, rs_st_n, rs_ex_n, rs_ld_n, st_state, ex_state, ld_state};

  // ---- back doors (docs/accelerator.md section 5) ----
  export "DPI-C" function gf_sp_word;
  function automatic int unsigned gf_sp_word(input int unsigned row, input int unsigned word);
    return u_spad.peek_word(row, word);
  endfunction
  export "DPI-C" function gf_acc_word;
  function automatic int unsigned gf_acc_word(input int unsigned row, input int unsigned word);
    return u_acc.peek_word(row, word);
  endfunction
  export "DPI-C" function gf_event;
  function automatic longint unsigned gf_event(input int unsigned id);
    return u_counters.peek_event(id);
  endfunction
endmodule
