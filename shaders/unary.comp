#version 450
// dst[i] := OP(src[i], i) for vcopy, vscale and viota; vfill ignores src.
// vcopy and vfill move 32-bit patterns, so one u32 build serves every type.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer Dst { ELEM dst[]; };
#if HAS_SRC
layout(std430, binding = 1) readonly buffer Src { ELEM src[]; };
#define SRC(i) src[i]
#else
#define SRC(i) ELEM(0)
#endif

ELEM op_copy(ELEM x, uint i) { return x; }
ELEM op_scale(ELEM x, uint i) { return x * elem_from_bits(pc.bits); }
ELEM op_fill(ELEM x, uint i) { return elem_from_bits(pc.bits); }
ELEM op_iota(ELEM x, uint i) { return ELEM(i); }

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride)
        dst[i] = UNARY_OP(SRC(i), i);
}
