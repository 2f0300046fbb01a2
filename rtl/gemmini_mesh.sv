// The DIM x DIM array, modelled one row at a time with the timing of Gemmini's MeshWithDelays (spec 3.1, 4.5).
//
// Why rows and not PEs: a systolic array of DIM*DIM PE instances costs the simulator ~40 host instructions per
// PE per cycle (../shared/notes/verilator-speed.md). Here the per-PE pipeline registers are folded into a delay
// line of MESH_LAT cycles: an A row fed in cycle t leaves as an output row in cycle t + MESH_LAT, exactly when
// the skewed systolic array would deliver it, and the array accepts one row per cycle. Arithmetic is the same,
// including its order: a column's partial sum enters at the top as d and passes PE rows k = 0..DIM-1, each
// doing one e_mac (for binary32 one rounding per PE, so the order is part of the result). int8: WS partial
// sums never exceed PSUM_BITS (the configuration guarantees it); OS accumulators are int32 and their results
// pass the rounding shift and the PSUM_BITS clip on the way out (binary32: a division by 2^shift).
//
// WS: the shadow rows (preload) become the active weights on flip (transposed if asked). Each fed row computes
//     out = a * W + d.
// OS: on fire, acc = (flip ? D : acc) + A * B over all DIM k-steps; the array is then busy for DIM cycles, and,
//     when the result is wanted, its rows drain out one per cycle after the array latency.
module gemmini_mesh
  import gemmini_pkg::*;
#(
  parameter int unsigned TagW = 8
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  // shadow rows (preloaded B in WS, D in OS), stored as read
  input  logic            sh_we_i,
  input  logic [DIM_BITS-1:0] sh_row_i,
  input  logic [SP_W-1:0] sh_data_i,
  // logical size of the shadow matrix and whether it is transposed (WS B with b_transpose)
  input  logic [7:0]      sh_rows_i,
  input  logic [7:0]      sh_cols_i,
  input  logic            sh_t_i,
  // WS
  input  logic            flip_i,
  input  logic            feed_i,
  input  logic [SP_W-1:0] feed_a_i,
  input  logic [SP_W-1:0] feed_d_i,
  input  logic [TagW-1:0] feed_tag_i,
  input  logic [7:0]      feed_row_i,
  // OS
  input  logic            os_fire_i,
  input  logic            os_flip_i,
  input  logic            os_drain_i,   // write the result out
  input  logic [7:0]      os_drain_rows_i,
  input  logic [TagW-1:0] os_tag_i,     // tag of the drained rows (row index is added by the caller's decode)
  input  logic [4:0]      os_shift_i,
  input  logic [SP_W-1:0] os_a_i [DIM],
  input  logic [7:0]      os_a_rows_i,
  input  logic [7:0]      os_a_cols_i,
  input  logic            os_a_t_i,
  input  logic [SP_W-1:0] os_b_i [DIM],
  input  logic [7:0]      os_b_rows_i,
  input  logic [7:0]      os_b_cols_i,
  input  logic            os_b_t_i,
  output logic            os_ready_o,   // a fire is allowed this cycle
  // results
  output logic            out_valid_o,
  output logic [ACC_W-1:0] out_data_o,
  output logic [TagW-1:0] out_tag_o,
  output logic [7:0]      out_row_o,    // row index within its matmul
  output logic            busy_o
);
  localparam int unsigned MESH_LAT = 2 * DIM;
  localparam int unsigned DL = 4 * DIM;  // delay-line slots (power of two, > MESH_LAT)
  localparam int unsigned DlW = $clog2(DL);

  logic [SP_W-1:0]   sh_q [DIM];
  logic [EW-1:0] w_q [DIM][DIM];
  logic [31:0]   acc_q [DIM][DIM];

  always_ff @(posedge clk_i) begin
    if (sh_we_i) sh_q[sh_row_i] <= sh_data_i;
  end

  // ---- WS weights ----
  // Weight (k, j) a flip installs: the shadow rows masked to the logical size, transposed if asked.
  // A shadow row as a flip sees it: the row being written in the same cycle is forwarded, so a flip can
  // follow the last preloaded row without a bubble.
  function automatic logic [SP_W-1:0] sh_row(input int i);
    return (sh_we_i && int'(sh_row_i) == i) ? sh_data_i : sh_q[i];
  endfunction

  // ---- delay line ----
  logic [ACC_W-1:0] dl_data_q [DL];
  logic [TagW-1:0]  dl_tag_q [DL];
  logic [7:0]       dl_row_q [DL];
  logic [DL-1:0]    dl_valid_q;
  logic [DlW-1:0]   now_q;

  // ---- OS state ----
  logic [15:0]      os_busy_q;   // cycles the array still streams the last fire
  logic [ACC_W-1:0] os_out_q [DIM];
  logic [15:0]      drain_wait_q;
  logic [7:0]       drain_left_q, drain_row_q;
  logic [TagW-1:0]  drain_tag_q;
  logic             draining;
  assign draining = drain_left_q != 8'd0;
  assign os_ready_o = os_busy_q == 16'd0 && !draining;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dl_valid_q <= '0;
      now_q <= '0;
      os_busy_q <= '0;
      drain_left_q <= '0;
      drain_wait_q <= '0;
    end else begin
      logic [EW-1:0] wf [DIM][DIM];  // weights a flip installs (also used by the row fed with it)
      logic [SP_W-1:0] shr [DIM];
      now_q <= now_q + 1'b1;
      dl_valid_q[now_q] <= 1'b0;
      if (flip_i) begin
        // weight (k, j): the shadow masked to its logical size, transposed if asked
        for (int i = 0; i < DIM; i++) shr[i] = sh_row(i);
        for (int k = 0; k < DIM; k++) begin
          for (int j = 0; j < DIM; j++) begin
            if (k >= int'(sh_rows_i) || j >= int'(sh_cols_i)) wf[k][j] = '0;
            else wf[k][j] = sh_t_i ? shr[j][k*EW +: EW] : shr[k][j*EW +: EW];
          end
        end
        w_q <= wf;
      end
      if (feed_i) begin
        logic [ACC_W-1:0] o;
        logic [DlW-1:0] at;
        logic [EW-1:0] a [DIM];
        for (int k = 0; k < DIM; k++) a[k] = feed_a_i[k*EW +: EW];
        for (int j = 0; j < DIM; j++) begin
          logic [31:0] s;
          s = e_widen(feed_d_i[j*EW +: EW]);
          // the row fed with the flip already uses the new weights
          if (flip_i) for (int k = 0; k < DIM; k++) s = e_mac(s, a[k], wf[k][j]);
          else for (int k = 0; k < DIM; k++) s = e_mac(s, a[k], w_q[k][j]);
          o[j*32 +: 32] = s;
        end
        at = now_q + DlW'(MESH_LAT);
        dl_data_q[at] <= o;
        dl_tag_q[at] <= feed_tag_i;
        dl_row_q[at] <= feed_row_i;
        dl_valid_q[at] <= 1'b1;
      end
      if (os_busy_q != 16'd0) os_busy_q <= os_busy_q - 16'd1;
      if (os_fire_i) begin
        logic [31:0] acc [DIM][DIM];
        logic [EW-1:0] la [DIM][DIM], lb [DIM][DIM];
        logic [ACC_W-1:0] outr [DIM];
        for (int r = 0; r < DIM; r++) begin
          for (int c = 0; c < DIM; c++) begin
            if (r >= int'(os_a_rows_i) || c >= int'(os_a_cols_i)) la[r][c] = '0;
            else la[r][c] = os_a_t_i ? os_a_i[c][r*EW +: EW] : os_a_i[r][c*EW +: EW];
            if (r >= int'(os_b_rows_i) || c >= int'(os_b_cols_i)) lb[r][c] = '0;
            else lb[r][c] = os_b_t_i ? os_b_i[c][r*EW +: EW] : os_b_i[r][c*EW +: EW];
          end
        end
        for (int r = 0; r < DIM; r++) begin
          for (int j = 0; j < DIM; j++) begin
            logic [31:0] s;
            if (!os_flip_i) s = acc_q[r][j];
            else if (r >= int'(sh_rows_i) || j >= int'(sh_cols_i)) s = '0;
            else s = e_widen(sh_q[r][j*EW +: EW]);
            for (int k = 0; k < DIM; k++) s = e_mac(s, la[r][k], lb[k][j]);
            acc[r][j] = s;
            outr[r][j*32 +: 32] = e_os_out(s, os_shift_i);
          end
        end
        acc_q <= acc;
        os_busy_q <= 16'(DIM - 1);
        if (os_drain_i) begin
          os_out_q <= outr;
          drain_wait_q <= 16'(DIM);
          drain_left_q <= os_drain_rows_i;
          drain_row_q <= '0;
          drain_tag_q <= os_tag_i;
        end
      end else if (draining) begin
        if (drain_wait_q != 16'd0) begin
          drain_wait_q <= drain_wait_q - 16'd1;
        end else begin
          drain_left_q <= drain_left_q - 8'd1;
          drain_row_q <= drain_row_q + 8'd1;
        end
      end
    end
  end

  always_comb begin
    if (draining && drain_wait_q == 16'd0) begin
      out_valid_o = 1'b1;
      out_data_o = os_out_q[drain_row_q[DIM_BITS-1:0]];
      out_tag_o = drain_tag_q;
      out_row_o = drain_row_q;
    end else begin
      out_valid_o = dl_valid_q[now_q];
      out_data_o = dl_data_q[now_q];
      out_tag_o = dl_tag_q[now_q];
      out_row_o = dl_row_q[now_q];
    end
  end
  assign busy_o = dl_valid_q != '0 || draining || os_busy_q != 16'd0;
endmodule
