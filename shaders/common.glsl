// Shared by every built-in vector shader: the element type chosen at compile
// time (-DELEM_F32 / -DELEM_I32 / -DELEM_U32) and the one push-constant block
// (mirrored by polymer::vk::PushConstants in vm/vulkan/vulkan_vector_ops.cpp).
#ifndef POLYMER_COMMON_GLSL
#define POLYMER_COMMON_GLSL

#if defined(ELEM_F32)
#define ELEM float
#define ELEM_IS_FLOAT 1
#elif defined(ELEM_I32)
#define ELEM int
#define ELEM_IS_FLOAT 0
#elif defined(ELEM_U32)
#define ELEM uint
#define ELEM_IS_FLOAT 0
#endif

layout(push_constant) uniform Params {
    uint n;           // elements in the op's regions; every access is checked against it
    uint group_base;  // index of this dispatch's first workgroup (long dispatches are split)
    uint bits;        // vfill value / vscale factor, as the element's 32-bit pattern
    uint rows;        // vmatmul M
    uint inner;       // vmatmul K
    uint cols;        // vmatmul N
} pc;

ELEM elem_from_bits(uint b) {
#if defined(ELEM_F32)
    return uintBitsToFloat(b);
#else
    return ELEM(b);
#endif
}

// min/max with fmin semantics on floats: a NaN operand yields the other.
// Written as the CPU backend's compare-and-select (vm/vector_kernels.h), so
// signed zeros agree too: min(-0, +0) is +0 there, as here; GLSL's min() is
// undefined for NaN and may return either zero.
ELEM elem_min(ELEM a, ELEM b) {
#if ELEM_IS_FLOAT
    return (isnan(b) || a < b) ? a : b;
#else
    return min(a, b);
#endif
}

ELEM elem_max(ELEM a, ELEM b) {
#if ELEM_IS_FLOAT
    return (isnan(b) || a > b) ? a : b;
#else
    return max(a, b);
#endif
}

#endif
