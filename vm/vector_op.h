// A vector op as a backend sees it: the opcode, the regions' storage and the
// scalar operands, already checked by the VM (types, lengths). Backends
// (CPU now, Vulkan later) implement run(); they never trap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/elem_type.h"
#include "isa/opcodes.h"
#include "vm/kernel_fault.h"

namespace polymer {

struct Region;  // vm/region_store.h

struct RegionView {
    ElemType type = ElemType::I32;
    void* data = nullptr;
    std::uint64_t length = 0;  // elements
    // The program region it is (its fences: Backend::bring_home, for a
    // backend that keeps its values elsewhere); null when it is none.
    Region* region = nullptr;
};

struct VectorOpArgs {
    Op op = Op::Nop;
    RegionView dst;            // written (unused by reductions)
    RegionView a, b, c;        // operands in syntax order after dst
    std::int64_t int_scalar = 0;   // vfill value, vmatmul K
    double float_scalar = 0;       // vfillf value, vscale factor
};

// What Backend::wait gives back: a reduction's value, or a kernel launch's
// fault (vm/kernel_fault.h).
struct VectorOpResult {
    std::int64_t int_value = 0;  // integer reductions
    double float_value = 0;      // float reductions
    KernelFault fault;           // kernel launches: the lane that broke the contract, if any
};

// Returns a one-line reason when the operands do not fit the op (different
// types, lengths that differ, a float op on integer regions, bad matmul shape),
// which the VM reports as a `length-mismatch` or `type-mismatch` trap; nullptr
// when the op can run. The text lives in a thread-local buffer, valid until
// the next check on the same thread. Operands are named by their field here
// (dst, a, b, c), e.g. "vmatmul: a has 10 elements, not a multiple of K = 3".
const char* check_vector_op(const VectorOpArgs& args);

// The same check, also saying which trap it is. Types are checked before
// lengths, so a caller that knows only the types (the verifier) can fill in
// lengths of 0 and K = 1 and read a TypeMismatch or nothing.
enum class VectorOpFault : std::uint8_t { None, TypeMismatch, LengthMismatch };

struct VectorOpProblem {
    VectorOpFault fault = VectorOpFault::None;
    const char* reason = nullptr;  // as check_vector_op; nullptr when None
};

VectorOpProblem find_vector_op_problem(const VectorOpArgs& args);

// Runs the op on the calling thread with native loops.
VectorOpResult run_vector_op_cpu(const VectorOpArgs& args);

// --- Pieces: one op over a run of its elements (docs/cluster.md, "Vector ops
// on the nodes"). A cluster runs each piece where its elements are and
// combines what the pieces return at home, in order; the result is the same,
// bit for bit, as run_vector_op_cpu's over the whole regions, because both go
// through the same code: the same loops per block or lane, and one machine's
// pass feeds the same combiner the pieces' partials go to.

// How a vector op can be cut into pieces.
enum class VectorShape : std::uint8_t {
    Elementwise,  // element i of dst depends only on element i of the operands
    Reduction,    // a value from all elements (vsum .. vdoti): partials per piece
    Scan,         // vscan: element i depends on 0..i; pieces run in order, each from the carry of the one before
    Rows,         // vmatmul: row i of dst depends on row i of a and all of b
    Whole,        // not a vector op: never cut
};
VectorShape vector_shape(Op op);

// Where a piece may start: a reduction's pieces start at multiples of this
// (the float sums' block, vm/vector_kernels.h kSumBlock, itself a multiple of
// the min/max lanes), so each piece's blocks and lanes are the whole's.
std::uint64_t vector_piece_alignment(Op op);

// What a reduction piece gives back.
struct VectorPartial {
    std::int64_t int_value = 0;  // vsumi, vdoti (wrapping sums), vredmini, vredmaxi (widened)
    // vsum, vdot: the sum of each kSumBlock block of the piece, in order;
    // vredmin, vredmax: the piece's kLanes running extremes (identity where
    // a lane saw nothing but NaNs).
    std::vector<double> values;
};

// Runs `args` (whole regions, checked as for run_vector_op_cpu) over
// elements [begin, end) only: an element-wise op writes dst there, a
// reduction returns its partial. Nothing for Whole ops, a range past the
// regions or a reduction piece that does not start at vector_piece_alignment.
VectorPartial run_vector_piece_cpu(const VectorOpArgs& args, std::uint64_t begin, std::uint64_t end);

// A scan piece's running value (vscan): in the element type, widened to
// int_value for an integer region (the low bits are the element's) and to
// float_value for a float one (a binary32 value is exact in binary64).
struct ScanCarry {
    std::int64_t int_value = 0;
    double float_value = 0;
    friend bool operator==(const ScanCarry&, const ScanCarry&) = default;
};

// Runs a scan (VectorShape::Scan, checked as for run_vector_op_cpu) over
// elements [begin, end) only, starting from `carry`: the running value the
// piece before it ended on (ScanCarry{} for the first). Returns the running
// value at `end - 1`, the next piece's carry. Pieces run in order from 0
// this way write what one pass writes, bit for bit: the same adds in the
// same order. Returns `carry` and writes nothing for another op or a range
// past the regions.
ScanCarry run_scan_piece_cpu(const VectorOpArgs& args, std::uint64_t begin, std::uint64_t end, ScanCarry carry);

// Runs vmatmul (VectorShape::Rows, checked as for run_vector_op_cpu) for
// rows [row_begin, row_end) of dst (M x N) only: they read the same rows
// of a (M x K) and all of b (K x N). Each element sums its K products in
// the same order whatever the rows around it, so rows computed in pieces
// have one pass's bits. Writes nothing for another op or rows past M. dst
// may be a (in place: a piece reads its rows before it writes them), never
// b (a piece would change what the others read).
void run_matmul_rows_cpu(const VectorOpArgs& args, std::uint64_t row_begin, std::uint64_t row_end);

// A reduction's value from its pieces' partials, in element order (pieces
// covering [0, n) exactly once; a min/max partial without kLanes values is
// skipped).
VectorOpResult combine_vector_partials(Op op, std::span<const VectorPartial> in_order);

}  // namespace polymer
