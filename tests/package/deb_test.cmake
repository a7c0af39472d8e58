# package.deb (tests/package/CMakeLists.txt):
#   1. cpack -G DEB this build;
#   2. the package declares the shared libraries the tools load (found by
#      dpkg-shlibdeps) and recommends a Vulkan driver;
#   3. polymer holds the tools, their man pages, the lessons and their
#      library, the docs, the editor and shell files, and polymer-node's
#      systemd unit (which starts the packaged polymer-node); polymer-dev the
#      C++ package and depends on
#      polymer; both under /usr;
#   4. unpacked, each man page names its tool and documents one of its
#      options, and polymer-run says its version and runs a lesson that
#      includes the packaged library.
# Arguments: BUILD_DIR SOURCE_DIR WORK_DIR CPACK UNIT_DIR (the unit's folder under /usr).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

include(${CMAKE_CURRENT_LIST_DIR}/../script_helpers.cmake)  # run()

run("cpack" ${CPACK} -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR})
file(GLOB debs ${WORK_DIR}/polymer_*.deb)
file(GLOB dev_debs ${WORK_DIR}/polymer-dev_*.deb)
list(LENGTH debs n)
list(LENGTH dev_debs n_dev)
if(NOT n EQUAL 1 OR NOT n_dev EQUAL 1)
  file(GLOB all ${WORK_DIR}/*.deb)
  message(FATAL_ERROR "cpack wrote ${all}, not one polymer_*.deb and one polymer-dev_*.deb")
endif()

run("dpkg-deb -f" dpkg-deb -f ${debs} Package Version Depends Recommends)
foreach(field "Package: polymer" "Depends: .*libc6" "Depends: .*libssl3" "Depends: .*libisal2"
              "Depends: .*libvulkan1" "Depends: .*libedit2" "Depends: .*libsystemd0" "Recommends: mesa-vulkan-drivers")
  if(NOT out MATCHES "${field}")
    message(FATAL_ERROR "the package's control fields do not match '${field}':\n${out}")
  endif()
endforeach()

run("dpkg-deb -f polymer-dev" dpkg-deb -f ${dev_debs} Package Depends)
if(NOT out MATCHES "Package: polymer-dev" OR NOT out MATCHES "Depends: polymer \\(= ")
  message(FATAL_ERROR "polymer-dev's control fields:\n${out}")
endif()

function(expect_paths deb)
  execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  foreach(path ${ARGN})
    if(NOT listing MATCHES " \\./${path}\n")
      message(FATAL_ERROR "${deb} holds no /${path}:\n${listing}")
    endif()
  endforeach()
endfunction()
expect_paths(${debs} usr/bin/polymer-as usr/bin/polymer-dis usr/bin/polymer-run usr/bin/polymer-node
             usr/bin/polymer-isa-doc usr/share/polymer/samples/01-hello.pasm usr/share/polymer/samples/lib/math.pasm
             usr/share/polymer/samples/18-arguments.args usr/share/doc/polymer/language.md
             usr/share/vim/vimfiles/syntax/pasm.vim usr/share/bash-completion/completions/polymer-run
             usr/share/polymer/editors/vscode/package.json usr/${UNIT_DIR}/polymer-node.service)
# The man pages (cmake/man_pages.cmake; built only where help2man is installed).
foreach(tool polymer-as polymer-dis polymer-run polymer-node polymer-isa-doc)
  execute_process(COMMAND dpkg-deb -c ${debs} OUTPUT_VARIABLE listing)
  if(NOT listing MATCHES " \\./usr/share/man/man1/${tool}\\.1\\.gz\n")
    message(FATAL_ERROR "${debs} holds no /usr/share/man/man1/${tool}.1.gz: the build made no man pages "
                        "(is help2man installed? scripts/setup.sh installs it; cmake's output says)")
  endif()
endforeach()
expect_paths(${dev_debs} usr/include/polymer/polymer.h usr/lib/cmake/Polymer/PolymerConfig.cmake)

run("dpkg-deb -x" dpkg-deb -x ${debs} ${WORK_DIR}/root)
file(STRINGS ${WORK_DIR}/root/usr/${UNIT_DIR}/polymer-node.service exec_start REGEX "^ExecStart=")
if(NOT exec_start STREQUAL "ExecStart=/usr/bin/polymer-node $POLYMER_NODE_ARGS")
  message(FATAL_ERROR "the packaged unit says '${exec_start}', not the packaged polymer-node")
endif()
# Each page (roff, read without man or groff): its title names the tool, and
# an option of that tool is documented, as help2man writes one (\-\-name).
foreach(page "polymer-as;listing" "polymer-dis;no-loc" "polymer-run;nodes-file" "polymer-node;token-file"
             "polymer-isa-doc;version")
  list(GET page 0 tool)
  list(GET page 1 option)
  string(TOUPPER ${tool} title)
  string(REPLACE "-" "\\\\-" roff_option "--${option}")  # --no-loc: \-\-no\-loc
  run("gzip -dc ${tool}.1.gz" gzip -dc ${WORK_DIR}/root/usr/share/man/man1/${tool}.1.gz)
  if(NOT out MATCHES "\n\\.TH ${title} \"1\"" OR NOT out MATCHES "${roff_option}")
    message(FATAL_ERROR "the man page of ${tool} has no title '.TH ${title} \"1\"' or no --${option}:\n${out}")
  endif()
endforeach()

file(STRINGS ${SOURCE_DIR}/CMakeLists.txt project_line REGEX "^project\\(Polymer VERSION")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" version "${project_line}")
run("the packaged polymer-run --version" ${WORK_DIR}/root/usr/bin/polymer-run --version)
if(NOT out STREQUAL "polymer-run ${version}\n")
  message(FATAL_ERROR "the packaged polymer-run --version printed '${out}', not 'polymer-run ${version}'")
endif()
file(READ ${SOURCE_DIR}/samples/21-constants-and-includes.expected expected)
run("the packaged lesson 21" ${WORK_DIR}/root/usr/bin/polymer-run --backend cpu
    ${WORK_DIR}/root/usr/share/polymer/samples/21-constants-and-includes.pasm)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "the packaged lesson 21 printed\n${out}\ninstead of\n${expected}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "the package declares its dependencies, holds every part, and its tools run")
