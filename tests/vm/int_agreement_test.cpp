// Every integer op of the kernel table (isa/kernel_ops.def: the pure ops of
// formats R, RR, RRR, RRI, RI) on the CPU backend and on Vulkan (lavapipe
// here), bit for bit, as docs/kernels.md promises: every pair of edge values
// (0, +-1, the ends of i32 and u32, shift counts around 31, a hash constant),
// then random bit patterns; an op with an immediate with edge and random
// immediates (every amount 0..31 for a shift). The ops come from the table,
// so a new row is compared the day it is added. The CPU side is itself
// checked op by op against the lane-at-a-time reference in
// cpu_kernels_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/opcodes.h"
#include "kernel_test_util.h"
#include "shared_vulkan.h"
#include "splitmix.h"
#include "table_ops.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

using test::buffer_arg;
using test::whole_launch;

std::unique_ptr<VulkanBackend>& vulkan() { return test::shared_vulkan(); }

constexpr std::int32_t kEdges[] = {0,  1,  -1, 2,  -2, 7, 31, 32, 33, -32, INT32_MIN, INT32_MAX, INT32_MIN + 1,
                                   static_cast<std::int32_t>(0x9E3779B1u), 65535, 65536};
constexpr std::size_t kEdgeCount = std::size(kEdges);
constexpr std::size_t kLanes = 1 << 14;

// Lane i: (a, b) = every pair of edges first, then random bits (every third
// b small, so divisions and shifts by small values are common).
std::vector<std::int32_t> operand(bool second) {
    std::vector<std::int32_t> v(kLanes);
    test::Random r{second ? 11u : 7u};
    for (std::size_t i = 0; i < kLanes; ++i) {
        if (i < kEdgeCount * kEdgeCount) {
            v[i] = kEdges[second ? i % kEdgeCount : i / kEdgeCount];
            continue;
        }
        const auto bits = static_cast<std::int32_t>(r.next() >> 32);
        v[i] = second && i % 3 == 0 ? bits % 40 : bits;
    }
    return v;
}

// The immediates an RRI or RI op is tried with.
std::vector<std::string> immediates(KOp op) {
    std::vector<std::string> out;
    if (is_kernel_shift_immediate(op)) {
        for (int n = 0; n <= kKernelShiftMax; ++n) out.push_back(std::to_string(n));
        return out;
    }
    out = {"0", "1", "-1", "0x7FFFFFFF", "0x80000000", "4294967295", "0x9E3779B1", "-2147483648", "255", "-65536"};
    test::Random r{static_cast<std::uint64_t>(op)};
    for (int i = 0; i < 4; ++i) out.push_back(std::to_string(static_cast<std::uint32_t>(r.next())));
    return out;
}

// Lane g writes op's result with immediate k (or its only result) to
// z[g * results + k].
struct OpKernel {
    std::string source;
    std::size_t results = 1;
};

OpKernel op_kernel(KOp op) {
    const KOpInfo& info = kop_info(op);
    const std::string mn(info.mnemonic);
    OpKernel k;
    std::vector<std::string> lines;
    switch (info.format) {
    case Format::R: lines = {mn + " r3"}; break;
    case Format::RR: lines = {mn + " r3, r1"}; break;
    case Format::RRR: lines = {mn + " r3, r1, r2"}; break;
    case Format::RRI:
        for (const std::string& imm : immediates(op)) lines.push_back(mn + " r3, r1, " + imm);
        break;
    case Format::RI:
        for (const std::string& imm : immediates(op)) lines.push_back(mn + " r3, " + imm);
        break;
    default: return {};
    }
    k.results = lines.size();
    k.source = ".kernel t (in x: i32[i], in y: i32[i], out z: i32[])\n        gid r0\n        ld r1, x[r0]\n"
               "        ld r2, y[r0]\n        muli r4, r0, " + std::to_string(k.results) + "\n";
    for (const std::string& l : lines) k.source += "        " + l + "\n        st z[r4], r3\n        addi r4, r4, 1\n";
    k.source += ".end\n";
    return k;
}

bool is_integer_op(KOp op) {
    const Format f = kop_info(op).format;
    return kop_effect(op) == KEffect::Pure &&
           (f == Format::R || f == Format::RR || f == Format::RRR || f == Format::RRI || f == Format::RI);
}

class IntAgreement : public ::testing::Test {
protected:
    void SetUp() override {
        if (!vulkan()) GTEST_SKIP() << "no Vulkan device";
    }
};

TEST(IntAgreementTable, EveryIntegerFormatOfTheKernelTableIsCompared) {
    // The integer ops the test takes from the table include the newest rows.
    const auto rri = test::kernel_mnemonics(Format::RRI), rrr = test::kernel_mnemonics(Format::RRR),
               rr = test::kernel_mnemonics(Format::RR);
    for (const char* mn : {"addi", "andi", "xori", "shli", "sari"})
        EXPECT_NE(std::find(rri.begin(), rri.end(), mn), rri.end()) << mn;
    for (const char* mn : {"add", "divu", "remu", "ltu", "leu"}) EXPECT_NE(std::find(rrr.begin(), rrr.end(), mn), rrr.end()) << mn;
    for (const char* mn : {"neg", "not"}) EXPECT_NE(std::find(rr.begin(), rr.end(), mn), rr.end()) << mn;
    for (KOp op : kAllKOps) {
        if (!is_integer_op(op)) continue;
        EXPECT_FALSE(op_kernel(op).source.empty()) << kop_info(op).mnemonic;
    }
}

TEST_F(IntAgreement, EachOpOnEdgePairsAndRandomBits) {
    const std::vector<std::int32_t> x = operand(false), y = operand(true);
    for (KOp op : kAllKOps) {
        if (!is_integer_op(op)) continue;
        const KOpInfo& info = kop_info(op);
        const OpKernel ok = op_kernel(op);
        std::string errors;
        auto m = test::assemble_kernels(ok.source, &errors);
        ASSERT_TRUE(m) << info.mnemonic << ": " << errors;
        const Kernel& k = m->kernels[0];
        std::vector<std::int32_t> xs = x, ys = y, z_cpu(kLanes * ok.results, -7), z_vk(kLanes * ok.results, -9);
        auto args = [&](std::vector<std::int32_t>& z) {
            return std::vector<KernelArg>{buffer_arg(xs, ElemType::I32), buffer_arg(ys, ElemType::I32),
                                          buffer_arg(z, ElemType::I32)};
        };
        CpuBackend cpu;
        ASSERT_FALSE(cpu.wait(cpu.submit(whole_launch(k, args(z_cpu), kLanes))).fault) << info.mnemonic;
        ASSERT_FALSE(vulkan()->wait(vulkan()->submit(whole_launch(k, args(z_vk), kLanes))).fault) << info.mnemonic;
        const std::string error = vulkan()->take_error();
        ASSERT_TRUE(error.empty()) << error;
        std::size_t failures = 0;
        for (std::size_t i = 0; i < z_cpu.size() && failures < 5; ++i) {
            if (z_cpu[i] == z_vk[i]) continue;
            ++failures;
            const std::size_t lane = i / ok.results;
            ADD_FAILURE() << info.mnemonic << " lane " << lane << " result " << i % ok.results << ": x=" << x[lane]
                          << " y=" << y[lane] << ": cpu " << z_cpu[i] << ", vulkan " << z_vk[i] << "\n"
                          << ok.source;
        }
    }
}

}  // namespace
}  // namespace polymer
