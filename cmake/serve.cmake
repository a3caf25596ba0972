# The HTTP server of `osp serve` (src/osp/serve): a library on the public API (osp_api) and
# Debian's cpp-httplib (libcpp-httplib-dev: its shared library and the compile definitions that
# library was built with, from pkg-config).
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(osp_serve STATIC ${OSP_SERVE_SOURCES})
target_link_libraries(osp_serve PUBLIC osp_api PRIVATE PkgConfig::HTTPLIB)
osp_target_defaults(osp_serve)
