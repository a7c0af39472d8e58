// "1 chunk", "3 chunks", "2 switches": a count and its noun, for messages
// and --stats lines (the noun takes "es" after "ch", else "s").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace polymer {

inline std::string counted(std::uint64_t n, std::string_view noun) {
    std::string s = std::to_string(n) + " " + std::string(noun);
    if (n != 1) s += noun.ends_with("ch") ? "es" : "s";
    return s;
}

}  // namespace polymer
