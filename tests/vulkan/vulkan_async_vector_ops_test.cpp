// Vector ops on VulkanBackend are asynchronous: submit returns with the op in
// flight, several tickets may be outstanding and waited in any order, an op
// that reads an earlier op's output sees it, buffers are reused, bytes moved
// are counted, and the staging path (discrete GPUs) gives the same results.
// Runs under the validation layers (CTest sets POLYMER_VK_VALIDATION=1);
// every test checks zero errors and no leaked object at destruction.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

RegionView f32(std::vector<float>& v) { return {ElemType::F32, v.empty() ? nullptr : v.data(), v.size()}; }
RegionView i32(std::vector<std::int32_t>& v) { return {ElemType::I32, v.empty() ? nullptr : v.data(), v.size()}; }

// Small integers, so binary32 sums and products below 2^24 are exact in any order.
std::vector<float> floats(std::size_t n, std::uint32_t seed, int bound = 64) {
    std::mt19937 gen(seed);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(std::uniform_int_distribution<int>(-bound, bound)(gen));
    return v;
}

VectorOpArgs binary(Op op, RegionView dst, RegionView a, RegionView b) {
    VectorOpArgs x;
    x.op = op;
    x.dst = dst;
    x.a = a;
    x.b = b;
    return x;
}

class VulkanAsyncVectorOps : public ::testing::Test {
protected:
    void SetUp() override { backend_ = make(false); }
    void TearDown() override {
        if (backend_) check_and_destroy(std::move(backend_));
    }
    static std::unique_ptr<VulkanBackend> make(bool staging) {
        VulkanBackendOptions o;
        o.pipeline_cache_enabled = false;
        o.device_local_buffers = staging;
        auto b = VulkanBackend::create(o);
        if (!b) {
            ADD_FAILURE() << b.error();
            return nullptr;
        }
        return std::move(b.value());
    }
    // Errors so far, then leaks (reported while the device is destroyed).
    static void check_and_destroy(std::unique_ptr<VulkanBackend> b) {
        EXPECT_EQ(b->take_error(), "");
        EXPECT_TRUE(b->context().validation_enabled()) << "run under POLYMER_VK_VALIDATION=1";
        EXPECT_EQ(b->context().validation_errors(), 0u);
        ::testing::internal::CaptureStderr();
        b.reset();
        const std::string said = ::testing::internal::GetCapturedStderr();
        EXPECT_EQ(said.find("vulkan validation"), std::string::npos) << said;
    }
    std::unique_ptr<VulkanBackend> backend_;
};

TEST_F(VulkanAsyncVectorOps, SeveralTicketsInFlightWaitedInAnyOrder) {
    ASSERT_TRUE(backend_);
    const std::size_t n = 100'003;
    std::vector<float> a = floats(n, 1), b = floats(n, 2), sum(n), prod(n), scan(n);
    std::vector<float> ma = floats(17 * 19, 3), mb = floats(19 * 23, 4), mc(17 * 23);
    VectorOpArgs reduce;
    reduce.op = Op::Vsum;
    reduce.a = f32(a);
    VectorOpArgs scan_op;
    scan_op.op = Op::Vscan;
    scan_op.dst = f32(scan);
    scan_op.a = f32(b);
    VectorOpArgs matmul = binary(Op::Vmatmul, f32(mc), f32(ma), f32(mb));
    matmul.int_scalar = 19;

    const Ticket t_sum = backend_->submit(binary(Op::Vadd, f32(sum), f32(a), f32(b)));
    const Ticket t_prod = backend_->submit(binary(Op::Vmul, f32(prod), f32(a), f32(b)));
    const Ticket t_reduce = backend_->submit(reduce);
    const Ticket t_scan = backend_->submit(scan_op);
    const Ticket t_matmul = backend_->submit(matmul);
    // Independent ops: none waited for another.
    EXPECT_EQ(backend_->in_flight(), 5u);

    backend_->wait(t_matmul);
    backend_->wait(t_scan);
    const double total = backend_->wait(t_reduce).float_value;
    backend_->wait(t_prod);
    backend_->wait(t_sum);
    EXPECT_EQ(backend_->in_flight(), 0u);

    EXPECT_EQ(total, std::accumulate(a.begin(), a.end(), 0.0));  // small integers: exact in binary32
    float running = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(sum[i], a[i] + b[i]) << i;
        ASSERT_EQ(prod[i], a[i] * b[i]) << i;
        running += b[i];
        ASSERT_EQ(scan[i], running) << i;
    }
    for (int r = 0; r < 17; ++r)
        for (int c = 0; c < 23; ++c) {
            float want = 0;
            for (int k = 0; k < 19; ++k) want += ma[r * 19 + k] * mb[k * 23 + c];
            ASSERT_EQ(mc[r * 23 + c], want) << r << "," << c;
        }
}

TEST_F(VulkanAsyncVectorOps, ALaterOpSeesAnEarlierOpsOutputWithoutAWait) {
    ASSERT_TRUE(backend_);
    const std::size_t n = 4097;
    std::vector<std::int32_t> a(n), b(n), c(n), d(n);
    std::iota(a.begin(), a.end(), -2000);
    std::iota(b.begin(), b.end(), 7);
    VectorOpArgs fill;
    fill.op = Op::Vfill;
    fill.dst = i32(c);
    fill.int_scalar = 99;
    backend_->submit(fill);                                          // c := 99
    backend_->submit(binary(Op::Vadd, i32(c), i32(a), i32(b)));      // c := a + b, after the fill
    backend_->submit(binary(Op::Vmul, i32(d), i32(c), i32(c)));      // reads c
    VectorOpArgs reduce;
    reduce.op = Op::Vsumi;
    reduce.a = i32(d);                                               // reads d
    const Ticket t = backend_->submit(reduce);
    std::int64_t want = 0;
    for (std::size_t i = 0; i < n; ++i) want += std::int64_t{a[i] + b[i]} * (a[i] + b[i]);
    EXPECT_EQ(backend_->wait(t).int_value, want);
    backend_->wait_all();
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(d[i], (a[i] + b[i]) * (a[i] + b[i])) << i;
}

TEST_F(VulkanAsyncVectorOps, RepeatedOpsOnTheSameRegionsReuseBuffers) {
    ASSERT_TRUE(backend_);
    std::vector<float> a = floats(50'000, 5), b = floats(50'000, 6), c(50'000);
    backend_->wait(backend_->submit(binary(Op::Vadd, f32(c), f32(a), f32(b))));
    const std::uint64_t made = backend_->vector_ops().buffers_created();
    EXPECT_EQ(made, 3u);  // a, b, and c's device copies
    for (int i = 0; i < 10; ++i) backend_->wait(backend_->submit(binary(Op::Vadd, f32(c), f32(a), f32(b))));
    EXPECT_EQ(backend_->vector_ops().buffers_created(), made);
}

TEST_F(VulkanAsyncVectorOps, BytesMovedAreCounted) {
    ASSERT_TRUE(backend_);
    EXPECT_EQ(backend_->stats().bytes_uploaded, 0u);
    std::vector<float> a = floats(1000, 7), b = floats(1000, 8), c(1000);
    const Ticket t = backend_->submit(binary(Op::Vadd, f32(c), f32(a), f32(b)));
    EXPECT_EQ(backend_->stats().bytes_uploaded, 8000u);  // a and b, copied at submit
    EXPECT_EQ(backend_->stats().bytes_downloaded, 0u);   // c comes back at wait
    backend_->wait(t);
    EXPECT_EQ(backend_->stats().bytes_downloaded, 4000u);
    VectorOpArgs reduce;
    reduce.op = Op::Vredmax;
    reduce.a = f32(a);
    backend_->wait(backend_->submit(reduce));
    EXPECT_EQ(backend_->stats().bytes_uploaded, 12000u);
    EXPECT_EQ(backend_->stats().bytes_downloaded, 4004u);  // one binary32 result
}

TEST_F(VulkanAsyncVectorOps, StagingPathGivesTheSameResults) {
    auto staged = make(true);
    ASSERT_TRUE(staged);
    ASSERT_TRUE(staged->uses_staging());
    const std::size_t n = 70'001;
    std::vector<float> a = floats(n, 9, 8), b = floats(n, 10, 8), c(n), scan(n);
    const Ticket t_add = staged->submit(binary(Op::Vsub, f32(c), f32(a), f32(b)));
    VectorOpArgs scan_op;
    scan_op.op = Op::Vscan;
    scan_op.dst = f32(scan);
    scan_op.a = f32(a);
    const Ticket t_scan = staged->submit(scan_op);
    VectorOpArgs dot;
    dot.op = Op::Vdot;
    dot.a = f32(a);
    dot.b = f32(b);
    const Ticket t_dot = staged->submit(dot);
    double want_dot = 0;
    for (std::size_t i = 0; i < n; ++i) want_dot += double(a[i]) * b[i];
    EXPECT_EQ(staged->wait(t_dot).float_value, want_dot);  // every partial sum < 70001 * 64 < 2^24: exact
    staged->wait(t_scan);
    staged->wait(t_add);
    float running = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(c[i], a[i] - b[i]) << i;
        running += a[i];
        ASSERT_EQ(scan[i], running) << i;
    }
    EXPECT_EQ(staged->stats().bytes_uploaded, 4 * n * 5);
    EXPECT_EQ(staged->stats().bytes_downloaded, 4 * n * 2 + 4);
    check_and_destroy(std::move(staged));
}

TEST_F(VulkanAsyncVectorOps, DestroyedWithTicketsInFlightLeaksNothing) {
    ASSERT_TRUE(backend_);
    std::vector<float> a = floats(300'000, 11), b = floats(300'000, 12), c(300'000), d(300'000);
    backend_->submit(binary(Op::Vadd, f32(c), f32(a), f32(b)));
    backend_->submit(binary(Op::Vmax, f32(d), f32(a), f32(b)));
    EXPECT_EQ(backend_->in_flight(), 2u);
    check_and_destroy(std::move(backend_));  // the destructor waits for both
    EXPECT_EQ(c[12345], a[12345] + b[12345]);
    EXPECT_EQ(d[299'999], std::max(a[299'999], b[299'999]));
}

}  // namespace
}  // namespace polymer
