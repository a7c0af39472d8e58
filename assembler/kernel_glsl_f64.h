// Correctly rounded binary64 division and square root in GLSL, for wide
// kernels' fdiv and fsqrt (assembler/kernel_glsl.cpp; docs/kernels.md, "Wide
// kernels on Vulkan"). Vulkan promises binary64 OpFDiv and Sqrt only the
// precision of binary32 (2.5 ulp, and 1 / inversesqrt), so the device's
// answer is a first guess that these helpers correct, using only binary64
// add, sub and mul rounded to nearest even (RoundingModeRTE) and no fma
// (Vulkan's may round twice).
//
// The operands are scaled by powers of two (split_exponent) so that every value is
// near 1: nothing overflows or underflows inside. Two Newton steps with the
// exact residual (Dekker's product) bring the guess within an ulp of the
// true value from the 2^-21 binary32 precision Vulkan promises; the residual
// then says on which side of the midpoint between two neighbours the true
// value lies, so the last step rounds to nearest even exactly.
#pragma once

#include <string_view>

namespace polymer {

inline constexpr std::string_view kTwoProductGlsl =
    "// x*y = p + e exactly (Dekker): splits into 26- and 27-bit halves whose\n"
    "// products are exact. |x|, |y| near 1 here: no overflow, no underflow.\n"
    "void two_product(double x, double y, out double p, out double e) {\n"
    "    precise double cx = 134217729.0lf * x;  // 2^27 + 1\n"
    "    precise double xh = cx - (cx - x);\n"
    "    precise double xl = x - xh;\n"
    "    precise double cy = 134217729.0lf * y;\n"
    "    precise double yh = cy - (cy - y);\n"
    "    precise double yl = y - yh;\n"
    "    precise double pp = x * y;\n"
    "    p = pp;\n"
    "    precise double ee = ((xh * yh - pp) + xh * yl + xl * yh) + xl * yl;\n"
    "    e = ee;\n"
    "}\n\n"
    "// x = m * 2^e, |m| in [0.5, 1), for a finite nonzero x. A denormal is\n"
    "// scaled up first (frexp may take its exponent field as it stands).\n"
    "double split_exponent(double x, out int e) {\n"
    "    int shift = 0;\n"
    "    precise double y = x;\n"
    "    if (abs(x) < 2.2250738585072014e-308lf) {\n"
    "        y = x * 18014398509481984.0lf;  // 2^54, exact\n"
    "        shift = 54;\n"
    "    }\n"
    "    precise double m = frexp(y, e);\n"
    "    e = e - shift;\n"
    "    return m;\n"
    "}\n\n"
    "// a - q*b, exact when q is within a few ulp of a / b (|a|, |b|, |q| near 1).\n"
    "double residual(double a, double q, double b) {\n"
    "    double p, e;\n"
    "    two_product(q, b, p, e);\n"
    "    precise double r = (a - p) - e;\n"
    "    return r;\n"
    "}\n\n";

inline constexpr std::string_view kFdivExactGlsl =
    "// a / b rounded to nearest even, as IEEE-754 (and the CPU backend) divide.\n"
    "// Zeros, infinities and NaNs, and quotients outside the normal range, are\n"
    "// the device's own a / b (their IEEE results are exact or need no rounding\n"
    "// here; a subnormal quotient may differ by its rounding).\n"
    "double fdiv_exact(double a, double b) {\n"
    "    precise double q0 = a / b;\n"
    "    if (a == 0.0lf || isinf(a) || isnan(a) || b == 0.0lf || isinf(b) || isnan(b)) return q0;\n"
    "    int ea, eb;\n"
    "    precise double ma = split_exponent(a, ea);  // |ma|, |mb| in [0.5, 1)\n"
    "    precise double mb = split_exponent(b, eb);\n"
    "    int k = ea - eb;                   // a / b = (ma / mb) * 2^k, |ma / mb| in (0.5, 2)\n"
    "    if (k < -1021 || k > 1023) return q0;\n"
    "    precise double q = ma / mb;\n"
    "    q = q + residual(ma, q, mb) / mb;  // Newton: the error squares\n"
    "    q = q + residual(ma, q, mb) / mb;\n"
    "    // q is now within an ulp. Move it to the neighbour the true value is\n"
    "    // nearer (the residual against the midpoint, whose sign is exact).\n"
    "    const bool negative = (q < 0.0lf);\n"
    "    precise double aq = abs(q);\n"
    "    precise double am = abs(ma);\n"
    "    precise double bm = abs(mb);\n"
    "    precise double r = residual(am, aq, bm);\n"
    "    precise double up = aq >= 1.0lf ? 2.220446049250313e-16lf : 1.1102230246251565e-16lf;    // ulp above\n"
    "    precise double down = aq > 1.0lf ? 2.220446049250313e-16lf : 1.1102230246251565e-16lf;   // ulp below\n"
    "    const bool odd = (unpackDouble2x32(aq).x & 1u) != 0u;\n"
    "    if (r > 0.0lf) {\n"
    "        precise double past = r - bm * (0.5lf * up);  // > 0: beyond the midpoint above\n"
    "        if (past > 0.0lf || (past == 0.0lf && odd)) aq = aq + up;\n"
    "    } else if (r < 0.0lf) {\n"
    "        precise double past = r + bm * (0.5lf * down);\n"
    "        if (past < 0.0lf || (past == 0.0lf && odd)) aq = aq - down;\n"
    "    }\n"
    "    precise double scaled = ldexp(negative ? -aq : aq, k);\n"
    "    return scaled;\n"
    "}\n\n";

inline constexpr std::string_view kFsqrtExactGlsl =
    "// sqrt(x) rounded to nearest even, as IEEE-754 (and the CPU backend) do.\n"
    "// Zeros, infinities, NaNs and negative x are the device's own sqrt(x).\n"
    "double fsqrt_exact(double x) {\n"
    "    precise double y0 = sqrt(x);\n"
    "    if (!(x > 0.0lf) || isinf(x)) return y0;\n"
    "    int e;\n"
    "    precise double m = split_exponent(x, e);  // [0.5, 1)\n"
    "    if ((e & 1) != 0) {              // an even exponent halves exactly\n"
    "        m = m * 2.0lf;\n"
    "        e = e - 1;\n"
    "    }\n"
    "    // m in [0.5, 2), sqrt(m) in [0.7, 1.42)\n"
    "    precise double y = sqrt(m);\n"
    "    y = y + residual(m, y, y) / (2.0lf * y);  // Newton: the error squares\n"
    "    y = y + residual(m, y, y) / (2.0lf * y);\n"
    "    // Within an ulp now. No square root lies on a midpoint, so the sign of\n"
    "    // m - (y +- ulp/2)^2 decides (computed as r -+ y*ulp, exact in sign).\n"
    "    precise double r = residual(m, y, y);\n"
    "    precise double up = y >= 1.0lf ? 2.220446049250313e-16lf : 1.1102230246251565e-16lf;\n"
    "    precise double down = y > 1.0lf ? 2.220446049250313e-16lf : 1.1102230246251565e-16lf;\n"
    "    if (r > 0.0lf) {\n"
    "        precise double past = r - y * up;\n"
    "        if (past > 0.0lf) y = y + up;\n"
    "    } else if (r < 0.0lf) {\n"
    "        precise double past = r + y * down;\n"
    "        if (past <= 0.0lf) y = y - down;\n"
    "    }\n"
    "    precise double scaled = ldexp(y, e / 2);\n"
    "    return scaled;\n"
    "}\n\n";

}  // namespace polymer
