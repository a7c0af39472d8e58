// Every built-in vector op and every sample kernel on VulkanBackend (lavapipe
// here) and on CpuBackend gives the same results, with random data: integers
// bit for bit, floats within the tolerances of docs/kernels.md ("How close
// the backends agree"). The vector ops come from isa/opcodes.def: each op of
// class Vector, on every element type check_vector_op accepts for it (types
// without a shader run the CPU loop inside VulkanBackend, and must still
// agree). Sizes 0, 1, 255, 256, 257 (workgroup edges) and 1,000,003 for the
// types that have shaders; vmatmul on shapes around the 16 x 16 tile. The
// kernels are read from samples/10..13. Also: kernels indexing past their
// buffers read 0 and drop stores on both backends, and nothing outside the
// buffer changes (guard words around it). And kernels whose lanes exit early
// (exit_kernels.h), narrow and wide, against results worked out lane by lane.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "exit_kernels.h"
#include "sample_kernels.h"
#include "splitmix.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

const std::uint64_t kSizes[] = {0, 1, 255, 256, 257, 1'000'003};
constexpr ElemType kAllTypes[] = {ElemType::U8, ElemType::I32, ElemType::U32, ElemType::I64, ElemType::F32, ElemType::F64};

// Tolerances (docs/kernels.md): relative to the magnitudes that went in.
constexpr double kFusedTolerance = 1e-6;   // one binary32 rounding more or less (fma contraction, division)
constexpr double kSumTolerance = 1e-5;     // binary32 sums in another order (reductions, scans, matmul)

std::unique_ptr<VulkanBackend>& vulkan() {
    static std::unique_ptr<VulkanBackend> vk = [] {
        VulkanBackendOptions o;
        o.pipeline_cache_enabled = false;
        if (std::getenv("POLYMER_VK_VALIDATION") == nullptr) o.validation = true;
        auto r = VulkanBackend::create(o);
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return vk;
}

bool has_shader(ElemType t) { return t == ElemType::F32 || t == ElemType::I32 || t == ElemType::U32; }

using test::Random;

// A region's bytes plus the type to read them as.
struct Buffer {
    ElemType type = ElemType::I32;
    std::uint64_t length = 0;
    std::vector<std::uint64_t> storage;  // 8-byte aligned for every type

    Buffer() = default;
    Buffer(ElemType t, std::uint64_t n) : type(t), length(n), storage((n * elem_size(t) + 7) / 8 + 1) {}
    void* data() { return length == 0 ? nullptr : storage.data(); }
    RegionView view() { return {type, data(), length}; }
    double get(std::uint64_t i) const {
        const auto* p = reinterpret_cast<const std::byte*>(storage.data()) + i * elem_size(type);
        switch (type) {
        case ElemType::U8: return static_cast<double>(*reinterpret_cast<const std::uint8_t*>(p));
        case ElemType::I32: return *reinterpret_cast<const std::int32_t*>(p);
        case ElemType::U32: return *reinterpret_cast<const std::uint32_t*>(p);
        case ElemType::I64: return static_cast<double>(*reinterpret_cast<const std::int64_t*>(p));
        case ElemType::F32: return *reinterpret_cast<const float*>(p);
        case ElemType::F64: return *reinterpret_cast<const double*>(p);
        }
        return 0;
    }
    bool same_bits(const Buffer& o, std::uint64_t i) const {
        const std::size_t s = elem_size(type);
        return std::memcmp(reinterpret_cast<const std::byte*>(storage.data()) + i * s,
                           reinterpret_cast<const std::byte*>(o.storage.data()) + i * s, s) == 0;
    }
};

// Random values: floats in [-4, 4); integers over their whole range. An
// operand with a role starts with edge cases, lined up so that a dividend
// (role 1) meets a divisor (role 2) of 0 and INT_MIN meets -1.
enum Role { kNoEdges = 0, kDividend = 1, kDivisor = 2 };
Buffer random_buffer(ElemType t, std::uint64_t n, std::uint64_t seed, Role role = kNoEdges) {
    Buffer b(t, n);
    Random r{seed};
    auto* bytes = reinterpret_cast<std::byte*>(b.storage.data());
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t bits = r.next();
        std::byte* p = bytes + i * elem_size(t);
        static const std::int64_t dividends[] = {0, -1, 1, 5, INT64_MIN, INT64_MAX, INT64_MIN};
        static const std::int64_t divisors[] = {0, 0, -1, 0, -1, -1, 1};
        const std::int64_t* edges = role == kDivisor ? divisors : dividends;
        const bool edge = i < 7 && role != kNoEdges;
        switch (t) {
        case ElemType::F32: {
            float f = static_cast<float>(static_cast<double>(bits >> 11) / 9007199254740992.0 * 8 - 4);
            std::memcpy(p, &f, 4);
            break;
        }
        case ElemType::F64: {
            double d = static_cast<double>(bits >> 11) / 9007199254740992.0 * 8 - 4;
            std::memcpy(p, &d, 8);
            break;
        }
        case ElemType::I32: {
            auto v = static_cast<std::int32_t>(bits);
            if (edge) v = edges[i] == INT64_MIN ? INT32_MIN : edges[i] == INT64_MAX ? INT32_MAX : static_cast<std::int32_t>(edges[i]);
            std::memcpy(p, &v, 4);
            break;
        }
        case ElemType::U32: {
            auto v = static_cast<std::uint32_t>(edge ? static_cast<std::uint64_t>(edges[i]) : bits);
            std::memcpy(p, &v, 4);
            break;
        }
        case ElemType::I64: {
            std::int64_t v = edge ? edges[i] : static_cast<std::int64_t>(bits);
            std::memcpy(p, &v, 8);
            break;
        }
        case ElemType::U8: {
            auto v = static_cast<std::uint8_t>(bits);
            std::memcpy(p, &v, 1);
            break;
        }
        }
    }
    return b;
}

// Which operands each vector op uses (dst, a, b, c as in VectorOpArgs) and
// what its tolerance is on floats. The test fails for a vector op of
// isa/opcodes.def that is missing here.
struct OpShape {
    bool dst, a, b, c;
    enum Tolerance { Exact, Fused, Sum } tolerance;
};

const std::map<Op, OpShape>& op_shapes() {
    static const std::map<Op, OpShape> shapes = {
        {Op::Vadd, {1, 1, 1, 0, OpShape::Exact}},   {Op::Vsub, {1, 1, 1, 0, OpShape::Exact}},
        {Op::Vmul, {1, 1, 1, 0, OpShape::Exact}},   {Op::Vdiv, {1, 1, 1, 0, OpShape::Fused}},
        {Op::Vmin, {1, 1, 1, 0, OpShape::Exact}},   {Op::Vmax, {1, 1, 1, 0, OpShape::Exact}},
        {Op::Vfma, {1, 1, 1, 1, OpShape::Fused}},   {Op::Vscale, {1, 1, 0, 0, OpShape::Exact}},
        {Op::Vfill, {1, 0, 0, 0, OpShape::Exact}},  {Op::Vfillf, {1, 0, 0, 0, OpShape::Exact}},
        {Op::Viota, {1, 0, 0, 0, OpShape::Exact}},  {Op::Vcopy, {1, 1, 0, 0, OpShape::Exact}},
        {Op::Vcmplt, {1, 1, 1, 0, OpShape::Exact}}, {Op::Vcmpeq, {1, 1, 1, 0, OpShape::Exact}},
        {Op::Vselect, {1, 1, 1, 1, OpShape::Exact}}, {Op::Vsum, {0, 1, 0, 0, OpShape::Sum}},
        {Op::Vsumi, {0, 1, 0, 0, OpShape::Exact}},  {Op::Vredmin, {0, 1, 0, 0, OpShape::Exact}},
        {Op::Vredmax, {0, 1, 0, 0, OpShape::Exact}}, {Op::Vredmini, {0, 1, 0, 0, OpShape::Exact}},
        {Op::Vredmaxi, {0, 1, 0, 0, OpShape::Exact}}, {Op::Vdot, {0, 1, 1, 0, OpShape::Sum}},
        {Op::Vdoti, {0, 1, 1, 0, OpShape::Exact}},  {Op::Vscan, {1, 1, 0, 0, OpShape::Sum}},
        {Op::Vmatmul, {1, 1, 1, 0, OpShape::Sum}},
    };
    return shapes;
}

// The op groups of the tests below; with vmatmul (shapes of its own) they
// must cover every vector op of the table.
const std::vector<Op> kArithmetic = {Op::Vadd, Op::Vsub, Op::Vmul, Op::Vdiv, Op::Vmin, Op::Vmax, Op::Vfma, Op::Vscale};
const std::vector<Op> kFillIotaCopyComparesSelect = {Op::Vfill,  Op::Vfillf, Op::Viota,  Op::Vcopy,
                                                     Op::Vcmplt, Op::Vcmpeq, Op::Vselect};
const std::vector<Op> kReductionsAndScan = {Op::Vsum,     Op::Vsumi, Op::Vredmin, Op::Vredmax, Op::Vredmini,
                                            Op::Vredmaxi, Op::Vdot,  Op::Vdoti,   Op::Vscan};

std::vector<Op> vector_ops() {
    std::vector<Op> ops;
    for (Op op : kAllOps)
        if (op_info(op).cls == OpClass::Vector) ops.push_back(op);
    return ops;
}

// Operands for `op` with `n` elements of type `t`; the mask of a compare (dst)
// or of vselect (a) gets `mask_type`.
struct Case {
    Op op;
    ElemType type, mask_type;
    std::uint64_t n;
    std::string name() const {
        std::string s = std::string(op_info(op).mnemonic) + " " + std::string(elem_type_name(type));
        if (mask_type != type) s += " (mask " + std::string(elem_type_name(mask_type)) + ")";
        return s + " n=" + std::to_string(n);
    }
};

struct Operands {
    Buffer dst, a, b, c;
    VectorOpArgs args;
};

Operands make_operands(const Case& k, std::uint64_t seed) {
    const OpShape& shape = op_shapes().at(k.op);
    const bool compare = k.op == Op::Vcmplt || k.op == Op::Vcmpeq;
    Operands o;
    if (shape.a) o.a = random_buffer(k.op == Op::Vselect ? k.mask_type : k.type, k.n, seed + 1, kDividend);
    if (shape.b) o.b = random_buffer(k.type, k.n, seed + 2, kDivisor);
    if (shape.c) o.c = random_buffer(k.type, k.n, seed + 3, kDividend);
    if (k.op == Op::Vselect && k.n > 3) {  // a mask that is mostly 0 or 1, but not only
        for (std::uint64_t i = 0; i < k.n; i += 3) std::memset(static_cast<std::byte*>(o.a.data()) + i * elem_size(k.mask_type), 0, elem_size(k.mask_type));
    }
    if (k.op == Op::Vcmpeq && k.n > 0) {  // some equal pairs
        for (std::uint64_t i = 0; i < k.n; i += 2)
            std::memcpy(static_cast<std::byte*>(o.b.data()) + i * elem_size(k.type),
                        static_cast<std::byte*>(o.a.data()) + i * elem_size(k.type), elem_size(k.type));
    }
    if (shape.dst) o.dst = Buffer(compare ? k.mask_type : k.type, k.n);
    o.args.op = k.op;
    o.args.dst = shape.dst ? o.dst.view() : RegionView{};
    o.args.a = shape.a ? o.a.view() : RegionView{};
    o.args.b = shape.b ? o.b.view() : RegionView{};
    o.args.c = shape.c ? o.c.view() : RegionView{};
    o.args.int_scalar = 0x1'2345'6789;  // vfill: wraps to the element type
    o.args.float_scalar = -1.375;       // vfillf, vscale
    return o;
}

bool close(double a, double b, double scale, double rel) {
    if (a == b) return true;  // also inf == inf (min/max of nothing)
    if (std::isnan(a) && std::isnan(b)) return true;
    return std::fabs(a - b) <= rel * scale;
}

class BackendDifferential : public ::testing::Test {
protected:
    void SetUp() override {
        if (!vulkan()) GTEST_SKIP() << "no Vulkan device";
    }
    // CTest runs these with POLYMER_VK_VALIDATION=1: the layers must see no error.
    void TearDown() override {
        if (vulkan()) {
            EXPECT_EQ(vulkan()->take_error(), "");
            EXPECT_EQ(vulkan()->context().validation_errors(), 0u);
        }
    }

    // Runs the case on both backends and compares; a mismatch is a fatal failure.
    static void compare(const Case& k, std::uint64_t seed) {
        // The same inputs; each backend writes its own dst.
        Operands on_cpu = make_operands(k, seed);
        ASSERT_EQ(check_vector_op(on_cpu.args), nullptr) << k.name();
        Operands on_vk;
        on_vk.dst = Buffer(on_cpu.dst.type, on_cpu.dst.length);
        on_vk.args = on_cpu.args;
        if (on_cpu.args.dst.data || on_cpu.args.dst.length) on_vk.args.dst = on_vk.dst.view();
        CpuBackend cpu;
        const VectorOpResult r_cpu = cpu.wait(cpu.submit(on_cpu.args));
        const VectorOpResult r_vk = vulkan()->wait(vulkan()->submit(on_vk.args));
        const OpShape& shape = op_shapes().at(k.op);
        const bool floats = is_float(k.type);
        if (!shape.dst) {  // a reduction
            if (!floats) {
                EXPECT_EQ(r_cpu.int_value, r_vk.int_value) << k.name();
                return;
            }
            double magnitude = 0;
            for (std::uint64_t i = 0; i < k.n; ++i) magnitude += std::fabs(on_cpu.a.get(i) * (shape.b ? on_cpu.b.get(i) : 1));
            const double rel = shape.tolerance == OpShape::Sum ? kSumTolerance : 0;
            EXPECT_TRUE(close(r_cpu.float_value, r_vk.float_value, magnitude, rel))
                << k.name() << ": " << r_cpu.float_value << " vs " << r_vk.float_value;
            return;
        }
        const Buffer& x = on_cpu.dst;
        const Buffer& y = on_vk.dst;
        if (!is_float(x.type) || shape.tolerance == OpShape::Exact) {
            for (std::uint64_t i = 0; i < k.n; ++i)
                ASSERT_TRUE(x.same_bits(y, i)) << k.name() << " i=" << i << ": " << x.get(i) << " vs " << y.get(i);
            return;
        }
        double prefix = 0;  // vscan: the magnitudes summed so far
        for (std::uint64_t i = 0; i < k.n; ++i) {
            double scale = 0;
            if (k.op == Op::Vfma) scale = std::fabs(on_cpu.a.get(i) * on_cpu.b.get(i)) + std::fabs(on_cpu.c.get(i));
            if (k.op == Op::Vdiv) scale = std::fabs(x.get(i));
            if (k.op == Op::Vscan) scale = prefix += std::fabs(on_cpu.a.get(i));
            const double rel = shape.tolerance == OpShape::Sum ? kSumTolerance : kFusedTolerance;
            ASSERT_TRUE(close(x.get(i), y.get(i), scale, rel))
                << k.name() << " i=" << i << ": " << x.get(i) << " vs " << y.get(i);
        }
    }

    // Every op of `ops` on every type it accepts, at every size (past 1,000 only
    // on the types with shaders: the others run the same CPU loop on both sides).
    void compare_all(const std::vector<Op>& ops, std::uint64_t seed) {
        for (Op op : ops) {
            for (ElemType t : kAllTypes) {
                Operands probe = make_operands({op, t, t, 4}, 1);
                if (check_vector_op(probe.args) != nullptr) continue;  // the op does not take this type
                for (std::uint64_t n : kSizes) {
                    if (n > 1000 && !has_shader(t)) continue;
                    compare({op, t, t, n}, seed += 10);
                    ++cases_;
                    if (HasFatalFailure()) return;
                }
            }
        }
    }
    int cases_ = 0;
};

TEST_F(BackendDifferential, EveryVectorOpOfTheOpcodeTableIsCovered) {
    for (Op op : vector_ops()) {
        EXPECT_TRUE(op_shapes().count(op)) << op_info(op).mnemonic << " has no shape in this test";
        int groups = op == Op::Vmatmul;
        for (const auto* g : {&kArithmetic, &kFillIotaCopyComparesSelect, &kReductionsAndScan})
            groups += static_cast<int>(std::count(g->begin(), g->end(), op));
        EXPECT_EQ(groups, 1) << op_info(op).mnemonic << " is in " << groups << " test groups";
    }
}

// Each group: every op on every type it takes, at every size.
TEST_F(BackendDifferential, Arithmetic) {
    compare_all(kArithmetic, 100);
    EXPECT_GE(cases_, 8 * 6);
}

TEST_F(BackendDifferential, FillIotaCopyComparesSelect) {
    compare_all(kFillIotaCopyComparesSelect, 2000);
    EXPECT_GE(cases_, 7 * 6);
}

TEST_F(BackendDifferential, ReductionsAndScan) {
    compare_all(kReductionsAndScan, 4000);
    EXPECT_GE(cases_, 9 * 6);
}

// A compare's mask and vselect's mask may have another type than the data.
TEST_F(BackendDifferential, MasksOfAnotherType) {
    std::uint64_t seed = 5000;
    for (Op op : {Op::Vcmplt, Op::Vcmpeq, Op::Vselect})
        for (ElemType t : {ElemType::F32, ElemType::I32, ElemType::U32})
            for (ElemType mask : {ElemType::U8, ElemType::I32, ElemType::F32})
                for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{257}, std::uint64_t{4099}}) {
                    compare({op, t, mask, n}, seed += 10);
                    if (HasFatalFailure()) return;
                }
}

TEST_F(BackendDifferential, MatmulAroundTheTileSize) {
    struct Shape { std::uint64_t m, k, n; };
    const Shape shapes[] = {{1, 1, 1},   {15, 16, 17}, {16, 16, 16}, {17, 15, 16}, {16, 17, 15},
                            {1, 300, 1}, {33, 31, 47}, {64, 65, 63}, {255, 1, 257}};
    std::uint64_t seed = 9000;
    for (ElemType t : {ElemType::F32, ElemType::I32, ElemType::U32, ElemType::F64, ElemType::I64}) {
        for (const Shape& s : shapes) {
            Buffer a = random_buffer(t, s.m * s.k, seed += 10), b = random_buffer(t, s.k * s.n, seed += 10);
            Buffer c_cpu(t, s.m * s.n), c_vk(t, s.m * s.n);
            VectorOpArgs x;
            x.op = Op::Vmatmul;
            x.a = a.view();
            x.b = b.view();
            x.int_scalar = static_cast<std::int64_t>(s.k);
            x.dst = c_cpu.view();
            ASSERT_EQ(check_vector_op(x), nullptr);
            CpuBackend cpu;
            cpu.wait(cpu.submit(x));
            x.dst = c_vk.view();
            vulkan()->wait(vulkan()->submit(x));
            const std::string what = "vmatmul " + std::string(elem_type_name(t)) + " " + std::to_string(s.m) + "x" +
                                     std::to_string(s.k) + " * " + std::to_string(s.k) + "x" + std::to_string(s.n);
            for (std::uint64_t i = 0; i < s.m; ++i)
                for (std::uint64_t j = 0; j < s.n; ++j) {
                    const std::uint64_t at = i * s.n + j;
                    if (!is_float(t)) {
                        ASSERT_TRUE(c_cpu.same_bits(c_vk, at)) << what << " at " << i << "," << j;
                        continue;
                    }
                    double magnitude = 0;
                    for (std::uint64_t q = 0; q < s.k; ++q) magnitude += std::fabs(a.get(i * s.k + q) * b.get(q * s.n + j));
                    ASSERT_TRUE(close(c_cpu.get(at), c_vk.get(at), magnitude, kSumTolerance))
                        << what << " at " << i << "," << j << ": " << c_cpu.get(at) << " vs " << c_vk.get(at);
                }
        }
    }
}

// --- the sample kernels ------------------------------------------------------

KernelArg arg(Buffer& b) { return KernelArg{b.data(), b.length, b.type, 0}; }
KernelArg uniform_i32(std::int32_t v) {
    KernelArg a;
    a.uniform = static_cast<std::uint32_t>(v);
    return a;
}
KernelArg uniform_f32(float v) {
    KernelArg a;
    std::memcpy(&a.uniform, &v, 4);
    return a;
}

// Runs kernel `k` over `lanes` lanes on the CPU with `cpu_args`, then on
// Vulkan with `vk_args` (the same inputs, outputs of its own).
// The launch on both backends; their faults (vm/kernel_fault.h) must agree.
std::pair<KernelFault, KernelFault> run_both(const Kernel& k, std::vector<KernelArg> cpu_args, std::vector<KernelArg> vk_args,
                                             std::uint64_t lanes) {
    KernelLaunch l;
    l.kernel = &k;
    l.count = l.end = lanes;
    l.args = std::move(cpu_args);
    CpuBackend cpu;
    const KernelFault on_cpu = cpu.wait(cpu.submit(l)).fault;
    l.args = std::move(vk_args);
    EXPECT_TRUE(vulkan()->can_run(l));
    const KernelFault on_vk = vulkan()->wait(vulkan()->submit(l)).fault;
    EXPECT_EQ(on_cpu, on_vk) << "lanes " << on_cpu.lane << " / " << on_vk.lane << ", kinds "
                             << static_cast<int>(on_cpu.kind) << " / " << static_cast<int>(on_vk.kind);
    return {on_cpu, on_vk};
}

class SampleKernels : public BackendDifferential {
protected:
    static const Kernel& kernel(const char* file, const char* name) {
        static std::map<std::string, Module> modules;
        auto it = modules.find(file);
        if (it == modules.end()) {
            std::string error;
            auto m = test::load_sample(file, &error);
            EXPECT_TRUE(m) << error;
            if (!m) std::abort();
            it = modules.emplace(file, std::move(*m)).first;
        }
        const int i = test::kernel_index(it->second, name);
        if (i < 0) std::abort();
        return it->second.kernels[static_cast<std::size_t>(i)];
    }
};

TEST_F(SampleKernels, Saxpy) {
    const Kernel& k = kernel("10-saxpy.pasm", "saxpy");
    for (std::uint64_t n : kSizes) {
        Buffer x = random_buffer(ElemType::F32, n, 1), y = random_buffer(ElemType::F32, n, 2);
        Buffer z_cpu(ElemType::F32, n), z_vk(ElemType::F32, n);
        run_both(k, {arg(x), arg(y), arg(z_cpu), uniform_f32(2.5f)}, {arg(x), arg(y), arg(z_vk), uniform_f32(2.5f)}, n);
        for (std::uint64_t i = 0; i < n; ++i)  // ffma: fused on one side, maybe not on the other
            ASSERT_TRUE(close(z_cpu.get(i), z_vk.get(i), 2.5 * std::fabs(x.get(i)) + std::fabs(y.get(i)), kFusedTolerance))
                << "saxpy n=" << n << " i=" << i;
    }
}

TEST_F(SampleKernels, Mandelbrot) {
    // Lanes past the sample's 48 x 20 picture lie further out and escape
    // sooner; the counts and characters are integers, compared exactly.
    const Kernel& k = kernel("11-mandelbrot.pasm", "mandelbrot");
    for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256},
                            std::uint64_t{257}, std::uint64_t{960}, std::uint64_t{1'000'003}}) {
        Buffer it_cpu(ElemType::I32, n), ch_cpu(ElemType::I32, n), it_vk(ElemType::I32, n), ch_vk(ElemType::I32, n);
        run_both(k, {arg(it_cpu), arg(ch_cpu), uniform_i32(48), uniform_i32(64)},
                 {arg(it_vk), arg(ch_vk), uniform_i32(48), uniform_i32(64)}, n);
        for (std::uint64_t i = 0; i < n; ++i) {
            ASSERT_TRUE(it_cpu.same_bits(it_vk, i)) << "mandelbrot n=" << n << " i=" << i;
            ASSERT_TRUE(ch_cpu.same_bits(ch_vk, i)) << "mandelbrot n=" << n << " i=" << i;
        }
    }
}

TEST_F(SampleKernels, Histogram) {
    // Random i32 inputs: a negative value gives a negative bin, an atadd
    // outside the histogram, which traps: both backends name the same lane.
    // With every value small and non-negative the bins are compared exactly.
    const Kernel& k = kernel("12-histogram.pasm", "histogram");
    for (std::uint64_t n : kSizes) {
        Buffer x = random_buffer(ElemType::I32, n, 3);
        Buffer h_cpu(ElemType::I32, 17), h_vk(ElemType::I32, 17);
        const auto [on_cpu, on_vk] = run_both(k, {arg(x), arg(h_cpu), uniform_i32(17)}, {arg(x), arg(h_vk), uniform_i32(17)}, n);
        if (on_cpu) {
            EXPECT_EQ(on_cpu.kind, KernelFault::Kind::BadIndex);
        }
        auto* v = static_cast<std::int32_t*>(arg(x).data);
        for (std::uint64_t i = 0; i < n; ++i) v[i] &= 0xFFFF;  // x * 7 + 3 stays positive
        Buffer g_cpu(ElemType::I32, 17), g_vk(ElemType::I32, 17);
        const auto [clean, clean_vk] = run_both(k, {arg(x), arg(g_cpu), uniform_i32(17)}, {arg(x), arg(g_vk), uniform_i32(17)}, n);
        EXPECT_FALSE(clean) << "histogram n=" << n;
        for (std::uint64_t i = 0; i < 17; ++i) ASSERT_TRUE(g_cpu.same_bits(g_vk, i)) << "histogram n=" << n << " bin " << i;
    }
}

TEST_F(SampleKernels, MatmulAroundTheTileSize) {
    const Kernel& k = kernel("13-matmul.pasm", "matmul");
    for (std::uint64_t n : {1, 15, 16, 17, 33, 64}) {
        Buffer a = random_buffer(ElemType::F32, n * n, 4), b = random_buffer(ElemType::F32, n * n, 5);
        Buffer c_cpu(ElemType::F32, n * n), c_vk(ElemType::F32, n * n);
        const auto ni = static_cast<std::int32_t>(n);
        run_both(k, {arg(a), arg(b), arg(c_cpu), uniform_i32(ni)}, {arg(a), arg(b), arg(c_vk), uniform_i32(ni)}, n * n);
        for (std::uint64_t i = 0; i < n; ++i)
            for (std::uint64_t j = 0; j < n; ++j) {
                double magnitude = 0;
                for (std::uint64_t q = 0; q < n; ++q) magnitude += std::fabs(a.get(i * n + q) * b.get(q * n + j));
                ASSERT_TRUE(close(c_cpu.get(i * n + j), c_vk.get(i * n + j), magnitude, kSumTolerance))
                    << "matmul kernel n=" << n << " at " << i << "," << j;
            }
    }
}

// --- lanes that exit early ---------------------------------------------------

// The kernels of exit_kernels.h, narrow and wide: lanes that exit from an
// `if`, nested ifs or a loop with break/continue, and registers read before
// they are written (0), store on both backends what the test works out lane
// by lane (the CPU side alone: exit_lanes_test.cpp).
TEST_F(BackendDifferential, LanesThatExitEarlyLeaveTheOtherLanesAlone) {
    using namespace test::exit_lanes;
    for (Lanes lanes : kAllLanes) {
        for (auto& [text, c] : all_cases(lanes)) {
            const std::string source = kernel_source(text, lanes);
            AssembleResult assembled = assemble(source);
            ASSERT_TRUE(assembled.ok()) << format_diagnostic(assembled.diagnostics.at(0)) << "\n" << source;
            const Kernel& k = assembled.module->kernels.at(0);
            for (bool on_vulkan : {false, true}) {
                c.reset_outputs();
                const KernelLaunch l = c.launch(k, 0, c.lanes);
                KernelFault fault;
                if (on_vulkan) {
                    ASSERT_TRUE(vulkan()->can_run(l)) << c.what;
                    fault = vulkan()->wait(vulkan()->submit(l)).fault;
                } else {
                    CpuBackend cpu;
                    fault = cpu.wait(cpu.submit(l)).fault;
                }
                EXPECT_FALSE(fault) << c.what;
                EXPECT_EQ(c.mismatch(0, c.lanes), "") << (on_vulkan ? "vulkan" : "cpu");
            }
        }
    }
}

// --- out-of-bounds accesses --------------------------------------------------

// Lane i reads x[i + k] (past the end for the last lanes: 0) and stores it
// plus 1000 at y[i - k] (negative for the first lanes: dropped), and stores i
// at z[i + k] (past the end: dropped). The launch has 2k more lanes than the
// buffers have elements.
const char* kOutOfBounds =
    ".kernel oob (in x: i32[], out y: i32[], out z: i32[], k: i32)\n"
    "        gid r0\n        ldp r1, k\n        add r2, r0, r1\n        sub r3, r0, r1\n"
    "        ld r4, x[r2]\n        li r5, 1000\n        add r4, r4, r5\n        st y[r3], r4\n"
    "        st z[r2], r0\n.end\n"
    ".proc main\n        halt\n.end\n";

// Lanes read past the end of x, store below 0 in y and past the end in z:
// both backends trap with the same fault (lane 0 stores y[-3]) and nothing
// outside the buffers changes.
TEST_F(BackendDifferential, OutOfBoundsAccessesTrapAlikeAndNothingOutsideChanges) {
    AssembleResult assembled = assemble(kOutOfBounds);
    ASSERT_TRUE(assembled.ok()) << format_diagnostic(assembled.diagnostics.at(0));
    const Kernel& kern = assembled.module->kernels[0];
    const std::int64_t n = 300, k = 3, guard = 64;
    const std::int32_t sentinel = 0x5A5A5A5A, untouched = -5;
    for (bool on_vulkan : {false, true}) {
        SCOPED_TRACE(on_vulkan ? "vulkan" : "cpu");
        // Each buffer sits between guard words in one allocation.
        std::vector<std::int32_t> x(n + 2 * guard, sentinel), y(n + 2 * guard, sentinel), z(n + 2 * guard, sentinel);
        for (std::int64_t i = 0; i < n; ++i) {
            x[guard + i] = static_cast<std::int32_t>(i * 7);
            y[guard + i] = untouched;
            z[guard + i] = untouched;
        }
        KernelLaunch l;
        l.kernel = &kern;
        l.args = {{x.data() + guard, n, ElemType::I32, 0}, {y.data() + guard, n, ElemType::I32, 0},
                  {z.data() + guard, n, ElemType::I32, 0}, uniform_i32(k)};
        l.count = l.end = n + 2 * k;
        KernelFault fault;
        if (on_vulkan) {
            fault = vulkan()->wait(vulkan()->submit(l)).fault;
        } else {
            CpuBackend cpu;
            fault = cpu.wait(cpu.submit(l)).fault;
        }
        EXPECT_EQ(fault, (KernelFault{KernelFault::Kind::BadIndex, 0, 7, 1, -static_cast<std::int32_t>(k), n}));
        for (std::int64_t g = 0; g < guard; ++g) {
            for (auto* v : {&x, &y, &z}) {
                ASSERT_EQ((*v)[g], sentinel) << "guard before, word " << g;
                ASSERT_EQ((*v)[guard + n + g], sentinel) << "guard after, word " << g;
            }
        }
        for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(x[guard + j], j * 7) << "x changed at " << j;
    }
}

}  // namespace
}  // namespace polymer
