// saxpy(in x: f32[i], inout y: f32[i], a: f32): y[i] = a * x[i] + y[i], by hand to the kernel ABI.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B0 { float data[]; } b0;
layout(std430, set = 0, binding = 1) buffer B1 { float data[]; } b1;
layout(push_constant, std430) uniform P { uint base; uint end; uint count; uint budget; uint first; uint slot[3]; } pc;
void main() {
    int gid = int(pc.base + gl_GlobalInvocationID.x);
    if (uint(gid) >= pc.end) return;
    float a = uintBitsToFloat(pc.slot[2]);
    float x = uint(gid) < pc.slot[0] ? b0.data[gid - int(pc.first)] : 0.0;
    float y = uint(gid) < pc.slot[1] ? b1.data[gid - int(pc.first)] : 0.0;
    if (uint(gid) < pc.slot[1]) b1.data[gid - int(pc.first)] = a * x + y;
}
