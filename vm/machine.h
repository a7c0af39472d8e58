// The scalar machine of one module: its architectural state (registers,
// regions, call stack, value stack, pc, output) and the slow paths every
// executor shares (vector-op and launch operands, allocation, printing a
// region, building a trap's message).
//
// Who runs it (docs/architecture.md):
//   vm/interpreter.cpp   the threaded in-order interpreter
//   vm/ooo/              the reorder engine (frames, ooo, spec)
//   vm/run.cpp           picks one of them by MachineOptions::exec
// Both executors run the same instruction bodies (vm/insns.h) through an
// execution context; the machine's state changes only through
// MachineContext (vm/machine_context.h) and the debugger's own edits
// (set_int_reg and friends), and a StateObserver sees each change before it
// happens.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/backend.h"
#include "vm/decoded_insn.h"
#include "vm/engine_stats.h"
#include "vm/exec_mode.h"
#include "vm/launch_rounds.h"
#include "vm/loop_kernel.h"
#include "vm/output.h"
#include "vm/program_input.h"
#include "vm/region_store.h"
#include "vm/trap.h"

namespace polymer {

struct PipelineLog;
class Procedures;      // vm/procs/procedures.h
class ProcedureNodes;  // vm/procs/away.h

// The fewest iterations a loop kernel launch is worth (--loop-kernel-min).
inline constexpr std::uint64_t kDefaultLoopKernelMin = 1024;

struct MachineOptions {
    std::uint64_t max_steps = 0;              // trap `step-limit` past this many instructions; 0 = no limit
    std::uint32_t kernel_steps = kDefaultKernelSteps;  // loop iterations a kernel lane may start per launch (--kernel-steps)
    std::uint32_t call_depth_limit = 10'000;  // nested calls (docs/language.md)
    std::uint32_t value_stack_slots = 65'536;
    std::uint64_t memory_limit = std::uint64_t{4} << 30;  // bytes of region storage in all
    // Said after an alloc's bad-allocation past the limit, where the limit is
    // not the user's own (a procedure on a node); empty: nothing.
    std::string memory_limit_note;
    Backend* backend = nullptr;               // long operations; nullptr = a CpuBackend of its own
    // How run() executes (docs/execution.md): the in-order interpreter or the
    // reorder-buffer engine (vm/ooo/) with `rob_size` entries.
    ExecMode exec = ExecMode::InOrder;
    std::uint32_t rob_size = kDefaultRobSize;
    // frames/ooo/spec: whenever the ROB has drained and the next instruction
    // is not a long op, run on the interpreter up to the next long op
    // (docs/execution.md). Tests turn it off to drive every instruction
    // through the ROB; --trace and --pipeview do too.
    bool interpret_when_idle = true;
    PipelineLog* pipeline_log = nullptr;  // engine modes: record each instruction's life (--trace, --pipeview)
    // Where `spawn` may place procedures besides the home (vm/procs/away.h;
    // cluster/ gives one for --nodes and --local-nodes); null: the home only.
    ProcedureNodes* procedure_nodes = nullptr;
    // What the program reads (vm/program_input.h): its arguments (argc, argi,
    // argf, args) and its standard input (readln, readi, readf; nullptr: an
    // empty input, every read is at its end). The stream must outlive the machine.
    std::vector<std::string> args;
    InputStream* input = nullptr;
    // kloop (docs/loop-kernels.md): run the loops the assembler turned into
    // kernels as kernels (--no-loop-kernels: false), when they have at least
    // `loop_kernel_min` iterations to give the kernel (--loop-kernel-min).
    bool loop_kernels = true;
    std::uint64_t loop_kernel_min = kDefaultLoopKernelMin;
    // In order, a loop of launches runs as rounds of one Backend::run_rounds
    // (vm/launch_rounds.h; --no-launch-rounds: false, word by word).
    bool launch_rounds = true;
    // For the trace: the backend track a long op goes to; empty = backend->name().
    std::function<std::string(const VectorOpArgs*, const KernelLaunch*)> backend_track;
};

// Paused: only under an observer (the debugger), the engine's hand-off to
// the interpreter, or a procedure's time slice ending (vm/procs/).
// Blocked: the procedure waits for another one (recv, send, join, barrier);
// the pc is the waiting instruction, which runs again when resumed.
enum class RunStatus : std::uint8_t { Halted, Trapped, Paused, Blocked };

struct RunResult {
    RunStatus status = RunStatus::Halted;
    std::optional<Trap> trap;  // set when status is Trapped
    std::uint64_t steps = 0;   // instructions executed
};

class Machine;

// Sees every change of the machine's state, just before it happens (so the
// old value can still be read from the machine). The debugger's undo log and
// watchpoints hang here; a plain run has none and pays nothing.
class StateObserver {
public:
    virtual ~StateObserver() = default;
    virtual void int_written(unsigned /*i*/) {}
    virtual void float_written(unsigned /*i*/) {}
    virtual void element_written(const Region& /*g*/, std::uint64_t /*index*/) {}  // st.T
    // A vector op, launch, alloc or free `d` is about to change the regions it writes.
    virtual void regions_written(const DecodedInsn& /*d*/) {}
    // The reorder engine ran a long op on `g` before it committed; at the
    // commit it shows what g held before (a copy it kept for undo).
    virtual void region_overwritten(const Region& /*g*/, const std::vector<std::byte>& /*old_bytes*/) {}
    virtual void value_slot_written(std::size_t /*slot*/) {}  // push
    virtual void call_slot_written(std::size_t /*slot*/) {}   // call
    virtual void output_written() {}
    virtual void input_read() {}  // readln, readi, readf consumed input (not undone)
};

// The debugger's view of an in-order run: asked before every instruction.
class ExecutionObserver : public StateObserver {
public:
    // Before the instruction at m.pc(), with the machine's state current
    // (pc, steps, stack depths). Returning true pauses the run before it.
    virtual bool before_instruction(const Machine& m) = 0;
    // The machine's state is now another procedure's (vm/procs/): the one
    // that runs from here. History kept for undo does not apply to it.
    virtual void procedure_switched(const Machine& /*m*/) {}
};

struct RegisterFile {
    std::int64_t r[kIntRegisters] = {};
    double f[kFloatRegisters] = {};
};

// The architectural state that is not regions or output. Executors read it
// freely; they write it through MachineContext, which keeps the hot part
// (pc, stack pointers, steps) in locals and brings these fields up to date
// before anything that can trap, pause or leave the executor.
struct MachineState {
    RegisterFile regs;  // all zero at the start
    std::vector<const DecodedInsn*> call_stack;  // return addresses; call_depth of them in use
    std::vector<std::uint64_t> value_stack;      // value_depth slots in use
    std::size_t call_depth = 0;
    std::size_t value_depth = 0;
    std::uint32_t pc = 0;      // the next instruction; after a trap, the faulting one
    std::uint64_t steps = 0;   // instructions done
};

class Machine {
public:
    // The module must outlive the machine. Fails (as bad input) when the
    // module's code or regions cannot be run; a verified module always loads
    // unless its regions are over the memory limit.
    static Result<std::unique_ptr<Machine>> create(const Module& m, OutputBuffer& out, MachineOptions options = {});
    ~Machine();

    std::optional<std::uint32_t> find_proc(std::string_view name) const;
    // Runs procedure `proc` from its first word until halt, a return from it,
    // or a trap, in the mode options().exec names (vm/run.cpp). Registers and
    // regions keep their values between runs.
    RunResult run(std::uint32_t proc);
    // The debugger's way to run in order: start() positions the machine at
    // `proc` without executing anything; resume() goes on from pc() until
    // halt, a trap, or the observer pauses (status Paused).
    void start(std::uint32_t proc);
    RunResult resume(ExecutionObserver& observer);
    // Positions the state at `proc`'s first word with empty stacks (start()
    // without the procedures runtime: it uses this for procedure #0).
    void enter(std::uint32_t proc);

    // --- reading the state ---
    std::int64_t int_reg(unsigned i) const { return state_.regs.r[i]; }
    double float_reg(unsigned i) const { return state_.regs.f[i]; }
    const RegionStore& regions() const { return regions_; }
    std::uint32_t pc() const { return state_.pc; }
    std::uint64_t steps() const { return state_.steps; }
    std::size_t call_depth() const { return state_.call_depth; }
    std::size_t value_depth() const { return state_.value_depth; }
    std::uint32_t call_slot(std::size_t i) const {
        const DecodedInsn* p = state_.call_stack[i];
        return p == nullptr ? 0 : static_cast<std::uint32_t>(p - code_.data());
    }
    std::uint64_t value_slot(std::size_t i) const { return state_.value_stack[i]; }
    std::size_t call_stack_capacity() const { return state_.call_stack.size(); }
    std::size_t value_stack_capacity() const { return state_.value_stack.size(); }
    const MachineState& state() const { return state_; }
    const Module& module() const { return module_; }
    const MachineOptions& options() const { return options_; }
    std::uint64_t kernels_launched() const { return kernels_launched_; }
    const EngineStats& engine_stats() const { return engine_stats_; }  // after a run in an engine mode
    const LoopKernelStats& loop_kernel_stats() const { return loop_kernel_stats_; }
    const LaunchRoundStats& launch_round_stats() const { return launch_round_stats_; }
    bool has_launch_loops() const { return !launch_loops_.empty(); }
    // The procedures runtime (vm/procs/procedures.h): set when the module has
    // a procedure instruction (spawn, join, send, recv, barrier), else null.
    Procedures* procedures() { return procedures_.get(); }
    // Whether the interpreter hands the thread back at its periodic poll
    // (every 2^20 steps) so another procedure gets a turn: set by the
    // procedures runtime while more than one procedure is live.
    bool time_sliced() const { return time_sliced_; }
    // --max-steps counts every procedure's instructions: the limit on the
    // running one's own count, given what the others have run (set by the
    // procedures runtime before each turn). 0: no limit.
    std::uint64_t step_limit() const {
        if (options_.max_steps == 0) return 0;
        return steps_elsewhere_ >= options_.max_steps ? 1 : options_.max_steps - steps_elsewhere_;
    }
    void set_steps_elsewhere(std::uint64_t n) { steps_elsewhere_ = n; }
    void set_time_sliced(bool on) { time_sliced_ = on; }
    const Procedures* procedures() const { return procedures_.get(); }

    // --- the debugger's edits (`set`, backstep): not instructions, not observed ---
    void set_int_reg(unsigned i, std::int64_t v) { state_.regs.r[i] = v; }
    void set_float_reg(unsigned i, double v) { state_.regs.f[i] = v; }
    // `set loop-kernels off`: step a transformed loop's scalar form.
    void set_loop_kernels(bool on) { options_.loop_kernels = on; }
    RegionStore& regions() { return regions_; }
    void restore_call_slot(std::size_t i, std::uint32_t return_pc) { state_.call_stack[i] = code_.data() + return_pc; }
    void restore_value_slot(std::size_t i, std::uint64_t bits) { state_.value_stack[i] = bits; }
    void restore_position(std::uint32_t pc, std::uint64_t steps, std::size_t call_depth, std::size_t value_depth) {
        state_.pc = pc, state_.steps = steps, state_.call_depth = call_depth, state_.value_depth = value_depth;
    }

    // Residency (docs/execution.md, "Residency fences"): before anything but
    // an ld.T/st.T body (those check the fence themselves) reads (Read) or
    // writes (Write) elements [begin, end) of `g` at home: printr, dumps, the
    // debugger, the embedding API. Calls Backend::bring_home for the part
    // inside g's fence, nothing when none is. Const: the values the program
    // sees do not change, only where they are.
    void bring_home(const Region& g, std::uint64_t begin, std::uint64_t end, HomeAccess access) const;

    // --- for the executors (the interpreter, the reorder engine) ---
    MachineState& state() { return state_; }
    const std::vector<DecodedInsn>& code() const { return code_; }  // Module::code decoded, plus a trailing halt
    Backend& backend() { return *backend_; }
    const Backend& backend() const { return *backend_; }
    OutputBuffer& out() { return out_; }
    EngineStats& engine_stats() { return engine_stats_; }
    void count_launch(std::uint64_t n = 1) { kernels_launched_ += n; }
    // The loop of launches whose first word is `pc` (vm/launch_rounds.h), or
    // null: none, MachineOptions::launch_rounds is off, or the backend
    // declined its rounds once (it then runs word by word).
    LaunchLoop* launch_loop_at(std::uint32_t pc);
    LoopKernelStats& loop_kernel_stats() { return loop_kernel_stats_; }
    LaunchRoundStats& launch_round_stats() { return launch_round_stats_; }
    // The last loop kernel's launch, for the engine's trace (taken once).
    void record_loop_launch(LoopLaunchSpan span) { loop_span_ = std::move(span); }
    std::optional<LoopLaunchSpan> take_loop_launch() { return std::exchange(loop_span_, std::nullopt); }
    const Kernel* plain_loop_kernel(std::uint32_t entry) { return plain_loop_kernels_.get(module_, entry); }
    // Where the slow paths put the trap they raise (a member, so an
    // executor's hot locals never have their address taken).
    Trap& raised_trap() { return raised_trap_; }

    // The slow paths. Each returns false with *trap filled in when the
    // instruction traps; the trap's pc is state().pc, which the caller has
    // brought up to date.
    Trap make_trap(TrapKind kind, const DecodedInsn& d) const;
    // The operands of vector op `d` with scalar operands from `regs` (the
    // committed file, or the engine's renamed values); false with *trap set
    // when they do not fit the op.
    bool vector_args(const DecodedInsn& d, const RegisterFile& regs, VectorOpArgs& args, Trap* trap) const;
    // Buffers get the region's storage, uniforms the register's value (i32,
    // f32: 32 bits; i64, f64: 64); an i32 uniform that does not fit traps
    // (bad-launch) rather than wrapping.
    bool launch_args(const DecodedInsn& d, const RegisterFile& regs, KernelLaunch& l, Trap* trap) const;
    bool allocate(Region& g, const DecodedInsn& d, Trap* trap);
    bool print_region(const Region& g, const DecodedInsn& d, Trap* trap);
    // The region that region operand `v` (isa/encoding.h) names with the
    // registers `regs`: a region of the module, or a handle operand's;
    // nullptr when the handle register holds no region handle.
    const Region* operand_region(std::uint32_t v, const RegisterFile& regs) const;
    // Why handle operand `v` is refused: "@r3 = 42 is not a region handle",
    // or, when `want` is set, that its region does not hold `want`.
    std::string handle_problem(std::uint32_t v, const RegisterFile& regs, std::optional<ElemType> want) const;
    // The input instructions' slow paths (vm/machine_input.cpp): argument
    // `index` as a number or as the bytes of u8 region `g`; the next line
    // of input into `g` (length -1 at the end), the next word as a
    // number (`got` false at the end, value 0). The trap names the argument
    // or input line and what it holds.
    bool argument_int(std::int64_t index, std::int64_t& value, Trap* trap) const;
    bool argument_float(std::int64_t index, double& value, Trap* trap) const;
    bool argument_text(Region& g, std::int64_t index, Trap* trap);
    bool read_line(Region& g, std::int64_t& length, Trap* trap);
    bool read_int(std::int64_t& value, bool& got, Trap* trap);
    bool read_float(double& value, bool& got, Trap* trap);

private:
    Machine(const Module& m, OutputBuffer& out, MachineOptions options, RegionStore regions);

    const Module& module_;
    OutputBuffer& out_;
    MachineOptions options_;
    std::unique_ptr<Backend> own_backend_;
    Backend* backend_ = nullptr;
    RegionStore regions_;
    std::vector<DecodedInsn> code_;
    std::vector<LaunchLoop> launch_loops_;  // by head, ascending
    MachineState state_;
    std::uint64_t kernels_launched_ = 0;  // `launch` instructions run (for --stats)
    EngineStats engine_stats_;
    LoopKernelStats loop_kernel_stats_;
    LaunchRoundStats launch_round_stats_;
    std::optional<LoopLaunchSpan> loop_span_;
    PlainLoopKernels plain_loop_kernels_;
    Trap raised_trap_;
    std::unique_ptr<Procedures> procedures_;
    bool time_sliced_ = false;
    std::uint64_t steps_elsewhere_ = 0;
};

}  // namespace polymer
