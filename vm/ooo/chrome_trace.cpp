#include "vm/ooo/chrome_trace.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "vm/ooo/track_rows.h"

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

// One group of tracks: its slices' spans in the order they are written, and
// the row (track) of each.
struct Group {
    std::string name;
    std::vector<Span> spans;
    std::vector<std::uint32_t> row;
    unsigned rows = 1;  // a group with no slice still has its (empty) track
    unsigned first_tid = 0;
    std::size_t written = 0;

    unsigned next_tid() { return first_tid + row[written++]; }
};

Span rob_span(const InsnRecord& r) {
    const std::uint64_t end = r.retire_ns >= r.issue_ns ? r.retire_ns : r.exec_end_ns;
    return {r.issue_ns, std::max(end, r.issue_ns)};
}
bool has_backend_slice(const InsnRecord& r) { return r.long_op && r.exec_end_ns > r.exec_start_ns; }
Span place_span(const PlaceRun& r) { return {r.start_ns, std::max(r.end_ns, r.start_ns)}; }

std::string slice_head(std::string_view name, std::string_view cat, unsigned tid, Span s) {
    return "{\"name\":" + json_string(name) + ",\"cat\":" + json_string(cat) + ",\"ph\":\"X\",\"pid\":1,\"tid\":" +
           std::to_string(tid) + ",\"ts\":" + micros(s.begin) + ",\"dur\":" + micros(s.end - s.begin);
}

// "vadd @13"; a kernel's launch names its kernel: "launch saxpy @21",
// "kloop main.loop12 @5".
std::string record_name(const Module& m, const InsnRecord& r) {
    std::string name(op_info(r.op).mnemonic);
    if (r.pc < m.code.size()) {
        const std::uint32_t imm = word_field(m.code[r.pc], Field::Imm);
        const FormatInfo& f = format_info(op_info(r.op).format);
        for (std::size_t k = 0; k < f.count; ++k) {
            std::optional<std::uint32_t> kernel;
            if (f.operands[k].kind == OperandKind::LaunchSite && imm < m.launches.size()) kernel = m.launches[imm].kernel;
            if (f.operands[k].kind == OperandKind::LoopSite && imm < m.loop_kernels.size()) kernel = m.loop_kernels[imm].kernel;
            if (kernel && *kernel < m.kernels.size()) name += " " + m.kernels[*kernel].name;
        }
    }
    return name + " @" + std::to_string(r.pc);
}

// Each procedure's stretches on its track, and each message as a slice on
// the sender's track (at the send) and the receiver's (at the recv), joined
// by a flow arrow. The message slices nest inside the "runs" stretches
// around them, on the track's first row.
void write_procedures(std::ostream& out, const Module& m, const PipelineLog& log, std::vector<Group>& groups) {
    for (const ProcedureSpan& p : log.procedure_spans) {
        if (p.procedure >= log.procedures.size()) continue;
        out << slice_head(p.what, p.waiting ? "waiting" : "running", groups[p.procedure].next_tid(),
                          {p.start_ns, std::max(p.end_ns, p.start_ns)})
            << ",\"args\":{\"procedure\":" << json_string(log.procedures[p.procedure]) << "}},\n";
    }
    std::uint64_t id = 0;
    for (const MessageRecord& msg : log.messages) {
        ++id;
        if (msg.from >= log.procedures.size()) continue;
        const std::string channel = msg.channel < m.channels.size() ? m.channels[msg.channel].name : "?";
        const std::string& value = msg.value;
        const unsigned from_tid = groups[msg.from].first_tid;
        out << slice_head("send " + channel, "message", from_tid, {msg.sent_ns, msg.sent_ns + 1})
            << ",\"args\":{\"value\":" << json_string(value) << "}},\n";
        if (msg.received_ns == 0 || msg.to >= log.procedures.size()) continue;  // never taken
        const unsigned to_tid = groups[msg.to].first_tid;
        out << slice_head("recv " + channel, "message", to_tid, {msg.received_ns, msg.received_ns + 1})
            << ",\"args\":{\"value\":" << json_string(value) << "}},\n";
        out << "{\"name\":\"message\",\"cat\":\"message\",\"ph\":\"s\",\"id\":" << id << ",\"pid\":1,\"tid\":"
            << from_tid << ",\"ts\":" << micros(msg.sent_ns) << "},\n";
        out << "{\"name\":\"message\",\"cat\":\"message\",\"ph\":\"f\",\"bp\":\"e\",\"id\":" << id
            << ",\"pid\":1,\"tid\":" << to_tid << ",\"ts\":" << micros(msg.received_ns) << "},\n";
    }
}

}  // namespace

void write_chrome_trace(std::ostream& out, const Module& m, const PipelineLog& log) {
    // A program that spawns procedures (vm/procs/) gets, per procedure, a
    // track of its life (running, waiting for what) and a ROB track of its
    // own; one that does not, the single ROB track.
    const std::size_t procs = std::max<std::size_t>(1, log.procedures.size());
    const bool per_procedure = log.procedures.size() > 1;
    const std::size_t first_rob = per_procedure ? procs : 0;
    const std::size_t first_track = first_rob + procs;
    std::vector<Group> groups(first_track + log.tracks.size() + log.places.size());
    const std::size_t first_place = first_track + log.tracks.size();
    for (std::size_t p = 0; p < procs; ++p) {
        if (per_procedure) groups[p].name = "procedure " + log.procedures[p];
        groups[first_rob + p].name = per_procedure ? "ROB " + log.procedures[p] : "ROB";
    }
    for (std::size_t t = 0; t < log.tracks.size(); ++t) groups[first_track + t].name = "backend " + log.tracks[t];
    for (std::size_t p = 0; p < log.places.size(); ++p) groups[first_place + p].name = log.places[p];
    auto rob_of = [&](const InsnRecord& r) -> Group& {
        return groups[first_rob + (per_procedure && r.procedure < procs ? r.procedure : 0)];
    };
    for (const InsnRecord& r : log.records) {
        rob_of(r).spans.push_back(rob_span(r));
        if (has_backend_slice(r)) groups[first_track + r.track].spans.push_back({r.exec_start_ns, r.exec_end_ns});
    }
    if (per_procedure)
        for (const ProcedureSpan& p : log.procedure_spans)
            if (p.procedure < procs) groups[p.procedure].spans.push_back({p.start_ns, std::max(p.end_ns, p.start_ns)});
    for (const PlaceRun& r : log.place_runs) groups[first_place + r.place].spans.push_back(place_span(r));
    unsigned tid = 1;
    for (Group& g : groups) {
        g.row = assign_rows(g.spans);
        if (!g.row.empty()) g.rows = *std::max_element(g.row.begin(), g.row.end()) + 1;
        g.first_tid = tid;
        tid += g.rows;
    }

    out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    out << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"polymer-run\"}},\n";
    for (const Group& g : groups) {
        for (unsigned k = 0; k < g.rows; ++k) {
            const unsigned t = g.first_tid + k;
            const std::string name = k == 0 ? g.name : g.name + ", row " + std::to_string(k + 1);
            out << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << t << ",\"args\":{\"name\":"
                << json_string(name) << "}},\n";
            out << "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":" << t
                << ",\"args\":{\"sort_index\":" << t << "}},\n";
        }
    }
    for (const InsnRecord& r : log.records) {
        const std::string name = record_name(m, r);
        const std::string line = r.pc < m.lines.size() ? std::to_string(m.lines[r.pc].line) : "";
        out << slice_head(name, r.squashed ? "squashed" : "committed", rob_of(r).next_tid(), rob_span(r))
            << ",\"args\":{\"seq\":" << r.seq << ",\"line\":\"" << line
            << "\",\"speculative\":" << (r.speculative ? "true" : "false") << "}},\n";
        if (has_backend_slice(r)) {
            out << slice_head(name, r.squashed ? "squashed" : "long", groups[first_track + r.track].next_tid(),
                              {r.exec_start_ns, r.exec_end_ns})
                << ",\"args\":{\"seq\":" << r.seq << "}},\n";
        }
    }
    for (const PlaceRun& r : log.place_runs) {
        out << slice_head(r.name, r.outcome, groups[first_place + r.place].next_tid(), place_span(r))
            << ",\"args\":{\"launch\":" << r.launch << ",\"begin\":" << r.begin << ",\"end\":" << r.end
            << ",\"lanes\":" << r.end - r.begin << ",\"bytes_out\":" << r.bytes_out << ",\"bytes_in\":" << r.bytes_in
            << ",\"backup\":" << (r.backup ? "true" : "false") << ",\"applied\":" << (r.applied ? "true" : "false")
            << ",\"outcome\":" << json_string(r.outcome) << "}},\n";
    }
    if (per_procedure) write_procedures(out, m, log, groups);
    // A last metadata event, so every real event above can end with a comma.
    out << "{\"name\":\"truncated\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"truncated\":"
        << (log.truncated ? "true" : "false") << ",\"limit\":" << log.limit;
    if (!log.places.empty()) out << ",\"places_truncated\":" << (log.places_truncated ? "true" : "false");
    out << "}}\n]}\n";
}

}  // namespace polymer
