// Kernel-specific checks: the structured control flow of a body and how each
// instruction may use each kind of parameter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "assembler/diagnostics.h"
#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer::asm_detail {

// Why `op` may not use parameter `p` (e.g. a store to an `in` buffer), or
// nothing when the use is fine; `wide`: the kernel is `.wide`.
std::optional<std::string> param_misuse(KOp op, const KernelParam& p, bool wide);

// Follows if/else/loop/end nesting through a kernel body.
// Blocks nest at most this deep: far beyond any real kernel, and far below
// what makes glslang run for minutes or out of memory (1,000 levels took it
// 88 s, 3,000 took 2.95 GB).
inline constexpr std::size_t kMaxKernelNesting = 64;

class KernelBlocks {
public:
    explicit KernelBlocks(DiagnosticSink& sink) : sink_(sink) {}
    void instruction(KOp op, std::uint32_t line, std::uint32_t col);
    // At `.end`: every block must be closed.
    void finish(const std::string& kernel_name);

private:
    enum class Block { If, Else, Loop };
    struct Open {
        Block block;
        std::uint32_t line, col;
    };
    void open(Block block, std::uint32_t line, std::uint32_t col);

    DiagnosticSink& sink_;
    std::vector<Open> open_;
    bool too_deep_ = false;  // reported once per kernel
};

}  // namespace polymer::asm_detail
