# The addon: one .node from native/. The link settings make it load on any glibc >= 2.28 without the host's
# libstdc++ (libstdc++ linked in and kept private, unused sections dropped, see native/glibc-compat.cc);
# scripts/check-glibc.sh verifies a build. libgcc stays dynamic: libgcc_s.so.1 is on every glibc system
# (Node links it) and needs no new symbol versions, whereas the static unwinder needs GLIBC_2.34/2.35 symbols.
# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: an error raised while a worker thread or the process is being torn
# down is dropped instead of aborting the process (see native/worker.h).
# `--sanitize=address,undefined` (scripts/build-sanitize.sh) builds a test-only addon with those sanitizers,
# against the shared libstdc++ so the ASan runtime sees its operator new/delete.
{
  "variables": {"sanitize%": ""},
  "targets": [
    {
      "target_name": "devmapper",
      "sources": ["native/addon.cc", "native/convert.cc", "native/request.cc", "native/udev.cc", "native/poll.cc",
                  "native/lock.cc", "native/loop.cc", "native/glibc-compat.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter",
                    "-ffunction-sections", "-fdata-sections"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-static-libstdc++", "-Wl,--exclude-libs,ALL", "-Wl,--gc-sections"],
      "conditions": [
        ["OS!='linux'", {"type": "none"}],
        ["sanitize!=''", {
          "cflags_cc": ["-fsanitize=<(sanitize)", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"],
          "ldflags": ["-fsanitize=<(sanitize)"],
          "ldflags!": ["-static-libstdc++", "-Wl,--exclude-libs,ALL"]
        }]
      ]
    }
  ]
}
