// shifted(in x: i32[], out y: i32[]): y[i + 3] = x[i - 2], loads and stores past either end included
// (whole buffers: an element-wise one is bound from pc.first, and only a lane's own element is its to touch).
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B0 { int data[]; } b0;
layout(std430, set = 0, binding = 1) buffer B1 { int data[]; } b1;
layout(push_constant, std430) uniform P { uint base; uint end; uint count; uint budget; uint first; uint slot[2]; } pc;
void main() {
    int gid = int(pc.base + gl_GlobalInvocationID.x);
    if (uint(gid) >= pc.end) return;
    int li = gid - 2;
    int v = (li >= 0 && uint(li) < pc.slot[0]) ? b0.data[li] : 0;
    int si = gid + 3;
    if (si >= 0 && uint(si) < pc.slot[1]) b1.data[si] = v + 1000;
}
