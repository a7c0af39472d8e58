#include "vm/output.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <utility>

namespace polymer {

OutputBuffer::OutputBuffer(int fd) : fd_(fd) {}
OutputBuffer::OutputBuffer(std::string* sink) : sink_(sink) {}
OutputBuffer::OutputBuffer(std::function<void(std::string_view)> sink) : pieces_(std::move(sink)) {}
OutputBuffer::~OutputBuffer() { flush(); }

void OutputBuffer::drain(const char* p, std::size_t n) {
    if (sink_ != nullptr) {
        sink_->append(p, n);
        return;
    }
    if (pieces_) {
        pieces_({p, n});
        return;
    }
    while (n > 0 && !failed_) {
        ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            failed_ = true;  // e.g. a closed pipe: drop the rest, the caller reports it
            return;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void OutputBuffer::flush() {
    if (used_ == 0) return;
    drain(buffer_, used_);
    used_ = 0;
}

void OutputBuffer::write_slow(std::string_view s) {
    flush();
    if (s.size() >= kCapacity) {
        drain(s.data(), s.size());
        return;
    }
    s.copy(buffer_, s.size());
    used_ = s.size();
}

void OutputBuffer::write_int(std::int64_t v) {
    char text[24];
    auto r = std::to_chars(text, text + sizeof text, v);
    write({text, static_cast<std::size_t>(r.ptr - text)});
}

void OutputBuffer::write_uint(std::uint64_t v) {
    char text[24];
    auto r = std::to_chars(text, text + sizeof text, v);
    write({text, static_cast<std::size_t>(r.ptr - text)});
}

void OutputBuffer::write_double(double v) {
    if (std::isnan(v)) return write("nan");  // to_chars would print "-nan" for a negative NaN
    if (std::isinf(v)) return write(v < 0 ? "-inf" : "inf");
    char text[32];
    auto r = std::to_chars(text, text + sizeof text, v);
    write({text, static_cast<std::size_t>(r.ptr - text)});
}

void OutputBuffer::write_fixed(double v, int decimals) {
    if (std::isnan(v) || std::isinf(v)) return write_double(v);
    decimals = std::clamp(decimals, 0, 64);  // the decoder allows 0..kMaxDigits
    // The longest: "-" + 309 integer digits + "." + decimals (at most kMaxDigits = 64).
    char text[400];
    auto r = std::to_chars(text, text + sizeof text, v, std::chars_format::fixed, decimals);
    write({text, static_cast<std::size_t>(r.ptr - text)});
}

void OutputBuffer::write_int_width(std::int64_t v, int width) {
    char text[24];
    auto r = std::to_chars(text, text + sizeof text, v);
    const auto n = static_cast<int>(r.ptr - text);
    for (int i = n; i < width; ++i) put(' ');
    write({text, static_cast<std::size_t>(n)});
}

void OutputBuffer::write_float(float v) {
    if (std::isnan(v)) return write("nan");
    if (std::isinf(v)) return write(v < 0 ? "-inf" : "inf");
    char text[32];
    auto r = std::to_chars(text, text + sizeof text, v);
    write({text, static_cast<std::size_t>(r.ptr - text)});
}

}  // namespace polymer
