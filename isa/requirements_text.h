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

// What a node that advertises `gpu` (a GPU-class device), `max_memory` (what
// it lets one home hold) and `name` lacks of `r`, in words that follow its
// name: "it has no GPU, it offers 512 MiB (--max-memory)"; "" when it meets
// them all (ProcedureNodes::unmet, vm/procs/away.h).
std::string unmet_requirements(const ProcRequirements& r, bool gpu, std::uint64_t max_memory, const std::string& name);

}  // namespace polymer
