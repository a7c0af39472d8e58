// The embedding API on a Vulkan device (lavapipe will do): a kernel's results
// are in the region when run() returns, and a device that fails an op is a
// backend_failed outcome, not an exit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <vector>

#include "polymer/polymer.h"

namespace {

constexpr const char* kScale = R"(
.region xs f32[0]
.region ys f32[0]
.kernel scale (in x: f32[i], out y: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldpf    f1, a
        fmul    f2, f0, f1
        stf     y[r0], f2
.end
.proc main
        len     r1, xs
        alloc   ys, r1
        launch  scale, r1, xs, ys, f1
        halt
.end
)";

polymer::InstanceOptions vulkan_options() {
    polymer::InstanceOptions o;
    o.backend = polymer::BackendChoice::vulkan;
    return o;
}

TEST(EmbedVulkan, AKernelsResultsAreInTheRegionWhenRunReturns) {
    for (polymer::ExecutionMode mode : {polymer::ExecutionMode::in_order, polymer::ExecutionMode::spec}) {
        polymer::InstanceOptions o = vulkan_options();
        o.exec = mode;
        polymer::Instance vm(polymer::Program::assemble(kScale), o);
        EXPECT_EQ(vm.backend_description().rfind("vulkan", 0), 0u) << vm.backend_description();
        std::vector<float> xs(5000);
        for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i);
        vm.write("xs", xs);
        vm.set_float_register(1, 3.0);
        polymer::RunOutcome done = vm.run();
        ASSERT_TRUE(done.ok()) << done.message;
        std::span<const float> ys = vm.region<float>("ys");
        ASSERT_EQ(ys.size(), xs.size());
        for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(ys[i], 3.0f * xs[i]) << "element " << i;
    }
}

TEST(EmbedVulkan, AFailedDeviceIsAnOutcome) {
    ::setenv("POLYMER_VK_FAIL_SUBMIT", "1", 1);  // the backend's own test hook: every submit fails
    polymer::Instance vm(polymer::Program::assemble(kScale), vulkan_options());
    ::unsetenv("POLYMER_VK_FAIL_SUBMIT");
    vm.write("xs", std::vector<float>(64, 1.0f));
    polymer::RunOutcome failed = vm.run();
    EXPECT_EQ(failed.status, polymer::RunOutcome::Status::backend_failed);
    EXPECT_NE(failed.message.find("Vulkan device"), std::string::npos) << failed.message;
    // The flag that stopped it is cleared: the next instance runs.
    polymer::InstanceOptions cpu;
    cpu.backend = polymer::BackendChoice::cpu;
    polymer::Instance next(polymer::Program::assemble(kScale), cpu);
    next.write("xs", std::vector<float>(64, 1.0f));
    EXPECT_TRUE(next.run().ok());
}

}  // namespace
