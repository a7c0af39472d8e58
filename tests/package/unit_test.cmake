# service.unit (tests/package/CMakeLists.txt): polymer-node's systemd unit as
# the package installs it (the runtime component under DESTDIR, prefix /usr):
#   1. `systemd-analyze verify` finds no error in it (an unknown key, a bad
#      value, an ExecStart that is not the installed polymer-node all fail);
#   2. `systemd-analyze security --offline` rates its exposure at most
#      MAX_EXPOSURE (0-100; 19 when written, "1.9 OK"), so hardening that
#      goes missing fails here.
# Arguments: BUILD_DIR WORK_DIR SYSTEMD_ANALYZE MAX_EXPOSURE UNIT_DIR.
if(NOT SYSTEMD_ANALYZE OR NOT EXISTS "${SYSTEMD_ANALYZE}")
  message(FATAL_ERROR "systemd-analyze was not found when the build was configured: install Debian's systemd "
                      "package (scripts/setup.sh) and configure again")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/../script_helpers.cmake)  # run()

set(root ${WORK_DIR}/root)
run("install the runtime component" ${CMAKE_COMMAND} -E env DESTDIR=${root}
    ${CMAKE_COMMAND} --install ${BUILD_DIR} --component runtime --prefix /usr)
set(unit ${root}/usr/${UNIT_DIR}/polymer-node.service)
if(NOT EXISTS ${unit})
  message(FATAL_ERROR "the runtime component installed no ${unit}")
endif()
file(STRINGS ${unit} exec_start REGEX "^ExecStart=")
if(NOT exec_start STREQUAL "ExecStart=/usr/bin/polymer-node $POLYMER_NODE_ARGS")
  message(FATAL_ERROR "the installed unit says '${exec_start}', not the installed polymer-node")
endif()

# --recursive-errors=no: the units it depends on belong to the host's systemd,
# not to this tree; --man=no: it names no man page.
run("systemd-analyze verify" ${SYSTEMD_ANALYZE} verify --recursive-errors=no --man=no --root=${root} ${unit})
if(NOT err STREQUAL "")
  message(FATAL_ERROR "systemd-analyze verify complained:\n${err}")
endif()
execute_process(COMMAND ${SYSTEMD_ANALYZE} security --offline=true --threshold=${MAX_EXPOSURE} --no-pager
                        --root=${root} ${unit}
                RESULT_VARIABLE rc OUTPUT_VARIABLE report ERROR_VARIABLE report)
string(REGEX MATCH "Overall exposure level[^\n]*" overall "${report}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the unit is less hardened than ${MAX_EXPOSURE}/100 (${overall}):\n${report}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "the unit verifies; ${overall}")
