#include "shaders/embedded_shaders.h"

#include <algorithm>

namespace polymer::shaders {

// Defined in the generated shader_words.cpp of the build directory.
extern const EmbeddedShader kEmbeddedShaders[];
extern const std::size_t kEmbeddedShaderCount;

std::span<const EmbeddedShader> all() { return {kEmbeddedShaders, kEmbeddedShaderCount}; }

std::optional<std::span<const std::uint32_t>> find(std::string_view name) {
    auto table = all();
    auto it = std::lower_bound(table.begin(), table.end(), name,
                               [](const EmbeddedShader& s, std::string_view n) { return s.name < n; });
    if (it == table.end() || it->name != name) return std::nullopt;
    return it->words;
}

}  // namespace polymer::shaders
