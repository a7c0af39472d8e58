// Where the REPL's commands come from: a terminal (libedit: line editing,
// history kept in a file, tab completion) or a stream (a --batch file or a
// pipe: plain lines, no prompt).
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polymer::repl {

class LineReader {
public:
    virtual ~LineReader() = default;
    // The next line without its newline; nullopt at the end of input.
    virtual std::optional<std::string> read() = 0;
};

// Completion candidates for the word being typed; `first_word` says whether
// it is the command itself.
using Completer = std::function<std::vector<std::string>(bool first_word)>;

std::unique_ptr<LineReader> stream_reader(std::istream& in);
// Reads the history file now and appends each new line to it.
std::unique_ptr<LineReader> terminal_reader(std::string prompt, std::string history_file, Completer completer);

// $XDG_STATE_HOME/polymer/history when XDG_STATE_HOME is set, else
// ~/.polymer_history; empty when neither HOME nor XDG_STATE_HOME is set.
std::string default_history_file();

}  // namespace polymer::repl
