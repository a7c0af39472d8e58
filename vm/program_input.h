// What a program reads (docs/language.md, "Arguments and input"): its
// command-line arguments (`polymer-run prog.pasm -- ARGS...`) and its
// standard input. The machine holds the arguments in MachineOptions::args
// and reads input through an InputStream; both are read only by the input
// instructions (argc, argi, argf, args, readln, readi, readf), which run in
// program order in every execution mode, like output.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace polymer {

// A byte stream read on demand: from a file descriptor (stdin for
// polymer-run) or from a fixed text (tests). Reads only when the program
// asks for more, so an interactive program sees each line as it is typed.
class InputStream {
public:
    explicit InputStream(int fd) : fd_(fd) {}
    explicit InputStream(std::string text) : buffer_(std::move(text)), at_end_(true) {}
    InputStream(const InputStream&) = delete;
    InputStream& operator=(const InputStream&) = delete;

    // The next line without its '\n' (a last line without one counts too);
    // nullopt at the end of input.
    std::optional<std::string> read_line();
    // The next word: the bytes up to the next space, tab, newline, CR, VT or
    // FF, after skipping any. The byte after the word is not consumed.
    // nullopt when only whitespace is left.
    std::optional<std::string> read_word();
    // The line (from 1) of the last byte read, for messages.
    std::uint64_t line() const { return line_; }
    // Called before each read of the descriptor, which may block: polymer-run
    // flushes the program's output there, so a prompt is seen before the
    // program waits for its answer.
    void before_read(std::function<void()> f) { before_read_ = std::move(f); }

private:
    bool fill();  // reads more bytes; false at the end of input (or a read error)
    void consume(std::size_t n);

    int fd_ = -1;
    std::string buffer_;
    std::size_t pos_ = 0;  // the next unread byte of buffer_
    bool at_end_ = false;
    std::uint64_t line_ = 1;
    std::function<void()> before_read_;
};

// Text to number, the one parser for arguments and input: decimal only, an
// optional sign, nothing before or after. Floats as std::from_chars reads
// them (`1.5`, `-2e-3`, `inf`, `nan`), rounded to nearest.
enum class NumberText : std::uint8_t { Ok, NotANumber, OutOfRange };
NumberText parse_int(std::string_view text, std::int64_t& value);
NumberText parse_float(std::string_view text, double& value);

// How a message shows a text the program got: quoted, and cut at 40 bytes.
std::string quote_input(std::string_view text);

}  // namespace polymer
