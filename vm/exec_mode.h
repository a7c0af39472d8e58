// How the machine runs a procedure (polymer-run --exec, docs/execution.md):
//   in-order  the threaded interpreter, one instruction after another; every
//             long operation is waited for at once. The reference.
//   frames    the static frames of isa/frame_analysis: a whole frame is
//             issued at once, its long ops run together, the next frame
//             starts when they are done.
//   ooo       a reorder buffer: in-order issue, renaming, execution as soon
//             as operands are ready, in-order commit.
//   spec      ooo plus branch prediction and speculative issue.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace polymer {

enum class ExecMode : std::uint8_t { InOrder, Frames, Ooo, Spec };

inline constexpr std::uint32_t kDefaultRobSize = 64;  // docs/benchmarks.md, "Out-of-order"

std::optional<ExecMode> parse_exec_mode(std::string_view name);
std::string_view exec_mode_name(ExecMode mode);

}  // namespace polymer
