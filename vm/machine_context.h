// The one write path of the machine: the execution context through which an
// instruction body (vm/insns.h) changes a Machine. The in-order interpreter
// runs every instruction through one; the reorder engine runs the
// instructions it executes at issue (calls, returns) or at commit (stores,
// output, the value stack, allocation) through one, and writes the results of
// the rest at commit, showing each write to the same StateObserver first
// (ReorderEngine::commit).
//
// The hot part of the state (pc, stack pointers, steps) lives in the
// context's members, which the compiler keeps in registers as long as nobody
// takes their address; save() brings the Machine up to date before anything
// that can trap, pause or leave. With kObserved every change is first shown to
// a StateObserver (the debugger's undo log and watchpoints); without it the
// observer calls compile to nothing.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <optional>

#include "vm/insns.h"
#include "vm/machine.h"
#include "vm/procs/procedures.h"

namespace polymer {

// Every member is inlined into the executor's loop, so the context's address
// never escapes and its members stay in registers.
#define POLYMER_HOT [[gnu::always_inline]] inline

namespace slow {

// A reduction's result register (the destination operand of FG/RG/FGG/RGG),
// written through the observer like any other register write.
template <bool kObserved>
void write_result(Machine& m, StateObserver* observer, const DecodedInsn& d, const VectorOpResult& result) {
    const Format f = op_info(d.op).format;
    if (f == Format::FG || f == Format::FGG) {
        if constexpr (kObserved) observer->float_written(d.a);
        m.state().regs.f[d.a] = result.float_value;
    } else if (f == Format::RG || f == Format::RGG) {
        if constexpr (kObserved) observer->int_written(d.a);
        m.state().regs.r[d.a] = result.int_value;
    }
}

// Each returns Flow::Trap when the instruction traps (the trap is in
// m.raised_trap()) or, with kYield, Flow::Yield when it did not run. In order a
// long operation is waited for at once (or, small, run on the spot): every
// later instruction then sees its writes with no check on the fast path.
template <bool kObserved, bool kYield>
[[gnu::noinline]] Flow vector_op(Machine& m, StateObserver* observer, const DecodedInsn& d) {
    VectorOpArgs args;
    if (!m.vector_args(d, m.state().regs, args, &m.raised_trap())) return Flow::Trap;
    if constexpr (kObserved) observer->regions_written(d);
    Backend& backend = m.backend();
    VectorOpResult result;
    if (!backend.run_inline(args, result)) {
        if constexpr (kYield) return Flow::Yield;
        result = backend.wait(backend.submit(args));
    }
    write_result<kObserved>(m, observer, d, result);
    return Flow::Next;
}

template <bool kObserved, bool kYield>
[[gnu::noinline]] Flow launch(Machine& m, StateObserver* observer, const DecodedInsn& d) {
    KernelLaunch l;
    if (!m.launch_args(d, m.state().regs, l, &m.raised_trap())) return Flow::Trap;
    if constexpr (kObserved) observer->regions_written(d);
    Backend& backend = m.backend();
    VectorOpResult result;
    if (l.count > 0 && !backend.run_inline(l, result)) {
        if constexpr (kYield) return Flow::Yield;
        result = backend.wait(backend.submit(l));
    }
    m.count_launch();
    if (result.fault) {
        m.raised_trap() = kernel_trap(m.module(), *l.kernel, result.fault, m.state().pc, l.max_iterations);
        return Flow::Trap;
    }
    return Flow::Next;
}

// kloop: the loop as a kernel, or nothing (the scalar loop runs); the
// registers it leaves go through the observer like any write.
template <bool kObserved>
[[gnu::noinline]] Flow loop_kernel(Machine& m, StateObserver* observer, const DecodedInsn& d) {
    LoopLaunch plan;
    if (!plan_loop_launch(m, d, plan)) return Flow::Next;
    if constexpr (kObserved) observer->regions_written(d);
    if (!run_loop_launch(m, plan, &m.raised_trap())) return Flow::Trap;
    RegisterFile& regs = m.state().regs;
    for (const LoopRegisterWrite& w : plan.writes) {
        if (w.is_float) {
            if constexpr (kObserved) observer->float_written(w.reg);
            regs.f[w.reg] = std::bit_cast<double>(w.bits);
        } else {
            if constexpr (kObserved) observer->int_written(w.reg);
            regs.r[w.reg] = static_cast<std::int64_t>(w.bits);
        }
    }
    return Flow::Next;
}

template <bool kObserved>
[[gnu::noinline]] Flow allocate(Machine& m, StateObserver* observer, const DecodedInsn& d, Region& g) {
    if constexpr (kObserved) observer->regions_written(d);
    return m.allocate(g, d, &m.raised_trap()) ? Flow::Next : Flow::Trap;
}

// args, readln: they replace a region's storage, like alloc.
template <bool kObserved>
[[gnu::noinline]] bool argument_text(Machine& m, StateObserver* observer, const DecodedInsn& d, Region& g,
                                     std::int64_t index) {
    if constexpr (kObserved) observer->regions_written(d);
    return m.argument_text(g, index, &m.raised_trap());
}

template <bool kObserved>
[[gnu::noinline]] bool read_line(Machine& m, StateObserver* observer, const DecodedInsn& d, Region& g,
                                 std::int64_t& length) {
    if constexpr (kObserved) observer->regions_written(d), observer->input_read();
    return m.read_line(g, length, &m.raised_trap());
}

// ld.T/st.T inside a residency fence: the values are elsewhere (the
// cluster's nodes). Unobserved: the elements' values do not change, only
// where they are.
[[gnu::noinline]] inline void bring_home(Machine& m, Region& g, std::uint64_t begin, std::uint64_t end,
                                         HomeAccess access) {
    m.backend().bring_home(g, begin, end, access);
}

template <bool kObserved>
[[gnu::noinline]] Flow print_region(Machine& m, StateObserver* observer, const DecodedInsn& d, const Region& g) {
    if constexpr (kObserved) observer->output_written();
    return m.print_region(g, d, &m.raised_trap()) ? Flow::Next : Flow::Trap;
}

// sendr: elements [at, at + n) of g, checked, brought home if they are
// elsewhere, copied into one message.
[[gnu::noinline]] inline Flow send_slice(Machine& m, std::uint32_t channel, Region& g, std::int64_t at, std::int64_t n) {
    if (at < 0 || n < 0 || static_cast<std::uint64_t>(at) > g.length ||
        static_cast<std::uint64_t>(n) > g.length - static_cast<std::uint64_t>(at)) {
        m.raised_trap() = Trap{TrapKind::OutOfBounds, m.state().pc,
                               "elements [" + std::to_string(at) + ", " + std::to_string(at) + " + " + std::to_string(n) +
                                   ") are outside '" + std::string(g.name) + "' (length " + std::to_string(g.length) + ")",
                               {}};
        return Flow::Trap;
    }
    const auto begin = static_cast<std::uint64_t>(at), end = begin + static_cast<std::uint64_t>(n);
    if (n > 0) m.bring_home(g, begin, end, HomeAccess::Read);
    Message msg;
    msg.kind = MessageKind::Slice;
    msg.type = g.type;
    const std::size_t size = elem_size(g.type);
    msg.elements.resize(static_cast<std::size_t>(n) * size);
    if (n > 0) std::memcpy(msg.elements.data(), static_cast<const std::byte*>(g.data) + begin * size, msg.elements.size());
    return m.procedures()->send(channel, std::move(msg));
}

// recvr: the message at the front of the channel, a slice of g's type that
// fits from element `at` on, into g. A message that does not fit is taken
// (the trap ends the run).
template <bool kObserved>
[[gnu::noinline]] Flow recv_slice(Machine& m, StateObserver* observer, const DecodedInsn& d, std::uint32_t channel,
                                  Region& g, std::int64_t at, std::int64_t& length) {
    Message msg;
    const Flow flow = m.procedures()->recv(channel, msg);
    if (flow != Flow::Next) return flow;
    const std::string from = "the message taken from channel '" + m.module().channels.at(channel).name + "'";
    if (msg.kind != MessageKind::Slice || msg.type != g.type) {
        const std::string what = msg.kind == MessageKind::Int     ? "an integer (sent by send)"
                                 : msg.kind == MessageKind::Float ? "a float (sent by sendf)"
                                                                  : "a slice of " + std::string(elem_type_name(msg.type)) +
                                                                        " elements";
        m.raised_trap() = Trap{TrapKind::BadMessage, m.state().pc,
                               from + " is " + what + ", not a slice of '" + std::string(g.name) + "' (" +
                                   std::string(elem_type_name(g.type)) + ")",
                               {}};
        return Flow::Trap;
    }
    const std::uint64_t n = msg.length();
    if (at < 0 || static_cast<std::uint64_t>(at) > g.length || n > g.length - static_cast<std::uint64_t>(at)) {
        m.raised_trap() = Trap{TrapKind::OutOfBounds, m.state().pc,
                               from + " holds " + std::to_string(n) + " elements: they do not fit in '" +
                                   std::string(g.name) + "' (length " + std::to_string(g.length) + ") from element " +
                                   std::to_string(at),
                               {}};
        return Flow::Trap;
    }
    const auto begin = static_cast<std::uint64_t>(at);
    if (n > 0) m.bring_home(g, begin, begin + n, HomeAccess::Write);
    if constexpr (kObserved) observer->regions_written(d);
    if (n > 0) std::memcpy(static_cast<std::byte*>(g.data) + begin * elem_size(g.type), msg.elements.data(), msg.elements.size());
    length = static_cast<std::int64_t>(n);
    return Flow::Next;
}

}  // namespace slow

// kYieldLongOps: a vector op or launch that the backend cannot finish on the
// spot (run_inline) is not run but answered with Flow::Yield, so the caller
// (the reorder engine's hand-off) can overlap it with later instructions.
template <bool kObserved, bool kYieldLongOps = false>
class MachineContext {
    // Declared first: the hot state below is initialised from them.
    Machine& m_;
    RegisterFile* regs_;
    StateObserver* observer_;
    const DecodedInsn** call_base_;
    const DecodedInsn** call_end_;
    std::uint64_t* value_base_;
    std::uint64_t* value_end_;
    std::optional<TrapKind> trap_kind_;  // set by trap(); empty when a slow path raised the trap

public:
    POLYMER_HOT MachineContext(Machine& m, StateObserver* observer)
        : m_(m),
          regs_(&m.state().regs),
          observer_(observer),
          call_base_(m.state().call_stack.data()),
          call_end_(call_base_ + m.state().call_stack.size()),
          value_base_(m.state().value_stack.data()),
          value_end_(value_base_ + m.state().value_stack.size()),
          ip(m.code().data() + m.state().pc),
          csp(call_base_ + m.state().call_depth),
          vsp(value_base_ + m.state().value_depth),
          steps(m.state().steps) {}

    // The pc of the instruction running now, for a trap a slow path raises.
    // Only the pc: the stack pointers stay in registers through the long
    // ops' bodies, and the exits (trap, halt, pause) save() the rest.
    POLYMER_HOT void save_pc() const { m_.state().pc = static_cast<std::uint32_t>(ip - m_.code().data()); }

    // Brings the machine's state up to date from the context's members.
    POLYMER_HOT void save() const {
        MachineState& s = m_.state();
        s.pc = static_cast<std::uint32_t>(ip - m_.code().data());
        s.steps = steps;
        s.call_depth = static_cast<std::size_t>(csp - call_base_);
        s.value_depth = static_cast<std::size_t>(vsp - value_base_);
    }

    // --- what instruction bodies call ---
    std::int64_t r(unsigned i) const { return regs_->r[i]; }
    double f(unsigned i) const { return regs_->f[i]; }
    POLYMER_HOT Flow set_r(unsigned i, std::int64_t v) {
        if constexpr (kObserved) observer_->int_written(i);
        regs_->r[i] = v;
        return Flow::Next;
    }
    POLYMER_HOT Flow set_f(unsigned i, double v) {
        if constexpr (kObserved) observer_->float_written(i);
        regs_->f[i] = v;
        return Flow::Next;
    }
    template <class T>
    POLYMER_HOT void store(Region& g, std::uint64_t i, T v) {
        if constexpr (kObserved) observer_->element_written(g, i);
        g.as<T>()[i] = v;
    }
    POLYMER_HOT bool push(std::uint64_t bits) {
        if (__builtin_expect(vsp == value_end_, 0)) return false;
        if constexpr (kObserved) observer_->value_slot_written(static_cast<std::size_t>(vsp - value_base_));
        *vsp++ = bits;
        return true;
    }
    POLYMER_HOT bool pop(std::uint64_t& bits) {
        if (__builtin_expect(vsp == value_base_, 0)) return false;
        bits = *--vsp;
        return true;
    }
    POLYMER_HOT OutputBuffer& out() {
        if constexpr (kObserved) observer_->output_written();
        return m_.out();
    }

    Flow branch(bool taken) const { return taken ? Flow::Taken : Flow::Next; }
    Flow jump() const { return Flow::Taken; }
    POLYMER_HOT Flow call(const DecodedInsn& d) {
        if (__builtin_expect(csp == call_end_, 0)) return trap(TrapKind::CallDepth);
        if constexpr (kObserved) observer_->call_slot_written(static_cast<std::size_t>(csp - call_base_));
        *csp++ = &d + 1;
        return Flow::Taken;
    }
    // Returning from the entry procedure ends the program. Flow::Return:
    // ip is already the return address.
    POLYMER_HOT Flow ret() {
        if (__builtin_expect(csp == call_base_, 0)) return Flow::Halt;
        ip = *--csp;
        return Flow::Return;
    }
    Flow halt() const { return Flow::Halt; }
    POLYMER_HOT Flow trap(TrapKind kind) {
        trap_kind_ = kind;
        return Flow::Trap;
    }

    // The rare and heavy operations run out of line (below), so that their
    // code does not crowd the dispatch loop's registers; only the pc is
    // brought up to date for them (a trap they raise names it).
    POLYMER_HOT Flow vector_op(const DecodedInsn& d) {
        save_pc();
        return slow_result(slow::vector_op<kObserved, kYieldLongOps>(m_, observer_, d));
    }
    POLYMER_HOT Flow launch(const DecodedInsn& d) {
        save_pc();
        // A loop of launches runs as rounds (vm/launch_rounds.h) on the
        // interpreter: in order, and for the engine once its ROB has drained
        // (it stops issuing at the loop's first word). The debugger sees
        // every word.
        if constexpr (!kObserved)
            if (m_.step_limit() == 0)
                if (LaunchLoop* loop = m_.launch_loop_at(m_.state().pc)) {
                    bool trapped = false;
                    std::uint64_t at = steps;  // a copy: the member's address must not escape
                    if (run_launch_rounds(m_, *loop, at, trapped)) {
                        steps = at;
                        ip = m_.code().data() + m_.state().pc;
                        if (!trapped) return Flow::Return;  // the context is already past the loop
                        trap_kind_.reset();
                        return Flow::Trap;
                    }
                }
        return slow_result(slow::launch<kObserved, kYieldLongOps>(m_, observer_, d));
    }
    // kloop runs at once, in every build: it is E_SYNC, so nothing is in
    // flight to overlap it with (the reorder engine runs it at commit).
    POLYMER_HOT Flow loop_kernel(const DecodedInsn& d) {
        save_pc();
        return slow_result(slow::loop_kernel<kObserved>(m_, observer_, d));
    }
    POLYMER_HOT Flow wait_all() {
        m_.backend().wait_all();
        return Flow::Next;
    }
    POLYMER_HOT Flow allocate(const DecodedInsn& d, Region& g) {
        save_pc();
        return slow_result(slow::allocate<kObserved>(m_, observer_, d, g));
    }
    POLYMER_HOT Flow release(const DecodedInsn& d, Region& g) {
        if constexpr (kObserved) observer_->regions_written(d);
        m_.regions().release(g, &m_.backend());
        return Flow::Next;
    }
    POLYMER_HOT Flow print_region(const DecodedInsn& d, const Region& g) {
        save_pc();
        return slow_result(slow::print_region<kObserved>(m_, observer_, d, g));
    }
    // Out of line: the fast path of ld.T/st.T is the limit compare alone (Region::read_limit).
    POLYMER_HOT void bring_home(Region& g, std::uint64_t begin, std::uint64_t end, HomeAccess access) {
        slow::bring_home(m_, g, begin, end, access);
    }
    RegionStore& regions() const { return m_.regions(); }

    // The input instructions (vm/machine_input.cpp). Each returns false when
    // it traps, the trap (with its detail) in m_.raised_trap().
    std::int64_t arg_count() const { return static_cast<std::int64_t>(m_.options().args.size()); }
    POLYMER_HOT bool arg_int(std::int64_t index, std::int64_t& v) {
        save_pc();
        return slow_ok(m_.argument_int(index, v, &m_.raised_trap()));
    }
    POLYMER_HOT bool arg_float(std::int64_t index, double& v) {
        save_pc();
        return slow_ok(m_.argument_float(index, v, &m_.raised_trap()));
    }
    POLYMER_HOT bool arg_text(const DecodedInsn& d, Region& g, std::int64_t index) {
        save_pc();
        return slow_ok(slow::argument_text<kObserved>(m_, observer_, d, g, index));
    }
    POLYMER_HOT bool read_line(const DecodedInsn& d, Region& g, std::int64_t& length) {
        save_pc();
        return slow_ok(slow::read_line<kObserved>(m_, observer_, d, g, length));
    }
    POLYMER_HOT bool read_int(std::int64_t& v, bool& got) {
        save_pc();
        if constexpr (kObserved) observer_->input_read();
        return slow_ok(m_.read_int(v, got, &m_.raised_trap()));
    }
    POLYMER_HOT bool read_float(double& v, bool& got) {
        save_pc();
        if constexpr (kObserved) observer_->input_read();
        return slow_ok(m_.read_float(v, got, &m_.raised_trap()));
    }

    // Procedures (vm/procs/procedures.h): out of line, with the state saved,
    // since the runtime reads the running procedure's registers (spawn copies
    // them) and records where a waiting one stopped.
    POLYMER_HOT Flow spawn(std::uint32_t proc, std::int64_t where, std::int64_t& handle) {
        save();
        return slow_result(m_.procedures()->spawn(proc, where, handle));
    }
    POLYMER_HOT Flow join(std::int64_t handle, std::int64_t& r1, double& f1) {
        save();
        return slow_result(m_.procedures()->join(handle, r1, f1));
    }
    POLYMER_HOT Flow send(std::uint32_t channel, Message msg) {
        save();
        return slow_result(m_.procedures()->send(channel, std::move(msg)));
    }
    POLYMER_HOT Flow recv(std::uint32_t channel, Message& msg) {
        save();
        return slow_result(m_.procedures()->recv(channel, msg));
    }
    POLYMER_HOT Flow barrier(std::uint32_t b) {
        save();
        return slow_result(m_.procedures()->barrier(b));
    }
    POLYMER_HOT Flow send_slice(std::uint32_t channel, Region& g, std::int64_t at, std::int64_t n) {
        save();
        return slow_result(slow::send_slice(m_, channel, g, at, n));
    }
    POLYMER_HOT Flow recv_slice(const DecodedInsn& d, std::uint32_t channel, Region& g, std::int64_t at,
                                std::int64_t& length) {
        save();
        return slow_result(slow::recv_slice<kObserved>(m_, observer_, d, channel, g, at, length));
    }

    // The trap a body returned Flow::Trap for, built on the saved state.
    POLYMER_HOT Trap take_trap() {
        save();
        if (trap_kind_) return m_.make_trap(*trap_kind_, *ip);
        return m_.raised_trap();
    }

    // Hot state, read and moved by the executor's loop.
    const DecodedInsn* ip;
    const DecodedInsn** csp;
    std::uint64_t* vsp;
    std::uint64_t steps;

private:
    // A slow path's trap is in m_.raised_trap(), not a kind for take_trap() to build.
    POLYMER_HOT Flow slow_result(Flow flow) {
        if (flow == Flow::Trap) trap_kind_.reset();
        return flow;
    }
    POLYMER_HOT bool slow_ok(bool ok) {
        if (!ok) trap_kind_.reset();
        return ok;
    }
};

#undef POLYMER_HOT

}  // namespace polymer
