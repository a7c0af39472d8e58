// Vector ops cut into pieces (vm/vector_op.h run_vector_piece_cpu and
// combine_vector_partials, what a cluster runs on its nodes): every op that
// may be cut gives the same bits as one pass over the whole regions, on every
// element type it takes, with values whose sums depend on the order of
// rounding, NaNs, infinities and both zeros, and with pieces cut at random
// (aligned for reductions).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isa/vector_rules.h"
#include "vm/vector_op.h"

namespace polymer {
namespace {

constexpr ElemType kTypes[] = {ElemType::U8, ElemType::I32, ElemType::U32, ElemType::I64, ElemType::F32, ElemType::F64};

// A region's storage, 8-byte aligned.
struct Storage {
    ElemType type;
    std::vector<std::uint64_t> words;
    std::uint64_t length;
    Storage(ElemType t, std::uint64_t n) : type(t), words((n * elem_size(t) + 7) / 8 + 1), length(n) {}
    RegionView view() { return {type, words.data(), length}; }
    std::vector<std::uint8_t> bytes() const {
        const auto* p = reinterpret_cast<const std::uint8_t*>(words.data());
        return {p, p + length * elem_size(type)};
    }
};

// Floats of every magnitude (sums depend on the order), with NaNs,
// infinities and both zeros; integers over their whole range.
void fill_random(Storage& s, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto* p = reinterpret_cast<std::uint8_t*>(s.words.data());
    for (std::uint64_t i = 0; i < s.length; ++i) {
        double d = 0;
        switch (rng() % 16) {
        case 0: d = 0.0; break;
        case 1: d = -0.0; break;
        case 2: d = std::numeric_limits<double>::quiet_NaN(); break;
        case 3: d = (rng() % 2 ? 1 : -1) * std::numeric_limits<double>::infinity(); break;
        default: d = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), static_cast<int>(rng() % 60) - 30); break;
        }
        const std::uint64_t bits = rng();
        switch (s.type) {
        case ElemType::F32: {
            const float f = static_cast<float>(d);
            std::memcpy(p + 4 * i, &f, 4);
            break;
        }
        case ElemType::F64: std::memcpy(p + 8 * i, &d, 8); break;
        default: std::memcpy(p + elem_size(s.type) * i, &bits, elem_size(s.type)); break;
        }
    }
}

// Mostly finite floats for the sums (an infinity or NaN makes every order agree).
void fill_finite(Storage& s, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto* p = reinterpret_cast<std::uint8_t*>(s.words.data());
    for (std::uint64_t i = 0; i < s.length; ++i) {
        const double d = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), static_cast<int>(rng() % 80) - 40);
        if (s.type == ElemType::F32) {
            const float f = static_cast<float>(d);
            std::memcpy(p + 4 * i, &f, 4);
        } else if (s.type == ElemType::F64) {
            std::memcpy(p + 8 * i, &d, 8);
        }
    }
}

// The op's region operands, each of type `t`, n elements, random; dst zero.
struct OpCase {
    VectorOpArgs args;
    std::vector<Storage> regions;  // dst, a, b, c (unused ones empty)
};

OpCase make_case(Op op, ElemType t, std::uint64_t n, std::uint64_t seed, bool finite) {
    OpCase c;
    const std::uint8_t used = vector_region_slots(op);
    for (std::size_t slot = 0; slot < 4; ++slot) c.regions.emplace_back(t, (used & slot_bit(slot)) ? n : 0);
    for (std::size_t slot = 1; slot < 4; ++slot) {
        if (finite) fill_finite(c.regions[slot], seed + slot);
        else fill_random(c.regions[slot], seed + slot);
    }
    c.args.op = op;
    RegionView* views[] = {&c.args.dst, &c.args.a, &c.args.b, &c.args.c};
    for (std::size_t slot = 0; slot < 4; ++slot) {
        if (!(used & slot_bit(slot))) continue;
        *views[slot] = c.regions[slot].view();
    }
    c.args.int_scalar = 7;
    c.args.float_scalar = 1.0 / 3.0;
    return c;
}

// Random cut points in (0, n), multiples of `align`.
std::vector<std::uint64_t> random_cuts(std::uint64_t n, std::uint64_t align, std::mt19937_64& rng) {
    std::vector<std::uint64_t> cuts{0};
    for (int k = 0; k < 5; ++k) {
        const std::uint64_t at = rng() % (n + 1) / align * align;
        if (at != 0 && at < n) cuts.push_back(at);
    }
    cuts.push_back(n);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    return cuts;
}

std::string what(Op op, ElemType t, std::uint64_t n) {
    return std::string(op_info(op).mnemonic) + " on " + std::string(elem_type_name(t)) + " x " + std::to_string(n);
}

std::vector<Op> vector_ops() {
    std::vector<Op> ops;
    for (Op op : kAllOps)
        if (as_vector_op(op)) ops.push_back(op);
    return ops;
}

TEST(VectorPieces, EveryOpCutIntoPiecesGivesTheBitsOfOnePass) {
    std::mt19937_64 rng(17);
    int ran = 0;
    for (Op op : vector_ops()) {
        const VectorShape shape = vector_shape(op);
        if (shape == VectorShape::Whole || shape == VectorShape::Rows) continue;  // Rows: its own test, by rows
        int types_run = 0;
        for (ElemType t : kTypes) {
            for (std::uint64_t n : {1ull, 1023ull, 1024ull, 5000ull, 3 * 1024ull + 9}) {
                for (bool finite : {false, true}) {
                    OpCase whole = make_case(op, t, n, n * 31 + static_cast<int>(t), finite);
                    if (check_vector_op(whole.args) != nullptr) continue;  // not a type this op takes
                    OpCase cut = make_case(op, t, n, n * 31 + static_cast<int>(t), finite);
                    const VectorOpResult want = run_vector_op_cpu(whole.args);
                    const auto cuts = random_cuts(n, vector_piece_alignment(op), rng);
                    std::vector<VectorPartial> parts;
                    ScanCarry carry;  // a scan's pieces run in order, each from the one before's
                    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
                        if (shape == VectorShape::Scan) carry = run_scan_piece_cpu(cut.args, cuts[k], cuts[k + 1], carry);
                        else parts.push_back(run_vector_piece_cpu(cut.args, cuts[k], cuts[k + 1]));
                    }
                    const std::string w = what(op, t, n) + " in " + std::to_string(cuts.size() - 1) + " pieces";
                    if (shape == VectorShape::Reduction) {
                        const VectorOpResult got = combine_vector_partials(op, parts);
                        EXPECT_EQ(std::bit_cast<std::uint64_t>(got.float_value), std::bit_cast<std::uint64_t>(want.float_value)) << w;
                        EXPECT_EQ(got.int_value, want.int_value) << w;
                    } else {
                        EXPECT_EQ(cut.regions[0].bytes(), whole.regions[0].bytes()) << w;
                    }
                    ++ran;
                    ++types_run;
                }
            }
        }
        EXPECT_GT(types_run, 0) << op_info(op).mnemonic << " ran on no type";
    }
    EXPECT_GT(ran, 100);
}

// The zero a float min returns when -0 and +0 are both the minimum depends
// on where they are (each lane keeps its first, the lanes fold in order): a
// combiner that took each piece's minimum and then the first of those would
// give -0 here, one pass gives +0.
TEST(VectorPieces, MinOfBothZerosIsTheOnePassZero) {
    for (Op op : {Op::Vredmin, Op::Vredmax}) {
        const double zero_first = op == Op::Vredmin ? -0.0 : 0.0;  // in the first piece, lane 1
        Storage a(ElemType::F64, 2048);
        auto* v = reinterpret_cast<double*>(a.words.data());
        for (std::uint64_t i = 0; i < 2048; ++i) v[i] = op == Op::Vredmin ? 5.0 : -5.0;
        v[1] = zero_first;
        v[1024] = -zero_first;  // the second piece, lane 0
        VectorOpArgs args;
        args.op = op;
        args.a = a.view();
        const VectorOpResult one = run_vector_op_cpu(args);
        const VectorPartial parts[] = {run_vector_piece_cpu(args, 0, 1024), run_vector_piece_cpu(args, 1024, 2048)};
        const VectorOpResult cut = combine_vector_partials(op, parts);
        EXPECT_EQ(std::signbit(one.float_value), std::signbit(-zero_first)) << op_info(op).mnemonic << ": lane 0 comes first";
        EXPECT_EQ(std::bit_cast<std::uint64_t>(cut.float_value), std::bit_cast<std::uint64_t>(one.float_value)) << op_info(op).mnemonic;
    }
}

TEST(VectorPieces, AllNaNPiecesGiveTheIdentity) {
    Storage a(ElemType::F32, 3000);
    auto* v = reinterpret_cast<float*>(a.words.data());
    for (std::uint64_t i = 0; i < 3000; ++i) v[i] = std::numeric_limits<float>::quiet_NaN();
    v[2500] = 2.5f;
    VectorOpArgs args;
    args.op = Op::Vredmin;
    args.a = a.view();
    const VectorPartial parts[] = {run_vector_piece_cpu(args, 0, 2048), run_vector_piece_cpu(args, 2048, 3000)};
    EXPECT_EQ(combine_vector_partials(Op::Vredmin, parts).float_value, 2.5);
    EXPECT_EQ(combine_vector_partials(Op::Vredmin, {parts, 1}).float_value, std::numeric_limits<double>::infinity());
}

TEST(VectorPieces, PiecesThatCannotBeCutDoNothing) {
    Storage a(ElemType::F64, 4096), dst(ElemType::F64, 4096);
    fill_finite(a, 3);
    VectorOpArgs sum;
    sum.op = Op::Vsum;
    sum.a = a.view();
    EXPECT_EQ(vector_piece_alignment(Op::Vsum), 1024u);
    EXPECT_TRUE(run_vector_piece_cpu(sum, 100, 2048).values.empty()) << "a reduction piece must start on a block";
    EXPECT_TRUE(run_vector_piece_cpu(sum, 1024, 5000).values.empty()) << "past the end";
    EXPECT_EQ(run_vector_piece_cpu(sum, 1024, 2048).values.size(), 1u) << "one block";
    EXPECT_EQ(run_vector_piece_cpu(sum, 1024, 3000).values.size(), 2u) << "one block and part of another";

    VectorOpArgs scan;
    scan.op = Op::Vscan;
    scan.dst = dst.view();
    scan.a = a.view();
    EXPECT_EQ(vector_shape(Op::Vscan), VectorShape::Scan);
    EXPECT_EQ(vector_shape(Op::Addi), VectorShape::Whole);
    run_vector_piece_cpu(scan, 0, 4096);
    EXPECT_EQ(dst.bytes(), std::vector<std::uint8_t>(4096 * 8, 0)) << "a scan's pieces run from a carry: run_scan_piece_cpu";
    EXPECT_EQ(run_scan_piece_cpu(sum, 0, 10, ScanCarry{5, 1.5}), (ScanCarry{5, 1.5})) << "not a scan: the carry back, nothing run";
    EXPECT_EQ(run_scan_piece_cpu(scan, 10, 5000, ScanCarry{5, 1.5}), (ScanCarry{5, 1.5})) << "past the end";
    EXPECT_EQ(dst.bytes(), std::vector<std::uint8_t>(4096 * 8, 0));
}

// In place (vscan a, a), pieces from their carries still write one pass's
// bits, and the last carry is the last element.
TEST(VectorPieces, ScanPiecesInPlaceEndOnTheLastElement) {
    std::mt19937_64 rng(41);
    for (ElemType t : kTypes) {
        for (bool in_place : {false, true}) {
            SCOPED_TRACE(std::string(elem_type_name(t)) + (in_place ? " in place" : " into another region"));
            const std::uint64_t n = 5000;
            Storage a(t, n), whole(t, n), pieces(t, n);
            t == ElemType::F32 || t == ElemType::F64 ? fill_finite(a, 7) : fill_random(a, 7);
            VectorOpArgs one{Op::Vscan, whole.view(), a.view()};
            run_vector_op_cpu(one);
            Storage src = a;
            if (in_place) pieces.words = a.words;  // in place: the pieces scan their own input
            VectorOpArgs cut{Op::Vscan, pieces.view(), in_place ? pieces.view() : src.view()};
            ScanCarry carry;
            for (std::uint64_t at = 0; at < n;) {
                const std::uint64_t end = std::min<std::uint64_t>(n, at + 1 + rng() % 1500);
                carry = run_scan_piece_cpu(cut, at, end, carry);
                at = end;
            }
            EXPECT_EQ(pieces.bytes(), whole.bytes());
            // The last carry is the last element.
            if (t == ElemType::F64) {
                EXPECT_EQ(std::bit_cast<std::uint64_t>(carry.float_value),
                          std::bit_cast<std::uint64_t>(reinterpret_cast<const double*>(whole.words.data())[n - 1]));
            } else if (t == ElemType::I64) {
                EXPECT_EQ(carry.int_value, reinterpret_cast<const std::int64_t*>(whole.words.data())[n - 1]);
            }
        }
    }
}

// vmatmul by rows: C's rows cut at random, each piece from the same rows of
// A and all of B, give one pass's bits on every type, in place too (C is A
// when N = K).
TEST(VectorPieces, MatmulRowsGiveOnePassBits) {
    std::mt19937_64 rng(43);
    for (ElemType t : kTypes) {
        for (bool in_place : {false, true}) {
            SCOPED_TRACE(std::string(elem_type_name(t)) + (in_place ? " in place" : ""));
            const std::uint64_t m = 37, k = 21, n = in_place ? k : 13;
            Storage a(t, m * k), b(t, k * n), whole(t, m * n), rows(t, m * n);
            t == ElemType::F32 || t == ElemType::F64 ? fill_finite(a, 5) : fill_random(a, 5);
            t == ElemType::F32 || t == ElemType::F64 ? fill_finite(b, 6) : fill_random(b, 6);
            Storage a_copy = a;
            VectorOpArgs one{Op::Vmatmul, whole.view(), a.view(), b.view()};
            one.int_scalar = static_cast<std::int64_t>(k);
            run_vector_op_cpu(one);
            Storage& c = in_place ? a_copy : rows;
            VectorOpArgs cut{Op::Vmatmul, c.view(), a_copy.view(), b.view()};
            cut.int_scalar = static_cast<std::int64_t>(k);
            for (std::uint64_t at = 0; at < m;) {
                const std::uint64_t end = std::min<std::uint64_t>(m, at + 1 + rng() % 9);
                run_matmul_rows_cpu(cut, at, end);
                at = end;
            }
            EXPECT_EQ(c.bytes(), whole.bytes());
        }
    }
    Storage a(ElemType::I32, 6), b(ElemType::I32, 6), c(ElemType::I32, 4);
    VectorOpArgs bad{Op::Vmatmul, c.view(), a.view(), b.view()};
    bad.int_scalar = 3;
    run_matmul_rows_cpu(bad, 1, 3);  // rows past M = 2: nothing
    EXPECT_EQ(c.bytes(), std::vector<std::uint8_t>(16, 0));
    EXPECT_EQ(vector_shape(Op::Vmatmul), VectorShape::Rows);
}

TEST(VectorPieces, IotaPiecesCountFromWhereTheyStart) {
    Storage dst(ElemType::I32, 1000);
    VectorOpArgs args;
    args.op = Op::Viota;
    args.dst = dst.view();
    run_vector_piece_cpu(args, 300, 700);
    const auto* v = reinterpret_cast<const std::int32_t*>(dst.words.data());
    EXPECT_EQ(v[299], 0);
    EXPECT_EQ(v[300], 300);
    EXPECT_EQ(v[699], 699);
    EXPECT_EQ(v[700], 0);
}

}  // namespace
}  // namespace polymer
