// The block interpreter on kernels in which some lanes `exit` early and
// lanes read registers they have not written (tests/vm/exit_kernels.h):
// every lane's results worked out in the test, on one thread, on a piece
// whose blocks start off a multiple of the block size, and on the pool; the
// narrow kernels against the lane reference too. Blocks in which lanes
// exit, diverge or all take one path follow one another on each thread, so
// whatever one block leaves behind (registers, masks, a result stored
// straight into a buffer) shows up in the next.
#include <gtest/gtest.h>

#include <string>

#include "assembler/assembler.h"
#include "tests/vm/exit_kernels.h"
#include "tests/vm/lane_reference_executor.h"
#include "vm/backend.h"
#include "vm/cpu_kernels/cpu_kernel_executor.h"

namespace polymer {
namespace {

using test::exit_lanes::Case;
using test::exit_lanes::Lanes;

TEST(ExitLanes, EveryLaneOfEveryBlockStoresWhatItsOwnRegistersHold) {
    CpuBackend pool(CpuBackendOptions{3, 64, 0});  // 3 threads even on 2 cores, pooled from 64 lanes
    for (Lanes lanes : test::exit_lanes::kAllLanes) {
        for (auto& entry : test::exit_lanes::all_cases(lanes)) {
            const auto& text = entry.first;
            Case& c = entry.second;  // not a structured binding: the lambdas below capture it (clang 14)
            const std::string source = test::exit_lanes::kernel_source(text, lanes);
            AssembleResult assembled = assemble(source);
            ASSERT_TRUE(assembled.ok()) << format_diagnostic(assembled.diagnostics.at(0)) << "\n" << source;
            const Kernel& k = assembled.module->kernels.at(0);
            ASSERT_EQ(k.wide, lanes != Lanes::Narrow);
            auto check = [&](const char* how, std::uint64_t begin, std::uint64_t end, auto&& run) {
                c.reset_outputs();
                const KernelFault f = run(c.launch(k, begin, end));
                EXPECT_FALSE(f) << c.what << ", " << how;
                const std::string diff = c.mismatch(begin, end);
                EXPECT_EQ(diff, "") << how;
                return diff.empty();
            };
            const auto blocks = [](const KernelLaunch& l) { return run_kernel_launch(l); };
            if (!check("one thread", 0, c.lanes, blocks)) continue;
            check("lanes 37 to the last but 3", 37, c.lanes - 3, blocks);
            check("the pool", 0, c.lanes, [&](const KernelLaunch& l) { return pool.wait(pool.submit(l)).fault; });
            if (lanes == Lanes::Narrow)
                check("the lane reference", 0, c.lanes, [](const KernelLaunch& l) { return run_kernel_launch_lane_by_lane(l); });
        }
    }
}

}  // namespace
}  // namespace polymer
