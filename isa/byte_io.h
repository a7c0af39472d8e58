// Little-endian byte writing and bounds-checked reading for the .pbc format
// (docs/module-format.md). The reader never reads or allocates past the bytes
// it was given: every length is checked against what is left first.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace polymer::pbc {

struct Hex {
    std::uint64_t value;
};
inline std::ostream& operator<<(std::ostream& os, Hex h) {
    return os << "0x" << std::hex << h.value << std::dec;
}

// Builds a one-line message from any streamable parts (only on error paths).
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
}

class ByteWriter {
public:
    // Room for a typical message up front: a chan-frame is ~90 bytes, and
    // growing from nothing took eight allocations, most of its encoding's time.
    ByteWriter() { out_.resize(kFirstCapacity); }
    static constexpr std::size_t kFirstCapacity = 128;

    void u8(std::uint8_t v) { *room(1) = v; }
    void u16(std::uint16_t v) { put<2>(v); }
    void u32(std::uint32_t v) { put<4>(v); }
    void u64(std::uint64_t v) { put<8>(v); }
    void i64(std::int64_t v) { put<8>(static_cast<std::uint64_t>(v)); }
    void f64(double v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        put<8>(bits);
    }
    // A string is its byte length (u32) followed by the bytes.
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        if (!s.empty()) std::memcpy(room(s.size()), s.data(), s.size());
    }
    void bytes(std::span<const std::uint8_t> b) {
        if (!b.empty()) std::memcpy(room(b.size()), b.data(), b.size());
    }
    void pad_to(std::size_t alignment) {
        while (size_ % alignment != 0) u8(0);
    }
    // Overwrites 8 bytes written earlier (section table entries).
    void patch_u64(std::size_t at, std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out_[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    std::size_t size() const { return size_; }
    std::vector<std::uint8_t> take() {
        out_.resize(size_);
        size_ = 0;
        return std::move(out_);
    }

private:
    // Fields go into room made ahead (the vector's size runs ahead of
    // size_), a compare and a copy each: this encodes every message between
    // procedures, where byte-by-byte push_back was a third of the time.
    [[gnu::always_inline]] std::uint8_t* room(std::size_t n) {
        if (out_.size() - size_ < n) [[unlikely]]
            grow(n);
        std::uint8_t* at = out_.data() + size_;
        size_ += n;
        return at;
    }
    [[gnu::noinline]] void grow(std::size_t n) { out_.resize(std::max(out_.size() * 2, size_ + n)); }
    template <int N>
    [[gnu::always_inline]] void put(std::uint64_t v) {
        std::uint8_t* at = room(N);
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(at, &v, N);
        } else {
            for (int i = 0; i < N; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
        }
    }
    std::vector<std::uint8_t> out_;  // [0, size_) written, the rest room
    std::size_t size_ = 0;
};

// Reads fields from [begin, end) of a file. The first failure is kept and every
// later read returns 0 without moving, so loops over checked counts end at once;
// callers test ok() before trusting what they read.
class ByteReader {
public:
    ByteReader(std::span<const std::uint8_t> file, std::size_t begin, std::size_t end, std::string context)
        : file_(file), pos_(begin), end_(end), context_(std::move(context)) {}
    // The context as two static strings ("chan-frame", " payload"), joined
    // only when a message needs them: a frame's decoding allocates nothing
    // for it (it runs at every message between procedures).
    ByteReader(std::span<const std::uint8_t> file, std::size_t begin, std::size_t end, const char* context, const char* context_tail)
        : file_(file), pos_(begin), end_(end), context_head_(context), context_tail_(context_tail) {}

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    std::size_t pos() const { return pos_; }
    std::size_t remaining() const { return end_ - pos_; }

    // Names the entry being read, for messages: "procedure 3", "kernel 1 param 2".
    void entry(const char* kind, std::uint64_t index) {
        kind_ = kind;
        index_ = index;
        sub_kind_ = nullptr;
    }
    // Back to naming no entry (fields of the section itself).
    void no_entry() { kind_ = nullptr; sub_kind_ = nullptr; }
    // The part of the entry being read: "param 2", or "code" when index is kNoIndex.
    static constexpr std::uint64_t kNoIndex = ~std::uint64_t{0};
    void sub_entry(const char* kind, std::uint64_t index = kNoIndex) {
        sub_kind_ = kind;
        sub_index_ = index;
    }

    std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(get<1>(what)); }
    std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(get<2>(what)); }
    std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(get<4>(what)); }
    std::uint64_t u64(const char* what) { return get<8>(what); }
    std::int64_t i64(const char* what) { return static_cast<std::int64_t>(get<8>(what)); }
    double f64(const char* what) {
        std::uint64_t bits = get<8>(what);
        double v;
        std::memcpy(&v, &bits, 8);
        return v;
    }

    // A flag byte: 0 or 1.
    bool flag(const char* what) {
        std::size_t at = pos_;
        std::uint8_t v = u8(what);
        if (v > 1) fail_at(at, cat(what, " is ", unsigned{v}, ", not 0 or 1"));
        return v == 1;
    }

    // A field that must be zero (reserved for later versions; keeps encodings canonical).
    void reserved(int bytes, const char* what) {
        std::size_t at = pos_;
        std::uint64_t v = 0;
        switch (bytes) {
        case 1: v = get<1>(what); break;
        case 2: v = get<2>(what); break;
        case 4: v = get<4>(what); break;
        default: v = get<8>(what); break;
        }
        if (v != 0) fail_at(at, cat(what, " is ", Hex{v}, ", must be 0"));
    }

    std::string str(const char* what) {
        std::uint32_t n = u32(what);
        std::span<const std::uint8_t> b = bytes(n, what);
        return std::string(b.begin(), b.end());
    }

    std::span<const std::uint8_t> bytes(std::uint64_t n, const char* what) {
        if (!ok()) return {};
        if (n > remaining()) {
            fail(cat(what, ": ", n, " bytes run past the end of the section (", remaining(), " left)"));
            return {};
        }
        std::span<const std::uint8_t> b = file_.subspan(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return b;
    }

    // Reads an entry count and checks that `count` entries of at least
    // `min_entry_bytes` each fit in what is left, so the caller may reserve.
    std::uint32_t count(std::size_t min_entry_bytes, const char* what) {
        std::size_t at = pos_;
        std::uint32_t n = u32(what);
        if (ok() && std::uint64_t{n} * min_entry_bytes > remaining()) {
            fail_at(at, cat(what, ": ", n, " entries need at least ", std::uint64_t{n} * min_entry_bytes,
                            " bytes but only ", remaining(), " are left in the section"));
            return 0;
        }
        return ok() ? n : 0;
    }

    void expect_end() {
        if (ok() && pos_ != end_)
            fail(cat(remaining(), " unexpected bytes after the last field of the section"));
    }

    void fail(std::string message) { fail_at(pos_, std::move(message)); }
    void fail_at(std::size_t at, std::string message) {
        if (!ok()) return;
        std::ostringstream os;
        if (context_head_) os << context_head_ << context_tail_;
        else os << context_;
        os << ", byte " << Hex{at} << ": ";
        if (kind_) {
            os << kind_ << ' ' << index_;
            if (sub_kind_) os << ' ' << sub_kind_;
            if (sub_kind_ && sub_index_ != kNoIndex) os << ' ' << sub_index_;
            os << ": ";
        }
        os << message;
        error_ = os.str();
        pos_ = end_;
    }

private:
    // A failed reader has pos_ == end_, so the one compare also sends every
    // read after a failure to the slow path.
    template <int N>
    [[gnu::always_inline]] std::uint64_t get(const char* what) {
        if (end_ - pos_ < static_cast<std::size_t>(N)) [[unlikely]]
            return short_read(N, what);
        std::uint64_t v = 0;
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(&v, file_.data() + pos_, N);
        } else {
            for (int i = 0; i < N; ++i) v |= std::uint64_t{file_[pos_ + i]} << (8 * i);
        }
        pos_ += N;
        return v;
    }
    [[gnu::noinline]] std::uint64_t short_read(int n, const char* what) {
        if (ok()) fail(cat(what, ": needs ", n, " bytes but the section ends after ", remaining()));
        return 0;
    }

    std::span<const std::uint8_t> file_;
    std::size_t pos_;
    std::size_t end_;
    std::string context_;
    const char* context_head_ = nullptr;  // with context_tail_: the context, when given as two static strings
    const char* context_tail_ = nullptr;
    std::string error_;
    const char* kind_ = nullptr;
    std::uint64_t index_ = 0;
    const char* sub_kind_ = nullptr;
    std::uint64_t sub_index_ = 0;
};

}  // namespace polymer::pbc
