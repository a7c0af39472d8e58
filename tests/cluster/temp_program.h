// Test helper: a program for polymer-run, written into gtest's temp
// directory under a name of `stem` and this process's id, and removed when
// the test program exits (each run of the suite used to leave its files).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace polymer::testing {

inline std::string temp_program(const std::string& stem, const std::string& text) {
    struct Written {
        std::mutex mutex;
        std::vector<std::string> paths;
        ~Written() {
            for (const std::string& p : paths) std::remove(p.c_str());
        }
    };
    static Written written;
    const std::string path = ::testing::TempDir() + stem + "-" + std::to_string(::getpid()) + ".pasm";
    std::ofstream(path) << text;
    std::lock_guard lock(written.mutex);
    written.paths.push_back(path);
    return path;
}

}  // namespace polymer::testing
