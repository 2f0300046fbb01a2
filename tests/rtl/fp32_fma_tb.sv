// Vector testbench for gemmini_fp32_pkg (driven by tests/sim/fp32_fma.rs). Reads lines "op a b c" in hex from
// +in=PATH (op 0 = fma(a, b, c), 1 = add(a, b), 2 = mul(a, b), 3 = relu(a), 4 = gt(a, b)) and writes one
// 8-digit hex result per line to +out=PATH (gt as 0 or 1), then finishes.
module fp32_fma_tb;
  import gemmini_fp32_pkg::*;

  initial begin
    string       in_path, out_path;
    int          fin, fout, n, count;
    logic [31:0] op, a, b, c, r;
    in_path = "";
    out_path = "";
    fin = 0;
    fout = 0;
    n = 0;
    count = 0;
    op = '0;
    a = '0;
    b = '0;
    c = '0;
    r = '0;
    if (!$value$plusargs("in=%s", in_path) || !$value$plusargs("out=%s", out_path)) begin
      $fatal(1, "usage: +in=VECTORS +out=RESULTS");
    end
    fin = $fopen(in_path, "r");
    fout = $fopen(out_path, "w");
    if (fin == 0 || fout == 0) begin
      $fatal(1, "cannot open %s or %s", in_path, out_path);
    end
    n = $fscanf(fin, "%h %h %h %h", op, a, b, c);
    while (n == 4) begin
      case (op)
        32'd0:   r = fp32_fma(a, b, c);
        32'd1:   r = fp32_add(a, b);
        32'd2:   r = fp32_mul(a, b);
        32'd3:   r = fp32_relu(a);
        32'd4:   r = {31'd0, fp32_gt(a, b)};
        default: r = 32'hxxxx_xxxx;
      endcase
      $fwrite(fout, "%h\n", r);
      count = count + 1;
      n = $fscanf(fin, "%h %h %h %h", op, a, b, c);
    end
    $fclose(fin);
    $fclose(fout);
    $display("fp32_fma_tb: %0d vectors", count);
    $finish;
  end
endmodule
