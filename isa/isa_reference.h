// The ISA reference (docs/isa.md), generated from the opcode and format tables
// so that the document can never drift from what the tools implement.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "isa/opcodes.h"

namespace polymer {

// "add rA, rB, rC": the mnemonic followed by its format's operand syntax.
std::string op_syntax(std::string_view mnemonic, Format format);

// The traps an opcode can raise, read from the backquoted names that follow
// "trap" in its semantics (vector ops name theirs once, in the class header).
std::vector<std::string> op_traps(const OpInfo& op);

// The whole reference as markdown; docs/isa.md is exactly this text.
std::string isa_reference_markdown();

}  // namespace polymer
