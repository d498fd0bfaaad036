// The pieces of connection admission under attack on their own (issue 11: F5, F6, F10):
// which addresses count as one IP, and the learnt-peer set with its dial rate.
import { describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { ipKey } from '../../src/mesh/connection-limits.js'
import { LearnedPeers } from '../../src/mesh/learned-peers.js'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.js'

describe('ipKey', () => {
  it('an IPv4 address is itself; an IPv6 address counts by its /64; a v4-mapped v6 address is the v4 one', () => {
    expect(ipKey(multiaddr('/ip4/127.0.0.2/tcp/4001'))).toBe('127.0.0.2')
    expect(ipKey(multiaddr('/ip4/127.0.0.2/udp/4001/quic-v1'))).toBe('127.0.0.2')
    const a = ipKey(multiaddr('/ip6/2001:db8:1:2::1/tcp/1'))
    expect(a).toBe(ipKey(multiaddr('/ip6/2001:db8:1:2:ffff:eeee:dddd:cccc/tcp/2')))
    expect(a).not.toBe(ipKey(multiaddr('/ip6/2001:db8:1:3::1/tcp/1')))
    expect(ipKey(multiaddr('/ip6/::1/tcp/1'))).toBe('0:0:0:0::/64')
    expect(ipKey(multiaddr('/ip6/::ffff:10.0.0.1/tcp/1'))).toBe('10.0.0.1')
    expect(ipKey(multiaddr('/dns/example.org/tcp/1'))).toBeUndefined()
  })
})

describe('LearnedPeers', () => {
  const peer = (): ReturnType<typeof identityFromKey>['peerId'] => identityFromKey(generateSigningKey()).peerId
  const addrs = [multiaddr('/ip4/127.0.0.10/tcp/1'), multiaddr('/ip4/127.0.0.11/tcp/1')]

  it('keeps at most maxCandidatePeers, dropping the oldest first', () => {
    const l = new LearnedPeers({ ...DEFAULT_MESH_SETTINGS, maxCandidatePeers: 3 })
    const ids = [peer(), peer(), peer(), peer()]
    for (const id of ids) l.add(id, addrs)
    expect(l.size).toBe(3)
    expect(l.has(ids[0].toString())).toBe(false)
    expect(l.list().map(c => c.peerId.toString())).toEqual(ids.slice(1).map(String))
  })

  it('hands out dial tokens at learnedDialsPerMinute after a burst of learnedDialBurst', () => {
    let now = 1_000_000
    const l = new LearnedPeers({ ...DEFAULT_MESH_SETTINGS, learnedDialBurst: 4, learnedDialsPerMinute: 6 }, () => now)
    expect(l.take(3)).toBe(3)
    expect(l.take(3)).toBe(1)
    expect(l.take(1)).toBe(0)
    now += 10_000 // 6 a minute: one every 10 s
    expect(l.take(2)).toBe(1)
    now += 3_600_000 // never more than the burst
    expect(l.take(10)).toBe(4)
  })
})
