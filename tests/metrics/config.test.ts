// [metrics] listen: off by default; an address of this host (IP or localhost) and port; anything else refused by name.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.ts'

const base = '[api]\nsocket = "/run/dm.sock"\n'

describe('metrics.listen', () => {
  it('is off unless set', () => {
    expect(parseConfig(base).metrics).toEqual({})
    expect(parseConfig(base + '[metrics]\nlisten = ""').metrics).toEqual({})
  })

  it('takes loopback or any IP address of this host, with a port', () => {
    for (const listen of ['127.0.0.1:9464', 'localhost:9464', '[::1]:9464', '10.0.0.7:9464', '[::]:9464', '0.0.0.0:9464', '[fd00::7]:1']) {
      expect(parseConfig(base + `[metrics]\nlisten = "${listen}"`).metrics).toEqual({ listen })
    }
  })

  it('refuses a host name, a missing or bad port, a list, and unknown keys, naming the key', () => {
    for (const [value, why] of [
      ['"metrics.example.com:9464"', /metrics\.listen: "metrics\.example\.com" is not an IP address/],
      ['"127.0.0.1"', /metrics\.listen: must be "host:port"/],
      ['"127.0.0.1:0"', /metrics\.listen: must be "host:port"/],
      ['"127.0.0.1:70000"', /metrics\.listen: must be "host:port"/],
      ['["127.0.0.1:9464"]', /metrics\.listen: must be a string/]
    ] as const) {
      expect(() => parseConfig(base + `[metrics]\nlisten = ${value}`)).toThrow(why)
    }
    expect(() => parseConfig(base + '[metrics]\nport = 9464')).toThrow(/metrics\.port: unknown key \(known: listen\)/)
  })
})
