#version 450
// c (rows x cols) := a (rows x inner) * b (inner x cols), row-major, in
// 16 x 16 tiles staged through shared memory. Integers wrap.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) writeonly buffer C { ELEM c[]; };
layout(std430, binding = 1) readonly buffer A { ELEM a[]; };
layout(std430, binding = 2) readonly buffer B { ELEM b[]; };

shared ELEM tile_a[16][16];
shared ELEM tile_b[16][16];

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint row = gl_WorkGroupID.y * 16u + ty;
    uint col = gl_WorkGroupID.x * 16u + tx;
    ELEM acc = ELEM(0);
    for (uint t = 0u; t < pc.inner; t += 16u) {
        uint a_col = t + tx, b_row = t + ty;
        tile_a[ty][tx] = (row < pc.rows && a_col < pc.inner) ? a[row * pc.inner + a_col] : ELEM(0);
        tile_b[ty][tx] = (b_row < pc.inner && col < pc.cols) ? b[b_row * pc.cols + col] : ELEM(0);
        barrier();
        for (uint k = 0u; k < 16u; ++k) acc += tile_a[ty][k] * tile_b[k][tx];
        barrier();
    }
    if (row < pc.rows && col < pc.cols) c[row * pc.cols + col] = acc;
}
