// Modules with `kloop` words, built by hand for the kloop tests: a source
// whose loop is preceded by `nop` and which has a hand-written `.wide` kernel
// doing the loop's body is assembled, then the nop becomes `kloop N` and the
// loop kernel entry is added, as the assembler's loop pass would
// (docs/loop-kernels.md). The kernels use only ops whose narrow and wide
// meanings agree on the tests' values.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "assembler/assembler.h"
#include "isa/frame_analysis.h"
#include "isa/opcodes.h"

namespace polymer::test {

// The source's loop whose `nop` is the n-th (from 0) still there, ending at label `end_label`.
struct LoopPatch {
    std::size_t nop = 0;
    std::string end_label;
    LoopKernel entry;  // kernel, induction, bound, compare, tested_first, step, chunk, args...; header and end are filled in
};

inline std::uint32_t label_pc(const Module& m, std::string_view name) {
    for (const Label& l : m.labels)
        if (l.name == name) return l.pc;
    ADD_FAILURE() << "no label " << name;
    return 0;
}

inline std::uint32_t kernel_index(const Module& m, std::string_view name) {
    for (std::uint32_t k = 0; k < m.kernels.size(); ++k)
        if (m.kernels[k].name == name) return k;
    ADD_FAILURE() << "no kernel " << name;
    return 0;
}

// Replaces the patch's nop by a kloop word for a new loop kernel entry. The
// kloop word takes the loop header's line; the frame table is recomputed.
inline void add_kloop(Module& m, LoopPatch patch) {
    std::size_t seen = 0;
    for (std::uint32_t pc = 0; pc < m.code.size(); ++pc) {
        if (word_op(m.code[pc]) != static_cast<std::uint8_t>(Op::Nop) || seen++ != patch.nop) continue;
        const auto entry = static_cast<std::uint32_t>(m.loop_kernels.size());
        m.code[pc] = make_word(static_cast<std::uint8_t>(Op::Kloop), 0, 0, 0, static_cast<std::int32_t>(entry));
        if (pc + 1 < m.lines.size()) m.lines[pc] = m.lines[pc + 1];
        patch.entry.header = pc + 1;
        patch.entry.end = label_pc(m, patch.end_label);
        m.loop_kernels.push_back(patch.entry);
        if (!m.frames.empty()) m.frames = compute_frames(m);
        return;
    }
    ADD_FAILURE() << "no nop number " << patch.nop;
}

inline std::unique_ptr<Module> assemble_for_loops(std::string_view source) {
    AssembleOptions ao;
    ao.filename = "loops.pasm";
    ao.loop_kernels = false;  // these modules get their kloop words and kernels by hand
    AssembleResult assembled = assemble(source, ao);
    std::string diagnostics;
    for (const Diagnostic& d : assembled.diagnostics) diagnostics += format_diagnostic(d);
    EXPECT_TRUE(assembled.ok()) << diagnostics;
    if (!assembled.ok()) return nullptr;
    return std::make_unique<Module>(std::move(*assembled.module));
}

// Two loops over xs into ys: the first in place (test after the step), the
// second, tested first, through the handle in r10 (ys, or xs when argument 1
// is not 0: then its buffers alias). r2 = argument 0 is the bound.
inline constexpr std::string_view kSquares = R"(
.region xs i32[6000] range 0, 1
.region ys i32[6000]
.kernel body (in x: i32[], out y: i32[])
        .wide
        gid     r1
        ld      r3, x[r1]
        mul     r3, r3, r3
        addi    r3, r3, 7
        st      y[r1], r3
.end

.proc main
        li      r6, 32
        li      r5, 0
        argi    r2, r5
        li      r5, 1
        argi    r9, r5
        li      r1, 0
        nop
loop:
        ld.i32  r3, xs[r1]
        mul     r3, r3, r3
        addi    r3, r3, 7
        st.i32  ys[r1], r3
        addi    r1, r1, 1
        blt     r1, r2, loop
done:
        print   r1
        printc  r6
        print   r3
        println
        rgn     r10, ys
        li      r5, 0
        beq     r9, r5, same
        rgn     r10, xs
same:
        li      r1, 0
        nop
again:
        bge     r1, r2, out
        ld.i32  r3, xs[r1]
        mul     r3, r3, r3
        addi    r3, r3, 7
        st.i32  @r10[r1], r3
        addi    r1, r1, 1
        jmp     again
out:
        print   r1
        printc  r6
        print   r3
        println
        halt
.end
)";

// kSquares with its two loops made kloops.
inline std::unique_ptr<Module> squares_module() {
    std::unique_ptr<Module> m = assemble_for_loops(kSquares);
    if (!m) return m;
    const std::uint32_t body = kernel_index(*m, "body");
    LoopKernel first;
    first.kernel = body;
    first.induction = 1;
    first.bound = 2;
    first.compare = LoopCompare::Lt;
    first.tested_first = false;
    first.step = 1;
    first.args = {{LoopArg::Kind::Region, 0}, {LoopArg::Kind::Region, 1}};
    first.accesses = {{0, false, 1, 0, false, 0}, {1, true, 1, 0, false, 0}};
    add_kloop(*m, {0, "done", first});
    LoopKernel second = first;
    second.compare = LoopCompare::Lt;  // bge exits: the loop goes on while r1 < r2
    second.tested_first = true;
    second.args = {{LoopArg::Kind::Region, 0}, {LoopArg::Kind::Region, handle_operand(10)}};
    second.accesses = {{0, false, 1, 0, false, 0}, {static_cast<std::uint8_t>(handle_operand(10)), true, 1, 0, false, 0}};
    add_kloop(*m, {0, "out", second});  // the first nop is a kloop now
    return m;
}

}  // namespace polymer::test
