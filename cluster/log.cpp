#include "cluster/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace polymer::cluster {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::mutex g_mutex;
std::string g_name = "polymer-node";

const char* level_name(LogLevel l) {
    switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    }
    return "?";
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void set_log_name(std::string name) {
    std::lock_guard lock(g_mutex);
    g_name = std::move(name);
}

constexpr LogLevel kLevels[] = {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error};

std::vector<std::string> log_level_names() {
    std::vector<std::string> names;
    for (LogLevel l : kLevels) names.emplace_back(level_name(l));
    return names;
}

bool parse_log_level(std::string_view text, LogLevel& level) {
    for (LogLevel l : kLevels) {
        if (text == level_name(l)) {
            level = l;
            return true;
        }
    }
    return false;
}

void say_on_stderr(LogLevel level, const std::string& text) {
    const char* kind = level == LogLevel::Error ? "error" : level == LogLevel::Warn ? "warning" : "note";
    std::fprintf(stderr, "polymer-run: %s: %s\n", kind, text.c_str());
}

void log_line(LogLevel level, std::string_view message, bool always) {
    if (!always && static_cast<int>(level) < g_level.load()) return;
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t secs = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s.%03dZ %s %s: %.*s\n", stamp, static_cast<int>(ms), g_name.c_str(), level_name(level),
                 static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}

}  // namespace polymer::cluster
