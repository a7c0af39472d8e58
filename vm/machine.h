// The scalar machine: one module's architectural state (registers, regions,
// call stack, value stack, pc) and the in-order interpreter that runs its
// logic procedures. Long operations go to a Backend; output goes to an
// OutputBuffer. The state is explicit so that the debugger and the
// out-of-order engine can read it and drive it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/backend.h"
#include "vm/decoded_insn.h"
#include "vm/ooo/engine_stats.h"
#include "vm/ooo/exec_mode.h"
#include "vm/output.h"
#include "vm/region_store.h"
#include "vm/trap.h"

namespace polymer {

struct PipelineLog;
namespace ooo {
class ReorderEngine;
class ReorderSession;
}

struct MachineOptions {
    std::uint64_t max_steps = 0;              // trap `step-limit` past this many instructions; 0 = no limit
    std::uint32_t call_depth_limit = 10'000;  // nested calls (docs/language.md)
    std::uint32_t value_stack_slots = 65'536;
    std::uint64_t memory_limit = std::uint64_t{4} << 30;  // bytes of region storage in all
    Backend* backend = nullptr;               // long operations; nullptr = a CpuBackend of its own
    // How run() executes (docs/execution.md): the in-order interpreter or the
    // reorder-buffer engine (vm/ooo/) with `rob_size` entries.
    ExecMode exec = ExecMode::InOrder;
    std::uint32_t rob_size = kDefaultRobSize;
    // ooo/spec: with the ROB empty, run scalar code on the interpreter up to
    // the next long op (docs/execution.md). Tests turn it off to drive every
    // instruction through the ROB.
    bool interpret_when_idle = true;
    PipelineLog* pipeline_log = nullptr;  // engine modes: record each instruction's life (--trace, --pipeview)
    // For the trace: the backend track a long op goes to; empty = backend->name().
    std::function<std::string(const VectorOpArgs*, const KernelLaunch*)> backend_track;
};

enum class RunStatus : std::uint8_t { Halted, Trapped, Paused };  // Paused: only under resume() or a debugger's ReorderSession

struct RunResult {
    RunStatus status = RunStatus::Halted;
    std::optional<Trap> trap;  // set when status is Trapped
    std::uint64_t steps = 0;   // instructions executed
};

class Machine;

// The debugger's view of a run (vm/debugger): resume() calls it around every
// instruction. A plain run() never does and pays nothing for it.
class ExecutionObserver {
public:
    virtual ~ExecutionObserver() = default;
    // Before the instruction at m.pc(), with the machine's state current
    // (pc, steps, stack depths). Returning true pauses the run before it.
    virtual bool before_instruction(const Machine& m) = 0;
    // A register write, with the value it replaces (for the undo log).
    virtual void int_written(unsigned i, std::int64_t old_value) = 0;
    virtual void float_written(unsigned i, double old_value) = 0;
};

class Machine {
public:
    // The module must outlive the machine. Fails (as bad input) when the
    // module's code or regions cannot be run; a verified module always loads
    // unless its regions are over the memory limit.
    static Result<std::unique_ptr<Machine>> create(const Module& m, OutputBuffer& out, MachineOptions options = {});

    std::optional<std::uint32_t> find_proc(std::string_view name) const;
    // Runs procedure `proc` from its first word until halt, a return from it,
    // or a trap. Registers and regions keep their values between runs.
    RunResult run(std::uint32_t proc);
    // The debugger's way to run: start() sets up a run of `proc` without
    // executing anything; resume() goes on from pc() until halt, a trap, or
    // the observer pauses (status Paused). A separate instantiation of the
    // dispatch loop, so run() keeps its speed.
    void start(std::uint32_t proc);
    RunResult resume(ExecutionObserver& observer);
    // Raw stack slots and position, which the debugger's undo log saves and
    // restores. A call-stack slot is the return pc.
    std::uint32_t call_slot(std::size_t i) const {
        return call_stack_[i] == nullptr ? 0 : static_cast<std::uint32_t>(call_stack_[i] - code_.data());
    }
    std::uint64_t value_slot(std::size_t i) const { return value_stack_[i]; }
    std::size_t call_stack_capacity() const { return call_stack_.size(); }
    std::size_t value_stack_capacity() const { return value_stack_.size(); }
    void restore_call_slot(std::size_t i, std::uint32_t return_pc) { call_stack_[i] = code_.data() + return_pc; }
    void restore_value_slot(std::size_t i, std::uint64_t bits) { value_stack_[i] = bits; }
    void restore_position(std::uint32_t pc, std::uint64_t steps, std::size_t call_depth, std::size_t value_depth) {
        pc_ = pc, steps_ = steps, call_depth_ = call_depth, value_depth_ = value_depth;
    }

    std::int64_t int_reg(unsigned i) const { return regs_.r[i]; }
    double float_reg(unsigned i) const { return regs_.f[i]; }
    void set_int_reg(unsigned i, std::int64_t v) { regs_.r[i] = v; }
    void set_float_reg(unsigned i, double v) { regs_.f[i] = v; }
    const RegionStore& regions() const { return regions_; }
    RegionStore& regions() { return regions_; }
    std::uint32_t pc() const { return pc_; }  // after a trap: the faulting word
    std::uint64_t steps() const { return steps_; }
    std::uint64_t kernels_launched() const { return kernels_launched_; }
    const EngineStats& engine_stats() const { return engine_stats_; }  // after a run in an engine mode
    std::size_t call_depth() const { return call_depth_; }
    std::size_t value_depth() const { return value_depth_; }
    const Module& module() const { return module_; }

private:
    friend class ooo::ReorderEngine;  // drives the same state out of order
    friend class ooo::ReorderSession;  // the debugger's resumable engine
    Machine(const Module& m, OutputBuffer& out, MachineOptions options, RegionStore regions);

    struct RegisterFile;
    template <class Hooks>
    struct Registers;  // the register-write choke point (interpreter.cpp)
    template <class Hooks>
    RunResult execute(std::uint32_t start_pc, Hooks hooks);

    // Brings the members up to date from the dispatch loop's locals.
    void save_state(const DecodedInsn* at, std::uint64_t steps, const DecodedInsn* const* csp, const std::uint64_t* vsp);

    // Slow paths, out of the dispatch loop. Each returns false after setting
    // trap_ when the instruction traps.
    bool vector_op(const DecodedInsn& d);
    bool launch(const DecodedInsn& d);
    bool allocate(const DecodedInsn& d);
    bool print_region(const DecodedInsn& d);
    Trap make_trap(TrapKind kind, const DecodedInsn& d) const;
    // The operands of a vector op / a launch read from `regs` (the committed
    // file, or the reorder engine's renamed values). launch_args returns false
    // with `trap` set (its pc is pc_) when the launch traps.
    VectorOpArgs vector_args(const DecodedInsn& d, const RegisterFile& regs) const;
    bool launch_args(const DecodedInsn& d, const RegisterFile& regs, KernelLaunch& l, Trap& trap) const;

    const Module& module_;
    OutputBuffer& out_;
    MachineOptions options_;
    std::unique_ptr<Backend> own_backend_;
    Backend* backend_ = nullptr;
    RegionStore regions_;
    std::vector<DecodedInsn> code_;

    // Architectural state. Registers start at zero; both files sit behind
    // one pointer in the dispatch loop.
    struct RegisterFile {
        std::int64_t r[kIntRegisters] = {};
        double f[kFloatRegisters] = {};
    };
    RegisterFile regs_;
    std::vector<const DecodedInsn*> call_stack_;  // return addresses; call_depth_ of them in use
    std::vector<std::uint64_t> value_stack_;  // value_depth_ slots in use
    std::size_t call_depth_ = 0;
    std::size_t value_depth_ = 0;
    std::uint32_t pc_ = 0;
    std::uint64_t steps_ = 0;
    std::uint64_t kernels_launched_ = 0;  // `launch` instructions run (for --stats)
    Trap trap_;                     // filled by the slow paths
    EngineStats engine_stats_;
    VectorOpResult vector_result_;  // the last vector op's result (reductions)
};

}  // namespace polymer
