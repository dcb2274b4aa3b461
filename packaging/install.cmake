# `cmake --install build` (and tools/build-deb): the FHS layout.
#   /usr/bin/                      picostackd, picostack-vmm, picostack-jailer, picostack, picostack-img
#   /usr/lib/systemd/system/       picostackd.service (Debian 12: /lib/systemd/system,
#                                  from pkg-config systemd; PICOSTACK_SYSTEMD_UNITDIR)
#   /etc/picostack/                picostackd.conf (every key, commented, at its default)
#   /var/lib/picostack/            the data directory (0700)
#   /usr/share/doc/picostack/      README.md, DESIGN/ARCHITECTURE docs
# The prefix defaults to /usr (not /usr/local) so that the paths above are
# what the unit file and the package use; DESTDIR=... stages an install.
include(GNUInstallDirs)

if(NOT PICOSTACK_SYSTEMD_UNITDIR)
  pkg_get_variable(_unitdir systemd systemdsystemunitdir)
  if(NOT _unitdir)
    set(_unitdir /usr/lib/systemd/system)
  endif()
  set(PICOSTACK_SYSTEMD_UNITDIR ${_unitdir} CACHE PATH "where picostackd.service goes")
endif()

set(PICOSTACK_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(PICOSTACK_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/picostack)
set(PICOSTACK_DOCDIR ${CMAKE_INSTALL_FULL_DATAROOTDIR}/doc/picostack)
set(PICOSTACK_STATEDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/picostack)
configure_file(${CMAKE_CURRENT_LIST_DIR}/picostackd.service.in
               ${CMAKE_BINARY_DIR}/packaging/picostackd.service @ONLY)

install(TARGETS picostackd picostack-vmm picostack-jailer picostack picostack-img
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/packaging/picostackd.service
        DESTINATION ${PICOSTACK_SYSTEMD_UNITDIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/picostackd.conf DESTINATION ${PICOSTACK_CONFDIR})
install(DIRECTORY DESTINATION ${PICOSTACK_STATEDIR}
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${PICOSTACK_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${PICOSTACK_DOCDIR})
