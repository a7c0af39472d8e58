// measure RESULT_FILE COMMAND [ARGS...]
// Runs COMMAND with the caller's stdin/stdout/stderr, then writes
// "<wall seconds> <cpu seconds> <peak resident set KiB> <exit status>" to
// RESULT_FILE. Install-free replacement for GNU time's %e/%U+%S/%M: wall time
// from a monotonic clock; CPU time (user + system) and peak memory from
// getrusage(RUSAGE_CHILDREN) (Linux reports KiB). CPU time is the figure to
// compare on a machine shared with other work: waiting for a core is not in it.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: measure RESULT_FILE COMMAND [ARGS...]\n");
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid < 0) {
        std::perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        std::perror("measure: exec");
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) {
        std::perror("measure: waitpid");
        return 2;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::FILE* out = std::fopen(argv[1], "w");
    if (!out) {
        std::perror("measure: result file");
        return 2;
    }
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
    std::fprintf(out, "%.6f %.6f %ld %d\n", seconds, cpu, usage.ru_maxrss, code);
    std::fclose(out);
    return code;
}
