// Bit-exact IEEE 754-2008 binary32 arithmetic for the floating-point datapath. Self-contained (imports nothing).
//
// fp32_fma(a, b, c) returns a * b + c computed as if with unbounded range and precision and then rounded ONCE
// (fusedMultiplyAdd, IEEE 754-2008 clause 5.4.1) to nearest, ties to even (roundTiesToEven, 4.3.1). Contract:
//  - Subnormal inputs and outputs are fully supported (no flush to zero, no denormals-are-zero); tininess does
//    not matter because there are no flags. A result too large rounds to +-inf (7.4 under roundTiesToEven).
//  - Zero results follow 6.3: an exact sum of opposite-signed nonzero values that cancels is +0; a sum of two
//    zeros is -0 only when both are -0; a nonzero exact result that rounds to zero keeps its sign.
//  - Invalid operations (inf * 0 and inf - inf, 7.2) and every NaN operand, quiet or signalling, give FP32_QNAN:
//    payloads are dropped, so the datapath produces one NaN encoding. No exception flags are raised.
// fp32_add and fp32_mul are fp32_fma with an exact multiplier 1.0 and an addend -0.0, so they are exactly IEEE
// addition and multiplication (x + -0 = x for every x, including x = +0). fp32_relu and fp32_gt are the
// comparisons of the activation unit.
package gemmini_fp32_pkg;

  localparam logic [31:0] FP32_QNAN = 32'h7fc0_0000;  // the one NaN the datapath produces
  localparam logic [31:0] FP32_ONE = 32'h3f80_0000;
  localparam logic [31:0] FP32_NEG_ZERO = 32'h8000_0000;

  // Normalizes a 64-bit word: returns {leading zero count, x shifted left by it} (MSB of the shifted word is set
  // for a nonzero x). Binary search in six steps instead of a 64-iteration loop, as the mesh calls it per PE.
  function automatic logic [69:0] fp32_norm64(input logic [63:0] x);
    logic [63:0] v;
    logic [5:0]  n;
    v = x;
    n = '0;
    if (v[63:32] == 32'd0) begin n[5] = 1'b1; v = {v[31:0], 32'd0}; end
    if (v[63:48] == 16'd0) begin n[4] = 1'b1; v = {v[47:0], 16'd0}; end
    if (v[63:56] == 8'd0)  begin n[3] = 1'b1; v = {v[55:0], 8'd0};  end
    if (v[63:60] == 4'd0)  begin n[2] = 1'b1; v = {v[59:0], 4'd0};  end
    if (v[63:62] == 2'd0)  begin n[1] = 1'b1; v = {v[61:0], 2'd0};  end
    if (!v[63])            begin n[0] = 1'b1; v = {v[62:0], 1'b0};  end
    return {n, v};
  endfunction

  // Shifts x right by sh >= 0, ORing every bit shifted out into bit 0 (sticky), so the result rounds like
  // x / 2^sh at any rounding position above bit 1. Shifts beyond 63 are clamped to 63, which the callers allow:
  // their rounding position is bit 40 or higher, and there a shift of 63 leaves only sticky information, as
  // any larger shift would.
  function automatic logic [63:0] fp32_shr_sticky(input logic [63:0] x, input int sh);
    logic [5:0]  s;
    logic [63:0] y;
    s = (sh > 63) ? 6'd63 : 6'(sh);
    y = x >> s;
    y[0] = y[0] | ((y << s) != x);
    return y;
  endfunction

  // round(a * b + c), see the header for the contract.
  //
  // Each finite operand is m * 2^e with a 24-bit integer significand m (hidden bit 0 and biased exponent 1 for
  // subnormals). The 48-bit product is exact. Product and addend are normalized and placed in a 64-bit frame,
  // the one with the larger top exponent with its MSB at bit 61 (bit 62 takes the carry of an addition), the
  // other shifted right with sticky. The larger operand's LSB is then at bit 14 or higher, so the frame value is
  // even; whenever a bit is lost to the sticky (shift >= 15) at most one bit can cancel, the sum's MSB is at bit
  // 60 or higher and the rounding position 37 bits or more above bit 0: the exact sum and the computed odd sum
  // lie strictly between the same two rounding boundaries. A shift of 14 or less loses nothing: the sum is exact.
  function automatic logic [31:0] fp32_fma(input logic [31:0] a, input logic [31:0] b, input logic [31:0] c);
    logic        sa, sb, sc, sp;
    logic [7:0]  xa, xb, xc;  // biased exponent fields
    logic        a_nan, b_nan, c_nan, a_inf, b_inf, c_inf, a_zero, b_zero, c_zero;
    logic [23:0] ma, mb, mc;
    int          ea, eb, ec;  // operand = m * 2^e
    logic [47:0] p;
    logic [69:0] nrm;
    logic [63:0] fp, fc, x_hi, x_lo, mag, v;
    int          tp, tc, t_hi, d, e, l, biased;
    logic        s_hi, s_lo, sign, guard, sticky, rnd;
    logic [23:0] q;
    logic [30:0] enc;
    logic [31:0] res;

    sa = a[31];
    sb = b[31];
    sc = c[31];
    sp = sa ^ sb;
    xa = a[30:23];
    xb = b[30:23];
    xc = c[30:23];
    a_nan = (xa == 8'hff) && (a[22:0] != 23'd0);
    b_nan = (xb == 8'hff) && (b[22:0] != 23'd0);
    c_nan = (xc == 8'hff) && (c[22:0] != 23'd0);
    a_inf = (xa == 8'hff) && (a[22:0] == 23'd0);
    b_inf = (xb == 8'hff) && (b[22:0] == 23'd0);
    c_inf = (xc == 8'hff) && (c[22:0] == 23'd0);
    a_zero = a[30:0] == 31'd0;
    b_zero = b[30:0] == 31'd0;
    c_zero = c[30:0] == 31'd0;
    ma = {xa != 8'd0, a[22:0]};
    mb = {xb != 8'd0, b[22:0]};
    mc = {xc != 8'd0, c[22:0]};
    ea = ((xa == 8'd0) ? 1 : int'(xa)) - 150;
    eb = ((xb == 8'd0) ? 1 : int'(xb)) - 150;
    ec = ((xc == 8'd0) ? 1 : int'(xc)) - 150;
    p = '0;
    nrm = '0;
    fp = '0;
    fc = '0;
    x_hi = '0;
    x_lo = '0;
    mag = '0;
    v = '0;
    tp = 0;
    tc = 0;
    t_hi = 0;
    d = 0;
    e = 0;
    l = 0;
    biased = 0;
    s_hi = 1'b0;
    s_lo = 1'b0;
    sign = 1'b0;
    guard = 1'b0;
    sticky = 1'b0;
    rnd = 1'b0;
    q = '0;
    enc = '0;
    res = '0;

    if (a_nan || b_nan || c_nan) begin
      res = FP32_QNAN;
    end else if (a_inf || b_inf) begin
      if (a_zero || b_zero || (c_inf && (sc != sp))) begin
        res = FP32_QNAN;  // 7.2: inf * 0, or inf + -inf
      end else begin
        res = {sp, 8'hff, 23'd0};
      end
    end else if (c_inf) begin
      res = c;  // finite product
    end else if (a_zero || b_zero) begin
      // The product is an exact zero of sign sp. 6.3: -0 only if both zeros are -0 (roundTiesToEven); a
      // nonzero c is the exact, representable sum.
      res = c_zero ? {sp & sc, 31'd0} : c;
    end else begin
      // Nonzero finite product: exact, then normalized to the frame.
      p = {24'd0, ma} * {24'd0, mb};
      nrm = fp32_norm64({p, 16'd0});
      fp = {2'b00, nrm[63:2]};
      tp = ea + eb + 47 - int'(nrm[69:64]);  // weight of the product's MSB
      nrm = fp32_norm64({mc, 40'd0});
      fc = c_zero ? 64'd0 : {2'b00, nrm[63:2]};
      tc = ec + 23 - int'(nrm[69:64]);
      if (c_zero || (tp >= tc)) begin
        x_hi = fp;
        s_hi = sp;
        x_lo = fc;
        s_lo = sc;
        t_hi = tp;
        d = c_zero ? 0 : tp - tc;
      end else begin
        x_hi = fc;
        s_hi = sc;
        x_lo = fp;
        s_lo = sp;
        t_hi = tc;
        d = tc - tp;
      end
      x_lo = fp32_shr_sticky(x_lo, d);

      // Sign-magnitude add. Both are below 2^62, so the sum fits.
      if (s_hi == s_lo) begin
        mag = x_hi + x_lo;
        sign = s_hi;
      end else if (x_lo > x_hi) begin
        mag = x_lo - x_hi;
        sign = s_lo;
      end else begin
        mag = x_hi - x_lo;
        sign = s_hi;
      end

      if (mag == 64'd0) begin
        res = 32'd0;  // 6.3: an exact sum of opposite-signed values that cancels is +0 under roundTiesToEven
      end else begin
        nrm = fp32_norm64(mag);
        e = t_hi + 2 - int'(nrm[69:64]);  // frame bit 61 has weight t_hi; e is the weight of the sum's MSB
        if (e >= -126) begin
          // Normal: keep 24 bits below and including the MSB.
          l = e - 23;
          v = nrm[63:0];
        end else begin
          // Subnormal: the result LSB has weight 2^-149 (l = -149), -126 - e bits above a normal LSB.
          l = -149;
          v = fp32_shr_sticky(nrm[63:0], -126 - e);
        end
        q = v[63:40];
        guard = v[39];
        sticky = v[38:0] != 39'd0;
        rnd = guard && (sticky || q[0]);  // nearest, ties to even
        biased = l + 150;
        if (biased >= 255) begin
          res = {sign, 8'hff, 23'd0};  // overflow to infinity (7.4, roundTiesToEven)
        end else begin
          // A subnormal q (no hidden bit) encodes with exponent field 0. Adding the round bit to the packed
          // {exponent, fraction} carries a full significand into the exponent, a subnormal into the smallest
          // normal, and the largest finite value into infinity.
          enc = q[23] ? {biased[7:0], q[22:0]} : {8'd0, q[22:0]};
          res = {sign, enc + {30'd0, rnd}};
        end
      end
    end
    return res;
  endfunction

  // IEEE addition a + b = a * 1.0 + b (the product is exact).
  function automatic logic [31:0] fp32_add(input logic [31:0] a, input logic [31:0] b);
    return fp32_fma(a, FP32_ONE, b);
  endfunction

  // IEEE multiplication a * b = a * b + -0.0 (adding -0 changes no value and keeps a zero product's sign).
  function automatic logic [31:0] fp32_mul(input logic [31:0] a, input logic [31:0] b);
    return fp32_fma(a, b, FP32_NEG_ZERO);
  endfunction

  // ReLU: x if x > +0 (not NaN, not a zero, sign clear; +inf passes), else +0.
  function automatic logic [31:0] fp32_relu(input logic [31:0] x);
    logic pos;
    pos = !x[31] && (x[30:0] != 31'd0) && !((x[30:23] == 8'hff) && (x[22:0] != 23'd0));
    return pos ? x : 32'd0;
  endfunction

  // IEEE a > b (5.11): false if either is NaN; +0 and -0 compare equal.
  function automatic logic fp32_gt(input logic [31:0] a, input logic [31:0] b);
    logic unordered, both_zero, gt;
    unordered = ((a[30:23] == 8'hff) && (a[22:0] != 23'd0)) || ((b[30:23] == 8'hff) && (b[22:0] != 23'd0));
    both_zero = (a[30:0] == 31'd0) && (b[30:0] == 31'd0);
    gt = 1'b0;
    if (a[31] != b[31]) begin
      gt = !a[31];  // opposite signs, not both zero: the non-negative one is larger
    end else if (!a[31]) begin
      gt = a[30:0] > b[30:0];  // same sign: sign-magnitude encodings order like their magnitudes
    end else begin
      gt = a[30:0] < b[30:0];
    end
    return !unordered && !both_zero && gt;
  endfunction

endpackage
