// What the cluster benchmarks (resident_bench, jacobi_bench) share: running a
// whole process and timing it, reading --stats' traffic lines and the Dask
// scripts' `key value...` lines, medians and per-round ratios.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace cluster_bench {

using Clock = std::chrono::steady_clock;

struct Outcome {
    int status = -1;
    std::string out, err;
    double seconds = 0;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs `command` through the shell, stdout captured, stderr to a temp file.
inline Outcome run(const std::string& command) {
    const std::string err_path = "/tmp/polymer-bench-" + std::to_string(getpid()) + ".err";
    Outcome o;
    const auto t = Clock::now();
    FILE* p = popen((command + " 2>" + err_path).c_str(), "r");
    if (p == nullptr) return o;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) o.out.append(buf, n);
    const int status = pclose(p);
    o.seconds = std::chrono::duration<double>(Clock::now() - t).count();
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.err = read_file(err_path);
    std::remove(err_path.c_str());
    return o;
}

// A copy of `program` (in /tmp, its name ending in `tag`) with the text
// `from` replaced by `to`; none if `from` is not there. The caller removes it.
inline std::optional<std::string> with_replaced(const std::string& program, const std::string& from, const std::string& to,
                                                const std::string& tag) {
    std::string text = read_file(program);
    const std::size_t at = text.find(from);
    if (at == std::string::npos) return std::nullopt;
    text.replace(at, from.size(), to);
    const std::string path = "/tmp/polymer-bench-" + std::to_string(getpid()) + "-" + tag + ".pasm";
    std::ofstream(path) << text;
    return path;
}

inline std::optional<double> number(const std::string& s) {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// The nodes' traffic from --stats, summed over the "polymer-run: node ..."
// lines: payload bytes between the home and the nodes ("bytes out N in M"),
// and bytes the nodes fetched from each other (", from other nodes N": the
// receiving side only, so each byte once; absent while a node took none).
struct Traffic {
    double out = 0, in = 0, peer = 0;
    double total() const { return out + in + peer; }
};
inline Traffic traffic(const std::string& err) {
    Traffic t;
    std::istringstream lines(err);
    const std::regex home(", bytes out (\\d+) in (\\d+)"), peer(", from other nodes (\\d+)");
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("polymer-run: node ", 0) != 0) continue;
        std::smatch m;
        if (std::regex_search(line, m, home)) {
            t.out += number(m[1]).value_or(0);
            t.in += number(m[2]).value_or(0);
        }
        if (std::regex_search(line, m, peer)) t.peer += number(m[1]).value_or(0);
    }
    return t;
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A Dask script's lines "key v1 v2 ..." as key -> words (a key on several
// lines gets their words in order).
inline std::map<std::string, std::vector<std::string>> fields(const std::string& out) {
    std::map<std::string, std::vector<std::string>> f;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string key, w;
        words >> key;
        while (words >> w) f[key].push_back(w);
    }
    return f;
}

// "[min..max]", each printed with `format` (a printf conversion for a double).
inline std::string range(const std::vector<double>& v, const char* format) {
    char lo[32], hi[32];
    std::snprintf(lo, sizeof lo, format, *std::min_element(v.begin(), v.end()));
    std::snprintf(hi, sizeof hi, format, *std::max_element(v.begin(), v.end()));
    return std::string("[") + lo + ".." + hi + "]";
}

// The rounds' ratios a[i] / b[i] (both measured in round i).
inline std::vector<double> per_round(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> r;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) r.push_back(a[i] / b[i]);
    return r;
}
inline double ratios(const std::vector<double>& a, const std::vector<double>& b) { return median(per_round(a, b)); }

// "1.23x [1.01..1.50]": the median of the rounds' ratios and their range.
inline std::string ratio(const std::vector<double>& a, const std::vector<double>& b) {
    const std::vector<double> r = per_round(a, b);
    char m[32];
    std::snprintf(m, sizeof m, "%.2fx ", median(r));
    return m + range(r, "%.2f");
}

// polymer-node daemons started once and kept for the whole bench, as a home
// lab runs them under systemd (docs/deploy.md): a row run against them
// (`args()`) pays no node start-up, as Dask's rows pay no cluster start-up.
class RunningNodes {
public:
    RunningNodes(const std::string& polymer_node, int count) {
        char dir[] = "/tmp/polymer-bench-nodes-XXXXXX";
        if (mkdtemp(dir) == nullptr) return;
        dir_ = dir;
        token_ = dir_ + "/token";
        std::ofstream(token_) << "resident-bench-token-0123456789abcdef\n";
        chmod(token_.c_str(), 0600);
        std::string nodes;
        for (int i = 0; i < count; ++i) {
            const std::string address = dir_ + "/node-" + std::to_string(i) + ".address";
            const pid_t pid = fork();
            if (pid == 0) {
                execl(polymer_node.c_str(), polymer_node.c_str(), "--listen", "127.0.0.1:0", "--token-file", token_.c_str(),
                      "--address-file", address.c_str(), "--log-level", "warn", "--no-vulkan-probe", "--backend", "cpu",
                      static_cast<char*>(nullptr));
                _exit(127);
            }
            pids_.push_back(pid);
            std::string at;
            for (int wait = 0; wait < 500 && (at = read_file(address)).empty(); ++wait)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (at.empty()) return;
            at.erase(at.find_last_not_of(" \n") + 1);
            nodes += (nodes.empty() ? "" : ",") + at;
        }
        args_ = "--nodes " + nodes + " --token-file " + token_;
    }
    ~RunningNodes() {
        for (pid_t pid : pids_) kill(pid, SIGTERM);
        for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
        if (!token_.empty()) std::remove(token_.c_str());
        for (std::size_t i = 0; i < pids_.size(); ++i) std::remove((dir_ + "/node-" + std::to_string(i) + ".address").c_str());
        if (!dir_.empty()) rmdir(dir_.c_str());
    }
    RunningNodes(const RunningNodes&) = delete;
    RunningNodes& operator=(const RunningNodes&) = delete;
    // polymer-run's options to use them; empty when they did not come up.
    const std::string& args() const { return args_; }

private:
    std::string dir_, token_, args_;
    std::vector<pid_t> pids_;
};

}  // namespace cluster_bench
