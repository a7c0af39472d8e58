// Kernel IR -> GLSL -> SPIR-V: every kernel op lowers to GLSL that glslang
// compiles and SPIRV-Tools validates; the ABI parts of the text; the limits.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "assembler/assembler.h"
#include "assembler/kernel_glsl.h"
#include "assembler/kernel_spirv.h"
#include "assembler/spirv_compiler.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"

namespace polymer {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kMagic = 0x07230203;

// The SPIR-V a kernel runs as (kernel_spirv.h); empty when it does not lower.
std::vector<std::uint32_t> spirv_of(const Kernel& k) {
    auto words = kernel_spirv(k);
    EXPECT_TRUE(words) << words.error();
    return words ? *words.value() : std::vector<std::uint32_t>{};
}

Module assemble_ok(const std::string& source) {
    AssembleResult r = assemble(source, {.filename = "k.pasm"});
    std::string errors;
    for (const Diagnostic& d : r.diagnostics) errors += format_diagnostic(d);
    EXPECT_TRUE(r.ok()) << errors;
    return r.ok() ? *r.module : Module{};
}

// Kernels that use every kernel op between them, over i32, u32 and f32 buffers.
const char* kAllOps = R"(
.kernel ints (in a: i32[i], inout c: u32[], out o: i32[i], inout h: i32[], n: i32)
        nop
        gid     r0
        count   r1
        li      r2, -2147483648
        li      r3, 7
        mov     r4, r3
        add     r5, r2, r3
        sub     r5, r5, r3
        mul     r5, r5, r3
        div     r6, r5, r3
        rem     r7, r5, r3
        and     r8, r6, r7
        or      r8, r8, r7
        xor     r8, r8, r6
        shl     r9, r8, r3
        shr     r9, r9, r3
        sar     r9, r9, r3
        min     r10, r9, r8
        max     r10, r10, r4
        addi    r10, r10, -5
        muli    r10, r10, 3
        eq      r11, r10, r4
        ne      r11, r11, r4
        lt      r12, r10, r4
        le      r12, r12, r4
        ld      r13, a[r0]
        ld      r14, c[r13]
        st      o[r0], r14
        atadd   h[r14], r3
        atadd   c[r0], r3
        st      c[r0], r12
        ldp     r15, n
        blen    r16, h
        divu    r18, r5, r3
        remu    r18, r18, r3
        neg     r19, r18
        not     r19, r19
        andi    r20, r19, 0xF0F0F0F0
        ori     r20, r20, 0x80000000
        xori    r20, r20, 4294967295
        shli    r21, r20, 31
        shri    r21, r21, 7
        sari    r21, r21, 0
        ltu     r22, r21, r20
        leu     r22, r22, r21
        if      r11
            exit
        else
            loop
                addi    r16, r16, 1
                lt      r17, r16, r15
                if      r17
                    continue
                end
                break
            end
        end
.end
.kernel floats (in x: f32[i], out z: f32[i], a: f32)
        gid     r0
        lif     f1, 0.1
        lif     f2, -inf
        lif     f3, nan
        lif     f4, 1e-45
        lif     f5, -0
        ldf     f0, x[r0]
        ldpf    f6, a
        fmov    f7, f6
        fadd    f8, f0, f1
        fsub    f8, f8, f7
        fmul    f8, f8, f0
        fdiv    f8, f8, f1
        fmin    f9, f8, f0
        fmax    f9, f9, f1
        fpow    f10, f9, f1
        ffma    f11, f10, f9, f8
        fneg    f11, f11
        fabs    f11, f11
        fsqrt   f12, f11
        ffloor  f12, f12
        fsin    f13, f12
        fcos    f13, f13
        fexp    f14, f13
        flog    f14, f14
        feq     r1, f14, f13
        flt     r2, f14, f13
        fle     r3, f14, f13
        itof    f15, r3
        ftoi    r4, f15
        stf     z[r0], f15
.end
.proc main
        halt
.end
)";

TEST(KernelGlsl, EveryKernelOpLowersToValidSpirv) {
    Module m = assemble_ok(kAllOps);
    ASSERT_EQ(m.kernels.size(), 2u);
    std::set<std::uint8_t> seen;
    for (const Kernel& k : m.kernels) {
        for (Word w : k.code) seen.insert(word_op(w));
        const std::string glsl = kernel_to_glsl(k);
        const std::vector<std::uint32_t> spirv = spirv_of(k);
        EXPECT_NE(glsl.find("#version 450"), std::string::npos) << k.name;
        ASSERT_GE(spirv.size(), 5u) << k.name;
        EXPECT_EQ(spirv[0], kMagic);
        // The SPIR-V kernels run as is what compiling their GLSL gives.
        auto again = compile_glsl_to_spirv(glsl);
        ASSERT_TRUE(again) << again.error();
        EXPECT_EQ(again.value(), spirv);
    }
    for (KOp op : kAllKOps)
        EXPECT_TRUE(seen.count(static_cast<std::uint8_t>(op))) << "not covered: " << kop_info(op).mnemonic;
    EXPECT_TRUE(verify_module(m).ok()) << verify_module(m).error();
}

TEST(KernelGlsl, SemanticsGuardsAreInTheText) {
    Module m = assemble_ok(kAllOps);
    const std::string ints = kernel_to_glsl(m.kernels[0]);
    EXPECT_NE(ints.find("int div_checked(int a, int b)"), std::string::npos);
    EXPECT_NE(ints.find("int rem_checked(int a, int b)"), std::string::npos);
    EXPECT_NE(ints.find("r2 = int(0x80000000u);"), std::string::npos);
    // The unsigned ops and the immediate forms: 32-bit patterns, shifts by 0..31.
    EXPECT_NE(ints.find("int divu_checked(int a, int b)"), std::string::npos);
    EXPECT_NE(ints.find("int remu_checked(int a, int b)"), std::string::npos);
    EXPECT_NE(ints.find("r20 = r19 & (-252645136);"), std::string::npos);
    EXPECT_NE(ints.find("r20 = r20 | int(0x80000000u);"), std::string::npos);
    EXPECT_NE(ints.find("r20 = r20 ^ (-1);"), std::string::npos);
    EXPECT_NE(ints.find("r21 = int(uint(r21) >> 7);"), std::string::npos);
    EXPECT_NE(ints.find("r22 = int(uint(r21) < uint(r20));"), std::string::npos);
    // Whole buffers: every access checked, the fault recorded, the lane ended.
    EXPECT_NE(ints.find("if (uint(r13) >= pc.slot[1]) { fault(1u, 26u, 1u, r13, pc.slot[1]); return; } r14 = int(b1.data[r13]);"),
              std::string::npos);
    EXPECT_NE(ints.find("if (uint(r0) >= pc.slot[1]) { fault(1u, 29u, 1u, r0, pc.slot[1]); return; } atomicAdd(b1.data[r0], uint(r3));"),
              std::string::npos);
    EXPECT_NE(ints.find("if (uint(r14) >= pc.slot[3]) { fault(1u, 28u, 3u, r14, pc.slot[3]); return; } atomicAdd(b3.data[r14], int(r3));"),
              std::string::npos);
    EXPECT_NE(ints.find("buffer B1 { uint data[]; } b1;"), std::string::npos);
    EXPECT_NE(ints.find("r9 = int(uint(r9) >> uint(r3 & 31));"), std::string::npos);
    EXPECT_EQ(ints.find("ftoi_saturating"), std::string::npos);  // helpers only when used
    EXPECT_EQ(ints.find("float "), std::string::npos);           // no float registers used
    const std::string floats = kernel_to_glsl(m.kernels[1]);
    EXPECT_NE(floats.find("int ftoi_saturating(float x)"), std::string::npos);
    EXPECT_NE(floats.find("f1 = 0.1;"), std::string::npos);
    EXPECT_NE(floats.find("f2 = uintBitsToFloat(0xff800000u);"), std::string::npos);
    EXPECT_NE(floats.find("f4 = uintBitsToFloat(0x1u);"), std::string::npos);
    EXPECT_NE(floats.find("f5 = (-0.0);"), std::string::npos);
    EXPECT_NE(floats.find("f11 = fma_exact(f10, f9, f8);"), std::string::npos);
    EXPECT_EQ(floats.find("r5"), std::string::npos);  // only used registers are declared
}

TEST(KernelGlsl, SaxpyAbi) {
    Module m = assemble_ok(
        ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n"
        " gid r0\n ldf f0, x[r0]\n ldf f1, y[r0]\n ldpf f2, a\n ffma f3, f2, f0, f1\n stf z[r0], f3\n.end\n");
    const std::string g = kernel_to_glsl(m.kernels[0]);
    for (const char* want : {
             "layout(local_size_x = 64) in;",
             "layout(push_constant, std430) uniform Launch {",
             "    uint base;", "    uint end;", "    uint count;", "    uint budget;", "    uint first;", "    uint slot[4];",
             "// parameter 0: in x: f32[i]\nlayout(std430, set = 0, binding = 0) readonly buffer B0 { float data[]; } b0;",
             "layout(std430, set = 0, binding = 2) writeonly buffer B2 { float data[]; } b2;",
             "if (lane >= pc.end) return;", "f2 = uintBitsToFloat(pc.slot[3]);  // a", "// line 6",
             // gid-indexed [i] accesses are proven: no check at all; an [i]
             // buffer is bound from element pc.first (the launch's reach)
             "    f0 = b0.data[r0 - int(pc.first)];  // x\n", "    b2.data[r0 - int(pc.first)] = f3;  // z\n",
             "layout(std430, set = 0, binding = 4) coherent volatile buffer Status {"})
        EXPECT_NE(g.find(want), std::string::npos) << want << "\n" << g;
    EXPECT_EQ(g.find("binding = 3"), std::string::npos);  // a uniform is not a buffer
    EXPECT_EQ(g.find("fault("), std::string::npos);       // nothing to check
}

// Code after exit/break/continue, empty blocks and an empty kernel still give valid SPIR-V.
TEST(KernelGlsl, DeadCodeAndEmptyBlocksCompile) {
    Module m = assemble_ok(
        ".kernel dead (inout c: i32[])\n exit\n gid r0\n loop\n break\n addi r0, r0, 1\n continue\n"
        " st c[r0], r0\n end\n if r0\n end\n if r0\n else\n end\n loop\n end\n.end\n"
        ".kernel empty ()\n.end\n");
    ASSERT_EQ(m.kernels.size(), 2u);
    for (const Kernel& k : m.kernels) EXPECT_EQ(spirv_of(k).at(0), kMagic) << k.name;
    EXPECT_NE(kernel_to_glsl(m.kernels[1]).find("    uint first;  // the element an element-wise or window buffer's binding starts at\n} pc;"),
              std::string::npos);  // no slot[0] array
}

TEST(KernelGlsl, Deterministic) {
    Module a = assemble_ok(kAllOps);
    Module b = assemble_ok(kAllOps);
    for (std::size_t i = 0; i < a.kernels.size(); ++i) {
        EXPECT_EQ(kernel_to_glsl(a.kernels[i]), kernel_to_glsl(b.kernels[i]));
        EXPECT_EQ(compile_glsl_to_spirv(kernel_to_glsl(a.kernels[i])).value(),
                  compile_glsl_to_spirv(kernel_to_glsl(b.kernels[i])).value());
    }
}

std::string params(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? ", u" : "u") + std::to_string(i) + ": i32";
    return s;
}

TEST(KernelGlsl, TwentySevenParametersFitTwentyEightDoNot) {
    Module ok = assemble_ok(".kernel k (" + params(27) + ")\n exit\n.end\n");
    EXPECT_FALSE(spirv_of(ok.kernels.at(0)).empty());
    AssembleResult r = assemble("\n.kernel big (" + params(28) + ")\n exit\n.end\n", {.filename = "big.pasm"});
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].line, 2u);
    EXPECT_EQ(r.diagnostics[0].col, 9u);
    EXPECT_EQ(r.diagnostics[0].message,
              "kernel 'big' has 28 parameters taking 28 push-constant slots; a kernel has at most 27 (one 4-byte "
              "slot per parameter, two per i64/f64 uniform)");
}

// A wide kernel's i64/f64 uniform takes two slots: 25 parameters with one
// such uniform fill the 27, 26 with two do not (reported at .kernel).
TEST(KernelGlsl, SixtyFourBitUniformsTakeTwoSlots) {
    Module ok = assemble_ok(".kernel k (" + params(25) + ", n: i64)\n.wide\n exit\n.end\n");
    EXPECT_EQ(push_slot_count(ok.kernels.at(0)), 27u);
    EXPECT_EQ(push_slot_layout(ok.kernels.at(0)).at(25), 25u);
    EXPECT_FALSE(spirv_of(ok.kernels.at(0)).empty());
    AssembleResult r =
        assemble("\n.kernel big (" + params(24) + ", n: i64, x: f64)\n.wide\n exit\n.end\n", {.filename = "big.pasm"});
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].line, 2u);
    EXPECT_EQ(r.diagnostics[0].message,
              "kernel 'big' has 26 parameters taking 28 push-constant slots; a kernel has at most 27 (one 4-byte "
              "slot per parameter, two per i64/f64 uniform)");
}

// The wide lowering reads the 64-bit uniform from its two slots and the
// next parameter from the slot after them.
TEST(KernelGlsl, WideKernelsUseInt64AndDouble) {
    Module m = assemble_ok(".kernel w (n: i64, in x: f64[], m: i32)\n.wide\n ldp r1, n\n blen r2, x\n ldp r3, m\n exit\n.end\n");
    const std::string glsl = kernel_to_glsl(m.kernels.at(0));
    EXPECT_NE(glsl.find("#extension GL_ARB_gpu_shader_int64 : require"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("r1 = int64_t(packUint2x32(uvec2(pc.slot[0], pc.slot[1])));"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("r2 = int64_t(pc.slot[2]);"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("r3 = int64_t(int(pc.slot[3]));"), std::string::npos) << glsl;
    EXPECT_NE(glsl.find("buffer B1 { double data[]; }"), std::string::npos) << glsl;
    EXPECT_FALSE(spirv_of(m.kernels.at(0)).empty());
    // A narrow kernel's text is as before: no extension, 32-bit registers.
    Module n = assemble_ok(".kernel k (n: i32)\n ldp r1, n\n exit\n.end\n");
    const std::string narrow = kernel_to_glsl(n.kernels.at(0));
    EXPECT_EQ(narrow.find("int64"), std::string::npos) << narrow;
    EXPECT_NE(narrow.find("r1 = int(pc.slot[0]);"), std::string::npos) << narrow;
}

// A window buffer's check adds the window's two ends to the length check:
// each end on its side of lane, in uint arithmetic that cannot wrap (a wide
// kernel's index is inside the 32-bit length by then). An access at gid
// inside the window is proven.
TEST(KernelGlsl, WindowChecks) {
    const char* body = R"(
        gid     r0
        ld      r1, x[r0]
        addi    r2, r0, 1
        ld      r3, x[r2]
        ld      r4, y[r0]
        ld      r5, z[r2]
        st      o[r0], r1
.end
)";
    Module m = assemble_ok(std::string(".kernel n (in x: i32[i-2..i+3], in y: i32[i+1..i+4], in z: i32[i-5..i-1], "
                                       "out o: i32[i])") + body +
                           ".kernel w (in x: i64[i-2..i+3], in y: i64[i+1..i+4], in z: i64[i-5..i-1], out o: i64[i])\n"
                           "        .wide" + body);
    ASSERT_EQ(m.kernels.size(), 2u);
    const std::string narrow = kernel_to_glsl(m.kernels[0]);
    EXPECT_EQ(narrow.find("fault(1u, 1u,"), std::string::npos) << narrow;  // x[gid]: proven
    EXPECT_NE(narrow.find("// parameter 0: in x: i32[i-2..i+3]"), std::string::npos) << narrow;
    for (const char* want : {
             "if (uint(r2) >= pc.slot[0] || ((uint(r2) < lane && lane - uint(r2) > 2u) || (uint(r2) > lane && "
             "uint(r2) - lane > 3u))) { fault(1u, 3u, 0u, r2, pc.slot[0]); return; }",
             "if (uint(r0) >= pc.slot[1] || ((uint(r0) < lane || uint(r0) - lane < 1u) || (uint(r0) > lane && "
             "uint(r0) - lane > 4u))) { fault(1u, 4u, 1u, r0, pc.slot[1]); return; }",
             "if (uint(r2) >= pc.slot[2] || ((uint(r2) < lane && lane - uint(r2) > 5u) || (uint(r2) > lane || "
             "lane - uint(r2) < 1u))) { fault(1u, 5u, 2u, r2, pc.slot[2]); return; }"})
        EXPECT_NE(narrow.find(want), std::string::npos) << want << "\n" << narrow;
    const std::string wide = kernel_to_glsl(m.kernels[1]);
    EXPECT_EQ(wide.find("fault(1u, 1u,"), std::string::npos) << wide;
    EXPECT_NE(wide.find("if (uint64_t(r2) >= uint64_t(pc.slot[0]) || ((uint(r2) < lane && lane - uint(r2) > 2u) || "
                        "(uint(r2) > lane && uint(r2) - lane > 3u))) { fault(1u, 3u, 0u, "
                        "int(clamp(r2, -2147483648l, 2147483647l)), pc.slot[0]); return; }"),
              std::string::npos)
        << wide;
    EXPECT_FALSE(spirv_of(m.kernels[0]).empty());
    EXPECT_FALSE(spirv_of(m.kernels[1]).empty());
}

TEST(KernelGlsl, CompileErrorsCarryGlslangsFirstMessage) {
    auto r = compile_glsl_to_spirv("#version 450\nlayout(local_size_x = 64) in;\nvoid main() { nope = 1; }\n");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("nope"), std::string::npos) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

TEST(KernelGlsl, SamplesAssembleWithTheirKernelsLowered) {
    for (const auto& e : fs::directory_iterator(fs::path(POLYMER_SOURCE_DIR) / "samples")) {
        if (e.path().extension() != ".pasm") continue;
        std::ifstream in(e.path());
        std::stringstream text;
        text << in.rdbuf();
        AssembleResult r = assemble(text.str(), {.filename = e.path().string()});
        ASSERT_TRUE(r.ok()) << e.path();
        for (const Kernel& k : r.module->kernels) {
            EXPECT_FALSE(spirv_of(k).empty()) << e.path() << " " << k.name;
        }
    }
}

// docs/kernels.md shows the GLSL of its saxpy: it must be what the generator writes.
TEST(KernelGlsl, DocsShowTheGeneratedSaxpy) {
    std::ifstream in(fs::path(POLYMER_SOURCE_DIR) / "docs" / "kernels.md");
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    std::size_t src = doc.find("```\n.kernel saxpy");
    ASSERT_NE(src, std::string::npos);
    src += 4;
    std::string source = doc.substr(src, doc.find("```", src) - src);
    std::size_t glsl = doc.find("```glsl\n");
    ASSERT_NE(glsl, std::string::npos);
    glsl += 8;
    std::string shown = doc.substr(glsl, doc.find("```", glsl) - glsl);
    Module m = assemble_ok(source);
    ASSERT_EQ(m.kernels.size(), 1u);
    EXPECT_EQ(shown, kernel_to_glsl(m.kernels[0]));
}

TEST(KernelGlsl, EmitGlslOption) {
    fs::path dir = fs::temp_directory_path() / ("polymer_emit_glsl_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::create_directories(dir);
    {
        std::ofstream(dir / "s.pasm") << ".kernel saxpy (in x: f32[i], out z: f32[i], a: f32)\n gid r0\n ldf f0, x[r0]\n"
                                         " ldpf f1, a\n fmul f0, f0, f1\n stf z[r0], f0\n.end\n";
    }
    std::string cmd = std::string(POLYMER_AS) + " --emit-glsl " + (dir / "s.pasm").string() + " -o " + (dir / "s.glsl").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(dir / "s.glsl");
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str().rfind("// kernel saxpy\n#version 450\n", 0), 0u) << text.str();
    EXPECT_NE(text.str().find("layout(std430, set = 0, binding = 1) writeonly buffer B1 { float data[]; } b1;"), std::string::npos);
    EXPECT_NE(text.str().find("    uint slot[3];"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "s.pbc"));
    fs::remove_all(dir);
}

// The Wide column of isa/kernel_ops.def says which ops a wide kernel may use;
// the lowering must have a binary64 template for exactly those.
TEST(KernelGlsl, AWideTemplateForExactlyTheOpsWideKernelsMayUse) {
    for (KOp op : kAllKOps)
        EXPECT_EQ(has_wide_lowering(op), available_in_wide_kernels(op)) << kop_info(op).mnemonic;
}

}  // namespace
}  // namespace polymer
