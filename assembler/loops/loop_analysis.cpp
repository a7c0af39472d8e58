#include "assembler/loops/loop_analysis.h"

#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <optional>

#include "isa/encoding.h"
#include "isa/formats.h"

namespace polymer::loops {
namespace {

using i128 = __int128;

std::string line_of(const Module& m, std::uint32_t pc) {
    return pc < m.lines.size() && m.lines[pc].line != 0 ? " (line " + std::to_string(m.lines[pc].line) + ")" : "";
}

std::string mnemonic(const Module& m, std::uint32_t pc) {
    return std::string(op_info(static_cast<Op>(word_op(m.code[pc]))).mnemonic);
}

// The relation a two-register branch tests between its operands A and B.
enum class Rel : std::uint8_t { Lt, Le, Gt, Ge, Ltu, Leu, Gtu, Geu, Eq, Ne };

std::optional<Rel> branch_relation(Op op) {
    switch (op) {
    case Op::Blt: return Rel::Lt;
    case Op::Bge: return Rel::Ge;
    case Op::Bltu: return Rel::Ltu;
    case Op::Bgeu: return Rel::Geu;
    case Op::Beq: return Rel::Eq;
    case Op::Bne: return Rel::Ne;
    default: return std::nullopt;
    }
}

Rel swapped(Rel r) {  // a REL b == b swapped(REL) a
    switch (r) {
    case Rel::Lt: return Rel::Gt;
    case Rel::Le: return Rel::Ge;
    case Rel::Gt: return Rel::Lt;
    case Rel::Ge: return Rel::Le;
    case Rel::Ltu: return Rel::Gtu;
    case Rel::Leu: return Rel::Geu;
    case Rel::Gtu: return Rel::Ltu;
    case Rel::Geu: return Rel::Leu;
    default: return r;
    }
}

Rel negated(Rel r) {
    switch (r) {
    case Rel::Lt: return Rel::Ge;
    case Rel::Le: return Rel::Gt;
    case Rel::Gt: return Rel::Le;
    case Rel::Ge: return Rel::Lt;
    case Rel::Ltu: return Rel::Geu;
    case Rel::Leu: return Rel::Gtu;
    case Rel::Gtu: return Rel::Leu;
    case Rel::Geu: return Rel::Ltu;
    case Rel::Eq: return Rel::Ne;
    case Rel::Ne: return Rel::Eq;
    }
    return r;
}

std::optional<LoopCompare> as_compare(Rel r) {
    switch (r) {
    case Rel::Lt: return LoopCompare::Lt;
    case Rel::Le: return LoopCompare::Le;
    case Rel::Gt: return LoopCompare::Gt;
    case Rel::Ge: return LoopCompare::Ge;
    case Rel::Ltu: return LoopCompare::Ltu;
    case Rel::Leu: return LoopCompare::Leu;
    case Rel::Gtu: return LoopCompare::Gtu;
    case Rel::Geu: return LoopCompare::Geu;
    case Rel::Ne: return LoopCompare::Ne;
    case Rel::Eq: return std::nullopt;  // "while i == b" runs once at most
    }
    return std::nullopt;
}

// A register's value as the loop body computes it: scale * i + offset
// (+ R[reg] when has_reg, a register the loop never writes), i being the
// induction register's value at the start of the iteration.
struct Affine {
    bool known = false;
    i128 scale = 0, offset = 0;
    bool has_reg = false;
    std::uint8_t reg = 0;
};

bool fits64(i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

Affine unknown() { return {}; }
Affine constant(i128 v) { return {true, 0, v}; }

Affine plus(const Affine& a, const Affine& b) {
    if (!a.known || !b.known || (a.has_reg && b.has_reg)) return unknown();
    Affine r{true, a.scale + b.scale, a.offset + b.offset, a.has_reg || b.has_reg, a.has_reg ? a.reg : b.reg};
    return fits64(r.scale) && fits64(r.offset) ? r : unknown();
}

Affine times(const Affine& a, i128 k) {
    if (!a.known || (a.has_reg && k != 1)) return unknown();
    Affine r{true, a.scale * k, a.offset * k, a.has_reg, a.reg};
    return fits64(r.scale) && fits64(r.offset) ? r : unknown();
}

bool is_constant(const Affine& a) { return a.known && a.scale == 0 && !a.has_reg; }

// The value a top-level (unconditional, once per iteration) word leaves in its
// integer destination, in terms of the state before it.
Affine transfer(const Module& m, Word w, const std::vector<Affine>& s) {
    const std::uint8_t a = word_a(w), b = word_b(w), c = word_c(w);
    const std::int64_t imm = word_imm(w);
    switch (static_cast<Op>(word_op(w))) {
    case Op::Li: return constant(imm);
    case Op::Liw: {
        const std::uint32_t k = word_field(w, Field::Imm);
        return k < m.int_consts.size() ? constant(m.int_consts[k]) : unknown();
    }
    case Op::Mov: return s[b];
    case Op::Addi: return plus(s[b], constant(imm));
    case Op::Add: return plus(s[b], s[c]);
    case Op::Sub: return s[c].has_reg ? unknown() : plus(s[b], times(s[c], -1));
    case Op::Muli: return times(s[b], imm);
    case Op::Mul:
        if (is_constant(s[c])) return times(s[b], s[c].offset);
        if (is_constant(s[b])) return times(s[c], s[b].offset);
        return unknown();
    case Op::Shli: return imm >= 0 && imm < 62 ? times(s[b], i128{1} << imm) : unknown();
    default: (void)a; return unknown();
    }
}

std::string u8_region_name(const Module& m, std::uint8_t operand) {
    if (operand < m.regions.size()) return "'" + m.regions[operand].name + "'";
    return "the region @r" + std::to_string(handle_register(operand));
}

struct Range {
    std::uint32_t from, to;  // words strictly between a branch and its target, or an inner loop
};

}  // namespace

std::vector<LoopCandidate> find_loops(const Module& m, const Procedure& proc) {
    std::map<std::uint32_t, std::uint32_t> latch_of;  // header -> last word jumping back to it
    for (std::uint32_t pc = proc.start; pc < proc.start + proc.length; ++pc) {
        const WordFacts f = word_facts(m, pc);
        if (f.target && *f.target <= pc && *f.target >= proc.start) {
            std::uint32_t& latch = latch_of[*f.target];
            latch = std::max(latch, pc);
        }
    }
    std::vector<LoopCandidate> loops;
    for (auto [header, latch] : latch_of) loops.push_back({header, latch});
    return loops;  // by header: an outer loop comes before the loops inside it
}

std::variant<LoopPlan, std::string> analyze_loop(const Module& m, const Procedure& proc, const LoopCandidate& loop,
                                                 const std::vector<WordFacts>& facts, const std::vector<RegSet>& live,
                                                 bool reassociate) {
    const std::uint32_t h = loop.header, t = loop.latch, exit = t + 1;
    const std::uint32_t proc_end = proc.start + proc.length;
    auto inside = [&](std::uint32_t pc) { return pc >= h && pc <= t; };
    auto fact = [&](std::uint32_t pc) -> const WordFacts& { return facts[pc - proc.start]; };

    // --- one way in, at the header, by falling into it ---
    if (h == proc.start || !fact(h - 1).falls_through) return "the loop is entered only by a jump" + line_of(m, h);
    for (std::uint32_t pc = proc.start; pc < proc_end; ++pc)
        if (!inside(pc) && fact(pc).target && inside(*fact(pc).target))
            return "the loop is also entered from line " + std::to_string(m.lines.empty() ? 0 : m.lines[pc].line);

    // --- the test: at the end (a branch back), or at the start (a branch out) and a jump back ---
    LoopPlan plan;
    plan.header = h;
    plan.latch = t;
    const WordFacts& last = fact(t);
    if (last.conditional && *last.target == h) {
        plan.test = t;
        plan.tested_first = false;
    } else if (!last.conditional && fact(h).conditional && *fact(h).target == exit) {
        plan.test = h;
        plan.tested_first = true;
    } else {
        return std::string("no test of a counter against a bound at the loop's start or end");
    }
    for (std::uint32_t pc = h; pc <= t; ++pc) {
        const WordFacts& f = fact(pc);
        if (!f.target || inside(*f.target)) continue;
        if (*f.target != exit || pc != plan.test) return "the loop may leave early" + line_of(m, pc);
    }
    // --- what the words may do ---
    for (std::uint32_t pc = h; pc <= t; ++pc) {
        if (pc == plan.test) continue;
        const Op op = fact(pc).op;
        const OpInfo& info = op_info(op);
        const std::string what = std::string(info.mnemonic) + line_of(m, pc);
        switch (info.cls) {
        case OpClass::Scalar:
        case OpClass::Float:
            if (op == Op::Liw || op == Op::Lif || op == Op::Nop) break;
            if (auto kop = find_kop(info.mnemonic); !kop || !available_in_wide_kernels(*kop))
                return what + " has no exact kernel form";
            break;
        case OpClass::Memory:
            if (info.effects & effect::Alloc) return what + " changes a region's storage";
            if (info.elem == ElemType::U8) return what + ": kernels have no u8 buffers";
            if (!info.elem && op != Op::Len) return what + " has no kernel form";
            break;
        case OpClass::Control:
            if (!fact(pc).target) return what + (fact(pc).falls_through ? " calls a procedure" : " leaves the loop");
            break;
        case OpClass::Stack: return what + " uses the value stack";
        case OpClass::IO: return what + " reads or writes the program's input or output";
        case OpClass::Vector:
        case OpClass::Kernel:
        case OpClass::Sync: return what + " runs long operations";
        case OpClass::Procs: return what + " talks to other procedures";
        }
    }

    const Word test = m.code[plan.test];
    const std::optional<Rel> rel = branch_relation(static_cast<Op>(word_op(test)));
    if (!rel) return mnemonic(m, plan.test) + " does not compare a counter with a bound" + line_of(m, plan.test);

    // --- the induction register: stepped by one addi, every iteration ---
    std::array<int, 64> def_count{};
    std::array<std::uint32_t, 64> def_pc{};
    for (std::uint32_t pc = h; pc <= t; ++pc)
        for (RegSet w = fact(pc).writes; w; w &= w - 1) {
            const int bit = std::countr_zero(w);
            ++def_count[bit];
            def_pc[bit] = pc;
            plan.defs |= RegSet{1} << bit;
        }
    for (std::uint32_t pc = h; pc <= t; ++pc) plan.used |= fact(pc).reads | fact(pc).writes;
    auto stepped = [&](std::uint8_t r) -> std::optional<std::int64_t> {
        if (def_count[r] != 1) return std::nullopt;
        const Word w = m.code[def_pc[r]];
        if (static_cast<Op>(word_op(w)) != Op::Addi || word_a(w) != r || word_b(w) != r || word_imm(w) == 0)
            return std::nullopt;
        return word_imm(w);
    };
    const std::uint8_t ra = word_a(test), rb = word_b(test);
    Rel relation;
    if (auto s = stepped(ra); s && def_count[rb] == 0) {
        plan.induction = ra, plan.bound = rb, plan.step = *s, relation = *rel;
    } else if (auto s2 = stepped(rb); s2 && def_count[ra] == 0) {
        plan.induction = rb, plan.bound = ra, plan.step = *s2, relation = swapped(*rel);
    } else {
        return "no counter: neither r" + std::to_string(ra) + " nor r" + std::to_string(rb) +
               " is stepped by one addi while the other stays fixed";
    }
    // The branch leaves the loop (tested first) or goes round again (tested last) when it is taken.
    const std::optional<LoopCompare> compare = as_compare(plan.tested_first ? negated(relation) : relation);
    if (!compare) return std::string("the loop runs while its counter equals its bound: once at most");
    plan.compare = *compare;
    const std::uint32_t step_pc = def_pc[plan.induction];
    plan.step_pc = step_pc;

    // --- words under a condition or inside an inner loop run some number of times per iteration ---
    std::vector<Range> guarded;
    for (std::uint32_t pc = h; pc <= t; ++pc) {
        const WordFacts& f = fact(pc);
        if (!f.target || pc == plan.test || (pc == t && *f.target == h)) continue;
        if (*f.target > pc) guarded.push_back({pc + 1, *f.target});  // skipped: [pc + 1, target)
        else guarded.push_back({*f.target, pc + 1});                  // repeated: [target, pc]
    }
    auto in_inner_loop = [&](std::uint32_t pc) {
        for (std::uint32_t q = h; q <= t; ++q) {
            const WordFacts& f = fact(q);
            if (f.target && *f.target <= q && !(q == t && *f.target == h) && pc >= *f.target && pc <= q) return true;
        }
        return false;
    };
    auto is_guarded = [&](std::uint32_t pc) {
        return std::any_of(guarded.begin(), guarded.end(), [&](const Range& r) { return pc >= r.from && pc < r.to; });
    };
    if (is_guarded(step_pc))
        return "r" + std::to_string(plan.induction) + " is not stepped exactly once per iteration" + line_of(m, step_pc);

    // --- registers: nothing carried from one iteration to the next but the counter and reductions ---
    // Read before written within an iteration (the edges back to the header
    // and out of the loop lead nowhere here) ...
    std::vector<RegSet> exposed(t - h + 1, 0);
    for (bool changed = true; changed;) {
        changed = false;
        for (std::uint32_t pc = t + 1; pc-- > h;) {
            const WordFacts& f = fact(pc);
            RegSet out = 0;
            if (f.falls_through && pc + 1 <= t) out |= exposed[pc + 1 - h];
            if (f.target && *f.target > h && *f.target <= t) out |= exposed[*f.target - h];
            const RegSet in = f.reads | (out & ~f.writes);
            if (in != exposed[pc - h]) exposed[pc - h] = in, changed = true;
        }
    }
    // ... or read after the loop while only some iterations write it: kloop
    // leaves the scalar loop's last iteration to write what it leaves behind.
    // Written on every path through an iteration (a forward must-write analysis).
    std::vector<RegSet> must_in(t - h + 1, kAllRegs);
    must_in[0] = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (std::uint32_t pc = h; pc <= t; ++pc) {
            const WordFacts& f = fact(pc);
            const RegSet out = must_in[pc - h] | f.writes;
            auto flow = [&](std::uint32_t to) {
                if (to <= h || to > t) return;
                const RegSet in = must_in[to - h] & out;
                if (in != must_in[to - h]) must_in[to - h] = in, changed = true;
            };
            if (f.falls_through) flow(pc + 1);
            if (f.target) flow(*f.target);
        }
    }
    const RegSet written_every_iteration = must_in[t - h] | fact(t).writes;
    const RegSet live_after = exit < proc_end ? live[exit - proc.start] : 0;
    const RegSet carried = ((exposed[0] | (live_after & ~written_every_iteration)) & plan.defs) & ~int_reg(plan.induction);
    for (RegSet rest = carried; rest; rest &= rest - 1) {
        const unsigned bit = static_cast<unsigned>(std::countr_zero(rest));
        const bool is_float = bit >= 32;
        const std::uint8_t r = static_cast<std::uint8_t>(bit % 32);
        const std::string name = reg_name(RegSet{1} << bit);
        std::optional<Op> kind;
        bool ok = true;
        int accumulations = 0;  // words accumulating into the register
        bool repeated = false;  // one of them inside an inner loop
        for (std::uint32_t pc = h; pc <= t && ok; ++pc) {
            const WordFacts& f = fact(pc);
            const bool reads = (f.reads >> bit) & 1, writes = (f.writes >> bit) & 1;
            if (!reads && !writes) continue;
            const Word w = m.code[pc];
            const bool accumulates = word_a(w) == r && ((word_b(w) == r) != (word_c(w) == r));
            const Op op = f.op;
            const bool reducing = is_float ? (op == Op::Fadd || op == Op::Fmin || op == Op::Fmax)
                                           : (op == Op::Add || op == Op::Min || op == Op::Max);
            if (!writes || !accumulates || !reducing || (kind && *kind != op)) ok = false;
            kind = op;
            ++accumulations;
            repeated = repeated || in_inner_loop(pc);
        }
        if (!ok || !kind) {
            if ((exposed[0] >> bit) & 1) return name + " carries a value between iterations";
            // Read after the loop, written by some iterations only: kloop
            // takes it from the last lane that wrote it.
            plan.last_values |= RegSet{1} << bit;
            continue;
        }
        // Each lane's partial is its iteration's one value (or the identity),
        // and kloop adds them in iteration order: the scalar loop's own sum.
        // Only fmin/fmax (the identity changes a NaN), or a float value
        // accumulated more than once in an iteration, need reassociating.
        const bool exact = !is_float || (*kind == Op::Fadd && accumulations == 1 && !repeated);
        if (!exact && !reassociate)
            return name + " accumulates floats across iterations in another order (`.reassociate` in the procedure lets it)";
        LoopReduction red;
        red.is_float = is_float;
        red.reg = r;
        switch (*kind) {
        case Op::Add: red.op = ReduceOp::Add; break;
        case Op::Min: red.op = ReduceOp::Min; break;
        case Op::Max: red.op = ReduceOp::Max; break;
        case Op::Fadd: red.op = reassociate ? ReduceOp::FaddAnyOrder : ReduceOp::Fadd; break;
        case Op::Fmin: red.op = ReduceOp::Fmin; break;
        default: red.op = ReduceOp::Fmax; break;
        }
        plan.reductions.push_back(red);
    }

    if (std::popcount(plan.last_values) > static_cast<int>(kMaxLastValues))
        return "more than " + std::to_string(kMaxLastValues) + " registers are read after the loop and written by some iterations only";
    for (RegSet rest = plan.last_values; rest; rest &= rest - 1) {
        const unsigned bit = static_cast<unsigned>(std::countr_zero(rest));
        plan.reductions.push_back({bit >= 32, static_cast<std::uint8_t>(bit % 32), ReduceOp::Last});
    }
    if (plan.last_values) plan.reductions.push_back({false, 0, ReduceOp::LastMask});

    // --- divisors and region accesses ---
    std::vector<Affine> value(kIntRegisters);
    for (unsigned r = 0; r < kIntRegisters; ++r)
        if (!(plan.defs & int_reg(r))) value[r] = Affine{true, 0, 0, true, static_cast<std::uint8_t>(r)};
    value[plan.induction] = Affine{true, 1, 0};
    auto region_use = [&](std::uint8_t operand) -> RegionUse& {
        for (RegionUse& u : plan.regions)
            if (u.operand == operand) return u;
        RegionUse u;
        u.operand = operand;
        if (operand < m.regions.size()) u.type = m.regions[operand].type;
        plan.regions.push_back(u);
        return plan.regions.back();
    };
    std::vector<bool> typed(256, false);
    for (std::uint32_t pc = h; pc <= t; ++pc) {
        if (pc == plan.test) continue;
        const Word w = m.code[pc];
        const Op op = fact(pc).op;
        const OpInfo& info = op_info(op);
        if (info.cls == OpClass::Scalar && (info.effects & effect::Trap)) {  // div, rem, divu, remu
            const std::uint8_t d = word_c(w);
            if (plan.defs & int_reg(d)) return "the divisor r" + std::to_string(d) + " changes between iterations" + line_of(m, pc);
            if (std::find(plan.divisors.begin(), plan.divisors.end(), d) == plan.divisors.end()) plan.divisors.push_back(d);
        }
        if (info.elem) {  // ld.T / st.T: region in C, index register in B
            const std::uint8_t operand = word_c(w), index = word_b(w);
            const bool writes = (info.effects & effect::Store) != 0;
            if (is_handle_operand(operand) && (plan.defs & int_reg(handle_register(operand))))
                return "the region handle r" + std::to_string(handle_register(operand)) + " changes in the loop" + line_of(m, pc);
            const Affine& a = value[index];
            if (!a.known)
                return "the index r" + std::to_string(index) + " of " + mnemonic(m, pc) +
                       " is not a fixed multiple of the counter plus a constant" + line_of(m, pc);
            RegionUse& u = region_use(operand);
            u.type = *info.elem;
            typed[operand] = true;
            (writes ? u.writes : u.reads) = true;
            LoopAccess acc;
            acc.region = operand;
            acc.writes = writes;
            acc.scale = static_cast<std::int64_t>(a.scale);
            acc.offset = static_cast<std::int64_t>(a.offset);
            acc.has_offset_reg = a.has_reg;
            acc.offset_reg = a.reg;
            if (std::find(plan.accesses.begin(), plan.accesses.end(), acc) == plan.accesses.end())
                plan.accesses.push_back(acc);
        } else if (op == Op::Len) {
            const std::uint8_t operand = word_b(w);
            if (is_handle_operand(operand) && (plan.defs & int_reg(handle_register(operand))))
                return "the region handle r" + std::to_string(handle_register(operand)) + " changes in the loop" + line_of(m, pc);
            region_use(operand);
            if (operand < m.regions.size()) typed[operand] = true;
        }
        // Track the integer values for the indexes of the words after this one.
        for (RegSet wr = fact(pc).writes & 0xFFFFFFFFu; wr; wr &= wr - 1) {
            const unsigned r = static_cast<unsigned>(std::countr_zero(wr));
            value[r] = is_guarded(pc) ? unknown() : transfer(m, w, value);
        }
    }
    for (const RegionUse& u : plan.regions)
        if (!typed[u.operand]) return std::string("a region handle is used only by len in the loop");

    // --- no element touched by two iterations when one of them writes it ---
    for (const LoopAccess& a : plan.accesses) {
        if (!a.writes) continue;
        const std::string where = u8_region_name(m, a.region);
        if (a.scale == 0) return "every iteration writes the same element of " + where;
        for (const LoopAccess& b : plan.accesses) {
            if (b.region != a.region || &a == &b) continue;
            if (b.scale == a.scale && b.has_offset_reg == a.has_offset_reg && (!a.has_offset_reg || a.offset_reg == b.offset_reg)) {
                const i128 stride = i128{a.scale} * plan.step, distance = i128{b.offset} - a.offset;
                if (distance == 0 || distance % stride != 0) continue;
            }
            return where + " is written at one index and used at another, by different iterations";
        }
    }
    return plan;
}

}  // namespace polymer::loops
