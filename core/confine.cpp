// Confining the engine process (see confine.hpp).
#include "core/confine.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

namespace mda {

namespace {

error fail(const std::string& step, int e) {
  return error(std::error_code(e, std::generic_category()), step + ": " + std::strerror(e));
}

// --- 1. capabilities ------------------------------------------------------------------------

status clear_capabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return fail("capget", errno);
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0)
      return error(std::make_error_code(std::errc::operation_not_permitted),
                   "the process still holds capabilities (it did not drop to a user)");
  }
  __user_cap_data_struct none[2]{};
  if (syscall(SYS_capset, &hdr, none) != 0) return fail("capset", errno);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail("clearing the ambient capabilities", errno);
  return {};
}

// --- 3. Landlock ----------------------------------------------------------------------------
// The kernel's ABI (stable), spelled out here: Debian 12's headers stop at ABI 2.

struct ll_ruleset_attr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
};
struct ll_path_beneath_attr {
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
  std::uint64_t allowed_access;
  std::uint64_t port;
} __attribute__((packed));

constexpr unsigned k_ll_version_flag = 1u << 0; // LANDLOCK_CREATE_RULESET_VERSION
constexpr int k_ll_rule_path_beneath = 1;
constexpr int k_ll_rule_net_port = 2;
constexpr std::uint64_t k_fs_execute = 1ull << 0;
constexpr std::uint64_t k_fs_write_file = 1ull << 1;
constexpr std::uint64_t k_fs_remove_dir = 1ull << 4;
constexpr std::uint64_t k_fs_remove_file = 1ull << 5;
constexpr std::uint64_t k_fs_make_all = 0x7full << 6; // char, dir, reg, sock, fifo, block, sym
constexpr std::uint64_t k_fs_refer = 1ull << 13;      // ABI 2
constexpr std::uint64_t k_fs_truncate = 1ull << 14;   // ABI 3
constexpr std::uint64_t k_net_bind_tcp = 1ull << 0;   // ABI 4

/// The write rights a directory below `writable` keeps.
std::uint64_t write_rights(int abi) {
  std::uint64_t r = k_fs_write_file | k_fs_remove_dir | k_fs_remove_file | k_fs_make_all;
  if (abi >= 2) r |= k_fs_refer;
  if (abi >= 3) r |= k_fs_truncate;
  return r;
}

int landlock_abi() {
  const long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, k_ll_version_flag);
  return v < 0 ? 0 : static_cast<int>(v);
}

status add_rule(int ruleset, const std::string& path, std::uint64_t rights) {
  const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return fail("Landlock: opening '" + path + "'", errno);
  ll_path_beneath_attr attr{rights, fd};
  const long rc = syscall(SYS_landlock_add_rule, ruleset, k_ll_rule_path_beneath, &attr, 0);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return fail("Landlock: a rule for '" + path + "'", e);
  return {};
}

status restrict_writes(const confinement& c, confine_report& rep) {
  const int abi = landlock_abi();
  rep.landlock_abi = abi;
  if (abi == 0) return {};
  ll_ruleset_attr attr{write_rights(abi) | k_fs_execute, abi >= 4 ? k_net_bind_tcp : 0};
  const std::size_t size = abi >= 4 ? sizeof attr : sizeof attr.handled_access_fs;
  const long ruleset = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) return fail("Landlock: creating the ruleset", errno);
  const int rs = static_cast<int>(ruleset);
  status s;
  for (const auto& dir : c.writable) {
    s = add_rule(rs, dir, write_rights(abi));
    if (!s) break;
    rep.writable.push_back(dir);
  }
  // Opening /dev/null for writing (libraries do) is no write to the file system.
  if (s) s = add_rule(rs, "/dev/null", k_fs_write_file | (abi >= 3 ? k_fs_truncate : 0));
  // Port 0 only: the local end of a CONNECT tunnel (http/connect_tunnel.hpp) listens on an
  // ephemeral loopback port; no fixed port may be taken.
  if (s && abi >= 4) {
    ll_net_port_attr port0{k_net_bind_tcp, 0};
    if (syscall(SYS_landlock_add_rule, rs, k_ll_rule_net_port, &port0, 0) != 0)
      s = fail("Landlock: the rule for ephemeral TCP ports", errno);
  }
  if (s && syscall(SYS_landlock_restrict_self, rs, 0) != 0) s = fail("Landlock: restricting the process", errno);
  ::close(rs);
  return s;
}

// --- 4. seccomp -----------------------------------------------------------------------------

/// Calls the engine never makes; EPERM for each.
constexpr const char* k_denied[] = {
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
    "pivot_root", "chroot", "setns", "unshare", "open_tree", "move_mount", "fsopen", "fsmount",
    "fsconfig", "fspick", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "add_key", "request_key", "keyctl",
    "bpf", "perf_event_open", "userfaultfd", "setuid", "setgid", "setreuid", "setregid",
    "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups", "mknod", "mknodat", "iopl",
    "ioperm", "quotactl", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
    "sethostname", "setdomainname", "personality"};

/// Socket families the engine uses: unix (status socket, launcher), IPv4, IPv6, netlink
/// (glibc's resolver asks the interfaces).
bool allowed_family(int af) {
  return af == AF_UNIX || af == AF_INET || af == AF_INET6 || af == AF_NETLINK;
}

status install_seccomp() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return error(std::make_error_code(std::errc::not_enough_memory), "seccomp: seccomp_init failed");
  int rc = 0;
  auto add = [&](std::uint32_t action, int nr, unsigned count, scmp_arg_cmp cmp = {}) {
    if (rc != 0 || nr == __NR_SCMP_ERROR) return; // an earlier failure, or not on this architecture
    rc = count == 0 ? seccomp_rule_add(ctx, action, nr, 0) : seccomp_rule_add(ctx, action, nr, 1, cmp);
  };
  for (const char* name : k_denied) add(SCMP_ACT_ERRNO(EPERM), seccomp_syscall_resolve_name(name), 0);
  // New namespaces through clone(2), one flag per rule; clone3 passes its flags in memory a
  // filter cannot read, so it answers ENOSYS and glibc falls back to clone.
  for (std::uint64_t flag : {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                             CLONE_NEWPID, CLONE_NEWNET})
    add(SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
  add(SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
  for (int af = 0; af < AF_MAX; ++af) {
    if (!allowed_family(af)) add(SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(af)));
  }
  add(SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_GE, AF_MAX));
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc == 0 ? status{} : fail("seccomp", -rc);
}

} // namespace

expected<confine_report> confine_process(const confinement& c) {
  confine_report rep;
  if (auto s = clear_capabilities(); !s) return s.error();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("PR_SET_NO_NEW_PRIVS", errno);
  if (auto s = restrict_writes(c, rep); !s) return s.error();
  if (auto s = install_seccomp(); !s) return s.error();
  return rep;
}

} // namespace mda
