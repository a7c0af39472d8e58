// One body per opcode: what every procedure instruction does, written once
// and instantiated by every executor. The in-order interpreter
// (vm/interpreter.cpp), the reorder engine (vm/ooo/) and the debugger (which
// drives both) all run these bodies; none keeps a copy of an opcode's
// semantics. The `semantics` column of isa/opcodes.def says the same in words.
//
// A body reads its operands and changes the machine only through its
// execution context `x` (Spike's `insns/*.h` over its processor state):
//
//   x.r(i), x.f(i)            read int / float register i
//   x.set_r(i, v), x.set_f    write a register                     -> Flow::Next
//   x.store<T>(g, i, v)       write element i of region g (bounds checked here)
//   x.bring_home(g, b, e, a)  elements [b, e) of g are inside a residency fence
//                             (vm/region_store.h): Backend::bring_home before ld.T/st.T touch them
//                             (out of line: the fast path is the limit compare alone)
//   x.push(bits), x.pop(bits) the value stack; false when full / empty
//   x.out()                   the program's output
//   x.branch(cond)            Flow::Taken (pc := the label) or Flow::Next
//   x.jump(), x.call(d), x.ret(), x.halt()
//   x.trap(kind)              stop with a trap of this kind          -> Flow::Trap
//   x.vector_op(d), x.launch(d), x.wait_all()   long operations, handed to a backend
//   x.loop_kernel(d)          a loop the assembler made a kernel of (kloop): run it, or do nothing
//   x.allocate(d, g), x.release(d, g), x.print_region(d, g)         rare slow paths
//   x.regions()               the machine's regions (a handle operand's region is looked up there)
//   x.arg_count(), x.arg_int/arg_float, x.arg_text(d, g), x.read_line(d, g)/read_int/read_float
//                             program arguments and stdin; false when they trap
//   x.spawn(proc, where, handle), x.join(handle, r, f), x.send(ch, msg), x.recv(ch, msg),
//   x.barrier(b), x.send_slice(ch, g, at, n), x.recv_slice(d, ch, g, at, n)
//                             procedures (vm/procs/): Flow::Next when done, Flow::Block
//                             when it must wait for another procedure (the executor
//                             runs it again once that one has moved), Flow::Trap
//
// The interpreter's context writes the register file and moves its cached
// stack pointers; the engine's early context (EarlyContext in
// vm/ooo/reorder_engine.cpp) reads renamed operand values and keeps the
// result in the ROB entry until commit,
// and runs only the opcodes that may execute before commit. Each context
// decides what a write means, so a body never knows which executor runs it.
//
// Adding an opcode: a row in isa/opcodes.def and a branch here, then the
// steps of docs/development.md. An opcode without a body does not compile
// (the static_assert at the end).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vm/backend.h"
#include "vm/decoded_insn.h"
#include "vm/scalar_semantics.h"
#include "vm/trap.h"

namespace polymer {

// One message on a channel: a register's value (send, sendf) or a copy of a
// region slice (sendr).
enum class MessageKind : std::uint8_t { Int, Float, Slice };
struct Message {
    MessageKind kind = MessageKind::Int;
    std::uint64_t bits = 0;          // Int, Float: the register's bits
    ElemType type = ElemType::I32;   // Slice: its elements' type
    std::vector<std::byte> elements;  // Slice: its elements
    std::uint64_t length() const { return elements.size() / elem_size(type); }
    std::uint64_t bytes() const { return kind == MessageKind::Slice ? elements.size() : sizeof bits; }
};

// Where the executor goes after a body.
enum class Flow : std::uint8_t {
    Next,    // the following word
    Taken,   // the instruction's target (jumps, taken branches, calls)
    Return,  // the return address the context popped (ret); the context has gone there
    Halt,    // the program ends (halt, ret from the entry procedure)
    Trap,    // the context holds the trap
    Yield,   // not run: a long op the executor hands on (the interpreter to the reorder engine)
    Block,   // not run: it waits for another procedure (recv, send, join, barrier); run it again later
};

template <Op>
inline constexpr bool kHasNoBody = false;

// Jumps, branches and calls (the opcodes with a target): every loop passes
// one and every recursion a call, so every executor checks the step budget
// (--max-steps) there and only there.
constexpr bool checks_step_limit(Op op) {
    const Format f = op_info(op).format;
    return f == Format::L || f == Format::RL || f == Format::RRL || f == Format::P;
}

namespace insn_detail {

// The region a single-region opcode works on: the decoded one, or for a
// handle operand `@rN` the one R[N] holds the handle of now; nullptr when
// R[N] is no region handle, or (ld.T/st.T) the region does not hold T. The
// caller traps `bad-handle` then (Machine::make_trap says why).
template <Op O, class X>
[[gnu::always_inline]] inline Region* region_operand(X& x, const DecodedInsn& d) {
    if (__builtin_expect(d.region != nullptr, 1)) return d.region;
    Region* g = x.regions().by_handle(x.r(handle_register(decoded_field(d, first_region_field(O)))));
    constexpr std::optional<ElemType> want = element_access_type(O);
    if constexpr (want.has_value())
        if (g != nullptr && g->type != *want) return nullptr;
    return g;
}

// Element i of region g is about to be read (written) at home. The fast
// path is one load and one compare, `i < limit` (vm/region_store.h: in
// bounds and outside the fence), as the bounds check alone was. Past the
// limit, out of the way: out of bounds traps; inside the fence the backend
// keeps the value elsewhere, so bring it home first (which may move the
// fence, and the limit with it). Flow::Next: go on with the access.
template <class X>
[[gnu::always_inline]] inline Flow past_limit(X& x, Region& g, std::uint64_t i, HomeAccess access) {
    if (i >= g.length) return x.trap(TrapKind::OutOfBounds);
    if (access == HomeAccess::Read ? g.reads_fenced(i) : g.writes_fenced(i)) x.bring_home(g, i, i + 1, access);
    return Flow::Next;
}

template <Op O, class T, class X>
[[gnu::always_inline]] inline Flow load_int(X& x, const DecodedInsn& d) {
    Region* g = region_operand<O>(x, d);
    if (__builtin_expect(g == nullptr, 0)) return x.trap(TrapKind::BadHandle);
    const auto i = static_cast<std::uint64_t>(x.r(d.b));
    if (__builtin_expect(i >= g->read_limit(), 0) && past_limit(x, *g, i, HomeAccess::Read) == Flow::Trap)
        return Flow::Trap;
    return x.set_r(d.a, static_cast<std::int64_t>(g->template as<const T>()[i]));
}

template <Op O, class T, class X>
[[gnu::always_inline]] inline Flow load_float(X& x, const DecodedInsn& d) {
    Region* g = region_operand<O>(x, d);
    if (__builtin_expect(g == nullptr, 0)) return x.trap(TrapKind::BadHandle);
    const auto i = static_cast<std::uint64_t>(x.r(d.b));
    if (__builtin_expect(i >= g->read_limit(), 0) && past_limit(x, *g, i, HomeAccess::Read) == Flow::Trap)
        return Flow::Trap;
    return x.set_f(d.a, static_cast<double>(g->template as<const T>()[i]));
}

template <Op O, class T, class X>
[[gnu::always_inline]] inline Flow store(X& x, const DecodedInsn& d, T value) {
    Region* g = region_operand<O>(x, d);
    if (__builtin_expect(g == nullptr, 0)) return x.trap(TrapKind::BadHandle);
    const auto i = static_cast<std::uint64_t>(x.r(d.b));
    // Past the limit inside the write fence: copies elsewhere, and the home's write must make its copy the only one.
    if (__builtin_expect(i >= g->write_limit(), 0) && past_limit(x, *g, i, HomeAccess::Write) == Flow::Trap)
        return Flow::Trap;
    x.template store<T>(*g, i, value);
    return Flow::Next;
}

// len, rgn, alloc, free, printr: the body `f` on the operand's region.
template <Op O, class X, class F>
[[gnu::always_inline]] inline Flow with_region(X& x, const DecodedInsn& d, F f) {
    Region* g = region_operand<O>(x, d);
    if (__builtin_expect(g == nullptr, 0)) return x.trap(TrapKind::BadHandle);
    return f(*g);
}

template <class X>
[[gnu::always_inline]] inline Flow divide_by(X& x, const DecodedInsn& d, std::int64_t (*op)(std::int64_t, std::int64_t)) {
    const std::int64_t c = x.r(d.c);
    if (__builtin_expect(c == 0, 0)) return x.trap(TrapKind::DivisionByZero);
    return x.set_r(d.a, op(x.r(d.b), c));
}

}  // namespace insn_detail

// Runs the body of opcode O on context x. Notation as in isa/opcodes.def.
template <Op O, class X>
[[gnu::always_inline]] inline Flow execute(X& x, const DecodedInsn& d) {
    using namespace insn_detail;
    using sem::i64;
    using sem::u64;
    const i64 imm = d.imm;

    // --- integer scalar ---
    if constexpr (O == Op::Nop) return Flow::Next;
    else if constexpr (O == Op::Li) return x.set_r(d.a, imm);
    else if constexpr (O == Op::Liw) return x.set_r(d.a, d.int_const);
    else if constexpr (O == Op::Mov) return x.set_r(d.a, x.r(d.b));
    else if constexpr (O == Op::Add) return x.set_r(d.a, sem::add(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Sub) return x.set_r(d.a, sem::sub(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Mul) return x.set_r(d.a, sem::mul(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Div) return divide_by(x, d, sem::div);
    else if constexpr (O == Op::Rem) return divide_by(x, d, sem::rem);
    else if constexpr (O == Op::Divu) return divide_by(x, d, sem::divu);
    else if constexpr (O == Op::Remu) return divide_by(x, d, sem::remu);
    else if constexpr (O == Op::And) return x.set_r(d.a, x.r(d.b) & x.r(d.c));
    else if constexpr (O == Op::Or) return x.set_r(d.a, x.r(d.b) | x.r(d.c));
    else if constexpr (O == Op::Xor) return x.set_r(d.a, x.r(d.b) ^ x.r(d.c));
    else if constexpr (O == Op::Shl) return x.set_r(d.a, sem::shl(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Shr) return x.set_r(d.a, sem::shr(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Sar) return x.set_r(d.a, sem::sar(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Min) return x.set_r(d.a, sem::min(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Max) return x.set_r(d.a, sem::max(x.r(d.b), x.r(d.c)));
    else if constexpr (O == Op::Neg) return x.set_r(d.a, sem::neg(x.r(d.b)));
    else if constexpr (O == Op::Not) return x.set_r(d.a, ~x.r(d.b));
    else if constexpr (O == Op::Addi) return x.set_r(d.a, sem::add(x.r(d.b), imm));
    else if constexpr (O == Op::Muli) return x.set_r(d.a, sem::mul(x.r(d.b), imm));
    else if constexpr (O == Op::Andi) return x.set_r(d.a, x.r(d.b) & imm);
    else if constexpr (O == Op::Ori) return x.set_r(d.a, x.r(d.b) | imm);
    else if constexpr (O == Op::Xori) return x.set_r(d.a, x.r(d.b) ^ imm);
    // The decoder has checked that shift immediates are in 0..63.
    else if constexpr (O == Op::Shli) return x.set_r(d.a, sem::shl(x.r(d.b), imm));
    else if constexpr (O == Op::Shri) return x.set_r(d.a, sem::shr(x.r(d.b), imm));
    else if constexpr (O == Op::Sari) return x.set_r(d.a, sem::sar(x.r(d.b), imm));
    else if constexpr (O == Op::Eq) return x.set_r(d.a, x.r(d.b) == x.r(d.c));
    else if constexpr (O == Op::Ne) return x.set_r(d.a, x.r(d.b) != x.r(d.c));
    else if constexpr (O == Op::Lt) return x.set_r(d.a, x.r(d.b) < x.r(d.c));
    else if constexpr (O == Op::Le) return x.set_r(d.a, x.r(d.b) <= x.r(d.c));
    else if constexpr (O == Op::Ltu) return x.set_r(d.a, u64(x.r(d.b)) < u64(x.r(d.c)));
    else if constexpr (O == Op::Leu) return x.set_r(d.a, u64(x.r(d.b)) <= u64(x.r(d.c)));
    else if constexpr (O == Op::Popcnt) return x.set_r(d.a, std::popcount(u64(x.r(d.b))));
    else if constexpr (O == Op::Clz) return x.set_r(d.a, std::countl_zero(u64(x.r(d.b))));
    else if constexpr (O == Op::Ctz) return x.set_r(d.a, std::countr_zero(u64(x.r(d.b))));

    // --- floating point (binary64) ---
    else if constexpr (O == Op::Lif) return x.set_f(d.a, d.float_const);
    else if constexpr (O == Op::Fmov) return x.set_f(d.a, x.f(d.b));
    else if constexpr (O == Op::Fadd) return x.set_f(d.a, x.f(d.b) + x.f(d.c));
    else if constexpr (O == Op::Fsub) return x.set_f(d.a, x.f(d.b) - x.f(d.c));
    else if constexpr (O == Op::Fmul) return x.set_f(d.a, x.f(d.b) * x.f(d.c));
    else if constexpr (O == Op::Fdiv) return x.set_f(d.a, x.f(d.b) / x.f(d.c));
    else if constexpr (O == Op::Fmin) return x.set_f(d.a, sem::fmin(x.f(d.b), x.f(d.c)));
    else if constexpr (O == Op::Fmax) return x.set_f(d.a, sem::fmax(x.f(d.b), x.f(d.c)));
    else if constexpr (O == Op::Fpow) return x.set_f(d.a, std::pow(x.f(d.b), x.f(d.c)));
    else if constexpr (O == Op::Fneg) return x.set_f(d.a, -x.f(d.b));
    else if constexpr (O == Op::Fabs) return x.set_f(d.a, std::fabs(x.f(d.b)));
    else if constexpr (O == Op::Fsqrt) return x.set_f(d.a, std::sqrt(x.f(d.b)));
    else if constexpr (O == Op::Ffloor) return x.set_f(d.a, std::floor(x.f(d.b)));
    else if constexpr (O == Op::Fsin) return x.set_f(d.a, std::sin(x.f(d.b)));
    else if constexpr (O == Op::Fcos) return x.set_f(d.a, std::cos(x.f(d.b)));
    else if constexpr (O == Op::Fexp) return x.set_f(d.a, std::exp(x.f(d.b)));
    else if constexpr (O == Op::Flog) return x.set_f(d.a, std::log(x.f(d.b)));
    else if constexpr (O == Op::Feq) return x.set_r(d.a, x.f(d.b) == x.f(d.c));
    else if constexpr (O == Op::Flt) return x.set_r(d.a, x.f(d.b) < x.f(d.c));
    else if constexpr (O == Op::Fle) return x.set_r(d.a, x.f(d.b) <= x.f(d.c));
    else if constexpr (O == Op::Itof) return x.set_f(d.a, static_cast<double>(x.r(d.b)));
    else if constexpr (O == Op::Ftoi) return x.set_r(d.a, sem::ftoi(x.f(d.b)));

    // --- control ---
    else if constexpr (O == Op::Jmp) return x.jump();
    else if constexpr (O == Op::Bz) return x.branch(x.r(d.a) == 0);
    else if constexpr (O == Op::Bnz) return x.branch(x.r(d.a) != 0);
    else if constexpr (O == Op::Beq) return x.branch(x.r(d.a) == x.r(d.b));
    else if constexpr (O == Op::Bne) return x.branch(x.r(d.a) != x.r(d.b));
    else if constexpr (O == Op::Blt) return x.branch(x.r(d.a) < x.r(d.b));
    else if constexpr (O == Op::Bge) return x.branch(x.r(d.a) >= x.r(d.b));
    else if constexpr (O == Op::Bltu) return x.branch(u64(x.r(d.a)) < u64(x.r(d.b)));
    else if constexpr (O == Op::Bgeu) return x.branch(u64(x.r(d.a)) >= u64(x.r(d.b)));
    else if constexpr (O == Op::Call) return x.call(d);
    else if constexpr (O == Op::Ret) return x.ret();
    else if constexpr (O == Op::Halt) return x.halt();

    // --- the value stack ---
    else if constexpr (O == Op::Push) return x.push(u64(x.r(d.a))) ? Flow::Next : x.trap(TrapKind::StackOverflow);
    else if constexpr (O == Op::Pushf)
        return x.push(std::bit_cast<u64>(x.f(d.a))) ? Flow::Next : x.trap(TrapKind::StackOverflow);
    else if constexpr (O == Op::Pop) {
        u64 bits = 0;
        return x.pop(bits) ? x.set_r(d.a, static_cast<i64>(bits)) : x.trap(TrapKind::StackUnderflow);
    } else if constexpr (O == Op::Popf) {
        u64 bits = 0;
        return x.pop(bits) ? x.set_f(d.a, std::bit_cast<double>(bits)) : x.trap(TrapKind::StackUnderflow);
    }

    // --- regions: the decoder checked each static ld/st region's element
    // type; region_operand checks a handle's when it runs ---
    else if constexpr (O == Op::LdU8) return load_int<O, std::uint8_t>(x, d);
    else if constexpr (O == Op::LdI32) return load_int<O, std::int32_t>(x, d);
    else if constexpr (O == Op::LdU32) return load_int<O, std::uint32_t>(x, d);
    else if constexpr (O == Op::LdI64) return load_int<O, std::int64_t>(x, d);
    else if constexpr (O == Op::LdF32) return load_float<O, float>(x, d);
    else if constexpr (O == Op::LdF64) return load_float<O, double>(x, d);
    else if constexpr (O == Op::StU8) return store<O, std::uint8_t>(x, d, static_cast<std::uint8_t>(x.r(d.a)));
    else if constexpr (O == Op::StI32) return store<O, std::int32_t>(x, d, static_cast<std::int32_t>(x.r(d.a)));
    else if constexpr (O == Op::StU32) return store<O, std::uint32_t>(x, d, static_cast<std::uint32_t>(x.r(d.a)));
    else if constexpr (O == Op::StI64) return store<O, std::int64_t>(x, d, x.r(d.a));
    else if constexpr (O == Op::StF32) return store<O, float>(x, d, static_cast<float>(x.f(d.a)));
    else if constexpr (O == Op::StF64) return store<O, double>(x, d, x.f(d.a));
    else if constexpr (O == Op::Len)
        return with_region<O>(x, d, [&](Region& g) { return x.set_r(d.a, static_cast<i64>(g.length)); });
    else if constexpr (O == Op::Rgn)
        return with_region<O>(x, d, [&](Region& g) { return x.set_r(d.a, region_handle(x.regions().index_of(g))); });
    else if constexpr (O == Op::Alloc) return with_region<O>(x, d, [&](Region& g) { return x.allocate(d, g); });
    else if constexpr (O == Op::Free) return with_region<O>(x, d, [&](Region& g) { return x.release(d, g); });

    // --- output ---
    else if constexpr (O == Op::Print) return x.out().write_int(x.r(d.a)), Flow::Next;
    else if constexpr (O == Op::Printu) return x.out().write_uint(u64(x.r(d.a))), Flow::Next;
    else if constexpr (O == Op::Printf) return x.out().write_double(x.f(d.a)), Flow::Next;
    else if constexpr (O == Op::Printc) return x.out().put(static_cast<char>(x.r(d.a) & 0xff)), Flow::Next;
    else if constexpr (O == Op::Prints) return x.out().write(*d.string), Flow::Next;
    else if constexpr (O == Op::Printr) return with_region<O>(x, d, [&](Region& g) { return x.print_region(d, g); });
    else if constexpr (O == Op::Println) return x.out().put('\n'), Flow::Next;
    else if constexpr (O == Op::Printfd) return x.out().write_fixed(x.f(d.a), d.imm), Flow::Next;
    else if constexpr (O == Op::Printw) return x.out().write_int_width(x.r(d.a), d.imm), Flow::Next;

    // --- input: arguments and stdin (the context's slow paths; a trap carries its detail) ---
    else if constexpr (O == Op::Argc) return x.set_r(d.a, x.arg_count());
    else if constexpr (O == Op::Argi) {
        i64 v = 0;
        return x.arg_int(x.r(d.b), v) ? x.set_r(d.a, v) : Flow::Trap;
    } else if constexpr (O == Op::Argf) {
        double v = 0;
        return x.arg_float(x.r(d.b), v) ? x.set_f(d.a, v) : Flow::Trap;
    } else if constexpr (O == Op::Args) {
        return with_region<O>(x, d, [&](Region& g) { return x.arg_text(d, g, x.r(d.b)) ? Flow::Next : Flow::Trap; });
    } else if constexpr (O == Op::Readln) {
        return with_region<O>(x, d, [&](Region& g) {
            i64 length = 0;
            return x.read_line(d, g, length) ? x.set_r(d.a, length) : Flow::Trap;
        });
    } else if constexpr (O == Op::Readi) {
        i64 v = 0;
        bool got = false;
        if (!x.read_int(v, got)) return Flow::Trap;
        x.set_r(d.a, v);
        return x.set_r(d.b, got);  // last: when rA = rB it holds the flag
    } else if constexpr (O == Op::Readf) {
        double v = 0;
        bool got = false;
        if (!x.read_float(v, got)) return Flow::Trap;
        x.set_f(d.a, v);
        return x.set_r(d.b, got);
    }

    // --- vector ops: each one's element loop is the backend's (vm/cpu_vector_ops.cpp,
    // shaders/); the context checks the operands, starts it, and writes a
    // reduction's result register ---
    else if constexpr (op_info(O).cls == OpClass::Vector) return x.vector_op(d);

    // --- kernels and synchronisation ---
    else if constexpr (O == Op::Launch) return x.launch(d);
    else if constexpr (O == Op::Kloop) return x.loop_kernel(d);
    else if constexpr (O == Op::Wait || O == Op::Fence) return x.wait_all();

    // --- procedures: the context's runtime (vm/procs/) keeps the procedures,
    // channels and barriers, and says when one must wait ---
    else if constexpr (O == Op::Spawn) {
        i64 handle = 0;
        const Flow flow = x.spawn(static_cast<std::uint32_t>(imm), x.r(d.b), handle);  // imm: the proc's first word
        return flow == Flow::Next ? x.set_r(d.a, handle) : flow;
    } else if constexpr (O == Op::Join) {
        i64 r1 = 0;
        double f1 = 0;
        const Flow flow = x.join(x.r(d.c), r1, f1);
        if (flow != Flow::Next) return flow;
        x.set_f(d.b, f1);
        return x.set_r(d.a, r1);
    } else if constexpr (O == Op::Send) return x.send(d.a, Message{MessageKind::Int, u64(x.r(d.b))});
    else if constexpr (O == Op::Sendf) return x.send(d.a, Message{MessageKind::Float, std::bit_cast<u64>(x.f(d.b))});
    else if constexpr (O == Op::Recv || O == Op::Recvf) {
        Message msg;
        const Flow flow = x.recv(d.b, msg);
        if (flow != Flow::Next) return flow;
        if (msg.kind != (O == Op::Recvf ? MessageKind::Float : MessageKind::Int)) return x.trap(TrapKind::BadMessage);
        if constexpr (O == Op::Recvf) return x.set_f(d.a, std::bit_cast<double>(msg.bits));
        else return x.set_r(d.a, static_cast<i64>(msg.bits));
    } else if constexpr (O == Op::Sendr) {
        // The slice is checked and copied out of line (it may have to come home first).
        return with_region<O>(x, d, [&](Region& g) { return x.send_slice(d.a, g, x.r(d.c), x.r(static_cast<unsigned>(imm))); });
    } else if constexpr (O == Op::Recvr) {
        return with_region<O>(x, d, [&](Region& g) {
            i64 length = 0;
            const Flow flow = x.recv_slice(d, static_cast<std::uint32_t>(imm), g, x.r(d.c), length);
            return flow == Flow::Next ? x.set_r(d.a, length) : flow;
        });
    } else if constexpr (O == Op::Barrier) return x.barrier(d.a);

    else static_assert(kHasNoBody<O>, "every opcode in isa/opcodes.def needs a body here");
}

}  // namespace polymer
