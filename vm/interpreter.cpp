// The in-order interpreter: one dispatch loop over the decoded instructions.
//
// It builds two ways behind two macros, as Lua's lvm.c does: threaded code
// (GCC's labels-as-values: every body ends by jumping straight to the next
// instruction's body) or, with -DPOLYMER_SWITCH_DISPATCH, a plain `switch`.
// The hot state (pc, the register files, the stack pointers, the step
// counter) lives in locals; the machine's members are brought up to date
// (`save`) before anything that can trap or leave the loop, so a trap or a
// debugger sees a consistent machine.
//
// Every register write goes through Registers::set_int/set_float: the one
// place where a tracer or a watchpoint hooks in. The loop is a template on
// the hooks, so the plain build (NoHooks) pays nothing for it.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "vm/machine.h"
#include "vm/ooo/reorder_engine.h"
#include "vm/scalar_semantics.h"

namespace polymer {
namespace {

// Hooks that observe nothing: what `polymer-run` uses.
struct NoHooks {
    static constexpr bool kObserved = false;
    static void int_written(unsigned, std::int64_t /*old*/, std::int64_t) {}
    static void float_written(unsigned, double /*old*/, double) {}
    static bool before_instruction() { return false; }
};

// The debugger's hooks (Machine::resume): every register write and every
// instruction fetch goes to an ExecutionObserver.
struct ObservedHooks {
    static constexpr bool kObserved = true;
    ExecutionObserver* observer;
    const Machine* machine;
    void int_written(unsigned i, std::int64_t old, std::int64_t) const { observer->int_written(i, old); }
    void float_written(unsigned i, double old, double) const { observer->float_written(i, old); }
    bool before_instruction() const { return observer->before_instruction(*machine); }
};

}  // namespace

template <class Hooks>
struct Machine::Registers {
    RegisterFile* file;
    [[no_unique_address]] Hooks hooks;
    void set_int(unsigned i, std::int64_t v) const {
        const std::int64_t old = file->r[i];
        file->r[i] = v;
        hooks.int_written(i, old, v);
    }
    void set_float(unsigned i, double v) const {
        const double old = file->f[i];
        file->f[i] = v;
        hooks.float_written(i, old, v);
    }
};

#if !defined(__GNUC__) && !defined(POLYMER_SWITCH_DISPATCH)
#define POLYMER_SWITCH_DISPATCH 1  // labels-as-values is a GCC/Clang extension
#endif

// Under ObservedHooks each fetch first brings the machine up to date (steps
// counts the instructions done) and asks the observer whether to pause; for
// NoHooks it compiles to nothing.
#define VM_OBSERVE(ip, steps)                                  \
    if constexpr (Hooks::kObserved) {                          \
        save_state(ip, (steps) - 1, csp, vsp);                 \
        if (x.hooks.before_instruction()) {                    \
            --(steps);                                         \
            goto paused;                                       \
        }                                                      \
    }

#if defined(POLYMER_SWITCH_DISPATCH)
#define VM_CASE(name) case Op::name:
#define VM_DISPATCH(ip, steps) continue
#else
#define VM_CASE(name) op_##name:
#define VM_DISPATCH(ip, steps) \
    do {                       \
        ++(steps);             \
        VM_OBSERVE(ip, steps)  \
        goto* kLabels[static_cast<std::uint8_t>((ip)->op)]; \
    } while (0)
#endif

template <class Hooks>
RunResult Machine::execute(std::uint32_t start_pc, Hooks hooks) {
    using sem::i64;
    using sem::u64;
    const DecodedInsn* const code = code_.data();
    const DecodedInsn* ip = code + start_pc;
    const Registers<Hooks> x{&regs_, hooks};
    const DecodedInsn** const call_base = call_stack_.data();
    const DecodedInsn** const call_end = call_base + call_stack_.size();
    const DecodedInsn** csp = call_base + call_depth_;
    std::uint64_t* const value_base = value_stack_.data();
    std::uint64_t* const value_end = value_base + value_stack_.size();
    std::uint64_t* vsp = value_base + value_depth_;
    std::uint64_t steps = steps_;
    const std::uint64_t step_limit = options_.max_steps == 0 ? std::numeric_limits<std::uint64_t>::max()
                                                             : options_.max_steps;
    OutputBuffer& out = out_;
    TrapKind trap_kind = TrapKind::Unsupported;


#if defined(POLYMER_SWITCH_DISPATCH)
    for (;;) {
        ++steps;
        VM_OBSERVE(ip, steps)
        switch (ip->op) {
#else
    static const void* const kLabels[] = {
#define OP(name, ...) &&op_##name,
#include "isa/opcodes.def"
#undef OP
    };
    static_assert(std::size(kLabels) == kOpCount);
    VM_DISPATCH(ip, steps);
    {
#endif

    // --- integer scalar ---
    VM_CASE(Nop) { ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Li) { x.set_int(ip->a, ip->imm); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Liw) { x.set_int(ip->a, ip->int_const); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Mov) { x.set_int(ip->a, x.file->r[ip->b]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Add) { x.set_int(ip->a, sem::add(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Sub) { x.set_int(ip->a, sem::sub(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Mul) { x.set_int(ip->a, sem::mul(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Div) {
        if (__builtin_expect(x.file->r[ip->c] == 0, 0)) { trap_kind = TrapKind::DivisionByZero; goto trap; }
        x.set_int(ip->a, sem::div(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Rem) {
        if (__builtin_expect(x.file->r[ip->c] == 0, 0)) { trap_kind = TrapKind::DivisionByZero; goto trap; }
        x.set_int(ip->a, sem::rem(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Divu) {
        if (__builtin_expect(x.file->r[ip->c] == 0, 0)) { trap_kind = TrapKind::DivisionByZero; goto trap; }
        x.set_int(ip->a, sem::divu(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Remu) {
        if (__builtin_expect(x.file->r[ip->c] == 0, 0)) { trap_kind = TrapKind::DivisionByZero; goto trap; }
        x.set_int(ip->a, sem::remu(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(And) { x.set_int(ip->a, x.file->r[ip->b] & x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Or) { x.set_int(ip->a, x.file->r[ip->b] | x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Xor) { x.set_int(ip->a, x.file->r[ip->b] ^ x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Shl) { x.set_int(ip->a, sem::shl(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Shr) { x.set_int(ip->a, sem::shr(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Sar) { x.set_int(ip->a, sem::sar(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Min) { x.set_int(ip->a, sem::min(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Max) { x.set_int(ip->a, sem::max(x.file->r[ip->b], x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Neg) { x.set_int(ip->a, sem::neg(x.file->r[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Not) { x.set_int(ip->a, ~x.file->r[ip->b]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Addi) { x.set_int(ip->a, sem::add(x.file->r[ip->b], ip->imm)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Muli) { x.set_int(ip->a, sem::mul(x.file->r[ip->b], ip->imm)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Andi) { x.set_int(ip->a, x.file->r[ip->b] & i64{ip->imm}); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Ori) { x.set_int(ip->a, x.file->r[ip->b] | i64{ip->imm}); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Xori) { x.set_int(ip->a, x.file->r[ip->b] ^ i64{ip->imm}); ++ip; VM_DISPATCH(ip, steps); }
    // The decoder has checked that the shift immediates are in 0..63.
    VM_CASE(Shli) { x.set_int(ip->a, sem::shl(x.file->r[ip->b], ip->imm)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Shri) { x.set_int(ip->a, sem::shr(x.file->r[ip->b], ip->imm)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Sari) { x.set_int(ip->a, sem::sar(x.file->r[ip->b], ip->imm)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Eq) { x.set_int(ip->a, x.file->r[ip->b] == x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Ne) { x.set_int(ip->a, x.file->r[ip->b] != x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Lt) { x.set_int(ip->a, x.file->r[ip->b] < x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Le) { x.set_int(ip->a, x.file->r[ip->b] <= x.file->r[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Ltu) { x.set_int(ip->a, u64(x.file->r[ip->b]) < u64(x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Leu) { x.set_int(ip->a, u64(x.file->r[ip->b]) <= u64(x.file->r[ip->c])); ++ip; VM_DISPATCH(ip, steps); }

    // --- floating point ---
    VM_CASE(Lif) { x.set_float(ip->a, ip->float_const); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fmov) { x.set_float(ip->a, x.file->f[ip->b]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fadd) { x.set_float(ip->a, x.file->f[ip->b] + x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fsub) { x.set_float(ip->a, x.file->f[ip->b] - x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fmul) { x.set_float(ip->a, x.file->f[ip->b] * x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fdiv) { x.set_float(ip->a, x.file->f[ip->b] / x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fmin) { x.set_float(ip->a, sem::fmin(x.file->f[ip->b], x.file->f[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fmax) { x.set_float(ip->a, sem::fmax(x.file->f[ip->b], x.file->f[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fpow) { x.set_float(ip->a, std::pow(x.file->f[ip->b], x.file->f[ip->c])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fneg) { x.set_float(ip->a, -x.file->f[ip->b]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fabs) { x.set_float(ip->a, std::fabs(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fsqrt) { x.set_float(ip->a, std::sqrt(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Ffloor) { x.set_float(ip->a, std::floor(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fsin) { x.set_float(ip->a, std::sin(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fcos) { x.set_float(ip->a, std::cos(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fexp) { x.set_float(ip->a, std::exp(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Flog) { x.set_float(ip->a, std::log(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Feq) { x.set_int(ip->a, x.file->f[ip->b] == x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Flt) { x.set_int(ip->a, x.file->f[ip->b] < x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Fle) { x.set_int(ip->a, x.file->f[ip->b] <= x.file->f[ip->c]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Itof) { x.set_float(ip->a, static_cast<double>(x.file->r[ip->b])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Ftoi) { x.set_int(ip->a, sem::ftoi(x.file->f[ip->b])); ++ip; VM_DISPATCH(ip, steps); }

    // --- control: the step budget is checked here only, since every loop
    // passes a branch and every recursion a call ---
    VM_CASE(Jmp) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = ip->target; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bz) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] == 0 ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bnz) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] != 0 ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Beq) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] == x.file->r[ip->b] ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bne) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] != x.file->r[ip->b] ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Blt) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] < x.file->r[ip->b] ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bge) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = x.file->r[ip->a] >= x.file->r[ip->b] ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bltu) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = u64(x.file->r[ip->a]) < u64(x.file->r[ip->b]) ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Bgeu) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        ip = u64(x.file->r[ip->a]) >= u64(x.file->r[ip->b]) ? ip->target : ip + 1; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Call) {
        if (__builtin_expect(steps > step_limit, 0)) goto step_limit_reached;
        if (__builtin_expect(csp == call_end, 0)) { trap_kind = TrapKind::CallDepth; goto trap; }
        *csp++ = ip + 1;
        ip = ip->target; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Ret) {
        if (__builtin_expect(csp == call_base, 0)) goto halt;  // returning from the entry procedure
        ip = *--csp; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Halt) { goto halt; }

    // --- the value stack ---
    VM_CASE(Push) {
        if (__builtin_expect(vsp == value_end, 0)) { trap_kind = TrapKind::StackOverflow; goto trap; }
        *vsp++ = u64(x.file->r[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Pop) {
        if (__builtin_expect(vsp == value_base, 0)) { trap_kind = TrapKind::StackUnderflow; goto trap; }
        x.set_int(ip->a, static_cast<i64>(*--vsp)); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Pushf) {
        if (__builtin_expect(vsp == value_end, 0)) { trap_kind = TrapKind::StackOverflow; goto trap; }
        *vsp++ = std::bit_cast<u64>(x.file->f[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Popf) {
        if (__builtin_expect(vsp == value_base, 0)) { trap_kind = TrapKind::StackUnderflow; goto trap; }
        x.set_float(ip->a, std::bit_cast<double>(*--vsp)); ++ip; VM_DISPATCH(ip, steps);
    }

    // --- regions: loads and stores are typed; the decoder checked the region's type ---
#define VM_BOUNDS_CHECK(ip)                                                              \
    if (__builtin_expect(u64(x.file->r[(ip)->b]) >= (ip)->region->length, 0)) {                  \
        trap_kind = TrapKind::OutOfBounds;                                               \
        goto trap;                                                                       \
    }
    VM_CASE(LdU8) {
        VM_BOUNDS_CHECK(ip);
        x.set_int(ip->a, ip->region->as<std::uint8_t>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(LdI32) {
        VM_BOUNDS_CHECK(ip);
        x.set_int(ip->a, ip->region->as<std::int32_t>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(LdU32) {
        VM_BOUNDS_CHECK(ip);
        x.set_int(ip->a, ip->region->as<std::uint32_t>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(LdI64) {
        VM_BOUNDS_CHECK(ip);
        x.set_int(ip->a, ip->region->as<std::int64_t>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(LdF32) {
        VM_BOUNDS_CHECK(ip);
        x.set_float(ip->a, ip->region->as<float>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(LdF64) {
        VM_BOUNDS_CHECK(ip);
        x.set_float(ip->a, ip->region->as<double>()[x.file->r[ip->b]]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StU8) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<std::uint8_t>()[x.file->r[ip->b]] = static_cast<std::uint8_t>(x.file->r[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StI32) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<std::int32_t>()[x.file->r[ip->b]] = static_cast<std::int32_t>(x.file->r[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StU32) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<std::uint32_t>()[x.file->r[ip->b]] = static_cast<std::uint32_t>(x.file->r[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StI64) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<std::int64_t>()[x.file->r[ip->b]] = x.file->r[ip->a]; ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StF32) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<float>()[x.file->r[ip->b]] = static_cast<float>(x.file->f[ip->a]); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(StF64) {
        VM_BOUNDS_CHECK(ip);
        ip->region->as<double>()[x.file->r[ip->b]] = x.file->f[ip->a]; ++ip; VM_DISPATCH(ip, steps);
    }
#undef VM_BOUNDS_CHECK
    VM_CASE(Len) { x.set_int(ip->a, static_cast<i64>(ip->region->length)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Alloc) {
        save_state(ip, steps, csp, vsp);
        if (!allocate(*ip)) goto slow_path_trapped;
        ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Free) { regions_.release(*ip->region); ++ip; VM_DISPATCH(ip, steps); }

    // --- output ---
    VM_CASE(Print) { out.write_int(x.file->r[ip->a]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Printu) { out.write_uint(u64(x.file->r[ip->a])); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Printf) { out.write_double(x.file->f[ip->a]); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Printc) { out.put(static_cast<char>(x.file->r[ip->a] & 0xff)); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Prints) { out.write(*ip->string); ++ip; VM_DISPATCH(ip, steps); }
    VM_CASE(Printr) {
        save_state(ip, steps, csp, vsp);
        if (!print_region(*ip)) goto slow_path_trapped;
        ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Println) { out.put('\n'); ++ip; VM_DISPATCH(ip, steps); }

    // --- vector ops: checked, then run by the backend ---
    VM_CASE(Vadd) VM_CASE(Vsub) VM_CASE(Vmul) VM_CASE(Vdiv) VM_CASE(Vmin) VM_CASE(Vmax) VM_CASE(Vfma)
    VM_CASE(Vscale) VM_CASE(Vfill) VM_CASE(Vfillf) VM_CASE(Viota) VM_CASE(Vcopy) VM_CASE(Vcmplt)
    VM_CASE(Vcmpeq) VM_CASE(Vselect) VM_CASE(Vscan) VM_CASE(Vmatmul) {
        save_state(ip, steps, csp, vsp);
        if (!vector_op(*ip)) goto slow_path_trapped;
        ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Vsum) VM_CASE(Vredmin) VM_CASE(Vredmax) VM_CASE(Vdot) {
        save_state(ip, steps, csp, vsp);
        if (!vector_op(*ip)) goto slow_path_trapped;
        x.set_float(ip->a, vector_result_.float_value); ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Vsumi) VM_CASE(Vredmini) VM_CASE(Vredmaxi) VM_CASE(Vdoti) {
        save_state(ip, steps, csp, vsp);
        if (!vector_op(*ip)) goto slow_path_trapped;
        x.set_int(ip->a, vector_result_.int_value); ++ip; VM_DISPATCH(ip, steps);
    }

    // --- kernels and synchronisation ---
    VM_CASE(Launch) {
        save_state(ip, steps, csp, vsp);
        if (!launch(*ip)) goto slow_path_trapped;
        ++ip; VM_DISPATCH(ip, steps);
    }
    VM_CASE(Wait) VM_CASE(Fence) { backend_->wait_all(); ++ip; VM_DISPATCH(ip, steps); }

#if defined(POLYMER_SWITCH_DISPATCH)
        }
    }
#else
    }
#endif

step_limit_reached:
    trap_kind = TrapKind::StepLimit;
trap:
    save_state(ip, steps, csp, vsp);
    trap_ = make_trap(trap_kind, *ip);
slow_path_trapped:
    backend_->wait_all();
    return RunResult{RunStatus::Trapped, trap_, steps};
halt:
    save_state(ip, steps, csp, vsp);
    backend_->wait_all();
    return RunResult{RunStatus::Halted, std::nullopt, steps};
paused: __attribute__((unused));
    save_state(ip, steps, csp, vsp);
    return RunResult{RunStatus::Paused, std::nullopt, steps};
}

#undef VM_OBSERVE
#undef VM_CASE
#undef VM_DISPATCH

// Takes the loop's locals by value: a lambda capturing them by reference
// would make them addressable and keep them out of registers.
void Machine::save_state(const DecodedInsn* at, std::uint64_t steps, const DecodedInsn* const* csp,
                         const std::uint64_t* vsp) {
    pc_ = static_cast<std::uint32_t>(at - code_.data());
    steps_ = steps;
    call_depth_ = static_cast<std::size_t>(csp - call_stack_.data());
    value_depth_ = static_cast<std::size_t>(vsp - value_stack_.data());
}

RunResult Machine::run(std::uint32_t proc) {
    call_depth_ = 0;
    value_depth_ = 0;
    steps_ = 0;
    pc_ = module_.procs.at(proc).start;
    if (options_.exec != ExecMode::InOrder) return ooo::run_reorder_engine(*this, pc_);
    return execute<NoHooks>(pc_, NoHooks{});
}

void Machine::start(std::uint32_t proc) {
    call_depth_ = 0;
    value_depth_ = 0;
    steps_ = 0;
    pc_ = module_.procs.at(proc).start;
}

RunResult Machine::resume(ExecutionObserver& observer) {
    return execute<ObservedHooks>(pc_, ObservedHooks{&observer, this});
}

}  // namespace polymer
