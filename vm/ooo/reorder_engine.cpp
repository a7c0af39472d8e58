// The reorder-buffer engine (see reorder_engine.h and docs/execution.md).
//
// Region dependencies use the "wait" policy: a long op that writes a region
// produces its new version in place, so it waits until the previous writer
// has finished and every reader since has read (WAR/WAW), and a reader waits
// for the last writer (RAW). Speculation needs undo, so before a vector op or
// kernel that writes a region starts while an older instruction might still
// be squashed (an unresolved predicted branch, or an instruction that may
// trap and has not yet been checked), the engine saves the region's current
// contents (the shadow of the old version); a squash restores it, a commit
// drops it. That keeps the state after a trap exactly in-order's too.
#include "vm/ooo/reorder_engine.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <limits>
#include <vector>

#include "isa/frame_analysis.h"
#include "vm/ooo/branch_predictor.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/ooo/rename_map.h"
#include "vm/ooo/scalar_eval.h"

namespace polymer::ooo {
namespace {

constexpr std::uint64_t kNone = ~std::uint64_t{0};
constexpr unsigned kWidth = 4;  // instructions issued and committed per cycle

// What the engine does with an instruction, from its opcode's class and effects.
enum class Kind : std::uint8_t {
    Scalar,   // executes when ready (scalar_eval)
    Load,     // ld.*: executes when ready, after the region's last writer
    Long,     // vector op or launch: submitted to the backend when ready
    Branch,   // conditional branch
    Jump,
    Call,
    Ret,
    Halt,
    AtCommit, // stores, output, the value stack, wait/fence, alloc/free: at commit
};

struct PcInfo {
    bool analysed = false;
    Kind kind = Kind::AtCommit;
    bool may_trap = false;
    bool sync = false;         // wait / fence
    bool serialize = false;    // alloc / free: the ROB drains around them
    bool value_at_commit = false;  // pop / popf: the value exists only at commit
    std::int8_t int_dst = -1, float_dst = -1;
    std::vector<std::uint8_t> int_srcs, float_srcs;
    std::vector<std::uint32_t> region_reads, region_writes;
    std::uint16_t frame = 0;        // frames mode
    bool block_start = false;
    std::uint16_t block_frames = 1;  // frames in the block starting here
};

// Runs the threaded interpreter until the next vector op or kernel: the
// engine's fast path for stretches of scalar code with nothing in flight.
class PauseAtLongOps final : public ExecutionObserver {
public:
    explicit PauseAtLongOps(const std::vector<DecodedInsn>& code) : code_(code) {}
    bool before_instruction(const Machine& m) override {
        return has_effect(code_[m.pc()].op, effect::Long);
    }
    void int_written(unsigned, std::int64_t) override {}
    void float_written(unsigned, double) override {}

private:
    const std::vector<DecodedInsn>& code_;
};

}  // namespace

class ReorderEngine {
public:
    ReorderEngine(Machine& m, ExecMode mode)
        : m_(m), mode_(mode), code_(m.code_.data()), log_(m.options_.pipeline_log) {
        analyse();
        capacity_ = mode_ == ExecMode::Frames ? max_block_ + 1 : std::max<std::uint32_t>(1, m.options_.rob_size);
        rob_.resize(capacity_);
        scoreboard_.resize(m.regions_.size());
        start_ = Clock::now();
        if (log_ != nullptr) log_->origin = start_;  // so other recorders (the cluster's chunk runs) share the time base
    }

    RunResult run(std::uint32_t start_pc) {
        begin(start_pc);
        return loop();
    }
    static RunResult start(Machine& m, std::uint32_t start_pc);
    void begin(std::uint32_t start_pc);
    // Cycles until halt, a trap, or the observer (if any) pauses.
    RunResult loop();
    void set_observer(CycleObserver* o) { observer_ = o; }
    void drain() { m_.backend_->wait_all(); }  // no submitted op may outlive the engine
    std::vector<RobEntryView> entries();

private:
    using Clock = std::chrono::steady_clock;
    enum class State : std::uint8_t { Waiting, InFlight, Done };

    struct Src {
        RegKind kind;
        std::uint8_t reg;
        std::uint64_t producer;  // RenameMap::kCommitted: the committed file
    };

    struct Backup {
        Region* region;
        std::vector<std::byte> bytes;
    };

    struct Entry {
        std::uint64_t seq = 0;
        std::uint32_t pc = 0;
        const DecodedInsn* d = nullptr;
        const PcInfo* info = nullptr;
        State state = State::Waiting;
        bool region_done = false;  // its region reads/writes are finished
        std::vector<Src> srcs;
        std::vector<std::uint64_t> region_deps;
        std::uint64_t sync_dep = kNone;  // long ops: start after this wait/fence commits
        std::int64_t ivalue = 0;
        double fvalue = 0;
        // control
        bool predicted = false;
        std::uint32_t next_pc = 0;
        // traps found at execute, reported at commit
        bool traps = false;
        TrapKind trap_kind = TrapKind::Unsupported;
        std::size_t call_depth_at_issue = 0;
        // long ops
        Ticket ticket = 0;
        std::uint64_t start_ns = 0, end_ns = 0;
        std::vector<Backup> backups;
        std::uint32_t track = 0;
        std::size_t record = kNoRecord;  // index in the pipeline log
        static constexpr std::size_t kNoRecord = ~std::size_t{0};
    };

    struct RegionUse {
        std::uint64_t last_writer = kNone;
        std::vector<std::uint64_t> readers;  // since the last writer
    };

    // --- static analysis, per word on first use ---
    void analyse();
    const PcInfo& info(std::uint32_t pc) {
        PcInfo& p = info_[pc];
        if (!p.analysed) analyse_word(pc, p);
        return p;
    }
    void analyse_word(std::uint32_t pc, PcInfo& p);

    // --- the ROB ---
    std::size_t count() const { return count_; }
    Entry& at(std::uint64_t seq) { return rob_[(head_ + (seq - head_seq_)) % capacity_]; }
    Entry& head() { return rob_[head_]; }
    bool in_rob(std::uint64_t seq) const { return seq != kNone && seq >= head_seq_ && seq < head_seq_ + count_; }

    // --- the stages ---
    bool issue_one();
    void link(Entry& e);
    bool operands_ready(Entry& e);
    bool try_execute(Entry& e, bool older_unsafe, bool older_traps);
    void scan();
    void resolve_branch(Entry& e, bool taken);
    void complete(Entry& e);
    void wait_in_flight();
    // Returns true when the run ends (halt or trap); result_ is then set.
    bool commit(Entry& e);
    void squash_after(std::uint64_t seq);
    void rebuild();
    void finish_trap(const Entry& e, Trap trap);

    std::uint64_t now_ns() const {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count());
    }
    InsnRecord* record(const Entry& e) {
        return log_ != nullptr && e.record != Entry::kNoRecord ? &log_->records[e.record] : nullptr;
    }
    std::uint32_t track_of(const VectorOpArgs* v, const KernelLaunch* l);

    Machine& m_;
    ExecMode mode_;
    const DecodedInsn* code_;
    PipelineLog* log_;
    std::vector<PcInfo> info_;
    std::uint32_t max_block_ = 1;

    std::vector<Entry> rob_;
    std::uint32_t capacity_ = 1;
    std::size_t head_ = 0, count_ = 0;
    std::uint64_t head_seq_ = 0;
    std::uint64_t trace_ids_ = 0;

    RenameMap rename_;
    std::vector<RegionUse> scoreboard_;
    std::uint64_t last_sync_ = kNone;
    BranchPredictor predictor_;
    std::vector<std::uint64_t> unresolved_;  // predicted branches not yet resolved, oldest first

    std::uint32_t fetch_pc_ = 0;
    bool fetch_stopped_ = false;         // after halt, a trapping call, ret from the entry
    std::uint64_t fetch_branch_ = kNone;  // ooo/frames: issue waits for this branch
    bool serializing_ = false;           // an alloc/free is in the ROB
    std::size_t waiting_ = 0;            // entries in state Waiting
    bool wake_ = true;
    bool progress_ = false;
    std::uint64_t committed_ = 0;
    Clock::time_point start_;
    Machine::RegisterFile scratch_;
    RunResult result_;
    CycleObserver* observer_ = nullptr;  // the debugger's; plain runs pay one test per event
    bool paused_ = false;
    std::size_t issue_depth_ = 0;  // while paused: m_.call_depth_ as issue left it
    void emit(RobEvent::Kind k, std::uint64_t seq, std::uint32_t pc, std::uint64_t last = 0) {
        if (observer_ != nullptr) observer_->event(RobEvent{k, m_.engine_stats_.cycles, seq, last, pc});
    }
};

void ReorderEngine::analyse_word(std::uint32_t pc, PcInfo& p) {
    const Module& mod = m_.module_;
    p.analysed = true;
    {
        const Op op = code_[pc].op;
        p.may_trap = has_effect(op, effect::Trap);
        p.sync = has_effect(op, effect::Sync);
        p.serialize = has_effect(op, effect::Alloc);
        p.value_at_commit = op == Op::Pop || op == Op::Popf;
        if (is_scalar_op(op)) p.kind = Kind::Scalar;
        else if (op >= Op::LdU8 && op <= Op::LdF64) p.kind = Kind::Load;
        else if (has_effect(op, effect::Long)) p.kind = Kind::Long;
        else if (op == Op::Jmp) p.kind = Kind::Jump;
        else if (op == Op::Call) p.kind = Kind::Call;
        else if (op == Op::Ret) p.kind = Kind::Ret;
        else if (op == Op::Halt) p.kind = Kind::Halt;
        else if (has_effect(op, effect::Ctrl)) p.kind = Kind::Branch;
        else p.kind = Kind::AtCommit;
        if (pc >= mod.code.size()) return;  // the trailing halt uses nothing
        // The read/write sets come from the frame analysis (the opcode table).
        for (const ResourceUse& u : resource_uses(mod, mod.code[pc])) {
            const auto idx = u.resource.index;
            switch (u.resource.kind) {
            case Resource::Kind::IntReg:
                if (u.read) p.int_srcs.push_back(static_cast<std::uint8_t>(idx));
                if (u.write) p.int_dst = static_cast<std::int8_t>(idx);
                break;
            case Resource::Kind::FloatReg:
                if (u.read) p.float_srcs.push_back(static_cast<std::uint8_t>(idx));
                if (u.write) p.float_dst = static_cast<std::int8_t>(idx);
                break;
            case Resource::Kind::Region:
                if (u.read) p.region_reads.push_back(idx);
                if (u.write) p.region_writes.push_back(idx);
                break;
            default: break;  // stack, output, traps, long-op order: kept by in-order commit and sync_dep
            }
        }
    }
}

// Every word gets a PcInfo (filled on first use); frames mode also reads the
// frame table: the module's own (verified on load), else computed here.
void ReorderEngine::analyse() {
    const Module& mod = m_.module_;
    const std::size_t n = m_.code_.size();  // the module's words plus the decoder's trailing halt
    info_.resize(n);
    if (mode_ != ExecMode::Frames) return;
    const std::vector<BlockFrames> computed = mod.frames.empty() ? compute_frames(mod) : std::vector<BlockFrames>{};
    for (const BlockFrames& b : mod.frames.empty() ? computed : mod.frames) {
        std::uint16_t frames = 1;
        for (std::size_t i = 0; i < b.frame.size(); ++i) {
            info_[b.start + i].frame = b.frame[i];
            frames = std::max<std::uint16_t>(frames, static_cast<std::uint16_t>(b.frame[i] + 1));
        }
        if (!b.frame.empty()) info_[b.start].block_start = true;
        info_[b.start].block_frames = frames;
        max_block_ = std::max(max_block_, static_cast<std::uint32_t>(b.frame.size()));
    }
    info_[n - 1].block_start = true;  // the trailing halt
}

std::uint32_t ReorderEngine::track_of(const VectorOpArgs* v, const KernelLaunch* l) {
    std::string name = m_.options_.backend_track ? m_.options_.backend_track(v, l) : std::string(m_.backend_->name());
    auto it = std::find(log_->tracks.begin(), log_->tracks.end(), name);
    if (it != log_->tracks.end()) return static_cast<std::uint32_t>(it - log_->tracks.begin());
    log_->tracks.push_back(std::move(name));
    return static_cast<std::uint32_t>(log_->tracks.size() - 1);
}

// Renames the sources, finds the region and sync dependencies, and makes this
// entry the newest producer of what it writes.
void ReorderEngine::link(Entry& e) {
    const PcInfo& p = *e.info;
    e.srcs.clear();
    e.region_deps.clear();
    e.sync_dep = kNone;
    if (p.kind != Kind::AtCommit) {  // at commit everything older has committed: read the machine
        for (std::uint8_t r : p.int_srcs) e.srcs.push_back({RegKind::Int, r, rename_.producer(RegKind::Int, r)});
        for (std::uint8_t r : p.float_srcs) e.srcs.push_back({RegKind::Float, r, rename_.producer(RegKind::Float, r)});
    }
    for (std::uint32_t g : p.region_reads) {
        RegionUse& u = scoreboard_[g];
        if (in_rob(u.last_writer)) e.region_deps.push_back(u.last_writer);
    }
    for (std::uint32_t g : p.region_writes) {
        RegionUse& u = scoreboard_[g];
        if (in_rob(u.last_writer)) e.region_deps.push_back(u.last_writer);
        for (std::uint64_t r : u.readers)
            if (in_rob(r) && r != e.seq) e.region_deps.push_back(r);
    }
    for (std::uint32_t g : p.region_reads) {
        RegionUse& u = scoreboard_[g];
        std::erase_if(u.readers, [&](std::uint64_t s) { return !in_rob(s); });
        u.readers.push_back(e.seq);
    }
    for (std::uint32_t g : p.region_writes) {
        scoreboard_[g].last_writer = e.seq;
        scoreboard_[g].readers.clear();
    }
    if (p.kind == Kind::Long && in_rob(last_sync_)) e.sync_dep = last_sync_;
    if (p.sync) last_sync_ = e.seq;
    if (p.int_dst >= 0) rename_.define(RegKind::Int, static_cast<unsigned>(p.int_dst), e.seq);
    if (p.float_dst >= 0) rename_.define(RegKind::Float, static_cast<unsigned>(p.float_dst), e.seq);
}

bool ReorderEngine::issue_one() {
    if (fetch_stopped_ || fetch_branch_ != kNone || serializing_ || count_ == capacity_) return false;
    const std::uint32_t pc = fetch_pc_;
    const PcInfo& p = info(pc);
    const DecodedInsn* d = code_ + pc;
    if (mode_ == ExecMode::Frames && p.block_start && count_ != 0) return false;  // the previous block first
    if (p.serialize && count_ != 0) return false;
    // No speculation through calls and returns: the call stack has no undo.
    if ((p.kind == Kind::Call || p.kind == Kind::Ret) && !unresolved_.empty()) return false;

    Entry& e = rob_[(head_ + count_) % capacity_];
    ++count_;
    e.seq = head_seq_ + count_ - 1;
    e.pc = pc;
    e.d = d;
    e.info = &p;
    e.state = State::Waiting;
    e.region_done = false;
    e.predicted = false;
    e.traps = false;
    e.backups.clear();
    e.call_depth_at_issue = m_.call_depth_;
    e.next_pc = pc + 1;
    e.record = Entry::kNoRecord;
    e.start_ns = e.end_ns = 0;
    link(e);
    if (p.serialize) serializing_ = true;
    if (mode_ == ExecMode::Frames && p.block_start) m_.engine_stats_.frames += p.block_frames;

    const bool speculative = !unresolved_.empty();
    if (log_ != nullptr) {
        if (log_->records.size() < log_->limit) {
            e.record = log_->records.size();
            InsnRecord r;
            r.seq = trace_ids_;
            r.pc = pc;
            r.op = d->op;
            r.issue_ns = now_ns();
            r.speculative = speculative;
            r.long_op = p.kind == Kind::Long;
            for (const Src& s : e.srcs)
                if (in_rob(s.producer)) r.deps.push_back(at(s.producer).record);
            for (std::uint64_t s : e.region_deps) r.deps.push_back(at(s).record);
            std::erase(r.deps, Entry::kNoRecord);
            log_->records.push_back(std::move(r));
        } else {
            log_->truncated = true;
        }
    }
    ++trace_ids_;

    switch (p.kind) {
    case Kind::Jump: e.next_pc = static_cast<std::uint32_t>(d->imm); e.state = State::Done; break;
    case Kind::Call:
        if (m_.call_depth_ == m_.call_stack_.size()) {
            e.traps = true;
            e.trap_kind = TrapKind::CallDepth;
            fetch_stopped_ = true;
        } else {
            m_.call_stack_[m_.call_depth_++] = d + 1;
            e.next_pc = static_cast<std::uint32_t>(d->imm);
        }
        e.state = State::Done;
        break;
    case Kind::Ret:
        if (m_.call_depth_ == 0) fetch_stopped_ = true;  // returning from the entry procedure: halt
        else e.next_pc = static_cast<std::uint32_t>(m_.call_stack_[--m_.call_depth_] - code_);
        e.state = State::Done;
        break;
    case Kind::Halt: fetch_stopped_ = true; e.state = State::Done; break;
    case Kind::AtCommit: e.state = State::Done; break;
    case Kind::Branch:
        if (mode_ != ExecMode::Frames && operands_ready(e)) {
            resolve_branch(e, branch_taken(*d, scratch_));
        } else if (mode_ == ExecMode::Spec) {
            e.predicted = true;
            ++m_.engine_stats_.predictions;
            e.next_pc = predictor_.predict(pc, static_cast<std::uint32_t>(d->imm)) ? static_cast<std::uint32_t>(d->imm)
                                                                                   : pc + 1;
            unresolved_.push_back(e.seq);
            ++waiting_;
        } else {
            fetch_branch_ = e.seq;
            ++waiting_;
        }
        break;
    case Kind::Scalar:
    case Kind::Load:
        // Execute at once when the operands are there (not in frames mode,
        // where the frame decides), else wait for them.
        ++waiting_;
        if (mode_ != ExecMode::Frames) try_execute(e, true, false);
        break;
    case Kind::Long: ++waiting_; break;  // the scan knows whether older entries are safe
    }
    if (e.state == State::Waiting) wake_ = true;
    if (!fetch_stopped_ && fetch_branch_ == kNone) fetch_pc_ = e.next_pc;
    emit(RobEvent::Kind::Issue, e.seq, pc);
    // frames: issue stops at the end of the block (the next word starts one).
    return true;
}

// Fills scratch_ with the entry's operand values; false when one is not ready.
bool ReorderEngine::operands_ready(Entry& e) {
    for (const Src& s : e.srcs) {
        std::int64_t iv = 0;
        double fv = 0;
        if (s.producer == RenameMap::kCommitted || s.producer < head_seq_) {
            iv = m_.regs_.r[s.reg];
            fv = m_.regs_.f[s.reg];
        } else {
            const Entry& p = at(s.producer);
            if (p.state != State::Done || p.info->value_at_commit) return false;
            iv = p.ivalue;
            fv = p.fvalue;
        }
        if (s.kind == RegKind::Int) scratch_.r[s.reg] = iv;
        else scratch_.f[s.reg] = fv;
    }
    return true;
}

bool ReorderEngine::try_execute(Entry& e, bool older_unsafe, bool older_traps) {
    const PcInfo& p = *e.info;
    for (std::uint64_t dep : e.region_deps)
        if (in_rob(dep) && !at(dep).region_done) return false;
    if (e.sync_dep != kNone && in_rob(e.sync_dep)) return false;
    if (p.kind == Kind::Long && older_traps) return false;  // it will be squashed
    if (!operands_ready(e)) return false;
    const DecodedInsn& d = *e.d;
    if (InsnRecord* r = record(e)) r->exec_start_ns = r->exec_end_ns = now_ns();
    switch (p.kind) {
    case Kind::Scalar:
        if (!eval_scalar(d, scratch_)) {
            e.traps = true;
            e.trap_kind = TrapKind::DivisionByZero;
        } else if (p.int_dst >= 0) {
            e.ivalue = scratch_.r[p.int_dst];
        } else if (p.float_dst >= 0) {
            e.fvalue = scratch_.f[p.float_dst];
        }
        break;
    case Kind::Load: {
        const auto index = static_cast<std::uint64_t>(scratch_.r[d.b]);
        const Region& g = *d.region;
        if (index >= g.length) {
            e.traps = true;
            e.trap_kind = TrapKind::OutOfBounds;
            break;
        }
        switch (d.op) {
        case Op::LdU8: e.ivalue = g.as<std::uint8_t>()[index]; break;
        case Op::LdI32: e.ivalue = g.as<std::int32_t>()[index]; break;
        case Op::LdU32: e.ivalue = g.as<std::uint32_t>()[index]; break;
        case Op::LdI64: e.ivalue = g.as<std::int64_t>()[index]; break;
        case Op::LdF32: e.fvalue = g.as<float>()[index]; break;
        case Op::LdF64: e.fvalue = g.as<double>()[index]; break;
        default: break;
        }
        break;
    }
    case Kind::Branch: resolve_branch(e, branch_taken(d, scratch_)); return true;
    case Kind::Long: {
        VectorOpArgs args;
        KernelLaunch launch;
        const bool is_launch = d.op == Op::Launch;
        if (is_launch) {
            Trap t;
            if (!m_.launch_args(d, scratch_, launch, t)) {
                e.traps = true;
                e.trap_kind = t.kind;
                break;
            }
            if (launch.count == 0) break;
        } else {
            args = m_.vector_args(d, scratch_);
            VectorOpProblem problem = find_vector_op_problem(args);
            if (problem.fault != VectorOpFault::None) {
                e.traps = true;
                e.trap_kind = TrapKind::TypeMismatch;
                break;
            }
        }
        if (older_unsafe)
            for (std::uint32_t g : p.region_writes) {
                Region& region = m_.regions_[g];
                Backup b{&region, std::vector<std::byte>(region.bytes())};
                if (region.bytes() != 0) std::memcpy(b.bytes.data(), region.data, region.bytes());
                e.backups.push_back(std::move(b));
            }
        e.start_ns = now_ns();
        e.ticket = is_launch ? m_.backend_->submit(launch) : m_.backend_->submit(args);
        e.state = State::InFlight;
        --waiting_;
        if (InsnRecord* r = record(e)) {
            r->exec_start_ns = e.start_ns;
            r->track = track_of(is_launch ? nullptr : &args, is_launch ? &launch : nullptr);
        }
        progress_ = true;
        return true;
    }
    default: break;
    }
    e.state = State::Done;
    e.region_done = true;
    --waiting_;
    progress_ = true;
    return true;
}

void ReorderEngine::resolve_branch(Entry& e, bool taken) {
    const auto target = static_cast<std::uint32_t>(e.d->imm);
    const std::uint32_t actual = taken ? target : e.pc + 1;
    if (mode_ == ExecMode::Spec) predictor_.update(e.pc, target, taken);
    const bool was_waiting = e.state == State::Waiting && (e.predicted || fetch_branch_ == e.seq);
    e.state = State::Done;
    e.region_done = true;
    if (was_waiting) --waiting_;
    if (InsnRecord* r = record(e)) r->exec_start_ns = r->exec_end_ns = now_ns();
    progress_ = true;
    if (e.predicted) {
        std::erase(unresolved_, e.seq);
        if (actual != e.next_pc) {
            ++m_.engine_stats_.mispredictions;
            squash_after(e.seq);
            fetch_pc_ = actual;
            fetch_stopped_ = false;
            fetch_branch_ = kNone;
        }
    } else if (fetch_branch_ == e.seq) {
        fetch_branch_ = kNone;
        fetch_pc_ = actual;
    } else {
        fetch_pc_ = actual;  // resolved at issue
    }
    e.next_pc = actual;
}

void ReorderEngine::complete(Entry& e) {
    const VectorOpResult res = m_.backend_->wait(e.ticket);
    const std::uint64_t end = now_ns();
    e.end_ns = end;
    if (e.info->int_dst >= 0) e.ivalue = res.int_value;
    if (e.info->float_dst >= 0) e.fvalue = res.float_value;
    e.state = State::Done;
    e.region_done = true;
    if (InsnRecord* r = record(e)) r->exec_end_ns = end;
    wake_ = true;
    progress_ = true;
}

// Nothing could move: block on a long op in flight. Backends run older work
// first (the CPU pool's threads take the oldest job, a GPU queue runs in
// order), so the engine waits on the youngest op, whose work is the least
// likely to have started: CpuBackend::wait runs an unstarted ticket on the
// waiting thread instead of idling. Ops behind two or more unresolved
// predictions are likely wrong-path work: those are waited on only when
// nothing else is in flight.
void ReorderEngine::wait_in_flight() {
    Entry* chosen = nullptr;
    Entry* fallback = nullptr;
    std::size_t unresolved = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        Entry& e = rob_[(head_ + i) % capacity_];
        if (e.state == State::InFlight) {
            if (unresolved <= 1) chosen = &e;
            else if (fallback == nullptr) fallback = &e;
        }
        if (e.predicted && e.state == State::Waiting) ++unresolved;
    }
    if (chosen == nullptr) chosen = fallback;
    if (chosen == nullptr) return;
    ++m_.engine_stats_.stall_waits;
    complete(*chosen);
}

// One pass over the waiting entries, oldest first, so that a producer that
// executes here wakes its consumers in the same pass.
void ReorderEngine::scan() {
    bool older_unsafe = false, older_traps = false;
    std::size_t unresolved = 0;  // predicted branches older than the entry
    std::uint16_t frame_limit = std::numeric_limits<std::uint16_t>::max();
    if (mode_ == ExecMode::Frames)
        for (std::size_t i = 0; i < count_; ++i) {
            const Entry& e = rob_[(head_ + i) % capacity_];
            if (e.state != State::Done) frame_limit = std::min(frame_limit, e.info->frame);
        }
    for (std::size_t i = 0; i < count_ && waiting_ > 0; ++i) {
        Entry& e = rob_[(head_ + i) % capacity_];
        // A vector op or kernel starts at most one prediction deep: deeper
        // ones are likely wrong-path work that would hold up the backend.
        const bool too_deep = e.info->kind == Kind::Long && unresolved > 1;
        if (e.state == State::Waiting && !too_deep && (i == 0 || e.info->frame <= frame_limit)) {
            const std::uint64_t seq = e.seq;
            try_execute(e, older_unsafe, older_traps);
            if (!in_rob(seq)) break;  // cannot happen: only younger entries are squashed
        }
        const PcInfo& p = *e.info;
        if (e.traps) older_traps = true;
        if (e.predicted && e.state == State::Waiting) older_unsafe = true, ++unresolved;
        if (p.may_trap && (p.kind == Kind::AtCommit || e.state == State::Waiting)) older_unsafe = true;
        if (e.traps) older_unsafe = true;
    }
}

void ReorderEngine::finish_trap(const Entry& e, Trap trap) {
    squash_after(e.seq);
    m_.backend_->wait_all();
    m_.call_depth_ = e.call_depth_at_issue;
    m_.pc_ = e.pc;
    m_.steps_ = committed_;
    trap.pc = e.pc;
    result_ = RunResult{RunStatus::Trapped, std::move(trap), committed_};
}

bool ReorderEngine::commit(Entry& e) {
    ++committed_;
    const DecodedInsn& d = *e.d;
    const PcInfo& p = *e.info;
    m_.pc_ = e.pc;
    // The step budget is checked where the interpreter checks it: at jumps, branches and calls.
    if ((p.kind == Kind::Branch || p.kind == Kind::Jump || p.kind == Kind::Call) && m_.options_.max_steps != 0 &&
        committed_ > m_.options_.max_steps) {
        finish_trap(e, m_.make_trap(TrapKind::StepLimit, d));
        return true;
    }
    if (e.traps) {
        // Built by the same code as in order, on the same committed state.
        Trap t;
        if (p.kind == Kind::Long) {
            const bool ok = d.op == Op::Launch ? m_.launch(d) : m_.vector_op(d);
            t = ok ? m_.make_trap(TrapKind::Unsupported, d) : m_.trap_;
        } else {
            t = m_.make_trap(e.trap_kind, d);
        }
        finish_trap(e, std::move(t));
        return true;
    }
    auto& regs = m_.regs_;
    auto trap_at_commit = [&](TrapKind kind) {
        finish_trap(e, m_.make_trap(kind, d));
        return true;
    };
    auto slow_path_trap = [&]() {
        finish_trap(e, m_.trap_);
        return true;
    };
    OutputBuffer& out = m_.out_;
    switch (p.kind) {
    case Kind::Halt: {
        squash_after(e.seq);
        emit(RobEvent::Kind::Commit, e.seq, e.pc);
        m_.backend_->wait_all();
        m_.steps_ = committed_;
        result_ = RunResult{RunStatus::Halted, std::nullopt, committed_};
        return true;
    }
    case Kind::Ret:
        if (e.call_depth_at_issue == 0) {
            emit(RobEvent::Kind::Commit, e.seq, e.pc);
            m_.backend_->wait_all();
            m_.steps_ = committed_;
            result_ = RunResult{RunStatus::Halted, std::nullopt, committed_};
            return true;
        }
        break;
    case Kind::Long:
        if (d.op == Op::Launch) ++m_.kernels_launched_;
        break;
    case Kind::AtCommit: {
        const auto idx = static_cast<std::uint64_t>(regs.r[d.b]);
        auto in_bounds = [&] { return idx < d.region->length; };
        switch (d.op) {
        case Op::StU8: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<std::uint8_t>()[idx] = static_cast<std::uint8_t>(regs.r[d.a]); break;
        case Op::StI32: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<std::int32_t>()[idx] = static_cast<std::int32_t>(regs.r[d.a]); break;
        case Op::StU32: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<std::uint32_t>()[idx] = static_cast<std::uint32_t>(regs.r[d.a]); break;
        case Op::StI64: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<std::int64_t>()[idx] = regs.r[d.a]; break;
        case Op::StF32: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<float>()[idx] = static_cast<float>(regs.f[d.a]); break;
        case Op::StF64: if (!in_bounds()) return trap_at_commit(TrapKind::OutOfBounds); d.region->as<double>()[idx] = regs.f[d.a]; break;
        case Op::Print: out.write_int(regs.r[d.a]); break;
        case Op::Printu: out.write_uint(static_cast<std::uint64_t>(regs.r[d.a])); break;
        case Op::Printf: out.write_double(regs.f[d.a]); break;
        case Op::Printc: out.put(static_cast<char>(regs.r[d.a] & 0xff)); break;
        case Op::Prints: out.write(*d.string); break;
        case Op::Println: out.put('\n'); break;
        case Op::Printr: if (!m_.print_region(d)) return slow_path_trap(); break;
        case Op::Push:
        case Op::Pushf:
            if (m_.value_depth_ == m_.value_stack_.size()) return trap_at_commit(TrapKind::StackOverflow);
            m_.value_stack_[m_.value_depth_++] =
                d.op == Op::Push ? static_cast<std::uint64_t>(regs.r[d.a]) : std::bit_cast<std::uint64_t>(regs.f[d.a]);
            break;
        case Op::Pop:
        case Op::Popf:
            if (m_.value_depth_ == 0) return trap_at_commit(TrapKind::StackUnderflow);
            --m_.value_depth_;
            if (d.op == Op::Pop) e.ivalue = static_cast<std::int64_t>(m_.value_stack_[m_.value_depth_]);
            else e.fvalue = std::bit_cast<double>(m_.value_stack_[m_.value_depth_]);
            break;
        case Op::Alloc: if (!m_.allocate(d)) return slow_path_trap(); break;
        case Op::Free: m_.regions_.release(*d.region); break;
        default: break;  // wait, fence: every older long op has committed, so finished
        }
        break;
    }
    default: break;
    }
    if (p.int_dst >= 0) {
        regs.r[p.int_dst] = e.ivalue;
        rename_.retire(RegKind::Int, static_cast<unsigned>(p.int_dst), e.seq);
    }
    if (p.float_dst >= 0) {
        regs.f[p.float_dst] = e.fvalue;
        rename_.retire(RegKind::Float, static_cast<unsigned>(p.float_dst), e.seq);
    }
    if (p.serialize) serializing_ = false;
    if (InsnRecord* r = record(e)) r->retire_ns = now_ns();
    emit(RobEvent::Kind::Commit, e.seq, e.pc);
    e.backups.clear();
    head_ = (head_ + 1) % capacity_;
    --count_;
    ++head_seq_;
    wake_ = true;
    return false;
}

// Removes every entry younger than `seq`, youngest first: in-flight work is
// waited for (no backend can recall a submitted op) and its region writes
// undone from the backups.
void ReorderEngine::squash_after(std::uint64_t seq) {
    if (count_ > 0 && head_seq_ + count_ - 1 > seq) emit(RobEvent::Kind::Squash, seq + 1, 0, head_seq_ + count_ - 1);
    while (count_ > 0 && head_seq_ + count_ - 1 > seq) {
        Entry& e = rob_[(head_ + count_ - 1) % capacity_];
        if (e.state == State::InFlight) {
            m_.backend_->wait(e.ticket);
            m_.engine_stats_.squashed_long_ns += now_ns() - e.start_ns;
        } else if (e.info->kind == Kind::Long && e.state == State::Done && e.start_ns != 0) {
            m_.engine_stats_.squashed_long_ns += e.end_ns - e.start_ns;
        }
        for (auto b = e.backups.rbegin(); b != e.backups.rend(); ++b)
            if (!b->bytes.empty()) std::memcpy(b->region->data, b->bytes.data(), b->bytes.size());
        e.backups.clear();
        if (e.state == State::Waiting) --waiting_;
        if (e.info->kind == Kind::Call || e.info->kind == Kind::Ret) m_.call_depth_ = e.call_depth_at_issue;
        if (e.info->serialize) serializing_ = false;
        if (InsnRecord* r = record(e)) {
            r->squashed = true;
            r->retire_ns = now_ns();
        }
        ++m_.engine_stats_.squashed;
        --count_;
    }
    rebuild();
}

// Rollback: the rename map, the region scoreboard and the sync chain are
// rebuilt from the entries that are left, in program order.
void ReorderEngine::rebuild() {
    rename_.clear();
    for (RegionUse& u : scoreboard_) {
        u.last_writer = kNone;
        u.readers.clear();
    }
    last_sync_ = kNone;
    std::erase_if(unresolved_, [&](std::uint64_t s) { return !in_rob(s); });
    if (fetch_branch_ != kNone && !in_rob(fetch_branch_)) fetch_branch_ = kNone;
    for (std::size_t i = 0; i < count_; ++i) {
        Entry& e = rob_[(head_ + i) % capacity_];
        const PcInfo& p = *e.info;
        for (std::uint32_t g : p.region_reads) scoreboard_[g].readers.push_back(e.seq);
        for (std::uint32_t g : p.region_writes) {
            scoreboard_[g].last_writer = e.seq;
            scoreboard_[g].readers.clear();
        }
        if (p.sync) last_sync_ = e.seq;
        if (p.int_dst >= 0) rename_.define(RegKind::Int, static_cast<unsigned>(p.int_dst), e.seq);
        if (p.float_dst >= 0) rename_.define(RegKind::Float, static_cast<unsigned>(p.float_dst), e.seq);
    }
    wake_ = true;
}

void ReorderEngine::begin(std::uint32_t start_pc) {
    fetch_pc_ = start_pc;
    m_.engine_stats_ = EngineStats{};
}

RunResult ReorderEngine::loop() {
    EngineStats& stats = m_.engine_stats_;
    if (paused_) m_.call_depth_ = issue_depth_;
    paused_ = false;
    // With the ROB empty (nothing in flight) the interpreter runs the scalar
    // code up to the next long op: same semantics, tens of times faster than
    // the engine's per-instruction bookkeeping. Not in frames mode (the frame
    // schedule is the point) nor while recording a trace (it would have gaps).
    const bool interpret_scalar = mode_ != ExecMode::Frames && log_ == nullptr && m_.options_.interpret_when_idle;
    PauseAtLongOps pause(m_.code_);
    for (;;) {
        if (interpret_scalar && count_ == 0 && fetch_branch_ == kNone && !fetch_stopped_ &&
            !has_effect(code_[fetch_pc_].op, effect::Long)) {
            m_.pc_ = fetch_pc_;
            m_.steps_ = committed_;
            RunResult r = m_.resume(pause);
            stats.interpreted += r.steps - committed_;
            committed_ = r.steps;
            if (r.status != RunStatus::Paused) {
                stats.committed = committed_;
                return r;
            }
            fetch_pc_ = m_.pc_;
        }
        progress_ = false;
        ++stats.cycles;
        for (unsigned k = 0; k < kWidth && count_ > 0 && head().state == State::Done; ++k) {
            if (observer_ != nullptr && observer_->hold_commits()) break;  // a debugger's step or breakpoint is reached
            if (commit(head())) {
                stats.committed = committed_;
                return result_;
            }
            progress_ = true;
        }
        if (waiting_ > 0 && wake_) {
            wake_ = false;
            scan();
        }
        const unsigned width = mode_ == ExecMode::Frames ? capacity_ : kWidth;
        for (unsigned k = 0; k < width; ++k) {
            if (!issue_one()) break;
            progress_ = true;
            if (mode_ == ExecMode::Frames && info_[fetch_pc_].block_start) break;  // set for every word by analyse()
        }
        stats.committed = committed_;
        stats.occupancy_sum += count_;
        stats.occupancy_max = std::max<std::uint64_t>(stats.occupancy_max, count_);
        if (!progress_) {
            const std::uint64_t before = stats.stall_waits;
            wait_in_flight();
            if (stats.stall_waits == before && !wake_) {
                // Cannot happen (the head can always go); fail loudly rather than hang.
                Trap t{TrapKind::Unsupported, count_ > 0 ? head().pc : fetch_pc_, "internal: the reorder engine stalled"};
                m_.backend_->wait_all();
                return RunResult{RunStatus::Trapped, t, committed_};
            }
            wake_ = true;
        }
        if (observer_ != nullptr && observer_->after_cycle()) {
            // Paused: the machine shows the committed position. Calls and
            // returns move the depth at issue, so the issue-time depth is kept
            // aside until the run goes on.
            m_.pc_ = count_ > 0 ? head().pc : fetch_pc_;  // the next instruction to commit
            m_.steps_ = committed_;
            issue_depth_ = m_.call_depth_;
            if (count_ > 0) m_.call_depth_ = head().call_depth_at_issue;
            paused_ = true;
            return RunResult{RunStatus::Paused, std::nullopt, committed_};
        }
    }
}

std::vector<RobEntryView> ReorderEngine::entries() {
    std::vector<RobEntryView> out;
    for (std::size_t i = 0; i < count_; ++i) {
        Entry& e = rob_[(head_ + i) % capacity_];
        RobEntryView v;
        v.seq = e.seq;
        v.pc = e.pc;
        v.state = e.state == State::Waiting ? RobState::Issued : e.state == State::InFlight ? RobState::Executing : RobState::Done;
        v.on_backend = e.state == State::InFlight;
        v.predicted = e.predicted && e.state == State::Waiting;
        v.operands_ready = e.state != State::Waiting || operands_ready(e);
        for (std::uint64_t dep : e.region_deps)
            if (e.state == State::Waiting && in_rob(dep) && !at(dep).region_done) v.operands_ready = false;
        out.push_back(v);
    }
    return out;
}

}  // namespace polymer::ooo

namespace polymer::ooo {

RunResult ReorderEngine::start(Machine& m, std::uint32_t start_pc) {
    ReorderEngine engine(m, m.options_.exec);
    return engine.run(start_pc);
}

RunResult run_reorder_engine(Machine& m, std::uint32_t start_pc) { return ReorderEngine::start(m, start_pc); }

ReorderSession::ReorderSession(Machine& m, std::uint32_t start_pc)
    : engine_(std::make_unique<ReorderEngine>(m, m.options_.exec)) {
    engine_->begin(start_pc);
}

ReorderSession::~ReorderSession() { engine_->drain(); }

RunResult ReorderSession::run(CycleObserver& observer) {
    engine_->set_observer(&observer);
    RunResult r = engine_->loop();
    engine_->set_observer(nullptr);
    return r;
}

std::vector<RobEntryView> ReorderSession::entries() { return engine_->entries(); }

}  // namespace polymer::ooo
