// vector-chunk on a live node (docs/protocol.md): a piece of a vector op over
// regions the node holds, with the same bits as the CPU loops at home, the
// refusals, and the wait behind a running chunk that writes what it reads.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <vector>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/module_io.h"
#include "node_process.h"
#include "test_kernels.h"
#include "vm/vector_op.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

template <class T>
std::span<const std::uint8_t> bytes_of_vector(const std::vector<T>& v) {
    return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

struct VectorNode {
    TempTokenFile token{kSecret};
    NodeProcess node{token.path()};
    std::unique_ptr<NodeClient> client;
    VectorNode() {
        auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
        EXPECT_TRUE(c) << c.error();
        if (c) client = std::move(c).value();
    }
    Result<VectorChunkResult> run(const VectorChunk& v) { return client->wait_vector(client->start_vector(v)); }
};

VectorChunk chunk(Op op, std::uint64_t length, std::uint64_t begin, std::uint64_t end, std::vector<VectorOperand> operands) {
    VectorChunk v;
    v.op = static_cast<std::uint8_t>(op);
    v.length = length;
    v.begin = begin;
    v.end = end;
    v.operands = std::move(operands);
    return v;
}

constexpr std::uint8_t kF32 = static_cast<std::uint8_t>(ElemType::F32), kF64 = static_cast<std::uint8_t>(ElemType::F64),
                       kI32 = static_cast<std::uint8_t>(ElemType::I32);

TEST(NodeVector, ElementwisePieceWritesItsRangeInPlace) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    const std::size_t n = 1000;
    std::vector<float> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.1f * static_cast<float>(i), y[i] = 1.0f / static_cast<float>(i + 1);
    ASSERT_TRUE(s.client->put_region(1, 1, n * 4, 0, bytes_of_vector(x)));
    ASSERT_TRUE(s.client->put_region(2, 1, n * 4, 0, bytes_of_vector(y)));
    ASSERT_TRUE(s.client->put_region(3, 1, n * 4, 0, {}));
    auto r = s.run(chunk(Op::Vfma, n, 100, 700, {{0, kF32, 3, 1}, {1, kF32, 1, 1}, {2, kF32, 2, 1}, {3, kF32, 2, 1}}));
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r.value().values.empty());
    auto got = s.client->get_region(3, 1, 0, n * 4);
    ASSERT_TRUE(got) << got.error();
    // The same piece with the home's loops.
    std::vector<float> want(n, 0.0f);
    VectorOpArgs args;
    args.op = Op::Vfma;
    args.dst = {ElemType::F32, want.data(), n};
    args.a = {ElemType::F32, x.data(), n};
    args.b = {ElemType::F32, y.data(), n};
    args.c = {ElemType::F32, y.data(), n};
    run_vector_piece_cpu(args, 100, 700);
    EXPECT_EQ(std::memcmp(got.value().data(), want.data(), n * 4), 0) << "only [100, 700) written, with the same bits";
}

TEST(NodeVector, ReductionPieceReturnsItsPartial) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    const std::size_t n = 3000;
    std::vector<double> a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = (i % 2 ? 1e16 : -1.0) / static_cast<double>(i % 7 + 1);
    ASSERT_TRUE(s.client->put_region(1, 1, n * 8, 0, bytes_of_vector(a)));
    auto r = s.run(chunk(Op::Vsum, n, 1024, n, {{1, kF64, 1, 1}}));
    ASSERT_TRUE(r) << r.error();
    VectorOpArgs args;
    args.op = Op::Vsum;
    args.a = {ElemType::F64, a.data(), n};
    const VectorPartial want = run_vector_piece_cpu(args, 1024, n);
    ASSERT_EQ(want.values.size(), 2u);
    EXPECT_EQ(r.value().values, want.values);
}

// A vscan piece starts from the carry in the scalars and returns where it
// ended (values[0] for a float region, int_value for an integer one),
// writing its range in place with the home's bits.
TEST(NodeVector, ScanPieceRunsFromItsCarryAndReturnsTheNext) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    const std::size_t n = 2000;
    std::vector<float> a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = (i % 3 ? 1e7f : -0.3f) / static_cast<float>(i % 11 + 1);
    ASSERT_TRUE(s.client->put_region(1, 1, n * 4, 0, bytes_of_vector(a)));
    ASSERT_TRUE(s.client->put_region(2, 1, n * 4, 0, {}));
    VectorChunk piece = chunk(Op::Vscan, n, 500, 1500, {{0, kF32, 2, 1}, {1, kF32, 1, 1}});
    piece.float_scalar = 12345.5;
    auto r = s.run(piece);
    ASSERT_TRUE(r) << r.error();
    std::vector<float> want(n, 0.0f);
    VectorOpArgs args{Op::Vscan, {ElemType::F32, want.data(), n}, {ElemType::F32, a.data(), n}};
    const ScanCarry next = run_scan_piece_cpu(args, 500, 1500, ScanCarry{0, 12345.5});
    ASSERT_EQ(r.value().values.size(), 1u);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(r.value().values[0]), std::bit_cast<std::uint64_t>(next.float_value));
    auto got = s.client->get_region(2, 1, 0, n * 4);
    ASSERT_TRUE(got) << got.error();
    EXPECT_EQ(std::memcmp(got.value().data(), want.data(), n * 4), 0) << "only [500, 1500) written, with the same bits";

    std::vector<std::int32_t> ints(n, -7);
    ASSERT_TRUE(s.client->put_region(3, 1, n * 4, 0, bytes_of_vector(ints)));
    VectorChunk in_place = chunk(Op::Vscan, n, 0, n, {{0, kI32, 3, 1}, {1, kI32, 3, 1}});
    in_place.int_scalar = 2147483000;  // wraps
    auto ri = s.run(in_place);
    ASSERT_TRUE(ri) << ri.error();
    EXPECT_EQ(ri.value().int_value, static_cast<std::int32_t>(static_cast<std::uint32_t>(2147483000) - 7u * n));
}

// A vmatmul piece counts rows: rows [r0, r1) of C from the same rows of A
// and all of B, in place on the node, with the home's bits.
TEST(NodeVector, MatmulPieceWritesItsRows) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    const std::size_t m = 50, k = 30, n = 20;
    std::vector<double> a(m * k), b(k * n);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = (i % 3 ? 1e9 : -0.7) / static_cast<double>(i % 13 + 1);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = 0.01 * static_cast<double>(i % 17) - 0.05;
    ASSERT_TRUE(s.client->put_region(1, 1, m * n * 8, 0, {}));
    ASSERT_TRUE(s.client->put_region(2, 1, m * k * 8, 0, bytes_of_vector(a)));
    ASSERT_TRUE(s.client->put_region(3, 1, k * n * 8, 0, bytes_of_vector(b)));
    VectorChunk piece = chunk(Op::Vmatmul, m, 10, 35, {{0, kF64, 1, 1}, {1, kF64, 2, 1}, {2, kF64, 3, 1}});
    piece.int_scalar = static_cast<std::int64_t>(k);
    auto r = s.run(piece);
    ASSERT_TRUE(r) << r.error();
    std::vector<double> want(m * n, 0.0);
    VectorOpArgs args{Op::Vmatmul, {ElemType::F64, want.data(), m * n}, {ElemType::F64, a.data(), m * k},
                      {ElemType::F64, b.data(), k * n}};
    args.int_scalar = static_cast<std::int64_t>(k);
    run_matmul_rows_cpu(args, 10, 35);
    auto got = s.client->get_region(1, 1, 0, m * n * 8);
    ASSERT_TRUE(got) << got.error();
    EXPECT_EQ(std::memcmp(got.value().data(), want.data(), m * n * 8), 0) << "only rows [10, 35) written, with the same bits";
}

TEST(NodeVector, PiecesThatDoNotFitAreRefused) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    ASSERT_TRUE(s.client->put_region(1, 1, 4096 * 4, 0, {}));
    ASSERT_TRUE(s.client->put_region(2, 1, 4096 * 4, 0, {}));
    ASSERT_TRUE(s.client->put_region(3, 1, 10, 0, {}));
    auto refused = [&](const VectorChunk& v, const std::string& code, const std::string& text) {
        auto r = s.run(v);
        ASSERT_FALSE(r) << text;
        EXPECT_NE(r.error().find(code), std::string::npos) << r.error();
        EXPECT_NE(r.error().find(text), std::string::npos) << r.error();
    };
    refused(chunk(Op::Addi, 4096, 0, 10, {}), "bad-launch", "is not a vector op");
    VectorChunk bad_k = chunk(Op::Vmatmul, 1024, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 1}, {2, kF32, 2, 1}});
    bad_k.int_scalar = 3;  // 4096 elements of b are not 3 x N
    refused(bad_k, "bad-launch", "not K x N elements for K = 3");
    VectorChunk rows = chunk(Op::Vmatmul, 1024, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 1}, {2, kF32, 3, 1}});
    rows.int_scalar = 4;  // a: 1024 x 4 would be 4096 elements, c 1024 x (10 / 4)
    refused(rows, "bad-launch", "not K x N elements for K = 4");
    VectorChunk short_a = chunk(Op::Vmatmul, 1024, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 1}, {2, kF32, 2, 1}});
    short_a.int_scalar = 1024;  // b: 1024 x 4, c: 1024 x 4 fits, a must be 1024 x 1024
    refused(short_a, "bad-launch", "a: region 2 has 16384 bytes, not 1048576 f32 elements");
    refused(chunk(Op::Vsum, 4096, 100, 200, {{1, kF32, 1, 1}}), "bad-launch", "starts at a multiple of 1024");
    refused(chunk(Op::Vadd, 4096, 0, 5000, {{0, kF32, 1, 1}, {1, kF32, 2, 1}, {2, kF32, 2, 1}}), "bad-launch", "not inside [0, 4096)");
    refused(chunk(Op::Vadd, 4096, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 1}}), "bad-launch", "binds region slots");
    refused(chunk(Op::Vadd, 4096, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 7}, {2, kF32, 2, 1}}), "unknown-region", "version 7");
    refused(chunk(Op::Vadd, 4096, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 3, 1}, {2, kF32, 2, 1}}), "bad-launch", "not 4096 f32 elements");
    refused(chunk(Op::Vscale, 4096, 0, 10, {{0, kI32, 1, 1}, {1, kI32, 2, 1}}), "bad-launch", "not a float region");
    refused(chunk(Op::Vadd, 4096, 0, 10, {{0, kF32, 1, 1}, {1, kF32, 2, 1}, {2, kI32, 2, 1}}), "bad-launch", "vadd: b is i32");
    // The node still serves.
    EXPECT_TRUE(s.run(chunk(Op::Vsum, 4096, 0, 4096, {{1, kF32, 1, 1}})));
}

// A slow chunk writes z; a vsumi piece over z sent meanwhile waits for it
// (as a region-get does) and sums what it wrote, never zeros or half of it.
TEST(NodeVector, APieceWaitsForTheChunkThatWritesWhatItReads) {
    VectorNode s;
    ASSERT_TRUE(s.client);
    AssembleResult a = assemble(kSpin.c_str());
    ASSERT_TRUE(a.ok());
    const Sha256 hash = s.client->upload_module(write_module(*a.module)).value();
    const std::uint64_t n = 2048, spins = 20000;
    ASSERT_TRUE(s.client->put_region(5, 1, n * 4, 0, {}));
    LaunchChunk l;
    l.module = hash;
    l.count = l.end = n;
    l.args = {Binding{Binding::Kind::Region, 5, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, spins}};
    l.max_iterations = 1u << 30;
    l.keep_outputs = true;
    const std::uint64_t launch = s.client->start_launch(l);
    auto r = s.run(chunk(Op::Vsumi, n, 0, n, {{1, kI32, 5, 1}}));
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().int_value, static_cast<std::int64_t>(n * spins));
    EXPECT_TRUE(s.client->wait_launch(launch));
}

}  // namespace
