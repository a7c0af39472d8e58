// RoutingBackend: which backend each op goes to (by mode, class and size),
// that tickets from both backends can be in flight and are waited where they
// were issued, that a CPU op waits for a Vulkan op writing what it touches,
// the counts and bytes --stats prints, and what choose_backend picks here
// (lavapipe: auto routes by size). Runs under the validation layers.
#include "vm/backend_router.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "isa/encoding.h"
#include "sample_kernels.h"
#include "vm/backend_chooser.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

RegionView f32(std::vector<float>& v) { return {ElemType::F32, v.empty() ? nullptr : v.data(), v.size()}; }
RegionView f64(std::vector<double>& v) { return {ElemType::F64, v.empty() ? nullptr : v.data(), v.size()}; }

VectorOpArgs vadd(RegionView dst, RegionView a, RegionView b) {
    VectorOpArgs x;
    x.op = Op::Vadd;
    x.dst = dst;
    x.a = a;
    x.b = b;
    return x;
}

std::unique_ptr<VulkanBackend> make_vulkan() {
    VulkanBackendOptions o;
    o.pipeline_cache_enabled = false;
    auto b = VulkanBackend::create(o);
    return b ? std::move(b.value()) : nullptr;
}

// Element-wise ops from 1000 elements go to Vulkan, reductions from 10, the
// rest never.
RoutingTable test_table() {
    RoutingTable t;
    t.vulkan_from.fill(RoutingTable::kNever);
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Elementwise)] = 1000;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Reduction)] = 10;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::LoopKernel)] = 100;
    return t;
}

class BackendRouter : public ::testing::Test {
protected:
    void SetUp() override {
        auto vk = make_vulkan();
        if (!vk) GTEST_SKIP() << "no Vulkan device";
        vk_ = vk.get();
        router_ = std::make_unique<RoutingBackend>(std::move(vk), RouteMode::BySize, test_table());
    }
    void TearDown() override {
        if (!router_) return;
        EXPECT_EQ(vk_->take_error(), "");
        EXPECT_EQ(vk_->context().validation_errors(), 0u);
    }
    VulkanBackend* vk_ = nullptr;
    std::unique_ptr<RoutingBackend> router_;
};

TEST(RouteClassAndSize, FromTheOpAndTheKernel) {
    EXPECT_EQ(route_class(Op::Vadd), RouteClass::Elementwise);
    EXPECT_EQ(route_class(Op::Vselect), RouteClass::Elementwise);
    EXPECT_EQ(route_class(Op::Vdoti), RouteClass::Reduction);
    EXPECT_EQ(route_class(Op::Vscan), RouteClass::Scan);
    EXPECT_EQ(route_class(Op::Vmatmul), RouteClass::Matmul);
    std::vector<float> c(6 * 7), a(6 * 5), b(5 * 7);
    VectorOpArgs mm = vadd(f32(c), f32(a), f32(b));
    mm.op = Op::Vmatmul;
    mm.int_scalar = 5;
    EXPECT_EQ(route_size(mm), 6u * 7u * 5u);
    VectorOpArgs sum;
    sum.op = Op::Vsum;
    sum.a = f32(a);
    EXPECT_EQ(route_size(sum), 30u);

    auto saxpy = test::load_sample("10-saxpy.pasm");
    auto matmul = test::load_sample("13-matmul.pasm");
    ASSERT_TRUE(saxpy && matmul);
    EXPECT_EQ(route_class(saxpy->kernels[test::kernel_index(*saxpy, "saxpy")]), RouteClass::Kernel);
    EXPECT_EQ(route_class(matmul->kernels[test::kernel_index(*matmul, "matmul")]), RouteClass::LoopKernel);
    KernelLaunch l;
    l.count = 100;
    l.begin = 40;
    l.end = 90;
    EXPECT_EQ(route_size(l), 50u);
}

TEST_F(BackendRouter, BySizeSendsEachOpWhereTheTableSays) {
    std::vector<float> a(1000, 1.5f), b(1000, 2.0f), c(1000);
    std::vector<float> sa(999, 1.0f), sb(999, 3.0f), sc(999);
    EXPECT_EQ(router_->route(vadd(f32(c), f32(a), f32(b))), RoutingBackend::OnVulkan);
    EXPECT_EQ(router_->route(vadd(f32(sc), f32(sa), f32(sb))), RoutingBackend::OnCpu);
    router_->wait(router_->submit(vadd(f32(c), f32(a), f32(b))));
    router_->wait(router_->submit(vadd(f32(sc), f32(sa), f32(sb))));
    EXPECT_EQ(c[999], 3.5f);
    EXPECT_EQ(sc[998], 4.0f);
    // f64 has no shader: the CPU, whatever its size.
    std::vector<double> da(5000, 1.0), db(5000, 2.0), dc(5000);
    router_->wait(router_->submit(vadd(f64(dc), f64(da), f64(db))));
    EXPECT_EQ(dc[4999], 3.0);
    // A scan never goes to Vulkan under this table.
    VectorOpArgs scan;
    scan.op = Op::Vscan;
    scan.dst = f32(c);
    scan.a = f32(a);
    router_->wait(router_->submit(scan));
    EXPECT_EQ(c[999], 1500.0f);

    const RoutingBackend::Counts& n = router_->counts();
    EXPECT_EQ(n.vector_ops[RoutingBackend::OnVulkan], 1u);
    EXPECT_EQ(n.vector_ops[RoutingBackend::OnCpu], 3u);
    EXPECT_EQ(router_->counts_text(), "vector ops: 1 on vulkan, 3 on cpu; kernels: 0 on vulkan, 0 on cpu");
    // Only the op on Vulkan moved bytes: a and b in, c out.
    EXPECT_EQ(router_->stats().bytes_uploaded, 8000u);
    EXPECT_EQ(router_->stats().bytes_downloaded, 4000u);
    EXPECT_NE(router_->bytes_text().find("vulkan 7.8 KiB up, 3.9 KiB down"), std::string::npos)
        << router_->bytes_text();
    EXPECT_NE(router_->bytes_text().find("cpu 0 B (works on the regions in place)"), std::string::npos);
    EXPECT_EQ(router_->table_text(),
              "element-wise from 1000, reduction from 10, scan never, matmul never, kernel never, "
              "kernel with a loop from 100");
}

TEST_F(BackendRouter, KernelsByLoopAndLanes) {
    auto m = test::load_sample("13-matmul.pasm");
    ASSERT_TRUE(m);
    const Kernel& k = m->kernels[test::kernel_index(*m, "matmul")];
    const std::int32_t n = 12;  // 144 lanes: over the table's 100
    std::vector<float> a(n * n), b(n * n, 0.0f), c_vk(n * n), c_cpu(n * n);
    std::iota(a.begin(), a.end(), 0.0f);
    for (int i = 0; i < n; ++i) b[i * n + i] = 2.0f;  // 2 I: C = 2 A
    auto launch = [&](std::vector<float>& c, std::uint64_t lanes) {
        KernelLaunch l;
        l.kernel = &k;
        l.args = {{a.data(), a.size(), ElemType::F32, 0}, {b.data(), b.size(), ElemType::F32, 0},
                  {c.data(), lanes, ElemType::F32, 0}, {nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(n)}};
        l.count = l.end = lanes;
        return l;
    };
    EXPECT_EQ(router_->route(launch(c_vk, 144)), RoutingBackend::OnVulkan);
    EXPECT_EQ(router_->route(launch(c_cpu, 99)), RoutingBackend::OnCpu);
    router_->wait(router_->submit(launch(c_vk, 144)));
    router_->wait(router_->submit(launch(c_cpu, 99)));
    for (int i = 0; i < 99; ++i) ASSERT_EQ(c_cpu[i], 2 * a[i]) << i;
    for (int i = 0; i < 144; ++i) ASSERT_EQ(c_vk[i], 2 * a[i]) << i;
    EXPECT_EQ(router_->counts().kernels[RoutingBackend::OnVulkan], 1u);
    EXPECT_EQ(router_->counts().kernels[RoutingBackend::OnCpu], 1u);
}

TEST_F(BackendRouter, TicketsFromBothBackendsAreWaitedWhereTheyWereIssued) {
    std::vector<float> big(5000), small(5);
    std::iota(big.begin(), big.end(), 1.0f);
    std::iota(small.begin(), small.end(), 1.0f);
    VectorOpArgs on_vk;  // 5000 >= 10: Vulkan
    on_vk.op = Op::Vsum;
    on_vk.a = f32(big);
    VectorOpArgs on_cpu = on_vk;  // 5 < 10: the CPU
    on_cpu.a = f32(small);
    ASSERT_EQ(router_->route(on_vk), RoutingBackend::OnVulkan);
    ASSERT_EQ(router_->route(on_cpu), RoutingBackend::OnCpu);
    const Ticket t_vk = router_->submit(on_vk);
    const Ticket t_cpu = router_->submit(on_cpu);
    EXPECT_NE(t_vk, t_cpu);
    EXPECT_EQ(vk_->in_flight(), 1u);
    EXPECT_EQ(router_->wait(t_cpu).float_value, 15.0);
    EXPECT_EQ(router_->wait(t_vk).float_value, 5000.0 * 5001 / 2);
}

TEST_F(BackendRouter, ACpuOpWaitsForAVulkanOpWritingWhatItReads) {
    std::vector<float> a(4000, 1.0f), b(4000, 2.0f), c(4000, -1.0f);
    router_->submit(vadd(f32(c), f32(a), f32(b)));  // Vulkan; c comes back at its wait
    ASSERT_EQ(vk_->in_flight(), 1u);
    VectorOpArgs scan;  // never on Vulkan: runs on the CPU now, reading c
    scan.op = Op::Vscan;
    scan.dst = f32(a);
    scan.a = f32(c);
    router_->wait(router_->submit(scan));
    EXPECT_EQ(vk_->in_flight(), 0u);
    EXPECT_EQ(a[3999], 12000.0f);
    router_->wait_all();
}

// The CPU backend runs big launches on its thread pool and returns at once:
// a Vulkan op reading their output must wait for them.
TEST_F(BackendRouter, AVulkanOpWaitsForACpuLaunchWritingWhatItReads) {
    RoutingTable table = test_table();
    table.vulkan_from[static_cast<std::size_t>(RouteClass::LoopKernel)] = RoutingTable::kNever;
    RoutingBackend router(make_vulkan(), RouteMode::BySize, table);
    auto m = test::load_sample("13-matmul.pasm");
    ASSERT_TRUE(m);
    const Kernel& k = m->kernels[test::kernel_index(*m, "matmul")];
    // 262,144 lanes of a 32-step loop: tens of milliseconds on the pool.
    const std::uint64_t lanes = 262'144;
    const std::int32_t inner = 32;
    std::vector<float> a(lanes, 1.0f), b(inner * inner, 1.0f), c(lanes, 0.0f), w(lanes, -1.0f);
    KernelLaunch l;
    l.kernel = &k;
    l.args = {{a.data(), a.size(), ElemType::F32, 0}, {b.data(), b.size(), ElemType::F32, 0},
              {c.data(), c.size(), ElemType::F32, 0}, {nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(inner)}};
    l.count = l.end = lanes;
    ASSERT_EQ(router.route(l), RoutingBackend::OnCpu);
    const Ticket t_kernel = router.submit(l);
    ASSERT_EQ(router.route(vadd(f32(w), f32(c), f32(c))), RoutingBackend::OnVulkan);
    const Ticket t_add = router.submit(vadd(f32(w), f32(c), f32(c)));  // reads c
    router.wait(t_add);
    router.wait(t_kernel);  // already waited for by the router: returns at once
    for (std::uint64_t i = 0; i < lanes; ++i) ASSERT_EQ(w[i], 64.0f) << i;  // c = 32 everywhere
}

TEST_F(BackendRouter, VulkanModeSendsEverythingItCanRun) {
    RoutingBackend all(make_vulkan(), RouteMode::Vulkan);
    std::vector<float> a(3, 1.0f), b(3, 2.0f), c(3);
    std::vector<double> da(3, 1.0), db(3, 2.0), dc(3);
    all.wait(all.submit(vadd(f32(c), f32(a), f32(b))));
    all.wait(all.submit(vadd(f64(dc), f64(da), f64(db))));
    EXPECT_EQ(all.counts_text(), "vector ops: 1 on vulkan, 1 on cpu; kernels: 0 on vulkan, 0 on cpu");
    EXPECT_EQ(c[2], 3.0f);
    EXPECT_EQ(dc[2], 3.0);
}

// A kernel the device cannot run goes to the CPU, and --stats can say why
// (here: more push-constant slots than Vulkan has; a wide kernel on a device
// without int64/float64 is refused the same way).
TEST_F(BackendRouter, TheReasonAKernelRanOnTheCpuIsKept) {
    RoutingBackend all(make_vulkan(), RouteMode::Vulkan);
    Kernel k;
    k.name = "roomy";
    k.wide = true;
    KernelParam u;
    u.kind = ParamKind::Uniform;
    u.type = ElemType::I64;
    for (int i = 0; i < 15; ++i) {
        u.name = "u" + std::to_string(i);
        k.params.push_back(u);
    }
    k.code = {make_word(static_cast<std::uint8_t>(KOp::Exit))};
    KernelLaunch l;
    l.kernel = &k;
    l.args.assign(15, KernelArg{nullptr, 0, ElemType::I64, 1});
    l.count = l.end = 4;
    EXPECT_EQ(all.route(l), RoutingBackend::OnCpu);
    EXPECT_FALSE(all.wait(all.submit(l)).fault);
    ASSERT_EQ(all.refusals().size(), 1u);
    EXPECT_NE(all.refusals().at("roomy").find("15 parameters taking 30 push-constant slots"), std::string::npos)
        << all.refusals().at("roomy");
    EXPECT_EQ(all.counts().kernels[RoutingBackend::OnCpu], 1u);
}

TEST(BackendChooser, OnThisMachine) {
    auto cpu = choose_backend(BackendKind::Cpu, 0);
    ASSERT_TRUE(cpu);
    EXPECT_EQ(cpu.value().backend->mode(), RouteMode::Cpu);
    EXPECT_EQ(cpu.value().backend->bytes_text(), "cpu 0 B (works on the regions in place)");
    auto vk = make_vulkan();
    if (!vk) GTEST_SKIP() << "no Vulkan device";
    const vk::DeviceType type = vk->device().type;
    vk.reset();
    auto automatic = choose_backend(BackendKind::Auto, 0);
    ASSERT_TRUE(automatic);
    EXPECT_EQ(automatic.value().notice, "");
    const bool gpu = type == vk::DeviceType::Discrete || type == vk::DeviceType::Integrated;
    // A GPU is preferred for everything; lavapipe gets ops by size.
    EXPECT_EQ(automatic.value().backend->mode(), gpu ? RouteMode::Vulkan : RouteMode::BySize);
    auto vulkan = choose_backend(BackendKind::Vulkan, 0);
    ASSERT_TRUE(vulkan);
    EXPECT_EQ(vulkan.value().backend->mode(), RouteMode::Vulkan);
    EXPECT_FALSE(choose_backend(BackendKind::Vulkan, 1000));  // no such device
}

// An op the device fails reaches on_failure once, with the device's name and
// its message (polymer-run's handler then stops the run: polymer_run_test).
TEST(BackendRouterFailure, DeviceFailuresReachTheHandler) {
    VulkanBackendOptions o;
    o.pipeline_cache_enabled = false;
    o.fail_submit_from = 1;  // every submit fails, as on a lost device
    auto vk = VulkanBackend::create(o);
    if (!vk) GTEST_SKIP() << "no Vulkan device";
    RoutingBackend router(std::move(vk.value()), RouteMode::Vulkan);
    std::vector<std::string> failures;
    router.on_failure([&](const std::string& why) { failures.push_back(why); });
    std::vector<float> a(4096, 1.0f), b(4096, 2.0f), c(4096, 0.0f);
    router.wait(router.submit(vadd(f32(c), f32(a), f32(b))));
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].rfind("Vulkan device '", 0), 0u) << failures[0];
    EXPECT_NE(failures[0].find("vkQueueSubmit failed: VK_ERROR_DEVICE_LOST"), std::string::npos) << failures[0];
    router.wait_all();
    EXPECT_EQ(failures.size(), 1u);  // said once
}

}  // namespace
}  // namespace polymer
