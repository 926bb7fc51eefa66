// Usage: node generate.mjs [--seed N] [--mappings N] [--subscriptions N] [--out DIR]
//
// Generates random conformance cases and runs them through Segment's own
// libraries (@segment/actions-core for mappings, @segment/destination-subscriptions
// for subscriptions) to record the expected results:
//
//   DIR/mapping/testdata/generated.ndjson                  {"name","mapping","payload", "output"|"undefined"|"error"}
//   DIR/destination/testdata/subscription-generated.ndjson {"name","subscription","event", "match"|"error","error_at"}
//
// DIR defaults to the repository root. The cases are a pure function of the
// seed: the same seed and library versions give byte-identical files.
//
// What is generated, and what is left out on purpose (the deliberate
// differences of mapping/testdata/README.md): random events of random
// structure; paths that exist and paths that do not, written in every
// syntax the reference reads (a.b, a[0], a["b"], a['b'], $.[0], $.["b"],
// ["b"].c, a..b, trailing "]" and "."); mappings built from @path,
// @arrayPath, @template and @if over those paths; FQL subscriptions over
// the fields and operators the reference supports, with and/or, negated
// functions and parenthesised groups. No event holds an integer beyond
// 2^53, a duplicate key, or a key named after an inherited JavaScript
// property (constructor, toString, __proto__); no subscription holds an
// empty group "()".
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { transform } = require('@segment/actions-core')
const { parseFql, validate } = require('@segment/destination-subscriptions')

// ---- options

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def
}
const SEED = Number(opt('seed', '14'))
const N_MAPPINGS = Number(opt('mappings', '1000'))
const N_SUBSCRIPTIONS = Number(opt('subscriptions', '500'))
const OUT = opt('out', path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'))

// ---- seeded random numbers (mulberry32)

function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
let rand = rng(SEED)
const int = (n) => Math.floor(rand() * n) // 0 .. n-1
const chance = (p) => rand() < p
const pick = (xs) => xs[int(xs.length)]

// ---- random values

const KEYS = ['a', 'b', 'c', 'id', 'name', 'items', 'x y', '0', '1', '2', '10', '01', 'length', 'é', 'k_1', 'k-2', 'A', 'its', 'x[y]', 'ü名', '', 'a\\b', 'tab\there', '*', '#', '@x', 'a|b', '1e3', '-1']
const STRINGS = ['', 'a', 'abc', 'Order Completed', 'x y', '0', '1.5', 'true', 'null', 'straße', 'é', '😀', 'a,b', 'hello world', 'ab*', 'ba', 'say "hi"', 'back\\slash', 'line\nbreak', '\u0000', '\u2028', '[object Object]', ' padded ']
const NUMBERS = [0, 1, 2, -1, 3, 10, 42, 100, 1.5, -2.25, 0.1, 1e21, 1e-7, 9007199254740991]

function scalar() {
  switch (int(6)) {
    case 0:
      return pick(STRINGS)
    case 1:
      return pick(NUMBERS)
    case 2:
      return chance(0.5)
    case 3:
      return null
    case 4:
      return chance(0.5) ? int(1000) : pick([rand() * 100, Math.round(rand() * 1e6) / 1e3, -rand(), rand() * 1e25, rand() / 1e9])
    default:
      return pick(STRINGS) + int(10)
  }
}

function value(depth) {
  if (depth <= 0) return scalar()
  switch (int(5)) {
    case 0:
    case 1:
      return object(depth - 1)
    case 2:
      return array(depth - 1)
    default:
      return scalar()
  }
}

function object(depth, keys = KEYS) {
  const o = {}
  const n = int(5)
  for (let i = 0; i < n; i++) o[pick(keys)] = value(depth)
  return o
}

function array(depth) {
  const n = int(4)
  const out = []
  const objects = chance(0.5) // arrays of objects, as @arrayPath reads
  for (let i = 0; i < n; i++) out.push(objects ? object(Math.max(depth, 0)) : value(depth))
  return out
}

// ---- random paths

// A path is a list of steps (strings), chosen by walking a value so that
// most steps exist; some are random and lead nowhere.
function walk(v, maxSteps) {
  const steps = []
  const n = 1 + int(maxSteps)
  for (let i = 0; i < n; i++) {
    let step
    if (Array.isArray(v)) {
      step = chance(0.15) ? 'length' : String(int(v.length + 1))
    } else if (typeof v === 'string') {
      step = chance(0.5) ? 'length' : String(int(v.length + 1))
    } else if (v && typeof v === 'object' && Object.keys(v).length && chance(0.85)) {
      step = pick(Object.keys(v))
    } else {
      step = pick(KEYS)
    }
    steps.push(step)
    v = v == null ? undefined : v[step]
  }
  return steps
}

const isIndex = (s) => /^\d+$/.test(s)

// render writes steps in one of the syntaxes get() reads.
function render(steps, { dollar = true } = {}) {
  let out = ''
  steps.forEach((s, i) => {
    const plain = s !== '' && !/["'.[\]]/.test(s)
    const forms = []
    if (plain) forms.push(i === 0 ? s : '.' + s)
    if (isIndex(s)) forms.push(`[${s}]`, `[${s}]`)
    forms.push(`["${s}"]`, `['${s}']`)
    if (i > 0 && plain && chance(0.1)) forms.push(`..${s}`)
    out += pick(forms)
  })
  if (dollar) {
    const r = int(10)
    if (r < 5) out = '$.' + out // $.a, $.[0], $.["a"]
    else if (r === 5) out = '$.' + (out.startsWith('[') || out === '' ? out : '.' + out)
    else if (r === 6) out = '$.$.' + out
  }
  switch (int(14)) {
    case 0:
      out += '.'
      break
    case 1:
      out += ']'
      break
    case 2:
      out += '[0]'
      break
    case 3:
      out = '.' + out
      break
    case 4:
      out += pick(['.length', '[0]]', '["length"]', "['0']"])
      break
  }
  return out
}

const randomPath = (v, opts) => (chance(0.05) ? pick(['', '.', '$.', '..', '[]', '[0]', '$.[0]', '$.["a"]', '["a"]']) : render(walk(v, 4), opts))

// ---- random mappings

function leaf(ev, depth) {
  if (depth > 0 && chance(0.12)) return otherDirective(ev, depth - 1)
  switch (int(depth > 0 ? 7 : 4)) {
    case 0:
    case 1:
      return { '@path': randomPath(ev) }
    case 2:
      return { '@template': template(ev) }
    case 3:
      return pick([scalar(), 'literal', 7])
    case 4:
      return ifDirective(ev, depth - 1)
    case 5:
      return arrayPath(ev, depth - 1)
    default:
      return mappingObject(ev, depth - 1)
  }
}

// otherDirective is one of the remaining directives, with a path inside,
// so that paths are also read through them.
function otherDirective(ev, depth) {
  const inner = () => (chance(0.7) ? { '@path': randomPath(ev) } : leaf(ev, depth))
  switch (int(8)) {
    case 0:
      return { '@case': { operator: pick(['lower', 'upper', 'lower', 'upper', 'title']), value: inner() } }
    case 1: {
      const o = { pattern: pick(['a', ' ', '.', '*', 'é', 'o', '$', 'A']), value: inner() }
      if (chance(0.7)) o.replacement = pick(['', '-', '$&', '$$', 'X', '😀'])
      if (chance(0.3)) o.global = chance(0.5)
      if (chance(0.3)) o.ignorecase = chance(0.5)
      return { '@replace': o }
    }
    case 2:
      return { '@literal': chance(0.5) ? inner() : scalar() }
    case 3:
      return { '@json': { mode: pick(['encode', 'decode', 'encode']), value: inner() } }
    case 4:
      return { '@flatten': { separator: pick(['.', '_', '/']), value: inner(), ...(chance(0.3) ? { omitArrays: chance(0.5) } : {}) } }
    case 5:
      return { '@merge': { objects: [inner(), inner()], direction: pick(['left', 'right']) } }
    case 6:
      return { '@excludeWhenNull': inner() }
    default: {
      const apply = mappingObject(ev, 0)
      return { '@transform': { apply, mapping: { t: { '@path': randomPath(apply) } } } }
    }
  }
}

function template(ev) {
  const parts = []
  const n = 1 + int(3)
  for (let i = 0; i < n; i++) {
    if (chance(0.3)) parts.push(pick(['', 'x', ' - ', 'id:']))
    const p = randomPath(ev, { dollar: chance(0.2) }).replace(/[{}]/g, '')
    parts.push(chance(0.8) ? `{{${pick(['', ' '])}${p}${pick(['', ' '])}}}` : `{{{${p}}}}`)
  }
  return parts.join('')
}

function ifDirective(ev, depth) {
  const o = {}
  o[chance(0.6) ? 'exists' : 'blank'] = { '@path': randomPath(ev) }
  if (chance(0.8)) o.then = leaf(ev, depth)
  if (chance(0.6)) o.else = leaf(ev, depth)
  return { '@if': o }
}

// arrayPath reads an array (usually one that exists) and maps each item.
function arrayPath(ev, depth) {
  const arrays = []
  const find = (v, steps) => {
    if (steps.length > 3) return
    if (Array.isArray(v)) arrays.push([steps, v])
    if (v && typeof v === 'object') for (const k of Object.keys(v)) find(v[k], [...steps, k])
  }
  find(ev, [])
  let root
  let item = {}
  if (arrays.length && chance(0.85)) {
    const [steps, arr] = pick(arrays)
    root = render(steps)
    item = arr.find((x) => x && typeof x === 'object') ?? {}
  } else {
    root = randomPath(ev)
  }
  const first = chance(0.9) ? root : { '@path': root }
  if (chance(0.15)) return { '@arrayPath': [first] }
  const shape = {}
  const n = 1 + int(3)
  for (let i = 0; i < n; i++) {
    shape[pick(['p', 'q', 'r', 'id'])] = chance(0.8) ? { '@path': randomPath(item) } : leaf(item, depth)
  }
  return { '@arrayPath': [first, shape] }
}

function mappingObject(ev, depth) {
  const m = {}
  const n = 1 + int(4)
  for (let i = 0; i < n; i++) m[pick(['out', 'v', 'w', 'nested', 'list'])] = leaf(ev, depth)
  return m
}

function mapping(ev) {
  switch (int(12)) {
    case 2:
      return { '@path': randomPath(ev) } // the whole result may be undefined
    case 3:
      return { v: { '@path': { '@path': randomPath(ev) } } } // a path read from the event: often not a string
    case 4:
      return { v: { '@arrayPath': [{ '@path': randomPath(ev) }, { p: { '@path': randomPath(ev) } }] } }
    case 0:
      return { v: { '@path': randomPath(ev) } }
    case 1:
      return { v: arrayPath(ev, 1) }
    default:
      return mappingObject(ev, 2)
  }
}

function event() {
  const ev = object(2)
  if (chance(0.5)) ev.type = pick(['track', 'identify', 'page'])
  if (chance(0.5)) ev.properties = object(2)
  if (chance(0.3)) ev.items = array(2)
  return ev
}

// ---- random subscriptions

const FIELDS = ['type', 'event', 'name', 'userId', 'properties', 'traits', 'context']
const PATH_KEYS = ['a', 'b', 'c', 'total', 'price', 'flag', 'list', 'email', 'n', '0', '1']

function subEvent() {
  const ev = {}
  if (chance(0.9)) ev.type = pick(['track', 'identify', 'page', 'screen', 'group', 'alias', 'Track', ''])
  if (chance(0.7)) ev.event = pick(['Order Completed', 'Signed Up', 'a', 'ab', 'ba', '', 'x y', 5, null])
  if (chance(0.4)) ev.name = pick(['Home', 'a', 'ab', '', null, 1])
  if (chance(0.6)) ev.userId = pick(['u-1', 'u-2', '', null, true, false, 0, 12])
  for (const k of ['properties', 'traits', 'context']) {
    if (chance(0.7)) ev[k] = object(2, PATH_KEYS)
  }
  return ev
}

function subPath(ev, field) {
  const steps = walk(ev[field], 3)
  // Paths as the lodash-style get of destination-subscriptions reads them.
  // The lexer reads letters, digits, _ and - in identifiers; an index is
  // written .N or [N] (the lexer refuses the latter: an error case).
  return steps
    .map((s, i) => {
      const dot = i ? '.' : ''
      if (/^[A-Za-z_][\w-]*$/.test(s)) return dot + s
      if (isIndex(s) && chance(0.3)) return chance(0.5) ? `[${s}]` : dot + s
      return dot + pick(PATH_KEYS.slice(0, 9))
    })
    .join('')
}

function fieldRef(ev) {
  if (chance(0.01)) return pick(['properties.\\.', 'traits.\\.\\.', 'context\\.', 'properties.\\[']) // a path of separators only
  const f = chance(0.05) ? pick(['anonymousId', 'messageId']) : pick(FIELDS)
  if (['properties', 'traits', 'context'].includes(f)) return `${f}.${subPath(ev, f)}`
  return f
}

function literal(ev, ref) {
  const [head, ...rest] = ref.split('.')
  let actual = ev[head]
  if (rest.length) actual = rest.join('.').match(/([^[.\]])+/g)?.reduce((o, k) => o && o[k], actual)
  switch (int(6)) {
    case 0:
    case 1:
      if (typeof actual === 'string' && !actual.includes('"')) return `"${actual}"`
      if (typeof actual === 'number' && Number.isFinite(actual) && Math.abs(actual) < 1e15) return String(actual)
      if (typeof actual === 'boolean') return String(actual)
      return 'null'
    case 2:
      return pick(['null', 'true', 'false'])
    case 3:
      return String(pick([0, 1, 2, 3, 10, 42, 100, -1, 1.5, 0.1]))
    case 4:
      return pick(["'a'", "'track'", '+3', '-1.5', '.5', '007', '1.', 'x', 'true', '"a b"'])
    default:
      return `"${pick(['track', 'a', 'ab', '', 'Order Completed', 'u-1', '1', 'x y'])}"`
  }
}

function condition(ev) {
  const r = int(10)
  if (r < 6) {
    const ref = fieldRef(ev)
    const op = chance(0.05) ? pick(['==', 'contains', '=>', '!']) : pick(['=', '=', '!=', '!=', '<', '<=', '>', '>='])
    return `${ref} ${op} ${literal(ev, ref)}`
  }
  const fn = r < 8 ? 'contains' : 'match'
  const ref = fieldRef(ev)
  let s = pick(['a', 'b', 'Order', 'Completed', 'u-', '1', '', 'x y'])
  if (fn === 'match') s = chance(0.5) ? s + '*' : '*' + s
  const call = `${fn}(${ref}, "${s}")`
  return chance(0.25) ? '!' + call : call
}

function conditions(ev, n, groups) {
  const parts = []
  for (let i = 0; i < n; i++) {
    if (groups && chance(0.3)) {
      parts.push(`(${conditions(ev, 1 + int(3), false)})`)
    } else {
      parts.push(condition(ev))
    }
  }
  let out = parts[0]
  for (let i = 1; i < parts.length; i++) out += ` ${pick(['and', 'or'])} ${parts[i]}`
  return out
}

// subscription joins random conditions; one in ten is then damaged the way
// hand-written subscriptions are (a trailing conditional, a missing or an
// extra parenthesis, other whitespace, a missing space).
function subscription(ev) {
  let s = conditions(ev, 1 + int(4), true)
  if (chance(0.1)) {
    switch (int(6)) {
      case 0:
        s += pick([' and', ' or', ' and ', ' !'])
        break
      case 1:
        s = s.replace(/\)([^)]*)$/, '$1')
        break
      case 2:
        s = pick(['(', ')', '()', '() or ']) + s
        break
      case 3:
        s = s.replace(/ /g, pick(['\t', '\n', '  ']))
        break
      case 4:
        s = s.replace(/ ([=<>!]+) /, '$1 ')
        break
      default:
        s += pick([' or ()', ' and ()', ')', ' or (anonymousId = "a")'])
    }
  }
  return s
}

// ---- the reference as oracle

// AggregateError (from mapping validation) is iterable; its own message is a list of stack traces.
const message = (e) =>
  e && typeof e[Symbol.iterator] === 'function' && typeof e !== 'string'
    ? [...e].map((x) => x?.message ?? String(x)).join('; ')
    : e?.message ?? String(e)

function mappingResult(m, payload) {
  try {
    const out = transform(m, payload)
    return out === undefined ? { undefined: true } : { output: out }
  } catch (e) {
    return { error: message(e) }
  }
}

// subscriptionResult is what Destination.onEvent/onBatch in
// @segment/actions-core does before an action runs: parseFql, then
// validate. error_at says which of the two failed, since validate throws
// on an empty group that the parser kept.
function subscriptionResult(fql, ev) {
  let ast
  try {
    ast = parseFql(fql)
  } catch (e) {
    return { error: e?.message ?? String(e), error_at: 'parse' }
  }
  if (ast && ast.error) return { error: ast.error.message ?? String(ast.error), error_at: 'parse' }
  try {
    return { match: Boolean(validate(ast, ev)) }
  } catch (e) {
    return { error: e?.message ?? String(e), error_at: 'validate' }
  }
}

// ---- output

const pad = (i) => String(i).padStart(4, '0')

function writeCases(file, lines) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''))
  console.error(`${file}: ${lines.length} cases`)
}

rand = rng(SEED)
const mappings = []
for (let i = 1; i <= N_MAPPINGS; i++) {
  const payload = event()
  const m = mapping(payload)
  // The payload is cloned: transform must not see (or change) the generator's objects.
  mappings.push({ name: `generated/${pad(i)}`, mapping: m, payload, ...mappingResult(m, structuredClone(payload)) })
}

rand = rng(SEED + 1)
const subscriptions = []
for (let i = 1; i <= N_SUBSCRIPTIONS; i++) {
  const ev = subEvent()
  const fql = subscription(ev)
  subscriptions.push({ name: `generated/${pad(i)}`, subscription: fql, event: ev, ...subscriptionResult(fql, structuredClone(ev)) })
}

writeCases(path.join(OUT, 'mapping', 'testdata', 'generated.ndjson'), mappings)
writeCases(path.join(OUT, 'destination', 'testdata', 'subscription-generated.ndjson'), subscriptions)
