// What polymer-node tells a service manager that started it with
// Type=notify (systemd sets $NOTIFY_SOCKET): ready, with where it listens,
// and stopping. libsystemd's sd_notify does the sending; without
// $NOTIFY_SOCKET each call does nothing.
#pragma once

#include <string>

namespace polymer::tools {

// READY=1 and STATUS=<status> (what `systemctl status` shows).
void notify_ready(const std::string& status);
// STOPPING=1: the shutdown has begun.
void notify_stopping();

}  // namespace polymer::tools
