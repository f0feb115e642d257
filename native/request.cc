#include "request.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dm {

const CmdInfo kCommands[CMD_COUNT] = {
    {"DM_VERSION", "version", {4, 0, 0}, false},
    {"DM_REMOVE_ALL", "removeAll", {4, 0, 0}, false},
    {"DM_LIST_DEVICES", "listDevices", {4, 0, 0}, true},
    {"DM_DEV_CREATE", "devCreate", {4, 0, 0}, false},
    {"DM_DEV_REMOVE", "devRemove", {4, 0, 0}, false},
    {"DM_DEV_RENAME", "devRename", {4, 0, 0}, false},
    {"DM_DEV_SUSPEND", "devSuspend", {4, 0, 0}, false},
    {"DM_DEV_STATUS", "devStatus", {4, 0, 0}, false},
    {"DM_DEV_WAIT", "devWait", {4, 0, 0}, true},
    {"DM_TABLE_LOAD", "tableLoad", {4, 0, 0}, false},
    {"DM_TABLE_CLEAR", "tableClear", {4, 0, 0}, false},
    {"DM_TABLE_DEPS", "tableDeps", {4, 0, 0}, true},
    {"DM_TABLE_STATUS", "tableStatus", {4, 0, 0}, true},
    {"DM_LIST_VERSIONS", "listVersions", {4, 1, 0}, true},
    {"DM_TARGET_MSG", "targetMsg", {4, 2, 0}, true},
    {"DM_DEV_SET_GEOMETRY", "devSetGeometry", {4, 6, 0}, false},
    {"DM_DEV_ARM_POLL", "devArmPoll", {4, 37, 0}, false},
    {"DM_GET_TARGET_VERSION", "getTargetVersion", {4, 41, 0}, true},
};

namespace {

constexpr size_t kHeader = sizeof(struct dm_ioctl);
constexpr size_t kInitialDataBuffer = 16 * 1024;
constexpr size_t kMaxBuffer = 1024u * 1024u * 1024u;  // the kernel refuses data_size above 1 GiB

size_t Align8(size_t n) { return (n + 7) & ~size_t(7); }

// Bytes the payload of `req` needs after the header.
size_t PayloadSize(const Request &req) {
  switch (req.cmd) {
    case TABLE_LOAD: {
      size_t n = 0;
      for (const Target &t : req.targets) n += Align8(sizeof(struct dm_target_spec) + t.params.size() + 1);
      return n;
    }
    case DEV_RENAME:
    case DEV_SET_GEOMETRY:
      return Align8(req.data.size() + 1);
    case TARGET_MSG:
      return Align8(sizeof(struct dm_target_msg) + req.data.size() + 1);
    default:
      return 0;
  }
}

void CopyField(char *dst, size_t cap, const std::string &src) {
  // Lengths were validated in TypeScript; truncate defensively so the header can never overflow.
  size_t n = std::min(src.size(), cap - 1);
  memcpy(dst, src.data(), n);
}

void Pack(const Request &req, std::vector<char> &buf) {
  std::fill(buf.begin(), buf.end(), 0);
  auto *io = reinterpret_cast<struct dm_ioctl *>(buf.data());
  memcpy(io->version, kCommands[req.cmd].minVersion, sizeof(io->version));
  io->data_size = static_cast<uint32_t>(buf.size());
  io->data_start = kHeader;
  io->flags = req.flags;
  io->event_nr = req.eventNr;
  // LIST_DEVICES treats a name or uuid as a filter on newer kernels; it never addresses a device.
  if (req.cmd != LIST_DEVICES && req.cmd != LIST_VERSIONS && req.cmd != REMOVE_ALL && req.cmd != VERSION) {
    CopyField(io->name, sizeof(io->name), req.name);
    CopyField(io->uuid, sizeof(io->uuid), req.uuid);
    if (req.hasDev) io->dev = EncodeDev(req.major, req.minor);
  }
  char *data = buf.data() + kHeader;
  switch (req.cmd) {
    case TABLE_LOAD: {
      io->target_count = static_cast<uint32_t>(req.targets.size());
      size_t off = 0;
      for (const Target &t : req.targets) {
        auto *spec = reinterpret_cast<struct dm_target_spec *>(data + off);
        size_t len = Align8(sizeof(struct dm_target_spec) + t.params.size() + 1);
        spec->sector_start = t.start;
        spec->length = t.length;
        spec->next = static_cast<uint32_t>(len);  // input: relative to this spec
        CopyField(spec->target_type, sizeof(spec->target_type), t.type);
        memcpy(data + off + sizeof(struct dm_target_spec), t.params.data(), t.params.size());
        off += len;
      }
      break;
    }
    case DEV_RENAME:
    case DEV_SET_GEOMETRY:
      memcpy(data, req.data.data(), req.data.size());
      break;
    case TARGET_MSG: {
      auto *msg = reinterpret_cast<struct dm_target_msg *>(data);
      msg->sector = req.sector;
      memcpy(msg->message, req.data.data(), req.data.size());
      break;
    }
    default:
      break;
  }
}

// A C string inside [p, end), never reading past the buffer even if the kernel's NUL is missing.
std::string BoundedString(const char *p, const char *end) {
  if (p >= end) return std::string();
  return std::string(p, strnlen(p, static_cast<size_t>(end - p)));
}

bool AtLeast(const uint32_t v[3], uint32_t major, uint32_t minor) {
  return v[0] > major || (v[0] == major && v[1] >= minor);
}

void DecodeTargets(const char *data, const char *end, uint32_t count, Reply &out) {
  size_t off = 0;
  for (uint32_t i = 0; i < count; i++) {
    const char *p = data + off;
    if (p + sizeof(struct dm_target_spec) > end) break;
    const auto *spec = reinterpret_cast<const struct dm_target_spec *>(p);
    Target t;
    t.start = spec->sector_start;
    t.length = spec->length;
    t.status = spec->status;
    t.type = BoundedString(spec->target_type, spec->target_type + sizeof(spec->target_type));
    t.params = BoundedString(p + sizeof(struct dm_target_spec), end);
    out.targets.push_back(std::move(t));
    if (spec->next <= off && i + 1 < count) break;  // output: relative to data_start; must move forward
    off = spec->next;
  }
}

void DecodeDevices(const char *data, const char *end, Reply &out) {
  // Records carry event_nr and flags (and the uuid) only from interface 4.37 on.
  const bool extended = AtLeast(out.version, 4, 37);
  const char *p = data;
  while (p + sizeof(struct dm_name_list) <= end) {
    const auto *nl = reinterpret_cast<const struct dm_name_list *>(p);
    if (nl->dev == 0) break;  // an empty list is one zeroed record
    ListedDevice d;
    d.major = DevMajor(nl->dev);
    d.minor = DevMinor(nl->dev);
    const char *name = p + offsetof(struct dm_name_list, name);
    d.name = BoundedString(name, end);
    if (extended) {
      const char *ext = data + Align8(static_cast<size_t>(name + d.name.size() + 1 - data));
      if (ext + 8 <= end && (nl->next == 0 || ext + 8 <= p + nl->next)) {
        uint32_t ev, fl;
        memcpy(&ev, ext, 4);
        memcpy(&fl, ext + 4, 4);
        d.hasEventNr = true;
        d.eventNr = ev;
        if (fl & DM_NAME_LIST_FLAG_HAS_UUID) {
          d.hasUuid = true;
          d.uuid = BoundedString(ext + 8, end);
        }
      }
    }
    out.devices.push_back(std::move(d));
    if (nl->next == 0) break;
    p += nl->next;
  }
}

void DecodeVersions(const char *data, const char *end, Reply &out) {
  const char *p = data;
  while (p + sizeof(struct dm_target_versions) <= end) {
    const auto *tv = reinterpret_cast<const struct dm_target_versions *>(p);
    TargetVersion v;
    memcpy(v.version, tv->version, sizeof(v.version));
    v.name = BoundedString(p + offsetof(struct dm_target_versions, name), end);
    out.versions.push_back(std::move(v));
    if (tv->next == 0) break;
    p += tv->next;
  }
}

void Decode(const Request &req, const std::vector<char> &buf, Reply &out) {
  const auto *io = reinterpret_cast<const struct dm_ioctl *>(buf.data());
  memcpy(out.version, io->version, sizeof(out.version));
  out.flags = io->flags;
  out.eventNr = io->event_nr;
  out.targetCount = io->target_count;
  out.openCount = io->open_count;
  out.major = DevMajor(io->dev);
  out.minor = DevMinor(io->dev);
  out.name = BoundedString(io->name, io->name + sizeof(io->name));
  out.uuid = BoundedString(io->uuid, io->uuid + sizeof(io->uuid));
  out.bufferSize = static_cast<uint32_t>(buf.size());

  // The payload is buf[data_start .. data_size) of the header the kernel returned.
  size_t start = std::min<size_t>(io->data_start, buf.size());
  size_t stop = std::min<size_t>(std::max<size_t>(io->data_size, start), buf.size());
  const char *data = buf.data() + start;
  const char *end = buf.data() + stop;
  switch (req.cmd) {
    case TABLE_STATUS:
    case DEV_WAIT:
      DecodeTargets(data, end, io->target_count, out);
      break;
    case TABLE_DEPS: {
      if (data + sizeof(struct dm_target_deps) > end) break;
      uint32_t count;
      memcpy(&count, data, 4);
      for (uint32_t i = 0; i < count; i++) {
        const char *d = data + sizeof(struct dm_target_deps) + i * sizeof(uint64_t);
        if (d + sizeof(uint64_t) > end) break;
        uint64_t dev;
        memcpy(&dev, d, sizeof(dev));
        out.deps.push_back(dev);
      }
      break;
    }
    case LIST_DEVICES:
      DecodeDevices(data, end, out);
      break;
    case LIST_VERSIONS:
    case GET_TARGET_VERSION:
      DecodeVersions(data, end, out);
      break;
    case TARGET_MSG:
      if (io->flags & DM_DATA_OUT_FLAG) {
        out.hasData = true;
        out.data = BoundedString(data, end);
      }
      break;
    default:
      break;
  }
}

}  // namespace

Reply Send(int fd, const Request &req) {
  const CmdInfo &info = kCommands[req.cmd];
  size_t size = kHeader + PayloadSize(req);
  if (info.returnsData) size = std::max(size, kInitialDataBuffer);
  size = Align8(size);

  std::vector<char> buf(size);
  Reply out;
  for (;;) {
    Pack(req, buf);
    int rc;
    do {
      rc = ioctl(fd, IoctlNumber(req.cmd), buf.data());
    } while (rc < 0 && errno == EINTR && req.cmd != DEV_WAIT);
    if (rc < 0) {
      out.err = errno;
      // On failure the kernel writes back only the version it speaks.
      memcpy(out.version, reinterpret_cast<struct dm_ioctl *>(buf.data())->version, sizeof(out.version));
      return out;
    }
    const auto *io = reinterpret_cast<const struct dm_ioctl *>(buf.data());
    // Retrying re-sends the request, as libdm does; for TARGET_MSG that re-runs the message, which only
    // happens for messages with long replies (@stats_*), never for the reply-less thin-pool messages.
    if (!(io->flags & DM_BUFFER_FULL_FLAG) || buf.size() * 2 > kMaxBuffer) break;
    buf.assign(buf.size() * 2, 0);
  }
  Decode(req, buf, out);
  return out;
}

}  // namespace dm
