#include "vm/debugger/debug_session.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "isa/encoding.h"
#include "isa/frame_analysis.h"
#include "isa/opcodes.h"

namespace polymer::debugger {

Result<std::unique_ptr<DebugSession>> DebugSession::create(const Module& m, OutputBuffer& out, MachineOptions machine,
                                                           std::uint32_t entry, DebugOptions options) {
    machine.interpret_when_idle = false;  // out of order, every instruction goes through the ROB, visibly
    if (has_procedure_ops(m)) machine.exec = ExecMode::InOrder;  // the scheduler steps procedures in order only
    std::unique_ptr<DebugSession> s(new DebugSession(m, out, machine, entry, options));
    s->break_at_.assign(m.code.size() + 1, 0);
    Result<bool> ok = s->restart();
    if (!ok) return Error{ok.error()};
    return s;
}

Result<bool> DebugSession::restart() {
    Result<std::unique_ptr<Machine>> m = Machine::create(module_, out_, machine_options_);
    if (!m) return Error{m.error()};
    rob_.reset();  // it refers to the old machine
    machine_ = std::move(m).value();
    machine_->start(entry_);
    if (machine_options_.exec == ExecMode::Ooo || machine_options_.exec == ExecMode::Spec)
        rob_ = std::make_unique<ooo::ReorderSession>(*machine_, machine_->pc());
    state_ = State::Running;
    trap_.reset();
    history_.clear();
    history_start_ = HistoryStart{};
    current_ = nullptr;
    selected_ = last_running_ = 0;
    waiting_.clear();
    resuming_wait_ = false;
    for (Breakpoint& b : breakpoints_)
        if (b.is_watch) {
            Result<Value> v = b.watch->evaluate(*machine_);
            b.last = v ? std::optional<Value>(v.value()) : std::nullopt;
        }
    return true;
}

Stop DebugSession::step(std::uint64_t n) {
    Goal g;
    g.steps = n;
    return go(g);
}

Stop DebugSession::next(std::uint64_t n) {
    Stop s;
    for (std::uint64_t i = 0; i < n && state_ == State::Running; ++i) {
        const std::uint32_t pc = machine_->pc();
        const bool valid = pc < module_.code.size() && is_valid_op(word_op(module_.code[pc]));
        const Op op = valid ? static_cast<Op>(word_op(module_.code[pc])) : Op::Halt;
        Goal g;
        if (valid && op == Op::Call) g.depth_at_most = machine_->call_depth();
        else if (valid && has_effect(op, effect::Proc)) g.past_steps = machine_->steps() + 1;
        else g.steps = 1;
        s = go(g);
        if (s.kind != StopKind::Step) return s;
    }
    return s;
}

Stop DebugSession::finish() {
    Goal g;
    g.depth_below = machine_->call_depth();
    return go(g);
}

Stop DebugSession::resume() { return go(Goal{}); }

Stop DebugSession::until(const Expression& cond) {
    Goal g;
    g.until = &cond;
    return go(g);
}

Stop DebugSession::go(Goal goal) {
    goal_ = goal;
    goal_.owner = running();
    first_ = true;
    holding_ = false;
    checked_at_ = UINT64_MAX;
    interrupt_requested_ = 0;
    stop_ = Stop{};
    const RunResult r = rob_ ? rob_->run(*this, this) : machine_->resume(*this);
    // A halting or trapping instruction changed nothing: its entry goes.
    if (r.status != RunStatus::Paused && current_ != nullptr) history_.drop_last();
    current_ = nullptr;
    selected_ = running();
    switch (r.status) {
    case RunStatus::Paused: return stop_;
    case RunStatus::Blocked:
        // Only the scheduler (Procedures::resume) can make a procedure wait,
        // and a program with procedures never gets a reorder session.
        state_ = State::Trapped;
        trap_ = Trap{TrapKind::Unsupported, machine_->pc(), "a procedure instruction waited outside the scheduler", {}};
        return Stop{StopKind::Trapped};
    case RunStatus::Halted:
        state_ = State::Halted;
        // The runtime ended #0 and stopped the others: not undoable.
        if (machine_->procedures() != nullptr) restart_history(HistoryStart{HistoryStart::Kind::End, running(), 0});
        return Stop{StopKind::Halted};
    case RunStatus::Trapped: state_ = State::Trapped; trap_ = r.trap; return Stop{StopKind::Trapped};
    }
    return stop_;
}

std::vector<std::uint32_t> DebugSession::call_stack() const {
    if (rob_) return rob_->committed_call_stack();
    const MachineState& s = viewed();
    const DecodedInsn* code = machine_->code().data();
    std::vector<std::uint32_t> returns;
    for (std::size_t k = 0; k < s.call_depth; ++k)
        returns.push_back(s.call_stack[k] == nullptr ? 0 : static_cast<std::uint32_t>(s.call_stack[k] - code));
    return returns;
}

std::uint32_t DebugSession::running() const {
    const Procedures* procs = machine_->procedures();
    return procs != nullptr ? procs->current() : 0;
}

Result<bool> DebugSession::select(std::uint32_t id) {
    const Procedures* procs = machine_->procedures();
    if (procs == nullptr) return Error{"this program has no procedure instructions (spawn, join, ...): only #0 runs"};
    if (id >= procs->all().size())
        return Error{"no procedure #" + std::to_string(id) + " (this run has #0" +
                     (procs->all().size() > 1 ? " to #" + std::to_string(procs->all().size() - 1) : std::string()) +
                     "; info procs lists them)"};
    selected_ = id;
    return true;
}

const MachineState& DebugSession::viewed() const {
    const Procedures* procs = machine_->procedures();
    return procs != nullptr ? procs->state_of(selected_) : machine_->state();
}

Result<Value> DebugSession::evaluate(const Expression& e) const { return e.evaluate(*machine_, viewed()); }

std::uint64_t DebugSession::steps() const {
    const Procedures* procs = machine_->procedures();
    return procs != nullptr ? procs->steps() : machine_->steps();
}

void DebugSession::restart_history(HistoryStart start) {
    history_.clear();
    history_start_ = start;
    current_ = nullptr;
}

// The scheduler swapped another procedure's state in. The history so far
// undoes the one switched out, so it is dropped; watches on registers now
// read the new one's, which is no change to report.
void DebugSession::procedure_switched(const Machine& m) {
    const Procedures& procs = *m.procedures();
    const std::uint32_t out = last_running_, in = procs.current();
    last_running_ = in;
    waiting_.resize(procs.all().size(), false);
    if (out < waiting_.size()) waiting_[out] = procs.all()[out].status == ProcStatus::Waiting;
    resuming_wait_ = waiting_[in];
    waiting_[in] = false;
    restart_history(HistoryStart{HistoryStart::Kind::Switch, in, 0});
    for (Breakpoint& b : breakpoints_)
        if (b.is_watch && b.enabled) {
            Result<Value> v = b.watch->evaluate(m);
            b.last = v ? std::optional<Value>(v.value()) : std::nullopt;
        }
}

void DebugSession::flush_reorder_buffer() {
    if (rob_) rob_->flush();
}

void DebugSession::event(const ooo::RobEvent& e) {
    if (on_rob_event) on_rob_event(e);
}

// The same rules as in order, at the committed position the engine shows.
// Asked before each commit and after each cycle; checked once per position.
bool DebugSession::hold_commits(const Machine& m) {
    if (!holding_ && m.steps() != checked_at_) {
        checked_at_ = m.steps();
        holding_ = before_instruction(m);
    }
    return holding_;
}

bool DebugSession::before_instruction(const Machine& m) {
    const bool retry = std::exchange(resuming_wait_, false);  // a waiting instruction tried again
    if (!first_) {
        if (check_watches()) return true;
        if (goal_.until != nullptr) {
            Result<Value> v = goal_.until->evaluate(m);
            if (v && (v.value().is_float ? v.value().f != 0 : v.value().i != 0)) {
                stop_ = Stop{StopKind::Until};
                return true;
            }
        }
        if (goal_.depth_below && m.call_depth() < *goal_.depth_below && owner_running()) {
            stop_ = Stop{StopKind::Finish};
            return true;
        }
        if (goal_.depth_at_most && m.call_depth() <= *goal_.depth_at_most && owner_running()) {
            stop_ = Stop{StopKind::Step};
            return true;
        }
        if (goal_.past_steps && m.steps() >= *goal_.past_steps && owner_running()) {
            stop_ = Stop{StopKind::Step};
            return true;
        }
        if (break_at_[m.pc()] != 0 && !retry) {
            for (Breakpoint& b : breakpoints_)
                if (!b.is_watch && b.enabled && b.pc == m.pc()) {
                    ++b.hits;
                    stop_ = Stop{StopKind::Breakpoint, b.id};
                    return true;
                }
        }
    }
    if (goal_.steps == 0) {
        stop_ = Stop{StopKind::Step};
        return true;
    }
    if (interrupt_requested_ != 0 && !first_) {
        interrupt_requested_ = 0;
        stop_ = Stop{StopKind::Interrupted};
        return true;
    }
    first_ = false;
    if (goal_.steps != UINT64_MAX && !retry) --goal_.steps;
    record(m);
    return false;
}

// A new history entry for the instruction about to run (or commit); what it
// overwrites arrives through the StateObserver calls below. A procedure
// instruction changes other procedures, channels or barriers, which the log
// cannot undo: the history starts after it.
void DebugSession::record(const Machine& m) {
    const std::uint32_t pc = m.pc();
    if (pc < module_.code.size() && is_valid_op(word_op(module_.code[pc])) &&
        has_effect(static_cast<Op>(word_op(module_.code[pc])), effect::Proc)) {
        restart_history(HistoryStart{HistoryStart::Kind::ProcedureOp, running(), pc});
        return;
    }
    current_ = &history_.begin(m);
}

void DebugSession::int_written(unsigned i) {
    if (current_ == nullptr || current_->register_writes == 2) return;
    current_->registers[current_->register_writes++] = UndoEntry::RegisterWrite{
        false, static_cast<std::uint8_t>(i), static_cast<std::uint64_t>(machine_->int_reg(i))};
}

void DebugSession::float_written(unsigned i) {
    if (current_ == nullptr || current_->register_writes == 2) return;
    current_->registers[current_->register_writes++] = UndoEntry::RegisterWrite{
        true, static_cast<std::uint8_t>(i), std::bit_cast<std::uint64_t>(machine_->float_reg(i))};
}

void DebugSession::element_written(const Region& g, std::uint64_t index) {
    if (current_ == nullptr) return;
    const std::size_t size = elem_size(g.type);
    current_->has_element = true;
    current_->element_region = region_index(g);
    current_->element_offset = index * size;
    current_->element_size = static_cast<std::uint8_t>(size);
    std::memcpy(current_->element_bytes, static_cast<const std::uint8_t*>(g.data) + current_->element_offset, size);
}

// A vector op, launch, alloc or free: a snapshot of every region it writes
// (the opcode table's write set; for a launch, the kernel's out/inout buffers).
void DebugSession::regions_written(const DecodedInsn& d) {
    if (current_ == nullptr) return;
    const auto pc = static_cast<std::size_t>(&d - machine_->code().data());
    if (pc >= module_.code.size()) return;
    for (const ResourceUse& u : resource_uses(module_, module_.code[pc])) {
        if (!u.write) continue;
        std::uint32_t g = u.resource.index;
        if (u.resource.kind == Resource::Kind::Handle) {  // the region the handle names now, before the op runs
            const Region* r = machine_->regions().by_handle(machine_->int_reg(u.resource.index));
            if (r == nullptr) continue;  // it traps: nothing is written
            g = machine_->regions().index_of(*r);
        } else if (u.resource.kind != Resource::Kind::Region) {
            continue;
        }
        if (!history_.snapshot_region(*machine_, g)) {
            current_ = nullptr;  // too big to keep: the history restarts after this step
            return;
        }
    }
}

void DebugSession::region_overwritten(const Region& g, const std::vector<std::byte>& old_bytes) {
    if (current_ == nullptr) return;
    if (!history_.add_snapshot(region_index(g), g.length, old_bytes)) current_ = nullptr;
}

void DebugSession::value_slot_written(std::size_t slot) {
    if (current_ == nullptr) return;
    current_->has_value_slot = true;
    current_->value_slot = static_cast<std::uint32_t>(slot);
    current_->value_slot_bits = machine_->value_slot(slot);
}

void DebugSession::call_slot_written(std::size_t slot) {
    if (current_ == nullptr) return;
    current_->has_call_slot = true;
    current_->call_slot = static_cast<std::uint32_t>(slot);
    current_->call_slot_pc = machine_->call_slot(slot);
}

void DebugSession::output_written() {
    if (current_ != nullptr) current_->printed = true;
}

void DebugSession::input_read() {
    if (current_ != nullptr) current_->read_input = true;
}

bool DebugSession::check_watches() {
    bool fired = false;
    for (Breakpoint& b : breakpoints_) {
        if (!b.is_watch || !b.enabled) continue;
        Result<Value> v = b.watch->evaluate(*machine_);
        std::optional<Value> now = v ? std::optional<Value>(v.value()) : std::nullopt;
        const bool changed = now.has_value() != b.last.has_value() || (now && !now->same_as(*b.last));
        if (!changed) continue;
        if (!fired) {
            ++b.hits;
            stop_ = Stop{StopKind::Watchpoint, b.id, b.last ? value_text(*b.last) : "<unavailable>",
                         now ? value_text(*now) : "<unavailable>"};
            fired = true;
        }
        b.last = now;
    }
    return fired;
}

BackstepReport DebugSession::backstep(std::uint64_t n) {
    BackstepReport rep;
    flush_reorder_buffer();
    for (std::uint64_t i = 0; i < n; ++i) {
        if (history_.empty()) {
            rep.history_ran_out = true;
            break;
        }
        UndoEntry e = history_.undo_last(*machine_);
        ++rep.undone;
        if (e.is_set) ++rep.sets_undone;
        if (e.printed) rep.printed = true;
        if (e.read_input) rep.read_input = true;
    }
    if (rep.undone > 0) {
        state_ = State::Running;
        trap_.reset();
    }
    selected_ = running();
    flush_reorder_buffer();  // issue goes on from the restored pc
    for (Breakpoint& b : breakpoints_)
        if (b.is_watch) {
            Result<Value> v = b.watch->evaluate(*machine_);
            b.last = v ? std::optional<Value>(v.value()) : std::nullopt;
        }
    return rep;
}

Result<bool> DebugSession::assign(const Expression& place, const Value& v) {
    if (!viewing_running())
        return Error{"set changes the running procedure only: #" + std::to_string(selected_) +
                     " is selected, #" + std::to_string(running()) + " is running (proc " +
                     std::to_string(running()) + " selects it)"};
    flush_reorder_buffer();  // younger instructions run again, with the new value
    Result<Expression::Location> at = place.locate(*machine_);
    if (!at) return Error{at.error()};
    Machine& m = *machine_;
    UndoEntry saved;
    saved.is_set = true;
    const Expression::Location& l = at.value();
    if (l.place == Expression::Place::IntReg) {
        saved.register_writes = 1;
        saved.registers[0] = {false, static_cast<std::uint8_t>(l.index), static_cast<std::uint64_t>(m.int_reg(l.index))};
    } else if (l.place == Expression::Place::FloatReg) {
        saved.register_writes = 1;
        saved.registers[0] = {true, static_cast<std::uint8_t>(l.index), std::bit_cast<std::uint64_t>(m.float_reg(l.index))};
    } else {
        const Region& g = m.regions()[l.index];
        const std::size_t size = elem_size(g.type);
        m.bring_home(g, l.element, l.element + 1, HomeAccess::Read);
        saved.has_element = true;
        saved.element_region = l.index;
        saved.element_offset = l.element * size;
        saved.element_size = static_cast<std::uint8_t>(size);
        std::memcpy(saved.element_bytes, static_cast<const std::uint8_t*>(g.data) + saved.element_offset, size);
    }
    Result<bool> ok = place.assign(m, v);
    if (!ok) return ok;
    UndoEntry& e = history_.begin(m);
    const UndoEntry position = e;  // begin() filled in pc, steps and depths
    e = saved;
    e.pc = position.pc, e.steps = position.steps, e.call_depth = position.call_depth, e.value_depth = position.value_depth;
    for (Breakpoint& b : breakpoints_)
        if (b.is_watch) {
            Result<Value> now = b.watch->evaluate(m);
            b.last = now ? std::optional<Value>(now.value()) : std::nullopt;
        }
    return true;
}

int DebugSession::add_breakpoint(std::uint32_t pc, std::string where) {
    Breakpoint b;
    b.id = next_id_++;
    b.pc = pc;
    b.where = std::move(where);
    breakpoints_.push_back(std::move(b));
    ++break_at_[pc];
    return breakpoints_.back().id;
}

Result<int> DebugSession::add_watch(Expression e) {
    Result<Value> v = e.evaluate(*machine_);
    if (!v) return Error{"cannot watch '" + e.text() + "': " + v.error()};
    Breakpoint b;
    b.id = next_id_++;
    b.is_watch = true;
    b.where = e.text();
    b.last = v.value();
    b.watch = std::move(e);
    breakpoints_.push_back(std::move(b));
    return breakpoints_.back().id;
}

bool DebugSession::remove(int id) {
    auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(), [&](const Breakpoint& b) { return b.id == id; });
    if (it == breakpoints_.end()) return false;
    if (!it->is_watch && it->enabled) --break_at_[it->pc];
    breakpoints_.erase(it);
    return true;
}

bool DebugSession::set_enabled(int id, bool enabled) {
    for (Breakpoint& b : breakpoints_) {
        if (b.id != id) continue;
        if (!b.is_watch && b.enabled != enabled) enabled ? ++break_at_[b.pc] : --break_at_[b.pc];
        b.enabled = enabled;
        if (b.is_watch && enabled) {
            Result<Value> v = b.watch->evaluate(*machine_);
            b.last = v ? std::optional<Value>(v.value()) : std::nullopt;
        }
        return true;
    }
    return false;
}

void DebugSession::remove_all() {
    breakpoints_.clear();
    std::fill(break_at_.begin(), break_at_.end(), 0);
}

}  // namespace polymer::debugger
