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
constexpr size_t kMaxPooled = 8;                      // buffers kept for reuse; more in flight are freed after

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

// Packs the header and payload into buf[0 .. written). Only those bytes are zeroed first: the kernel reads
// nothing else of the request, and a reused buffer's tail is overwritten by the reply.
void Pack(const Request &req, size_t written, size_t dataSize, std::vector<char> &buf) {
  memset(buf.data(), 0, written);
  auto *io = reinterpret_cast<struct dm_ioctl *>(buf.data());
  memcpy(io->version, kCommands[req.cmd].minVersion, sizeof(io->version));
  io->data_size = static_cast<uint32_t>(dataSize);
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

}  // namespace

BufferPool::BufferPool() {
  for (unsigned c = 0; c < CMD_COUNT; c++) sizes_[c].store(kCommands[c].returnsData ? kInitialDataBuffer : 0);
}

std::vector<char> BufferPool::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return std::vector<char>();
  std::vector<char> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void BufferPool::Give(std::vector<char> buf) {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() < kMaxPooled) free_.push_back(std::move(buf));
}

void BufferPool::Fitted(Cmd cmd, size_t size) {
  // Only grows: a size that fitted once is kept, so the next call of this command needs no retry.
  size_t cur = sizes_[cmd].load(std::memory_order_relaxed);
  while (size > cur && !sizes_[cmd].compare_exchange_weak(cur, size, std::memory_order_relaxed)) {
  }
}

Reply Send(int fd, const Request &req, BufferPool &pool, std::vector<char> &buf) {
  const CmdInfo &info = kCommands[req.cmd];
  const size_t written = kHeader + PayloadSize(req);
  size_t size = Align8(std::max(written, pool.SizeFor(req.cmd)));
  Reply out;
  for (;;) {
    // resize() zeroes only bytes the buffer never had; what a reused buffer held is not read by the kernel.
    if (buf.size() < size) buf.resize(size);
    Pack(req, written, size, buf);
    int rc;
    do {
      rc = ioctl(fd, IoctlNumber(req.cmd), buf.data());
    } while (rc < 0 && errno == EINTR && req.cmd != DEV_WAIT);
    if (rc < 0) {
      out.err = errno;
      out.len = kHeader;  // on failure the kernel writes back only the version it speaks
      return out;
    }
    const auto *io = reinterpret_cast<const struct dm_ioctl *>(buf.data());
    // Retrying re-sends the request, as libdm does; for TARGET_MSG that re-runs the message, which only
    // happens for messages with long replies (@stats_*), never for the reply-less thin-pool messages.
    if (!(io->flags & DM_BUFFER_FULL_FLAG) || size * 2 > kMaxBuffer) break;
    size *= 2;
  }
  if (info.returnsData) pool.Fitted(req.cmd, size);
  const auto *io = reinterpret_cast<const struct dm_ioctl *>(buf.data());
  // data_size on return is what the kernel filled (or, with no payload written, what was sent).
  out.len = info.returnsData ? std::min<size_t>(std::max<size_t>(io->data_size, kHeader), size) : kHeader;
  return out;
}

void Scrub(const Request &req, std::vector<char> &buf) {
  if (req.flags & DM_SECURE_DATA_FLAG) explicit_bzero(buf.data(), buf.size());
}

void AppendFrame(std::vector<char> &out, int err, const char *bytes, size_t len) {
  uint32_t head[2] = {static_cast<uint32_t>(err), static_cast<uint32_t>(len)};
  size_t at = out.size();
  out.resize(at + 8 + Align8(len));
  memcpy(out.data() + at, head, 8);
  if (len) memcpy(out.data() + at + 8, bytes, len);
}

int StatusAll(int fd, uint32_t flags, BufferPool &pool, std::vector<char> &out, Request &failed) {
  std::vector<char> buf = pool.Take();
  failed = Request();
  failed.cmd = LIST_DEVICES;
  Reply list = Send(fd, failed, pool, buf);
  if (list.err != 0) {
    pool.Give(std::move(buf));
    return list.err;
  }
  // The names are read from a copy (pooled as well): every TABLE_STATUS reuses the buffer.
  const auto *io = reinterpret_cast<const struct dm_ioctl *>(buf.data());
  size_t start = std::min<size_t>(io->data_start, list.len);
  std::vector<char> names = pool.Take();
  names.assign(buf.begin() + start, buf.begin() + list.len);
  const char *p = names.data(), *end = names.data() + names.size();
  int err = 0;
  while (p + sizeof(struct dm_name_list) <= end) {
    const auto *nl = reinterpret_cast<const struct dm_name_list *>(p);
    if (nl->dev == 0) break;  // an empty list is one zeroed record
    Request st;
    st.cmd = TABLE_STATUS;
    st.flags = flags;
    st.hasDev = true;
    st.major = DevMajor(nl->dev);
    st.minor = DevMinor(nl->dev);
    Reply r = Send(fd, st, pool, buf);
    if (r.err == 0) {
      AppendFrame(out, 0, buf.data(), r.len);
    } else if (r.err != ENXIO) {  // ENXIO: removed since the list; anything else fails the call
      failed = st;
      err = r.err;
      break;
    }
    if (nl->next == 0) break;
    p += nl->next;
  }
  if (flags & DM_SECURE_DATA_FLAG) explicit_bzero(buf.data(), buf.size());
  pool.Give(std::move(buf));
  pool.Give(std::move(names));
  return err;
}

}  // namespace dm
