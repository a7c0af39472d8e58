# The tools' man pages, generated at build time by help2man from each tool's
# own --help and --version (so they never drift from the options), with a
# short hand-written part per tool (src/tools/man/TOOL.h2m: DESCRIPTION,
# ENVIRONMENT, FILES, SEE ALSO), gzipped as Debian ships them, into
# build/man/ (cmake/install.cmake installs them in man1).
# Without help2man the build still works, with no man pages (a message says so;
# the package.deb test then fails, naming the missing page).
set(POLYMER_MAN_TOOLS polymer-as polymer-dis polymer-run polymer-node polymer-isa-doc)
set(POLYMER_MAN_DIR ${CMAKE_BINARY_DIR}/man CACHE INTERNAL "the generated man pages")
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
if(NOT HELP2MAN OR NOT GZIP)
  message(STATUS "help2man or gzip not found: no man pages (Debian: apt install help2man; scripts/setup.sh)")
  set(POLYMER_MAN_PAGES "" CACHE INTERNAL "")
  return()
endif()

set(pages)
foreach(tool IN LISTS POLYMER_MAN_TOOLS)
  set(include_file ${POLYMER_ROOT}/src/tools/man/${tool}.h2m)
  set(page ${POLYMER_MAN_DIR}/${tool}.1)
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${POLYMER_MAN_DIR}
    COMMAND ${HELP2MAN} --no-info --section 1 --include ${include_file} --output ${page} $<TARGET_FILE:${tool}>
    COMMAND ${GZIP} -9 -n -f ${page}
    DEPENDS ${tool} ${include_file}
    COMMENT "Generating the ${tool}(1) man page"
    VERBATIM)
  list(APPEND pages ${page}.gz)
endforeach()
add_custom_target(man_pages ALL DEPENDS ${pages})
set(POLYMER_MAN_PAGES ${pages} CACHE INTERNAL "the generated man pages, gzipped")
