#version 450
// Pass 1 of the inclusive prefix sum: each workgroup scans a block of 256
// elements (Hillis-Steele in shared memory) into dst and writes the block's
// total to block_sums[block]. The host scans block_sums the same way, then
// scan_add.comp adds each block's offset. Integer sums wrap at 32 bits.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer Dst { ELEM dst[]; };
layout(std430, binding = 1) readonly buffer Src { ELEM src[]; };
layout(std430, binding = 2) writeonly buffer BlockSums { ELEM block_sums[]; };

shared ELEM buf[2][256];

void main() {
    uint block = gl_WorkGroupID.x + pc.group_base;
    uint lane = gl_LocalInvocationID.x;
    uint i = block * 256u + lane;
    uint cur = 0u;
    buf[cur][lane] = i < pc.n ? src[i] : ELEM(0);
    barrier();
    for (uint offset = 1u; offset < 256u; offset <<= 1) {
        ELEM v = buf[cur][lane];
        if (lane >= offset) v += buf[cur][lane - offset];
        buf[cur ^ 1u][lane] = v;
        cur ^= 1u;
        barrier();
    }
    if (i < pc.n) dst[i] = buf[cur][lane];
    if (lane == 255u && block * 256u < pc.n) block_sums[block] = buf[cur][255];
}
