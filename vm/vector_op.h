// A vector op as a backend sees it: the opcode, the regions' storage and the
// scalar operands, already checked by the VM (types, lengths). Backends
// (CPU now, Vulkan later) implement run(); they never trap.
#pragma once

#include <cstdint>

#include "isa/elem_type.h"
#include "isa/opcodes.h"
#include "vm/kernel_fault.h"

namespace polymer {

struct RegionView {
    ElemType type = ElemType::I32;
    void* data = nullptr;
    std::uint64_t length = 0;  // elements
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

}  // namespace polymer
