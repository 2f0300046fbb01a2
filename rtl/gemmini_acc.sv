// The accumulator: ACC_BANKS banks of ACC_BANK_ROWS rows of DIM int32 (or binary32) elements, with a read port and a write
// port per bank (spec 4.6, acc_singleported = false). Accumulating writes add to the stored row (read-modify-
// write within the cycle). Execute writes never wait; a load write to the same bank waits a cycle. Reads return
// data one cycle after the request.
module gemmini_acc
  import gemmini_pkg::*;
(
  input  logic                    clk_i,
  input  logic                    exw_valid_i,
  input  logic [ACC_ROW_BITS-1:0] exw_row_i,
  input  logic [ACC_W-1:0]        exw_data_i,
  input  logic [DIM-1:0]          exw_mask_i,
  input  logic                    exw_acc_i,
  input  logic                    ldw_valid_i,
  output logic                    ldw_grant_o,
  input  logic [ACC_ROW_BITS-1:0] ldw_row_i,
  input  logic [ACC_W-1:0]        ldw_data_i,
  input  logic [DIM-1:0]          ldw_mask_i,
  input  logic                    ldw_acc_i,
  input  logic                    rd_valid_i,
  input  logic [ACC_ROW_BITS-1:0] rd_row_i,
  output logic [ACC_W-1:0]        rd_data_o
);
  localparam int unsigned BankBits = (ACC_BANKS > 1) ? $clog2(ACC_BANKS) : 1;
  logic [ACC_W-1:0] mem_q [ACC_ROWS];

  function automatic logic [BankBits-1:0] bank_of(input logic [ACC_ROW_BITS-1:0] row);
    if (ACC_BANKS == 1) return '0;
    return BankBits'(row >> $clog2(ACC_BANK_ROWS));
  endfunction

  // New row value: masked elements overwritten, or added to (wrapping int32, or a binary32 add) when accumulating.
  function automatic logic [ACC_W-1:0] merge(input logic [ACC_W-1:0] old, input logic [ACC_W-1:0] data,
                                            input logic [DIM-1:0] mask, input logic acc);
    logic [ACC_W-1:0] r;
    for (int i = 0; i < DIM; i++) begin
      r[i*32 +: 32] = !mask[i] ? old[i*32 +: 32] : acc ? e_acc_add(old[i*32 +: 32], data[i*32 +: 32]) : data[i*32 +: 32];
    end
    return r;
  endfunction

  assign ldw_grant_o = ldw_valid_i && !(exw_valid_i && bank_of(exw_row_i) == bank_of(ldw_row_i));

  always_ff @(posedge clk_i) begin
    if (exw_valid_i) mem_q[exw_row_i] <= merge(mem_q[exw_row_i], exw_data_i, exw_mask_i, exw_acc_i);
    if (ldw_grant_o) mem_q[ldw_row_i] <= merge(mem_q[ldw_row_i], ldw_data_i, ldw_mask_i, ldw_acc_i);
    if (rd_valid_i) rd_data_o <= mem_q[rd_row_i];
  end

  function automatic int unsigned peek_word(input int unsigned row, input int unsigned word);
    if (row >= ACC_ROWS || word >= DIM) return 0;
    return mem_q[ACC_ROW_BITS'(row)][word*32 +: 32];
  endfunction
endmodule
