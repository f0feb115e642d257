// `devmapper --help` and `devmapper VERB --help`.

export const VERB_HELP: Record<string, string> = {
  version: 'version\n  The library and kernel driver versions.',
  targets: 'targets\n  The target types the kernel has loaded, with their versions.',
  ls: 'ls [--target TYPE] [-o devno|devname|blkdevname] [--tree [-o TREE_OPTIONS]]\n' +
    '  Lists devices. --tree draws their dependencies (options: device, nodevice, blkdevname, active, open, rw,\n' +
    '  uuid, ascii, utf, inverted, notrunc).',
  info: 'info [DEVICE...] [-c [-o FIELDS|+FIELDS|help] [--noheadings] [--separator SEP]]\n' +
    '  Device state; -c as columns (default fields name,major,minor,attr,open,segments,events,uuid).',
  table: 'table [DEVICE...] [--target TYPE] [--showkeys] [--inactive] [--concise]\n' +
    '  The loaded tables; crypt keys print as zeros unless --showkeys.',
  status: 'status [DEVICE...] [--target TYPE] [--noflush]\n  Per-target status lines.',
  deps: 'deps [DEVICE...] [-o devno|devname|blkdevname]\n  The devices each device maps onto.',
  create: 'create NAME [TABLE_FILE] [--table TEXT] [-u UUID] [-r] [--readahead [+]SECTORS|auto|none]\n' +
    '  Creates and activates a device; the table comes from --table, the file, or stdin.',
  load: 'load DEVICE [TABLE_FILE] [--table TEXT] [-r]\n  Loads a table into the inactive slot (resume makes it live).',
  reload: 'reload DEVICE [TABLE_FILE] [--table TEXT] [-r]\n  Same as load.',
  resume: 'resume DEVICE... [--readahead [+]SECTORS|auto|none]\n  Resumes, swapping in the inactive table if any.',
  suspend: 'suspend DEVICE... [--noflush] [--nolockfs]\n  Suspends I/O.',
  remove: 'remove DEVICE... [-f] [--retry] [--deferred]\n' +
    '  Removes devices. -f first replaces the table with an error target; --retry retries while busy\n' +
    '  (25 x 200 ms); --deferred removes at last close.',
  remove_all: 'remove_all [-f]\n  Removes every device that is not open; -f fails the I/O of the others first.',
  rename: 'rename DEVICE NEW_NAME | rename DEVICE --setuuid UUID\n  Renames a device, or sets the uuid of one that has none.',
  message: 'message DEVICE SECTOR MESSAGE...\n  Sends a target message; prints the reply, if any.',
  wait: 'wait DEVICE [EVENT_NR]\n  Waits until the device\'s event counter passes EVENT_NR (default 0).',
  mknodes: 'mknodes [DEVICE...]\n  Makes /dev/mapper/<name> nodes; without names also removes stale ones.',
  setgeometry: 'setgeometry DEVICE CYL HEAD SECT START\n  Sets the geometry reported by HDIO_GETGEO.',
  clear: 'clear DEVICE...\n  Drops the inactive table.',
  udevcookies: 'udevcookies\n  Lists the udev cookie semaphores (value column not available: shown as -).',
  watch: 'watch [NAME...]\n  One JSON line per device event ({name, eventNr, previousEventNr, major, minor, uuid}) until Ctrl-C.',
  loop: 'loop attach FILE [-r] [--offset B] [--sizelimit B] [--sector-size N] [--direct-io] [--autoclear] [--partscan]\n' +
    '     | loop detach DEV... | loop ls | loop find FILE | loop resize DEV | loop info DEV\n' +
    '  Loop devices without losetup: attach prints the device, ls prints losetup --list\'s columns, find prints\n' +
    '  losetup -j\'s lines, resize re-reads the backing file\'s size.',
  'thin-metadata-size': 'thin-metadata-size -b BLOCKSIZE[UNIT] -s POOLSIZE[UNIT] -m MAXTHINS [-u UNIT] [-n[short|long]] (--help: the tool\'s)\n' +
    '  Debian\'s thin_metadata_size (0.9.0), byte for byte: same options, output, messages and exit codes.',
  volume: 'volume SUBCOMMAND --root DIR [--opt dm.KEY=VALUE]...\n' +
    '  create NAME [--size S] [--fs ext4|xfs] | snapshot SOURCE NAME | rm NAME [--deferred] [--deferred-deletion]\n' +
    '  | ls | info NAME | activate NAME | deactivate NAME | mount NAME DIR [--mount-options O] | unmount NAME\n' +
    '  | resize NAME SIZE | check [--repair] | status | recover-txid. Thin volumes in one pool; --opt takes\n' +
    '  Docker\'s and Convoy\'s dm.* strings. recover-txid adopts a pool transaction id someone else moved, if the\n' +
    '  pool matches the state.',
  pool: 'pool status NAME [--noflush]\n  A thin-pool\'s typed status (--json for the object).',
}

export function usage(): string {
  return (
    'Usage: devmapper [OPTIONS] VERB [ARGS] [OPTIONS]\n\n' +
    "Device-mapper from Node, no libdevmapper needed. dmsetup's verbs print dmsetup's layouts; --json prints the\n" +
    "library's objects. Options go before or after the verb. Exit status: 0 ok, 1 failed, 2 bad usage.\n\n" +
    'Verbs:\n' +
    Object.values(VERB_HELP)
      .map((h) => `  ${h.split('\n')[0]}`)
      .join('\n') +
    '\n\nDevice addressing: a NAME, or -u UUID, or -j MAJOR -m MINOR.\n' +
    "Global options: --json, -v, --noudevsync. 'devmapper VERB --help' for one verb.\n"
  )
}
