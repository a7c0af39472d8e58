// Window buffers (`in x: f32[i-1..i+1]`, docs/kernels.md "The lane model")
// on every executor: the lane reference, the CPU backend and Vulkan
// (lavapipe). A 3-point stencil gives the same bits everywhere, narrow and
// wide; a lane that reads left or right of its window, or past an end of
// the buffer, faults with the same record and message everywhere.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "lane_reference_executor.h"
#include "shared_vulkan.h"
#include "vm/backend.h"

namespace polymer {
namespace {

using test::buffer_arg;
using test::uniform_i32;
using test::whole_launch;

// y[i] = (x[i-1] + x[i+1] + x[i]) * 0.25 inside, x[i] at the two ends.
constexpr const char* kBlur = R"(
.kernel blur (in x: f32[i-1..i+1], out y: f32[i])
        gid     r0
        count   r5
        addi    r5, r5, -1
        ldf     f0, x[r0]
        li      r6, 0
        lt      r7, r6, r0
        lt      r8, r0, r5
        and     r7, r7, r8
        if      r7
        addi    r1, r0, -1
        addi    r2, r0, 1
        ldf     f1, x[r1]
        ldf     f2, x[r2]
        fadd    f1, f1, f2
        fadd    f1, f1, f0
        lif     f3, 0.25
        fmul    f0, f1, f3
        end
        stf     y[r0], f0
.end
.kernel blur64 (in x: f64[i-1..i+1], out y: f64[i])
        .wide
        gid     r0
        count   r5
        addi    r5, r5, -1
        ldf     f0, x[r0]
        li      r6, 0
        lt      r7, r6, r0
        lt      r8, r0, r5
        and     r7, r7, r8
        if      r7
        addi    r1, r0, -1
        addi    r2, r0, 1
        ldf     f1, x[r1]
        ldf     f2, x[r2]
        fadd    f1, f1, f2
        fadd    f1, f1, f0
        lif     f3, 0.25
        fmul    f0, f1, f3
        end
        stf     y[r0], f0
.end
)";

// Every lane reads x[gid + d] (a run of lanes: the CPU's fast path); only
// lane `at` reads x[gid + d] in `peek` (lane by lane). Narrow and wide.
constexpr const char* kPeek = R"(
.kernel shift (in x: i32[i-1..i+1], out y: i32[i], d: i32)
        gid     r0
        ldp     r1, d
        add     r1, r0, r1
        ld      r2, x[r1]
        st      y[r0], r2
.end
.kernel peek (in x: i32[i-1..i+1], out y: i32[i], d: i32, at: i32)
        gid     r0
        ldp     r3, at
        li      r1, 0
        eq      r4, r0, r3
        if      r4
        ldp     r1, d
        end
        add     r1, r0, r1
        ld      r2, x[r1]
        st      y[r0], r2
.end
.kernel shift64 (in x: i64[i-1..i+1], out y: i64[i], d: i32)
        .wide
        gid     r0
        ldp     r1, d
        add     r1, r0, r1
        ld      r2, x[r1]
        st      y[r0], r2
.end
.kernel peek64 (in x: i64[i-1..i+1], out y: i64[i], d: i32, at: i32)
        .wide
        gid     r0
        ldp     r3, at
        li      r1, 0
        eq      r4, r0, r3
        if      r4
        ldp     r1, d
        end
        add     r1, r0, r1
        ld      r2, x[r1]
        st      y[r0], r2
.end
)";

Module assembled(const char* source) {
    std::string errors;
    std::optional<Module> m = test::assemble_kernels(source, &errors);
    EXPECT_TRUE(m.has_value()) << errors;
    return m ? *m : Module{};
}

const Kernel& kernel(const Module& m, const std::string& name) {
    for (const Kernel& k : m.kernels)
        if (k.name == name) return k;
    ADD_FAILURE() << "no kernel " << name;
    return m.kernels.at(0);
}

// An executor: runs the launch, returns its fault.
struct Executor {
    std::string name;
    std::function<KernelFault(const KernelLaunch&)> run;
};

// The reference (narrow kernels only), the CPU backend on three threads in
// blocks of 64 lanes, and Vulkan when this machine has a device.
std::vector<Executor> executors(bool wide) {
    static CpuBackend cpu(CpuBackendOptions{3, 64, 0});
    std::vector<Executor> out;
    if (!wide) out.push_back({"reference", [](const KernelLaunch& l) { return run_kernel_launch_lane_by_lane(l); }});
    out.push_back({"cpu", [](const KernelLaunch& l) { return cpu.wait(cpu.submit(l)).fault; }});
    if (test::shared_vulkan())
        out.push_back({"vulkan", [](const KernelLaunch& l) {
                           VulkanBackend& vk = *test::shared_vulkan();
                           return vk.wait(vk.submit(l)).fault;
                       }});
    return out;
}

TEST(WindowKernels, ThreePointStencilIsTheSameEverywhere) {
    const Module m = assembled(kBlur);
    for (std::uint64_t n : {1ull, 2ull, 3ull, 63ull, 64ull, 65ull, 1000ull}) {
        std::vector<float> x(n);
        std::vector<double> x64(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i % 17) * 0.375f - 2.0f + static_cast<float>(i) * 1e-3f;
            x64[i] = static_cast<double>(i % 13) * 0.1 - 1.0 + static_cast<double>(i) * 1e-7;
        }
        std::vector<float> want(x);
        std::vector<double> want64(x64);
        for (std::uint64_t i = 1; i + 1 < n; ++i) {
            want[i] = ((x[i - 1] + x[i + 1]) + x[i]) * 0.25f;
            want64[i] = ((x64[i - 1] + x64[i + 1]) + x64[i]) * static_cast<double>(0.25f);
        }
        for (const Executor& e : executors(false)) {
            std::vector<float> y(n, -9.0f);
            KernelLaunch l = whole_launch(kernel(m, "blur"), {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32)}, n);
            EXPECT_FALSE(e.run(l)) << e.name << " n=" << n;
            EXPECT_EQ(y, want) << e.name << " n=" << n;
        }
        for (const Executor& e : executors(true)) {
            std::vector<double> y(n, -9.0);
            KernelLaunch l =
                whole_launch(kernel(m, "blur64"), {buffer_arg(x64, ElemType::F64), buffer_arg(y, ElemType::F64)}, n);
            EXPECT_FALSE(e.run(l)) << e.name << " n=" << n;
            EXPECT_EQ(y, want64) << e.name << " n=" << n;
        }
    }
}

struct PeekCase {
    std::string kernel;   // shift or peek (a "64" is appended for the wide kernel)
    std::int32_t d;       // the offset read
    std::int32_t at;      // peek: the one lane that reads at it
    std::uint64_t length; // of x; the launch has 300 lanes
    std::string fault;    // what describe_kernel_fault says, or "" when no lane faults
};

// x[j] = 10 j; a lane that keeps its window reads x[gid + d].
void run_peek(const Module& m, const PeekCase& c, bool wide) {
    const std::uint64_t n = 300;
    const Kernel& k = kernel(m, c.kernel + (wide ? "64" : ""));
    for (const Executor& e : executors(wide)) {
        SCOPED_TRACE(e.name + " " + k.name + " d=" + std::to_string(c.d) + " at=" + std::to_string(c.at));
        std::vector<std::int32_t> x(c.length), y(n, -1);
        std::vector<std::int64_t> x64(c.length), y64(n, -1);
        for (std::uint64_t j = 0; j < c.length; ++j) x[j] = static_cast<std::int32_t>(x64[j] = 10 * static_cast<std::int64_t>(j));
        std::vector<KernelArg> args = wide ? std::vector<KernelArg>{buffer_arg(x64, ElemType::I64), buffer_arg(y64, ElemType::I64)}
                                           : std::vector<KernelArg>{buffer_arg(x, ElemType::I32), buffer_arg(y, ElemType::I32)};
        args.push_back(uniform_i32(c.d));
        if (c.kernel == "peek") args.push_back(uniform_i32(c.at));
        const KernelFault f = e.run(whole_launch(k, args, n));
        if (c.fault.empty()) {
            EXPECT_FALSE(f) << describe_kernel_fault(m, k, f, kDefaultKernelSteps);
            for (std::uint64_t i = 0; i < n; ++i) {
                const std::int64_t j = static_cast<std::int64_t>(i) + (c.kernel == "shift" || i == std::uint64_t(c.at) ? c.d : 0);
                ASSERT_EQ(wide ? y64[i] : y[i], 10 * j) << "lane " << i;
            }
            continue;
        }
        ASSERT_TRUE(f);
        EXPECT_EQ(f.kind, KernelFault::Kind::BadIndex);
        EXPECT_EQ(describe_kernel_fault(m, k, f, kDefaultKernelSteps), c.fault);
        // Lanes below the one reported kept the contract and ran.
        for (std::uint64_t i = 0; i < f.lane; ++i) ASSERT_NE(wide ? y64[i] : y[i], -1) << "lane " << i;
    }
}

std::vector<PeekCase> peek_cases() {
    // Line numbers of the loads: shift 6 (shift64 26), peek 18 (peek64 39).
    return {
        {"shift", 1, 0, 301, ""},
        {"shift", -1, 0, 300, "kernel shift: lane 0 loaded x[-1], outside x (length 300) (window.pasm:6)"},
        {"shift", 1, 0, 300, "kernel shift: lane 299 loaded x[300], outside x (length 300) (window.pasm:6)"},
        {"shift", 2, 0, 400, "kernel shift: lane 0 loaded x[2], outside its window x[i-1..i+1] (window.pasm:6)"},
        {"shift", -2, 0, 400, "kernel shift: lane 0 loaded x[-2], outside its window x[i-1..i+1] (window.pasm:6)"},
        {"peek", -1, 77, 300, ""},
        {"peek", 2, 5, 300, "kernel peek: lane 5 loaded x[7], outside its window x[i-1..i+1] (window.pasm:18)"},
        {"peek", -2, 200, 300, "kernel peek: lane 200 loaded x[198], outside its window x[i-1..i+1] (window.pasm:18)"},
        {"peek", -1, 0, 300, "kernel peek: lane 0 loaded x[-1], outside x (length 300) (window.pasm:18)"},
        {"peek", 1, 299, 300, "kernel peek: lane 299 loaded x[300], outside x (length 300) (window.pasm:18)"},
        {"peek", 9, 299, 300, "kernel peek: lane 299 loaded x[308], outside its window x[i-1..i+1] (window.pasm:18)"},
        {"peek", -400, 3, 300, "kernel peek: lane 3 loaded x[-397], outside its window x[i-1..i+1] (window.pasm:18)"},
    };
}

TEST(WindowKernels, ReadsOutsideTheWindowOrTheBufferFaultAlikeNarrow) {
    AssembleResult r = assemble(kPeek, {.filename = "window.pasm"});
    ASSERT_TRUE(r.ok());
    for (const PeekCase& c : peek_cases()) run_peek(*r.module, c, false);
}

TEST(WindowKernels, ReadsOutsideTheWindowOrTheBufferFaultAlikeWide) {
    AssembleResult r = assemble(kPeek, {.filename = "window.pasm"});
    ASSERT_TRUE(r.ok());
    for (PeekCase c : peek_cases()) {
        // The wide kernels' loads are on lines 26 and 39, and named with 64.
        for (auto [from, to] : {std::pair{"window.pasm:6)", "window.pasm:26)"}, std::pair{"window.pasm:18)", "window.pasm:39)"},
                                std::pair{"kernel shift:", "kernel shift64:"}, std::pair{"kernel peek:", "kernel peek64:"}})
            if (auto at = c.fault.find(from); at != std::string::npos) c.fault.replace(at, std::string(from).size(), to);
        run_peek(*r.module, c, true);
    }
}

}  // namespace
}  // namespace polymer
