// Kernel IR -> GLSL. One template per kernel op, generated from
// isa/kernel_ops.def: an op without a template (kGlsl_<Name>) does not compile.
// An op has one template, or a narrow and a wide one where a `.wide` kernel's
// 64-bit registers need other code (docs/kernels.md, "Wide kernels on
// Vulkan"); an op with no wide template has no binary64 form in GLSL and is
// not allowed in wide kernels.
//
// Template placeholders: $A $B $C name the registers in those fields (r or f by
// the op's format), $I is the immediate as an integer literal of the register
// type (sign-extended in a wide kernel), $S the immediate as a plain int (shift
// amounts), $F the immediate as a float literal of the register type (a wide
// kernel's binary32 literal widened), $X the register the immediate names, $P
// the buffer or uniform parameter number (field C for P[C][R[B]], field B for
// whole-parameter operands), $Q that parameter's first push-constant slot, $V
// the uniform's value as the register type, $N $U $G the kernel's integer,
// unsigned and float register types (int/uint/float or int64_t/uint64_t/double),
// $T the conversion a narrow kernel's integer buffer needs ("int" or "uint"),
// $D what the buffer holds (int/uint/float/int64_t/double), $K the access's
// check (or nothing), $Y what a `break` sets first (the innermost loop's done
// flag: see main_body), $E the element of the buffer's binding that index $B
// names: an element-wise or window buffer is bound from element pc.first
// (the launch's reach, not the whole region), a broadcast one from element 0.
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
#include "assembler/kernel_glsl_f64.h"
#include "shaders/fma_exact_glsl.h"

namespace polymer {

namespace {

// One GLSL statement per kernel op. Indentation follows the op's Effect
// column (opens_block, closes_block in isa/opcodes.h).
struct Lowering {
    std::string_view narrow;
    std::string_view wide;  // empty: not available in wide kernels
};
constexpr Lowering same(std::string_view t) { return {t, t}; }
constexpr Lowering narrow_only(std::string_view t) { return {t, {}}; }

// Loads, stores and atomics start with $K: nothing where isa/kernel_access.h
// proved the index is the lane's own element, else a check that records the
// fault in the status buffer and ends the lane, so an element outside the
// contract is never touched. A wide kernel's 64-bit index is checked first,
// so `uint(index)` is exact where it is used.
constexpr Lowering kGlsl_Nop = same("// nop");
constexpr Lowering kGlsl_Gid = same("$A = gid;");
constexpr Lowering kGlsl_Count = same("$A = $N(pc.count);");
constexpr Lowering kGlsl_Li = same("$A = $I;");
constexpr Lowering kGlsl_Lif = same("$A = $F;");
constexpr Lowering kGlsl_Mov = same("$A = $B;");
constexpr Lowering kGlsl_Fmov = same("$A = $B;");
// SPIR-V integer add, sub, mul and negate wrap at the type's width.
constexpr Lowering kGlsl_Add = same("$A = $B + $C;");
constexpr Lowering kGlsl_Sub = same("$A = $B - $C;");
constexpr Lowering kGlsl_Mul = same("$A = $B * $C;");
constexpr Lowering kGlsl_Div = same("$A = div_checked($B, $C);");
constexpr Lowering kGlsl_Rem = same("$A = rem_checked($B, $C);");
constexpr Lowering kGlsl_Divu = same("$A = divu_checked($B, $C);");
constexpr Lowering kGlsl_Remu = same("$A = remu_checked($B, $C);");
constexpr Lowering kGlsl_And = same("$A = $B & $C;");
constexpr Lowering kGlsl_Or = same("$A = $B | $C;");
constexpr Lowering kGlsl_Xor = same("$A = $B ^ $C;");
// Narrow: the count & 31. Wide: as the procedure opcodes (sem::shl, shr,
// sar): a count outside 0..63 shifts everything out (GLSL leaves it undefined).
constexpr Lowering kGlsl_Shl = {"$A = $B << ($C & 31);", "$A = uint64_t($C) < 64ul ? $B << int($C) : 0l;"};
constexpr Lowering kGlsl_Shr = {"$A = int(uint($B) >> uint($C & 31));",
                                "$A = uint64_t($C) < 64ul ? int64_t(uint64_t($B) >> int($C)) : 0l;"};
constexpr Lowering kGlsl_Sar = {"$A = $B >> ($C & 31);",
                                "$A = uint64_t($C) < 64ul ? $B >> int($C) : ($B < 0l ? -1l : 0l);"};
constexpr Lowering kGlsl_Min = same("$A = min($B, $C);");
constexpr Lowering kGlsl_Max = same("$A = max($B, $C);");
constexpr Lowering kGlsl_Neg = same("$A = -$B;");  // SPIR-V OpSNegate wraps: -INT32_MIN = INT32_MIN
constexpr Lowering kGlsl_Not = same("$A = ~$B;");
constexpr Lowering kGlsl_Addi = same("$A = $B + $I;");
constexpr Lowering kGlsl_Muli = same("$A = $B * $I;");
constexpr Lowering kGlsl_Andi = same("$A = $B & $I;");
constexpr Lowering kGlsl_Ori = same("$A = $B | $I;");
constexpr Lowering kGlsl_Xori = same("$A = $B ^ $I;");
// The verifier keeps a shift immediate in 0..31 (0..63 wide; GLSL leaves larger ones undefined).
constexpr Lowering kGlsl_Shli = same("$A = $B << $S;");
constexpr Lowering kGlsl_Shri = same("$A = $N($U($B) >> $S);");
constexpr Lowering kGlsl_Sari = same("$A = $B >> $S;");
constexpr Lowering kGlsl_Eq = same("$A = $N($B == $C);");
constexpr Lowering kGlsl_Ne = same("$A = $N($B != $C);");
constexpr Lowering kGlsl_Lt = same("$A = $N($B < $C);");
constexpr Lowering kGlsl_Le = same("$A = $N($B <= $C);");
constexpr Lowering kGlsl_Ltu = same("$A = $N($U($B) < $U($C));");
constexpr Lowering kGlsl_Leu = same("$A = $N($U($B) <= $U($C));");
constexpr Lowering kGlsl_Fadd = same("$A = $B + $C;");
constexpr Lowering kGlsl_Fsub = same("$A = $B - $C;");
constexpr Lowering kGlsl_Fmul = same("$A = $B * $C;");
// Wide: rounded correctly whatever the device's division (fdiv_exact).
constexpr Lowering kGlsl_Fdiv = {"$A = $B / $C;", "$A = fdiv_exact($B, $C);"};
// fmin/fmax as selects, as the CPU computes them: GLSL min() and max() leave
// the result undefined for a NaN operand. Wide: sem::fmin/fmax, a NaN
// operand yields the other.
constexpr Lowering kGlsl_Fmin = {"$A = $C < $B ? $C : $B;", "$A = isnan($B) ? $C : isnan($C) ? $B : ($C < $B ? $C : $B);"};
constexpr Lowering kGlsl_Fmax = {"$A = $B < $C ? $C : $B;", "$A = isnan($B) ? $C : isnan($C) ? $B : ($B < $C ? $C : $B);"};
// No binary64 pow, sin, cos, exp, log in GLSL; no fused binary64 fma in Vulkan.
constexpr Lowering kGlsl_Fpow = narrow_only("$A = pow($B, $C);");
// Rounded once, as on the CPU: GLSL fma() may round twice (shaders/fma_exact.glsl).
constexpr Lowering kGlsl_Ffma = narrow_only("$A = fma_exact($B, $C, $X);");
constexpr Lowering kGlsl_Fneg = same("$A = -$B;");
constexpr Lowering kGlsl_Fabs = same("$A = abs($B);");
constexpr Lowering kGlsl_Fsqrt = {"$A = sqrt($B);", "$A = fsqrt_exact($B);"};
constexpr Lowering kGlsl_Ffloor = same("$A = floor($B);");
constexpr Lowering kGlsl_Fsin = narrow_only("$A = sin($B);");
constexpr Lowering kGlsl_Fcos = narrow_only("$A = cos($B);");
constexpr Lowering kGlsl_Fexp = narrow_only("$A = exp($B);");
constexpr Lowering kGlsl_Flog = narrow_only("$A = log($B);");
constexpr Lowering kGlsl_Feq = same("$A = $N($B == $C);");
constexpr Lowering kGlsl_Flt = same("$A = $N($B < $C);");
constexpr Lowering kGlsl_Fle = same("$A = $N($B <= $C);");
constexpr Lowering kGlsl_Itof = same("$A = $G($B);");
constexpr Lowering kGlsl_Ftoi = same("$A = ftoi_saturating($B);");
// Wide: i32 sign-extends, u32 zero-extends, f32 widens exactly; a store
// keeps the low 32 bits, or rounds to f32 (to nearest even, RoundingModeRTE).
constexpr Lowering kGlsl_Ld = {"$K$A = int(b$P.data[$E]);", "$K$A = int64_t(b$P.data[$E]);"};
constexpr Lowering kGlsl_Ldf = {"$K$A = b$P.data[$E];", "$K$A = double(b$P.data[$E]);"};
constexpr Lowering kGlsl_St = {"$Kb$P.data[$E] = $T($A);", "$Kb$P.data[$E] = $D($A);"};
constexpr Lowering kGlsl_Stf = {"$Kb$P.data[$E] = $A;", "$Kb$P.data[$E] = $D($A);"};
constexpr Lowering kGlsl_AtAdd = {"$KatomicAdd(b$P.data[$E], $T($A));", "$KatomicAdd(b$P.data[$E], $D($A));"};
constexpr Lowering kGlsl_Ldp = same("$A = $V;");
constexpr Lowering kGlsl_Ldpf = same("$A = $V;");
constexpr Lowering kGlsl_Blen = same("$A = $N(pc.slot[$Q]);");
constexpr Lowering kGlsl_If = same("if ($A != 0) {");
constexpr Lowering kGlsl_Else = same("} else {");
constexpr Lowering kGlsl_Loop = same("while (true) {");
constexpr Lowering kGlsl_Break = same("$Ybreak;");
constexpr Lowering kGlsl_Continue = same("continue;");
constexpr Lowering kGlsl_End = same("}");
constexpr Lowering kGlsl_Exit = same("return;");

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

// Wide kernels: the procedure opcodes' semantics (vm/scalar_semantics.h),
// except that division and remainder by 0 give 0, as in narrow kernels.
constexpr std::string_view kDivHelperWide =
    "// sem::div; by 0 gives 0, INT64_MIN / -1 wraps.\n"
    "int64_t div_checked(int64_t a, int64_t b) {\n"
    "    if (b == 0l) return 0l;\n"
    "    if (b == -1l) return -a;\n"
    "    return a / b;\n"
    "}\n\n";
constexpr std::string_view kRemHelperWide =
    "// sem::rem: the sign of a; by 0 or -1 gives 0.\n"
    "int64_t rem_checked(int64_t a, int64_t b) {\n"
    "    if (b == 0l || b == -1l) return 0l;\n"
    "    return a - (a / b) * b;\n"
    "}\n\n";
constexpr std::string_view kDivuHelperWide =
    "// sem::divu; by 0 gives 0.\n"
    "int64_t divu_checked(int64_t a, int64_t b) {\n"
    "    if (b == 0l) return 0l;\n"
    "    return int64_t(uint64_t(a) / uint64_t(b));\n"
    "}\n\n";
constexpr std::string_view kRemuHelperWide =
    "// sem::remu; by 0 gives 0.\n"
    "int64_t remu_checked(int64_t a, int64_t b) {\n"
    "    if (b == 0l) return 0l;\n"
    "    return int64_t(uint64_t(a) % uint64_t(b));\n"
    "}\n\n";
constexpr std::string_view kFtoiHelperWide =
    "// sem::ftoi: double -> int64 truncating toward zero, saturating; NaN gives 0.\n"
    "int64_t ftoi_saturating(double x) {\n"
    "    if (isnan(x)) return 0l;\n"
    "    if (x >= 9223372036854775808.0lf) return 9223372036854775807l;\n"
    "    if (x <= -9223372036854775808.0lf) return -9223372036854775807l - 1l;\n"
    "    return int64_t(x);\n"
    "}\n\n";

// The functions a template calls, emitted once for a kernel that uses one of
// `ops` (a narrow or a wide text by the kernel; empty: none).
struct Helper {
    KOp ops[2];
    std::string_view narrow, wide;
};
constexpr Helper kHelpers[] = {
    {{KOp::Div, KOp::Div}, kDivHelper, kDivHelperWide},
    {{KOp::Rem, KOp::Rem}, kRemHelper, kRemHelperWide},
    {{KOp::Divu, KOp::Divu}, kDivuHelper, kDivuHelperWide},
    {{KOp::Remu, KOp::Remu}, kRemuHelper, kRemuHelperWide},
    {{KOp::Ftoi, KOp::Ftoi}, kFtoiHelper, kFtoiHelperWide},
    {{KOp::Ffma, KOp::Ffma}, shaders::kFmaExactGlsl, {}},
    {{KOp::Fdiv, KOp::Fsqrt}, {}, kTwoProductGlsl},
    {{KOp::Fdiv, KOp::Fdiv}, {}, kFdivExactGlsl},
    {{KOp::Fsqrt, KOp::Fsqrt}, {}, kFsqrtExactGlsl},
};

std::string int_literal(std::int32_t v) {
    if (v == INT32_MIN) return "int(0x80000000u)";
    return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
}

// A wide kernel's immediate: the 32-bit imm sign-extended to int64_t.
std::string int64_literal(std::int32_t v) {
    return v < 0 ? "(" + std::to_string(v) + "l)" : std::to_string(v) + "l";
}

// A wide kernel's `lif`: the binary32 literal widened to binary64, as the
// shortest decimal that reads back as that double, or its bits.
std::string double_literal(std::uint32_t bits) {
    const double d = static_cast<double>(std::bit_cast<float>(bits));
    if (!std::isfinite(d)) {
        const std::uint64_t b = std::bit_cast<std::uint64_t>(d);
        return "packDouble2x32(uvec2(" + std::to_string(static_cast<std::uint32_t>(b)) + "u, " +
               std::to_string(static_cast<std::uint32_t>(b >> 32)) + "u))";
    }
    char buf[64];
    auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
    std::string text(buf, end);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    text += "lf";
    return text[0] == '-' ? "(" + text + ")" : text;
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
    switch (t) {
    case ElemType::F32: return "float";
    case ElemType::F64: return "double";
    case ElemType::U32: return "uint";
    case ElemType::I64: return "int64_t";
    default: return "int";
    }
}

struct Operands {
    std::string reg[3];  // A, B, C as written in GLSL
    std::uint32_t param = 0;
};

class Generator {
public:
    explicit Generator(const Kernel& k)
        : k_(k), checks_(kernel_access_checks(k)), slots_(push_slot_layout(k)), wide_(k.wide) {}

    std::string run() {
        scan();
        std::string body = main_body();
        std::string out = "#version 450\n";
        // int64_t and uint64_t; double is core GLSL 4.00.
        if (wide_) out += "#extension GL_ARB_gpu_shader_int64 : require\n";
        out += "// kernel " + k_.name + ", generated by polymer-as from the kernel IR" +
               (wide_ ? " (wide: 64-bit integer and binary64 lane registers)" : "") +
               "\nlayout(local_size_x = 64) in;\n\n";
        out += push_constants();
        out += buffers();
        out += status_buffer();
        if (faults_) out += fault_helper();
        for (const Helper& h : kHelpers) {
            const std::string_view text = wide_ ? h.wide : h.narrow;
            if (!text.empty() && (uses(h.ops[0]) || uses(h.ops[1]))) out += text;
        }
        // The fma text ends without the blank line the others end with.
        if (!wide_ && uses(KOp::Ffma)) out += "\n";
        out += body;
        return out;
    }

private:
    bool uses(KOp op) const { return uses_[static_cast<std::size_t>(op)]; }
    std::string_view int_type() const { return wide_ ? "int64_t" : "int"; }
    std::string_view uint_type() const { return wide_ ? "uint64_t" : "uint"; }
    std::string_view float_type() const { return wide_ ? "double" : "float"; }

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
            "    uint budget; // loop iterations a lane may start (--kernel-steps)\n"
            "    uint first;  // the element an element-wise or window buffer's binding starts at\n";
        if (!k_.params.empty()) {
            out += wide_ ? "    // a buffer's length in elements, a uniform's 32 bits, or an i64/f64 uniform's\n"
                           "    // 64 bits in two slots (low word first)\n"
                         : "    // slot[p]: buffer p's length in elements, or uniform p's 32 bits\n";
            out += "    uint slot[" + std::to_string(slots_.back()) + "];\n";
            for (std::size_t p = 0; p < k_.params.size(); ++p) {
                const KernelParam& q = k_.params[p];
                std::string at = std::to_string(slots_[p]);
                if (push_slots(q) == 2) at += ".." + std::to_string(slots_[p] + 1);
                out += "    //   slot[" + at + "] = " + (q.kind == ParamKind::Buffer ? "length of " : "uniform ") +
                       q.name + " (" + std::string(elem_type_name(q.type)) + ")\n";
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
            out += "// parameter " + n + ": " + std::string(access_text(q.access)) + " " + q.name + ": " +
                   std::string(elem_type_name(q.type)) + indexing_text(q) + "\n";
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
        if (uses(KOp::Gid)) out += "    " + std::string(int_type()) + " gid = " + std::string(int_type()) + "(lane);\n";
        std::string ints, floats;
        const std::string int_zero = wide_ ? " = 0l" : " = 0", float_zero = wide_ ? " = 0.0lf" : " = 0.0";
        for (unsigned i = 0; i < 32; ++i) {
            if (int_used_[i]) ints += (ints.empty() ? "" : ", ") + ("r" + std::to_string(i)) + int_zero;
            if (float_used_[i]) floats += (floats.empty() ? "" : ", ") + ("f" + std::to_string(i)) + float_zero;
        }
        if (!ints.empty()) out += "    " + std::string(int_type()) + " " + ints + ";\n";
        // precise: no contraction or re-association of what the program wrote
        // (a device may otherwise fold x*y + z into an fma, or reorder a sum),
        // so float results are the CPU backend's bit for bit; only ffma fuses.
        if (!floats.empty()) out += "    precise " + std::string(float_type()) + " " + floats + ";\n";
        int depth = 1;
        std::uint32_t last_line = 0;
        for (std::size_t pc = 0; pc < k_.code.size(); ++pc) {
            Word w = k_.code[pc];
            if (!is_valid_kop(word_op(w))) continue;  // the verifier rejects these first
            KOp op = static_cast<KOp>(word_op(w));
            const Lowering& both = kLowerings[word_op(w)];
            // No wide form: the verifier rejects the op in a wide kernel; the
            // lowering says so rather than emit code with other semantics.
            const std::string_view l = wide_ ? both.wide : both.narrow;
            if (l.empty()) {
                out += "#error kernel op " + std::string(kop_info(op).mnemonic) + " has no binary64 form (wide kernel)\n";
                continue;
            }
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
            case 'I': out += wide_ ? int64_literal(word_imm(w)) : int_literal(word_imm(w)); break;
            case 'S': out += std::to_string(word_imm(w)); break;
            case 'F':
                out += wide_ ? double_literal(static_cast<std::uint32_t>(word_imm(w)))
                             : float_literal(static_cast<std::uint32_t>(word_imm(w)));
                break;
            case 'P': out += std::to_string(param.value_or(0)); break;
            case 'Q': out += std::to_string(first_slot(param)); break;
            case 'V': out += uniform_value(first_slot(param), p); break;
            case 'N': out += int_type(); break;
            case 'U': out += uint_type(); break;
            case 'G': out += float_type(); break;
            case 'D': out += p ? data_type(p->type) : "int"; break;
            case 'T': out += p && p->type == ElemType::U32 ? "uint" : "int"; break;
            case 'K': out += access_check(regs[1], param.value_or(0), p, pc); break;
            case 'E': out += binding_index(regs[1], p); break;
            case 'Y': if (!loops_.empty()) out += "done" + std::to_string(loops_.back()) + " = true; "; break;
            default: out += '$'; out += code[i]; break;
            }
        }
        if (p) out += "  // " + p->name;
        return out;
    }

    // What $E expands to. A wide kernel's index has passed its check (or is
    // gid), so it fits in a uint.
    std::string binding_index(const std::string& index, const KernelParam* p) const {
        const bool from_first = p != nullptr && p->indexing != Indexing::Broadcast;
        if (wide_) return "uint(" + index + ")" + (from_first ? " - pc.first" : "");
        return from_first ? index + " - int(pc.first)" : index;
    }

    std::uint32_t first_slot(std::optional<std::uint32_t> param) const {
        return param && *param < k_.params.size() ? slots_[*param] : 0;
    }

    // What $V expands to: uniform p read from its slot(s) as the register
    // type (a wide kernel's i32 sign-extended, f32 widened).
    std::string uniform_value(std::uint32_t slot, const KernelParam* p) const {
        const std::string lo = "pc.slot[" + std::to_string(slot) + "]";
        const std::string both = "uvec2(" + lo + ", pc.slot[" + std::to_string(slot + 1) + "])";
        const ElemType t = p ? p->type : ElemType::I32;
        switch (t) {
        case ElemType::I64: return "int64_t(packUint2x32(" + both + "))";
        case ElemType::F64: return "packDouble2x32(" + both + ")";
        case ElemType::F32: return wide_ ? "double(uintBitsToFloat(" + lo + "))" : "uintBitsToFloat(" + lo + ")";
        default: return wide_ ? "int64_t(int(" + lo + "))" : "int(" + lo + ")";
        }
    }

    // What $K expands to: "" for a proven access, else the check. A wide
    // kernel's index is 64 bits: compared whole, and reported clamped to
    // 32 bits (the fault record's index word).
    std::string access_check(const std::string& index, std::uint32_t param, const KernelParam* p, std::size_t pc) const {
        if (pc >= checks_.size() || !checks_[pc]) return "";
        const std::string n = std::to_string(param);
        const std::string length = "pc.slot[" + std::to_string(first_slot(param)) + "]";
        std::string bad, reported = index;
        if (wide_) {
            bad = "uint64_t(" + index + ") >= uint64_t(" + length + ")";
            if (p != nullptr && p->indexing == Indexing::Element) bad = index + " != int64_t(lane) || " + bad;
            reported = "int(clamp(" + index + ", -2147483648l, 2147483647l))";
        } else {
            bad = "uint(" + index + ") >= " + length;
            if (p != nullptr && p->indexing == Indexing::Element) bad = "uint(" + index + ") != lane || " + bad;
        }
        if (p != nullptr && p->indexing == Indexing::Window) bad += " || " + outside_window(index, *p);
        return "if (" + bad + ") { fault(1u, " + std::to_string(pc) + "u, " + n + "u, " + reported + ", " + length +
               "); return; } ";
    }

    // The lane's index j breaks its window: j - lane outside [lo, hi]. Tested
    // after the length check, so j is inside the buffer, whose length is a
    // 32-bit slot: j < 2^32 as a uint, in a wide kernel too, and lane < 2^31.
    // Each end is compared on its side of lane in uint arithmetic, so nothing
    // wraps. (The 64-bit form, `j - int64_t(lane) < lo || ... > hi`, made
    // every checked lane of a wide kernel fault on lavapipe, Mesa 22.3.6.)
    std::string outside_window(const std::string& index, const KernelParam& p) const {
        const std::string j = "uint(" + index + ")";
        auto u = [](std::int64_t v) { return std::to_string(v < 0 ? -v : v) + "u"; };
        // Below the start: j < lane + lo.
        const std::string below = p.window_lo > 0    ? "(" + j + " < lane || " + j + " - lane < " + u(p.window_lo) + ")"
                                  : p.window_lo == 0 ? "(" + j + " < lane)"
                                                     : "(" + j + " < lane && lane - " + j + " > " + u(p.window_lo) + ")";
        // Past the end: j > lane + hi.
        const std::string above = p.window_hi < 0    ? "(" + j + " > lane || lane - " + j + " < " + u(p.window_hi) + ")"
                                  : p.window_hi == 0 ? "(" + j + " > lane)"
                                                     : "(" + j + " > lane && " + j + " - lane > " + u(p.window_hi) + ")";
        return "(" + below + " || " + above + ")";
    }

    std::vector<std::size_t> loops_;  // the open loops' pcs, innermost last
    std::vector<bool> open_;          // the open if/loop constructs: true for a loop
    const Kernel& k_;
    std::vector<bool> checks_;  // per word: the access needs a check (isa/kernel_access.h)
    std::vector<std::uint32_t> slots_;  // push_slot_layout(k_)
    bool wide_ = false;         // Kernel::wide: 64-bit integer and binary64 registers
    bool faults_ = false;       // some access is checked or the kernel loops: fault() is needed
    bool uses_[256] = {};
    bool int_used_[32] = {};
    bool float_used_[32] = {};
};

}  // namespace

std::vector<std::uint32_t> push_slot_layout(const Kernel& k) {
    std::vector<std::uint32_t> first;
    std::uint32_t next = 0;
    for (const KernelParam& p : k.params) {
        first.push_back(next);
        next += push_slots(p);
    }
    first.push_back(next);
    return first;
}

bool has_wide_lowering(KOp op) { return !kLowerings[static_cast<std::size_t>(op)].wide.empty(); }

std::size_t push_slot_count(const Kernel& k) { return push_slot_layout(k).back(); }

std::string push_slot_problem(const Kernel& k) {
    const std::size_t slots = push_slot_count(k);
    if (slots <= kMaxKernelPushSlots) return {};
    return "kernel '" + k.name + "' has " + std::to_string(k.params.size()) + " parameters taking " +
           std::to_string(slots) + " push-constant slots; a kernel has at most " + std::to_string(kMaxKernelPushSlots) +
           " (one 4-byte slot per parameter, two per i64/f64 uniform)";
}

std::string kernel_to_glsl(const Kernel& k) { return Generator(k).run(); }

}  // namespace polymer
