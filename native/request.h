// One request path for every command: pack a dm_ioctl header and its payload, send it, grow the buffer while
// the kernel says DM_BUFFER_FULL_FLAG, and decode what the kernel wrote back. Plain C++: no JS values here, so
// it runs unchanged on the JS thread (sync calls) and on a worker thread (promises).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dm_abi.h"

namespace dm {

struct Target {
  uint64_t start = 0;
  uint64_t length = 0;
  int32_t status = 0;
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
};

struct ListedDevice {
  std::string name;
  uint32_t major = 0, minor = 0;
  bool hasEventNr = false;
  uint32_t eventNr = 0;
  bool hasUuid = false;
  std::string uuid;
};

struct TargetVersion {
  std::string name;
  uint32_t version[3] = {0, 0, 0};
};

struct Reply {
  int err = 0;  // errno of a failed ioctl; 0 on success
  uint32_t version[3] = {0, 0, 0};
  uint32_t flags = 0;
  uint32_t eventNr = 0;
  uint32_t targetCount = 0;
  int32_t openCount = 0;
  uint32_t major = 0, minor = 0;
  std::string name, uuid;
  std::vector<Target> targets;        // TABLE_STATUS, DEV_WAIT
  std::vector<uint64_t> deps;         // TABLE_DEPS (encoded dev_t)
  std::vector<ListedDevice> devices;  // LIST_DEVICES
  std::vector<TargetVersion> versions;  // LIST_VERSIONS, GET_TARGET_VERSION
  bool hasData = false;               // TARGET_MSG reply (DM_DATA_OUT_FLAG)
  std::string data;
  uint32_t bufferSize = 0;            // size of the buffer that finally fit the reply
};

// Sends one request on an open control fd. Never throws; a failed ioctl is reported in Reply::err.
Reply Send(int fd, const Request &req);

}  // namespace dm
