# Writes the seed corpus of each fuzz target under SEEDS/<target>:
#   fuzz_module_reader: the hand-built test modules and every lesson, assembled
#   fuzz_assembler:     every lesson's source, and a program that includes files
#   fuzz_frame_decoder: one well-formed frame of each message type
#   fuzz_node_session:  the same, after the byte that picks a handshake first
foreach(var SEEDS MODULE_SEEDS FRAME_SEEDS ASSEMBLER SAMPLES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "make_seeds.cmake: -D${var}=... is required")
  endif()
endforeach()
foreach(target fuzz_module_reader fuzz_assembler fuzz_frame_decoder fuzz_node_session)
  file(REMOVE_RECURSE ${SEEDS}/${target})
  file(MAKE_DIRECTORY ${SEEDS}/${target})
endforeach()

execute_process(COMMAND ${MODULE_SEEDS} ${SEEDS}/fuzz_module_reader RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "make_module_seeds failed (${status})")
endif()
execute_process(COMMAND ${FRAME_SEEDS} ${SEEDS}/fuzz_frame_decoder ${SEEDS}/fuzz_node_session RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "make_frame_seeds failed (${status})")
endif()
# The assembler target serves "lib.pasm" to `.include` (fuzz_assembler.cpp).
file(WRITE ${SEEDS}/fuzz_assembler/include.pasm
     ".equ N, 3\n.include \"lib.pasm\"\n.include \"self.pasm\"\n.proc main\n        li r2, -N\n        call lib\n        halt\n.end\n")
file(GLOB lessons ${SAMPLES}/[0-9][0-9]-*.pasm)
foreach(lesson IN LISTS lessons)
  get_filename_component(name ${lesson} NAME_WE)
  file(COPY ${lesson} DESTINATION ${SEEDS}/fuzz_assembler)
  execute_process(COMMAND ${ASSEMBLER} ${lesson} -o ${SEEDS}/fuzz_module_reader/${name}.pbc RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "polymer-as ${lesson} failed (${status})")
  endif()
endforeach()
