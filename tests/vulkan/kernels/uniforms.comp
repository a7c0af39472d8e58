// fill(out o: i32[i], out f: f32[i], k: i32, s: f32): o[i] = gid * k + count, f[i] = s * gid.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B0 { int data[]; } b0;
layout(std430, set = 0, binding = 1) buffer B1 { float data[]; } b1;
layout(push_constant, std430) uniform P { uint base; uint end; uint count; uint budget; uint first; uint slot[4]; } pc;
void main() {
    int gid = int(pc.base + gl_GlobalInvocationID.x);
    if (uint(gid) >= pc.end) return;
    int k = int(pc.slot[2]);
    float s = uintBitsToFloat(pc.slot[3]);
    if (uint(gid) < pc.slot[0]) b0.data[gid - int(pc.first)] = gid * k + int(pc.count);
    if (uint(gid) < pc.slot[1]) b1.data[gid - int(pc.first)] = s * float(gid);
}
