// The module verifier. Operand checks are driven by the operand formats
// (isa/formats.def), region types by the Regions column of isa/opcodes.def
// (through isa/vector_rules.h); only the rules no table says (kernel
// parameter kinds) name opcodes.
// What is checked, and why, is listed in docs/module-format.md.
#include "isa/verifier.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "isa/byte_io.h"
#include "isa/frame_analysis.h"
#include "isa/known_handles.h"
#include "isa/loop_trip.h"
#include "isa/opcodes.h"
#include "isa/vector_rules.h"

namespace polymer {
namespace {

using pbc::cat;

// The first problem found, or nothing.
using Problem = std::optional<std::string>;

inline constexpr std::uint64_t kMaxRegionElements = std::uint64_t{1} << 40;
inline constexpr std::size_t kMaxKernelParams = 256;     // a parameter operand is an 8-bit field
inline constexpr std::size_t kMaxCodeWords = 0x7FFFFFFF;  // jump targets are non-negative imm32

constexpr std::uint8_t field_bit(Field f) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(f)); }

// What the operands of one word may refer to: a procedure's labels, pools and
// regions, or a kernel's parameters.
struct Scope {
    const Module& m;
    const Kernel* kernel = nullptr;  // set for kernel IR
    std::uint32_t proc_begin = 0, proc_end = 0;
};

Problem check_register(std::uint32_t v, OperandKind kind) {
    if (v < kIntRegisters) return std::nullopt;  // int and float files have the same size
    return cat(kind == OperandKind::IntReg ? "integer register r" : "float register f", v,
               " does not exist (registers are 0..31)");
}

Problem check_index(std::uint32_t v, std::size_t count, const char* what, const char* plural) {
    if (v < count) return std::nullopt;
    return cat(what, " index ", v, " is out of range (", count, " ", plural, ")");
}

// A region of the module, or a handle operand `@r0`..`@r31` (isa/encoding.h).
Problem check_region_operand(std::uint32_t v, const Module& m) {
    if (is_handle_operand(v)) return std::nullopt;
    return check_index(v, m.regions.size(), "region", "regions");
}

Problem check_operand(const OperandSpec& s, Word w, const Scope& scope) {
    const Module& m = scope.m;
    const bool in_kernel = scope.kernel != nullptr;
    std::uint32_t v = word_field(w, s.field);
    switch (s.kind) {
    case OperandKind::IntReg:
    case OperandKind::FloatReg: return check_register(v, s.kind);
    case OperandKind::Imm: return std::nullopt;
    case OperandKind::Digits: {
        if (in_kernel) break;
        const std::int32_t n = word_imm(w);
        if (n >= 0 && n <= kMaxDigits) return std::nullopt;
        return cat("digit count ", n, " is not in 0..", kMaxDigits);
    }
    case OperandKind::F32Imm:
        if (in_kernel) return std::nullopt;
        break;
    case OperandKind::IntConst:
        if (in_kernel) break;
        return check_index(v, m.int_consts.size(), "integer constant", "in the pool");
    case OperandKind::FloatConst:
        if (in_kernel) break;
        return check_index(v, m.float_consts.size(), "float constant", "in the pool");
    case OperandKind::Label:
        if (in_kernel) break;
        if (v < scope.proc_begin || v >= scope.proc_end)
            return cat("jump target ", v, " is outside the procedure [", scope.proc_begin, ", ", scope.proc_end, ")");
        return std::nullopt;
    case OperandKind::Proc:
        if (in_kernel) break;
        return check_index(v, m.procs.size(), "procedure", "procedures");
    case OperandKind::String:
        if (in_kernel) break;
        return check_index(v, m.strings.size(), "string", "strings");
    case OperandKind::Region:
        if (in_kernel) break;
        return check_region_operand(v, m);
    case OperandKind::LaunchSite:
        if (in_kernel) break;
        if (auto p = check_register(word_a(w), OperandKind::IntReg)) return p;  // the count register
        return check_index(v, m.launches.size(), "launch site", "launch sites");
    case OperandKind::LoopSite:
        if (in_kernel) break;
        return check_index(v, m.loop_kernels.size(), "loop kernel", "loop kernels");
    case OperandKind::Channel:
        if (in_kernel) break;
        return check_index(v, m.channels.size(), "channel", "channels");
    case OperandKind::Barrier:
        if (in_kernel) break;
        return check_index(v, m.barriers.size(), "barrier", "barriers");
    case OperandKind::Mem:
        if (in_kernel) break;
        if (auto p = check_region_operand(v, m)) return p;
        return check_register(word_field(w, s.index_field), OperandKind::IntReg);
    case OperandKind::Param:
        if (!in_kernel) break;
        return check_index(v, scope.kernel->params.size(), "parameter", "parameters");
    case OperandKind::PMem:
        if (!in_kernel) break;
        if (auto p = check_index(v, scope.kernel->params.size(), "parameter", "parameters")) return p;
        return check_register(word_field(w, s.index_field), OperandKind::IntReg);
    }
    return cat("a ", operand_kind_name(s.kind), " operand cannot appear in ",
               in_kernel ? "a kernel" : "a procedure");
}

// Every operand in range, and every field no operand uses zero, so that each
// instruction has exactly one encoding.
Problem check_operands(const FormatInfo& format, Word w, const Scope& scope) {
    std::uint8_t used = field_bit(Field::None);
    for (std::size_t i = 0; i < format.count; ++i) {
        const OperandSpec& s = format.operands[i];
        if (auto p = check_operand(s, w, scope)) return p;
        used |= field_bit(s.field) | field_bit(s.index_field);
        if (s.kind == OperandKind::LaunchSite) used |= field_bit(Field::A);
    }
    for (Field f : {Field::A, Field::B, Field::C, Field::Imm})
        if (!(used & field_bit(f)) && word_field(w, f) != 0)
            return cat("unused field ", field_name(f), " is ", word_field(w, f), ", must be 0");
    return std::nullopt;
}

// --- region types of procedure instructions ------------------------------------

std::string region_text(const Module& m, std::uint32_t index) {
    const RegionDecl& g = m.regions[index];
    return cat("region '", g.name, "' (", elem_type_name(g.type), ")");
}

// A region operand as the type checks see it: a region of the module, or a
// handle operand whose region is known (isa/known_handles.h), which is named
// with its register. An unknown handle's type is checked when it runs.
struct TypedOperand {
    std::uint32_t region = 0;
    std::string text;
};

std::optional<TypedOperand> typed_operand(const Module& m, const KnownHandles& known, std::uint32_t v) {
    const std::optional<std::uint32_t> g = known.region(v);
    if (!g || *g >= m.regions.size()) return std::nullopt;
    if (!is_handle_operand(v)) return TypedOperand{*g, region_text(m, *g)};
    return TypedOperand{*g, cat(region_text(m, *g), ", the handle in r", handle_register(v), " (set by rgn),")};
}

// ld.T / st.T: the region of the `region[rB]` operand holds T.
Problem check_element_type(ElemType want, const FormatInfo& f, Word w, const Module& m, const KnownHandles& known) {
    for (std::size_t k = 0; k < f.count; ++k) {
        if (f.operands[k].kind != OperandKind::Mem) continue;
        const std::optional<TypedOperand> g = typed_operand(m, known, word_field(w, f.operands[k].field));
        if (g && m.regions[g->region].type != want)
            return cat(g->text, " does not hold ", elem_type_name(want), " elements");
    }
    return std::nullopt;
}

// args, readln: the whole-region operand is a u8 region (text); a handle's
// when its region is known here, else when it runs.
Problem check_text_regions(const FormatInfo& f, Word w, const Module& m, const KnownHandles& known) {
    for (std::size_t k = 0; k < f.count; ++k) {
        if (f.operands[k].kind != OperandKind::Region) continue;
        const std::optional<TypedOperand> g = typed_operand(m, known, word_field(w, f.operands[k].field));
        if (g && m.regions[g->region].type != ElemType::U8) return cat(g->text, " must be a u8 region");
    }
    return std::nullopt;
}

Problem check_vector_types(Op op, Word w, const Module& m, const KnownHandles& known) {
    std::array<std::optional<ElemType>, kVectorSlots> types;
    std::array<std::optional<TypedOperand>, kVectorSlots> operands;
    const std::uint8_t regions = vector_region_slots(op);
    for (std::size_t slot = 0; slot < kVectorSlots; ++slot) {
        if (!(regions & slot_bit(slot))) continue;
        operands[slot] = typed_operand(m, known, word_field(w, slot_field(slot)));
        if (operands[slot]) types[slot] = m.regions[operands[slot]->region].type;
    }
    const VectorTypeProblem p = find_vector_type_problem(vector_rule(op), types);
    switch (p.what) {
    case VectorTypeProblem::What::None: return std::nullopt;
    case VectorTypeProblem::What::NotInteger:
        return cat(operands[p.slot]->text, " must be an integer (u8, i32, u32, i64) region");
    case VectorTypeProblem::What::NotFloat: return cat(operands[p.slot]->text, " must be a float (f32, f64) region");
    case VectorTypeProblem::What::Differs:
        return cat(operands[p.slot]->text, " and ", operands[p.reference]->text, " must have the same element type");
    }
    return std::nullopt;
}

Problem check_region_types(Op op, Word w, const Module& m, const KnownHandles& known) {
    const OpInfo& info = op_info(op);
    if (info.elem) return check_element_type(*info.elem, format_info(info.format), w, m, known);
    if (info.text) return check_text_regions(format_info(info.format), w, m, known);
    if (as_vector_op(op)) return check_vector_types(op, w, m, known);
    return std::nullopt;
}

Problem check_proc_word(const Module& m, const Scope& scope, Word w, const KnownHandles& known) {
    if (!is_valid_op(word_op(w))) return cat("unknown opcode ", unsigned{word_op(w)});
    const Op op = static_cast<Op>(word_op(w));
    if (auto p = check_operands(format_info(op_info(op).format), w, scope)) return p;
    if (op == Op::Shli || op == Op::Shri || op == Op::Sari) {
        std::int32_t amount = word_imm(w);
        if (amount < 0 || amount > 63) return cat("shift amount ", amount, " is not in 0..63");
    }
    return check_region_types(op, w, m, known);
}

// --- tables ------------------------------------------------------------------

Problem check_name(std::string_view what, std::size_t index, const std::string& name,
                   std::unordered_set<std::string_view>& seen) {
    if (name.empty()) return cat(what, " ", index, " has an empty name");
    if (!seen.insert(name).second) return cat(what, " '", name, "': the name is used twice");
    return std::nullopt;
}

// RegionInit's members, as the module format and the assembler name them.
constexpr const char* kInitNames[] = {"zeros", "fill", "range", "list", "string"};

Problem check_regions(const Module& m) {
    if (m.regions.size() > kMaxRegions)
        return cat(m.regions.size(), " regions: a module has at most ", kMaxRegions);
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i < m.regions.size(); ++i) {
        const RegionDecl& g = m.regions[i];
        if (auto p = check_name("region", i, g.name, names)) return p;
        const std::string where = cat("region '", g.name, "': ");
        if (!is_valid_elem_type(static_cast<std::uint8_t>(g.type)))
            return where + cat("element type ", unsigned(g.type), " is not valid");
        if (g.length > kMaxRegionElements)
            return where + cat("length ", g.length, " is more than 2^40 elements");
        const bool has_data = g.init == RegionInit::List || g.init == RegionInit::String;
        switch (g.init) {
        case RegionInit::Zeros: case RegionInit::Fill: case RegionInit::Range: case RegionInit::List: break;
        case RegionInit::String:
            if (g.type != ElemType::U8) return where + "a string initializer needs a u8 region";
            break;
        default: return where + cat("initializer kind ", unsigned(g.init), " is not valid");
        }
        const std::uint64_t want = has_data ? g.length * elem_size(g.type) : 0;
        if (g.data.size() != want)
            return where + cat("initializer data is ", g.data.size(), " bytes, expected ", want);
        // A cluster starts a distributed region on its nodes, where every
        // element begins as 0: there are no initial values to send.
        if (g.distributed && g.init != RegionInit::Zeros)
            return where + cat("distributed, with a ", kInitNames[static_cast<std::size_t>(g.init)],
                               " initializer (a distributed region starts as zeros)");
    }
    return std::nullopt;
}

// Channels and barriers (`.channel NAME CAPACITY`, `.barrier NAME PARTIES`):
// at most 256 of each (an operand holds an 8-bit index), counts from 1 to
// the maximum, names non-empty and unique across both tables (the assembler
// keeps one set of names for the two, so the disassembly reads back).
template <class Decl>
Problem check_sync_table(const std::vector<Decl>& decls, std::uint32_t Decl::*count, const char* what,
                         const char* count_name, unsigned max_decls, std::uint32_t max_count,
                         std::unordered_set<std::string_view>& names) {
    if (decls.size() > max_decls) return cat(decls.size(), " ", what, "s: a module has at most ", max_decls);
    for (std::size_t i = 0; i < decls.size(); ++i) {
        const Decl& d = decls[i];
        if (auto p = check_name(what, i, d.name, names)) return p;
        const std::uint32_t n = d.*count;
        if (n < 1 || n > max_count)
            return cat(what, " '", d.name, "': ", count_name, " ", n, " is out of range (1..", max_count, ")");
    }
    return std::nullopt;
}

Problem check_channels_and_barriers(const Module& m) {
    std::unordered_set<std::string_view> names;
    if (auto p = check_sync_table(m.channels, &ChannelDecl::capacity, "channel", "capacity", kMaxChannels,
                                  kMaxChannelCapacity, names))
        return p;
    return check_sync_table(m.barriers, &BarrierDecl::parties, "barrier", "parties", kMaxBarriers, kMaxBarrierParties,
                            names);
}

// A window buffer (`x: f32[i-1..i+1]`) is read-only, its window is not
// empty and reaches at most kMaxWindowOffset either way; any other buffer
// has no window offsets.
Problem check_window(const KernelParam& p) {
    if (p.indexing != Indexing::Window) {
        if (p.window_lo != 0 || p.window_hi != 0)
            return cat("window offsets ", p.window_lo, "..", p.window_hi, " on a buffer that has no window");
        return std::nullopt;
    }
    if (p.access != Access::In)
        return std::string("a window buffer must be `in` (read-only: lanes would write each other's elements)");
    for (std::int64_t offset : {p.window_lo, p.window_hi})
        if (offset < -kMaxWindowOffset || offset > kMaxWindowOffset)
            return cat("window offset ", offset, " is outside -", kMaxWindowOffset, "..", kMaxWindowOffset);
    if (p.window_lo > p.window_hi)
        return cat("window ", indexing_text(p), " is empty (its start is after its end)");
    return std::nullopt;
}

Problem check_params(const Kernel& k) {
    if (k.params.size() > kMaxKernelParams)
        return cat(k.params.size(), " parameters: a kernel has at most ", kMaxKernelParams);
    std::unordered_set<std::string_view> names;
    for (std::size_t j = 0; j < k.params.size(); ++j) {
        const KernelParam& p = k.params[j];
        if (auto problem = check_name("parameter", j, p.name, names)) return problem;
        const std::string where = cat("parameter '", p.name, "': ");
        if (p.kind == ParamKind::Buffer) {
            if (!is_kernel_buffer_type(p.type, k.wide))
                return where + (k.wide ? "a buffer's type must be i32, u32, i64, f32 or f64"
                                       : "a buffer's type must be i32, u32 or f32 (i64, f64 only in a wide kernel)");
            if (p.access != Access::In && p.access != Access::Out && p.access != Access::InOut)
                return where + cat("access ", unsigned(p.access), " is not valid");
            if (p.indexing != Indexing::Element && p.indexing != Indexing::Broadcast && p.indexing != Indexing::Window)
                return where + cat("indexing ", unsigned(p.indexing), " is not valid");
            if (auto problem = check_window(p)) return where + *problem;
        } else if (p.kind == ParamKind::Uniform) {
            if (!is_kernel_uniform_type(p.type, k.wide))
                return where + (k.wide ? "a uniform's type must be i32, i64, f32 or f64"
                                       : "a uniform's type must be i32 or f32 (i64, f64 only in a wide kernel)");
            if (p.access != Access::In || p.indexing != Indexing::Element || p.window_lo != 0 || p.window_hi != 0)
                return where + "a uniform has no access mode or indexing (they must be `in` and element, with no window)";
        } else {
            return where + cat("kind ", unsigned(p.kind), " is not valid");
        }
    }
    return std::nullopt;
}

// A buffer element operand P[C][R[B]]: the parameter must be a buffer whose
// type fits the register and whose access allows what the opcode does.
Problem check_buffer_access(KOp op, const FormatInfo& format, std::size_t operand, Word w, const Kernel& k) {
    const KernelParam& p = k.params[word_field(w, format.operands[operand].field)];
    const std::string name = cat("parameter '", p.name, "'");
    if (p.kind != ParamKind::Buffer) return name + " is a uniform, not a buffer";
    if (!kop_takes_param_type(op, p.type, k.wide))
        return cat(name, " is ", elem_type_name(p.type), " but ", kop_info(op).mnemonic, " needs an ",
                   kop_param_types_text(op, k.wide), " buffer", k.wide ? " in a wide kernel" : "");
    const bool writes = writes_buffer(kop_effect(op));
    const bool reads = reads_buffer(kop_effect(op));  // an atomic add reads the old value too
    if (writes && p.access == Access::In) return name + " is an `in` buffer and cannot be written";
    if (reads && p.access == Access::Out) return name + " is an `out` buffer and cannot be read";
    return std::nullopt;
}

// A whole-parameter operand: `blen` (Length) takes a buffer, `ldp`/`ldpf`
// (Uniform) a uniform of the register's type.
Problem check_param_use(KOp op, const FormatInfo& format, std::size_t operand, Word w, const Kernel& k) {
    const KernelParam& p = k.params[word_field(w, format.operands[operand].field)];
    const std::string name = cat("parameter '", p.name, "'");
    if (kop_effect(op) == KEffect::Length) {
        if (p.kind != ParamKind::Buffer) return name + " is a uniform, not a buffer";
        return std::nullopt;
    }
    if (p.kind != ParamKind::Uniform || !kop_takes_param_type(op, p.type, k.wide))
        return cat(name, " is not an ", kop_param_types_text(op, k.wide), " uniform");
    return std::nullopt;
}

Problem check_kernel_word(const Kernel& k, const Scope& scope, Word w) {
    if (!is_valid_kop(word_op(w))) return cat("unknown kernel opcode ", unsigned{word_op(w)});
    const KOp op = static_cast<KOp>(word_op(w));
    const FormatInfo& format = format_info(kop_info(op).format);
    if (auto p = check_operands(format, w, scope)) return p;
    if (k.wide && !available_in_wide_kernels(op))
        return cat("not available in a wide kernel (", kop_info(op).wide.note, ")");
    if (is_kernel_shift_immediate(op)) {
        const std::int32_t amount = word_imm(w), most = kernel_shift_max(k.wide);
        if (amount < 0 || amount > most) return cat("shift amount ", amount, " is not in 0..", most);
    }
    for (std::size_t i = 0; i < format.count; ++i) {
        if (format.operands[i].kind == OperandKind::PMem) return check_buffer_access(op, format, i, w, k);
        if (format.operands[i].kind == OperandKind::Param) return check_param_use(op, format, i, w, k);
    }
    return std::nullopt;
}

// Structured control flow: if [else] end, loop end; break/continue in a loop.
class BlockTracker {
public:
    Problem step(KOp op, std::size_t pc) {
        switch (kop_effect(op)) {
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
        case KEffect::Atomic: case KEffect::Exit:
            break;
        case KEffect::If: open_.push_back({Block::If, pc}); break;
        case KEffect::Loop: open_.push_back({Block::Loop, pc}); ++loops_; break;
        case KEffect::Else:
            if (open_.empty() || open_.back().kind != Block::If) return "`else` without an open `if`";
            open_.back().kind = Block::Else;
            break;
        case KEffect::End:
            if (open_.empty()) return "`end` without an open `if` or `loop`";
            if (open_.back().kind == Block::Loop) --loops_;
            open_.pop_back();
            break;
        case KEffect::Break:
        case KEffect::Continue:
            if (loops_ == 0) return cat("`", kop_info(op).mnemonic, "` outside a loop");
            break;
        }
        return std::nullopt;
    }
    Problem finish() const {
        if (open_.empty()) return std::nullopt;
        return cat(open_.size(), " block(s) not closed by `end` (the innermost opened at word ", open_.back().pc,
                   ")");
    }

private:
    enum class Block { If, Else, Loop };
    struct Open {
        Block kind;
        std::size_t pc;
    };
    std::vector<Open> open_;
    std::size_t loops_ = 0;
};

Problem check_kernel(const Module& m, const Kernel& k) {
    if (auto p = check_params(k)) return p;
    if (!k.lines.empty() && k.lines.size() != k.code.size())
        return cat("the line table has ", k.lines.size(), " entries for ", k.code.size(), " words");
    Scope scope{m, &k};
    BlockTracker blocks;
    for (std::size_t pc = 0; pc < k.code.size(); ++pc) {
        const Word w = k.code[pc];
        Problem p = check_kernel_word(k, scope, w);
        if (!p) p = blocks.step(static_cast<KOp>(word_op(w)), pc);
        if (p) {
            std::string_view mnemonic =
                is_valid_kop(word_op(w)) ? kop_info(static_cast<KOp>(word_op(w))).mnemonic : std::string_view("?");
            return cat("word ", pc, " (", mnemonic, "): ", *p);
        }
    }
    return blocks.finish();
}

Problem check_kernels(const Module& m) {
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i < m.kernels.size(); ++i) {
        const Kernel& k = m.kernels[i];
        if (auto p = check_name("kernel", i, k.name, names)) return p;
        if (auto p = check_kernel(m, k)) return cat("kernel '", k.name, "' ", *p);
    }
    return std::nullopt;
}

Problem check_launch_arg(const Module& m, const KernelParam& p, const LaunchArg& a) {
    using Kind = LaunchArg::Kind;
    if (p.kind == ParamKind::Buffer) {
        if (a.kind != Kind::Region) return cat("buffer '", p.name, "' needs a region");
        if (auto problem = check_region_operand(a.index, m)) return problem;
        if (is_handle_operand(a.index)) return std::nullopt;  // its type is checked when it runs
        if (m.regions[a.index].type != p.type)
            return cat(region_text(m, a.index), " does not match buffer '", p.name, "' (",
                       elem_type_name(p.type), ")");
        return std::nullopt;
    }
    const Kind want = is_float(p.type) ? Kind::FloatReg : Kind::IntReg;
    if (a.kind != want)
        return cat(elem_type_name(p.type), " uniform '", p.name, "' needs ",
                   want == Kind::IntReg ? "an integer" : "a float", " register");
    return check_register(a.index, want == Kind::IntReg ? OperandKind::IntReg : OperandKind::FloatReg);
}

Problem check_launches(const Module& m) {
    for (std::size_t i = 0; i < m.launches.size(); ++i) {
        const LaunchSite& s = m.launches[i];
        if (s.kernel >= m.kernels.size())
            return cat("launch site ", i, ": kernel index ", s.kernel, " is out of range (", m.kernels.size(),
                       " kernels)");
        const Kernel& k = m.kernels[s.kernel];
        const std::string where = cat("launch site ", i, " (kernel '", k.name, "'): ");
        if (s.args.size() != k.params.size())
            return where + cat(s.args.size(), " arguments for ", k.params.size(), " parameters");
        for (std::size_t j = 0; j < s.args.size(); ++j)
            if (auto p = check_launch_arg(m, k.params[j], s.args[j])) return where + cat("argument ", j, ": ", *p);
    }
    return std::nullopt;
}

// --- loop kernels (docs/loop-kernels.md) ----------------------------------------

// Argument `a` of a loop kernel against its kernel parameter `p`.
Problem check_loop_arg(const Module& m, const LoopKernel& l, const KernelParam& p, const LoopArg& a) {
    using Kind = LoopArg::Kind;
    auto uniform = [&](ElemType want) -> Problem {
        if (p.kind != ParamKind::Uniform || p.type != want)
            return cat("parameter '", p.name, "' must be an ", elem_type_name(want), " uniform");
        return std::nullopt;
    };
    switch (a.kind) {
    case Kind::Region:
        if (p.kind != ParamKind::Buffer) return cat("parameter '", p.name, "' is a uniform, not a buffer");
        if (auto problem = check_region_operand(a.index, m)) return problem;
        if (is_handle_operand(a.index)) return std::nullopt;  // its type is checked when it runs
        if (m.regions[a.index].type != p.type)
            return cat(region_text(m, a.index), " does not match buffer '", p.name, "' (", elem_type_name(p.type), ")");
        return std::nullopt;
    case Kind::IntReg:
        if (auto problem = uniform(ElemType::I64)) return problem;
        return check_register(a.index, OperandKind::IntReg);
    case Kind::FloatReg:
        if (auto problem = uniform(ElemType::F64)) return problem;
        return check_register(a.index, OperandKind::FloatReg);
    case Kind::IntConst:
        if (auto problem = uniform(ElemType::I64)) return problem;
        return check_index(a.index, m.int_consts.size(), "integer constant", "in the pool");
    case Kind::FloatConst:
        if (auto problem = uniform(ElemType::F64)) return problem;
        return check_index(a.index, m.float_consts.size(), "float constant", "in the pool");
    case Kind::Iterations: return uniform(ElemType::I64);
    case Kind::Partials: {
        if (auto problem = check_index(a.index, l.reductions.size(), "reduction", "reductions")) return problem;
        const ElemType want = l.reductions[a.index].is_float ? ElemType::F64 : ElemType::I64;
        if (p.kind != ParamKind::Buffer || p.access != Access::Out || p.type != want)
            return cat("parameter '", p.name, "' must be an `out` ", elem_type_name(want), " buffer (reduction ",
                       a.index, "'s partials)");
        return std::nullopt;
    }
    }
    return cat("argument kind ", unsigned(a.kind), " is not valid");
}

bool is_float_reduction(ReduceOp op) { return op == ReduceOp::Fadd || op == ReduceOp::FaddAnyOrder || op == ReduceOp::Fmin || op == ReduceOp::Fmax; }

// One entry, `kloop` its word's pc (the only one naming it).
Problem check_loop_kernel(const Module& m, const LoopKernel& l, std::uint32_t kloop) {
    if (l.kernel >= m.kernels.size())
        return cat("kernel index ", l.kernel, " is out of range (", m.kernels.size(), " kernels)");
    const Kernel& k = m.kernels[l.kernel];
    if (!k.wide) return cat("kernel '", k.name, "' is not wide (a loop's kernel needs .wide)");
    if (l.header != std::uint64_t{kloop} + 1)
        return cat("header ", l.header, " is not the word after its kloop (word ", kloop, ")");
    for (const Procedure& p : m.procs) {
        if (kloop < p.start || kloop >= p.start + p.length) continue;
        if (l.end <= l.header || l.end > p.start + p.length)
            return cat("the loop's words [", l.header, ", ", l.end, ") are not inside proc '", p.name, "' [", p.start,
                       ", ", p.start + p.length, ")");
    }
    for (std::uint8_t r : {l.induction, l.bound})
        if (auto p = check_register(r, OperandKind::IntReg)) return p;
    if (l.step == 0) return std::string("the step is 0");
    if (l.chunk == 0) return std::string("the chunk is 0 (a lane runs at least one iteration)");
    if (l.args.size() != k.params.size())
        return cat(l.args.size(), " arguments for the ", k.params.size(), " parameters of kernel '", k.name, "'");
    for (std::size_t j = 0; j < l.args.size(); ++j)
        if (auto p = check_loop_arg(m, l, k.params[j], l.args[j])) return cat("argument ", j, ": ", *p);
    for (std::size_t j = 0; j < l.reductions.size(); ++j) {
        const LoopReduction& r = l.reductions[j];
        if (auto p = check_register(r.reg, r.is_float ? OperandKind::FloatReg : OperandKind::IntReg))
            return cat("reduction ", j, ": ", *p);
        if (r.op == ReduceOp::LastMask && r.is_float) return cat("reduction ", j, ": a last-value mask is an integer");
        if (r.op != ReduceOp::Last && r.op != ReduceOp::LastMask && is_float_reduction(r.op) != r.is_float)
            return cat("reduction ", j, ": a ", r.is_float ? "float" : "integer", " register needs ",
                       r.is_float ? "fadd, fmin or fmax" : "add, min or max");
        const auto partials = std::count_if(l.args.begin(), l.args.end(), [&](const LoopArg& a) {
            return a.kind == LoopArg::Kind::Partials && a.index == j;
        });
        if (partials != 1) return cat("reduction ", j, " has ", partials, " partials arguments, not 1");
    }
    const auto lasts = std::count_if(l.reductions.begin(), l.reductions.end(),
                                     [](const LoopReduction& r) { return r.op == ReduceOp::Last; });
    const auto masks = std::count_if(l.reductions.begin(), l.reductions.end(),
                                     [](const LoopReduction& r) { return r.op == ReduceOp::LastMask; });
    if (lasts > kMaxLastValues) return cat(lasts, " last-value registers, more than ", kMaxLastValues);
    if (masks != (lasts > 0 ? 1 : 0))
        return cat(masks, " last-value masks for ", lasts, " last-value registers (one mask when there are any)");
    for (std::size_t j = 0; j < l.accesses.size(); ++j) {
        const LoopAccess& a = l.accesses[j];
        Problem p = check_region_operand(a.region, m);
        if (!p && a.has_offset_reg) p = check_register(a.offset_reg, OperandKind::IntReg);
        if (p) return cat("access ", j, ": ", *p);
    }
    for (std::uint8_t r : l.divisors)
        if (auto p = check_register(r, OperandKind::IntReg)) return cat("divisor: ", *p);
    return std::nullopt;
}

// Every entry is named by exactly one kloop word, just before its loop.
Problem check_loop_kernels(const Module& m) {
    constexpr std::uint64_t kNoWord = ~std::uint64_t{0};
    std::vector<std::uint64_t> word(m.loop_kernels.size(), kNoWord);
    for (std::uint32_t pc = 0; pc < m.code.size(); ++pc) {
        if (!is_loop_word(m.code[pc])) continue;
        const std::uint32_t entry = word_field(m.code[pc], Field::Imm);  // in range: check_procs
        if (word[entry] != kNoWord)
            return cat("loop kernel ", entry, ": named by two kloop words (", word[entry], " and ", pc, ")");
        word[entry] = pc;
    }
    for (std::size_t i = 0; i < m.loop_kernels.size(); ++i) {
        const LoopKernel& l = m.loop_kernels[i];
        const std::string where =
            cat("loop kernel ", i, l.kernel < m.kernels.size() ? " (kernel '" + m.kernels[l.kernel].name + "')" : "", ": ");
        if (word[i] == kNoWord) return where + "no kloop word names it";
        if (auto p = check_loop_kernel(m, l, static_cast<std::uint32_t>(word[i]))) return where + *p;
    }
    return std::nullopt;
}

// Procedures tile the code in order, and none runs off its end; a
// `.requires node` name is at most kMaxNodeNameBytes.
Problem check_proc_layout(const Module& m) {
    if (m.code.size() > kMaxCodeWords) return cat("the code has ", m.code.size(), " words, more than 2^31 - 1");
    std::unordered_set<std::string_view> names;
    std::uint64_t next = 0;
    for (std::size_t i = 0; i < m.procs.size(); ++i) {
        const Procedure& p = m.procs[i];
        if (auto problem = check_name("proc", i, p.name, names)) return problem;
        const std::string where = cat("proc '", p.name, "': ");
        if (p.length == 0) return where + "has no words";
        if (p.requirements.node.size() > kMaxNodeNameBytes)
            return where + cat(".requires node: the name has ", p.requirements.node.size(), " bytes, more than ",
                               kMaxNodeNameBytes);
        if (p.start != next)
            return where + cat("starts at word ", p.start, ", expected ", next,
                               " (procedures cover the code in order, without gaps)");
        next += p.length;
        if (next > m.code.size())
            return where + cat("words [", p.start, ", ", next, ") run past the end of the code (", m.code.size(),
                               " words)");
    }
    if (next != m.code.size())
        return cat("code words [", next, ", ", m.code.size(), ") belong to no procedure");
    if (!m.lines.empty() && m.lines.size() != m.code.size())
        return cat("the line table has ", m.lines.size(), " entries for ", m.code.size(), " code words");
    for (const Label& l : m.labels) {
        if (l.name.empty()) return cat("a label at word ", l.pc, " has an empty name");
        if (l.pc >= m.code.size())
            return cat("label '", l.name, "': word ", l.pc, " is past the end of the code (", m.code.size(),
                       " words)");
    }
    return std::nullopt;
}

bool ends_procedure(Word w) {
    const std::uint8_t op = word_op(w);
    return op == static_cast<std::uint8_t>(Op::Jmp) || op == static_cast<std::uint8_t>(Op::Ret) ||
           op == static_cast<std::uint8_t>(Op::Halt);
}

// The words of [begin, end) that a jump lands on: basic blocks start there.
std::vector<bool> jump_targets(const Module& m, std::uint32_t begin, std::uint32_t end) {
    std::vector<bool> target(end - begin, false);
    for (std::uint32_t pc = begin; pc < end; ++pc) {
        if (!is_valid_op(word_op(m.code[pc]))) continue;
        const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(m.code[pc]))).format);
        for (std::size_t k = 0; k < f.count; ++k) {
            if (f.operands[k].kind != OperandKind::Label) continue;
            const std::uint32_t t = word_field(m.code[pc], f.operands[k].field);
            if (t >= begin && t < end) target[t - begin] = true;
        }
    }
    return target;
}

}  // namespace

std::optional<WordProblem> check_proc_words(const Module& m) {
    for (const Procedure& proc : m.procs) {
        const Scope scope{m, nullptr, proc.start, proc.start + proc.length};
        const std::vector<bool> targets = jump_targets(m, scope.proc_begin, scope.proc_end);
        KnownHandles known;
        for (std::uint32_t pc = scope.proc_begin; pc < scope.proc_end; ++pc) {
            const Word w = m.code[pc];
            if (targets[pc - scope.proc_begin]) known.forget();
            Problem p = check_proc_word(m, scope, w, known);
            if (!p) known.after(m, w);
            if (!p && pc + 1 == scope.proc_end && !ends_procedure(w))
                p = "the last word of a procedure must be jmp, ret or halt (execution would run off its end)";
            if (p) return WordProblem{pc, std::move(*p)};
        }
    }
    return std::nullopt;
}

namespace {

Problem check_procs(const Module& m) {
    const std::optional<WordProblem> p = check_proc_words(m);
    if (!p) return std::nullopt;
    const Word w = m.code[p->pc];
    std::string_view mnemonic =
        is_valid_op(word_op(w)) ? op_info(static_cast<Op>(word_op(w))).mnemonic : std::string_view("?");
    const Procedure* proc = nullptr;
    for (const Procedure& q : m.procs)
        if (p->pc >= q.start && p->pc < q.start + q.length) proc = &q;
    return cat("proc '", proc != nullptr ? proc->name : std::string("?"), "' word ", p->pc, " (", mnemonic, "): ",
               p->message);
}

}  // namespace

Result<Verified> verify_module(const Module& m) {
    // Tables first: the word checks below look regions, kernels and launch sites up.
    // Frames last: they are checked against dependencies recomputed from the words.
    for (auto check : {check_regions, check_channels_and_barriers, check_kernels, check_launches, check_proc_layout,
                       check_procs, check_loop_kernels, check_frames})
        if (Problem p = check(m)) return Error{std::move(*p)};
    return Verified{};
}

}  // namespace polymer
