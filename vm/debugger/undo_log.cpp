#include "vm/debugger/undo_log.h"

#include <bit>
#include <cstring>

namespace polymer::debugger {

std::uint64_t UndoEntry::snapshot_bytes() const {
    std::uint64_t n = 0;
    for (const RegionSnapshot& s : snapshots) n += s.bytes.size();
    return n;
}

UndoEntry& UndoLog::begin(const Machine& m) {
    if (max_steps_ == 0) {
        clear();
        truncated_ = true;
    }
    while (entries_.size() >= std::max<std::size_t>(max_steps_, 1)) evict_oldest();
    UndoEntry& e = entries_.emplace_back();
    e.pc = m.pc();
    e.steps = m.steps();
    e.call_depth = static_cast<std::uint32_t>(m.call_depth());
    e.value_depth = static_cast<std::uint32_t>(m.value_depth());
    return e;
}

bool UndoLog::snapshot_region(const Machine& m, std::uint32_t r) {
    const Region& g = m.regions()[r];
    const std::uint64_t bytes = g.bytes();
    if (bytes > max_snapshot_bytes_) {
        clear();  // the current entry too: this step and all before it can no longer be undone
        truncated_ = true;
        return false;
    }
    while (snapshot_bytes_ + bytes > max_snapshot_bytes_ && entries_.size() > 1) evict_oldest();
    m.bring_home(g, 0, g.length, HomeAccess::Read);  // the snapshot holds the current values
    RegionSnapshot s;
    s.region = r;
    s.length = g.length;
    s.bytes.resize(bytes);
    if (bytes != 0) std::memcpy(s.bytes.data(), g.data, bytes);
    entries_.back().snapshots.push_back(std::move(s));
    snapshot_bytes_ += bytes;
    return true;
}

bool UndoLog::add_snapshot(std::uint32_t r, std::uint64_t length, const std::vector<std::byte>& bytes) {
    if (bytes.size() > max_snapshot_bytes_) {
        clear();
        truncated_ = true;
        return false;
    }
    while (snapshot_bytes_ + bytes.size() > max_snapshot_bytes_ && entries_.size() > 1) evict_oldest();
    RegionSnapshot s;
    s.region = r;
    s.length = length;
    s.bytes.resize(bytes.size());
    if (!bytes.empty()) std::memcpy(s.bytes.data(), bytes.data(), bytes.size());
    entries_.back().snapshots.push_back(std::move(s));
    snapshot_bytes_ += bytes.size();
    return true;
}

UndoEntry UndoLog::undo_last(Machine& m) {
    UndoEntry e = std::move(entries_.back());
    entries_.pop_back();
    snapshot_bytes_ -= e.snapshot_bytes();
    // Newest change first: snapshots, then the element, registers, stacks.
    for (auto s = e.snapshots.rbegin(); s != e.snapshots.rend(); ++s) {
        Region& g = m.regions()[s->region];
        // The home's copy becomes whole again: values kept elsewhere are of a later step.
        m.backend().forget_region(g);
        if (g.length != s->length) {
            if (s->length == 0) m.regions().release(g, nullptr);
            else m.regions().allocate(g, static_cast<std::int64_t>(s->length), nullptr);
        }
        if (!s->bytes.empty() && g.data != nullptr) std::memcpy(g.data, s->bytes.data(), s->bytes.size());
    }
    if (e.has_element) {
        Region& g = m.regions()[e.element_region];
        if (e.element_offset + e.element_size <= g.bytes()) {
            const std::uint64_t i = e.element_offset / e.element_size;
            m.bring_home(g, i, i + 1, HomeAccess::Write);
            std::memcpy(static_cast<std::uint8_t*>(g.data) + e.element_offset, e.element_bytes, e.element_size);
        }
    }
    for (int k = e.register_writes - 1; k >= 0; --k) {
        const UndoEntry::RegisterWrite& w = e.registers[k];
        if (w.is_float) m.set_float_reg(w.index, std::bit_cast<double>(w.bits));
        else m.set_int_reg(w.index, static_cast<std::int64_t>(w.bits));
    }
    if (e.has_call_slot) m.restore_call_slot(e.call_slot, e.call_slot_pc);
    if (e.has_value_slot) m.restore_value_slot(e.value_slot, e.value_slot_bits);
    m.restore_position(e.pc, e.steps, e.call_depth, e.value_depth);
    return e;
}

void UndoLog::clear() {
    entries_.clear();
    snapshot_bytes_ = 0;
    truncated_ = false;
}

void UndoLog::set_max_steps(std::size_t n) {
    max_steps_ = n;
    while (entries_.size() > max_steps_) evict_oldest();
}

void UndoLog::evict_oldest() {
    snapshot_bytes_ -= entries_.front().snapshot_bytes();
    entries_.pop_front();
    truncated_ = true;
}

}  // namespace polymer::debugger
