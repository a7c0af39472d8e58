// The words of Polymer assembly an editor highlights, read from where the
// tools take them: the opcode tables (isa/opcodes.def, isa/kernel_ops.def),
// the assembler's directive list, the element types and register counts.
// A new opcode or directive reaches every syntax file from here.
#pragma once

#include <string>
#include <vector>

namespace polymer::editors {

struct SyntaxWords {
    std::vector<std::string> instructions;         // procedure mnemonics that do not change the pc
    std::vector<std::string> control;              // procedure mnemonics that may (E_CTRL: jmp, call, ret, halt, ...)
    std::vector<std::string> kernel_instructions;  // kernel mnemonics outside structured control flow
    std::vector<std::string> kernel_control;       // if, else, loop, end, break, continue, exit
    std::vector<std::string> directives;           // ".module", ...
    std::vector<std::string> types;                // "u8", "i32", ...
    std::vector<std::string> keywords;             // zeros, fill, range, distributed, in, out, inout, gpu, mem, inf, nan
    std::vector<std::string> registers;            // r0..r31, f0..f31 (procedures and kernel lanes)
};

// Each list sorted, longest first among words that share a prefix, without repeats.
SyntaxWords syntax_words();

}  // namespace polymer::editors
