#include "assembler/region_rules.h"

#include <array>

#include "isa/vector_rules.h"

namespace polymer::asm_detail {

namespace {

std::string type_name(ElemType t) { return std::string(elem_type_name(t)); }

// "an i32", "a u8": the article as the type name is read aloud.
std::string a_type(ElemType t) { return (t == ElemType::U8 || t == ElemType::U32 ? "a " : "an ") + type_name(t); }

}  // namespace

std::optional<RegionRuleError> check_region_types(Op op, const std::vector<RegionUse>& uses) {
    std::string mnemonic(op_info(op).mnemonic);
    if (auto t = element_access_type(op)) {  // ld.T / st.T, and u8 for args / readln
        for (const RegionUse& u : uses) {
            if (u.region->type != *t)
                return RegionRuleError{u.operand, mnemonic + " needs " + a_type(*t) + " region, but '" +
                                                      u.region->name + "' is " + type_name(u.region->type)};
        }
        return std::nullopt;
    }
    if (!as_vector_op(op)) return std::nullopt;
    // For a vector op an operand's position is its slot (isa/vector_rules.h).
    std::array<const RegionDecl*, kVectorSlots> region{};
    std::array<std::optional<ElemType>, kVectorSlots> types;
    for (const RegionUse& u : uses) {
        if (u.operand >= kVectorSlots) continue;
        region[u.operand] = u.region;
        types[u.operand] = u.region->type;
    }
    const VectorTypeProblem p = find_vector_type_problem(vector_rule(op), types);
    const RegionDecl* r = region[p.slot];
    switch (p.what) {
    case VectorTypeProblem::What::None: break;
    case VectorTypeProblem::What::NotInteger:
    case VectorTypeProblem::What::NotFloat: {
        const char* kind = p.what == VectorTypeProblem::What::NotFloat ? "a float" : "an integer";
        return RegionRuleError{p.slot, mnemonic + " needs " + kind + " region, but '" + r->name + "' is " +
                                           type_name(r->type)};
    }
    case VectorTypeProblem::What::Differs: {
        const RegionDecl* first = region[p.reference];
        return RegionRuleError{p.slot, mnemonic + " needs regions of one type, but '" + first->name + "' is " +
                                           type_name(first->type) + " and '" + r->name + "' is " +
                                           type_name(r->type)};
    }
    }
    return std::nullopt;
}

}  // namespace polymer::asm_detail
