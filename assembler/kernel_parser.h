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
// nothing when the use is fine.
std::optional<std::string> param_misuse(KOp op, const KernelParam& p);

// Follows if/else/loop/end nesting through a kernel body.
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
    DiagnosticSink& sink_;
    std::vector<Open> open_;
};

}  // namespace polymer::asm_detail
