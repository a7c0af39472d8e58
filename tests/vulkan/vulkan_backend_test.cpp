// VulkanBackend on the machine's driver (lavapipe in CI), under the
// validation layers (CTest sets POLYMER_VK_VALIDATION=1): kernels written by
// hand to the kernel ABI, vector ops, ordering, the pipeline cache file.
#include "vm/vulkan/vulkan_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "assembler/assembler.h"
#include "tests/vulkan/test_kernels.h"

namespace polymer {
namespace {

using test::buffer_arg;
using test::buffer_param;
using test::uniform_arg;
using test::uniform_param;

std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// A fresh temp dir per test, removed afterwards; backends write their
// pipeline cache there so tests never touch ~/.cache.
class VulkanBackendTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("polymer-vkbackend-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        backend_ = make();
    }
    void TearDown() override {
        if (backend_) {
            EXPECT_EQ(backend_->take_error(), "");
            check_and_destroy(std::move(backend_));
        }
        std::filesystem::remove_all(dir_);
    }
    // The hand-written shaders of tests/vulkan/kernels by default; with
    // lowered = true, what a kernel's IR lowers to (as every tool runs).
    std::unique_ptr<VulkanBackend> make(bool lowered = false) {
        VulkanBackendOptions o;
        o.pipeline_cache_dir = dir_;
        if (!lowered) o.kernel_spirv = test::hand_written_spirv;
        auto b = VulkanBackend::create(o);
        if (!b) {
            ADD_FAILURE() << b.error();
            return nullptr;
        }
        return std::move(b.value());
    }
    // Validation counts errors up to and including device destruction (where
    // leaked objects are reported), so check before and after.
    static void check_and_destroy(std::unique_ptr<VulkanBackend> b) {
        vk::VulkanContext& ctx = b->context();
        EXPECT_TRUE(ctx.validation_enabled()) << "run under POLYMER_VK_VALIDATION=1";
        EXPECT_EQ(ctx.validation_errors(), 0u);
        // Leaked objects are reported while the device is destroyed; the
        // context prints every message it counts.
        ::testing::internal::CaptureStderr();
        b.reset();
        std::string said = ::testing::internal::GetCapturedStderr();
        EXPECT_EQ(said.find("vulkan validation"), std::string::npos) << said;
    }

    std::filesystem::path dir_;
    std::unique_ptr<VulkanBackend> backend_;
};

Kernel saxpy_kernel() {
    return test::load_kernel("saxpy", {buffer_param("x", Access::In, ElemType::F32),
                                       buffer_param("y", Access::InOut, ElemType::F32),
                                       uniform_param("a", ElemType::F32)});
}

KernelLaunch launch_of(const Kernel& k, std::vector<KernelArg> args, std::uint64_t count) {
    KernelLaunch l;
    l.kernel = &k;
    l.args = std::move(args);
    l.count = count;
    l.begin = 0;
    l.end = count;
    return l;
}

TEST_F(VulkanBackendTest, SaxpyMatchesACpuLoopAtEverySize) {
    ASSERT_TRUE(backend_);
    Kernel k = saxpy_kernel();
    for (std::uint64_t n : {0ull, 1ull, 63ull, 64ull, 65ull, 1'000'003ull}) {
        std::vector<float> x(n), y(n), want(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i % 1000) * 0.5f;
            y[i] = static_cast<float>(i % 7) - 3.0f;
            want[i] = 2.5f * x[i] + y[i];
        }
        KernelLaunch l = launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(2.5f))}, n);
        std::string why;
        ASSERT_TRUE(backend_->can_run(l, &why)) << why;
        Ticket t = backend_->submit(l);
        backend_->wait(t);
        EXPECT_EQ(y, want) << "n = " << n;
    }
    EXPECT_EQ(backend_->kernel_pipelines().size(), 1u);  // one pipeline, reused
}

// On a device that shares the host's memory (lavapipe, integrated GPUs) a
// kernel works on the regions where they are: nothing is copied either way.
// Storage not aligned as a descriptor offset must be falls back to copies.
// Either way the bytes around a region stay as they were.
TEST_F(VulkanBackendTest, KernelsWorkOnHostMemoryInPlaceAndCopyWhenMisaligned) {
    ASSERT_TRUE(backend_);
    const vk::DeviceType type = backend_->context().device_info().type;
    const bool shares = type == vk::DeviceType::Cpu || type == vk::DeviceType::Integrated;
    ASSERT_EQ(backend_->context().can_import_host_memory(), shares)
        << "VK_EXT_external_memory_host is expected on " << backend_->context().device_info().name;
    Kernel k = saxpy_kernel();
    constexpr std::uint64_t n = 100'003;
    for (std::size_t shift : {std::size_t{0}, std::size_t{1}}) {  // 1: 4 bytes off a 16-byte boundary
        // Guard elements on both sides of x and y.
        std::vector<float> xs(n + 8, -7.0f), ys(n + 8, -9.0f);
        float* x = xs.data() + 4 + shift;  // std::vector<float> storage is 16-byte aligned
        float* y = ys.data() + 4 + shift;
        std::vector<float> want(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i % 100);
            y[i] = 1.0f;
            want[i] = 3.0f * x[i] + 1.0f;
        }
        KernelArg xa{x, n, ElemType::F32, 0}, ya{y, n, ElemType::F32, 0};
        KernelLaunch l = launch_of(k, {xa, ya, uniform_arg(bits(3.0f))}, n);
        const BackendStats before = backend_->stats();
        backend_->wait(backend_->submit(l));
        const BackendStats after = backend_->stats();
        EXPECT_TRUE(std::equal(want.begin(), want.end(), y)) << "shift " << shift;
        for (std::size_t g = 0; g < 4 + shift; ++g) EXPECT_EQ(ys[g], -9.0f) << g;
        for (std::size_t g = 4 + shift + n; g < ys.size(); ++g) EXPECT_EQ(ys[g], -9.0f) << g;
        const bool in_place = shares && shift == 0;
        EXPECT_EQ(after.bytes_uploaded - before.bytes_uploaded, in_place ? 0u : 2 * n * 4) << "shift " << shift;
        EXPECT_EQ(after.bytes_downloaded - before.bytes_downloaded, in_place ? 0u : n * 4) << "shift " << shift;
    }
}

TEST_F(VulkanBackendTest, ALaunchSplitIntoManyDispatchesCoversEveryLane) {
    check_and_destroy(std::move(backend_));
    VulkanBackendOptions o;
    o.pipeline_cache_dir = dir_;
    o.max_groups_per_dispatch = 3;  // 192 lanes per dispatch
    o.kernel_spirv = test::hand_written_spirv;
    auto made = VulkanBackend::create(o);
    ASSERT_TRUE(made) << made.error();
    backend_ = std::move(made.value());
    Kernel k = test::load_kernel("uniforms", {buffer_param("o", Access::Out, ElemType::I32),
                                              buffer_param("f", Access::Out, ElemType::F32),
                                              uniform_param("k", ElemType::I32), uniform_param("s", ElemType::F32)});
    std::vector<std::int32_t> o_(2000, -1);
    std::vector<float> f(2000, -1.0f);
    KernelLaunch l = launch_of(k, {buffer_arg(o_, ElemType::I32), buffer_arg(f, ElemType::F32), uniform_arg(2),
                                   uniform_arg(bits(1.0f))}, 2000);
    l.begin = 5;
    l.end = 1990;  // 10 dispatches and a bit, none aligned to a group
    backend_->wait(backend_->submit(l));
    for (int i = 0; i < 2000; ++i) {
        bool in = i >= 5 && i < 1990;
        ASSERT_EQ(o_[i], in ? 2 * i + 2000 : -1) << i;
        ASSERT_EQ(f[i], in ? static_cast<float>(i) : -1.0f) << i;
    }
}

// The discrete-GPU path (device-local buffers behind staging buffers, copies
// recorded around the dispatch), forced on so it runs on lavapipe too.
TEST_F(VulkanBackendTest, DeviceLocalBuffersThroughStaging) {
    check_and_destroy(std::move(backend_));
    VulkanBackendOptions o;
    o.pipeline_cache_dir = dir_;
    o.device_local_buffers = true;
    o.kernel_spirv = test::hand_written_spirv;
    auto made = VulkanBackend::create(o);
    ASSERT_TRUE(made) << made.error();
    backend_ = std::move(made.value());
    EXPECT_TRUE(backend_->uses_staging());
    Kernel k = saxpy_kernel();
    for (std::uint64_t n : {0ull, 1ull, 65ull, 1'000'003ull}) {
        std::vector<float> x(n, 2.0f), y(n, 1.0f), z(n, 0.5f);
        // y = 3x + y, then z = 1y + z (reads the first's output).
        Ticket t1 = backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(3.0f))}, n));
        Ticket t2 = backend_->submit(launch_of(k, {buffer_arg(y, ElemType::F32), buffer_arg(z, ElemType::F32), uniform_arg(bits(1.0f))}, n));
        backend_->wait(t2);
        backend_->wait(t1);
        EXPECT_EQ(y, std::vector<float>(n, 7.0f)) << n;
        EXPECT_EQ(z, std::vector<float>(n, 7.5f)) << n;
        EXPECT_EQ(x, std::vector<float>(n, 2.0f)) << n;
    }
    Kernel shifted = test::load_kernel("shifted", {buffer_param("x", Access::In, ElemType::I32, Indexing::Broadcast),
                                                   buffer_param("y", Access::Out, ElemType::I32, Indexing::Broadcast)});
    std::vector<std::int32_t> mem(4 + 10 + 4, 0x5a5a5a5a);
    std::vector<std::int32_t> x(10, 1);
    for (int i = 4; i < 14; ++i) mem[i] = -1;
    KernelArg ay{mem.data() + 4, 10, ElemType::I32};
    backend_->wait(backend_->submit(launch_of(shifted, {buffer_arg(x, ElemType::I32), ay}, 10)));
    EXPECT_EQ(std::vector<std::int32_t>(mem.begin() + 4, mem.begin() + 14),
              (std::vector<std::int32_t>{-1, -1, -1, 1000, 1000, 1001, 1001, 1001, 1001, 1001}));
    for (int i : {0, 1, 2, 3, 14, 15, 16, 17}) EXPECT_EQ(mem[i], 0x5a5a5a5a) << i;
}

TEST_F(VulkanBackendTest, UniformIntAndFloatAndCount) {
    ASSERT_TRUE(backend_);
    Kernel k = test::load_kernel("uniforms", {buffer_param("o", Access::Out, ElemType::I32),
                                              buffer_param("f", Access::Out, ElemType::F32),
                                              uniform_param("k", ElemType::I32), uniform_param("s", ElemType::F32)});
    std::vector<std::int32_t> o(100, -1);
    std::vector<float> f(100, -1.0f);
    backend_->wait(backend_->submit(launch_of(
        k, {buffer_arg(o, ElemType::I32), buffer_arg(f, ElemType::F32), uniform_arg(static_cast<std::uint32_t>(-3)),
            uniform_arg(bits(0.25f))}, 100)));
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(o[i], i * -3 + 100);
        EXPECT_EQ(f[i], 0.25f * static_cast<float>(i));
    }
}

TEST_F(VulkanBackendTest, OutOfRangeStoresDroppedAndLoadsGiveZero) {
    ASSERT_TRUE(backend_);
    Kernel k = test::load_kernel("shifted", {buffer_param("x", Access::In, ElemType::I32, Indexing::Broadcast),
                                             buffer_param("y", Access::Out, ElemType::I32, Indexing::Broadcast)});
    // One host allocation: guard | x (10) | guard | y (10) | guard. The kernel
    // sees x and y only; the guards must come back untouched.
    std::vector<std::int32_t> mem(8 + 10 + 8 + 10 + 8, 0x5a5a5a5a);
    std::int32_t* x = mem.data() + 8;
    std::int32_t* y = mem.data() + 26;
    for (int i = 0; i < 10; ++i) x[i] = i * 10, y[i] = -1;
    KernelArg ax{x, 10, ElemType::I32}, ay{y, 10, ElemType::I32};
    backend_->wait(backend_->submit(launch_of(k, {ax, ay}, 10)));
    // y[i + 3] = x[i - 2] + 1000 for lanes 0..9: y[3] and y[4] read x[-2], x[-1] (0);
    // lanes 7..9 store past y's end (dropped).
    std::vector<std::int32_t> want_y = {-1, -1, -1, 1000, 1000, 1000, 1010, 1020, 1030, 1040};
    EXPECT_EQ(std::vector<std::int32_t>(y, y + 10), want_y);
    for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 18, 19, 20, 21, 22, 23, 24, 25, 36, 37, 38, 39, 40, 41, 42, 43})
        EXPECT_EQ(mem[i], 0x5a5a5a5a) << "guard word " << i;
}

TEST_F(VulkanBackendTest, ZeroLengthRegionBindsADummyAndReadsZero) {
    ASSERT_TRUE(backend_);
    Kernel k = test::load_kernel("shifted", {buffer_param("x", Access::In, ElemType::I32, Indexing::Broadcast),
                                             buffer_param("y", Access::Out, ElemType::I32, Indexing::Broadcast)});
    std::vector<std::int32_t> x, y(6, 7);
    backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::I32), buffer_arg(y, ElemType::I32)}, 6)));
    EXPECT_EQ(y, (std::vector<std::int32_t>{7, 7, 7, 1000, 1000, 1000}));
}

TEST_F(VulkanBackendTest, AtomicHistogram) {
    ASSERT_TRUE(backend_);
    Kernel k = test::load_kernel("histogram", {buffer_param("x", Access::In, ElemType::U32),
                                               buffer_param("h", Access::InOut, ElemType::I32)});
    std::mt19937 rng(42);
    std::vector<std::uint32_t> x(10'000);
    for (auto& v : x) v = rng();
    std::vector<std::int32_t> h(12, 5), want(12, 5);  // bins 12..15 fall off the end
    for (auto v : x)
        if (v % 16 < 12) ++want[v % 16];
    backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::U32), buffer_arg(h, ElemType::I32)}, x.size())));
    EXPECT_EQ(h, want);
}

// A piece whose buffers are copied (storage not aligned for an import, or
// device-local staging) copies back only its own lanes: elements outside
// them that the caller writes while it runs keep the caller's values (a
// cluster node puts other lanes of a region a running chunk is bound to).
TEST_F(VulkanBackendTest, ACopiedPieceWritesBackOnlyItsLanes) {
    ASSERT_TRUE(backend_);
    VulkanBackendOptions o;
    o.pipeline_cache_dir = dir_;
    o.device_local_buffers = true;
    o.kernel_spirv = test::hand_written_spirv;
    auto staged = VulkanBackend::create(o);
    ASSERT_TRUE(staged) << staged.error();
    Kernel k = saxpy_kernel();
    constexpr std::uint64_t n = 300, begin = 70, end = 201;
    for (VulkanBackend* b : {backend_.get(), staged.value().get()}) {
        std::vector<float> x(n, 1.0f), ys(n + 8, 0.5f);
        float* y = ys.data() + 5;  // 4 bytes off a 16-byte boundary: no import in place
        KernelLaunch l = launch_of(k, {buffer_arg(x, ElemType::F32), KernelArg{y, n, ElemType::F32, 0}, uniform_arg(bits(2.0f))}, n);
        l.begin = begin;
        l.end = end;
        const BackendStats before = b->stats();
        const Ticket t = b->submit(l);
        for (std::uint64_t i = 0; i < n; ++i)
            if (i < begin || i >= end) y[i] = static_cast<float>(100 + i);
        b->wait(t);
        for (std::uint64_t i = 0; i < n; ++i)
            EXPECT_EQ(y[i], i >= begin && i < end ? 2.5f : static_cast<float>(100 + i)) << "lane " << i << (b == backend_.get() ? "" : ", staged");
        EXPECT_EQ(b->stats().bytes_downloaded - before.bytes_downloaded, (end - begin) * 4);
    }
    check_and_destroy(std::move(staged).value());
}

TEST_F(VulkanBackendTest, APieceRunsOnlyItsLanes) {
    ASSERT_TRUE(backend_);
    Kernel k = test::load_kernel("uniforms", {buffer_param("o", Access::Out, ElemType::I32),
                                              buffer_param("f", Access::Out, ElemType::F32),
                                              uniform_param("k", ElemType::I32), uniform_param("s", ElemType::F32)});
    std::vector<std::int32_t> o(300, -1);
    std::vector<float> f(300, -1.0f);
    KernelLaunch l = launch_of(k, {buffer_arg(o, ElemType::I32), buffer_arg(f, ElemType::F32), uniform_arg(1),
                                   uniform_arg(bits(1.0f))}, 300);
    l.begin = 70;
    l.end = 201;
    backend_->wait(backend_->submit(l));
    for (int i = 0; i < 300; ++i) {
        bool in = i >= 70 && i < 201;
        EXPECT_EQ(o[i], in ? i + 300 : -1) << i;  // count is the whole launch's
        EXPECT_EQ(f[i], in ? static_cast<float>(i) : -1.0f) << i;
    }
}

TEST_F(VulkanBackendTest, ASecondSubmitSeesTheFirstsOutput) {
    ASSERT_TRUE(backend_);
    Kernel k = saxpy_kernel();
    const std::uint64_t n = 5000;
    std::vector<float> x(n, 1.0f), y(n, 0.0f), z(n, 0.0f);
    // y = 2x + y, then z = 3y + z, then y = 1*z + y: each reads the one before.
    Ticket t1 = backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(2.0f))}, n));
    Ticket t2 = backend_->submit(launch_of(k, {buffer_arg(y, ElemType::F32), buffer_arg(z, ElemType::F32), uniform_arg(bits(3.0f))}, n));
    Ticket t3 = backend_->submit(launch_of(k, {buffer_arg(z, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(1.0f))}, n));
    backend_->wait(t3);
    backend_->wait(t1);
    backend_->wait(t2);
    EXPECT_EQ(z, std::vector<float>(n, 6.0f));
    EXPECT_EQ(y, std::vector<float>(n, 8.0f));
}

TEST_F(VulkanBackendTest, VectorOpAfterKernelSeesItsOutput) {
    ASSERT_TRUE(backend_);
    Kernel k = saxpy_kernel();
    std::vector<float> x(1000, 1.0f), y(1000, 1.0f);
    backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(2.0f))}, 1000));
    Ticket t = backend_->submit(VectorOpArgs{Op::Vsum, {}, RegionView{ElemType::F32, y.data(), y.size()}});
    EXPECT_DOUBLE_EQ(backend_->wait(t).float_value, 3000.0);
    backend_->wait_all();
}

TEST_F(VulkanBackendTest, WaitAllFinishesEveryLaunch) {
    ASSERT_TRUE(backend_);
    Kernel k = saxpy_kernel();
    std::vector<std::vector<float>> ys(20, std::vector<float>(777, 1.0f));
    std::vector<float> x(777, 2.0f);
    for (int i = 0; i < 20; ++i)
        backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(ys[i], ElemType::F32), uniform_arg(bits(static_cast<float>(i)))}, 777));
    backend_->wait_all();
    for (int i = 0; i < 20; ++i) EXPECT_EQ(ys[i], std::vector<float>(777, 2.0f * i + 1.0f)) << i;
}

TEST_F(VulkanBackendTest, KernelWithoutSpirvOrTooManyParamsCannotRun) {
    ASSERT_TRUE(backend_);
    Kernel k;
    k.name = "early";
    k.params = {buffer_param("x", Access::In, ElemType::F32)};
    std::vector<float> x(4);
    KernelLaunch l = launch_of(k, {buffer_arg(x, ElemType::F32)}, 4);
    std::string why;
    EXPECT_FALSE(backend_->can_run(l, &why));
    EXPECT_NE(why.find("kernel 'early' has no hand-written SPIR-V"), std::string::npos) << why;
    k.name = "saxpy";
    k.params.assign(29, uniform_param("u", ElemType::I32));
    l.args.assign(29, uniform_arg(0));
    EXPECT_FALSE(backend_->can_run(l, &why));
    EXPECT_NE(why.find("29 parameters"), std::string::npos) << why;
    // Submitting anyway is reported, not a crash.
    backend_->wait(backend_->submit(l));
    EXPECT_NE(backend_->take_error().find("29 parameters"), std::string::npos);
}

// What every tool runs: the SPIR-V a kernel's IR lowers to, compiled once and
// kept in this process and under the cache dir (assembler/kernel_spirv.h).
TEST_F(VulkanBackendTest, KernelsRunAsTheirIrLowers) {
    check_and_destroy(std::move(backend_));
    backend_ = make(/*lowered=*/true);
    ASSERT_TRUE(backend_);
    AssembleResult r = assemble(".kernel twice (in x: f32[i], out y: f32[i], a: f32)\n gid r0\n ldf f0, x[r0]\n"
                                " ldpf f1, a\n fmul f0, f0, f1\n stf y[r0], f0\n.end\n",
                                {.filename = "twice.pasm"});
    ASSERT_TRUE(r.ok());
    Kernel k = r.module->kernels.at(0);
    // Other `// line` comments in its GLSL: a kernel this process has not compiled yet.
    const auto salt = static_cast<std::uint32_t>(::getpid() % 100000) + 1000;
    for (SourceLoc& loc : k.lines) loc.line += salt;
    const KernelSpirvStats before = kernel_spirv_stats();
    std::vector<float> x(1000), y(1000, -1.0f);
    std::iota(x.begin(), x.end(), 0.0f);
    for (int run = 0; run < 3; ++run) {
        backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32),
                                                      uniform_arg(bits(2.0f))}, 1000)));
        for (int i = 0; i < 1000; ++i) ASSERT_EQ(y[i], 2.0f * i) << i;
    }
    const KernelSpirvStats after = kernel_spirv_stats();
    EXPECT_EQ(after.compiled, before.compiled + 1);  // once, then the backend's own memo
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "spirv")) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].extension(), ".spv");
    EXPECT_EQ(files[0].stem().string().size(), 64u);  // the SHA-256 of what it was compiled from
}

// A launch over a slice of large regions (a cluster node's chunk) binds the
// lanes' reach of its [i] and window buffers, from element `first` (a
// multiple of 256 at or below the lowest element a lane reaches), never the
// whole region: on a device with its own memory the upload is the slice, and
// the results are a whole launch's, in place or through staging.
TEST_F(VulkanBackendTest, AnElementWiseLaunchBindsOnlyItsLanesReach) {
    AssembleResult r = assemble(
        ".kernel smooth (in x: i32[i-2..i+1], in w: i32[i], inout y: i32[i], in t: i32[])\n"
        " gid r0\n li r9, 2\n sub r1, r0, r9\n ld r2, x[r1]\n ld r3, x[r0]\n"  // x[i-2], x[i]
        " addi r5, r0, 1\n ld r6, x[r5]\n ld r7, w[r0]\n ld r8, y[r0]\n li r10, 0\n ld r11, t[r10]\n"
        " add r2, r2, r3\n add r2, r2, r6\n mul r2, r2, r7\n add r2, r2, r8\n add r2, r2, r11\n st y[r0], r2\n.end\n",
        {.filename = "smooth.pasm"});
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].message);
    const Kernel k = r.module->kernels.at(0);
    const std::uint64_t n = 1 << 20, begin = 300'001, end = 301'000;
    for (bool device_local : {false, true}) {
        check_and_destroy(std::move(backend_));
        VulkanBackendOptions o;
        o.pipeline_cache_dir = dir_;
        o.device_local_buffers = device_local;
        auto made = VulkanBackend::create(o);
        ASSERT_TRUE(made) << made.error();
        backend_ = std::move(made).value();
        std::vector<std::int32_t> x(n + 1), w(n, 3), y(n, 7), t{5};
        std::iota(x.begin(), x.end(), 0);
        KernelLaunch l;
        l.kernel = &k;
        l.args = {buffer_arg(x, ElemType::I32), buffer_arg(w, ElemType::I32), buffer_arg(y, ElemType::I32), buffer_arg(t, ElemType::I32)};
        l.count = n;
        l.begin = begin;
        l.end = end;
        std::string why;
        ASSERT_TRUE(backend_->can_run(l, &why)) << why;
        const VectorOpResult res = backend_->wait(backend_->submit(l));
        EXPECT_FALSE(res.fault) << device_local;
        for (std::uint64_t i = begin - 5; i < end + 5; ++i) {
            const std::int64_t want = i >= begin && i < end ? ((i - 2) + i + (i + 1)) * 3 + 7 + 5 : 7;
            ASSERT_EQ(y[i], want) << i << (device_local ? " through staging" : " in place");
        }
        EXPECT_EQ(std::count(y.begin(), y.end(), 7), static_cast<std::ptrdiff_t>(n - (end - begin)));
        if (device_local) {
            // From element 299,776 (300,001 - 2 down to a multiple of 256):
            // x to 301,001, w and y to 301,000, and t (one element) whole.
            const std::uint64_t first = 299'776;
            EXPECT_EQ(backend_->stats().bytes_uploaded, ((301'001 - first) + 2 * (301'000 - first) + 1) * 4);
        }
    }
}

TEST_F(VulkanBackendTest, PipelineCacheFileIsWrittenAndReused) {
    ASSERT_TRUE(backend_);
    Kernel k = saxpy_kernel();
    std::vector<float> x(10, 1.0f), y(10, 1.0f);
    backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(1.0f))}, 10)));
    std::filesystem::path file = backend_->pipeline_cache_file();
    EXPECT_EQ(file.parent_path(), dir_);
    EXPECT_FALSE(backend_->pipeline_cache_loaded());
    check_and_destroy(std::move(backend_));
    ASSERT_TRUE(std::filesystem::exists(file));
    // At least the header (lavapipe's cache holds nothing more).
    EXPECT_GE(std::filesystem::file_size(file), sizeof(VkPipelineCacheHeaderVersionOne));

    backend_ = make();
    ASSERT_TRUE(backend_);
    EXPECT_TRUE(backend_->pipeline_cache_loaded());
    backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(1.0f))}, 10)));
    EXPECT_EQ(y, std::vector<float>(10, 3.0f));
}

TEST_F(VulkanBackendTest, CorruptOrForeignCacheFileIsIgnored) {
    ASSERT_TRUE(backend_);
    std::filesystem::path file = backend_->pipeline_cache_file();
    check_and_destroy(std::move(backend_));
    auto write = [&](const std::vector<std::uint32_t>& words) {
        std::filesystem::create_directories(dir_);
        std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(words.data()), words.size() * 4);
    };
    // Garbage; then a well-formed header for another vendor and device.
    for (const auto& words : {std::vector<std::uint32_t>{1, 2, 3}, std::vector<std::uint32_t>(64, 0xdeadbeef),
                              std::vector<std::uint32_t>{32, 1, 0x1234, 0x5678, 0, 0, 0, 0, 9, 9, 9}}) {
        write(words);
        backend_ = make();
        ASSERT_TRUE(backend_);
        EXPECT_FALSE(backend_->pipeline_cache_loaded());
        Kernel k = saxpy_kernel();
        std::vector<float> x(3, 1.0f), y(3, 1.0f);
        backend_->wait(backend_->submit(launch_of(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), uniform_arg(bits(1.0f))}, 3)));
        EXPECT_EQ(y, std::vector<float>(3, 2.0f));
        check_and_destroy(std::move(backend_));
        // Replaced by a good one on the way out.
        std::ifstream in(file, std::ios::binary);
        std::uint32_t header[2] = {};
        in.read(reinterpret_cast<char*>(header), sizeof header);
        EXPECT_EQ(header[0], 32u);
        EXPECT_EQ(header[1], 1u);
    }
}

TEST_F(VulkanBackendTest, CacheDisabledWritesNoFile) {
    check_and_destroy(std::move(backend_));
    std::filesystem::remove_all(dir_);  // the fixture's backend wrote one
    VulkanBackendOptions o;
    o.pipeline_cache_dir = dir_;
    o.pipeline_cache_enabled = false;
    auto b = VulkanBackend::create(o);
    ASSERT_TRUE(b) << b.error();
    EXPECT_TRUE(b.value()->pipeline_cache_file().empty());
    check_and_destroy(std::move(b.value()));
    EXPECT_FALSE(std::filesystem::exists(dir_));
}

TEST_F(VulkanBackendTest, VectorOpsRunThroughTheBackend) {
    ASSERT_TRUE(backend_);
    std::vector<float> a(1000), b(1000), c(1000);
    std::iota(a.begin(), a.end(), 0.0f);
    std::iota(b.begin(), b.end(), 1.0f);
    RegionView va{ElemType::F32, a.data(), 1000}, vb{ElemType::F32, b.data(), 1000}, vc{ElemType::F32, c.data(), 1000};
    backend_->wait(backend_->submit(VectorOpArgs{Op::Vadd, vc, va, vb}));
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(c[i], 2.0f * i + 1.0f);
    EXPECT_EQ(backend_->name(), "vulkan");
    EXPECT_FALSE(backend_->device().name.empty());
}

}  // namespace
}  // namespace polymer
