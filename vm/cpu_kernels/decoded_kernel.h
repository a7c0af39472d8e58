// A kernel's IR decoded once for the block interpreter (block_interpreter.h):
// registers renumbered densely (only the ones the kernel uses get lane
// arrays), structured control flow resolved to indices, and the registers
// that may be read before the kernel writes them (those start at 0).
//
// Decoding is lenient about structure (a verified kernel is always well
// formed): an `else`, `end`, `break` or `continue` with nothing to match is a
// no-op, and a construct left open is closed at the end of the code.
#pragma once

#include <cstdint>
#include <vector>

#include "isa/encoding.h"
#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer {

struct BlockInsn {
    KOp op = KOp::Nop;
    // Dense register numbers (int or float as the op's format says), or a
    // parameter number where the format has one (field C of ld/st, B of ldp).
    std::uint8_t a = 0, b = 0, c = 0;
    std::int32_t imm = 0;  // li/addi/muli/lif bits; ffma: the addend's dense float register
    // Control flow:
    //   if:    target = its `else`, or its `end` when it has none; after = its `end` + 1
    //   else:  target = its `end`
    //   loop:  after = its `end` + 1
    //   end:   target = the `loop` it closes (is_loop_end), else unused
    //   break/continue: target = the loop's `end`
    std::uint32_t target = 0;
    std::uint32_t after = 0;
    // The mask-stack frame of the construct this op opens, closes or belongs
    // to (its nesting depth); for break/continue, the innermost loop's frame.
    std::uint16_t frame = 0;
    // For if/else/end: the frame of the innermost loop around the construct,
    // or kNoLoop; lanes that broke out of or continued that loop inside the
    // construct stay off when it ends.
    std::uint16_t loop_frame = 0;
    bool is_loop_end = false;
    // A load, store or atomic whose index isa/kernel_access.h could not
    // prove: checked lane by lane. `element`: its buffer is element-wise;
    // `window`: a window buffer (its offsets: the launch's kernel's param c).
    bool checked = false;
    bool element = false;
    bool window = false;
    // The type of the parameter a load, store, atomic, ldp, ldpf or blen
    // names (a wide kernel's loads widen and its stores narrow by it).
    ElemType elem = ElemType::I32;
    // An arithmetic op whose result register is only stored by the next
    // instruction (st/stf) and read by nothing after it, in a kernel
    // without loops: when that store is a contiguous copy (which a checked
    // store's check passes without a look at the lanes), the op may write
    // its lanes straight into the buffer and the store is skipped. In a
    // wide kernel storing to a 32-bit buffer the op narrows each lane as
    // the store would (the low 32 bits, or an f32 rounded to nearest even).
    bool store_fuses = false;
};

inline constexpr std::uint16_t kNoLoop = 0xFFFF;

struct DecodedKernel {
    // The kernel it came from: a cache keyed by address compares it, since a
    // kernel freed and another made at its address (same IR, other buffer
    // types) decodes differently.
    Kernel source;
    std::vector<BlockInsn> code;
    bool wide = false;                      // Kernel::wide: 64-bit lanes (lane_types.h)
    std::vector<ElemType> param_types;      // one per kernel parameter
    bool buffer_of_8_bytes = false;         // a buffer parameter has i64 or f64 elements
    unsigned int_regs = 0, float_regs = 0;  // dense registers used
    unsigned frames = 0;                    // deepest nesting of if/loop
    bool has_control_flow = false;          // any if/loop/exit
    bool has_loop = false;
    // Dense registers read somewhere before a write that certainly precedes
    // the read: these must start each block at 0.
    std::vector<std::uint8_t> zero_int, zero_float;
    // Parameters the kernel writes (st, stf, atadd): the others may be read
    // in place by the interpreter.
    std::vector<std::uint8_t> stored_params;
};

DecodedKernel decode_kernel(const Kernel& kernel);

}  // namespace polymer
