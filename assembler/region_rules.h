// Which element types an instruction's region operands must have, from the
// Regions column of isa/opcodes.def: ld.T/st.T take a T region, vector ops
// follow their V(...) rule (isa/vector_rules.h). The verifier applies the same
// rules to loaded modules; here they are worded for the source.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer::asm_detail {

// One region operand of an instruction as written: operand position in the
// syntax, and the region it names.
struct RegionUse {
    std::size_t operand = 0;
    const RegionDecl* region = nullptr;
};

struct RegionRuleError {
    std::size_t operand = 0;  // which operand the message points at
    std::string message;
};

// Checks the region operands of `op` (in syntax order); nothing when fine.
std::optional<RegionRuleError> check_region_types(Op op, const std::vector<RegionUse>& uses);

}  // namespace polymer::asm_detail
