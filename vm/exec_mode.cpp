#include "vm/exec_mode.h"

namespace polymer {

namespace {
constexpr std::string_view kNames[] = {"in-order", "frames", "ooo", "spec"};
}

std::optional<ExecMode> parse_exec_mode(std::string_view name) {
    for (std::size_t i = 0; i < std::size(kNames); ++i)
        if (kNames[i] == name) return static_cast<ExecMode>(i);
    return std::nullopt;
}

std::string_view exec_mode_name(ExecMode mode) { return kNames[static_cast<std::size_t>(mode)]; }

}  // namespace polymer
