// The scratchpad: SP_BANKS single-ported banks of SP_BANK_ROWS rows of DIM int8 elements. Each bank serves one
// access per cycle; requesters win in the order ex write > load write > ex A read > ex preload read >
// ex B/D read > store read (spec 4.5-4.6: execute writes never wait). Reads return data one cycle after the
// grant. The storage is one array indexed by row; the bank is the row's top bits.
module gemmini_spad
  import gemmini_pkg::*;
(
  input  logic                   clk_i,
  // execute writes (never stall)
  input  logic                   exw_valid_i,
  input  logic [SP_ROW_BITS-1:0] exw_row_i,
  input  logic [SP_W-1:0]        exw_data_i,
  input  logic [DIM-1:0]         exw_mask_i,
  // load-controller writes
  input  logic                   ldw_valid_i,
  output logic                   ldw_grant_o,
  input  logic [SP_ROW_BITS-1:0] ldw_row_i,
  input  logic [SP_W-1:0]        ldw_data_i,
  input  logic [DIM-1:0]         ldw_mask_i,
  // reads: 0 = ex A, 1 = ex preload, 2 = ex B/D, 3 = store
  input  logic [3:0]             rd_valid_i,
  output logic [3:0]             rd_grant_o,
  input  logic [SP_ROW_BITS-1:0] rd_row_i [4],
  output logic [SP_W-1:0]        rd_data_o [4]
);
  logic [SP_W-1:0] mem_q [SP_ROWS];

  function automatic logic [SP_BANK_BITS-1:0] bank_of(input logic [SP_ROW_BITS-1:0] row);
    if (SP_BANKS == 1) return '0;
    return SP_BANK_BITS'(row >> $clog2(SP_BANK_ROWS));
  endfunction

  function automatic logic [SP_W-1:0] byte_mask(input logic [DIM-1:0] m);
    logic [SP_W-1:0] r;
    for (int i = 0; i < DIM; i++) r[i*EW +: EW] = {EW{m[i]}};
    return r;
  endfunction

  // Per-bank occupancy, claimed in priority order.
  logic [SP_BANKS-1:0] taken_ex, taken_ld, taken_r0, taken_r1, taken_r2;
  always_comb begin
    taken_ex = '0;
    if (exw_valid_i) taken_ex[bank_of(exw_row_i)] = 1'b1;
    ldw_grant_o = ldw_valid_i && !taken_ex[bank_of(ldw_row_i)];
    taken_ld = taken_ex;
    if (ldw_grant_o) taken_ld[bank_of(ldw_row_i)] = 1'b1;
    rd_grant_o[0] = rd_valid_i[0] && !taken_ld[bank_of(rd_row_i[0])];
    taken_r0 = taken_ld;
    if (rd_grant_o[0]) taken_r0[bank_of(rd_row_i[0])] = 1'b1;
    rd_grant_o[1] = rd_valid_i[1] && !taken_r0[bank_of(rd_row_i[1])];
    taken_r1 = taken_r0;
    if (rd_grant_o[1]) taken_r1[bank_of(rd_row_i[1])] = 1'b1;
    rd_grant_o[2] = rd_valid_i[2] && !taken_r1[bank_of(rd_row_i[2])];
    taken_r2 = taken_r1;
    if (rd_grant_o[2]) taken_r2[bank_of(rd_row_i[2])] = 1'b1;
    rd_grant_o[3] = rd_valid_i[3] && !taken_r2[bank_of(rd_row_i[3])];
  end

  always_ff @(posedge clk_i) begin
    if (exw_valid_i) begin
      mem_q[exw_row_i] <= (mem_q[exw_row_i] & ~byte_mask(exw_mask_i)) | (exw_data_i & byte_mask(exw_mask_i));
    end
    if (ldw_grant_o) begin
      mem_q[ldw_row_i] <= (mem_q[ldw_row_i] & ~byte_mask(ldw_mask_i)) | (ldw_data_i & byte_mask(ldw_mask_i));
    end
  end

  for (genvar p = 0; p < 4; p++) begin : g_rd
    always_ff @(posedge clk_i) begin
      if (rd_grant_o[p]) rd_data_o[p] <= mem_q[rd_row_i[p]];
    end
  end

  // Back door for tests and reports (docs/accelerator.md section 5).
  function automatic int unsigned peek_word(input int unsigned row, input int unsigned word);
    if (row >= SP_ROWS || word >= SP_W / 32) return 0;
    return mem_q[SP_ROW_BITS'(row)][word*32 +: 32];
  endfunction
endmodule
