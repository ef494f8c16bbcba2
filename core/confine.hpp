// Confining the engine process after it dropped to the Apache User (docs/process-model.md).
//
// confine_process, in this order, for the calling process and every thread it starts later
// (call it while the process has one thread):
//   1. capabilities: the inheritable and ambient sets emptied (setuid already emptied the
//      effective and permitted ones; an effective or permitted capability left is an error:
//      the caller did not drop to a user);
//   2. PR_SET_NO_NEW_PRIVS: nothing executed could gain privileges (and 3 and 4 need it);
//   3. Landlock, where the kernel has it (ABI 1 or later): the file system is read as the
//      User's rights allow, but written only below `writable` (the store's User-owned groups,
//      the engine's own directory, where the status file and socket live); with ABI 4 or later
//      no fixed TCP port may be bound either, only an ephemeral one (port 0: the local end of a
//      CONNECT tunnel through an MDHttpProxy). A kernel
//      without Landlock leaves this step out (reported in `landlock_abi` = 0);
//   4. a seccomp filter (libseccomp): execve and execveat, ptrace and process_vm_*, mounts,
//      namespaces, chroot, kernel modules, kexec, reboot, swap, keyrings, bpf,
//      perf_event_open, userfaultfd, and changes of user or group ids fail with EPERM;
//      socket() for anything but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (the resolver)
//      fails with EAFNOSUPPORT. Everything else is allowed: the engine's own work (threads,
//      files, sockets, OpenSSL) needs it and a list of allowed calls would break with the
//      next libc.
// Errors name the step that failed; nothing is undone (a half-confined process should end).
// Not here: dropping to the User (Apache's ap_unixd_setup_child), running programs (the
// launcher, core/launcher.hpp).
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace mda {

struct confinement {
  std::vector<std::string> writable; ///< directories that may be written below (Landlock)
};

struct confine_report {
  int landlock_abi = 0;   ///< 0 = the kernel has no Landlock (step 3 left out)
  std::vector<std::string> writable; ///< the directories the ruleset allows writes below
};

expected<confine_report> confine_process(const confinement& c);

} // namespace mda
