#include "vm/debugger/expression.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "assembler/disassembler.h"
#include "vm/trap.h"

namespace polymer::debugger {

bool Value::same_as(const Value& o) const {
    if (is_float != o.is_float) return false;
    return is_float ? std::bit_cast<std::uint64_t>(f) == std::bit_cast<std::uint64_t>(o.f) : i == o.i;
}

std::string value_text(const Value& v, bool hex) {
    if (v.is_float) return double_text(v.f);
    if (!hex) return std::to_string(v.i);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint64_t>(v.i), 16);
    return "0x" + std::string(buf, end);
}

namespace {

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

// "r12" -> 12 when it names one of `count` registers with prefix `p`.
std::optional<unsigned> register_number(std::string_view name, char p, unsigned count) {
    if (name.size() < 2 || name.size() > 3 || name[0] != p) return std::nullopt;
    unsigned n = 0;
    auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), n);
    if (ec != std::errc() || end != name.data() + name.size() || n >= count) return std::nullopt;
    if (name.size() == 3 && name[1] == '0') return std::nullopt;  // "r01" is not a register
    return n;
}

std::optional<std::uint32_t> region_index(const Module& m, std::string_view name) {
    for (std::size_t i = 0; i < m.regions.size(); ++i)
        if (m.regions[i].name == name) return static_cast<std::uint32_t>(i);
    return std::nullopt;
}

// Region element `i` as a value, bounds-checked.
Result<Value> read_element(const Machine& machine, const Region& g, std::int64_t i) {
    if (i < 0 || static_cast<std::uint64_t>(i) >= g.length)
        return Error{"index " + std::to_string(i) + " is outside '" + std::string(g.name) + "' (length " +
                     std::to_string(g.length) + ")"};
    const auto k = static_cast<std::size_t>(i);
    machine.bring_home(g, k, k + 1, HomeAccess::Read);
    switch (g.type) {
    case ElemType::U8: return Value::of_int(g.as<std::uint8_t>()[k]);
    case ElemType::I32: return Value::of_int(g.as<std::int32_t>()[k]);
    case ElemType::U32: return Value::of_int(g.as<std::uint32_t>()[k]);
    case ElemType::I64: return Value::of_int(g.as<std::int64_t>()[k]);
    case ElemType::F32: return Value::of_float(g.as<float>()[k]);
    case ElemType::F64: return Value::of_float(g.as<double>()[k]);
    }
    return Error{"bad element type"};
}

}  // namespace

// Recursive descent over the grammar in expression.h.
class ExpressionParser {
public:
    ExpressionParser(std::string_view text, const Module& m, std::uint32_t pc, Expression& e)
        : s_(text), m_(m), pc_(pc), e_(e) {}

    Result<bool> parse() {
        Result<int> root = binary(0);
        if (!root) return Error{root.error()};
        skip_space();
        if (pos_ != s_.size()) return Error{"unexpected '" + std::string(s_.substr(pos_)) + "' in expression"};
        e_.root_ = root.value();
        return true;
    }

private:
    using Node = Expression::Node;

    // Binary operators by precedence level, loosest first.
    static constexpr std::string_view kLevels[][6] = {
        {"||"}, {"&&"}, {"|", "^", "&"}, {"==", "!=", "<=", ">=", "<", ">"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
    };
    static constexpr int kLevelCount = 7;

    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    }
    bool take(std::string_view tok) {
        skip_space();
        if (s_.substr(pos_, tok.size()) != tok) return false;
        pos_ += tok.size();
        return true;
    }
    int add(Node n) {
        e_.nodes_.push_back(std::move(n));
        return static_cast<int>(e_.nodes_.size() - 1);
    }

    // The operator of `level` at the cursor, not mistaken for a longer one
    // ("<" is not the start of "<<" or "<="; "|" is not "||").
    std::string_view peek_op(int level) {
        skip_space();
        for (std::string_view op : kLevels[level]) {
            if (op.empty() || s_.substr(pos_, op.size()) != op) continue;
            const char next = pos_ + op.size() < s_.size() ? s_[pos_ + op.size()] : '\0';
            if (op.size() == 1 && (next == op[0] || (next == '=' && (op == "<" || op == ">")))) continue;
            if (op.size() == 1 && op == "&" && next == '&') continue;
            return op;
        }
        return {};
    }

    Result<int> binary(int level) {
        if (level == kLevelCount) return unary();
        Result<int> lhs = binary(level + 1);
        if (!lhs) return lhs;
        int left = lhs.value();
        for (;;) {
            std::string_view op = peek_op(level);
            if (op.empty()) return left;
            pos_ += op.size();
            Result<int> rhs = binary(level + 1);
            if (!rhs) return rhs;
            Node n;
            n.kind = Node::Kind::Binary;
            n.op = std::string(op);
            n.lhs = left;
            n.rhs = rhs.value();
            left = add(std::move(n));
            if (level == 3) return left;  // comparisons do not chain
        }
    }

    Result<int> unary() {
        skip_space();
        for (std::string_view op : {"-", "!", "~"}) {
            if (take(op)) {
                Result<int> inner = unary();
                if (!inner) return inner;
                Node n;
                n.kind = Node::Kind::Unary;
                n.op = std::string(op);
                n.lhs = inner.value();
                return add(std::move(n));
            }
        }
        return primary();
    }

    Result<int> primary() {
        skip_space();
        if (pos_ == s_.size()) return Error{"expression expected at the end of '" + std::string(s_) + "'"};
        const char c = s_[pos_];
        if (c == '(') {
            ++pos_;
            Result<int> inner = binary(0);
            if (!inner) return inner;
            if (!take(")")) return Error{"')' expected in '" + std::string(s_) + "'"};
            return inner;
        }
        if (c >= '0' && c <= '9') return number();
        if (c == '\'') return character();
        if (!ident_start(c)) return Error{"unexpected '" + std::string(1, c) + "' in expression"};
        const std::size_t begin = pos_;
        while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
        const std::string_view name = s_.substr(begin, pos_ - begin);
        Node n;
        if (auto r = register_number(name, 'r', kIntRegisters)) {
            n.kind = Node::Kind::IntReg, n.index = *r;
        } else if (auto f = register_number(name, 'f', kFloatRegisters)) {
            n.kind = Node::Kind::FloatReg, n.index = *f;
        } else if (name == "pc") {
            n.kind = Node::Kind::Pc;
        } else if (name == "steps") {
            n.kind = Node::Kind::Steps;
        } else if (name == "depth") {
            n.kind = Node::Kind::Depth;
        } else if (name == "len" && take("(")) {
            skip_space();
            const std::size_t rb = pos_;
            while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
            const std::string_view region = s_.substr(rb, pos_ - rb);
            auto g = region_index(m_, region);
            if (!g) return Error{"no region named '" + std::string(region) + "'"};
            if (!take(")")) return Error{"')' expected after len(" + std::string(region)};
            n.kind = Node::Kind::Len, n.index = *g;
        } else if (auto g = region_index(m_, name)) {
            if (!take("[")) return Error{"'" + std::string(name) + "' is a region: write " + std::string(name) + "[i] or len(" + std::string(name) + ")"};
            Result<int> index = binary(0);
            if (!index) return index;
            if (!take("]")) return Error{"']' expected after the index of '" + std::string(name) + "'"};
            n.kind = Node::Kind::Element, n.index = *g, n.lhs = index.value();
        } else if (auto pc = code_address(name)) {
            n.kind = Node::Kind::Int, n.i = *pc;
        } else {
            return Error{"unknown name '" + std::string(name) + "' (not a register, region, label or procedure)"};
        }
        return add(std::move(n));
    }

    // A label (the current procedure's first) or a procedure's first word.
    std::optional<std::uint32_t> code_address(std::string_view name) {
        const Procedure* here = proc_containing(m_, pc_);
        std::optional<std::uint32_t> any;
        for (const Label& l : m_.labels) {
            if (l.name != name) continue;
            if (here != nullptr && l.pc >= here->start && l.pc < here->start + here->length) return l.pc;
            if (!any) any = l.pc;
        }
        if (any) return any;
        for (const Procedure& p : m_.procs)
            if (p.name == name) return p.start;
        return std::nullopt;
    }

    Result<int> number() {
        const std::size_t begin = pos_;
        while (pos_ < s_.size() && (ident_char(s_[pos_]) || ((s_[pos_] == '+' || s_[pos_] == '-') &&
                                                              (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E'))))
            ++pos_;
        std::string text(s_.substr(begin, pos_ - begin));
        std::erase(text, '_');
        Node n;
        const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        const bool bin = text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B');
        const bool is_float = !hex && text.find_first_of(".eE") != std::string::npos;
        const char* first = text.data() + (hex || bin ? 2 : 0);
        const char* last = text.data() + text.size();
        if (is_float) {
            auto [end, ec] = std::from_chars(first, last, n.f);
            if (ec != std::errc() || end != last) return Error{"bad number '" + text + "'"};
            n.kind = Node::Kind::Float;
        } else {
            std::uint64_t u = 0;
            auto [end, ec] = std::from_chars(first, last, u, hex ? 16 : bin ? 2 : 10);
            if (ec != std::errc() || end != last) return Error{"bad number '" + text + "'"};
            n.kind = Node::Kind::Int;
            n.i = static_cast<std::int64_t>(u);
        }
        return add(std::move(n));
    }

    Result<int> character() {
        // 'A' or '\n': one character, as in the assembler.
        if (pos_ + 2 < s_.size() && s_[pos_ + 1] != '\\' && s_[pos_ + 2] == '\'') {
            Node n;
            n.i = static_cast<unsigned char>(s_[pos_ + 1]);
            pos_ += 3;
            return add(std::move(n));
        }
        if (pos_ + 3 < s_.size() && s_[pos_ + 1] == '\\' && s_[pos_ + 3] == '\'') {
            const char e = s_[pos_ + 2];
            Node n;
            n.i = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? 0 : e;
            pos_ += 4;
            return add(std::move(n));
        }
        return Error{"bad character literal in '" + std::string(s_) + "'"};
    }

    std::string_view s_;
    const Module& m_;
    std::uint32_t pc_;
    Expression& e_;
    std::size_t pos_ = 0;
};

Result<Expression> Expression::parse(std::string_view text, const Module& m, std::uint32_t current_pc) {
    Expression e;
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    e.text_ = std::string(text);
    if (text.empty()) return Error{"an expression is expected"};
    ExpressionParser p(e.text_, m, current_pc, e);
    Result<bool> ok = p.parse();
    if (!ok) return Error{ok.error()};
    return e;
}

Expression::Place Expression::place() const {
    switch (nodes_[root_].kind) {
    case Node::Kind::IntReg: return Place::IntReg;
    case Node::Kind::FloatReg: return Place::FloatReg;
    case Node::Kind::Element: return Place::Element;
    default: return Place::None;
    }
}

Result<Value> Expression::evaluate(const Machine& machine) const { return eval(machine, machine.state(), root_); }

Result<Value> Expression::evaluate(const Machine& machine, const MachineState& state) const {
    return eval(machine, state, root_);
}

Result<Value> Expression::eval(const Machine& machine, const MachineState& state, int node) const {
    const Node& n = nodes_[node];
    switch (n.kind) {
    case Node::Kind::Int: return Value::of_int(n.i);
    case Node::Kind::Float: return Value::of_float(n.f);
    case Node::Kind::IntReg: return Value::of_int(state.regs.r[n.index]);
    case Node::Kind::FloatReg: return Value::of_float(state.regs.f[n.index]);
    case Node::Kind::Pc: return Value::of_int(state.pc);
    case Node::Kind::Steps: return Value::of_int(static_cast<std::int64_t>(state.steps));
    case Node::Kind::Depth: return Value::of_int(static_cast<std::int64_t>(state.call_depth));
    case Node::Kind::Len: return Value::of_int(static_cast<std::int64_t>(machine.regions()[n.index].length));
    case Node::Kind::Element: {
        Result<Value> index = eval(machine, state, n.lhs);
        if (!index) return index;
        if (index.value().is_float) return Error{"a region index must be an integer"};
        return read_element(machine, machine.regions()[n.index], index.value().i);
    }
    case Node::Kind::Unary: {
        Result<Value> a = eval(machine, state, n.lhs);
        if (!a) return a;
        const Value v = a.value();
        if (n.op == "-")
            return v.is_float ? Value::of_float(-v.f)
                              : Value::of_int(static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(v.i)));
        if (n.op == "!") return Value::of_int(v.is_float ? v.f == 0 : v.i == 0);
        if (v.is_float) return Error{"'~' needs an integer"};
        return Value::of_int(~v.i);
    }
    case Node::Kind::Binary: break;
    }
    Result<Value> ra = eval(machine, state, n.lhs);
    if (!ra) return ra;
    Result<Value> rb = eval(machine, state, n.rhs);
    if (!rb) return rb;
    const Value a = ra.value(), b = rb.value();
    const std::string& op = n.op;
    auto truth = [](const Value& v) { return v.is_float ? v.f != 0 : v.i != 0; };
    if (op == "&&") return Value::of_int(truth(a) && truth(b));
    if (op == "||") return Value::of_int(truth(a) || truth(b));
    if (a.is_float || b.is_float) {
        const double x = a.is_float ? a.f : static_cast<double>(a.i);
        const double y = b.is_float ? b.f : static_cast<double>(b.i);
        if (op == "+") return Value::of_float(x + y);
        if (op == "-") return Value::of_float(x - y);
        if (op == "*") return Value::of_float(x * y);
        if (op == "/") return Value::of_float(x / y);
        if (op == "%") return Value::of_float(std::fmod(x, y));
        if (op == "==") return Value::of_int(x == y);
        if (op == "!=") return Value::of_int(x != y);
        if (op == "<") return Value::of_int(x < y);
        if (op == "<=") return Value::of_int(x <= y);
        if (op == ">") return Value::of_int(x > y);
        if (op == ">=") return Value::of_int(x >= y);
        return Error{"'" + op + "' needs integers"};
    }
    const std::uint64_t x = static_cast<std::uint64_t>(a.i), y = static_cast<std::uint64_t>(b.i);
    auto wrap = [](std::uint64_t v) { return Value::of_int(static_cast<std::int64_t>(v)); };
    if (op == "+") return wrap(x + y);
    if (op == "-") return wrap(x - y);
    if (op == "*") return wrap(x * y);
    if (op == "/" || op == "%") {
        if (b.i == 0) return Error{"division by zero in '" + text_ + "'"};
        if (a.i == INT64_MIN && b.i == -1) return Value::of_int(op == "/" ? INT64_MIN : 0);
        return Value::of_int(op == "/" ? a.i / b.i : a.i % b.i);
    }
    if (op == "&") return wrap(x & y);
    if (op == "|") return wrap(x | y);
    if (op == "^") return wrap(x ^ y);
    if (op == "<<") return wrap(y > 63 ? 0 : x << y);
    if (op == ">>") return wrap(y > 63 ? 0 : x >> y);
    if (op == "==") return Value::of_int(a.i == b.i);
    if (op == "!=") return Value::of_int(a.i != b.i);
    if (op == "<") return Value::of_int(a.i < b.i);
    if (op == "<=") return Value::of_int(a.i <= b.i);
    if (op == ">") return Value::of_int(a.i > b.i);
    if (op == ">=") return Value::of_int(a.i >= b.i);
    return Error{"unknown operator '" + op + "'"};
}

Result<Expression::Location> Expression::locate(const Machine& machine) const {
    const Node& n = nodes_[root_];
    Location at{place(), n.index, 0};
    if (at.place == Place::None)
        return Error{"cannot assign to '" + text_ + "' (set takes a register or a region element)"};
    if (at.place == Place::Element) {
        Result<Value> index = eval(machine, machine.state(), n.lhs);
        if (!index) return Error{index.error()};
        if (index.value().is_float) return Error{"a region index must be an integer"};
        Result<Value> check = read_element(machine, machine.regions()[n.index], index.value().i);
        if (!check) return Error{check.error()};
        at.element = static_cast<std::uint64_t>(index.value().i);
    }
    return at;
}

Result<bool> Expression::assign(Machine& machine, const Value& v) const {
    const Node& n = nodes_[root_];
    switch (place()) {
    case Place::IntReg:
        if (v.is_float) return Error{"r" + std::to_string(n.index) + " is an integer register; " + value_text(v) + " is a float"};
        machine.set_int_reg(n.index, v.i);
        return true;
    case Place::FloatReg:
        machine.set_float_reg(n.index, v.is_float ? v.f : static_cast<double>(v.i));
        return true;
    case Place::Element: {
        Result<Value> index = eval(machine, machine.state(), n.lhs);
        if (!index) return Error{index.error()};
        const Region& g = machine.regions()[n.index];
        Result<Value> check = read_element(machine, g, index.value().is_float ? -1 : index.value().i);
        if (!check) return Error{check.error()};
        const auto k = static_cast<std::size_t>(index.value().i);
        machine.bring_home(g, k, k + 1, HomeAccess::Write);
        if (!is_float(g.type) && v.is_float)
            return Error{"'" + std::string(g.name) + "' holds " + std::string(elem_type_name(g.type)) + "; " +
                         value_text(v) + " is a float"};
        const double fv = v.is_float ? v.f : static_cast<double>(v.i);
        switch (g.type) {
        case ElemType::U8: g.as<std::uint8_t>()[k] = static_cast<std::uint8_t>(v.i); break;
        case ElemType::I32: g.as<std::int32_t>()[k] = static_cast<std::int32_t>(v.i); break;
        case ElemType::U32: g.as<std::uint32_t>()[k] = static_cast<std::uint32_t>(v.i); break;
        case ElemType::I64: g.as<std::int64_t>()[k] = v.i; break;
        case ElemType::F32: g.as<float>()[k] = static_cast<float>(fv); break;
        case ElemType::F64: g.as<double>()[k] = fv; break;
        }
        return true;
    }
    case Place::None: break;
    }
    return Error{"cannot assign to '" + text_ + "' (set takes a register or a region element)"};
}

}  // namespace polymer::debugger
