// F4 at config load: the TCP API listens on loopback only; the client takes clan's URLs.
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/config.ts'
import { grpcTarget } from '../../src/client/url.ts'

function refusal (text: string): ConfigError | undefined {
  try { parseConfig(text) } catch (e) { return e as ConfigError }
  return undefined
}

describe('api.listen', () => {
  it.each([
    ['0.0.0.0:7331', 'api.listen'],
    ['10.0.0.1:7331', 'api.listen'],
    ['[::]:7331', 'api.listen'],
    ['[fd00::1]:7331', 'api.listen'],
    ['example.org:7331', 'api.listen']
  ])('refuses the non-loopback address %s, naming api.listen', (addr, key) => {
    const err = refusal(`[api]\nlisten = "${addr}"`)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err?.key).toBe(key)
    expect(err?.message).toMatch(/api\.listen: .* is not a loopback address/)
  })

  it('refuses a non-loopback entry of a list, naming its index', () => {
    expect(refusal('[api]\nlisten = ["127.0.0.1:7331", "0.0.0.0:7332"]')?.key).toBe('api.listen[1]')
  })

  it('accepts 127.0.0.0/8, ::1, localhost, a list, and "" (disabled)', () => {
    expect(parseConfig('[api]\nlisten = "127.0.0.2:7331"').api.listen).toEqual(['127.0.0.2:7331'])
    expect(parseConfig('[api]\nlisten = "[::1]:7331"').api.listen).toEqual(['[::1]:7331'])
    expect(parseConfig('[api]\nlisten = ["127.0.0.1:7331", "[::1]:7331"]').api.listen).toEqual(['127.0.0.1:7331', '[::1]:7331'])
    expect(parseConfig('[api]\nlisten = ""').api.listen).toEqual([])
  })

  it('listens on localhost by default: 127.0.0.1 and [::1]', () => {
    expect(parseConfig('').api.listen).toEqual(['localhost:7331'])
  })
})

describe('client URLs', () => {
  it.each([
    ['http://[::1]:7331', '[::1]:7331'],
    ['http://localhost:7331', 'localhost:7331'],
    ['http://localhost:7331/', 'localhost:7331'],
    ['[::1]:7331', '[::1]:7331'],
    ['127.0.0.1:7331', '127.0.0.1:7331'],
    ['unix:///run/data-mesher/api.sock', 'unix:///run/data-mesher/api.sock']
  ])('takes %s', (url, target) => {
    expect(grpcTarget(url)).toBe(target)
  })
})
