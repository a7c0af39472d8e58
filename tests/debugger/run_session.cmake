# Replays a scripted debugger session and compares everything it prints with
# a transcript, exactly. Usage:
#   cmake -DRUNNER=polymer-run -DPROGRAM=x.pasm -DSCRIPT=x.gdb -DEXPECTED=x.transcript [-DEXEC=ooo] -P run_session.cmake
foreach(var RUNNER PROGRAM SCRIPT EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_session.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED EXEC)
  set(EXEC in-order)
endif()
execute_process(COMMAND "${RUNNER}" --backend cpu --exec "${EXEC}" --batch "${SCRIPT}" "${PROGRAM}"
                OUTPUT_VARIABLE actual
                ERROR_VARIABLE errors
                RESULT_VARIABLE status)
file(READ "${EXPECTED}" expected)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${SCRIPT}: polymer-run exited with status ${status}\nstderr:\n${errors}")
endif()
if(NOT actual STREQUAL expected)
  get_filename_component(name "${SCRIPT}" NAME_WE)
  set(actual_file "${CMAKE_CURRENT_BINARY_DIR}/${name}.transcript.actual")
  file(WRITE "${actual_file}" "${actual}")
  execute_process(COMMAND diff -u "${EXPECTED}" "${actual_file}" OUTPUT_VARIABLE report)
  message(NOTICE "${report}")
  message(FATAL_ERROR "${SCRIPT}: the session differs from ${EXPECTED} (actual kept in ${actual_file})")
endif()
