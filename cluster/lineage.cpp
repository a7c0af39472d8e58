#include "cluster/lineage.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "cluster/element_ranges.h"
#include "cluster/launch_plan.h"
#include "isa/vector_rules.h"
#include "vm/backend.h"

namespace polymer::cluster {
namespace {

using BufferId = std::uint32_t;
constexpr BufferId kNoBuffer = ~BufferId{0};

// A broadcast input's bytes, 8-byte aligned as region storage is.
struct WholeCopy {
    std::vector<std::uint64_t> words;
    std::uint64_t bytes = 0;
};

// Zero-filled memory the size of a whole buffer that costs only the pages a
// replay touches (anonymous, not reserved): lanes L of a 4 GiB region cost
// L's pages, and the launch still sees the whole region its kernel expects.
class Scratch {
public:
    Scratch() = default;
    explicit Scratch(std::uint64_t bytes) {
        if (bytes == 0) return;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            error_ = errno;
            return;
        }
        p_ = p;
        n_ = bytes;
    }
    Scratch(Scratch&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), error_(o.error_) {}
    Scratch& operator=(Scratch&& o) noexcept {
        if (this != &o) {
            release();
            p_ = std::exchange(o.p_, nullptr);
            n_ = std::exchange(o.n_, 0);
            error_ = o.error_;
        }
        return *this;
    }
    ~Scratch() { release(); }
    std::byte* data() const { return static_cast<std::byte*>(p_); }
    int error() const { return error_; }  // errno of a failed map, else 0

private:
    void release() {
        if (p_ != nullptr) munmap(p_, n_);
        p_ = nullptr;
    }
    void* p_ = nullptr;
    std::uint64_t n_ = 0;
    int error_ = 0;
};

struct Buffer {
    Buffer(void* home, std::uint64_t length, ElemType type)
        : home(home), length(length), type(type), esize(elem_size(type)), bases(esize) {}
    std::byte* home_bytes() const { return static_cast<std::byte*>(home); }
    std::uint64_t bytes() const { return length * esize; }

    void* home;  // null once forgotten
    std::uint64_t length;
    ElemType type;
    std::size_t esize;
    // From its first element-wise use in the log: home writes keep bases and
    // Program writes mark elements changed.
    bool tracked = false;
    SavedElements bases;
    ElementRanges changed;
    std::shared_ptr<const WholeCopy> last_copy;  // its latest broadcast copy, to share
    std::vector<std::uint64_t> start;            // forgotten and tracked: its whole start state
};

// Element: an [i] buffer; Window: an `in` buffer read around each lane's
// element (tracked like an element-wise one, replayed over wider lanes).
enum class Role : std::uint8_t { Element, Window, Whole, Partial, Uniform };

struct ArgRecord {
    Role role = Role::Uniform;
    BufferId buffer = kNoBuffer;  // kNoBuffer for uniforms and empty buffers
    std::uint64_t length = 0;
    ElemType type = ElemType::F32;
    std::uint64_t uniform = 0;
    std::shared_ptr<const WholeCopy> copy;  // Whole
};

// A piece of a scan entry: it ran [begin, end) from `carry`.
struct ScanPiece {
    std::uint64_t end = 0;
    ScanCarry carry;
};

// Values the program gave elements of a buffer before the launch read them.
struct Snapshot {
    BufferId buffer;
    SavedElements values;
};

struct Record {
    const Kernel* kernel = nullptr;  // null: an element-wise vector op
    VectorOpArgs vector;             // its op and scalars (the views' storage is args[0..3])
    std::uint32_t kernel_index = 0;
    std::uint64_t count = 0;
    std::uint32_t max_iterations = 0;
    std::uint64_t rounds = 1;  // the launch ran this many times, each round on the last one's results (Backend::run_rounds)
    std::vector<ArgRecord> args;
    std::vector<Snapshot> snapshots;
    // Its window inputs' reach, joined: lanes L read elements L widened by it.
    bool windowed = false;
    std::int64_t window_lo = 0, window_hi = 0;
    // A vscan: its pieces by their first element (note_scan_piece).
    bool scan = false;
    std::map<std::uint64_t, ScanPiece> scan_pieces;
    // A vmatmul: its lanes are C's elements, row r of C (N of them) reads
    // row r of A (K elements) and B whole (its copy).
    bool matmul = false;
    std::uint64_t k = 0, n = 0;

    // The rows of C that lanes L touch, as ranges of rows.
    ElementRanges matmul_rows(const ElementRanges& lanes) const {
        ElementRanges rows;
        lanes.for_each_in(0, count, [&](std::uint64_t lo, std::uint64_t hi) { rows.add(lo / n, (hi + n - 1) / n); });
        return rows;
    }

    // Lanes L of a scan read a from the start of each lane's piece: L with
    // each range's start moved down to it (a lane no piece covers stays).
    ElementRanges scan_reach(const ElementRanges& lanes) const {
        ElementRanges out;
        lanes.for_each([&](std::uint64_t lo, std::uint64_t hi) {
            auto it = scan_pieces.upper_bound(lo);
            if (it != scan_pieces.begin() && std::prev(it)->second.end > lo) lo = std::prev(it)->first;
            out.add(lo, hi);
        });
        return out;
    }
};

std::string describe(const void* data, std::uint64_t length, ElemType type) {
    char where[32];
    std::snprintf(where, sizeof where, "%p", data);
    return std::string("buffer at ") + where + " (" + std::to_string(length) + " x " + std::string(elem_type_name(type)) + ")";
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
    return "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")";
}

std::string fault_text(const Kernel& k, const KernelFault& f, std::uint32_t budget) {
    std::string s = "lane " + std::to_string(f.lane) + " ";
    switch (f.kind) {
    case KernelFault::Kind::BadIndex: {
        const std::string param = f.param < k.params.size() ? k.params[f.param].name : "?";
        return s + "accessed " + param + "[" + std::to_string(f.index) + "] outside the kernel contract (length " +
               std::to_string(f.length) + ")";
    }
    case KernelFault::Kind::StepBudget: return s + "ran past " + std::to_string(budget) + " loop iterations";
    case KernelFault::Kind::Interrupted: return "interrupted";
    case KernelFault::Kind::DeviceLoopLimit: return s + "hit the device's loop limit";
    case KernelFault::Kind::None: break;
    }
    return s + "faulted";
}

}  // namespace

struct Lineage::State {
    CpuBackend* backend = nullptr;
    std::unique_ptr<CpuBackend> own_backend;

    mutable std::mutex mu;
    std::vector<Buffer> buffers;                      // by BufferId, this epoch
    std::unordered_map<const void*, BufferId> live;  // home storage -> id
    std::vector<Record> records;
    std::uint64_t kept = 0;  // bytes_kept()
    std::string broken;      // why the log can no longer redo the epoch

    void break_log(std::string why) {
        if (broken.empty()) broken = std::move(why);
    }

    // The id of the buffer at `data`, added when new; kNoBuffer for an empty
    // one, or (breaking the log) when the address holds another buffer than
    // the one it held, without a forget() between.
    BufferId id_of(void* data, std::uint64_t length, ElemType type) {
        if (data == nullptr || length == 0) return kNoBuffer;
        auto it = live.find(data);
        if (it != live.end()) {
            const Buffer& b = buffers[it->second];
            if (b.length == length && b.type == type) return it->second;
            break_log("lineage: " + describe(data, length, type) + " was " + std::to_string(b.length) + " x " +
                      std::string(elem_type_name(b.type)) + " when last seen: its storage was replaced without forget()");
            return kNoBuffer;
        }
        const auto id = static_cast<BufferId>(buffers.size());
        buffers.emplace_back(data, length, type);
        live.emplace(data, id);
        return id;
    }

    void home_write(Buffer& b, std::uint64_t lo, std::uint64_t hi, HomeWrite cause) {
        if (!b.tracked) return;  // its values until it is tracked are read then, at home
        kept += b.bases.save_missing(b.home_bytes(), lo, hi);
        if (cause == HomeWrite::Program) b.changed.add(lo, hi);
    }

    std::shared_ptr<const WholeCopy> copy_whole(Buffer& b) {
        const std::uint64_t n = b.bytes();
        if (b.last_copy && b.last_copy->bytes == n && std::memcmp(b.last_copy->words.data(), b.home, n) == 0)
            return b.last_copy;
        auto c = std::make_shared<WholeCopy>();
        c->words.resize((n + 7) / 8);
        std::memcpy(c->words.data(), b.home, n);
        c->bytes = n;
        kept += n;
        b.last_copy = c;
        return c;
    }

    Result<std::size_t> record(const KernelLaunch& l, std::uint64_t rounds);
    Result<std::size_t> record(const VectorOpArgs& op);
    void take_element_snapshots(Record& rec);
    std::optional<std::string> replay_vector(const Record& rec, std::size_t n, const ElementRanges& lanes,
                                             const std::function<std::byte*(BufferId)>& scratch_of);
    void note_scan_piece(std::size_t entry, std::uint64_t begin, std::uint64_t end, ScanCarry carry);
    Result<ReplayStats> recompute(std::span<const LostElements> lost, std::optional<std::size_t> as_found_by = std::nullopt);
};

Lineage::Lineage(CpuBackend* replay_on) : state_(std::make_unique<State>()) { state_->backend = replay_on; }

Lineage::~Lineage() = default;

void Lineage::before_home_write(const BufferRef& buffer, std::uint64_t begin, std::uint64_t end, HomeWrite cause) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    if (begin > end || end > buffer.length) {
        s.break_log("lineage: home write of elements " + range_text(begin, end) + " of " +
                    describe(buffer.data, buffer.length, buffer.type) + ", past its end");
        return;
    }
    if (begin == end) return;
    const BufferId id = s.id_of(buffer.data, buffer.length, buffer.type);
    if (id == kNoBuffer) return;
    s.home_write(s.buffers[id], begin, end, cause);
}

Result<std::size_t> Lineage::record(const KernelLaunch& launch, std::uint64_t rounds) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    Result<std::size_t> r = s.record(launch, rounds);
    if (!r.ok()) s.break_log(r.error());
    return r;
}

Result<std::size_t> Lineage::State::record(const KernelLaunch& l, std::uint64_t rounds) {
    if (!broken.empty()) return Error{broken};
    if (l.kernel == nullptr) return Error{"lineage: a launch without a kernel"};
    const Kernel& k = *l.kernel;
    const std::string what = "lineage: launch of kernel '" + k.name + "'";
    if (l.args.size() != k.params.size())
        return Error{what + ": " + std::to_string(l.args.size()) + " arguments for " + std::to_string(k.params.size()) +
                     " parameters"};
    if (l.count > kMaxLaunchCount) return Error{what + ": count " + std::to_string(l.count) + " is over the largest launch"};
    const LaunchPlan plan = plan_launch(k);
    if (!plan.splittable) return Error{what + ": not splittable, so the home runs it whole: it is a Program write, not a logged launch"};

    Record rec;
    rec.rounds = std::max<std::uint64_t>(1, rounds);
    rec.kernel = l.kernel;
    rec.kernel_index = l.kernel_index;
    rec.count = l.count;
    rec.max_iterations = l.max_iterations;
    rec.args.resize(k.params.size());
    for (std::size_t p = 0; p < k.params.size(); ++p) {
        const KernelParam& param = k.params[p];
        const KernelArg& a = l.args[p];
        ArgRecord& out = rec.args[p];
        out.type = a.type;
        if (param.kind == ParamKind::Uniform) {
            out.role = Role::Uniform;
            out.uniform = a.uniform;
            continue;
        }
        if (a.type != param.type)
            return Error{what + ": buffer " + param.name + " is " + std::string(elem_type_name(a.type)) + ", the parameter " +
                         std::string(elem_type_name(param.type))};
        if (a.data == nullptr && a.length > 0) return Error{what + ": buffer " + param.name + " has no storage"};
        out.length = a.length;
        if (param.indexing == Indexing::Element || param.indexing == Indexing::Window) {
            if (a.length < l.count)
                return Error{what + ": buffer " + param.name + " has " + std::to_string(a.length) + " elements, fewer than count " +
                             std::to_string(l.count)};
            out.role = param.indexing == Indexing::Element ? Role::Element : Role::Window;
            if (out.role == Role::Window) {
                rec.window_lo = rec.windowed ? std::min(rec.window_lo, param.window_lo) : param.window_lo;
                rec.window_hi = rec.windowed ? std::max(rec.window_hi, param.window_hi) : param.window_hi;
                rec.windowed = true;
            }
        } else {
            out.role = plan.is_partial(p) ? Role::Partial : Role::Whole;
        }
        out.buffer = id_of(a.data, a.length, a.type);
        if (!broken.empty()) return Error{broken};
        if (out.role == Role::Whole && out.buffer != kNoBuffer) out.copy = copy_whole(buffers[out.buffer]);
    }
    take_element_snapshots(rec);
    // The home adds the partials' sums after the launch; a replay drops
    // them, so to the log they are changed elements.
    for (const ArgRecord& a : rec.args)
        if (a.role == Role::Partial && a.buffer != kNoBuffer && buffers[a.buffer].tracked) buffers[a.buffer].changed.add(0, a.length);
    records.push_back(std::move(rec));
    return records.size() - 1;
}

Result<std::size_t> Lineage::record(const VectorOpArgs& op) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    Result<std::size_t> r = s.record(op);
    if (!r.ok()) s.break_log(r.error());
    return r;
}

Result<std::size_t> Lineage::State::record(const VectorOpArgs& op) {
    if (!broken.empty()) return Error{broken};
    const std::string what = "lineage: " + std::string(op_info(op.op).mnemonic);
    const VectorShape shape = vector_shape(op.op);
    if (shape != VectorShape::Elementwise && shape != VectorShape::Scan && shape != VectorShape::Rows)
        return Error{what + ": not an element-wise vector op, a scan or a matmul"};
    if (const char* problem = check_vector_op(op)) return Error{what + ": " + problem};
    Record rec;
    rec.scan = shape == VectorShape::Scan;
    rec.matmul = shape == VectorShape::Rows;
    if (rec.matmul) {
        rec.k = static_cast<std::uint64_t>(op.int_scalar);  // positive: checked
        rec.n = op.b.length / rec.k;
        if (op.dst.data != nullptr && op.dst.data == op.b.data) return Error{what + ": dst is b, which every row reads whole"};
    }
    rec.vector.op = op.op;
    rec.vector.int_scalar = op.int_scalar;
    rec.vector.float_scalar = op.float_scalar;
    rec.count = op.dst.length;
    rec.args.resize(4);
    const RegionView* views[] = {&op.dst, &op.a, &op.b, &op.c};
    RegionView* kept[] = {&rec.vector.dst, &rec.vector.a, &rec.vector.b, &rec.vector.c};
    const std::uint8_t used = vector_region_slots(op.op);
    for (std::size_t slot = 0; slot < 4; ++slot) {
        ArgRecord& out = rec.args[slot];
        if (!(used & slot_bit(slot))) continue;  // Uniform: not a buffer
        const RegionView& v = *views[slot];
        *kept[slot] = RegionView{v.type, nullptr, v.length};  // the storage is the replay's scratch
        out.role = rec.matmul && slot == 2 ? Role::Whole : Role::Element;
        out.type = v.type;
        out.length = v.length;
        out.buffer = id_of(v.data, v.length, v.type);
        if (!broken.empty()) return Error{broken};
        if (out.role == Role::Whole && out.buffer != kNoBuffer) out.copy = copy_whole(buffers[out.buffer]);
    }
    take_element_snapshots(rec);
    records.push_back(std::move(rec));
    return records.size() - 1;
}

void Lineage::note_scan_piece(std::size_t entry, std::uint64_t begin, std::uint64_t end, ScanCarry carry) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    s.note_scan_piece(entry, begin, end, carry);
}

void Lineage::State::note_scan_piece(std::size_t entry, std::uint64_t begin, std::uint64_t end, ScanCarry carry) {
    if (!broken.empty() || begin >= end) return;
    if (entry >= records.size() || !records[entry].scan || end > records[entry].count) {
        break_log("lineage: a scan piece " + range_text(begin, end) + " for entry " + std::to_string(entry) + ", which is no scan of that length");
        return;
    }
    auto& pieces = records[entry].scan_pieces;
    // A piece that starts before `begin` still holds up to it, from its own
    // carry; one that starts inside [begin, end) is replaced (its tail past
    // `end` has no carry any more, and a later note covers it).
    auto it = pieces.lower_bound(begin);
    if (it != pieces.begin() && std::prev(it)->second.end > begin) std::prev(it)->second.end = begin;
    while (it != pieces.end() && it->first < end) it = pieces.erase(it);
    pieces.emplace(begin, ScanPiece{end, carry});
}

void Lineage::State::take_element_snapshots(Record& rec) {
    // Element-wise buffers: tracked from here (their home values now are
    // where a replay starts them), or give this launch the values the
    // program wrote since the last launch that used them.
    for (const ArgRecord& a : rec.args) {
        if ((a.role != Role::Element && a.role != Role::Window) || a.buffer == kNoBuffer) continue;
        Buffer& b = buffers[a.buffer];
        if (!b.tracked) {
            b.tracked = true;
            continue;
        }
        if (b.changed.empty()) continue;
        Snapshot snap{a.buffer, SavedElements(b.esize)};
        b.changed.for_each([&](std::uint64_t lo, std::uint64_t hi) { kept += snap.values.save_missing(b.home_bytes(), lo, hi); });
        b.changed.clear();
        rec.snapshots.push_back(std::move(snap));
    }
}

Result<ReplayStats> Lineage::recompute(std::span<const LostElements> lost, std::optional<std::size_t> as_found_by) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    return s.recompute(lost, as_found_by);
}

Result<ReplayStats> Lineage::State::recompute(std::span<const LostElements> lost, std::optional<std::size_t> as_found_by) {
    if (!broken.empty()) return Error{broken};
    // The lost ranges of tracked buffers; an untracked buffer never left home.
    std::vector<std::pair<BufferId, const LostElements*>> todo;
    ElementRanges lanes;
    for (const LostElements& e : lost) {
        const BufferRef& b = e.buffer;
        if (e.begin > e.end || e.end > b.length)
            return Error{"lineage: lost elements " + range_text(e.begin, e.end) + " of " + describe(b.data, b.length, b.type) +
                         ", past its end"};
        if (e.begin == e.end) continue;
        auto it = live.find(b.data);
        if (it == live.end()) continue;
        const Buffer& known = buffers[it->second];
        if (known.length != b.length || known.type != b.type)
            return Error{"lineage: lost elements of " + describe(b.data, b.length, b.type) + ", which the log knows as " +
                         std::to_string(known.length) + " x " + std::string(elem_type_name(known.type))};
        if (!known.tracked) continue;
        todo.emplace_back(it->second, &e);
        lanes.add(e.begin, e.end);
    }
    ReplayStats stats;
    stats.lanes = lanes.elements();
    if (todo.empty()) return stats;

    // The lanes each logged launch re-runs: L for the last, and before a
    // launch with window inputs, L widened by what its lanes read (they
    // must be right when it runs), back to the first launch.
    const std::size_t stop = as_found_by ? std::min(*as_found_by, records.size()) : records.size();
    std::vector<ElementRanges> run_lanes(stop);
    ElementRanges reach = lanes;
    for (std::size_t n = stop; n-- > 0;) {
        if (records[n].scan) reach = records[n].scan_reach(reach);
        if (records[n].matmul) {
            // Whole rows of C, from the same rows of A.
            const Record& r = records[n];
            const ElementRanges rows = r.matmul_rows(reach);
            ElementRanges c_lanes;
            rows.for_each([&](std::uint64_t lo, std::uint64_t hi) {
                c_lanes.add(lo * r.n, hi * r.n);
                reach.add(lo * r.n, hi * r.n);
                reach.add(lo * r.k, hi * r.k);
            });
            run_lanes[n] = std::move(c_lanes);
            continue;
        }
        run_lanes[n] = reach;
        if (records[n].windowed) reach.widen(records[n].window_lo, records[n].window_hi, std::numeric_limits<std::uint64_t>::max());
    }

    // Scratch copies of the tracked buffers' start state at every lane a replay reads.
    std::unordered_map<BufferId, Scratch> scratch;
    std::string map_error;
    auto scratch_of = [&](BufferId id) -> std::byte* {
        auto it = scratch.find(id);
        if (it != scratch.end()) return it->second.data();
        const Buffer& b = buffers[id];
        Scratch m(b.bytes());
        if (m.error() != 0) {
            map_error = "lineage: cannot map " + std::to_string(b.bytes()) + " bytes of scratch for a replay: " + std::strerror(m.error());
            return nullptr;
        }
        const std::byte* from = b.home != nullptr ? b.home_bytes() : reinterpret_cast<const std::byte*>(b.start.data());
        reach.for_each_in(0, b.length, [&](std::uint64_t lo, std::uint64_t hi) {
            std::memcpy(m.data() + lo * b.esize, from + lo * b.esize, static_cast<std::size_t>((hi - lo) * b.esize));
            b.bases.restore(m.data(), lo, hi);
        });
        return scratch.emplace(id, std::move(m)).first->second.data();
    };

    // Every lost buffer's scratch first, so that nothing fails once landing starts.
    for (auto [id, e] : todo)
        if (scratch_of(id) == nullptr) return Error{map_error};

    if (backend == nullptr) {
        own_backend = std::make_unique<CpuBackend>();
        backend = own_backend.get();
    }
    for (std::size_t n = 0; n < records.size(); ++n) {
        const Record& rec = records[n];
        for (const Snapshot& snap : rec.snapshots) {
            std::byte* to = scratch_of(snap.buffer);
            if (to == nullptr) return Error{map_error};
            reach.for_each_in(0, buffers[snap.buffer].length, [&](std::uint64_t lo, std::uint64_t hi) { snap.values.restore(to, lo, hi); });
        }
        if (as_found_by && n == *as_found_by) break;  // the values that launch found: its snapshots, not its results
        const ElementRanges& run = run_lanes[n];
        bool any = false;
        run.for_each_in(0, rec.count, [&](std::uint64_t, std::uint64_t) { any = true; });
        if (!any) continue;
        if (rec.kernel == nullptr) {
            if (auto err = replay_vector(rec, n, run, scratch_of)) return Error{map_error.empty() ? *err : map_error};
            ++stats.launches;
            continue;
        }

        KernelLaunch l;
        l.kernel = rec.kernel;
        l.kernel_index = rec.kernel_index;
        l.count = rec.count;
        l.max_iterations = rec.max_iterations;
        l.args.resize(rec.args.size());
        std::vector<Scratch> partials;  // zeroed, dropped after the launch
        for (std::size_t p = 0; p < rec.args.size(); ++p) {
            const ArgRecord& a = rec.args[p];
            KernelArg& k = l.args[p];
            k.type = a.type;
            k.length = a.length;
            switch (a.role) {
            case Role::Uniform:
                k.uniform = a.uniform;
                k.length = 0;
                break;
            case Role::Element:
            case Role::Window:
                if (a.buffer == kNoBuffer) break;
                k.data = scratch_of(a.buffer);
                if (k.data == nullptr) return Error{map_error};
                break;
            case Role::Whole:
                // An `in` buffer: the kernel only reads it.
                if (a.copy) k.data = const_cast<std::uint64_t*>(a.copy->words.data());
                break;
            case Role::Partial:
                partials.emplace_back(a.length * elem_size(a.type));
                if (partials.back().error() != 0)
                    return Error{"lineage: cannot map scratch for a partial: " + std::string(std::strerror(partials.back().error()))};
                k.data = partials.back().data();
                break;
            }
        }
        std::string fault;
        run.for_each_in(0, rec.count, [&](std::uint64_t lo, std::uint64_t hi) {
            if (!fault.empty()) return;
            l.begin = lo;
            l.end = hi;
            const VectorOpResult r = rec.rounds == 1 ? backend->wait(backend->submit(l))
                                                     : VectorOpResult{0, 0, run_rounds_one_by_one(*backend, {&l, 1}, rec.rounds).fault};
            if (r.fault)
                fault = "lineage: replaying launch " + std::to_string(n) + " (kernel '" + rec.kernel->name + "') over lanes " +
                        range_text(lo, hi) + ": " + fault_text(*rec.kernel, r.fault, rec.max_iterations);
        });
        if (!fault.empty()) return Error{fault};
        ++stats.launches;
    }

    // Elements the program wrote after the last launch that used them are
    // current at home: a lost range that names them gets them back as they are.
    for (auto [id, e] : todo) {
        const Buffer& b = buffers[id];
        std::byte* to = scratch.at(id).data();
        b.changed.for_each_in(e->begin, e->end, [&](std::uint64_t lo, std::uint64_t hi) {
            std::memcpy(to + lo * b.esize, b.home_bytes() + lo * b.esize, static_cast<std::size_t>((hi - lo) * b.esize));
        });
    }
    // Land exactly the lost ranges.
    for (auto [id, e] : todo) {
        const std::byte* from = scratch.at(id).data();
        Buffer& b = buffers[id];
        home_write(b, e->begin, e->end, HomeWrite::Replayable);
        const std::uint64_t n = (e->end - e->begin) * b.esize;
        std::memcpy(b.home_bytes() + e->begin * b.esize, from + e->begin * b.esize, static_cast<std::size_t>(n));
        stats.bytes_restored += n;
    }
    return stats;
}

// An element-wise vector op or a scan over `lanes` (a scan's run from the
// start of a piece: scan_reach), on the scratch copies.
std::optional<std::string> Lineage::State::replay_vector(const Record& rec, std::size_t n, const ElementRanges& lanes,
                                                         const std::function<std::byte*(BufferId)>& scratch_of) {
    VectorOpArgs op = rec.vector;
    RegionView* views[] = {&op.dst, &op.a, &op.b, &op.c};
    for (std::size_t slot = 0; slot < 4; ++slot) {
        const ArgRecord& a = rec.args[slot];
        if (a.role == Role::Whole && a.copy) views[slot]->data = const_cast<std::uint64_t*>(a.copy->words.data());  // only read
        if (a.role != Role::Element || a.buffer == kNoBuffer) continue;
        views[slot]->data = scratch_of(a.buffer);
        if (views[slot]->data == nullptr) return "lineage: cannot map scratch for a replay";
    }
    if (const char* problem = check_vector_op(op))
        return "lineage: replaying entry " + std::to_string(n) + " (" + std::string(op_info(op.op).mnemonic) + "): " + problem;
    if (rec.matmul) {
        rec.matmul_rows(lanes).for_each([&](std::uint64_t lo, std::uint64_t hi) { run_matmul_rows_cpu(op, lo, hi); });
        return std::nullopt;
    }
    if (!rec.scan) {
        lanes.for_each_in(0, rec.count, [&](std::uint64_t lo, std::uint64_t hi) { run_vector_piece_cpu(op, lo, hi); });
        return std::nullopt;
    }
    lanes.for_each_in(0, rec.count, [&](std::uint64_t lo, std::uint64_t hi) {
        for (auto it = rec.scan_pieces.lower_bound(lo); it != rec.scan_pieces.end() && it->first < hi; ++it)
            run_scan_piece_cpu(op, it->first, std::min(it->second.end, hi), it->second.carry);
    });
    return std::nullopt;
}

void Lineage::restart() {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    s.records.clear();
    s.buffers.clear();
    s.live.clear();
    s.kept = 0;
    s.broken.clear();
}

void Lineage::forget(const void* data) {
    State& s = *state_;
    std::lock_guard lock(s.mu);
    auto it = s.live.find(data);
    if (it == s.live.end()) return;
    Buffer& b = s.buffers[it->second];
    s.live.erase(it);
    b.last_copy.reset();
    b.changed.clear();
    if (b.tracked) {
        // Later replays still read it: keep its start state, whole.
        b.start.resize((b.bytes() + 7) / 8);
        auto* start = reinterpret_cast<std::byte*>(b.start.data());
        std::memcpy(start, b.home, b.bytes());
        b.bases.restore(start, 0, b.length);
        s.kept += b.bytes();
    }
    s.kept -= b.bases.bytes();
    b.bases = SavedElements(b.esize);
    b.home = nullptr;
}

std::uint64_t Lineage::bytes_kept() const {
    std::lock_guard lock(state_->mu);
    return state_->kept;
}

std::size_t Lineage::launches() const {
    std::lock_guard lock(state_->mu);
    return state_->records.size();
}

}  // namespace polymer::cluster
