# The installed package as a user meets it (tests/embed/CMakeLists.txt):
#   1. `cmake --install` this build into WORK_DIR/prefix;
#   2. configure and build the installed examples/ with find_package(Polymer);
#   3. run the example on the CPU and on Vulkan and check what it prints;
#   4. run lessons with the installed polymer-run, once with --local-nodes
#      (the polymer-node beside it must be found in the prefix), once one that
#      includes the installed library;
#   5. check that the editor, shell and package files are where docs/embedding.md says.
# Arguments: BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER [CXX_LAUNCHER].
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

include(${CMAKE_CURRENT_LIST_DIR}/../script_helpers.cmake)  # run()

function(expect_match what text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: expected output matching\n  ${regex}\ngot\n${text}")
  endif()
endfunction()

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

set(launcher "")
if(CXX_LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER})
endif()
run("configuring the installed examples" ${CMAKE_COMMAND} -S ${prefix}/share/doc/polymer/examples -B ${WORK_DIR}/example
    -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} ${launcher})
run("building the examples" ${CMAKE_COMMAND} --build ${WORK_DIR}/example)

foreach(backend cpu vulkan)
  run("saxpy_embed ${backend}" ${WORK_DIR}/example/saxpy_embed ${backend} 1000)
  expect_match("saxpy_embed ${backend}" "${out}"
               "program printed: saxpy over 1000 elements\nz\\[0\\] = 0, z\\[999\\] = 2003\nsum of z: 1001997 \\(program\\), 1001997 \\(C\\+\\+\\)\nbackend: ${backend}")
endforeach()

file(READ ${SOURCE_DIR}/samples/01-hello.expected hello)
run("installed polymer-run" ${prefix}/bin/polymer-run ${prefix}/share/polymer/samples/01-hello.pasm)
if(NOT out STREQUAL hello)
  message(FATAL_ERROR "the installed polymer-run printed\n${out}\ninstead of\n${hello}")
endif()
file(READ ${SOURCE_DIR}/samples/10-saxpy.expected saxpy)
run("installed polymer-run --local-nodes 1" ${prefix}/bin/polymer-run --local-nodes 1 --backend cpu
    ${prefix}/share/polymer/samples/10-saxpy.pasm)
if(NOT out STREQUAL saxpy)
  message(FATAL_ERROR "the installed polymer-run --local-nodes 1 printed\n${out}\ninstead of\n${saxpy}")
endif()
# A lesson that includes the installed library (samples/lib/).
file(READ ${SOURCE_DIR}/samples/21-constants-and-includes.expected includes)
run("installed polymer-run, lesson 21" ${prefix}/bin/polymer-run
    ${prefix}/share/polymer/samples/21-constants-and-includes.pasm)
if(NOT out STREQUAL includes)
  message(FATAL_ERROR "the installed lesson 21 printed\n${out}\ninstead of\n${includes}")
endif()
foreach(f share/polymer/samples/18-arguments.args share/polymer/samples/18-arguments.stdin
          share/vim/vimfiles/syntax/pasm.vim share/vim/vimfiles/ftdetect/pasm.vim
          share/polymer/editors/vscode/package.json share/polymer/editors/vscode/syntaxes/pasm.tmLanguage.json
          share/bash-completion/completions/polymer-run share/doc/polymer/embedding.md include/polymer/polymer.h
          lib/cmake/Polymer/PolymerConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
message(STATUS "the installed package builds and runs the example; the installed tools run from ${prefix}")
