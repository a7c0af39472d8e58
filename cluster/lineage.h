// Lineage: how the home recomputes region elements lost with a node
// (docs/cluster.md, "Faults: lineage"). The home logs every splittable launch
// of the current epoch with what a replay needs; when a node dies holding the
// only current copy of some elements, the engine re-runs the logged launches
// over those lanes only, at home on a CpuBackend, and writes the results home.
//
// Why lanes L alone suffice: lane i of a launch touches element-wise buffers
// only at element i, reads broadcast inputs whole (their bytes are logged)
// and adds into partials (the home summed those already; a replay drops
// them). So replaying every logged launch over L, in log order, from the
// right start values of elements L, gives exactly their values after the
// last logged launch (kernels are deterministic). A launch with window
// inputs (`x: f32[i-1..i+1]`) reads around its lanes, so the launches before
// it re-run over L widened by its window (and so on back to the first):
// a stencil's lost rows cost a few more rows per logged step.
//
// What is kept, per buffer (a buffer is its home storage: KernelArg::data):
//   - it is *tracked* from the first logged launch that uses it element-wise
//     (or through a window)
//     (before that the home holds all of it, so its values then are where a
//     replay starts it);
//   - bases: before the home overwrites elements of a tracked buffer
//     (before_home_write), their values are saved the first time, so the
//     replay's start state is home memory overlaid with the bases;
//   - changed elements: home writes of values no logged launch produces
//     (HomeWrite::Program) mark them; the next logged launch that uses the
//     buffer element-wise copies their current home values into its record
//     (a replay applies them before re-running it: they are what it read);
//   - per launch: kernel, uniforms, count, max_iterations, which argument is
//     which buffer, and each broadcast input's bytes (shared with the
//     previous record when equal); per element-wise vector op: the op, its
//     scalars and which operand is which buffer; per vscan that too, and
//     each piece's range and carry; per vmatmul that too, and B's bytes.
//
// Threads: every call may come from any thread; they serialize on one
// internal mutex, so none runs concurrently with another. recompute holds it
// for the whole replay: a before_home_write from another thread waits until
// the recovery is done. The caller keeps home memory stable where the engine
// reads it: the elements a before_home_write names until it returns, the
// buffers of a launch during record, the tracked buffers during recompute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "isa/elem_type.h"
#include "isa/result.h"
#include "vm/kernel_launch.h"
#include "vm/vector_op.h"

namespace polymer {
class CpuBackend;  // vm/backend.h
}

namespace polymer::cluster {

// A buffer by its home storage; length in elements.
struct BufferRef {
    void* data = nullptr;
    std::uint64_t length = 0;
    ElemType type = ElemType::F32;
};

// Why the home is about to overwrite elements (before_home_write).
enum class HomeWrite : std::uint8_t {
    // Values no logged launch produces: a `st`, a vector op, a launch run whole
    // at home (not splittable), input read from stdin.
    Program,
    // Values the log reproduces: a fetch of what a node computed, the home's
    // own lanes of a logged launch, a recovery landing. (The sums of a logged
    // launch's partials may land with either cause: record marks them changed
    // itself, since a replay drops them.)
    Replayable,
};

// Elements [begin, end) of `buffer` whose only current copy was lost.
struct LostElements {
    BufferRef buffer;
    std::uint64_t begin = 0, end = 0;
};

struct ReplayStats {
    std::uint64_t lanes = 0;           // lanes in the union of the lost ranges
    std::uint64_t launches = 0;        // logged launches re-run (those with a lane in it)
    std::uint64_t bytes_restored = 0;  // written into home memory
};

class Lineage {
public:
    // Replays run on `replay_on` (it outlives this engine); null: on a
    // CpuBackend of its own, made at the first recompute.
    explicit Lineage(CpuBackend* replay_on = nullptr);
    ~Lineage();
    Lineage(const Lineage&) = delete;
    Lineage& operator=(const Lineage&) = delete;

    // The home is about to overwrite elements [begin, end) of `buffer` (for a
    // Program write: after bringing them home, so they are current there).
    // A range past the buffer, or a buffer whose storage was replaced without
    // forget(), breaks the log: record and recompute then fail, naming it.
    void before_home_write(const BufferRef& buffer, std::uint64_t begin, std::uint64_t end, HomeWrite cause);

    // Logs `launch` (its whole [0, count)) before it runs, before any of its
    // results lands at home (its first use of a buffer starts tracking it
    // from the home's values then); call it for splittable launches only
    // (plan_launch). Its broadcast inputs must be current at home (the
    // cluster ships them whole anyway). The kernel must
    // outlive the log (its Module outlives the run). Returns the launch's
    // number in the log (from 0), or why it cannot be logged (the log is then
    // broken until restart(), since the launch's effects could not be redone).
    // `rounds`: the launch runs that many times over each lane, each round on
    // what the one before wrote (Backend::run_rounds); a replay does the same.
    Result<std::size_t> record(const KernelLaunch& launch, std::uint64_t rounds = 1);
    // The same for an element-wise vector op (vm/vector_op.h VectorShape::
    // Elementwise: lane i touches element i of each operand, as a launch's
    // T[i] buffers) that a cluster runs in pieces where its operands are.
    // Every region operand is an element-wise buffer over [0, n); a replay
    // runs the op over the lost lanes with the CPU vector loops.
    // Also a vscan (VectorShape::Scan), whose pieces run in order, each
    // from the carry of the one before: note_scan_piece() logs each piece
    // as it starts. A lane of a scan reads every element of a from its
    // piece's start, so a replay runs the scan from the start of the piece
    // each lost lane is in, and the entries before it over those lanes too.
    // And a vmatmul (VectorShape::Rows), whose lanes are C's elements: it
    // keeps a copy of B (current at home when it is logged), and a replay
    // recomputes whole rows of C from the same rows of A.
    Result<std::size_t> record(const VectorOpArgs& op);
    // Scan entry `entry` runs elements [begin, end) from `carry` (replacing
    // what an earlier note said about them: a piece run again after its
    // node was lost). Lanes of a scan no note covers are not replayed.
    void note_scan_piece(std::size_t entry, std::uint64_t begin, std::uint64_t end, ScanCarry carry);

    // Recomputes `lost` (tracked, live buffers) and writes exactly those
    // elements into home memory, keeping their bases as a Replayable write
    // does. With `as_found_by` N: the values launch N (still running) found,
    // before it: launches before N re-run, N's snapshots applied, N not. Fails, writing nothing, when the log is broken or a replayed
    // launch faults (it should not: the same launch ran without a fault).
    Result<ReplayStats> recompute(std::span<const LostElements> lost, std::optional<std::size_t> as_found_by = std::nullopt);

    // Everything is current at home again: a new epoch, with nothing kept.
    void restart();

    // The storage at `data` is about to be freed or replaced (alloc, free).
    // A buffer no logged launch used element-wise is simply dropped. One that
    // one did still feeds the replay of the buffers it was computed with
    // (y := x + y needs x's values even after x is freed), so its start state
    // (home memory overlaid with its bases, the whole buffer) is copied into
    // the engine first: the cost of freeing a tracked buffer mid-epoch is
    // its size, until restart(). It can no longer be recomputed itself (the
    // caller only recomputes live buffers), and the address may be reused by
    // a new buffer, which the engine then tracks afresh.
    void forget(const void* data);

    // Bases, snapshots of changed elements, broadcast copies and the start
    // state of forgotten buffers, in bytes (for --stats and the checkpoint
    // policy).
    std::uint64_t bytes_kept() const;
    // Launches logged this epoch.
    std::size_t launches() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace polymer::cluster
