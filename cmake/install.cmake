# What `cmake --install` puts where, with GNUInstallDirs' folders, in two
# components a package generator (CPack) can split: `runtime` (the tools,
# docs, man pages, lessons, editor and shell files) and `development` (the embedding
# header, the static libraries it links, the CMake package). A tool finds
# what it needs next to itself or inside itself (polymer-run's --local-nodes
# starts the polymer-node beside it; the shaders are embedded), so the tree
# works under any prefix.
include(CMakePackageConfigHelpers)

set(polymer_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Polymer)

install(TARGETS polymer-as polymer-dis polymer-run polymer-node polymer-isa-doc
        EXPORT PolymerTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# Polymer::polymer and the static libraries in its link interface.
install(TARGETS polymer_embed polymer_assembler polymer_kernel_lowering polymer_shader_sources polymer_isa
                polymer_backend_chooser polymer_vulkan_backend polymer_vulkan polymer_shaders polymer_vm
        EXPORT PolymerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(DIRECTORY ${POLYMER_ROOT}/include/polymer DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(EXPORT PolymerTargets NAMESPACE Polymer:: DESTINATION ${polymer_cmake_dir} COMPONENT development)
configure_package_config_file(${POLYMER_ROOT}/cmake/PolymerConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cmake/PolymerConfig.cmake
                              INSTALL_DESTINATION ${polymer_cmake_dir})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/PolymerConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/PolymerConfig.cmake ${CMAKE_BINARY_DIR}/cmake/PolymerConfigVersion.cmake
        DESTINATION ${polymer_cmake_dir} COMPONENT development)

install(FILES ${POLYMER_ROOT}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(DIRECTORY ${POLYMER_ROOT}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(DIRECTORY ${POLYMER_ROOT}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT development)
# The lessons with what they print, their arguments and input, the debugger's
# sessions and the library they include (lib/), not their CMake plumbing.
install(DIRECTORY ${POLYMER_ROOT}/samples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/polymer/samples COMPONENT runtime
        FILES_MATCHING PATTERN "*.pasm" PATTERN "*.expected" PATTERN "*.args" PATTERN "*.stdin" PATTERN "*.gdb"
        PATTERN "*.transcript" PATTERN "*.md")

# The man pages, as generated at build time from each tool's --help (cmake/man_pages.cmake).
if(POLYMER_MAN_PAGES)
  install(FILES ${POLYMER_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
endif()

# Editor and shell support, as generated at build time (src/CMakeLists.txt).
install(DIRECTORY ${POLYMER_EDITORS_DIR}/vim/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vim/vimfiles COMPONENT runtime)
install(DIRECTORY ${POLYMER_EDITORS_DIR}/vscode/ DESTINATION ${CMAKE_INSTALL_DATADIR}/polymer/editors/vscode
        COMPONENT runtime)
install(DIRECTORY ${POLYMER_EDITORS_DIR}/bash-completion/ DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        COMPONENT runtime)

# polymer-node's systemd unit (dist/systemd/). systemd reads units from
# <prefix>/lib/systemd/system for the prefixes /usr (the package; on Debian
# 12 /lib is /usr/lib, so this is pkg-config's systemdsystemunitdir,
# /lib/systemd/system) and /usr/local (`cmake --install` by default), so the
# folder is relative to the prefix: an absolute one would write outside a
# scratch prefix. The unit names the installed polymer-node and docs, whose
# prefix is known only at install time (CPack installs under /usr), hence the
# configure_file in install(CODE).
set(POLYMER_SYSTEMD_UNIT_DIR lib/systemd/system CACHE PATH "where polymer-node.service goes, relative to the prefix")
install(CODE "
  set(POLYMER_NODE \"${CMAKE_INSTALL_BINDIR}/polymer-node\")
  set(POLYMER_DOC_DIR \"${CMAKE_INSTALL_DOCDIR}\")
  foreach(path POLYMER_NODE POLYMER_DOC_DIR)
    if(NOT IS_ABSOLUTE \"\${\${path}}\")
      set(\${path} \"\${CMAKE_INSTALL_PREFIX}/\${\${path}}\")
    endif()
  endforeach()
  configure_file(\"${POLYMER_ROOT}/dist/systemd/polymer-node.service.in\"
                 \"${CMAKE_BINARY_DIR}/dist/systemd/polymer-node.service\" @ONLY)
" COMPONENT runtime)
install(FILES ${CMAKE_BINARY_DIR}/dist/systemd/polymer-node.service DESTINATION ${POLYMER_SYSTEMD_UNIT_DIR}
        COMPONENT runtime)
