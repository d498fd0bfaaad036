// The network model. What it stands in for: TCP/QUIC connections with Noise and yamux
// between hosts (README.md lists what is modelled and what is left out).
//
// - Latency: every pair of nodes has a fixed one-way latency for the run, drawn from the
//   profile's distribution by a hash of (seed, pair), so that it needs no N² table and does
//   not depend on the order links are used in. WAN: nodes sit in regions; the latency
//   between regions is a table, within a region a few ms.
// - Loss: the mesh's connections are reliable streams, so a lost packet costs time, not
//   the message: with probability `lossRate` a message waits a retransmission timeout,
//   and the messages behind it on the same connection wait with it (head of line).
// - Order: a connection delivers in order (a message never overtakes an earlier one on
//   the same link and direction).
// - Bandwidth: each node's uplink sends one message after the other at `bandwidth`
//   bytes/ms (content and records; small messages barely register).
// - Overhead: `overheadBytes` per message stands in for yamux, Noise and TCP/IP framing
//   (acknowledgements included), counted in the wire bytes beside the protocol's own.
import { mix } from './replica.js'

export interface NetworkProfile {
  name: string
  /** one-way latency (ms) of the pair's link, from a uniform draw u in [0, 1) and the regions of both ends */
  latency: (u: number, regionA: number, regionB: number) => number
  /** regions nodes are spread over (by a hash of the node index) */
  regions: number
  lossRate: number
  /** extra delay of a message that lost a packet (ms), on top of one round trip */
  rto: number
  /** a node's uplink, bytes per ms */
  bandwidth: number
  overheadBytes: number
}

// One-way latencies between 5 regions (ms), roughly Europe, US east, US west, Asia, Oceania.
const WAN_REGIONS = [
  [2, 40, 75, 110, 140],
  [40, 2, 35, 90, 100],
  [75, 35, 2, 60, 75],
  [110, 90, 60, 2, 55],
  [140, 100, 75, 55, 2]
]

export const PROFILES: Record<string, NetworkProfile> = {
  /** one data centre or office: 0.1–0.6 ms one way (skewed low), 1 Gbit/s, no loss */
  lan: { name: 'lan', latency: u => 0.1 + 0.5 * u * u, regions: 1, lossRate: 0, rto: 200, bandwidth: 125_000, overheadBytes: 80 },
  /** 5 regions (table above, ±20% per link), 2–8 ms within one; 100 Mbit/s; 0.5% of messages wait a retransmission */
  wan: {
    name: 'wan',
    latency: (u, a, b) => a === b ? 2 + 6 * u : WAN_REGIONS[a][b] * (0.8 + 0.4 * u),
    regions: 5,
    lossRate: 0.005,
    rto: 200,
    bandwidth: 12_500,
    overheadBytes: 80
  },
  /** every node on one host (the bench): loopback, 0.02–0.05 ms */
  host: { name: 'host', latency: u => 0.02 + 0.03 * u, regions: 1, lossRate: 0, rto: 200, bandwidth: 1_000_000, overheadBytes: 80 }
}

export class Network {
  /** when each node's uplink is free again (simulated ms) */
  private uplinkFree: Float64Array
  private region: Int32Array

  constructor (readonly profile: NetworkProfile, private readonly seed: number, nodes: number, private readonly random: () => number) {
    this.uplinkFree = new Float64Array(nodes)
    this.region = new Int32Array(nodes)
    for (let i = 0; i < nodes; i++) this.region[i] = mix(i ^ mix(seed)) % profile.regions
  }

  /** Room for nodes that join later. */
  grow (nodes: number): void {
    if (nodes <= this.region.length) return
    const r = new Int32Array(nodes); r.set(this.region)
    for (let i = this.region.length; i < nodes; i++) r[i] = mix(i ^ mix(this.seed)) % this.profile.regions
    this.region = r
    const u = new Float64Array(nodes); u.set(this.uplinkFree)
    this.uplinkFree = u
  }

  /** The pair's one-way latency (ms), the same both ways and for the whole run. */
  latency (a: number, b: number): number {
    const lo = a < b ? a : b; const hi = a < b ? b : a
    const u = mix(mix(lo ^ mix(this.seed + 0x51)) ^ hi) / 4294967296
    return this.profile.latency(u, this.region[lo], this.region[hi])
  }

  /**
   * When a message of `bytes` leaving `from` at `departs` arrives over a link of one-way
   * latency `latency`, given the previous arrival on the same link and direction.
   */
  arrival (from: number, departs: number, bytes: number, latency: number, previousArrival: number): number {
    const p = this.profile
    const start = Math.max(departs, this.uplinkFree[from])
    const sent = start + (bytes + p.overheadBytes) / p.bandwidth
    this.uplinkFree[from] = sent
    let at = sent + latency
    if (p.lossRate > 0 && this.random() < p.lossRate) at += p.rto + 2 * latency
    return at > previousArrival ? at : previousArrival
  }
}
