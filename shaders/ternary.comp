#version 450
// dst[i] := OP(a[i], b[i], c[i]) for vfma and vselect.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#if ELEM_IS_FLOAT
#include "fma_exact.glsl"
#endif

layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer Dst { ELEM dst[]; };
layout(std430, binding = 1) readonly buffer A { ELEM a[]; };
layout(std430, binding = 2) readonly buffer B { ELEM b[]; };
layout(std430, binding = 3) readonly buffer C { ELEM c[]; };

// Floats: fused, rounded once, as on the CPU (fma() may round twice);
// integers wrap.
ELEM op_fma(ELEM x, ELEM y, ELEM z) {
#if ELEM_IS_FLOAT
    return fma_exact(x, y, z);
#else
    return x * y + z;
#endif
}

ELEM op_select(ELEM mask, ELEM x, ELEM y) { return mask != ELEM(0) ? x : y; }

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride)
        dst[i] = TERNARY_OP(a[i], b[i], c[i]);
}
