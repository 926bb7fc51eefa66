// send.mjs sends Segment events with Segment's official Node.js library
// (@segment/analytics-node) to an s2segment endpoint's /v1/batch, flushes,
// and prints what it sent as JSON lines {"messageId","type","event"} on
// standard output. It exits non-zero if the library reports an error.
//
//   node send.mjs --host http://127.0.0.1:3000 --write-key KEY [--run RUN] [--users 5]
import { Analytics } from '@segment/analytics-node'

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]
  if (fallback !== undefined) return fallback
  console.error(`send.mjs: --${name} is required`)
  process.exit(2)
}

const host = arg('host')
const writeKey = arg('write-key')
const run = arg('run', `run-${Date.now()}`)
const users = Number(arg('users', '5'))

const analytics = new Analytics({
  writeKey,
  host,
  path: '/v1/batch',
  flushAt: 7, // several batches, the last one partial
  flushInterval: 1000,
  maxRetries: 3,
  httpRequestTimeout: 10000,
})

const failures = []
analytics.on('error', (err) => failures.push(err))

const sent = []
let n = 0
const id = () => `${run}-${++n}`
function record(type, params, call) {
  const messageId = id()
  call({ ...params, messageId })
  sent.push({ messageId, type, event: params.event ?? null })
}

for (let u = 0; u < users; u++) {
  const userId = `${run}-user-${u}`
  record('identify', { userId, traits: { plan: u % 2 ? 'pro' : 'free', logins: u } }, (p) => analytics.identify(p))
  record('page', { userId, category: 'Docs', name: 'Getting Started', properties: { path: '/docs', title: 'Getting Started' } }, (p) => analytics.page(p))
  record('track', { userId, event: 'Order Completed', properties: { orderId: `o-${u}`, total: 99.5 + u, bigId: 12345678901234567890n.toString() } }, (p) => analytics.track(p))
  record('track', { anonymousId: `${run}-anon-${u}`, event: 'Product Viewed', properties: { sku: 'sku-1' }, context: { ip: '203.0.113.7' } }, (p) => analytics.track(p))
  record('group', { userId, groupId: `${run}-group-${u % 2}`, traits: { name: 'ACME', employees: 42 } }, (p) => analytics.group(p))
  record('alias', { userId, previousId: `${run}-anon-${u}` }, (p) => analytics.alias(p))
}

await analytics.closeAndFlush({ timeout: 30000 })
if (failures.length > 0) {
  for (const f of failures) console.error('send.mjs: the library reported:', f?.code ?? '', f?.reason?.message ?? f?.message ?? f)
  process.exit(1)
}
for (const s of sent) console.log(JSON.stringify(s))
console.error(`send.mjs: sent ${sent.length} events to ${host}/v1/batch`)
