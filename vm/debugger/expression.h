// Debugger expressions: what `print`, `until`, `watch` and `set` read.
//
//   expr    := or ; or := and ('||' and)* ; and := bitor ('&&' bitor)*
//   bitor   := cmp (('|' | '^' | '&') cmp)*
//   cmp     := shift (('==' | '!=' | '<' | '<=' | '>' | '>=') shift)?
//   shift   := sum (('<<' | '>>') sum)* ; sum := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '%') unary)* ; unary := ('-' | '!' | '~') unary | primary
//   primary := INT | FLOAT | 'A' | rN | fN | pc | steps | depth | REGION '[' expr ']'
//            | len(REGION) | LABEL | PROC | '(' expr ')'
//
// Integers are 64-bit and wrap like the machine's; an operation with a float
// operand is done in binary64. A label or procedure name is its pc, so
// `until pc == done` reads naturally. Parsing is separate from evaluation so
// that a watchpoint or an `until` condition is parsed once and evaluated after
// every instruction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/machine.h"

namespace polymer::debugger {

struct Value {
    bool is_float = false;
    std::int64_t i = 0;
    double f = 0;
    static Value of_int(std::int64_t v) { return Value{false, v, 0}; }
    static Value of_float(double v) { return Value{true, 0, v}; }
    // Same type and same bits (so a NaN equals itself: a watch does not fire forever).
    bool same_as(const Value& o) const;
};

// "42", "-7", "0.5", "nan"; with hex, integers as "0x2a".
std::string value_text(const Value& v, bool hex = false);

class Expression {
public:
    // `current_pc` picks which procedure's label wins when several
    // procedures have a label of that name.
    static Result<Expression> parse(std::string_view text, const Module& m, std::uint32_t current_pc = 0);
    Result<Value> evaluate(const Machine& machine) const;
    // As procedure `state` sees it (vm/procs/): its registers, pc, steps and
    // call depth; the machine's regions, which every procedure shares.
    Result<Value> evaluate(const Machine& machine, const MachineState& state) const;
    const std::string& text() const { return text_; }

    // For `set`: an expression that names a register or a region element.
    enum class Place : std::uint8_t { None, IntReg, FloatReg, Element };
    Place place() const;

    // Where a place expression points now (its element index evaluated).
    struct Location {
        Place place = Place::None;
        std::uint32_t index = 0;    // register or region
        std::uint64_t element = 0;  // Element: a bounds-checked index
    };
    Result<Location> locate(const Machine& machine) const;

    // Writes `v` where this expression points (a register or a region
    // element, whose index is evaluated now). Fails with one line naming why.
    Result<bool> assign(Machine& machine, const Value& v) const;

private:
    struct Node {
        enum class Kind : std::uint8_t { Int, Float, IntReg, FloatReg, Pc, Steps, Depth, Element, Len, Unary, Binary };
        Kind kind = Kind::Int;
        std::string op;  // Unary/Binary
        std::int64_t i = 0;
        double f = 0;
        std::uint32_t index = 0;  // register or region
        int lhs = -1, rhs = -1;   // child nodes
    };
    Result<Value> eval(const Machine& machine, const MachineState& state, int node) const;

    std::string text_;
    std::vector<Node> nodes_;
    int root_ = -1;
    friend class ExpressionParser;
};

}  // namespace polymer::debugger
