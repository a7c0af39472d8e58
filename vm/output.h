// The program's output: a buffered writer that the print instructions append
// to. It writes to a file descriptor (stdout for polymer-run), collects into
// a string (tests) or hands each piece to a function (the embedding API). The owner flushes it at exit and before any trap message,
// so the user sees every line the program printed before it stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace polymer {

class OutputBuffer {
public:
    // Writes to `fd` whenever the buffer fills and on flush().
    explicit OutputBuffer(int fd = 1);
    // Collects everything into `*sink` (on flush and when the buffer fills).
    explicit OutputBuffer(std::string* sink);
    // Hands every piece to `sink` (on flush and when the buffer fills); it must not throw.
    explicit OutputBuffer(std::function<void(std::string_view)> sink);
    ~OutputBuffer();  // flushes; never throws
    OutputBuffer(const OutputBuffer&) = delete;
    OutputBuffer& operator=(const OutputBuffer&) = delete;

    void write(std::string_view s) {
        if (s.size() > kCapacity - used_) {
            write_slow(s);
            return;
        }
        s.copy(buffer_ + used_, s.size());
        used_ += s.size();
    }
    void put(char c) {
        if (used_ == kCapacity) flush();
        buffer_[used_++] = c;
    }
    void write_int(std::int64_t v);
    void write_uint(std::uint64_t v);
    // Shortest text that reads back to exactly `v`; "inf", "-inf", "nan".
    void write_double(double v);
    void write_float(float v);  // the same for binary32
    // `v` in fixed notation with `decimals` digits after the point (none and
    // no point for 0), correctly rounded from its binary value, ties to even:
    // the digits do not depend on the C library or the locale. "inf",
    // "-inf", "nan" as write_double.
    void write_fixed(double v, int decimals);
    // `v` in decimal, right-aligned with spaces in `width` characters (a
    // longer number is written whole).
    void write_int_width(std::int64_t v, int width);

    void flush();
    bool failed() const { return failed_; }  // a write to the descriptor failed

private:
    static constexpr std::size_t kCapacity = 1 << 16;
    void write_slow(std::string_view s);
    void drain(const char* p, std::size_t n);

    int fd_ = -1;
    std::string* sink_ = nullptr;
    std::function<void(std::string_view)> pieces_;
    std::size_t used_ = 0;
    bool failed_ = false;
    char buffer_[kCapacity];
};

}  // namespace polymer
