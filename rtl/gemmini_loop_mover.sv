// One data-movement sub-FSM of the LOOP_WS unit (docs/accelerator.md section 6; src/sim/accel/loops.rs `Grid` is
// the reference): walks a grid g_i of rows x cols DIM x DIM tiles, one DMA row of up to max_blocks tiles along
// the columns per command, rows outer (row_outer) or column blocks outer. It offers the current
// command's DRAM address and operand word; take_i advances to the next one, and the last one wraps the
// counters back to zero for the next loop.
module gemmini_loop_mover
  import gemmini_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        run_i,          // this grid has commands left and may issue
  input  logic        take_i,         // the arbiter took the offered command
  input  loop_grid_t  g_i,
  output logic [63:0] dram_o,
  output logic [63:0] op_o,
  output logic        last_o,
  output logic [15:0] outer_o         // index of the outer loop: every tile before it has been offered
);
  logic [15:0] r_q, c_q, nb;
  logic        row_end;

  always_comb begin
    logic [63:0] off;
    logic [31:0] row;
    logic [15:0] nrows, ncols;
    dram_o = '0;
    op_o = '0;
    nb = '0;
    row_end = 1'b0;
    off = '0;
    row = '0;
    nrows = '0;
    ncols = '0;
    // (computed only while the grid runs: every combinational block runs every simulated cycle)
    if (run_i) begin
      nb = (g_i.cols - c_q < 16'(g_i.max_blocks)) ? g_i.cols - c_q : 16'(g_i.max_blocks);
      row_end = c_q + nb >= g_i.cols;
      off = 64'(r_q) * 64'(DIM) * g_i.stride + 64'(c_q) * 64'(DIM);
      dram_o = g_i.dram + (g_i.wide ? off << 2 : off * EB);
      row = g_i.lrow + (32'(r_q) * 32'(g_i.cols) + 32'(c_q)) * 32'(DIM);
      nrows = 16'(DIM) - ((r_q + 16'd1 == g_i.rows) ? g_i.pad_r : 16'd0);
      ncols = nb * 16'(DIM) - (row_end ? g_i.pad_c : 16'd0);
      op_o = {nrows, ncols, g_i.flags | row};
    end
  end
  assign last_o = run_i && r_q + 16'd1 == g_i.rows && row_end;
  assign outer_o = g_i.row_outer ? r_q : c_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      r_q <= '0;
      c_q <= '0;
    end else if (take_i) begin
      if (last_o) begin
        r_q <= '0;
        c_q <= '0;
      end else if (g_i.row_outer) begin
        if (row_end) begin
          c_q <= '0;
          r_q <= r_q + 16'd1;
        end else begin
          c_q <= c_q + nb;
        end
      end else begin
        if (r_q + 16'd1 == g_i.rows) begin
          r_q <= '0;
          c_q <= c_q + nb;
        end else begin
          r_q <= r_q + 16'd1;
        end
      end
    end
  end
endmodule
