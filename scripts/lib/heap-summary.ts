// What a V8 heap snapshot (.heapsnapshot, as node writes on --heapsnapshot-signal) holds,
// by constructor, and what grew between two of them: the soak's answer to "name what grows".
import { readFileSync } from 'node:fs'

interface Snapshot {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

export interface HeapGroup { name: string, count: number, bytes: number }

/** Self sizes and counts by constructor (objects) or by node type (strings, code, arrays...). */
export function summarizeHeap (text: string): Map<string, HeapGroup> {
  const s = JSON.parse(text) as Snapshot
  const fields = s.snapshot.meta.node_fields
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const types = s.snapshot.meta.node_types[0]
  const groups = new Map<string, HeapGroup>()
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]]
    const name = type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${s.strings[s.nodes[i + nameAt]]}` : `(${type})`
    const g = groups.get(name) ?? { name, count: 0, bytes: 0 }
    g.count++
    g.bytes += s.nodes[i + sizeAt]
    groups.set(name, g)
  }
  return groups
}

/** The groups that grew most in bytes from `before` to `after`. */
export function heapGrowth (before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, top = 15): HeapGroup[] {
  const grown: HeapGroup[] = []
  for (const [name, a] of after) {
    const b = before.get(name)
    grown.push({ name, count: a.count - (b?.count ?? 0), bytes: a.bytes - (b?.bytes ?? 0) })
  }
  return grown.sort((x, y) => y.bytes - x.bytes).slice(0, top)
}

export function compareSnapshotFiles (before: string, after: string, top = 15): HeapGroup[] {
  return heapGrowth(summarizeHeap(readFileSync(before, 'utf8')), summarizeHeap(readFileSync(after, 'utf8')), top)
}
