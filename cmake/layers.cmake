# The library's layer targets (docs/design.md "Layers"). Each layer is a static library made of
# whole folders of src/osp (or a file pattern inside one), and links only the layers below it, so
# that a call from a lower layer into a higher one is a link error rather than a silent cycle.
# A system library is linked by the one layer that uses it (ffmpeg: osp_video, Gloo headers:
# osp_parallel, yaml-cpp: osp_train, whose rl/ users get it through it), so a program that needs
# only the lower layers does not drag it in.
#
#   osp_layer(NAME [DIRS folder...] [FILES pattern...] DEPS layer...)   declare, in bottom-up order
#   osp_layers_done()    create the targets (FILES claims win over another layer's DIRS)
#   osp_layer_checks()   after the system libraries are attached: one shared object per layer
#                        linked with --no-undefined against its declared dependencies only
#                        (tests builds), the linker's proof that the layering holds
set(OSP_LAYERS "")

function(osp_layer name)
  cmake_parse_arguments(L "" "" "DIRS;FILES;DEPS" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY OSP_LAYER_NAMES ${name})
  set_property(GLOBAL PROPERTY OSP_LAYER_${name}_DIRS ${L_DIRS})
  set_property(GLOBAL PROPERTY OSP_LAYER_${name}_FILES ${L_FILES})
  set_property(GLOBAL PROPERTY OSP_LAYER_${name}_DEPS ${L_DEPS})
endfunction()

# Sources under src/osp that are not in any layer: the checkpoint parsers (osp_parsers), the API
# and the server (OSP_API_SOURCES, OSP_SERVE_SOURCES: their own targets, above every layer).
function(_osp_unlayered_sources out)
  list(TRANSFORM OSP_PARSER_SOURCES PREPEND "${CMAKE_CURRENT_SOURCE_DIR}/" OUTPUT_VARIABLE parsers)
  set(${out} ${parsers} ${OSP_API_SOURCES} ${OSP_SERVE_SOURCES} PARENT_SCOPE)
endfunction()

macro(osp_layers_done)
  get_property(_names GLOBAL PROPERTY OSP_LAYER_NAMES)
  _osp_unlayered_sources(_claimed)
  # File patterns first: they take their files out of the folder that holds them.
  foreach(_name IN LISTS _names)
    get_property(_patterns GLOBAL PROPERTY OSP_LAYER_${_name}_FILES)
    set(_sources_${_name} "")
    foreach(_pattern IN LISTS _patterns)
      file(GLOB _found CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/osp/${_pattern})
      list(APPEND _sources_${_name} ${_found})
    endforeach()
    list(APPEND _claimed ${_sources_${_name}})
  endforeach()
  foreach(_name IN LISTS _names)
    get_property(_dirs GLOBAL PROPERTY OSP_LAYER_${_name}_DIRS)
    foreach(_dir IN LISTS _dirs)
      file(GLOB_RECURSE _found CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/osp/${_dir}/*.cpp
           ${CMAKE_CURRENT_SOURCE_DIR}/src/osp/${_dir}/*.cu)
      if(_claimed)
        list(REMOVE_ITEM _found ${_claimed})
      endif()
      list(APPEND _sources_${_name} ${_found})
    endforeach()
    list(APPEND _claimed ${_sources_${_name}})
    if(NOT OSP_CUDA)
      list(FILTER _sources_${_name} EXCLUDE REGEX "\\.cu$")
    endif()
    get_property(_deps GLOBAL PROPERTY OSP_LAYER_${_name}_DEPS)
    add_library(${_name} STATIC ${_sources_${_name}})
    target_include_directories(${_name} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/src>)
    target_link_libraries(${_name} PUBLIC ${_deps})
    osp_target_defaults(${_name})
    if(NOT _name STREQUAL "osp_core")
      target_precompile_headers(${_name} REUSE_FROM osp_core)
    endif()
    list(APPEND OSP_LAYERS ${_name})
  endforeach()
  # A new folder under src/osp must be given a layer, not left out of the library.
  file(GLOB_RECURSE _all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/osp/*.cpp)
  list(REMOVE_ITEM _all ${_claimed})
  if(_all)
    message(FATAL_ERROR "sources under src/osp in no layer (add their folder to an osp_layer in CMakeLists.txt): ${_all}")
  endif()
endmacro()

function(osp_layer_checks)
  if(NOT OSP_TESTS)
    return()
  endif()
  foreach(name IN LISTS OSP_LAYERS)
    get_target_property(libs ${name} LINK_LIBRARIES)
    add_library(${name}_link_check SHARED $<TARGET_OBJECTS:${name}>)
    target_link_libraries(${name}_link_check PRIVATE ${libs})
    target_link_options(${name}_link_check PRIVATE -Wl,--no-undefined)
    set_target_properties(${name}_link_check PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/layer_checks)
  endforeach()
endfunction()
