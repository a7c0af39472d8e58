#version 450
// dst[i] := OP(a[i], b[i]) for vadd vsub vmul vdiv vmin vmax vcmplt vcmpeq.
// Built once per (op, type): -DBINARY_OP=op_add -DELEM_F32 ...
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer Dst { ELEM dst[]; };
layout(std430, binding = 1) readonly buffer A { ELEM a[]; };
layout(std430, binding = 2) readonly buffer B { ELEM b[]; };

ELEM op_add(ELEM x, ELEM y) { return x + y; }
ELEM op_sub(ELEM x, ELEM y) { return x - y; }
ELEM op_mul(ELEM x, ELEM y) { return x * y; }
ELEM op_min(ELEM x, ELEM y) { return elem_min(x, y); }
ELEM op_max(ELEM x, ELEM y) { return elem_max(x, y); }
ELEM op_cmplt(ELEM x, ELEM y) { return x < y ? ELEM(1) : ELEM(0); }
ELEM op_cmpeq(ELEM x, ELEM y) { return x == y ? ELEM(1) : ELEM(0); }

// Integer division never traps: x / 0 = 0, and INT_MIN / -1 wraps to INT_MIN
// (SPIR-V leaves both undefined, so they are decided here).
ELEM op_div(ELEM x, ELEM y) {
#if ELEM_IS_FLOAT
    return x / y;
#else
    if (y == ELEM(0)) return ELEM(0);
#if defined(ELEM_I32)
    if (y == -1) return 0 - x;
#endif
    return x / y;
#endif
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride)
        dst[i] = BINARY_OP(a[i], b[i]);
}
