// The CPU backend of the vector ops: the operand check (the op's rule from
// isa/vector_rules.h: which regions must agree in type and length) and the
// native run, which picks the loop for (op, element type) once per call.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "isa/vector_rules.h"
#include "vm/cpu_variants.h"
#include "vm/vector_kernels.h"
#include "vm/vector_op.h"

namespace polymer {
namespace {

namespace loops = vector_loops;

// --- the check ---------------------------------------------------------------

// VectorOpArgs' dst, a, b, c are slots 0..3 of the op's rule (isa/vector_rules.h).
enum : std::uint8_t { kDst = 1, kA = 2, kB = 4, kC = 8 };
static_assert(kDst == slot_bit(0) && kA == slot_bit(1) && kB == slot_bit(2) && kC == slot_bit(3));

struct Operand {
    std::uint8_t bit;
    const char* name;
    const RegionView* view;
};

std::string elements(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " element" : " elements");
}

class OperandChecker {
public:
    explicit OperandChecker(const VectorOpArgs& args)
        : args_(args),
          mnemonic_(op_info(args.op).mnemonic),
          operands_{{kDst, "dst", &args.dst}, {kA, "a", &args.a}, {kB, "b", &args.b}, {kC, "c", &args.c}} {}

    VectorOpProblem run() {
        if (!as_vector_op(args_.op)) return fail(VectorOpFault::TypeMismatch, " is not a vector op");
        const VectorRule& rule = vector_rule(args_.op);
        const std::uint8_t used = vector_region_slots(args_.op);
        for (const Operand& o : operands_) {
            if (!(used & o.bit)) continue;
            if (!is_valid_elem_type(static_cast<std::uint8_t>(o.view->type)))
                return fail(VectorOpFault::TypeMismatch, std::string(": ") + o.name + " has an invalid element type " +
                                                             std::to_string(static_cast<unsigned>(o.view->type)));
        }
        if (auto p = check_types(rule); p.fault != VectorOpFault::None) return p;
        for (const Operand& o : operands_) {
            if ((used & o.bit) && o.view->length != 0 && o.view->data == nullptr)
                return fail(VectorOpFault::LengthMismatch, std::string(": ") + o.name + " has " +
                                                               elements(o.view->length) + " but no storage");
        }
        if (auto p = check_lengths(rule); p.fault != VectorOpFault::None) return p;
        if (args_.op == Op::Vmatmul) return check_matmul();
        return {};
    }

private:
    VectorOpProblem fail(VectorOpFault fault, const std::string& what) {
        thread_local std::string reason;
        reason.assign(mnemonic_);
        reason += what;
        return {fault, reason.c_str()};
    }

    const Operand* first_of(std::uint8_t bits) const {
        for (const Operand& o : operands_)
            if (bits & o.bit) return &o;
        return nullptr;
    }

    VectorOpProblem check_types(const VectorRule& rule) {
        std::array<std::optional<ElemType>, kVectorSlots> types;
        for (std::size_t slot = 0; slot < kVectorSlots; ++slot) types[slot] = operands_[slot].view->type;
        const VectorTypeProblem p = find_vector_type_problem(rule, types);
        const Operand& o = operands_[p.slot];
        const std::string type_name(elem_type_name(o.view->type));
        switch (p.what) {
        case VectorTypeProblem::What::None: break;
        case VectorTypeProblem::What::NotInteger:
            return fail(VectorOpFault::TypeMismatch, std::string(": ") + o.name + " is " + type_name +
                                                         ", not an integer region");
        case VectorTypeProblem::What::NotFloat:
            return fail(VectorOpFault::TypeMismatch, std::string(": ") + o.name + " is " + type_name +
                                                         ", not a float region");
        case VectorTypeProblem::What::Differs: {
            const Operand& ref = operands_[p.reference];
            return fail(VectorOpFault::TypeMismatch, std::string(": ") + o.name + " is " + type_name + " but " +
                                                         ref.name + " is " +
                                                         std::string(elem_type_name(ref.view->type)));
        }
        }
        return {};
    }

    VectorOpProblem check_lengths(const VectorRule& rule) {
        const Operand* ref = first_of(rule.same_length);
        if (ref == nullptr) return {};
        for (const Operand& o : operands_) {
            if (!(rule.same_length & o.bit) || o.view->length == ref->view->length) continue;
            return fail(VectorOpFault::LengthMismatch, std::string(": ") + o.name + " has " +
                                                           elements(o.view->length) + " but " + ref->name +
                                                           " has " + std::to_string(ref->view->length));
        }
        return {};
    }

    VectorOpProblem check_matmul() {
        const std::int64_t k = args_.int_scalar;
        if (k <= 0)
            return fail(VectorOpFault::LengthMismatch, ": K = " + std::to_string(k) + ", must be positive");
        const auto uk = static_cast<std::uint64_t>(k);
        const std::string k_text = std::to_string(k);
        if (args_.a.length % uk != 0)
            return fail(VectorOpFault::LengthMismatch, ": a has " + elements(args_.a.length) +
                                                           ", not a multiple of K = " + k_text);
        if (args_.b.length % uk != 0)
            return fail(VectorOpFault::LengthMismatch, ": b has " + elements(args_.b.length) +
                                                           ", not a multiple of K = " + k_text);
        const std::uint64_t m = args_.a.length / uk;
        const std::uint64_t n = args_.b.length / uk;
        std::uint64_t mn = 0;
        if (__builtin_mul_overflow(m, n, &mn) || mn != args_.dst.length)
            return fail(VectorOpFault::LengthMismatch, ": dst has " + elements(args_.dst.length) + ", not M x N = " +
                                                           std::to_string(m) + " x " + std::to_string(n));
        return {};
    }

    const VectorOpArgs& args_;
    std::string_view mnemonic_;
    Operand operands_[4];
};

// --- the run -----------------------------------------------------------------

template <class Fn>
void with_elem_type(ElemType t, Fn&& fn) {
    switch (t) {
    case ElemType::U8: fn(std::uint8_t{}); return;
    case ElemType::I32: fn(std::int32_t{}); return;
    case ElemType::U32: fn(std::uint32_t{}); return;
    case ElemType::I64: fn(std::int64_t{}); return;
    case ElemType::F32: fn(float{}); return;
    case ElemType::F64: fn(double{}); return;
    }
}

template <class T>
T* data_of(const RegionView& r) {
    return static_cast<T*>(r.data);
}

template <class T>
void run_matmul(const VectorOpArgs& x) {
    const auto k = static_cast<std::uint64_t>(x.int_scalar);
    const std::uint64_t m = x.a.length / k;
    const std::uint64_t n = x.b.length / k;
    T* c = data_of<T>(x.dst);
    const T* a = data_of<T>(x.a);
    const T* b = data_of<T>(x.b);
    auto overlaps = [&](const T* p, std::uint64_t len) { return len != 0 && p < c + m * n && c < p + len; };
    if (m * n != 0 && (overlaps(a, x.a.length) || overlaps(b, x.b.length))) {
        // `vmatmul a, a, b`: compute from the old values, then store.
        std::vector<T> out(m * n);
        loops::matmul(out.data(), a, b, m, k, n);
        loops::copy(c, out.data(), m * n);
        return;
    }
    loops::matmul(c, a, b, m, k, n);
}

// vfma on floats, built for FMA hardware too (vm/cpu_variants.h).
POLYMER_CPU_VARIANTS
void fused_multiply_add(float* dst, const float* a, const float* b, const float* c, std::uint64_t n) {
    loops::multiply_add(dst, a, b, c, n);
}
POLYMER_CPU_VARIANTS
void fused_multiply_add(double* dst, const double* a, const double* b, const double* c, std::uint64_t n) {
    loops::multiply_add(dst, a, b, c, n);
}

template <class T>
void multiply_add(T* dst, const T* a, const T* b, const T* c, std::uint64_t n) {
    if constexpr (loops::kFloat<T>)
        fused_multiply_add(dst, a, b, c, n);
    else
        loops::multiply_add(dst, a, b, c, n);
}

// --- reductions -----------------------------------------------------------
// A reduction hands what it computed over a run of elements to a sink: the
// sum of each summation block (vsum, vdot), the running extremes of each
// lane (vredmin, vredmax), or a 64-bit value (the integer ones). The
// Combiner makes the op's value from them; a PartialSink keeps them for a
// cluster to send home, where a Combiner takes every piece's in element
// order (combine_vector_partials). One machine feeds its one pass straight
// into a Combiner: the same arithmetic in the same order, no copies.
//
// Each step has one compiled body (the loops are instantiated once per
// element type, whatever the sink; the Combiner's steps are never inlined):
// the compiler may swap the operands of a float add, which changes nothing
// but which NaN comes out of two NaNs, so two copies of "the same" code
// could give a NaN of another sign. One body gives the same bits everywhere.
class ReductionSink {
public:
    virtual void block(double sum) = 0;
    virtual void lanes(const double (&lane)[loops::kLanes]) = 0;  // exact: every element type widens to binary64
    virtual void integer(std::int64_t v) = 0;

protected:
    ~ReductionSink() = default;
};

class Combiner final : public ReductionSink {
public:
    explicit Combiner(Op op) : op_(*as_vector_op(op)) {
        const double identity = op_ == VectorOp::Vredmax ? loops::Larger<double>::identity() : loops::Smaller<double>::identity();
        for (double& l : lane_) l = identity;
        if (op_ == VectorOp::Vredmini) int_ = std::numeric_limits<std::int64_t>::max();
        if (op_ == VectorOp::Vredmaxi) int_ = std::numeric_limits<std::int64_t>::min();
    }
    [[gnu::noinline]] void block(double sum) override { sum_.add(sum); }
    // Lane j of the next run of elements into lane j, as one pass over them would.
    [[gnu::noinline]] void lanes(const double (&lane)[loops::kLanes]) override {
        if (op_ == VectorOp::Vredmax) loops::extreme_lanes(lane, loops::kLanes, lane_, loops::Larger<double>{});
        else loops::extreme_lanes(lane, loops::kLanes, lane_, loops::Smaller<double>{});
    }
    // Integer sums wrap in 64 bits and min/max are exact: any order gives the same value.
    [[gnu::noinline]] void integer(std::int64_t v) override {
        if (op_ == VectorOp::Vredmini) int_ = std::min(int_, v);
        else if (op_ == VectorOp::Vredmaxi) int_ = std::max(int_, v);
        else int_ = static_cast<std::int64_t>(static_cast<std::uint64_t>(int_) + static_cast<std::uint64_t>(v));
    }
    [[gnu::noinline]] VectorOpResult result() const {
        VectorOpResult r;
        r.int_value = int_;
        if (op_ == VectorOp::Vsum || op_ == VectorOp::Vdot) r.float_value = sum_.value();
        if (op_ == VectorOp::Vredmin) r.float_value = loops::fold_lanes(lane_, loops::Smaller<double>::identity(), loops::Smaller<double>{});
        if (op_ == VectorOp::Vredmax) r.float_value = loops::fold_lanes(lane_, loops::Larger<double>::identity(), loops::Larger<double>{});
        return r;
    }

private:
    VectorOp op_;
    loops::CompensatedSum sum_;
    double lane_[loops::kLanes];
    std::int64_t int_ = 0;
};

class PartialSink final : public ReductionSink {
public:
    explicit PartialSink(VectorPartial& out) : out_(out) {}
    void block(double sum) override { out_.values.push_back(sum); }
    void lanes(const double (&lane)[loops::kLanes]) override { out_.values.assign(lane, lane + loops::kLanes); }
    void integer(std::int64_t v) override { out_.int_value = v; }

private:
    VectorPartial& out_;
};

template <class T, class Better>
void extremes(const T* a, std::uint64_t n, ReductionSink& sink) {
    T lane[loops::kLanes];
    for (T& l : lane) l = Better::identity();
    loops::extreme_lanes(a, n, lane, Better{});
    double wide[loops::kLanes];
    for (std::size_t j = 0; j < loops::kLanes; ++j) wide[j] = static_cast<double>(lane[j]);
    sink.lanes(wide);
}

// A reduction over the n elements of x's source(s) (T: a's type).
template <class T>
void reduce_typed(const VectorOpArgs& x, ReductionSink& sink) {
    const T* a = data_of<T>(x.a);
    const T* b = data_of<T>(x.b);
    const std::uint64_t n = x.a.length;
    constexpr bool kFloat = loops::kFloat<T>;
    auto block = [&](double s) { sink.block(s); };
    switch (*as_vector_op(x.op)) {
    case VectorOp::Vsum:
        if constexpr (kFloat) loops::sum_blocks(a, n, block);
        break;
    case VectorOp::Vdot:
        if constexpr (kFloat) loops::dot_blocks(a, b, n, block);
        break;
    case VectorOp::Vredmin:
        if constexpr (kFloat) extremes<T, loops::Smaller<T>>(a, n, sink);
        break;
    case VectorOp::Vredmax:
        if constexpr (kFloat) extremes<T, loops::Larger<T>>(a, n, sink);
        break;
    case VectorOp::Vsumi:
        if constexpr (!kFloat) sink.integer(loops::int_sum(a, n));
        break;
    case VectorOp::Vdoti:
        if constexpr (!kFloat) sink.integer(loops::int_dot(a, b, n));
        break;
    case VectorOp::Vredmini:
        if constexpr (!kFloat) sink.integer(loops::int_min(a, n));
        break;
    case VectorOp::Vredmaxi:
        if constexpr (!kFloat) sink.integer(loops::int_max(a, n));
        break;
    case VectorOp::Vadd:
    case VectorOp::Vsub:
    case VectorOp::Vmul:
    case VectorOp::Vdiv:
    case VectorOp::Vmin:
    case VectorOp::Vmax:
    case VectorOp::Vfma:
    case VectorOp::Vscale:
    case VectorOp::Vfill:
    case VectorOp::Vfillf:
    case VectorOp::Viota:
    case VectorOp::Vcopy:
    case VectorOp::Vcmplt:
    case VectorOp::Vcmpeq:
    case VectorOp::Vselect:
    case VectorOp::Vscan:
    case VectorOp::Vmatmul: break;  // not reductions: run_typed
    }
}

// T is the element type of the op's main operands (its rule's same-type group).
// `x` may be a piece of the whole op (piece_of): `first` is where its
// elements start in the whole regions. Writes dst; reductions go to reduce_typed.
template <class T>
void run_typed(const VectorOpArgs& x, std::uint64_t first) {
    T* dst = data_of<T>(x.dst);
    const T* a = data_of<T>(x.a);
    const T* b = data_of<T>(x.b);
    const T* c = data_of<T>(x.c);
    const std::uint64_t n = x.dst.length;
    // The check has run: x.op is a vector op, and a float-only (integer-only)
    // op only ever gets here with a float (integer) T.
    constexpr bool kFloat = loops::kFloat<T>;
    switch (*as_vector_op(x.op)) {
    case VectorOp::Vadd: loops::elementwise<loops::Add>(dst, a, b, n); break;
    case VectorOp::Vsub: loops::elementwise<loops::Sub>(dst, a, b, n); break;
    case VectorOp::Vmul: loops::elementwise<loops::Mul>(dst, a, b, n); break;
    case VectorOp::Vdiv: loops::elementwise<loops::Div>(dst, a, b, n); break;
    case VectorOp::Vmin: loops::elementwise<loops::Min>(dst, a, b, n); break;
    case VectorOp::Vmax: loops::elementwise<loops::Max>(dst, a, b, n); break;
    case VectorOp::Vfma: multiply_add(dst, a, b, c, n); break;
    case VectorOp::Viota: loops::iota(dst, n, first); break;
    case VectorOp::Vcopy: loops::copy(dst, a, n); break;
    case VectorOp::Vscan: loops::inclusive_scan(dst, a, n); break;
    case VectorOp::Vmatmul: run_matmul<T>(x); break;
    case VectorOp::Vcmplt:
        with_elem_type(x.dst.type, [&](auto d) { loops::compare<loops::Less>(data_of<decltype(d)>(x.dst), a, b, n); });
        break;
    case VectorOp::Vcmpeq:
        with_elem_type(x.dst.type, [&](auto d) { loops::compare<loops::Equal>(data_of<decltype(d)>(x.dst), a, b, n); });
        break;
    case VectorOp::Vselect:
        with_elem_type(x.a.type, [&](auto m) { loops::select(dst, data_of<const decltype(m)>(x.a), b, c, n); });
        break;
    case VectorOp::Vscale:
        if constexpr (kFloat) loops::scale(dst, a, x.float_scalar, n);
        break;
    case VectorOp::Vfillf:
        if constexpr (kFloat) loops::fill(dst, static_cast<T>(x.float_scalar), n);
        break;
    // The value wraps to the element type (u8: the low byte).
    case VectorOp::Vfill:
        if constexpr (!kFloat) loops::fill(dst, static_cast<T>(x.int_scalar), n);
        break;
    case VectorOp::Vsum:
    case VectorOp::Vsumi:
    case VectorOp::Vredmin:
    case VectorOp::Vredmax:
    case VectorOp::Vredmini:
    case VectorOp::Vredmaxi:
    case VectorOp::Vdot:
    case VectorOp::Vdoti: break;  // reductions: reduce_typed
    }
}

// Compares and reductions are typed by their source a; the rest by dst.
ElemType main_type(const VectorOpArgs& x) {
    return (vector_rule(x.op).same_type & kDst) ? x.dst.type : x.a.type;
}

// The elements an op runs over: a reduction's source, else dst.
std::uint64_t op_length(const VectorOpArgs& x) {
    return vector_result(x.op) == VectorResult::Region ? x.dst.length : x.a.length;
}

// The same op over elements [begin, end) of its region operands only.
VectorOpArgs piece_of(const VectorOpArgs& x, std::uint64_t begin, std::uint64_t end) {
    VectorOpArgs p = x;
    const std::uint8_t used = vector_region_slots(x.op);
    RegionView* views[] = {&p.dst, &p.a, &p.b, &p.c};
    for (std::size_t slot = 0; slot < 4; ++slot) {
        if (!(used & slot_bit(slot))) continue;
        RegionView& v = *views[slot];
        v.length = end - begin;
        v.data = v.data == nullptr || v.length == 0 ? nullptr : static_cast<std::uint8_t*>(v.data) + begin * elem_size(v.type);
    }
    return p;
}

void reduce(const VectorOpArgs& x, ReductionSink& sink) {
    with_elem_type(x.a.type, [&](auto t) { reduce_typed<decltype(t)>(x, sink); });
}

}  // namespace

VectorOpProblem find_vector_op_problem(const VectorOpArgs& args) {
    return OperandChecker(args).run();
}

const char* check_vector_op(const VectorOpArgs& args) {
    return find_vector_op_problem(args).reason;
}

VectorShape vector_shape(Op op) {
    const auto v = as_vector_op(op);
    if (!v) return VectorShape::Whole;
    if (*v == VectorOp::Vmatmul) return VectorShape::Rows;
    if (*v == VectorOp::Vscan) return VectorShape::Scan;
    return vector_result(op) == VectorResult::Region ? VectorShape::Elementwise : VectorShape::Reduction;
}

std::uint64_t vector_piece_alignment(Op op) {
    static_assert(loops::kSumBlock % loops::kLanes == 0, "a block boundary must also be a lane boundary");
    return vector_shape(op) == VectorShape::Reduction ? loops::kSumBlock : 1;
}

VectorOpResult run_vector_op_cpu(const VectorOpArgs& args) {
    // The VM checks first; checking again (a few compares) keeps a bad call
    // from touching memory it should not.
    if (find_vector_op_problem(args).fault != VectorOpFault::None) return {};
    if (vector_shape(args.op) == VectorShape::Reduction) {
        // One pass over everything, combined as a cluster combines its pieces.
        Combiner whole(args.op);
        reduce(args, whole);
        return whole.result();
    }
    with_elem_type(main_type(args), [&](auto t) { run_typed<decltype(t)>(args, 0); });
    return {};
}

VectorPartial run_vector_piece_cpu(const VectorOpArgs& args, std::uint64_t begin, std::uint64_t end) {
    if (find_vector_op_problem(args).fault != VectorOpFault::None) return {};
    const VectorShape shape = vector_shape(args.op);
    if (shape != VectorShape::Elementwise && shape != VectorShape::Reduction) return {};
    if (begin > end || end > op_length(args)) return {};
    if (begin % vector_piece_alignment(args.op) != 0) return {};
    const VectorOpArgs piece = piece_of(args, begin, end);
    VectorPartial part;
    if (shape == VectorShape::Reduction) {
        PartialSink sink(part);
        reduce(piece, sink);
    } else {
        with_elem_type(main_type(args), [&](auto t) { run_typed<decltype(t)>(piece, begin); });
    }
    return part;
}

ScanCarry run_scan_piece_cpu(const VectorOpArgs& args, std::uint64_t begin, std::uint64_t end, ScanCarry carry) {
    if (find_vector_op_problem(args).fault != VectorOpFault::None) return carry;
    if (vector_shape(args.op) != VectorShape::Scan || begin > end || end > args.dst.length) return carry;
    const VectorOpArgs piece = piece_of(args, begin, end);
    with_elem_type(args.dst.type, [&](auto t) {
        using T = decltype(t);
        if constexpr (loops::kFloat<T>) {
            carry.float_value = loops::inclusive_scan(data_of<T>(piece.dst), data_of<T>(piece.a), piece.dst.length,
                                                      static_cast<T>(carry.float_value));
        } else {
            carry.int_value = static_cast<std::int64_t>(loops::inclusive_scan(data_of<T>(piece.dst), data_of<T>(piece.a),
                                                                               piece.dst.length, static_cast<T>(carry.int_value)));
        }
    });
    return carry;
}

void run_matmul_rows_cpu(const VectorOpArgs& args, std::uint64_t row_begin, std::uint64_t row_end) {
    if (find_vector_op_problem(args).fault != VectorOpFault::None || vector_shape(args.op) != VectorShape::Rows) return;
    const auto k = static_cast<std::uint64_t>(args.int_scalar);  // positive: checked
    const std::uint64_t m = args.a.length / k, n = args.b.length / k;
    if (row_begin >= row_end || row_end > m) return;
    auto rows_of = [&](RegionView v, std::uint64_t width) {
        v.length = (row_end - row_begin) * width;
        v.data = v.length == 0 ? nullptr : static_cast<std::uint8_t*>(v.data) + row_begin * width * elem_size(v.type);
        return v;
    };
    VectorOpArgs piece = args;
    piece.a = rows_of(args.a, k);
    piece.dst = rows_of(args.dst, n);
    with_elem_type(main_type(args), [&](auto t) { run_matmul<decltype(t)>(piece); });
}

VectorOpResult combine_vector_partials(Op op, std::span<const VectorPartial> in_order) {
    if (vector_shape(op) != VectorShape::Reduction) return {};
    Combiner c(op);
    const VectorOp v = *as_vector_op(op);
    for (const VectorPartial& p : in_order) {
        if (v == VectorOp::Vsum || v == VectorOp::Vdot) {
            for (double s : p.values) c.block(s);
        } else if (v == VectorOp::Vredmin || v == VectorOp::Vredmax) {
            if (p.values.size() != loops::kLanes) continue;
            double lane[loops::kLanes];
            for (std::size_t j = 0; j < loops::kLanes; ++j) lane[j] = p.values[j];
            c.lanes(lane);
        } else {
            c.integer(p.int_value);
        }
    }
    return c.result();
}

}  // namespace polymer
