#include "cluster/residency.h"

#include <algorithm>
#include <iterator>

namespace polymer::cluster {

void Directory::track(const void* key, std::uint64_t length, bool zeros) {
    auto it = buffers_.find(key);
    if (it != buffers_.end() && it->second.length == length) return;
    Buffer b;
    b.length = length;
    if (length != 0) b.runs[0] = Entry{length, zeros ? kEveryone : kHomeMemory, false};
    buffers_[key] = std::move(b);
}

std::map<std::uint64_t, Directory::Entry>::iterator Directory::split(Buffer& b, std::uint64_t at) {
    auto it = b.runs.upper_bound(at);
    --it;  // the run holding `at` (runs cover [0, length))
    if (it->first == at) return it;
    Entry tail = it->second;
    it->second.end = at;
    return b.runs.emplace_hint(std::next(it), at, tail);
}

void Directory::merge_around(Buffer& b, std::uint64_t begin, std::uint64_t end) {
    auto it = b.runs.upper_bound(begin);
    if (it != b.runs.begin()) --it;
    if (it != b.runs.begin()) --it;  // the run before may now equal the first one
    while (it != b.runs.end() && it->first <= end) {
        auto next = std::next(it);
        if (next != b.runs.end() && next->second == it->second) {
            it->second.end = next->second.end;
            b.runs.erase(next);
            continue;
        }
        it = next;
    }
}

void Directory::update(Buffer& b, std::uint64_t begin, std::uint64_t end, const std::function<void(Entry&)>& f) {
    end = std::min(end, b.length);
    if (begin >= end) return;
    auto first = split(b, begin);
    if (end < b.length) split(b, end);
    for (auto it = first; it != b.runs.end() && it->first < end; ++it) f(it->second);
    merge_around(b, begin, end);
}

std::vector<DirectoryRun> Directory::runs(const void* key, std::uint64_t begin, std::uint64_t end) const {
    std::vector<DirectoryRun> out;
    auto bit = buffers_.find(key);
    if (bit == buffers_.end()) return out;
    const Buffer& b = bit->second;
    end = std::min(end, b.length);
    if (begin >= end) return out;
    auto it = b.runs.upper_bound(begin);
    --it;
    for (; it != b.runs.end() && it->first < end; ++it)
        out.push_back(DirectoryRun{std::max(begin, it->first), std::min(end, it->second.end), it->second.holders, it->second.logged_input});
    return out;
}

void Directory::set(const void* key, std::uint64_t begin, std::uint64_t end, HolderSet holders) {
    auto it = buffers_.find(key);
    if (it != buffers_.end()) update(it->second, begin, end, [holders](Entry& e) { e.holders = holders; });
}

void Directory::add(const void* key, std::uint64_t begin, std::uint64_t end, HolderSet more) {
    auto it = buffers_.find(key);
    if (it != buffers_.end()) update(it->second, begin, end, [more](Entry& e) { e.holders |= more; });
}

void Directory::mark_logged_input(const void* key, std::uint64_t begin, std::uint64_t end, bool logged) {
    auto it = buffers_.find(key);
    if (it != buffers_.end()) update(it->second, begin, end, [logged](Entry& e) { e.logged_input = logged; });
}

void Directory::clear_logged_inputs() {
    for (auto& [key, b] : buffers_) update(b, 0, b.length, [](Entry& e) { e.logged_input = false; });
}

void Directory::drop_holder(HolderSet gone, const std::function<void(const void*, std::uint64_t, std::uint64_t)>& lost) {
    for (auto& [key, b] : buffers_) {
        bool any = false;
        for (auto& [begin, e] : b.runs) {
            if (!(e.holders & gone)) continue;
            any = true;
            e.holders &= ~gone;
            if (e.holders == 0) lost(key, begin, e.end);
        }
        if (any) merge_around(b, 0, b.length);
    }
}

std::pair<std::uint64_t, std::uint64_t> Directory::read_hull(const void* key) const {
    auto bit = buffers_.find(key);
    if (bit == buffers_.end()) return {0, 0};
    std::uint64_t lo = 0, hi = 0;
    bool any = false;
    for (const auto& [begin, e] : bit->second.runs) {
        if (e.holders & kHomeMemory) continue;
        if (!any) lo = begin;
        hi = e.end;
        any = true;
    }
    return {lo, hi};
}

std::pair<std::uint64_t, std::uint64_t> Directory::write_hull(const void* key) const {
    auto bit = buffers_.find(key);
    if (bit == buffers_.end()) return {0, 0};
    std::uint64_t lo = 0, hi = 0;
    bool any = false;
    for (const auto& [begin, e] : bit->second.runs) {
        if (e.holders == kHomeMemory && !e.logged_input) continue;
        if (!any) lo = begin;
        hi = e.end;
        any = true;
    }
    return {lo, hi};
}

bool Directory::all_at_home() const {
    for (const auto& [key, b] : buffers_)
        for (const auto& [begin, e] : b.runs)
            if (!(e.holders & kHomeMemory)) return false;
    return true;
}

Directory::Held Directory::held_by(HolderSet who, const std::function<std::uint64_t(const void*)>& elem_size,
                                   std::uint64_t* bytes) const {
    Held h;
    if (bytes) *bytes = 0;
    for (const auto& [key, b] : buffers_)
        for (const auto& [begin, e] : b.runs) {
            if (!(e.holders & who) || unwritten(e.holders)) continue;
            ++h.runs;
            h.elements += e.end - begin;
            if (bytes) *bytes += (e.end - begin) * elem_size(key);
        }
    return h;
}

void Directory::each(const std::function<void(const void*, const std::vector<DirectoryRun>&)>& f) const {
    for (const auto& [key, b] : buffers_) f(key, runs(key, 0, b.length));
}

}  // namespace polymer::cluster
