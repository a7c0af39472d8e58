// Levelled, timestamped log lines on stderr, shared by the node's threads:
//   2026-11-25T07:40:01.123Z polymer-node[n1] warn: peer 127.0.0.1:5123: wrong token
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/byte_io.h"

namespace polymer::cluster {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_log_level(LogLevel level);
void set_log_name(std::string name);
bool parse_log_level(std::string_view text, LogLevel& level);
// "debug", "info", "warn", "error": the names parse_log_level takes (--log-level's choices).
std::vector<std::string> log_level_names();
// `always`: written whatever the level (the start-up address line tests read).
void log_line(LogLevel level, std::string_view message, bool always = false);

// Whether lines of this level are written (--log-level).
bool log_enabled(LogLevel level);

// Formats the line only when its level is written (debug lines cost nothing otherwise).
template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
    if (log_enabled(level)) log_line(level, pbc::cat(parts...));
}

// Where the home's side of the cluster (ClusterBackend, NodeRoster) tells
// the user something: polymer-run's stderr by default ("polymer-run:
// warning: TEXT"), a node's log when a procedure there launches over the
// cluster (cluster/procedure_cluster.h).
using Say = std::function<void(LogLevel, const std::string&)>;
// "polymer-run: note: TEXT" (Debug, Info), "polymer-run: warning: TEXT",
// "polymer-run: error: TEXT", on stderr.
void say_on_stderr(LogLevel level, const std::string& text);

}  // namespace polymer::cluster
