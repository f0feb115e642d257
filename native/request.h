// One request path for every command: pack a dm_ioctl header and its payload into a pooled buffer, send it,
// and grow the buffer while the kernel says DM_BUFFER_FULL_FLAG. The reply stays raw bytes: TypeScript decodes
// them (ts/core/abi.ts). Plain C++: no JS values here, so it runs unchanged on the JS thread (sync calls) and
// on a worker thread (promises).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "dm_abi.h"

namespace dm {

struct Target {
  uint64_t start = 0;
  uint64_t length = 0;
  std::string type;
  std::string params;
};

struct Request {
  Cmd cmd = VERSION;
  std::string name;           // device name, or the target name for GET_TARGET_VERSION
  std::string uuid;
  bool hasDev = false;        // address the device by major:minor
  uint32_t major = 0, minor = 0;
  uint32_t flags = 0;
  uint32_t eventNr = 0;       // udev cookie (resume/remove/rename) or last seen event (DEV_WAIT)
  std::vector<Target> targets;  // TABLE_LOAD
  std::string data;           // DEV_RENAME new name/uuid, DEV_SET_GEOMETRY "c h s start", TARGET_MSG text
  uint64_t sector = 0;        // TARGET_MSG
  int ifOk = -1;              // batch: sent iff that earlier request succeeded, whatever failed since (a resume
                              // after a failed message); -1: sent iff nothing before it failed
};

// Request buffers of one Control, shared by the JS thread and its workers: one buffer per request in flight
// (taken, used, given back), and per command the buffer size that last fitted the reply, so a long listing
// does not start small and double on every call.
class BufferPool {
 public:
  BufferPool();
  std::vector<char> Take();
  void Give(std::vector<char> buf);
  size_t SizeFor(Cmd cmd) const { return sizes_[cmd].load(std::memory_order_relaxed); }
  void Fitted(Cmd cmd, size_t size);

 private:
  std::mutex mu_;
  std::vector<std::vector<char>> free_;
  std::atomic<size_t> sizes_[CMD_COUNT];
};

// A reply: the errno of a failed ioctl (0 on success) and the reply bytes, buf[0 .. len): the dm_ioctl header
// as the kernel returned it, followed by the payload for commands that return one.
struct Reply {
  int err = 0;
  size_t len = 0;
};

// Sends one request on an open control fd using `buf` (from the pool). Never throws.
Reply Send(int fd, const Request &req, BufferPool &pool, std::vector<char> &buf);

// Wipes what a SECURE_DATA request left in the buffer (a crypt key in a table or a message).
void Scrub(const Request &req, std::vector<char> &buf);

// Appends one reply to a framed list: u32 errno, u32 length, the bytes, padding to 8. TypeScript reads it with
// readFrames() in ts/core/abi.ts.
void AppendFrame(std::vector<char> &out, int err, const char *bytes, size_t len);

// LIST_DEVICES, then TABLE_STATUS of every listed device by major:minor with `flags` (STATUS_TABLE for the
// tables; NOFLUSH), every status reply framed into `out`. Devices gone between the list and their status are
// left out. Returns the failed request's errno (0 on success) and the request it concerned in `failed`.
int StatusAll(int fd, uint32_t flags, BufferPool &pool, std::vector<char> &out, Request &failed);

}  // namespace dm
