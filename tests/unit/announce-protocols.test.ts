// MeshOptions.announceProtocols (src/mesh/announce.ts announceProtocols): the announce ids
// a node handles and offers. All three by default; fewer stand for an older release
// (tests/mesh/mixed-fleet.test.ts), always newest first so that the opener offers the
// newest it has first; an id that is not an announce version, or none, is refused.
import { expect, it } from 'vitest'
import { ANNOUNCE_PROTOCOLS, AnnounceProtocolsError, announceProtocols } from '../../src/mesh/announce.ts'
import { PROTOCOLS } from '../../src/mesh/settings.ts'

it('all three by default, newest first', () => {
  expect(announceProtocols()).toEqual([PROTOCOLS.announceReshape, PROTOCOLS.announceHops, PROTOCOLS.announce])
  expect(announceProtocols()).toEqual(ANNOUNCE_PROTOCOLS)
})

it('fewer, in the order of the versions whatever the order given', () => {
  expect(announceProtocols([PROTOCOLS.announce, PROTOCOLS.announceHops])).toEqual([PROTOCOLS.announceHops, PROTOCOLS.announce])
  expect(announceProtocols([PROTOCOLS.announce])).toEqual([PROTOCOLS.announce])
})

it('an unknown id, or none, is refused', () => {
  expect(() => announceProtocols([PROTOCOLS.fetch])).toThrow(AnnounceProtocolsError)
  expect(() => announceProtocols(['/data-mesher/announce/9.9.9', PROTOCOLS.announceHops])).toThrow(/not an announce protocol: \/data-mesher\/announce\/9\.9\.9/)
  expect(() => announceProtocols([])).toThrow(AnnounceProtocolsError)
})
