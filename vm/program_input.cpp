#include "vm/program_input.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

namespace polymer {

namespace {

constexpr std::size_t kChunk = 1 << 16;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// from_chars takes no '+'; a sign in front of another sign is not a number.
std::string_view without_plus(std::string_view text) {
    if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
    return text;
}

}  // namespace

bool InputStream::fill() {
    if (at_end_) return false;
    // Drop what was read, so a long input is not kept whole.
    buffer_.erase(0, pos_);
    pos_ = 0;
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    if (before_read_) before_read_();
    ssize_t n = 0;
    do n = ::read(fd_, buffer_.data() + old, kChunk);
    while (n < 0 && errno == EINTR);
    buffer_.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
    if (n <= 0) at_end_ = true;  // a read error ends the input like end of file
    return n > 0;
}

void InputStream::consume(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (buffer_[pos_ + i] == '\n') ++line_;
    pos_ += n;
}

std::optional<std::string> InputStream::read_line() {
    std::size_t scanned = 0;  // bytes after pos_ known to hold no '\n'
    for (;;) {
        const std::size_t nl = buffer_.find('\n', pos_ + scanned);
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(pos_, nl - pos_);
            consume(nl - pos_ + 1);
            return line;
        }
        scanned = buffer_.size() - pos_;
        if (!fill()) break;
    }
    if (pos_ == buffer_.size()) return std::nullopt;
    std::string line = buffer_.substr(pos_);
    consume(line.size());
    return line;
}

std::optional<std::string> InputStream::read_word() {
    for (;;) {
        while (pos_ < buffer_.size() && is_space(buffer_[pos_])) consume(1);
        if (pos_ < buffer_.size() || !fill()) break;
    }
    if (pos_ == buffer_.size()) return std::nullopt;
    std::size_t end = pos_;
    for (;;) {
        while (end < buffer_.size() && !is_space(buffer_[end])) ++end;
        if (end < buffer_.size()) break;
        const std::size_t offset = end - pos_;
        if (!fill()) break;
        end = pos_ + offset;  // fill() moved the unread bytes to the front
    }
    std::string word = buffer_.substr(pos_, end - pos_);
    consume(word.size());
    return word;
}

NumberText parse_int(std::string_view text, std::int64_t& value) {
    text = without_plus(text);
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
    if (ec == std::errc::result_out_of_range && ptr == end) return NumberText::OutOfRange;
    return ec == std::errc() && ptr == end && !text.empty() ? NumberText::Ok : NumberText::NotANumber;
}

NumberText parse_float(std::string_view text, double& value) {
    text = without_plus(text);
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
    if (ec == std::errc::result_out_of_range && ptr == end) return NumberText::OutOfRange;
    return ec == std::errc() && ptr == end && !text.empty() ? NumberText::Ok : NumberText::NotANumber;
}

std::string quote_input(std::string_view text) {
    constexpr std::size_t kShown = 40;
    if (text.size() <= kShown) return "'" + std::string(text) + "'";
    return "'" + std::string(text.substr(0, kShown)) + "...' (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace polymer
