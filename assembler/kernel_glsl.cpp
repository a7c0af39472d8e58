// Kernel IR -> GLSL. One template per kernel op, generated from
// isa/kernel_ops.def: an op without a template (kGlsl_<Name>) does not compile.
//
// Template placeholders: $A $B $C name the registers in those fields (r or f by
// the op's format), $I is the immediate as an int literal, $F the immediate as
// an f32 literal, $X the register the immediate names, $P the buffer or
// uniform parameter number (field C for P[C][R[B]], field B for whole-parameter
// operands), $T the conversion a u32 buffer needs ("int" or "uint"), $D what a
// buffer holds (int/uint/float), $K the access's check (or nothing), $Y what
// a `break` sets first (the innermost loop's done flag: see main_body).
#include "assembler/kernel_glsl.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "isa/kernel_access.h"
#include "isa/kernel_status.h"
#include "isa/opcodes.h"
#include "shaders/fma_exact_glsl.h"

namespace polymer {

namespace {

// One GLSL statement per kernel op. Indentation follows the op's Effect
// column (opens_block, closes_block in isa/opcodes.h).
using Lowering = std::string_view;

// Loads, stores and atomics start with $K: nothing where isa/kernel_access.h
// proved the index is the lane's own element, else a check that records the
// fault in the status buffer and ends the lane, so an element outside the
// contract is never touched.
constexpr Lowering kGlsl_Nop = "// nop";
constexpr Lowering kGlsl_Gid = "$A = gid;";
constexpr Lowering kGlsl_Count = "$A = int(pc.count);";
constexpr Lowering kGlsl_Li = "$A = $I;";
constexpr Lowering kGlsl_Lif = "$A = $F;";
constexpr Lowering kGlsl_Mov = "$A = $B;";
constexpr Lowering kGlsl_Fmov = "$A = $B;";
constexpr Lowering kGlsl_Add = "$A = $B + $C;";
constexpr Lowering kGlsl_Sub = "$A = $B - $C;";
constexpr Lowering kGlsl_Mul = "$A = $B * $C;";
constexpr Lowering kGlsl_Div = "$A = div_checked($B, $C);";
constexpr Lowering kGlsl_Rem = "$A = rem_checked($B, $C);";
constexpr Lowering kGlsl_Divu = "$A = divu_checked($B, $C);";
constexpr Lowering kGlsl_Remu = "$A = remu_checked($B, $C);";
constexpr Lowering kGlsl_And = "$A = $B & $C;";
constexpr Lowering kGlsl_Or = "$A = $B | $C;";
constexpr Lowering kGlsl_Xor = "$A = $B ^ $C;";
constexpr Lowering kGlsl_Shl = "$A = $B << ($C & 31);";
constexpr Lowering kGlsl_Shr = "$A = int(uint($B) >> uint($C & 31));";
constexpr Lowering kGlsl_Sar = "$A = $B >> ($C & 31);";
constexpr Lowering kGlsl_Min = "$A = min($B, $C);";
constexpr Lowering kGlsl_Max = "$A = max($B, $C);";
constexpr Lowering kGlsl_Neg = "$A = -$B;";  // SPIR-V OpSNegate wraps: -INT32_MIN = INT32_MIN
constexpr Lowering kGlsl_Not = "$A = ~$B;";
constexpr Lowering kGlsl_Addi = "$A = $B + $I;";
constexpr Lowering kGlsl_Muli = "$A = $B * $I;";
constexpr Lowering kGlsl_Andi = "$A = $B & $I;";
constexpr Lowering kGlsl_Ori = "$A = $B | $I;";
constexpr Lowering kGlsl_Xori = "$A = $B ^ $I;";
// The verifier keeps a shift immediate in 0..31 (GLSL leaves larger ones undefined).
constexpr Lowering kGlsl_Shli = "$A = $B << $I;";
constexpr Lowering kGlsl_Shri = "$A = int(uint($B) >> $I);";
constexpr Lowering kGlsl_Sari = "$A = $B >> $I;";
constexpr Lowering kGlsl_Eq = "$A = int($B == $C);";
constexpr Lowering kGlsl_Ne = "$A = int($B != $C);";
constexpr Lowering kGlsl_Lt = "$A = int($B < $C);";
constexpr Lowering kGlsl_Le = "$A = int($B <= $C);";
constexpr Lowering kGlsl_Ltu = "$A = int(uint($B) < uint($C));";
constexpr Lowering kGlsl_Leu = "$A = int(uint($B) <= uint($C));";
constexpr Lowering kGlsl_Fadd = "$A = $B + $C;";
constexpr Lowering kGlsl_Fsub = "$A = $B - $C;";
constexpr Lowering kGlsl_Fmul = "$A = $B * $C;";
constexpr Lowering kGlsl_Fdiv = "$A = $B / $C;";
// fmin/fmax as selects, as the CPU computes them: GLSL min() and max() leave
// the result undefined for a NaN operand.
constexpr Lowering kGlsl_Fmin = "$A = $C < $B ? $C : $B;";
constexpr Lowering kGlsl_Fmax = "$A = $B < $C ? $C : $B;";
constexpr Lowering kGlsl_Fpow = "$A = pow($B, $C);";
// Rounded once, as on the CPU: GLSL fma() may round twice (shaders/fma_exact.glsl).
constexpr Lowering kGlsl_Ffma = "$A = fma_exact($B, $C, $X);";
constexpr Lowering kGlsl_Fneg = "$A = -$B;";
constexpr Lowering kGlsl_Fabs = "$A = abs($B);";
constexpr Lowering kGlsl_Fsqrt = "$A = sqrt($B);";
constexpr Lowering kGlsl_Ffloor = "$A = floor($B);";
constexpr Lowering kGlsl_Fsin = "$A = sin($B);";
constexpr Lowering kGlsl_Fcos = "$A = cos($B);";
constexpr Lowering kGlsl_Fexp = "$A = exp($B);";
constexpr Lowering kGlsl_Flog = "$A = log($B);";
constexpr Lowering kGlsl_Feq = "$A = int($B == $C);";
constexpr Lowering kGlsl_Flt = "$A = int($B < $C);";
constexpr Lowering kGlsl_Fle = "$A = int($B <= $C);";
constexpr Lowering kGlsl_Itof = "$A = float($B);";
constexpr Lowering kGlsl_Ftoi = "$A = ftoi_saturating($B);";
constexpr Lowering kGlsl_Ld = "$K$A = int(b$P.data[$B]);";
constexpr Lowering kGlsl_Ldf = "$K$A = b$P.data[$B];";
constexpr Lowering kGlsl_St = "$Kb$P.data[$B] = $T($A);";
constexpr Lowering kGlsl_Stf = "$Kb$P.data[$B] = $A;";
constexpr Lowering kGlsl_AtAdd = "$KatomicAdd(b$P.data[$B], $T($A));";
constexpr Lowering kGlsl_Ldp = "$A = int(pc.slot[$P]);";
constexpr Lowering kGlsl_Ldpf = "$A = uintBitsToFloat(pc.slot[$P]);";
constexpr Lowering kGlsl_Blen = "$A = int(pc.slot[$P]);";
constexpr Lowering kGlsl_If = "if ($A != 0) {";
constexpr Lowering kGlsl_Else = "} else {";
constexpr Lowering kGlsl_Loop = "while (true) {";
constexpr Lowering kGlsl_Break = "$Ybreak;";
constexpr Lowering kGlsl_Continue = "continue;";
constexpr Lowering kGlsl_End = "}";
constexpr Lowering kGlsl_Exit = "return;";

// Indexed by kernel opcode number.
constexpr std::array<Lowering, 256> kLowerings = [] {
    std::array<Lowering, 256> by_number{};
#define KOP(name, ...) by_number[static_cast<std::size_t>(KOp::name)] = kGlsl_##name;
#include "isa/kernel_ops.def"
#undef KOP
    return by_number;
}();

constexpr std::string_view kDivHelper =
    "// Integer division as the ISA defines it: by 0 gives 0, INT32_MIN / -1 wraps.\n"
    "int div_checked(int a, int b) {\n"
    "    if (b == 0) return 0;\n"
    "    if (b == -1) return -a;\n"
    "    return a / b;\n"
    "}\n\n";
constexpr std::string_view kRemHelper =
    "// Remainder with the sign of a; by 0 or -1 gives 0.\n"
    "int rem_checked(int a, int b) {\n"
    "    if (b == 0 || b == -1) return 0;\n"
    "    return a - (a / b) * b;\n"
    "}\n\n";
constexpr std::string_view kDivuHelper =
    "// Unsigned division as the ISA defines it: by 0 gives 0.\n"
    "int divu_checked(int a, int b) {\n"
    "    if (b == 0) return 0;\n"
    "    return int(uint(a) / uint(b));\n"
    "}\n\n";
constexpr std::string_view kRemuHelper =
    "// Unsigned remainder; by 0 gives 0.\n"
    "int remu_checked(int a, int b) {\n"
    "    if (b == 0) return 0;\n"
    "    return int(uint(a) % uint(b));\n"
    "}\n\n";
constexpr std::string_view kFtoiHelper =
    "// float -> int truncating toward zero, saturating; NaN gives 0.\n"
    "int ftoi_saturating(float x) {\n"
    "    if (isnan(x)) return 0;\n"
    "    if (x >= 2147483648.0) return 2147483647;\n"
    "    if (x <= -2147483648.0) return int(0x80000000u);\n"
    "    return int(x);\n"
    "}\n\n";

// The functions a template calls, emitted once for a kernel that uses the op.
struct Helper {
    KOp op;
    std::string_view text;
};
constexpr Helper kHelpers[] = {{KOp::Div, kDivHelper},   {KOp::Rem, kRemHelper},    {KOp::Divu, kDivuHelper},
                               {KOp::Remu, kRemuHelper}, {KOp::Ftoi, kFtoiHelper}};

std::string int_literal(std::int32_t v) {
    if (v == INT32_MIN) return "int(0x80000000u)";
    return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
}

// The shortest decimal that reads back as the same binary32, or the bits
// themselves for values a literal cannot spell (inf, NaN, subnormals).
std::string float_literal(std::uint32_t bits) {
    float f = std::bit_cast<float>(bits);
    char hex[16];
    auto hex_end = std::to_chars(hex, hex + sizeof hex, bits, 16).ptr;
    std::string as_bits = "uintBitsToFloat(0x" + std::string(hex, hex_end) + "u)";
    if (!std::isfinite(f) || (f != 0 && std::fpclassify(f) == FP_SUBNORMAL)) return as_bits;
    char buf[64];
    auto end = std::to_chars(buf, buf + sizeof buf, f).ptr;
    std::string text(buf, end);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    float back = static_cast<float>(std::strtod(text.c_str(), nullptr));
    if (std::bit_cast<std::uint32_t>(back) != bits) return as_bits;
    return text[0] == '-' ? "(" + text + ")" : text;
}

std::string_view data_type(ElemType t) {
    return t == ElemType::F32 ? "float" : t == ElemType::U32 ? "uint" : "int";
}

std::string_view access_name(Access a) { return a == Access::In ? "in" : a == Access::Out ? "out" : "inout"; }

struct Operands {
    std::string reg[3];  // A, B, C as written in GLSL
    std::uint32_t param = 0;
};

class Generator {
public:
    explicit Generator(const Kernel& k) : k_(k), checks_(kernel_access_checks(k)) {}

    std::string run() {
        scan();
        std::string body = main_body();
        std::string out = "#version 450\n// kernel " + k_.name + ", generated by polymer-as from the kernel IR\n"
                          "layout(local_size_x = 64) in;\n\n";
        out += push_constants();
        out += buffers();
        out += status_buffer();
        if (faults_) out += fault_helper();
        for (const auto& [op, helper] : kHelpers)
            if (uses_[static_cast<std::size_t>(op)]) out += helper;
        if (uses_[static_cast<std::size_t>(KOp::Ffma)]) out += std::string(shaders::kFmaExactGlsl) + "\n";
        out += body;
        return out;
    }

private:
    void scan() {
        for (std::size_t pc = 0; pc < k_.code.size(); ++pc) {
            const Word w = k_.code[pc];
            std::uint8_t op = word_op(w);
            if (!is_valid_kop(op)) continue;
            uses_[op] = true;
            faults_ = faults_ || checks_[pc] || static_cast<KOp>(op) == KOp::Loop;
            const FormatInfo& f = format_info(kop_info(static_cast<KOp>(op)).format);
            for (std::size_t i = 0; i < f.count; ++i) {
                const OperandSpec& o = f.operands[i];
                if (o.kind == OperandKind::IntReg) int_used_[word_field(w, o.field) % 32] = true;
                if (o.kind == OperandKind::FloatReg) float_used_[word_field(w, o.field) % 32] = true;
                if (o.kind == OperandKind::PMem) int_used_[word_field(w, o.index_field) % 32] = true;
            }
        }
    }

    std::string push_constants() const {
        std::string out =
            "// Launch data (push constants, 4-byte slots).\n"
            "layout(push_constant, std430) uniform Launch {\n"
            "    uint base;   // gid of this dispatch's first lane\n"
            "    uint end;    // lanes with gid >= end do nothing\n"
            "    uint count;  // the launch's element count\n"
            "    uint budget; // loop iterations a lane may start (--kernel-steps)\n";
        if (!k_.params.empty()) {
            out += "    // slot[p]: buffer p's length in elements, or uniform p's 32 bits\n";
            out += "    uint slot[" + std::to_string(k_.params.size()) + "];\n";
            for (std::size_t p = 0; p < k_.params.size(); ++p) {
                const KernelParam& q = k_.params[p];
                out += "    //   slot[" + std::to_string(p) + "] = " +
                       (q.kind == ParamKind::Buffer ? "length of " : "uniform ") + q.name + " (" +
                       std::string(elem_type_name(q.type)) + ")\n";
            }
        }
        return out + "} pc;\n\n";
    }

    std::string buffers() const {
        std::string out;
        for (std::size_t p = 0; p < k_.params.size(); ++p) {
            const KernelParam& q = k_.params[p];
            if (q.kind != ParamKind::Buffer) continue;
            std::string n = std::to_string(p);
            std::string_view qualifier =
                q.access == Access::In ? "readonly " : q.access == Access::Out ? "writeonly " : "";
            out += "// parameter " + n + ": " + std::string(access_name(q.access)) + " " + q.name + ": " +
                   std::string(elem_type_name(q.type)) + (q.indexing == Indexing::Element ? "[i]" : "[]") + "\n";
            out += "layout(std430, set = 0, binding = " + n + ") " + std::string(qualifier) + "buffer B" + n +
                   " { " + std::string(data_type(q.type)) + " data[]; } b" + n + ";\n";
        }
        return out.empty() ? out : out + "\n";
    }

    std::string status_buffer() const {
        const auto n = std::to_string(k_.params.size());
        return "// The launch's status (isa/kernel_status.h): the lowest lane that faulted, the\n"
               "// host's request to stop, and the fault records.\n"
               "layout(std430, set = 0, binding = " + n + ") coherent volatile buffer Status {\n"
               "    uint first_lane;\n    uint stop;\n    uint claimed;\n    uint unused;\n"
               "    uint record[];\n} status;\n\n";
    }

    static std::string fault_helper() {
        std::string out = "uint lane;\n\n"
                          "// This lane faults: a lane that lowers first_lane claims a record of its own.\n"
                          "void fault(uint kind, uint at, uint param, int index, uint length) {\n"
                          "    if (atomicMin(status.first_lane, lane) <= lane) return;\n"
                          "    uint slot = atomicAdd(status.claimed, 1u);\n";
        out += "    if (slot >= " + std::to_string(kFaultRecords) + "u) return;\n";
        out += "    uint r = slot * " + std::to_string(kFaultRecordWords) + "u;\n";
        const char* fields[] = {"lane", "kind", "at", "param", "uint(index)", "length"};
        for (std::size_t i = 0; i < std::size(fields); ++i)
            out += "    status.record[r + " + std::to_string(i) + "u] = " + fields[i] + ";\n";
        return out + "}\n\n";
    }

    // The counter at the top of every loop body: past the budget the lane
    // leaves the loop, and faults after it (the fault's atomics inside the
    // loop made lavapipe pay for them on every iteration: Mandelbrot 10x
    // slower); every kStopPollIterations it returns if the host asked to
    // stop or a lower lane has faulted (it can no longer change the report).
    static std::string loop_guard(int depth) {
        const std::string pad(4 * static_cast<std::size_t>(depth), ' ');
        return pad + "if (++steps > pc.budget) break;\n" + pad + "if ((steps & " +
               std::to_string(kStopPollIterations - 1) +
               "u) == 0u && (status.stop != 0u || status.first_lane < lane)) return;\n";
    }

    std::string main_body() {
        const bool loops = uses_[static_cast<std::size_t>(KOp::Loop)];
        std::string out = faults_ ? "void main() {\n    lane = pc.base + gl_GlobalInvocationID.x;\n"
                                  : "void main() {\n    uint lane = pc.base + gl_GlobalInvocationID.x;\n";
        out += "    if (lane >= pc.end) return;\n";
        if (loops)
            out += "    // Nothing to do once the host asked to stop or a lower lane faulted.\n"
                   "    if (status.stop != 0u || status.first_lane < lane) return;\n"
                   "    uint steps = 0u;  // loop iterations started\n";
        if (uses_[static_cast<std::size_t>(KOp::Gid)]) out += "    int gid = int(lane);\n";
        std::string ints, floats;
        for (unsigned i = 0; i < 32; ++i) {
            if (int_used_[i]) ints += (ints.empty() ? "" : ", ") + ("r" + std::to_string(i)) + " = 0";
            if (float_used_[i]) floats += (floats.empty() ? "" : ", ") + ("f" + std::to_string(i)) + " = 0.0";
        }
        if (!ints.empty()) out += "    int " + ints + ";\n";
        // precise: no contraction or re-association of what the program wrote
        // (a device may otherwise fold x*y + z into an fma, or reorder a sum),
        // so float results are the CPU backend's bit for bit; only ffma fuses.
        if (!floats.empty()) out += "    precise float " + floats + ";\n";
        int depth = 1;
        std::uint32_t last_line = 0;
        for (std::size_t pc = 0; pc < k_.code.size(); ++pc) {
            Word w = k_.code[pc];
            if (!is_valid_kop(word_op(w))) continue;  // the verifier rejects these first
            KOp op = static_cast<KOp>(word_op(w));
            const Lowering& l = kLowerings[word_op(w)];
            const KEffect effect = kop_effect(op);
            if (closes_block(effect)) --depth;
            if (pc < k_.lines.size() && k_.lines[pc].line != 0 && k_.lines[pc].line != last_line) {
                last_line = k_.lines[pc].line;
                out += std::string(4 * depth, ' ') + "// line " + std::to_string(last_line) + "\n";
            }
            // A kernel `break` sets done. lavapipe (gallivm) ends every loop of
            // a lane once the lane has run 65535 iterations in all, as if it
            // broke: a loop left with done unset, within the budget, faults
            // (kind 4) rather than run on with wrong values.
            const std::string pad(4 * static_cast<std::size_t>(depth), ' ');
            const std::string id = std::to_string(pc);
            if (effect == KEffect::Loop) {
                out += pad + "bool done" + id + " = false;\n";
                loops_.push_back(pc);
                open_.push_back(true);
            } else if (effect == KEffect::If) {
                open_.push_back(false);
            }
            out += std::string(4 * depth, ' ') + expand(op, w, l, pc) + "\n";
            if (opens_block(effect)) ++depth;
            if (effect == KEffect::Loop) out += loop_guard(depth);
            if (effect == KEffect::End && !open_.empty()) {
                if (open_.back()) {
                    const std::string loop = std::to_string(loops_.back());
                    // Left with no `break`: past the budget, or the device cut the
                    // loop short.
                    out += std::string(4 * depth, ' ') + "if (!done" + loop + ") { fault(steps > pc.budget ? 2u : 4u, " +
                           loop + "u, 0u, 0, 0u); return; }\n";
                    loops_.pop_back();
                }
                open_.pop_back();
            }
        }
        // Malformed nesting is rejected before lowering; close anything left so
        // the text stays balanced all the same.
        for (; depth > 1; --depth) out += std::string(4 * (depth - 1), ' ') + "}\n";
        return out + "}\n";
    }

    std::string expand(KOp op, Word w, std::string_view code, std::size_t pc) const {
        const FormatInfo& f = format_info(kop_info(op).format);
        std::string regs[3];
        std::optional<std::uint32_t> param;  // the parameter operand's number, if it has one
        std::string imm_reg;
        for (std::size_t i = 0; i < f.count; ++i) {
            const OperandSpec& o = f.operands[i];
            std::uint32_t v = word_field(w, o.field);
            auto slot = [&](Field fl) -> std::string* {
                return fl == Field::A ? &regs[0] : fl == Field::B ? &regs[1] : fl == Field::C ? &regs[2] : nullptr;
            };
            switch (o.kind) {
            case OperandKind::IntReg:
            case OperandKind::FloatReg: {
                std::string name = (o.kind == OperandKind::IntReg ? "r" : "f") + std::to_string(v % 32);
                if (o.field == Field::Imm) imm_reg = name;
                else *slot(o.field) = name;
                break;
            }
            case OperandKind::PMem:
                param = v;
                regs[1] = "r" + std::to_string(word_field(w, o.index_field) % 32);
                break;
            case OperandKind::Param: param = v; break;
            default: break;
            }
        }
        const KernelParam* p = param && *param < k_.params.size() ? &k_.params[*param] : nullptr;
        std::string out;
        for (std::size_t i = 0; i < code.size(); ++i) {
            if (code[i] != '$' || i + 1 == code.size()) {
                out += code[i];
                continue;
            }
            switch (code[++i]) {
            case 'A': out += regs[0]; break;
            case 'B': out += regs[1]; break;
            case 'C': out += regs[2]; break;
            case 'X': out += imm_reg; break;
            case 'I': out += int_literal(word_imm(w)); break;
            case 'F': out += float_literal(static_cast<std::uint32_t>(word_imm(w))); break;
            case 'P': out += std::to_string(param.value_or(0)); break;
            case 'T': out += p && p->type == ElemType::U32 ? "uint" : "int"; break;
            case 'K': out += access_check(regs[1], param.value_or(0), p, pc); break;
            case 'Y': if (!loops_.empty()) out += "done" + std::to_string(loops_.back()) + " = true; "; break;
            default: out += '$'; out += code[i]; break;
            }
        }
        if (p) out += "  // " + p->name;
        return out;
    }

    // What $K expands to: "" for a proven access, else the check.
    std::string access_check(const std::string& index, std::uint32_t param, const KernelParam* p, std::size_t pc) const {
        if (pc >= checks_.size() || !checks_[pc]) return "";
        const std::string n = std::to_string(param);
        std::string bad = "uint(" + index + ") >= pc.slot[" + n + "]";
        if (p != nullptr && p->indexing == Indexing::Element) bad = "uint(" + index + ") != lane || " + bad;
        return "if (" + bad + ") { fault(1u, " + std::to_string(pc) + "u, " + n + "u, " + index + ", pc.slot[" + n +
               "]); return; } ";
    }

    std::vector<std::size_t> loops_;  // the open loops' pcs, innermost last
    std::vector<bool> open_;          // the open if/loop constructs: true for a loop
    const Kernel& k_;
    std::vector<bool> checks_;  // per word: the access needs a check (isa/kernel_access.h)
    bool faults_ = false;       // some access is checked or the kernel loops: fault() is needed
    bool uses_[256] = {};
    bool int_used_[32] = {};
    bool float_used_[32] = {};
};

}  // namespace

std::string kernel_to_glsl(const Kernel& k) { return Generator(k).run(); }

}  // namespace polymer
