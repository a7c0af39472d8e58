#include "cluster/address_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

std::string write_address_file(const std::string& path, const NodeAddress& address) {
    // The temp file sits beside PATH: rename() is atomic only within one file system.
    std::string temp = path + ".XXXXXX";
    const int fd = mkstemp(temp.data());
    if (fd < 0) return cat("--address-file: cannot create '", temp, "': ", std::strerror(errno));
    // mkstemp makes it 0600; a launcher running as another user may need to read it.
    fchmod(fd, 0644);
    const std::string line = format_address(address) + "\n";
    const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const int write_errno = errno;
    if (close(fd) != 0 || !written) {
        std::remove(temp.c_str());
        return cat("--address-file: cannot write '", temp, "': ", std::strerror(written ? errno : write_errno));
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(temp.c_str());
        return cat("--address-file: cannot rename '", temp, "' to '", path, "': ", std::strerror(e));
    }
    return {};
}

Result<std::optional<NodeAddress>> read_address_file(const std::string& path) {
    if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::optional<NodeAddress>{};
    std::ifstream in(path);
    if (!in) return Error{cat("address file '", path, "' cannot be read")};
    std::ostringstream text;
    text << in.rdbuf();
    std::string line = text.str();
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
        return Error{cat("address file '", path, "' is not one HOST:PORT line")};
    line.pop_back();
    auto parsed = parse_host_port(line);
    if (!parsed) return Error{cat("address file '", path, "': ", parsed.error())};
    return std::optional<NodeAddress>{parsed.value()};
}

}  // namespace polymer::cluster
