#include "assembler/region_rules.h"

namespace polymer::asm_detail {

namespace {

std::string type_name(ElemType t) { return std::string(elem_type_name(t)); }

// "an i32", "a u8": the article as the type name is read aloud.
std::string a_type(ElemType t) { return (t == ElemType::U8 || t == ElemType::U32 ? "a " : "an ") + type_name(t); }

enum class Kind { Any, Float, Integer };

struct Rule {
    Kind kind = Kind::Any;  // what every region in `same` must be
    std::vector<std::size_t> same;  // operand positions that must share one type
};

// Operand positions are syntax positions (0 = first operand).
std::optional<Rule> vector_rule(Op op) {
    switch (op) {
    case Op::Vadd: case Op::Vsub: case Op::Vmul: case Op::Vdiv: case Op::Vmin: case Op::Vmax:
    case Op::Vmatmul:
        return Rule{Kind::Any, {0, 1, 2}};
    case Op::Vfma: return Rule{Kind::Any, {0, 1, 2, 3}};
    case Op::Vscale: return Rule{Kind::Float, {0, 1}};
    case Op::Vfill: return Rule{Kind::Integer, {0}};
    case Op::Vfillf: return Rule{Kind::Float, {0}};
    case Op::Vcopy: case Op::Vscan: return Rule{Kind::Any, {0, 1}};
    case Op::Vcmplt: case Op::Vcmpeq: return Rule{Kind::Any, {1, 2}};
    case Op::Vselect: return Rule{Kind::Any, {0, 2, 3}};
    case Op::Vsum: case Op::Vredmin: case Op::Vredmax: return Rule{Kind::Float, {1}};
    case Op::Vsumi: case Op::Vredmini: case Op::Vredmaxi: return Rule{Kind::Integer, {1}};
    case Op::Vdot: return Rule{Kind::Float, {1, 2}};
    case Op::Vdoti: return Rule{Kind::Integer, {1, 2}};
    default: return std::nullopt;
    }
}

}  // namespace

std::optional<RegionRuleError> check_region_types(Op op, const std::vector<RegionUse>& uses) {
    std::string mnemonic(op_info(op).mnemonic);
    auto region_at = [&](std::size_t operand) -> const RegionDecl* {
        for (const RegionUse& u : uses)
            if (u.operand == operand) return u.region;
        return nullptr;
    };
    if (auto t = element_access_type(op)) {
        for (const RegionUse& u : uses) {
            if (u.region->type != *t)
                return RegionRuleError{u.operand, mnemonic + " needs " + a_type(*t) + " region, but '" +
                                                      u.region->name + "' is " + type_name(u.region->type)};
        }
        return std::nullopt;
    }
    auto rule = vector_rule(op);
    if (!rule) return std::nullopt;
    const RegionDecl* first = nullptr;
    for (std::size_t operand : rule->same) {
        const RegionDecl* r = region_at(operand);
        if (!r) continue;
        if (rule->kind == Kind::Float && !is_float(r->type))
            return RegionRuleError{operand, mnemonic + " needs a float region, but '" + r->name + "' is " +
                                                type_name(r->type)};
        if (rule->kind == Kind::Integer && is_float(r->type))
            return RegionRuleError{operand, mnemonic + " needs an integer region, but '" + r->name + "' is " +
                                                type_name(r->type)};
        if (!first) {
            first = r;
        } else if (r->type != first->type) {
            return RegionRuleError{operand, mnemonic + " needs regions of one type, but '" + first->name + "' is " +
                                                type_name(first->type) + " and '" + r->name + "' is " +
                                                type_name(r->type)};
        }
    }
    return std::nullopt;
}

}  // namespace polymer::asm_detail
