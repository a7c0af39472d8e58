// histogram(in x: u32[i], inout h: i32[]): atadd h[x[i] % 16], 1; bins past the end dropped.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B0 { uint data[]; } b0;
layout(std430, set = 0, binding = 1) buffer B1 { int data[]; } b1;
layout(push_constant, std430) uniform P { uint base; uint end; uint count; uint budget; uint first; uint slot[2]; } pc;
void main() {
    int gid = int(pc.base + gl_GlobalInvocationID.x);
    if (uint(gid) >= pc.end) return;
    uint v = uint(gid) < pc.slot[0] ? b0.data[gid - int(pc.first)] : 0u;
    int bin = int(v % 16u);
    if (bin >= 0 && uint(bin) < pc.slot[1]) atomicAdd(b1.data[bin], 1);
}
