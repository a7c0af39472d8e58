// The verifier: everything the VM relies on is checked here, once, before a
// module runs. A verified module cannot make the interpreter read outside its
// code, registers, pools, regions or kernels.
#pragma once

#include <optional>
#include <string>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

struct Verified {};

// Returns the first problem as one line naming what and where, e.g.
// "proc 'main' word 12 (jmp): jump target 40 is outside the procedure [0, 20)".
Result<Verified> verify_module(const Module& m);

// The procedure words alone (operands, shift amounts, region types, handle
// operands whose region a `rgn` in the same basic block makes known:
// isa/known_handles.h), for a module whose tables and procedure layout are
// sound (verified, or built by the assembler): the first word refused, and why.
struct WordProblem {
    std::uint32_t pc = 0;
    std::string message;  // without the "proc 'main' word 12 (ld.f32): " prefix
};
std::optional<WordProblem> check_proc_words(const Module& m);

}  // namespace polymer
