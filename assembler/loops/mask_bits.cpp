#include "assembler/loops/mask_bits.h"

#include <vector>

#include "isa/encoding.h"
#include "isa/opcodes.h"

namespace polymer::loops {
namespace {

// One item of a run of structured kernel code: a word, a mask `ori`, a
// block (if/else/end, loop/end) with the items inside it, or a word that
// leaves (break, continue, exit).
struct Item {
    enum class Kind { Word, Bits, If, Loop, Leave } kind = Kind::Word;
    std::size_t at = 0;                  // the word (a block's opening word)
    std::size_t else_at = 0, end_at = 0;  // a block's else (If, when has_else) and end
    bool has_else = false;
    bool ends_lane = false;               // Leave: `exit`, which leaves every loop too
    std::int32_t bits = 0;                // Bits: the ori's immediate
    std::vector<Item> first, second;      // If: its then and else parts; Loop: its body
};

// Reads code[pc, end) into items, stopping at an else or end that closes the
// caller's block.
class Reader {
public:
    Reader(const Kernel& k, std::size_t begin, std::size_t end, std::uint8_t mask)
        : k_(k), pc_(begin), end_(end), mask_(mask) {}

    std::vector<Item> items() {
        std::vector<Item> out;
        while (pc_ < end_) {
            const Word w = k_.code[pc_];
            const KOp op = static_cast<KOp>(word_op(w));
            const KEffect e = kop_effect(op);
            if (e == KEffect::Else || e == KEffect::End) break;
            Item it;
            it.at = pc_++;
            switch (e) {
            case KEffect::If:
                it.kind = Item::Kind::If;
                it.first = items();
                if (at(KEffect::Else)) it.has_else = true, it.else_at = pc_++, it.second = items();
                it.end_at = close();
                break;
            case KEffect::Loop:
                it.kind = Item::Kind::Loop;
                it.first = items();
                it.end_at = close();
                break;
            case KEffect::Break:
            case KEffect::Continue:
            case KEffect::Exit:
                it.kind = Item::Kind::Leave;
                it.ends_lane = e == KEffect::Exit;
                break;
            default:
                if (op == KOp::Ori && word_a(w) == mask_ && word_b(w) == mask_)
                    it.kind = Item::Kind::Bits, it.bits = word_imm(w);
            }
            out.push_back(std::move(it));
        }
        return out;
    }

    // Whether the items read are all of [begin, end), every block closed.
    bool whole() const { return well_formed_ && pc_ == end_; }

private:
    const Kernel& k_;
    std::size_t pc_, end_;
    std::uint8_t mask_;
    bool well_formed_ = true;

    std::size_t close() {
        if (!at(KEffect::End)) {
            well_formed_ = false;
            return pc_;
        }
        return pc_++;
    }

    bool at(KEffect e) const { return pc_ < end_ && kop_effect(static_cast<KOp>(word_op(k_.code[pc_]))) == e; }
};

bool ends_lane(const std::vector<Item>& items) {
    for (const Item& it : items)
        if (it.ends_lane || ends_lane(it.first) || ends_lane(it.second)) return true;
    return false;
}

// Whether control may leave the run the item is in other than by going on
// past it: a break or continue (a loop's own are its business), an exit.
bool may_leave(const Item& it) {
    switch (it.kind) {
    case Item::Kind::Leave: return true;
    case Item::Kind::If:
        for (const auto* part : {&it.first, &it.second})
            for (const Item& inner : *part)
                if (may_leave(inner)) return true;
        return false;
    case Item::Kind::Loop: return ends_lane(it.first);
    case Item::Kind::Word:
    case Item::Kind::Bits: return false;
    }
    return false;
}

std::int32_t run_sets(const std::vector<Item>& items);

// The bits set on every path from the item's start (until it ends or leaves).
std::int32_t sets(const Item& it) {
    switch (it.kind) {
    case Item::Kind::Bits: return it.bits;
    case Item::Kind::If: return run_sets(it.first) & run_sets(it.second);  // no else part: nothing
    case Item::Kind::Loop: return run_sets(it.first);                      // the body starts at least once
    case Item::Kind::Word:
    case Item::Kind::Leave: return 0;
    }
    return 0;
}

// The bits set on every path from the start of `items`: every item up to
// the first that may leave starts.
std::int32_t run_sets(const std::vector<Item>& items) {
    std::int32_t bits = 0;
    for (const Item& it : items) {
        bits |= sets(it);
        if (may_leave(it)) break;
    }
    return bits;
}

class Placer {
public:
    Placer(const Kernel& k, std::uint8_t mask) : k_(k), mask_(mask) {}

    // `known`: the bits set on every path here.
    void items(const std::vector<Item>& items, std::int32_t known) {
        for (std::size_t i = 0; i < items.size();) {
            std::size_t last = i;  // the run: [i, last]
            while (last + 1 < items.size() && !may_leave(items[last])) ++last;
            std::int32_t bits = 0;
            for (std::size_t j = i; j <= last; ++j) bits |= sets(items[j]);
            bits &= ~known;
            for (std::size_t j = i; j <= last; ++j) {
                if ((sets(items[j]) & bits) != 0) {  // the first item that sets one
                    ori(bits, k_.lines.empty() ? SourceLoc{} : k_.lines[items[j].at]);
                    known |= bits;
                    bits = 0;
                }
                item(items[j], known);
            }
            i = last + 1;
        }
    }

    std::vector<Word> code;
    std::vector<SourceLoc> lines;

private:
    const Kernel& k_;
    std::uint8_t mask_;

    void word(std::size_t at) {
        code.push_back(k_.code[at]);
        if (!k_.lines.empty()) lines.push_back(k_.lines[at]);
    }

    void ori(std::int32_t bits, SourceLoc at) {
        code.push_back(make_word(static_cast<std::uint8_t>(KOp::Ori), mask_, mask_, 0, bits));
        if (!k_.lines.empty()) lines.push_back(at);
    }

    void item(const Item& it, std::int32_t& known) {
        switch (it.kind) {
        case Item::Kind::Bits:
            if ((it.bits & ~known) != 0) ori(it.bits & ~known, k_.lines.empty() ? SourceLoc{} : k_.lines[it.at]);
            known |= it.bits;
            return;
        case Item::Kind::Word:
        case Item::Kind::Leave: return word(it.at);
        case Item::Kind::If:
            word(it.at);
            items(it.first, known);
            if (it.has_else) word(it.else_at), items(it.second, known);
            word(it.end_at);
            known |= sets(it);
            return;
        case Item::Kind::Loop:
            word(it.at);
            items(it.first, known);
            word(it.end_at);
            known |= sets(it);
            return;
        }
    }
};

}  // namespace

std::size_t place_mask_bits(Kernel& k, std::size_t begin, std::size_t end, std::uint8_t mask) {
    Reader reader(k, begin, end, mask);
    const std::vector<Item> items = reader.items();
    if (!reader.whole()) return end;  // not the writer's structured code: left as it is
    Placer placer(k, mask);
    placer.items(items, 0);
    const auto b = static_cast<std::ptrdiff_t>(begin), e = static_cast<std::ptrdiff_t>(end);
    k.code.erase(k.code.begin() + b, k.code.begin() + e);
    k.code.insert(k.code.begin() + b, placer.code.begin(), placer.code.end());
    if (!k.lines.empty()) {
        k.lines.erase(k.lines.begin() + b, k.lines.begin() + e);
        k.lines.insert(k.lines.begin() + b, placer.lines.begin(), placer.lines.end());
    }
    return begin + placer.code.size();
}

}  // namespace polymer::loops
