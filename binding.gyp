{
  "targets": [
    {
      "target_name": "devmapper",
      "sources": ["native/addon.cc", "native/convert.cc", "native/request.cc", "native/udev.cc", "native/poll.cc", "native/loop.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
