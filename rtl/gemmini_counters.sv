// Performance counter file (spec 6): eight counters, each counting one event (ids 1-44) or reading one
// external value (ids 1-7 with the external bit), a snapshot, and reset; reached through funct 126, which
// answers with the addressed counter. It also keeps free-running totals of the externals for the simulator's
// reports (back door, never visible to programs); totals of the events are kept by the host from events_o.
module gemmini_counters
  import gemmini_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        op_valid_i,
  // verilator lint_off UNUSEDSIGNAL
  input  logic [63:0] op_rs1_i,
  // verilator lint_on UNUSEDSIGNAL
  input  logic [4:0]  op_rd_i,
  output logic        resp_valid_o,
  output logic [4:0]  resp_rd_o,
  output logic [63:0] resp_data_o,
  input  logic [63:0] events_i,      // bit i = event id i this cycle
  input  logic [7:0]  rs_ld_i,       // external 1-3: current occupancy
  input  logic [7:0]  rs_st_i,
  input  logic [7:0]  rs_ex_i,
  input  logic [7:0]  rd_bytes_i,    // external 4: bytes received this cycle
  input  logic [7:0]  wr_bytes_i,    // external 5: bytes sent this cycle
  input  logic [7:0]  rd_inflight_i, // external 6: accumulated every cycle
  input  logic [7:0]  wr_inflight_i  // external 7
);
  localparam int unsigned N = 8;
  logic [63:0] cnt_q [N];
  logic [63:0] snap_q [N];
  logic [5:0]  ev_q [N];
  logic        ext_q [N];
  logic        snap_en_q;
  logic [63:0] ext_acc_q [4];  // externals 4-7, cleared by a counter reset
  logic [63:0] ext_total_q [4];

  function automatic logic [63:0] ext_val(input logic [5:0] id, input logic [63:0] acc [4],
                                          input logic [7:0] l, input logic [7:0] s, input logic [7:0] x);
    case (id)
      6'd1: return 64'(l);
      6'd2: return 64'(s);
      6'd3: return 64'(x);
      6'd4: return acc[0];
      6'd5: return acc[1];
      6'd6: return acc[2];
      6'd7: return acc[3];
      default: return 64'd0;
    endcase
  endfunction

  // ---- the op ----
  logic       op_reset, op_sreset, op_stake, op_cfg, op_ext;
  logic [2:0] op_idx;
  logic [5:0] op_ev;
  assign op_reset = op_valid_i && op_rs1_i[0];
  assign op_sreset = op_valid_i && op_rs1_i[1];
  assign op_stake = op_valid_i && op_rs1_i[2];
  assign op_cfg = op_valid_i && op_rs1_i[3];
  assign op_idx = op_rs1_i[6:4];
  assign op_ev = op_rs1_i[17:12];
  assign op_ext = op_rs1_i[31];

  // Values after this op's reset, as snapshot and read see them.
  logic [63:0] cur [N];
  logic [63:0] acc_now [4];
  always_comb begin
    for (int i = 0; i < 4; i++) acc_now[i] = op_reset ? 64'd0 : ext_acc_q[i];
    for (int i = 0; i < N; i++) begin
      cur[i] = ext_q[i] ? ext_val(ev_q[i], acc_now, rs_ld_i, rs_st_i, rs_ex_i) : (op_reset ? 64'd0 : cnt_q[i]);
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      snap_en_q <= 1'b0;
      resp_valid_o <= 1'b0;
      cnt_q <= '{default: '0};
      snap_q <= '{default: '0};
      ev_q <= '{default: '0};
      ext_q <= '{default: 1'b0};
      ext_acc_q <= '{default: '0};
      ext_total_q <= '{default: '0};
    end else begin
      logic [63:0] c [N];
      logic [63:0] a [4];
      logic        sen;
      // counting
      for (int i = 0; i < N; i++) c[i] = cur[i] + ((!ext_q[i] && events_i[ev_q[i]]) ? 64'd1 : 64'd0);
      a[0] = acc_now[0] + 64'(rd_bytes_i);
      a[1] = acc_now[1] + 64'(wr_bytes_i);
      a[2] = acc_now[2] + 64'(rd_inflight_i);
      a[3] = acc_now[3] + 64'(wr_inflight_i);
      sen = snap_en_q;
      if (op_sreset) sen = 1'b0;
      if (op_stake) begin
        sen = 1'b1;
        snap_q <= cur;
      end
      if (op_cfg) begin
        c[op_idx] = 64'd0;
        ev_q[op_idx] <= op_ev;
        ext_q[op_idx] <= op_ext;
      end
      cnt_q <= c;
      ext_acc_q <= a;
      snap_en_q <= sen;
      resp_valid_o <= op_valid_i;
      resp_rd_o <= op_rd_i;
      // The addressed counter after the op: reset, snapshot reset, snapshot take, configure, in that order.
      if (sen) resp_data_o <= op_stake ? cur[op_idx] : snap_q[op_idx];
      else if (op_cfg) resp_data_o <= op_ext ? ext_val(op_ev, acc_now, rs_ld_i, rs_st_i, rs_ex_i) : 64'd0;
      else resp_data_o <= cur[op_idx];
      ext_total_q[0] <= ext_total_q[0] + 64'(rd_bytes_i);
      ext_total_q[1] <= ext_total_q[1] + 64'(wr_bytes_i);
      ext_total_q[2] <= ext_total_q[2] + 64'(rd_inflight_i);
      ext_total_q[3] <= ext_total_q[3] + 64'(wr_inflight_i);
    end
  end

  // Back door: externals as 45-51 (the C helpers' numbering); event totals live on the host.
  function automatic longint unsigned peek_event(input int unsigned id);
    case (id)
      45: return 64'(rs_ld_i);
      46: return 64'(rs_st_i);
      47: return 64'(rs_ex_i);
      48: return ext_total_q[0];
      49: return ext_total_q[1];
      50: return ext_total_q[2];
      51: return ext_total_q[3];
      default: return 64'd0;
    endcase
  endfunction
endmodule
