// fma_exact(a, b, c): a*b + c rounded once (binary32, to nearest even), the
// IEEE-754 fused multiply-add, on any device with float64. Vulkan lets fma()
// round twice, and lavapipe does; the CPU backend's std::fma never does.
//
// The product is exact in binary64 (24 + 24 bits < 53). The sum is rounded
// to odd in binary64: rounded to nearest, then, when inexact and even, moved
// one ulp toward the exact value (TwoSum gives the error's sign). Rounding
// that to binary32 gives the correctly rounded result (Boldo & Melquiond,
// "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", IEEE Trans. Computers 57(4), 2008). Shared by the
// built-in vfma shader and the kernels' ffma (assembler/kernel_glsl.cpp).
float fma_exact(float a, float b, float c) {
    precise double p = double(a) * double(b);
    precise double s = p + double(c);
    if (isnan(s) || isinf(s)) return float(s);  // NaN or infinite operands: nothing to round
    precise double c_part = s - p;
    precise double error = (p - (s - c_part)) + (double(c) - c_part);
    if (error != 0.0) {
        uvec2 bits = unpackDouble2x32(s);  // x: low word, y: sign, exponent, high mantissa
        if ((bits.x & 1u) == 0u) {
            if ((error > 0.0) == (s > 0.0)) {
                bits.x |= 1u;  // one ulp away from zero: even + 1 carries nowhere
            } else {
                if (bits.x == 0u) bits.y -= 1u;  // one ulp toward zero, borrowing
                bits.x -= 1u;
            }
            s = packDouble2x32(bits);
        }
    }
    return float(s);
}
