# The with-kvm harness (DESIGN.md, "Testing on these machines").
#
#   picostack_kvm_test(NAME n COMMAND cmd... [FILES f...] [LABELS l...] [TIMEOUT s])
#
# COMMAND uses absolute paths (build/bin/..., files in the source tree); FILES
# lists extra files the command reads, so the TCG guest's initramfs carries them
# at the same paths.
#
# TEMPORARY: this version runs the command directly. The real harness (TCG
# guest, calibration, shared boots) replaces this file.
function(picostack_kvm_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;FILES;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "kvm;${T_LABELS}")
endfunction()
