#include "cluster/vector_plan.h"

#include <algorithm>

namespace polymer::cluster {

std::vector<VectorPiece> plan_vector_pieces(std::uint64_t n, std::uint64_t align, std::span<const OperandRun> runs,
                                            std::span<const HolderSet> candidates, std::size_t fallback) {
    if (n == 0) return {};
    if (align == 0) align = 1;
    std::vector<std::uint64_t> cuts{0, n};
    for (const OperandRun& r : runs)
        for (std::uint64_t at : {r.begin, r.end})
            if (at < n) cuts.push_back(at / align * align);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

    std::vector<VectorPiece> pieces;
    std::vector<std::uint64_t> weight(candidates.size());
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        const std::uint64_t b = cuts[k], e = cuts[k + 1];
        std::fill(weight.begin(), weight.end(), 0);
        for (const OperandRun& r : runs) {
            const std::uint64_t lo = std::max(b, r.begin), hi = std::min(e, r.end);
            if (lo >= hi) continue;
            for (std::size_t c = 0; c < candidates.size(); ++c)
                if (r.holders & candidates[c]) weight[c] += (hi - lo) * r.elem_bytes;
        }
        std::size_t runner = fallback;
        std::uint64_t best = 0;
        for (std::size_t c = 0; c < candidates.size(); ++c)
            if (weight[c] > best) best = weight[c], runner = c;
        if (!pieces.empty() && pieces.back().runner == runner && pieces.back().end == b) pieces.back().end = e;
        else pieces.push_back(VectorPiece{b, e, runner});
    }
    return pieces;
}

}  // namespace polymer::cluster
