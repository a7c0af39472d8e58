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
#include "vm/interpreter.h"
#include "vm/interrupt.h"
#include "vm/machine_context.h"
#include "vm/ooo/branch_predictor.h"
#include "vm/ooo/op_timing.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/ooo/rename_map.h"

namespace polymer::ooo {
namespace {

constexpr std::uint64_t kNone = ~std::uint64_t{0};
constexpr unsigned kWidth = 4;  // instructions issued and committed per cycle
constexpr std::uint64_t kTimeSlice = std::uint64_t{1} << 20;  // commits before another procedure's turn, as in order

struct PcInfo {
    bool analysed = false;
    Timing timing = Timing::AtCommit;
    bool may_trap = false;
    bool sync = false;         // wait / fence
    bool serialize = false;    // alloc / free: the ROB drains around them
    std::int8_t int_dst = -1, float_dst = -1;
    // More registers written (readi's second, kloop's induction and
    // reductions): at-commit ops only, whose bodies write them (op_timing.h).
    std::vector<std::uint8_t> more_int_dsts, more_float_dsts;
    std::vector<std::uint8_t> int_srcs, float_srcs;
    std::vector<std::uint32_t> region_reads, region_writes;  // static regions
    // Handle operands `@rN`: their regions are found at issue (Entry::handle_reads/writes).
    struct HandleUse {
        std::uint8_t reg;
        bool read, write;
    };
    std::vector<HandleUse> handle_uses;
    std::uint16_t frame = 0;        // frames mode
    bool block_start = false;
    std::uint16_t block_frames = 1;  // frames in the block starting here
};

// The context of an instruction that executes before it commits (Early,
// Branch and Long timings): operands are the entry's renamed values, a
// result is kept for the entry (written to the machine at commit), a branch
// outcome steers fetch, and a long op is only marked: the engine starts it.
struct EarlyContext {
    const RegisterFile& operands;
    RegionStore& store;  // where a handle operand's region is looked up
    Backend& backend;    // bring_home for a load inside a residency fence
    std::int64_t ivalue = 0;
    double fvalue = 0;
    bool taken = false;
    bool starts_long_op = false;
    TrapKind trap_kind = TrapKind::Unsupported;

    std::int64_t r(unsigned i) const { return operands.r[i]; }
    double f(unsigned i) const { return operands.f[i]; }
    Flow set_r(unsigned, std::int64_t v) { return ivalue = v, Flow::Next; }
    Flow set_f(unsigned, double v) { return fvalue = v, Flow::Next; }
    Flow branch(bool t) { return taken = t, t ? Flow::Taken : Flow::Next; }
    Flow trap(TrapKind kind) { return trap_kind = kind, Flow::Trap; }
    RegionStore& regions() const { return store; }
    // Only loads run here (stores run at commit, on the machine): a
    // speculative one may bring values home, which changes no value.
    void bring_home(Region& g, std::uint64_t begin, std::uint64_t end, HomeAccess access) {
        backend.bring_home(g, begin, end, access);
    }
    Flow vector_op(const DecodedInsn&) { return starts_long_op = true, Flow::Next; }
    Flow launch(const DecodedInsn&) { return starts_long_op = true, Flow::Next; }
};

// The bodies each context runs, indexed by opcode number. An opcode's
// timing (op_timing.h) decides which table holds its body; the other entry
// is never called.
template <Op O>
Flow early_body(EarlyContext& x, const DecodedInsn& d) {
    constexpr Timing t = timing_of(O);
    if constexpr (t == Timing::Early || t == Timing::Branch || t == Timing::Long) return execute<O>(x, d);
    else return Flow::Next;
}

template <Op O, bool kObserved>
Flow machine_body(MachineContext<kObserved>& x, const DecodedInsn& d) {
    constexpr Timing t = timing_of(O);
    if constexpr (t == Timing::AtIssue || t == Timing::AtCommit) return execute<O>(x, d);
    else return Flow::Next;
}

using EarlyBody = Flow (*)(EarlyContext&, const DecodedInsn&);
template <bool kObserved>
using MachineBody = Flow (*)(MachineContext<kObserved>&, const DecodedInsn&);

constexpr std::array<EarlyBody, 256> kEarlyBodies = [] {
    std::array<EarlyBody, 256> t{};
#define OP(name, ...) t[static_cast<std::uint8_t>(Op::name)] = &early_body<Op::name>;
#include "isa/opcodes.def"
#undef OP
    return t;
}();

template <bool kObserved>
constexpr std::array<MachineBody<kObserved>, 256> kMachineBodies = [] {
    std::array<MachineBody<kObserved>, 256> t{};
#define OP(name, ...) t[static_cast<std::uint8_t>(Op::name)] = &machine_body<Op::name, kObserved>;
#include "isa/opcodes.def"
#undef OP
    return t;
}();

}  // namespace

class ReorderEngine {
public:
    ReorderEngine(Machine& m, ExecMode mode)
        : m_(m), mode_(mode), code_(m.code().data()), log_(m.options().pipeline_log) {
        analyse();
        capacity_ = mode_ == ExecMode::Frames ? max_block_ + 1 : std::max<std::uint32_t>(1, m.options().rob_size);
        // The teaching views (--trace, --pipeview) want every instruction in the ROB.
        hand_off_ = log_ == nullptr && m.options().interpret_when_idle;
        rob_.resize(capacity_);
        scoreboard_.resize(m.regions().size());
        start_ = Clock::now();
        // One time base for every recorder (the cluster's chunk runs, the
        // other procedures' engines): the first engine of the run sets it.
        if (log_ != nullptr) {
            if (!log_->origin_set) log_->origin = start_, log_->origin_set = true;
            start_ = log_->origin;
        }
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
    // The debugger's undo log and watchpoints: sees every committed change.
    void set_state_observer(StateObserver* o) { state_observer_ = o; }
    void flush();
    std::vector<std::uint32_t> committed_call_stack() const;
    void drain() { m_.backend().wait_all(); }  // no submitted op may outlive the engine
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
        // The regions its handle operands named at issue (none for a bad handle: it traps).
        std::vector<std::uint32_t> handle_reads, handle_writes;
        std::uint64_t sync_dep = kNone;  // long ops: start after this wait/fence commits
        std::int64_t ivalue = 0;
        double fvalue = 0;
        // control
        bool predicted = false;
        bool ends_run = false;  // halt, or ret from the entry procedure
        std::uint32_t next_pc = 0;
        // traps found at execute, reported at commit
        bool traps = false;
        TrapKind trap_kind = TrapKind::Unsupported;
        std::size_t call_depth_at_issue = 0;
        const DecodedInsn* call_slot_before = nullptr;  // a call's slot as it was, for squash
        // long ops
        Ticket ticket = 0;
        KernelFault fault;  // a launch's, raised as its trap at commit
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
    Entry& at(std::uint64_t seq) { return rob_[(head_ + (seq - head_seq_)) % capacity_]; }
    Entry& head() { return rob_[head_]; }
    bool in_rob(std::uint64_t seq) const { return seq != kNone && seq >= head_seq_ && seq < head_seq_ + count_; }

    // --- the stages ---
    bool issue_one();
    bool resolve_handles(const PcInfo& p, Entry& e);
    void link(Entry& e);
    template <class F>
    static void each_region(const Entry& e, F f) {  // f(region, read, write), static regions then handles'
        for (std::uint32_t g : e.info->region_reads) f(g, true, false);
        for (std::uint32_t g : e.info->region_writes) f(g, false, true);
        for (std::uint32_t g : e.handle_reads) f(g, true, false);
        for (std::uint32_t g : e.handle_writes) f(g, false, true);
    }
    bool operands_ready(Entry& e);
    bool try_execute(Entry& e, bool older_unsafe, bool older_traps);
    bool start_long(Entry& e, bool older_unsafe);
    // Runs an at-issue or at-commit body on the machine itself (calls,
    // returns, stores, output, the value stack, alloc/free). A trap it
    // raises is left in trap_.
    template <bool kObserved>
    Flow run_on_machine(Entry& e, StateObserver* observer);
    Flow run_on_machine(Entry& e) {
        return state_observer_ != nullptr ? run_on_machine<true>(e, state_observer_) : run_on_machine<false>(e, nullptr);
    }
    void scan();
    void resolve_branch(Entry& e, bool taken);
    void complete(Entry& e);
    void wait_in_flight();
    // Returns true when the run ends (halt or trap); result_ is then set.
    bool commit(Entry& e);
    void squash_after(std::uint64_t seq) { squash_from(seq + 1); }
    // The entry becomes the newest producer of every register it writes.
    void define_dsts(const PcInfo& p, std::uint64_t seq) {
        if (p.int_dst >= 0) rename_.define(RegKind::Int, static_cast<unsigned>(p.int_dst), seq);
        if (p.float_dst >= 0) rename_.define(RegKind::Float, static_cast<unsigned>(p.float_dst), seq);
        for (std::uint8_t r : p.more_int_dsts) rename_.define(RegKind::Int, r, seq);
        for (std::uint8_t r : p.more_float_dsts) rename_.define(RegKind::Float, r, seq);
    }
    void squash_from(std::uint64_t first);
    void rebuild();
    void finish_trap(const Entry& e, Trap trap);
    // Asks the debugger before a commit, showing it the committed position.
    bool hold_commits();
    void show_committed_position();

    std::uint64_t now_ns() const {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count());
    }
    InsnRecord* record(const Entry& e) {
        return log_ != nullptr && e.record != Entry::kNoRecord ? &log_->records[e.record] : nullptr;
    }
    std::uint32_t track_of(const VectorOpArgs* v, const KernelLaunch* l);
    // kloop ran its loop's kernel at this commit: the trace shows it on its
    // backend track like a launch.
    void record_loop_launch(const Entry& e) {
        std::optional<LoopLaunchSpan> span = m_.take_loop_launch();
        InsnRecord* r = record(e);
        if (!span || r == nullptr) return;
        auto ns = [&](Clock::time_point t) {
            return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count());
        };
        r->long_op = true;
        r->exec_start_ns = ns(span->start);
        r->exec_end_ns = ns(span->end);
        r->track = track_of(nullptr, &span->launch);
    }

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
    RegisterFile scratch_;  // an entry's renamed operand values, at their architectural indices
    std::size_t long_pending_ = 0;  // vector ops and launches issued and not yet finished
    std::uint64_t slice_start_ = 0;  // committed_ when this call of loop() began (time slices)
    bool hand_off_ = false;        // run scalar stretches on the interpreter (MachineOptions::interpret_when_idle)
    static constexpr std::uint32_t kNoPc = ~0u;
    std::uint32_t handed_back_ = kNoPc;  // the long op the interpreter stopped at: issued even at a loop of launches
    RunResult result_;
    CycleObserver* observer_ = nullptr;  // the debugger's; plain runs pay one test per event
    StateObserver* state_observer_ = nullptr;
    Trap trap_;  // raised by a body run on the machine
    bool paused_ = false;
    std::size_t issue_depth_ = 0;  // while paused: the call depth as issue left it
    void emit(RobEvent::Kind k, std::uint64_t seq, std::uint32_t pc, std::uint64_t last = 0) {
        if (observer_ != nullptr) observer_->event(RobEvent{k, m_.engine_stats().cycles, seq, last, pc});
    }
};

void ReorderEngine::analyse_word(std::uint32_t pc, PcInfo& p) {
    const Module& mod = m_.module();
    p.analysed = true;
    {
        const Op op = code_[pc].op;
        p.timing = timing_of(op);
        p.sync = has_effect(op, effect::Sync);
        p.serialize = has_effect(op, effect::Alloc);
        if (pc >= mod.code.size()) return;  // the trailing halt uses nothing
        p.may_trap = may_trap(mod, mod.code[pc]);
        // The read/write sets come from the frame analysis (the opcode table).
        for (const ResourceUse& u : resource_uses(mod, mod.code[pc])) {
            const auto idx = u.resource.index;
            switch (u.resource.kind) {
            case Resource::Kind::IntReg:
                if (u.read) p.int_srcs.push_back(static_cast<std::uint8_t>(idx));
                if (u.write && p.int_dst < 0) p.int_dst = static_cast<std::int8_t>(idx);
                else if (u.write) p.more_int_dsts.push_back(static_cast<std::uint8_t>(idx));
                break;
            case Resource::Kind::FloatReg:
                if (u.read) p.float_srcs.push_back(static_cast<std::uint8_t>(idx));
                if (u.write && p.float_dst < 0) p.float_dst = static_cast<std::int8_t>(idx);
                else if (u.write) p.more_float_dsts.push_back(static_cast<std::uint8_t>(idx));
                break;
            case Resource::Kind::Region:
                if (u.read) p.region_reads.push_back(idx);
                if (u.write) p.region_writes.push_back(idx);
                break;
            case Resource::Kind::Handle:
                p.handle_uses.push_back({static_cast<std::uint8_t>(idx), u.read, u.write});
                break;
            default: break;  // stack, output, traps, long-op order: kept by in-order commit and sync_dep
            }
        }
    }
}

// Every word gets a PcInfo (filled on first use); frames mode also reads the
// frame table: the module's own (verified on load), else computed here.
void ReorderEngine::analyse() {
    const Module& mod = m_.module();
    const std::size_t n = m_.code().size();  // the module's words plus the decoder's trailing halt
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
    std::string name = m_.options().backend_track ? m_.options().backend_track(v, l) : std::string(m_.backend().name());
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
    if (p.timing != Timing::AtCommit) {  // at commit everything older has committed: read the machine
        for (std::uint8_t r : p.int_srcs) e.srcs.push_back({RegKind::Int, r, rename_.producer(RegKind::Int, r)});
        for (std::uint8_t r : p.float_srcs) e.srcs.push_back({RegKind::Float, r, rename_.producer(RegKind::Float, r)});
    }
    each_region(e, [&](std::uint32_t g, bool, bool write) {
        RegionUse& u = scoreboard_[g];
        if (in_rob(u.last_writer)) e.region_deps.push_back(u.last_writer);
        if (write)
            for (std::uint64_t r : u.readers)
                if (in_rob(r) && r != e.seq) e.region_deps.push_back(r);
    });
    each_region(e, [&](std::uint32_t g, bool read, bool) {
        if (!read) return;
        RegionUse& u = scoreboard_[g];
        std::erase_if(u.readers, [&](std::uint64_t s) { return !in_rob(s); });
        u.readers.push_back(e.seq);
    });
    each_region(e, [&](std::uint32_t g, bool, bool write) {
        if (!write) return;
        scoreboard_[g].last_writer = e.seq;
        scoreboard_[g].readers.clear();
    });
    if (p.timing == Timing::Long && in_rob(last_sync_)) e.sync_dep = last_sync_;
    if (p.sync) last_sync_ = e.seq;
    define_dsts(p, e.seq);
}

bool ReorderEngine::issue_one() {
    if (fetch_stopped_ || fetch_branch_ != kNone || serializing_ || count_ == capacity_) return false;
    const std::uint32_t pc = fetch_pc_;
    const PcInfo& p = info(pc);
    const DecodedInsn* d = code_ + pc;
    if (mode_ == ExecMode::Frames && p.block_start && count_ != 0) return false;  // the previous block first
    if (p.serialize && count_ != 0) return false;
    // With no long op left in the ROB there is nothing to overlap: let it
    // drain, and the interpreter takes the scalar code from there (loop()).
    if (hand_off_ && long_pending_ == 0 && unresolved_.empty() && p.timing != Timing::Long) return false;
    // A loop of launches runs as rounds on the interpreter (vm/launch_rounds.h),
    // all of it at once: it waits here for the ROB to drain, as a sync op
    // would, and loop() hands it over; the engine issues it only when the
    // interpreter gave it back (fewer than two rounds to run).
    if (hand_off_ && d->op == Op::Launch && pc != handed_back_ && m_.launch_loop_at(pc) != nullptr) return false;

    Entry& e = rob_[(head_ + count_) % capacity_];
    if (!resolve_handles(p, e)) return false;  // a handle's value is not there yet: issue waits for it
    handed_back_ = kNoPc;
    ++count_;
    e.seq = head_seq_ + count_ - 1;
    e.pc = pc;
    e.d = d;
    e.info = &p;
    e.state = State::Waiting;
    e.region_done = false;
    e.predicted = false;
    e.ends_run = false;
    e.traps = false;
    e.fault = {};
    e.backups.clear();
    e.call_depth_at_issue = m_.state().call_depth;
    e.next_pc = pc + 1;
    e.record = Entry::kNoRecord;
    e.start_ns = e.end_ns = 0;
    link(e);
    if (p.serialize) serializing_ = true;
    if (p.timing == Timing::Long) ++long_pending_;
    if (mode_ == ExecMode::Frames && p.block_start) m_.engine_stats().frames += p.block_frames;

    const bool speculative = !unresolved_.empty();
    if (log_ != nullptr) {
        if (log_->records.size() < log_->limit) {
            e.record = log_->records.size();
            InsnRecord r;
            r.seq = log_->next_seq;
            r.procedure = log_->procedure;
            r.pc = pc;
            r.op = d->op;
            r.issue_ns = now_ns();
            r.speculative = speculative;
            r.long_op = p.timing == Timing::Long;
            for (const Src& s : e.srcs)
                if (in_rob(s.producer)) r.deps.push_back(at(s.producer).record);
            for (std::uint64_t s : e.region_deps) r.deps.push_back(at(s).record);
            std::erase(r.deps, Entry::kNoRecord);
            log_->records.push_back(std::move(r));
        } else {
            log_->truncated = true;
        }
    }
    if (log_ != nullptr) ++log_->next_seq;

    switch (p.timing) {
    case Timing::AtIssue:
        // jmp, call, ret, halt: their bodies steer fetch and move the call
        // stack now; a trapping call is reported when it commits.
        e.state = State::Done;
        e.region_done = true;
        m_.state().pc = pc;
        if (e.call_depth_at_issue < m_.state().call_stack.size())
            e.call_slot_before = m_.state().call_stack[e.call_depth_at_issue];
        switch (run_on_machine<false>(e, nullptr)) {  // the call stack is undone by squash, not observed
        case Flow::Taken: e.next_pc = static_cast<std::uint32_t>(d->imm); break;
        case Flow::Return: break;  // run_on_machine set next_pc to the return address
        case Flow::Trap: e.traps = true, e.trap_kind = trap_.kind; fetch_stopped_ = true; break;
        case Flow::Halt: fetch_stopped_ = true, e.ends_run = true; break;
        case Flow::Next:
        case Flow::Yield:
        case Flow::Block: break;  // only long ops and procedure ops, which never run here
        }
        break;
    case Timing::AtCommit: e.state = State::Done; break;
    case Timing::Branch:
        if (mode_ != ExecMode::Frames && operands_ready(e)) {
            ++waiting_;
            try_execute(e, true, false);
        } else if (mode_ == ExecMode::Spec) {
            e.predicted = true;
            ++m_.engine_stats().predictions;
            e.next_pc = predictor_.predict(pc, static_cast<std::uint32_t>(d->imm)) ? static_cast<std::uint32_t>(d->imm)
                                                                                   : pc + 1;
            unresolved_.push_back(e.seq);
            ++waiting_;
        } else {
            fetch_branch_ = e.seq;
            ++waiting_;
        }
        break;
    case Timing::Early:
        // Execute at once when the operands are there (not in frames mode,
        // where the frame decides), else wait for them.
        ++waiting_;
        if (mode_ != ExecMode::Frames) try_execute(e, true, false);
        break;
    case Timing::Long:
        // The scan knows whether older entries are safe; with none, start it now.
        ++waiting_;
        if (mode_ != ExecMode::Frames && count_ == 1) try_execute(e, false, false);
        break;
    }
    if (e.state == State::Waiting) wake_ = true;
    if (!fetch_stopped_ && fetch_branch_ == kNone) fetch_pc_ = e.next_pc;
    emit(RobEvent::Kind::Issue, e.seq, pc);
    // frames: issue stops at the end of the block (the next word starts one).
    return true;
}

// The regions of the handle operands of the instruction about to issue, from
// the handle registers' values now: committed, or their producer's result.
// False when a producer has no result yet (issue waits; the producer is
// older, so it gets there). A value that is no region handle gives no
// region: the instruction traps `bad-handle` when it executes.
bool ReorderEngine::resolve_handles(const PcInfo& p, Entry& e) {
    e.handle_reads.clear();
    e.handle_writes.clear();
    for (const PcInfo::HandleUse& h : p.handle_uses) {
        const std::uint64_t producer = rename_.producer(RegKind::Int, h.reg);
        std::int64_t value = 0;
        if (producer == RenameMap::kCommitted || !in_rob(producer)) {
            value = m_.state().regs.r[h.reg];
        } else {
            const Entry& q = at(producer);
            if (q.state != State::Done || q.info->timing == Timing::AtCommit) return false;
            value = q.ivalue;
        }
        const Region* g = m_.regions().by_handle(value);
        if (g == nullptr) continue;
        if (h.read) e.handle_reads.push_back(m_.regions().index_of(*g));
        if (h.write) e.handle_writes.push_back(m_.regions().index_of(*g));
    }
    return true;
}

// Fills scratch_ with the entry's operand values; false when one is not ready.
bool ReorderEngine::operands_ready(Entry& e) {
    for (const Src& s : e.srcs) {
        std::int64_t iv = 0;
        double fv = 0;
        if (s.producer == RenameMap::kCommitted || s.producer < head_seq_) {
            iv = m_.state().regs.r[s.reg];
            fv = m_.state().regs.f[s.reg];
        } else {
            const Entry& p = at(s.producer);
            // An at-commit producer (pop, popf) has its value only once it commits.
            if (p.state != State::Done || p.info->timing == Timing::AtCommit) return false;
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
    if (p.timing == Timing::Long && older_traps) return false;  // it will be squashed
    if (!operands_ready(e)) return false;
    if (InsnRecord* r = record(e)) r->exec_start_ns = r->exec_end_ns = now_ns();
    EarlyContext x{scratch_, m_.regions(), m_.backend()};
    const Flow flow = kEarlyBodies[static_cast<std::uint8_t>(e.d->op)](x, *e.d);
    progress_ = true;
    --waiting_;
    if (flow == Flow::Trap) {
        e.traps = true;
        e.trap_kind = x.trap_kind;
    } else if (x.starts_long_op) {
        if (start_long(e, older_unsafe)) return true;  // in flight: complete() finishes it
        --long_pending_;
    } else {
        e.ivalue = x.ivalue;
        e.fvalue = x.fvalue;
    }
    e.state = State::Done;
    e.region_done = true;
    if (p.timing == Timing::Branch && !e.traps) resolve_branch(e, x.taken);
    return true;
}

// Checks a vector op's or launch's operands on the renamed values and hands
// it to the backend. False when it does not start: it traps (the exact trap
// is rebuilt at commit, on the committed state, by the in-order code) or has
// nothing to do (a launch over no lanes).
bool ReorderEngine::start_long(Entry& e, bool older_unsafe) {
    const DecodedInsn& d = *e.d;
    VectorOpArgs args;
    KernelLaunch launch;
    const bool is_launch = op_info(d.op).cls == OpClass::Kernel;
    if (is_launch ? !m_.launch_args(d, scratch_, launch, nullptr) : !m_.vector_args(d, scratch_, args, nullptr)) {
        e.traps = true;
        e.trap_kind = TrapKind::Unsupported;
        e.start_ns = 0;
        return false;
    }
    if (is_launch && launch.count == 0) return false;
    // Undo for speculation: what this op overwrites, while something older
    // may still be squashed; under the debugger always, for backstep.
    if (older_unsafe || state_observer_ != nullptr)
        each_region(e, [&](std::uint32_t g, bool, bool write) {
            if (!write) return;
            Region& region = m_.regions()[g];
            m_.bring_home(region, 0, region.length, HomeAccess::Read);  // the copy must hold current values
            Backup b{&region, std::vector<std::byte>(region.bytes())};
            if (region.bytes() != 0) std::memcpy(b.bytes.data(), region.data, region.bytes());
            e.backups.push_back(std::move(b));
        });
    e.start_ns = now_ns();
    Backend& backend = m_.backend();
    VectorOpResult result;
    // The teaching views (no hand-off) show every long op in flight.
    if (hand_off_ && (is_launch ? backend.run_inline(launch, result) : backend.run_inline(args, result))) {
        e.end_ns = now_ns();
        e.ivalue = result.int_value;
        e.fvalue = result.float_value;
        e.fault = result.fault;
        return false;  // done on the spot
    }
    e.ticket = is_launch ? backend.submit(launch) : backend.submit(args);
    e.state = State::InFlight;
    if (InsnRecord* r = record(e)) {
        r->exec_start_ns = e.start_ns;
        r->track = track_of(is_launch ? nullptr : &args, is_launch ? &launch : nullptr);
    }
    return true;
}

// A branch has executed: fetch goes on along the right path; a predicted
// one that was wrong squashes everything issued after it.
void ReorderEngine::resolve_branch(Entry& e, bool taken) {
    const auto target = static_cast<std::uint32_t>(e.d->imm);
    const std::uint32_t actual = taken ? target : e.pc + 1;
    if (mode_ == ExecMode::Spec) predictor_.update(e.pc, target, taken);
    if (e.predicted) {
        std::erase(unresolved_, e.seq);
        if (actual != e.next_pc) {
            ++m_.engine_stats().mispredictions;
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
    const VectorOpResult res = m_.backend().wait(e.ticket);
    const std::uint64_t end = now_ns();
    e.end_ns = end;
    if (e.info->int_dst >= 0) e.ivalue = res.int_value;
    if (e.info->float_dst >= 0) e.fvalue = res.float_value;
    e.fault = res.fault;
    e.state = State::Done;
    --long_pending_;
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
    ++m_.engine_stats().stall_waits;
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
        const bool too_deep = e.info->timing == Timing::Long && unresolved > 1;
        if (e.state == State::Waiting && !too_deep && (i == 0 || e.info->frame <= frame_limit)) {
            const std::uint64_t seq = e.seq;
            try_execute(e, older_unsafe, older_traps);
            if (!in_rob(seq)) break;  // cannot happen: only younger entries are squashed
        }
        const PcInfo& p = *e.info;
        if (e.traps) older_traps = true;
        if (e.predicted && e.state == State::Waiting) older_unsafe = true, ++unresolved;
        if (p.may_trap && (p.timing == Timing::AtCommit || e.state == State::Waiting)) older_unsafe = true;
        if (e.traps) older_unsafe = true;
    }
}

void ReorderEngine::finish_trap(const Entry& e, Trap trap) {
    squash_after(e.seq);
    if (InsnRecord* r = record(e)) r->retire_ns = now_ns();  // the run stops here, at its commit
    m_.backend().wait_all();
    MachineState& s = m_.state();
    s.call_depth = e.call_depth_at_issue;
    s.pc = e.pc;
    s.steps = committed_;
    trap.pc = e.pc;
    result_ = RunResult{RunStatus::Trapped, std::move(trap), committed_};
}

template <bool kObserved>
Flow ReorderEngine::run_on_machine(Entry& e, StateObserver* observer) {
    MachineState& s = m_.state();
    s.pc = e.pc;
    s.steps = committed_;
    MachineContext<kObserved> x(m_, observer);
    const Flow flow = kMachineBodies<kObserved>[static_cast<std::uint8_t>(e.d->op)](x, *e.d);
    if (flow == Flow::Trap) {
        trap_ = x.take_trap();
        return flow;
    }
    if (flow == Flow::Return) e.next_pc = static_cast<std::uint32_t>(x.ip - code_), x.ip = e.d;
    x.save();
    return flow;
}

bool ReorderEngine::commit(Entry& e) {
    ++committed_;
    const DecodedInsn& d = *e.d;
    const PcInfo& p = *e.info;
    MachineState& state = m_.state();
    state.pc = e.pc;
    // The step budget is checked where the interpreter checks it: at jumps, branches and calls.
    if (checks_step_limit(d.op) && m_.step_limit() != 0 && committed_ > m_.step_limit()) {
        finish_trap(e, m_.make_trap(TrapKind::StepLimit, d));
        return true;
    }
    if (checks_step_limit(d.op) && interrupt_requested()) {  // Ctrl-C (vm/interrupt.h)
        finish_trap(e, m_.make_trap(TrapKind::Interrupted, d));
        return true;
    }
    // Another procedure's turn (vm/procs/): its time slice is counted in
    // commits, checked where the interpreter checks it. The entry stays at
    // the head and commits when the procedure is resumed.
    if (checks_step_limit(d.op) && m_.time_sliced() && committed_ - slice_start_ > kTimeSlice) {
        --committed_;
        state.steps = committed_;
        result_ = RunResult{RunStatus::Paused, std::nullopt, committed_};
        return true;
    }
    if (e.traps) {
        // Built by the same code as in order, on the same committed state.
        Trap t = m_.make_trap(e.trap_kind, d);
        if (p.timing == Timing::Long) {
            VectorOpArgs args;
            KernelLaunch launch;
            if (op_info(d.op).cls == OpClass::Kernel) m_.launch_args(d, state.regs, launch, &t);
            else m_.vector_args(d, state.regs, args, &t);
        }
        finish_trap(e, std::move(t));
        return true;
    }
    switch (p.timing) {
    case Timing::AtIssue:
        if (e.ends_run) {
            squash_after(e.seq);
            if (InsnRecord* r = record(e)) r->retire_ns = now_ns();  // the last to commit, after the squashed
            emit(RobEvent::Kind::Commit, e.seq, e.pc);
            m_.backend().wait_all();
            state.steps = committed_;
            result_ = RunResult{RunStatus::Halted, std::nullopt, committed_};
            return true;
        }
        break;
    case Timing::Long:
        if (op_info(d.op).cls == OpClass::Kernel) m_.count_launch();
        if (e.fault) {
            const Module& mod = m_.module();
            const Kernel& k = mod.kernels[mod.launches[static_cast<std::uint32_t>(d.imm)].kernel];
            finish_trap(e, kernel_trap(mod, k, e.fault, e.pc, m_.options().kernel_steps));
            return true;
        }
        if (state_observer_ != nullptr)
            for (const Backup& b : e.backups) state_observer_->region_overwritten(*b.region, b.bytes);
        break;
    case Timing::AtCommit: {
        const Flow flow = run_on_machine(e);
        if (flow == Flow::Block) {
            // It waits for another procedure (vm/procs/): it stays at the
            // head, the younger entries keep what they have done, and the run
            // goes on from here when the procedure is resumed.
            --committed_;
            state.steps = committed_;
            result_ = RunResult{RunStatus::Blocked, std::nullopt, committed_};
            return true;
        }
        if (log_ != nullptr) record_loop_launch(e);
        if (flow == Flow::Trap) {
            finish_trap(e, trap_);
            return true;
        }
        break;
    }
    case Timing::Early:
    case Timing::Branch: break;
    }
    // The result of an instruction that executed early reaches the machine
    // now, through the same write path (and observer) as in order.
    if (p.int_dst >= 0) {
        if (p.timing != Timing::AtCommit) {  // an at-commit body wrote it itself
            if (state_observer_ != nullptr) state_observer_->int_written(static_cast<unsigned>(p.int_dst));
            state.regs.r[p.int_dst] = e.ivalue;
        }
        rename_.retire(RegKind::Int, static_cast<unsigned>(p.int_dst), e.seq);
    }
    for (std::uint8_t r : p.more_int_dsts) rename_.retire(RegKind::Int, r, e.seq);  // its body wrote them
    for (std::uint8_t r : p.more_float_dsts) rename_.retire(RegKind::Float, r, e.seq);
    if (p.float_dst >= 0) {
        if (p.timing != Timing::AtCommit) {
            if (state_observer_ != nullptr) state_observer_->float_written(static_cast<unsigned>(p.float_dst));
            state.regs.f[p.float_dst] = e.fvalue;
        }
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
void ReorderEngine::squash_from(std::uint64_t first) {
    if (count_ > 0 && head_seq_ + count_ > first) emit(RobEvent::Kind::Squash, first, 0, head_seq_ + count_ - 1);
    while (count_ > 0 && head_seq_ + count_ > first) {
        Entry& e = rob_[(head_ + count_ - 1) % capacity_];
        if (e.state == State::InFlight) {
            m_.backend().wait(e.ticket);
            m_.engine_stats().squashed_long_ns += now_ns() - e.start_ns;
        } else if (e.info->timing == Timing::Long && e.state == State::Done && e.start_ns != 0) {
            m_.engine_stats().squashed_long_ns += e.end_ns - e.start_ns;
        }
        for (auto b = e.backups.rbegin(); b != e.backups.rend(); ++b) {
            // The home's copy is whole again: what the squashed op left elsewhere is stale.
            m_.backend().forget_region(*b->region);
            if (!b->bytes.empty()) std::memcpy(b->region->data, b->bytes.data(), b->bytes.size());
        }
        e.backups.clear();
        if (e.state == State::Waiting) --waiting_;
        if (e.info->timing == Timing::AtIssue) {
            MachineState& state = m_.state();
            if (state.call_depth > e.call_depth_at_issue) state.call_stack[e.call_depth_at_issue] = e.call_slot_before;
            state.call_depth = e.call_depth_at_issue;
        }
        if (e.info->timing == Timing::Long && e.state != State::Done) --long_pending_;
        if (e.info->serialize) serializing_ = false;
        if (InsnRecord* r = record(e)) {
            r->squashed = true;
            r->retire_ns = now_ns();
        }
        ++m_.engine_stats().squashed;
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
        each_region(e, [&](std::uint32_t g, bool read, bool) {
            if (read) scoreboard_[g].readers.push_back(e.seq);
        });
        each_region(e, [&](std::uint32_t g, bool, bool write) {
            if (!write) return;
            scoreboard_[g].last_writer = e.seq;
            scoreboard_[g].readers.clear();
        });
        if (p.sync) last_sync_ = e.seq;
        define_dsts(p, e.seq);
    }
    wake_ = true;
}

void ReorderEngine::begin(std::uint32_t start_pc) {
    fetch_pc_ = start_pc;
    m_.engine_stats() = EngineStats{};
}

RunResult ReorderEngine::loop() {
    EngineStats& stats = m_.engine_stats();
    MachineState& state = m_.state();
    if (paused_) state.call_depth = issue_depth_;
    paused_ = false;
    slice_start_ = committed_;
    for (;;) {
        // Nothing in flight and no long op next: the interpreter runs the
        // scalar code up to the next long op, with the same bodies at the
        // interpreter's speed; the engine's bookkeeping is only paid where
        // there is something to overlap.
        if (hand_off_ && count_ == 0 && fetch_branch_ == kNone && !fetch_stopped_) {
            state.pc = fetch_pc_;
            state.steps = committed_;
            const RunResult r = interpret_until_long_op(m_);
            stats.interpreted += r.steps - committed_;
            committed_ = r.steps;
            // Blocked, or paused before a word that is no long op: the
            // procedure waits for another, or its time slice is over
            // (vm/procs/). Either way it is resumed from there.
            const bool slice_over = r.status == RunStatus::Paused && info(state.pc).timing != Timing::Long;
            if (r.status == RunStatus::Blocked || slice_over) fetch_pc_ = state.pc;
            if (r.status != RunStatus::Paused || slice_over) {
                stats.committed = committed_;
                return r;
            }
            fetch_pc_ = state.pc;
            handed_back_ = state.pc;
        }
        progress_ = false;
        ++stats.cycles;
        for (unsigned k = 0; k < kWidth && count_ > 0 && head().state == State::Done; ++k) {
            if (observer_ != nullptr && hold_commits()) break;  // a debugger's step or breakpoint is reached
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
                m_.backend().wait_all();
                return RunResult{RunStatus::Trapped, t, committed_};
            }
            wake_ = true;
        }
        if (observer_ != nullptr) {
            // The machine shows the committed position: the next instruction
            // to commit. Calls and returns move the depth at issue, so the
            // issue-time depth is kept aside until the run goes on.
            issue_depth_ = state.call_depth;
            show_committed_position();
            if (observer_->after_cycle(m_)) {
                paused_ = true;
                return RunResult{RunStatus::Paused, std::nullopt, committed_};
            }
            state.call_depth = issue_depth_;
        }
    }
}

void ReorderEngine::show_committed_position() {
    MachineState& state = m_.state();
    state.pc = count_ > 0 ? head().pc : fetch_pc_;
    state.steps = committed_;
    if (count_ > 0) state.call_depth = head().call_depth_at_issue;
}

bool ReorderEngine::hold_commits() {
    MachineState& state = m_.state();
    const std::size_t issue_depth = state.call_depth;
    show_committed_position();
    const bool hold = observer_->hold_commits(m_);
    state.call_depth = issue_depth;
    return hold;
}

// The issued calls and returns undone on a copy, youngest first, as a squash would.
std::vector<std::uint32_t> ReorderEngine::committed_call_stack() const {
    const MachineState& state = m_.state();
    std::vector<const DecodedInsn*> slots = state.call_stack;
    std::size_t depth = paused_ ? issue_depth_ : state.call_depth;
    for (std::size_t i = count_; i-- > 0;) {
        const Entry& e = rob_[(head_ + i) % capacity_];
        if (e.info->timing != Timing::AtIssue) continue;
        if (depth > e.call_depth_at_issue) slots[e.call_depth_at_issue] = e.call_slot_before;
        depth = e.call_depth_at_issue;
    }
    std::vector<std::uint32_t> returns;
    for (std::size_t k = 0; k < depth; ++k) returns.push_back(static_cast<std::uint32_t>(slots[k] - code_));
    return returns;
}

void ReorderEngine::flush() {
    MachineState& state = m_.state();
    squash_from(head_seq_);  // every entry
    m_.backend().wait_all();
    paused_ = false;
    fetch_pc_ = state.pc;
    committed_ = state.steps;
    fetch_stopped_ = false;
    fetch_branch_ = kNone;
    wake_ = true;
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
    ReorderEngine engine(m, m.options().exec);
    return engine.run(start_pc);
}

RunResult run_reorder_engine(Machine& m, std::uint32_t start_pc) { return ReorderEngine::start(m, start_pc); }

ReorderSession::ReorderSession(Machine& m, std::uint32_t start_pc)
    : engine_(std::make_unique<ReorderEngine>(m, m.options().exec)) {
    engine_->begin(start_pc);
}

ReorderSession::~ReorderSession() { engine_->drain(); }

RunResult ReorderSession::run(CycleObserver& observer, StateObserver* changes) {
    engine_->set_observer(&observer);
    engine_->set_state_observer(changes);
    RunResult r = engine_->loop();
    engine_->set_observer(nullptr);
    engine_->set_state_observer(nullptr);
    return r;
}

RunResult ReorderSession::run() { return engine_->loop(); }

void ReorderSession::flush() { engine_->flush(); }

std::vector<std::uint32_t> ReorderSession::committed_call_stack() const { return engine_->committed_call_stack(); }

std::vector<RobEntryView> ReorderSession::entries() { return engine_->entries(); }

}  // namespace polymer::ooo
