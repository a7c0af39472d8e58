#include "cluster/proc_frames.h"

#include <algorithm>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {

// A region write's fields in front of its bytes: region u32, offset u64, length u64.
constexpr std::size_t kWriteHead = 20;

// `m`'s payloads: whole when it fits, else its writes in pieces of
// `writes_only` (a Writes event or answer) and then the rest of `m` (unless
// `m` itself was only writes).
template <class T>
Result<std::vector<Bytes>> payloads(T m, std::size_t limit, T writes_only, bool only_writes, const char* what) {
    Bytes whole = encode(m);
    if (whole.size() <= limit) return std::vector<Bytes>{std::move(whole)};
    std::vector<RegionWrite> writes = std::move(m.writes);
    std::vector<RegionLength> lengths = std::move(m.lengths);  // in the first piece: before any write
    m.writes.clear();
    m.lengths.clear();
    Bytes rest = encode(m);
    if (!only_writes && rest.size() > limit)
        return Error{cat("a ", what, " of ", rest.size(), " bytes (its region writes apart) is over the ", limit,
                         " bytes a frame carries: a message that large cannot travel between the home and a node")};
    const std::size_t empty = encode(writes_only).size();
    if (empty + kWriteHead >= limit) return Error{cat("a frame limit of ", limit, " bytes cannot carry region writes")};

    std::vector<Bytes> out;
    T piece = writes_only;
    piece.lengths = std::move(lengths);
    std::size_t size = encode(piece).size();
    if (size + kWriteHead >= limit) return Error{cat("a ", what, "'s ", piece.lengths.size(), " region lengths are over the ", limit, " bytes a frame carries")};
    auto flush = [&] {
        if (piece.writes.empty() && piece.lengths.empty()) return;
        out.push_back(encode(piece));
        piece.writes.clear();
        piece.lengths.clear();
        size = empty;
    };
    for (RegionWrite& w : writes) {
        std::size_t done = 0;
        for (;;) {
            if (size + kWriteHead >= limit) flush();
            const std::size_t n = std::min(limit - size - kWriteHead, w.bytes.size() - done);
            RegionWrite part{w.region, w.offset + done, {}};
            part.bytes.assign(w.bytes.begin() + static_cast<std::ptrdiff_t>(done),
                              w.bytes.begin() + static_cast<std::ptrdiff_t>(done + n));
            piece.writes.push_back(std::move(part));
            size += kWriteHead + n;
            done += n;
            if (done == w.bytes.size()) break;
        }
    }
    flush();
    if (!only_writes) out.push_back(std::move(rest));
    return out;
}

}  // namespace

Result<std::vector<Bytes>> proc_event_payloads(AwayEvent e, std::size_t limit) {
    AwayEvent writes;
    writes.kind = AwayEvent::Kind::Writes;
    writes.pc = e.pc;
    writes.steps = e.steps;
    const bool only_writes = e.kind == AwayEvent::Kind::Writes;
    return payloads(std::move(e), limit, std::move(writes), only_writes, "proc-event");
}

Result<std::vector<Bytes>> proc_answer_payloads(AwayAnswer a, std::size_t limit) {
    AwayAnswer writes;
    writes.kind = AwayAnswer::Kind::Writes;
    const bool only_writes = a.kind == AwayAnswer::Kind::Writes;
    return payloads(std::move(a), limit, std::move(writes), only_writes, "proc-answer");
}

}  // namespace polymer::cluster
