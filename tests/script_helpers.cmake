# Shared by the test scripts run with `cmake -P` (tests/embed/package_test.cmake,
# tests/package/deb_test.cmake).

# run(WHAT COMMAND...): runs COMMAND, fails the test with its output unless it
# exits 0, and leaves its standard output in `out` and its standard error in `err`.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
