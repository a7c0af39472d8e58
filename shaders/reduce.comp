#version 450
// One pass of a multi-pass reduction: each workgroup folds a grid-strided
// share of its input into one partial, written to partials[workgroup]. The
// host runs passes until one partial is left.
//   -DREDUCE_SUM / -DREDUCE_MIN / -DREDUCE_MAX, -DELEM_*
//   -DFIRST_PASS: the input is the region (ELEM); otherwise earlier partials (ACC)
//   -DDOT (with REDUCE_SUM and FIRST_PASS): the input is a[i] * b[i]
// Integer sums accumulate exactly in 64 bits (a uvec2 of lo, hi words), so the
// result is the wrapping 64-bit sum the VM's integer registers hold.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

#if defined(REDUCE_SUM) && !ELEM_IS_FLOAT
#define ACC uvec2
ACC acc_identity() { return uvec2(0u); }
ACC acc_combine(ACC x, ACC y) {
    uint carry;
    uint lo = uaddCarry(x.x, y.x, carry);
    return uvec2(lo, x.y + y.y + carry);
}
ACC widen(ELEM v) {
#if defined(ELEM_I32)
    return uvec2(uint(v), v < 0 ? 0xffffffffu : 0u);
#else
    return uvec2(v, 0u);
#endif
}
ACC product(ELEM x, ELEM y) {
    ELEM hi, lo;
#if defined(ELEM_I32)
    imulExtended(x, y, hi, lo);
#else
    umulExtended(x, y, hi, lo);
#endif
    return uvec2(uint(lo), uint(hi));
}
#elif defined(REDUCE_SUM)
#define ACC float
ACC acc_identity() { return 0.0; }
ACC acc_combine(ACC x, ACC y) { return x + y; }
ACC widen(ELEM v) { return v; }
ACC product(ELEM x, ELEM y) { return x * y; }
#else
#define ACC ELEM
#if defined(REDUCE_MIN)
#if defined(ELEM_F32)
ACC acc_identity() { return uintBitsToFloat(0x7f800000u); }  // +inf
#elif defined(ELEM_I32)
ACC acc_identity() { return 0x7fffffff; }
#else
ACC acc_identity() { return 0xffffffffu; }
#endif
ACC acc_combine(ACC x, ACC y) { return elem_min(x, y); }
#else
#if defined(ELEM_F32)
ACC acc_identity() { return uintBitsToFloat(0xff800000u); }  // -inf
#elif defined(ELEM_I32)
ACC acc_identity() { return int(0x80000000u); }
#else
ACC acc_identity() { return 0u; }
#endif
ACC acc_combine(ACC x, ACC y) { return elem_max(x, y); }
#endif
ACC widen(ELEM v) { return v; }
#endif

layout(std430, binding = 0) writeonly buffer Partials { ACC partials[]; };
#if defined(FIRST_PASS)
layout(std430, binding = 1) readonly buffer A { ELEM a[]; };
#if defined(DOT)
layout(std430, binding = 2) readonly buffer B { ELEM b[]; };
#define LOAD(i) product(a[i], b[i])
#else
#define LOAD(i) widen(a[i])
#endif
#else
layout(std430, binding = 1) readonly buffer In { ACC a[]; };
#define LOAD(i) a[i]
#endif

shared ACC scratch[256];

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    ACC acc = acc_identity();
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride)
        acc = acc_combine(acc, LOAD(i));
    uint lane = gl_LocalInvocationID.x;
    scratch[lane] = acc;
    barrier();
    for (uint half_width = 128u; half_width > 0u; half_width >>= 1) {
        if (lane < half_width) scratch[lane] = acc_combine(scratch[lane], scratch[lane + half_width]);
        barrier();
    }
    if (lane == 0u) partials[gl_WorkGroupID.x] = scratch[0];
}
