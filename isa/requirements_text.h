// Requirements as the assembler spells them, for the disassembler and for
// the messages that say why a procedure or a kernel cannot run somewhere.
#pragma once

#include <cstdint>
#include <string>

#include "isa/module.h"

namespace polymer {

// `.requires mem >= 4G`: the largest suffix (K, M, G, T: powers of 1024)
// that divides the size exactly, else the bytes.
std::string size_literal(std::uint64_t bytes);

// ".requires gpu, mem >= 512M, node 'box3'"; "" when there are none.
std::string requirements_text(const ProcRequirements& r);

}  // namespace polymer
