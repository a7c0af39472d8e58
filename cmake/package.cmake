# The Debian packages (`cpack -G DEB` in the build folder, or the `package`
# target), one per component of cmake/install.cmake, as Debian splits them:
#   polymer      the tools, docs, lessons, editor and shell files (`runtime`);
#                its dependencies are what dpkg-shlibdeps reads off the tools
#                (libssl3, libisal2, libvulkan1, libedit2, ...), so
#                `apt install ./polymer_*.deb` pulls them in on a fresh Debian 12
#   polymer-dev  the C++ embedding header, static libraries and CMake package
#                (`development`); depends on polymer and the -dev packages the
#                libraries link
# A CPU Vulkan driver is recommended: without any Vulkan driver the tools
# still run on the CPU backend.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME polymer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Polymer")
set(CPACK_PACKAGE_CONTACT "Polymer developers <polymer@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "portable pseudo-instruction-set for distributed computing: assembler, VM, cluster node, debugger")
set(CPACK_PACKAGE_DESCRIPTION
    "polymer-as assembles Polymer assembly into verified bytecode; polymer-run runs its logic procedures on the CPU and its vector ops and kernels on Vulkan, a CPU pool or polymer-node workers across a cluster; numbered lessons, editor files and a C++ embedding package.")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # polymer_0.1.0_amd64.deb, polymer-dev_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME polymer)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "mesa-vulkan-drivers")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "vim, bash-completion")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME polymer-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "polymer (= ${PROJECT_VERSION}), libssl-dev, libisal-dev, libvulkan-dev, glslang-dev, spirv-tools, pkg-config")
set(CPACK_STRIP_FILES ON)  # the static libraries carry debug info otherwise (tens of MB)
include(CPack)
