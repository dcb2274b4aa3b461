# The with-kvm harness: KVM tests registered for tools/with-kvm (its manual:
# tools/with-kvm.md).
#
#   picostack_kvm_test(NAME n COMMAND cmd... [FILES f...] [LABELS l...] [TIMEOUT s])
#
# A test that needs a working /dev/kvm. COMMAND uses absolute paths (its
# first word may be a target name; $<TARGET_FILE:...> works anywhere); FILES
# lists extra files (or whole directories) the command reads. Where /dev/kvm runs at hardware speed the
# command runs directly; elsewhere (no /dev/kvm, or the slow nested kind) ONE
# QEMU TCG guest running Debian's kernel with kvm-amd runs every selected KVM
# test, and each test reports its own result (tools/with-kvm --boot, --test).
# Inside that guest every absolute path of COMMAND and FILES exists at the
# same path, with the shared libraries ELF files need and the interpreter a
# script's #! line names; other commands come from busybox. The test runs in
# the build folder it was registered from, as on the host, with
# PICOSTACK_KVM_MODE=direct|tcg set. TIMEOUT (default 300 s) is enforced by the
# harness in both modes: a test that hangs is killed and reported as TIMED OUT.
#
# Debian's kernel for tests of their own (the same files the harness uses):
#   ${PICOSTACK_DEBIAN_VMLINUZ}  the bzImage of linux-image-amd64
#   ${PICOSTACK_DEBIAN_VMLINUX}  the same kernel as an ELF vmlinux (PVH entry)
#   ${PICOSTACK_DEBIAN_MODULES}  its /lib/modules/RELEASE folder
#   ${PICOSTACK_DEBIAN_BUSYBOX}  busybox-static's binary
#   ${PICOSTACK_DEBIAN_DIR}/env  NAME=VALUE lines (package, version, paths)
# These are fixed paths in the build folder, filled at TEST time by the
# fixture test harness.debian-assets (tools/debian-assets), so that
# configuring needs no network. A KVM test that names one of them in COMMAND
# or FILES requires that fixture automatically; any other test sets
#   set_tests_properties(t PROPERTIES FIXTURES_REQUIRED debian-assets)
#
# Guest kernel modules beyond KVM's (say tun for taps), loaded in the TCG
# guest with their dependencies before any test runs:
#   set_property(GLOBAL APPEND PROPERTY PICOSTACK_KVM_GUEST_MODULES tun)
#
# Limits: COMMAND arguments cannot contain ';' (CMake lists); ctest's
# ENVIRONMENT property does not reach the guest (use `env VAR=value cmd`);
# inside the guest tests run as root, with lo up and no other network.
#
# PICOSTACK_KVM=direct|tcg (environment, at test time) forces the mode;
# PICOSTACK_KVM_TESTS=all|REGEX overrides which KVM tests the shared boot runs
# (by default those the calling ctest's -R/-E/-L/-LE select).

set(PICOSTACK_KVM_STATE ${CMAKE_BINARY_DIR}/kvm-harness)
set(PICOSTACK_DEBIAN_DIR ${CMAKE_BINARY_DIR}/debian)
set(PICOSTACK_DEBIAN_VMLINUZ ${PICOSTACK_DEBIAN_DIR}/vmlinuz)
set(PICOSTACK_DEBIAN_VMLINUX ${PICOSTACK_DEBIAN_DIR}/vmlinux)
set(PICOSTACK_DEBIAN_MODULES ${PICOSTACK_DEBIAN_DIR}/modules)
set(PICOSTACK_DEBIAN_BUSYBOX ${PICOSTACK_DEBIAN_DIR}/busybox)
set(PICOSTACK_HARNESS_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PICOSTACK_WITH_KVM ${CMAKE_SOURCE_DIR}/tools/with-kvm)
set(PICOSTACK_DEBIAN_ASSETS ${CMAKE_SOURCE_DIR}/tools/debian-assets)

# The manifest (one folder per KVM test) is rewritten by every configure.
file(REMOVE_RECURSE ${PICOSTACK_KVM_STATE}/manifest)
set_property(GLOBAL PROPERTY PICOSTACK_KVM_TIMEOUT_SUM 0)

function(picostack_kvm_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;FILES;LABELS" ${ARGN})
  _picostack_kvm_add(NAME ${T_NAME} TIMEOUT ${T_TIMEOUT} COMMAND ${T_COMMAND}
                     FILES ${T_FILES} LABELS ${T_LABELS})
endfunction()

# The same, plus WRAPPER: a command that ctest runs in front of the harness's
# own (used by the harness's self-tests to check what a failing test reports).
function(_picostack_kvm_add)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;FILES;LABELS;WRAPPER" ${ARGN})
  if(NOT T_NAME MATCHES "^[A-Za-z0-9._+-]+$")
    message(FATAL_ERROR "picostack_kvm_test: NAME '${T_NAME}' must be made of A-Z a-z 0-9 . _ + -")
  endif()
  if(NOT T_COMMAND)
    message(FATAL_ERROR "picostack_kvm_test(${T_NAME}): COMMAND is required")
  endif()
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "picostack_kvm_test(${T_NAME}): unknown arguments ${T_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  list(GET T_COMMAND 0 _first)
  if(TARGET ${_first})
    list(REMOVE_AT T_COMMAND 0)
    list(PREPEND T_COMMAND "$<TARGET_FILE:${_first}>")
  endif()

  set(_dir ${PICOSTACK_KVM_STATE}/manifest/${T_NAME})
  string(JOIN "\n" _argv ${T_COMMAND})
  string(JOIN "\n" _files ${T_FILES})
  string(JOIN "\n" _labels kvm ${T_LABELS})
  file(GENERATE OUTPUT ${_dir}/argv CONTENT "${_argv}\n")
  file(GENERATE OUTPUT ${_dir}/files CONTENT "${_files}\n")
  file(WRITE ${_dir}/labels "${_labels}\n")
  file(WRITE ${_dir}/timeout "${T_TIMEOUT}\n")
  file(WRITE ${_dir}/cwd "${CMAKE_CURRENT_BINARY_DIR}\n")

  add_test(NAME ${T_NAME}
           COMMAND ${T_WRAPPER} ${PICOSTACK_WITH_KVM}
                   --state ${PICOSTACK_KVM_STATE} --test ${T_NAME} --timeout ${T_TIMEOUT}
                   -- ${T_COMMAND})
  set(_fixtures kvm)
  string(FIND "${T_COMMAND};${T_FILES}" "${PICOSTACK_DEBIAN_DIR}" _uses_debian)
  if(_uses_debian GREATER -1)
    list(APPEND _fixtures debian-assets)
  endif()
  # The harness's timeout fires first (a clear TIMED OUT); ctest's is a backstop.
  math(EXPR _ctest_timeout "${T_TIMEOUT} + 60")
  set_tests_properties(${T_NAME} PROPERTIES
                       TIMEOUT ${_ctest_timeout}
                       LABELS "kvm;${T_LABELS}"
                       FIXTURES_REQUIRED "${_fixtures}")
  get_property(_sum GLOBAL PROPERTY PICOSTACK_KVM_TIMEOUT_SUM)
  math(EXPR _sum "${_sum} + ${T_TIMEOUT} + 5")
  set_property(GLOBAL PROPERTY PICOSTACK_KVM_TIMEOUT_SUM ${_sum})
endfunction()

# Once every folder is configured: the two fixtures, the boot's timeout
# covering every KVM test.
function(_picostack_kvm_fixtures)
  get_property(_sum GLOBAL PROPERTY PICOSTACK_KVM_TIMEOUT_SUM)
  math(EXPR _boot_timeout "${_sum} + 600")
  get_property(_modules GLOBAL PROPERTY PICOSTACK_KVM_GUEST_MODULES)
  list(REMOVE_DUPLICATES _modules)
  string(JOIN "\n" _modules ${_modules})
  file(WRITE ${PICOSTACK_KVM_STATE}/guest-modules "${_modules}\n")
  add_test(NAME harness.debian-assets
           COMMAND ${PICOSTACK_DEBIAN_ASSETS} --link ${PICOSTACK_DEBIAN_DIR} --print-version)
  set_tests_properties(harness.debian-assets PROPERTIES
                       FIXTURES_SETUP debian-assets TIMEOUT 900 LABELS harness)
  add_test(NAME harness.kvm-boot
           COMMAND ${PICOSTACK_WITH_KVM} --state ${PICOSTACK_KVM_STATE}
                   --calibrate $<TARGET_FILE:kvm-calibrate> --boot)
  set_tests_properties(harness.kvm-boot PROPERTIES
                       FIXTURES_SETUP kvm TIMEOUT ${_boot_timeout} LABELS harness)
endfunction()
cmake_language(DEFER CALL _picostack_kvm_fixtures)
