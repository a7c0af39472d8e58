#include "vm/ooo/chrome_trace.h"

#include <cstdio>
#include <string>

namespace polymer {
namespace {

// Microseconds with three decimals: the trace format's unit is the microsecond.
std::string micros(std::uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ns / 1000),
                  static_cast<unsigned long long>(ns % 1000));
    return buf;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            continue;
        }
        out += c;
    }
    return out + "\"";
}

void thread_name(std::ostream& out, unsigned tid, std::string_view name) {
    out << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << tid << ",\"args\":{\"name\":"
        << json_string(name) << "}},\n";
}

}  // namespace

void write_chrome_trace(std::ostream& out, const Module& m, const PipelineLog& log) {
    out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    out << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"polymer-run\"}},\n";
    thread_name(out, 1, "ROB (issue -> commit)");
    for (std::size_t t = 0; t < log.tracks.size(); ++t) thread_name(out, static_cast<unsigned>(t + 2), "backend " + log.tracks[t]);
    const std::size_t first_place = log.tracks.size() + 2;
    for (std::size_t p = 0; p < log.places.size(); ++p) thread_name(out, static_cast<unsigned>(first_place + p), log.places[p]);
    for (const InsnRecord& r : log.records) {
        const std::string name = std::string(op_info(r.op).mnemonic) + " @" + std::to_string(r.pc);
        const std::string line = r.pc < m.lines.size() ? std::to_string(m.lines[r.pc].line) : "";
        const std::uint64_t end = r.retire_ns >= r.issue_ns ? r.retire_ns : r.exec_end_ns;
        out << "{\"name\":" << json_string(name) << ",\"cat\":\"" << (r.squashed ? "squashed" : "committed")
            << "\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":" << micros(r.issue_ns)
            << ",\"dur\":" << micros(end >= r.issue_ns ? end - r.issue_ns : 0) << ",\"args\":{\"seq\":" << r.seq
            << ",\"line\":\"" << line << "\",\"speculative\":" << (r.speculative ? "true" : "false") << "}},\n";
        if (r.long_op && r.exec_end_ns > r.exec_start_ns) {
            out << "{\"name\":" << json_string(name) << ",\"cat\":\"" << (r.squashed ? "squashed" : "long")
                << "\",\"ph\":\"X\",\"pid\":1,\"tid\":" << r.track + 2 << ",\"ts\":" << micros(r.exec_start_ns)
                << ",\"dur\":" << micros(r.exec_end_ns - r.exec_start_ns) << ",\"args\":{\"seq\":" << r.seq << "}},\n";
        }
    }
    for (const PlaceRun& r : log.place_runs) {
        out << "{\"name\":" << json_string(r.name) << ",\"cat\":" << json_string(r.outcome)
            << ",\"ph\":\"X\",\"pid\":1,\"tid\":" << first_place + r.place << ",\"ts\":" << micros(r.start_ns)
            << ",\"dur\":" << micros(r.end_ns >= r.start_ns ? r.end_ns - r.start_ns : 0) << ",\"args\":{\"launch\":" << r.launch
            << ",\"begin\":" << r.begin << ",\"end\":" << r.end << ",\"lanes\":" << r.end - r.begin
            << ",\"bytes_out\":" << r.bytes_out << ",\"bytes_in\":" << r.bytes_in
            << ",\"backup\":" << (r.backup ? "true" : "false") << ",\"applied\":" << (r.applied ? "true" : "false")
            << ",\"outcome\":" << json_string(r.outcome) << "}},\n";
    }
    // A last metadata event, so every real event above can end with a comma.
    out << "{\"name\":\"truncated\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"truncated\":"
        << (log.truncated ? "true" : "false") << ",\"limit\":" << log.limit;
    if (!log.places.empty()) out << ",\"places_truncated\":" << (log.places_truncated ? "true" : "false");
    out << "}}\n]}\n";
}

}  // namespace polymer
