// Collects errors and warnings with their source position, GCC style.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "assembler/assembler.h"
#include "assembler/source_text.h"

namespace polymer::asm_detail {

// Keeps the first kMaxShown diagnostics (errors before warnings) and counts
// the rest, so a file of garbage gets a screenful, not a flood; echoed source lines are cut 120
// columns past the caret, and control bytes and bytes that are not UTF-8
// show as '?'.
class DiagnosticSink {
public:
    static constexpr std::size_t kMaxShown = 50;

    DiagnosticSink(std::string file, const SourceText& source) : file_(std::move(file)), source_(source) {}

    void error(std::uint32_t line, std::uint32_t col, std::string message) {
        add(Diagnostic::Severity::Error, line, col, std::move(message));
    }
    void warning(std::uint32_t line, std::uint32_t col, std::string message) {
        add(Diagnostic::Severity::Warning, line, col, std::move(message));
    }

    bool has_errors() const { return errors_ != 0; }
    std::size_t error_count() const { return errors_; }

    // All diagnostics, ordered by position (the passes report out of order).
    std::vector<Diagnostic> take_sorted();

private:
    // Diagnostics are kept with the line's number in the whole program (so
    // they sort in reading order) until take_sorted names their file.
    void add(Diagnostic::Severity s, std::uint32_t line, std::uint32_t col, std::string message);

    std::string file_;
    const SourceText& source_;
    std::vector<Diagnostic> list_;
    std::size_t errors_ = 0;
    std::size_t kept_errors_ = 0, kept_warnings_ = 0;
    std::size_t not_shown_ = 0, not_shown_errors_ = 0;
};

// The candidate closest to `word` by edit distance, or empty when none is
// close enough to be a likely typo.
std::string_view closest_name(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace polymer::asm_detail
