// The built-in vector shaders as SPIR-V words, compiled from shaders/*.comp at
// build time and embedded in the binary. Names are `<op>_<type>`, e.g.
// `vadd_f32`, `reduce_sum_first_i32`, `scan_block_u32`, `vcopy_x32` (x32: a
// 32-bit pattern, any of f32/i32/u32); shaders/CMakeLists.txt lists them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace polymer::shaders {

struct EmbeddedShader {
    std::string_view name;
    std::span<const std::uint32_t> words;
};

// Every embedded shader, sorted by name.
std::span<const EmbeddedShader> all();

// The words of the shader called `name`, or nullopt when there is none.
std::optional<std::span<const std::uint32_t>> find(std::string_view name);

}  // namespace polymer::shaders
