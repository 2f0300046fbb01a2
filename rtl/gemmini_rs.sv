// Reservation station (spec 4.2): separate entry pools for the load, execute and store queues. A new entry
// records the local-address ranges it reads and writes and depends on every older, unfinished entry of the
// other queues whose ranges conflict with it (RAW, WAR, WAW). Each queue issues in program order: its oldest
// unissued entry goes to its controller once it has no dependencies left. Entries leave when their controller
// reports them complete; configs to the load and store queues complete when issued.
module gemmini_rs
  import gemmini_pkg::*;
(
  input  logic             clk_i,
  input  logic             rst_ni,
  // allocation from the front end
  input  logic             alloc_valid_i,
  output logic             alloc_ready_o,
  input  logic [1:0]       alloc_q_i,
  input  logic [6:0]       alloc_funct_i,
  input  logic [63:0]      alloc_rs1_i,
  input  logic [63:0]      alloc_rs2_i,
  input  range_t           alloc_src0_i,
  input  range_t           alloc_src1_i,
  input  range_t           alloc_dst_i,
  // issue
  output logic             ld_valid_o,
  input  logic             ld_ready_i,
  output cmd_t             ld_cmd_o,
  output logic             ex_valid_o,
  input  logic             ex_ready_i,
  output cmd_t             ex_cmd_o,
  output logic             st_valid_o,
  input  logic             st_ready_i,
  output cmd_t             st_cmd_o,
  // completions
  input  logic             done_ld_i,
  input  logic [ROB_W-1:0] done_ld_rob_i,
  input  logic             done_ex0_i,
  input  logic [ROB_W-1:0] done_ex0_rob_i,
  input  logic             done_ex1_i,
  input  logic [ROB_W-1:0] done_ex1_rob_i,
  input  logic             done_st_i,
  input  logic [ROB_W-1:0] done_st_rob_i,
  // status
  output logic [7:0]       ld_count_o,
  output logic [7:0]       ex_count_o,
  output logic [7:0]       st_count_o,
  output logic             busy_o,
  output logic             full_o
);
  localparam int unsigned E = RS_TOTAL;
  localparam int unsigned EX0 = RS_LD;          // first execute entry
  localparam int unsigned ST0 = RS_LD + RS_EX;  // first store entry

  logic [E-1:0]  valid_q;
  logic [E-1:0][E-1:0] deps_q;  // packed: cleared column-wise every completion
  logic [6:0]    funct_q [E];
  logic [63:0]   rs1_q [E], rs2_q [E];
  range_t        src0_q [E], src1_q [E], dst_q [E];
  // per-queue FIFOs of unissued entries, in allocation order
  logic [ROB_W-1:0] ldf_q [RS_LD];
  logic [ROB_W-1:0] exf_q [RS_EX];
  logic [ROB_W-1:0] stf_q [RS_ST];
  logic [$clog2(RS_LD)-1:0] ldh_q, ldt_q;
  logic [$clog2(RS_EX)-1:0] exh_q, ext_q;
  logic [$clog2(RS_ST)-1:0] sth_q, stt_q;
  logic [$clog2(RS_LD):0] ldn_q;  // unissued counts
  logic [$clog2(RS_EX):0] exn_q;
  logic [$clog2(RS_ST):0] stn_q;

  function automatic logic ovl(input range_t a, input range_t b);
    return a.valid && b.valid && a.acc == b.acc && a.lo < b.hi && b.lo < a.hi;
  endfunction

  // ---- completions (this cycle) ----
  logic [E-1:0] done_mask;
  logic ld_fire, ex_fire, st_fire, ld_cfg, st_cfg;
  logic [ROB_W-1:0] ld_e, ex_e, st_e;
  always_comb begin
    done_mask = '0;
    if (done_ld_i) done_mask[done_ld_rob_i] = 1'b1;
    if (done_ex0_i) done_mask[done_ex0_rob_i] = 1'b1;
    if (done_ex1_i) done_mask[done_ex1_rob_i] = 1'b1;
    if (done_st_i) done_mask[done_st_rob_i] = 1'b1;
    // configs of the load and store queues complete on issue
    if (ld_fire && ld_cfg) done_mask[ld_e] = 1'b1;
    if (st_fire && st_cfg) done_mask[st_e] = 1'b1;
  end

  // ---- issue ----
  always_comb begin
    ld_e = ldf_q[ldh_q];
    ex_e = exf_q[exh_q];
    st_e = stf_q[sth_q];
    ld_valid_o = ldn_q != '0 && deps_q[ld_e] == '0;
    ex_valid_o = exn_q != '0 && deps_q[ex_e] == '0;
    st_valid_o = stn_q != '0 && deps_q[st_e] == '0;
    ld_cmd_o = '{funct: funct_q[ld_e], rs1: rs1_q[ld_e], rs2: rs2_q[ld_e], rob: ld_e};
    ex_cmd_o = '{funct: funct_q[ex_e], rs1: rs1_q[ex_e], rs2: rs2_q[ex_e], rob: ex_e};
    st_cmd_o = '{funct: funct_q[st_e], rs1: rs1_q[st_e], rs2: rs2_q[st_e], rob: st_e};
    ld_cfg = funct_q[ld_e] == F_CONFIG;
    st_cfg = funct_q[st_e] == F_CONFIG;
  end

  assign ld_fire = ld_valid_o && ld_ready_i;
  assign ex_fire = ex_valid_o && ex_ready_i;
  assign st_fire = st_valid_o && st_ready_i;

  // ---- allocation ----
  logic [ROB_W-1:0] new_e;
  logic             have_free;
  logic [E-1:0]     new_deps;
  always_comb begin
    int unsigned lo, n;
    lo = (alloc_q_i == 2'd0) ? 0 : (alloc_q_i == 2'd1) ? EX0 : ST0;
    n = (alloc_q_i == 2'd0) ? RS_LD : (alloc_q_i == 2'd1) ? RS_EX : RS_ST;
    new_e = '0;
    have_free = 1'b0;
    // (searched only when a command waits: every combinational block runs every simulated cycle)
    if (alloc_valid_i) for (int i = E - 1; i >= 0; i--) begin
      if (i >= int'(lo) && i < int'(lo + n) && !valid_q[i]) begin
        new_e = ROB_W'(i);
        have_free = 1'b1;
      end
    end
    new_deps = '0;
    for (int i = 0; i < E; i++) begin
      logic other;
      other = (alloc_q_i == 2'd0) ? i >= EX0 : (alloc_q_i == 2'd1) ? (i < EX0 || i >= ST0) : i < ST0;
      if (alloc_valid_i && valid_q[i] && other && !done_mask[i]) begin
        new_deps[i] = ovl(alloc_dst_i, src0_q[i]) || ovl(alloc_dst_i, src1_q[i]) || ovl(alloc_dst_i, dst_q[i])
                      || ovl(alloc_src0_i, dst_q[i]) || ovl(alloc_src1_i, dst_q[i]);
      end
    end
  end
  assign alloc_ready_o = have_free;
  logic alloc_fire;
  assign alloc_fire = alloc_valid_i && have_free;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
      ldh_q <= '0;
      ldt_q <= '0;
      exh_q <= '0;
      ext_q <= '0;
      sth_q <= '0;
      stt_q <= '0;
      ldn_q <= '0;
      exn_q <= '0;
      stn_q <= '0;
    end else begin
      if (done_mask != '0) begin
        for (int i = 0; i < E; i++) deps_q[i] <= deps_q[i] & ~done_mask;
      end
      valid_q <= (valid_q & ~done_mask) | (alloc_fire ? (E'(1) << new_e) : '0);
      if (alloc_fire) begin
        deps_q[new_e] <= new_deps;
        funct_q[new_e] <= alloc_funct_i;
        rs1_q[new_e] <= alloc_rs1_i;
        rs2_q[new_e] <= alloc_rs2_i;
        src0_q[new_e] <= alloc_src0_i;
        src1_q[new_e] <= alloc_src1_i;
        dst_q[new_e] <= alloc_dst_i;
        case (alloc_q_i)
          2'd0: begin
            ldf_q[ldt_q] <= new_e;
            ldt_q <= ldt_q + 1'b1;
          end
          2'd1: begin
            exf_q[ext_q] <= new_e;
            ext_q <= ext_q + 1'b1;
          end
          default: begin
            stf_q[stt_q] <= new_e;
            stt_q <= stt_q + 1'b1;
          end
        endcase
      end
      if (ld_fire) ldh_q <= ldh_q + 1'b1;
      if (ex_fire) exh_q <= exh_q + 1'b1;
      if (st_fire) sth_q <= sth_q + 1'b1;
      ldn_q <= ldn_q + ($clog2(RS_LD)+1)'(alloc_fire && alloc_q_i == 2'd0) - ($clog2(RS_LD)+1)'(ld_fire);
      exn_q <= exn_q + ($clog2(RS_EX)+1)'(alloc_fire && alloc_q_i == 2'd1) - ($clog2(RS_EX)+1)'(ex_fire);
      stn_q <= stn_q + ($clog2(RS_ST)+1)'(alloc_fire && alloc_q_i == 2'd2) - ($clog2(RS_ST)+1)'(st_fire);
    end
  end

  assign ld_count_o = 8'($countones(valid_q[EX0-1:0]));
  assign ex_count_o = 8'($countones(valid_q[ST0-1:EX0]));
  assign st_count_o = 8'($countones(valid_q[E-1:ST0]));
  assign busy_o = valid_q != '0;
  assign full_o = alloc_valid_i && !have_free;
endmodule
