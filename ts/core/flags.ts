// dm_ioctl.flags bits (include/uapi/linux/dm-ioctl.h). The native layer passes flags through untouched.
export const Flags = {
  READONLY: 1 << 0,
  SUSPEND: 1 << 1,
  PERSISTENT_DEV: 1 << 3,
  STATUS_TABLE: 1 << 4,
  ACTIVE_PRESENT: 1 << 5,
  INACTIVE_PRESENT: 1 << 6,
  BUFFER_FULL: 1 << 8,
  SKIP_LOCKFS: 1 << 10,
  NOFLUSH: 1 << 11,
  QUERY_INACTIVE_TABLE: 1 << 12,
  UEVENT_GENERATED: 1 << 13,
  UUID: 1 << 14,
  SECURE_DATA: 1 << 15,
  DATA_OUT: 1 << 16,
  DEFERRED_REMOVE: 1 << 17,
  INTERNAL_SUSPEND: 1 << 18,
} as const
