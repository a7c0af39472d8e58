# tools.usage.TOOL: a usage error (here an unknown option) exits 64 (EX_USAGE,
# src/tools/exit_status.h) with `TOOL: error: ...` naming the option and a hint
# to run --help on stderr, and nothing on stdout.
# Arguments: TOOL (the executable) NAME (its name) ARGS (;-list).
execute_process(COMMAND ${TOOL} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 64)
  message(FATAL_ERROR "${NAME} ${ARGS} exited ${rc}, not 64:\n${err}")
endif()
if(NOT err MATCHES "^${NAME}: error: [^\n]*${EXPECT}[^\n]*\nRun '${NAME} --help' for the options.\n$")
  message(FATAL_ERROR "${NAME} ${ARGS}: stderr is not '${NAME}: error: ...${EXPECT}...' and the --help hint:\n${err}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "${NAME} ${ARGS} printed on stdout:\n${out}")
endif()
