// One device of the mobile app for end-to-end sync tests: the published WatermelonDB (see
// package.json) on its LokiJS adapter, in memory, calling synchronize() the way SYNC.md says
// the app does. harness.py drives it as a long-lived process speaking JSON lines:
//
//   stdin:  {"id": n, "op": "...", ...args}
//   stdout: {"id": n, "ok": true, "result": ..., "warnings"?: [...]}
//           {"id": n, "ok": false, "error": "...", "warnings"?: [...]}
//
// stdout carries nothing else: every console.* call (WatermelonDB logs through console, some of
// it with console.log) goes to stderr, and WatermelonDB's warnings and errors during an op are
// also returned with it ("warnings"), since several of them are how WatermelonDB reports a
// server that breaks the protocol (e.g. "Server wants client to create record ... but it
// already exists locally"). A failing op never ends the process.
//
// Ops: init, configure, sync, create, update, delete, get, all, exit (see the handlers below).
// A record's id is passed as `recordId`, since `id` is the command's.

import { createRequire } from 'node:module'
import readline from 'node:readline'
import { inspect } from 'node:util'

// WatermelonDB ships CommonJS, and deep paths without an "exports" map: load it with require.
const require = createRequire(import.meta.url)
const { Database, Model, Q, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')
const { getLastPulledAt } = require('@nozbe/watermelondb/sync/impl')

const SCHEMA_VERSION = 1

// ---------------------------------------------------------------------------------------------
// Schema (SYNC.md "Tables"). Types: *_at times and created_at/updated_at are numbers, JSON arrays
// are strings, booleans are booleans. isOptional where SYNC.md (or DOMAIN.md, which it names for
// the vocabularies) allows null; WatermelonDB turns a null in a non-optional column into
// '' / 0 / false, so a column missing here that the server sends as null comes back as ''.

const s = (name, isOptional = false) => ({ name, type: 'string', isOptional })
const n = (name, isOptional = false) => ({ name, type: 'number', isOptional })
const b = (name, isOptional = false) => ({ name, type: 'boolean', isOptional })
const OPT = true

const TABLES = {
  episodes: [
    s('kind'),
    s('subtype', OPT), // DOMAIN.md: subtypes are optional
    s('body_location'),
    s('side', OPT), // DOMAIN.md: left|right|both|midline or null
    n('started_at'),
    s('tz'),
    n('duration_s', OPT), // null while ongoing
    n('pain'),
    s('symptoms'), // JSON array
    s('triggers'), // JSON array
    s('activity'),
    s('relief'), // JSON array
    n('relief_score', OPT),
    s('notes'),
    n('created_at'), // WatermelonDB's special columns: number, never optional
    n('updated_at'),
  ],
  checkins: [
    s('date'),
    n('water_ml', OPT),
    n('caffeine_servings', OPT),
    n('alcohol_units', OPT),
    n('exercise_min', OPT),
    s('exercise_intensity', OPT),
    b('hot_weather', OPT),
    n('sleep_h', OPT),
    n('stress', OPT),
    n('sitting_h', OPT),
    b('stretched', OPT),
    s('medications', OPT), // JSON array
    b('menstruating', OPT),
    b('fluid_changes', OPT),
    s('notes', OPT),
    n('created_at'),
    n('updated_at'),
  ],
  reminders: [
    s('kind'),
    s('label', OPT),
    s('schedule'),
    n('interval_min', OPT), // schedule-specific columns are null for the other schedules
    s('window_start', OPT),
    s('window_end', OPT),
    s('times'), // JSON array
    s('weekdays'), // JSON array
    s('quiet_start', OPT),
    s('quiet_end', OPT),
    n('fire_at', OPT),
    s('tz_mode'),
    b('adaptive'),
    b('enabled'),
  ],
  notifications: [
    s('kind'),
    s('reminder_id', OPT),
    s('alert_id', OPT),
    s('title'),
    s('body'),
    n('scheduled_for'),
    n('delivered_at', OPT),
    s('action', OPT),
    n('acted_at', OPT),
    n('snooze_min', OPT),
  ],
  alerts: [
    s('rule'),
    s('severity'),
    s('title'),
    s('guidance'),
    s('episode_id', OPT),
    s('status'),
    n('opened_at'),
    n('acknowledged_at', OPT),
  ],
}

// Tables whose models have createdAt/updatedAt, so WatermelonDB stamps created_at on create and
// updated_at on create and on every update (Model.prepareUpdate, createTimestampsFor).
const TIMESTAMPED = new Set(['episodes', 'checkins'])

function buildSchema(extraOptional) {
  return appSchema({
    version: SCHEMA_VERSION,
    tables: Object.entries(TABLES).map(([name, columns]) =>
      tableSchema({
        name,
        columns: columns.map((c) =>
          (extraOptional[name] || []).includes(c.name) ? { ...c, isOptional: true } : c,
        ),
      }),
    ),
  })
}

function modelClass(table) {
  const cls = class extends Model {
    static table = table
  }
  if (TIMESTAMPED.has(table)) {
    // The app declares these with @readonly @date; WatermelonDB only checks `'createdAt' in record`.
    Object.defineProperty(cls.prototype, 'createdAt', { get() { return this._raw.created_at } })
    Object.defineProperty(cls.prototype, 'updatedAt', { get() { return this._raw.updated_at } })
  }
  return cls
}

// ---------------------------------------------------------------------------------------------
// Output and logging

let deviceName = 'device'
let captured = [] // WatermelonDB warnings/errors during the current op
// Known noise, not worth returning: the adapter options SYNC.md prescribes are deprecated.
const EXPECTED = [/useIncrementalIndexedDB: false\} option is now deprecated/]

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

function describe(arg) {
  if (arg instanceof Error) return arg.message
  if (typeof arg === 'string') return arg
  return inspect(arg, { depth: 4, breakLength: Infinity })
}

for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  // eslint-disable-next-line no-console
  console[level] = (...args) => {
    const text = args.map(describe).join(' ')
    process.stderr.write(`[${deviceName}] ${level}: ${text}\n`)
    if ((level === 'warn' || level === 'error') && !EXPECTED.some((re) => re.test(text))) {
      captured.push(`${level}: ${text}`)
    }
  }
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`[${deviceName}] unhandled rejection: ${describe(reason)}\n`)
  captured.push(`error: unhandled rejection: ${describe(reason)}`)
})
process.on('uncaughtException', (error) => {
  process.stderr.write(`[${deviceName}] uncaught exception: ${error && error.stack}\n`)
  captured.push(`error: uncaught exception: ${describe(error)}`)
})

// ---------------------------------------------------------------------------------------------
// State

let database = null
let config = { baseUrl: null, token: null, timeoutMs: 30000 }

function requireDatabase() {
  if (!database) throw new Error('not initialised: send init first')
  return database
}

function columnsOf(table) {
  const columns = TABLES[table]
  if (!columns) throw new Error(`unknown table ${JSON.stringify(table)}; expected one of ${Object.keys(TABLES).join(', ')}`)
  return columns
}

// ---------------------------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(phase, status, body, text) {
    super(`${phase} ${status}: ${text.slice(0, 500)}`)
    this.phase = phase
    this.status = status
    this.body = body
  }
}

class DeferredPush extends Error {
  constructor() {
    super('push deferred: the last pull said has_more')
  }
}

async function request(phase, method, path, payload) {
  if (!config.baseUrl) throw new Error('no baseUrl: send init or configure first')
  const headers = { Accept: 'application/json' }
  if (config.token) headers.Authorization = `Bearer ${config.token}`
  if (payload !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(`${config.baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      // SYNC.md: both paths answer without redirects, so a redirect is a failure, not followed.
      redirect: 'manual',
      signal: AbortSignal.timeout(config.timeoutMs),
    })
  } catch (error) {
    const cause = error.cause ? ` (${describe(error.cause)})` : ''
    throw new Error(`${phase} failed: ${describe(error)}${cause}`)
  }
  const text = await response.text()
  let body = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = null
  }
  if (response.status !== 200) throw new HttpError(phase, response.status, body, text)
  if (body === null || typeof body !== 'object') {
    throw new HttpError(phase, response.status, null, `answer is not a JSON object: ${text}`)
  }
  return body
}

// ---------------------------------------------------------------------------------------------
// Sync

// SYNC.md: while the local check-in has unsynced changes, each column keeps its local non-null
// value and takes the remote value only where the local one is null. Other tables (and synced
// check-ins) keep WatermelonDB's default `resolved` (remote, with locally changed columns on top).
function conflictResolver(table, local, remote, resolved) {
  if (table !== 'checkins' || local._status === 'synced' || local._status === 'deleted') {
    return resolved
  }
  for (const { name } of TABLES.checkins) {
    const mine = local[name]
    if (mine !== null && mine !== undefined) {
      resolved[name] = mine
    } else {
      resolved[name] = remote[name] === undefined ? null : remote[name]
    }
  }
  return resolved
}

function pullPath(lastPulledAt, schemaVersion, migration, limit) {
  const migrationParam = migration ? encodeURIComponent(JSON.stringify(migration)) : 'null'
  let path =
    `/api/v1/sync/pull?last_pulled_at=${lastPulledAt ?? 'null'}` +
    `&schema_version=${schemaVersion}&migration=${migrationParam}`
  if (limit !== undefined && limit !== null) path += `&limit=${limit}`
  return path
}

// Things SYNC.md promises about a pull answer that WatermelonDB itself would not notice.
function checkPullAnswer(body, lastPulledAt) {
  const problems = []
  const changes = body.changes
  if (!changes || typeof changes !== 'object') return ['answer has no changes object']
  for (const table of Object.keys(TABLES)) {
    if (!changes[table]) problems.push(`answer lacks table ${table}`)
  }
  const seen = new Set()
  for (const [table, set] of Object.entries(changes)) {
    for (const key of ['created', 'updated', 'deleted']) {
      if (!Array.isArray(set && set[key])) problems.push(`${table}.${key} is not a list`)
    }
    if (!set) continue
    for (const raw of [...(set.created || []), ...(set.updated || [])]) {
      const id = raw && raw.id
      if (seen.has(`${table}#${id}`)) problems.push(`${table}#${id} appears twice`)
      seen.add(`${table}#${id}`)
    }
    for (const id of set.deleted || []) {
      if (seen.has(`${table}#${id}`)) problems.push(`${table}#${id} appears twice`)
      seen.add(`${table}#${id}`)
    }
  }
  if (body.has_more && body.experimentalStrategy) problems.push('a replacement answer said has_more')
  if (typeof body.timestamp === 'number' && lastPulledAt && body.timestamp < lastPulledAt) {
    problems.push(`timestamp ${body.timestamp} is below last_pulled_at ${lastPulledAt}`)
  }
  return problems
}

async function opSync({ limit, deferPush = false, maxPulls = 1000 }) {
  const db = requireDatabase()
  const state = {
    pulls: 0,
    pushes: 0,
    hasMore: false,
    strategies: [],
    timestamps: [],
    rejectedIds: {},
    rejected: {},
    protocolProblems: [],
    resolvedConflicts: 0,
    pushErrors: [],
    phase: null,
  }

  const pullChanges = async ({ lastPulledAt, schemaVersion, migration }) => {
    state.phase = 'pull'
    state.hasMore = false
    const body = await request('pull', 'GET', pullPath(lastPulledAt, schemaVersion, migration, limit))
    state.pulls += 1
    state.hasMore = body.has_more === true
    state.strategies.push(body.experimentalStrategy ?? null)
    state.timestamps.push(body.timestamp)
    for (const problem of checkPullAnswer(body, lastPulledAt)) state.protocolProblems.push(`pull: ${problem}`)
    if (state.hasMore && !(typeof body.timestamp === 'number' && body.timestamp > (lastPulledAt || 0))) {
      // has_more without a later cursor would make the app pull the same page forever.
      throw new Error(`pull: has_more with timestamp ${body.timestamp} not after ${lastPulledAt}`)
    }
    state.phase = 'apply'
    const result = { changes: body.changes, timestamp: body.timestamp }
    // WatermelonDB 0.28 reads pullResult.experimentalStrategy (sync/impl/synchronize.js).
    if (body.experimentalStrategy !== undefined) result.experimentalStrategy = body.experimentalStrategy
    return result
  }

  const pushChanges = async ({ changes, lastPulledAt }) => {
    // Throwing is the only way to skip a push: a resolved pushChanges marks everything synced.
    state.phase = 'push'
    if (deferPush && state.hasMore) throw new DeferredPush()
    state.pushes += 1
    const body = await request('push', 'POST', `/api/v1/sync/push?last_pulled_at=${lastPulledAt}`, changes)
    const rejectedIds = body.experimentalRejectedIds || {}
    for (const [table, ids] of Object.entries(rejectedIds)) {
      state.rejectedIds[table] = [...new Set([...(state.rejectedIds[table] || []), ...ids])]
    }
    for (const [table, byId] of Object.entries(body.rejected || {})) {
      state.rejected[table] = { ...(state.rejected[table] || {}), ...byId }
    }
    return { experimentalRejectedIds: body.experimentalRejectedIds }
  }

  let failure = null
  // One synchronize() pulls once (WatermelonDB 0.28 has no paging), so the app loops it while
  // the last pull said has_more (SYNC.md "Large first syncs loop"). Each synchronize() commits
  // its pull before it pushes, so a push that fails after a page that said has_more (typically
  // a 409: the page's cursor is older than rows a later page brings) does not stop the loop: the
  // app pulls on, and the push of a later page carries the same changes.
  for (;;) {
    const log = {}
    state.phase = null
    try {
      await synchronize({
        database: db,
        pullChanges,
        pushChanges,
        sendCreatedAsUpdated: true,
        conflictResolver,
        log,
      })
    } catch (error) {
      if (error instanceof DeferredPush) {
        // skipped on purpose
      } else if (state.phase === 'push' && state.hasMore) {
        state.pushErrors.push(error.message)
      } else {
        failure = error
      }
    }
    state.resolvedConflicts += (log.resolvedConflicts || []).length
    if (failure || !state.hasMore) break
    if (state.pulls >= maxPulls) {
      failure = new Error(`pull: still has_more after ${state.pulls} pulls`)
      break
    }
  }

  const result = {
    ok: failure === null,
    pulls: state.pulls,
    pushes: state.pushes,
    lastPulledAt: await getLastPulledAt(db),
    hasMore: state.hasMore,
    strategies: state.strategies,
    timestamps: state.timestamps,
    rejectedIds: state.rejectedIds,
    rejected: state.rejected,
    resolvedConflicts: state.resolvedConflicts,
    pushErrors: state.pushErrors,
    protocolProblems: state.protocolProblems,
    warnings: captured.slice(),
  }
  if (failure) {
    result.error = failure.message
    if (failure instanceof HttpError) {
      result.phase = failure.phase
      result.status = failure.status
      result.body = failure.body
    }
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// Local records

function setFields(record, table, fields) {
  const columns = columnsOf(table)
  for (const [name, given] of Object.entries(fields || {})) {
    const column = columns.find((c) => c.name === name)
    if (!column) throw new Error(`unknown column ${table}.${name}`)
    // JSON arrays travel as JSON strings: accept a list for convenience.
    const value = Array.isArray(given) && column.type === 'string' ? JSON.stringify(given) : given
    // WatermelonDB would quietly turn a wrong type into null/''/0/false: refuse it instead, so a
    // test never pushes something other than what it asked for.
    const fits =
      value === null
        ? column.isOptional
        : column.type === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : typeof value === column.type
    if (!fits) {
      throw new Error(`${table}.${name} is a ${column.isOptional ? 'nullable ' : ''}${column.type}, not ${JSON.stringify(given)}`)
    }
    // _setRaw is what the app's @field/@text/@json setters call: it records the column in _changed.
    record._setRaw(name, value)
  }
}

function present(table, raw) {
  const record = { id: raw.id }
  for (const { name } of columnsOf(table)) record[name] = raw[name] === undefined ? null : raw[name]
  return {
    raw: record,
    status: raw._status,
    changed: raw._changed ? raw._changed.split(',').filter(Boolean) : [],
  }
}

// Raw rows of a table including the ones marked as deleted (pending a synced delete), which
// WatermelonDB queries otherwise hide.
async function rawRows(table, clauses) {
  const query = requireDatabase().get(table).query(...clauses)
  query.description = query._rawDescription
  return query.unsafeFetchRaw()
}

async function findRecord(table, id) {
  columnsOf(table)
  try {
    return await requireDatabase().get(table).find(id)
  } catch {
    throw new Error(`${table}#${id} does not exist locally`)
  }
}

// ---------------------------------------------------------------------------------------------
// Ops

const ops = {
  // {baseUrl, token, device, timeoutMs?, optional?: {table: [column]}}
  async init({ baseUrl, token = null, device, timeoutMs, optional = {} }) {
    if (database) throw new Error('already initialised (one process is one device)')
    if (device) deviceName = String(device)
    config = { baseUrl: baseUrl ?? null, token, timeoutMs: timeoutMs ?? config.timeoutMs }
    for (const [table, names] of Object.entries(optional)) {
      for (const name of names) {
        if (!columnsOf(table).some((c) => c.name === name)) throw new Error(`unknown column ${table}.${name}`)
      }
    }
    const schema = buildSchema(optional)
    const adapter = new LokiJSAdapter({
      schema,
      dbName: `device-${deviceName}`,
      useWebWorker: false,
      useIncrementalIndexedDB: false,
    })
    database = new Database({ adapter, modelClasses: Object.keys(TABLES).map(modelClass) })
    // Wait until the adapter has set up, so a setup failure is this op's failure.
    await database.adapter.getLocal('__harness_ready')
    return { device: deviceName, schemaVersion: SCHEMA_VERSION, tables: Object.keys(TABLES) }
  },

  // {baseUrl?, token?}: e.g. a refreshed token, or a token of no one
  async configure(args) {
    if ('baseUrl' in args) config.baseUrl = args.baseUrl
    if ('token' in args) config.token = args.token
    if ('timeoutMs' in args) config.timeoutMs = args.timeoutMs
    return { baseUrl: config.baseUrl, hasToken: Boolean(config.token) }
  },

  sync: opSync,

  // {table, recordId?, fields} (`id` is the command's own id)
  async create({ table, recordId: id, fields }) {
    columnsOf(table)
    const db = requireDatabase()
    const record = await db.write(() =>
      db.get(table).create((r) => {
        if (id !== undefined && id !== null) r._raw.id = String(id)
        setFields(r, table, fields)
      }),
    )
    return record.id
  },

  // {table, recordId, fields}
  async update({ table, recordId: id, fields }) {
    const record = await findRecord(table, id)
    await requireDatabase().write(() => record.update((r) => setFields(r, table, fields)))
    return present(table, record._raw)
  },

  // {table, recordId}: a synced delete (markAsDeleted), pushed on the next sync
  async delete({ table, recordId: id }) {
    const record = await findRecord(table, id)
    await requireDatabase().write(() => record.markAsDeleted())
    return id
  },

  // {table, recordId} -> {raw, status, changed} or null; a row marked as deleted is returned
  async get({ table, recordId: id }) {
    columnsOf(table)
    const rows = await rawRows(table, [Q.where('id', String(id))])
    return rows.length ? present(table, rows[0]) : null
  },

  // {table} -> [{raw, status, changed}] sorted by id, deleted-pending rows included
  async all({ table }) {
    columnsOf(table)
    const rows = await rawRows(table, [])
    return rows.map((raw) => present(table, raw)).sort((a, b) => (a.raw.id < b.raw.id ? -1 : a.raw.id > b.raw.id ? 1 : 0))
  },

  async exit() {
    setImmediate(() => process.exit(0))
    return null
  },
}

// ---------------------------------------------------------------------------------------------
// Main loop: one op at a time, in order.

async function handle(line) {
  let command
  try {
    command = JSON.parse(line)
  } catch (error) {
    send({ id: null, ok: false, error: `not JSON: ${describe(error)}` })
    return
  }
  const id = command && typeof command === 'object' && 'id' in command ? command.id : null
  captured = []
  try {
    const handler = command && ops[command.op]
    if (!handler) throw new Error(`unknown op ${JSON.stringify(command && command.op)}`)
    const { id: _id, op: _op, ...args } = command
    const result = await handler(args)
    send({ id, ok: true, result, ...(captured.length ? { warnings: captured.slice() } : {}) })
  } catch (error) {
    send({ id, ok: false, error: describe(error), ...(captured.length ? { warnings: captured.slice() } : {}) })
  }
}

let queue = Promise.resolve()
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (!line.trim()) return
  queue = queue.then(() => handle(line))
})
lines.on('close', () => {
  queue.then(() => process.exit(0))
})
