// Kernel IR -> GLSL. One template per kernel op, generated from
// isa/kernel_ops.def: an op without a template (kGlsl_<Name>) does not compile.
//
// Template placeholders: $A $B $C name the registers in those fields (r or f by
// the op's format), $I is the immediate as an int literal, $F the immediate as
// an f32 literal, $X the register the immediate names, $P the buffer or
// uniform parameter number (field C for P[C][R[B]], field B for whole-parameter
// operands), $T the conversion a u32 buffer needs ("int" or "uint"), $D what a
// buffer holds (int/uint/float).
#include "assembler/kernel_glsl.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "isa/opcodes.h"
#include "shaders/fma_exact_glsl.h"

namespace polymer {

namespace {

// One GLSL statement per kernel op. Indentation follows the op's Effect
// column (opens_block, closes_block in isa/opcodes.h).
using Lowering = std::string_view;

// Loads and stores check the index against the length slot with an `if`
// (never a ?:), so an out-of-range element is never touched.
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
constexpr Lowering kGlsl_And = "$A = $B & $C;";
constexpr Lowering kGlsl_Or = "$A = $B | $C;";
constexpr Lowering kGlsl_Xor = "$A = $B ^ $C;";
constexpr Lowering kGlsl_Shl = "$A = $B << ($C & 31);";
constexpr Lowering kGlsl_Shr = "$A = int(uint($B) >> uint($C & 31));";
constexpr Lowering kGlsl_Sar = "$A = $B >> ($C & 31);";
constexpr Lowering kGlsl_Min = "$A = min($B, $C);";
constexpr Lowering kGlsl_Max = "$A = max($B, $C);";
constexpr Lowering kGlsl_Addi = "$A = $B + $I;";
constexpr Lowering kGlsl_Muli = "$A = $B * $I;";
constexpr Lowering kGlsl_Eq = "$A = int($B == $C);";
constexpr Lowering kGlsl_Ne = "$A = int($B != $C);";
constexpr Lowering kGlsl_Lt = "$A = int($B < $C);";
constexpr Lowering kGlsl_Le = "$A = int($B <= $C);";
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
constexpr Lowering kGlsl_Ld = "if (uint($B) < pc.slot[$P]) $A = int(b$P.data[$B]); else $A = 0;";
constexpr Lowering kGlsl_Ldf = "if (uint($B) < pc.slot[$P]) $A = b$P.data[$B]; else $A = 0.0;";
constexpr Lowering kGlsl_St = "if (uint($B) < pc.slot[$P]) b$P.data[$B] = $T($A);";
constexpr Lowering kGlsl_Stf = "if (uint($B) < pc.slot[$P]) b$P.data[$B] = $A;";
constexpr Lowering kGlsl_AtAdd = "if (uint($B) < pc.slot[$P]) atomicAdd(b$P.data[$B], $T($A));";
constexpr Lowering kGlsl_Ldp = "$A = int(pc.slot[$P]);";
constexpr Lowering kGlsl_Ldpf = "$A = uintBitsToFloat(pc.slot[$P]);";
constexpr Lowering kGlsl_Blen = "$A = int(pc.slot[$P]);";
constexpr Lowering kGlsl_If = "if ($A != 0) {";
constexpr Lowering kGlsl_Else = "} else {";
constexpr Lowering kGlsl_Loop = "while (true) {";
constexpr Lowering kGlsl_Break = "break;";
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
constexpr std::string_view kFtoiHelper =
    "// float -> int truncating toward zero, saturating; NaN gives 0.\n"
    "int ftoi_saturating(float x) {\n"
    "    if (isnan(x)) return 0;\n"
    "    if (x >= 2147483648.0) return 2147483647;\n"
    "    if (x <= -2147483648.0) return int(0x80000000u);\n"
    "    return int(x);\n"
    "}\n\n";

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
    explicit Generator(const Kernel& k) : k_(k) {}

    std::string run() {
        scan();
        std::string body = main_body();
        std::string out = "#version 450\n// kernel " + k_.name + ", generated by polymer-as from the kernel IR\n"
                          "layout(local_size_x = 64) in;\n\n";
        out += push_constants();
        out += buffers();
        if (uses_[static_cast<std::size_t>(KOp::Div)]) out += kDivHelper;
        if (uses_[static_cast<std::size_t>(KOp::Rem)]) out += kRemHelper;
        if (uses_[static_cast<std::size_t>(KOp::Ftoi)]) out += kFtoiHelper;
        if (uses_[static_cast<std::size_t>(KOp::Ffma)]) out += std::string(shaders::kFmaExactGlsl) + "\n";
        out += body;
        return out;
    }

private:
    void scan() {
        for (Word w : k_.code) {
            std::uint8_t op = word_op(w);
            if (!is_valid_kop(op)) continue;
            uses_[op] = true;
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
            "    uint pad;\n";
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

    std::string main_body() {
        std::string out = "void main() {\n    uint lane = pc.base + gl_GlobalInvocationID.x;\n"
                          "    if (lane >= pc.end) return;\n";
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
            out += std::string(4 * depth, ' ') + expand(op, w, l) + "\n";
            if (opens_block(effect)) ++depth;
        }
        // Malformed nesting is rejected before lowering; close anything left so
        // the text stays balanced all the same.
        for (; depth > 1; --depth) out += std::string(4 * (depth - 1), ' ') + "}\n";
        return out + "}\n";
    }

    std::string expand(KOp op, Word w, std::string_view code) const {
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
            default: out += '$'; out += code[i]; break;
            }
        }
        if (p) out += "  // " + p->name;
        return out;
    }

    const Kernel& k_;
    bool uses_[256] = {};
    bool int_used_[32] = {};
    bool float_used_[32] = {};
};

}  // namespace

std::string kernel_to_glsl(const Kernel& k) { return Generator(k).run(); }

}  // namespace polymer
