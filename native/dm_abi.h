// The kernel ABI this addon relies on: struct layouts from <linux/dm-ioctl.h>, checked at compile time, and
// the command table (number, name, minimum interface version). Nothing else in the addon hard-codes either.
#pragma once

#include <linux/dm-ioctl.h>

#include <cstddef>
#include <cstdint>

namespace dm {

// ts/core/abi.ts decodes replies with the same offsets; test/unit/abi.test.ts checks them against these lines.
static_assert(sizeof(struct dm_ioctl) == 312, "dm_ioctl is 312 bytes on every ABI");
static_assert(offsetof(struct dm_ioctl, version) == 0, "dm_ioctl.version");
static_assert(offsetof(struct dm_ioctl, data_size) == 12, "dm_ioctl.data_size");
static_assert(offsetof(struct dm_ioctl, data_start) == 16, "dm_ioctl.data_start");
static_assert(offsetof(struct dm_ioctl, target_count) == 20, "dm_ioctl.target_count");
static_assert(offsetof(struct dm_ioctl, open_count) == 24, "dm_ioctl.open_count");
static_assert(offsetof(struct dm_ioctl, flags) == 28, "dm_ioctl.flags");
static_assert(offsetof(struct dm_ioctl, event_nr) == 32, "dm_ioctl.event_nr");
static_assert(offsetof(struct dm_ioctl, dev) == 40, "dm_ioctl.dev");
static_assert(offsetof(struct dm_ioctl, name) == 48, "dm_ioctl.name");
static_assert(offsetof(struct dm_ioctl, uuid) == 176, "dm_ioctl.uuid");
static_assert(sizeof(struct dm_target_spec) == 40, "dm_target_spec is 40 bytes");
static_assert(offsetof(struct dm_target_spec, sector_start) == 0, "dm_target_spec.sector_start");
static_assert(offsetof(struct dm_target_spec, length) == 8, "dm_target_spec.length");
static_assert(offsetof(struct dm_target_spec, status) == 16, "dm_target_spec.status");
static_assert(offsetof(struct dm_target_spec, next) == 20, "dm_target_spec.next");
static_assert(offsetof(struct dm_target_spec, target_type) == 24, "dm_target_spec.target_type");
static_assert(offsetof(struct dm_target_deps, count) == 0, "dm_target_deps.count");
static_assert(offsetof(struct dm_target_deps, dev) == 8, "dm_target_deps.dev");
static_assert(offsetof(struct dm_name_list, dev) == 0, "dm_name_list.dev");
static_assert(offsetof(struct dm_name_list, next) == 8, "dm_name_list.next");
static_assert(offsetof(struct dm_name_list, name) == 12, "dm_name_list.name");
static_assert(offsetof(struct dm_target_versions, next) == 0, "dm_target_versions.next");
static_assert(offsetof(struct dm_target_versions, version) == 4, "dm_target_versions.version");
static_assert(offsetof(struct dm_target_versions, name) == 16, "dm_target_versions.name");
static_assert(offsetof(struct dm_target_msg, message) == 8, "dm_target_msg.message");

// Commands are numbered here rather than taken from the header so that a build host with old kernel headers
// still produces an addon that speaks every command (the running kernel decides what it accepts).
enum Cmd : unsigned {
  VERSION = 0,
  REMOVE_ALL = 1,
  LIST_DEVICES = 2,
  DEV_CREATE = 3,
  DEV_REMOVE = 4,
  DEV_RENAME = 5,
  DEV_SUSPEND = 6,
  DEV_STATUS = 7,
  DEV_WAIT = 8,
  TABLE_LOAD = 9,
  TABLE_CLEAR = 10,
  TABLE_DEPS = 11,
  TABLE_STATUS = 12,
  LIST_VERSIONS = 13,
  TARGET_MSG = 14,
  DEV_SET_GEOMETRY = 15,
  DEV_ARM_POLL = 16,
  GET_TARGET_VERSION = 17,
  CMD_COUNT = 18,
};

struct CmdInfo {
  const char *name;      // DM_* name, used in errors
  const char *method;    // JS method name on the native Control object
  uint32_t minVersion[3];
  bool returnsData;      // reply carries a payload: start big and grow on DM_BUFFER_FULL_FLAG
};

extern const CmdInfo kCommands[CMD_COUNT];

// _IOWR(0xfd, nr, struct dm_ioctl)
inline unsigned long IoctlNumber(unsigned nr) {
  return (3UL << 30) | (static_cast<unsigned long>(sizeof(struct dm_ioctl)) << 16) | (0xfdUL << 8) | nr;
}

// The kernel's "huge" dev_t encoding used in dm_ioctl.dev and dm_target_deps.
inline uint64_t EncodeDev(uint32_t major, uint32_t minor) {
  return (minor & 0xffu) | (static_cast<uint64_t>(major) << 8) | (static_cast<uint64_t>(minor & ~0xffu) << 12);
}
inline uint32_t DevMajor(uint64_t dev) { return static_cast<uint32_t>((dev & 0xfff00u) >> 8); }
inline uint32_t DevMinor(uint64_t dev) { return static_cast<uint32_t>((dev & 0xffu) | ((dev >> 12) & 0xfff00u)); }

}  // namespace dm
