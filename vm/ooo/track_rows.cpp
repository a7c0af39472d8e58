#include "vm/ooo/track_rows.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <queue>
#include <utility>

namespace polymer {

std::vector<std::uint32_t> assign_rows(const std::vector<Span>& spans) {
    std::vector<std::size_t> order(spans.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return spans[a].begin != spans[b].begin ? spans[a].begin < spans[b].begin : spans[a].end < spans[b].end;
    });
    using Busy = std::pair<std::uint64_t, std::uint32_t>;  // (end, row)
    std::priority_queue<Busy, std::vector<Busy>, std::greater<>> busy;
    std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> free;
    std::uint32_t rows = 0;
    std::vector<std::uint32_t> row(spans.size());
    for (std::size_t i : order) {
        while (!busy.empty() && busy.top().first <= spans[i].begin) {
            free.push(busy.top().second);
            busy.pop();
        }
        if (free.empty()) {
            row[i] = rows++;
        } else {
            row[i] = free.top();
            free.pop();
        }
        busy.push({std::max(spans[i].begin, spans[i].end), row[i]});
    }
    return row;
}

}  // namespace polymer
