#include "cluster/descriptors.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "isa/byte_io.h"

namespace polymer::cluster {

std::string raise_descriptor_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::string("cannot read the descriptor limit: ") + std::strerror(errno);
    if (lim.rlim_cur == lim.rlim_max) return pbc::cat("descriptor limit ", lim.rlim_cur);
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        return pbc::cat("descriptor limit stays ", before, ": cannot raise it to ", lim.rlim_max, ": ", std::strerror(errno));
    return pbc::cat("descriptor limit raised from ", before, " to ", lim.rlim_max);
}

SpareDescriptor::SpareDescriptor() : fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

SpareDescriptor::~SpareDescriptor() {
    if (fd_ >= 0) ::close(fd_);
}

bool SpareDescriptor::accept_and_close(int listener) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    bool closed_one = false;
    pollfd ready{listener, POLLIN, 0};  // accept only what is waiting: never block
    if (::poll(&ready, 1, 0) == 1 && (ready.revents & POLLIN)) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            ::close(fd);
            closed_one = true;
        }
    }
    fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return closed_one;
}

}  // namespace polymer::cluster
