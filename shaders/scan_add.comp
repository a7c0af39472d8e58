#version 450
// Pass 3 of the inclusive prefix sum: dst[i] += (scanned block sums)[block - 1].
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Dst { ELEM dst[]; };
layout(std430, binding = 1) readonly buffer Offsets { ELEM offsets[]; };

void main() {
    uint block = gl_WorkGroupID.x + pc.group_base;
    uint i = block * 256u + gl_LocalInvocationID.x;
    if (block > 0u && i < pc.n) dst[i] += offsets[block - 1u];
}
