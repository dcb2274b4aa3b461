# Test registration helpers shared by every folder.
#
#   picostack_add_subdirs()       add_subdirectory() for every child folder of
#                                 the current one that has a CMakeLists.txt, so
#                                 modules plug in without editing a shared file.
#   picostack_test(NAME n COMMAND cmd... [LABELS l...] [TIMEOUT s])
#                                 a plain test, run directly on the host.
#   picostack_kvm_test(...)       a test that needs a working /dev/kvm; see
#                                 tests/harness/with_kvm.cmake (the with-kvm
#                                 harness): it runs directly on a fast /dev/kvm
#                                 and inside a QEMU TCG guest elsewhere.

macro(picostack_add_subdirs)
  file(GLOB _children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _children)
  foreach(_child ${_children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${_child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_child}/CMakeLists.txt)
      add_subdirectory(${_child})
    endif()
  endforeach()
endmacro()

function(picostack_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/with_kvm.cmake)
