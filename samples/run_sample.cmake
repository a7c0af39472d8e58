# Runs one sample lesson and compares its standard output with the expected
# file, exactly. Usage:
#   cmake -DRUNNER=polymer-run [-DBACKEND=cpu|vulkan] -DPROGRAM=NN-name.pasm
#         [-DPROGRAM_ARGS="5 2.5 Ada"] [-DINPUT=NN-name.stdin]
#         -DEXPECTED=NN-name.expected -P run_sample.cmake
foreach(var RUNNER PROGRAM EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_sample.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "${PROGRAM}: no expected output file ${EXPECTED}")
endif()

# -DBACKEND=cpu|vulkan picks polymer-run's --backend (default: its own choice).
set(backend_args)
if(DEFINED BACKEND)
  set(backend_args --backend "${BACKEND}")
endif()
# -DRUN_ARGS="..." adds polymer-run options (lesson 16: --local-nodes 3).
set(extra_args)
if(DEFINED RUN_ARGS AND NOT RUN_ARGS STREQUAL "")
  separate_arguments(extra_args UNIX_COMMAND "${RUN_ARGS}")
endif()
# -DPROGRAM_ARGS="..." goes to the program after `--`; -DINPUT=FILE is its stdin.
set(program_args)
if(DEFINED PROGRAM_ARGS AND NOT PROGRAM_ARGS STREQUAL "")
  separate_arguments(program_args UNIX_COMMAND "${PROGRAM_ARGS}")
  list(PREPEND program_args --)
endif()
set(input_args)
if(DEFINED INPUT)
  set(input_args INPUT_FILE "${INPUT}")
endif()
execute_process(COMMAND "${RUNNER}" ${backend_args} ${extra_args} "${PROGRAM}" ${program_args}
                ${input_args}
                OUTPUT_VARIABLE actual
                ERROR_VARIABLE errors
                RESULT_VARIABLE status)
file(READ "${EXPECTED}" expected)

if(NOT status EQUAL 0)
  message(NOTICE "stderr:\n${errors}\nstdout so far:\n${actual}")
  message(FATAL_ERROR "${PROGRAM}: polymer-run exited with status ${status}")
endif()
if(actual STREQUAL expected)
  return()
endif()

# Write what came out next to the expected file's name and show a unified
# diff (diffutils is part of every Debian install); without diff, show both.
get_filename_component(name "${PROGRAM}" NAME_WE)
set(actual_file "${CMAKE_CURRENT_BINARY_DIR}/${name}.${BACKEND}.actual")
file(WRITE "${actual_file}" "${actual}")
find_program(DIFF diff)
if(DIFF)
  execute_process(COMMAND "${DIFF}" -u "${EXPECTED}" "${actual_file}"
                  OUTPUT_VARIABLE report)
else()
  set(report "expected:\n${expected}\nactual:\n${actual}")
endif()
# message(NOTICE) prints verbatim; FATAL_ERROR would re-flow the diff.
message(NOTICE "${report}")
message(FATAL_ERROR "${PROGRAM}: output differs from ${EXPECTED} "
                    "(actual output kept in ${actual_file})")
