// Joins the load controller's reads and the store controller's writes onto the one memory port. The port's
// outputs come from a register (no path from mem_req_ready_i to them), and a write of n bytes holds the
// channel for n / BEAT_BYTES cycles, one data beat per cycle.
module gemmini_mem_arb
  import gemmini_pkg::*;
(
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // reads from the load controller
  input  logic                 rd_valid_i,
  output logic                 rd_ready_o,
  input  logic [63:0]          rd_addr_i,
  input  logic [2:0]           rd_lgsize_i,
  input  logic [7:0]           rd_id_i,
  // writes from the store controller
  input  logic                 wr_valid_i,
  output logic                 wr_ready_o,
  input  logic [63:0]          wr_addr_i,
  input  logic [2:0]           wr_lgsize_i,
  input  logic [7:0]           wr_id_i,
  input  logic [MEM_W-1:0]     wr_data_i,
  input  logic [MAX_BYTES-1:0] wr_mask_i,
  // the port
  output logic                 req_valid_o,
  input  logic                 req_ready_i,
  output logic                 req_write_o,
  output logic [63:0]          req_addr_o,
  output logic [2:0]           req_lgsize_o,
  output logic [7:0]           req_id_o,
  output logic [MEM_W-1:0]     req_data_o,
  output logic [MAX_BYTES-1:0] req_mask_o,
  output logic                 tl_wait_rd_o,  // a read waits for the port
  output logic                 tl_wait_wr_o   // a write waits for the port
);
  localparam int unsigned BeatCntW = $clog2(MAX_BYTES / BEAT_BYTES + 1);

  logic                 valid_q, write_q, prefer_wr_q;
  logic [63:0]          addr_q;
  logic [2:0]           lgsize_q;
  logic [7:0]           id_q;
  logic [MEM_W-1:0]     data_q;
  logic [MAX_BYTES-1:0] mask_q;
  logic [BeatCntW-1:0]  beats_q;  // extra cycles the last write still occupies the channel

  logic free, take_rd, take_wr;
  assign free = (!valid_q || req_ready_i) && beats_q == '0;
  always_comb begin
    take_rd = 1'b0;
    take_wr = 1'b0;
    if (free) begin
      if (wr_valid_i && (!rd_valid_i || prefer_wr_q)) take_wr = 1'b1;
      else if (rd_valid_i) take_rd = 1'b1;
    end
  end
  assign rd_ready_o = take_rd;
  assign wr_ready_o = take_wr;
  assign tl_wait_rd_o = rd_valid_i && !take_rd;
  assign tl_wait_wr_o = wr_valid_i && !take_wr;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
      write_q <= 1'b0;
      prefer_wr_q <= 1'b0;
      beats_q <= '0;
      addr_q <= '0;
      lgsize_q <= '0;
      id_q <= '0;
      mask_q <= '0;
    end else begin
      if (valid_q && req_ready_i) valid_q <= 1'b0;
      if (beats_q != '0) beats_q <= beats_q - 1'b1;
      if (take_rd || take_wr) begin
        valid_q <= 1'b1;
        write_q <= take_wr;
        addr_q <= take_wr ? wr_addr_i : rd_addr_i;
        lgsize_q <= take_wr ? wr_lgsize_i : rd_lgsize_i;
        id_q <= take_wr ? wr_id_i : rd_id_i;
        mask_q <= take_wr ? wr_mask_i : '0;
        prefer_wr_q <= take_rd;  // alternate when both wait
        // A write's remaining data beats follow on the channel.
        beats_q <= take_wr ? BeatCntW'(((1 << wr_lgsize_i) / BEAT_BYTES) - 1) : '0;
      end
    end
  end
  // The data register is wide; load it only for writes and leave it out of the reset.
  always_ff @(posedge clk_i) begin
    if (take_wr) data_q <= wr_data_i;
  end

  assign req_valid_o = valid_q;
  assign req_write_o = write_q;
  assign req_addr_o = addr_q;
  assign req_lgsize_o = lgsize_q;
  assign req_id_o = id_q;
  assign req_data_o = data_q;
  assign req_mask_o = mask_q;
endmodule
