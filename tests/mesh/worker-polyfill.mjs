// libp2p v3 calls Promise.withResolvers, which Node 20 lacks (as src/polyfill.ts does for
// the daemon): imported first by the plain-JavaScript peers the mesh tests run as processes
// of their own (churn-worker.mjs, link-peer.mjs), before they load libp2p.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
