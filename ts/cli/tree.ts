// The dependency tree of `ls --tree` and of info -c's tree fields, built the way libdm's deptree does
// (libdm-deptree.c _add_dev/_link_tree_nodes), so that node order matches dmsetup's: devices are added in list
// order, each one's dependencies in DM_TABLE_DEPS order; a device used by another leaves the top level.

export interface TreeNode {
  name: string
  uuid: string
  major: number
  minor: number
  /** mapped device (false for the disks and loop devices at the bottom) */
  mapped: boolean
  /** children: what this node uses; includes ROOT for a bottom-level node, as in libdm */
  uses: TreeNode[]
  /** parents: what uses this node; includes ROOT for a top-level node */
  usedBy: TreeNode[]
}

export interface TreeSource {
  /** the devices in DM_LIST_DEVICES order */
  devices: readonly { name: string; major: number; minor: number; uuid?: string }[]
  /** DM_TABLE_DEPS of a mapped device; undefined when it vanished meanwhile */
  deps(major: number, minor: number): { major: number; minor: number }[] | undefined
  /** the device-mapper block major */
  dmMajor: number
}

export class DepTree {
  readonly root: TreeNode = { name: '', uuid: '', major: 0, minor: 0, mapped: false, uses: [], usedBy: [] }
  readonly #nodes = new Map<string, TreeNode>()
  readonly #src: TreeSource
  readonly #byDev = new Map<string, { name: string; uuid?: string }>()

  constructor(src: TreeSource) {
    this.#src = src
    for (const d of src.devices) this.#byDev.set(`${d.major}:${d.minor}`, d)
    for (const d of src.devices) this.#add(this.root, d.major, d.minor)
  }

  find(major: number, minor: number): TreeNode | undefined {
    return this.#nodes.get(`${major}:${minor}`)
  }

  /** dm_tree_node_num_children(node, inverted) */
  childCount(node: TreeNode, inverted: boolean): number {
    if (inverted) return linked(this.root, node) ? 0 : node.usedBy.length
    return linked(node, this.root) ? 0 : node.uses.length
  }

  #add(parent: TreeNode, major: number, minor: number): void {
    const key = `${major}:${minor}`
    let node = this.#nodes.get(key)
    let deps: { major: number; minor: number }[] | undefined
    const isNew = node === undefined
    if (node === undefined) {
      const mapped = major === this.#src.dmMajor
      const known = this.#byDev.get(key)
      deps = mapped ? this.#src.deps(major, minor) : undefined
      node = {
        name: mapped && deps !== undefined ? (known?.name ?? '') : '',
        uuid: mapped ? (known?.uuid ?? '') : '',
        major, minor, mapped: mapped && deps !== undefined, uses: [], usedBy: [],
      }
      this.#nodes.set(key, node)
    }
    this.#linkTree(parent, node)
    if (!isNew) return
    if (!node.mapped || deps === undefined || deps.length === 0) {
      link(node, this.root) // bottom level
      return
    }
    for (const d of deps) this.#add(node, d.major, d.minor)
  }

  // _link_tree_nodes: a node already used by someone is not linked to the root; linking below a parent takes
  // the child off the top level and the parent off the bottom level.
  #linkTree(parent: TreeNode, child: TreeNode): void {
    if (parent === this.root) {
      if (this.childCount(child, true)) return
    } else unlink(this.root, child)
    unlink(parent, this.root)
    link(parent, child)
  }
}

function linked(parent: TreeNode, child: TreeNode): boolean {
  return parent.uses.includes(child)
}

function link(parent: TreeNode, child: TreeNode): void {
  if (linked(parent, child)) return
  parent.uses.push(child)
  child.usedBy.push(parent)
}

function unlink(parent: TreeNode, child: TreeNode): void {
  if (!linked(parent, child)) return
  parent.uses.splice(parent.uses.indexOf(child), 1)
  child.usedBy.splice(child.usedBy.indexOf(parent), 1)
}

/** Tree drawing symbols: dmsetup picks UTF-8 when the locale's codeset is UTF-8, else ASCII. */
const ASCII = { empty: '  ', branch: '|-', vert: '| ', last: '`-' }
const UTF = { empty: '  ', branch: '\u251c\u2500', vert: '\u2502 ', last: '\u2514\u2500' }

export interface TreeDrawOptions {
  utf: boolean
  /** output columns before truncation with '...' (dmsetup: terminal width - 3, or 80) */
  width: number
  truncate: boolean
  /** show (maj:min) after the name (dmsetup default; `-o nodevice` turns it off) */
  device: boolean
  blkdevname: boolean
  /** attributes in brackets */
  active: boolean
  rw: boolean
  open: boolean
  uuid: boolean
  inverted: boolean
  /** per-node info for the attribute options */
  info?(node: TreeNode): { suspended: boolean; readOnly: boolean; openCount: number } | undefined
  blkName?(major: number, minor: number): string | undefined
}

/** `ls --tree`, drawn as dmsetup's _display_tree_walk_children does (non-compact form). */
export function drawTree(tree: DepTree, o: TreeDrawOptions): string {
  const sym = o.utf ? UTF : ASCII
  const more: boolean[] = []
  let out = ''
  let line = ''
  let x = 1
  let lastChar = ''
  const put = (s: string): void => {
    for (const ch of s) {
      x++
      if (!o.truncate) {
        line += ch
        continue
      }
      if (x <= o.width) line += ch
      if (x === o.width + 1) {
        // dmsetup keeps one pending ASCII char so that a line exactly one char too long is not cut
        if (lastChar !== '' || ch.charCodeAt(0) > 0x7f) line += '...'
        else {
          lastChar = ch
          x--
        }
      }
    }
  }
  const newline = (): void => {
    if (lastChar !== '' && x === o.width) line += lastChar
    lastChar = ''
    out += `${line}\n`
    line = ''
    x = 1
  }
  const node = (n: TreeNode, depth: number, last: boolean): void => {
    if (n.name === '' && !o.device && !o.blkdevname) return
    more[depth] = !last
    for (let d = 0; d < depth; d++) {
      put(' ')
      put(d === depth - 1 ? (!more[depth] ? sym.last : sym.branch) : more[d + 1] ? sym.vert : sym.empty)
    }
    put(n.name)
    const blk = o.blkdevname ? o.blkName?.(n.major, n.minor) : undefined
    // libdm's names are never NULL (non-mapped devices have ''), so the space is always there
    if (blk !== undefined) put(` <${blk}>`)
    if (o.device) put(` (${n.major}:${n.minor})`)
    const info = n.mapped ? o.info?.(n) : undefined
    if (info) {
      const attrs: string[] = []
      if (o.active) attrs.push(info.suspended ? 'SUSPENDED' : 'ACTIVE')
      if (o.rw) attrs.push(info.readOnly ? 'RO' : 'RW')
      if (o.open) attrs.push(String(info.openCount))
      if (o.uuid) attrs.push(n.uuid)
      if (attrs.length) put(` [${attrs.join(', ')}]`)
    }
    newline()
  }
  const walk = (parent: TreeNode, depth: number): void => {
    const kids = o.inverted ? parent.usedBy : parent.uses
    kids.forEach((child, i) => {
      node(child, depth, i === kids.length - 1)
      if (tree.childCount(child, o.inverted)) walk(child, depth + 1)
    })
  }
  walk(tree.root, 0)
  return out
}
