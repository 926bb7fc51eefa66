// verify.mjs reads the rows s2segment wrote (through the Data API emulator's
// /api/v2/query/rows) and checks that every event send.mjs sent is there
// exactly once, with its type and event name, and that nothing else of the
// run is.
//
//   node verify.mjs --data-api http://127.0.0.1:9000 --database s2segment --table segment_data --run RUN < sent.ndjson
import { readFileSync } from 'node:fs'

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]
  if (fallback !== undefined) return fallback
  console.error(`verify.mjs: --${name} is required`)
  process.exit(2)
}

const dataAPI = arg('data-api')
const database = arg('database', 's2segment')
const table = arg('table', 'segment_data')
const run = arg('run')

const sent = readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
if (sent.length === 0) {
  console.error('verify.mjs: nothing was sent')
  process.exit(1)
}

const quoted = '`' + table.replaceAll('`', '``') + '`'
const res = await fetch(`${dataAPI}/api/v2/query/rows`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from('root:').toString('base64') },
  body: JSON.stringify({
    sql: `SELECT messageId, type, event, userId, anonymousId, groupId FROM ${quoted} WHERE messageId LIKE ?`,
    database,
    args: [`${run}-%`],
  }),
})
if (!res.ok) {
  console.error(`verify.mjs: query failed: ${res.status} ${await res.text()}`)
  process.exit(1)
}
const rows = (await res.json()).results[0].rows

const seen = new Map()
for (const r of rows) seen.set(r.messageId, [...(seen.get(r.messageId) ?? []), r])
const problems = []
for (const s of sent) {
  const got = seen.get(s.messageId) ?? []
  seen.delete(s.messageId)
  if (got.length !== 1) {
    problems.push(`${s.messageId} (${s.type}) is in the table ${got.length} times`)
    continue
  }
  const r = got[0]
  if (r.type !== s.type) problems.push(`${s.messageId}: type ${r.type}, sent ${s.type}`)
  if ((r.event ?? null) !== s.event) problems.push(`${s.messageId}: event ${r.event}, sent ${s.event}`)
  if (r.userId == null && r.anonymousId == null) problems.push(`${s.messageId}: neither userId nor anonymousId was written`)
  if (s.type === 'group' && !r.groupId) problems.push(`${s.messageId}: groupId was not written`)
}
for (const [id] of seen) problems.push(`${id} is in the table but was not sent`)

if (problems.length > 0) {
  for (const p of problems) console.error('verify.mjs: ' + p)
  process.exit(1)
}
const types = {}
for (const s of sent) types[s.type] = (types[s.type] ?? 0) + 1
console.log(`verify.mjs: all ${sent.length} events landed exactly once (${Object.entries(types).map(([t, n]) => `${n} ${t}`).join(', ')})`)
