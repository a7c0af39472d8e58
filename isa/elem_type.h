// Element types of regions and kernel buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace polymer {

enum class ElemType : std::uint8_t { U8, I32, U32, I64, F32, F64 };
inline constexpr std::size_t kElemTypeCount = 6;

constexpr std::size_t elem_size(ElemType t) {
    switch (t) {
    case ElemType::U8: return 1;
    case ElemType::I32:
    case ElemType::U32:
    case ElemType::F32: return 4;
    case ElemType::I64:
    case ElemType::F64: return 8;
    }
    return 0;
}

constexpr bool is_float(ElemType t) { return t == ElemType::F32 || t == ElemType::F64; }
constexpr bool is_valid_elem_type(std::uint8_t v) { return v < kElemTypeCount; }

// Kernel buffers are limited to the types every Vulkan device computes on:
// i32, u32, f32; a wide kernel (Kernel::wide, 64-bit lanes) adds i64 and f64.
constexpr bool is_kernel_buffer_type(ElemType t, bool wide) {
    if (t == ElemType::I64 || t == ElemType::F64) return wide;
    return t == ElemType::I32 || t == ElemType::U32 || t == ElemType::F32;
}

// Kernel uniforms: i32, f32; a wide kernel adds i64 and f64.
constexpr bool is_kernel_uniform_type(ElemType t, bool wide) {
    if (t == ElemType::I64 || t == ElemType::F64) return wide;
    return t == ElemType::I32 || t == ElemType::F32;
}

constexpr std::string_view elem_type_name(ElemType t) {
    switch (t) {
    case ElemType::U8: return "u8";
    case ElemType::I32: return "i32";
    case ElemType::U32: return "u32";
    case ElemType::I64: return "i64";
    case ElemType::F32: return "f32";
    case ElemType::F64: return "f64";
    }
    return "?";
}

constexpr std::optional<ElemType> parse_elem_type(std::string_view s) {
    for (std::uint8_t i = 0; i < kElemTypeCount; ++i)
        if (elem_type_name(static_cast<ElemType>(i)) == s) return static_cast<ElemType>(i);
    return std::nullopt;
}

}  // namespace polymer
